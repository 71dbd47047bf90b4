/**
 * The lowering driver (compiler/codegen/lower/index.ts) and registry (lower/context.ts): the
 * non-throwing `loweringUnsupported` a Backend uses, the execution order option, and the registry's
 * refusal of a second lowering for an op.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { lowerGraph, loweringUnsupported } from '../../compiler/codegen/lower/index.ts';
import { lowerNode, loweredOps, registerLowerings } from '../../compiler/codegen/lower/context.ts';
import type { Tunable } from '../../compiler/codegen/lower/context.ts';

const graph = (text: string) => parseGraph(text, { file: 'lower.test.ts' });

test('loweringUnsupported: one graph-wide entry for an unbound symbolic dim, node entries otherwise', () => {
  const sym = graph('kiln.graph @g(%x: f32[N,4]) -> (%0: f32[N,4]) {\n  %0 = Relu(%x) : f32[N,4]\n  return %0\n}\n');
  const [u, ...rest] = loweringUnsupported(sym);
  assert.equal(rest, []);
  assert.is(u.node, undefined);
  assert.match(u.reason, 'kernel lowering needs concrete sizes');
  assert.match(u.reason, '--dim N=<size>');
  const str = graph('kiln.graph @g(%s: str[4]) -> (%0: bool[4], %1: bool[4]) {\n  %0 = Equal(%s, %s) : bool[4]\n  %1 = Not(%0) : bool[4]\n  return %0, %1\n}\n');
  assert.equal(loweringUnsupported(str), [{ node: '0', op: 'Equal', reason: 'in0 has dtype str, which kernels do not compute on yet' }]);
  assert.equal(loweringUnsupported(graph('kiln.graph @g(%x: f32[4]) -> (%0: f32[4]) {\n  %0 = Relu(%x) : f32[4]\n  return %0\n}\n')), []);
});

test('choose: the default is the first candidate, a tuned choice wins, every choice is recorded', () => {
  const g = graph('kiln.graph @g(%x: f32[4]) -> (%0: f32[4]) {\n  %0 = Relu(%x) : f32[4]\n  return %0\n}\n');
  const cands = [{ mr: 6, nr: 32 }, { mr: 4, nr: 64 }, { mr: 8, nr: 16 }];
  const made: Tunable[] = [];
  const plain = lowerNode(g.nodes[0], [], [], { made });
  assert.equal(plain.choose('gemm', 'M=4', cands), { mr: 6, nr: 32 });
  const tuned = lowerNode(g.nodes[0], [], [], { choices: new Map([['gemm|M=4', 2], ['gemm|M=9', 7]]), made });
  assert.equal(tuned.choose('gemm', 'M=4', cands), { mr: 8, nr: 16 });
  // a stale choice (index out of range for today's candidates) falls back to the default, untuned
  assert.equal(tuned.choose('gemm', 'M=9', cands), { mr: 6, nr: 32 });
  assert.equal(made.map((t) => [t.node, t.key, t.chosen, t.tuned]), [['0', 'M=4', 0, false], ['0', 'M=4', 2, true], ['0', 'M=9', 0, false]]);
  assert.throws(() => plain.choose('gemm', 'M=4', []), /no candidates/);
});

test('lowerGraph follows the given execution order', () => {
  const g = graph('kiln.graph @g(%x: f32[4]) -> (%0: f32[4], %1: f32[4]) {\n  %0 = Relu(%x) : f32[4]\n  %1 = Neg(%x) : f32[4]\n  return %0, %1\n}\n');
  assert.equal(lowerGraph(g).program.calls.map((c) => c.kernel), ['k0_Relu', 'k1_Neg']);
  assert.equal(lowerGraph(g, { order: ['1', '0'] }).program.calls.map((c) => c.kernel), ['k0_Neg', 'k1_Relu']);
  assert.throws(() => lowerGraph(g, { order: ['1'] }), /the execution order has 1 distinct nodes, the graph 2/);
  assert.throws(() => lowerGraph(g, { order: ['1', '1'] }), /has 1 distinct nodes/);
  assert.throws(() => lowerGraph(g, { order: ['1', 'zz'] }), /names 'zz', which is not a node of @g/);
});

test('the registry holds one lowering per op and refuses a second', () => {
  for (const op of ['Add', 'kiln.fused', 'MatMul', 'kiln.conv', 'Softmax', 'Reshape', 'LayerNormalization']) assert.ok(loweredOps().includes(op), op);
  assert.throws(() => registerLowerings({ Add: () => ({ kind: 'view' }) }), /lowering for 'Add' is already registered/);
});

test.run();
