/**
 * Bit-level conversions between f32 and the narrow float formats kiln stores as raw codes.
 *
 * f16 (IEEE binary16) and bf16 use round-to-nearest-even, as numpy/ONNX do. The float8 and float4
 * families are added by the Cast family (see ops/cast.ts) through `registerNarrowFloat`, so that this
 * module stays the single place tensor.ts asks for a decoder/encoder.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** f32 value -> IEEE half bits, round to nearest even. */
export function f32ToF16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // inf / nan
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow -> 0
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let r = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    if (rem > half || (rem === half && (r & 1))) r++;
    return sign | r;
  }
  let r = mant >>> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1))) {
    r++;
    if (r === 0x400) { r = 0; e++; if (e >= 0x1f) return sign | 0x7c00; }
  }
  return sign | (e << 10) | r;
}

/** IEEE half bits -> f32 value. */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** f32 value -> bfloat16 bits, round to nearest even (NaN stays NaN). */
export function f32ToBF16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff)) return ((x >>> 16) | 0x40) & 0xffff;
  const lsb = (x >>> 16) & 1;
  return ((x + 0x7fff + lsb) >>> 16) & 0xffff;
}

/** bfloat16 bits -> f32 value. */
export function bf16BitsToF32(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0];
}

/** A decoder/encoder pair for a narrow float format stored as one code per array slot. */
export interface NarrowFloatCodec {
  decode(code: number): number;
  /** Encodes with the format's rounding; `saturate` clamps out-of-range values to the largest finite. */
  encode(value: number, saturate: boolean): number;
}

const narrow = new Map<string, NarrowFloatCodec>();
narrow.set('f16', { decode: f16BitsToF32, encode: (v) => f32ToF16Bits(v) });
narrow.set('bf16', { decode: bf16BitsToF32, encode: (v) => f32ToBF16Bits(v) });

/** Registers the codec of a narrow float dtype (float8 / float4 families). A duplicate throws. */
export function registerNarrowFloat(dtype: string, codec: NarrowFloatCodec): void {
  if (narrow.has(dtype)) throw new Error(`narrow float codec '${dtype}' is already registered`);
  narrow.set(dtype, codec);
}

/** The codec for an encoded float dtype; throws if none is registered. */
export function narrowFloatCodec(dtype: string): NarrowFloatCodec {
  const c = narrow.get(dtype);
  if (!c) throw new Error(`no codec for narrow float dtype '${dtype}'`);
  return c;
}
