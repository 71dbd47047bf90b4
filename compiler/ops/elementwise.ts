/**
 * Shared machinery of the elementwise op families (unary, activation, binary, compare, variadic,
 * cast): storage views, broadcasting of operand storage, float result packing, and the type rules.
 *
 * Kernels work on flat storage arrays. Arithmetic runs in one of three "lanes" chosen by dtype:
 *   - float: f32/f64 storage used directly; f16/bf16 decoded to a Float32Array and the result encoded
 *     back (so half-precision math happens in f32, as numpy/ONNX do);
 *   - int: native JS-number integer storage (i8..u32); results are stored through the typed array,
 *     which wraps modulo 2^bits like C integer arithmetic;
 *   - big: i64/u64 BigInt64Array/BigUint64Array storage with exact BigInt arithmetic (stores wrap).
 * Broadcast operands are materialised once with `broadcastData` (a fill for a single element, a
 * gather through `broadcastOffsets` otherwise; same-shape operands are used as they are), so each
 * kernel only needs a tight same-length loop.
 */
import type { DType, TensorData } from '../ir/dtype.ts';
import { dtypeInfo } from '../ir/dtype.ts';
import type { Dim, TensorType } from '../ir/graph.ts';
import { Tensor, readF32, shapeSize } from '../ir/tensor.ts';
import { checkTensorSize } from '../ir/sizes.ts';
import { narrowFloatCodec } from '../ir/floatbits.ts';
import { broadcastAll, broadcastOffsets, expectDType, FLOAT_TYPES, INT_TYPES, NUMERIC_TYPES } from './support.ts';

/** Float storage kernels compute on. */
export type FloatArray = Float32Array | Float64Array;
/** Storage of every dtype whose elements are JS numbers. */
export type NumberArray = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;
/** i64/u64 storage. */
export type BigArray = BigInt64Array | BigUint64Array;

/** The arithmetic lane of a dtype (see the module comment). */
export type Lane = 'float' | 'int' | 'big' | 'bool' | 'str' | 'other';

/** Which lane a dtype computes in; float8/float4 and sub-byte ints are 'other' (Cast/Identity/Where only). */
export function laneOf(dtype: DType): Lane {
  if (dtype === 'f32' || dtype === 'f64' || dtype === 'f16' || dtype === 'bf16') return 'float';
  if (dtype === 'i64' || dtype === 'u64') return 'big';
  if (dtype === 'bool') return 'bool';
  if (dtype === 'str') return 'str';
  if ((INT_TYPES as readonly DType[]).includes(dtype)) return 'int';
  return 'other';
}

/** Float types (f16/bf16 computed through f32). */
export const FLOATS: readonly DType[] = FLOAT_TYPES;
/** Every numeric dtype with arithmetic: floats and 8..64-bit integers. */
export const NUMERIC: readonly DType[] = NUMERIC_TYPES;
/** Signed numeric dtypes (Neg, Relu): floats and signed integers. */
export const SIGNED_NUMERIC: readonly DType[] = [...FLOAT_TYPES, 'i8', 'i16', 'i32', 'i64'];
/** Every dtype. */
export const ANY_TYPE: readonly DType[] = [
  'f32', 'f16', 'bf16', 'f64', 'i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', 'u64', 'bool', 'str',
  'f8e4m3fn', 'f8e4m3fnuz', 'f8e5m2', 'f8e5m2fnuz', 'f8e8m0', 'f4e2m1', 'i4', 'u4', 'i2', 'u2',
];

/** Values of a float-lane tensor as f32/f64: the storage itself for f32/f64, decoded f32 otherwise. */
export function floatValues(t: Tensor): FloatArray {
  const d = t.data;
  if (d instanceof Float32Array || d instanceof Float64Array) return d;
  return readF32(t);
}

/** A buffer for float results of `dtype`: f64 for f64, f32 for f32/f16/bf16. */
export function floatBuffer(dtype: DType, n: number): FloatArray {
  return dtype === 'f64' ? new Float64Array(n) : new Float32Array(n);
}

/** Packs a float result buffer into a tensor of `dtype`, encoding f16/bf16 codes when needed. */
export function floatResult(dtype: DType, shape: readonly number[], buf: FloatArray): Tensor {
  if ((dtype === 'f32' && buf instanceof Float32Array) || (dtype === 'f64' && buf instanceof Float64Array)) {
    return new Tensor(dtype, shape, buf);
  }
  const out = dtypeInfo(dtype).alloc(buf.length);
  if (out instanceof Float32Array || out instanceof Float64Array) out.set(buf);
  else {
    const codec = narrowFloatCodec(dtype);
    const codes = out as Uint8Array | Uint16Array;
    for (let i = 0; i < buf.length; i++) codes[i] = codec.encode(buf[i], false);
  }
  return new Tensor(dtype, shape, out);
}

/** A fresh array of the same storage class as `like`, with n elements. */
export function allocLike<T extends TensorData>(like: T, n: number): T {
  if (Array.isArray(like)) return new Array<string>(n).fill('') as T;
  const Ctor = like.constructor as new (n: number) => T;
  return new Ctor(n);
}

/**
 * The storage `data` (of shape `shape`) laid out for `outShape`: `data` itself when the shapes are
 * equal, otherwise a fresh broadcast copy (a fill for one element, a gather for the general case).
 */
export function broadcastData<T extends TensorData>(data: T, shape: readonly number[], outShape: readonly number[]): T {
  const n = shapeSize(outShape);
  if (data.length === n) return data; // broadcasting only repeats elements, so equal size = same layout
  const out = allocLike(data, n);
  if (data.length === 1) {
    (out as { fill(v: unknown): unknown }).fill(data[0]);
    return out;
  }
  const offsets = broadcastOffsets(outShape, shape);
  if (!offsets) return data;
  const src = data as ArrayLike<unknown> as unknown[];
  const dst = out as ArrayLike<unknown> as unknown[];
  for (let i = 0; i < n; i++) dst[i] = src[offsets[i]];
  return out;
}

/** Concrete broadcast shape of runtime tensors (numpy rules); throws a clear error on mismatch. */
export function broadcastTensors(ts: readonly Tensor[]): number[] {
  const shape = broadcastAll(ts.map((t) => t.shape)) as number[];
  if (ts.length) checkTensorSize({ what: 'output' }, ts[0].dtype, shape);
  return shape;
}

/** Throws unless `t` is a tensor (a required input at run time). */
export function need(t: Tensor | undefined, what: string): Tensor {
  if (!t) throw new Error(`${what} is required`);
  return t;
}

/** Throws unless `dtype` is allowed, naming the op and operand. */
export function checkDType(op: string, dtype: DType, allowed: readonly DType[], what = 'input'): void {
  expectDType(dtype, allowed, `${op} ${what}`);
}

/**
 * Type rule of an elementwise op over `inputs[idx]` (all present ones by default): all share one dtype
 * from `allowed`; the output shape is their numpy broadcast (symbolic dims propagate).
 */
export function broadcastType(op: string, inputs: readonly (TensorType | undefined)[], allowed: readonly DType[],
  names: readonly string[] = []): { dtype: DType; shape: Dim[] } {
  let dtype: DType | undefined;
  let first = '';
  const shapes: (readonly Dim[])[] = [];
  inputs.forEach((t, i) => {
    if (!t) return;
    const name = names[i] ?? `input ${i}`;
    checkDType(op, t.dtype, allowed, name);
    if (dtype === undefined) { dtype = t.dtype; first = name; } else if (t.dtype !== dtype) {
      throw new Error(`${op} ${name} has dtype ${t.dtype} but ${first} has ${dtype}; they must match`);
    }
    shapes.push(t.shape);
  });
  if (dtype === undefined) throw new Error(`${op} needs at least one input`);
  return { dtype, shape: broadcastAll(shapes) };
}
