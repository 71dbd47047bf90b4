/**
 * NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss: hand-computed losses for every reduction,
 * class weights, ignore_index (negative and out-of-range ones), higher ranks, the optional log_prob
 * output, the type rule, and the attribute/shape errors (through a graph, so they name node and op).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { inferTypes } from '../../compiler/ops/infer.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { attrErrorLike, close, i64, infer, parse, run, run1, t, throwsLike, ty } from './compute-helpers.ts';

const NLL = 'NegativeLogLikelihoodLoss';
const SCE = 'SoftmaxCrossEntropyLoss';
// log-probabilities [N=2, C=3]; targets pick x[0,2] = -3 and x[1,0] = -4
const x = () => t('f32', [2, 3], [-1, -2, -3, -4, -5, -6]);
const target = () => i64([2], [2, 0]);
const w = () => t('f32', [3], [0.5, 1, 2]);

test('NLL: reductions none / sum / mean (mean is the default)', () => {
  close(run1(NLL, [x(), target()], { reduction: 'none' }), 'f32', [2], [3, 4]);
  close(run1(NLL, [x(), target()], { reduction: 'sum' }), 'f32', [], [7]);
  close(run1(NLL, [x(), target()]), 'f32', [], [3.5]);
});

test('NLL: class weights scale each loss; mean divides by the summed weights', () => {
  close(run1(NLL, [x(), target(), w()], { reduction: 'none' }), 'f32', [2], [6, 2]);
  close(run1(NLL, [x(), target(), w()], { reduction: 'sum' }), 'f32', [], [8]);
  close(run1(NLL, [x(), target(), w()]), 'f32', [], [8 / 2.5]);
});

test('NLL: ignore_index (negative, or beyond C) zeroes the element and its weight', () => {
  const tgt = i64([2], [-1, 0]);
  close(run1(NLL, [x(), tgt], { reduction: 'none', ignore_index: -1 }), 'f32', [2], [0, 4]);
  close(run1(NLL, [x(), tgt], { ignore_index: -1 }), 'f32', [], [4]);
  close(run1(NLL, [x(), tgt, w()], { ignore_index: -1 }), 'f32', [], [2 / 0.5]);
  close(run1(NLL, [x(), i64([2], [7, 1])], { reduction: 'sum', ignore_index: 7 }), 'f32', [], [5]);
  // every element ignored: mean is 0/0 (NaN, as ONNX's reference), sum is 0
  close(run1(NLL, [x(), i64([2], [7, 7])], { ignore_index: 7 }), 'f32', [], [NaN]);
  close(run1(NLL, [x(), i64([2], [7, 7])], { reduction: 'sum', ignore_index: 7 }), 'f32', [], [0]);
});

test('NLL: rank 3 and 4 inputs pick input[n, target[n, d], d]', () => {
  // [N=1, C=2, D=2]: class 1 at d0 (-3), class 0 at d1 (-2)
  const x3 = t('f32', [1, 2, 2], [-1, -2, -3, -4]);
  close(run1(NLL, [x3, t('i32', [1, 2], [1, 0])], { reduction: 'none' }), 'f32', [1, 2], [3, 2]);
  // [N=2, C=2, 1, 2]: same per-sample layout, second sample shifted by -10
  const x4 = t('f32', [2, 2, 1, 2], [-1, -2, -3, -4, -11, -12, -13, -14]);
  close(run1(NLL, [x4, i64([2, 1, 2], [1, 0, 0, 1])], { reduction: 'none' }), 'f32', [2, 1, 2], [3, 2, 11, 14]);
  close(run1(NLL, [x4, i64([2, 1, 2], [1, 0, 0, 1])]), 'f32', [], [30 / 4]);
});

test('NLL: f64 and f16 keep their dtype', () => {
  close(run1(NLL, [t('f64', [2, 3], [-1, -2, -3, -4, -5, -6]), target()], { reduction: 'sum' }), 'f64', [], [7]);
  close(run1(NLL, [t('f16', [2, 3], [-1, -2, -3, -4, -5, -6]), target()]), 'f16', [], [3.5]);
});

test('SCE: loss is log-sum-exp minus the label score; log_prob is LogSoftmax along axis 1', () => {
  const scores = t('f32', [2, 3], [1, 2, 3, 0, 0, 0]);
  const lse0 = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)), lse1 = Math.log(3);
  const labels = i64([2], [2, 1]);
  const [loss, logProb] = run(SCE, [scores, labels], { reduction: 'none' }, 2);
  close(loss, 'f32', [2], [lse0 - 3, lse1]);
  close(logProb, 'f32', [2, 3], [1 - lse0, 2 - lse0, 3 - lse0, -lse1, -lse1, -lse1]);
  close(run1(SCE, [scores, labels]), 'f32', [], [(lse0 - 3 + lse1) / 2]);
  close(run1(SCE, [scores, labels, w()], { reduction: 'sum' }), 'f32', [], [2 * (lse0 - 3) + lse1]);
  close(run1(SCE, [scores, i64([2], [2, -5])], { ignore_index: -5 }), 'f32', [], [lse0 - 3]);
  // rank 3: softmax over the class axis, not the last one
  const s3 = t('f32', [1, 2, 2], [0, 5, 0, 5]);
  close(run1(SCE, [s3, i64([1, 2], [0, 1])], { reduction: 'none' }), 'f32', [1, 2], [Math.log(2), Math.log(2)]);
});

test('type rule: loss shape follows reduction; SCE declares log_prob when asked', () => {
  assert.equal(infer(NLL, [ty('f32', ['N', 5, 'H']), ty('i64', ['N', 'H'])], { reduction: 'none' }), [ty('f32', ['N', 'H'])]);
  assert.equal(infer(NLL, [ty('f32', ['N', 5, 'H']), ty('i64', ['N', 'H']), ty('f32', [5])]), [ty('f32', [])]);
  assert.equal(infer(SCE, [ty('f16', [3, 5]), ty('i32', [3])], { reduction: 'sum' }, 2), [ty('f16', []), ty('f16', [3, 5])]);
  assert.equal(infer(SCE, [ty('f16', [3, 5]), ty('i32', [3])], {}, 1), [ty('f16', [])]);
});

test('shape and dtype errors', () => {
  throwsLike(() => infer(NLL, [ty('f32', [3]), ty('i64', [])]), /input must have rank 2 or more/);
  throwsLike(() => infer(NLL, [ty('f32', [3, 5, 4]), ty('i64', [3, 5])]), /target shape \[3,5\] does not match input shape \[3,5,4\]/);
  throwsLike(() => infer(NLL, [ty('f32', [3, 5]), ty('i64', [3, 1])]), /target shape/);
  throwsLike(() => infer(NLL, [ty('f32', [3, 5]), ty('f32', [3])]), /target must be i32 or i64, got f32/);
  throwsLike(() => infer(NLL, [ty('i32', [3, 5]), ty('i64', [3])]), /input has dtype i32/);
  throwsLike(() => infer(NLL, [ty('f32', [3, 5]), ty('i64', [3]), ty('f32', [4])]), /weight must have shape \[C\] = \[5\], got \[4\]/);
  throwsLike(() => infer(SCE, [ty('f32', [3, 5]), ty('i64', [3]), ty('f64', [5])]), /weights has dtype f64 but scores has f32/);
  throwsLike(() => run1(NLL, [x(), i64([2], [3, 0])]), /target value 3 at element 0 is out of range for 3 classes/);
  throwsLike(() => run1(SCE, [x(), i64([2], [0, -1])]), /target value -1 at element 1 is out of range/);
});

test('attribute errors name the attribute', () => {
  attrErrorLike(() => parse(NLL, { reduction: 'avg' }), 'reduction', /must be one of none, sum, mean, got avg/);
  attrErrorLike(() => parse(SCE, { ignore_index: 0.5 }), 'ignore_index', /expected int, got float/);
});

test('through a graph, errors name node, op and attribute', () => {
  const graph = (op: string, attrs: string, target = 'i64[2]') => parseGraph([
    `kiln.graph @g(%x: f32[2,3], %t: ${target}) -> (%y: f32[]) {`,
    `  %y = ${op}(%x, %t) ${attrs}: f32[]`,
    '  return %y',
    '}',
  ].join('\n'));
  throwsLike(() => inferTypes(graph(SCE, '{reduction="max"} ')),
    /node 'y', op SoftmaxCrossEntropyLoss, attribute 'reduction': must be one of none, sum, mean, got max/);
  throwsLike(() => inferTypes(graph(NLL, '{weight=1} ')),
    /node 'y', op NegativeLogLikelihoodLoss, attribute 'weight': NegativeLogLikelihoodLoss has no attribute 'weight'/);
  throwsLike(() => inferTypes(graph(NLL, '', 'i64[3]')), /node 'y', op NegativeLogLikelihoodLoss: .*target shape \[3\]/);
  const g = inferTypes(graph(NLL, '{ignore_index=-1} '));
  const [y] = runReference(g, { x: x(), t: i64([2], [-1, 1]) });
  close(y, 'f32', [], [5]);
  throwsLike(() => runReference(g, { x: x(), t: i64([2], [4, 1]) }), /node 'y', op NegativeLogLikelihoodLoss: .*out of range/);
});

test('kernels never mutate their inputs', () => {
  const s = t('f32', [2, 3], [1, 2, 3, 4, 5, 6]);
  run(SCE, [s, target(), w()], {}, 2);
  assert.equal(Array.from(s.data as Float32Array), [1, 2, 3, 4, 5, 6]);
  assert.ok(s instanceof Tensor);
});

test.run();
