/**
 * Op family 'select': ops whose output size depends on the input values — Compress, NonZero and
 * Unique. Their shape rules give the data-dependent dims fresh symbols (ShapeContext.freshDim, as
 * Reshape to a computed shape does); the reference kernels produce the concrete sizes at run time.
 * Compress's count is static when its condition is a compile-time constant.
 *
 * Compress keeps the slices along `axis` (or the elements of the flattened input when no axis is
 * given) whose condition entry is true; a condition shorter than the axis drops the rest.
 * NonZero lists the coordinates of the non-zero elements in row-major order, one row per axis.
 * Unique splits the input into slices along `axis` (single elements when no axis is given), keys
 * each slice by its values, and keeps each distinct slice once: in ascending lexicographic order
 * when `sorted`, else in order of first occurrence. Its optional outputs are the first-occurrence
 * index of each kept slice, the kept-slice index of every input slice and how often each occurs.
 */
import type { Dim } from '../ir/graph.ts';
import { Tensor, readNumbers, shapeSize } from '../ir/tensor.ts';
import type { OpDef } from './registry.ts';
import { normalizeAxis, required } from './support.ts';
import { allocData, copyBlock, fmtShape } from './movement.ts';

/** The number of true entries of a bool tensor. */
function countTrue(t: Tensor): number {
  let n = 0;
  for (let i = 0; i < t.size; i++) if ((t.data as Uint8Array)[i]) n++;
  return n;
}

/** Copies the slices `keep` (indices along the middle axis of an outer × dim × inner split) into fresh storage. */
function takeSlices(x: Tensor, outer: number, dim: number, inner: number, keep: readonly number[]): Tensor['data'] {
  const out = allocData(x.dtype, outer * keep.length * inner);
  let p = 0;
  for (let o = 0; o < outer; o++) {
    for (const k of keep) {
      copyBlock(x.data, (o * dim + k) * inner, out, p, inner);
      p += inner;
    }
  }
  return out;
}

/** Compress(input, condition; axis). */
const Compress: OpDef<{ axis?: number }> = {
  name: 'Compress', inputs: [2, 2], outputs: [1, 1],
  movement: true,
  parseAttrs: (r) => ({ axis: r.has('axis') ? r.int('axis') : undefined }),
  inferTypes(inputs, a, ctx) {
    const x = required(inputs, 0, 'input');
    const cond = required(inputs, 1, 'condition');
    if (cond.dtype !== 'bool') throw new Error(`condition must be bool, got ${cond.dtype}`);
    if (cond.shape.length !== 1) throw new Error(`condition must be 1-D, got ${fmtShape(cond.shape)}`);
    const known = ctx.value(1);
    const n: Dim = known ? countTrue(known) : ctx.freshDim();
    if (a.axis === undefined) return [{ dtype: x.dtype, shape: [n] }];
    const axis = normalizeAxis(a.axis, x.shape.length);
    return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (i === axis ? n : d)) }];
  },
  run([x, cond], a) {
    const flat = a.axis === undefined;
    const shape = flat ? [x!.size] : x!.shape;
    const axis = flat ? 0 : normalizeAxis(a.axis!, shape.length);
    const dim = shape[axis];
    if (cond!.size > dim) throw new Error(`condition has ${cond!.size} entries, more than the ${dim} along axis ${axis}`);
    const keep: number[] = [];
    for (let i = 0; i < cond!.size; i++) if ((cond!.data as Uint8Array)[i]) keep.push(i);
    const outer = shapeSize(shape.slice(0, axis)), inner = shapeSize(shape.slice(axis + 1));
    const outShape = shape.map((d, i) => (i === axis ? keep.length : d));
    return [new Tensor(x!.dtype, outShape, takeSlices(x!, outer, dim, inner, keep))];
  },
};

/** NonZero(X) -> i64 [rank, count]. */
const NonZero: OpDef<Record<string, never>> = {
  name: 'NonZero', inputs: [1, 1], outputs: [1, 1],
  parseAttrs: () => ({}),
  inferTypes(inputs, _a, ctx) {
    const x = required(inputs, 0, 'X');
    if (x.dtype === 'str') throw new Error('X must be numeric or bool, got str');
    return [{ dtype: 'i64', shape: [x.shape.length, ctx.freshDim()] }];
  },
  run([x]) {
    const v = readNumbers(x!);
    const shape = x!.shape;
    const rank = shape.length;
    const hits: number[] = [];
    for (let i = 0; i < v.length; i++) if (v[i] !== 0) hits.push(i);
    const n = hits.length;
    const out = new BigInt64Array(rank * n);
    hits.forEach((flat, j) => {
      for (let d = rank - 1; d >= 0; d--) {
        out[d * n + j] = BigInt(flat % shape[d]);
        flat = Math.floor(flat / shape[d]);
      }
    });
    return [new Tensor('i64', [rank, n], out)];
  },
};

/** Lexicographic order of two key slices (numbers or strings). */
function compareKeys(a: readonly (number | string)[], b: readonly (number | string)[]): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i] < b[i]) return -1;
    if (a[i] > b[i]) return 1;
  }
  return 0;
}

/** Unique(X; axis, sorted) -> (Y, indices?, inverse_indices?, counts?). */
const Unique: OpDef<{ axis?: number; sorted: boolean }> = {
  name: 'Unique', inputs: [1, 1], outputs: [1, 4],
  parseAttrs: (r) => ({
    axis: r.has('axis') ? r.int('axis') : undefined,
    sorted: r.oneOf('sorted', r.int('sorted', 1), [0, 1]) === 1,
  }),
  inferTypes(inputs, a, ctx, outputCount) {
    const x = required(inputs, 0, 'X');
    const n = ctx.freshDim();
    let y: Dim[], slices: Dim;
    if (a.axis === undefined) {
      y = [n];
      slices = x.shape.every((d) => typeof d === 'number') ? shapeSize(x.shape as number[]) : ctx.freshDim();
    } else {
      const axis = normalizeAxis(a.axis, x.shape.length);
      y = x.shape.map((d, i) => (i === axis ? n : d));
      slices = x.shape[axis];
    }
    const types = [{ dtype: x.dtype, shape: y }, { dtype: 'i64' as const, shape: [n] }, { dtype: 'i64' as const, shape: [slices] },
      { dtype: 'i64' as const, shape: [n] }];
    return types.slice(0, outputCount);
  },
  run([x], a, outputCount) {
    const flat = a.axis === undefined;
    const shape = flat ? [x!.size] : x!.shape;
    const axis = flat ? 0 : normalizeAxis(a.axis!, shape.length);
    const outer = shapeSize(shape.slice(0, axis)), dim = shape[axis], inner = shapeSize(shape.slice(axis + 1));
    const vals: ArrayLike<number | string> = x!.dtype === 'str' ? (x!.data as string[]) : readNumbers(x!);
    // key of slice k: its elements in row-major order over (outer, inner)
    const keys: (number | string)[][] = [];
    for (let k = 0; k < dim; k++) {
      const key: (number | string)[] = [];
      for (let o = 0; o < outer; o++) for (let c = 0; c < inner; c++) key.push(vals[(o * dim + k) * inner + c]);
      keys.push(key);
    }
    const firstOf = new Map<string, number>(); // key text -> position in `firsts`
    const firsts: number[] = [];
    const counts: number[] = [];
    const group = new Int32Array(dim);
    for (let k = 0; k < dim; k++) {
      const text = JSON.stringify(keys[k].map((v) => (typeof v === 'number' && v === 0 ? 0 : v)));
      let g = firstOf.get(text);
      if (g === undefined) { g = firsts.length; firstOf.set(text, g); firsts.push(k); counts.push(0); }
      group[k] = g;
      counts[g]++;
    }
    const order = firsts.map((_, g) => g);
    if (a.sorted) order.sort((p, q) => compareKeys(keys[firsts[p]], keys[firsts[q]]));
    const rank = new Int32Array(order.length); // group -> output position
    order.forEach((g, pos) => { rank[g] = pos; });
    const kept = order.map((g) => firsts[g]);
    const yShape = shape.map((d, i) => (i === axis ? kept.length : d));
    const i64 = (v: ArrayLike<number>) => new Tensor('i64', [v.length], BigInt64Array.from(Array.from(v), (e) => BigInt(e)));
    const outs = [
      new Tensor(x!.dtype, yShape, takeSlices(x!, outer, dim, inner, kept)),
      i64(kept),
      i64(Array.from(group, (g) => rank[g])),
      i64(order.map((g) => counts[g])),
    ];
    return outs.slice(0, outputCount);
  },
};

export const selectOps: OpDef<any>[] = [Compress, NonZero, Unique];
