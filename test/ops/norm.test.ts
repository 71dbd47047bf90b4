/**
 * BatchNormalization (inference), LayerNormalization (Y, Mean, InvStdDev) and InstanceNormalization:
 * hand-computed values, broadcasting of scale/bias, the training-mode error and shape rules.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { attrErrorLike, close, infer, parse, rand, run, run1, t, throwsLike, ty, vals } from './compute-helpers.ts';

test('BatchNormalization inference: (x - mean) / sqrt(var + eps) * scale + B per channel', () => {
  const x = t('f32', [1, 2, 1, 3], [-1, 0, 1, 2, 3, 4]);
  const scale = t('f32', [2], [1, 1.5]), bias = t('f32', [2], [0, 1]);
  const mean = t('f32', [2], [0, 3]), variance = t('f32', [2], [1, 1.5]);
  const eps = 1e-5;
  const exp = [-1, 0, 1].map((v) => v / Math.sqrt(1 + eps)).concat([2, 3, 4].map((v) => ((v - 3) / Math.sqrt(1.5 + eps)) * 1.5 + 1));
  close(run1('BatchNormalization', [x, scale, bias, mean, variance]), 'f32', [1, 2, 1, 3], exp, 1e-6);
  // epsilon attribute and a 2-D input [N, C]
  const y = run1('BatchNormalization', [t('f32', [2, 1], [2, 4]), t('f32', [1], [2]), t('f32', [1], [1]), t('f32', [1], [3]), t('f32', [1], [3])],
    { epsilon: 1.0 });
  close(y, 'f32', [2, 1], [0, 2], 1e-6);
});

test('BatchNormalization f16 input, f64 input', () => {
  const y = run1('BatchNormalization', [t('f16', [1, 1, 2], [1, 3]), t('f16', [1], [2]), t('f16', [1], [0.5]), t('f16', [1], [2]), t('f16', [1], [1])],
    { epsilon: 0.0 });
  close(y, 'f16', [1, 1, 2], [-1.5, 2.5]);
  const d = run1('BatchNormalization', [t('f64', [1, 1, 1], [5]), t('f64', [1], [1]), t('f64', [1], [0]), t('f64', [1], [1]), t('f64', [1], [4])],
    { epsilon: 0.0 });
  assert.ok(d.data instanceof Float64Array);
  close(d, 'f64', [1, 1, 1], [2], 1e-15);
});

test('BatchNormalization training mode uses batch statistics; shape rule checks per-channel inputs', () => {
  const c = ty('f32', [3]);
  const x = ty('f32', ['N', 3, 'H', 'W']);
  assert.equal(infer('BatchNormalization', [x, c, c, c, c])[0].shape, ['N', 3, 'H', 'W']);
  // training-mode models still type-check (so they import), with running_mean / running_var of shape [C]
  assert.equal(infer('BatchNormalization', [x, c, c, c, c], { training_mode: 1 }, 3), [ty('f32', ['N', 3, 'H', 'W']), c, c]);
  // x over (N=2, C=1, 2): batch mean 2.5, population variance 1.25; running stats mix with momentum 0.5
  const one = t('f32', [1], [1]), zero = t('f32', [1], [0]);
  const [y, rm, rv] = run('BatchNormalization', [t('f32', [2, 1, 2], [1, 2, 3, 4]), one, zero, zero, one],
    { training_mode: 1, momentum: 0.5, epsilon: 0 }, 3);
  const sd = Math.sqrt(1.25);
  close(y, 'f32', [2, 1, 2], [-1.5 / sd, -0.5 / sd, 0.5 / sd, 1.5 / sd], 1e-6);
  close(rm, 'f32', [1], [1.25]);
  close(rv, 'f32', [1], [1.125]);
  throwsLike(() => infer('BatchNormalization', [ty('f32', [1, 3, 4, 4]), c, c, ty('f32', [4]), c]), /input_mean \[4\] must be 1-D of size C = 3/);
  throwsLike(() => infer('BatchNormalization', [ty('f32', [1, 3, 4, 4]), c, c, c, c], {}, 3), /only with training_mode=1/);
});

test('LayerNormalization over the last axis with Mean and InvStdDev outputs', () => {
  const x = t('f32', [2, 3], [1, 2, 3, 2, 4, 12]);
  const scale = t('f32', [3], [1, 2, 3]), bias = t('f32', [3], [0, 0, 1]);
  const [y, mean, inv] = run('LayerNormalization', [x, scale, bias], {}, 3);
  const eps = 1e-5;
  const i0 = 1 / Math.sqrt(2 / 3 + eps), i1 = 1 / Math.sqrt(56 / 3 + eps);
  close(y, 'f32', [2, 3], [-1 * i0, 0, 3 * i0 + 1, -4 * i1, -2 * 2 * i1, 6 * 3 * i1 + 1], 1e-5);
  close(mean, 'f32', [2, 1], [2, 6]);
  close(inv, 'f32', [2, 1], [i0, i1], 1e-6);
});

test('LayerNormalization axis, broadcast scale, no bias, matches a direct computation', () => {
  const x = rand('f32', [2, 3, 4, 5], 3), scale = rand('f32', [4, 1], 4);
  for (const axis of [2, -2]) {
    const [y, mean, inv] = run('LayerNormalization', [x, scale], { axis, epsilon: 1e-3 }, 3);
    const xv = vals(x), sv = vals(scale), exp: number[] = [], means: number[] = [], invs: number[] = [];
    for (let r = 0; r < 6; r++) {
      const row = xv.slice(r * 20, r * 20 + 20);
      const m = row.reduce((a, b) => a + b, 0) / 20;
      const v = row.reduce((a, b) => a + (b - m) ** 2, 0) / 20;
      const is = 1 / Math.sqrt(v + 1e-3);
      means.push(m); invs.push(is);
      row.forEach((val, i) => exp.push((val - m) * is * sv[Math.floor(i / 5)]));
    }
    close(y, 'f32', [2, 3, 4, 5], exp, 1e-5);
    close(mean, 'f32', [2, 3, 1, 1], means, 1e-6);
    close(inv, 'f32', [2, 3, 1, 1], invs, 1e-5);
  }
});

test('LayerNormalization shape rule', () => {
  const ts = infer('LayerNormalization', [ty('f16', ['N', 'S', 256]), ty('f16', [256]), ty('f16', [256])], {}, 3);
  assert.equal(ts, [ty('f16', ['N', 'S', 256]), ty('f32', ['N', 'S', 1]), ty('f32', ['N', 'S', 1])]);
  assert.equal(infer('LayerNormalization', [ty('f32', [2, 3, 4]), ty('f32', [3, 4])], { axis: 1 }, 2)[1].shape, [2, 1, 1]);
  throwsLike(() => infer('LayerNormalization', [ty('f32', [2, 3, 4]), ty('f32', [3])]), /Scale \[3\] does not broadcast to the normalized shape \[4\]/);
  throwsLike(() => infer('LayerNormalization', [ty('f32', [2, 3]), ty('f32', [3])], { axis: 2 }), /axis 2 is out of range/);
  attrErrorLike(() => parse('LayerNormalization', { stash_type: 7 }), 'stash_type', /float type code/);
});

test('InstanceNormalization normalises each (n, c) over the spatial axes', () => {
  const x = t('f32', [1, 2, 2, 2], [1, 2, 3, 4, 0, 0, 10, 10]);
  const scale = t('f32', [2], [1, 2]), bias = t('f32', [2], [0, 1]);
  const eps = 1e-5;
  const i0 = 1 / Math.sqrt(1.25 + eps), i1 = 1 / Math.sqrt(25 + eps);
  close(run1('InstanceNormalization', [x, scale, bias]), 'f32', [1, 2, 2, 2],
    [-1.5 * i0, -0.5 * i0, 0.5 * i0, 1.5 * i0, -5 * i1 * 2 + 1, -5 * i1 * 2 + 1, 5 * i1 * 2 + 1, 5 * i1 * 2 + 1], 1e-6);
  assert.equal(infer('InstanceNormalization', [ty('f32', ['N', 2, 'H', 'W']), ty('f32', [2]), ty('f32', [2])])[0].shape, ['N', 2, 'H', 'W']);
  throwsLike(() => infer('InstanceNormalization', [ty('f32', [1, 2, 3]), ty('f32', [3]), ty('f32', [2])]), /scale \[3\] must be 1-D of size C = 2/);
});

test.run();
