/**
 * Model-local functions (ModelProto.functions) inlined at import (compiler/import/onnx/functions.ts):
 * the body replaces each call with values unique per call, attribute references bound from the call
 * or the function's defaults, provenance naming call site and function, nested calls inlined, and
 * recursion or a mismatched opset reported as import problems.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../../compiler/ops/all.ts';
import { importOnnx } from '../../compiler/import/onnx/import.ts';
import { encodeModelProto, type FunctionProto, type ModelProto } from '../../compiler/import/onnx/schema.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { Tensor, readNumbers } from '../../compiler/ir/tensor.ts';
import { attr, modelProto, node, value } from './onnx-build.ts';

/** ScaledLeaky(x, s) -> y: y = LeakyRelu(x · s) with alpha from the function attribute `slope` (default 0.5). */
const scaledLeaky: FunctionProto = {
  name: 'ScaledLeaky', domain: 'local', input: ['x', 's'], output: ['y'], attribute: [],
  attribute_proto: [attr.float('slope', 0.5)],
  opset_import: [{ domain: '', version: 17 }],
  node: [
    node('Mul', ['x', 's'], ['t'], [], 'mul'),
    node('LeakyRelu', ['t'], ['y'], [{ name: 'alpha', ref_attr_name: 'slope', type: 1 }], 'leaky'),
  ],
};

function model(functions: FunctionProto[], nodes = [
  node('ScaledLeaky', ['a', 'k'], ['h'], [attr.float('slope', 0.1)], 'first', 'local'),
  node('ScaledLeaky', ['h', 'k'], ['out'], [], 'second', 'local'),
]): ModelProto {
  const m = modelProto({ nodes, inputs: [value('a', 1, [4]), value('k', 1, [4])], outputs: [value('out', 1, [4])], extraOpsets: [{ domain: 'local', version: 1 }] });
  return { ...m, functions };
}

test('each call is the function body: per-call values, attributes from the call or the default, provenance <call>/<function>/<node>', () => {
  const g = importOnnx(encodeModelProto(model([scaledLeaky])));
  assert.equal(g.nodes.map((n) => n.op), ['Mul', 'LeakyRelu', 'Mul', 'LeakyRelu']);
  assert.equal(g.nodes.map((n) => n.loc[0]), ['first/ScaledLeaky/mul', 'first/ScaledLeaky/leaky', 'second/ScaledLeaky/mul', 'second/ScaledLeaky/leaky']);
  const a = new Tensor('f32', [4], new Float32Array([-2, -1, 1, 2])), k = new Tensor('f32', [4], new Float32Array([1, 2, 3, -1]));
  const [out] = runReference(g, new Map([['a', a], ['k', k]]));
  // first: LeakyRelu(a·k, 0.1) = [-0.2, -0.2, 3, -0.2]; second: LeakyRelu(h·k, 0.5 default)
  const h = [-0.2, -0.2, 3, -0.2], want = h.map((v, i) => { const t = v * [1, 2, 3, -1][i]; return t < 0 ? 0.5 * t : t; });
  readNumbers(out).forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-6, `out[${i}] = ${v}, want ${want[i]}`));
});

test('a function calling another is inlined in turn; a function that reaches itself is a problem naming the chain', () => {
  const outer: FunctionProto = {
    name: 'Twice', domain: 'local', input: ['x', 's'], output: ['y'], opset_import: [{ domain: '', version: 17 }],
    node: [node('ScaledLeaky', ['x', 's'], ['m'], [], 'inner', 'local'), node('Neg', ['m'], ['y'], [], 'neg')],
  };
  const g = importOnnx(encodeModelProto(model([scaledLeaky, outer], [node('Twice', ['a', 'k'], ['out'], [], 'call', 'local')])));
  assert.equal(g.nodes.map((n) => n.loc[0]), ['call/Twice/inner/ScaledLeaky/mul', 'call/Twice/inner/ScaledLeaky/leaky', 'call/Twice/neg']);
  const loop: FunctionProto = { name: 'Loop1', domain: 'local', input: ['x'], output: ['y'], node: [node('Loop1', ['x'], ['y'], [], 'again', 'local')] };
  try {
    importOnnx(encodeModelProto(model([loop], [node('Loop1', ['a'], ['out'], [], 'start', 'local')])));
    assert.unreachable('a recursive function must not import');
  } catch (e) {
    assert.match((e as Error).message, "model-local function 'Loop1' calls itself (Loop1 → Loop1)");
  }
});

test('a function importing another ai.onnx opset than the model is reported, naming the function', () => {
  try {
    importOnnx(encodeModelProto(model([{ ...scaledLeaky, opset_import: [{ domain: '', version: 13 }] }])));
    assert.unreachable('mismatched opsets must be reported');
  } catch (e) {
    assert.match((e as Error).message, "model-local function 'ScaledLeaky' imports ai.onnx opset 13 but the model imports 17");
  }
});

test.run();
