/**
 * Op family 'rearrange' (compiler/ops/rearrange.ts): DepthToSpace (DCR and CRD), SpaceToDepth,
 * CenterCropPad, ReverseSequence, EyeLike and OneHot on hand-checked examples, and their errors.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { rearrangeOps } from '../../compiler/ops/rearrange.ts';
import { opFrom, runOp, inferOp, ty, f32, i64, nums } from './movement-helpers.ts';
import { nodeAttrError } from './node-attr-helpers.ts';

const DepthToSpace = opFrom(rearrangeOps, 'DepthToSpace');
const SpaceToDepth = opFrom(rearrangeOps, 'SpaceToDepth');
const CenterCropPad = opFrom(rearrangeOps, 'CenterCropPad');
const ReverseSequence = opFrom(rearrangeOps, 'ReverseSequence');
const EyeLike = opFrom(rearrangeOps, 'EyeLike');
const OneHot = opFrom(rearrangeOps, 'OneHot');

test('DepthToSpace / SpaceToDepth: DCR and CRD orders, round trip', () => {
  // 4 channels of one pixel each -> one 2x2 block
  const x = f32([1, 4, 1, 1], [0, 1, 2, 3]);
  assert.equal(nums(runOp(DepthToSpace, [x], { blocksize: 2 })[0]), [0, 1, 2, 3]);
  // 8 channels, blocksize 2: DCR reads channel (by*2+bx)*2+c, CRD reads c*4+by*2+bx
  const y = f32([1, 8, 1, 1]);
  const [dcr] = runOp(DepthToSpace, [y], { blocksize: 2 });
  assert.equal(dcr.shape, [1, 2, 2, 2]);
  assert.equal(nums(dcr), [0, 2, 4, 6, 1, 3, 5, 7]);
  assert.equal(nums(runOp(DepthToSpace, [y], { blocksize: 2, mode: 'CRD' })[0]), [0, 1, 2, 3, 4, 5, 6, 7]);
  const z = f32([1, 2, 4, 6]);
  const [s] = runOp(SpaceToDepth, [z], { blocksize: 2 });
  assert.equal(s.shape, [1, 8, 2, 3]);
  assert.equal(nums(runOp(DepthToSpace, [s], { blocksize: 2 })[0]), nums(z));
  assert.equal(inferOp(SpaceToDepth, [ty('f32', ['N', 3, 4, 6])], { blocksize: 2 })[0].shape, ['N', 12, 2, 3]);
  assert.throws(() => inferOp(SpaceToDepth, [ty('f32', [1, 3, 5, 6])], { blocksize: 2 }), /height 5 is not divisible by blocksize 2/);
  assert.throws(() => inferOp(DepthToSpace, [ty('f32', [1, 6, 5, 6])], { blocksize: 2 }), /channels 6 are not divisible/);
  nodeAttrError(DepthToSpace, { blocksize: { kind: 'int', value: 2 }, mode: { kind: 'string', value: 'RCD' } }, 'mode', /must be one of DCR, CRD/);
  nodeAttrError(SpaceToDepth, {}, 'blocksize', /required attribute is missing/);
  nodeAttrError(SpaceToDepth, { blocksize: { kind: 'int', value: 0 } }, 'blocksize', /must be >= 1/);
});

test('CenterCropPad: crop, pad, both, axes', () => {
  const x = f32([4, 4]);
  const [c] = runOp(CenterCropPad, [x, i64([2, 2])]);
  assert.equal(nums(c), [5, 6, 9, 10]);
  // pad 2 -> 5: one zero before (floor(3/2)), two after
  const [p] = runOp(CenterCropPad, [f32([2], [7, 8]), i64([5])]);
  assert.equal(nums(p), [0, 7, 8, 0, 0]);
  const [b] = runOp(CenterCropPad, [f32([3, 2]), i64([1, 3])]);
  assert.equal(nums(b), [2, 3, 0]);
  const [ax] = runOp(CenterCropPad, [f32([2, 4, 1]), i64([2])], { axes: [-2] });
  assert.equal(ax.shape, [2, 2, 1]);
  assert.equal(nums(ax), [1, 2, 5, 6]);
  assert.equal(inferOp(CenterCropPad, [ty('f32', [3, 8, 8]), ty('i64', [2])], { axes: [1, 2] }, [undefined, i64([4, 9])])[0].shape, [3, 4, 9]);
  assert.equal(inferOp(CenterCropPad, [ty('f32', [3, 8, 8]), ty('i64', [2])], { axes: [1, 2] })[0].shape, [3, '?0', '?1']);
  assert.throws(() => inferOp(CenterCropPad, [ty('f32', [3, 8, 8]), ty('i64', [2])]), /shape has 2 entries but 3 axes/);
  assert.throws(() => inferOp(CenterCropPad, [ty('f32', [3, 8]), ty('i64', [2])], { axes: [0, -2] }), /has duplicates/);
});

test('ReverseSequence: time-major and batch-major', () => {
  // [time 4, batch 2]: batch 0 reverses 3 steps, batch 1 reverses 1
  const [y] = runOp(ReverseSequence, [f32([4, 2]), i64([3, 1])]);
  assert.equal(nums(y), [4, 1, 2, 3, 0, 5, 6, 7]);
  const [z] = runOp(ReverseSequence, [f32([2, 3]), i64([2, 3])], { batch_axis: 0, time_axis: 1 });
  assert.equal(nums(z), [1, 0, 2, 5, 4, 3]);
  assert.throws(() => runOp(ReverseSequence, [f32([4, 2]), i64([5, 1])]), /sequence length 5 is out of range for 4 time steps/);
  nodeAttrError(ReverseSequence, { batch_axis: { kind: 'int', value: 0 } }, 'time_axis', /must differ from batch_axis/);
  nodeAttrError(ReverseSequence, { batch_axis: { kind: 'int', value: 2 } }, 'batch_axis', /must be one of 0, 1/);
});

test('EyeLike: diagonal offsets and dtype', () => {
  const [y] = runOp(EyeLike, [f32([2, 3])], { k: 1 });
  assert.equal(nums(y), [0, 1, 0, 0, 0, 1]);
  const [z] = runOp(EyeLike, [f32([3, 2])], { k: -1, dtype: 6 });
  assert.is(z.dtype, 'i32');
  assert.equal(nums(z), [0, 0, 1, 0, 0, 1]);
  assert.equal(inferOp(EyeLike, [ty('i64', ['N', 'N'])], { dtype: 1 })[0], { dtype: 'f32', shape: ['N', 'N'] });
  assert.throws(() => inferOp(EyeLike, [ty('f32', [2, 2, 2])]), /input must be 2-D/);
  nodeAttrError(EyeLike, { dtype: { kind: 'int', value: 14 } }, 'dtype', /data type 14 is not supported/);
});

test('OneHot: axis, negative and out-of-range indices, values dtype', () => {
  const values = f32([2], [0, 5]);
  const [y] = runOp(OneHot, [i64([0, 2, -1, 3]), Tensor.fromNumbers('f32', [], [3]), values]);
  assert.equal(y.shape, [4, 3]);
  assert.equal(nums(y), [5, 0, 0, 0, 0, 5, 0, 0, 5, 0, 0, 0]);
  const [z] = runOp(OneHot, [i64([1, 0]), i64([2], []), Tensor.fromNumbers('i32', [2], [-1, 1])], { axis: 0 });
  assert.equal(z.shape, [2, 2]);
  assert.is(z.dtype, 'i32');
  assert.equal(nums(z), [-1, 1, 1, -1]);
  assert.equal(inferOp(OneHot, [ty('i64', ['B', 4]), ty('i64', []), ty('f32', [2])], { axis: 1 }, [undefined, i64([10], [])])[0].shape, ['B', 10, 4]);
  assert.equal(inferOp(OneHot, [ty('i64', ['B']), ty('i64', [1]), ty('f32', [2])])[0].shape, ['B', '?0']);
  assert.throws(() => inferOp(OneHot, [ty('i64', [3]), ty('i64', []), ty('f32', [3])]), /values must hold exactly two values/);
  assert.throws(() => inferOp(OneHot, [ty('i64', [3]), ty('i64', []), ty('f32', [2])], { axis: 2 }), /axis 2 is out of range for rank 2/);
  nodeAttrError(OneHot, { axis: { kind: 'float', value: 0.5 } }, 'axis', /expected int, got float/);
});

test.run();
