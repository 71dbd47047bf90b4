import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { gatherOps } from '../../compiler/ops/gather.ts';
import { opFrom, runOp, inferOp, ty, f32, i64, nums, approx } from './movement-helpers.ts';

const Gather = opFrom(gatherOps, 'Gather');
const GatherElements = opFrom(gatherOps, 'GatherElements');
const TopK = opFrom(gatherOps, 'TopK');
const ArgMax = opFrom(gatherOps, 'ArgMax');
const ArgMin = opFrom(gatherOps, 'ArgMin');

const big = (t: Tensor) => Array.from(t.data as BigInt64Array, Number);

test('Gather: spec examples, axis 1, negative and scalar indices', () => {
  const data = f32([3, 2], [1.0, 1.2, 2.3, 3.4, 4.5, 5.7]);
  const [y] = runOp(Gather, [data, i64([0, 1, 1, 2], [2, 2])]);
  assert.equal(y.shape, [2, 2, 2]);
  assert.equal(approx(y), [1.0, 1.2, 2.3, 3.4, 2.3, 3.4, 4.5, 5.7]);
  const d2 = f32([3, 3], [1.0, 1.2, 1.9, 2.3, 3.4, 3.9, 4.5, 5.7, 5.9]);
  const [z] = runOp(Gather, [d2, i64([0, 2], [1, 2])], { axis: 1 });
  assert.equal(z.shape, [3, 1, 2]);
  assert.equal(approx(z), [1.0, 1.9, 2.3, 3.9, 4.5, 5.9]);
  const [n] = runOp(Gather, [d2, Tensor.fromNumbers('i32', [], [-1])], { axis: -1 });
  assert.equal(n.shape, [3]);
  assert.equal(approx(n), [1.9, 3.9, 5.9]);
  assert.throws(() => runOp(Gather, [d2, i64([3])]), /out of range/);
  const [s] = runOp(Gather, [new Tensor('str', [3], ['a', 'b', 'c']), i64([2, 0])]);
  assert.equal(s.data, ['c', 'a']);
  assert.equal(inferOp(Gather, [ty('f32', [30522, 768]), ty('i64', ['B', 'S'])])[0].shape, ['B', 'S', 768]);
});

test('Gather: embedding-sized rows copy as blocks', () => {
  const table = f32([5, 64]);
  const [y] = runOp(Gather, [table, i64([4, 0])]);
  assert.equal(nums(y).slice(0, 3), [256, 257, 258]);
  assert.equal(nums(y).slice(64, 67), [0, 1, 2]);
});

test('GatherElements: spec examples and negative indices', () => {
  const [y] = runOp(GatherElements, [f32([2, 2], [1, 2, 3, 4]), i64([0, 0, 1, 0], [2, 2])], { axis: 1 });
  assert.equal(nums(y), [1, 1, 4, 3]);
  const d = f32([3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const [z] = runOp(GatherElements, [d, i64([1, 2, 0, 2, 0, 0], [2, 3])]);
  assert.equal(nums(z), [4, 8, 3, 7, 2, 3]);
  const [w] = runOp(GatherElements, [d, i64([-1, -2, 0, -3, 1, -1], [2, 3])]);
  assert.equal(nums(w), [7, 5, 3, 1, 5, 9]);
  assert.equal(inferOp(GatherElements, [ty('f32', ['N', 3]), ty('i64', ['N', 2])], { axis: 1 })[0].shape, ['N', 2]);
});

test('TopK: largest, smallest, ties prefer the smaller index, axis 0', () => {
  const [v, i] = runOp(TopK, [f32([3, 4]), i64([3])], {}, 2);
  assert.equal(v.shape, [3, 3]);
  assert.equal(nums(v), [3, 2, 1, 7, 6, 5, 11, 10, 9]);
  assert.equal(big(i), [3, 2, 1, 3, 2, 1, 3, 2, 1]);
  const t = f32([5], [3, 1, 3, 2, 1]);
  const [lv, li] = runOp(TopK, [t, i64([3])], {}, 2);
  assert.equal(nums(lv), [3, 3, 2]);
  assert.equal(big(li), [0, 2, 3]);
  const [sv, si] = runOp(TopK, [t, i64([2])], { largest: 0 }, 2);
  assert.equal(nums(sv), [1, 1]);
  assert.equal(big(si), [1, 4]);
  const [av, ai] = runOp(TopK, [f32([3, 2], [1, 6, 5, 2, 3, 4]), i64([2])], { axis: 0 }, 2);
  assert.equal(nums(av), [5, 6, 3, 4]);
  assert.equal(big(ai), [1, 0, 2, 2]);
  const [bv] = runOp(TopK, [new Tensor('i64', [3], BigInt64Array.of(9007199254740992n, 9007199254740993n, 1n)), i64([1])], {}, 2);
  assert.equal(Array.from(bv.data as BigInt64Array), [9007199254740993n]);
  const r = inferOp(TopK, [ty('f32', ['N', 10]), ty('i64', [1])], {}, [undefined, i64([4])], 2);
  assert.equal(r, [ty('f32', ['N', 4]), ty('i64', ['N', 4])]);
});

test('ArgMax / ArgMin: keepdims, select_last_index, NaN', () => {
  const x = f32([2, 2], [2, 1, 3, 10]);
  const [a0] = runOp(ArgMax, [x]);
  assert.equal(a0.shape, [1, 2]);
  assert.equal(big(a0), [1, 1]);
  const [a1] = runOp(ArgMax, [x], { axis: -1, keepdims: 0 });
  assert.equal(a1.shape, [2]);
  assert.equal(big(a1), [0, 1]);
  const ties = f32([2, 2], [2, 2, 3, 10]);
  assert.equal(big(runOp(ArgMax, [ties], { axis: 1 })[0]), [0, 1]);
  assert.equal(big(runOp(ArgMax, [ties], { axis: 1, select_last_index: 1 })[0]), [1, 1]);
  assert.equal(big(runOp(ArgMin, [ties], { axis: 1 })[0]), [0, 0]);
  assert.equal(big(runOp(ArgMin, [ties], { axis: 1, select_last_index: 1 })[0]), [1, 0]);
  assert.equal(big(runOp(ArgMax, [f32([3], [1, NaN, 5])])[0]), [1]);
  assert.equal(big(runOp(ArgMin, [new Tensor('i64', [3], BigInt64Array.of(-9007199254740992n, -9007199254740993n, 2n))])[0]), [1]);
  assert.equal(inferOp(ArgMin, [ty('f32', ['N', 5])], { axis: 1, keepdims: 0 })[0], ty('i64', ['N']));
});

test.run();
