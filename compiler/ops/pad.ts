/**
 * Op family 'layout' (part 2): Pad and Trilu.
 *
 * Pad builds, for every output axis, a table mapping output index o to the input index it reads:
 * src = o - pad_begin when inside [0, dim), else by mode — constant: no source (the element gets
 * constant_value), edge: clamp, reflect: mirror without repeating the edge (period 2*(dim-1), so
 * pads wider than the axis keep reflecting like numpy), wrap: src mod dim. Negative pads crop
 * first and the mode then pads the cropped extent (as onnxruntime does; numpy rejects them).
 * The tables feed `gatherAxes` (movement.ts), so every dtype is copied as raw storage.
 *
 * Trilu keeps the upper (j - i >= k) or lower (j - i <= k) triangle of the last two axes and zeros
 * the rest: each kept row segment is one contiguous block copy into zero-filled storage.
 */
import type { Dim } from '../ir/graph.ts';
import { Tensor, readInts, shapeSize, stridesOf } from '../ir/tensor.ts';
import { checkTensorSize } from '../ir/sizes.ts';
import type { OpDef } from './registry.ts';
import { required } from './support.ts';
import { allocData, copyBlock, gatherAxes, knownInts, normalizeAxes, rawElement, rawFromNumber, staticLength } from './movement.ts';

const PAD_MODES = ['constant', 'reflect', 'edge', 'wrap'] as const;
export type PadMode = (typeof PAD_MODES)[number];

/** Per-axis [begin, end] pads for every axis of a rank-r tensor from (pads, axes). */
export function fullPads(rank: number, pads: readonly number[], axes: readonly number[] | undefined): [number[], number[]] {
  const ax = axes ? normalizeAxes(axes, rank) : Array.from({ length: rank }, (_, i) => i);
  if (pads.length !== 2 * ax.length) throw new Error(`pads has ${pads.length} entries; expected ${2 * ax.length} for ${ax.length} axes`);
  const begin = new Array<number>(rank).fill(0), end = new Array<number>(rank).fill(0);
  ax.forEach((a, i) => { begin[a] = pads[i]; end[a] = pads[i + ax.length]; });
  return [begin, end];
}

/** Source index of output index o along an axis of size dim for a pad mode (-1 = constant). */
function padSource(o: number, begin: number, dim: number, mode: PadMode): number {
  const src = o - begin;
  if (src >= 0 && src < dim) return src;
  switch (mode) {
    case 'constant': return -1;
    case 'edge': return src < 0 ? 0 : dim - 1;
    case 'wrap': return ((src % dim) + dim) % dim;
    case 'reflect': {
      if (dim === 1) return 0;
      const period = 2 * (dim - 1);
      const m = ((src % period) + period) % period;
      return m < dim ? m : period - m;
    }
  }
}

/**
 * For every axis, the input index each output index reads (-1: constant_value): negative pads crop
 * first, then the mode pads the cropped extent [lo, lo + kept). Shared by `run` and the kernel lowering.
 */
export function padSourceTables(shape: readonly number[], begin: readonly number[], end: readonly number[], mode: PadMode): Int32Array[] {
  return shape.map((d, i) => {
    const n = d + begin[i] + end[i];
    const lo = Math.max(0, -begin[i]);
    const kept = d - lo - Math.max(0, -end[i]);
    const before = Math.max(0, begin[i]);
    if (kept <= 0 && n > 0 && mode !== 'constant') throw new Error(`cannot ${mode}-pad axis ${i}: nothing is left of it`);
    const t = new Int32Array(Math.max(n, 0));
    for (let o = 0; o < n; o++) {
      const s = padSource(o, before, kept, mode);
      t[o] = s < 0 ? -1 : lo + s;
    }
    return t;
  });
}

/** Pad(data, pads, constant_value?, axes?; mode). */
const Pad: OpDef<{ mode: PadMode }> = {
  name: 'Pad', inputs: [2, 4], outputs: [1, 1],
  movement: true,
  parseAttrs: (r) => ({ mode: r.oneOf('mode', r.string('mode', 'constant') as PadMode, PAD_MODES) }),
  inferTypes(inputs, _a, ctx) {
    const x = required(inputs, 0);
    const padsT = required(inputs, 1, 'pads');
    const pads = knownInts(ctx, 1);
    const axes = inputs[3] ? knownInts(ctx, 3) : undefined;
    const rank = x.shape.length;
    if (!pads || (inputs[3] && !axes)) {
      const n = staticLength(padsT, 'pads') / 2;
      const touched = axes ? normalizeAxes(axes, rank) : inputs[3] ? x.shape.map((_, i) => i) : x.shape.map((_, i) => i).slice(0, n);
      return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (touched.includes(i) ? ctx.freshDim() : d)) }];
    }
    const [begin, end] = fullPads(rank, pads, axes);
    const shape: Dim[] = x.shape.map((d, i) => {
      const extra = begin[i] + end[i];
      if (typeof d === 'number') {
        if (d + extra < 0) throw new Error(`pads make axis ${i} negative (${d} + ${extra})`);
        return d + extra;
      }
      return extra === 0 && begin[i] === 0 ? d : ctx.freshDim();
    });
    return [{ dtype: x.dtype, shape }];
  },
  run([x, p, c, ax], a) {
    const rank = x!.shape.length;
    const [begin, end] = fullPads(rank, readInts(p!), ax ? readInts(ax) : undefined);
    const strides = stridesOf(x!.shape);
    const outShape = x!.shape.map((d, i) => d + begin[i] + end[i]);
    outShape.forEach((n, i) => { if (n < 0) throw new Error(`pads make axis ${i} negative (${x!.shape[i]} + ${begin[i] + end[i]})`); });
    checkTensorSize({ what: 'output' }, x!.dtype, outShape);
    const offsets = padSourceTables(x!.shape, begin, end, a.mode).map((t, i) => t.map((s) => (s < 0 ? -1 : s * strides[i])));
    const fill = c && c.size > 0 ? rawElement(c) : rawFromNumber(x!.dtype, 0);
    const out = allocData(x!.dtype, shapeSize(outShape));
    gatherAxes(x!.data, out, outShape, offsets, fill);
    return [new Tensor(x!.dtype, outShape, out)];
  },
};

/** Trilu(input, k?; upper). */
const Trilu: OpDef<{ upper: boolean }> = {
  name: 'Trilu', inputs: [1, 2], outputs: [1, 1],
  movement: true, // copies or zeroes each element
  parseAttrs: (r) => ({ upper: r.int('upper', 1) !== 0 }),
  inferTypes(inputs) {
    const x = required(inputs, 0);
    if (x.shape.length < 2) throw new Error(`Trilu needs rank >= 2, got ${x.shape.length}`);
    return [{ dtype: x.dtype, shape: x.shape }];
  },
  run([x, kT], a) {
    const shape = x!.shape;
    if (shape.length < 2) throw new Error(`Trilu needs rank >= 2, got ${shape.length}`);
    const k = kT ? readInts(kT)[0] : 0;
    const rows = shape[shape.length - 2], cols = shape[shape.length - 1];
    const out = allocData(x!.dtype, x!.size);
    const batches = rows * cols === 0 ? 0 : x!.size / (rows * cols);
    for (let b = 0; b < batches; b++) {
      for (let i = 0; i < rows; i++) {
        const row = (b * rows + i) * cols;
        // kept columns: upper j >= i + k, lower j <= i + k
        const from = a.upper ? Math.max(0, i + k) : 0;
        const to = a.upper ? cols : Math.min(cols, i + k + 1);
        if (to > from) copyBlock(x!.data, row + from, out, row + from, to - from);
      }
    }
    return [new Tensor(x!.dtype, shape, out)];
  },
};

export const padOps: OpDef<any>[] = [Pad, Trilu];
