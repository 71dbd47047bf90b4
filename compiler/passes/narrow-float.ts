/**
 * Bulk f32 → f16/bf16 conversion of constant data for mixed-precision, with the rounding error it
 * adds measured in the same pass over the data.
 *
 * The per-element codecs of ir/floatbits.ts are exact but call-heavy; a ResNet-50 has 25 M weights, so
 * this module inlines the same round-to-nearest-even bit arithmetic over a Uint32Array view of the f32
 * data (no allocation per element) and decodes the result through a 65536-entry lookup table to
 * measure the error. The codes are identical to `f32ToF16Bits` / `f32ToBF16Bits` (tested).
 */
import type { DType } from '../ir/dtype.ts';
import { bf16BitsToF32, f16BitsToF32, f32ToF16Bits } from '../ir/floatbits.ts';
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

let f16Table: Float32Array | undefined;
let bf16Table: Float32Array | undefined;

/** Decoded value of every 16-bit code of `dtype`. */
function decodeTable(dtype: 'f16' | 'bf16'): Float32Array {
  if (dtype === 'f16') {
    if (!f16Table) { f16Table = new Float32Array(65536); for (let c = 0; c < 65536; c++) f16Table[c] = f16BitsToF32(c); }
    return f16Table;
  }
  if (!bf16Table) { bf16Table = new Float32Array(65536); for (let c = 0; c < 65536; c++) bf16Table[c] = bf16BitsToF32(c); }
  return bf16Table;
}

/**
 * Encodes f32 values to f16 codes, round to nearest even (as f32ToF16Bits). Results in the normal range
 * take a branch-free path: rebias the exponent, add 0xfff plus the kept mantissa's lowest bit, shift
 * (a carry out of the mantissa rounds into the exponent, up to inf). Zeros, subnormals, overflow, inf and
 * NaN go through f32ToF16Bits.
 */
function encodeF16(data: Float32Array, bits: Uint32Array, codes: Uint16Array): void {
  const n = bits.length;
  for (let i = 0; i < n; i++) {
    const x = bits[i];
    const exp = (x >>> 23) & 0xff;
    if (exp > 112 && exp < 143) {
      const m = (x & 0x7fffffff) - (112 << 23);
      codes[i] = ((x >>> 16) & 0x8000) | ((m + 0xfff + ((m >>> 13) & 1)) >>> 13);
    } else codes[i] = f32ToF16Bits(data[i]);
  }
}

/** Encodes f32 bit patterns to bf16 codes, round to nearest even, NaN kept quiet (as f32ToBF16Bits). */
function encodeBF16(bits: Uint32Array, codes: Uint16Array): void {
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i];
    const hi = x >>> 16;
    if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) codes[i] = (hi | 0x40) & 0xffff;
    else codes[i] = (hi + (((x & 0xffff) + 0x7fff + (hi & 1)) >>> 16)) & 0xffff;
  }
}

/** Converts f32 data to `dtype` (f16 or bf16) codes and measures the rounding error. */
export function narrowF32(data: Float32Array, dtype: 'f16' | 'bf16'): { codes: Uint16Array; error: ConversionError } {
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const codes = new Uint16Array(data.length);
  if (dtype === 'f16') encodeF16(data, bits, codes);
  else encodeBF16(bits, codes);
  return { codes, error: measure(data, codes, decodeTable(dtype)) };
}

/** The error of codes against the f32 data they encode (branches only on new maxima). */
function measure(data: Float32Array, codes: Uint16Array, table: Float32Array): ConversionError {
  let maxAbs = 0, maxRel = 0, overflow = 0, underflow = 0;
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const x = data[i];
    const q = table[codes[i]];
    const d = Math.abs(q - x); // NaN when x is NaN: never a new maximum
    const ax = Math.abs(x);
    if (d > maxAbs) {
      if (d === Infinity) { if (ax !== Infinity) overflow++; continue; }
      maxAbs = d;
    }
    if (d > maxRel * ax) {
      if (q === 0) underflow++; // d > 0 here, so x !== 0
      else maxRel = d / ax;
    }
  }
  return { maxAbs, maxRel, overflow, underflow };
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
