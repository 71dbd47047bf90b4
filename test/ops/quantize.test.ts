/**
 * Quantization ops (quantize.ts, qlinear.ts): hand-computed QuantizeLinear / DequantizeLinear per
 * tensor, per axis and blocked, ties to even, saturation of int and float8 types, DynamicQuantizeLinear
 * on the ONNX example, the integer Conv/MatMul ops with per-tensor and per-channel zero points, the
 * QLinear ops' requantization, and the attribute and shape errors.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AttrValue } from '../../compiler/ir/graph.ts';
import { KilnError } from '../../compiler/errors.ts';
import { getOp, parseNodeAttrs } from '../../compiler/ops/registry.ts';
import { attrErrorLike, close, infer, run, run1, t, throwsLike, ty, vals } from './compute-helpers.ts';

test('QuantizeLinear per tensor: ONNX example, ties to even, int4 saturation', () => {
  const y = run1('QuantizeLinear', [t('f32', [6], [0, 2, 3, 1000, -254, -1000]), t('f32', [], [2]), t('u8', [], [128])]);
  close(y, 'u8', [6], [128, 129, 130, 255, 1, 0]);
  close(run1('QuantizeLinear', [t('f32', [5], [0.5, 1.5, 2.5, -0.5, -1.5]), t('f32', [], [1]), t('i8', [], [0])]), 'i8', [5], [0, 2, 2, 0, -2]);
  close(run1('QuantizeLinear', [t('f32', [3], [-100, 100, 3]), t('f32', [], [1]), t('i4', [1], [0])]), 'i4', [3], [-8, 7, 3]);
  close(run1('QuantizeLinear', [t('f32', [3], [-100, 100, 3]), t('f32', [], [1]), t('u2', [1], [1])]), 'u2', [3], [0, 3, 3]);
  // no zero point: u8
  close(run1('QuantizeLinear', [t('f32', [2], [3, -3]), t('f32', [], [1])]), 'u8', [2], [3, 0]);
});

test('QuantizeLinear per axis and blocked', () => {
  const x = t('f32', [1, 3, 2], [1, 2, 3, 4, 5, 6]);
  close(run1('QuantizeLinear', [x, t('f32', [3], [1, 2, 4]), t('u8', [3], [0, 10, 20])], { axis: 1 }), 'u8', [1, 3, 2], [1, 2, 12, 12, 21, 22]);
  close(run1('QuantizeLinear', [x, t('f32', [3], [1, 2, 4]), t('u8', [3], [0, 10, 20])], { axis: -2 }), 'u8', [1, 3, 2], [1, 2, 12, 12, 21, 22]);
  // blocks of 2 along axis 1; output_dtype 3 = int8, no zero point
  const xb = t('f32', [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]);
  close(run1('QuantizeLinear', [xb, t('f32', [2, 2], [1, 2, 4, 8])], { axis: 1, block_size: 2, output_dtype: 3 }), 'i8', [2, 4], [1, 2, 2, 2, 1, 2, 1, 1]);
  // a last block shorter than block_size
  close(run1('QuantizeLinear', [t('f32', [1, 3], [2, 4, 9]), t('f32', [1, 2], [2, 3])], { axis: 1, block_size: 2 }), 'u8', [1, 3], [1, 2, 3]);
});

test('QuantizeLinear to float8 saturates unless saturate=0', () => {
  const x = t('f32', [2], [1000, 0.3]);
  close(run1('QuantizeLinear', [x, t('f32', [], [1]), t('f8e4m3fn', [1], [0])]), 'f8e4m3fn', [2], [448, 0.3125]);
  close(run1('QuantizeLinear', [x, t('f32', [], [1]), t('f8e4m3fn', [1], [0])], { saturate: 0 }), 'f8e4m3fn', [2], [NaN, 0.3125]);
  close(run1('QuantizeLinear', [t('f32', [2], [100, 0.7]), t('f32', [], [1]), t('f4e2m1', [1], [0])]), 'f4e2m1', [2], [6, 0.5]);
});

test('DequantizeLinear per tensor, per axis, int4 to f16, float8', () => {
  close(run1('DequantizeLinear', [t('u8', [4], [0, 3, 128, 255]), t('f32', [], [2]), t('u8', [], [128])]), 'f32', [4], [-256, -250, 0, 254]);
  close(run1('DequantizeLinear', [t('i4', [2], [-8, 7]), t('f16', [], [0.5])]), 'f16', [2], [-4, 3.5]);
  close(run1('DequantizeLinear', [t('i8', [2, 2], [1, 2, 3, 4]), t('f32', [2], [1, 10]), t('i8', [2], [0, 1])], { axis: 0 }), 'f32', [2, 2], [1, 2, 20, 30]);
  close(run1('DequantizeLinear', [t('i32', [2], [-5, 7]), t('f32', [], [0.5])]), 'f32', [2], [-2.5, 3.5]);
  close(run1('DequantizeLinear', [t('f8e4m3fn', [2], [448, 0.5]), t('f32', [], [2])]), 'f32', [2], [896, 1]);
  // output_dtype 10 = float16
  close(run1('DequantizeLinear', [t('u8', [1], [3]), t('f32', [], [0.5])], { output_dtype: 10 }), 'f16', [1], [1.5]);
  // blocked
  close(run1('DequantizeLinear', [t('u8', [1, 4], [1, 2, 3, 4]), t('f32', [1, 2], [1, 10])], { axis: 1, block_size: 2 }), 'f32', [1, 4], [1, 2, 30, 40]);
});

test('DynamicQuantizeLinear: the ONNX example, and an all-zero input', () => {
  const [y, s, z] = run('DynamicQuantizeLinear', [t('f32', [6], [0, 2, -3, -2.5, 1.34, 0.5])], {}, 3);
  close(s, 'f32', [], [Math.fround(5 / 255)]);
  close(z, 'u8', [], [153]);
  close(y, 'u8', [6], [153, 255, 0, 26, 221, 179]);
  const [y0, s0, z0] = run('DynamicQuantizeLinear', [t('f32', [2], [0, 0])], {}, 3);
  assert.equal([vals(y0), vals(s0), vals(z0)], [[0, 0], [0], [0]]);
});

test('MatMulInteger: per-tensor and per-column zero points', () => {
  const a = t('u8', [4, 3], [11, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0]);
  const b = t('u8', [3, 2], [1, 4, 2, 5, 3, 6]);
  close(run1('MatMulInteger', [a, b, t('u8', [], [12]), t('u8', [], [0])]), 'i32', [4, 2], [-38, -83, -44, -98, -50, -113, -56, -128]);
  close(run1('MatMulInteger', [t('u8', [1, 3], [11, 7, 3]), b, t('u8', [], [12]), t('u8', [2], [1, 4])]), 'i32', [1, 2], [-23, -23]);
  // per-row zero point of A
  close(run1('MatMulInteger', [t('i8', [2, 1], [5, 5]), t('i8', [1, 1], [1]), t('i8', [2], [1, 2])]), 'i32', [2, 1], [4, 3]);
});

test('ConvInteger: the ONNX example with and without padding, per-channel w_zero_point', () => {
  const x = t('u8', [1, 1, 3, 3], [2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const w = t('u8', [1, 1, 2, 2], [1, 1, 1, 1]);
  close(run1('ConvInteger', [x, w, t('u8', [], [1])]), 'i32', [1, 1, 2, 2], [12, 16, 24, 28]);
  close(run1('ConvInteger', [x, w, t('u8', [], [1])], { pads: [1, 1, 1, 1] }), 'i32', [1, 1, 4, 4],
    [1, 3, 5, 3, 5, 12, 16, 9, 11, 24, 28, 15, 7, 15, 17, 9]);
  const w2 = t('u8', [2, 1, 1, 1], [3, 3]);
  close(run1('ConvInteger', [t('u8', [1, 1, 1, 2], [1, 2]), w2, undefined, t('u8', [2], [1, 3])]), 'i32', [1, 2, 1, 2], [2, 4, 0, 0]);
});

test('QLinearMatMul and QLinearConv requantize: scales, zero points, bias, ties to even, saturation', () => {
  const a = t('u8', [1, 2], [2, 4]), b = t('u8', [2, 1], [1, 3]);
  const mm = (ys: number) => run1('QLinearMatMul', [a, t('f32', [], [0.5]), t('u8', [], [0]), b, t('f32', [], [1]), t('u8', [], [1]), t('f32', [], [ys]), t('u8', [], [10])]);
  close(mm(2), 'u8', [1, 1], [12]); // (2·0 + 4·2) · 0.5 / 2 + 10
  close(mm(0.001), 'u8', [1, 1], [255]);
  const x = t('u8', [1, 1, 2, 2], [1, 2, 3, 4]);
  const w = t('u8', [2, 1, 1, 1], [1, 2]);
  const y = run1('QLinearConv', [x, t('f32', [], [1]), t('u8', [], [0]), w, t('f32', [2], [1, 0.5]), t('u8', [], [0]),
    t('f32', [], [1]), t('u8', [], [0]), t('i32', [2], [10, -1])]);
  close(y, 'u8', [1, 2, 2, 2], [11, 12, 13, 14, 0, 2, 2, 4]);
});

test('shape rules', () => {
  assert.equal(infer('QuantizeLinear', [ty('f32', ['n', 3]), ty('f32', [3]), ty('i4', [3])]), [ty('i4', ['n', 3])]);
  assert.equal(infer('QuantizeLinear', [ty('f32', [2, 3]), ty('f16', [])], { output_dtype: 17 }), [ty('f8e4m3fn', [2, 3])]);
  assert.equal(infer('DequantizeLinear', [ty('u8', [2, 6]), ty('f16', [2, 2])], { block_size: 3 }), [ty('f16', [2, 6])]);
  assert.equal(infer('DynamicQuantizeLinear', [ty('f32', [4])], {}, 3), [ty('u8', [4]), ty('f32', []), ty('u8', [])]);
  assert.equal(infer('MatMulInteger', [ty('u8', ['b', 4, 3]), ty('i8', [3, 5])]), [ty('i32', ['b', 4, 5])]);
  assert.equal(infer('ConvInteger', [ty('u8', [1, 2, 5, 5]), ty('u8', [4, 2, 3, 3])], { pads: [1, 1, 1, 1] }), [ty('i32', [1, 4, 5, 5])]);
  const s = ty('f32', []), z = ty('i8', []);
  assert.equal(infer('QLinearMatMul', [ty('i8', [2, 3]), s, z, ty('i8', [3, 4]), s, z, s, z]), [ty('i8', [2, 4])]);
  assert.equal(infer('QLinearConv', [ty('u8', [1, 2, 5, 5]), s, ty('u8', []), ty('i8', [4, 2, 3, 3]), s, z, s, ty('u8', [])]), [ty('u8', [1, 4, 3, 3])]);
});

test('shape and dtype errors', () => {
  throwsLike(() => infer('QuantizeLinear', [ty('f32', [2, 3]), ty('f32', [2])]), /y_scale \[2\] must be a scalar or 1-D of size 3 \(x \[2,3\] along axis 1\)/);
  throwsLike(() => infer('QuantizeLinear', [ty('f32', [2, 3]), ty('f32', [3])], { axis: 2 }), /axis 2 is out of range for rank 2/);
  throwsLike(() => infer('QuantizeLinear', [ty('f32', [2, 6]), ty('f32', [2, 3])], { block_size: 4 }), /y_scale \[2,3\] must be \[2,2\] for x \[2,6\] with block_size 4 along axis 1/);
  throwsLike(() => infer('QuantizeLinear', [ty('f32', [2, 3]), ty('f32', [3]), ty('u8', [2])]), /y_zero_point \[2\] must have the shape of y_scale \[3\]/);
  throwsLike(() => infer('DequantizeLinear', [ty('u8', [3]), ty('f32', []), ty('i8', [])]), /x_zero_point has dtype i8 but x has u8/);
  throwsLike(() => infer('DequantizeLinear', [ty('f32', [3]), ty('f32', [])]), /DequantizeLinear x has dtype f32/);
  throwsLike(() => infer('DynamicQuantizeLinear', [ty('f16', [3])], {}, 3), /dtype f16/);
  throwsLike(() => infer('MatMulInteger', [ty('i32', [2, 3]), ty('u8', [3, 2])]), /MatMulInteger A has dtype i32/);
  throwsLike(() => infer('MatMulInteger', [ty('u8', [2, 3]), ty('u8', [4, 2])]), /inner dims differ/);
  throwsLike(() => infer('ConvInteger', [ty('u8', [1, 2, 5, 5]), ty('u8', [4, 2, 3, 3]), ty('i8', [])]), /x_zero_point has dtype i8 but x has u8/);
  const s = ty('f32', []), z = ty('u8', []);
  throwsLike(() => infer('QLinearConv', [ty('u8', [1, 2, 5, 5]), s, z, ty('u8', [4, 2, 3, 3]), s, z, s, z, ty('f32', [4])]), /QLinearConv B has dtype f32/);
  throwsLike(() => infer('QLinearMatMul', [ty('u8', [2, 3]), ty('i32', []), z, ty('u8', [3, 2]), s, z, s, z]), /a_scale has dtype i32/);
  throwsLike(() => run1('QuantizeLinear', [t('f32', [2, 3], [1, 2, 3, 4, 5, 6]), t('f32', [2], [1, 1])]), /must be a scalar or 1-D of size 3/);
});

/** Parses attributes as the importer does, returning the KilnError thrown. */
function nodeAttrError(op: string, attrs: Record<string, AttrValue>): KilnError {
  try {
    parseNodeAttrs(getOp(op), attrs, 'q0');
  } catch (e) {
    if (e instanceof KilnError) return e;
    throw e;
  }
  throw new Error('expected an attribute error');
}

test('attribute errors name node, op and attribute', () => {
  const int = (value: number): AttrValue => ({ kind: 'int', value });
  for (const [op, attrs, attribute, re] of [
    ['QuantizeLinear', { block_size: int(-1) }, 'block_size', /must be >= 0, got -1/],
    ['QuantizeLinear', { output_dtype: int(1) }, 'output_dtype', /data type 1 \(f32\) is not allowed/],
    ['QuantizeLinear', { saturate: int(2) }, 'saturate', /must be one of 0, 1/],
    ['QuantizeLinear', { precision: int(3) }, 'precision', /data type 3 \(i8\) is not allowed/],
    ['DequantizeLinear', { output_dtype: int(2) }, 'output_dtype', /data type 2 \(u8\) is not allowed/],
    ['DequantizeLinear', { saturate: int(1) }, 'saturate', /DequantizeLinear has no attribute 'saturate'/],
    ['DynamicQuantizeLinear', { axis: int(0) }, 'axis', /takes no attributes/],
    ['QLinearConv', { group: int(0) }, 'group', /must be >= 1/],
    ['MatMulInteger', { transA: int(1) }, 'transA', /no attribute 'transA'/],
  ] as const) {
    const e = nodeAttrError(op, attrs as Record<string, AttrValue>);
    assert.equal([e.place.node, e.place.op, e.place.attribute], ['q0', op, attribute], op);
    if (!re.test(e.message)) assert.unreachable(`${op}: '${e.message}' does not match ${re}`);
  }
  // the output_dtype / zero point conflict is found by the shape rule, naming the attribute
  attrErrorLike(() => infer('QuantizeLinear', [ty('f32', [2]), ty('f32', []), ty('u8', [])], { output_dtype: 3 }), 'output_dtype', /differs from y_zero_point's dtype u8/);
});

test.run();
