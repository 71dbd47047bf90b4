/**
 * Element types of kiln tensors.
 *
 * Every dtype has one short name used in the IR text (`f32`, `i64`, `bool`, ...), an element size, and
 * an in-memory storage class (the typed array a reference kernel reads and writes). Types without a
 * native JS array are stored as raw bit patterns, one element per array slot:
 *   - f16 and bf16 as Uint16Array bits, decoded to f32 for arithmetic (see tensor.ts);
 *   - the float8 family and f4e2m1 as Uint8Array codes;
 *   - i4/i2 as Int8Array values, u4/u2 as Uint8Array values (unpacked; packing only happens on the wire).
 * i64/u64 are BigInt64Array/BigUint64Array so that values round-trip exactly.
 */
import { checkTensorSize } from './sizes.ts';

/** The short dtype names, as printed in the IR text. */
export const DTYPES = [
  'f32', 'f16', 'bf16', 'f64',
  'i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', 'u64', 'bool', 'str',
  'f8e4m3fn', 'f8e4m3fnuz', 'f8e5m2', 'f8e5m2fnuz', 'f8e8m0', 'f4e2m1',
  'i4', 'u4', 'i2', 'u2',
] as const;

/** An element type. */
export type DType = (typeof DTYPES)[number];

/** Any typed array kiln stores tensor data in (plus string[] for `str`). */
export type TensorData =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array
  | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | string[];

/** Static facts about one dtype. */
export interface DTypeInfo {
  /** Bits per element in the ONNX wire / planned-memory sense (4 for int4, 16 for f16). */
  readonly bits: number;
  /** True for every floating-point type, including f16/bf16/float8/float4. */
  readonly isFloat: boolean;
  /** True for integer types (not bool). */
  readonly isInt: boolean;
  /** True when negative values are representable. */
  readonly signed: boolean;
  /** True when the storage array holds bit patterns that must be decoded (f16, bf16, float8, float4). */
  readonly encoded: boolean;
  /** Allocates storage for n elements. */
  readonly alloc: (n: number) => TensorData;
}

const info = (bits: number, isFloat: boolean, isInt: boolean, signed: boolean, encoded: boolean,
  alloc: (n: number) => TensorData): DTypeInfo => ({ bits, isFloat, isInt, signed, encoded, alloc });

const TABLE: Record<DType, DTypeInfo> = {
  f32: info(32, true, false, true, false, (n) => new Float32Array(n)),
  f16: info(16, true, false, true, true, (n) => new Uint16Array(n)),
  bf16: info(16, true, false, true, true, (n) => new Uint16Array(n)),
  f64: info(64, true, false, true, false, (n) => new Float64Array(n)),
  i8: info(8, false, true, true, false, (n) => new Int8Array(n)),
  u8: info(8, false, true, false, false, (n) => new Uint8Array(n)),
  i16: info(16, false, true, true, false, (n) => new Int16Array(n)),
  u16: info(16, false, true, false, false, (n) => new Uint16Array(n)),
  i32: info(32, false, true, true, false, (n) => new Int32Array(n)),
  u32: info(32, false, true, false, false, (n) => new Uint32Array(n)),
  i64: info(64, false, true, true, false, (n) => new BigInt64Array(n)),
  u64: info(64, false, true, false, false, (n) => new BigUint64Array(n)),
  bool: info(8, false, false, false, false, (n) => new Uint8Array(n)),
  str: info(0, false, false, false, false, (n) => new Array<string>(n).fill('')),
  f8e4m3fn: info(8, true, false, true, true, (n) => new Uint8Array(n)),
  f8e4m3fnuz: info(8, true, false, true, true, (n) => new Uint8Array(n)),
  f8e5m2: info(8, true, false, true, true, (n) => new Uint8Array(n)),
  f8e5m2fnuz: info(8, true, false, true, true, (n) => new Uint8Array(n)),
  f8e8m0: info(8, true, false, false, true, (n) => new Uint8Array(n)),
  f4e2m1: info(4, true, false, true, true, (n) => new Uint8Array(n)),
  i4: info(4, false, true, true, false, (n) => new Int8Array(n)),
  u4: info(4, false, true, false, false, (n) => new Uint8Array(n)),
  i2: info(2, false, true, true, false, (n) => new Int8Array(n)),
  u2: info(2, false, true, false, false, (n) => new Uint8Array(n)),
};

// Every allocation passes the size check (sizes.ts): a backstop for code that did not check first,
// so an absurd size is a KilnError naming the type, never `Invalid typed array length`.
for (const d of DTYPES) {
  const raw = TABLE[d].alloc;
  const alloc = (n: number) => {
    if (!(n >= 0 && n <= 4096 && Number.isInteger(n))) checkTensorSize({ what: 'storage for' }, d, [n]);
    return raw(n);
  };
  TABLE[d] = { ...TABLE[d], alloc };
}

/** Facts about a dtype. */
export function dtypeInfo(dtype: DType): DTypeInfo {
  return TABLE[dtype];
}

/** True if `name` is a dtype name. */
export function isDType(name: string): name is DType {
  return Object.prototype.hasOwnProperty.call(TABLE, name);
}

/** Bytes needed to store n elements in memory plans (sub-byte types round up). */
export function byteSize(dtype: DType, n: number): number {
  const bits = TABLE[dtype].bits;
  return Math.ceil((bits === 0 ? 64 : bits) * n / 8);
}

/**
 * Bytes of n elements as kiln stores them in memory (one array slot per element: sub-byte types take
 * a byte each, unlike `byteSize`'s packed size); what a runtime that copies tensor storage needs.
 */
export function storageBytes(dtype: DType, n: number): number {
  return TABLE[dtype].bits < 8 && dtype !== 'str' ? n : byteSize(dtype, n);
}

/** True for i64/u64, whose storage holds bigint elements. */
export function isBigIntType(dtype: DType): boolean {
  return dtype === 'i64' || dtype === 'u64';
}
