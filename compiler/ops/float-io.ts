/**
 * Float working buffers for the compute-heavy kernels (conv, pool, matmul, norm, softmax, reduce).
 *
 * Those kernels compute f32, f16 and bf16 tensors in f32 (Float32Array) and f64 tensors in f64, so
 * they read every float input as one of the two native arrays and build the output from one. These
 * helpers do that conversion once per tensor (never per element in a hot loop) and give each kernel a
 * single place to pick its precision.
 */
import type { DType } from '../ir/dtype.ts';
import { Tensor, readF32 } from '../ir/tensor.ts';

/** A native float working array. */
export type FloatArray = Float32Array | Float64Array;

/** Reads a float tensor as a native array: Float64Array for f64, Float32Array otherwise (no copy for f32/f64). */
export function floatData(t: Tensor): FloatArray {
  if (t.data instanceof Float64Array) return t.data;
  return readF32(t);
}

/** Allocates a working array for results of `dtype`: f64 for f64 tensors, f32 otherwise. */
export function allocFloat(dtype: DType, n: number): FloatArray {
  return dtype === 'f64' ? new Float64Array(n) : new Float32Array(n);
}

/** Wraps (f32/f64, no copy) or encodes (f16/bf16 and other narrow floats) a working array as a tensor. */
export function floatTensor(dtype: DType, shape: readonly number[], data: FloatArray): Tensor {
  if ((dtype === 'f32' && data instanceof Float32Array) || (dtype === 'f64' && data instanceof Float64Array)) {
    return new Tensor(dtype, shape, data);
  }
  return Tensor.fromNumbers(dtype, shape, data);
}
