/**
 * Op family 'sequence' (compiler/ops/sequence.ts): each op's value kernel on hand-checked sequences,
 * the type rules over `seq<T>` (joined element types, unranked elements, fresh dims), SequenceMap's
 * region through the reference executor, and errors naming the node, op and attribute.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { TensorType } from '../../compiler/ir/graph.ts';
import { formatType } from '../../compiler/ir/graph.ts';
import { Tensor } from '../../compiler/ir/tensor.ts';
import type { Value } from '../../compiler/ir/value.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { KilnError } from '../../compiler/errors.ts';
import { inferTypes } from '../../compiler/ops/infer.ts';
import { AttrReader, type OpDef } from '../../compiler/ops/registry.ts';
import { sequenceOps } from '../../compiler/ops/sequence.ts';
import '../../compiler/ops/all.ts';
import { runReferenceValues } from '../../compiler/runtime/reference.ts';
import { opFrom, inferOp, ty, f32, i64, nums, type PlainAttrs } from './movement-helpers.ts';
import { nodeAttrError } from './node-attr-helpers.ts';

const op = (name: string) => opFrom(sequenceOps, name);
const seq = (dtype: TensorType['dtype'], shape: TensorType['shape']): TensorType => ({ dtype, shape, container: 'seq' });
const scalar = (v: number) => i64([v], []);

/** Runs a value kernel with plain attributes (no regions). */
function runValues(def: OpDef<any>, inputs: (Value | undefined)[], attrs: PlainAttrs = {}, outputs = 1): Value[] {
  const a: Record<string, { kind: 'int'; value: number }> = {};
  for (const [k, v] of Object.entries(attrs)) a[k] = { kind: 'int', value: v as number };
  const ctx = { runRegion: () => { throw new Error('no regions here'); } };
  return def.runValues!(inputs, def.parseAttrs(new AttrReader(a)), outputs, ctx);
}

/** The sequence a kernel returned, as shapes and numbers. */
function items(v: Value): { shape: number[]; values: number[] }[] {
  assert.ok(Array.isArray(v), 'a sequence');
  return (v as Tensor[]).map((t) => ({ shape: [...t.shape], values: nums(t) }));
}

/** The KilnError message of `f`, which must throw one. */
function kilnError(f: () => unknown): KilnError {
  try { f(); } catch (e) { assert.instance(e, KilnError); return e as KilnError; }
  return assert.unreachable('expected a KilnError') as never;
}

const a = f32([2], [1, 2]), b = f32([2], [3, 4]), c = f32([3], [5, 6, 7]);

test('SequenceConstruct, SequenceLength, SequenceAt: elements in order, negative positions', () => {
  const [s] = runValues(op('SequenceConstruct'), [a, b, c]);
  assert.equal(items(s).map((e) => e.values), [[1, 2], [3, 4], [5, 6, 7]]);
  assert.equal(nums(runValues(op('SequenceLength'), [s])[0] as Tensor), [3]);
  assert.equal(nums(runValues(op('SequenceAt'), [s, scalar(1)])[0] as Tensor), [3, 4]);
  assert.equal(nums(runValues(op('SequenceAt'), [s, scalar(-1)])[0] as Tensor), [5, 6, 7]);
  assert.equal(nums(runValues(op('SequenceAt'), [s, new Tensor('i32', [], Int32Array.of(-3))])[0] as Tensor), [1, 2]);
  assert.throws(() => runValues(op('SequenceAt'), [s, scalar(3)]), /position 3 is out of range for a sequence of 3 tensors \(valid: -3\.\.2\)/);
  assert.throws(() => runValues(op('SequenceAt'), [s, scalar(-4)]), /position -4 is out of range/);
  assert.throws(() => runValues(op('SequenceAt'), [a, scalar(0)]), /input_sequence is f32\[2\], not a sequence/);
  // types: equal dims stay, differing dims become fresh symbols, differing ranks leave the elements unranked
  assert.equal(formatType(inferOp(op('SequenceConstruct'), [ty('f32', [2]), ty('f32', [2])])[0]), 'seq<f32[2]>');
  assert.equal(formatType(inferOp(op('SequenceConstruct'), [ty('f32', [2]), ty('f32', [3])])[0]), 'seq<f32[?0]>');
  assert.equal(formatType(inferOp(op('SequenceConstruct'), [ty('f32', [2]), ty('f32', [2, 3])])[0]), 'seq<f32[*]>');
  assert.throws(() => inferOp(op('SequenceConstruct'), [ty('f32', [2]), ty('i64', [2])]), /input 1: seq<f32\[2\]> and seq<i64\[2\]> have different element types/);
  assert.equal(inferOp(op('SequenceLength'), [seq('f32', ['N'])]), [{ dtype: 'i64', shape: [] }]);
  assert.equal(inferOp(op('SequenceAt'), [seq('f32', ['N', 3]), ty('i64', [])]), [{ dtype: 'f32', shape: ['N', 3] }]);
  assert.throws(() => inferOp(op('SequenceAt'), [seq('f32', [2]), ty('f32', [])]), /position must be a one-element i32 or i64 tensor, got f32\[\]/);
  assert.throws(() => inferOp(op('SequenceAt'), [{ ...seq('f32', []), unranked: true }, ty('i64', [])]), /rank of seq<f32\[\*\]>'s elements is not known/);
  assert.throws(() => inferOp(op('SequenceLength'), [ty('f32', [2])]), /input_sequence must be a sequence, got f32\[2\]/);
});

test('SequenceEmpty, SequenceInsert, SequenceErase: positions, defaults, joined types', () => {
  const [e] = runValues(op('SequenceEmpty'), [], { dtype: 7 });
  assert.equal(e, []);
  assert.equal(formatType(inferOp(op('SequenceEmpty'), [], { dtype: 7 })[0]), 'seq<i64[*]>');
  assert.equal(formatType(inferOp(op('SequenceEmpty'), [])[0]), 'seq<f32[*]>', 'dtype defaults to float');
  nodeAttrError(op('SequenceEmpty'), { dtype: { kind: 'int', value: 14 } }, 'dtype', /data type 14 has no kiln dtype/);
  const [s1] = runValues(op('SequenceInsert'), [[a], b]); // appends
  const [s2] = runValues(op('SequenceInsert'), [s1, c, scalar(0)]);
  const [s3] = runValues(op('SequenceInsert'), [s2, a, scalar(-1)]); // before the last
  assert.equal(items(s3).map((x) => x.values), [[5, 6, 7], [1, 2], [1, 2], [3, 4]]);
  assert.equal(items(runValues(op('SequenceInsert'), [[a], b, scalar(1)])[0]).map((x) => x.values), [[1, 2], [3, 4]], 'position n appends');
  assert.throws(() => runValues(op('SequenceInsert'), [[a], b, scalar(2)]), /position 2 is out of range for a sequence of 1 tensor \(valid: -1\.\.1\)/);
  assert.equal(items(runValues(op('SequenceErase'), [s3])[0]).map((x) => x.values), [[5, 6, 7], [1, 2], [1, 2]], 'erases the last by default');
  assert.equal(items(runValues(op('SequenceErase'), [s3, scalar(-4)])[0]).map((x) => x.values), [[1, 2], [1, 2], [3, 4]]);
  assert.throws(() => runValues(op('SequenceErase'), [[]]), /cannot erase from an empty sequence/);
  assert.equal(formatType(inferOp(op('SequenceInsert'), [seq('f32', [2]), ty('f32', [2])])[0]), 'seq<f32[2]>');
  assert.equal(formatType(inferOp(op('SequenceInsert'), [seq('f32', [2]), ty('f32', [5])])[0]), 'seq<f32[?0]>');
  assert.throws(() => inferOp(op('SequenceInsert'), [seq('f32', [2]), ty('i32', [2])]), /inserting i32\[2\] into seq<f32\[2\]>: seq<f32\[2\]> and seq<i32\[2\]> have different element types/);
  assert.throws(() => inferOp(op('SequenceInsert'), [seq('f32', [2]), seq('f32', [2])]), /tensor must be a tensor, got seq<f32\[2\]>/);
  assert.equal(inferOp(op('SequenceErase'), [seq('f32', ['N']), ty('i32', [1])]), [seq('f32', ['N'])]);
});

test('SplitToSequence: chunks of 1 (keepdims), a scalar split (last chunk smaller), a list of sizes', () => {
  const x = f32([2, 3], [1, 2, 3, 4, 5, 6]);
  const S = op('SplitToSequence');
  assert.equal(items(runValues(S, [x], { axis: 1 })[0]), [{ shape: [2, 1], values: [1, 4] }, { shape: [2, 1], values: [2, 5] }, { shape: [2, 1], values: [3, 6] }]);
  assert.equal(items(runValues(S, [x], { axis: 0, keepdims: 0 })[0]), [{ shape: [3], values: [1, 2, 3] }, { shape: [3], values: [4, 5, 6] }]);
  assert.equal(items(runValues(S, [x, scalar(2)], { axis: 1, keepdims: 0 })[0]), [{ shape: [2, 2], values: [1, 2, 4, 5] }, { shape: [2, 1], values: [3, 6] }], 'keepdims is ignored with a split');
  assert.equal(items(runValues(S, [x, i64([1, 2])], { axis: -1 })[0]).map((e) => e.shape), [[2, 1], [2, 2]]);
  assert.throws(() => runValues(S, [x, i64([1, 1])], { axis: 1 }), /split \[1,1\] does not sum to the axis size 3/);
  assert.throws(() => runValues(S, [x, scalar(0)], { axis: 1 }), /split 0 must be positive/);
  assert.equal(formatType(inferOp(S, [ty('f32', [2, 3])], { axis: 1 })[0]), 'seq<f32[2,1]>');
  assert.equal(formatType(inferOp(S, [ty('f32', [2, 3])], { axis: 1, keepdims: 0 })[0]), 'seq<f32[2]>');
  assert.equal(formatType(inferOp(S, [ty('f32', [2, 6]), ty('i64', [])], { axis: 1 }, [undefined, scalar(3)])[0]), 'seq<f32[2,3]>');
  assert.equal(formatType(inferOp(S, [ty('f32', [2, 5]), ty('i64', [])], { axis: 1 }, [undefined, scalar(3)])[0]), 'seq<f32[2,?0]>');
  assert.equal(formatType(inferOp(S, [ty('f32', [2, 5]), ty('i64', [2])], { axis: 1 })[0]), 'seq<f32[2,?0]>');
  assert.throws(() => inferOp(S, [ty('f32', [2, 3])], { axis: 2 }), /attribute axis 2 is out of range for rank 2/);
  nodeAttrError(S, { keepdims: { kind: 'int', value: 2 } }, 'keepdims', /must be one of 0, 1, got 2/);
});

test('ConcatFromSequence: along an axis, stacked on a new axis; empty sequences and differing ranks are errors', () => {
  const C = op('ConcatFromSequence');
  const x = f32([1, 2], [1, 2]), y = f32([2, 2], [3, 4, 5, 6]);
  const [cat] = runValues(C, [[x, y]], { axis: 0 });
  assert.equal((cat as Tensor).shape, [3, 2]);
  assert.equal(nums(cat as Tensor), [1, 2, 3, 4, 5, 6]);
  const [st] = runValues(C, [[a, b]], { axis: -1, new_axis: 1 });
  assert.equal((st as Tensor).shape, [2, 2]);
  assert.equal(nums(st as Tensor), [1, 3, 2, 4]);
  assert.throws(() => runValues(C, [[]], { axis: 0 }), /cannot concatenate an empty sequence/);
  assert.throws(() => runValues(C, [[a, x]], { axis: 0 }), /element 1 is f32\[1,2\] but element 0 is f32\[2\]: the elements need one rank/);
  assert.equal(inferOp(C, [seq('f32', ['N', 2])], { axis: 0 }), [{ dtype: 'f32', shape: ['?0', 2] }]);
  assert.equal(inferOp(C, [seq('f32', [3])], { axis: 1, new_axis: 1 }), [{ dtype: 'f32', shape: [3, '?0'] }]);
  assert.throws(() => inferOp(C, [seq('f32', [3])], { axis: 1 }), /attribute axis 1 is out of range for rank 1/);
  nodeAttrError(C, {}, 'axis', /required attribute is missing/);
  // differing ranks in the graph: the sequence's elements are unranked, and the node says so
  const g = parseGraph(`kiln.graph @g(%a: f32[2], %b: f32[2,3]) -> (%y: f32[M]) {
  %s = SequenceConstruct(%a, %b) : seq<f32[*]> loc("build")
  %y = ConcatFromSequence(%s) {axis=0} : f32[M] loc("cat")
  return %y
}`);
  const e = kilnError(() => inferTypes(g));
  assert.equal([e.place.node, e.place.op], ['y', 'ConcatFromSequence']);
  assert.match(e.message, /input_sequence: the rank of seq<f32\[\*\]>'s elements is not known/);
});

const MAP = `kiln.graph @m(%xs: seq<f32[N]>, %t: f32[N]) -> (%sum: seq<f32[N]>, %shape: seq<i64[1]>) {
  %sum, %shape = SequenceMap(%xs, %t) : seq<f32[N]>, seq<i64[1]> loc("map") {
    body @body(%x: f32[N], %u: f32[N]) -> (%s: f32[N], %n: i64[1]) {
      %s = Add(%x, %u) : f32[N] loc("add")
      %n = Shape(%x) : i64[1] loc("shape")
      return %s, %n
    }
  }
  return %sum, %shape
}`;

test('SequenceMap: the body runs per element, sequence inputs step together, tensor inputs stay', () => {
  const g = inferTypes(parseGraph(MAP));
  const [sum, shape] = runReferenceValues(g, new Map<string, Value>([['xs', [f32([2], [1, 2]), f32([2], [10, 20])]], ['t', f32([2], [5, 6])]]));
  assert.equal(items(sum).map((e) => e.values), [[6, 8], [15, 26]]);
  assert.equal(items(shape).map((e) => e.values), [[2], [2]]);
  assert.equal(runReferenceValues(g, new Map<string, Value>([['xs', []], ['t', f32([2])]])), [[], []], 'an empty sequence maps to empty sequences');
  assert.equal(g.nodes[0].types.map(formatType), ['seq<f32[N]>', 'seq<i64[1]>']);
  // two sequences of different lengths
  const two = inferTypes(parseGraph(`kiln.graph @m(%xs: seq<f32[2]>, %ys: seq<f32[2]>) -> (%z: seq<f32[2]>) {
  %z = SequenceMap(%xs, %ys) : seq<f32[2]> loc("map") {
    body @body(%x: f32[2], %y: f32[2]) -> (%s: f32[2]) {
      %s = Mul(%x, %y) : f32[2] loc("mul")
      return %s
    }
  }
  return %z
}`));
  assert.equal(items(runReferenceValues(two, new Map<string, Value>([['xs', [a, b]], ['ys', [b, a]]]))[0]).map((e) => e.values), [[3, 8], [3, 8]]);
  const e = kilnError(() => runReferenceValues(two, new Map<string, Value>([['xs', [a, b]], ['ys', [a]]])));
  assert.equal([e.place.node, e.place.op], ['z', 'SequenceMap']);
  assert.match(e.message, /input 1 has 1 elements but input 0 has 2/);
  // the first input must be a sequence
  const bad = parseGraph(`kiln.graph @m(%x: f32[2]) -> (%z: seq<f32[2]>) {
  %z = SequenceMap(%x) : seq<f32[2]> loc("map") {
    body @body(%e: f32[2]) -> (%e2: f32[2]) {
      %e2 = Neg(%e) : f32[2] loc("neg")
      return %e2
    }
  }
  return %z
}`);
  assert.match(kilnError(() => inferTypes(bad)).message, /op SequenceMap: type inference failed: input_sequence must be a sequence, got f32\[2\]/);
});

test('SequenceAt out of range in a graph: the error names the node and the op', () => {
  const g = inferTypes(parseGraph(`kiln.graph @g(%s: seq<f32[2]>, %p: i64[]) -> (%y: f32[2]) {
  %y = SequenceAt(%s, %p) : f32[2] loc("at")
  return %y
}`));
  assert.equal(nums(runReferenceValues(g, new Map<string, Value>([['s', [a, b]], ['p', scalar(-2)]]))[0] as Tensor), [1, 2]);
  const e = kilnError(() => runReferenceValues(g, new Map<string, Value>([['s', [a, b]], ['p', scalar(2)]])));
  assert.equal([e.place.node, e.place.op], ['y', 'SequenceAt']);
  assert.match(e.message, /position 2 is out of range for a sequence of 2 tensors \(valid: -2\.\.1\)/);
});

test.run();
