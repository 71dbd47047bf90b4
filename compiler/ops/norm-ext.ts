/**
 * Op family 'norm-ext': the normalisations beyond norm.ts — LRN, LpNormalization,
 * MeanVarianceNormalization, GroupNormalization and RMSNormalization (newest forms: LRN-13,
 * LpNormalization-22, MeanVarianceNormalization-13, GroupNormalization-21, RMSNormalization-23).
 *
 * Algorithms (statistics in f64, data read once as f32/f64 through float-io.ts):
 *   LRN:        across channels of (N, C, ...): for channel c the window is the channels
 *               [c - floor((size-1)/2), c + ceil((size-1)/2)] clipped to [0, C), and
 *               y = x / (bias + alpha/size · Σ_window x²)^beta.
 *   LpNormalization: along `axis` (the tensor viewed as [outer, n, inner], as in softmax.ts):
 *               y = x / ‖x‖_p with p 1 (Σ|x|) or 2 (sqrt Σx²); a zero norm gives 0 (onnxruntime).
 *   MeanVarianceNormalization: over `axes` (default [0, 2, 3]) the ONNX function body
 *               y = (x - E[x]) / (sqrt(E[x²] - E[x]²) + 1e-9); the variance is computed as the mean
 *               of squared deviations (the same value, without cancellation). Each element finds its
 *               statistics slot through a broadcast index map (support.ts broadcastOffsets).
 *   GroupNormalization: (N, C, ...) viewed as N·G contiguous groups of C/G channels; per group
 *               mean and biased variance, y = (x - mean) / sqrt(var + eps) · scale[c] + B[c]. scale and
 *               B are per channel ([C], opset 21) or, from opset 18 models, per group ([G]); the size
 *               tells which (both forms agree when G = C).
 *   RMSNormalization: for each row of the trailing dims [axis, rank):
 *               y = x / sqrt(mean(x²) + eps) · scale, scale broadcast to the row shape (as
 *               LayerNormalization; stash_type is accepted, the math is f64 whatever it says).
 */
import type { Dim } from '../ir/graph.ts';
import type { Tensor } from '../ir/tensor.ts';
import type { OpDef } from './registry.ts';
import { elems, perInputElement, times } from './flops.ts';
import { AttrError } from './registry.ts';
import { FLOAT_TYPES, broadcastOffsets, expectDType, normalizeAxis, required } from './support.ts';
import { normalizeAxes } from './movement.ts';
import { allocFloat, floatData, floatTensor } from './float-io.ts';
import { channels, checkPerChannel, checkRowBroadcast, readStash } from './norm.ts';

/** LRN attributes. */
export interface LrnAttrs {
  readonly alpha: number;
  readonly beta: number;
  readonly bias: number;
  /** Number of channels summed over (required, >= 1). */
  readonly size: number;
}

const LRN: OpDef<LrnAttrs> = {
  name: 'LRN',
  inputs: [1, 1],
  outputs: [1, 1],
  flops: (inputs, _outs, a) => times(a.size + 4, elems(inputs[0]?.shape)),
  parseAttrs(r) {
    const size = r.int('size');
    if (!(size >= 1)) throw new AttrError('size', `must be >= 1, got ${size}`);
    return { alpha: r.float('alpha', 1e-4), beta: r.float('beta', 0.75), bias: r.float('bias', 1), size };
  },
  inferTypes(inputs) {
    const x = required(inputs, 0, 'X');
    expectDType(x.dtype, FLOAT_TYPES, 'X');
    channels(x.shape, 'LRN');
    return [{ dtype: x.dtype, shape: x.shape }];
  },
  run(inputs, a) {
    const x = inputs[0]!;
    const [n, c] = x.shape;
    const inner = n * c === 0 ? 0 : x.size / (n * c);
    const before = Math.floor((a.size - 1) / 2), after = Math.ceil((a.size - 1) / 2);
    const k = a.alpha / a.size;
    const xs = floatData(x);
    const y = allocFloat(x.dtype, x.size);
    const sq = new Float64Array(c);
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < inner; i++) {
        const base = b * c * inner + i;
        for (let ci = 0; ci < c; ci++) sq[ci] = xs[base + ci * inner] ** 2;
        for (let ci = 0; ci < c; ci++) {
          let s = 0;
          for (let j = Math.max(0, ci - before); j <= Math.min(c - 1, ci + after); j++) s += sq[j];
          y[base + ci * inner] = xs[base + ci * inner] / (a.bias + k * s) ** a.beta;
        }
      }
    }
    return [floatTensor(x.dtype, x.shape, y)];
  },
};

/** LpNormalization attributes. */
export interface LpNormAttrs {
  readonly axis: number;
  /** The norm: 1 or 2. */
  readonly p: number;
}

const LpNormalization: OpDef<LpNormAttrs> = {
  name: 'LpNormalization',
  inputs: [1, 1],
  outputs: [1, 1],
  flops: perInputElement(3),
  parseAttrs(r) {
    const p = r.int('p', 2);
    if (p !== 1 && p !== 2) throw new AttrError('p', `must be 1 or 2, got ${p}`);
    return { axis: r.int('axis', -1), p };
  },
  inferTypes(inputs, a) {
    const x = required(inputs, 0, 'input');
    expectDType(x.dtype, FLOAT_TYPES, 'input');
    normalizeAxis(a.axis, x.shape.length);
    return [{ dtype: x.dtype, shape: x.shape }];
  },
  run(inputs, a) {
    const x = inputs[0]!;
    const ax = normalizeAxis(a.axis, x.shape.length);
    const n = x.shape[ax];
    let inner = 1;
    for (let i = ax + 1; i < x.shape.length; i++) inner *= x.shape[i];
    const outer = n * inner === 0 ? 0 : x.size / (n * inner);
    const xs = floatData(x);
    const y = allocFloat(x.dtype, x.size);
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < inner; j++) {
        const base = o * n * inner + j;
        let s = 0;
        for (let i = 0; i < n; i++) { const v = xs[base + i * inner]; s += a.p === 1 ? Math.abs(v) : v * v; }
        const norm = a.p === 1 ? s : Math.sqrt(s);
        const inv = norm === 0 ? 0 : 1 / norm;
        for (let i = 0; i < n; i++) y[base + i * inner] = xs[base + i * inner] * inv;
      }
    }
    return [floatTensor(x.dtype, x.shape, y)];
  },
};

const MeanVarianceNormalization: OpDef<{ axes: readonly number[] }> = {
  name: 'MeanVarianceNormalization',
  inputs: [1, 1],
  outputs: [1, 1],
  flops: perInputElement(5),
  parseAttrs: (r) => ({ axes: r.ints('axes', [0, 2, 3]) }),
  inferTypes(inputs, a) {
    const x = required(inputs, 0, 'X');
    expectDType(x.dtype, FLOAT_TYPES, 'X');
    normalizeAxes(a.axes, x.shape.length);
    return [{ dtype: x.dtype, shape: x.shape }];
  },
  run(inputs, a) {
    const x = inputs[0]!;
    const axes = normalizeAxes(a.axes, x.shape.length);
    // the statistics' shape: x's with every normalised axis kept as 1
    const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    let groups = 1;
    for (const d of kept) groups *= d;
    const slot = broadcastOffsets(x.shape, kept);
    const at = (i: number) => (slot ? slot[i] : i);
    const count = groups === 0 ? 0 : x.size / groups;
    const xs = floatData(x);
    const mean = new Float64Array(groups), sq = new Float64Array(groups);
    for (let i = 0; i < x.size; i++) mean[at(i)] += xs[i];
    for (let g = 0; g < groups; g++) mean[g] /= count;
    for (let i = 0; i < x.size; i++) sq[at(i)] += (xs[i] - mean[at(i)]) ** 2;
    for (let g = 0; g < groups; g++) sq[g] = 1 / (Math.sqrt(sq[g] / count) + 1e-9);
    const y = allocFloat(x.dtype, x.size);
    for (let i = 0; i < x.size; i++) y[i] = (xs[i] - mean[at(i)]) * sq[at(i)];
    return [floatTensor(x.dtype, x.shape, y)];
  },
};

/** GroupNormalization attributes. */
export interface GroupNormAttrs {
  readonly epsilon: number;
  /** G: the channels split into G groups of C/G (C must be a multiple of G). */
  readonly numGroups: number;
}

const GroupNormalization: OpDef<GroupNormAttrs> = {
  name: 'GroupNormalization',
  inputs: [3, 3],
  outputs: [1, 1],
  flops: perInputElement(5),
  parseAttrs(r) {
    const numGroups = r.int('num_groups');
    if (!(numGroups >= 1)) throw new AttrError('num_groups', `must be >= 1, got ${numGroups}`);
    readStash(r);
    return { epsilon: r.float('epsilon', 1e-5), numGroups };
  },
  inferTypes(inputs, a) {
    const x = required(inputs, 0, 'X');
    expectDType(x.dtype, FLOAT_TYPES, 'X');
    const c = channels(x.shape, 'GroupNormalization');
    if (typeof c === 'number' && c % a.numGroups !== 0) {
      throw new Error(`GroupNormalization: num_groups ${a.numGroups} does not divide the ${c} channels of X [${x.shape.join(',')}]`);
    }
    for (const [i, name] of [[1, 'scale'], [2, 'bias']] as const) {
      const t = inputs[i];
      // opset 18's per-group form: [num_groups]
      const perGroup = t?.shape.length === 1 && t.shape[0] === a.numGroups && c !== a.numGroups;
      if (!perGroup) checkPerChannel('GroupNormalization', name, t, c);
      expectDType(t!.dtype, FLOAT_TYPES, name);
    }
    return [{ dtype: x.dtype, shape: x.shape }];
  },
  run(inputs, a) {
    const [x, scale, bias] = inputs as Tensor[];
    const [n, c] = x.shape;
    const g = a.numGroups, per = c / g;
    if (!Number.isInteger(per)) throw new Error(`GroupNormalization: num_groups ${g} does not divide the ${c} channels of X`);
    const inner = n * c === 0 ? 0 : x.size / (n * c);
    const size = per * inner;
    const perChannel = scale.size === c;
    const xs = floatData(x), s = floatData(scale), b = floatData(bias);
    const y = allocFloat(x.dtype, x.size);
    for (let p = 0; p < n * g; p++) {
      const o = p * size, gi = p % g;
      let sum = 0;
      for (let i = 0; i < size; i++) sum += xs[o + i];
      const mean = sum / size;
      let sq = 0;
      for (let i = 0; i < size; i++) { const d = xs[o + i] - mean; sq += d * d; }
      const inv = 1 / Math.sqrt(sq / size + a.epsilon);
      for (let k = 0; k < per; k++) {
        const ci = perChannel ? gi * per + k : gi;
        const mul = s[ci] * inv, add = b[ci] - mean * mul, q = o + k * inner;
        for (let i = 0; i < inner; i++) y[q + i] = xs[q + i] * mul + add;
      }
    }
    return [floatTensor(x.dtype, x.shape, y)];
  },
};

/** RMSNormalization attributes. */
export interface RmsNormAttrs {
  readonly axis: number;
  readonly epsilon: number;
}

/** The normalised row of X: the dims from `axis` on. */
function rowOf(shape: readonly Dim[], axis: number): Dim[] {
  return shape.slice(normalizeAxis(axis, shape.length));
}

const RMSNormalization: OpDef<RmsNormAttrs> = {
  name: 'RMSNormalization',
  inputs: [2, 2],
  outputs: [1, 1],
  flops: perInputElement(4),
  parseAttrs(r) {
    readStash(r);
    return { axis: r.int('axis', -1), epsilon: r.float('epsilon', 1e-5) };
  },
  inferTypes(inputs, a) {
    const x = required(inputs, 0, 'X'), scale = required(inputs, 1, 'scale');
    expectDType(x.dtype, FLOAT_TYPES, 'X');
    expectDType(scale.dtype, FLOAT_TYPES, 'scale');
    checkRowBroadcast('RMSNormalization', 'scale', scale, rowOf(x.shape, a.axis));
    return [{ dtype: x.dtype, shape: x.shape }];
  },
  run(inputs, a) {
    const x = inputs[0]!, scale = inputs[1]!;
    const row = rowOf(x.shape, a.axis) as number[];
    let inner = 1;
    for (const d of row) inner *= d;
    const outer = inner === 0 ? 0 : x.size / inner;
    const sMap = broadcastOffsets(row, scale.shape);
    const xs = floatData(x), s = floatData(scale);
    const y = allocFloat(x.dtype, x.size);
    for (let r = 0; r < outer; r++) {
      const o = r * inner;
      let sq = 0;
      for (let i = 0; i < inner; i++) sq += xs[o + i] * xs[o + i];
      const inv = 1 / Math.sqrt(sq / inner + a.epsilon);
      for (let i = 0; i < inner; i++) y[o + i] = xs[o + i] * inv * s[sMap ? sMap[i] : i];
    }
    return [floatTensor(x.dtype, x.shape, y)];
  },
};

export const normExtOps: OpDef<any>[] = [LRN, LpNormalization, MeanVarianceNormalization, GroupNormalization, RMSNormalization];
