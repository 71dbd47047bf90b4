/**
 * Lowering of data movement: Transpose, Concat, Slice, Gather, and the views (Reshape, Flatten,
 * Squeeze, Unsqueeze, Identity: no kernel; the program binds the output to the input's storage).
 *
 * Each kernel is a loop nest over the output (for Concat: one nest per input, over that input,
 * storing at its offset along the axis) whose store reads the source at the position the op maps to:
 * Transpose in[perm] = out positions; Slice in = start + out · step per sliced axis (starts clamped as
 * ONNX does); Gather reads the index tensor and wraps a negative index with (i + n) mod n.
 */
import { type Index, type Stmt, iadd, ic, imod, imul, load } from '../kir.ts';
import { type LowerNode, type Lowered, LowerUnsupported, constInts, flatIndex, input, loopNest, normAxis } from './context.ts';
import { checkDType } from './scalar.ts';

/** Views: the output is the input's storage. */
export function lowerView(n: LowerNode): Lowered {
  const x = input(n, 0), out = n.outputs[0];
  if (x.count !== out.count || x.dtype !== out.dtype) throw new LowerUnsupported(`view changes ${x.dtype}[${x.count}] into ${out.dtype}[${out.count}]`);
  return { kind: 'view' };
}

/** Lowers Transpose. */
export function lowerTranspose(n: LowerNode): Lowered {
  const x = input(n, 0), out = n.outputs[0];
  checkDType(x.dtype, x.name);
  const rank = x.shape.length;
  const perm = n.attrs.maybeInts('perm') ?? [...Array(rank).keys()].reverse();
  n.parsed();
  const body = loopNest(n, out.shape, (idx) => {
    const inIdx: Index[] = new Array(rank);
    perm.forEach((p, d) => { inIdx[p] = idx[d]; });
    return [{ k: 'store', buffer: out.name, index: flatIndex(out.shape, idx), value: load(x.name, flatIndex(x.shape, inIdx), x.dtype) }];
  });
  return { kind: 'kernel', body };
}

/** Lowers Concat. */
export function lowerConcat(n: LowerNode): Lowered {
  const out = n.outputs[0];
  checkDType(out.dtype, out.name);
  const axis = normAxis(n.attrs.int('axis'), out.shape.length);
  n.parsed();
  const body: Stmt[] = [];
  let offset = 0;
  for (const x of n.inputs) {
    if (!x) continue;
    const at = offset;
    if (x.count > 0) {
      body.push(...loopNest(n, x.shape, (idx) => [{
        k: 'store', buffer: out.name,
        index: flatIndex(out.shape, idx.map((v, d) => (d === axis ? iadd(v, ic(at)) : v))),
        value: load(x.name, flatIndex(x.shape, idx), x.dtype),
      }]));
    }
    offset += x.shape[axis];
  }
  return { kind: 'kernel', body };
}

/** Lowers Slice(data, starts, ends, axes?, steps?) with constant starts/ends/axes/steps. */
export function lowerSlice(n: LowerNode): Lowered {
  const x = input(n, 0), out = n.outputs[0];
  checkDType(x.dtype, x.name);
  const rank = x.shape.length;
  const starts = constInts(n, 1, 'starts')!;
  constInts(n, 2, 'ends'); // must be constant too; the output shape already has the clamped extents
  const axes = (constInts(n, 3, 'axes') ?? starts.map((_, i) => i)).map((a) => normAxis(a, rank));
  const steps = constInts(n, 4, 'steps') ?? starts.map(() => 1);
  n.parsed();
  const start = new Array<number>(rank).fill(0), step = new Array<number>(rank).fill(1);
  axes.forEach((a, i) => {
    const dim = x.shape[a], st = steps[i];
    if (st === 0) throw new LowerUnsupported('Slice step 0');
    let s = starts[i] < 0 ? starts[i] + dim : starts[i];
    s = st > 0 ? Math.min(Math.max(s, 0), dim) : Math.min(Math.max(s, -1), dim - 1);
    start[a] = s;
    step[a] = st;
  });
  const body = out.count === 0 ? [] : loopNest(n, out.shape, (idx) => {
    const inIdx = idx.map((v, d) => iadd(imul(v, ic(step[d])), ic(start[d])));
    return [{ k: 'store', buffer: out.name, index: flatIndex(out.shape, idx), value: load(x.name, flatIndex(x.shape, inIdx), x.dtype) }];
  });
  return { kind: 'kernel', body };
}

/** Lowers Gather(data, indices) along `axis`. */
export function lowerGather(n: LowerNode): Lowered {
  const x = input(n, 0), ind = input(n, 1), out = n.outputs[0];
  checkDType(x.dtype, x.name);
  if (ind.dtype !== 'i64' && ind.dtype !== 'i32') throw new LowerUnsupported(`Gather indices of dtype ${ind.dtype}`);
  const axis = normAxis(n.parsed<{ axis: number }>().axis, x.shape.length);
  const q = ind.shape.length, dim = x.shape[axis];
  const body = out.count === 0 ? [] : loopNest(n, out.shape, (idx) => {
    const indIdx = idx.slice(axis, axis + q);
    const raw: Index = { k: 'load', buffer: ind.name, index: flatIndex(ind.shape, indIdx) };
    const at = imod(iadd(raw, ic(dim)), ic(dim));
    const inIdx = [...idx.slice(0, axis), at, ...idx.slice(axis + q)];
    return [{ k: 'store', buffer: out.name, index: flatIndex(out.shape, idx), value: load(x.name, flatIndex(x.shape, inIdx), x.dtype) }];
  });
  return { kind: 'kernel', body };
}
