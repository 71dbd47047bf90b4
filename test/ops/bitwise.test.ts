/**
 * Bit-level ops and float classification (compiler/ops/bitwise.ts): BitwiseAnd/Or/Xor/Not on signed,
 * unsigned and 64-bit integers with broadcasting, BitShift, BitCast's byte reinterpretation, IsNaN,
 * IsInf, and their dtype and attribute errors.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KilnError } from '../../compiler/errors.ts';
import { getOp, parseNodeAttrs } from '../../compiler/ops/registry.ts';
import { big, infer, raw, run1, t, ty, vals } from './elementwise-helpers.ts';

test('BitwiseAnd, Or, Xor: signed, unsigned, 64-bit, broadcast', () => {
  assert.equal(vals(run1('BitwiseAnd', [t('i8', [3], [-1, 12, -128]), t('i8', [3], [5, 10, 127])])), [5, 8, 0]);
  assert.equal(vals(run1('BitwiseOr', [t('u8', [2, 2], [1, 2, 240, 0]), t('u8', [2], [4, 15])])), [5, 15, 244, 15]);
  assert.equal(vals(run1('BitwiseXor', [t('u32', [1], [0xffffffff]), t('u32', [2], [1, 0x80000000])])), [0xfffffffe, 0x7fffffff]);
  assert.equal(raw(run1('BitwiseAnd', [big('u64', [1], [2n ** 64n - 1n]), big('u64', [1], [2n ** 63n + 5n])])), [2n ** 63n + 5n]);
  assert.equal(raw(run1('BitwiseXor', [big('i64', [2], [-1n, 6n]), big('i64', [1], [3n])])), [-4n, 5n]);
  assert.throws(() => infer('BitwiseAnd', [ty('f32', [2]), ty('f32', [2])]), /BitwiseAnd input A has dtype f32/);
  assert.throws(() => infer('BitwiseOr', [ty('i32', [2]), ty('i16', [2])]), /input B has dtype i16/);
});

test('BitwiseNot: two\'s complement in the element width', () => {
  assert.equal(vals(run1('BitwiseNot', [t('i16', [2], [0, -5])])), [-1, 4]);
  assert.equal(vals(run1('BitwiseNot', [t('u8', [2], [0, 200])])), [255, 55]);
  assert.equal(raw(run1('BitwiseNot', [big('u64', [1], [5n])])), [2n ** 64n - 6n]);
});

test('BitShift: LEFT wraps to the width, RIGHT is logical; shifts by the width give 0', () => {
  assert.equal(vals(run1('BitShift', [t('u8', [3], [16, 4, 1]), t('u8', [3], [1, 6, 8])], { direction: 'LEFT' })), [32, 0, 0]);
  assert.equal(vals(run1('BitShift', [t('u32', [2], [0x80000001, 1]), t('u32', [2], [1, 31])], { direction: 'LEFT' })), [2, 0x80000000]);
  assert.equal(vals(run1('BitShift', [t('u16', [2], [65535, 8]), t('u16', [1], [4])], { direction: 'RIGHT' })), [4095, 0]);
  assert.equal(raw(run1('BitShift', [big('u64', [2], [1n, 2n ** 63n]), big('u64', [2], [63n, 64n])], { direction: 'LEFT' })), [2n ** 63n, 0n]);
  assert.throws(() => infer('BitShift', [ty('i32', [1]), ty('i32', [1])], { direction: 'LEFT' }), /BitShift input A has dtype i32/);
});

test('BitCast reinterprets bytes between dtypes of one width', () => {
  assert.equal(vals(run1('BitCast', [t('f32', [2], [1, -2])], { to: 6 })), [0x3f800000, -0x40000000]);
  assert.equal(vals(run1('BitCast', [t('i8', [2], [-1, 5])], { to: 2 })), [255, 5]);
  assert.equal(vals(run1('BitCast', [t('bool', [2], [1, 0])], { to: 2 })), [1, 0]);
  const d = run1('BitCast', [big('i64', [1], [0x3ff0000000000000n])], { to: 11 });
  assert.is(d.dtype, 'f64');
  assert.equal(vals(d), [1]);
  assert.equal(infer('BitCast', [ty('u16', ['n', 2])], { to: 10 }), [ty('f16', ['n', 2])]);
  assert.throws(() => infer('BitCast', [ty('f32', [2])], { to: 5 }), /BitCast to i16 \(16 bits\) from input dtype f32 \(32 bits\)/);
  assert.throws(() => infer('BitCast', [ty('str', [2])], { to: 8 }), /cannot reinterpret str/);
});

test('IsNaN and IsInf return bool; detect_negative / detect_positive select the infinities', () => {
  const x = t('f32', [5], [1, NaN, Infinity, -Infinity, 0]);
  const nan = run1('IsNaN', [x]);
  assert.is(nan.dtype, 'bool');
  assert.equal(vals(nan), [0, 1, 0, 0, 0]);
  assert.equal(vals(run1('IsInf', [x])), [0, 0, 1, 1, 0]);
  assert.equal(vals(run1('IsInf', [x], { detect_negative: 0 })), [0, 0, 1, 0, 0]);
  assert.equal(vals(run1('IsInf', [x], { detect_positive: 0 })), [0, 0, 0, 1, 0]);
  assert.equal(vals(run1('IsInf', [t('f16', [2], [Infinity, 65504])])), [1, 0]);
  assert.equal(infer('IsNaN', [ty('bf16', ['n'])]), [ty('bool', ['n'])]);
  assert.throws(() => infer('IsNaN', [ty('i32', [1])]), /IsNaN input has dtype i32/);
});

test('attribute errors name node, op and attribute', () => {
  const check = (op: string, attrs: Parameters<typeof parseNodeAttrs>[1], attribute: string, text: RegExp) => {
    try {
      parseNodeAttrs(getOp(op), attrs, 'n7');
    } catch (e) {
      assert.instance(e, KilnError);
      assert.equal((e as KilnError).place, { node: 'n7', op, attribute });
      assert.match((e as Error).message, text);
      return;
    }
    assert.unreachable(`${op} accepted ${JSON.stringify(attrs)}`);
  };
  check('BitShift', {}, 'direction', /required/);
  check('BitShift', { direction: { kind: 'string', value: 'UP' } }, 'direction', /LEFT, RIGHT/);
  check('IsInf', { detect_negative: { kind: 'int', value: 2 } }, 'detect_negative', /0, 1/);
  check('BitCast', {}, 'to', /required/);
  check('BitCast', { to: { kind: 'int', value: 14 } }, 'to', /COMPLEX64/);
});

test.run();
