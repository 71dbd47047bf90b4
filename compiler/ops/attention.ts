/**
 * Op family 'attention': ONNX Attention (opset 23 and 24), scaled dot-product attention with grouped
 * KV heads, a KV cache, masks, causal masking and softcap.
 *
 * Algorithm (the ONNX reference order; everything in f32, f64 for f64 inputs, rounded once at the end):
 *   1. 3-D inputs [B, S, heads·D] are split into heads: reshape [B, S, H, D], transpose to [B, H, S, D]
 *      (q_num_heads / kv_num_heads give H); 4-D inputs are already [B, H, S, D].
 *   2. KV cache: present_key = concat(past_key, K) along the sequence axis, the same for V; T (the
 *      total sequence length) is the length of present_key.
 *   3. scores = scale · Q·Kᵀ ([B, Hq, Sq, T]; scale defaults to 1/√D). Grouped heads (Hq = g·Hkv):
 *      query head h reads KV head ⌊h/g⌋, so Q is viewed as [B, Hkv, g·Sq, D] and multiplied by each KV
 *      head once (the MatMul helper), with no copies of K or V.
 *   4. softcap > 0: scores = softcap · tanh(scores / softcap), before any mask so that -inf stays -inf.
 *   5. bias: attn_mask (bool: false → -inf; float: added) broadcast to [B, Hq, Sq, T], its last axis
 *      padded with -inf (false) up to T (opset 24); is_causal adds -inf where key j > i + offset, the
 *      offset being past_key's length, or nonpad_kv_seqlen[b] - Sq without a cache; nonpad_kv_seqlen
 *      masks keys j ≥ nonpad_kv_seqlen[b].
 *   6. probabilities = Softmax(scores + bias) over keys (the Softmax helper; a row with every key masked
 *      gets probabilities 0, so Y = 0 there rather than NaN); Y = probabilities·V, and
 *      for 3-D inputs back to [B, Sq, Hq·Dv].
 *   qk_matmul_output (output 3) is the scores after step 4 (modes 0 and 1, as onnx's reference), after
 *   step 5 (mode 2) or the probabilities (mode 3).
 */
import type { Dim, TensorType } from '../ir/graph.ts';
import type { DType } from '../ir/dtype.ts';
import { Tensor, readNumbers } from '../ir/tensor.ts';
import type { OpDef } from './registry.ts';
import { AttrError } from './registry.ts';
import { FLOAT_TYPES, broadcastDims, broadcastOffsets, expectDType, required } from './support.ts';
import { allocFloat, floatData, floatTensor, type FloatArray } from './float-io.ts';
import { matmul } from './matmul.ts';
import { softmax } from './softmax.ts';
import { transposeTensor } from './layout.ts';
import { fmtShape } from './movement.ts';

/** Attention attributes. */
export interface AttentionAttrs {
  /** Mask key j for query i when j > i + offset (bottom-right aligned with the cache). */
  readonly isCausal: boolean;
  /** Head counts, required for 3-D inputs (0 when absent). */
  readonly qNumHeads: number;
  readonly kvNumHeads: number;
  /** What output 3 holds: 0/1 the (softcapped) scores, 2 the scores plus bias, 3 the probabilities. */
  readonly qkMode: number;
  /** Score scale; undefined means 1/√head_size. */
  readonly scale?: number;
  /** tanh soft-capping of the scores (0 = off). */
  readonly softcap: number;
  /** ONNX dtype code of the softmax's precision (0 = the input's); kiln computes in f32 or f64 anyway. */
  readonly softmaxPrecision: number;
}

// float, float16, double, bfloat16: the precisions ONNX allows for softmax_precision
const SOFTMAX_PRECISIONS = [0, 1, 10, 11, 16];

const Attention: OpDef<AttentionAttrs> = {
  name: 'Attention',
  inputs: [3, 7],
  outputs: [1, 4],
  parseAttrs(r) {
    const isCausal = r.int('is_causal', 0);
    r.oneOf('is_causal', isCausal, [0, 1]);
    const qNumHeads = r.int('q_num_heads', 0), kvNumHeads = r.int('kv_num_heads', 0);
    for (const [n, v] of [['q_num_heads', qNumHeads], ['kv_num_heads', kvNumHeads]] as const) {
      if (v < 0) throw new AttrError(n, `${n} must be positive, got ${v}`);
    }
    const qkMode = r.oneOf('qk_matmul_output_mode', r.int('qk_matmul_output_mode', 0), [0, 1, 2, 3]);
    const scale = r.has('scale') ? r.float('scale') : undefined;
    const softcap = r.float('softcap', 0);
    if (softcap < 0) throw new AttrError('softcap', `softcap must be >= 0, got ${softcap}`);
    const softmaxPrecision = r.oneOf('softmax_precision', r.int('softmax_precision', 0), SOFTMAX_PRECISIONS);
    return { isCausal: isCausal === 1, qNumHeads, kvNumHeads, qkMode, scale, softcap, softmaxPrecision };
  },
  inferTypes(inputs, a, _ctx, outputCount) {
    const q = required(inputs, 0, 'Q'), k = required(inputs, 1, 'K'), v = required(inputs, 2, 'V');
    expectDType(q.dtype, FLOAT_TYPES, 'Q');
    expectDType(k.dtype, FLOAT_TYPES, 'K');
    if (v.dtype !== k.dtype) throw new Error(`V has dtype ${v.dtype}; K has ${k.dtype}`);
    const g = geometry(q.shape, k.shape, v.shape, a);
    const [pk, pv] = [inputs[4], inputs[5]];
    if (!!pk !== !!pv) throw new Error('past_key and past_value must be given together');
    let total: Dim = g.kvSeq;
    if (pk && pv) {
      for (const [name, p, d] of [['past_key', pk, g.headSize], ['past_value', pv, g.vHeadSize]] as const) {
        if (p.shape.length !== 4 || !same(p.shape[0], g.batch) || !same(p.shape[1], g.kvHeads) || !same(p.shape[3], d)) {
          throw new Error(`${name} ${fmtShape(p.shape)} must be [batch ${g.batch}, kv heads ${g.kvHeads}, past, ${d}]`);
        }
        if (p.dtype !== k.dtype) throw new Error(`${name} has dtype ${p.dtype}; K has ${k.dtype}`);
      }
      total = typeof pk.shape[2] === 'number' && typeof g.kvSeq === 'number' ? pk.shape[2] + g.kvSeq : `${pk.shape[2]}+${g.kvSeq}`;
    }
    const mask = inputs[3];
    if (mask) {
      if (mask.dtype !== 'bool') expectDType(mask.dtype, FLOAT_TYPES, 'attn_mask');
      if (mask.shape.length < 2 || mask.shape.length > 4) throw new Error(`attn_mask ${fmtShape(mask.shape)} must have rank 2 to 4`);
      const lead = mask.shape.slice(0, -1);
      broadcastDims([g.batch, g.qHeads, g.qSeq], lead);
    }
    if (inputs[6] && inputs[6].dtype !== 'i64') throw new Error(`nonpad_kv_seqlen has dtype ${inputs[6].dtype}; expected i64`);
    const y: Dim[] = q.shape.length === 3 ? [g.batch, g.qSeq, mulDim(g.qHeads, g.vHeadSize)] : [g.batch, g.qHeads, g.qSeq, g.vHeadSize];
    const out: TensorType[] = [{ dtype: q.dtype, shape: y },
      { dtype: k.dtype, shape: [g.batch, g.kvHeads, total, g.headSize] },
      { dtype: k.dtype, shape: [g.batch, g.kvHeads, total, g.vHeadSize] },
      { dtype: q.dtype, shape: [g.batch, g.qHeads, g.qSeq, total] }];
    return out.slice(0, Math.max(1, outputCount));
  },
  run(inputs, a, outputCount) {
    const [q, k, v, mask, pastK, pastV, nonpad] = inputs;
    const g = geometry(q!.shape, k!.shape, v!.shape, a) as Geometry<number>;
    const w: DType = q!.dtype === 'f64' ? 'f64' : 'f32';
    const q4 = heads(q!, w, g.qHeads), k4 = cache(pastK, heads(k!, w, g.kvHeads), w), v4 = cache(pastV, heads(v!, w, g.kvHeads), w);
    const { batch: B, qHeads: Hq, kvHeads: Hkv, qSeq: S, headSize: D, vHeadSize: Dv } = g;
    const T = k4.shape[2], group = Hq / Hkv;
    // grouped heads: query heads h·g .. h·g+g-1 share KV head h, so Q is [B, Hkv, g·S, D]
    const scores = floatData(matmul(q4.reshape([B, Hkv, group * S, D]), transposeTensor(k4, [0, 1, 3, 2])));
    const scale = a.scale ?? 1 / Math.sqrt(D);
    for (let i = 0; i < scores.length; i++) {
      const s = scores[i] * scale;
      scores[i] = a.softcap > 0 ? a.softcap * Math.tanh(s / a.softcap) : s;
    }
    const shape4 = [B, Hq, S, T];
    const qk = a.qkMode <= 1 && outputCount > 3 ? scores.slice() : undefined;
    addBias(scores, shape4, mask, a.isCausal, pastK ? pastK.shape[2] : undefined, nonpad);
    const probs = softmax(floatTensor(w, shape4, scores), -1, false);
    zeroMaskedRows(scores, floatData(probs), T);
    const y4 = matmul(probs.reshape([B, Hkv, group * S, T]), v4).reshape([B, Hq, S, Dv]);
    const y = q!.shape.length === 3 ? transposeTensor(y4, [0, 2, 1, 3]).reshape([B, S, Hq * Dv]) : y4;
    const qkOut = a.qkMode === 3 ? floatData(probs) : a.qkMode === 2 ? scores : qk;
    const outs = [cast(y, q!.dtype), cast(k4, k!.dtype), cast(v4, v!.dtype),
      floatTensor(q!.dtype, shape4, qkOut ?? scores)];
    return outs.slice(0, Math.max(1, outputCount));
  },
};

/** The sizes of one Attention node (symbolic in the shape rule, numbers in the kernel). */
interface Geometry<D = Dim> {
  batch: D; qHeads: D; kvHeads: D; qSeq: D; kvSeq: D; headSize: D; vHeadSize: D;
}

/** Reads and checks the head layout of Q, K, V (3-D [B, S, H·D] with the head counts, or 4-D). */
function geometry(q: readonly Dim[], k: readonly Dim[], v: readonly Dim[], a: AttentionAttrs): Geometry {
  if ((q.length !== 3 && q.length !== 4) || k.length !== q.length || v.length !== q.length) {
    throw new Error(`Q ${fmtShape(q)}, K ${fmtShape(k)} and V ${fmtShape(v)} must all be 3-D or all 4-D`);
  }
  let g: Geometry;
  if (q.length === 3) {
    if (!a.qNumHeads) throw new AttrError('q_num_heads', 'q_num_heads is required for 3-D inputs');
    if (!a.kvNumHeads) throw new AttrError('kv_num_heads', 'kv_num_heads is required for 3-D inputs');
    const split = (d: Dim, h: number, name: string, attr: string): Dim => {
      if (typeof d !== 'number') return `${d}/${h}`;
      if (d % h !== 0) throw new AttrError(attr, `${name} hidden size ${d} is not divisible by ${attr} = ${h}`);
      return d / h;
    };
    g = { batch: q[0], qHeads: a.qNumHeads, kvHeads: a.kvNumHeads, qSeq: q[1], kvSeq: k[1],
      headSize: split(q[2], a.qNumHeads, 'Q', 'q_num_heads'), vHeadSize: split(v[2], a.kvNumHeads, 'V', 'kv_num_heads') };
    const kd = split(k[2], a.kvNumHeads, 'K', 'kv_num_heads');
    if (!same(kd, g.headSize)) throw new Error(`K head size ${kd} differs from Q head size ${g.headSize}`);
  } else {
    g = { batch: q[0], qHeads: q[1], kvHeads: k[1], qSeq: q[2], kvSeq: k[2], headSize: q[3], vHeadSize: v[3] };
    if (!same(k[3], q[3])) throw new Error(`K head size ${k[3]} differs from Q head size ${q[3]}`);
    for (const [attr, n, d] of [['q_num_heads', a.qNumHeads, q[1]], ['kv_num_heads', a.kvNumHeads, k[1]]] as const) {
      if (n && typeof d === 'number' && n !== d) throw new AttrError(attr, `${attr} = ${n} but the 4-D input has ${d} heads`);
    }
  }
  if (!same(k[0], q[0]) || !same(v[0], q[0])) throw new Error(`Q, K and V batch sizes differ: ${fmtShape(q)}, ${fmtShape(k)}, ${fmtShape(v)}`);
  if (!same(v[v.length - 2], k[k.length - 2]) || !same(v[1], k[1])) throw new Error(`K ${fmtShape(k)} and V ${fmtShape(v)} disagree on heads or sequence`);
  if (typeof g.qHeads === 'number' && typeof g.kvHeads === 'number' && g.qHeads % g.kvHeads !== 0) {
    throw new AttrError(a.kvNumHeads ? 'kv_num_heads' : 'q_num_heads', `q heads ${g.qHeads} must be a multiple of kv heads ${g.kvHeads}`);
  }
  return g;
}

function same(a: Dim, b: Dim): boolean {
  return a === b || typeof a !== 'number' || typeof b !== 'number';
}

function mulDim(a: Dim, b: Dim): Dim {
  return typeof a === 'number' && typeof b === 'number' ? a * b : `${a}*${b}`;
}

/** Input as a [B, H, S, D] tensor of the working dtype `w`. */
function heads(x: Tensor, w: DType, h: number): Tensor {
  const t = floatTensor(w, x.shape, floatData(x));
  if (x.shape.length === 4) return t;
  const [b, s, hidden] = x.shape;
  return transposeTensor(t.reshape([b, s, h, hidden / h]), [0, 2, 1, 3]);
}

/** concat(past, x) along axis 2 of [B, H, S, D] tensors (x itself without a past). */
function cache(past: Tensor | undefined, x: Tensor, w: DType): Tensor {
  if (!past) return x;
  const [b, h, p, d] = past.shape, s = x.shape[2];
  const ps = floatData(past), xs = floatData(x), out = allocFloat(w, b * h * (p + s) * d);
  for (let i = 0; i < b * h; i++) {
    out.set(ps.subarray(i * p * d, (i + 1) * p * d), i * (p + s) * d);
    out.set(xs.subarray(i * s * d, (i + 1) * s * d), (i * (p + s) + p) * d);
  }
  return floatTensor(w, [b, h, p + s, d], out);
}

/** Adds the mask, causal and padding biases to scores [B, Hq, S, T] in place. */
function addBias(scores: FloatArray, shape: readonly number[], mask: Tensor | undefined, causal: boolean,
  past: number | undefined, nonpad: Tensor | undefined): void {
  const [B, H, S, T] = shape;
  const lens = nonpad ? Array.from(readNumbers(nonpad)) : undefined;
  let maskAt: ((row: number, j: number) => number) | undefined;
  if (mask) {
    // broadcast every axis but the last, which is padded with "masked" up to T
    const m = mask.shape[mask.shape.length - 1];
    const rows = broadcastOffsets([B, H, S, m], mask.shape);
    const vals = readNumbers(mask), isBool = mask.dtype === 'bool';
    maskAt = (row, j) => {
      if (j >= m) return -Infinity;
      const x = vals[rows ? rows[row * m + j] : row * m + j];
      return isBool ? (x ? 0 : -Infinity) : x;
    };
  }
  for (let b = 0; b < B; b++) {
    const offset = past ?? (lens ? lens[b] - S : 0);
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < S; i++) {
        const row = (b * H + h) * S + i;
        for (let j = 0; j < T; j++) {
          let bias = maskAt ? maskAt(row, j) : 0;
          if (causal && j > i + offset) bias = -Infinity;
          if (lens && j >= lens[b]) bias = -Infinity;
          scores[row * T + j] += bias;
        }
      }
    }
  }
}

/** A row whose every key is masked (all -inf) attends to nothing: its probabilities are 0, not NaN. */
function zeroMaskedRows(scores: FloatArray, probs: FloatArray, T: number): void {
  for (let r = 0; r * T < scores.length; r++) {
    let all = true;
    for (let j = 0; j < T && all; j++) all = scores[r * T + j] === -Infinity;
    if (all) probs.fill(0, r * T, (r + 1) * T);
  }
}

function cast(t: Tensor, dtype: DType): Tensor {
  return t.dtype === dtype ? t : floatTensor(dtype, t.shape, floatData(t));
}

export const attentionOps: OpDef<any>[] = [Attention];
