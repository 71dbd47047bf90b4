/**
 * Op family 'linear-attention': the recurrent-state ops of opset 27 used by hybrid models (Gated DeltaNet,
 * Mamba): LinearAttention and CausalConvWithState. Both carry a state from one call to the next
 * (past_state in, present_state out), so a model can prefill T tokens and then decode one at a time.
 *
 * LinearAttention: query [B, T, Hq·dk], key [B, T, Hkv·dk], value [B, T, Hkv·dv] (heads packed in the
 * last axis), past_state [B, Hkv, dk, dv] (zeros when absent), decay g [B, T, Hkv·dk] (one gate per
 * key channel) or [B, T, Hkv] (one per head), beta [B, T, Hkv] or [B, T, 1]. Per batch item and KV
 * head, token by token (S is dk×dv, k ⊗ v the outer product):
 *   linear:       S = S + k ⊗ v
 *   gated:        S = exp(g)·S + k ⊗ v                     (exp(g) scales the rows of S)
 *   delta:        S = S + β · k ⊗ (v - Sᵀk)
 *   gated_delta:  S' = exp(g)·S; S = S' + β · k ⊗ (v - S'ᵀk)   (the default)
 * and every query head h of the KV head's group (h = j·g .. j·g+g-1 for Hq = g·Hkv) reads
 * o = scale · qᵀS, scale defaulting to 1/√dk. Output [B, T, Hq·dv] and present_state = the final S.
 *
 * CausalConvWithState: input [B, C, L], weight [C, 1, K] (depthwise), bias [C], past_state
 * [B, C, K-1] (zeros when absent). Per (b, c) the line x = concat(past_state, input) has L + K - 1
 * samples; output[t] = act(bias + Σ_k weight[k]·x[t + k]) with act none or silu/swish (v·sigmoid(v)),
 * and present_state = the last K - 1 samples of x.
 *
 * Everything computes in f32 (f64 for f64 tensors) and is rounded once when stored.
 */
import type { Dim } from '../ir/graph.ts';
import type { DType } from '../ir/dtype.ts';
import type { Tensor } from '../ir/tensor.ts';
import type { OpDef } from './registry.ts';
import { AttrError } from './registry.ts';
import { FLOAT_TYPES, expectDType, required } from './support.ts';
import { allocFloat, floatData, floatTensor, type FloatArray } from './float-io.ts';
import { fmtShape } from './movement.ts';

/** The LinearAttention recurrences (see the module header). */
export type UpdateRule = 'linear' | 'gated' | 'delta' | 'gated_delta';

/** LinearAttention attributes. */
export interface LinearAttentionAttrs {
  readonly qNumHeads: number;
  readonly kvNumHeads: number;
  readonly updateRule: UpdateRule;
  /** Output scale; undefined means 1/√dk. */
  readonly scale?: number;
}

const RULES: readonly UpdateRule[] = ['linear', 'gated', 'delta', 'gated_delta'];

function positiveInt(r: { int(n: string, d?: number): number }, name: string): number {
  const v = r.int(name);
  if (!Number.isInteger(v) || v <= 0) throw new AttrError(name, `${name} must be a positive integer, got ${v}`);
  return v;
}

/** Splits a packed [B, T, H·d] dim by H (symbolic dims stay symbolic). */
function headSize(d: Dim, h: number, what: string, attr: string): Dim {
  if (typeof d !== 'number') return `${d}/${h}`;
  if (d % h !== 0) throw new AttrError(attr, `${what} last dim ${d} is not divisible by ${attr} = ${h}`);
  return d / h;
}

function sameDim(a: Dim, b: Dim): boolean {
  return a === b || typeof a !== 'number' || typeof b !== 'number';
}

const LinearAttention: OpDef<LinearAttentionAttrs> = {
  name: 'LinearAttention',
  inputs: [3, 6],
  outputs: [1, 2],
  parseAttrs(r) {
    const qNumHeads = positiveInt(r, 'q_num_heads'), kvNumHeads = positiveInt(r, 'kv_num_heads');
    if (qNumHeads % kvNumHeads !== 0) {
      throw new AttrError('q_num_heads', `q_num_heads = ${qNumHeads} must be a multiple of kv_num_heads = ${kvNumHeads}`);
    }
    const updateRule = r.oneOf('update_rule', r.string('update_rule', 'gated_delta'), RULES) as UpdateRule;
    const scale = r.has('scale') ? r.float('scale') : undefined;
    return { qNumHeads, kvNumHeads, updateRule, scale };
  },
  inferTypes(inputs, a, _ctx, outputCount) {
    const q = required(inputs, 0, 'query'), k = required(inputs, 1, 'key'), v = required(inputs, 2, 'value');
    expectDType(q.dtype, FLOAT_TYPES, 'query');
    for (const [name, t] of [['query', q], ['key', k], ['value', v]] as const) {
      if (t.shape.length !== 3) throw new Error(`${name} ${fmtShape(t.shape)} must be 3-D [batch, sequence, heads·size]`);
      if (t.dtype !== q.dtype) throw new Error(`${name} has dtype ${t.dtype}; query has ${q.dtype}`);
    }
    const dk = headSize(q.shape[2], a.qNumHeads, 'query', 'q_num_heads');
    const kdk = headSize(k.shape[2], a.kvNumHeads, 'key', 'kv_num_heads');
    const dv = headSize(v.shape[2], a.kvNumHeads, 'value', 'kv_num_heads');
    if (!sameDim(dk, kdk)) throw new Error(`query head size ${dk} differs from key head size ${kdk}`);
    const [B, T] = q.shape;
    const state: Dim[] = [B, a.kvNumHeads, dk, dv];
    const past = inputs[3];
    if (past && (past.shape.length !== 4 || !past.shape.every((d, i) => sameDim(d, state[i])))) {
      throw new Error(`past_state ${fmtShape(past.shape)} must be ${fmtShape(state)}`);
    }
    const gated = a.updateRule === 'gated' || a.updateRule === 'gated_delta';
    const delta = a.updateRule === 'delta' || a.updateRule === 'gated_delta';
    if (gated && !inputs[4]) throw new Error(`update_rule '${a.updateRule}' needs the decay input`);
    if (delta && !inputs[5]) throw new Error(`update_rule '${a.updateRule}' needs the beta input`);
    const decay = inputs[4], beta = inputs[5];
    if (decay && (decay.shape.length !== 3 || !sameDim(decay.shape[2], a.kvNumHeads) && !sameDim(decay.shape[2], k.shape[2]))) {
      throw new Error(`decay ${fmtShape(decay.shape)} must be [batch, sequence, kv_num_heads] or [batch, sequence, kv_num_heads·dk]`);
    }
    if (beta && (beta.shape.length !== 3 || !sameDim(beta.shape[2], a.kvNumHeads) && beta.shape[2] !== 1)) {
      throw new Error(`beta ${fmtShape(beta.shape)} must be [batch, sequence, kv_num_heads] or [batch, sequence, 1]`);
    }
    const out = [{ dtype: q.dtype, shape: [B, T, mul(a.qNumHeads, dv)] }, { dtype: past?.dtype ?? q.dtype, shape: state }];
    return out.slice(0, Math.max(1, outputCount));
  },
  run(inputs, a, outputCount) {
    const [q, k, v, past, decay, beta] = inputs;
    const [B, T, qHidden] = q!.shape;
    const Hq = a.qNumHeads, Hkv = a.kvNumHeads, dk = qHidden / Hq, dv = v!.shape[2] / Hkv, group = Hq / Hkv;
    const w: DType = q!.dtype === 'f64' ? 'f64' : 'f32';
    const qs = floatData(q!), ks = floatData(k!), vs = floatData(v!);
    const gs = decay ? floatData(decay) : undefined, bs = beta ? floatData(beta) : undefined;
    const gPerChannel = decay ? decay.shape[2] === Hkv * dk && dk !== 1 : false;
    const bWidth = beta ? beta.shape[2] : 0;
    const S = allocFloat(w, B * Hkv * dk * dv);
    if (past) S.set(floatData(past));
    const y = allocFloat(w, B * T * Hq * dv);
    const gated = a.updateRule === 'gated' || a.updateRule === 'gated_delta';
    const delta = a.updateRule === 'delta' || a.updateRule === 'gated_delta';
    const scale = a.scale ?? 1 / Math.sqrt(dk);
    const u = new Float64Array(dv);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const bt = b * T + t;
        for (let j = 0; j < Hkv; j++) {
          const s0 = (b * Hkv + j) * dk * dv, k0 = bt * Hkv * dk + j * dk, v0 = bt * Hkv * dv + j * dv;
          if (gated) {
            for (let r = 0; r < dk; r++) {
              const e = Math.exp(gs![gPerChannel ? k0 + r : bt * Hkv + j]);
              for (let c = 0; c < dv; c++) S[s0 + r * dv + c] *= e;
            }
          }
          // u = v (additive rules) or β·(v - Sᵀk) (delta rules); then S += k ⊗ u
          for (let c = 0; c < dv; c++) u[c] = vs[v0 + c];
          if (delta) {
            const bv = bs![bt * bWidth + (bWidth === 1 ? 0 : j)];
            for (let c = 0; c < dv; c++) {
              let sk = 0;
              for (let r = 0; r < dk; r++) sk += S[s0 + r * dv + c] * ks[k0 + r];
              u[c] = bv * (u[c] - sk);
            }
          }
          for (let r = 0; r < dk; r++) {
            const kr = ks[k0 + r];
            for (let c = 0; c < dv; c++) S[s0 + r * dv + c] += kr * u[c];
          }
          for (let h = j * group; h < (j + 1) * group; h++) readOut(S, s0, qs, bt * Hq * dk + h * dk, y, (bt * Hq + h) * dv, dk, dv, scale);
        }
      }
    }
    const outs = [floatTensor(q!.dtype, [B, T, Hq * dv], y), floatTensor(past?.dtype ?? q!.dtype, [B, Hkv, dk, dv], S)];
    return outs.slice(0, Math.max(1, outputCount));
  },
};

/** y[y0 + c] = scale · Σ_r q[q0 + r] · S[s0 + r·dv + c]. */
function readOut(S: FloatArray, s0: number, q: FloatArray, q0: number, y: FloatArray, y0: number, dk: number, dv: number, scale: number): void {
  for (let c = 0; c < dv; c++) {
    let acc = 0;
    for (let r = 0; r < dk; r++) acc += q[q0 + r] * S[s0 + r * dv + c];
    y[y0 + c] = scale * acc;
  }
}

function mul(a: Dim, b: Dim): Dim {
  return typeof a === 'number' && typeof b === 'number' ? a * b : `${a}*${b}`;
}

/** CausalConvWithState attributes. */
export interface CausalConvAttrs {
  /** Fused activation: SiLU (alias swish) or none. */
  readonly silu: boolean;
}

const CausalConvWithState: OpDef<CausalConvAttrs> = {
  name: 'CausalConvWithState',
  inputs: [2, 4],
  outputs: [1, 2],
  parseAttrs: (r) => ({ silu: r.oneOf('activation', r.string('activation', 'none'), ['none', 'silu', 'swish']) !== 'none' }),
  inferTypes(inputs, _a, _ctx, outputCount) {
    const x = required(inputs, 0, 'input'), wt = required(inputs, 1, 'weight');
    expectDType(x.dtype, FLOAT_TYPES, 'input');
    if (x.shape.length !== 3) throw new Error(`input ${fmtShape(x.shape)} must be 3-D [batch, channels, length]`);
    const [B, C] = x.shape;
    if (wt.shape.length !== 3 || !sameDim(wt.shape[0], C) || wt.shape[1] !== 1) {
      throw new Error(`weight ${fmtShape(wt.shape)} must be [channels ${C}, 1, kernel]`);
    }
    const K = wt.shape[2];
    const stateLen: Dim = typeof K === 'number' ? K - 1 : `${K}-1`;
    const bias = inputs[2], past = inputs[3];
    if (bias && (bias.shape.length !== 1 || !sameDim(bias.shape[0], C))) throw new Error(`bias ${fmtShape(bias.shape)} must be [${C}]`);
    const state: Dim[] = [B, C, stateLen];
    if (past && (past.shape.length !== 3 || !past.shape.every((d, i) => sameDim(d, state[i])))) {
      throw new Error(`past_state ${fmtShape(past.shape)} must be ${fmtShape(state)}`);
    }
    for (const [name, t] of [['weight', wt], ['bias', bias], ['past_state', past]] as const) {
      if (t && t.dtype !== x.dtype) throw new Error(`${name} has dtype ${t.dtype}; input has ${x.dtype}`);
    }
    return [{ dtype: x.dtype, shape: x.shape }, { dtype: x.dtype, shape: state }].slice(0, Math.max(1, outputCount));
  },
  run(inputs, a, outputCount) {
    const [x, wt, bias, past] = inputs as (Tensor | undefined)[];
    const [B, C, L] = x!.shape, K = wt!.shape[2], P = K - 1;
    const w: DType = x!.dtype === 'f64' ? 'f64' : 'f32';
    const xs = floatData(x!), ws = floatData(wt!), bs = bias ? floatData(bias) : undefined, ps = past ? floatData(past) : undefined;
    const y = allocFloat(w, B * C * L), state = allocFloat(w, B * C * P);
    const line = new Float64Array(P + L);
    for (let bc = 0; bc < B * C; bc++) {
      const c = bc % C;
      line.fill(0, 0, P);
      if (ps) for (let i = 0; i < P; i++) line[i] = ps[bc * P + i];
      for (let i = 0; i < L; i++) line[P + i] = xs[bc * L + i];
      for (let t = 0; t < L; t++) {
        let acc = bs ? bs[c] : 0;
        for (let k = 0; k < K; k++) acc += ws[c * K + k] * line[t + k];
        y[bc * L + t] = a.silu ? acc / (1 + Math.exp(-acc)) : acc;
      }
      for (let i = 0; i < P; i++) state[bc * P + i] = line[L + i];
    }
    const outs = [floatTensor(x!.dtype, [B, C, L], y), floatTensor(x!.dtype, [B, C, P], state)];
    return outs.slice(0, Math.max(1, outputCount));
  },
};

export const linearAttentionOps: OpDef<any>[] = [LinearAttention, CausalConvWithState];
