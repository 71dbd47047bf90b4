/**
 * Op family 'resize': Resize(X, roi?, scales?, sizes?) in nearest, linear and cubic modes, N-D.
 *
 * Output sizes: with `scales`, floor(in * scale); with `sizes`, the sizes themselves, or under
 * keep_aspect_ratio_policy not_larger/not_smaller one common scale (min/max of size/in over the
 * resized axes) and sizes round_half_up(scale * in). `axes` restricts both to some axes.
 *
 * Sampling follows the ONNX reference (onnx/reference/ops/op_resize.py) one axis at a time: output
 * coordinate x maps to x_ori by the coordinate_transformation_mode (using the float output width
 * scale * in, like the reference); base = ceil(x_ori) - 1 and ratio = x_ori - base in (0, 1]; the
 * taps are the n input indices around x_ori (base-n/2+1 .. base+n/2) clamped to the edge, with
 * weights: linear [1-ratio, ratio]; cubic Keys(A) at distances ratio+1, ratio, 1-ratio, 2-ratio;
 * antialias (downscaling) stretches the linear/cubic kernel by 1/scale (more taps, normalised);
 * exclude_outside zeroes taps outside the input and renormalises. tf_crop_and_resize positions
 * outside [0, in-1] give extrapolation_value. Nearest picks one tap by nearest_mode (an integral
 * x_ori picks itself). pytorch_half_pixel maps to 0 when the output length is 1 (spec).
 *
 * Kernels: nearest is a per-axis source table fed to `gatherAxes` (any dtype, raw copies);
 * linear/cubic run separable passes over a Float64 buffer, one per resized axis, each with
 * precomputed tap indices and weights, then encode to the input dtype (ints truncate like the
 * reference's astype). Axes with scale 1 and unchanged length are skipped (the taps would be exact
 * copies). Known limitation: with scales and tf_crop_and_resize the output size ignores the roi,
 * as the reference and onnxruntime do.
 */
import type { Dim } from '../ir/graph.ts';
import { Tensor, readNumbers, shapeSize, stridesOf } from '../ir/tensor.ts';
import { checkTensorSize } from '../ir/sizes.ts';
import type { OpDef, ShapeContext } from './registry.ts';
import { required } from './support.ts';
import { allocData, gatherAxes, normalizeAxes, rawFromNumber } from './movement.ts';

const MODES = ['nearest', 'linear', 'cubic'] as const;
const CTMS = ['half_pixel', 'half_pixel_symmetric', 'pytorch_half_pixel', 'align_corners', 'asymmetric',
  'tf_crop_and_resize'] as const;
const NEAREST_MODES = ['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil'] as const;
const POLICIES = ['stretch', 'not_larger', 'not_smaller'] as const;

/** Parsed Resize attributes. */
export interface ResizeAttrs {
  mode: (typeof MODES)[number];
  ctm: (typeof CTMS)[number];
  nearestMode: (typeof NEAREST_MODES)[number];
  cubicA: number;
  excludeOutside: boolean;
  extrapolation: number;
  antialias: boolean;
  axes?: readonly number[];
  policy: (typeof POLICIES)[number];
}

/** Per-axis plan of a Resize: output length, scale used for coordinates, roi start/end. */
interface AxisPlan { inLen: number; outLen: number; scale: number; roiStart: number; roiEnd: number }

/** Values of an optional float input, undefined when omitted or empty. */
function floatsOf(t: Tensor | undefined): number[] | undefined {
  return t && t.size > 0 ? Array.from(readNumbers(t)) : undefined;
}

/** Resolves output sizes and per-axis scales (see header). */
export function resizePlan(inShape: readonly number[], a: ResizeAttrs, roi?: readonly number[],
  scales?: readonly number[], sizes?: readonly number[]): AxisPlan[] {
  const rank = inShape.length;
  const axes = a.axes ? normalizeAxes(a.axes, rank) : inShape.map((_, i) => i);
  const plan: AxisPlan[] = inShape.map((d) => ({ inLen: d, outLen: d, scale: 1, roiStart: 0, roiEnd: 1 }));
  if (roi) {
    if (roi.length !== 2 * axes.length) throw new Error(`roi has ${roi.length} entries; expected ${2 * axes.length}`);
    axes.forEach((ax, i) => { plan[ax].roiStart = roi[i]; plan[ax].roiEnd = roi[i + axes.length]; });
  }
  if (sizes) {
    if (scales) throw new Error('Resize takes scales or sizes, not both');
    if (sizes.length !== axes.length) throw new Error(`sizes has ${sizes.length} entries; expected ${axes.length}`);
    if (a.policy === 'stretch') {
      axes.forEach((ax, i) => { plan[ax].outLen = sizes[i]; plan[ax].scale = sizes[i] / inShape[ax]; });
    } else {
      const ratios = axes.map((ax, i) => sizes[i] / inShape[ax]);
      const s = a.policy === 'not_larger' ? Math.min(...ratios) : Math.max(...ratios);
      for (const ax of axes) { plan[ax].scale = s; plan[ax].outLen = Math.floor(s * inShape[ax] + 0.5); }
    }
  } else if (scales) {
    if (scales.length !== axes.length) throw new Error(`scales has ${scales.length} entries; expected ${axes.length}`);
    axes.forEach((ax, i) => {
      if (!(scales[i] > 0)) throw new Error(`scale ${scales[i]} must be positive`);
      plan[ax].scale = scales[i];
      plan[ax].outLen = Math.floor(inShape[ax] * scales[i]);
    });
  } else {
    throw new Error('Resize needs scales or sizes');
  }
  for (const p of plan) if (p.outLen < 0) throw new Error(`Resize output size ${p.outLen} is negative`);
  return plan;
}

/** Input coordinate of output index x along one axis (coordinate_transformation_mode). */
function sourceCoord(x: number, p: AxisPlan, ctm: ResizeAttrs['ctm']): number {
  const outWidth = p.scale * p.inLen;
  switch (ctm) {
    case 'half_pixel': return (x + 0.5) / p.scale - 0.5;
    case 'half_pixel_symmetric': {
      const offset = (p.inLen / 2) * (1 - p.outLen / outWidth);
      return offset + (x + 0.5) / p.scale - 0.5;
    }
    case 'pytorch_half_pixel': return p.outLen > 1 ? (x + 0.5) / p.scale - 0.5 : 0;
    case 'align_corners': return outWidth === 1 ? 0 : (x * (p.inLen - 1)) / (outWidth - 1);
    case 'asymmetric': return x / p.scale;
    case 'tf_crop_and_resize': {
      const span = p.roiEnd - p.roiStart;
      const rel = outWidth === 1 ? (span * (p.inLen - 1)) / 2 : (x * span * (p.inLen - 1)) / (outWidth - 1);
      return rel + p.roiStart * (p.inLen - 1);
    }
  }
}

/** Keys cubic kernel with parameter A at distance t. */
function keys(t: number, A: number): number {
  const x = Math.abs(t);
  if (x <= 1) return ((A + 2) * x - (A + 3)) * x * x + 1;
  if (x < 2) return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  return 0;
}

/**
 * Taps of one axis: for every output index, n (index, weight) pairs (indices clamped to the
 * input), or an extrapolation flag. Weights follow the ONNX reference (see header).
 */
export function axisTaps(p: AxisPlan, a: ResizeAttrs): { n: number; idx: Int32Array; w: Float64Array; extrap: Uint8Array } {
  const s = Math.min(p.scale, 1);
  const aa = a.antialias && a.mode !== 'nearest';
  let first: number; // tap offset relative to base of the first tap
  let n: number;
  if (a.mode === 'linear') { first = aa ? Math.floor(-1 / s) + 1 : 0; n = 2 - 2 * first; }
  else if (a.mode === 'cubic') { first = aa ? Math.floor(-2 / s) + 1 : -1; n = 2 - 2 * first; }
  else { first = 0; n = 1; }
  const idx = new Int32Array(p.outLen * n);
  const w = new Float64Array(p.outLen * n);
  const extrap = new Uint8Array(p.outLen);
  const last = p.inLen - 1;
  for (let x = 0; x < p.outLen; x++) {
    const xo = sourceCoord(x, p, a.ctm);
    if (a.ctm === 'tf_crop_and_resize' && (xo < 0 || xo > last)) { extrap[x] = 1; continue; }
    const base = Math.ceil(xo) - 1;
    const ratio = xo - base; // in (0, 1]
    const k = x * n;
    if (a.mode === 'nearest') {
      let pick: number;
      if (ratio === 1) pick = base + 1;
      else if (a.nearestMode === 'round_prefer_floor') pick = ratio <= 0.5 ? base : base + 1;
      else if (a.nearestMode === 'round_prefer_ceil') pick = ratio < 0.5 ? base : base + 1;
      else if (a.nearestMode === 'floor') pick = base;
      else pick = base + 1;
      idx[k] = Math.min(Math.max(pick, 0), last);
      w[k] = 1;
      continue;
    }
    let sum = 0;
    for (let t = 0; t < n; t++) {
      const i = first + t; // the tap reads index base + i, at distance i - ratio from x_ori
      let weight: number;
      if (a.mode === 'linear') weight = aa ? Math.min(Math.max(1 - Math.abs((i - ratio) * s), 0), 1) : (t === 0 ? 1 - ratio : ratio);
      else weight = keys(aa ? (i - ratio) * s : i - ratio, a.cubicA);
      const src = base + i;
      if (a.excludeOutside && (src < 0 || src > last)) weight = 0;
      idx[k + t] = Math.min(Math.max(src, 0), last);
      w[k + t] = weight;
      sum += weight;
    }
    if (aa || a.excludeOutside) for (let t = 0; t < n; t++) w[k + t] /= sum;
  }
  return { n, idx, w, extrap };
}

/** One separable pass: resamples axis `ax` of `cur` (shape `shape`) into a new buffer. */
function resampleAxis(cur: Float64Array, shape: number[], ax: number, p: AxisPlan, a: ResizeAttrs): Float64Array {
  const { n, idx, w, extrap } = axisTaps(p, a);
  const outer = shapeSize(shape.slice(0, ax));
  const inner = shapeSize(shape.slice(ax + 1));
  const next = new Float64Array(outer * p.outLen * inner);
  for (let o = 0; o < outer; o++) {
    const srcBase = o * p.inLen * inner;
    for (let x = 0; x < p.outLen; x++) {
      const dst = (o * p.outLen + x) * inner;
      if (extrap[x]) { next.fill(a.extrapolation, dst, dst + inner); continue; }
      for (let t = 0; t < n; t++) {
        const weight = w[x * n + t];
        if (weight === 0) continue;
        const src = srcBase + idx[x * n + t] * inner;
        for (let c = 0; c < inner; c++) next[dst + c] += weight * cur[src + c];
      }
    }
  }
  shape[ax] = p.outLen;
  return next;
}

/** Runs Resize on concrete inputs. */
export function runResize(x: Tensor, a: ResizeAttrs, roi?: Tensor, scales?: Tensor, sizes?: Tensor): Tensor {
  const sz = sizes && sizes.size > 0 ? Array.from(readNumbers(sizes), Math.trunc) : undefined;
  const plan = resizePlan(x.shape, a, floatsOf(roi), floatsOf(scales), sz);
  const outShape = plan.map((p) => p.outLen);
  const total = checkTensorSize({ what: 'output' }, x.dtype, outShape);
  if (total > 0 && x.size === 0) throw new Error('Resize of an empty tensor to a non-empty one');
  if (a.mode === 'nearest') {
    const strides = stridesOf(x.shape);
    const offsets = plan.map((p, ax) => {
      const { idx, extrap } = axisTaps(p, a);
      const t = new Int32Array(p.outLen);
      for (let i = 0; i < p.outLen; i++) t[i] = extrap[i] ? -1 : idx[i] * strides[ax];
      return t;
    });
    const out = allocData(x.dtype, total);
    gatherAxes(x.data, out, outShape, offsets, rawFromNumber(x.dtype, a.extrapolation));
    return new Tensor(x.dtype, outShape, out);
  }
  if (x.dtype === 'str') throw new Error(`Resize mode ${a.mode} does not accept strings`);
  let cur: Float64Array = Float64Array.from(readNumbers(x));
  const shape = [...x.shape];
  plan.forEach((p, ax) => {
    const identity = p.outLen === p.inLen && p.scale === 1 && a.ctm !== 'tf_crop_and_resize';
    if (!identity) cur = resampleAxis(cur, shape, ax, p, a);
  });
  return Tensor.fromNumbers(x.dtype, outShape, cur);
}

/** Output dims when some inputs or dims are only known symbolically. */
function inferDims(shape: readonly Dim[], a: ResizeAttrs, ctx: ShapeContext, scales?: number[], sizes?: number[]): Dim[] {
  const rank = shape.length;
  const axes = a.axes ? normalizeAxes(a.axes, rank) : shape.map((_, i) => i);
  if (shape.every((d) => typeof d === 'number') && (scales || sizes)) {
    return resizePlan(shape as number[], a, undefined, scales, sizes).map((p) => p.outLen);
  }
  const out = [...shape];
  axes.forEach((ax, i) => {
    const d = shape[ax];
    if (sizes && a.policy === 'stretch') out[ax] = sizes[i];
    else if (scales && typeof d === 'number') out[ax] = Math.floor(d * scales[i]);
    else if (scales && scales[i] === 1) out[ax] = d;
    else out[ax] = ctx.freshDim();
  });
  return out;
}

const ResizeOp: OpDef<ResizeAttrs> = {
  name: 'Resize', inputs: [1, 4], outputs: [1, 1],
  parseAttrs: (r) => ({
    mode: r.oneOf('mode', r.string('mode', 'nearest') as ResizeAttrs['mode'], MODES),
    ctm: r.oneOf('coordinate_transformation_mode',
      r.string('coordinate_transformation_mode', 'half_pixel') as ResizeAttrs['ctm'], CTMS),
    nearestMode: r.oneOf('nearest_mode', r.string('nearest_mode', 'round_prefer_floor') as ResizeAttrs['nearestMode'], NEAREST_MODES),
    cubicA: r.float('cubic_coeff_a', -0.75),
    excludeOutside: r.int('exclude_outside', 0) !== 0,
    extrapolation: r.float('extrapolation_value', 0),
    antialias: r.int('antialias', 0) !== 0,
    axes: r.maybeInts('axes'),
    policy: r.oneOf('keep_aspect_ratio_policy',
      r.string('keep_aspect_ratio_policy', 'stretch') as ResizeAttrs['policy'], POLICIES),
  }),
  inferTypes(inputs, a, ctx) {
    const x = required(inputs, 0, 'X');
    const present = (i: number) => {
      const t = inputs[i];
      return t !== undefined && !(t.shape.length === 1 && t.shape[0] === 0);
    };
    const scalesT = present(2) ? ctx.value(2) : undefined;
    const sizesT = present(3) ? ctx.value(3) : undefined;
    const scales = floatsOf(scalesT);
    const sizes = sizesT && sizesT.size > 0 ? Array.from(readNumbers(sizesT), Math.trunc) : undefined;
    if (!present(2) && !present(3)) throw new Error('Resize needs scales or sizes');
    return [{ dtype: x.dtype, shape: inferDims(x.shape, a, ctx, scales, sizes) }];
  },
  run: ([x, roi, scales, sizes], a) => [runResize(x!, a, roi, scales, sizes)],
};

export const resizeOps: OpDef<any>[] = [ResizeOp];
