/**
 * Lowering of Cast and CastLike to or from the narrow dtypes (bf16, the float8 family, f4e2m1, and
 * the sub-byte integers i4/u4/i2/u2); every other Cast is an elementwise op of the scalar-op table
 * (elementwise.ts), where the narrow types have no compute type.
 *
 * One loop over the elements: the source is read in a type that holds it exactly (a narrow float or
 * f16 decodes to f32, a sub-byte integer is its own value, f64 and integers stay), then converted by
 * one kernel IR `cast` to the target, whose semantics for narrow dtypes (kir.ts `cast`, realised in C
 * by lang/c-narrow.ts) are the reference Cast's with `saturate=1`: round to nearest even, out-of-range
 * values and infinities clamp to the largest finite value. `saturate=0` (float8 only; f4e2m1 always
 * saturates) selects the format's overflow value (±Inf for f8e5m2, NaN for the others) where the
 * magnitude reaches the overflow threshold: the midpoint between the largest finite value and the next
 * power-of-two step, a value exactly there overflowing when the reference codec says so. f8e8m0
 * targets are lowered for the default `round_mode=up` with saturation only.
 */
import { dtypeInfo, type DType } from '../../ir/dtype.ts';
import { narrowFloatCodec } from '../../ir/floatbits.ts';
import '../../ir/float8.ts';
import { type Scalar, binary, cast, lit, load, ref, select, unary } from '../kir.ts';
import { type LowerNode, type Lowered, LowerUnsupported, input, loopNest } from './context.ts';
import { lowerElementwise } from './elementwise.ts';

/** True for the dtypes kernels only store and convert (no arithmetic): bf16, float8, float4, sub-byte ints. */
export function isNarrowDType(d: DType): boolean {
  if (d === 'f16' || d === 'str') return false;
  const info = dtypeInfo(d);
  return info.encoded || info.bits < 8;
}

const isNarrowFloat = (d: DType) => isNarrowDType(d) && dtypeInfo(d).isFloat;

/** The magnitude from which a non-saturating encode of `d` overflows, and whether exactly it does. */
function overflowThreshold(d: DType): { at: number; inclusive: boolean } {
  const codec = narrowFloatCodec(d);
  let max = 0;
  for (let c = 0; c < 128; c++) { const v = codec.decode(c); if (Number.isFinite(v) && v > max) max = v; }
  let below = 0;
  for (let c = 0; c < 128; c++) { const v = codec.decode(c); if (Number.isFinite(v) && v < max && v > below) below = v; }
  const at = max + (max - below) / 2; // the largest code's mantissa is not zero in these formats: one ulp below
  const code = codec.encode(at, false);
  return { at, inclusive: !Number.isFinite(codec.decode(code)) };
}

/** Lowers Cast/CastLike; ordinary dtypes go to the elementwise lowering. */
export function lowerCast(n: LowerNode): Lowered {
  const x = input(n, 0), out = n.outputs[0];
  if (!isNarrowDType(x.dtype) && !isNarrowDType(out.dtype)) return lowerElementwise(n);
  for (const d of [x.dtype, out.dtype]) if (d === 'str') throw new LowerUnsupported('Cast from or to str is not lowered');
  const a = n.parsed<{ saturate?: boolean; roundMode?: string }>();
  const saturate = a.saturate ?? true;
  const to = out.dtype;
  if (to === 'f8e8m0' && (!saturate || (a.roundMode ?? 'up') !== 'up')) {
    throw new LowerUnsupported('Cast to f8e8m0 is lowered for round_mode=up with saturate=1 only');
  }
  const body = out.count === 0 ? [] : loopNest(n, [out.count], ([i]) => {
    const raw = load(x.name, i, x.dtype);
    // the source in a type that holds it exactly (f16 and narrow floats decode to f32)
    const v: Scalar = x.dtype === 'f16' || isNarrowFloat(x.dtype) ? cast(raw, 'f32') : raw;
    if (saturate || !isNarrowFloat(to) || to === 'f4e2m1' || to === 'bf16') return [{ k: 'store', buffer: out.name, index: i, value: cast(v, to) }];
    // saturate=0: the overflow value where the magnitude reaches the threshold
    const name = n.fresh('v');
    const f = ref(name, dtypeInfo(v.dtype).isFloat ? v.dtype : 'f64');
    const t = overflowThreshold(to);
    const over = binary(t.inclusive ? 'ge' : 'gt', unary('abs', f), lit(t.at, f.dtype));
    const special = select(binary('lt', f, lit(0, f.dtype)), lit(-Infinity, to), lit(Infinity, to));
    return [
      { k: 'let', name, value: cast(v, f.dtype) },
      { k: 'store', buffer: out.name, index: i, value: select(over, special, cast(f, to)) },
    ];
  });
  return { kind: 'kernel', body };
}
