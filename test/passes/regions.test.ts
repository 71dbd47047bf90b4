/**
 * Passes see inside regions: a value read only inside a region is used by the node owning it (dce,
 * fold-constants, simplify, fuse-elementwise keep it), passes clean region bodies too, cse works per
 * scope, and renaming a value renames its reads inside regions (graph-edit.ts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Graph } from '../../compiler/ir/graph.ts';
import { consumers, readsOf, regionsOf } from '../../compiler/ir/graph.ts';
import { printGraph } from '../../compiler/ir/print.ts';
import { dcePass } from '../../compiler/passes/dce.ts';
import { csePass } from '../../compiler/passes/cse.ts';
import { foldConstantsPass } from '../../compiler/passes/fold-constants.ts';
import { simplifyPass } from '../../compiler/passes/simplify.ts';
import { fuseElementwise } from '../../compiler/passes/fuse-elementwise.ts';
import { renameInputs } from '../../compiler/passes/graph-edit.ts';
import { layoutPasses } from '../../compiler/passes/layout.ts';
import { randomInputs } from '../../compiler/runtime/inputs.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { graphsEqual } from '../../compiler/ir/equal.ts';
import { nodeLines, parseKir, runPass } from './canonical-helpers.ts';

/** The (only) If's branch `name` of a graph. */
const branch = (g: Graph, name: string): Graph => {
  const n = g.nodes.find((m) => m.op === 'If')!;
  return regionsOf(n).find(([k]) => k === name)![1];
};

// %w (a constant) and %h (a node) are read only inside the else_branch
const CAPTURE = [
  'kiln.graph @t(%x: f32[2], %c: bool[]) -> (%y: f32[2]) {',
  '  %w = const f32[2] dense<[1.0, 2.0]>',
  '  %h = Exp(%x) : f32[2] loc("/h")',
  '  %dead = Neg(%x) : f32[2] loc("/dead")',
  '  %y = If(%c) : f32[2] loc("/if") {',
  '    else_branch @e() -> (%e1: f32[2]) {',
  '      %e0 = Mul(%h, %w) : f32[2] loc("/e/mul")',
  '      %edead = Sin(%h) : f32[2] loc("/e/dead")',
  '      %e1 = Relu(%e0) : f32[2] loc("/e/relu")',
  '      return %e1',
  '    }',
  '    then_branch @t() -> (%t0: f32[2]) {',
  '      %t0 = Neg(%x) : f32[2] loc("/t/neg")',
  '      return %t0',
  '    }',
  '  }',
  '  return %y',
  '}',
];

test('readsOf and consumers: a value read inside a region is read by the owning node', () => {
  const g = parseKir(CAPTURE);
  const ifNode = g.nodes[2];
  assert.equal(readsOf(ifNode), ['c', 'h', 'w', 'x']);
  assert.equal(consumers(g).get('w')?.map((n) => n.op), ['If']);
});

test('dce keeps values used only inside a region and cleans the region body', () => {
  const g = parseKir(CAPTURE);
  const r = runPass(dcePass, g);
  assert.equal(nodeLines(r.graph)[0], '%h = Exp(%x) : f32[2] loc("/h")');
  assert.ok(!printGraph(r.graph).includes('Neg(%x) : f32[2] loc("/dead")'));
  assert.equal(r.graph.constants.map((c) => c.name), ['w']);
  assert.equal(branch(r.graph, 'else_branch').nodes.map((n) => n.op), ['Mul', 'Relu']);
  assert.equal(r.stats, { 'removed-nodes': 2, 'removed-constants': 0 });
});

test('cse merges per scope: not a region node with an outer twin; yes two twins in one body; merged outer values are renamed inside regions', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[2], %c: bool[]) -> (%y: f32[2], %a: f32[2]) {',
    '  %a = Exp(%x) : f32[2] loc("/a")',
    '  %b = Exp(%x) : f32[2] loc("/b")',
    '  %y = If(%c) : f32[2] loc("/if") {',
    '    else_branch @e() -> (%e2: f32[2]) {',
    '      %e0 = Exp(%x) : f32[2] loc("/e0")',
    '      %e1 = Exp(%x) : f32[2] loc("/e1")',
    '      %e2 = Add(%e0, %e1) : f32[2] loc("/e2")',
    '      return %e2',
    '    }',
    '    then_branch @t() -> (%t0: f32[2]) {',
    '      %t0 = Neg(%b) : f32[2] loc("/t0")',
    '      return %t0',
    '    }',
    '  }',
    '  return %y, %a',
    '}',
  ]);
  const r = runPass(csePass, g);
  assert.equal(r.stats['merged-nodes'], 2);
  assert.equal(branch(r.graph, 'then_branch').nodes[0].inputs, ['a'], 'the read of %b inside the region follows the merge');
  assert.equal(branch(r.graph, 'else_branch').nodes.map((n) => `${n.op}(${n.inputs.join(',')})`), ['Exp(x)', 'Add(e0,e0)'],
    'the body keeps its own Exp: it never merges with the outer one');
});

test('fold-constants folds a body node from outer constants and keeps a constant a region still reads', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[2], %c: bool[]) -> (%y: f32[2]) {',
    '  %k = const f32[2] dense<[1.0, 2.0]>',
    '  %j = const f32[2] dense<[3.0, 4.0]>',
    '  %y = If(%c) : f32[2] loc("/if") {',
    '    else_branch @e() -> (%e1: f32[2]) {',
    '      %e0 = Add(%k, %j) : f32[2] loc("/e0")',
    '      %e1 = Mul(%x, %e0) : f32[2] loc("/e1")',
    '      return %e1',
    '    }',
    '    then_branch @t() -> (%t0: f32[2]) {',
    '      %t0 = Mul(%x, %k) : f32[2] loc("/t0")',
    '      return %t0',
    '    }',
    '  }',
    '  return %y',
    '}',
  ]);
  const r = runPass(foldConstantsPass, g);
  const e = branch(r.graph, 'else_branch');
  assert.equal(e.constants.map((c) => c.name), ['e0']);
  assert.equal(e.nodes.map((n) => n.op), ['Mul']);
  assert.equal(r.graph.constants.map((c) => c.name), ['k'], '%k is still read by the then_branch; %j by nothing');
  assert.equal(r.stats['folded-nodes'], 1);
});

test('simplify forwards a value read inside a region (the region follows) and simplifies region bodies', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[2], %c: bool[]) -> (%y: f32[2]) {',
    '  %one = const f32[] dense<1.0>',
    '  %r = Relu(%x) : f32[2] loc("/r")',
    '  %m = Mul(%r, %one) : f32[2] loc("/m")',
    '  %y = If(%c) : f32[2] loc("/if") {',
    '    else_branch @e() -> (%e1: f32[2]) {',
    '      %e0 = Identity(%m) : f32[2] loc("/e0")',
    '      %e1 = Neg(%e0) : f32[2] loc("/e1")',
    '      return %e1',
    '    }',
    '    then_branch @t() -> (%t0: f32[2]) {',
    '      %t0 = Exp(%m) : f32[2] loc("/t0")',
    '      return %t0',
    '    }',
    '  }',
    '  return %y',
    '}',
  ]);
  const r = runPass(simplifyPass, g);
  assert.equal(nodeLines(r.graph)[0], '%r = Relu(%x) : f32[2] loc("/r")');
  assert.equal(branch(r.graph, 'then_branch').nodes[0].inputs, ['r']);
  assert.equal(branch(r.graph, 'else_branch').nodes.map((n) => `${n.op}(${n.inputs.join(',')})`), ['Neg(r)']);
});

test('fuse-elementwise fuses inside a body, and a value a region reads stays an output of its fused region', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[2], %c: bool[]) -> (%y: f32[2]) {',
    '  %a = Exp(%x) : f32[2] loc("/a")',
    '  %b = Relu(%a) : f32[2] loc("/b")',
    '  %y = If(%c) : f32[2] loc("/if") {',
    '    else_branch @e() -> (%e2: f32[2]) {',
    '      %e0 = Add(%b, %a) : f32[2] loc("/e0")',
    '      %e1 = Sin(%e0) : f32[2] loc("/e1")',
    '      %e2 = Neg(%e1) : f32[2] loc("/e2")',
    '      return %e2',
    '    }',
    '    then_branch @t() -> (%t0: f32[2]) {',
    '      %t0 = Neg(%b) : f32[2] loc("/t0")',
    '      return %t0',
    '    }',
    '  }',
    '  return %y',
    '}',
  ]);
  const r = runPass(fuseElementwise, g);
  const outer = r.graph.nodes.find((n) => n.op === 'kiln.fused')!;
  assert.equal(outer.outputs, ['a', 'b'], '%a is read inside the region: it stays an output');
  assert.equal(branch(r.graph, 'else_branch').nodes.map((n) => n.op), ['kiln.fused']);
  assert.is(r.decisions.filter((d) => d.kind === 'fused').length, 2);
});

test('renameInputs renames reads inside regions, never names a region defines', () => {
  const g = parseKir(CAPTURE);
  const ifNode = g.nodes[2];
  const renamed = renameInputs(ifNode, (v) => (v === 'h' ? 'h2' : v === 'e0' ? 'bad' : v));
  const e = regionsOf(renamed).find(([k]) => k === 'else_branch')![1];
  assert.equal(e.nodes.map((n) => n.inputs.join(',')), ['h2,w', 'h2', 'e0']);
  assert.ok(renameInputs(ifNode, (v) => v) === ifNode, 'no change: the same node');
});

test('layout: a conv result read inside a region is still defined under its NCHW name', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[1,2,3,3], %c: bool[]) -> (%y: f32[1,2,3,3]) {',
    '  %w = const f32[2,2,1,1] dense<[1.0, 0.5, -1.0, 2.0]>',
    '  %a = Conv(%x, %w) : f32[1,2,3,3] loc("/conv")',
    '  %b = Relu(%a) : f32[1,2,3,3] loc("/relu")',
    '  %y = If(%c) : f32[1,2,3,3] loc("/if") {',
    '    else_branch @e() -> (%e0: f32[1,2,3,3]) {',
    '      %e0 = Neg(%a) : f32[1,2,3,3] loc("/e0")',
    '      return %e0',
    '    }',
    '    then_branch @t() -> (%t0: f32[1,2,3,3]) {',
    '      %t0 = Exp(%b) : f32[1,2,3,3] loc("/t0")',
    '      return %t0',
    '    }',
    '  }',
    '  return %y',
    '}',
  ]);
  const r = runPass(layoutPasses[0], g);
  assert.not.ok(graphsEqual(r.graph, g), 'the conv was converted');
  for (const seed of [0, 1, 2, 3]) {
    const inputs = randomInputs(g, seed);
    assert.equal(runReference(r.graph, inputs)[0].data, runReference(g, inputs)[0].data);
  }
});

test.run();
