/**
 * Op family 'norm': BatchNormalization (inference form), LayerNormalization (with optional Mean and
 * InvStdDev outputs), InstanceNormalization.
 *
 * Algorithms (all statistics in f64, data read once as f32/f64, see float-io.ts):
 *   BatchNormalization:  y = (x - mean[c]) / sqrt(var[c] + eps) · scale[c] + B[c], folded into one
 *                        multiply-add per element (a[c] = scale/sqrt(var+eps), b[c] = B - mean·a).
 *                        Training mode (training_mode=1) normalises with the batch statistics
 *                        (population mean/variance over every axis but C) and, when asked, also
 *                        returns running_mean = mean·momentum + batch_mean·(1-momentum) and the same
 *                        for the variance (the ONNX definition; deterministic, unlike Dropout).
 *   LayerNormalization:  for each row of the trailing dims [axis, rank): mean, biased variance,
 *                        y = (x - mean) · invStd · scale + B, scale/B broadcast to the row shape.
 *   InstanceNormalization: the same per (n, c) over the spatial dims, with per-channel scale/B.
 */
import type { DType } from '../ir/dtype.ts';
import type { Dim } from '../ir/graph.ts';
import type { Tensor } from '../ir/tensor.ts';
import type { OpDef } from './registry.ts';
import { perInputElement } from './flops.ts';
import { AttrError, type AttrReader } from './registry.ts';
import { FLOAT_TYPES, broadcastOffsets, expectDType, normalizeAxis, required } from './support.ts';
import { allocFloat, floatData, floatTensor } from './float-io.ts';

/** The channel dim (axis 1) of an (N, C, ...) input; throws naming `op` below rank 2. */
export function channels(x: readonly Dim[], op: string): Dim {
  if (x.length < 2) throw new Error(`${op}: X must have rank >= 2 (N, C, ...), got [${x.join(',')}]`);
  return x[1];
}

/** Throws unless input `name` is present and 1-D of size `c` (symbolic sizes pass). */
export function checkPerChannel(op: string, name: string, t: { shape: readonly Dim[] } | undefined, c: Dim): void {
  if (!t) throw new Error(`${op}: input ${name} is required`);
  if (t.shape.length !== 1 || (typeof t.shape[0] === 'number' && typeof c === 'number' && t.shape[0] !== c)) {
    throw new Error(`${op}: ${name} [${t.shape.join(',')}] must be 1-D of size C = ${c}`);
  }
}

/** BatchNormalization attributes. */
export interface BatchNormAttrs {
  readonly epsilon: number;
  /** training_mode=1: normalise with batch statistics and update the running ones. */
  readonly training: boolean;
  /** Weight of the old running statistics in training mode. */
  readonly momentum: number;
}

const BatchNormalization: OpDef<BatchNormAttrs> = {
  name: 'BatchNormalization',
  inputs: [5, 5],
  flops: perInputElement(2),
  outputs: [1, 3],
  parseAttrs: (r) => ({ epsilon: r.float('epsilon', 1e-5), training: r.int('training_mode', 0) !== 0, momentum: r.float('momentum', 0.9) }),
  inferTypes(inputs, a, _ctx, outputCount) {
    const x = required(inputs, 0, 'X');
    expectDType(x.dtype, FLOAT_TYPES, 'X');
    if (outputCount > 1 && !a.training) {
      throw new Error('BatchNormalization: running_mean/running_var outputs exist only with training_mode=1');
    }
    const c = channels(x.shape, 'BatchNormalization');
    ['scale', 'B', 'input_mean', 'input_var'].forEach((name, i) => {
      checkPerChannel('BatchNormalization', name, inputs[i + 1], c);
      expectDType(inputs[i + 1]!.dtype, FLOAT_TYPES, name);
    });
    const out = [{ dtype: x.dtype, shape: x.shape }];
    for (let i = 1; i < outputCount; i++) out.push({ dtype: inputs[3]!.dtype, shape: [c] });
    return out;
  },
  run(inputs, a, outputCount) {
    const [x, scale, bias, mean, variance] = inputs as Tensor[];
    const [n, c] = x.shape;
    const inner = x.size / Math.max(1, n * c);
    const s = floatData(scale), b = floatData(bias);
    let m = floatData(mean), v = floatData(variance);
    const running: Tensor[] = [];
    if (a.training) {
      const stats = batchStatistics(floatData(x), n, c, inner);
      const rm = allocFloat(mean.dtype, c), rv = allocFloat(variance.dtype, c);
      for (let ci = 0; ci < c; ci++) {
        rm[ci] = m[ci] * a.momentum + stats.mean[ci] * (1 - a.momentum);
        rv[ci] = v[ci] * a.momentum + stats.variance[ci] * (1 - a.momentum);
      }
      running.push(floatTensor(mean.dtype, [c], rm), floatTensor(variance.dtype, [c], rv));
      m = stats.mean;
      v = stats.variance;
    }
    const mul = new Float64Array(c), add = new Float64Array(c);
    for (let ci = 0; ci < c; ci++) {
      mul[ci] = s[ci] / Math.sqrt(v[ci] + a.epsilon);
      add[ci] = b[ci] - m[ci] * mul[ci];
    }
    const xs = floatData(x);
    const y = allocFloat(x.dtype, x.size);
    for (let p = 0; p < n * c; p++) {
      const ci = p % c, k = mul[ci], d = add[ci], o = p * inner;
      for (let i = 0; i < inner; i++) y[o + i] = xs[o + i] * k + d;
    }
    return [floatTensor(x.dtype, x.shape, y), ...running].slice(0, Math.max(1, outputCount));
  },
};

/** Per-channel population mean and variance of an (N, C, inner) tensor, in f64. */
function batchStatistics(xs: ArrayLike<number>, n: number, c: number, inner: number): { mean: Float64Array; variance: Float64Array } {
  const mean = new Float64Array(c), variance = new Float64Array(c);
  const count = n * inner;
  for (let p = 0; p < n * c; p++) {
    const ci = p % c, o = p * inner;
    for (let i = 0; i < inner; i++) mean[ci] += xs[o + i];
  }
  for (let ci = 0; ci < c; ci++) mean[ci] /= Math.max(1, count);
  for (let p = 0; p < n * c; p++) {
    const ci = p % c, o = p * inner, mu = mean[ci];
    for (let i = 0; i < inner; i++) variance[ci] += (xs[o + i] - mu) ** 2;
  }
  for (let ci = 0; ci < c; ci++) variance[ci] /= Math.max(1, count);
  return { mean, variance };
}

/** LayerNormalization attributes. */
export interface LayerNormAttrs {
  readonly axis: number;
  readonly epsilon: number;
  /** dtype of the Mean / InvStdDev outputs (from stash_type). */
  readonly stash: DType;
}

const STASH: Record<number, DType> = { 1: 'f32', 10: 'f16', 11: 'f64', 16: 'bf16' };

/** Reads `stash_type` (default 1, f32) as a dtype; an AttrError for any code but 1, 10, 11, 16. */
export function readStash(r: AttrReader): DType {
  const st = r.int('stash_type', 1);
  const stash = STASH[st];
  if (!stash) throw new AttrError('stash_type', `must be a float type code (1, 10, 11, 16), got ${st}`);
  return stash;
}

/**
 * Throws unless an optional per-row parameter (`name`, of shape t) broadcasts numpy-style to the
 * normalized row shape `row` (the trailing dims from the axis on); symbolic dims pass.
 */
export function checkRowBroadcast(op: string, name: string, t: { shape: readonly Dim[] } | undefined, row: readonly Dim[]): void {
  if (!t) return;
  if (t.shape.length > row.length || t.shape.some((d, i) => {
    const r = row[row.length - t.shape.length + i];
    return typeof d === 'number' && d !== 1 && typeof r === 'number' && d !== r;
  })) {
    throw new Error(`${op}: ${name} [${t.shape.join(',')}] does not broadcast to the normalized shape [${row.join(',')}]`);
  }
}

const LayerNormalization: OpDef<LayerNormAttrs> = {
  name: 'LayerNormalization',
  inputs: [2, 3],
  flops: perInputElement(5),
  outputs: [1, 3],
  parseAttrs(r) {
    const stash = readStash(r);
    return { axis: r.int('axis', -1), epsilon: r.float('epsilon', 1e-5), stash };
  },
  inferTypes(inputs, a, _ctx, outputCount) {
    const x = required(inputs, 0, 'X'), scale = required(inputs, 1, 'Scale');
    expectDType(x.dtype, FLOAT_TYPES, 'X');
    const rank = x.shape.length;
    const axis = normalizeAxis(a.axis, rank);
    const row = x.shape.slice(axis);
    checkRowBroadcast('LayerNormalization', 'Scale', scale, row);
    checkRowBroadcast('LayerNormalization', 'B', inputs[2], row);
    const statShape = [...x.shape.slice(0, axis), ...row.map(() => 1)];
    const out = [{ dtype: x.dtype, shape: x.shape }];
    for (let i = 1; i < outputCount; i++) out.push({ dtype: a.stash, shape: statShape });
    return out;
  },
  run(inputs, a, outputCount) {
    const x = inputs[0]!, scale = inputs[1]!, bias = inputs[2];
    const axis = normalizeAxis(a.axis, x.shape.length);
    const row = x.shape.slice(axis);
    let inner = 1;
    for (const d of row) inner *= d;
    const outer = inner === 0 ? 0 : x.size / inner;
    const sMap = broadcastOffsets(row, scale.shape), bMap = bias ? broadcastOffsets(row, bias.shape) : null;
    const xs = floatData(x), s = floatData(scale), b = bias ? floatData(bias) : undefined;
    const y = allocFloat(x.dtype, x.size);
    const means = new Float64Array(outer), invs = new Float64Array(outer);
    for (let r = 0; r < outer; r++) {
      const o = r * inner;
      let sum = 0;
      for (let i = 0; i < inner; i++) sum += xs[o + i];
      const mean = sum / inner;
      let sq = 0;
      for (let i = 0; i < inner; i++) { const d = xs[o + i] - mean; sq += d * d; }
      const inv = 1 / Math.sqrt(sq / inner + a.epsilon);
      means[r] = mean;
      invs[r] = inv;
      for (let i = 0; i < inner; i++) {
        const v = (xs[o + i] - mean) * inv * s[sMap ? sMap[i] : i];
        y[o + i] = b ? v + b[bMap ? bMap[i] : i] : v;
      }
    }
    const statShape = [...x.shape.slice(0, axis), ...row.map(() => 1)];
    const out = [floatTensor(x.dtype, x.shape, y)];
    if (outputCount > 1) out.push(floatTensor(a.stash, statShape, a.stash === 'f64' ? means : Float32Array.from(means)));
    if (outputCount > 2) out.push(floatTensor(a.stash, statShape, a.stash === 'f64' ? invs : Float32Array.from(invs)));
    return out;
  },
};

const InstanceNormalization: OpDef<{ epsilon: number }> = {
  name: 'InstanceNormalization',
  inputs: [3, 3],
  flops: perInputElement(5),
  outputs: [1, 1],
  parseAttrs: (r) => ({ epsilon: r.float('epsilon', 1e-5) }),
  inferTypes(inputs) {
    const x = required(inputs, 0, 'input');
    expectDType(x.dtype, FLOAT_TYPES, 'input');
    if (x.shape.length < 3) throw new Error(`InstanceNormalization: input must have rank >= 3 (N, C, spatial...), got [${x.shape.join(',')}]`);
    const c = x.shape[1];
    checkPerChannel('InstanceNormalization', 'scale', inputs[1], c);
    checkPerChannel('InstanceNormalization', 'B', inputs[2], c);
    return [{ dtype: x.dtype, shape: x.shape }];
  },
  run(inputs, a) {
    const [x, scale, bias] = inputs as Tensor[];
    const [n, c] = x.shape;
    const inner = n * c === 0 ? 0 : x.size / (n * c);
    const xs = floatData(x), s = floatData(scale), b = floatData(bias);
    const y = allocFloat(x.dtype, x.size);
    for (let p = 0; p < n * c; p++) {
      const o = p * inner, ci = p % c;
      let sum = 0;
      for (let i = 0; i < inner; i++) sum += xs[o + i];
      const mean = sum / inner;
      let sq = 0;
      for (let i = 0; i < inner; i++) { const d = xs[o + i] - mean; sq += d * d; }
      const k = s[ci] / Math.sqrt(sq / inner + a.epsilon), add = b[ci] - mean * k;
      for (let i = 0; i < inner; i++) y[o + i] = xs[o + i] * k + add;
    }
    return [floatTensor(x.dtype, x.shape, y)];
  },
};

export const normOps: OpDef<any>[] = [BatchNormalization, LayerNormalization, InstanceNormalization];
