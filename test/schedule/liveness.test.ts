/**
 * Liveness on hand-built graphs (graph order): intervals, bytes, breadth and lower bound of a chain
 * and a diamond; views (of an intermediate, of a graph input, as a graph output) extending their
 * root's interval; in-place results and every rule that forbids one (input read later, graph output,
 * live view, broadcast operand, width change, reduction region, two outputs over one buffer), and the
 * `inplace: false` switch. Every plan here also passes the validator.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Graph } from '../../compiler/ir/graph.ts';
import { planMemory, validatePlan, type MemoryPlan, type PlanOptions } from '../../compiler/schedule/index.ts';
import { build, chain, diamond, f32, ty } from './graphs.ts';

/** Plans in graph order and checks the plan is valid. */
function plan(g: Graph, opts: PlanOptions & { planner?: string } = {}): MemoryPlan {
  const p = planMemory(g, { order: 'graph', ...opts });
  assert.equal(validatePlan(g, p), []);
  return p;
}
const row = (p: MemoryPlan, name: string) => {
  const t = p.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`no tensor ${name}`);
  return { bytes: t.bytes, first: t.first, last: t.last, aliasOf: t.aliasOf, aliasKind: t.aliasKind };
};
const root = (bytes: number, first: number, last: number) => ({ bytes, first, last, aliasOf: undefined, aliasKind: undefined });
const alias = (first: number, last: number, aliasOf: string, aliasKind: 'view' | 'inplace') => ({ bytes: 0, first, last, aliasOf, aliasKind });

test('chain: intervals, breadth, lower bound, naive, producers and consumers', () => {
  const p = plan(chain());
  assert.equal(p.order, ['a', 'b', 'c', 'y']);
  assert.equal(row(p, 'a'), root(1024, 0, 1));
  assert.equal(row(p, 'b'), root(2048, 1, 2));
  assert.equal(row(p, 'c'), root(512, 2, 3));
  assert.equal(row(p, 'y'), root(64, 3, 3));
  assert.equal(p.breadth, [1024, 3072, 2560, 576]);
  assert.is(p.lowerBoundBytes, 3072);
  assert.is(p.naiveBytes, 3648);
  assert.is(p.inputBytes, 64);
  assert.is(p.weightsBytes, 0);
  const b = p.tensors.find((t) => t.name === 'b')!;
  assert.is(b.producer, 'b');
  assert.equal(b.consumers, ['c']);
});

test('diamond: a value read by two nodes lives until the later one', () => {
  const p = plan(diamond());
  assert.equal(row(p, 'a'), root(1024, 0, 2));
  assert.equal(row(p, 'b'), root(512, 1, 3));
  assert.equal(row(p, 'c'), root(256, 2, 3));
  assert.equal(row(p, 'd'), root(768, 3, 3));
  assert.equal(p.breadth, [1024, 1536, 1792, 1536]);
  assert.is(p.lowerBoundBytes, 1792);
  assert.equal(p.tensors.find((t) => t.name === 'a')!.consumers, ['b', 'c']);
});

const viewGraph = () => build({
  inputs: [['x', f32(16)]],
  constants: [['s', ty('i64', 1)]],
  nodes: [
    ['Conv', ['x'], [['a', f32(16, 16)]]],
    ['Unsqueeze', ['x'], [['u', f32(1, 16)]]],
    ['Reshape', ['a', 's'], [['r', f32(256)]]],
    ['Conv', ['r', 'u'], [['b', f32(256)]]],
    ['Flatten', ['b'], [['y', f32(1, 256)]]],
  ],
  outputs: ['y'],
});

test('views alias their source without bytes and extend its interval; a view of an input needs no arena', () => {
  const p = plan(viewGraph());
  assert.equal(row(p, 'a'), root(1024, 0, 3));
  assert.equal(row(p, 'r'), alias(2, 3, 'a', 'view'));
  assert.equal(row(p, 'u'), alias(1, 3, 'x', 'view'));
  assert.equal(row(p, 'b'), root(1024, 3, 4));
  assert.equal(row(p, 'y'), alias(4, 4, 'b', 'view'));
  assert.equal(p.breadth, [1024, 1024, 1024, 2048, 1024]);
  assert.is(p.naiveBytes, 2048);
  assert.is(p.peakBytes, 2048);
  const t = Object.fromEntries(p.tensors.map((x) => [x.name, x.offset]));
  assert.is(t.r, t.a);
  assert.is(t.y, t.b);
  assert.is.not(t.a, t.b);
});

test('a view of a view resolves to the root; a Reshape that changes the byte count is a copy', () => {
  const g = build({
    inputs: [['x', f32(16)]], constants: [['s', ty('i64', 2)]],
    nodes: [
      ['Conv', ['x'], [['a', f32(4, 64)]]],
      ['Reshape', ['a', 's'], [['r', f32(16, 16)]]],
      ['Squeeze', ['r'], [['q', f32(256)]]],
      ['Flatten', ['x'], [['fx', f32(1, 16)]]],
      ['Identity', ['fx'], [['ix', f32(1, 16)]]],
      ['Reshape', ['q', 's'], [['bad', f32(8, 8)]]],
      ['Conv', ['q', 'ix', 'bad'], [['y', f32(16)]]],
    ],
    outputs: ['y'],
  });
  const p = plan(g);
  assert.equal(row(p, 'q'), alias(2, 6, 'a', 'view'));
  assert.equal(row(p, 'ix'), alias(4, 6, 'x', 'view'));
  assert.equal(row(p, 'bad'), root(256, 5, 6));
  assert.equal(row(p, 'a'), root(1024, 0, 6));
});

const inplaceChain = () => build({
  inputs: [['x', f32(256)]],
  nodes: [
    ['Conv', ['x'], [['a', f32(256)]]],
    ['Relu', ['a'], [['r', f32(256)]]],
    ['Sigmoid', ['r'], [['s', f32(256)]]],
    ['Conv', ['s'], [['y', f32(16)]]],
  ],
  outputs: ['y'],
});

test('in-place: an elementwise op writes over an input that dies there; chains stay in one buffer', () => {
  const p = plan(inplaceChain());
  assert.equal(row(p, 'a'), root(1024, 0, 3));
  assert.equal(row(p, 'r'), alias(1, 2, 'a', 'inplace'));
  assert.equal(row(p, 's'), alias(2, 3, 'a', 'inplace'));
  assert.equal(p.breadth, [1024, 1024, 1024, 1088]);
  assert.is(p.lowerBoundBytes, 1088);
  assert.is(p.naiveBytes, 3136);
});

test('inplace: false gives every elementwise result its own buffer', () => {
  const p = plan(inplaceChain(), { inplace: false });
  assert.ok(p.tensors.every((t) => t.aliasOf === undefined));
  assert.equal(p.breadth, [1024, 2048, 2048, 1088]);
  assert.is(p.lowerBoundBytes, 2048);
  assert.is(p.naiveBytes, 3136);
});

test('in-place is refused for an input read later, and taken over the first dying input', () => {
  const p = plan(build({
    inputs: [['x', f32(256)]],
    nodes: [
      ['Conv', ['x'], [['a', f32(256)]]],
      ['Relu', ['a'], [['r', f32(256)]]],
      ['Add', ['r', 'a'], [['c', f32(256)]]],
    ],
    outputs: ['c'],
  }));
  assert.equal(row(p, 'r'), root(1024, 1, 2));
  assert.equal(row(p, 'c'), alias(2, 2, 'r', 'inplace'));
  assert.equal(row(p, 'a'), root(1024, 0, 2));
});

test('in-place never overwrites a graph output', () => {
  const p = plan(build({
    inputs: [['x', f32(256)]],
    nodes: [['Conv', ['x'], [['a', f32(256)]]], ['Relu', ['a'], [['r', f32(256)]]]],
    outputs: ['a', 'r'],
  }));
  assert.equal(row(p, 'r'), root(1024, 1, 1));
  assert.equal(row(p, 'a'), root(1024, 0, 1));
});

test('in-place is refused while a view of the input is still read', () => {
  const p = plan(build({
    inputs: [['x', f32(256)]], constants: [['s', ty('i64', 2)]],
    nodes: [
      ['Conv', ['x'], [['a', f32(256)]]],
      ['Reshape', ['a', 's'], [['v', f32(16, 16)]]],
      ['Relu', ['a'], [['r', f32(256)]]],
      ['Conv', ['v', 'r'], [['y', f32(16)]]],
    ],
    outputs: ['y'],
  }));
  assert.equal(row(p, 'r'), root(1024, 2, 3));
  assert.equal(row(p, 'a'), root(1024, 0, 3));
});

test('in-place needs the same layout: not over a broadcast operand, not across a width change', () => {
  const p = plan(build({
    inputs: [['x', f32(16)]],
    nodes: [
      ['Conv', ['x'], [['small', f32(64)]]],
      ['Conv', ['x'], [['big', f32(4, 64)]]],
      ['Mul', ['small', 'big'], [['m', f32(4, 64)]]],
      ['Cast', ['m'], [['h', ty('f16', 4, 64)]]],
      ['Cast', ['h'], [['i', ty('bf16', 1, 4, 64)]]],
    ],
    outputs: ['i'],
  }));
  assert.equal(row(p, 'm'), alias(2, 3, 'big', 'inplace'));
  assert.equal(row(p, 'h'), root(512, 3, 4));
  assert.equal(row(p, 'i'), alias(4, 4, 'h', 'inplace'));
});

const fused = (body: string[], results: string[]) => ({
  body: { kind: 'strings' as const, value: body }, results: { kind: 'strings' as const, value: results },
});

test('kiln.fused: elementwise regions write in place (each output over its own input); reductions do not', () => {
  const p = plan(build({
    inputs: [['x', f32(16)]], constants: [['axes', ty('i64', 1)]],
    nodes: [
      ['Conv', ['x'], [['p', f32(256)]]],
      ['Conv', ['x'], [['q', f32(256)]]],
      ['kiln.fused', ['p', 'q'], [['u', f32(256)], ['w', f32(256)]], fused(['t0 = Add(in0, in1)', 't1 = Relu(t0)'], ['t0', 't1'])],
      ['kiln.fused', ['u', 'w', 'axes'], [['z', f32(256)]], fused(['t0 = Mul(in0, in1)', 't1 = ReduceSum(t0, in2)'], ['t1'])],
    ],
    outputs: ['z'],
  }));
  assert.equal(row(p, 'u'), alias(2, 3, 'p', 'inplace'));
  assert.equal(row(p, 'w'), alias(2, 3, 'q', 'inplace'));
  assert.equal(row(p, 'z'), root(1024, 3, 3));
});

test('a kiln.fused region whose results differ in shape does not write in place', () => {
  const p = plan(build({
    inputs: [['x', f32(16)]],
    nodes: [
      ['Conv', ['x'], [['p', f32(64)]]],
      ['Conv', ['x'], [['q', f32(4, 64)]]],
      ['kiln.fused', ['p', 'q'], [['u', f32(64)], ['w', f32(4, 64)]], fused(['t0 = Neg(in0)', 't1 = Add(t0, in1)'], ['t0', 't1'])],
    ],
    outputs: ['u', 'w'],
  }));
  assert.equal(row(p, 'u'), root(256, 2, 2));
  assert.equal(row(p, 'w'), root(1024, 2, 2));
});

test('symbolic dims take their size from dims (an error when absent, never 1); unread outputs live one step', () => {
  const g = build({
    inputs: [['x', f32('N', 16)]],
    nodes: [['Split', ['x'], [['a', f32('N', 16)], ['dead', f32(16)]]], ['Relu', ['a'], [['y', f32('N', 16)]]]],
    outputs: ['y'],
  });
  assert.throws(() => plan(g), /the memory plan needs concrete sizes, but the graph inputs have symbolic dim N \(in x\); bind them with --shape x=<N>x16 or --dim N=<size>/);
  const four = plan(g, { dims: { N: 4 } });
  assert.is(four.inputBytes, 256);
  assert.equal(row(four, 'a'), root(256, 0, 1));
  assert.equal(row(four, 'dead'), root(64, 0, 0));
  assert.equal(row(four, 'y'), alias(1, 1, 'a', 'inplace'));
  assert.equal(four.breadth, [320, 256]);
  assert.equal(four.dims, { N: 4 });
});

test.run();
