/**
 * Shared helpers for op families: axis normalisation, numpy broadcasting of static and symbolic
 * shapes, broadcast index maps for kernels, and dtype checks. Kept small: anything used by one
 * family only lives in that family's file.
 */
import type { Dim, TensorType } from '../ir/graph.ts';
import type { DType } from '../ir/dtype.ts';
import { stridesOf } from '../ir/tensor.ts';
import { checkTensorSize } from '../ir/sizes.ts';

/** Normalises a possibly negative axis into [0, rank); throws naming `what` when out of range. */
export function normalizeAxis(axis: number, rank: number, what = 'axis'): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank || !Number.isInteger(a)) throw new Error(`${what} ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Broadcasts two shapes numpy-style; symbolic dims broadcast with 1 and with an equal symbol. */
export function broadcastDims(a: readonly Dim[], b: readonly Dim[]): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<Dim>(rank);
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
    if (da === db || db === 1) out[i] = da;
    else if (da === 1) out[i] = db;
    else if (typeof da === 'string' && typeof db === 'number') out[i] = db;
    else if (typeof db === 'string' && typeof da === 'number') out[i] = da;
    else if (typeof da === 'string' && typeof db === 'string') out[i] = da;
    else throw new Error(`shapes [${a.join(',')}] and [${b.join(',')}] do not broadcast`);
  }
  return out;
}

/** Broadcasts any number of shapes. */
export function broadcastAll(shapes: readonly (readonly Dim[])[]): Dim[] {
  return shapes.reduce<Dim[]>((acc, s) => broadcastDims(acc, s), []);
}

/** Broadcasts concrete shapes. */
export function broadcastShapes(...shapes: (readonly number[])[]): number[] {
  return broadcastAll(shapes) as number[];
}

/**
 * For every element of `outShape` (row-major), the flat offset of the element of an input of shape
 * `inShape` that broadcasts to it. Returns null when no mapping is needed (same shape).
 */
export function broadcastOffsets(outShape: readonly number[], inShape: readonly number[]): Int32Array | null {
  const rank = outShape.length;
  if (inShape.length === rank && inShape.every((d, i) => d === outShape[i])) return null;
  const n = checkTensorSize({ what: 'broadcast index table for' }, 'i32', outShape);
  const inStrides = stridesOf(inShape);
  // stride per output axis, 0 where the input broadcasts
  const s = new Array<number>(rank).fill(0);
  for (let i = 0; i < inShape.length; i++) {
    const oi = i + rank - inShape.length;
    s[oi] = inShape[i] === 1 ? 0 : inStrides[i];
  }
  const out = new Int32Array(n);
  const idx = new Array<number>(rank).fill(0);
  let off = 0;
  for (let k = 0; k < n; k++) {
    out[k] = off;
    for (let ax = rank - 1; ax >= 0; ax--) {
      idx[ax]++;
      off += s[ax];
      if (idx[ax] < outShape[ax]) break;
      off -= s[ax] * idx[ax];
      idx[ax] = 0;
    }
  }
  return out;
}

/** Throws unless the input type exists. */
export function required(inputs: readonly (TensorType | undefined)[], i: number, what = `input ${i}`): TensorType {
  const t = inputs[i];
  if (!t) throw new Error(`${what} is required`);
  return t;
}

/** Throws unless every given input has the same dtype; returns it. */
export function sameDType(types: readonly (TensorType | undefined)[]): DType {
  let d: DType | undefined;
  for (const t of types) {
    if (!t) continue;
    if (d === undefined) d = t.dtype;
    else if (t.dtype !== d) throw new Error(`input dtypes differ: ${d} and ${t.dtype}`);
  }
  if (d === undefined) throw new Error('no inputs');
  return d;
}

/** Throws unless `dtype` is in `allowed`. */
export function expectDType(dtype: DType, allowed: readonly DType[], what = 'input'): void {
  if (!allowed.includes(dtype)) throw new Error(`${what} has dtype ${dtype}; expected one of ${allowed.join(', ')}`);
}

/** The float dtypes kernels compute on (f16/bf16 via f32). */
export const FLOAT_TYPES: readonly DType[] = ['f32', 'f16', 'bf16', 'f64'];
/** Integer dtypes of native JS storage. */
export const INT_TYPES: readonly DType[] = ['i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', 'u64'];
/** All numeric dtypes with native arithmetic in the reference kernels. */
export const NUMERIC_TYPES: readonly DType[] = [...FLOAT_TYPES, ...INT_TYPES];
