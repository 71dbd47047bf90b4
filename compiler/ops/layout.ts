/**
 * Op family 'layout': ops that rearrange elements without changing them — Transpose, Concat,
 * Split, Slice and Tile (Pad and Trilu live in pad.ts).
 *
 * Transpose, Slice and Tile are per-axis offset tables fed to `gatherAxes` (movement.ts):
 * Transpose reads output axis d at the input stride of axis perm[d]; Slice reads start + i*step
 * (negative steps walk backwards); Tile reads i mod dim. Concat and Split copy contiguous blocks:
 * for every index of the axes before `axis`, each input contributes dim_axis * inner elements.
 * All kernels copy storage elements, so every dtype (bigint, string, encoded floats) works.
 *
 * Slice follows the ONNX clamping rules: negative starts/ends wrap once by the dim, then starts
 * clamp to [0, dim] (step > 0) or [0, dim - 1] (step < 0) and ends to [0, dim] or [-1, dim - 1];
 * INT64 max/min ends arrive as huge doubles and simply clamp.
 */
import type { Dim } from '../ir/graph.ts';
import { Tensor, readInts, shapeSize, stridesOf } from '../ir/tensor.ts';
import { checkTensorSize } from '../ir/sizes.ts';
import type { OpDef, ShapeContext } from './registry.ts';
import { normalizeAxis, required, sameDType } from './support.ts';
import {
  allocData, copyBlock, dimSum, fmtShape, gatherAxes, knownInts, normalizeAxes, stridedOffsets, staticLength,
} from './movement.ts';

/** The permutation to use: the attribute, or reversed axes; validated. */
function permutation(perm: readonly number[] | undefined, rank: number): number[] {
  const p = perm ? perm.map((a) => (a < 0 ? a + rank : a)) : Array.from({ length: rank }, (_, i) => rank - 1 - i);
  if (p.length !== rank || new Set(p).size !== rank || p.some((a) => a < 0 || a >= rank)) {
    throw new Error(`perm [${perm?.join(',')}] is not a permutation of ${rank} axes`);
  }
  return p;
}

/** Transposes a tensor by `perm` (output axis d is input axis perm[d]). */
export function transposeTensor(x: Tensor, perm: readonly number[]): Tensor {
  const strides = stridesOf(x.shape);
  const outShape = perm.map((a) => x.shape[a]);
  const offsets = perm.map((a, d) => stridedOffsets(outShape[d], 0, 1, strides[a]));
  const out = allocData(x.dtype, x.size);
  gatherAxes(x.data, out, outShape, offsets);
  return new Tensor(x.dtype, outShape, out);
}

/** Transpose(data; perm). */
const Transpose: OpDef<{ perm?: readonly number[] }> = {
  name: 'Transpose', inputs: [1, 1], outputs: [1, 1],
  movement: true,
  parseAttrs: (r) => ({ perm: r.maybeInts('perm') }),
  inferTypes(inputs, a) {
    const x = required(inputs, 0);
    const p = permutation(a.perm, x.shape.length);
    return [{ dtype: x.dtype, shape: p.map((i) => x.shape[i]) }];
  },
  run: ([x], a) => [transposeTensor(x!, permutation(a.perm, x!.shape.length))],
};

/** Concat(inputs...; axis). */
const Concat: OpDef<{ axis: number }> = {
  name: 'Concat', inputs: [1, Infinity], outputs: [1, 1],
  movement: true,
  parseAttrs: (r) => ({ axis: r.int('axis') }),
  inferTypes(inputs, a, ctx) {
    const types = inputs.map((t, i) => required(inputs, i, `input ${i}`));
    const dtype = sameDType(types);
    const rank = types[0].shape.length;
    const axis = normalizeAxis(a.axis, rank);
    const shape: Dim[] = [];
    for (let d = 0; d < rank; d++) {
      if (d === axis) { shape.push(dimSum(types.map((t) => t.shape[d]), ctx)); continue; }
      let dim: Dim = types[0].shape[d];
      for (const t of types) {
        if (t.shape.length !== rank) throw new Error(`Concat inputs have ranks ${rank} and ${t.shape.length}`);
        const e = t.shape[d];
        if (typeof e === 'number') {
          if (typeof dim === 'number' && dim !== e) throw new Error(`Concat inputs differ on axis ${d}: ${dim} vs ${e}`);
          dim = e;
        }
      }
      shape.push(dim);
    }
    return [{ dtype, shape }];
  },
  run(inputs, a) {
    const xs = inputs as Tensor[];
    const rank = xs[0].shape.length;
    const axis = normalizeAxis(a.axis, rank);
    const outShape = [...xs[0].shape];
    outShape[axis] = 0;
    for (const x of xs) {
      if (x.shape.length !== rank || x.shape.some((d, i) => i !== axis && d !== xs[0].shape[i])) {
        throw new Error(`Concat inputs ${fmtShape(xs[0].shape)} and ${fmtShape(x.shape)} do not match off axis ${axis}`);
      }
      outShape[axis] += x.shape[axis];
    }
    const outer = shapeSize(outShape.slice(0, axis));
    const inner = shapeSize(outShape.slice(axis + 1));
    const out = allocData(xs[0].dtype, shapeSize(outShape));
    let p = 0;
    for (let o = 0; o < outer; o++) {
      for (const x of xs) {
        const block = x.shape[axis] * inner;
        copyBlock(x.data, o * block, out, p, block);
        p += block;
      }
    }
    return [new Tensor(xs[0].dtype, outShape, out)];
  },
};

/** Split sizes from the split input, num_outputs (last chunk smaller) or the output count. */
function splitSizes(dim: number, split: readonly number[] | undefined, numOutputs: number | undefined, count: number): number[] {
  if (split) {
    if (split.length !== count) throw new Error(`split has ${split.length} entries but the node has ${count} outputs`);
    const sum = split.reduce((x, y) => x + y, 0);
    if (split.some((s) => s < 0) || sum !== dim) throw new Error(`split [${split.join(',')}] does not sum to the axis size ${dim}`);
    return [...split];
  }
  const n = numOutputs ?? count;
  if (n !== count) throw new Error(`num_outputs is ${n} but the node has ${count} outputs`);
  const chunk = Math.ceil(dim / n);
  const sizes = new Array<number>(n).fill(chunk);
  sizes[n - 1] = dim - chunk * (n - 1);
  if (sizes[n - 1] < 0) throw new Error(`cannot split an axis of size ${dim} into ${n} chunks of ${chunk}`);
  return sizes;
}

/** Split(input, split?; axis, num_outputs). */
const Split: OpDef<{ axis: number; numOutputs?: number }> = {
  name: 'Split', inputs: [1, 2], outputs: [1, Infinity],
  movement: true,
  parseAttrs: (r) => ({ axis: r.int('axis', 0), numOutputs: r.has('num_outputs') ? r.int('num_outputs') : undefined }),
  inferTypes(inputs, a, ctx, count) {
    const x = required(inputs, 0);
    const axis = normalizeAxis(a.axis, x.shape.length);
    const dim = x.shape[axis];
    const split = inputs[1] ? knownInts(ctx, 1) : undefined;
    let sizes: Dim[];
    if (split) sizes = splitSizesDims(dim, split, a.numOutputs, count);
    else if (!inputs[1] && typeof dim === 'number') sizes = splitSizes(dim, undefined, a.numOutputs, count);
    else if (!inputs[1] && count === 1) sizes = [dim];
    else sizes = Array.from({ length: count }, () => ctx.freshDim());
    return sizes.map((s) => ({ dtype: x.dtype, shape: x.shape.map((d, i) => (i === axis ? s : d)) }));
  },
  run([x, s], a, count) {
    const axis = normalizeAxis(a.axis, x!.shape.length);
    const sizes = splitSizes(x!.shape[axis], s ? readInts(s) : undefined, a.numOutputs, count);
    const outer = shapeSize(x!.shape.slice(0, axis));
    const inner = shapeSize(x!.shape.slice(axis + 1));
    const inBlock = x!.shape[axis] * inner;
    let start = 0;
    return sizes.map((size) => {
      const shape = [...x!.shape];
      shape[axis] = size;
      const out = allocData(x!.dtype, outer * size * inner);
      for (let o = 0; o < outer; o++) copyBlock(x!.data, o * inBlock + start * inner, out, o * size * inner, size * inner);
      start += size;
      return new Tensor(x!.dtype, shape, out);
    });
  },
};

/** Split sizes when the split vector is known but the axis dim may be symbolic (no sum check). */
function splitSizesDims(dim: Dim, split: readonly number[] | undefined, numOutputs: number | undefined, count: number): Dim[] {
  if (typeof dim === 'number') return splitSizes(dim, split, numOutputs, count);
  if (split!.length !== count) throw new Error(`split has ${split!.length} entries but the node has ${count} outputs`);
  return [...split!];
}

/** One sliced axis: the first index read, the step, and the number of elements. */
export interface SliceAxis { axis: number; start: number; step: number; count: number }

/** Resolves Slice parameters against a concrete dim (ONNX clamping rules). */
export function sliceAxis(dim: number, start: number, end: number, step: number): { start: number; count: number } {
  if (step === 0) throw new Error('Slice step must not be 0');
  if (start < 0) start += dim;
  if (end < 0) end += dim;
  if (step > 0) {
    start = Math.min(Math.max(start, 0), dim);
    end = Math.min(Math.max(end, 0), dim);
    return { start, count: Math.max(0, Math.ceil((end - start) / step)) };
  }
  start = Math.min(Math.max(start, 0), dim - 1);
  end = Math.min(Math.max(end, -1), dim - 1);
  return { start, count: Math.max(0, Math.ceil((start - end) / -step)) };
}

/** Normalised (axes, steps) of a Slice, validated against rank and the starts length. */
function sliceSpec(rank: number, starts: readonly number[], ends: readonly number[],
  axes: readonly number[] | undefined, steps: readonly number[] | undefined): { axes: number[]; steps: number[] } {
  if (ends.length !== starts.length) throw new Error(`Slice starts has ${starts.length} entries but ends has ${ends.length}`);
  const ax = axes ? normalizeAxes(axes, rank) : starts.map((_, i) => i);
  if (ax.length !== starts.length) throw new Error(`Slice axes has ${ax.length} entries but starts has ${starts.length}`);
  const st = steps ?? starts.map(() => 1);
  if (st.length !== starts.length) throw new Error(`Slice steps has ${st.length} entries but starts has ${starts.length}`);
  return { axes: ax, steps: [...st] };
}

/** A huge end (>= 2^31) meaning "to the end of the axis". */
const TO_END = 2 ** 31 - 1;

/** Slice(data, starts, ends, axes?, steps?). */
const Slice: OpDef<object> = {
  name: 'Slice', inputs: [3, 5], outputs: [1, 1],
  movement: true,
  parseAttrs: () => ({}),
  inferTypes(inputs, _a, ctx) {
    const x = required(inputs, 0);
    required(inputs, 1, 'starts'); required(inputs, 2, 'ends');
    const starts = knownInts(ctx, 1), ends = knownInts(ctx, 2);
    const axes = inputs[3] ? knownInts(ctx, 3) : undefined;
    const steps = inputs[4] ? knownInts(ctx, 4) : undefined;
    const shape = [...x.shape];
    const axesKnown = !inputs[3] || axes;
    if (!starts || !ends || !axesKnown || (inputs[4] && !steps)) {
      // sizes unknown: the sliced axes (or all axes) get fresh dims
      const n = staticLength(inputs[1]!, 'starts');
      const sliced = axes ? normalizeAxes(axes, shape.length) : inputs[3] ? shape.map((_, i) => i) : Array.from({ length: n }, (_, i) => i);
      for (const a of sliced) shape[a] = ctx.freshDim();
      return [{ dtype: x.dtype, shape }];
    }
    const spec = sliceSpec(shape.length, starts, ends, axes, steps);
    spec.axes.forEach((a, i) => {
      const d = shape[a];
      if (typeof d === 'number') shape[a] = sliceAxis(d, starts[i], ends[i], spec.steps[i]).count;
      else if (!(starts[i] === 0 && spec.steps[i] === 1 && ends[i] >= TO_END)) shape[a] = ctx.freshDim();
    });
    return [{ dtype: x.dtype, shape }];
  },
  run([x, s, e, a, st]) {
    const starts = readInts(s!), ends = readInts(e!);
    const spec = sliceSpec(x!.shape.length, starts, ends, a ? readInts(a) : undefined, st ? readInts(st) : undefined);
    const strides = stridesOf(x!.shape);
    const outShape = [...x!.shape];
    const offsets = x!.shape.map((d, i) => stridedOffsets(d, 0, 1, strides[i]));
    spec.axes.forEach((ax, i) => {
      const { start, count } = sliceAxis(x!.shape[ax], starts[i], ends[i], spec.steps[i]);
      outShape[ax] = count;
      offsets[ax] = stridedOffsets(count, start, spec.steps[i], strides[ax]);
    });
    const out = allocData(x!.dtype, shapeSize(outShape));
    gatherAxes(x!.data, out, outShape, offsets);
    return [new Tensor(x!.dtype, outShape, out)];
  },
};

/** Tile(input, repeats). */
const Tile: OpDef<object> = {
  name: 'Tile', inputs: [2, 2], outputs: [1, 1],
  movement: true,
  parseAttrs: () => ({}),
  inferTypes(inputs, _a, ctx) {
    const x = required(inputs, 0);
    const n = staticLength(required(inputs, 1, 'repeats'), 'repeats');
    if (n !== x.shape.length) throw new Error(`repeats has ${n} entries but the input has rank ${x.shape.length}`);
    const reps = knownInts(ctx, 1);
    return [{ dtype: x.dtype, shape: x.shape.map((d, i) => tileDim(d, reps?.[i], ctx)) }];
  },
  run([x, r]) {
    const reps = readInts(r!);
    if (reps.length !== x!.shape.length) throw new Error(`repeats has ${reps.length} entries but the input has rank ${x!.shape.length}`);
    if (reps.some((v) => v < 0)) throw new Error(`repeats [${reps.join(',')}] has a negative entry`);
    const strides = stridesOf(x!.shape);
    const outShape = x!.shape.map((d, i) => d * reps[i]);
    checkTensorSize({ what: 'output' }, x!.dtype, outShape);
    const offsets = outShape.map((n, i) => {
      const t = new Int32Array(n);
      const d = x!.shape[i];
      for (let k = 0; k < n; k++) t[k] = (k % d) * strides[i];
      return t;
    });
    const out = allocData(x!.dtype, shapeSize(outShape));
    gatherAxes(x!.data, out, outShape, offsets);
    return [new Tensor(x!.dtype, outShape, out)];
  },
};

function tileDim(d: Dim, rep: number | undefined, ctx: ShapeContext): Dim {
  if (rep === undefined) return ctx.freshDim();
  if (typeof d === 'number') return d * rep;
  if (rep === 1) return d;
  return rep === 0 ? 0 : ctx.freshDim();
}

export const layoutOps: OpDef<any>[] = [Transpose, Concat, Split, Slice, Tile];
