/**
 * RNN, LSTM and GRU: one-unit cells computed by hand, every direction, layout, sequence_lens and
 * optional-input form against a naive per-element loop written from the ONNX equations, activations
 * with alpha/beta and clip, f16/f64, the shape rule, and the attribute and shape errors.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AttrValue } from '../../compiler/ir/graph.ts';
import type { DType } from '../../compiler/ir/dtype.ts';
import type { Tensor } from '../../compiler/ir/tensor.ts';
import { getOp, parseNodeAttrs } from '../../compiler/ops/registry.ts';
import { type Attrs, attrErrorLike, close, infer, parse, rand, run, t, throwsLike, ty, vals } from './compute-helpers.ts';

const sig = (v: number) => 1 / (1 + Math.exp(-v));
const strs = (...value: string[]): AttrValue => ({ kind: 'strings', value });
const floats = (...value: number[]): AttrValue => ({ kind: 'floats', value });
const s1 = (v: number, dtype: DType = 'f32') => t(dtype, [1, 1, 1], [v]);

test('RNN, one unit: H = tanh(w·x + r·H + Wb + Rb), Y holds every step', () => {
  const x = t('f32', [2, 1, 1], [0.5, -1]);
  const [y, yh] = run('RNN', [x, s1(0.8), s1(0.3), t('f32', [1, 2], [0.1, 0.2])], { hidden_size: 1 }, 2);
  const h1 = Math.tanh(0.8 * 0.5 + 0.3), h2 = Math.tanh(-0.8 + 0.3 * h1 + 0.3);
  close(y, 'f32', [2, 1, 1, 1], [h1, h2], 1e-6);
  close(yh, 'f32', [1, 1, 1], [h2], 1e-6);
});

test('LSTM, one unit with peepholes and initial states (gates iofc, P = [Pi, Po, Pf])', () => {
  const [wi, wo, wf, wc] = [0.5, -0.4, 0.3, 0.9], [ri, ro, rf, rc] = [0.2, 0.1, -0.3, 0.4], [pi, po, pf] = [0.05, -0.1, 0.2];
  const b = [0.1, 0, -0.1, 0.2, 0, 0.05, 0, 0.1];
  const x = t('f32', [1, 1, 1], [0.7]), h0 = 0.3, c0 = -0.5;
  const inputs = [x, t('f32', [1, 4, 1], [wi, wo, wf, wc]), t('f32', [1, 4, 1], [ri, ro, rf, rc]), t('f32', [1, 8], b), undefined,
    s1(h0), s1(c0), t('f32', [1, 3], [pi, po, pf])];
  const [y, yh, yc] = run('LSTM', inputs, {}, 3);
  const i = sig(wi * 0.7 + ri * h0 + pi * c0 + b[0] + b[4]);
  const f = sig(wf * 0.7 + rf * h0 + pf * c0 + b[2] + b[6]);
  const c = Math.tanh(wc * 0.7 + rc * h0 + b[3] + b[7]);
  const C = f * c0 + i * c;
  const o = sig(wo * 0.7 + ro * h0 + po * C + b[1] + b[5]);
  const H = o * Math.tanh(C);
  close(y, 'f32', [1, 1, 1, 1], [H], 1e-6);
  close(yh, 'f32', [1, 1, 1], [H], 1e-6);
  close(yc, 'f32', [1, 1, 1], [C], 1e-6);
  // input_forget couples the gates: f = 1 - i
  const [, , yc2] = run('LSTM', inputs, { input_forget: 1 }, 3);
  close(yc2, 'f32', [1, 1, 1], [(1 - i) * c0 + i * c], 1e-6);
});

test('GRU, one unit, both linear_before_reset forms (gates zrh)', () => {
  const [wz, wr, wh] = [0.5, -0.6, 0.8], [rz, rr, rh] = [0.3, 0.2, -0.7], b = [0.1, 0.2, 0.3, -0.1, 0.05, 0.4];
  const x = 0.9, h0 = -0.4;
  const inputs = [s1(x), t('f32', [1, 3, 1], [wz, wr, wh]), t('f32', [1, 3, 1], [rz, rr, rh]), t('f32', [1, 6], b), undefined, s1(h0)];
  const z = sig(wz * x + rz * h0 + b[0] + b[3]), r = sig(wr * x + rr * h0 + b[1] + b[4]);
  const h = Math.tanh(wh * x + b[2] + rh * (r * h0) + b[5]);
  close(run('GRU', inputs, {}, 2)[1], 'f32', [1, 1, 1], [(1 - z) * h + z * h0], 1e-6);
  const hl = Math.tanh(wh * x + b[2] + r * (rh * h0 + b[5]));
  close(run('GRU', inputs, { linear_before_reset: 1 }, 2)[1], 'f32', [1, 1, 1], [(1 - z) * hl + z * h0], 1e-6);
});

// ---- a naive reference from the ONNX equations, one element at a time ----

type Op = 'RNN' | 'GRU' | 'LSTM';
const GATES: Record<Op, number> = { RNN: 1, GRU: 3, LSTM: 4 };

interface Case { op: Op; seq: number; batch: number; input: number; hidden: number; dir: string; layout: 0 | 1; lens?: number[];
  bias: boolean; init: boolean; peep?: boolean; lbr?: number }

function naive(c: Case, x: number[], w: number[], r: number[], b: number[] | undefined, h0: number[] | undefined, c0: number[] | undefined,
  p: number[] | undefined): { y: number[]; yh: number[]; yc: number[] } {
  const { seq, batch, input: I, hidden: H, layout } = c, G = GATES[c.op], D = c.dir === 'bidirectional' ? 2 : 1;
  const X = (s: number, bb: number, k: number) => x[layout === 0 ? (s * batch + bb) * I + k : (bb * seq + s) * I + k];
  const st = (a: number[] | undefined, d: number, bb: number, j: number) => (a ? a[layout === 0 ? (d * batch + bb) * H + j : (bb * D + d) * H + j] : 0);
  const y = new Array(seq * D * batch * H).fill(0), yh = new Array(D * batch * H).fill(0), yc = yh.slice();
  const yAt = (s: number, d: number, bb: number, j: number) => (layout === 0 ? ((s * D + d) * batch + bb) * H + j : ((bb * seq + s) * D + d) * H + j);
  const fAt = (d: number, bb: number, j: number) => (layout === 0 ? (d * batch + bb) * H + j : (bb * D + d) * H + j);
  for (let d = 0; d < D; d++) {
    const rev = c.dir === 'reverse' || d === 1;
    const wx = (g: number, j: number, s: number, bb: number) => {
      let v = b ? b[d * 2 * G * H + g * H + j] : 0;
      for (let k = 0; k < I; k++) v += w[(d * G * H + g * H + j) * I + k] * X(s, bb, k);
      return v;
    };
    const rx = (g: number, j: number, hv: number[]) => {
      let v = b ? b[d * 2 * G * H + G * H + g * H + j] : 0;
      for (let k = 0; k < H; k++) v += r[(d * G * H + g * H + j) * H + k] * hv[k];
      return v;
    };
    for (let bb = 0; bb < batch; bb++) {
      const len = c.lens ? c.lens[bb] : seq;
      let h = Array.from({ length: H }, (_, j) => st(h0, d, bb, j)), cs = Array.from({ length: H }, (_, j) => st(c0, d, bb, j));
      for (let step = 0; step < len; step++) {
        const s = rev ? len - 1 - step : step;
        const nh = new Array(H), nc = new Array(H);
        for (let j = 0; j < H; j++) {
          if (c.op === 'RNN') nh[j] = Math.tanh(wx(0, j, s, bb) + rx(0, j, h));
          else if (c.op === 'GRU') {
            const z = sig(wx(0, j, s, bb) + rx(0, j, h)), rg = sig(wx(1, j, s, bb) + rx(1, j, h));
            let hh: number;
            if (c.lbr) hh = Math.tanh(wx(2, j, s, bb) + rg * rx(2, j, h));
            else {
              const rh = h.map((v, k) => v * sig(wx(1, k, s, bb) + rx(1, k, h)));
              hh = Math.tanh(wx(2, j, s, bb) + rx(2, j, rh));
            }
            nh[j] = (1 - z) * hh + z * h[j];
          } else {
            const P = (g: number) => (p ? p[d * 3 * H + g * H + j] : 0);
            const i = sig(wx(0, j, s, bb) + rx(0, j, h) + P(0) * cs[j]), f = sig(wx(2, j, s, bb) + rx(2, j, h) + P(2) * cs[j]);
            nc[j] = f * cs[j] + i * Math.tanh(wx(3, j, s, bb) + rx(3, j, h));
            nh[j] = sig(wx(1, j, s, bb) + rx(1, j, h) + P(1) * nc[j]) * Math.tanh(nc[j]);
          }
        }
        h = nh;
        if (c.op === 'LSTM') cs = nc;
        for (let j = 0; j < H; j++) y[yAt(s, d, bb, j)] = h[j];
      }
      if (len > 0) for (let j = 0; j < H; j++) { yh[fAt(d, bb, j)] = h[j]; yc[fAt(d, bb, j)] = cs[j]; }
    }
  }
  return { y, yh, yc };
}

function check(c: Case, dtype: DType = 'f32', tol = 2e-5): void {
  const { seq, batch, input: I, hidden: H, layout } = c, G = GATES[c.op], D = c.dir === 'bidirectional' ? 2 : 1;
  const x = rand(dtype, layout === 0 ? [seq, batch, I] : [batch, seq, I], 1);
  const w = rand(dtype, [D, G * H, I], 2), r = rand(dtype, [D, G * H, H], 3);
  const b = c.bias ? rand(dtype, [D, 2 * G * H], 4) : undefined;
  const state = layout === 0 ? [D, batch, H] : [batch, D, H];
  const h0 = c.init ? rand(dtype, state, 5) : undefined, c0 = c.init && c.op === 'LSTM' ? rand(dtype, state, 6) : undefined;
  const p = c.peep ? rand(dtype, [D, 3 * H], 7) : undefined;
  const lens = c.lens ? t('i32', [batch], c.lens) : undefined;
  const inputs: (Tensor | undefined)[] = [x, w, r, b, lens, h0];
  if (c.op === 'LSTM') inputs.push(c0, p);
  const attrs: Attrs = { hidden_size: H, direction: c.dir, layout };
  if (c.lbr) attrs.linear_before_reset = c.lbr;
  const outs = run(c.op, inputs, attrs, c.op === 'LSTM' ? 3 : 2);
  const e = naive(c, vals(x), vals(w), vals(r), b && vals(b), h0 && vals(h0), c0 && vals(c0), p && vals(p));
  const what = JSON.stringify(c);
  close(outs[0], dtype, layout === 0 ? [seq, D, batch, H] : [batch, seq, D, H], e.y, tol);
  close(outs[1], dtype, state, e.yh, tol);
  if (c.op === 'LSTM') close(outs[2], dtype, state, e.yc, tol);
  assert.ok(outs.length === (c.op === 'LSTM' ? 3 : 2), what);
}

test('every op against the naive loop: directions, layouts, sequence_lens, optional inputs', () => {
  for (const op of ['RNN', 'GRU', 'LSTM'] as Op[]) {
    for (const dir of ['forward', 'reverse', 'bidirectional']) {
      for (const layout of [0, 1] as const) {
        check({ op, seq: 4, batch: 3, input: 5, hidden: 3, dir, layout, bias: true, init: true, peep: true, lbr: 0 });
        check({ op, seq: 3, batch: 3, input: 2, hidden: 4, dir, layout, lens: [3, 1, 0], bias: layout === 0, init: layout === 1, lbr: 1 });
      }
    }
  }
});

test('f64 keeps double precision, f16 computes through f32', () => {
  check({ op: 'LSTM', seq: 3, batch: 2, input: 3, hidden: 2, dir: 'bidirectional', layout: 0, bias: true, init: true, peep: true }, 'f64', 1e-12);
  const y = run('GRU', [rand('f64', [2, 1, 2]), rand('f64', [1, 6, 2], 2), rand('f64', [1, 6, 2], 3)], {}, 1)[0];
  assert.ok(y.data instanceof Float64Array);
  check({ op: 'RNN', seq: 2, batch: 2, input: 3, hidden: 2, dir: 'forward', layout: 0, bias: true, init: false }, 'f16', 3e-3);
});

test('activations with alpha/beta consumed in order, defaults, clip', () => {
  const x = t('f32', [1, 1, 1], [2]), w = s1(1), r = s1(0);
  const h = (attrs: Attrs) => vals(run('RNN', [x, w, r], attrs, 2)[1])[0];
  // Affine takes alpha and beta; LeakyRelu alone keeps its default alpha 0.01
  assert.ok(Math.abs(h({ activations: strs('Affine'), activation_alpha: floats(3), activation_beta: floats(0.5) }) - 6.5) < 1e-6);
  assert.ok(Math.abs(vals(run('RNN', [t('f32', [1, 1, 1], [-2]), w, r], { activations: strs('LeakyRelu') }, 2)[1])[0] + 0.02) < 1e-7);
  // case-insensitive names, as onnxruntime reads them; ScaledTanh, HardSigmoid, Softsign, ThresholdedRelu
  assert.ok(Math.abs(h({ activations: strs('scaledtanh'), activation_alpha: floats(2), activation_beta: floats(0.5) }) - 2 * Math.tanh(1)) < 1e-6);
  assert.ok(Math.abs(h({ activations: strs('HardSigmoid') }) - 0.9) < 1e-6);
  assert.ok(Math.abs(h({ activations: strs('Softsign') }) - 2 / 3) < 1e-6);
  assert.is(h({ activations: strs('ThresholdedRelu'), activation_alpha: floats(2.5) }), 0);
  // clip bounds the pre-activation: tanh(min(2, 0.5))
  assert.ok(Math.abs(h({ clip: 0.5 }) - Math.tanh(0.5)) < 1e-6);
  // bidirectional: the reverse direction has its own functions, alpha consumed after the forward one's
  const [, yh] = run('RNN', [x, t('f32', [2, 1, 1], [1, 1]), t('f32', [2, 1, 1], [0, 0])],
    { direction: 'bidirectional', activations: strs('LeakyRelu', 'Affine'), activation_alpha: floats(0.1, 4), activation_beta: floats(1) }, 2);
  close(yh, 'f32', [2, 1, 1], [2, 9]);
  // the pre-opset-7 RNN default [Tanh, Tanh] for one direction takes the first
  assert.ok(Math.abs(h({ activations: strs('Relu', 'Tanh') }) - 2) < 1e-6);
});

test('shape rule: layouts, symbolic dims, hidden_size from R, omitted outputs', () => {
  const x = ty('f32', ['S', 'N', 5]), w = ty('f32', [2, 12, 5]), r = ty('f32', [2, 12, 3]);
  assert.equal(infer('LSTM', [x, w, r], { direction: 'bidirectional' }, 3), [ty('f32', ['S', 2, 'N', 3]), ty('f32', [2, 'N', 3]), ty('f32', [2, 'N', 3])]);
  const xb = ty('f16', ['N', 'S', 5]);
  assert.equal(infer('GRU', [xb, ty('f16', [1, 9, 5]), ty('f16', [1, 9, 3])], { layout: 1, hidden_size: 3 }, 2),
    [ty('f16', ['N', 'S', 1, 3]), ty('f16', ['N', 1, 3])]);
  assert.equal(infer('RNN', [x, ty('f32', [1, 'H', 5]), ty('f32', [1, 'H', 'H'])], {}, 1), [ty('f32', ['S', 1, 'N', 'H'])]);
  // Y omitted, Y_h only: the kernel still returns every output up to the last declared
  const outs = run('RNN', [rand('f32', [2, 1, 2]), rand('f32', [1, 3, 2], 2), rand('f32', [1, 3, 3], 3)], {}, 2);
  assert.equal([...outs[1].shape], [1, 1, 3]);
});

test('attribute errors name the attribute (and node and op through parseNodeAttrs)', () => {
  attrErrorLike(() => parse('RNN', { direction: 'sideways' }), 'direction', /one of forward, reverse, bidirectional/);
  attrErrorLike(() => parse('GRU', { layout: 2 }), 'layout', /one of 0, 1/);
  attrErrorLike(() => parse('LSTM', { clip: 0.0 as number, activations: strs('Sigmoid', 'Tanh', 'Tanh') }), 'clip', /must be > 0/);
  attrErrorLike(() => parse('LSTM', { hidden_size: 0 }), 'hidden_size', /must be >= 1/);
  attrErrorLike(() => parse('LSTM', { activations: strs('Sigmoid', 'Tanh') }), 'activations', /needs 3 activations \(3 per direction, forward\), got 2/);
  attrErrorLike(() => parse('GRU', { direction: 'bidirectional', activations: strs('Sigmoid', 'Tanh') }), 'activations', /needs 4/);
  attrErrorLike(() => parse('RNN', { activations: strs('Swish') }), 'activations', /unknown activation 'Swish'/);
  attrErrorLike(() => parse('LSTM', { input_forget: 2 }), 'input_forget', /must be 0 or 1/);
  try {
    parseNodeAttrs(getOp('GRU'), { direction: { kind: 'string', value: 'up' } }, 'gru_0');
    assert.unreachable('no error');
  } catch (e) {
    const m = (e as Error).message;
    assert.ok(m.includes('gru_0') && m.includes('GRU') && m.includes("attribute 'direction'"), m);
  }
  throwsLike(() => parseNodeAttrs(getOp('RNN'), { output_sequence: { kind: 'int', value: 1 } }, 'n'), /attribute 'output_sequence'.*RNN has no attribute/);
});

test('shape and value errors name the input and the attribute they contradict', () => {
  const x = ty('f32', [2, 1, 3]);
  throwsLike(() => infer('LSTM', [x, ty('f32', [1, 8, 3]), ty('f32', [1, 8, 2])], { hidden_size: 3 }), /LSTM: W \[1,8,3\] must have shape \[1,12,3\] \(num_directions 1 for direction forward, 4 gates of hidden_size 3\)/);
  throwsLike(() => infer('GRU', [x, ty('f32', [1, 6, 3]), ty('f32', [1, 6, 2])], { direction: 'bidirectional' }), /GRU: W \[1,6,3\] must have shape \[2,6,3\]/);
  throwsLike(() => infer('RNN', [x, ty('f32', [1, 2, 4]), ty('f32', [1, 2, 2])]), /W \[1,2,4\] must have shape \[1,2,3\]/);
  throwsLike(() => infer('RNN', [x, ty('f32', [1, 2, 3]), ty('f32', [1, 2, 2]), ty('f32', [1, 2])]), /B \[1,2\] must have shape \[1,4\]/);
  throwsLike(() => infer('RNN', [x, ty('f32', [1, 2, 3]), ty('f32', [1, 2, 2]), undefined, ty('i64', [1])]), /sequence_lens has dtype i64/);
  throwsLike(() => infer('RNN', [x, ty('f32', [1, 2, 3]), ty('f32', [1, 2, 2]), undefined, undefined, ty('f32', [1, 2, 2])], { layout: 0 }), /initial_h \[1,2,2\] must have shape \[1,1,2\]/);
  throwsLike(() => infer('LSTM', [x, ty('f32', [1, 8, 3]), ty('f32', [1, 8, 2]), undefined, undefined, undefined, undefined, ty('f32', [1, 4])]), /P \[1,4\] must have shape \[1,6\]/);
  throwsLike(() => infer('RNN', [x, ty('f64', [1, 2, 3]), ty('f32', [1, 2, 2])]), /W has dtype f64 but X has f32/);
  throwsLike(() => infer('RNN', [ty('i32', [2, 1, 3]), ty('i32', [1, 2, 3]), ty('i32', [1, 2, 2])]), /RNN X has dtype i32/);
  throwsLike(() => infer('RNN', [ty('f32', [2, 3]), ty('f32', [1, 2, 3]), ty('f32', [1, 2, 2])]), /X \[2,3\] must be 3-D/);
  throwsLike(() => infer('GRU', [x, ty('f32', [1, 6, 3]), ty('f32', [6, 2])]), /R \[6,2\] must be 3-D/);
  throwsLike(() => run('RNN', [rand('f32', [2, 1, 3]), rand('f32', [1, 2, 3]), rand('f32', [1, 2, 2]), undefined, t('i32', [1], [3])]),
    /sequence_lens\[0\] = 3 is outside \[0, 2\]/);
});

test.run();
