/**
 * Binding shape arguments to their values (compiler/ops/bind-values.ts, applied by runtime/inputs.ts
 * bindInputs): a graph whose sizes depend on the values of small inputs becomes static with exactly
 * those inputs turned into constants (a minimal set: data inputs stay inputs); a graph that is static
 * already, or whose sizes depend on data no input value decides (NonZero), comes back unchanged.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isStaticShape, valueTypes } from '../../compiler/ir/graph.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { inferTypes } from '../../compiler/ops/infer.ts';
import { bindValues, hasSymbolicValues } from '../../compiler/ops/bind-values.ts';
import { bindInputs } from '../../compiler/runtime/inputs.ts';
import { runReference } from '../../compiler/runtime/reference.ts';

const i64 = (...v: number[]) => new Tensor('i64', [v.length], BigInt64Array.from(v.map(BigInt)));
const f32 = (shape: number[], v: number[]) => new Tensor('f32', shape, Float32Array.from(v));

// Reshape's target shape and Gather's indices are both small i64 inputs; only the shape decides sizes
const reshape = () => inferTypes(parseGraph(`kiln.graph @g(%x: f32[2,3], %shape: i64[2], %idx: i64[2]) -> (%1: f32[_a,2]) {
  %0 = Reshape(%x, %shape) : f32[_a,_b]
  %1 = Gather(%0, %idx) {axis=1} : f32[_a,2]
  return %1
}`));

test('a shape argument given as an input becomes a constant; data inputs stay inputs', () => {
  const g = reshape();
  assert.ok(hasSymbolicValues(g));
  const values = new Map([['x', f32([2, 3], [1, 2, 3, 4, 5, 6])], ['shape', i64(3, 2)], ['idx', i64(1, 0)]]);
  const { graph, bound } = bindValues(g, values);
  assert.equal(bound, ['shape']);
  assert.equal(graph.inputs.map((i) => i.name), ['x', 'idx']);
  assert.ok([...valueTypes(graph).values()].every((t) => isStaticShape(t.shape)));
  assert.equal(valueTypes(graph).get('1')!.shape, [3, 2]);
  // the specialised graph computes what the original computes with those values
  const want = runReference(g, values);
  const got = runReference(graph, new Map([['x', values.get('x')!], ['idx', values.get('idx')!]]));
  assert.equal(Array.from(got[0].data as Float32Array), Array.from(want[0].data as Float32Array));
});

test('bindInputs applies it and drops the bound inputs from the inputs it returns', () => {
  const g = reshape();
  const tensors = { x: f32([2, 3], [1, 2, 3, 4, 5, 6]), shape: i64(6, 1), idx: i64(0, 0) };
  const { graph, inputs } = bindInputs(g, { tensors });
  assert.equal([...inputs.keys()], ['x', 'idx']);
  assert.equal(valueTypes(graph).get('0')!.shape, [6, 1]);
});

test('static graphs and truly data-dependent sizes come back unchanged', () => {
  const fixed = parseGraph(`kiln.graph @s(%x: f32[2]) -> (%0: f32[2]) {
  %0 = Relu(%x) : f32[2]
  return %0
}`);
  const a = bindValues(fixed, new Map([['x', f32([2], [1, -1])]]));
  assert.is(a.graph, fixed);
  assert.equal(a.bound, []);
  // a Range whose limit is the maximum of a 100-element input: too large to be a shape argument
  const data = inferTypes(parseGraph(`kiln.graph @data(%x: f32[100]) -> (%1: f32[_n]) {
  %z = const f32[] dense<0.0>
  %one = const f32[] dense<1.0>
  %0 = ReduceMax(%x) {keepdims=0} : f32[]
  %1 = Range(%z, %0, %one) : f32[_n]
  return %1
}`));
  assert.ok(hasSymbolicValues(data));
  const b = bindValues(data, new Map([['x', f32([100], Array.from({ length: 100 }, (_, i) => i % 7))]]));
  assert.is(b.graph, data);
  assert.equal(b.bound, []);
});

test.run();
