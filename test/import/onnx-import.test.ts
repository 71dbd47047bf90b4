/**
 * ONNX import: SSA renaming and provenance, constants (initializers, Constant nodes in every form,
 * initializers listed as inputs), symbolic and unnamed dims, topological re-ordering, version
 * checks, the one-error-lists-every-offender rule, and robustness against truncated and randomly
 * corrupted files (always a KilnError, never a hang).
 */
import { conformanceCase } from '../support/paths.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../../compiler/errors.ts';
import { readNumbers } from '../../compiler/ir/tensor.ts';
import { importOnnx } from '../../compiler/import/onnx/import.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { Tensor } from '../../compiler/ir/tensor.ts';
import type { Graph } from '../../compiler/ir/graph.ts';
import { attr, floatTensor, int64Tensor, modelBytes, node, value, type ModelSpec } from './onnx-build.ts';
import { decodeModelProto, encodeModelProto } from '../../compiler/import/onnx/schema.ts';

const errorOf = (bytes: Uint8Array, file = 'm.onnx'): string => {
  try {
    importOnnx(bytes, { file });
  } catch (e) {
    if (!(e instanceof KilnError)) throw e;
    return e.message;
  }
  return assert.unreachable('imported without error') as never;
};
const constValue = (g: Graph, name: string) => Array.from(readNumbers(g.constants.find((c) => c.name === name)!.data!));

test('intermediates get SSA names in node order; inputs, outputs and initializers keep theirs; loc is the node name', () => {
  const g = importOnnx(modelBytes({
    nodes: [
      node('Add', ['x', 'bias'], ['/layer/add_out'], [], '/layer/Add'),
      node('Relu', ['/layer/add_out'], ['relu_out']),
      node('Mul', ['relu_out', 'relu_out'], ['y'], [], 'square'),
    ],
    inputs: [value('x', 1, ['batch', 4])],
    outputs: [value('y', 1, ['batch', 4])],
    initializers: [floatTensor('bias', [4], [1, 2, 3, 4])],
  }));
  assert.equal(g.inputs, [{ name: 'x', type: { dtype: 'f32', shape: ['batch', 4] } }]);
  assert.equal(g.outputs, ['y']);
  assert.equal(g.nodes.map((n) => [n.op, n.inputs, n.outputs, n.loc]), [
    ['Add', ['x', 'bias'], ['0'], ['/layer/Add']],
    ['Relu', ['0'], ['1'], ['Relu_1']],
    ['Mul', ['1', '1'], ['y'], ['square']],
  ]);
  assert.equal(g.nodes[2].types, [{ dtype: 'f32', shape: ['batch', 4] }]);
  assert.equal(g.constants.map((c) => [c.name, c.type]), [['bias', { dtype: 'f32', shape: [4] }]]);
  assert.is(g.constants[0].hash.length, 64);
});

test('SSA numbers skip names that graph values already use', () => {
  const g = importOnnx(modelBytes({
    nodes: [node('Neg', ['0'], ['t']), node('Neg', ['t'], ['1'])],
    inputs: [value('0', 1, [2])], outputs: [value('1', 1, [2])],
  }));
  assert.equal(g.nodes.map((n) => n.outputs[0]), ['2', '1']);
});

test('Constant nodes in every form become constants; initializers listed as inputs are constants', () => {
  const g = importOnnx(modelBytes({
    ir: 3,
    nodes: [
      node('Constant', [], ['c_tensor'], [attr.tensor('value', floatTensor('', [2], [0.5, 1.5]))]),
      node('Constant', [], ['c_float'], [attr.float('value_float', 2.5)]),
      node('Constant', [], ['c_floats'], [attr.floats('value_floats', [1, 2])]),
      node('Constant', [], ['c_int'], [attr.int('value_int', 3)]),
      node('Constant', [], ['c_ints'], [attr.ints('value_ints', [4, 5])]),
      node('Constant', [], ['c_str'], [attr.str('value_string', 'hi')]),
      node('Add', ['x', 'c_tensor'], ['a']),
      node('Mul', ['a', 'c_float'], ['b']),
      node('Add', ['b', 'w'], ['y']),
    ],
    inputs: [value('x', 1, [2]), value('w', 1, [2])],
    outputs: [value('y', 1, [2]), value('c_ints', 7, [2])],
    initializers: [floatTensor('w', [2], [10, 20])],
  }));
  assert.equal(g.inputs.map((i) => i.name), ['x'], 'w has an initializer, so it is a constant');
  const byName = new Map(g.constants.map((c) => [c.name, c]));
  assert.equal([...byName.keys()], ['w', '0', '1', '2', '3', 'c_ints', '4']);
  assert.equal(byName.get('1')!.type, { dtype: 'f32', shape: [] });
  assert.equal(constValue(g, '0'), [0.5, 1.5]);
  assert.equal(constValue(g, '2'), [1, 2]);
  assert.equal(byName.get('3')!.data!.data, BigInt64Array.of(3n));
  assert.equal(byName.get('c_ints')!.type, { dtype: 'i64', shape: [2] });
  assert.equal(byName.get('4')!.data!.data, ['hi']);
  const [y, ints] = runReference(g, new Map([['x', Tensor.fromNumbers('f32', [2], [1, 2])]]));
  assert.equal(Array.from(y.data as Float32Array), [(1 + 0.5) * 2.5 + 10, (2 + 1.5) * 2.5 + 20]);
  assert.equal(ints.data, BigInt64Array.of(4n, 5n));
});

test('sparse initializers and sparse Constant values are densified (linear and coordinate indices)', () => {
  const spec = modelBytes({
    nodes: [
      node('Constant', [], ['c'], [{ name: 'sparse_value', type: 11, sparse_tensor: {
        dims: [2, 3], values: floatTensor('', [2], [5, 6]), indices: int64Tensor('', [2, 2], [0, 1, 1, 2]) } }]),
      node('Add', ['s', 'c'], ['y']),
    ],
    inputs: [], outputs: [value('y', 1, [2, 3])],
  });
  const m = decodeModelProto(spec);
  m.graph!.sparse_initializer = [{ dims: [2, 3], values: floatTensor('s', [2], [1, 2]), indices: int64Tensor('', [2], [0, 5]) }];
  const g = importOnnx(encodeModelProto(m));
  assert.equal(constValue(g, 's'), [1, 0, 0, 0, 0, 2]);
  assert.equal(constValue(g, '0'), [0, 5, 0, 0, 0, 6]);
  assert.equal(Array.from(runReference(g, new Map())[0].data as Float32Array), [1, 5, 0, 0, 0, 8]);
});

test('symbolic dims keep their names; missing dims get fresh names; value_info is only a hint', () => {
  const g = importOnnx(modelBytes({
    nodes: [node('Relu', ['x'], ['y'])],
    inputs: [value('x', 10, ['N', null, 3])],
    outputs: [value('y', 10, null)],
  }));
  assert.equal(g.inputs[0].type, { dtype: 'f16', shape: ['N', '_u0', 3] });
  assert.equal(g.nodes[0].types[0], { dtype: 'f16', shape: ['N', '_u0', 3] });
});

test('nodes out of order are sorted topologically (stable)', () => {
  const g = importOnnx(modelBytes({
    nodes: [node('Neg', ['b'], ['y'], [], 'last'), node('Relu', ['x'], ['a'], [], 'first'), node('Abs', ['a'], ['b'], [], 'second')],
    inputs: [value('x', 1, [2])], outputs: [value('y', 1, [2])],
  }));
  assert.equal(g.nodes.map((n) => n.loc[0]), ['first', 'second', 'last']);
  assert.equal(g.nodes.map((n) => n.outputs[0]), ['0', '1', 'y']);
  const c = importOnnx(modelBytes({
    nodes: [node('Add', ['x', 'k'], ['y']), node('Constant', [], ['k'], [attr.float('value_float', 2)])],
    inputs: [value('x', 1, [2])], outputs: [value('y', 1, [2])],
  }));
  assert.equal([c.constants.map((k) => k.name), c.nodes[0].inputs], [['0'], ['x', '0']]);
});

test('structural errors: undefined inputs, values defined twice, missing outputs', () => {
  const base = (nodes: ModelSpec['nodes']) => modelBytes({ nodes, inputs: [value('x', 1, [2])], outputs: [value('y', 1, [2])] });
  assert.is(errorOf(base([node('Add', ['x', 'ghost'], ['y'], [], 'add')])), "m.onnx, node 'add', op Add: input 'ghost' is not defined anywhere in the graph");
  assert.match(errorOf(base([node('Neg', ['x'], ['y'], [], 'n1'), node('Abs', ['x'], ['y'], [], 'n2')])), "value 'y' is defined more than once");
  assert.match(errorOf(base([node('Neg', ['x'], ['z'])])), "graph output 'y' is not produced by any node");
});

test('attribute and shape errors from type inference name the file, the ONNX node and op', () => {
  const spec = (a: ReturnType<typeof attr.str>) => modelBytes({ nodes: [node('Transpose', ['x'], ['y'], [a], 'tr')], inputs: [value('x', 1, [2, 3])], outputs: [value('y', 1, [3, 2])] });
  assert.match(errorOf(spec(attr.str('perm', 'no'))), /^m\.onnx, node 'tr', op Transpose, attribute 'perm': expected ints, got string/);
  assert.match(errorOf(spec(attr.ints('perm', [0, 0]))), /^m\.onnx, node 'tr', op Transpose: type inference failed/);
  // an attribute the op does not define is refused (as onnxruntime does), listing the ones it has
  assert.is(errorOf(spec(attr.ints('permutation', [1, 0]))),
    "m.onnx, node 'tr', op Transpose, attribute 'permutation': Transpose has no attribute 'permutation' (its attributes: perm)");
});

test('version checks: IR 3-13, ai.onnx opset up to 28 and required', () => {
  const spec = { nodes: [node('Neg', ['x'], ['y'])], inputs: [value('x', 1, [2])], outputs: [value('y', 1, [2])] };
  assert.is(errorOf(modelBytes({ ...spec, ir: 2 })), 'm.onnx: ONNX IR version 2 is not supported (kiln reads IR versions 3 to 13)');
  assert.match(errorOf(modelBytes({ ...spec, ir: 14 })), 'ONNX IR version 14 is not supported');
  assert.match(errorOf(modelBytes({ ...spec, opset: 29 })), 'ai.onnx opset 29 is not supported (kiln reads opsets up to 28)');
  const g = importOnnx(modelBytes({ ...spec, ir: 13, opset: 27, extraOpsets: [{ domain: 'com.microsoft', version: 1 }] }));
  assert.is(g.nodes[0].op, 'Neg');
  assert.is(importOnnx(modelBytes({ ...spec, ir: 13, opset: 28 })).nodes[0].op, 'Neg');
});

test('ONE error lists every unsupported node (name, op, domain, opset) and value type (a map); control flow imports', () => {
  const msg = errorOf(modelBytes({
    opset: 17,
    extraOpsets: [{ domain: 'com.microsoft', version: 1 }],
    nodes: [
      node('FancyOp', ['x'], ['a'], [], 'fancy'),
      node('Relu', ['a'], ['b']),
      node('FusedGemm', ['b', 'b'], ['c'], [], 'ms_gemm', 'com.microsoft'),
      node('If', ['cond'], ['d'], [{ name: 'then_branch', type: 5, g: { name: 'then' } }, { name: 'else_branch', type: 5, g: { name: 'else' } }], 'branch'),
      node('Add', ['c', 'd'], ['y']),
    ],
    inputs: [value('x', 1, [2]), value('cond', 9, []), { name: 'map', type: { map_type: { key_type: 8, value_type: { tensor_type: { elem_type: 1 } } } } }],
    outputs: [value('y', 1, [2])],
  }));
  assert.is(msg, [
    'm.onnx: cannot import this model; 3 unsupported items:',
    "  value 'map': a map type is not supported (kiln handles tensors, sequences of tensors and optionals)",
    "  node 'fancy' (op FancyOp, domain 'ai.onnx', opset 17): op is not supported by kiln",
    "  node 'ms_gemm' (op FusedGemm, domain 'com.microsoft', opset 1): only the default ai.onnx domain is supported",
  ].join('\n'));
});

test('a model with 3 unsupported nodes names all 3', () => {
  const msg = errorOf(modelBytes({
    nodes: [node('Foo', ['x'], ['a'], [], 'n1'), node('Bar', ['a'], ['b'], [], 'n2'), node('Baz', ['b'], ['y'])],
    inputs: [value('x', 1, [2])], outputs: [value('y', 1, [2])],
  }));
  assert.ok(msg.includes('3 unsupported items'));
  for (const part of ["node 'n1' (op Foo", "node 'n2' (op Bar", "node 'Baz_2' (op Baz"]) assert.ok(msg.includes(part), part);
});

test('complex element types and rank-less inputs are reported', () => {
  const msg = errorOf(modelBytes({
    nodes: [node('Neg', ['x'], ['y'])],
    inputs: [value('x', 14, [2]), value('r', 1, null)], outputs: [value('y', 1, [2])],
  }));
  assert.ok(msg.includes("value 'x': element type COMPLEX64 is not supported"), msg);
  assert.ok(msg.includes("value 'r': its shape (rank) is not given"), msg);
});

/** A real model from the ONNX conformance set. */
function sampleModel(): Uint8Array {
  return fs.readFileSync(path.join(conformanceCase('test_gemm_all_attributes'), 'model.onnx'));
}

/** A corrupted file either imports or fails with a KilnError naming the file; never another error. */
function expectKilnErrorOrGraph(bytes: Uint8Array, what: string): void {
  try {
    importOnnx(bytes, { file: 'broken.onnx' });
  } catch (e) {
    if (!(e instanceof KilnError)) return assert.unreachable(`${what}: ${(e as Error).stack}`);
    assert.ok(e.message.startsWith('broken.onnx'), `${what}: the error names the file: ${e.message}`);
  }
}

test('truncated files give a KilnError naming the file', () => {
  const bytes = sampleModel();
  assert.match(errorOf(bytes.subarray(0, bytes.length - 3), 'cut.onnx'), /^cut\.onnx: not a valid ONNX model: /);
  for (let n = 0; n < bytes.length; n += Math.max(1, Math.floor(bytes.length / 150))) expectKilnErrorOrGraph(bytes.subarray(0, n), `truncated to ${n}`);
  assert.match(errorOf(new Uint8Array(0)), 'not a valid ONNX model: it has no graph');
});

test('randomly corrupted files give a KilnError or a graph, never a crash', () => {
  const bytes = sampleModel();
  let seed = 12345;
  const rand = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 32; };
  for (let iter = 0; iter < 300; iter++) {
    const b = bytes.slice();
    const flips = 1 + Math.floor(rand() * 4);
    for (let k = 0; k < flips; k++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
    expectKilnErrorOrGraph(b, `corruption ${iter}`);
  }
  for (let iter = 0; iter < 50; iter++) {
    const junk = Uint8Array.from({ length: 1 + Math.floor(rand() * 300) }, () => Math.floor(rand() * 256));
    expectKilnErrorOrGraph(junk, `random bytes ${iter}`);
  }
});

test('int64 initializers keep exact values (Slice ends = INT64_MAX)', () => {
  const g = importOnnx(modelBytes({
    nodes: [node('Slice', ['x', 'starts', 'ends'], ['y'])],
    inputs: [value('x', 1, [4])], outputs: [value('y', 1, [null])],
    initializers: [int64Tensor('starts', [1], [1]), { name: 'ends', dims: [1], data_type: 7, int64_data: ['9223372036854775807'] as unknown as number[] }],
  }));
  assert.equal(g.constants[1].data!.data, BigInt64Array.of(9223372036854775807n));
  const [y] = runReference(g, new Map([['x', Tensor.fromNumbers('f32', [4], [1, 2, 3, 4])]]));
  assert.equal(Array.from(y.data as Float32Array), [2, 3, 4]);
});

test.run();
