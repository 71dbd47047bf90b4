/**
 * Cast and CastLike: conversion between every kiln dtype.
 *
 * `castTensor` converts in three steps: read the source as JS numbers (floats decoded, bool 0/1) or,
 * for i64/u64 and strings, as exact BigInts/strings; then write the target:
 *   - f32/f64 by typed-array store (IEEE round to nearest even), f16/bf16 through their codecs;
 *   - float8 through the float8.ts codecs with the `saturate` attribute (ONNX table: saturate clamps
 *     +-Inf and overflow to +-max; otherwise Inf/NaN per format), f8e8m0 with `round_mode`, f4e2m1
 *     always saturating;
 *   - 8..32-bit integers truncate toward zero and wrap modulo 2^bits (the typed-array store), except
 *     that i32 gets INT32_MIN for NaN/Inf/out-of-range values as on x86 (numpy and onnxruntime);
 *     i64/u64 exactly from integers/bigints (wrapping), from floats by truncation;
 *     int4/uint4/int2/uint2 truncate and wrap modulo 2^bits (as ONNX's data does: int4(8) = -8);
 *   - bool is value != 0 (NaN is true);
 *   - str uses numpy-style formatting and parsing (cast-text.ts).
 * `to` is the ONNX TensorProto data type code (as in ONNX files) or a kiln dtype name.
 */
import type { DType, TensorData } from '../ir/dtype.ts';
import { dtypeInfo, isDType } from '../ir/dtype.ts';
import { Tensor, readNumbers } from '../ir/tensor.ts';
import { narrowFloatCodec } from '../ir/floatbits.ts';
import { encodeE8M0, type E8M0RoundMode } from '../ir/float8.ts';
import { AttrError, type AttrReader, type OpDef } from './registry.ts';
import { zeroFlops } from './flops.ts';
import { required } from './support.ts';
import { type BigArray, type NumberArray, laneOf, need } from './elementwise.ts';
import { formatFloat, parseBigInt, parseNumber } from './cast-text.ts';

/** ONNX TensorProto.DataType codes of kiln dtypes. */
export const ONNX_CODES: Readonly<Record<number, DType>> = {
  1: 'f32', 2: 'u8', 3: 'i8', 4: 'u16', 5: 'i16', 6: 'i32', 7: 'i64', 8: 'str', 9: 'bool', 10: 'f16',
  11: 'f64', 12: 'u32', 13: 'u64', 16: 'bf16', 17: 'f8e4m3fn', 18: 'f8e4m3fnuz', 19: 'f8e5m2',
  20: 'f8e5m2fnuz', 21: 'u4', 22: 'i4', 23: 'f4e2m1', 24: 'f8e8m0', 25: 'u2', 26: 'i2',
};

/** Options of a conversion (the Cast attributes). */
export interface CastOptions {
  /** Float8 out-of-range behaviour: clamp to the largest finite value (default true). */
  readonly saturate?: boolean;
  /** f8e8m0 rounding (default 'up'). */
  readonly roundMode?: E8M0RoundMode;
}

const SUB_BYTE: Readonly<Partial<Record<DType, { bits: number; signed: boolean }>>> = {
  i4: { bits: 4, signed: true }, u4: { bits: 4, signed: false }, i2: { bits: 2, signed: true }, u2: { bits: 2, signed: false },
};

const INT64_MIN = -(2n ** 63n);

/** Truncates and wraps a number into a sub-byte integer type. */
function wrapBits(v: number, bits: number, signed: boolean): number {
  if (!Number.isFinite(v)) return 0;
  const m = 2 ** bits;
  let r = Math.trunc(v) % m;
  if (r < 0) r += m;
  return signed && r >= m / 2 ? r - m : r;
}

/** Converts a tensor to dtype `to` (see the module comment for the rules). Always a fresh tensor. */
export function castTensor(x: Tensor, to: DType, opts: CastOptions = {}): Tensor {
  const saturate = opts.saturate ?? true;
  if (x.dtype === to) return new Tensor(to, x.shape, x.data.slice() as TensorData);
  const n = x.size;
  const out = dtypeInfo(to).alloc(n);
  if (to === 'str') {
    writeStrings(x, out as string[]);
  } else if (x.dtype === 'str') {
    const src = x.data as string[];
    if (laneOf(to) === 'big') {
      const dst = out as BigArray;
      for (let i = 0; i < n; i++) dst[i] = parseBigInt(src[i]);
    } else {
      writeNumbersTo(to, Float64Array.from(src, parseNumber), out, saturate, opts.roundMode ?? 'up');
    }
  } else if (laneOf(x.dtype) === 'big') {
    const src = x.data as BigArray;
    const lane = laneOf(to);
    if (lane === 'big') {
      const dst = out as BigArray;
      for (let i = 0; i < n; i++) dst[i] = src[i]; // 64-bit stores wrap
    } else if (lane === 'int' || SUB_BYTE[to]) {
      // only the low 32 bits matter for narrower integers
      writeNumbersTo(to, Float64Array.from(src, (v) => Number(BigInt.asIntN(32, v))), out, saturate, 'up');
    } else if (to === 'bool') {
      const dst = out as Uint8Array;
      for (let i = 0; i < n; i++) dst[i] = src[i] !== 0n ? 1 : 0;
    } else {
      writeNumbersTo(to, Float64Array.from(src, (v) => Number(v)), out, saturate, opts.roundMode ?? 'up');
    }
  } else {
    writeNumbersTo(to, readNumbers(x), out, saturate, opts.roundMode ?? 'up');
  }
  return new Tensor(to, x.shape, out);
}

/** Writes JS numbers into storage of dtype `to` with Cast's conversion rules. */
function writeNumbersTo(to: DType, vals: ArrayLike<number>, out: TensorData, saturate: boolean, roundMode: E8M0RoundMode): void {
  const n = vals.length;
  const sub = SUB_BYTE[to];
  const lane = laneOf(to);
  if (to === 'f8e8m0') {
    const dst = out as Uint8Array;
    for (let i = 0; i < n; i++) dst[i] = encodeE8M0(vals[i], saturate, roundMode);
  } else if (dtypeInfo(to).encoded) {
    const codec = narrowFloatCodec(to);
    const dst = out as Uint8Array | Uint16Array;
    for (let i = 0; i < n; i++) dst[i] = codec.encode(vals[i], saturate);
  } else if (sub) {
    const dst = out as Int8Array | Uint8Array;
    for (let i = 0; i < n; i++) dst[i] = wrapBits(vals[i], sub.bits, sub.signed);
  } else if (lane === 'big') {
    const dst = out as BigArray;
    for (let i = 0; i < n; i++) {
      const v = vals[i];
      // NaN/Inf have no integer value; x86 (numpy, onnxruntime) produce INT64_MIN
      dst[i] = Number.isFinite(v) ? BigInt(Math.trunc(v)) : INT64_MIN;
    }
  } else if (to === 'bool') {
    const dst = out as Uint8Array;
    for (let i = 0; i < n; i++) dst[i] = vals[i] !== 0 ? 1 : 0;
  } else if (to === 'i32') {
    // NaN, Inf and out-of-range values become INT32_MIN, as x86 conversions (numpy, onnxruntime) give
    const dst = out as Int32Array;
    for (let i = 0; i < n; i++) { const v = vals[i]; dst[i] = v > -2147483649 && v < 2147483648 ? v : -2147483648; }
  } else {
    // f32/f64 round to nearest; other integer stores truncate toward zero and wrap
    const dst = out as NumberArray;
    for (let i = 0; i < n; i++) dst[i] = vals[i];
  }
}

/** Formats every element of `x` as a string (numpy style). */
function writeStrings(x: Tensor, dst: string[]): void {
  const n = x.size;
  const lane = laneOf(x.dtype);
  if (x.dtype === 'bool') {
    const src = x.data as Uint8Array;
    for (let i = 0; i < n; i++) dst[i] = src[i] ? 'True' : 'False';
    return;
  }
  if (lane === 'big' || lane === 'int' || SUB_BYTE[x.dtype]) {
    const src = x.data as ArrayLike<number | bigint>;
    for (let i = 0; i < n; i++) dst[i] = String(src[i]);
    return;
  }
  const vals = readNumbers(x);
  // shortest digits that read back in the source precision; numpy 2's scientific-notation cutoffs
  // (the ml_dtypes types bf16/float8/float4 use the f32 ones)
  let round: (v: number) => number;
  let cutoff = 1e6;
  if (x.dtype === 'f64') {
    round = (v) => v;
    cutoff = 1e16;
  } else if (x.dtype === 'f32') {
    round = Math.fround;
  } else if (x.dtype === 'f8e8m0') {
    round = (v) => (v > 0 ? 2 ** Math.round(Math.log2(v)) : v);
  } else {
    const codec = narrowFloatCodec(x.dtype);
    round = (v) => codec.decode(codec.encode(v, false));
    if (x.dtype === 'f16') cutoff = 1e3;
  }
  for (let i = 0; i < n; i++) dst[i] = formatFloat(vals[i], round, cutoff);
}

interface CastAttrs {
  readonly saturate: boolean;
  readonly roundMode: E8M0RoundMode;
}

function castAttrs(r: AttrReader): CastAttrs {
  return {
    saturate: r.oneOf('saturate', r.int('saturate', 1), [0, 1]) === 1,
    roundMode: r.oneOf('round_mode', r.string('round_mode', 'up'), ['up', 'down', 'nearest']) as E8M0RoundMode,
  };
}

/** Reads Cast's `to`: an ONNX data type code or a kiln dtype name. */
export function targetDType(r: AttrReader): DType {
  const a = r.raw('to');
  if (!a) throw new AttrError('to', 'required attribute is missing');
  if (a.kind === 'int') {
    const d = ONNX_CODES[a.value];
    if (d) return d;
    const names: Record<number, string> = { 0: 'UNDEFINED', 14: 'COMPLEX64', 15: 'COMPLEX128' };
    throw new AttrError('to', `casting to ${names[a.value] ?? `data type ${a.value}`} is not supported`);
  }
  if (a.kind === 'string' && isDType(a.value)) return a.value;
  throw new AttrError('to', `expected an ONNX data type code or a dtype name, got ${a.kind} ${JSON.stringify(a.value)}`);
}

const cast: OpDef<CastAttrs & { readonly to: DType }> = {
  name: 'Cast',
  inputs: [1, 1],
  outputs: [1, 1],
  elementwise: true,
  inPlace: 'all',
  flops: zeroFlops, // a conversion, not arithmetic
  parseAttrs: (r) => ({ to: targetDType(r), ...castAttrs(r) }),
  inferTypes(inputs, attrs) {
    const x = required(inputs, 0, 'Cast input');
    return [{ dtype: attrs.to, shape: x.shape }];
  },
  run(inputs, attrs) {
    return [castTensor(need(inputs[0], 'Cast input'), attrs.to, attrs)];
  },
};

const castLike: OpDef<CastAttrs> = {
  name: 'CastLike',
  inputs: [2, 2],
  outputs: [1, 1],
  elementwise: true, // input 1 gives only the dtype
  inPlace: 'all',
  flops: zeroFlops,
  parseAttrs: castAttrs,
  inferTypes(inputs) {
    const x = required(inputs, 0, 'CastLike input');
    const like = required(inputs, 1, 'CastLike target_type');
    return [{ dtype: like.dtype, shape: x.shape }];
  },
  run(inputs, attrs) {
    const like = need(inputs[1], 'CastLike target_type');
    return [castTensor(need(inputs[0], 'CastLike input'), like.dtype, attrs)];
  },
};

export const castOps: OpDef<any>[] = [cast, castLike];
