/**
 * Op family 'rnn': the recurrent ops RNN, LSTM and GRU (ONNX opsets 7-22), each one time step of its
 * cell here; attributes, the shape rule and the sequence driver they share are in rnn-core.ts.
 *
 * Each step gets pre = Xₜ·Wᵀ + Wb (+ Rb) for every batch row ([batch, gates·H], gate blocks in the
 * ONNX order) and the previous state, adds the recurrence H·Rᵀ with one GEMM (gemm-core.ts), clips the
 * gate pre-activations and applies the node's activations (f, g, h):
 *   RNN  (f = Tanh):                 H = f(pre + H·Rᵀ)
 *   LSTM (iofc; f = Sigmoid, g = h = Tanh; P = [Pi, Po, Pf] peepholes):
 *        i = f(· + Pi⊙C),  f = f(· + Pf⊙C) (or 1 - i with input_forget=1),  c = g(·),
 *        C' = f⊙C + i⊙c,   o = f(· + Po⊙C'),  H' = o⊙h(C')
 *   GRU  (zrh; f = Sigmoid, g = Tanh): z = f(·), r = f(·),
 *        h = g(Xₜ·Whᵀ + Wbh + (r⊙H)·Rhᵀ + Rbh)        (linear_before_reset = 0)
 *        h = g(Xₜ·Whᵀ + Wbh + r⊙(H·Rhᵀ + Rbh))        (linear_before_reset ≠ 0)
 *        H' = (1 - z)⊙h + z⊙H
 * Inputs: X, W, R, B, sequence_lens, initial_h (+ initial_c, P for LSTM); outputs Y, Y_h (+ Y_c), any
 * of them omitted. FLOPs: 2·seq·batch·D·gates·H·(input + H), the two matrix products.
 */
import type { FlopsRule, OpDef } from './registry.ts';
import { AttrError } from './registry.ts';
import { elems, plus, times } from './flops.ts';
import type { FloatArray } from './float-io.ts';
import { allocLike } from './elementwise.ts';
import {
  type DirectionParams, type RecurrentCell, type RnnAttrs, clamp, gateOf, gemmInto, readRnnAttrs, recurrentTypes,
  runRecurrence,
} from './rnn-core.ts';

/** LSTM attributes: the shared ones and `input_forget`. */
export interface LstmAttrs extends RnnAttrs { readonly inputForget: boolean }
/** GRU attributes: the shared ones and `linear_before_reset`. */
export interface GruAttrs extends RnnAttrs { readonly linearBeforeReset: boolean }

/** pre[:, gates] += H·Rᵀ[:, gates] for `count` gates from `gate`, with pre's rows `ldc` wide. */
function addRecurrence(h: FloatArray, dir: DirectionParams, gate: number, count: number, pre: FloatArray, preOff: number, ldc: number,
  batch: number, hidden: number): void {
  gemmInto(batch, count * hidden, hidden, { data: h, offset: 0, rowStride: hidden, colStride: 1 }, dir.gateView(gate, count), pre, preOff, ldc, true);
}

/** x[b, j] += scale[off + j] · y[b, j] over every row (y defaults to ones: a per-column bias). */
function addColumns(x: FloatArray, scale: FloatArray | undefined, off: number, y: FloatArray | undefined, batch: number, hidden: number): FloatArray {
  if (!scale) return x;
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < hidden; j++) x[b * hidden + j] += scale[off + j] * (y ? y[b * hidden + j] : 1);
  }
  return x;
}

/** The FLOPs of the two matrix products: 2·seq·batch·D·gates·H·(input + H) (X, W and R give every factor). */
const recurrentFlops: FlopsRule<RnnAttrs> = (inputs) => {
  const x = inputs[0]?.shape, w = inputs[1]?.shape, r = inputs[2]?.shape;
  if (!x || !w || !r || x.length !== 3 || w.length !== 3 || r.length !== 3) return undefined;
  return times(2, elems([x[0], x[1]]), elems([w[0], w[1]]), plus(elems([x[2]]), elems([r[2]])));
};

/** The OpDef of a recurrent op from its cell. */
function recurrentOp<A extends RnnAttrs>(cell: RecurrentCell<A>, maxInputs: number, parse: OpDef<A>['parseAttrs']): OpDef<A> {
  return {
    name: cell.op,
    inputs: [3, maxInputs],
    outputs: [1, cell.outputs],
    flops: recurrentFlops,
    parseAttrs: parse,
    inferTypes: (inputs, a, _ctx, outputCount) => recurrentTypes(cell, inputs, a, outputCount),
    run: (inputs, a, outputCount) => runRecurrence(cell, inputs, a, outputCount),
  };
}

const rnnCell: RecurrentCell<RnnAttrs> = {
  op: 'RNN', gates: 1, outputs: 2,
  foldedBias: () => 1,
  step(pre, state, dir, batch, hidden) {
    const x = pre.slice();
    addRecurrence(state.h, dir, 0, 1, x, 0, hidden, batch, hidden);
    return { h: dir.activations[0].apply(clamp(x, dir.clip)) };
  },
};

const lstmCell: RecurrentCell<LstmAttrs> = {
  op: 'LSTM', gates: 4, outputs: 3, cell: true,
  foldedBias: () => 4,
  step(pre, state, dir, batch, hidden, attrs) {
    const [f, g, hAct] = dir.activations;
    const c = state.c!, n = batch * hidden;
    const x = pre.slice();
    addRecurrence(state.h, dir, 0, 4, x, 0, 4 * hidden, batch, hidden);
    const gate = (k: number) => gateOf(x, k, 4, batch, hidden);
    const i = f.apply(clamp(addColumns(gate(0), dir.p, 0, c, batch, hidden), dir.clip));
    let fg: FloatArray;
    if (attrs.inputForget) {
      fg = i.slice();
      for (let k = 0; k < n; k++) fg[k] = 1 - i[k];
    } else {
      fg = f.apply(clamp(addColumns(gate(2), dir.p, 2 * hidden, c, batch, hidden), dir.clip));
    }
    const cc = g.apply(clamp(gate(3), dir.clip));
    const cNew = c.slice();
    for (let k = 0; k < n; k++) cNew[k] = fg[k] * c[k] + i[k] * cc[k];
    const o = f.apply(clamp(addColumns(gate(1), dir.p, hidden, cNew, batch, hidden), dir.clip));
    const h = hAct.apply(cNew);
    for (let k = 0; k < n; k++) h[k] *= o[k];
    return { h, c: cNew };
  },
};

const gruCell: RecurrentCell<GruAttrs> = {
  op: 'GRU', gates: 3, outputs: 2,
  // Rbh sits inside r⊙(…) with linear_before_reset, so only z and r fold it then
  foldedBias: (attrs) => (attrs.linearBeforeReset ? 2 : 3),
  step(pre, state, dir, batch, hidden, attrs) {
    const [f, g] = dir.activations;
    const hPrev = state.h, n = batch * hidden;
    const x = pre.slice();
    addRecurrence(hPrev, dir, 0, 2, x, 0, 3 * hidden, batch, hidden);
    const z = f.apply(clamp(gateOf(x, 0, 3, batch, hidden), dir.clip));
    const r = f.apply(clamp(gateOf(x, 1, 3, batch, hidden), dir.clip));
    const hIn = gateOf(x, 2, 3, batch, hidden);
    if (attrs.linearBeforeReset) {
      const lin = allocLike(hIn, n);
      addRecurrence(hPrev, dir, 2, 1, lin, 0, hidden, batch, hidden);
      addColumns(lin, dir.rb, 2 * hidden, undefined, batch, hidden);
      for (let k = 0; k < n; k++) hIn[k] += r[k] * lin[k];
    } else {
      const rh = r.slice();
      for (let k = 0; k < n; k++) rh[k] *= hPrev[k];
      addRecurrence(rh, dir, 2, 1, hIn, 0, hidden, batch, hidden);
    }
    const ht = g.apply(clamp(hIn, dir.clip));
    const h = ht.slice();
    for (let k = 0; k < n; k++) h[k] = (1 - z[k]) * ht[k] + z[k] * hPrev[k];
    return { h };
  },
};

function flag(value: number, name: string, op: string): boolean {
  if (value !== 0 && value !== 1) throw new AttrError(name, `${op}: must be 0 or 1, got ${value}`);
  return value === 1;
}

export const rnnOps: OpDef<any>[] = [
  recurrentOp<RnnAttrs>(rnnCell, 6, (r) => readRnnAttrs(r, 'RNN', ['Tanh'])),
  recurrentOp<GruAttrs>(gruCell, 6, (r) => ({
    ...readRnnAttrs(r, 'GRU', ['Sigmoid', 'Tanh']),
    // any non-zero value selects the second form (onnxruntime reads it as a boolean)
    linearBeforeReset: r.int('linear_before_reset', 0) !== 0,
  })),
  recurrentOp<LstmAttrs>(lstmCell, 8, (r) => ({
    ...readRnnAttrs(r, 'LSTM', ['Sigmoid', 'Tanh', 'Tanh']),
    inputForget: flag(r.int('input_forget', 0), 'input_forget', 'LSTM'),
  })),
];
