/**
 * Op family 'pool': MaxPool (with optional i64 Indices, storage_order), AveragePool
 * (count_include_pad), LpPool (p), all with strides, pads, auto_pad, dilations and ceil_mode;
 * GlobalAveragePool and GlobalMaxPool.
 *
 * Algorithm: the window geometry comes from window.ts (ceil_mode drops a last window that would start
 * in the end padding), lifted to 3 spatial axes. For every axis and output index the range of kernel
 * taps that land inside the input is precomputed once ([lo, hi) per output index), so the per-window
 * loops run without bounds checks. Padding never wins a max; for averages the divisor is the number of
 * taps inside the input, or with count_include_pad the number inside the padded extent (taps hanging
 * past the end padding in ceil_mode are never counted, as in onnxruntime). Like onnxruntime and the
 * ONNX reference, MaxPool skips NaN inputs (a window of only NaN/padding yields -inf). LpPool sums
 * |x|^p over the taps inside the input (padding adds 0) and takes the p-th root.
 * Indices are flat positions in X: row-major over (n, c, spatial) with storage_order 0; with
 * storage_order 1 the spatial part is column-major (first spatial axis fastest).
 * Values are computed in f32 (f64 for f64 tensors); 8-bit integer inputs are exact in f32.
 */
import type { Dim, TensorType } from '../ir/graph.ts';
import { Tensor } from '../ir/tensor.ts';
import type { OpDef } from './registry.ts';
import { perInputElement, windowFlops } from './flops.ts';
import { AttrError } from './registry.ts';
import { FLOAT_TYPES, expectDType, required } from './support.ts';
import { type Geometry, type WindowAttrs, lift3, outputDims, prod, readWindowAttrs, resolveGeometry, validRange } from './window.ts';
import { type FloatArray, allocFloat, floatData, floatTensor } from './float-io.ts';

/** Attributes shared by MaxPool, AveragePool and LpPool. */
export interface PoolAttrs extends WindowAttrs {
  readonly kernel: readonly number[];
  readonly ceilMode: boolean;
  /** AveragePool: padding counts in the divisor (accepted, unused, on MaxPool). */
  readonly countIncludePad: boolean;
  /** MaxPool: Indices column-major over the spatial axes (accepted, unused, on AveragePool). */
  readonly storageOrder: number;
  /** LpPool only: the exponent p (>= 1; 2 elsewhere). */
  readonly p: number;
}

/** MaxPool's and AveragePool's attributes (both read the same set); LpPool's with `lp`. */
function readPoolAttrs(r: Parameters<OpDef['parseAttrs']>[0], lp = false): PoolAttrs {
  const w = readWindowAttrs(r);
  if (!w.kernelShape) throw new AttrError('kernel_shape', 'required attribute is missing');
  const storageOrder = lp ? 0 : r.int('storage_order', 0);
  if (storageOrder !== 0 && storageOrder !== 1) throw new AttrError('storage_order', `must be 0 or 1, got ${storageOrder}`);
  // p is an int since LpPool-2 and a float in LpPool-1: the float reader takes both
  const p = lp ? r.float('p', 2) : 2;
  if (!(p >= 1)) throw new AttrError('p', `must be >= 1, got ${p}`);
  return {
    ...w,
    kernel: w.kernelShape,
    ceilMode: r.int('ceil_mode', 0) !== 0,
    countIncludePad: !lp && r.int('count_include_pad', 0) !== 0,
    storageOrder,
    p,
  };
}

function poolTypes(op: string, x: TensorType, a: PoolAttrs, freshDim: () => Dim): Dim[] {
  if (x.shape.length < 3) throw new Error(`${op}: X must have rank >= 3 (N, C, spatial...), got [${x.shape.join(',')}]`);
  const spatial = x.shape.slice(2);
  if (a.kernel.length !== spatial.length) {
    throw new Error(`${op}: kernel_shape has ${a.kernel.length} values but X [${x.shape.join(',')}] has ${spatial.length} spatial dims`);
  }
  return [x.shape[0], x.shape[1], ...outputDims(a, spatial, a.kernel, a.ceilMode, freshDim)];
}

const MAXPOOL_TYPES = [...FLOAT_TYPES, 'i8', 'u8'] as const;

const MaxPool: OpDef<PoolAttrs> = {
  name: 'MaxPool',
  inputs: [1, 1],
  outputs: [1, 2],
  flops: windowFlops((a: PoolAttrs) => a.kernel),
  parseAttrs: (r) => readPoolAttrs(r),
  inferTypes(inputs, a, ctx, outputCount) {
    const x = required(inputs, 0, 'X');
    expectDType(x.dtype, MAXPOOL_TYPES, 'X');
    const shape = poolTypes('MaxPool', x, a, () => ctx.freshDim());
    const out: TensorType[] = [{ dtype: x.dtype, shape }];
    if (outputCount > 1) out.push({ dtype: 'i64', shape });
    return out;
  },
  run(inputs, a, outputCount) {
    return pool(inputs[0]!, a, 'max', outputCount > 1);
  },
};

const AveragePool: OpDef<PoolAttrs> = {
  name: 'AveragePool',
  inputs: [1, 1],
  outputs: [1, 1],
  flops: windowFlops((a: PoolAttrs) => a.kernel),
  parseAttrs: (r) => readPoolAttrs(r),
  inferTypes(inputs, a, ctx) {
    const x = required(inputs, 0, 'X');
    expectDType(x.dtype, FLOAT_TYPES, 'X');
    return [{ dtype: x.dtype, shape: poolTypes('AveragePool', x, a, () => ctx.freshDim()) }];
  },
  run(inputs, a) {
    return pool(inputs[0]!, a, 'avg', false);
  },
};

const LpPool: OpDef<PoolAttrs> = {
  name: 'LpPool',
  inputs: [1, 1],
  outputs: [1, 1],
  flops: windowFlops((a: PoolAttrs) => a.kernel),
  parseAttrs: (r) => readPoolAttrs(r, true),
  inferTypes(inputs, a, ctx) {
    const x = required(inputs, 0, 'X');
    expectDType(x.dtype, FLOAT_TYPES, 'X');
    return [{ dtype: x.dtype, shape: poolTypes('LpPool', x, a, () => ctx.freshDim()) }];
  },
  run(inputs, a) {
    return pool(inputs[0]!, a, 'lp', false);
  },
};

/** Per output index of one axis: the kernel taps [lo, hi) inside the input and [0, padHi) inside the padded extent. */
function tapRanges(out: number, size: number, k: number, s: number, d: number, pb: number, pe: number) {
  // Float64Array: tap indices of a kernel wider than 2^31 (SAME padding allows it) must not wrap
  const lo = new Float64Array(out), hi = new Float64Array(out), padHi = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    const base = o * s - pb;
    const l = base >= 0 ? 0 : Math.min(k, Math.ceil(-base / d));
    const h = size - 1 - base < 0 ? 0 : Math.min(k, Math.floor((size - 1 - base) / d) + 1);
    lo[o] = l;
    hi[o] = Math.max(l, h);
    padHi[o] = Math.max(0, Math.min(k, Math.floor((size + pe - 1 - base) / d) + 1));
  }
  return { lo, hi, padHi };
}

type Ranges = ReturnType<typeof tapRanges>;

/** What a pool computes over its window. */
type PoolKind = 'max' | 'avg' | 'lp';

/**
 * Max, average or Lp pooling without indices, in row form: for each output row and each valid
 * (kd, kh) kernel row, every kernel column updates the whole output row over the columns where it
 * reads inside X; averages are divided by each window's tap count at the end, Lp sums of |x|^p take
 * their p-th root.
 */
function poolRows(xs: FloatArray, y: FloatArray, planes: number, g: Geometry, rd: Ranges, rh: Ranges, rw: Ranges,
  kind: PoolKind, includePad: boolean, p: number): void {
  const [ID, IH, IW] = g.input, [OD, OH, OW] = g.output, [, , KW] = g.kernel;
  const [SD, SH, SW] = g.strides, [DD, DH, DW] = g.dilations, [PD, PH, PW] = g.padBegin;
  const inSize = ID * IH * IW, outSize = OD * OH * OW;
  // only kernel columns that read inside X for some output column: a kernel far wider than X
  // (SAME padding allows any width) costs no more than one as wide as X
  const kwFirst = Math.max(0, Math.ceil((PW - (OW - 1) * SW) / DW)), kwEnd = Math.min(KW, Math.floor((IW - 1 + PW) / DW) + 1);
  const lo = new Int32Array(Math.max(0, kwEnd - kwFirst)), hi = new Int32Array(lo.length);
  for (let kw = kwFirst; kw < kwEnd; kw++) [lo[kw - kwFirst], hi[kw - kwFirst]] = validRange(kw * DW - PW, SW, IW, OW);
  const wCount = new Float64Array(OW);
  for (let ow = 0; ow < OW; ow++) wCount[ow] = includePad ? rw.padHi[ow] : rw.hi[ow] - rw.lo[ow];
  const row = new Float64Array(OW);
  const max = kind === 'max', lp = kind === 'lp', p2 = p === 2;
  for (let plane = 0; plane < planes; plane++) {
    const xo = plane * inSize;
    for (let od = 0; od < OD; od++) {
      for (let oh = 0; oh < OH; oh++) {
        row.fill(max ? -Infinity : 0);
        for (let kd = rd.lo[od]; kd < rd.hi[od]; kd++) {
          const id = od * SD - PD + kd * DD;
          for (let kh = rh.lo[oh]; kh < rh.hi[oh]; kh++) {
            const xRow = xo + (id * IH + oh * SH - PH + kh * DH) * IW;
            for (let kw = kwFirst; kw < kwEnd; kw++) {
              const x0 = xRow + kw * DW - PW, l = lo[kw - kwFirst], h = hi[kw - kwFirst];
              if (max) {
                for (let ow = l; ow < h; ow++) { const v = xs[x0 + ow * SW]; if (v > row[ow]) row[ow] = v; }
              } else if (lp) {
                for (let ow = l; ow < h; ow++) { const v = xs[x0 + ow * SW]; row[ow] += p2 ? v * v : Math.abs(v) ** p; }
              } else {
                for (let ow = l; ow < h; ow++) row[ow] += xs[x0 + ow * SW];
              }
            }
          }
        }
        const q = plane * outSize + (od * OH + oh) * OW;
        if (max) {
          for (let ow = 0; ow < OW; ow++) y[q + ow] = row[ow];
        } else if (lp) {
          for (let ow = 0; ow < OW; ow++) y[q + ow] = row[ow] ** (1 / p);
        } else {
          const dh = includePad ? rd.padHi[od] * rh.padHi[oh] : (rd.hi[od] - rd.lo[od]) * (rh.hi[oh] - rh.lo[oh]);
          for (let ow = 0; ow < OW; ow++) y[q + ow] = row[ow] / (dh * wCount[ow]);
        }
      }
    }
  }
}

/** MaxPool with Indices: one window at a time, remembering the flat position of the first maximum. */
function maxWithIndices(xs: FloatArray, y: FloatArray, idx: BigInt64Array, planes: number, g: Geometry,
  rd: Ranges, rh: Ranges, rw: Ranges, colMajor: boolean): void {
  const [ID, IH, IW] = g.input, [OD, OH, OW] = g.output;
  const [SD, SH, SW] = g.strides, [DD, DH, DW] = g.dilations, [PD, PH, PW] = g.padBegin;
  const inSize = ID * IH * IW;
  let q = 0;
  for (let plane = 0; plane < planes; plane++) {
    const xo = plane * inSize;
    for (let od = 0; od < OD; od++) {
      const dLo = rd.lo[od], dHi = rd.hi[od], d0 = od * SD - PD;
      for (let oh = 0; oh < OH; oh++) {
        const hLo = rh.lo[oh], hHi = rh.hi[oh], h0 = oh * SH - PH;
        for (let ow = 0; ow < OW; ow++) {
          const wLo = rw.lo[ow], wHi = rw.hi[ow], w0 = ow * SW - PW;
          let best = -Infinity, at = -1;
          for (let kd = dLo; kd < dHi; kd++) {
            const id = d0 + kd * DD;
            for (let kh = hLo; kh < hHi; kh++) {
              const r = xo + (id * IH + h0 + kh * DH) * IW + w0;
              for (let kw = wLo; kw < wHi; kw++) {
                const v = xs[r + kw * DW];
                if (v > best) { best = v; at = r + kw * DW; }
              }
            }
          }
          y[q] = best;
          let flat = at;
          if (colMajor && at >= 0) {
            const r = at - xo, id = Math.floor(r / (IH * IW)), ih = Math.floor(r / IW) % IH, iw = r % IW;
            flat = xo + id + ih * ID + iw * ID * IH;
          }
          idx[q++] = BigInt(flat);
        }
      }
    }
  }
}

/** Runs MaxPool (kind 'max', optionally with Indices), AveragePool or LpPool on a concrete tensor. */
export function pool(x: Tensor, a: PoolAttrs, kind: PoolKind, withIndices: boolean): Tensor[] {
  const [n, c] = x.shape;
  const geo = resolveGeometry(a, x.shape.slice(2), a.kernel, a.ceilMode);
  const g = lift3(geo, kind === 'max' ? 'MaxPool' : kind === 'avg' ? 'AveragePool' : 'LpPool');
  const ranges = [0, 1, 2].map((i) =>
    tapRanges(g.output[i], g.input[i], g.kernel[i], g.strides[i], g.dilations[i], g.padBegin[i], g.padEnd[i]));
  const [rd, rh, rw] = ranges;
  const outSize = prod(g.output);
  const xs = floatData(x);
  const y = allocFloat(x.dtype, n * c * outSize);
  const idx = withIndices ? new BigInt64Array(n * c * outSize) : undefined;
  if (idx) maxWithIndices(xs, y, idx, n * c, g, rd, rh, rw, a.storageOrder === 1);
  else poolRows(xs, y, n * c, g, rd, rh, rw, kind, a.countIncludePad, a.p);
  const shape = [n, c, ...geo.output];
  const out = [floatTensor(x.dtype, shape, y)];
  if (idx) out.push(new Tensor('i64', shape, idx));
  return out;
}

function globalTypes(op: string, x: TensorType): TensorType {
  if (x.shape.length < 2) throw new Error(`${op}: X must have rank >= 2 (N, C, spatial...), got [${x.shape.join(',')}]`);
  expectDType(x.dtype, FLOAT_TYPES, 'X');
  return { dtype: x.dtype, shape: [x.shape[0], x.shape[1], ...x.shape.slice(2).map(() => 1)] };
}

/** Global pooling: mean or max over all spatial positions of each (n, c) plane. */
function globalPool(x: Tensor, kind: 'max' | 'avg'): Tensor {
  const [n, c] = x.shape;
  const size = prod(x.shape.slice(2));
  const xs = floatData(x);
  const y = allocFloat(x.dtype, n * c);
  for (let p = 0; p < n * c; p++) {
    const o = p * size;
    if (kind === 'avg') {
      let s = 0;
      for (let i = 0; i < size; i++) s += xs[o + i];
      y[p] = s / size;
    } else {
      let m = -Infinity;
      for (let i = 0; i < size; i++) {
        const v = xs[o + i];
        if (v > m || v !== v) m = v;
        if (m !== m) break;
      }
      y[p] = m;
    }
  }
  return floatTensor(x.dtype, [n, c, ...x.shape.slice(2).map(() => 1)], y);
}

const GlobalAveragePool: OpDef<null> = {
  name: 'GlobalAveragePool',
  inputs: [1, 1],
  outputs: [1, 1],
  flops: perInputElement(1),
  parseAttrs: () => null,
  inferTypes: (inputs) => [globalTypes('GlobalAveragePool', required(inputs, 0, 'X'))],
  run: (inputs) => [globalPool(inputs[0]!, 'avg')],
};

const GlobalMaxPool: OpDef<null> = {
  name: 'GlobalMaxPool',
  inputs: [1, 1],
  outputs: [1, 1],
  flops: perInputElement(1),
  parseAttrs: () => null,
  inferTypes: (inputs) => [globalTypes('GlobalMaxPool', required(inputs, 0, 'X'))],
  run: (inputs) => [globalPool(inputs[0]!, 'max')],
};

export const poolOps: OpDef<any>[] = [MaxPool, AveragePool, LpPool, GlobalAveragePool, GlobalMaxPool];

/** Exposed for tests: the resolved geometry of a pool node on concrete spatial sizes. */
export function poolGeometry(a: PoolAttrs, spatial: readonly number[]): Geometry {
  return resolveGeometry(a, spatial, a.kernel, a.ceilMode);
}
