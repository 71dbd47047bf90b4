/**
 * Tensor values: a dtype, a concrete shape and a flat row-major storage array.
 *
 * Tensors are the currency of the reference executor, of constants in the IR and of the ONNX
 * TensorProto codec. Storage classes per dtype are described in dtype.ts. Helpers here convert
 * between storage and plain numbers (decoding f16/bf16/float8 codes and bigint i64) so that kernels
 * can be written once over Float64/Float32 arithmetic where that is exact enough, and content hashing
 * gives constants the stable name the IR text prints.
 */
import { createHash } from 'node:crypto';
import { type DType, type TensorData, dtypeInfo, isBigIntType } from './dtype.ts';
import { narrowFloatCodec } from './floatbits.ts';
import './float8.ts';
import { checkTensorSize } from './sizes.ts';

/** A concrete tensor. Treat as immutable once built: kernels always allocate their outputs. */
export class Tensor {
  /** Number of elements (product of shape; 1 for a scalar). */
  readonly size: number;
  constructor(
    readonly dtype: DType,
    readonly shape: readonly number[],
    readonly data: TensorData,
  ) {
    let n = 1;
    for (const d of shape) n *= d;
    this.size = n;
    if (data.length !== n) {
      throw new Error(`tensor data has ${data.length} elements but shape [${shape.join(',')}] needs ${n}`);
    }
  }

  /** A zero-filled tensor. */
  static zeros(dtype: DType, shape: readonly number[]): Tensor {
    return new Tensor(dtype, shape, dtypeInfo(dtype).alloc(checkTensorSize({}, dtype, shape)));
  }

  /** Builds a tensor from plain numbers (encoding f16/bf16/float8, converting to bigint for i64/u64). */
  static fromNumbers(dtype: DType, shape: readonly number[], values: ArrayLike<number>): Tensor {
    const t = Tensor.zeros(dtype, shape);
    writeNumbers(t, values);
    return t;
  }

  /** Builds a scalar. */
  static scalar(dtype: DType, value: number): Tensor {
    return Tensor.fromNumbers(dtype, [], [value]);
  }

  /** Same data, new shape (no copy). */
  reshape(shape: readonly number[]): Tensor {
    return new Tensor(this.dtype, shape, this.data);
  }
}

/** Product of a concrete shape. */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a concrete shape (in elements). */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/**
 * Reads every element as a JS number: floats decoded, bigint converted (values beyond 2^53 lose
 * precision), bool as 0/1. Returns the storage itself when it is already a Float32/Float64 array.
 */
export function readNumbers(t: Tensor): Float64Array | Float32Array {
  const { dtype, data } = t;
  if (data instanceof Float32Array || data instanceof Float64Array) return data;
  if (dtype === 'str') throw new Error('cannot read a string tensor as numbers');
  const out = new Float64Array(t.size);
  if (dtypeInfo(dtype).encoded) {
    const codec = narrowFloatCodec(dtype);
    const src = data as Uint8Array | Uint16Array;
    for (let i = 0; i < out.length; i++) out[i] = codec.decode(src[i]);
  } else if (isBigIntType(dtype)) {
    const src = data as BigInt64Array | BigUint64Array;
    for (let i = 0; i < out.length; i++) out[i] = Number(src[i]);
  } else {
    const src = data as Exclude<TensorData, string[] | BigInt64Array | BigUint64Array>;
    for (let i = 0; i < out.length; i++) out[i] = src[i];
  }
  return out;
}

/** Reads elements as f32 values (decoding encoded floats); always a fresh or native Float32Array. */
export function readF32(t: Tensor): Float32Array {
  if (t.data instanceof Float32Array) return t.data;
  const n = readNumbers(t);
  return n instanceof Float32Array ? n : Float32Array.from(n);
}

/**
 * Writes plain numbers into a tensor's storage, encoding as its dtype needs: floats rounded to
 * f16/bf16/float8 codes (non-saturating), integers truncated toward zero and wrapped as the typed
 * array wraps them, bool as value != 0. For i64/u64 non-integral values are truncated.
 */
export function writeNumbers(t: Tensor, values: ArrayLike<number>): void {
  const { dtype, data } = t;
  const n = t.size;
  if (dtype === 'str') throw new Error('cannot write numbers into a string tensor');
  if (dtypeInfo(dtype).encoded) {
    const codec = narrowFloatCodec(dtype);
    const dst = data as Uint8Array | Uint16Array;
    for (let i = 0; i < n; i++) dst[i] = codec.encode(values[i], false);
  } else if (isBigIntType(dtype)) {
    const dst = data as BigInt64Array | BigUint64Array;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      dst[i] = Number.isFinite(v) ? BigInt(Math.trunc(v)) : 0n;
    }
  } else if (dtype === 'bool') {
    const dst = data as Uint8Array;
    for (let i = 0; i < n; i++) dst[i] = values[i] !== 0 ? 1 : 0;
  } else {
    const dst = data as Float32Array;
    for (let i = 0; i < n; i++) dst[i] = values[i];
  }
}

/** Reads an integer tensor (any int dtype) as a plain number array; used for shapes, axes, indices. */
export function readInts(t: Tensor): number[] {
  const out = new Array<number>(t.size);
  const d = t.data;
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) {
    for (let i = 0; i < out.length; i++) out[i] = Number(d[i]);
  } else {
    const nums = readNumbers(t);
    for (let i = 0; i < out.length; i++) out[i] = Math.trunc(nums[i]);
  }
  return out;
}

/** A 1-D i64 tensor from plain integers. */
export function i64Tensor(values: readonly number[], shape: readonly number[] = [values.length]): Tensor {
  return new Tensor('i64', shape, BigInt64Array.from(values, (v) => BigInt(v)));
}

/** Content hash of a tensor (dtype, shape and bytes): the stable name used to print large constants. */
export function tensorHash(t: Tensor): string {
  const h = createHash('sha256');
  h.update(`${t.dtype}[${t.shape.join(',')}]`);
  if (Array.isArray(t.data)) h.update(JSON.stringify(t.data));
  else {
    const d = t.data as Exclude<TensorData, string[]>;
    h.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  return h.digest('hex');
}
