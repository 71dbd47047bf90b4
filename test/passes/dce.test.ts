/** The dce pass: dead chains and constants go, live multi-output nodes and graph inputs stay, zoo models. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dcePass } from '../../compiler/passes/dce.ts';
import { ZOO_MODELS, assertUnchanged, checkZoo, nodeLines, parseKir, runPass } from './canonical-helpers.ts';

test('a dead chain and the constants only it reads are removed; unused graph inputs stay', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[4], %unused: f32[2]) -> (%0: f32[4]) {',
    '  %w = const f32[4] dense<[1.0, 2.0, 3.0, 4.0]>',
    '  %k = const f32[] dense<2.0>',
    '  %0 = Relu(%x) : f32[4] loc("/live")',
    '  %1 = Mul(%x, %w) : f32[4] loc("/dead1")',
    '  %2 = Add(%1, %k) : f32[4] loc("/dead2")',
    '  return %0',
    '}',
  ]);
  const r = runPass(dcePass, g);
  assert.equal(nodeLines(r.graph), ['%0 = Relu(%x) : f32[4] loc("/live")']);
  assert.equal(r.graph.constants, []);
  assert.equal(r.graph.inputs.map((i) => i.name), ['x', 'unused']);
  assert.equal(r.stats, { 'removed-nodes': 2, 'removed-constants': 2 });
  assert.ok(r.graph.nodes[0] === g.nodes[0]);
});

test('a node with one live output keeps all its outputs; a constant graph output stays', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[4]) -> (%1: f32[2], %c: f32[2]) {',
    '  %c = const f32[2] dense<[1.0, 2.0]>',
    '  %orphan = const f32[2] dense<[3.0, 4.0]>',
    '  %s = const i64[2] dense<[2, 2]>',
    '  %0, %1 = Split(%x, %s) {axis=0} : f32[2], f32[2] loc("/split")',
    '  return %1, %c',
    '}',
  ]);
  const r = runPass(dcePass, g);
  assert.equal(nodeLines(r.graph), ['%0, %1 = Split(%x, %s) {axis=0} : f32[2], f32[2] loc("/split")']);
  assert.equal(r.graph.constants.map((c) => c.name), ['c', 's']);
  assert.equal(r.stats, { 'removed-nodes': 0, 'removed-constants': 1 });
});

test('a dead node between live ones goes; order of the survivors is kept', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[2]) -> (%3: f32[2]) {',
    '  %0 = Relu(%x) : f32[2] loc("/a")',
    '  %1 = Exp(%0) : f32[2] loc("/dead")',
    '  %2 = Neg(%0) : f32[2] loc("/b")',
    '  %3 = Add(%0, %2) : f32[2] loc("/c")',
    '  return %3',
    '}',
  ]);
  const r = runPass(dcePass, g);
  assert.equal(nodeLines(r.graph).map((l) => l.split(' ')[0]), ['%0', '%2', '%3']);
  assert.is(r.stats['removed-nodes'], 1);
});

test('nothing dead: the same graph object comes back', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[2], %spare: f32[2]) -> (%1: f32[2]) {',
    '  %k = const f32[] dense<2.0>',
    '  %0 = Mul(%x, %k) : f32[2] loc("/m")',
    '  %1 = Relu(%0) : f32[2] loc("/r")',
    '  return %1',
    '}',
  ]);
  assertUnchanged(dcePass, g);
});

for (const name of ZOO_MODELS) {
  test(`zoo ${name}: no dead code, the same graph comes back`, () => {
    const r = checkZoo(dcePass, name);
    assert.is(r.after, r.before);
  });
}

test.run();
