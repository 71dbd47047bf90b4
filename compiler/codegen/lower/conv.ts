/**
 * Lowering of window ops: Conv and the fused kiln.conv (direct convolution, NCHW, any spatial rank,
 * groups, strides, dilations, explicit or auto pads, per-channel bias, epilogue) and the pooling ops
 * (MaxPool, AveragePool with count_include_pad, GlobalAveragePool, GlobalMaxPool). Naive loop nests:
 * the packed / implicit-GEMM / Winograd templates are issue 10 part B.
 *
 * Convolution: one loop per output dim (the first with more than one iteration parallel), then an
 * accumulator over input channels of the group and kernel positions; the input position of a spatial
 * axis is o·stride + k·dilation − pad_begin. Where padding can put that position outside the input,
 * a `guard` skips the term (the padded value is 0 for Conv, absent for MaxPool; AveragePool without
 * count_include_pad counts the terms it adds). Geometry comes from compiler/ops/window.ts, the same
 * rules the reference kernels and shape inference use.
 */
import { type GuardBound, type Index, type Scalar, type Stmt, binary, cast, iadd, ic, idiv, imul, iv, lit, load, loop, ref, select, unary } from '../kir.ts';
import { dtypeInfo } from '../../ir/dtype.ts';
import { type LowerNode, type Lowered, LowerUnsupported, flatIndex, input, loopNest } from './context.ts';
import { epilogue } from './epilogue.ts';
import { floatOnly } from './matmul.ts';
import { readConvAttrs } from '../../ops/conv.ts';
import { type Geometry, type WindowAttrs, readWindowAttrs, resolveGeometry } from '../../ops/window.ts';
import { reduceNest } from './reduce.ts';

/** The input position of one spatial axis, and whether it needs a guard. */
function windowPosition(g: Geometry, axis: number, o: Index, k: Index): { at: Index; bound?: GuardBound } {
  const at = iadd(iadd(imul(o, ic(g.strides[axis])), imul(k, ic(g.dilations[axis]))), ic(-g.padBegin[axis]));
  const last = (g.output[axis] - 1) * g.strides[axis] + (g.kernel[axis] - 1) * g.dilations[axis] - g.padBegin[axis];
  const safe = g.padBegin[axis] === 0 && last < g.input[axis];
  return safe ? { at } : { at, bound: { index: at, extent: g.input[axis] } };
}

/** Wraps statements in a guard when there are bounds. */
const guarded = (bounds: GuardBound[], body: Stmt[]): Stmt[] => (bounds.length ? [{ k: 'guard', bounds, body }] : body);

/** Lowers Conv and kiln.conv. */
export function lowerConv(n: LowerNode): Lowered {
  const x = input(n, 0), w = input(n, 1), b = n.inputs[2], out = n.outputs[0];
  floatOnly([x, w, out, ...(b ? [b] : [])]);
  n.parsed();
  const a = readConvAttrs(n.attrs);
  const spatial = x.shape.length - 2;
  if (spatial < 1) throw new LowerUnsupported(`Conv input of rank ${x.shape.length}`);
  const g = resolveGeometry(a, x.shape.slice(2), w.shape.slice(2));
  const [, C] = x.shape, M = w.shape[0], Cg = w.shape[1];
  const mPerGroup = M / a.group;
  if (Cg * a.group !== C || !Number.isInteger(mPerGroup)) throw new LowerUnsupported(`Conv groups ${a.group} do not divide channels ${C} / ${M}`);
  const body = loopNest(n, out.shape, (idx) => {
    const acc = n.fresh('acc'), cv = n.fresh('c');
    const kv = g.kernel.map(() => n.fresh('k'));
    const [nIdx, mIdx, ...oIdx] = idx;
    const pos = oIdx.map((o, s) => windowPosition(g, s, o, iv(kv[s])));
    const channel = a.group === 1 ? iv(cv) : iadd(imul(idiv(mIdx, ic(mPerGroup)), ic(Cg)), iv(cv));
    const xv = load(x.name, flatIndex(x.shape, [nIdx, channel, ...pos.map((p) => p.at)]), x.dtype);
    const wv = load(w.name, flatIndex(w.shape, [mIdx, iv(cv), ...kv.map(iv)]), w.dtype);
    let inner: Stmt[] = guarded(pos.flatMap((p) => (p.bound ? [p.bound] : [])), [{ k: 'accum', name: acc, value: binary('mul', xv, wv) }]);
    for (let s = spatial - 1; s >= 0; s--) inner = [loop(kv[s], g.kernel[s], inner)];
    const o = flatIndex(out.shape, idx);
    const v = b ? binary('add', ref(acc, out.dtype), load(b.name, mIdx, b.dtype)) : ref(acc, out.dtype);
    const ep = epilogue(n, v, o);
    return [
      { k: 'acc', name: acc, dtype: out.dtype, combine: 'add', init: lit(0, out.dtype) },
      loop(cv, Cg, inner),
      ...ep.lets,
      { k: 'store', buffer: out.name, index: o, value: ep.value },
    ];
  });
  return { kind: 'kernel', body };
}

/**
 * Lowers MaxPool (with its optional Indices output) and AveragePool, as the reference (ops/pool.ts):
 * MaxPool skips NaN (a window of only NaN or padding gives -inf) and computes 8-bit integers in f32;
 * Indices are the flat position in X of the first maximum, found by a second pass over the window (the
 * smallest row-major position holding the maximum; storage_order=1 then re-counts its spatial part
 * with the first spatial axis fastest), -1 for a window without one; the
 * AveragePool divisor counts the taps inside the input, or with count_include_pad those inside the
 * padded extent (a ceil_mode window hanging past the end padding counts only up to it).
 */
export function lowerPool(n: LowerNode): Lowered {
  const x = input(n, 0), out = n.outputs[0], indices = n.outputs[1];
  const max = n.node.op === 'MaxPool';
  const small = max && (x.dtype === 'u8' || x.dtype === 'i8');
  if (!small) floatOnly([x, out]);
  n.parsed();
  const w: WindowAttrs = readWindowAttrs(n.attrs);
  const ceil = n.attrs.int('ceil_mode', 0) !== 0;
  const includePad = n.attrs.int('count_include_pad', 0) !== 0;
  const colMajor = n.attrs.int('storage_order', 0) !== 0;
  const g = resolveGeometry(w, x.shape.slice(2), w.kernelShape!, ceil);
  const t = small ? 'f32' : out.dtype; // the accumulation type
  // a window can hang past the end padding (ceil_mode): count_include_pad then counts up to the padding only
  const hangs = g.output.some((o, s) => (o - 1) * g.strides[s] + (g.kernel[s] - 1) * g.dilations[s] + 1 > g.input[s] + g.padBegin[s] + g.padEnd[s]);
  const body = loopNest(n, out.shape, (idx) => {
    const acc = n.fresh('acc'), cnt = n.fresh('cnt');
    const kv = g.kernel.map(() => n.fresh('k'));
    const [nIdx, cIdx, ...oIdx] = idx;
    const pos = oIdx.map((o, s) => windowPosition(g, s, o, iv(kv[s])));
    const bounds = pos.flatMap((p) => (p.bound ? [p.bound] : []));
    const at = flatIndex(x.shape, [nIdx, cIdx, ...pos.map((p) => p.at)]);
    const xv = cast(load(x.name, at, x.dtype), t);
    const counted = !max && bounds.length > 0 && (!includePad || hangs);
    // NaN never wins a max (as the reference); the padded extent bounds the count_include_pad taps
    const value = max && dtypeInfo(x.dtype).isFloat ? select(unary('isnan', xv, 'bool'), lit(-Infinity, t), xv) : xv;
    const countStmt: Stmt = { k: 'accum', name: cnt, value: lit(1, 'i32') };
    let inner: Stmt[] = guarded(bounds, [{ k: 'accum', name: acc, value }, ...(counted && !includePad ? [countStmt] : [])]);
    if (counted && includePad) {
      const padded = pos.map((p, s): GuardBound => ({ index: iadd(p.at, ic(g.padBegin[s])), extent: g.input[s] + g.padBegin[s] + g.padEnd[s] }));
      inner = [{ k: 'guard', bounds: padded, body: [countStmt, ...inner] }];
    }
    const nest = (body: Stmt[], vars: string[]) => {
      let st = body;
      for (let s = vars.length - 1; s >= 0; s--) st = [loop(vars[s], g.kernel[s], st)];
      return st;
    };
    const full = g.kernel.reduce((p, k) => p * k, 1);
    const result = max ? ref(acc, t)
      : counted ? binary('div', ref(acc, t), cast(ref(cnt, 'i32'), t))
        : binary('div', ref(acc, t), lit(full, t));
    const o = flatIndex(out.shape, idx);
    const stmts: Stmt[] = [
      { k: 'acc', name: acc, dtype: t, combine: max ? 'max' : 'add', init: lit(max ? -Infinity : 0, t) },
      ...(counted ? [{ k: 'acc', name: cnt, dtype: 'i32', combine: 'add', init: lit(0, 'i32') } as Stmt] : []),
      ...nest(inner, kv),
      { k: 'store', buffer: out.name, index: o, value: cast(result, out.dtype) },
    ];
    // storage_order=1: the spatial part of a flat position re-counted with the first spatial axis fastest
    const columnMajor = (flat: Scalar): Scalar => {
      const i64 = (v: number) => lit(v, 'i64');
      const plane = g.input.reduce((p, d) => p * d, 1);
      let rest = binary('fmod', flat, i64(plane));
      let result = binary('sub', flat, rest);
      let rowStride = plane, colStride = 1;
      g.input.forEach((d) => {
        rowStride /= d;
        const coord = binary('div', rest, i64(rowStride));
        rest = binary('fmod', rest, i64(rowStride));
        result = binary('add', result, binary('mul', coord, i64(colStride)));
        colStride *= d;
      });
      return result;
    };
    if (indices) {
      // second pass: the smallest flat position holding the maximum (none when the maximum is -inf)
      const first = n.fresh('first');
      const kv2 = g.kernel.map(() => n.fresh('k'));
      const pos2 = oIdx.map((q, s) => windowPosition(g, s, q, iv(kv2[s])));
      const bounds2 = pos2.flatMap((p) => (p.bound ? [p.bound] : []));
      const at2 = flatIndex(x.shape, [nIdx, cIdx, ...pos2.map((p) => p.at)]);
      const none = lit(x.count, 'i64');
      const hit = binary('and', binary('eq', cast(load(x.name, at2, x.dtype), t), ref(acc, t)), binary('gt', ref(acc, t), lit(-Infinity, t)));
      stmts.push(
        { k: 'acc', name: first, dtype: 'i64', combine: 'min', init: none },
        ...nest(guarded(bounds2, [{ k: 'accum', name: first, value: select(hit, { k: 'index', dtype: 'i64', index: at2 }, none) }]), kv2),
        { k: 'store', buffer: indices.name, index: o, value: select(binary('eq', ref(first, 'i64'), none), lit(-1, 'i64'), colMajor ? columnMajor(ref(first, 'i64')) : ref(first, 'i64')) },
      );
    }
    return stmts;
  });
  return { kind: 'kernel', body };
}

/** Lowers GlobalAveragePool / GlobalMaxPool: a reduction over the spatial axes. */
export function lowerGlobalPool(n: LowerNode): Lowered {
  const x = input(n, 0), out = n.outputs[0];
  floatOnly([x, out]);
  n.parsed();
  const axes = x.shape.map((_, d) => d).slice(2);
  const count = axes.reduce((p, d) => p * x.shape[d], 1);
  const kind = n.node.op === 'GlobalMaxPool'
    ? { combine: 'max' as const }
    : { combine: 'add' as const, finish: (acc: ReturnType<typeof ref>) => binary('div', acc, lit(count, acc.dtype)) };
  return { kind: 'kernel', body: reduceNest(n, x.shape, axes, out, kind, (idx) => ({ pre: [], value: load(x.name, flatIndex(x.shape, idx), x.dtype) })) };
}
