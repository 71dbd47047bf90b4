/**
 * Op family 'vision' (sampling and scatter): GridSample, AffineGrid, DeformConv, Col2Im, MaxUnpool.
 * The region ops (RoiAlign, MaxRoiPool, NonMaxSuppression) are in detection.ts.
 *
 * GridSample (N-D, after the ONNX reference): grid[n, o..., :] holds normalised coordinates in
 * reverse axis order (x = last input axis first). Each is mapped to a pixel position: ((g+1)·d − 1)/2,
 * or (g+1)(d−1)/2 with align_corners. Positions outside [−0.5, d−0.5] ([0, d−1] with align_corners)
 * are clamped to [0, d−1] (padding 'border') or reflected at those borders ('reflection'). 'nearest'
 * rounds half to even (nearbyint; the 3-D test data agree, not the reference's std::round); 'linear'
 * and 'cubic' (Keys, A = −0.75) are tensor products of per-axis taps floor(x) + {0, 1} or
 * floor(x) + {−1..2}. A tap outside the input reads 0 ('zeros'), the clamped index ('border') or the
 * reflected one ('reflection'). `axisTaps` builds one axis' taps; the sample is the weighted sum over
 * all tap combinations. 'bilinear'/'bicubic' (opset 16 names) are accepted for linear/cubic.
 *
 * AffineGrid: the base grid of `size` = [N, C, (D,) H, W] holds per point the normalised coordinates
 * (x, y, (z), 1), each −1 + (2i+1)/d, or −1 + 2i/(d−1) with align_corners; grid = θ[n] · base.
 *
 * DeformConv (2-D): for output (i, j) and kernel tap (u, v) the input is sampled bilinearly (zeros
 * outside) at (i·s_h − p_h + u·d_h + Δh, j·s_w − p_w + v·d_w + Δw), with the offsets Δ of the tap's
 * offset group, times the optional mask; the samples form an im2col matrix per group which is
 * multiplied by the group's weights on the shared GEMM core (gemm-core.ts), then the bias is added.
 *
 * Col2Im: the inverse of im2col: input [N, C·Πblock, L] with L the number of block positions of the
 * window geometry (window.ts); every column element is added to its image position (taps in padding
 * are dropped). MaxUnpool scatters X into zeros of the unpooled size (in−1)·s − pads + k at the flat
 * indices I into that whole tensor (MaxPool's Indices); with `output_shape` that result is placed at the origin of a larger
 * zero tensor, as the ONNX reference does.
 */
import type { Dim } from '../ir/graph.ts';
import { readInts, readNumbers, shapeSize, stridesOf } from '../ir/tensor.ts';
import type { AttrReader, OpDef } from './registry.ts';
import { AttrError } from './registry.ts';
import { FLOAT_TYPES, expectDType, required, sameDType } from './support.ts';
import { knownInts } from './movement.ts';
import { type WindowAttrs, outputDims, prod, resolveGeometry } from './window.ts';
import { type FloatArray, allocFloat, floatData, floatTensor } from './float-io.ts';
import { dense, dgemm, sgemm } from './gemm-core.ts';
import { addChannelBias } from './conv.ts';

const dims = (s: readonly Dim[]) => `[${s.join(',')}]`;

// ---------------------------------------------------------------- GridSample

/** GridSample attributes. */
export interface GridSampleAttrs {
  readonly mode: 'linear' | 'nearest' | 'cubic';
  readonly padding: 'zeros' | 'border' | 'reflection';
  readonly alignCorners: boolean;
}

/** Reflects x into [lo, hi] by folding at the borders (ONNX reference `_gs_reflect`). */
function reflect(x: number, lo: number, hi: number): number {
  const rng = hi - lo;
  if (x < lo) {
    const dx = lo - x, n = Math.trunc(dx / rng), r = dx - n * rng;
    return n % 2 === 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const dx = x - hi, n = Math.trunc(dx / rng), r = dx - n * rng;
    return n % 2 === 0 ? hi - r : lo + r;
  }
  return x;
}

/** Keys cubic weights (A = −0.75) of the taps at distances 1+t, t, 1−t, 2−t. */
function cubicWeights(t: number): number[] {
  const A = -0.75;
  const far = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  const near = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1;
  return [far(t + 1), near(t), near(1 - t), far(2 - t)];
}

/**
 * The taps of one axis of length d at pixel position x: input indices (−1 for a zero tap) and
 * weights, after the padding rules (see header).
 */
export function axisTaps(x: number, d: number, a: GridSampleAttrs): { idx: number[]; w: number[] } {
  const lo = a.alignCorners ? 0 : -0.5, hi = a.alignCorners ? d - 1 : d - 0.5;
  if (a.mode === 'nearest') {
    x = roundHalfEven(x);
  }
  if (x < lo || x > hi) {
    if (a.padding === 'border') x = Math.min(Math.max(x, 0), d - 1);
    else if (a.padding === 'reflection') x = reflect(x, lo, hi);
  }
  const fetch = (i: number) => {
    if (i >= 0 && i < d) return i;
    if (a.padding === 'zeros') return -1;
    if (a.padding === 'border') return Math.min(Math.max(i, 0), d - 1);
    return Math.trunc(reflect(i, lo, hi));
  };
  if (a.mode === 'nearest') return { idx: [fetch(Math.trunc(x))], w: [1] };
  const x0 = Math.floor(x), t = x - x0;
  if (a.mode === 'linear') return { idx: [fetch(x0), fetch(x0 + 1)], w: [1 - t, t] };
  return { idx: [fetch(x0 - 1), fetch(x0), fetch(x0 + 1), fetch(x0 + 2)], w: cubicWeights(t) };
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Weighted sum over all tap combinations of `taps` (one list per axis) in the plane at xs[base]. */
function gatherTaps(xs: FloatArray, base: number, strides: readonly number[], taps: { idx: number[]; w: number[] }[]): number {
  let sum = 0;
  const rank = taps.length;
  const pick = new Array<number>(rank).fill(0);
  for (;;) {
    let w = 1, off = base, zero = false;
    for (let a = 0; a < rank; a++) {
      const i = taps[a].idx[pick[a]];
      if (i < 0) { zero = true; break; }
      w *= taps[a].w[pick[a]];
      off += i * strides[a];
    }
    if (!zero && w !== 0) sum += w * xs[off];
    let a = rank - 1;
    while (a >= 0 && ++pick[a] === taps[a].idx.length) pick[a--] = 0;
    if (a < 0) return sum;
  }
}

const GRID_MODES: Readonly<Record<string, GridSampleAttrs['mode']>> = {
  linear: 'linear', bilinear: 'linear', nearest: 'nearest', cubic: 'cubic', bicubic: 'cubic',
};

const GridSample: OpDef<GridSampleAttrs> = {
  name: 'GridSample', inputs: [2, 2], outputs: [1, 1],
  parseAttrs(r) {
    const m = r.string('mode', 'linear');
    const mode = GRID_MODES[m];
    if (!mode) throw new AttrError('mode', `must be one of linear, nearest, cubic (or bilinear, bicubic), got ${m}`);
    return {
      mode,
      padding: r.oneOf('padding_mode', r.string('padding_mode', 'zeros'), ['zeros', 'border', 'reflection']) as GridSampleAttrs['padding'],
      alignCorners: r.oneOf('align_corners', r.int('align_corners', 0), [0, 1]) === 1,
    };
  },
  inferTypes(inputs) {
    const x = required(inputs, 0, 'X'), g = required(inputs, 1, 'grid');
    expectDType(x.dtype, FLOAT_TYPES, 'X');
    expectDType(g.dtype, FLOAT_TYPES, 'grid');
    const r = x.shape.length - 2;
    if (r < 1 || g.shape.length !== r + 2 || (typeof g.shape[r + 1] === 'number' && g.shape[r + 1] !== r)) {
      throw new Error(`GridSample: grid ${dims(g.shape)} must be [N, ${r} output dims..., ${r}] for X ${dims(x.shape)}`);
    }
    return [{ dtype: x.dtype, shape: [x.shape[0], x.shape[1], ...g.shape.slice(1, r + 1)] }];
  },
  run([x, grid], a) {
    const [n, c, ...sp] = x!.shape;
    const r = sp.length;
    const outSp = grid!.shape.slice(1, r + 1), outSize = shapeSize(outSp), inSize = shapeSize(sp);
    const xs = floatData(x!), gs = readNumbers(grid!);
    const y = allocFloat(x!.dtype, n * c * outSize);
    const strides = stridesOf(sp);
    for (let b = 0; b < n; b++) {
      for (let p = 0; p < outSize; p++) {
        const g0 = (b * outSize + p) * r;
        const taps = sp.map((d, ax) => {
          const v = gs[g0 + r - 1 - ax];
          const pos = a.alignCorners ? ((v + 1) / 2) * (d - 1) : ((v + 1) * d - 1) / 2;
          return axisTaps(Math.fround(pos), d, a);
        });
        for (let ch = 0; ch < c; ch++) y[(b * c + ch) * outSize + p] = gatherTaps(xs, (b * c + ch) * inSize, strides, taps);
      }
    }
    return [floatTensor(x!.dtype, [n, c, ...outSp], y)];
  },
};

// ---------------------------------------------------------------- AffineGrid

const AffineGrid: OpDef<{ alignCorners: boolean }> = {
  name: 'AffineGrid', inputs: [2, 2], outputs: [1, 1],
  parseAttrs: (r) => ({ alignCorners: r.oneOf('align_corners', r.int('align_corners', 0), [0, 1]) === 1 }),
  inferTypes(inputs, _a, ctx) {
    const th = required(inputs, 0, 'theta'), size = required(inputs, 1, 'size');
    expectDType(th.dtype, FLOAT_TYPES, 'theta');
    expectDType(size.dtype, ['i64'], 'size');
    const len = size.shape[0];
    if (size.shape.length !== 1 || (typeof len === 'number' && len !== 4 && len !== 5)) throw new Error(`AffineGrid: size ${dims(size.shape)} must hold 4 or 5 values`);
    if (th.shape.length !== 3) throw new Error(`AffineGrid: theta ${dims(th.shape)} must be [N, 2, 3] or [N, 3, 4]`);
    const sz = knownInts(ctx, 1);
    const r = sz ? sz.length - 2 : typeof len === 'number' ? len - 2 : undefined;
    if (r === undefined) throw new Error('AffineGrid: the length of size must be known');
    const spatial: Dim[] = sz ? sz.slice(2) : Array.from({ length: r }, () => ctx.freshDim());
    return [{ dtype: th.dtype, shape: [th.shape[0], ...spatial, r] }];
  },
  run([theta, sizeT], a) {
    const size = readInts(sizeT!), sp = size.slice(2), r = sp.length;
    const [n, rows, cols] = theta!.shape;
    if (n !== size[0] || rows !== r || cols !== r + 1) throw new Error(`AffineGrid: theta [${theta!.shape.join(',')}] does not match size [${size.join(',')}]`);
    const th = readNumbers(theta!);
    const count = prod(sp), strides = stridesOf(sp);
    const y = allocFloat(theta!.dtype, n * count * r);
    const coord = (i: number, d: number) => (a.alignCorners ? (d === 1 ? 0 : -1 + (2 * i) / (d - 1)) : -1 + (2 * i + 1) / d);
    const base = new Float64Array(r + 1);
    for (let p = 0; p < count; p++) {
      // homogeneous point (x, y, (z), 1): x is the last spatial axis
      for (let ax = 0; ax < r; ax++) base[r - 1 - ax] = coord(Math.floor(p / strides[ax]) % sp[ax], sp[ax]);
      base[r] = 1;
      for (let b = 0; b < n; b++) {
        for (let k = 0; k < r; k++) {
          let s = 0;
          for (let j = 0; j <= r; j++) s += th[(b * r + k) * (r + 1) + j] * base[j];
          y[(b * count + p) * r + k] = s;
        }
      }
    }
    return [floatTensor(theta!.dtype, [n, ...sp, r], y)];
  },
};

// ---------------------------------------------------------------- DeformConv

/** DeformConv attributes: the window (no auto_pad), group and offset_group. */
export interface DeformConvAttrs extends WindowAttrs { readonly group: number; readonly offsetGroup: number }

/** Reads kernel_shape, strides, dilations, pads (validated like every window op) with no auto_pad. */
function explicitWindow(r: AttrReader, withKernel = true): WindowAttrs {
  const read = (name: string, min: number) => {
    const v = r.maybeInts(name);
    if (v && v.some((x) => !(x >= min))) throw new AttrError(name, `values must be >= ${min}, got [${v.join(',')}]`);
    return v;
  };
  const pads = read('pads', 0);
  if (pads && pads.length % 2 !== 0) throw new AttrError('pads', `pads needs an even count, got ${pads.length}`);
  return { autoPad: 'NOTSET', kernelShape: withKernel ? read('kernel_shape', 1) : undefined, strides: read('strides', 1), dilations: read('dilations', 1), pads };
}

const positive = (r: AttrReader, name: string) => {
  const v = r.int(name, 1);
  if (v < 1) throw new AttrError(name, `must be >= 1, got ${v}`);
  return v;
};

const DeformConv: OpDef<DeformConvAttrs> = {
  name: 'DeformConv', inputs: [3, 5], outputs: [1, 1],
  parseAttrs: (r) => ({ ...explicitWindow(r), group: positive(r, 'group'), offsetGroup: positive(r, 'offset_group') }),
  inferTypes(inputs, a, ctx) {
    const x = required(inputs, 0, 'X'), w = required(inputs, 1, 'W'), off = required(inputs, 2, 'offset');
    const dtype = sameDType([x, w, off, inputs[3], inputs[4]]);
    expectDType(dtype, FLOAT_TYPES, 'X');
    if (x.shape.length !== 4 || w.shape.length !== 4) throw new Error(`DeformConv: X ${dims(x.shape)} and W ${dims(w.shape)} must be 4-D (2 spatial axes)`);
    const kernel = a.kernelShape ? [...a.kernelShape] : w.shape.slice(2);
    if (kernel.some((k) => typeof k !== 'number')) throw new Error(`DeformConv: W ${dims(w.shape)} has symbolic spatial dims; give kernel_shape`);
    const c = x.shape[1], cw = w.shape[1], m = w.shape[0];
    if (typeof c === 'number' && typeof cw === 'number' && c !== cw * a.group) throw new Error(`DeformConv: X has ${c} channels but W ${dims(w.shape)} expects ${cw} × group ${a.group}`);
    if (typeof c === 'number' && c % a.offsetGroup !== 0) throw new Error(`DeformConv: ${c} channels are not divisible by offset_group ${a.offsetGroup}`);
    const want = a.offsetGroup * (kernel as number[]).reduce((p, k) => p * k, 1) * 2;
    if (typeof off.shape[1] === 'number' && off.shape[1] !== want) throw new Error(`DeformConv: offset ${dims(off.shape)} must have ${want} channels (offset_group × kernel taps × 2)`);
    const spatial = outputDims(a, x.shape.slice(2), kernel as number[], false, () => ctx.freshDim());
    return [{ dtype, shape: [x.shape[0], m, ...spatial] }];
  },
  run([x, w, offset, b, mask], a) {
    const [n, c, ih, iw] = x!.shape, [m, cg, kh, kw] = w!.shape;
    const geo = resolveGeometry(a, [ih, iw], a.kernelShape ?? [kh, kw]);
    const [oh, ow] = geo.output, [sh, sw] = geo.strides, [dh, dw] = geo.dilations, [ph, pw] = geo.padBegin;
    if (c !== cg * a.group || m % a.group !== 0) throw new Error(`DeformConv: X [${x!.shape.join(',')}] and W [${w!.shape.join(',')}] do not match group ${a.group}`);
    const kk = kh * kw, out = oh * ow, mg = m / a.group, cPerOff = c / a.offsetGroup;
    if (offset!.shape[2] !== oh || offset!.shape[3] !== ow) throw new Error(`DeformConv: offset [${offset!.shape.join(',')}] does not match the output size ${oh}×${ow}`);
    const xs = floatData(x!), os = readNumbers(offset!), ms = mask ? readNumbers(mask) : undefined;
    const f64 = xs instanceof Float64Array;
    const ws = f64 ? Float64Array.from(readNumbers(w!)) : Float32Array.from(readNumbers(w!));
    const y = allocFloat(f64 ? 'f64' : 'f32', n * m * out);
    const col = f64 ? new Float64Array(cg * kk * out) : new Float32Array(cg * kk * out);
    const lin: GridSampleAttrs = { mode: 'linear', padding: 'zeros', alignCorners: true };
    for (let bi = 0; bi < n; bi++) {
      for (let g = 0; g < a.group; g++) {
        for (let ci = 0; ci < cg; ci++) {
          const ch = g * cg + ci, og = Math.floor(ch / cPerOff), plane = (bi * c + ch) * ih * iw;
          for (let t = 0; t < kk; t++) {
            const u = Math.floor(t / kw), v = t % kw;
            for (let p = 0; p < out; p++) {
              const i = Math.floor(p / ow), j = p % ow;
              const o = ((bi * a.offsetGroup + og) * kk + t) * 2 * out + p;
              const hy = i * sh - ph + u * dh + os[o], wx = j * sw - pw + v * dw + os[o + out];
              const val = gatherTaps(xs, plane, [iw, 1], [axisTaps(hy, ih, lin), axisTaps(wx, iw, lin)]);
              col[(ci * kk + t) * out + p] = ms ? val * ms[((bi * a.offsetGroup + og) * kk + t) * out + p] : val;
            }
          }
        }
        const yOff = (bi * m + g * mg) * out, rows = cg * kk;
        if (f64) dgemm(mg, out, rows, 1, dense(ws as Float64Array, g * mg * rows, rows), dense(col as Float64Array, 0, out), y as Float64Array, yOff, out, false);
        else sgemm(mg, out, rows, 1, dense(ws as Float32Array, g * mg * rows, rows), dense(col as Float32Array, 0, out), y as Float32Array, yOff, out, false);
      }
    }
    if (b) addChannelBias(y, floatData(b), n, m, out);
    return [floatTensor(x!.dtype, [n, m, oh, ow], y)];
  },
};

// ---------------------------------------------------------------- Col2Im

const Col2Im: OpDef<WindowAttrs> = {
  name: 'Col2Im', inputs: [3, 3], outputs: [1, 1],
  parseAttrs: (r) => explicitWindow(r, false),
  inferTypes(inputs, _a, ctx) {
    const x = required(inputs, 0, 'input');
    expectDType(x.dtype, FLOAT_TYPES, 'input');
    if (x.shape.length !== 3) throw new Error(`Col2Im: input ${dims(x.shape)} must be [N, C·Πblock_shape, L]`);
    const image = knownInts(ctx, 1), block = knownInts(ctx, 2);
    const r = image?.length ?? block?.length ?? required(inputs, 1, 'image_shape').shape[0];
    if (typeof r !== 'number') throw new Error('Col2Im: the length of image_shape must be known');
    const cb = x.shape[1];
    const c = block && typeof cb === 'number' ? cb / prod(block) : ctx.freshDim();
    if (typeof c === 'number' && !Number.isInteger(c)) throw new Error(`Col2Im: input channels ${cb} are not divisible by Πblock_shape ${prod(block!)}`);
    return [{ dtype: x.dtype, shape: [x.shape[0], c, ...(image ?? Array.from({ length: r }, () => ctx.freshDim()))] }];
  },
  run([x, imageT, blockT], a) {
    const image = readInts(imageT!), block = readInts(blockT!), r = image.length;
    if (block.length !== r) throw new Error(`Col2Im: block_shape has ${block.length} values, image_shape ${r}`);
    const [n, cb, L] = x!.shape, kSize = prod(block), c = cb / kSize;
    if (!Number.isInteger(c)) throw new Error(`Col2Im: input channels ${cb} are not divisible by Πblock_shape ${kSize}`);
    const geo = resolveGeometry(a, image, block);
    if (prod(geo.output) !== L) throw new Error(`Col2Im: input has ${L} blocks but the geometry gives ${geo.output.join('×')}`);
    const xs = floatData(x!), imSize = prod(image), y = allocFloat(x!.dtype, n * c * imSize);
    const kStr = stridesOf(block), oStr = stridesOf(geo.output), iStr = stridesOf(image);
    for (let plane = 0; plane < n * c; plane++) {
      for (let k = 0; k < kSize; k++) {
        for (let l = 0; l < L; l++) {
          let off = 0, inside = true;
          for (let ax = 0; ax < r && inside; ax++) {
            const kc = Math.floor(k / kStr[ax]) % block[ax], oc = Math.floor(l / oStr[ax]) % geo.output[ax];
            const pos = oc * geo.strides[ax] - geo.padBegin[ax] + kc * geo.dilations[ax];
            inside = pos >= 0 && pos < image[ax];
            off += pos * iStr[ax];
          }
          if (inside) y[plane * imSize + off] += xs[(plane * kSize + k) * L + l];
        }
      }
    }
    return [floatTensor(x!.dtype, [n, c, ...image], y)];
  },
};

// ---------------------------------------------------------------- MaxUnpool

/** MaxUnpool attributes. */
export interface MaxUnpoolAttrs { readonly kernel: readonly number[]; readonly strides?: readonly number[]; readonly pads?: readonly number[] }

/** Unpooled spatial size per axis: (in − 1)·s − (pb + pe) + k. */
function unpooled(sp: readonly number[], a: MaxUnpoolAttrs): number[] {
  const r = sp.length;
  if (a.kernel.length !== r) throw new Error(`MaxUnpool: kernel_shape has ${a.kernel.length} values but X has ${r} spatial dims`);
  return sp.map((d, i) => (d - 1) * (a.strides?.[i] ?? 1) - ((a.pads?.[i] ?? 0) + (a.pads?.[r + i] ?? 0)) + a.kernel[i]);
}

const MaxUnpool: OpDef<MaxUnpoolAttrs> = {
  name: 'MaxUnpool', inputs: [2, 3], outputs: [1, 1],
  parseAttrs(r) {
    const w = explicitWindow(r);
    if (!w.kernelShape) throw new AttrError('kernel_shape', 'required attribute is missing');
    return { kernel: w.kernelShape, strides: w.strides, pads: w.pads };
  },
  inferTypes(inputs, a, ctx) {
    const x = required(inputs, 0, 'X'), ind = required(inputs, 1, 'I');
    expectDType(x.dtype, FLOAT_TYPES, 'X');
    expectDType(ind.dtype, ['i64'], 'I');
    if (x.shape.length < 3) throw new Error(`MaxUnpool: X ${dims(x.shape)} must be [N, C, spatial...]`);
    if (inputs[2]) {
      const os = knownInts(ctx, 2);
      return [{ dtype: x.dtype, shape: os ?? x.shape.map(() => ctx.freshDim()) }];
    }
    const sp = x.shape.slice(2);
    const out = sp.every((d) => typeof d === 'number') ? unpooled(sp as number[], a) : sp.map(() => ctx.freshDim());
    return [{ dtype: x.dtype, shape: [x.shape[0], x.shape[1], ...out] }];
  },
  run([x, ind, outShape], a) {
    const [n, c, ...sp] = x!.shape;
    const inner = unpooled(sp, a), full = [n, c, ...inner];
    const shape = outShape ? readInts(outShape) : full;
    if (shape.length !== full.length || shape.some((d, i) => d < full[i])) throw new Error(`MaxUnpool: output_shape [${shape.join(',')}] is smaller than the unpooled shape [${full.join(',')}]`);
    const xs = floatData(x!), idx = readInts(ind!), total = prod(full);
    const flat = allocFloat(x!.dtype, total);
    for (let i = 0; i < xs.length; i++) {
      if (idx[i] < 0 || idx[i] >= total) throw new Error(`MaxUnpool: index ${idx[i]} is outside the unpooled tensor of ${total} elements`);
      flat[idx[i]] = xs[i];
    }
    if (!outShape) return [floatTensor(x!.dtype, full, flat)];
    const y = allocFloat(x!.dtype, prod(shape)), fs = stridesOf(full), ys = stridesOf(shape);
    for (let i = 0; i < total; i++) {
      let off = 0;
      for (let ax = 0; ax < full.length; ax++) off += (Math.floor(i / fs[ax]) % full[ax]) * ys[ax];
      y[off] = flat[i];
    }
    return [floatTensor(x!.dtype, shape, y)];
  },
};

export const visionOps: OpDef<any>[] = [GridSample, AffineGrid, DeformConv, Col2Im, MaxUnpool];
