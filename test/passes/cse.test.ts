/** The cse pass: node and constant merging, attribute equality, graph output names, provenance, zoo models. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Graph } from '../../compiler/ir/graph.ts';
import { readNumbers } from '../../compiler/ir/tensor.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { randomInputs } from '../../compiler/runtime/inputs.ts';
import { csePass } from '../../compiler/passes/cse.ts';
import { ZOO_MODELS, assertUnchanged, checkZoo, nodeLines, parseKir, runPass } from './canonical-helpers.ts';

const cse = (g: Graph) => runPass(csePass, g);

function sameValues(a: Graph, b: Graph): void {
  const inputs = randomInputs(a, 3);
  const x = runReference(a, inputs), y = runReference(b, inputs);
  x.forEach((t, k) => assert.equal(Array.from(readNumbers(y[k])), Array.from(readNumbers(t)), `output ${k}`));
}

test('identical chains merge level by level; the survivor carries both locs in graph order', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[4]) -> (%4: f32[4]) {',
    '  %0 = Relu(%x) : f32[4] loc("/a/relu")',
    '  %1 = Exp(%0) : f32[4] loc("/a/exp")',
    '  %2 = Relu(%x) : f32[4] loc("/b/relu")',
    '  %3 = Exp(%2) : f32[4] loc("/b/exp")',
    '  %4 = Add(%1, %3) : f32[4] loc("/add")',
    '  return %4',
    '}',
  ]);
  const r = cse(g);
  assert.equal(nodeLines(r.graph), [
    '%0 = Relu(%x) : f32[4] loc(fused["/a/relu", "/b/relu"])',
    '%1 = Exp(%0) : f32[4] loc(fused["/a/exp", "/b/exp"])',
    '%4 = Add(%1, %1) : f32[4] loc("/add")',
  ]);
  assert.equal(r.stats, { 'merged-nodes': 2, 'merged-constants': 0 });
  sameValues(g, r.graph);
});

test('identical constants merge (same hash and type); their readers then merge too', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[2]) -> (%2: f32[2]) {',
    '  %a = const f32[2] dense<[0.5, 2.0]>',
    '  %b = const f32[2] dense<[0.5, 2.0]>',
    '  %c = const f32[1,2] dense<[0.5, 2.0]>',
    '  %0 = Mul(%x, %a) : f32[2] loc("/m0")',
    '  %1 = Mul(%x, %b) : f32[2] loc("/m1")',
    '  %2 = Sub(%0, %1) : f32[2] loc("/sub")',
    '  %3 = Mul(%x, %c) : f32[1,2] loc("/m2")',
    '  return %2',
    '}',
  ]);
  const r = cse(g);
  assert.equal(r.graph.constants.map((c) => c.name), ['a', 'c']);
  assert.equal(nodeLines(r.graph), [
    '%0 = Mul(%x, %a) : f32[2] loc(fused["/m0", "/m1"])',
    '%2 = Sub(%0, %0) : f32[2] loc("/sub")',
    '%3 = Mul(%x, %c) : f32[1,2] loc("/m2")',
  ]);
  assert.equal(r.stats, { 'merged-nodes': 1, 'merged-constants': 1 });
});

test('attributes must be equal: different perms, alphas or tensor values keep nodes apart', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[2,3]) -> (%0: f32[3,2], %1: f32[2,3], %2: f32[2,3], %3: f32[2,3], %5: f32[3], %7: f32[3,2], %8: f32[3]) {',
    '  %s = const i64[1] dense<[3]>',
    '  %0 = Transpose(%x) {perm=[1, 0]} : f32[3,2] loc("/t0")',
    '  %1 = Transpose(%x) {perm=[0, 1]} : f32[2,3] loc("/t1")',
    '  %2 = LeakyRelu(%x) {alpha=0.1} : f32[2,3] loc("/l0")',
    '  %3 = LeakyRelu(%x) {alpha=0.2} : f32[2,3] loc("/l1")',
    '  %4 = ConstantOfShape(%s) {value=dense<f32[1] [0.0]>} : f32[3] loc("/k0")',
    '  %5 = ConstantOfShape(%s) {value=dense<f32[1] [-0.0]>} : f32[3] loc("/k1")',
    '  %6 = ConstantOfShape(%s) {value=dense<f32[1] [0.0]>} : f32[3] loc("/k2")',
    '  %7 = Transpose(%x) {perm=[1, 0]} : f32[3,2] loc("/t2")',
    '  %8 = Add(%4, %6) : f32[3] loc("/add")',
    '  return %0, %1, %2, %3, %5, %7, %8',
    '}',
  ]);
  const r = cse(g);
  // /k2 merges into /k0 (equal tensors; -0.0 differs from 0.0 bit for bit); /t2 and /t0 are both
  // graph outputs, so they stay apart
  assert.is(r.stats['merged-nodes'], 1);
  assert.equal(r.graph.nodes.map((n) => n.loc.join('+')), ['/t0', '/t1', '/l0', '/l1', '/k0+/k2', '/k1', '/t2', '/add']);
  assert.equal(nodeLines(r.graph).at(-1), '%8 = Add(%4, %4) : f32[3] loc("/add")');
  sameValues(g, r.graph);
});

test('a merged graph output keeps its name: the survivor is renamed to it', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[2]) -> (%y: f32[2], %z: f32[2]) {',
    '  %0 = Relu(%x) : f32[2] loc("/r0")',
    '  %z = Exp(%0) : f32[2] loc("/exp")',
    '  %y = Relu(%x) : f32[2] loc("/r1")',
    '  return %y, %z',
    '}',
  ]);
  const r = cse(g);
  assert.equal(r.graph.outputs, ['y', 'z']);
  assert.equal(nodeLines(r.graph), ['%y = Relu(%x) : f32[2] loc(fused["/r0", "/r1"])', '%z = Exp(%y) : f32[2] loc("/exp")']);
  sameValues(g, r.graph);
});

test('two graph outputs of equal value both stay; duplicated constants that are outputs keep their names', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[2]) -> (%a: f32[2], %b: f32[2], %c2: f32[1]) {',
    '  %c1 = const f32[1] dense<[3.0]>',
    '  %c2 = const f32[1] dense<[3.0]>',
    '  %a = Add(%x, %c1) : f32[2] loc("/a")',
    '  %b = Add(%x, %c2) : f32[2] loc("/b")',
    '  return %a, %b, %c2',
    '}',
  ]);
  const r = cse(g);
  // c2 merges into c1 by renaming c1 to c2; then %b and %a would need one value under two names
  assert.equal(r.graph.constants.map((c) => c.name), ['c2']);
  assert.equal(nodeLines(r.graph), ['%a = Add(%x, %c2) : f32[2] loc("/a")', '%b = Add(%x, %c2) : f32[2] loc("/b")']);
  assert.equal(r.stats, { 'merged-nodes': 0, 'merged-constants': 1 });
  sameValues(g, r.graph);
});

test('a possibly-training Dropout is never merged; an inference one is', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[2], %train: bool[]) -> (%4: f32[2], %5: f32[2]) {',
    '  %r = const f32[] dense<0.5>',
    '  %0 = Dropout(%x, %r, %train) : f32[2] loc("/d0")',
    '  %1 = Dropout(%x, %r, %train) : f32[2] loc("/d1")',
    '  %2 = Dropout(%x, %r) : f32[2] loc("/d2")',
    '  %3 = Dropout(%x, %r) : f32[2] loc("/d3")',
    '  %5 = Add(%0, %1) : f32[2] loc("/a0")',
    '  %4 = Add(%2, %3) : f32[2] loc("/a1")',
    '  return %4, %5',
    '}',
  ]);
  const r = cse(g);
  assert.equal(r.graph.nodes.map((n) => n.loc.join('+')), ['/d0', '/d1', '/d2+/d3', '/a0', '/a1']);
});

test('nothing to merge: the same graph object comes back', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[2]) -> (%2: f32[2]) {',
    '  %a = const f32[2] dense<[1.0, 2.0]>',
    '  %b = const f32[2] dense<[1.0, 3.0]>',
    '  %0 = Mul(%x, %a) : f32[2] loc("/m0")',
    '  %1 = Mul(%a, %x) : f32[2] loc("/m1")',
    '  %2 = Add(%0, %1) : f32[2] loc("/add")',
    '  %3 = Add(%0, %b) : f32[2] loc("/dead")',
    '  return %2',
    '}',
  ]);
  assertUnchanged(csePass, g);
});

for (const name of ZOO_MODELS) {
  test(`zoo ${name}: outputs unchanged within 1e-5`, () => {
    const r = checkZoo(csePass, name);
    if (name.startsWith('bert')) assert.ok(r.stats['merged-constants'] > 0, 'repeated axes/shape constants merge');
  });
}

test.run();
