/**
 * simplify-control-flow: If inlining and Loop unrolling compute what the control flow computed
 * (reference executor on seeded inputs, before and after), every If/Loop gets a decision, and the
 * pass sits in every default pipeline between fold-constants and cse.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Graph } from '../../compiler/ir/graph.ts';
import { readNumbers } from '../../compiler/ir/tensor.ts';
import { randomInputs } from '../../compiler/runtime/inputs.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { simplifyControlFlowPass, sameUpToNames } from '../../compiler/passes/simplify-control-flow.ts';
import { TARGETS, defaultPipeline } from '../../compiler/passes/all.ts';
import { Session } from '../../compiler/session.ts';
import { nodeLines, parseKir, runPass } from './canonical-helpers.ts';

/** Asserts that two graphs give the same outputs on the same seeded inputs. */
function assertSameNumbers(before: Graph, after: Graph, seed = 1): void {
  const inputs = randomInputs(before, seed);
  const a = runReference(before, inputs), b = runReference(after, inputs);
  assert.is(b.length, a.length);
  a.forEach((t, k) => {
    assert.equal(b[k].shape, t.shape, `output ${k} shape`);
    const x = readNumbers(t), y = readNumbers(b[k]);
    for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i] - y[i]) <= 1e-6 * (1 + Math.abs(x[i])), `output ${k}[${i}]: ${x[i]} vs ${y[i]}`);
  });
}

const LOOP = (m: string, cond: string, bodyCond: string[]) => parseKir([
  'kiln.graph @t(%x: f32[3]) -> (%acc: f32[3], %scan: f32[_n,3]) {',
  `  %m = const i64[] dense<${m}>`,
  '  %t = const bool[] dense<true>',
  '  %f = const bool[] dense<false>',
  `  %acc, %scan = Loop(%m, ${cond}, %x) : f32[3], f32[_n,3] loc("/loop") {`,
  '    body @b(%i: i64[], %ci: bool[], %a: f32[3]) -> (%co: bool[], %a1: f32[3], %s: f32[3]) {',
  ...bodyCond,
  '      %fi = Cast(%i) {to=1} : f32[] loc("/cast")',
  '      %p = Mul(%a, %x) : f32[3] loc("/mul")',
  '      %a1 = Add(%p, %fi) : f32[3] loc("/add")',
  '      %s = Sin(%a1) : f32[3] loc("/sin")',
  '      return %co, %a1, %s',
  '    }',
  '  }',
  '  return %acc, %scan',
  '}',
]);

test('a constant Loop unrolls into copies that compute the same numbers, carried value and scan output included', () => {
  const g = LOOP('4', '%t', ['      %co = Identity(%ci) : bool[] loc("/co")']);
  const r = runPass(simplifyControlFlowPass, g);
  assert.ok(!r.graph.nodes.some((n) => n.op === 'Loop'));
  assert.is(r.graph.nodes.filter((n) => n.op === 'Sin').length, 4);
  assert.is(r.graph.nodes.filter((n) => n.op === 'Identity').length, 0, 'the condition chain is not copied');
  assert.equal(r.stats, { 'inlined-ifs': 0, 'unrolled-loops': 1, 'unrolled-iterations': 4, kept: 0 });
  assert.equal(r.decisions.map((d) => [d.kind, d.nodes, d.reason]), [['unrolled', ['acc'], 'trip count 4, condition always true: body unrolled 4 times']]);
  assert.equal(r.graph.nodes.find((n) => n.outputs[0] === 'scan')?.types[0].shape, [4, 3], 'types recomputed after unrolling');
  assertSameNumbers(g, r.graph);
});

test('a body returning a constant false condition runs once; a false condition input never runs the body', () => {
  const once = LOOP('9', '_', ['      %co = const bool[] dense<false>']);
  const r = runPass(simplifyControlFlowPass, once);
  assert.equal(r.stats['unrolled-iterations'], 1);
  assertSameNumbers(once, r.graph);
  const never = parseKir([
    'kiln.graph @t(%x: f32[3]) -> (%acc: f32[3]) {',
    '  %m = const i64[] dense<5>',
    '  %f = const bool[] dense<false>',
    '  %acc = Loop(%m, %f, %x) : f32[3] loc("/loop") {',
    '    body @b(%i: i64[], %ci: bool[], %a: f32[3]) -> (%ci: bool[], %a1: f32[3]) {',
    '      %a1 = Neg(%a) : f32[3] loc("/neg")',
    '      return %ci, %a1',
    '    }',
    '  }',
    '  return %acc',
    '}',
  ]);
  const z = runPass(simplifyControlFlowPass, never);
  assert.equal(nodeLines(z.graph), ['%acc = Identity(%x) : f32[3] loc("/loop")']);
  assert.equal(z.decisions[0].reason, 'no iteration runs: the carried outputs are the initial values');
  assertSameNumbers(never, z.graph);
});

test('loops are kept, with the reason, when the course is not known or too long', () => {
  const reasons = (g: Graph, opts = {}) => {
    const r = runPass(simplifyControlFlowPass, g, opts);
    assert.ok(r.graph === g, 'a kept loop leaves the graph object unchanged');
    return r.decisions.map((d) => `${d.kind}: ${d.reason}`);
  };
  assert.equal(reasons(LOOP('40', '%t', ['      %co = Identity(%ci) : bool[] loc("/co")'])), ['kept: trip count 40 > limit 16']);
  assert.equal(reasons(LOOP('4', '%t', ['      %co = Identity(%ci) : bool[] loc("/co")']), { 'max-trips': 3 }), ['kept: trip count 4 > limit 3']);
  assert.equal(reasons(LOOP('4', '%t', [
    '      %sum = ReduceSum(%a) {keepdims=0} : f32[] loc("/sum")',
    '      %zero = const f32[] dense<0.0>',
    '      %co = Greater(%sum, %zero) : bool[] loc("/gt")',
  ])), ['kept: data-dependent stop: the body computes its condition %co']);
  const unknownM = parseKir([
    'kiln.graph @t(%x: f32[3], %m: i64[]) -> (%acc: f32[3]) {',
    '  %acc = Loop(%m, _, %x) : f32[3] loc("/loop") {',
    '    body @b(%i: i64[], %ci: bool[], %a: f32[3]) -> (%ci: bool[], %a1: f32[3]) {',
    '      %a1 = Neg(%a) : f32[3] loc("/neg")',
    '      return %ci, %a1',
    '    }',
    '  }',
    '  return %acc',
    '}',
  ]);
  assert.equal(reasons(unknownM), ['kept: trip count %m is not known at compile time']);
});

test('an If on a constant inlines its taken branch with the same numbers; branch constants move out under their names', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[4]) -> (%y: f32[4], %z: f32[4]) {',
    '  %c = const bool[] dense<false>',
    '  %y, %z = If(%c) : f32[4], f32[4] loc("/if") {',
    '    else_branch @e() -> (%e1: f32[4], %e1: f32[4]) {',
    '      %k = const f32[] dense<3.0>',
    '      %e1 = Mul(%x, %k) : f32[4] loc("/e/mul")',
    '      return %e1, %e1',
    '    }',
    '    then_branch @t() -> (%t0: f32[4], %t1: f32[4]) {',
    '      %t0 = Neg(%x) : f32[4] loc("/t/neg")',
    '      %t1 = Abs(%x) : f32[4] loc("/t/abs")',
    '      return %t0, %t1',
    '    }',
    '  }',
    '  return %y, %z',
    '}',
  ]);
  const r = runPass(simplifyControlFlowPass, g);
  assert.equal(nodeLines(r.graph), [
    '%y = Mul(%x, %k) : f32[4] loc(fused["/e/mul", "/if"])',
    '%z = Identity(%y) : f32[4] loc("/if")',
  ]);
  assert.equal(r.graph.constants.map((c) => c.name), ['c', 'k']);
  assert.equal(r.decisions.map((d) => d.kind), ['inlined']);
  assertSameNumbers(g, r.graph);
});

test('sameUpToNames: branches alike up to names match; another constant, op or outer read does not', () => {
  const g = (k: string, op: string, read: string): Graph => ({
    name: 'b', inputs: [], outputs: ['o'],
    constants: [{ name: 'k', type: { dtype: 'f32', shape: [] }, hash: k }],
    nodes: [{ op, inputs: [read, 'k'], outputs: ['o'], types: [{ dtype: 'f32', shape: [2] }], attrs: {}, loc: [] }],
  });
  const a = g('h1', 'Mul', 'x');
  const renamed: Graph = { ...a, constants: [{ ...a.constants[0], name: 'k2' }], nodes: [{ ...a.nodes[0], inputs: ['x', 'k2'], outputs: ['o2'] }], outputs: ['o2'] };
  assert.ok(sameUpToNames(a, renamed));
  assert.not.ok(sameUpToNames(a, g('h2', 'Mul', 'x')));
  assert.not.ok(sameUpToNames(a, g('h1', 'Add', 'x')));
  assert.not.ok(sameUpToNames(a, g('h1', 'Mul', 'w')));
});

test('every default pipeline runs simplify-control-flow after fold-constants and before cse; not for a graph without control flow', () => {
  const withLoop = LOOP('4', '%t', ['      %co = Identity(%ci) : bool[] loc("/co")']);
  const plain = parseKir(['kiln.graph @p(%x: f32[2]) -> (%y: f32[2]) {', '  %y = Relu(%x) : f32[2] loc("/r")', '  return %y', '}']);
  for (const t of TARGETS) {
    for (const text of [defaultPipeline(t), defaultPipeline(t, withLoop)]) {
      const steps = text.split(',');
      const at = steps.indexOf('simplify-control-flow');
      assert.ok(at > 0, t);
      assert.is(steps[at - 1], 'fold-constants', t);
      assert.is(steps[at + 1], 'cse', t);
    }
    assert.is(defaultPipeline(t, plain), defaultPipeline(t).replace('simplify-control-flow,', ''), t);
  }
  const s = Session.load(withLoop, { target: 'ref' });
  assert.ok(s.pipelineText.includes('simplify-control-flow'));
  s.run();
  assert.equal(s.decisions().map((d) => [d.pass, d.kind, d.nodes]), [['simplify-control-flow', 'unrolled', ['acc']]], 'in the session decisions');
  const row = s.decisionsTable().rows()[0];
  assert.is(row.kind, 'unrolled');
  assert.is(row.reason, 'trip count 4, condition always true: body unrolled 4 times');
  assert.not.ok(Session.load(plain, { target: 'ref' }).pipelineText.includes('simplify-control-flow'));
});

test.run();
