/**
 * The machinery the recurrent ops (rnn.ts: RNN, LSTM, GRU) share: their common attributes, the
 * activation functions named in `activations`, the type/shape rule, and the sequence driver.
 *
 * Attributes common to the three (ONNX RNN/LSTM/GRU 7-22): `direction` (forward, reverse,
 * bidirectional: D = 1 or 2 directions), `hidden_size` (H; when absent it is R's last dim),
 * `activations` (the op's n functions per direction, the forward ones first), `activation_alpha` /
 * `activation_beta` (consumed in order by the functions that take them, as onnxruntime does; a
 * function that finds the list used up takes its default), `clip` (> 0: gate pre-activations are
 * clamped to [-clip, clip] before their activation; like onnxruntime, the cell state is not clipped
 * before LSTM's h), and `layout` (0: X [seq, batch, in], Y [seq, D, batch, H], states [D, batch, H];
 * 1: X [batch, seq, in], Y [batch, seq, D, H], states [batch, D, H]).
 *
 * Activations: Relu, Tanh, Sigmoid, LeakyRelu (alpha 0.01), HardSigmoid (0.2, 0.5), Elu (1) and
 * Softplus run the registered ONNX op's own kernel (activation.ts, unary.ts) on the gate buffer, so an
 * RNN's Sigmoid is the Sigmoid op; Affine (alpha·x + beta, defaults 1, 0), ScaledTanh
 * (alpha·tanh(beta·x), defaults 1, 1), ThresholdedRelu (x if x > alpha, default 1) and Softsign
 * (x / (1 + |x|)) are not kiln ops and are computed here. Names match case-insensitively.
 *
 * Driver (`runRecurrence`), per direction: X (in layout 0 order) is multiplied by Wᵀ for every step at
 * once (one GEMM of seq·batch rows, gemm-core.ts) and the input bias Wb, plus the recurrence bias Rb
 * of the gates the op lets fold, is added. Then step s = 0 .. max(sequence_lens)-1 gathers, for each
 * batch row b with s < len[b], the row of time t = s (forward) or len[b]-1-s (reverse: the reversal
 * is within each sequence's own length), and the op's cell advances the state of every row; only
 * rows still inside their sequence keep the new state and write Y[t]. Y is zero past a sequence's
 * end; Y_h (and Y_c) hold each row's last state, zero for a sequence of length 0 (onnxruntime's rule).
 * Working precision is f32 (f64 for f64 tensors); f16/bf16 are decoded once and rounded at the end.
 */
import type { AttrValue, Dim, TensorType } from '../ir/graph.ts';
import type { Tensor } from '../ir/tensor.ts';
import { readNumbers } from '../ir/tensor.ts';
import { AttrError, type AttrReader, findOp, readAttrs } from './registry.ts';
import { FLOAT_TYPES, expectDType } from './support.ts';
import { type FloatArray, allocFloat, floatData, floatTensor } from './float-io.ts';
import { type MatView, dgemm, sgemm } from './gemm-core.ts';
import { allocLike, need } from './elementwise.ts';

/** Which way(s) the sequence is read. */
export type Direction = 'forward' | 'reverse' | 'bidirectional';

/** One activation function with its parameters, applied to a whole gate buffer. */
export interface Activation {
  readonly name: string;
  readonly alpha: number;
  readonly beta: number;
  /** The activation of every element of `x`, as a fresh array of the same precision. */
  apply(x: FloatArray): FloatArray;
}

/** The attributes RNN, LSTM and GRU share (see the module comment). */
export interface RnnAttrs {
  readonly direction: Direction;
  readonly hiddenSize?: number;
  /** The op's activations for each direction (1 or 2 lists). */
  readonly activations: readonly (readonly Activation[])[];
  /** Clip threshold (Infinity when not set). */
  readonly clip: number;
  readonly layout: 0 | 1;
}

interface ActivationKind {
  readonly name: string;
  /** The kiln op that computes it, with its attributes from alpha/beta. */
  readonly op?: string;
  readonly attrs?: (alpha: number, beta: number) => Record<string, AttrValue>;
  /** Per-element formula for functions kiln has no op for. */
  readonly local?: (v: number, alpha: number, beta: number) => number;
  readonly alpha?: number;
  readonly beta?: number;
}

const float = (value: number): AttrValue => ({ kind: 'float', value });

const KINDS: readonly ActivationKind[] = [
  { name: 'Relu', op: 'Relu' },
  { name: 'Tanh', op: 'Tanh' },
  { name: 'Sigmoid', op: 'Sigmoid' },
  { name: 'Softplus', op: 'Softplus' },
  { name: 'LeakyRelu', op: 'LeakyRelu', alpha: 0.01, attrs: (alpha) => ({ alpha: float(alpha) }) },
  { name: 'Elu', op: 'Elu', alpha: 1, attrs: (alpha) => ({ alpha: float(alpha) }) },
  { name: 'HardSigmoid', op: 'HardSigmoid', alpha: 0.2, beta: 0.5, attrs: (alpha, beta) => ({ alpha: float(alpha), beta: float(beta) }) },
  { name: 'Affine', alpha: 1, beta: 0, local: (v, alpha, beta) => alpha * v + beta },
  { name: 'ScaledTanh', alpha: 1, beta: 1, local: (v, alpha, beta) => alpha * Math.tanh(beta * v) },
  { name: 'ThresholdedRelu', alpha: 1, local: (v, alpha) => (v > alpha ? v : 0) },
  { name: 'Softsign', local: (v) => v / (1 + Math.abs(v)) },
];

function makeActivation(kind: ActivationKind, alpha: number, beta: number): Activation {
  const { name, local } = kind;
  if (local) {
    return {
      name, alpha, beta,
      apply(x) {
        const y = allocLike(x, x.length);
        for (let i = 0; i < x.length; i++) y[i] = local(x[i], alpha, beta);
        return y;
      },
    };
  }
  const def = findOp(kind.op!);
  if (!def) throw new Error(`activation ${name} needs the ${kind.op} op, which is not registered`);
  const attrs = readAttrs(def, kind.attrs ? kind.attrs(alpha, beta) : {});
  return {
    name, alpha, beta,
    apply: (x) => def.run([floatTensor(x instanceof Float64Array ? 'f64' : 'f32', [x.length], x)], attrs, 1)[0].data as FloatArray,
  };
}

/**
 * Reads the shared attributes. `op` names the op in messages, `defaults` are its activations for one
 * direction (their count is how many the op takes per direction).
 */
export function readRnnAttrs(r: AttrReader, op: string, defaults: readonly string[]): RnnAttrs {
  const direction = r.oneOf('direction', r.string('direction', 'forward'), ['forward', 'reverse', 'bidirectional']) as Direction;
  const hiddenSize = r.has('hidden_size') ? r.int('hidden_size') : undefined;
  if (hiddenSize !== undefined && hiddenSize < 1) throw new AttrError('hidden_size', `${op}: must be >= 1, got ${hiddenSize}`);
  const clip = r.has('clip') ? r.float('clip') : Infinity;
  if (!(clip > 0)) throw new AttrError('clip', `${op}: must be > 0, got ${clip}`);
  const layout = r.oneOf('layout', r.int('layout', 0), [0, 1]) as 0 | 1;
  const alphas = r.floats('activation_alpha', []), betas = r.floats('activation_beta', []);
  const dirs = direction === 'bidirectional' ? 2 : 1;
  const n = defaults.length;
  let names = r.has('activations') ? [...r.strings('activations')] : Array.from({ length: dirs }, () => defaults).flat();
  // RNN's schema before opset 7 defaulted to [Tanh, Tanh]: a single-direction RNN takes the first
  if (n === 1 && dirs === 1 && names.length === 2) names = names.slice(0, 1);
  if (names.length !== n * dirs) {
    throw new AttrError('activations', `${op}: needs ${n * dirs} activation${n * dirs > 1 ? 's' : ''} (${n} per direction, ${direction}), got ${names.length}`);
  }
  let ai = 0, bi = 0;
  const acts = names.map((given) => {
    const kind = KINDS.find((k) => k.name.toLowerCase() === given.toLowerCase());
    if (!kind) throw new AttrError('activations', `${op}: unknown activation '${given}'; expected one of ${KINDS.map((k) => k.name).join(', ')}`);
    const alpha = kind.alpha !== undefined ? (ai < alphas.length ? alphas[ai++] : kind.alpha) : 0;
    const beta = kind.beta !== undefined ? (bi < betas.length ? betas[bi++] : kind.beta) : 0;
    return makeActivation(kind, alpha, beta);
  });
  const activations = Array.from({ length: dirs }, (_, d) => acts.slice(d * n, (d + 1) * n));
  return { direction, hiddenSize, activations, clip, layout };
}

/** What the shape rule and the driver need to know about one op. */
export interface RecurrentSpec {
  readonly op: string;
  /** Gates per direction (RNN 1, GRU 3, LSTM 4): W and R have gates·H rows. */
  readonly gates: number;
  /** Outputs the op defines: 2 (Y, Y_h) or 3 (Y, Y_h, Y_c for LSTM). */
  readonly outputs: number;
}

const fmt = (s: readonly Dim[]): string => `[${s.join(',')}]`;

function expectShape(op: string, name: string, t: TensorType, want: readonly Dim[], why = ''): void {
  const ok = t.shape.length === want.length && t.shape.every((d, i) => typeof d !== 'number' || typeof want[i] !== 'number' || d === want[i]);
  if (!ok) throw new Error(`${op}: ${name} ${fmt(t.shape)} must have shape ${fmt(want)}${why}`);
}

/**
 * The type rule (also run on the concrete shapes before a kernel runs): checks every input against X,
 * W, R and the attributes, and returns the types of Y, Y_h (and Y_c) in the node's layout.
 */
export function recurrentTypes(spec: RecurrentSpec, inputs: readonly (TensorType | undefined)[], a: RnnAttrs, outputCount: number): TensorType[] {
  const { op, gates } = spec;
  const [x, w, rec] = [0, 1, 2].map((i) => {
    const t = inputs[i];
    if (!t) throw new Error(`${op}: input ${['X', 'W', 'R'][i]} is required`);
    return t;
  });
  expectDType(x.dtype, FLOAT_TYPES, `${op} X`);
  if (x.shape.length !== 3) throw new Error(`${op}: X ${fmt(x.shape)} must be 3-D (${a.layout ? 'batch, seq, input' : 'seq, batch, input'})`);
  const [seq, batch, inSize] = a.layout === 0 ? x.shape : [x.shape[1], x.shape[0], x.shape[2]];
  const d = a.direction === 'bidirectional' ? 2 : 1;
  if (rec.shape.length !== 3) throw new Error(`${op}: R ${fmt(rec.shape)} must be 3-D (num_directions, ${gates}·hidden_size, hidden_size)`);
  const h: Dim = a.hiddenSize ?? rec.shape[2];
  const gh: Dim = typeof h === 'number' ? gates * h : rec.shape[1];
  const why = ` (num_directions ${d} for direction ${a.direction}, ${gates} gate${gates > 1 ? 's' : ''} of hidden_size ${h})`;
  expectShape(op, 'W', w, [d, gh, inSize], why);
  expectShape(op, 'R', rec, [d, gh, h], why);
  const state = a.layout === 0 ? [d, batch, h] : [batch, d, h];
  const names = ['X', 'W', 'R', 'B', 'sequence_lens', 'initial_h', 'initial_c', 'P'];
  const want: Record<number, readonly Dim[]> = {
    3: [d, typeof gh === 'number' ? 2 * gh : gh], 4: [batch], 5: state, 6: state, 7: [d, typeof h === 'number' ? 3 * h : h],
  };
  inputs.forEach((t, i) => {
    if (!t || i < 3) return;
    if (i === 4) expectDType(t.dtype, ['i32'], `${op} sequence_lens`);
    else if (t.dtype !== x.dtype) throw new Error(`${op}: ${names[i]} has dtype ${t.dtype} but X has ${x.dtype}; they must match`);
    expectShape(op, names[i], t, want[i], i === 4 ? '' : why);
  });
  [w, rec].forEach((t, i) => {
    if (t.dtype !== x.dtype) throw new Error(`${op}: ${names[i + 1]} has dtype ${t.dtype} but X has ${x.dtype}; they must match`);
  });
  const y = { dtype: x.dtype, shape: a.layout === 0 ? [seq, d, batch, h] : [batch, seq, d, h] };
  return [y, ...Array.from({ length: spec.outputs - 1 }, () => ({ dtype: x.dtype, shape: state }))].slice(0, Math.max(1, outputCount));
}

/** f32 or f64 GEMM by the precision of C (see gemm-core.ts for the contract). */
export function gemmInto(M: number, N: number, K: number, A: MatView<FloatArray>, B: MatView<FloatArray>, C: FloatArray, cOff: number,
  ldc: number, accumulate: boolean): void {
  if (C instanceof Float64Array) dgemm(M, N, K, 1, A as MatView<Float64Array>, B as MatView<Float64Array>, C, cOff, ldc, accumulate);
  else sgemm(M, N, K, 1, A as MatView<Float32Array>, B as MatView<Float32Array>, C, cOff, ldc, accumulate);
}

/** One direction's parameters, as the op's cell sees them. */
export interface DirectionParams {
  /** Rᵀ of this direction as a GEMM operand (H × gates·H); `gateView(g, n)` is gates g .. g+n-1 of it. */
  gateView(gate: number, count: number): MatView<FloatArray>;
  /** The recurrence bias Rb (gates·H values), or undefined without B. */
  readonly rb?: FloatArray;
  /** The peephole weights P (3·H values, LSTM), or undefined. */
  readonly p?: FloatArray;
  readonly activations: readonly Activation[];
  readonly clip: number;
}

/** The state of every batch row: h (and c for LSTM), each [batch, H]. */
export interface CellState { h: FloatArray; c?: FloatArray }

/** An op's cell: one time step for every row, from the gate inputs pre = Xₜ·Wᵀ + Wb (+ folded Rb). */
export interface RecurrentCell<A extends RnnAttrs = RnnAttrs> extends RecurrentSpec {
  /** How many leading gates have Rb folded into pre by the driver (the rest the cell adds itself). */
  foldedBias(attrs: A): number;
  /** Whether the op carries a cell state c (LSTM). */
  readonly cell?: boolean;
  /** The next state of every row ([batch, H] arrays, fresh); `pre` ([batch, gates·H]) may be read, not kept. */
  step(pre: FloatArray, state: CellState, dir: DirectionParams, batch: number, hidden: number, attrs: A): CellState;
}

/** Clamps every element to [-clip, clip] in place (no-op without a clip). */
export function clamp(x: FloatArray, clip: number): FloatArray {
  if (clip !== Infinity) for (let i = 0; i < x.length; i++) x[i] = x[i] > clip ? clip : x[i] < -clip ? -clip : x[i];
  return x;
}

/** Gate g of pre ([batch, gates·H] rows) as a fresh contiguous [batch, H] array. */
export function gateOf(pre: FloatArray, g: number, gates: number, batch: number, hidden: number): FloatArray {
  const out = allocLike(pre, batch * hidden);
  for (let b = 0; b < batch; b++) out.set(pre.subarray((b * gates + g) * hidden, (b * gates + g + 1) * hidden), b * hidden);
  return out;
}

/** Reads a [D, batch, H] (layout 0) or [batch, D, H] (layout 1) state input's direction d as [batch, H]. */
function stateOf(t: Tensor | undefined, d: number, dirs: number, batch: number, hidden: number, layout: 0 | 1, dtype: Tensor['dtype']): FloatArray {
  const out = allocFloat(dtype, batch * hidden);
  if (!t) return out;
  const src = floatData(t);
  for (let b = 0; b < batch; b++) {
    const from = (layout === 0 ? d * batch + b : b * dirs + d) * hidden;
    out.set(src.subarray(from, from + hidden), b * hidden);
  }
  return out;
}

/**
 * Runs an op's cell over the sequence in each direction (see the module comment) and returns
 * `outputCount` outputs: Y, Y_h, then Y_c for an op with a cell state.
 */
export function runRecurrence<A extends RnnAttrs>(cell: RecurrentCell<A>, inputs: readonly (Tensor | undefined)[], a: A, outputCount: number): Tensor[] {
  const { op, gates } = cell;
  const types = recurrentTypes(cell, inputs.map((t) => t && { dtype: t.dtype, shape: t.shape }), a, outputCount);
  const x = need(inputs[0], `${op} X`), w = need(inputs[1], `${op} W`), r = need(inputs[2], `${op} R`);
  const [bias, lensT, h0, c0, peep] = [3, 4, 5, 6, 7].map((i) => inputs[i]);
  const [seq, batch, inSize] = a.layout === 0 ? x.shape : [x.shape[1], x.shape[0], x.shape[2]];
  const hidden = r.shape[2], dirs = a.activations.length, gh = gates * hidden;
  const lens = lensT ? Array.from(readNumbers(lensT)) : new Array<number>(batch).fill(seq);
  const bad = lens.findIndex((l) => !(l >= 0 && l <= seq));
  if (bad >= 0) throw new Error(`${op}: sequence_lens[${bad}] = ${lens[bad]} is outside [0, ${seq}] (seq_length ${seq})`);
  const maxLen = Math.max(0, ...lens);
  // X as [seq, batch, input] in working precision
  let xs = floatData(x);
  if (a.layout === 1) {
    const t = allocLike(xs, xs.length);
    for (let b = 0; b < batch; b++) for (let s = 0; s < seq; s++) t.set(xs.subarray((b * seq + s) * inSize, (b * seq + s + 1) * inSize), (s * batch + b) * inSize);
    xs = t;
  }
  const ws = floatData(w), rs = floatData(r), bs = bias && floatData(bias), ps = peep && floatData(peep);
  const work = x.dtype === 'f64' ? 'f64' : 'f32';
  const y = allocFloat(work, seq * dirs * batch * hidden);
  const finals = [allocFloat(work, dirs * batch * hidden), allocFloat(work, dirs * batch * hidden)];
  const folded = cell.foldedBias(a);
  for (let d = 0; d < dirs; d++) {
    const reverse = a.direction === 'reverse' || d === 1;
    const xw = allocFloat(work, seq * batch * gh);
    gemmInto(seq * batch, gh, inSize, { data: xs, offset: 0, rowStride: inSize, colStride: 1 },
      { data: ws, offset: d * gh * inSize, rowStride: 1, colStride: inSize }, xw, 0, gh, false);
    const rb = bs?.subarray(d * 2 * gh + gh, (d + 1) * 2 * gh);
    if (bs) {
      for (let row = 0; row < seq * batch; row++) {
        for (let j = 0; j < gh; j++) xw[row * gh + j] += bs[d * 2 * gh + j] + (j < folded * hidden ? rb![j] : 0);
      }
    }
    const params: DirectionParams = {
      gateView: (g) => ({ data: rs, offset: d * gh * hidden + g * hidden * hidden, rowStride: 1, colStride: hidden }),
      rb, p: ps?.subarray(d * 3 * hidden, (d + 1) * 3 * hidden), activations: a.activations[d], clip: a.clip,
    };
    const state: CellState = { h: stateOf(h0, d, dirs, batch, hidden, a.layout, x.dtype) };
    if (cell.cell) state.c = stateOf(c0, d, dirs, batch, hidden, a.layout, x.dtype);
    const pre = allocFloat(work, batch * gh);
    for (let s = 0; s < maxLen; s++) {
      const time = lens.map((l) => (s < l ? (reverse ? l - 1 - s : s) : -1));
      time.forEach((t, b) => { if (t >= 0) pre.set(xw.subarray((t * batch + b) * gh, (t * batch + b + 1) * gh), b * gh); });
      const next = cell.step(pre, state, params, batch, hidden, a);
      time.forEach((t, b) => {
        if (t < 0) return;
        const row = [b * hidden, (b + 1) * hidden] as const;
        state.h.set(next.h.subarray(...row), row[0]);
        if (state.c && next.c) state.c.set(next.c.subarray(...row), row[0]);
        y.set(next.h.subarray(...row), ((t * dirs + d) * batch + b) * hidden);
      });
    }
    for (let b = 0; b < batch; b++) {
      if (lens[b] === 0) continue; // a sequence of length 0 leaves zero final states
      const o = (d * batch + b) * hidden;
      finals[0].set(state.h.subarray(b * hidden, (b + 1) * hidden), o);
      if (state.c) finals[1].set(state.c.subarray(b * hidden, (b + 1) * hidden), o);
    }
  }
  const outs = [y, ...finals].slice(0, Math.max(1, outputCount)).map((buf, k) => {
    if (a.layout === 0) return floatTensor(x.dtype, types[k].shape as number[], buf);
    // [seq|1, D, batch, H] → [batch, seq|1, D, H]
    const steps = k === 0 ? seq : 1;
    const t = allocFloat(work, buf.length);
    for (let s = 0; s < steps; s++) {
      for (let d = 0; d < dirs; d++) {
        for (let b = 0; b < batch; b++) {
          t.set(buf.subarray(((s * dirs + d) * batch + b) * hidden, ((s * dirs + d) * batch + b + 1) * hidden), ((b * steps + s) * dirs + d) * hidden);
        }
      }
    }
    return floatTensor(x.dtype, types[k].shape as number[], t);
  });
  return outs;
}
