import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { layoutOps } from '../../compiler/ops/layout.ts';
import { padOps } from '../../compiler/ops/pad.ts';
import { opFrom, runOp, inferOp, ty, f32, i64, nums, approx } from './movement-helpers.ts';

const Transpose = opFrom(layoutOps, 'Transpose');
const Concat = opFrom(layoutOps, 'Concat');
const Split = opFrom(layoutOps, 'Split');
const Slice = opFrom(layoutOps, 'Slice');
const Tile = opFrom(layoutOps, 'Tile');
const Pad = opFrom(padOps, 'Pad');
const Trilu = opFrom(padOps, 'Trilu');

const INT64_MAX = new Tensor('i64', [1], BigInt64Array.of(9223372036854775807n));
const INT64_MIN = new Tensor('i64', [1], BigInt64Array.of(-9223372036854775808n));

test('Transpose: default reversal, explicit perm, strings', () => {
  const [y] = runOp(Transpose, [f32([2, 3])]);
  assert.equal(y.shape, [3, 2]);
  assert.equal(nums(y), [0, 3, 1, 4, 2, 5]);
  const [z] = runOp(Transpose, [f32([2, 2, 2])], { perm: [2, 0, 1] });
  assert.equal(nums(z), [0, 2, 4, 6, 1, 3, 5, 7]);
  const [s] = runOp(Transpose, [new Tensor('str', [2, 2], ['a', 'b', 'c', 'd'])]);
  assert.equal(s.data, ['a', 'c', 'b', 'd']);
  assert.equal(runOp(Transpose, [Tensor.zeros('f32', [0, 3])])[0].shape, [3, 0]);
  assert.equal(inferOp(Transpose, [ty('f32', ['N', 3, 'M'])], { perm: [1, 2, 0] })[0].shape, [3, 'M', 'N']);
  assert.throws(() => inferOp(Transpose, [ty('f32', [1, 2])], { perm: [0, 0] }), /permutation/);
});

test('Concat: axis 1, negative axis, zero-size input, bigint', () => {
  const [y] = runOp(Concat, [f32([2, 1]), f32([2, 2], [10, 11, 12, 13]), Tensor.zeros('f32', [2, 0])], { axis: -1 });
  assert.equal(y.shape, [2, 3]);
  assert.equal(nums(y), [0, 10, 11, 1, 12, 13]);
  const [b] = runOp(Concat, [i64([1, 2]), i64([3])], { axis: 0 });
  assert.equal(Array.from(b.data as BigInt64Array), [1n, 2n, 3n]);
  assert.throws(() => runOp(Concat, [f32([2, 1]), f32([3, 1])], { axis: 1 }), /do not match/);
  assert.equal(inferOp(Concat, [ty('f32', ['N', 3]), ty('f32', ['N', 5])], { axis: 1 })[0].shape, ['N', 8]);
  assert.equal(inferOp(Concat, [ty('f32', ['N', 3]), ty('f32', [2, 3])], { axis: 0 })[0].shape, ['?0', 3]);
  assert.equal(inferOp(Concat, [ty('f32', ['N', 3]), ty('f32', [0, 3])], { axis: 0 })[0].shape, ['N', 3]);
});

test('Split: split input, num_outputs with a smaller last chunk, equal parts', () => {
  const parts = runOp(Split, [f32([6]), i64([1, 2, 3])], {}, 3);
  assert.equal(parts.map(nums), [[0], [1, 2], [3, 4, 5]]);
  const uneven = runOp(Split, [f32([7])], { num_outputs: 3 }, 3);
  assert.equal(uneven.map(nums), [[0, 1, 2], [3, 4, 5], [6]]);
  const cols = runOp(Split, [f32([2, 4])], { axis: -1 }, 2);
  assert.equal(cols.map(nums), [[0, 1, 4, 5], [2, 3, 6, 7]]);
  const zero = runOp(Split, [Tensor.zeros('f32', [0]), i64([0, 0])], {}, 2);
  assert.equal(zero.map((t) => t.shape), [[0], [0]]);
  assert.throws(() => runOp(Split, [f32([6]), i64([1, 2])], {}, 2), /sum/);
  const t = inferOp(Split, [ty('f32', ['N', 10])], { axis: 1, num_outputs: 3 }, [], 3);
  assert.equal(t.map((x) => x.shape), [['N', 4], ['N', 4], ['N', 2]]);
  assert.equal(inferOp(Split, [ty('f32', ['N'])], {}, [], 2).map((x) => x.shape), [['?0'], ['?1']]);
});

test('Slice: negative steps, INT64 min/max ends, clamping', () => {
  const x = f32([3, 4]);
  // reverse the columns: start -1, end INT64_MIN, step -1
  const [rev] = runOp(Slice, [x, i64([-1]), INT64_MIN, i64([1]), i64([-1])]);
  assert.equal(nums(rev), [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8]);
  const [tail] = runOp(Slice, [x, i64([1]), INT64_MAX, i64([0])]);
  assert.equal(tail.shape, [2, 4]);
  assert.equal(nums(tail), [4, 5, 6, 7, 8, 9, 10, 11]);
  const [empty] = runOp(Slice, [x, i64([10]), i64([20]), i64([1])]);
  assert.equal(empty.shape, [3, 0]);
  const [even] = runOp(Slice, [x, i64([0]), i64([-1]), i64([1]), i64([2])]);
  assert.equal(nums(even), [0, 2, 4, 6, 8, 10]);
  const [odd] = runOp(Slice, [x, i64([-1]), i64([0]), i64([-1]), i64([-2])]);
  assert.equal(nums(odd), [3, 1, 7, 5, 11, 9]);
  // default axes: starts/ends apply to axes 0, 1
  const [both] = runOp(Slice, [x, i64([2, -100]), i64([0, 2]), undefined, i64([-1, 1])]);
  assert.equal(nums(both), [8, 9, 4, 5]);
  // start beyond the end with a negative step clamps to dim - 1
  const [clamped] = runOp(Slice, [f32([5]), i64([100]), i64([2]), i64([0]), i64([-1])]);
  assert.equal(nums(clamped), [4, 3]);
});

test('Slice shape rule: symbolic dims and unknown starts', () => {
  const t = inferOp(Slice, [ty('f32', ['N', 10]), ty('i64', [2]), ty('i64', [2])], {},
    [undefined, i64([0, 2]), new Tensor('i64', [2], BigInt64Array.of(9223372036854775807n, 5n))]);
  assert.equal(t[0].shape, ['N', 3]);
  const u = inferOp(Slice, [ty('f32', ['N', 10, 4]), ty('i64', [1]), ty('i64', [1]), ty('i64', [1])], {},
    [undefined, undefined, undefined, i64([-2])]);
  assert.equal(u[0].shape, ['N', '?0', 4]);
});

test('Tile', () => {
  assert.equal(nums(runOp(Tile, [f32([2], [1, 2]), i64([3])])[0]), [1, 2, 1, 2, 1, 2]);
  const [y] = runOp(Tile, [f32([2, 2]), i64([2, 2])]);
  assert.equal(y.shape, [4, 4]);
  assert.equal(nums(y), [0, 1, 0, 1, 2, 3, 2, 3, 0, 1, 0, 1, 2, 3, 2, 3]);
  assert.equal(runOp(Tile, [f32([2]), i64([0])])[0].shape, [0]);
  assert.equal(inferOp(Tile, [ty('f32', ['N', 3]), ty('i64', [2])], {}, [undefined, i64([1, 2])])[0].shape, ['N', 6]);
});

test('Pad: constant, edge, reflect (spec examples)', () => {
  const x = f32([3, 2], [1.0, 1.2, 2.3, 3.4, 4.5, 5.7]);
  const pads = i64([0, 2, 0, 0]);
  assert.equal(approx(runOp(Pad, [x, pads], { mode: 'reflect' })[0]),
    [1.0, 1.2, 1.0, 1.2, 2.3, 3.4, 2.3, 3.4, 4.5, 5.7, 4.5, 5.7]);
  assert.equal(approx(runOp(Pad, [x, pads], { mode: 'edge' })[0]),
    [1.0, 1.0, 1.0, 1.2, 2.3, 2.3, 2.3, 3.4, 4.5, 4.5, 4.5, 5.7]);
  assert.equal(approx(runOp(Pad, [x, pads, Tensor.scalar('f32', 9)])[0]),
    [9, 9, 1.0, 1.2, 9, 9, 2.3, 3.4, 9, 9, 4.5, 5.7]);
});

test('Pad: wide reflect, wrap, negative pads, axes, ints', () => {
  const x = f32([3], [1, 2, 3]);
  assert.equal(nums(runOp(Pad, [x, i64([3, 3])], { mode: 'reflect' })[0]), [2, 3, 2, 1, 2, 3, 2, 1, 2]);
  assert.equal(nums(runOp(Pad, [x, i64([2, 4])], { mode: 'wrap' })[0]), [2, 3, 1, 2, 3, 1, 2, 3, 1]);
  assert.equal(nums(runOp(Pad, [f32([4], [1, 2, 3, 4]), i64([-1, 1]), Tensor.scalar('f32', 9)])[0]), [2, 3, 4, 9]);
  // negative pads crop first, then wrap pads the cropped [2, 3, 4]
  assert.equal(nums(runOp(Pad, [f32([4], [1, 2, 3, 4]), i64([-1, 2])], { mode: 'wrap' })[0]), [2, 3, 4, 2, 3]);
  const [y] = runOp(Pad, [f32([2, 2]), i64([1, 0]), undefined, i64([-1])], { mode: 'edge' });
  assert.equal(nums(y), [0, 0, 1, 2, 2, 3]);
  const [b] = runOp(Pad, [i64([5, 6]), i64([1, 1]), i64([-1], [])]);
  assert.equal(Array.from(b.data as BigInt64Array), [-1n, 5n, 6n, -1n]);
  assert.throws(() => runOp(Pad, [Tensor.zeros('f32', [0]), i64([1, 1])], { mode: 'edge' }), /nothing is left/);
  assert.equal(inferOp(Pad, [ty('f32', ['N', 3]), ty('i64', [4])], {}, [undefined, i64([0, 1, 0, 1])])[0].shape, ['N', 5]);
  assert.equal(inferOp(Pad, [ty('f32', ['N', 3]), ty('i64', [4])])[0].shape, ['?0', '?1']);
});

test('Trilu: upper/lower with k, batches, zero-size', () => {
  const x = f32([3, 4]);
  assert.equal(nums(runOp(Trilu, [x])[0]), [0, 1, 2, 3, 0, 5, 6, 7, 0, 0, 10, 11]);
  assert.equal(nums(runOp(Trilu, [x, i64([-1], [])], { upper: 0 })[0]), [0, 0, 0, 0, 4, 0, 0, 0, 8, 9, 0, 0]);
  assert.equal(nums(runOp(Trilu, [x, i64([1], [])])[0]), [0, 1, 2, 3, 0, 0, 6, 7, 0, 0, 0, 11]);
  assert.equal(nums(runOp(Trilu, [f32([2, 2, 2])], { upper: 0 })[0]), [0, 0, 2, 3, 4, 0, 6, 7]);
  assert.equal(runOp(Trilu, [Tensor.zeros('f32', [0, 3])])[0].shape, [0, 3]);
});

test.run();
