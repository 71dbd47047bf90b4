/**
 * Lowering of LayerNormalization (output Y only; the optional Mean / InvStdDev outputs are not
 * lowered). Per row of the trailing axes [axis, rank): the mean, then the biased variance as the mean
 * of squared deviations (two passes, as the reference kernel does, not E[x²] − E[x]²), then
 * y = (x − mean) · 1/√(var + ε) · scale + bias, with scale and bias broadcast over the row. Computed in
 * the input's dtype (f32 or f64).
 */
import { type Index, type Stmt, binary, iv, lit, load, loop, ref, unary } from '../kir.ts';
import { type LowerNode, type Lowered, LowerUnsupported, broadcastIndex, flatIndex, input, loopNest, normAxis } from './context.ts';
import { floatOnly } from './matmul.ts';

/** Lowers LayerNormalization. */
export function lowerLayerNorm(n: LowerNode): Lowered {
  const x = input(n, 0), scale = input(n, 1), bias = n.inputs[2], out = n.outputs[0];
  floatOnly([x, scale, out, ...(bias ? [bias] : [])]);
  if (n.outputs.length > 1) throw new LowerUnsupported('LayerNormalization with Mean / InvStdDev outputs is not lowered');
  const a = n.parsed<{ axis: number; epsilon: number }>();
  const axis = normAxis(a.axis, x.shape.length);
  const rowShape = x.shape.slice(axis);
  const len = rowShape.reduce((p, d) => p * d, 1);
  const t = x.dtype;
  const body = loopNest(n, x.shape.slice(0, axis), (outer) => {
    const sum = n.fresh('sum'), sq = n.fresh('sq'), mean = n.fresh('mean'), inv = n.fresh('inv');
    // each pass walks the row as one flat loop (the row is contiguous)
    const base = flatIndex(x.shape, [...outer, ...rowShape.map(() => ({ k: 'const', value: 0 }) as Index)]);
    const rowVar = () => n.fresh('j');
    const at = (v: string): Index => ({ k: 'add', a: base, b: iv(v) });
    const flatAt = (v: string): Index => (base.k === 'const' && base.value === 0 ? iv(v) : at(v));
    const j0 = rowVar(), j1 = rowVar(), j2 = rowVar();
    const rowIdx = (v: string): Index[] => {
      // the row position of flat offset v, for broadcasting scale / bias over the row's dims
      const idx: Index[] = [];
      let rest: Index = iv(v);
      for (let d = rowShape.length - 1; d >= 0; d--) {
        const inner = rowShape.slice(d + 1).reduce((p, q) => p * q, 1);
        idx.unshift(d === 0 ? { k: 'div', a: rest, b: { k: 'const', value: inner } } : { k: 'mod', a: { k: 'div', a: rest, b: { k: 'const', value: inner } }, b: { k: 'const', value: rowShape[d] } });
      }
      return rowShape.length === 1 ? [iv(v)] : idx;
    };
    const param = (p: typeof scale, v: string) => (p.count === 1 ? load(p.name, { k: 'const', value: 0 }, p.dtype) : load(p.name, broadcastIndex(p.shape, rowShape, rowIdx(v)), p.dtype));
    let y = binary('mul', binary('mul', binary('sub', load(x.name, flatAt(j2), t), ref(mean, t)), ref(inv, t)), param(scale, j2));
    if (bias) y = binary('add', y, param(bias, j2));
    const stmts: Stmt[] = [
      { k: 'acc', name: sum, dtype: t, combine: 'add', init: lit(0, t) },
      loop(j0, len, [{ k: 'accum', name: sum, value: load(x.name, flatAt(j0), t) }]),
      { k: 'let', name: mean, value: binary('div', ref(sum, t), lit(len, t)) },
      { k: 'acc', name: sq, dtype: t, combine: 'add', init: lit(0, t) },
      loop(j1, len, [{ k: 'accum', name: sq, value: binary('mul', binary('sub', load(x.name, flatAt(j1), t), ref(mean, t)), binary('sub', load(x.name, flatAt(j1), t), ref(mean, t))) }]),
      { k: 'let', name: inv, value: binary('div', lit(1, t), unary('sqrt', binary('add', binary('div', ref(sq, t), lit(len, t)), lit(a.epsilon, t)))) },
      loop(j2, len, [{ k: 'store', buffer: out.name, index: flatAt(j2), value: y }], len >= 8 ? [{ kind: 'vectorize', width: 8, tail: len % 8 !== 0 }] : []),
    ];
    return stmts;
  });
  return { kind: 'kernel', body };
}
