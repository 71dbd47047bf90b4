/**
 * Model summary: op counts, parameters vs. buffers, constant bytes and the FLOPs rules, checked on a
 * small hand-typed graph whose numbers are worked out by hand, and the text rendering.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AttrValue, Constant, Graph, Node, TensorType } from '../../compiler/ir/graph.ts';
import { Tensor, i64Tensor, tensorHash } from '../../compiler/ir/tensor.ts';
import { formatSI, formatSummary, summarizeGraph } from '../../compiler/zoo/summary.ts';
import { type FlopsRule, registerOps } from '../../compiler/ops/registry.ts';

const f32 = (...shape: (number | string)[]): TensorType => ({ dtype: 'f32', shape });
const cst = (name: string, t: Tensor): Constant => ({ name, type: { dtype: t.dtype, shape: t.shape }, hash: tensorHash(t), data: t });
const node = (op: string, inputs: string[], out: string, type: TensorType, attrs: Record<string, AttrValue> = {}): Node =>
  ({ op, inputs, outputs: [out], types: [type], attrs, loc: [`/${op}`] });
const ints = (value: number[]): AttrValue => ({ kind: 'ints', value });

/** x[N,3,8,8] → Conv 3x3 (4 out) → BN → Relu → MaxPool 2x2 → Reshape [N,64] → Gemm 10 → Softmax → Mul scalar. */
const graph: Graph = {
  name: 'tiny',
  inputs: [{ name: 'x', type: f32('N', 3, 8, 8) }],
  outputs: ['y'],
  constants: [
    cst('w', Tensor.zeros('f32', [4, 3, 3, 3])),
    ...['scale', 'bias', 'mean', 'var'].map((n) => cst(n, Tensor.zeros('f32', [4]))),
    cst('shape', i64Tensor([0, 64])),
    cst('B', Tensor.zeros('f32', [10, 64])),
    cst('C', Tensor.zeros('f32', [10])),
    cst('half', Tensor.scalar('f32', 0.5)),
  ],
  nodes: [
    node('Conv', ['x', 'w'], 'c', f32('N', 4, 8, 8), { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) }),
    node('BatchNormalization', ['c', 'scale', 'bias', 'mean', 'var'], 'bn', f32('N', 4, 8, 8)),
    node('Relu', ['bn'], 'r', f32('N', 4, 8, 8)),
    node('MaxPool', ['r'], 'p', f32('N', 4, 4, 4), { kernel_shape: ints([2, 2]), strides: ints([2, 2]) }),
    node('Reshape', ['p', 'shape'], 'f', f32('N', 64)),
    node('Gemm', ['f', 'B', 'C'], 'g', f32('N', 10), { transB: { kind: 'int', value: 1 } }),
    node('Softmax', ['g'], 's', f32('N', 10)),
    node('Mul', ['s', 'half'], 'y', f32('N', 10)),
  ],
};

/** The graph with N bound to `n` (types substituted by hand, so this test does not rely on inference). */
const atBatch = (n: number): Graph => {
  const bind = (t: TensorType): TensorType => ({ dtype: t.dtype, shape: t.shape.map((d) => (d === 'N' ? n : d)) });
  return { ...graph, inputs: graph.inputs.map((i) => ({ ...i, type: bind(i.type) })), nodes: graph.nodes.map((x) => ({ ...x, types: x.types.map(bind) })) };
};

test('FLOPs per node follow the documented rules', () => {
  const s = summarizeGraph(atBatch(1));
  assert.equal(s.nodeFlops.map((n) => [n.op, n.flops]), [
    ['Conv', 2 * (4 * 8 * 8) * (3 * 3 * 3)], // 2 · out elements · Cin/group · kh · kw
    ['BatchNormalization', 2 * 256],
    ['Relu', 256],
    ['MaxPool', 64 * 4],
    ['Reshape', 0],
    ['Gemm', 2 * 10 * 64 + 10], // 2·M·N·K + bias
    ['Softmax', 3 * 10],
    ['Mul', 10],
  ]);
  assert.is(s.flops, 13824 + 512 + 256 + 256 + 1290 + 30 + 10);
  assert.not.ok(s.symbolic);
  assert.equal(s.flopsByOp[0][0], 'Conv');
  assert.is(s.flopsByOp[0][1].value, 13824);
  assert.is(summarizeGraph(atBatch(3)).flops, 3 * s.flops!);
});

test('symbolic dims stay symbols: FLOPs are a formula in N, never a figure at N = 1', () => {
  const s = summarizeGraph(graph);
  assert.ok(s.symbolic);
  assert.is(s.flops, null);
  assert.ok(s.nodeFlops.filter((n) => n.op !== 'Reshape').every((n) => n.flops === null), 'no per-node number either');
  assert.is(s.flopsFormula.toString(), '16178·N');
  assert.equal(s.nodeFlops.map((n) => n.formula!.toString()), ['13824·N', '512·N', '256·N', '256·N', '0', '1290·N', '30·N', '10·N']);
  assert.is(s.flopsFormula.evaluate({ N: 4 }), summarizeGraph(atBatch(4)).flops);
  assert.equal(s.unknownFlops, []);
});

test('parameters exclude scalars, integer constants and BN running stats; bytes count everything', () => {
  const s = summarizeGraph(graph);
  assert.is(s.params, 108 + 4 + 4 + 640 + 10);
  assert.is(s.buffers, 8);
  assert.is(s.constantCount, 9);
  assert.is(s.constantBytes, 4 * (108 + 16 + 640 + 10 + 1) + 8 * 2);
  assert.is(s.nodeCount, 8);
  assert.equal(s.opCounts.slice(0, 2), [['BatchNormalization', 1], ['Conv', 1]]);
});

test('MatMul counts 2·K per output element; an unknown op one per output element; an op\'s own rule counts it', () => {
  const g: Graph = {
    name: 'mm', inputs: [{ name: 'a', type: f32(2, 5, 7) }, { name: 'b', type: f32(7, 3) }], outputs: ['o'], constants: [],
    nodes: [node('MatMul', ['a', 'b'], 'm', f32(2, 5, 3)), node('kiln.test_op', ['m'], 'o', f32(2, 5, 3))],
  };
  assert.equal(summarizeGraph(g).nodeFlops.map((n) => n.flops), [2 * 30 * 7, 30], 'kiln.test_op is not registered yet');
  let rule: FlopsRule = () => 99;
  registerOps([{
    name: 'kiln.test_op', inputs: [1, 1], outputs: [1, 1], parseAttrs: () => null,
    inferTypes: (i) => [i[0]!], run: (i) => [i[0]!], flops: (i, o, a) => rule(i, o, a),
  }]);
  assert.equal(summarizeGraph(g).nodeFlops.map((n) => n.flops), [420, 99]);
  assert.not.ok(summarizeGraph(g).symbolic);
  rule = () => undefined;
  const unknown = summarizeGraph(g);
  assert.is(unknown.flops, null, 'an unknown node makes the total unknown');
  assert.equal(unknown.unknownFlops, ['o']);
  assert.match(formatSummary(unknown), 'FLOPs:      at least 420 (≈ 210 MACs); FLOPs of 1 node unknown (%o)');
});

test('text rendering', () => {
  const text = formatSummary(summarizeGraph(atBatch(1)), 'tiny.kir');
  const lines = text.split('\n');
  assert.is(lines[0], 'tiny.kir (graph tiny)');
  assert.ok(lines.includes('  inputs:     x f32[1,3,8,8]'), text);
  assert.ok(lines.includes('  outputs:    y f32[1,10]'), text);
  assert.ok(lines.includes('  parameters: 766 (766) + 8 BN running stats'), text);
  assert.ok(lines.includes('  FLOPs:      16.18 k (≈ 8.09 k MACs)'), text);
  assert.match(text, /Conv\s+1\s+13\.82 k\s+85\.4%/);
  assert.match(text, /top 5 nodes by FLOPs:\n\s+%c\s+Conv\s+13\.82 k {2}\/Conv/);
  assert.is(formatSI(8.174e9), '8.17 G');
  assert.is(formatSI(25_557_032), '25.56 M');
  assert.is(formatSI(12), '12');
  const sym = formatSummary(summarizeGraph(graph), 'tiny.kir');
  assert.match(sym, /\n {2}FLOPs: {6}16178·N\n.*a formula in the symbolic dims N of the inputs; bind the input dims with --shape INPUT=SIZES or --dim NAME=SIZE/);
  assert.match(sym, /Conv\s+1\s+13824·N\s+-/);
  assert.not.match(sym, /16\.18 k/);
});

test.run();
