/**
 * The activations of compiler/ops/activation-ext.ts: Selu, Celu, Mish, Swish, Softsign, Shrink,
 * ThresholdedRelu and SwiGLU, on hand-checked values (ONNX formulas), attribute defaults and
 * overrides, and the attribute and shape errors (named attribute; node and op through the importer's
 * parseNodeAttrs).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KilnError } from '../../compiler/errors.ts';
import { getOp, parseNodeAttrs } from '../../compiler/ops/registry.ts';
import { close, f32, infer, run1, t, ty, vals } from './elementwise-helpers.ts';

const sig = (v: number) => 1 / (1 + Math.exp(-v));

test('Selu: ONNX default alpha and gamma; attributes override them', () => {
  const a = 1.67326319217681884765625, g = 1.05070102214813232421875;
  close(run1('Selu', [f32(-1, 0, 2)]), 'f32', [3], [g * a * (Math.exp(-1) - 1), 0, g * 2]);
  close(run1('Selu', [f32(-1, 0, 1)], { alpha: 2.0, gamma: 3.0 }), 'f32', [3], [-3.79272, 0, 3], 1e-5); // ONNX example
});

test('Celu: max(0,x) + min(0, alpha(exp(x/alpha) - 1)); alpha 0 is refused', () => {
  close(run1('Celu', [f32(-2, 0, 1.5)]), 'f32', [3], [Math.expm1(-2), 0, 1.5]);
  close(run1('Celu', [f32(-2, 3)], { alpha: 2.0 }), 'f32', [2], [2 * Math.expm1(-1), 3]);
  assert.throws(() => run1('Celu', [f32(1)], { alpha: 0.0 }), /must not be 0/);
});

test('Mish and Swish, including values whose naive forms overflow', () => {
  const mish = (v: number) => v * Math.tanh(Math.log1p(Math.exp(v)));
  close(run1('Mish', [f32(-1, 0, 1, 1000, -1000)]), 'f32', [5], [mish(-1), 0, mish(1), 1000, -0]);
  close(run1('Swish', [f32(-1, 0, 2, -1000)]), 'f32', [4], [-sig(-1), 0, 2 * sig(2), -0]);
  close(run1('Swish', [f32(1, -2)], { alpha: 0.5 }), 'f32', [2], [sig(0.5), -2 * sig(-1)]);
});

test('Softsign and ThresholdedRelu', () => {
  close(run1('Softsign', [f32(-1, 0, 3, Infinity)]), 'f32', [4], [-0.5, 0, 0.75, NaN]);
  close(run1('ThresholdedRelu', [f32(-1, 1, 1.5, 3)]), 'f32', [4], [0, 0, 1.5, 3]);
  close(run1('ThresholdedRelu', [f32(-1, 1, 1.5, 3)], { alpha: 2.0 }), 'f32', [4], [0, 0, 0, 3]);
});

test('Shrink: soft (bias = lambd) and hard; integer inputs', () => {
  close(run1('Shrink', [f32(-2, -1, 0, 1, 2)], { lambd: 1.5, bias: 1.5 }), 'f32', [5], [-0.5, 0, 0, 0, 0.5]);
  close(run1('Shrink', [f32(-2, -0.5, 0.5, 2)]), 'f32', [4], [-2, 0, 0, 2]); // lambd 0.5, bias 0: hard
  assert.equal(vals(run1('Shrink', [t('i32', [3], [-5, 1, 5])], { lambd: 1.5, bias: 1.0 })), [-4, 0, 4]);
});

test('SwiGLU: Swish(A)·B with the same alpha; shapes must match', () => {
  close(run1('SwiGLU', [f32(1, -2, 0), f32(2, 3, 4)]), 'f32', [3], [2 * sig(1), -6 * sig(-2), 0]);
  close(run1('SwiGLU', [f32(1), f32(2)], { alpha: 1.702 }), 'f32', [1], [2 * sig(1.702)]);
  assert.equal(infer('SwiGLU', [ty('f16', ['n', 4]), ty('f16', [2, 4])]), [ty('f16', [2, 4])]);
  assert.throws(() => infer('SwiGLU', [ty('f32', [2, 4]), ty('f32', [1, 4])]), /same shape \(no broadcasting\)/);
  assert.throws(() => infer('SwiGLU', [ty('f32', [2]), ty('f16', [2])]), /input B has dtype f16/);
  assert.throws(() => run1('SwiGLU', [f32(1, 2), f32(1)]), /same shape/);
});

test('float-only activations refuse integers, naming op and input', () => {
  for (const op of ['Selu', 'Celu', 'Mish', 'Swish', 'Softsign', 'ThresholdedRelu']) {
    assert.throws(() => infer(op, [ty('i64', [2])]), new RegExp(`${op} input has dtype i64`));
  }
  assert.throws(() => infer('Shrink', [ty('bool', [2])]), /Shrink input has dtype bool/);
});

test('attribute errors name node, op and attribute', () => {
  const check = (op: string, attrs: Parameters<typeof parseNodeAttrs>[1], attribute: string) => {
    try {
      parseNodeAttrs(getOp(op), attrs, 'n1');
    } catch (e) {
      assert.instance(e, KilnError);
      assert.equal((e as KilnError).place, { node: 'n1', op, attribute });
      return;
    }
    assert.unreachable(`${op} accepted ${JSON.stringify(attrs)}`);
  };
  check('Celu', { alpha: { kind: 'float', value: 0 } }, 'alpha');
  check('Selu', { gamma: { kind: 'string', value: 'x' } }, 'gamma');
  check('Swish', { beta: { kind: 'float', value: 1 } }, 'beta'); // Swish has no beta
  check('SwiGLU', { alpha: { kind: 'ints', value: [1] } }, 'alpha');
});

test.run();
