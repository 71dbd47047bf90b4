/**
 * LRN, LpNormalization, MeanVarianceNormalization, GroupNormalization (per-channel and opset-18
 * per-group scale) and RMSNormalization: hand-computed values, shape rules, and attribute errors
 * (parsed attributes name the attribute; through inferTypes the error names node, op and attribute).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KilnError } from '../../compiler/errors.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { inferTypes } from '../../compiler/ops/infer.ts';
import { attrErrorLike, close, infer, parse, run1, t, throwsLike, ty } from './compute-helpers.ts';

/** Type-checks a one-node graph and returns the KilnError it raises. */
function graphError(src: string): KilnError {
  try {
    inferTypes(parseGraph(src));
  } catch (e) {
    assert.instance(e, KilnError);
    return e as KilnError;
  }
  return assert.unreachable('expected a KilnError') as never;
}

test('LRN sums squares over the channel window [c - floor((size-1)/2), c + ceil((size-1)/2)]', () => {
  const x = t('f32', [1, 3, 1, 1], [1, 2, 3]);
  // size 3: windows {0,1}, {0,1,2}, {1,2}; alpha/size = 1, beta 1, bias 1
  close(run1('LRN', [x], { size: 3, alpha: 3.0, beta: 1.0, bias: 1.0 }), 'f32', [1, 3, 1, 1], [1 / 6, 2 / 15, 3 / 14], 1e-6);
  // size 2 (even): windows {0,1}, {1,2}, {2}; alpha/size = 1, beta 0.5, bias 0
  close(run1('LRN', [x], { size: 2, alpha: 2.0, beta: 0.5, bias: 0.0 }), 'f32', [1, 3, 1, 1], [1 / Math.sqrt(5), 2 / Math.sqrt(13), 1], 1e-6);
  // defaults alpha 1e-4, beta 0.75, bias 1; spatial positions are independent
  const y = run1('LRN', [t('f32', [1, 2, 1, 2], [1, 10, 2, 0])], { size: 1 });
  close(y, 'f32', [1, 2, 1, 2], [1 / (1 + 1e-4) ** 0.75, 10 / (1 + 1e-2) ** 0.75, 2 / (1 + 4e-4) ** 0.75, 0], 1e-6);
  attrErrorLike(() => parse('LRN', {}), 'size', /required/);
  attrErrorLike(() => parse('LRN', { size: 0 }), 'size', /must be >= 1/);
  throwsLike(() => infer('LRN', [ty('f32', [4])], { size: 3 }), /LRN: X must have rank >= 2/);
});

test('LpNormalization p=2 and p=1 along an axis; a zero norm gives 0', () => {
  const x = t('f32', [2, 2], [3, 4, -6, 8]);
  close(run1('LpNormalization', [x]), 'f32', [2, 2], [0.6, 0.8, -0.6, 0.8], 1e-6);
  close(run1('LpNormalization', [x], { p: 1, axis: 0 }), 'f32', [2, 2], [1 / 3, 1 / 3, -2 / 3, 2 / 3], 1e-6);
  close(run1('LpNormalization', [t('f64', [2, 2], [0, 0, 1, 1])], { p: 1 }), 'f64', [2, 2], [0, 0, 0.5, 0.5], 1e-15);
  attrErrorLike(() => parse('LpNormalization', { p: 3 }), 'p', /must be 1 or 2/);
  throwsLike(() => infer('LpNormalization', [ty('f32', [2, 2])], { axis: 2 }), /axis 2 is out of range for rank 2/);
  assert.equal(infer('LpNormalization', [ty('f16', ['N', 8])])[0], ty('f16', ['N', 8]));
});

test('MeanVarianceNormalization: (x - mean) / (std + 1e-9) over axes [0, 2, 3] by default', () => {
  // channel 0: mean 2, std 1; channel 1 is constant (std 0): 0 / 1e-9 = 0
  const x = t('f32', [1, 2, 1, 2], [1, 3, 2, 2]);
  close(run1('MeanVarianceNormalization', [x]), 'f32', [1, 2, 1, 2], [-1, 1, 0, 0], 1e-6);
  // axes [1]: per (n, h, w) over the channels
  const y = run1('MeanVarianceNormalization', [t('f32', [1, 2, 1, 2], [1, 3, 3, 7])], { axes: [1] });
  close(y, 'f32', [1, 2, 1, 2], [-1, -1, 1, 1], 1e-6);
  throwsLike(() => infer('MeanVarianceNormalization', [ty('f32', [2, 3, 4])]), /axes entry 3 is out of range for rank 3/);
  throwsLike(() => infer('MeanVarianceNormalization', [ty('f32', [2, 3])], { axes: [1, -1] }), /has duplicates/);
});

test('GroupNormalization: statistics per group of C/G channels, scale and B per channel or per group', () => {
  const eps = 1e-5;
  const x = t('f32', [1, 4, 1, 1], [1, 3, 5, 9]);
  // group 0: {1, 3} mean 2, var 1; group 1: {5, 9} mean 7, var 4
  const i0 = 1 / Math.sqrt(1 + eps), i1 = 1 / Math.sqrt(4 + eps);
  const y = run1('GroupNormalization', [x, t('f32', [4], [1, 2, 3, 4]), t('f32', [4], [0, 0, 1, 1])], { num_groups: 2 });
  close(y, 'f32', [1, 4, 1, 1], [-i0, 2 * i0, -3 * 2 * i1 + 1, 4 * 2 * i1 + 1], 1e-6);
  // opset 18's per-group scale/B: [G]
  const g = run1('GroupNormalization', [x, t('f32', [2], [10, 20]), t('f32', [2], [0, 1])], { num_groups: 2, epsilon: 0.0 });
  close(g, 'f32', [1, 4, 1, 1], [-10, 10, -20 + 1, 20 + 1], 1e-6);
  // one group over (C, H, W) of each batch item
  const one = run1('GroupNormalization', [t('f32', [2, 2, 1, 1], [0, 2, 5, 5]), t('f32', [2], [1, 1]), t('f32', [2], [0, 0])], { num_groups: 1, epsilon: 0.0 });
  close(one, 'f32', [2, 2, 1, 1], [-1, 1, NaN, NaN]);
  assert.equal(infer('GroupNormalization', [ty('f32', ['N', 4, 'H', 'W']), ty('f32', [4]), ty('f32', [4])], { num_groups: 2 })[0].shape, ['N', 4, 'H', 'W']);
  attrErrorLike(() => parse('GroupNormalization', {}), 'num_groups', /required/);
  attrErrorLike(() => parse('GroupNormalization', { num_groups: 2, stash_type: 3 }), 'stash_type', /float type code/);
  throwsLike(() => infer('GroupNormalization', [ty('f32', [1, 4, 2]), ty('f32', [3]), ty('f32', [4])], { num_groups: 2 }),
    /scale \[3\] must be 1-D of size C = 4/);
  const e = graphError('kiln.graph @g(%x: f32[1,6,2,2], %s: f32[6], %b: f32[6]) -> (%0: f32[1,6,2,2]) {\n' +
    '  %0 = GroupNormalization(%x, %s, %b) {num_groups=4} : f32[1,6,2,2] loc("/gn")\n  return %0\n}');
  assert.is(e.place.op, 'GroupNormalization');
  assert.is(e.place.node, '0');
  assert.match(e.message, /num_groups 4 does not divide the 6 channels/);
});

test('RMSNormalization: x / sqrt(mean(x²) + eps) · scale over the trailing dims from axis', () => {
  const x = t('f32', [2, 2], [3, 4, 1, 1]);
  const r = Math.sqrt(12.5);
  close(run1('RMSNormalization', [x, t('f32', [2], [1, 2])], { epsilon: 0.0 }), 'f32', [2, 2], [3 / r, 8 / r, 1, 2], 1e-6);
  // axis 0: one row of all four elements, mean(x²) = 27/4; scale broadcast from [1, 2]
  const q = Math.sqrt(27 / 4 + 1e-5);
  close(run1('RMSNormalization', [x, t('f32', [1, 2], [1, 2])], { axis: 0 }), 'f32', [2, 2], [3 / q, 8 / q, 1 / q, 2 / q], 1e-6);
  assert.equal(infer('RMSNormalization', [ty('f16', ['N', 'S', 64]), ty('f16', [64])], { stash_type: 1 })[0], ty('f16', ['N', 'S', 64]));
  throwsLike(() => infer('RMSNormalization', [ty('f32', [2, 3, 4]), ty('f32', [3])]), /scale \[3\] does not broadcast to the normalized shape \[4\]/);
  throwsLike(() => infer('RMSNormalization', [ty('f32', [2, 3]), ty('f32', [3])], { axis: -3 }), /axis -3 is out of range/);
  const e = graphError('kiln.graph @g(%x: f32[2,4], %s: f32[4]) -> (%0: f32[2,4]) {\n' +
    '  %0 = RMSNormalization(%x, %s) {stash_type=2} : f32[2,4] loc("/rms")\n  return %0\n}');
  assert.equal([e.place.node, e.place.op, e.place.attribute], ['0', 'RMSNormalization', 'stash_type']);
});

test.run();
