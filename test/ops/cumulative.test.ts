/**
 * Op family 'cumulative' (compiler/ops/cumulative.ts): CumSum and CumProd with exclusive/reverse and
 * axes, Det on hand-computed matrices, and their errors.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { cumulativeOps } from '../../compiler/ops/cumulative.ts';
import { opFrom, runOp, inferOp, ty, f32, i64, nums, approx } from './movement-helpers.ts';
import { nodeAttrError } from './node-attr-helpers.ts';

const CumSum = opFrom(cumulativeOps, 'CumSum');
const CumProd = opFrom(cumulativeOps, 'CumProd');
const Det = opFrom(cumulativeOps, 'Det');

test('CumSum: inclusive, exclusive, reverse, axes, int32', () => {
  const x = f32([5], [1, 2, 3, 4, 5]);
  assert.equal(nums(runOp(CumSum, [x, i64([0], [])])[0]), [1, 3, 6, 10, 15]);
  assert.equal(nums(runOp(CumSum, [x, i64([0], [])], { exclusive: 1 })[0]), [0, 1, 3, 6, 10]);
  assert.equal(nums(runOp(CumSum, [x, i64([0], [])], { reverse: 1 })[0]), [15, 14, 12, 9, 5]);
  assert.equal(nums(runOp(CumSum, [x, i64([0], [])], { reverse: 1, exclusive: 1 })[0]), [14, 12, 9, 5, 0]);
  const m = f32([2, 3], [1, 2, 3, 4, 5, 6]);
  assert.equal(nums(runOp(CumSum, [m, i64([0], [])])[0]), [1, 2, 3, 5, 7, 9]);
  assert.equal(nums(runOp(CumSum, [m, i64([-1], [])])[0]), [1, 3, 6, 4, 9, 15]);
  const [i] = runOp(CumSum, [Tensor.fromNumbers('i32', [3], [2147483647, 1, 1]), Tensor.fromNumbers('i32', [], [0])]);
  assert.equal(i.dtype, 'i32');
  assert.equal(nums(i), [2147483647, -2147483648, -2147483647]);
  assert.throws(() => runOp(CumSum, [m, i64([2], [])]), /axis 2 is out of range for rank 2/);
  assert.throws(() => inferOp(CumSum, [ty('f32', [3]), ty('i64', [2])]), /axis must hold exactly one value/);
  assert.throws(() => inferOp(CumSum, [ty('f32', [3]), ty('f32', [])]), /axis has dtype f32/);
  nodeAttrError(CumSum, { exclusive: { kind: 'int', value: 2 } }, 'exclusive', /must be one of 0, 1, got 2/);
});

test('CumProd: inclusive, exclusive, reverse', () => {
  const x = f32([4], [1, 2, 3, 4]);
  assert.equal(nums(runOp(CumProd, [x, i64([0], [])])[0]), [1, 2, 6, 24]);
  assert.equal(nums(runOp(CumProd, [x, i64([0], [])], { exclusive: 1 })[0]), [1, 1, 2, 6]);
  assert.equal(nums(runOp(CumProd, [x, i64([0], [])], { exclusive: 1, reverse: 1 })[0]), [24, 12, 4, 1]);
  nodeAttrError(CumProd, { reverse: { kind: 'string', value: 'yes' } }, 'reverse', /expected int, got string/);
});

test('Det: 2x2, 3x3 with pivoting, singular, batched', () => {
  assert.equal(approx(runOp(Det, [f32([2, 2], [1, 2, 3, 4])])[0]), [-2]);
  // needs a row swap (zero leading pivot): det [[0,1,2],[1,0,3],[4,-3,8]] = -2
  assert.equal(approx(runOp(Det, [f32([3, 3], [0, 1, 2, 1, 0, 3, 4, -3, 8])])[0]), [-2]);
  assert.equal(approx(runOp(Det, [f32([2, 2], [1, 2, 2, 4])])[0]), [0]);
  const [b] = runOp(Det, [f32([2, 2, 2], [1, 2, 3, 4, 2, 0, 0, 3])]);
  assert.equal(b.shape, [2]);
  assert.equal(approx(b), [-2, 6]);
  assert.equal(inferOp(Det, [ty('f32', ['B', 3, 3])])[0].shape, ['B']);
  assert.throws(() => inferOp(Det, [ty('f32', [2, 3])]), /must be square/);
  assert.throws(() => inferOp(Det, [ty('i32', [2, 2])]), /X has dtype i32/);
  nodeAttrError(Det, { axis: { kind: 'int', value: 0 } }, 'axis', /Det has no attribute 'axis' \(it takes no attributes\)/);
});

test.run();
