/**
 * Opset normalisation: old-opset models, hand-built with kiln's schema, import into the newest op
 * forms (attributes moved to constant inputs, semantic rewrites) and compute the old semantics;
 * opset-28 models get the opset-28 semantics (Mod on floats, SpaceToDepth's mode).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KilnError } from '../../compiler/errors.ts';
import type { Graph, Node } from '../../compiler/ir/graph.ts';
import { Tensor, readNumbers } from '../../compiler/ir/tensor.ts';
import { importOnnx } from '../../compiler/import/onnx/import.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { attr, floatTensor, int64Tensor, modelBytes, node, value, type ModelSpec } from './onnx-build.ts';

const load = (spec: ModelSpec) => importOnnx(modelBytes({ ir: 7, ...spec }));
/** The value of a node input that is a constant, as plain numbers. */
const inputValue = (g: Graph, n: Node, k: number) => {
  const c = g.constants.find((x) => x.name === n.inputs[k]);
  assert.ok(c, `input ${k} of ${n.op} is a constant`);
  return Array.from(readNumbers(c!.data!));
};
const run = (g: Graph, ...xs: Tensor[]) => runReference(g, new Map(g.inputs.map((i, k) => [i.name, xs[k]])));
const nums = (t: Tensor) => Array.from(readNumbers(t));
const f32 = (shape: number[], v: number[]) => Tensor.fromNumbers('f32', shape, v);
const close = (got: number[], want: number[], what = '') => {
  assert.is(got.length, want.length);
  got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) < 1e-5, `${what} element ${i}: ${g} vs ${want[i]}`));
};
const attrsOf = (n: Node) => Object.keys(n.attrs).sort();

test('Reshape-1: shape attribute -> i64 input; consumed_inputs dropped', () => {
  const g = load({ opset: 1, nodes: [node('Reshape', ['x'], ['y'], [attr.ints('shape', [3, -1]), attr.ints('consumed_inputs', [0])])],
    inputs: [value('x', 1, [2, 3])], outputs: [value('y', 1, [3, 2])] });
  const n = g.nodes[0];
  assert.is(g.constants.find((c) => c.name === n.inputs[1])!.type.dtype, 'i64');
  assert.equal(inputValue(g, n, 1), [3, -1]);
  assert.equal(attrsOf(n), []);
  assert.equal(n.types[0].shape, [3, 2]);
});

test('Slice-1: starts/ends/axes attributes -> inputs', () => {
  const g = load({ opset: 9, nodes: [node('Slice', ['x'], ['y'], [attr.ints('starts', [1]), attr.ints('ends', [1000]), attr.ints('axes', [1])])],
    inputs: [value('x', 1, [2, 3])], outputs: [value('y', 1, [2, 2])] });
  const n = g.nodes[0];
  assert.is(n.inputs.length, 4);
  assert.equal([inputValue(g, n, 1), inputValue(g, n, 2), inputValue(g, n, 3)], [[1], [1000], [1]]);
  assert.equal(nums(run(g, f32([2, 3], [1, 2, 3, 4, 5, 6]))[0]), [2, 3, 5, 6]);
});

test('TopK-1: k attribute -> 1-D i64 input', () => {
  const g = load({ opset: 1, nodes: [node('TopK', ['x'], ['v', 'i'], [attr.int('k', 2)])],
    inputs: [value('x', 1, [4])], outputs: [value('v', 1, [2]), value('i', 7, [2])] });
  const n = g.nodes[0];
  assert.equal(inputValue(g, n, 1), [2]);
  assert.equal(g.constants.find((c) => c.name === n.inputs[1])!.type.shape, [1]);
  const [v, i] = run(g, f32([4], [3, 9, 1, 7]));
  assert.equal(nums(v), [9, 7]);
  assert.equal(nums(i), [1, 3]);
});

test('Clip-6: min/max attributes -> scalar inputs of the input dtype', () => {
  const g = load({ opset: 6, nodes: [node('Clip', ['x'], ['y'], [attr.float('min', -1), attr.float('max', 2)])],
    inputs: [value('x', 10, [4])], outputs: [value('y', 10, [4])] });
  const n = g.nodes[0];
  for (const k of [1, 2]) assert.equal(g.constants.find((c) => c.name === n.inputs[k])!.type, { dtype: 'f16', shape: [] });
  assert.equal(nums(run(g, Tensor.fromNumbers('f16', [4], [-5, 0.5, 3, 2]))[0]), [-1, 0.5, 2, 2]);
  const only = load({ opset: 6, nodes: [node('Clip', ['x'], ['y'], [attr.float('max', 0)])], inputs: [value('x', 1, [2])], outputs: [value('y', 1, [2])] });
  assert.equal(only.nodes[0].inputs[1], '');
  assert.equal(nums(run(only, f32([2], [-3, 4]))[0]), [-3, 0]);
});

test('Pad-2 / Pad-1: pads (paddings) and value attributes -> inputs', () => {
  const g = load({ opset: 2, nodes: [node('Pad', ['x'], ['y'], [attr.ints('pads', [1, 0]), attr.float('value', 5)])],
    inputs: [value('x', 1, [2])], outputs: [value('y', 1, [3])] });
  assert.equal(inputValue(g, g.nodes[0], 1), [1, 0]);
  assert.equal(inputValue(g, g.nodes[0], 2), [5]);
  assert.equal(attrsOf(g.nodes[0]), []);
  assert.equal(nums(run(g, f32([2], [1, 2]))[0]), [5, 1, 2]);
  const g1 = load({ opset: 1, nodes: [node('Pad', ['x'], ['y'], [attr.ints('paddings', [0, 2]), attr.str('mode', 'edge')])],
    inputs: [value('x', 1, [2])], outputs: [value('y', 1, [4])] });
  assert.equal(attrsOf(g1.nodes[0]), ['mode']);
  assert.equal(nums(run(g1, f32([2], [1, 2]))[0]), [1, 2, 2, 2]);
});

test('Dropout-7: ratio -> input, is_test dropped, the T-typed mask becomes a bool mask + Cast', () => {
  const g = load({ opset: 7, nodes: [node('Dropout', ['x'], ['y', 'mask'], [attr.float('ratio', 0.3)], 'drop')],
    inputs: [value('x', 1, [3])], outputs: [value('y', 1, [3]), value('mask', 1, [3])] });
  assert.equal(g.nodes.map((n) => n.op), ['Dropout', 'Cast']);
  assert.equal(g.nodes.map((n) => n.loc[0]), ['drop', 'drop']);
  close(inputValue(g, g.nodes[0], 1), [0.3]);
  assert.equal(g.nodes[0].types[1].dtype, 'bool');
  assert.equal(g.nodes[1].attrs.to, { kind: 'int', value: 1 });
  const [y, mask] = run(g, f32([3], [1, 2, 3]));
  assert.equal(nums(y), [1, 2, 3]);
  assert.equal([mask.dtype, ...nums(mask)], ['f32', 1, 1, 1]);
  const g10 = load({ opset: 10, nodes: [node('Dropout', ['x'], ['y', 'mask'], [attr.float('ratio', 0.3)])],
    inputs: [value('x', 1, [3])], outputs: [value('y', 1, [3]), value('mask', 9, [3])] });
  assert.equal(g10.nodes.map((n) => n.op), ['Dropout']);
  const unused = load({ opset: 7, nodes: [node('Dropout', ['x'], ['y', 'm'])], inputs: [value('x', 1, [3])], outputs: [value('y', 1, [3])] });
  assert.equal(unused.nodes[0].outputs, ['y']);
});

test('Split-2: split attribute -> input; without sizes -> num_outputs', () => {
  const g = load({ opset: 2, nodes: [node('Split', ['x'], ['a', 'b'], [attr.ints('split', [1, 3]), attr.int('axis', 0)])],
    inputs: [value('x', 1, [4])], outputs: [value('a', 1, [1]), value('b', 1, [3])] });
  assert.equal(inputValue(g, g.nodes[0], 1), [1, 3]);
  const [a, b] = run(g, f32([4], [1, 2, 3, 4]));
  assert.equal([nums(a), nums(b)], [[1], [2, 3, 4]]);
  const eq = load({ opset: 13, nodes: [node('Split', ['x'], ['a', 'b', 'c'])],
    inputs: [value('x', 1, [6])], outputs: [value('a', 1, [2]), value('b', 1, [2]), value('c', 1, [2])] });
  assert.equal(eq.nodes[0].attrs.num_outputs, { kind: 'int', value: 3 });
  assert.equal(run(eq, f32([6], [1, 2, 3, 4, 5, 6])).map(nums), [[1, 2], [3, 4], [5, 6]]);
});

test('Squeeze-11 / Unsqueeze-11: axes attribute -> input', () => {
  const g = load({ opset: 11, nodes: [node('Unsqueeze', ['x'], ['u'], [attr.ints('axes', [0, -1])]), node('Squeeze', ['u'], ['y'], [attr.ints('axes', [0])])],
    inputs: [value('x', 1, [2])], outputs: [value('y', 1, [2, 1])] });
  assert.equal(inputValue(g, g.nodes[0], 1), [0, -1]);
  assert.equal(inputValue(g, g.nodes[1], 1), [0]);
  assert.equal(g.nodes.map((n) => n.types[0].shape), [[1, 2, 1], [2, 1]]);
});

test('ReduceSum-11 and ReduceMean-13: axes attribute -> input (absent axes stays absent)', () => {
  const g = load({ opset: 11, nodes: [node('ReduceSum', ['x'], ['s'], [attr.ints('axes', [1]), attr.int('keepdims', 0)])],
    inputs: [value('x', 1, [2, 2])], outputs: [value('s', 1, [2])] });
  assert.equal(inputValue(g, g.nodes[0], 1), [1]);
  assert.equal(nums(run(g, f32([2, 2], [1, 2, 3, 4]))[0]), [3, 7]);
  const m = load({ opset: 13, nodes: [node('ReduceMean', ['x'], ['a'], [attr.ints('axes', [0])]), node('ReduceMean', ['x'], ['b'])],
    inputs: [value('x', 1, [2, 2])], outputs: [value('a', 1, [1, 2]), value('b', 1, [1, 1])] });
  assert.equal(inputValue(m, m.nodes[0], 1), [0]);
  assert.equal(m.nodes[1].inputs, ['x']);
  assert.equal(run(m, f32([2, 2], [1, 2, 3, 4])).map(nums), [[2, 3], [2.5]]);
});

test('Softmax-11: normalises over the flattened trailing dims (Shape/Flatten/Softmax/Reshape)', () => {
  const g = load({ opset: 11, nodes: [node('Softmax', ['x'], ['y'], [attr.int('axis', 1)], 'sm')],
    inputs: [value('x', 1, [2, 2, 2])], outputs: [value('y', 1, [2, 2, 2])] });
  assert.equal(g.nodes.map((n) => n.op), ['Shape', 'Flatten', 'Softmax', 'Reshape']);
  assert.equal(g.nodes.map((n) => n.loc[0]), ['sm', 'sm', 'sm', 'sm']);
  assert.equal(g.nodes[2].attrs.axis, { kind: 'int', value: 1 });
  assert.equal(g.nodes[3].types[0], { dtype: 'f32', shape: [2, 2, 2] });
  const x = [0, 1, 2, 3, 0, 0, 0, 0];
  const e = x.slice(0, 4).map(Math.exp), s = e.reduce((a, b) => a + b);
  close(nums(run(g, f32([2, 2, 2], x))[0]), [...e.map((v) => v / s), 0.25, 0.25, 0.25, 0.25]);
});

test('Softmax-11 / LogSoftmax-1 with the last axis stay a single node', () => {
  const g = load({ opset: 11, nodes: [node('Softmax', ['x'], ['y'])], inputs: [value('x', 1, [2, 3])], outputs: [value('y', 1, [2, 3])] });
  assert.equal(g.nodes.map((n) => [n.op, n.attrs.axis]), [['Softmax', { kind: 'int', value: -1 }]]);
  const l = load({ opset: 1, nodes: [node('LogSoftmax', ['x'], ['y'], [attr.int('axis', -1)])], inputs: [value('x', 1, [3])], outputs: [value('y', 1, [3])] });
  assert.equal(l.nodes.map((n) => n.op), ['LogSoftmax']);
  const nl = load({ opset: 13, nodes: [node('Softmax', ['x'], ['y'], [attr.int('axis', 1)])], inputs: [value('x', 1, [2, 2, 2])], outputs: [value('y', 1, [2, 2, 2])] });
  assert.equal(nl.nodes.map((n) => n.op), ['Softmax'], 'opset 13 keeps the per-axis semantics');
});

test('Upsample-7/9 and Resize-10 become Resize with asymmetric coordinates and floor rounding', () => {
  const g7 = load({ opset: 7, nodes: [node('Upsample', ['x'], ['y'], [attr.floats('scales', [1, 1, 2, 2])], 'up')],
    inputs: [value('x', 1, [1, 1, 2, 2])], outputs: [value('y', 1, [1, 1, 4, 4])] });
  const r = g7.nodes[0];
  assert.is(r.op, 'Resize');
  assert.is(r.inputs[1], '');
  assert.equal(inputValue(g7, r, 2), [1, 1, 2, 2]);
  assert.equal(r.attrs, { mode: { kind: 'string', value: 'nearest' }, coordinate_transformation_mode: { kind: 'string', value: 'asymmetric' },
    nearest_mode: { kind: 'string', value: 'floor' } });
  assert.equal(nums(run(g7, f32([1, 1, 2, 2], [1, 2, 3, 4]))[0]), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  const g9 = load({ opset: 9, nodes: [node('Upsample', ['x', 's'], ['y'], [attr.str('mode', 'linear')])],
    inputs: [value('x', 1, [1, 1, 1, 2])], outputs: [value('y', 1, [1, 1, 1, 4])], initializers: [floatTensor('s', [4], [1, 1, 1, 2])] });
  assert.equal(g9.nodes[0].inputs, ['x', '', 's']);
  assert.equal(g9.nodes[0].attrs.mode, { kind: 'string', value: 'linear' });
  assert.equal(nums(run(g9, f32([1, 1, 1, 2], [0, 4]))[0]), [0, 2, 4, 4]);
  const g10 = load({ opset: 10, nodes: [node('Resize', ['x', 's'], ['y'])],
    inputs: [value('x', 1, [1, 2])], outputs: [value('y', 1, [1, 4])], initializers: [floatTensor('s', [2], [1, 2])] });
  assert.equal(g10.nodes[0].inputs, ['x', '', 's']);
  assert.equal(g10.nodes[0].attrs.coordinate_transformation_mode, { kind: 'string', value: 'asymmetric' });
});

test('Resize-11: empty roi/scales constants become omitted inputs', () => {
  const g = load({ opset: 11, nodes: [node('Resize', ['x', 'roi', 'scales', 'sizes'], ['y'])],
    inputs: [value('x', 1, [1, 2])], outputs: [value('y', 1, [1, 4])],
    initializers: [floatTensor('roi', [0], []), floatTensor('scales', [0], []), int64Tensor('sizes', [2], [1, 4])] });
  assert.equal(g.nodes[0].inputs, ['x', '', '', 'sizes']);
  assert.equal(g.nodes[0].types[0].shape, [1, 4]);
});

test('BatchNormalization-7/9: spatial and is_test dropped, unused training outputs removed, spatial=0 rejected', () => {
  const bn = (opset: number, attrs: ReturnType<typeof attr.int>[], outs: string[], graphOuts = ['y']) => load({
    opset, nodes: [node('BatchNormalization', ['x', 's', 'b', 'm', 'v'], outs, attrs, 'bn')],
    inputs: [value('x', 1, [1, 2, 1])], outputs: graphOuts.map((o) => value(o, 1, null)),
    initializers: [floatTensor('s', [2], [1, 2]), floatTensor('b', [2], [0, 1]), floatTensor('m', [2], [0, 1]), floatTensor('v', [2], [1, 4])],
  });
  const g = bn(7, [attr.int('spatial', 1), attr.int('is_test', 1), attr.float('epsilon', 0)], ['y']);
  assert.equal(attrsOf(g.nodes[0]), ['epsilon']);
  close(nums(run(g, f32([1, 2, 1], [3, 5]))[0]), [3, 2 * (5 - 1) / 2 + 1]);
  const g9 = bn(9, [], ['y', 'mean', 'var']);
  assert.equal(g9.nodes[0].outputs, ['y']);
  assert.throws(() => bn(7, [attr.int('spatial', 0)], ['y']), (e: Error) => e instanceof KilnError && /node 'bn', op BatchNormalization: BatchNormalization with spatial=0/.test(e.message));
  assert.throws(() => bn(9, [], ['y', 'mean'], ['y', 'mean']), /training-mode outputs \('mean'\) are not supported/);
});

test("Cast-1: 'to' type name -> type code; Concat-1: axis defaults to 1", () => {
  const g = load({ opset: 1, nodes: [node('Cast', ['x'], ['c'], [attr.str('to', 'INT32')]), node('Concat', ['c', 'c'], ['y'])],
    inputs: [value('x', 1, [2, 1])], outputs: [value('y', 6, [2, 2])] });
  assert.equal(g.nodes[0].attrs.to, { kind: 'int', value: 6 });
  assert.equal(g.nodes[1].attrs.axis, { kind: 'int', value: 1 });
  assert.equal(nums(run(g, f32([2, 1], [1.7, -2]))[0]), [1, 1, -2, -2]);
});

test('Add-6 broadcast with axis: B is unsqueezed to align at axis; PRelu-6 per-channel slope', () => {
  const g = load({ opset: 6, nodes: [node('Add', ['a', 'b'], ['y'], [attr.int('broadcast', 1), attr.int('axis', 1)])],
    inputs: [value('a', 1, [1, 2, 2]), value('b', 1, [2])], outputs: [value('y', 1, [1, 2, 2])] });
  assert.equal(g.nodes.map((n) => n.op), ['Unsqueeze', 'Add']);
  assert.equal(attrsOf(g.nodes[1]), []);
  assert.equal(nums(run(g, f32([1, 2, 2], [0, 0, 0, 0]), f32([2], [1, 2]))[0]), [1, 1, 2, 2]);
  const p = load({ opset: 6, nodes: [node('PRelu', ['x', 'slope'], ['y'])],
    inputs: [value('x', 1, [1, 2, 2])], outputs: [value('y', 1, [1, 2, 2])], initializers: [floatTensor('slope', [2], [0.5, 2])] });
  assert.equal(nums(run(p, f32([1, 2, 2], [-2, 2, -2, 2]))[0]), [-1, 2, -4, 2]);
});

test('forms kiln cannot express are named errors (Tile-1)', () => {
  assert.throws(() => load({ opset: 1, nodes: [node('Tile', ['x', 't', 'a'], ['y'], [], 'tile')],
    inputs: [value('x', 1, [2]), value('t', 7, []), value('a', 7, [])], outputs: [value('y', 1, [4])] }),
  (e: Error) => e instanceof KilnError && /node 'tile', op Tile: Tile before opset 6/.test(e.message));
});

test('Mod-28: floats with fmod=0 are floor modulo (Python %); before 28 that form is refused, fmod=1 unchanged', () => {
  const spec = (opset: number, fmod?: number): ModelSpec => ({ opset, ir: 13,
    nodes: [node('Mod', ['a', 'b'], ['y'], fmod === undefined ? [] : [attr.int('fmod', fmod)], 'mod')],
    inputs: [value('a', 1, [8]), value('b', 1, [8])], outputs: [value('y', 1, [8])] });
  const a = f32([8], [-4.5, 7, 5, -7, 4, 6, 5, -5]);
  const b = f32([8], [2, -3, 8, 3, -2, 3, Infinity, Infinity]);
  // Python: -4.5 % 2, 7.0 % -3, 5.0 % 8, -7.0 % 3, 4.0 % -2, 6.0 % 3, 5.0 % inf, -5.0 % inf
  const floor = nums(run(load(spec(28)), a, b)[0]);
  assert.equal(floor, [1.5, -2, 5, 2, -0, 0, 5, Infinity]);
  assert.ok(Object.is(floor[4], -0) && Object.is(floor[5], 0), 'a zero remainder takes the divisor sign');
  // fmod=1 is the C fmod at every opset
  for (const opset of [13, 27, 28]) assert.equal(nums(run(load(spec(opset, 1)), a, b)[0]), [-0.5, 1, 5, -1, 0, 0, 5, -5]);
  // before 28, fmod=0 on floats is not a valid model: refused as before, naming the node
  assert.throws(() => load(spec(27)), (e: Error) => e instanceof KilnError && /node 'mod', op Mod: Mod on f32 needs fmod=1 before opset 28/.test(e.message));
  assert.throws(() => load(spec(13, 0)), /needs fmod=1 before opset 28/);
  // integers keep the divisor-sign remainder at every opset
  for (const opset of [13, 28]) {
    const g = load({ opset, ir: 13, nodes: [node('Mod', ['a', 'b'], ['y'])], inputs: [value('a', 6, [3]), value('b', 6, [3])], outputs: [value('y', 6, [3])] });
    assert.equal(nums(run(g, Tensor.fromNumbers('i32', [3], [-4, 7, 5]), Tensor.fromNumbers('i32', [3], [3, -3, 8]))[0]), [2, -2, 5]);
  }
});

test('SpaceToDepth-28: mode DCR (the default, the old order) and CRD invert DepthToSpace; mode before 28 is refused', () => {
  const s2d = (opset: number, mode?: string): ModelSpec => ({ opset, ir: 13,
    nodes: [node('SpaceToDepth', ['x'], ['y'], [attr.int('blocksize', 2), ...(mode ? [attr.str('mode', mode)] : [])], 's2d')],
    inputs: [value('x', 1, [1, 2, 2, 2])], outputs: [value('y', 1, [1, 8, 1, 1])] });
  const x = f32([1, 2, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7]);
  const dcr = [0, 4, 1, 5, 2, 6, 3, 7]; // depth = (row*2 + col)*C + c
  assert.equal(nums(run(load(s2d(13)), x)[0]), dcr);
  assert.equal(nums(run(load(s2d(28)), x)[0]), dcr);
  assert.equal(nums(run(load(s2d(28, 'DCR')), x)[0]), dcr);
  assert.equal(nums(run(load(s2d(28, 'CRD')), x)[0]), [0, 1, 2, 3, 4, 5, 6, 7]); // depth = c*4 + row*2 + col
  // each mode round-trips through DepthToSpace in the same mode
  const v = f32([1, 2, 4, 6], Array.from({ length: 48 }, (_, i) => i));
  for (const mode of ['DCR', 'CRD']) {
    const g = load({ opset: 28, ir: 13, nodes: [node('SpaceToDepth', ['x'], ['d'], [attr.int('blocksize', 2), attr.str('mode', mode)]),
      node('DepthToSpace', ['d'], ['y'], [attr.int('blocksize', 2), attr.str('mode', mode)])],
    inputs: [value('x', 1, [1, 2, 4, 6])], outputs: [value('y', 1, [1, 2, 4, 6])] });
    assert.equal(nums(run(g, v)[0]), nums(v), mode);
  }
  assert.throws(() => load(s2d(27, 'DCR')), (e: Error) => e instanceof KilnError && /node 's2d', op SpaceToDepth: SpaceToDepth has no attribute 'mode' before opset 28/.test(e.message));
});

test('opset 28 models whose changes only widened types import as they are (SwiGLU, Celu, Einsum on bfloat16)', () => {
  const g = load({ opset: 28, ir: 13, nodes: [node('SwiGLU', ['a', 'b'], ['s'], [attr.float('alpha', 1)]), node('Celu', ['s'], ['y'])],
    inputs: [value('a', 1, [2]), value('b', 1, [2])], outputs: [value('y', 1, [2])] });
  assert.equal(g.nodes.map((n) => n.op), ['SwiGLU', 'Celu']);
  // SwiGLU(a, b) = a·sigmoid(a)·b, then Celu (alpha 1) = x for x > 0, e^x − 1 below
  const s = [1 / (1 + Math.exp(-1)) * 2, -2 / (1 + Math.exp(2)) * 3];
  close(nums(run(g, f32([2], [1, -2]), f32([2], [2, 3]))[0]), [s[0], Math.expm1(s[1])]);
  const e = load({ opset: 28, ir: 13, nodes: [node('Einsum', ['a', 'b'], ['y'], [attr.str('equation', 'ij,jk->ik')])],
    inputs: [value('a', 16, [1, 2]), value('b', 16, [2, 1])], outputs: [value('y', 16, [1, 1])] });
  assert.is(e.nodes[0].types[0].dtype, 'bf16');
  assert.equal(nums(run(e, Tensor.fromNumbers('bf16', [1, 2], [1, 2]), Tensor.fromNumbers('bf16', [2, 1], [3, 4]))[0]), [11]);
});


test('old-opset models agree with onnxruntime-node, which runs them natively', async () => {
  const { createRequire } = await import('node:module');
  const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof import('onnxruntime-node');
  const x = f32([2, 2, 3], [0.5, -1, 2, 3, -4, 1.5, 0, 2.5, -0.5, 1, 7, -2]);
  const cases: [string, ModelSpec][] = [
    ['Softmax-11 axis 1', { opset: 11, nodes: [node('Softmax', ['x'], ['y'], [attr.int('axis', 1)])], inputs: [value('x', 1, [2, 2, 3])], outputs: [value('y', 1, [2, 2, 3])] }],
    ['LogSoftmax-12 axis 0', { opset: 12, nodes: [node('LogSoftmax', ['x'], ['y'], [attr.int('axis', 0)])], inputs: [value('x', 1, [2, 2, 3])], outputs: [value('y', 1, [2, 2, 3])] }],
    ['Clip-7', { opset: 7, nodes: [node('Clip', ['x'], ['y'], [attr.float('min', -0.75), attr.float('max', 1.25)])], inputs: [value('x', 1, [2, 2, 3])], outputs: [value('y', 1, [2, 2, 3])] }],
    ['Pad-7 reflect', { opset: 7, nodes: [node('Pad', ['x'], ['y'], [attr.ints('pads', [0, 1, 2, 0, 0, 1]), attr.str('mode', 'reflect')])], inputs: [value('x', 1, [2, 2, 3])], outputs: [value('y', 1, [2, 3, 6])] }],
    ['Slice-9', { opset: 9, nodes: [node('Slice', ['x'], ['y'], [attr.ints('starts', [-2, 0]), attr.ints('ends', [1000, 1]), attr.ints('axes', [2, 1])])], inputs: [value('x', 1, [2, 2, 3])], outputs: [value('y', 1, [2, 1, 2])] }],
    ['TopK-9', { opset: 9, nodes: [node('TopK', ['x'], ['v', 'i'], [attr.int('k', 2)])], inputs: [value('x', 1, [2, 2, 3])], outputs: [value('v', 1, [2, 2, 2]), value('i', 7, [2, 2, 2])] }],
    ['Split-7', { opset: 7, nodes: [node('Split', ['x'], ['a', 'b'], [attr.int('axis', 2), attr.ints('split', [1, 2])])], inputs: [value('x', 1, [2, 2, 3])], outputs: [value('a', 1, [2, 2, 1]), value('b', 1, [2, 2, 2])] }],
    ['ReduceSum-11', { opset: 11, nodes: [node('ReduceSum', ['x'], ['y'], [attr.ints('axes', [0, 2])])], inputs: [value('x', 1, [2, 2, 3])], outputs: [value('y', 1, [1, 2, 1])] }],
    ['ReduceMax-13 no axes', { opset: 13, nodes: [node('ReduceMax', ['x'], ['y'], [attr.int('keepdims', 0)])], inputs: [value('x', 1, [2, 2, 3])], outputs: [value('y', 1, [])] }],
    ['Unsqueeze-11/Squeeze-11', { opset: 11, nodes: [node('Unsqueeze', ['x'], ['u'], [attr.ints('axes', [1])]), node('Squeeze', ['u'], ['y'], [attr.ints('axes', [1])])], inputs: [value('x', 1, [2, 2, 3])], outputs: [value('y', 1, [2, 2, 3])] }],
    ['Upsample-7 linear', { opset: 7, nodes: [node('Upsample', ['x'], ['y'], [attr.floats('scales', [1, 2, 2]), attr.str('mode', 'linear')])], inputs: [value('x', 1, [2, 2, 3])], outputs: [value('y', 1, [2, 4, 6])] }],
    ['Upsample-9 nearest', { opset: 9, nodes: [node('Upsample', ['x', 's'], ['y'])], inputs: [value('x', 1, [2, 2, 3])], outputs: [value('y', 1, [2, 6, 3])], initializers: [floatTensor('s', [3], [1, 3, 1])] }],
    ['Resize-10 nearest', { opset: 10, nodes: [node('Resize', ['x', 's'], ['y'])], inputs: [value('x', 1, [2, 2, 3])], outputs: [value('y', 1, [2, 4, 3])], initializers: [floatTensor('s', [3], [1, 2, 1])] }],
    ['Dropout-7 mask', { opset: 7, nodes: [node('Dropout', ['x'], ['y', 'm'], [attr.float('ratio', 0.2)])], inputs: [value('x', 1, [2, 2, 3])], outputs: [value('y', 1, [2, 2, 3]), value('m', 1, [2, 2, 3])] }],
    ['BatchNormalization-7', { opset: 7, nodes: [node('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['y'], [attr.int('spatial', 1)])], inputs: [value('x', 1, [2, 2, 3])], outputs: [value('y', 1, [2, 2, 3])],
      initializers: [floatTensor('s', [2], [1, 2]), floatTensor('b', [2], [0, 1]), floatTensor('m', [2], [0.5, 1]), floatTensor('v', [2], [1, 4])] }],
  ];
  for (const [what, spec] of cases) {
    const bytes = modelBytes({ ir: 7, ...spec });
    const g = importOnnx(bytes);
    const ours = run(g, x);
    const session = await ort.InferenceSession.create(bytes);
    const theirs = await session.run({ x: new ort.Tensor('float32', x.data as Float32Array, [...x.shape]) });
    g.outputs.forEach((name, k) => {
      // onnxruntime fills the opset 7-9 Dropout mask with zeros; the ONNX reference (and kiln) give ones (nothing dropped)
      if (what === 'Dropout-7 mask' && name === 'm') return assert.equal(nums(ours[k]), new Array(12).fill(1));
      assert.equal([...theirs[name].dims], [...ours[k].shape], `${what}: shape of ${name}`);
      const want = Array.from(theirs[name].data as ArrayLike<number | bigint>, Number);
      close(nums(ours[k]), want, `${what}: ${name}`);
    });
  }
});

test.run();
