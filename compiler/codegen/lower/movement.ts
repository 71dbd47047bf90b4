/**
 * Lowering of data movement: Transpose, Concat, Split, Slice, Tile, Pad (constant mode), Trilu,
 * Gather, GatherElements, and the views (Reshape, Flatten, Squeeze, Unsqueeze, Identity, inference
 * Dropout: no kernel; the program binds the output to the input's storage).
 *
 * Each kernel is a loop nest over the output (for Concat: one nest per input, over that input,
 * storing at its offset along the axis) whose store reads the source at the position the op maps to:
 * Transpose in[perm] = out positions; Slice in = start + out · step per sliced axis (starts clamped as
 * ONNX does); Tile reads position mod the input size; Pad (constant) stores the pad value, then (in a
 * guard) the input where it lands, and Pad edge/reflect/wrap read the input through per-axis source
 * tables (kernel IR `table`, built by ops/pad.ts padSourceTables as the reference does);
 * Gather/GatherElements read the index tensor and wrap a negative index with (i + n) mod n.
 */
import { type Index, type Stmt, binary, iadd, ic, imod, imul, lit, load, select } from '../kir.ts';
import { type LowerNode, type Lowered, LowerUnsupported, constInts, flatIndex, input, loopNest, normAxis } from './context.ts';
import { checkDType } from './scalar.ts';
import { type PadMode, fullPads, padSourceTables } from '../../ops/pad.ts';

/** Views: the output is the input's storage (Dropout only in inference, without its mask). */
export function lowerView(n: LowerNode): Lowered {
  const x = input(n, 0), out = n.outputs[0];
  if (n.node.op === 'Dropout') {
    const training = constInts(n, 2, 'training_mode');
    if (training && training[0] !== 0) throw new LowerUnsupported('Dropout in training mode is not lowered');
    const mask = n.outputs[1];
    if (mask) {
      // inference with a mask output: a copy (two outputs cannot share one view) and an all-true mask
      const body = out.count === 0 ? [] : loopNest(n, [out.count], ([i]) => [
        { k: 'store', buffer: out.name, index: i, value: load(x.name, i, x.dtype) },
        { k: 'store', buffer: mask.name, index: i, value: lit(true, 'bool') },
      ]);
      return { kind: 'kernel', body };
    }
  }
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

/** Lowers Split: one loop nest per output, reading the input at the output's offset along the axis. */
export function lowerSplit(n: LowerNode): Lowered {
  const x = input(n, 0);
  checkDType(x.dtype, x.name);
  const axis = normAxis(n.parsed<{ axis: number }>().axis, x.shape.length);
  const body: Stmt[] = [];
  let offset = 0;
  for (const o of n.outputs) {
    const at = offset;
    if (o.count > 0) {
      body.push(...loopNest(n, o.shape, (idx) => [{
        k: 'store', buffer: o.name, index: flatIndex(o.shape, idx),
        value: load(x.name, flatIndex(x.shape, idx.map((v, d) => (d === axis ? iadd(v, ic(at)) : v))), x.dtype),
      }]));
    }
    offset += o.shape[axis];
  }
  if (offset !== x.shape[axis]) throw new LowerUnsupported(`Split outputs cover ${offset} of ${x.shape[axis]} along axis ${axis}`);
  return { kind: 'kernel', body };
}

/** Lowers Tile: out[o] = x[o mod in] per axis. */
export function lowerTile(n: LowerNode): Lowered {
  const x = input(n, 0), out = n.outputs[0];
  checkDType(x.dtype, x.name);
  n.parsed();
  const body = out.count === 0 ? [] : loopNest(n, out.shape, (idx) => [{
    k: 'store', buffer: out.name, index: flatIndex(out.shape, idx),
    value: load(x.name, flatIndex(x.shape, idx.map((v, d) => (x.shape[d] === out.shape[d] ? v : imod(v, ic(x.shape[d]))))), x.dtype),
  }]);
  return { kind: 'kernel', body };
}

/** Lowers Pad in constant mode: the pad value everywhere, then the input where it lands (a guard). */
export function lowerPad(n: LowerNode): Lowered {
  const x = input(n, 0), out = n.outputs[0];
  checkDType(x.dtype, x.name);
  const mode = n.parsed<{ mode: PadMode }>().mode;
  const rank = x.shape.length;
  const pads = constInts(n, 1, 'pads')!;
  if (mode !== 'constant') {
    // edge / reflect / wrap: every output position reads one input position, per axis by a table
    const [b, e] = fullPads(rank, pads, constInts(n, 3, 'axes'));
    let tables: Int32Array[];
    try { tables = padSourceTables(x.shape, b, e, mode); } catch (err) { throw new LowerUnsupported((err as Error).message); }
    const body = out.count === 0 ? [] : loopNest(n, out.shape, (idx) => {
      const at = idx.map((v, d): Index => (b[d] === 0 && e[d] === 0 ? v : { k: 'table', values: Array.from(tables[d]), index: v }));
      return [{ k: 'store', buffer: out.name, index: flatIndex(out.shape, idx), value: load(x.name, flatIndex(x.shape, at), x.dtype) }];
    });
    return { kind: 'kernel', body };
  }
  const axes = (constInts(n, 3, 'axes') ?? [...Array(pads.length / 2).keys()]).map((a) => normAxis(a, rank));
  const begin = new Array<number>(rank).fill(0);
  axes.forEach((a, i) => { begin[a] = pads[i]; });
  const c = n.inputs[2];
  const fill = c ? load(c.name, ic(0), c.dtype) : lit(0, x.dtype);
  const body = out.count === 0 ? [] : loopNest(n, out.shape, (idx) => {
    const at = idx.map((v, d) => iadd(v, ic(-begin[d])));
    const bounds = at.flatMap((p, d) => (begin[d] === 0 && out.shape[d] <= x.shape[d] ? [] : [{ index: p, extent: x.shape[d] }]));
    const o = flatIndex(out.shape, idx);
    const copy: Stmt = { k: 'store', buffer: out.name, index: o, value: load(x.name, flatIndex(x.shape, at), x.dtype) };
    return bounds.length ? [{ k: 'store', buffer: out.name, index: o, value: fill }, { k: 'guard', bounds, body: [copy] }] : [copy];
  });
  return { kind: 'kernel', body };
}

/** Lowers Trilu: keep x where (col − row) ≥ k (upper) or ≤ k (lower), else 0. */
export function lowerTrilu(n: LowerNode): Lowered {
  const x = input(n, 0), out = n.outputs[0];
  checkDType(x.dtype, x.name);
  const upper = n.parsed<{ upper: boolean }>().upper;
  const kIn = n.inputs[1];
  if (kIn && kIn.dtype !== 'i64') throw new LowerUnsupported(`Trilu k of dtype ${kIn.dtype}`);
  const r = x.shape.length;
  if (r < 2) throw new LowerUnsupported('Trilu needs rank >= 2');
  const body = out.count === 0 ? [] : loopNest(n, out.shape, (idx) => {
    // k is read from its buffer (it may be known only at run time)
    const i = { k: 'index', dtype: 'i64', index: idx[r - 2] } as const;
    const row = kIn ? binary('add', i, load(kIn.name, ic(0), 'i64')) : i;
    const col = { k: 'index', dtype: 'i64', index: idx[r - 1] } as const;
    const o = flatIndex(out.shape, idx);
    const keep = binary(upper ? 'ge' : 'le', col, row);
    return [{ k: 'store', buffer: out.name, index: o, value: select(keep, load(x.name, o, x.dtype), lit(0, x.dtype)) }];
  });
  return { kind: 'kernel', body };
}

/** Lowers GatherElements: out[p] = x[p with axis replaced by indices[p]] (negative indices wrap). */
export function lowerGatherElements(n: LowerNode): Lowered {
  const x = input(n, 0), ind = input(n, 1), out = n.outputs[0];
  checkDType(x.dtype, x.name);
  if (ind.dtype !== 'i64' && ind.dtype !== 'i32') throw new LowerUnsupported(`GatherElements indices of dtype ${ind.dtype}`);
  const axis = normAxis(n.parsed<{ axis: number }>().axis, x.shape.length);
  const dim = x.shape[axis];
  const body = out.count === 0 ? [] : loopNest(n, out.shape, (idx) => {
    const raw: Index = { k: 'load', buffer: ind.name, index: flatIndex(ind.shape, idx) };
    const at = idx.map((v, d) => (d === axis ? imod(iadd(raw, ic(dim)), ic(dim)) : v));
    return [{ k: 'store', buffer: out.name, index: flatIndex(out.shape, idx), value: load(x.name, flatIndex(x.shape, at), x.dtype) }];
  });
  return { kind: 'kernel', body };
}
