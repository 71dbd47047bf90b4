/**
 * Op family 'scatter' (compiler/ops/scatter.ts): ScatterND, ScatterElements, Scatter, GatherND and
 * TensorScatter on hand-checked spec examples, their reductions, and the errors for bad attributes,
 * shapes and indices.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { scatterOps } from '../../compiler/ops/scatter.ts';
import { opFrom, runOp, inferOp, ty, f32, i64, nums } from './movement-helpers.ts';
import { nodeAttrError } from './node-attr-helpers.ts';

const ScatterND = opFrom(scatterOps, 'ScatterND');
const ScatterElements = opFrom(scatterOps, 'ScatterElements');
const Scatter = opFrom(scatterOps, 'Scatter');
const GatherND = opFrom(scatterOps, 'GatherND');
const TensorScatter = opFrom(scatterOps, 'TensorScatter');

test('ScatterND: element and slice updates, reductions, last write wins', () => {
  const [y] = runOp(ScatterND, [f32([8], [1, 2, 3, 4, 5, 6, 7, 8]), i64([4, 3, 1, 7], [4, 1]), f32([4], [9, 10, 11, 12])]);
  assert.equal(nums(y), [1, 11, 3, 10, 9, 6, 7, 12]);
  // slices: rows 0 and 2 of a 3x2 matrix
  const [z] = runOp(ScatterND, [f32([3, 2]), i64([2, 0], [2, 1]), f32([2, 2], [10, 11, 20, 21])]);
  assert.equal(nums(z), [20, 21, 2, 3, 10, 11]);
  const [a] = runOp(ScatterND, [f32([4], [1, 1, 1, 1]), i64([1, 1, -1], [3, 1]), f32([3], [2, 3, 5])], { reduction: 'add' });
  assert.equal(nums(a), [1, 6, 1, 6]);
  const [m] = runOp(ScatterND, [f32([3], [2, 2, 2]), i64([0, 0], [2, 1]), f32([2], [3, 4])], { reduction: 'mul' });
  assert.equal(nums(m), [24, 2, 2]);
  const [w] = runOp(ScatterND, [f32([2], [0, 0]), i64([1, 1], [2, 1]), f32([2], [3, 4])]);
  assert.equal(nums(w), [0, 4]);
  assert.throws(() => runOp(ScatterND, [f32([4]), i64([4], [1, 1]), f32([1])]), /index 4 is out of range for axis 0 of size 4/);
  assert.throws(() => runOp(ScatterND, [f32([4]), i64([1], [1, 1]), f32([2])]), /updates shape \[2\] should be \[1\]/);
  assert.throws(() => inferOp(ScatterND, [ty('f32', [4]), ty('i64', [2, 2]), ty('f32', [2])]), /more than the data rank 1/);
  nodeAttrError(ScatterND, { reduction: { kind: 'string', value: 'sum' } }, 'reduction', /must be one of none, add, mul, max, min/);
});

test('ScatterElements / Scatter: spec examples, axis, negative indices, max/min', () => {
  const data = f32([3, 3], [0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const [y] = runOp(ScatterElements, [data, i64([1, 0, 2, 0, 2, 1], [2, 3]), f32([2, 3], [1, 1.1, 1.2, 2, 2.1, 2.2])]);
  assert.equal(Array.from(y.data as Float32Array), Array.from(Float32Array.from([2, 1.1, 0, 1, 0, 2.2, 0, 2.1, 1.2])));
  const [z] = runOp(ScatterElements, [f32([1, 5], [1, 2, 3, 4, 5]), i64([1, -2], [1, 2]), f32([1, 2], [11, 21])], { axis: 1 });
  assert.equal(nums(z), [1, 11, 3, 21, 5]);
  const [mx] = runOp(ScatterElements, [f32([1, 5], [1, 2, 3, 4, 5]), i64([1, 1], [1, 2]), f32([1, 2], [1, 3])], { axis: 1, reduction: 'max' });
  assert.equal(nums(mx), [1, 3, 3, 4, 5]);
  const [mn] = runOp(ScatterElements, [f32([1, 5], [1, 2, 3, 4, 5]), i64([1, 1], [1, 2]), f32([1, 2], [1, 3])], { axis: 1, reduction: 'min' });
  assert.equal(nums(mn), [1, 1, 3, 4, 5]);
  const [s] = runOp(Scatter, [f32([1, 5], [1, 2, 3, 4, 5]), i64([1, 3], [1, 2]), f32([1, 2], [11, 21])], { axis: 1 });
  assert.equal(nums(s), [1, 11, 3, 21, 5]);
  assert.throws(() => inferOp(ScatterElements, [ty('f32', [3, 3]), ty('i64', [3]), ty('f32', [3])]), /indices rank 1 differs from data rank 2/);
  assert.throws(() => inferOp(ScatterElements, [ty('f32', [3, 3]), ty('i64', [1, 3]), ty('f32', [1, 3])], { axis: 2 }), /axis 2 is out of range for rank 2/);
  // Scatter (opset 9/10) has no reduction
  nodeAttrError(Scatter, { reduction: { kind: 'string', value: 'add' } }, 'reduction', /Scatter has no attribute 'reduction'/);
});

test('GatherND: spec examples with and without batch_dims', () => {
  const d = new Tensor('i32', [2, 2], Int32Array.from([0, 1, 2, 3]));
  const [y] = runOp(GatherND, [d, i64([0, 0, 1, 1], [2, 2])]);
  assert.equal(nums(y), [0, 3]);
  const [rows] = runOp(GatherND, [d, i64([1, 0], [2, 1])]);
  assert.equal(rows.shape, [2, 2]);
  assert.equal(nums(rows), [2, 3, 0, 1]);
  const d3 = f32([2, 2, 2]);
  const [b] = runOp(GatherND, [d3, i64([1, 0], [2, 1])], { batch_dims: 1 });
  assert.equal(b.shape, [2, 2]);
  assert.equal(nums(b), [2, 3, 4, 5]);
  assert.equal(inferOp(GatherND, [ty('f32', ['N', 4, 5]), ty('i64', ['N', 3, 1])], { batch_dims: 1 })[0].shape, ['N', 3, 5]);
  assert.throws(() => inferOp(GatherND, [ty('f32', [2, 2]), ty('i64', [2, 2])], { batch_dims: 2 }), /batch_dims 2 must be below/);
  assert.throws(() => runOp(GatherND, [d, i64([0, 2], [1, 2])]), /index 2 is out of range for axis 1 of size 2/);
});

test('TensorScatter: linear and circular KV-cache writes', () => {
  const cache = f32([2, 4, 1], [0, 0, 0, 0, 0, 0, 0, 0]);
  const upd = f32([2, 2, 1], [1, 2, 3, 4]);
  const [y] = runOp(TensorScatter, [cache, upd, i64([1, 2])]);
  assert.equal(nums(y), [0, 1, 2, 0, 0, 0, 3, 4]);
  const [c] = runOp(TensorScatter, [cache, upd, i64([3, 0])], { mode: 'circular' });
  assert.equal(nums(c), [2, 0, 0, 1, 3, 4, 0, 0]);
  const [z] = runOp(TensorScatter, [cache, upd]);
  assert.equal(nums(z), [1, 2, 0, 0, 3, 4, 0, 0]);
  assert.throws(() => runOp(TensorScatter, [cache, upd, i64([3, 0])]), /out of range for a cache of 4 rows/);
  assert.throws(() => inferOp(TensorScatter, [ty('f32', [2, 4]), ty('f32', [2, 4])], { axis: 0 }), /batch axis 0/);
  nodeAttrError(TensorScatter, { mode: { kind: 'string', value: 'ring' } }, 'mode', /must be one of linear, circular/);
});

test.run();
