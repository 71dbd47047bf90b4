/**
 * Lowering of BatchNormalization in inference mode (one output: y = (x − mean[c]) / √(var[c] + ε) ·
 * scale[c] + B[c], c the channel axis 1) and of LayerNormalization. Per row of the trailing axes
 * [axis, rank): the mean, then the biased variance as the mean of squared deviations (two passes, as
 * the reference kernel does, not E[x²] − E[x]²; each sum over LANES partial accumulators, lanes.ts,
 * so it vectorizes), then y = (x − mean) · 1/√(var + ε) · scale + bias,
 * with scale and bias broadcast over the row. Computed in the input's dtype (f32 or f64); the optional Mean and InvStdDev outputs store each row's mean and
 * 1/√(var + ε) cast to their (stash) dtype.
 */
import { type Index, type Stmt, binary, cast, iadd, ic, idiv, imod, iv, lit, load, loop, ref, unary } from '../kir.ts';
import { type LowerNode, type Lowered, type Operand, LowerUnsupported, broadcastIndex, flatIndex, input, loopNest, normAxis } from './context.ts';
import { floatOnly } from './matmul.ts';
import { laneReduce } from './lanes.ts';

/** Lowers LayerNormalization. */
export function lowerLayerNorm(n: LowerNode): Lowered {
  const x = input(n, 0), scale = input(n, 1), bias = n.inputs[2], out = n.outputs[0];
  floatOnly([x, scale, out, ...(bias ? [bias] : [])]);
  const a = n.parsed<{ axis: number; epsilon: number }>();
  const axis = normAxis(a.axis, x.shape.length);
  const rowShape = x.shape.slice(axis);
  const len = rowShape.reduce((p, d) => p * d, 1);
  const t = x.dtype;
  const body = loopNest(n, x.shape.slice(0, axis), (outer) => {
    const mean = n.fresh('mean'), inv = n.fresh('inv');
    // each pass walks the row (contiguous) as one flat loop from the row's first element
    const base = flatIndex(x.shape, [...outer, ...rowShape.map(() => ic(0))]);
    const at = (v: string): Index => iadd(base, iv(v));
    const xv = (v: string) => load(x.name, at(v), t);
    const j2 = n.fresh('j');
    // the row position of flat offset v, to broadcast scale / bias over the row's dims
    const rowIdx = (v: string): Index[] => rowShape.map((d, k) => {
      const inner = rowShape.slice(k + 1).reduce((p, q) => p * q, 1);
      const q = idiv(iv(v), ic(inner));
      return k === 0 ? q : imod(q, ic(d));
    });
    const param = (p: Operand, v: string) => load(p.name, p.count === 1 ? ic(0) : broadcastIndex(p.shape, rowShape, rowIdx(v)), p.dtype);
    const dev = (v: string) => binary('sub', xv(v), ref(mean, t));
    // the two row sums over LANES partial accumulators (lanes.ts), so they vectorize
    const sum = laneReduce(n, len, 'add', t, lit(0, t), (j) => ({ pre: [], value: load(x.name, iadd(base, j), t) }));
    const sq = laneReduce(n, len, 'add', t, lit(0, t), (j) => {
      const d = binary('sub', load(x.name, iadd(base, j), t), ref(mean, t));
      return { pre: [], value: binary('mul', d, d) };
    });
    let y = binary('mul', binary('mul', dev(j2), ref(inv, t)), param(scale, j2));
    if (bias) y = binary('add', y, param(bias, j2));
    const stmts: Stmt[] = [
      ...sum.stmts,
      { k: 'let', name: mean, value: binary('div', sum.result, lit(len, t)) },
      ...sq.stmts,
      { k: 'let', name: inv, value: binary('div', lit(1, t), unary('sqrt', binary('add', binary('div', sq.result, lit(len, t)), lit(a.epsilon, t)))) },
      loop(j2, len, [{ k: 'store', buffer: out.name, index: at(j2), value: y }], len >= 8 ? [{ kind: 'vectorize', width: 8, tail: len % 8 !== 0 }] : []),
    ];
    // the optional Mean and InvStdDev outputs: one value per row, in the stash dtype
    const row = flatIndex(x.shape.slice(0, axis), outer);
    [mean, inv].forEach((local, k) => {
      const o = n.outputs[k + 1];
      if (o) stmts.push({ k: 'store', buffer: o.name, index: row, value: cast(ref(local, t), o.dtype) });
    });
    return stmts;
  });
  return { kind: 'kernel', body };
}

/** Lowers BatchNormalization (inference: training_mode=0, one output). */
export function lowerBatchNorm(n: LowerNode): Lowered {
  const x = input(n, 0), [scale, b, mean, variance] = [1, 2, 3, 4].map((k) => input(n, k)), out = n.outputs[0];
  floatOnly([x, scale, b, mean, variance, out]);
  const a = n.parsed<{ epsilon: number; training: boolean }>();
  if (a.training || n.outputs.length > 1) throw new LowerUnsupported('BatchNormalization in training mode is not lowered');
  if (x.shape.length < 2) throw new LowerUnsupported('BatchNormalization needs rank >= 2');
  const t = x.dtype;
  const body = loopNest(n, x.shape, (idx) => {
    const c = idx[1];
    const p = (o: Operand) => load(o.name, c, o.dtype);
    const o = flatIndex(x.shape, idx);
    const inv = binary('div', p(scale), unary('sqrt', binary('add', p(variance), lit(a.epsilon, t))));
    return [{ k: 'store', buffer: out.name, index: o, value: binary('add', binary('mul', binary('sub', load(x.name, o, t), p(mean)), inv), p(b)) }];
  });
  return { kind: 'kernel', body };
}
