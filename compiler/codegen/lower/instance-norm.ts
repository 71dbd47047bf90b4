/**
 * Lowering of InstanceNormalization (NCHW and any spatial rank): per (n, c), over the contiguous
 * spatial elements, the mean, then the biased variance of the deviations, then y = x · k + add with
 * k = scale[c] / sqrt(var + epsilon) and add = B[c] − mean · k. Every statistic is f64, as in the
 * reference kernel (ops/norm.ts), and the output is rounded once at the store.
 */
import { dtypeInfo } from '../../ir/dtype.ts';
import { type Stmt, binary, cast, iadd, ic, imul, iv, lit, load, loop, ref, unary } from '../kir.ts';
import { type LowerNode, type Lowered, LowerUnsupported, input, loopNest, wideFloat } from './context.ts';
import { checkDType } from './scalar.ts';

/** Lowers InstanceNormalization(x, scale, B). */
export function lowerInstanceNorm(n: LowerNode): Lowered {
  const x = input(n, 0), s = input(n, 1), b = input(n, 2), out = n.outputs[0];
  for (const o of [x, s, b]) {
    checkDType(o.dtype, o.name);
    if (!dtypeInfo(o.dtype).isFloat) throw new LowerUnsupported(`InstanceNormalization on ${o.dtype}`);
  }
  const eps = n.parsed<{ epsilon: number }>().epsilon;
  const [batch, channels] = x.shape;
  const inner = batch * channels === 0 ? 0 : x.count / (batch * channels);
  if (x.count === 0) return { kind: 'kernel', body: [] };
  const wide = wideFloat(n); // f64 on a CPU, f32 on a GPU
  const f64 = (v: ReturnType<typeof load>) => cast(v, wide);
  const body = loopNest(n, [batch, channels], ([bn, c]) => {
    const base = imul(iadd(imul(bn, ic(channels)), c), ic(inner));
    const sum = n.fresh('sum'), sq = n.fresh('sq'), mean = n.fresh('mean'), k = n.fresh('k'), add = n.fresh('add');
    const i0 = n.fresh('s'), i1 = n.fresh('s'), i2 = n.fresh('s'), d = n.fresh('d');
    const xAt = (v: string) => f64(load(x.name, iadd(base, iv(v)), x.dtype));
    const stmts: Stmt[] = [
      { k: 'acc', name: sum, dtype: wide, combine: 'add', init: lit(0, wide) },
      loop(i0, inner, [{ k: 'accum', name: sum, value: xAt(i0) }]),
      { k: 'let', name: mean, value: binary('div', ref(sum, wide), lit(inner, wide)) },
      { k: 'acc', name: sq, dtype: wide, combine: 'add', init: lit(0, wide) },
      loop(i1, inner, [
        { k: 'let', name: d, value: binary('sub', xAt(i1), ref(mean, wide)) },
        { k: 'accum', name: sq, value: binary('mul', ref(d, wide), ref(d, wide)) },
      ]),
      { k: 'let', name: k, value: binary('div', f64(load(s.name, c, s.dtype)), unary('sqrt', binary('add', binary('div', ref(sq, wide), lit(inner, wide)), lit(eps, wide)))) },
      { k: 'let', name: add, value: binary('sub', f64(load(b.name, c, b.dtype)), binary('mul', ref(mean, wide), ref(k, wide))) },
      loop(i2, inner, [{
        k: 'store', buffer: out.name, index: iadd(base, iv(i2)),
        value: cast(binary('add', binary('mul', xAt(i2), ref(k, wide)), ref(add, wide)), out.dtype),
      }]),
    ];
    return stmts;
  });
  return { kind: 'kernel', body };
}
