import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { big, f32, infer, raw, run1, t, ty, vals } from './elementwise-helpers.ts';

const bools = (...v: number[]) => t('bool', [v.length], v);

test('comparisons of floats; NaN compares false', () => {
  const a = f32(1, 2, 3, NaN);
  const b = f32(2, 2, 2, NaN);
  assert.equal(vals(run1('Greater', [a, b])), [0, 0, 1, 0]);
  assert.equal(vals(run1('GreaterOrEqual', [a, b])), [0, 1, 1, 0]);
  assert.equal(vals(run1('Less', [a, b])), [1, 0, 0, 0]);
  assert.equal(vals(run1('LessOrEqual', [a, b])), [1, 1, 0, 0]);
  assert.equal(vals(run1('Equal', [a, b])), [0, 1, 0, 0]);
  assert.is(run1('Equal', [a, b]).dtype, 'bool');
});

test('comparisons broadcast', () => {
  const y = run1('Less', [t('i32', [2, 3], [1, 5, 3, 4, 2, 6]), t('i32', [3], [3, 3, 3])]);
  assert.equal(y.shape, [2, 3]);
  assert.equal(vals(y), [1, 0, 0, 0, 1, 0]);
  assert.equal(infer('Greater', [ty('f32', ['N', 1]), ty('f32', [4])]), [ty('bool', ['N', 4])]);
});

test('64-bit comparisons are exact', () => {
  assert.equal(vals(run1('Equal', [big('i64', [2], [2n ** 53n, 7n]), big('i64', [2], [2n ** 53n + 1n, 7n])])), [0, 1]);
  assert.equal(vals(run1('Greater', [big('u64', [2], [2n ** 64n - 1n, 1n]), big('u64', [], [2n ** 63n])])), [1, 0]);
  assert.equal(vals(run1('LessOrEqual', [big('i64', [2], [-(2n ** 63n), 0n]), big('i64', [1], [-(2n ** 63n)])])), [1, 0]);
});

test('f16 operands compare by value', () => {
  assert.equal(vals(run1('Less', [t('f16', [2], [0.1, 0.2]), t('f16', [2], [0.2, 0.1])])), [1, 0]);
});

test('Equal on strings and bools (ONNX string broadcast example)', () => {
  const s = new Tensor('str', [2], ['string1', 'string2']);
  assert.equal(vals(run1('Equal', [s, new Tensor('str', [1], ['string1'])])), [1, 0]);
  assert.equal(vals(run1('Equal', [bools(1, 0, 1), bools(1, 1, 0)])), [1, 0, 0]);
  assert.throws(() => infer('Greater', [ty('str', [1]), ty('str', [1])]), /Greater input A has dtype str/);
  assert.throws(() => infer('Less', [ty('bool', [1]), ty('bool', [1])]), /dtype bool/);
});

test('And, Or, Xor: truth tables with broadcasting', () => {
  const a = t('bool', [2, 2], [0, 0, 1, 1]);
  const b = bools(0, 1);
  assert.equal(vals(run1('And', [a, b])), [0, 0, 0, 1]);
  assert.equal(vals(run1('Or', [a, b])), [0, 1, 1, 1]);
  assert.equal(vals(run1('Xor', [a, b])), [0, 1, 1, 0]);
  assert.equal(run1('Xor', [a, b]).shape, [2, 2]);
  assert.throws(() => run1('And', [f32(1), f32(1)]), /And input A has dtype f32; expected one of bool/);
});

test('Where: ONNX examples, broadcasting all three inputs', () => {
  const c = t('bool', [2, 2], [1, 0, 1, 1]);
  const y = run1('Where', [c, t('f32', [2, 2], [1, 2, 3, 4]), t('f32', [2, 2], [9, 8, 7, 6])]);
  assert.equal(vals(y), [1, 8, 3, 4]);
  const l = run1('Where', [c, big('i64', [2, 2], [1n, 2n, 3n, 4n]), big('i64', [2, 2], [9n, 8n, 7n, 6n])]);
  assert.equal(raw(l), [1n, 8n, 3n, 4n]);
  const b = run1('Where', [t('bool', [2, 1], [1, 0]), t('f32', [], [5]), f32(1, 2, 3)]);
  assert.equal(b.shape, [2, 3]);
  assert.equal(vals(b), [5, 5, 5, 1, 2, 3]);
  assert.equal(infer('Where', [ty('bool', ['N', 1]), ty('f32', []), ty('f32', [3])]), [ty('f32', ['N', 3])]);
});

test('Where: strings, float8 codes; dtype errors', () => {
  const s = run1('Where', [bools(1, 0), new Tensor('str', [2], ['a', 'b']), new Tensor('str', [1], ['z'])]);
  assert.equal(s.data, ['a', 'z']);
  const q = run1('Where', [bools(0, 1), new Tensor('f8e5m2', [2], Uint8Array.of(1, 2)), new Tensor('f8e5m2', [2], Uint8Array.of(3, 4))]);
  assert.equal(raw(q), [3, 2]);
  assert.throws(() => infer('Where', [ty('i32', [1]), ty('f32', [1]), ty('f32', [1])]), /Where condition has dtype i32/);
  assert.throws(() => infer('Where', [ty('bool', [1]), ty('f32', [1]), ty('f64', [1])]), /input Y has dtype f64 but input X has f32/);
});

test.run();
