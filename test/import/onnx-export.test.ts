/**
 * ONNX export: a hand-built graph with every attribute kind and a symbolic dim is exported, run in
 * onnxruntime-node and compared with kiln's reference executor; export -> import keeps ops,
 * attributes, constants and types; kiln-only ops and weightless constants are listed in one error.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import type { Constant, Graph, Node } from '../../compiler/ir/graph.ts';
import { Tensor, i64Tensor, readNumbers, tensorHash } from '../../compiler/ir/tensor.ts';
import { KilnError } from '../../compiler/errors.ts';
import { inferTypes } from '../../compiler/ops/infer.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { exportOnnx } from '../../compiler/import/onnx/export.ts';
import { importOnnx } from '../../compiler/import/onnx/import.ts';
import { decodeModelProto, toInt } from '../../compiler/import/onnx/schema.ts';

const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof import('onnxruntime-node');

const constant = (name: string, t: Tensor): Constant => ({ name, type: { dtype: t.dtype, shape: t.shape }, hash: tensorHash(t), data: t });
const n = (op: string, inputs: string[], outputs: string[], attrs: Node['attrs'] = {}): Node =>
  ({ op, inputs, outputs, types: [], attrs, loc: [`/${op.toLowerCase()}`] });

/** x: f32[N,3] -> several ops covering int, float, ints, string and tensor attributes. */
function sampleGraph(): Graph {
  return inferTypes({
    name: 'sample',
    inputs: [{ name: 'x', type: { dtype: 'f32', shape: ['N', 3] } }],
    outputs: ['y', 'filled', 'n_as_int'],
    constants: [constant('w', Tensor.fromNumbers('f32', [3], [0.5, -1, 2])), constant('pads', i64Tensor([0, 1, 0, 0])), constant('shape2', i64Tensor([2, 2]))],
    nodes: [
      n('Mul', ['x', 'w'], ['0']),
      n('LeakyRelu', ['0'], ['1'], { alpha: { kind: 'float', value: 0.25 } }),
      n('Transpose', ['1'], ['2'], { perm: { kind: 'ints', value: [1, 0] } }),
      n('Pad', ['2', 'pads'], ['3'], { mode: { kind: 'string', value: 'constant' } }),
      n('Concat', ['3', '3'], ['y'], { axis: { kind: 'int', value: 0 } }),
      n('ConstantOfShape', ['shape2'], ['filled'], { value: { kind: 'tensor', value: Tensor.fromNumbers('f32', [1], [7]) } }),
      n('Cast', ['x'], ['n_as_int'], { to: { kind: 'int', value: 7 } }),
    ],
  });
}

test('exported model runs in onnxruntime-node and matches the reference executor', async () => {
  const g = sampleGraph();
  const x = Tensor.fromNumbers('f32', [2, 3], [1, -2, 3, -4, 5, -6]);
  const ours = runReference(g, new Map([['x', x]]));
  const session = await ort.InferenceSession.create(exportOnnx(g));
  const res = await session.run({ x: new ort.Tensor('float32', x.data as Float32Array, [2, 3]) });
  assert.equal([...res.y.dims], [6, 3]);
  assert.equal([...res.y.dims], [...ours[0].shape]);
  assert.equal(Array.from(res.y.data as Float32Array), Array.from(readNumbers(ours[0])));
  // by hand: x*w = [[0.5, 2, 6], [-2, -5, -12]] -> LeakyRelu -> transposed [[0.5, -0.5], [2, -1.25], [6, -3]],
  // padded with a leading column of zeros
  assert.equal(Array.from(res.y.data as Float32Array).slice(0, 9), [0, 0.5, -0.5, 0, 2, -1.25, 0, 6, -3]);
  assert.equal(Array.from(res.filled.data as Float32Array), [7, 7, 7, 7]);
  assert.equal(Array.from(res.n_as_int.data as BigInt64Array), [1n, -2n, 3n, -4n, 5n, -6n]);
  assert.equal(Array.from(ours[2].data as BigInt64Array), [1n, -2n, 3n, -4n, 5n, -6n]);
});

test('the ModelProto: IR 10, opset 21 by default, producer, dim_param, initializers as raw_data, value_info', () => {
  const m = decodeModelProto(exportOnnx(sampleGraph(), { opset: 19, producer: 'me' }));
  assert.is(toInt(m.ir_version), 10);
  assert.equal(m.opset_import!.map((o) => [o.domain, toInt(o.version)]), [['', 19]]);
  assert.is(m.producer_name, 'me');
  const dims = m.graph!.input![0].type!.tensor_type!.shape!.dim!;
  assert.equal([dims[0].dim_param, toInt(dims[1].dim_value)], ['N', 3]);
  assert.equal(m.graph!.initializer!.map((t) => [t.name, t.raw_data!.length]), [['w', 12], ['pads', 32], ['shape2', 16]]);
  assert.equal(m.graph!.value_info!.map((v) => v.name), ['0', '1', '2', '3']);
  assert.equal(m.graph!.node!.map((p) => p.name), ['/mul', '/leakyrelu', '/transpose', '/pad', '/concat', '/constantofshape', '/cast']);
  assert.is(toInt(decodeModelProto(exportOnnx(sampleGraph())).opset_import![0].version), 21);
});

test('export -> import keeps ops, attributes, constants and types', () => {
  const g = sampleGraph();
  const back = importOnnx(exportOnnx(g));
  assert.equal(back.nodes.map((x) => [x.op, x.inputs, x.outputs, x.attrs, x.types, x.loc]), g.nodes.map((x) => [x.op, x.inputs, x.outputs, x.attrs, x.types, x.loc]));
  assert.equal(back.constants.map((c) => [c.name, c.hash]), g.constants.map((c) => [c.name, c.hash]));
  assert.equal(back.inputs, g.inputs);
  assert.equal(back.outputs, g.outputs);
});

test('kiln-only ops and constants without data are all listed in one error', () => {
  const g = sampleGraph();
  const bad: Graph = {
    ...g,
    constants: g.constants.map((c) => (c.name === 'w' ? { name: c.name, type: c.type, hash: c.hash } : c)),
    nodes: g.nodes.map((x, i) => (i === 1 ? { ...x, op: 'kiln.leaky' } : i === 2 ? { ...x, op: 'kiln.transpose' } : x)),
  };
  assert.throws(() => exportOnnx(bad), (e: Error) => e instanceof KilnError && e.message === [
    'cannot export to ONNX; 3 problems:',
    "  node '1' uses kiln-only op kiln.leaky, which ONNX does not have",
    "  node '2' uses kiln-only op kiln.transpose, which ONNX does not have",
    "  constant 'w' has no data (it was parsed from IR text without its weights)",
  ].join('\n'));
});

test.run();
