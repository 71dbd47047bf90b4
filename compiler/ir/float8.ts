/**
 * Codecs for the float8 formats (f8e4m3fn, f8e4m3fnuz, f8e5m2, f8e5m2fnuz, f8e8m0) and the float4
 * format f4e2m1, registered with floatbits.ts so that tensor.ts can decode and encode their codes.
 *
 * The sign/exponent/mantissa formats share one generic codec built from a small format description:
 *   - decode: a lookup table of all 2^bits values, filled once;
 *   - encode: exact round-to-nearest-even from a JS double (no intermediate f32/f16 rounding): the
 *     value is scaled by a power of two so that the kept mantissa bits form the integer part, rounded
 *     to even, and the code is assembled as exponent*2^mant + mantissa (a mantissa carry ripples into
 *     the exponent on its own). A code beyond the largest finite one is then an overflow.
 * Special values follow the ONNX Cast spec (and the ONNX reference, i.e. ml_dtypes plus clipping):
 *   - NaN encodes to the format's NaN (0x7f e4m3fn, 0x7e e5m2, 0x80 for the fnuz formats);
 *   - saturate=true clamps +-Inf and out-of-range values to +-max finite;
 *   - saturate=false gives +-Inf for e5m2, NaN (sign kept) for e4m3fn, and 0x80 for the fnuz formats;
 *   - the fnuz formats have no -0: negative values that round to zero encode as 0x00;
 *   - f4e2m1 has neither Inf nor NaN: it always saturates, and NaN encodes to 0x8 (as ONNX's data).
 * f8e8m0 (an unsigned power-of-two scale, 2^(code-127), 0xff = NaN) is handled separately because it
 * rounds by a mode (up / down / nearest) on the f32 exponent bits, as ONNX's `to_float8e8m0` does.
 */
import { registerNarrowFloat, type NarrowFloatCodec } from './floatbits.ts';

/** Description of a small sign/exponent/mantissa float format. */
interface MiniFloatFormat {
  /** Total bits (8 or 4). */
  readonly bits: number;
  readonly mantBits: number;
  readonly bias: number;
  /** Largest finite magnitude code (sign bit clear). */
  readonly maxCode: number;
  /** Magnitude code of +Inf, when the format has infinities. */
  readonly infCode?: number;
  /** The code NaN encodes to. */
  readonly nanCode: number;
  /** Code for an overflow with saturate=false when there is no Inf: `nan` (sign kept) or a fixed code. */
  readonly overflowNaN: 'signed' | number;
  /** True when the format keeps a negative zero. */
  readonly negZero: boolean;
  /** True when out-of-range values always clamp (f4e2m1). */
  readonly alwaysSaturate: boolean;
  /** Decodes special codes (NaN/Inf); returns undefined for ordinary ones. */
  readonly special: (code: number) => number | undefined;
}

/** floor(log2(a)) for a finite a > 0, exact. */
function exponentOf(a: number): number {
  let e = Math.floor(Math.log2(a));
  const p = 2 ** e;
  if (p > a) e--;
  else if (p * 2 <= a) e++;
  return e;
}

/** Rounds a non-negative double to an integer, ties to even. */
function roundHalfEven(q: number): number {
  const f = Math.floor(q);
  const d = q - f;
  return d > 0.5 || (d === 0.5 && f % 2 === 1) ? f + 1 : f;
}

function decodeSlow(f: MiniFloatFormat, code: number): number {
  const special = f.special(code);
  if (special !== undefined) return special;
  const signBit = 1 << (f.bits - 1);
  const sign = code & signBit ? -1 : 1;
  const e = (code & (signBit - 1)) >> f.mantBits;
  const m = code & ((1 << f.mantBits) - 1);
  if (e === 0) return sign * m * 2 ** (1 - f.bias - f.mantBits);
  return sign * (1 + m / 2 ** f.mantBits) * 2 ** (e - f.bias);
}

/** A codec for a sign/exponent/mantissa format. */
function miniFloatCodec(f: MiniFloatFormat): NarrowFloatCodec {
  const size = 1 << f.bits;
  const table = new Float64Array(size);
  for (let c = 0; c < size; c++) table[c] = decodeSlow(f, c);
  const signBit = 1 << (f.bits - 1);
  const minNormalExp = 1 - f.bias;
  const mantOne = 2 ** f.mantBits;
  const subnormalScale = 2 ** (f.mantBits - minNormalExp);
  return {
    decode: (code) => table[code & (size - 1)],
    encode(value, saturate) {
      if (value !== value) return f.nanCode;
      const neg = value < 0 || Object.is(value, -0);
      const a = Math.abs(value);
      let mag: number;
      if (a === Infinity) mag = f.maxCode + 1;
      else if (a === 0) mag = 0;
      else {
        const e = exponentOf(a);
        if (e < minNormalExp) mag = roundHalfEven(a * subnormalScale);
        else mag = (e + f.bias) * mantOne + roundHalfEven(a * 2 ** (f.mantBits - e)) - mantOne;
      }
      if (mag > f.maxCode) {
        if (saturate || f.alwaysSaturate) mag = f.maxCode;
        else if (f.infCode !== undefined) mag = f.infCode;
        else return f.overflowNaN === 'signed' ? f.nanCode | (neg ? signBit : 0) : f.overflowNaN;
      }
      if (mag === 0 && !f.negZero) return 0;
      return neg ? mag | signBit : mag;
    },
  };
}

/** OCP FP8 E4M3: bias 7, no Inf, NaN = s.1111.111, max 448. */
export const F8E4M3FN = miniFloatCodec({
  bits: 8, mantBits: 3, bias: 7, maxCode: 0x7e, nanCode: 0x7f, overflowNaN: 'signed', negZero: true,
  alwaysSaturate: false, special: (c) => ((c & 0x7f) === 0x7f ? NaN : undefined),
});

/** FP8 E4M3 "fnuz": bias 8, no Inf, no -0, NaN = 0x80, max 240. */
export const F8E4M3FNUZ = miniFloatCodec({
  bits: 8, mantBits: 3, bias: 8, maxCode: 0x7f, nanCode: 0x80, overflowNaN: 0x80, negZero: false,
  alwaysSaturate: false, special: (c) => (c === 0x80 ? NaN : undefined),
});

/** OCP FP8 E5M2 (IEEE-like): bias 15, Inf = s.11111.00, NaN = s.11111.xx, max 57344. */
export const F8E5M2 = miniFloatCodec({
  bits: 8, mantBits: 2, bias: 15, maxCode: 0x7b, infCode: 0x7c, nanCode: 0x7e, overflowNaN: 'signed',
  negZero: true, alwaysSaturate: false,
  special: (c) => ((c & 0x7c) !== 0x7c ? undefined : (c & 3) !== 0 ? NaN : c & 0x80 ? -Infinity : Infinity),
});

/** FP8 E5M2 "fnuz": bias 16, no Inf, no -0, NaN = 0x80, max 57344. */
export const F8E5M2FNUZ = miniFloatCodec({
  bits: 8, mantBits: 2, bias: 16, maxCode: 0x7f, nanCode: 0x80, overflowNaN: 0x80, negZero: false,
  alwaysSaturate: false, special: (c) => (c === 0x80 ? NaN : undefined),
});

/** OCP MX FP4 E2M1: bias 1, values 0, 0.5, 1, 1.5, 2, 3, 4, 6; no Inf or NaN; always saturates. */
export const F4E2M1 = miniFloatCodec({
  bits: 4, mantBits: 1, bias: 1, maxCode: 0x7, nanCode: 0x8, overflowNaN: 0x8, negZero: true,
  alwaysSaturate: true, special: () => undefined,
});

/** How f8e8m0 rounds a value that is not a power of two (the Cast `round_mode` attribute). */
export type E8M0RoundMode = 'up' | 'down' | 'nearest';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * Encodes a value as f8e8m0 (unsigned power of two, 2^(code-127)). The value is taken as f32 and only
 * its exponent field is kept (the sign is ignored): `up` rounds any non-zero mantissa to the next
 * power, `down` truncates, `nearest` rounds up from mantissa 0.5 (strictly above 0.5 for f32
 * subnormals). NaN and Inf give 0xff (NaN); saturate stops rounding from 2^127 into NaN.
 */
export function encodeE8M0(value: number, saturate: boolean, mode: E8M0RoundMode = 'up'): number {
  f32[0] = value;
  const bits = u32[0];
  let exp = (bits >>> 23) & 0xff;
  if (exp === 0xff) return 0xff;
  const mant = bits & 0x7fffff;
  let up = false;
  if (mode === 'up') up = mant !== 0;
  else if (mode === 'nearest') up = (mant & 0x400000) !== 0 && ((mant & 0x3fffff) !== 0 || exp > 0);
  if (up && !(saturate && exp === 0xfe)) exp++;
  return exp;
}

/** Decodes an f8e8m0 code: 2^(code-127), 0xff is NaN. */
export function decodeE8M0(code: number): number {
  const c = code & 0xff;
  return c === 0xff ? NaN : 2 ** (c - 127);
}

/** f8e8m0 codec with the default round mode `up`. */
export const F8E8M0: NarrowFloatCodec = { decode: decodeE8M0, encode: (v, saturate) => encodeE8M0(v, saturate, 'up') };

registerNarrowFloat('f8e4m3fn', F8E4M3FN);
registerNarrowFloat('f8e4m3fnuz', F8E4M3FNUZ);
registerNarrowFloat('f8e5m2', F8E5M2);
registerNarrowFloat('f8e5m2fnuz', F8E5M2FNUZ);
registerNarrowFloat('f8e8m0', F8E8M0);
registerNarrowFloat('f4e2m1', F4E2M1);
