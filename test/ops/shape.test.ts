import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { shapeOps } from '../../compiler/ops/shape.ts';
import { opFrom, runOp, inferOp, ty, f32, i64, nums } from './movement-helpers.ts';

const Reshape = opFrom(shapeOps, 'Reshape');
const Flatten = opFrom(shapeOps, 'Flatten');
const Squeeze = opFrom(shapeOps, 'Squeeze');
const Unsqueeze = opFrom(shapeOps, 'Unsqueeze');
const Shape = opFrom(shapeOps, 'Shape');
const Size = opFrom(shapeOps, 'Size');
const Expand = opFrom(shapeOps, 'Expand');
const ConstantOfShape = opFrom(shapeOps, 'ConstantOfShape');
const Range = opFrom(shapeOps, 'Range');

test('Reshape: 0 copies, -1 infers, data order kept', () => {
  const [y] = runOp(Reshape, [f32([2, 3, 4]), i64([0, -1, 2])]);
  assert.equal(y.shape, [2, 6, 2]);
  assert.equal(nums(y), Array.from({ length: 24 }, (_, i) => i));
});

test('Reshape: allowzero keeps a literal 0 dim', () => {
  const x = Tensor.zeros('f32', [0, 3]);
  const [y] = runOp(Reshape, [x, i64([3, 0])], { allowzero: 1 });
  assert.equal(y.shape, [3, 0]);
  const [z] = runOp(Reshape, [f32([2, 3]), i64([0, 3])]);
  assert.equal(z.shape, [2, 3]);
});

test('Reshape: errors on size mismatch and two -1', () => {
  assert.throws(() => runOp(Reshape, [f32([2, 3]), i64([4, 2])]), /cannot reshape/);
  assert.throws(() => runOp(Reshape, [f32([2, 3]), i64([-1, -1])]), /more than one -1/);
  assert.throws(() => runOp(Reshape, [f32([2, 3]), i64([4, -1])]), /cannot reshape/);
});

test('Reshape: copies bigint and string storage', () => {
  const s = new Tensor('str', [2, 2], ['a', 'b', 'c', 'd']);
  const [y] = runOp(Reshape, [s, i64([4])]);
  assert.equal(y.data, ['a', 'b', 'c', 'd']);
  assert.is.not(y.data, s.data);
  const [z] = runOp(Reshape, [i64([1, 2, 3, 4, 5, 6]), i64([3, 2])]);
  assert.equal(Array.from(z.data as BigInt64Array), [1n, 2n, 3n, 4n, 5n, 6n]);
});

test('Reshape shape rule: symbolic dims', () => {
  // [N,128,768] -> [0,-1,12,64]: 0 copies N, -1 = 128*768/(12*64) = 128
  const t = inferOp(Reshape, [ty('f32', ['N', 128, 768]), ty('i64', [4])], {}, [undefined, i64([0, -1, 12, 64])]);
  assert.equal(t[0].shape, ['N', 128, 12, 64]);
  // [N,12,64] -> [-1,768]: the remaining symbol N cancels (12*64 = 768)
  const u = inferOp(Reshape, [ty('f32', ['N', 12, 64]), ty('i64', [2])], {}, [undefined, i64([-1, 768])]);
  assert.equal(u[0].shape, ['N', 768]);
  // [N,M] -> [-1]: not expressible, fresh
  const v = inferOp(Reshape, [ty('f32', ['N', 'M']), ty('i64', [1])], {}, [undefined, i64([-1])]);
  assert.equal(v[0].shape, ['?0']);
  // unknown shape value: rank from the shape operand's static length
  const w = inferOp(Reshape, [ty('f32', [2, 3]), ty('i64', [3])]);
  assert.equal(w[0].shape, ['?0', '?1', '?2']);
  assert.throws(() => inferOp(Reshape, [ty('f32', [2, 3]), ty('i64', ['K'])]), /symbolic length/);
});

test('Flatten: axis 0, default, negative and symbolic', () => {
  assert.equal(runOp(Flatten, [f32([2, 3, 4])], { axis: 0 })[0].shape, [1, 24]);
  assert.equal(runOp(Flatten, [f32([2, 3, 4])])[0].shape, [2, 12]);
  assert.equal(runOp(Flatten, [f32([2, 3, 4])], { axis: -1 })[0].shape, [6, 4]);
  assert.equal(runOp(Flatten, [f32([2, 3, 4])], { axis: 3 })[0].shape, [24, 1]);
  assert.equal(inferOp(Flatten, [ty('f32', ['N', 3, 4])])[0].shape, ['N', 12]);
  assert.equal(inferOp(Flatten, [ty('f32', ['N', 3, 'M'])], { axis: 1 })[0].shape, ['N', '?0']);
});

test('Squeeze / Unsqueeze', () => {
  assert.equal(runOp(Squeeze, [f32([1, 3, 1, 2])])[0].shape, [3, 2]);
  assert.equal(runOp(Squeeze, [f32([1, 3, 1, 2]), i64([-2])])[0].shape, [1, 3, 2]);
  assert.throws(() => runOp(Squeeze, [f32([1, 3]), i64([1])]), /cannot squeeze/);
  assert.equal(runOp(Unsqueeze, [f32([3, 4]), i64([0, 3])])[0].shape, [1, 3, 4, 1]);
  assert.equal(runOp(Unsqueeze, [f32([3, 4]), i64([-1, 0])])[0].shape, [1, 3, 4, 1]);
  assert.equal(runOp(Unsqueeze, [f32([3, 4]), i64([1, 2])])[0].shape, [3, 1, 1, 4]);
  assert.equal(inferOp(Unsqueeze, [ty('f32', ['N', 4]), ty('i64', [1])], {}, [undefined, i64([1])])[0].shape, ['N', 1, 4]);
  assert.equal(inferOp(Unsqueeze, [ty('f32', ['N', 4]), ty('i64', [2])])[0].shape, ['?0', '?1', '?2', '?3']);
  assert.equal(inferOp(Squeeze, [ty('f32', ['N', 1, 4]), ty('i64', [1])], {}, [undefined, i64([1])])[0].shape, ['N', 4]);
});

test('Shape with start/end clamping and Size', () => {
  const x = f32([2, 3, 4, 5]);
  assert.equal(nums(runOp(Shape, [x])[0]), [2, 3, 4, 5]);
  assert.equal(nums(runOp(Shape, [x], { start: 1, end: -1 })[0]), [3, 4]);
  assert.equal(nums(runOp(Shape, [x], { start: -10, end: 10 })[0]), [2, 3, 4, 5]);
  assert.equal(runOp(Shape, [x], { start: 3, end: 1 })[0].shape, [0]);
  assert.equal(inferOp(Shape, [ty('f32', ['N', 3, 4])], { start: 1 })[0], ty('i64', [2]));
  assert.equal(nums(runOp(Size, [x])[0]), [120]);
  assert.equal(runOp(Size, [x])[0].shape, []);
});

test('Expand: bidirectional broadcast', () => {
  const [y] = runOp(Expand, [f32([3, 1], [1, 2, 3]), i64([2, 1, 2])]);
  assert.equal(y.shape, [2, 3, 2]);
  assert.equal(nums(y), [1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3]);
  const [z] = runOp(Expand, [f32([2, 2]), i64([1])]);
  assert.equal(z.shape, [2, 2]);
  assert.throws(() => runOp(Expand, [f32([2, 3]), i64([4])]));
  assert.equal(inferOp(Expand, [ty('f32', ['N', 1]), ty('i64', [2])], {}, [undefined, i64([1, 5])])[0].shape, ['N', 5]);
  const [e] = runOp(Expand, [Tensor.zeros('f32', [0, 1]), i64([0, 3])]);
  assert.equal(e.shape, [0, 3]);
});

test('ConstantOfShape: value dtype, default f32 zero, empty shape', () => {
  const [a] = runOp(ConstantOfShape, [i64([2, 3])]);
  assert.is(a.dtype, 'f32');
  assert.equal(nums(a), [0, 0, 0, 0, 0, 0]);
  const [b] = runOp(ConstantOfShape, [i64([2])], { value: i64([7], [1]) });
  assert.equal(Array.from(b.data as BigInt64Array), [7n, 7n]);
  const [c] = runOp(ConstantOfShape, [i64([0])], { value: Tensor.fromNumbers('i32', [1], [5]) });
  assert.equal(c.shape, [0]);
  assert.is(c.dtype, 'i32');
  const t = inferOp(ConstantOfShape, [ty('i64', [2])], { value: Tensor.fromNumbers('f16', [1], [1]) });
  assert.equal(t[0], ty('f16', ['?0', '?1']));
});

test('Range: floats, negative delta, i64 bigint, empty', () => {
  const s = (v: number) => Tensor.scalar('f32', v);
  assert.equal(nums(runOp(Range, [s(1), s(2), s(0.25)])[0]), [1, 1.25, 1.5, 1.75]);
  const i = (v: number) => Tensor.scalar('i32', v);
  assert.equal(nums(runOp(Range, [i(10), i(4), i(-3)])[0]), [10, 7]);
  const big = (v: bigint) => new Tensor('i64', [], BigInt64Array.of(v));
  const [r] = runOp(Range, [big(9007199254740993n), big(9007199254741000n), big(3n)]);
  assert.equal(Array.from(r.data as BigInt64Array), [9007199254740993n, 9007199254740996n, 9007199254740999n]);
  assert.equal(runOp(Range, [big(5n), big(1n), big(1n)])[0].shape, [0]);
  assert.equal(inferOp(Range, [ty('i64', []), ty('i64', []), ty('i64', [])], {}, [big(0n), big(10n), big(4n)])[0].shape, [3]);
  assert.equal(inferOp(Range, [ty('f32', []), ty('f32', []), ty('f32', [])])[0].shape, ['?0']);
});

test.run();
