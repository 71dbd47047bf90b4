/** The structural verifier: one broken graph per rule, each error naming rule, node and pass. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { collectGraphErrors, verifyGraph } from '../../compiler/ir/verify.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { KilnError } from '../../compiler/errors.ts';
import { Tensor, tensorHash } from '../../compiler/ir/tensor.ts';
import type { Constant, Graph, Node, TensorType } from '../../compiler/ir/graph.ts';

const f32 = (...shape: (number | string)[]): TensorType => ({ dtype: 'f32', shape });
const node = (op: string, inputs: string[], outputs: string[], types = outputs.map(() => f32(2))): Node =>
  ({ op, inputs, outputs, types, attrs: {}, loc: [] });
const graph = (nodes: Node[], extra: Partial<Graph> = {}): Graph => ({
  name: 'g', inputs: [{ name: 'x', type: f32(2) }], outputs: [nodes.at(-1)?.outputs[0] ?? 'x'], constants: [], nodes, ...extra,
});
const constant = (name: string, data: Tensor, extra: Partial<Constant> = {}): Constant =>
  ({ name, type: { dtype: data.dtype, shape: data.shape }, hash: tensorHash(data), data, ...extra });

/** The errors as [rule, node, message] triples. */
function errors(g: Graph, pass?: string): [string | undefined, string | undefined, string][] {
  return collectGraphErrors(g, { pass }).map((e) => [e.place.rule, e.place.node, e.message]);
}

test('a well-formed graph passes', () => {
  const g = parseGraph([
    'kiln.graph @ok(%x: f32[N,2]) -> (%z: f32[N,2], %c: i64[2]) {',
    '  %c = const i64[2] dense<[1, 2]>',
    '  %w = const f32[4,4] #0123456789abcdef',
    '  %y, _ = Foo(%x, _, %c) {k=dense<f32[] 1.0>} : f32[N,2], f32[1]',
    '  %z = Bar(%y, %y) : f32[N,2]',
    '  return %z, %c',
    '}',
  ].join('\n'));
  assert.equal(errors(g), []);
  verifyGraph(g);
});

test('ssa.single-def: a name defined twice', () => {
  const g = graph([node('A', ['x'], ['y']), node('B', ['y'], ['y'])]);
  assert.equal(errors(g, 'fuse'), [['ssa.single-def', 'y', "pass 'fuse', node 'y', op B, rule ssa.single-def: value 'y' is defined more than once (again by node 1)"]]);
  const shadow = graph([node('A', ['x'], ['x'])]);
  assert.equal(errors(shadow).map((e) => e[0]), ['ssa.single-def']);
  const constInput = graph([node('A', ['x'], ['y'])], { constants: [constant('x', Tensor.scalar('f32', 1))] });
  assert.equal(errors(constInput)[0][2], "rule ssa.single-def: value 'x' is defined more than once (again by a constant)");
});

test('ssa.use-before-def and ssa.undefined', () => {
  const g = graph([node('A', ['z'], ['y']), node('B', ['x'], ['z']), node('C', ['y', 'nope'], ['w'])]);
  assert.equal(errors(g), [
    ['ssa.use-before-def', 'y', "node 'y', op A, rule ssa.use-before-def: input 'z' is used before node 1 defines it"],
    ['ssa.undefined', 'w', "node 'w', op C, rule ssa.undefined: input 'nope' is not defined"],
  ]);
  assert.throws(() => verifyGraph(g, { pass: 'p' }), (e: unknown) => e instanceof KilnError && e.place.rule === 'ssa.use-before-def' && e.place.pass === 'p');
});

test('graph.output: outputs must be defined', () => {
  const g = graph([node('A', ['x'], ['y'])], { outputs: ['y', 'ghost', ''] });
  assert.equal(errors(g).map((e) => e[2]), [
    "rule graph.output: graph output 'ghost' is not defined",
    'rule graph.output: a graph output is omitted (empty name)',
  ]);
});

test('value.name: inputs and constants need names', () => {
  const g = graph([], { inputs: [{ name: '', type: f32(1) }], outputs: [], constants: [constant('', Tensor.scalar('f32', 0))] });
  assert.equal(errors(g).map((e) => e[0]), ['value.name', 'value.name', 'ssa.single-def']);
});

test('type.malformed: bad dtype, negative, fractional and empty dims, missing types', () => {
  const bad = [
    { dtype: 'f31', shape: [1] },
    { dtype: 'f32', shape: [-1] },
    { dtype: 'f32', shape: [1.5] },
    { dtype: 'f32', shape: [''] },
  ] as unknown as TensorType[];
  const g = graph([node('A', ['x'], ['a', 'b', 'c', 'd'], bad)], { inputs: [{ name: 'x', type: { dtype: 'f32', shape: [NaN] } }] });
  assert.equal(errors(g).map((e) => e[2].replace(/^.*rule type.malformed: /, '')), [
    "graph input 'x': bad dim 'NaN' (dims are integers 0 to 2^53-1, or symbol names)",
    "output 0: unknown dtype 'f31'",
    "output 1: bad dim '-1' (dims are integers 0 to 2^53-1, or symbol names)",
    "output 2: bad dim '1.5' (dims are integers 0 to 2^53-1, or symbol names)",
    "output 3: bad dim '' (dims are integers 0 to 2^53-1, or symbol names)",
  ]);
});

test('node.types, node.outputs and node.op', () => {
  const g = graph([node('A', ['x'], ['y', 'z'], [f32(2)]), node('', ['x'], ['w']), node('B', ['x'], ['', ''])], { outputs: ['y'] });
  assert.equal(errors(g).map((e) => [e[0], e[1]]), [['node.types', 'y'], ['node.op', 'w'], ['node.outputs', '#2 B']]);
});

test('attr.kind: values must fit their kinds', () => {
  const n: Node = {
    ...node('A', ['x'], ['y']),
    attrs: {
      i: { kind: 'int', value: 1.5 }, f: { kind: 'float', value: 'x' as unknown as number },
      is: { kind: 'ints', value: [1, 0.5] }, t: { kind: 'tensor', value: {} as Tensor }, ok: { kind: 'floats', value: [0.5, NaN] },
      d: { kind: 'float', value: 0.1 }, ds: { kind: 'floats', value: [0.5, 1e-5] }, okf: { kind: 'float', value: Math.fround(0.1) },
    },
  };
  const errs = collectGraphErrors(graph([n]));
  assert.equal(errs.map((e) => [e.place.rule, e.place.attribute]), [['attr.kind', 'i'], ['attr.kind', 'f'], ['attr.kind', 'is'], ['attr.kind', 't'], ['attr.kind', 'd'], ['attr.kind', 'ds']]);
  assert.is(errs[4].message, "node 'y', op A, attribute 'd', rule attr.kind: float attribute 0.1 is not an f32 value (round it with Math.fround)");
  assert.is(errs[0].message, "node 'y', op A, attribute 'i', rule attr.kind: int attribute holds 1.5");
});

test('const.type, const.data and const.hash', () => {
  const t = Tensor.fromNumbers('f32', [2], [1, 2]);
  const g = graph([], {
    outputs: [],
    constants: [
      { name: 'sym', type: f32('N'), hash: '00' },
      constant('dtype', t, { type: { dtype: 'f16', shape: [2] } }),
      constant('shape', t, { type: f32(1, 2) }),
      constant('storage', new Tensor('f32', [2], new Float64Array(2) as unknown as Float32Array)),
      constant('bool', new Tensor('bool', [2], Uint8Array.from([1, 2]))),
      constant('stale', t, { hash: tensorHash(Tensor.fromNumbers('f32', [2], [1, 3])) }),
      constant('short', t, { hash: tensorHash(t).slice(0, 16) }),
      constant('upper', t, { hash: tensorHash(t).toUpperCase() }),
    ],
  });
  assert.equal(errors(g).map((e) => e[2].replace(/^rule [a-z.]+: /, '')), [
    "constant 'sym' has a symbolic shape",
    "constant 'dtype': data is f32 but the type is f16",
    "constant 'shape': data shape [2] differs from type shape [1,2]",
    "constant 'storage': data storage is not the f32 storage class",
    "constant 'bool': bool data holds values other than 0 and 1",
    `constant 'stale' hash ${tensorHash(Tensor.fromNumbers('f32', [2], [1, 3])).slice(0, 16)} does not match its data (${tensorHash(t).slice(0, 16)})`,
    `constant 'upper' hash '${tensorHash(t).toUpperCase()}' is not lowercase hex`,
  ]);
  assert.equal(errors(g).map((e) => e[0]), ['const.type', 'const.data', 'const.data', 'const.data', 'const.data', 'const.hash', 'const.hash']);
  assert.equal(collectGraphErrors(g, { checkHashes: false }).map((e) => e.place.rule).filter((r) => r === 'const.hash'), ['const.hash']);
});

test.run();
