/**
 * Op family 'select' (compiler/ops/select.ts): Compress, NonZero and Unique on hand-checked
 * examples, their data-dependent dims as fresh symbols in the shape rules, and their errors.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { selectOps } from '../../compiler/ops/select.ts';
import { opFrom, runOp, inferOp, ty, f32, nums } from './movement-helpers.ts';
import { nodeAttrError } from './node-attr-helpers.ts';

const Compress = opFrom(selectOps, 'Compress');
const NonZero = opFrom(selectOps, 'NonZero');
const Unique = opFrom(selectOps, 'Unique');

const bool = (v: number[]) => new Tensor('bool', [v.length], Uint8Array.from(v));

test('Compress: axis, flattened, short condition, known and unknown counts', () => {
  const x = f32([3, 2], [1, 2, 3, 4, 5, 6]);
  const [a0] = runOp(Compress, [x, bool([0, 1, 1])], { axis: 0 });
  assert.equal(a0.shape, [2, 2]);
  assert.equal(nums(a0), [3, 4, 5, 6]);
  const [a1] = runOp(Compress, [x, bool([0, 1])], { axis: -1 });
  assert.equal(nums(a1), [2, 4, 6]);
  const [f] = runOp(Compress, [x, bool([0, 1, 0, 0, 1])]);
  assert.equal(f.shape, [2]);
  assert.equal(nums(f), [2, 5]);
  assert.equal(inferOp(Compress, [ty('f32', ['N', 2]), ty('bool', [3])], { axis: 0 })[0].shape, ['?0', 2]);
  assert.equal(inferOp(Compress, [ty('f32', [3, 2]), ty('bool', [3])], { axis: 0 }, [undefined, bool([1, 0, 1])])[0].shape, [2, 2]);
  assert.throws(() => runOp(Compress, [x, bool([1, 1, 1, 1])], { axis: 0 }), /condition has 4 entries, more than the 3 along axis 0/);
  assert.throws(() => inferOp(Compress, [ty('f32', [3]), ty('i64', [3])]), /condition must be bool/);
  nodeAttrError(Compress, { axis: { kind: 'ints', value: [0] } }, 'axis', /expected int, got ints/);
});

test('NonZero: coordinates in row-major order, one row per axis', () => {
  const [y] = runOp(NonZero, [new Tensor('bool', [2, 2], Uint8Array.from([1, 0, 1, 1]))]);
  assert.equal(y.shape, [2, 3]);
  assert.equal(nums(y), [0, 1, 1, 0, 0, 1]);
  const [z] = runOp(NonZero, [f32([3], [0, 0, 0])]);
  assert.equal(z.shape, [1, 0]);
  assert.equal(inferOp(NonZero, [ty('f32', ['N', 4, 2])])[0], { dtype: 'i64', shape: [3, '?0'] });
  assert.throws(() => inferOp(NonZero, [ty('str', [2])]), /X must be numeric or bool/);
  nodeAttrError(NonZero, { axis: { kind: 'int', value: 0 } }, 'axis', /NonZero has no attribute 'axis'/);
});

test('Unique: sorted and first-occurrence orders, all four outputs, axis', () => {
  const x = f32([6], [2, 1, 1, 3, 4, 3]);
  const [y, idx, inv, cnt] = runOp(Unique, [x], { sorted: 0 }, 4);
  assert.equal(nums(y), [2, 1, 3, 4]);
  assert.equal(nums(idx), [0, 1, 3, 4]);
  assert.equal(nums(inv), [0, 1, 1, 2, 3, 2]);
  assert.equal(nums(cnt), [1, 2, 2, 1]);
  const [ys, is, vs, cs] = runOp(Unique, [x], {}, 4);
  assert.equal(nums(ys), [1, 2, 3, 4]);
  assert.equal(nums(is), [1, 0, 3, 4]);
  assert.equal(nums(vs), [1, 0, 0, 2, 3, 2]);
  assert.equal(nums(cs), [2, 1, 2, 1]);
  // rows of [[1,0,0],[1,0,0],[2,3,4]] along axis 0; columns along axis 1 sort lexicographically
  const m = f32([3, 3], [1, 0, 0, 1, 0, 0, 2, 3, 4]);
  const [r, , rinv] = runOp(Unique, [m], { axis: 0 }, 3);
  assert.equal(r.shape, [2, 3]);
  assert.equal(nums(r), [1, 0, 0, 2, 3, 4]);
  assert.equal(nums(rinv), [0, 0, 1]);
  const [c] = runOp(Unique, [f32([2, 3], [3, 1, 1, 0, 2, 1])], { axis: -1 });
  assert.equal(nums(c), [1, 1, 3, 1, 2, 0]);
  const types = inferOp(Unique, [ty('f32', [4, 'W'])], { axis: 0 }, [], 4);
  assert.equal(types.map((t) => t.shape), [['?0', 'W'], ['?0'], [4], ['?0']]);
  assert.equal(inferOp(Unique, [ty('str', [2, 3])], {}, [], 3)[2], { dtype: 'i64', shape: [6] });
  assert.throws(() => inferOp(Unique, [ty('f32', [2])], { axis: 1 }), /axis 1 is out of range for rank 1/);
  nodeAttrError(Unique, { sorted: { kind: 'int', value: 3 } }, 'sorted', /must be one of 0, 1, got 3/);
});

test.run();
