/**
 * Attention (opsets 23/24), LinearAttention and CausalConvWithState (opset 27): hand-computed values
 * (softmax weights, KV cache and causal offset, grouped heads, masks, softcap, fully masked rows, the
 * four linear-attention recurrences, the carried convolution state), shape rules, and attribute errors
 * that name node, op and attribute.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { inferTypes } from '../../compiler/ops/infer.ts';
import { attrErrorLike, close, infer, parse, run, run1, t, throwsLike, ty } from './compute-helpers.ts';

const E = Math.E;

test('Attention 4-D: softmax(Q·Kᵀ/√D)·V by hand', () => {
  // D = 1: scores [0, 1], weights [1, e] / (1 + e)
  const y = run1('Attention', [t('f32', [1, 1, 1, 1], [1]), t('f32', [1, 1, 2, 1], [0, 1]), t('f32', [1, 1, 2, 1], [2, 4])]);
  close(y, 'f32', [1, 1, 1, 1], [(2 + 4 * E) / (1 + E)], 1e-6);
  // explicit scale 2 doubles the scores: weights [1, e²]
  const s = run1('Attention', [t('f32', [1, 1, 1, 1], [1]), t('f32', [1, 1, 2, 1], [0, 1]), t('f32', [1, 1, 2, 1], [2, 4])], { scale: 2.0 });
  close(s, 'f32', [1, 1, 1, 1], [(2 + 4 * E * E) / (1 + E * E)], 1e-6);
});

test('Attention KV cache: present = concat(past, new); causal offset by the past length', () => {
  // Q = 0 gives equal scores, so each output row is the mean of the keys it may see
  const q = t('f32', [1, 1, 2, 1], [0, 0]), k = t('f32', [1, 1, 2, 1], [0, 0]), v = t('f32', [1, 1, 2, 1], [3, 6]);
  const pk = t('f32', [1, 1, 1, 1], [0]), pv = t('f32', [1, 1, 1, 1], [0]);
  const [y, presentK, presentV, qk] = run('Attention', [q, k, v, undefined, pk, pv], { is_causal: 1, qk_matmul_output_mode: 3 }, 4);
  // row 0 sees keys 0..1 (past + its own), row 1 sees keys 0..2
  close(y, 'f32', [1, 1, 2, 1], [1.5, 3], 1e-6);
  close(presentK, 'f32', [1, 1, 3, 1], [0, 0, 0]);
  close(presentV, 'f32', [1, 1, 3, 1], [0, 3, 6]);
  close(qk, 'f32', [1, 1, 2, 3], [0.5, 0.5, 0, 1 / 3, 1 / 3, 1 / 3], 1e-6);
});

test('Attention 3-D with grouped KV heads, a bool mask, softcap and qk_matmul_output', () => {
  // two query heads share one KV head; the mask hides key 1 from every query
  const q = t('f32', [1, 1, 2], [0, 0]), k = t('f32', [1, 2, 1], [0, 0]), v = t('f32', [1, 2, 1], [1, 3]);
  const heads = { q_num_heads: 2, kv_num_heads: 1 };
  close(run1('Attention', [q, k, v], heads), 'f32', [1, 1, 2], [2, 2], 1e-6);
  close(run1('Attention', [q, k, v, t('bool', [1, 2], [1, 0])], heads), 'f32', [1, 1, 2], [1, 1], 1e-6);
  // float mask is added to the scores; softcap c·tanh(s/c) comes first (mode 0 shows it)
  const q1 = t('f32', [1, 1, 1, 1], [2]), k1 = t('f32', [1, 1, 1, 1], [3]), v1 = t('f32', [1, 1, 1, 1], [5]);
  const [y, , , qk] = run('Attention', [q1, k1, v1], { softcap: 2.0, scale: 1.0 }, 4);
  close(qk, 'f32', [1, 1, 1, 1], [2 * Math.tanh(3)], 1e-6);
  close(y, 'f32', [1, 1, 1, 1], [5]);
  assert.equal(infer('Attention', [ty('f16', ['B', 5, 8]), ty('f16', ['B', 7, 4]), ty('f16', ['B', 7, 6])], heads, 1),
    [ty('f16', ['B', 5, 12])]);
});

test('Attention: a fully masked row gives 0, not NaN; shorter masks are padded as masked (opset 24)', () => {
  const q = t('f32', [1, 1, 2, 1], [1, 1]), k = t('f32', [1, 1, 2, 1], [1, 2]), v = t('f32', [1, 1, 2, 1], [7, 9]);
  const mask = t('bool', [2, 1], [0, 1]);
  const [y, , , p] = run('Attention', [q, k, v, mask], { qk_matmul_output_mode: 3 }, 4);
  close(y, 'f32', [1, 1, 2, 1], [0, 7]);
  close(p, 'f32', [1, 1, 2, 2], [0, 0, 1, 0]);
});

test('Attention errors name the attribute (and node and op in a graph)', () => {
  attrErrorLike(() => parse('Attention', { qk_matmul_output_mode: 4 }), 'qk_matmul_output_mode', /one of 0, 1, 2, 3/);
  attrErrorLike(() => parse('Attention', { softcap: -1.0 }), 'softcap', />= 0/);
  attrErrorLike(() => infer('Attention', [ty('f32', [1, 2, 4]), ty('f32', [1, 2, 4]), ty('f32', [1, 2, 4])]), 'q_num_heads', /required for 3-D/);
  attrErrorLike(() => infer('Attention', [ty('f32', [1, 2, 6]), ty('f32', [1, 2, 4]), ty('f32', [1, 2, 4])], { q_num_heads: 4, kv_num_heads: 2 }),
    'q_num_heads', /6 is not divisible by q_num_heads = 4/);
  throwsLike(() => infer('Attention', [ty('f32', [1, 3, 2, 4]), ty('f32', [1, 2, 2, 4]), ty('f32', [1, 2, 2, 4])]), /multiple of kv heads 2/);
  throwsLike(() => inferTypes(parseGraph(`kiln.graph @g(%q: f32[1,2,4], %k: f32[1,2,4], %v: f32[1,2,4]) -> (%0: f32[1,2,4]) {
  %0 = Attention(%q, %k, %v) {q_num_heads=2} : f32[1,2,4]
  return %0
}`)), /node '0'.*op Attention.*kv_num_heads is required/);
});

test('LinearAttention linear and gated_delta recurrences by hand; grouped query heads', () => {
  // linear, dk = dv = 1: S = 3, then 3 + 2·4 = 11
  const [y, s] = run('LinearAttention', [t('f32', [1, 2, 1], [1, 1]), t('f32', [1, 2, 1], [1, 2]), t('f32', [1, 2, 1], [3, 4])],
    { q_num_heads: 1, kv_num_heads: 1, update_rule: 'linear', scale: 1.0 }, 2);
  close(y, 'f32', [1, 2, 1], [3, 11]);
  close(s, 'f32', [1, 1, 1, 1], [11]);
  // gated_delta from S = 2: decay 0.5 → 1, u = 0.5·(4 - 1) = 1.5, S = 2.5; two query heads q = 1, 2
  const [g, gs] = run('LinearAttention', [t('f32', [1, 1, 2], [1, 2]), t('f32', [1, 1, 1], [1]), t('f32', [1, 1, 1], [4]),
    t('f32', [1, 1, 1, 1], [2]), t('f32', [1, 1, 1], [Math.log(0.5)]), t('f32', [1, 1, 1], [0.5])],
  { q_num_heads: 2, kv_num_heads: 1, scale: 1.0 }, 2);
  close(g, 'f32', [1, 1, 2], [2.5, 5], 1e-6);
  close(gs, 'f32', [1, 1, 1, 1], [2.5], 1e-6);
  // default scale 1/√dk with dk = 4
  const q4 = t('f32', [1, 1, 4], [1, 0, 0, 0]), k4 = t('f32', [1, 1, 4], [1, 0, 0, 0]), v1 = t('f32', [1, 1, 1], [6]);
  close(run1('LinearAttention', [q4, k4, v1], { q_num_heads: 1, kv_num_heads: 1, update_rule: 'linear' }), 'f32', [1, 1, 1], [3]);
  assert.equal(infer('LinearAttention', [ty('f32', [2, 'T', 64]), ty('f32', [2, 'T', 8]), ty('f32', [2, 'T', 16])],
    { q_num_heads: 8, kv_num_heads: 1, update_rule: 'linear' }, 2), [ty('f32', [2, 'T', 128]), ty('f32', [2, 1, 8, 16])]);
});

test('LinearAttention errors name the attribute', () => {
  attrErrorLike(() => parse('LinearAttention', { q_num_heads: 3, kv_num_heads: 2 }), 'q_num_heads', /multiple of kv_num_heads/);
  attrErrorLike(() => parse('LinearAttention', { q_num_heads: 2 }), 'kv_num_heads', /missing/);
  attrErrorLike(() => parse('LinearAttention', { q_num_heads: 2, kv_num_heads: 2, update_rule: 'mamba' }), 'update_rule', /one of linear/);
  throwsLike(() => infer('LinearAttention', [ty('f32', [1, 1, 4]), ty('f32', [1, 1, 4]), ty('f32', [1, 1, 4])], { q_num_heads: 1, kv_num_heads: 1 }),
    /'gated_delta' needs the decay input/);
});

test('CausalConvWithState: depthwise causal conv over concat(past_state, input), carried state, SiLU', () => {
  // one channel, K = 2, weight [1, 1], bias 1, past [5]: line [5, 1, 2, 3]
  const x = t('f32', [1, 1, 3], [1, 2, 3]), w = t('f32', [1, 1, 2], [1, 1]), b = t('f32', [1], [1]), past = t('f32', [1, 1, 1], [5]);
  const [y, s] = run('CausalConvWithState', [x, w, b, past], {}, 2);
  close(y, 'f32', [1, 1, 3], [7, 4, 6]);
  close(s, 'f32', [1, 1, 1], [3]);
  // no past: zero left padding; the state keeps past samples when the input is shorter than K - 1
  const [y2, s2] = run('CausalConvWithState', [t('f32', [1, 1, 1], [2]), t('f32', [1, 1, 3], [1, 1, 1]), undefined, t('f32', [1, 1, 2], [4, 5])], { activation: 'silu' }, 2);
  close(y2, 'f32', [1, 1, 1], [11 / (1 + Math.exp(-11))], 1e-6);
  close(s2, 'f32', [1, 1, 2], [5, 2]);
  assert.equal(infer('CausalConvWithState', [ty('f16', ['B', 4, 'L']), ty('f16', [4, 1, 1])], {}, 2), [ty('f16', ['B', 4, 'L']), ty('f16', ['B', 4, 0])]);
  attrErrorLike(() => parse('CausalConvWithState', { activation: 'relu' }), 'activation', /one of none, silu, swish/);
  throwsLike(() => infer('CausalConvWithState', [ty('f32', [1, 4, 8]), ty('f32', [4, 2, 3])]), /weight \[4,2,3\] must be \[channels 4, 1, kernel\]/);
});

test.run();
