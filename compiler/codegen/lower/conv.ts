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
import { type GuardBound, type Index, type Stmt, binary, cast, iadd, ic, idiv, imul, iv, lit, load, loop, ref } from '../kir.ts';
import { type LowerNode, type Lowered, LowerUnsupported, flatIndex, input, loopNest } from './context.ts';
import { epilogue } from './epilogue.ts';
import { floatOnly } from './matmul.ts';
import { readConvAttrs } from '../../ops/conv.ts';
import { type Geometry, type WindowAttrs, readWindowAttrs, resolveGeometry } from '../../ops/window.ts';
import { reduceNest } from './reduce.ts';
import { isDepthwise, lowerDepthwise } from './depthwise.ts';
import { chooseWinograd, lowerWinograd, winogradApplies } from './winograd.ts';

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
  // templates of other files (keep this dispatch short): depthwise (lower/depthwise.ts), Winograd (lower/winograd.ts)
  if (isDepthwise(x.shape, w.shape, a.group)) return lowerDepthwise(n, g);
  if (winogradApplies(x, w, g, a.group) && chooseWinograd(n, x, w, g)) return lowerWinograd(n, g);
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

/** Lowers MaxPool and AveragePool (one output; MaxPool's Indices output is not lowered). */
export function lowerPool(n: LowerNode): Lowered {
  const x = input(n, 0), out = n.outputs[0];
  floatOnly([x, out]);
  if (n.outputs.length > 1) throw new LowerUnsupported('MaxPool with an Indices output is not lowered');
  n.parsed();
  const w: WindowAttrs = readWindowAttrs(n.attrs);
  const ceil = n.attrs.int('ceil_mode', 0) !== 0;
  const includePad = n.attrs.int('count_include_pad', 0) !== 0;
  if (n.attrs.int('storage_order', 0) !== 0) throw new LowerUnsupported('storage_order=1');
  const g = resolveGeometry(w, x.shape.slice(2), w.kernelShape!, ceil);
  const max = n.node.op === 'MaxPool';
  const t = out.dtype;
  const body = loopNest(n, out.shape, (idx) => {
    const acc = n.fresh('acc'), cnt = n.fresh('cnt');
    const kv = g.kernel.map(() => n.fresh('k'));
    const [nIdx, cIdx, ...oIdx] = idx;
    const pos = oIdx.map((o, s) => windowPosition(g, s, o, iv(kv[s])));
    const bounds = pos.flatMap((p) => (p.bound ? [p.bound] : []));
    const xv = load(x.name, flatIndex(x.shape, [nIdx, cIdx, ...pos.map((p) => p.at)]), x.dtype);
    const counted = !max && !includePad && bounds.length > 0;
    let inner: Stmt[] = guarded(bounds, [
      { k: 'accum', name: acc, value: xv },
      ...(counted ? [{ k: 'accum', name: cnt, value: lit(1, 'i32') } as Stmt] : []),
    ]);
    for (let s = kv.length - 1; s >= 0; s--) inner = [loop(kv[s], g.kernel[s], inner)];
    const full = g.kernel.reduce((p, k) => p * k, 1);
    const value = max ? ref(acc, t)
      : counted ? binary('div', ref(acc, t), cast(ref(cnt, 'i32'), t))
        : binary('div', ref(acc, t), lit(full, t));
    return [
      { k: 'acc', name: acc, dtype: t, combine: max ? 'max' : 'add', init: lit(max ? -Infinity : 0, t) },
      ...(counted ? [{ k: 'acc', name: cnt, dtype: 'i32', combine: 'add', init: lit(0, 'i32') } as Stmt] : []),
      ...inner,
      { k: 'store', buffer: out.name, index: flatIndex(out.shape, idx), value },
    ];
  });
  if (!max && includePad && g.padEnd.some((p, s) => (g.output[s] - 1) * g.strides[s] + (g.kernel[s] - 1) * g.dilations[s] + 1 > g.input[s] + g.padBegin[s] + p)) {
    throw new LowerUnsupported('AveragePool with count_include_pad and ceil_mode windows past the pads is not lowered');
  }
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
