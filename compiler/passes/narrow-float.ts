/**
 * Bulk f32 → f16/bf16 conversion of constant data for mixed-precision, with the rounding error it
 * adds measured in the same pass over the data.
 *
 * The per-element codecs of ir/floatbits.ts are exact but call-heavy; a ResNet-50 has 25 M weights, so
 * this module inlines the same round-to-nearest-even bit arithmetic over a Uint32Array view of the f32
 * data (no allocation per element). It works in chunks of 4096 elements: encode a chunk, keeping the
 * f32 value of each code in a small buffer, then fold the chunk's error while that buffer is in cache.
 * The codes are identical to `f32ToF16Bits` / `f32ToBF16Bits` (tested).
 */
import type { DType } from '../ir/dtype.ts';
import { f16BitsToF32, f32ToF16Bits } from '../ir/floatbits.ts';
import { Tensor } from '../ir/tensor.ts';

/** The rounding error a conversion adds. */
export interface ConversionError {
  /** max |q - x| over finite x whose q is finite. */
  readonly maxAbs: number;
  /** max |q - x| / |x| over finite non-zero x whose q is finite and non-zero (underflows are counted apart). */
  readonly maxRel: number;
  /** Finite values that became ±inf (beyond the format's range). */
  readonly overflow: number;
  /** Non-zero values that became ±0. */
  readonly underflow: number;
}

/** Elements per chunk: the rounded values of a chunk stay in cache between encoding and measuring. */
const CHUNK = 4096;
const rounded = new Float32Array(CHUNK);
const roundedBits = new Uint32Array(rounded.buffer);

/**
 * Encodes data[base, end) to f16 codes, round to nearest even (as f32ToF16Bits), and leaves the f32
 * value of each code in `rounded`. Values below 2^15 in the normal range take a branch-free path: add
 * 0xfff plus the lowest kept mantissa bit and truncate (a carry rounds into the exponent); the rounded
 * f32 bits are the same sum with the low 13 bits cleared. Zeros, subnormals, values from 2^15 up
 * (which may round to inf), inf and NaN go through f32ToF16Bits.
 */
function encodeF16(data: Float32Array, bits: Uint32Array, codes: Uint16Array, base: number, end: number): void {
  for (let i = base, j = 0; i < end; i++, j++) {
    const x = bits[i];
    const exp = (x >>> 23) & 0xff;
    if (exp > 112 && exp < 142) {
      const r = (x & 0x7fffffff) + 0xfff + ((x >>> 13) & 1);
      codes[i] = ((x >>> 16) & 0x8000) | ((r - (112 << 23)) >>> 13);
      roundedBits[j] = (r & 0x7fffe000) | (x & 0x80000000);
    } else {
      const c = f32ToF16Bits(data[i]);
      codes[i] = c;
      rounded[j] = f16BitsToF32(c);
    }
  }
}

/** Encodes bits[base, end) to bf16 codes, round to nearest even, NaN kept quiet (as f32ToBF16Bits). */
function encodeBF16(bits: Uint32Array, codes: Uint16Array, base: number, end: number): void {
  for (let i = base, j = 0; i < end; i++, j++) {
    const x = bits[i];
    const hi = x >>> 16;
    const c = (x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0
      ? (hi | 0x40) & 0xffff
      : (hi + (((x & 0xffff) + 0x7fff + (hi & 1)) >>> 16)) & 0xffff;
    codes[i] = c;
    roundedBits[j] = c << 16;
  }
}

/** Converts f32 data to `dtype` (f16 or bf16) codes and measures the rounding error. */
export function narrowF32(data: Float32Array, dtype: 'f16' | 'bf16'): { codes: Uint16Array; error: ConversionError } {
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const codes = new Uint16Array(data.length);
  const e = { maxAbs: 0, maxRel: 0, overflow: 0, underflow: 0 };
  for (let base = 0; base < data.length; base += CHUNK) {
    const end = Math.min(data.length, base + CHUNK);
    if (dtype === 'f16') encodeF16(data, bits, codes, base, end);
    else encodeBF16(bits, codes, base, end);
    measure(data, base, end, e);
  }
  return { codes, error: e };
}

/** Folds the error of data[base, end) against `rounded` into `e` (branches only on new maxima). */
function measure(data: Float32Array, base: number, end: number, e: { maxAbs: number; maxRel: number; overflow: number; underflow: number }): void {
  let { maxAbs, maxRel, overflow, underflow } = e;
  for (let i = base, j = 0; i < end; i++, j++) {
    const x = data[i];
    const q = rounded[j];
    const d = Math.abs(q - x); // NaN when x is NaN or inf: never a new maximum
    const ax = Math.abs(x);
    if (d > maxAbs) {
      if (d === Infinity) { overflow++; continue; }
      maxAbs = d;
    }
    if (d > maxRel * ax) {
      if (q === 0) underflow++; // d > 0 here, so x !== 0
      else maxRel = d / ax;
    }
  }
  e.maxAbs = maxAbs; e.maxRel = maxRel; e.overflow = overflow; e.underflow = underflow;
}

/** A tensor's f32 data converted to an f16/bf16 tensor of the same shape, with the error added. */
export function narrowTensor(t: Tensor, dtype: 'f16' | 'bf16'): { tensor: Tensor; error: ConversionError } {
  if (t.dtype !== 'f32') throw new Error(`narrowTensor converts f32 data, got ${t.dtype}`);
  const { codes, error } = narrowF32(t.data as Float32Array, dtype);
  return { tensor: new Tensor(dtype as DType, t.shape, codes), error };
}

/** Short text of an error report: `max abs 3.1e-5, max rel 4.9e-4` (+ overflow/underflow counts). */
export function formatError(e: ConversionError): string {
  const g = (x: number) => (x === 0 ? '0' : x.toExponential(1));
  let s = `max abs ${g(e.maxAbs)}, max rel ${g(e.maxRel)}`;
  if (e.overflow) s += `, ${e.overflow} overflow${e.overflow > 1 ? 's' : ''} to inf`;
  if (e.underflow) s += `, ${e.underflow} underflow${e.underflow > 1 ? 's' : ''} to 0`;
  return s;
}
