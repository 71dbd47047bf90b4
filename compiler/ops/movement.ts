/**
 * Shared machinery for the data-movement op families (shape, layout, gather, resize).
 *
 * Movement kernels never look at element values: they copy storage elements of any TensorData
 * (typed arrays, bigint arrays for i64/u64, string[] for str, raw codes for f16/bf16/float8), so
 * one kernel serves every dtype. The core is `gatherAxes`: an output element at coordinates
 * (i0..ik) reads the input at flat offset sum_d offsets[d][i_d], where each axis has a
 * precomputed table of offset contributions (a negative entry means "outside the input": the
 * element gets a fill value instead). Transpose, Slice, Expand, Tile, Pad and nearest Resize are
 * all such tables. The loop walks the output in row-major order with an odometer over the outer
 * axes and a tight inner loop over the last axis (block copies when that axis is contiguous), so
 * nothing is allocated per element.
 *
 * Shape-rule helpers live here too: reading compile-time-known int inputs, the static length of
 * a 1-D shape operand, and products of possibly symbolic dims.
 */
import type { Dim, TensorType } from '../ir/graph.ts';
import type { DType, TensorData } from '../ir/dtype.ts';
import { dtypeInfo } from '../ir/dtype.ts';
import { type Tensor, readInts, writeNumbers, Tensor as TensorClass } from '../ir/tensor.ts';
import type { ShapeContext } from './registry.ts';
import { MAX_RANK } from '../ir/sizes.ts';

/** Index-addressable view of any storage array (typed, bigint or string). */
type Slots = { [i: number]: unknown; length: number };

/** Allocates fresh storage of n elements of `dtype` (zero / '' filled). */
export function allocData(dtype: DType, n: number): TensorData {
  return dtypeInfo(dtype).alloc(n);
}

/** Copies n storage elements src[srcStart..] to dst[dstStart..] (same storage class). */
export function copyBlock(src: TensorData, srcStart: number, dst: TensorData, dstStart: number, n: number): void {
  if (n <= 0) return;
  if (n >= 32 && !Array.isArray(src)) {
    const s = src as Float32Array;
    (dst as Float32Array).set(s.subarray(srcStart, srcStart + n), dstStart);
    return;
  }
  const s = src as unknown as Slots, d = dst as unknown as Slots;
  for (let i = 0; i < n; i++) d[dstStart + i] = s[srcStart + i];
}

/** A fresh copy of storage (same class). */
export function copyData(src: TensorData): TensorData {
  return src.slice() as TensorData;
}

/** Fills storage with one raw element (a number, bigint or string of the right class). */
export function fillData(dst: TensorData, value: unknown, start = 0, end = dst.length): void {
  (dst as unknown as { fill(v: unknown, s: number, e: number): void }).fill(value, start, end);
}

/** The raw storage element of a tensor at flat index i. */
export function rawElement(t: Tensor, i = 0): unknown {
  return (t.data as unknown as Slots)[i];
}

/** The raw storage element representing the number `v` in `dtype` (encoded, bigint or bool). */
export function rawFromNumber(dtype: DType, v: number): unknown {
  if (dtype === 'str') return '';
  const t = TensorClass.zeros(dtype, []);
  writeNumbers(t, [v]);
  return rawElement(t);
}

/**
 * Fills `dst` (row-major over `outShape`) with src[sum_d offsets[d][i_d]]; an output element
 * whose offset entry on any axis is negative gets `fill` instead. offsets[d].length must equal
 * outShape[d].
 */
export function gatherAxes(src: TensorData, dst: TensorData, outShape: readonly number[],
  offsets: readonly Int32Array[], fill?: unknown): void {
  const rank = outShape.length;
  const total = dst.length;
  if (total === 0) return;
  const s = src as unknown as Slots, d = dst as unknown as Slots;
  if (rank === 0) { d[0] = s[0]; return; }
  const last = offsets[rank - 1];
  const inner = outShape[rank - 1];
  // contiguous inner axis without holes: block copies
  let contiguous = inner > 0 && last[0] >= 0;
  for (let j = 1; contiguous && j < inner; j++) if (last[j] !== last[0] + j) contiguous = false;
  const idx = new Int32Array(rank);
  let base = 0;
  let holes = 0; // number of outer axes currently at a negative (outside) offset
  for (let a = 0; a < rank - 1; a++) {
    const o = offsets[a][0];
    if (o < 0) holes++; else base += o;
  }
  let p = 0;
  while (p < total) {
    if (holes > 0) {
      for (let j = 0; j < inner; j++) d[p + j] = fill;
    } else if (contiguous) {
      copyBlock(src, base + last[0], dst, p, inner);
    } else {
      for (let j = 0; j < inner; j++) {
        const o = last[j];
        d[p + j] = o < 0 ? fill : s[base + o];
      }
    }
    p += inner;
    // advance the odometer over the outer axes
    for (let a = rank - 2; a >= 0; a--) {
      const offs = offsets[a];
      const prev = offs[idx[a]];
      if (prev < 0) holes--; else base -= prev;
      idx[a]++;
      if (idx[a] === outShape[a]) idx[a] = 0;
      const next = offs[idx[a]];
      if (next < 0) holes++; else base += next;
      if (idx[a] !== 0) break;
    }
  }
}

/** Per-axis offset table of an identity/strided axis: offs[i] = (start + i*step) * stride. */
export function stridedOffsets(n: number, start: number, step: number, stride: number): Int32Array {
  const t = new Int32Array(n);
  for (let i = 0; i < n; i++) t[i] = (start + i * step) * stride;
  return t;
}

/** Integer values of input i when known at compile time (undefined otherwise or when absent). */
export function knownInts(ctx: ShapeContext, i: number): number[] | undefined {
  const v = ctx.value(i);
  return v ? readInts(v) : undefined;
}

/**
 * The static length of a 1-D operand (a shape, axes or pads vector); a 0-D operand counts as 1.
 * Throws when the length is symbolic, since the output rank would be unknowable.
 */
export function staticLength(t: TensorType, what: string): number {
  if (t.shape.length === 0) return 1;
  if (t.shape.length !== 1) throw new Error(`${what} must be 1-D, got rank ${t.shape.length}`);
  const n = t.shape[0];
  if (typeof n !== 'number') throw new Error(`${what} has symbolic length '${n}', so the output rank is unknown`);
  if (n > MAX_RANK) throw new Error(`${what} has ${n} entries; kiln supports ranks up to ${MAX_RANK}`);
  return n;
}

/**
 * Product of dims: a number when all are static; the symbol itself when exactly one dim is
 * symbolic and the rest multiply to 1; otherwise a fresh dim.
 */
export function dimProduct(dims: readonly Dim[], ctx: ShapeContext): Dim {
  let n = 1;
  let sym: Dim | undefined;
  let syms = 0;
  for (const d of dims) {
    if (typeof d === 'number') n *= d;
    else { sym = d; syms++; }
  }
  if (syms === 0) return n;
  if (n === 0) return 0;
  if (syms === 1 && n === 1) return sym!;
  return ctx.freshDim();
}

/** Sum of dims, static when possible (a symbol plus zeros stays that symbol). */
export function dimSum(dims: readonly Dim[], ctx: ShapeContext): Dim {
  let n = 0;
  let sym: Dim | undefined;
  let syms = 0;
  for (const d of dims) {
    if (typeof d === 'number') n += d;
    else { sym = d; syms++; }
  }
  if (syms === 0) return n;
  if (syms === 1 && n === 0) return sym!;
  return ctx.freshDim();
}

/** Normalises a list of axes (negative allowed) and rejects duplicates. */
export function normalizeAxes(axes: readonly number[], rank: number, what = 'axes'): number[] {
  const out = axes.map((a) => {
    const n = a < 0 ? a + rank : a;
    if (n < 0 || n >= rank || !Number.isInteger(n)) throw new Error(`${what} entry ${a} is out of range for rank ${rank}`);
    return n;
  });
  if (new Set(out).size !== out.length) throw new Error(`${what} [${axes.join(',')}] has duplicates`);
  return out;
}

/** Formats a shape for messages. */
export function fmtShape(shape: readonly Dim[]): string {
  return `[${shape.join(',')}]`;
}
