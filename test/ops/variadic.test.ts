import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { big, close, f32, infer, raw, run1, t, ty, vals } from './elementwise-helpers.ts';

const a = f32(3, 0, 2);
const b = f32(1, 3, 4);
const c = f32(2, 6, 6);

test('Sum and Mean: ONNX examples, one input, broadcasting', () => {
  close(run1('Sum', [a, b, c]), 'f32', [3], [6, 9, 12]);
  close(run1('Mean', [a, b, c]), 'f32', [3], [2, 3, 4]);
  const one = run1('Sum', [a]);
  assert.equal(vals(one), [3, 0, 2]);
  assert.ok(one.data !== a.data);
  close(run1('Sum', [t('f32', [2, 1], [1, 2]), f32(10, 20, 30), t('f32', [], [100])]), 'f32', [2, 3],
    [111, 121, 131, 112, 122, 132]);
  close(run1('Mean', [t('f64', [1], [1]), t('f64', [2], [2, 4])]), 'f64', [2], [1.5, 2.5]);
});

test('Max and Min: ONNX examples; NaN propagates', () => {
  close(run1('Max', [f32(3, 2, 1), f32(1, 4, 4), f32(2, 5, 3)]), 'f32', [3], [3, 5, 4]);
  close(run1('Min', [f32(3, 2, 1), f32(1, 4, 4), f32(2, 5, 3)]), 'f32', [3], [1, 2, 1]);
  close(run1('Max', [f32(1, NaN, 3), f32(NaN, 2, 1)]), 'f32', [3], [NaN, NaN, 3]);
  close(run1('Min', [f32(1, NaN, 3), f32(NaN, 2, 1)]), 'f32', [3], [NaN, NaN, 1]);
});

test('Max and Min on integers, i64/u64 exact, f16', () => {
  assert.equal(vals(run1('Max', [t('i8', [3], [-128, 5, 0]), t('i8', [1], [-1])])), [-1, 5, 0]);
  assert.equal(vals(run1('Min', [t('u32', [2], [4294967295, 3]), t('u32', [2], [4294967294, 4])])), [4294967294, 3]);
  assert.equal(raw(run1('Max', [big('i64', [2], [2n ** 53n + 1n, -3n]), big('i64', [2], [2n ** 53n, -4n])])), [2n ** 53n + 1n, -3n]);
  assert.equal(raw(run1('Min', [big('u64', [2], [2n ** 64n - 1n, 0n]), big('u64', [1], [2n ** 63n])])), [2n ** 63n, 0n]);
  const h = run1('Max', [t('f16', [2], [0.5, -2]), t('f16', [2], [0.25, 8])]);
  assert.is(h.dtype, 'f16');
  assert.equal(vals(h), [0.5, 8]);
});

test('variadic type rules', () => {
  assert.equal(infer('Sum', [ty('f32', ['N', 1]), ty('f32', [3]), ty('f32', [])]), [ty('f32', ['N', 3])]);
  assert.equal(infer('Max', [ty('i64', [2])]), [ty('i64', [2])]);
  assert.throws(() => infer('Sum', [ty('i32', [2]), ty('i32', [2])]), /Sum input 0 has dtype i32/);
  assert.throws(() => infer('Max', [ty('f32', [2]), ty('f16', [2])]), /input 1 has dtype f16 but input 0 has f32/);
  assert.throws(() => infer('Min', [ty('bool', [2])]), /dtype bool/);
});

test('Clip: ONNX examples, min > max, omitted bounds, NaN', () => {
  close(run1('Clip', [f32(-2, 0, 2), t('f32', [], [-1]), t('f32', [], [1])]), 'f32', [3], [-1, 0, 1]);
  close(run1('Clip', [f32(-2, 0, 6), t('f32', [], [2]), t('f32', [], [1])]), 'f32', [3], [1, 1, 1]);
  close(run1('Clip', [f32(-2, 0, 6), undefined, t('f32', [], [1])]), 'f32', [3], [-2, 0, 1]);
  close(run1('Clip', [f32(-2, 0, 6), t('f32', [], [0])]), 'f32', [3], [0, 0, 6]);
  close(run1('Clip', [f32(-2, 0, 6)]), 'f32', [3], [-2, 0, 6]);
  close(run1('Clip', [f32(NaN, 5), t('f32', [1], [0]), t('f32', [1], [1])]), 'f32', [2], [NaN, 1]);
  close(run1('Clip', [f32(-Infinity, Infinity, 3), t('f32', [], [0]), t('f32', [], [6])]), 'f32', [3], [0, 6, 3]);
});

test('Clip on integers and i64; bound errors', () => {
  assert.equal(vals(run1('Clip', [t('i8', [4], [-128, -1, 0, 127]), undefined, t('i8', [], [0])])), [-128, -1, 0, 0]);
  assert.equal(raw(run1('Clip', [big('i64', [3], [-(2n ** 62n), 5n, 2n ** 62n]), big('i64', [], [0n]), big('i64', [], [10n])])),
    [0n, 5n, 10n]);
  const h = run1('Clip', [t('f16', [2], [-3, 3]), t('f16', [], [-1]), t('f16', [], [2])]);
  assert.equal(vals(h), [-1, 2]);
  assert.throws(() => run1('Clip', [f32(1), f32(0, 1)]), /Clip min must be a scalar/);
  assert.throws(() => infer('Clip', [ty('f32', [2]), ty('f64', [])]), /Clip min has dtype f64 but input has f32/);
  assert.equal(infer('Clip', [ty('u16', ['N']), undefined, ty('u16', [])]), [ty('u16', ['N'])]);
});

test.run();
