import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { resizeOps } from '../../compiler/ops/resize.ts';
import { opFrom, runOp, inferOp, ty, f32, i64, nums, approx } from './movement-helpers.ts';

const Resize = opFrom(resizeOps, 'Resize');
const scales = (...v: number[]) => Tensor.fromNumbers('f32', [v.length], v);
const seq = (shape: number[], from = 1) => f32(shape, Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i + from));

test('nearest upsample (spec example): half_pixel, round_prefer_floor', () => {
  const [y] = runOp(Resize, [f32([1, 1, 2, 2], [1, 2, 3, 4]), undefined, scales(1, 1, 2, 3)]);
  assert.equal(y.shape, [1, 1, 4, 6]);
  assert.equal(nums(y), [1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4]);
});

test('nearest downsample (spec example) and modes', () => {
  const [y] = runOp(Resize, [seq([1, 1, 2, 4]), undefined, scales(1, 1, 0.6, 0.6)]);
  assert.equal(y.shape, [1, 1, 1, 2]);
  assert.equal(nums(y), [1, 3]);
  // asymmetric 1-D upsample by 2: x_ori = x/2 -> 0, .5, 1, 1.5
  const x = f32([2], [10, 20]);
  const asym = (nearest_mode: string) => nums(runOp(Resize, [x, undefined, scales(2)],
    { coordinate_transformation_mode: 'asymmetric', nearest_mode })[0]);
  assert.equal(asym('round_prefer_floor'), [10, 10, 20, 20]);
  assert.equal(asym('round_prefer_ceil'), [10, 20, 20, 20]);
  assert.equal(asym('floor'), [10, 10, 20, 20]);
  assert.equal(asym('ceil'), [10, 20, 20, 20]);
});

test('nearest copies any dtype; keep_aspect_ratio_policy not_larger with axes', () => {
  const [s] = runOp(Resize, [new Tensor('str', [2], ['a', 'b']), undefined, scales(2)]);
  assert.equal(s.data, ['a', 'a', 'b', 'b']);
  // x_ori = (x + 0.5) / 1.5 - 0.5 = -1/6, 1/2, 7/6 -> 0, 0 (ties round down), 1
  const [b] = runOp(Resize, [i64([7, 9]), undefined, scales(1.5)]);
  assert.equal(Array.from(b.data as BigInt64Array), [7n, 7n, 9n]);
  const [y] = runOp(Resize, [seq([1, 1, 2, 4]), undefined, undefined, i64([1, 3])],
    { axes: [2, 3], keep_aspect_ratio_policy: 'not_larger' });
  assert.equal(y.shape, [1, 1, 1, 2]);
  assert.equal(nums(y), [1, 3]);
  const [z] = runOp(Resize, [seq([1, 1, 2, 2]), undefined, undefined, i64([7, 8])],
    { axes: [2, 3], keep_aspect_ratio_policy: 'not_smaller' });
  assert.equal(z.shape, [1, 1, 8, 8]);
});

test('linear upsample: half_pixel and align_corners (spec examples)', () => {
  const x = f32([1, 1, 2, 2], [1, 2, 3, 4]);
  const [y] = runOp(Resize, [x, undefined, scales(1, 1, 2, 2)], { mode: 'linear' });
  assert.equal(approx(y), [1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4]);
  const [z] = runOp(Resize, [x, undefined, scales(1, 1, 2, 2)], { mode: 'linear', coordinate_transformation_mode: 'align_corners' });
  const t = 1 / 3;
  assert.equal(approx(z), approx([1, 1 + t, 1 + 2 * t, 2, 1 + 2 * t, 2, 2 + t, 2 + 2 * t,
    2 + t, 2 + 2 * t, 3, 3 + t, 3, 3 + t, 3 + 2 * t, 4]));
});

test('linear downsample (spec example, hand-checked)', () => {
  const [y] = runOp(Resize, [seq([1, 1, 2, 4]), undefined, scales(1, 1, 0.6, 0.6)], { mode: 'linear' });
  assert.equal(y.shape, [1, 1, 1, 2]);
  assert.equal(approx(y), [2.6667, 4.3333]);
});

test('linear antialias 1-D: kernel stretched by 1/scale', () => {
  // scale 0.5: 4 taps at distances (i - 0.5) * 0.5 -> weights 1,3,3,1 / 8
  const [y] = runOp(Resize, [f32([4], [1, 2, 3, 4]), undefined, scales(0.5)], { mode: 'linear', antialias: 1 });
  assert.equal(approx(y), [1.625, 3.375]);
});

test('cubic (spec examples): downsample 0.8 and upsample 2', () => {
  const x = seq([1, 1, 4, 4]);
  const [d] = runOp(Resize, [x, undefined, scales(1, 1, 0.8, 0.8)], { mode: 'cubic' });
  assert.equal(d.shape, [1, 1, 3, 3]);
  assert.equal(approx(d, 3), [1.471, 2.781, 4.083, 6.711, 8.021, 9.323, 11.917, 13.227, 14.528]);
  const [u] = runOp(Resize, [x, undefined, scales(1, 1, 2, 2)], { mode: 'cubic' });
  assert.equal(approx(nums(u).slice(0, 8), 5), [0.47266, 0.76953, 1.24609, 1.875, 2.28125, 2.91016, 3.38672, 3.68359]);
});

test('tf_crop_and_resize with roi and extrapolation_value (spec examples)', () => {
  const x = seq([1, 1, 4, 4]);
  const roi = Tensor.fromNumbers('f32', [8], [0, 0, 0.4, 0.6, 1, 1, 0.6, 0.8]);
  const [y] = runOp(Resize, [x, roi, undefined, i64([1, 1, 3, 3])],
    { mode: 'linear', coordinate_transformation_mode: 'tf_crop_and_resize' });
  assert.equal(approx(y, 3), [7.6, 7.9, 8.2, 8.8, 9.1, 9.4, 10, 10.3, 10.6]);
  const roi2 = Tensor.fromNumbers('f32', [8], [0, 0, 0.4, 0.6, 1, 1, 1.2, 1.7]);
  const [z] = runOp(Resize, [x, roi2, undefined, i64([1, 1, 3, 3])],
    { mode: 'linear', coordinate_transformation_mode: 'tf_crop_and_resize', extrapolation_value: 10 });
  assert.equal(approx(z, 3), [7.6, 10, 10, 12.4, 10, 10, 10, 10, 10]);
});

test('Resize shape rule: sizes, scales, symbolic dims', () => {
  const t = inferOp(Resize, [ty('f32', ['N', 3, 20, 30]), undefined, ty('f32', [4])], {}, [undefined, undefined, scales(1, 1, 2, 0.5)]);
  assert.equal(t[0].shape, ['N', 3, 40, 15]);
  const u = inferOp(Resize, [ty('f32', ['N', 3, 'H', 'W']), undefined, undefined, ty('i64', [2])], { axes: [2, 3] },
    [undefined, undefined, undefined, i64([64, 64])]);
  assert.equal(u[0].shape, ['N', 3, 64, 64]);
  const v = inferOp(Resize, [ty('f32', ['N', 3, 'H', 'W']), undefined, ty('f32', [4])]);
  assert.equal(v[0].shape, ['?0', '?1', '?2', '?3']);
  const w = inferOp(Resize, [ty('f32', [1, 1, 2, 4]), undefined, undefined, ty('i64', [2])],
    { axes: [2, 3], keep_aspect_ratio_policy: 'not_larger' }, [undefined, undefined, undefined, i64([1, 3])]);
  assert.equal(w[0].shape, [1, 1, 1, 2]);
});

test.run();
