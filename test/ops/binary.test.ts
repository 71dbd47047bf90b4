import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { cPow } from '../../compiler/ops/binary.ts';
import { big, close, f32, infer, raw, run1, t, ty, vals } from './elementwise-helpers.ts';

// ---- broadcasting and type rules ----

test('Add: same shape, row broadcast, scalar, outer broadcast', () => {
  close(run1('Add', [t('f32', [2, 3], [1, 2, 3, 4, 5, 6]), t('f32', [2, 3], [6, 5, 4, 3, 2, 1])]), 'f32', [2, 3], [7, 7, 7, 7, 7, 7]);
  close(run1('Add', [t('f32', [2, 3], [1, 2, 3, 4, 5, 6]), f32(10, 20, 30)]), 'f32', [2, 3], [11, 22, 33, 14, 25, 36]);
  close(run1('Add', [t('f32', [], [0.5]), t('f32', [2, 2], [1, 2, 3, 4])]), 'f32', [2, 2], [1.5, 2.5, 3.5, 4.5]);
  close(run1('Add', [t('f32', [2, 1], [1, 2]), t('f32', [1, 3], [10, 20, 30])]), 'f32', [2, 3], [11, 21, 31, 12, 22, 32]);
  close(run1('Add', [t('f32', [2, 1, 2], [1, 2, 3, 4]), t('f32', [3, 1], [10, 20, 30])]), 'f32', [2, 3, 2],
    [11, 12, 21, 22, 31, 32, 13, 14, 23, 24, 33, 34]);
});

test('type rule: broadcast with symbolic dims, dtype mismatch and bad shapes', () => {
  assert.equal(infer('Add', [ty('f32', ['N', 3]), ty('f32', [3])]), [ty('f32', ['N', 3])]);
  assert.equal(infer('Mul', [ty('f32', ['N', 1]), ty('f32', [1, 'M'])]), [ty('f32', ['N', 'M'])]);
  assert.equal(infer('Sub', [ty('i64', []), ty('i64', [4, 'K'])]), [ty('i64', [4, 'K'])]);
  assert.throws(() => infer('Add', [ty('f32', [2]), ty('i32', [2])]), /Add input B has dtype i32 but input A has f32/);
  assert.throws(() => infer('Add', [ty('f32', [2, 3]), ty('f32', [4])]), /do not broadcast/);
  assert.throws(() => infer('Add', [ty('bool', [2]), ty('bool', [2])]), /Add input A has dtype bool/);
  assert.throws(() => infer('Div', [ty('str', [2]), ty('str', [2])]), /dtype str/);
  assert.throws(() => run1('Add', [f32(1), t('f64', [1], [1])]), /input B has dtype f64/);
});

// ---- integer semantics ----

test('Add/Sub wrap for narrow ints; i64/u64 are exact and wrap at 64 bits', () => {
  assert.equal(vals(run1('Add', [t('u8', [2], [250, 1]), t('u8', [2], [10, 2])])), [4, 3]);
  assert.equal(vals(run1('Sub', [t('u16', [1], [3]), t('u16', [1], [5])])), [65534]);
  assert.equal(vals(run1('Sub', [t('i16', [1], [-32768]), t('i16', [1], [1])])), [32767]);
  assert.equal(raw(run1('Add', [big('i64', [2], [2n ** 53n + 1n, -5n]), big('i64', [], [1n])])), [2n ** 53n + 2n, -4n]);
  assert.equal(raw(run1('Add', [big('u64', [1], [2n ** 64n - 1n]), big('u64', [1], [1n])])), [0n]);
  assert.equal(raw(run1('Sub', [big('u64', [1], [0n]), big('u64', [1], [1n])])), [2n ** 64n - 1n]);
});

test('Mul keeps the exact low bits of 32- and 64-bit products', () => {
  assert.equal(vals(run1('Mul', [t('i32', [2], [65536, 46341]), t('i32', [2], [65536, 46341])])), [0, -2147479015]);
  assert.equal(vals(run1('Mul', [t('u32', [1], [4294967295]), t('u32', [1], [2])])), [4294967294]);
  assert.equal(raw(run1('Mul', [big('i64', [1], [3037000500n]), big('i64', [1], [3037000500n])])), [-9223372036709301616n]);
  assert.equal(vals(run1('Mul', [t('i8', [1], [16]), t('i8', [1], [16])])), [0]);
});

test('Div: integers truncate toward zero; division by zero gives 0; floats IEEE', () => {
  assert.equal(vals(run1('Div', [t('i32', [4], [7, -7, 7, -7]), t('i32', [4], [2, 2, -2, -2])])), [3, -3, -3, 3]);
  assert.equal(vals(run1('Div', [t('u8', [2], [255, 9]), t('u8', [2], [2, 0])])), [127, 0]);
  assert.equal(raw(run1('Div', [big('i64', [3], [-7n, 7n, 5n]), big('i64', [3], [2n, -2n, 0n])])), [-3n, -3n, 0n]);
  assert.equal(raw(run1('Div', [big('u64', [1], [2n ** 64n - 2n]), big('u64', [1], [2n])])), [2n ** 63n - 1n]);
  close(run1('Div', [f32(1, -1, 0, 3), f32(0, 0, 0, 4)]), 'f32', [4], [Infinity, -Infinity, NaN, 0.75]);
});

test('Mod: fmod=0 takes the divisor sign, fmod=1 the dividend sign (ONNX examples)', () => {
  const x = [-4, 7, 5, 4, -7, 8];
  const y = [2, -3, 8, -2, 3, 5];
  assert.equal(vals(run1('Mod', [t('i32', [6], x), t('i32', [6], y)])), [0, -2, 5, 0, 2, 3]);
  assert.equal(raw(run1('Mod', [big('i64', [6], x.map(BigInt)), big('i64', [6], y.map(BigInt))])), [0n, -2n, 5n, 0n, 2n, 3n]);
  assert.equal(vals(run1('Mod', [t('i8', [6], x), t('i8', [6], y)], { fmod: 1 })), [0, 1, 5, 0, -1, 3]);
  assert.equal(raw(run1('Mod', [big('i64', [6], x.map(BigInt)), big('i64', [6], y.map(BigInt))], { fmod: 1 })), [0n, 1n, 5n, 0n, -1n, 3n]);
  close(run1('Mod', [f32(-4.3, 7.2, 5, 4.3, -7.2, 8), f32(2.1, -3.4, 8, -2.1, 3.4, 5)], { fmod: 1 }), 'f32', [6],
    [-0.10000038146972656, 0.39999961853027344, 5, 0.10000038146972656, -0.39999961853027344, 3]);
  assert.equal(vals(run1('Mod', [t('u16', [2], [7, 7]), t('u16', [], [3])])), [1, 1]);
  assert.equal(vals(run1('Mod', [t('i32', [1], [7]), t('i32', [1], [0])])), [0]);
  // floats with fmod=0 (Mod-28) are floor modulo, as Python's %: the divisor's sign, zeros included
  const floor = vals(run1('Mod', [f32(-4.5, 7, 5, 4, -5), f32(2, -3, 8, -2, Infinity)]));
  assert.equal(floor, [1.5, -2, 5, -0, Infinity]);
  assert.ok(Object.is(floor[3], -0));
  assert.is(infer('Mod', [ty('f16', [1]), ty('f16', [1])])[0].dtype, 'f16');
  assert.throws(() => run1('Mod', [f32(1), f32(2)], { fmod: 2 }), /must be one of 0, 1/);
});

// ---- Pow ----

test('Pow: float bases, broadcast exponent, C pow edge cases', () => {
  close(run1('Pow', [f32(1, 2, 3), f32(4, 5, 6)]), 'f32', [3], [1, 32, 729]);
  close(run1('Pow', [f32(1, 2, 3), t('f32', [], [2])]), 'f32', [3], [1, 4, 9]);
  close(run1('Pow', [t('f32', [2, 3], [1, 2, 3, 4, 5, 6]), f32(1, 2, 3)]), 'f32', [2, 3], [1, 4, 27, 4, 25, 216]);
  assert.is(cPow(1, NaN), 1);
  assert.is(cPow(-1, Infinity), 1);
  assert.ok(Number.isNaN(cPow(-8, 1 / 3)));
});

test('Pow: mixed dtypes keep the base dtype', () => {
  close(run1('Pow', [f32(1, 2, 3), t('i64', [3], [4, 5, 6])]), 'f32', [3], [1, 32, 729]);
  close(run1('Pow', [f32(2, 4), t('u8', [2], [3, 1])]), 'f32', [2], [8, 4]);
  assert.equal(raw(run1('Pow', [big('i64', [3], [1n, 2n, 3n]), f32(4, 5, 6)])), [1n, 32n, 729n]);
  assert.equal(raw(run1('Pow', [big('i64', [2], [3n, 2n]), big('i64', [2], [39n, 62n])])), [4052555153018976267n, 2n ** 62n]);
  assert.equal(vals(run1('Pow', [t('i32', [3], [1, 2, 3]), t('i32', [3], [4, 5, 6])])), [1, 32, 729]);
  assert.equal(vals(run1('Pow', [t('i32', [1], [3]), t('i32', [1], [21])])), [1870418611]); // 3^21 mod 2^32
  assert.equal(vals(run1('Pow', [t('i32', [3], [2, 1, -1]), t('i32', [3], [-1, -3, -3])])), [0, 1, -1]);
  const h = run1('Pow', [t('f16', [2], [2, 0.5]), t('f32', [2], [10, 2])]);
  assert.is(h.dtype, 'f16');
  assert.equal(vals(h), [1024, 0.25]);
  assert.equal(infer('Pow', [ty('f32', ['N', 2]), ty('i64', [2])]), [ty('f32', ['N', 2])]);
  assert.throws(() => infer('Pow', [ty('u8', [1]), ty('u8', [1])]), /Pow input X has dtype u8/);
  assert.throws(() => infer('Pow', [ty('f32', [1]), ty('bool', [1])]), /Pow input Y has dtype bool/);
});

// ---- PRelu ----

test('PRelu: slope broadcast over the last axis; integer PRelu', () => {
  close(run1('PRelu', [t('f32', [2, 2], [-2, -1, 0, 1]), f32(0.1, 0.2)]), 'f32', [2, 2], [-0.2, -0.2, 0, 1], 1e-6);
  close(run1('PRelu', [t('f32', [3], [-1, 2, -3]), t('f32', [], [0.5])]), 'f32', [3], [-0.5, 2, -1.5]);
  close(run1('PRelu', [f32(-Infinity, NaN, Infinity), f32(0.5, 0.5, 0.5)]), 'f32', [3], [-Infinity, NaN, Infinity]);
  assert.equal(vals(run1('PRelu', [t('i32', [2], [-4, 4]), t('i32', [1], [3])])), [-12, 4]);
  assert.equal(raw(run1('PRelu', [big('i64', [2], [-4n, 4n]), big('i64', [1], [3n])])), [-12n, 4n]);
  assert.throws(() => infer('PRelu', [ty('i8', [2]), ty('i8', [2])]), /PRelu input A has dtype i8/);
});

// ---- f16 / bf16 / f64 ----

test('f16, bf16 and f64 arithmetic', () => {
  const h = run1('Add', [t('f16', [2], [1, 2048]), t('f16', [2], [0.5, 1])]);
  assert.is(h.dtype, 'f16');
  assert.equal(vals(h), [1.5, 2048]); // 2049 is not an f16: rounds to even
  const b = run1('Mul', [t('bf16', [1], [3]), t('bf16', [1], [0.5])]);
  assert.equal(raw(b), [0x3fc0]); // 1.5
  const d = run1('Sub', [t('f64', [1], [0.3]), t('f64', [1], [0.1])]);
  assert.equal(vals(d), [0.3 - 0.1]);
});

test('zero-size operands broadcast to a zero-size result', () => {
  const y = run1('Add', [Tensor.zeros('f32', [0, 3]), f32(1, 2, 3)]);
  assert.equal(y.shape, [0, 3]);
  assert.is(y.size, 0);
});

test('kernels never mutate their inputs', () => {
  const a = f32(1, 2);
  const b = f32(3, 4);
  run1('Add', [a, b]);
  run1('Mul', [a, t('f32', [], [2])]);
  assert.equal(vals(a), [1, 2]);
  assert.equal(vals(b), [3, 4]);
});

test.run();
