/**
 * Softmax and LogSoftmax (opset-13 semantics): hand-computed values, every axis of a 3-D tensor
 * against a direct computation, numerical stability for large inputs, dtypes and shape rules; Hardmax
 * (one-hot of the first maximum) on each axis.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { close, infer, rand, run1, t, throwsLike, ty, vals } from './compute-helpers.ts';

test('Softmax / LogSoftmax of [1, 2, 3] by hand', () => {
  const s = Math.exp(1) + Math.exp(2) + Math.exp(3);
  const x = t('f32', [1, 3], [1, 2, 3]);
  close(run1('Softmax', [x]), 'f32', [1, 3], [Math.exp(1) / s, Math.exp(2) / s, Math.exp(3) / s], 1e-6);
  close(run1('LogSoftmax', [x]), 'f32', [1, 3], [1 - Math.log(s), 2 - Math.log(s), 3 - Math.log(s)], 1e-6);
});

test('large inputs stay finite (max subtraction)', () => {
  const x = t('f32', [1, 3], [10000, 10001, 10002]);
  const s = 1 + Math.exp(1) + Math.exp(2);
  close(run1('Softmax', [x]), 'f32', [1, 3], [1 / s, Math.exp(1) / s, Math.exp(2) / s], 1e-6);
  close(run1('LogSoftmax', [x]), 'f32', [1, 3], [-Math.log(s), 1 - Math.log(s), 2 - Math.log(s)], 1e-5);
  close(run1('Softmax', [t('f32', [2], [-Infinity, 0])]), 'f32', [2], [0, 1]);
});

test('every axis of a 3-D tensor (positive and negative) matches a direct computation', () => {
  const shape = [2, 3, 4];
  const x = rand('f32', shape, 3);
  const xv = vals(x);
  for (const axis of [0, 1, 2, -1, -2, -3]) {
    const ax = (axis + 3) % 3;
    const strides = [12, 4, 1];
    const soft: number[] = [], logs: number[] = [];
    for (let f = 0; f < 24; f++) {
      const idx = [Math.floor(f / 12), Math.floor(f / 4) % 3, f % 4];
      let sum = 0;
      for (let k = 0; k < shape[ax]; k++) sum += Math.exp(xv[f + (k - idx[ax]) * strides[ax]]);
      soft.push(Math.exp(xv[f]) / sum);
      logs.push(xv[f] - Math.log(sum));
    }
    close(run1('Softmax', [x], { axis }), 'f32', shape, soft, 1e-6);
    close(run1('LogSoftmax', [x], { axis }), 'f32', shape, logs, 1e-6);
  }
});

test('dtypes: f16 through f32, f64 in f64; zero-size input', () => {
  close(run1('Softmax', [t('f16', [2], [0, 0])]), 'f16', [2], [0.5, 0.5]);
  const d = run1('LogSoftmax', [t('f64', [2], [0, 0])]);
  assert.ok(d.data instanceof Float64Array);
  close(d, 'f64', [2], [-Math.LN2, -Math.LN2], 1e-15);
  close(run1('Softmax', [t('f32', [0, 3], [])]), 'f32', [0, 3], []);
});

test('shape rule keeps the type; axis out of range and integer inputs are errors', () => {
  assert.equal(infer('Softmax', [ty('f32', ['N', 4, 'S', 'S'])], { axis: -1 })[0], ty('f32', ['N', 4, 'S', 'S']));
  throwsLike(() => infer('Softmax', [ty('f32', [2, 3])], { axis: 2 }), /axis 2 is out of range for rank 2/);
  throwsLike(() => infer('LogSoftmax', [ty('i32', [2, 3])]), /dtype i32/);
});

test('Hardmax marks the first maximum of each line along the axis', () => {
  const x = t('f32', [2, 3], [1, 3, 3, -1, -5, -2]);
  close(run1('Hardmax', [x]), 'f32', [2, 3], [0, 1, 0, 1, 0, 0]);
  close(run1('Hardmax', [x], { axis: 0 }), 'f32', [2, 3], [1, 1, 1, 0, 0, 0]);
  // a line of -inf still marks its first element; f16 in, f16 out
  close(run1('Hardmax', [t('f16', [1, 2], [-Infinity, -Infinity])]), 'f16', [1, 2], [1, 0]);
  assert.equal(infer('Hardmax', [ty('f32', ['N', 10])])[0], ty('f32', ['N', 10]));
  throwsLike(() => infer('Hardmax', [ty('f32', [2, 3])], { axis: -3 }), /axis -3 is out of range for rank 2/);
});

test.run();
