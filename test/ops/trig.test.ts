/**
 * Trigonometric and hyperbolic ops (compiler/ops/trig.ts): hand-checked values, out-of-domain NaN,
 * f16 storage, and the float-only dtype rule.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { close, f32, infer, run1, t, ty, vals } from './elementwise-helpers.ts';

test('Tan, Asin, Acos, Atan', () => {
  close(run1('Tan', [f32(0, Math.PI / 4, -Math.PI / 4)]), 'f32', [3], [0, 1, -1]);
  close(run1('Asin', [f32(0, 1, -0.5, 2)]), 'f32', [4], [0, Math.PI / 2, -Math.PI / 6, NaN]);
  close(run1('Acos', [f32(1, 0, -1, -1.5)]), 'f32', [4], [0, Math.PI / 2, Math.PI, NaN]);
  close(run1('Atan', [f32(0, 1, -Infinity)]), 'f32', [3], [0, Math.PI / 4, -Math.PI / 2]);
});

test('Sinh, Cosh, Asinh, Acosh, Atanh', () => {
  const e = Math.E;
  close(run1('Sinh', [f32(0, 1, -1)]), 'f32', [3], [0, (e - 1 / e) / 2, -(e - 1 / e) / 2]);
  close(run1('Cosh', [f32(0, 1, 100)]), 'f32', [3], [1, (e + 1 / e) / 2, Infinity]); // cosh(100) > f32 max
  close(run1('Asinh', [f32(0, (e - 1 / e) / 2)]), 'f32', [2], [0, 1]);
  close(run1('Acosh', [f32(1, (e + 1 / e) / 2, 0.5)]), 'f32', [3], [0, 1, NaN]);
  close(run1('Atanh', [f32(0, 0.5, 1, -1, 2)]), 'f32', [5], [0, 0.5493061443340549, Infinity, -Infinity, NaN]);
});

test('f16 and f64 inputs keep their dtype', () => {
  const y = run1('Cosh', [t('f16', [2], [0, 2])]);
  assert.is(y.dtype, 'f16');
  close(y, 'f16', [2], [1, 3.76220], 1e-3);
  assert.equal(vals(run1('Atan', [t('f64', [1], [1])])), [Math.PI / 4]);
});

test('integer inputs are refused, naming the op', () => {
  for (const op of ['Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh', 'Asinh', 'Acosh', 'Atanh']) {
    assert.throws(() => infer(op, [ty('i32', [2])]), new RegExp(`${op} input has dtype i32`));
  }
  assert.equal(infer('Sinh', [ty('bf16', ['n', 3])]), [ty('bf16', ['n', 3])]);
});

test.run();
