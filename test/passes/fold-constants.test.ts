/** The fold-constants pass: folded values, chains, Shape/Size, the size cap, random-ish ops, zoo models. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Graph } from '../../compiler/ir/graph.ts';
import { readNumbers } from '../../compiler/ir/tensor.ts';
import { hashOf } from '../../compiler/ir/weights.ts';
import { foldConstantsPass } from '../../compiler/passes/fold-constants.ts';
import { ZOO_MODELS, assertUnchanged, checkZoo, nodeLines, parseKir, runPass } from './canonical-helpers.ts';

const fold = (g: Graph, options = {}) => runPass(foldConstantsPass, g, options);
const values = (g: Graph, name: string) => {
  const c = g.constants.find((k) => k.name === name);
  assert.ok(c, `constant ${name}`);
  return Array.from(readNumbers(c!.data!));
};

test('a constant chain folds in one run; intermediates and inputs that nothing else reads are removed', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[3]) -> (%2: f32[3]) {',
    '  %a = const f32[3] dense<[1.0, 2.0, 3.0]>',
    '  %b = const f32[3] dense<[10.0, 20.0, 30.0]>',
    '  %two = const f32[] dense<2.0>',
    '  %0 = Add(%a, %b) : f32[3] loc("/add")',
    '  %1 = Mul(%0, %two) : f32[3] loc("/mul")',
    '  %2 = Sub(%x, %1) : f32[3] loc("/sub")',
    '  return %2',
    '}',
  ]);
  const r = fold(g);
  assert.equal(nodeLines(r.graph), ['%2 = Sub(%x, %1) : f32[3] loc("/sub")']);
  assert.equal(r.graph.constants.map((c) => c.name), ['1']);
  assert.equal(values(r.graph, '1'), [22, 44, 66]);
  const c = r.graph.constants[0];
  assert.is(c.hash, hashOf(c.data!));
  assert.equal(c.type, { dtype: 'f32', shape: [3] });
  assert.equal(r.stats, { 'folded-nodes': 2, 'new-constant-bytes': 12, 'removed-constants': 3, 'too-large': 0 });
});

test('a folded graph output keeps its name; a constant still read elsewhere stays', () => {
  const g = parseKir([
    'kiln.graph @t(%x: i64[2]) -> (%y: i64[2], %z: i64[2]) {',
    '  %a = const i64[2] dense<[5, -7]>',
    '  %y = Neg(%a) : i64[2] loc("/neg")',
    '  %z = Add(%x, %a) : i64[2] loc("/add")',
    '  return %y, %z',
    '}',
  ]);
  const r = fold(g);
  assert.equal(r.graph.outputs, ['y', 'z']);
  assert.equal(nodeLines(r.graph), ['%z = Add(%x, %a) : i64[2] loc("/add")']);
  assert.equal(r.graph.constants.map((c) => c.name), ['a', 'y']);
  assert.equal(Array.from(r.graph.constants[1].data!.data as BigInt64Array), [-5n, 7n]);
});

test('Shape and Size fold from static types; Shape slices fold when the sliced dims are static', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[2,3], %n: f32[N,5]) -> (%r: f32[2,3], %s: i64[], %t: i64[1], %u: i64[2]) {',
    '  %0 = Shape(%x) : i64[2] loc("/shape")',
    '  %1 = Neg(%0) : i64[2] loc("/neg")',
    '  %2 = Neg(%1) : i64[2] loc("/neg2")',
    '  %3 = Transpose(%x) : f32[3,2] loc("/t")',
    '  %r = Reshape(%3, %2) : f32[2,3] loc("/r")',
    '  %s = Size(%x) : i64[] loc("/size")',
    '  %t = Shape(%n) {start=1} : i64[1] loc("/tail")',
    '  %u = Shape(%n) : i64[2] loc("/whole")',
    '  return %r, %s, %t, %u',
    '}',
  ]);
  const r = fold(g);
  assert.equal(nodeLines(r.graph), [
    '%3 = Transpose(%x) : f32[3,2] loc("/t")',
    '%r = Reshape(%3, %2) : f32[2,3] loc("/r")',
    '%u = Shape(%n) : i64[2] loc("/whole")',
  ]);
  assert.equal(values(r.graph, '2'), [2, 3]);
  assert.equal(values(r.graph, 's'), [6]);
  assert.equal(values(r.graph, 't'), [5]);
  assert.is(r.stats['folded-nodes'], 5);
  assert.is(r.graph.constants.find((c) => c.name === '0'), undefined);
});

test('max-elements: growth past the cap is refused and counted; weight-sized results always fold', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[4,4]) -> (%1: f32[4,4], %3: f32[4,4]) {',
    '  %v = const f32[] dense<3.0>',
    '  %s = const i64[2] dense<[4, 4]>',
    '  %w = const f32[4,4] dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0]>',
    '  %0 = Expand(%v, %s) : f32[4,4] loc("/expand")',
    '  %1 = Add(%x, %0) : f32[4,4] loc("/add")',
    '  %2 = Mul(%w, %v) : f32[4,4] loc("/scale")',
    '  %3 = Add(%x, %2) : f32[4,4] loc("/add2")',
    '  return %1, %3',
    '}',
  ]);
  const small = fold(g, { 'max-elements': 8 });
  assert.equal(nodeLines(small.graph), [
    '%0 = Expand(%v, %s) : f32[4,4] loc("/expand")',
    '%1 = Add(%x, %0) : f32[4,4] loc("/add")',
    '%3 = Add(%x, %2) : f32[4,4] loc("/add2")',
  ]);
  assert.is(small.stats['too-large'], 1);
  assert.is(small.stats['folded-nodes'], 1);
  assert.equal(values(small.graph, '2').slice(0, 4), [3, 6, 9, 12]);
  assert.equal(small.graph.constants.map((c) => c.name), ['v', 's', '2']);
  const big = fold(g, { 'max-elements': 16 });
  assert.is(big.stats['folded-nodes'], 2);
  assert.equal(values(big.graph, '0'), new Array(16).fill(3));
  assert.equal(big.stats['new-constant-bytes'], 2 * 16 * 4);
});

test('Dropout folds only when it is known to be in inference mode', () => {
  const g = parseKir([
    'kiln.graph @t() -> (%0: f32[2], %1: f32[2]) {',
    '  %c = const f32[2] dense<[1.5, -2.0]>',
    '  %r = const f32[] dense<0.5>',
    '  %yes = const bool[] dense<true>',
    '  %0 = Dropout(%c, %r) : f32[2] loc("/inference")',
    '  %1 = Dropout(%c, %r, %yes) : f32[2] loc("/training")',
    '  return %0, %1',
    '}',
  ]);
  const r = fold(g);
  assert.equal(nodeLines(r.graph), ['%1 = Dropout(%c, %r, %yes) : f32[2] loc("/training")']);
  assert.equal(values(r.graph, '0'), [1.5, -2]);
});

test('folding a value whose declared type was symbolic re-infers the readers\' types', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[2]) -> (%1: f32[_d1]) {',
    '  %c = const f32[2,2] dense<[1.0, 2.0, 3.0, 4.0]>',
    '  %s = const i64[1] dense<[-1]>',
    '  %0 = Reshape(%c, %s) : f32[_d0] loc("/flat")',
    '  %1 = Concat(%x, %0) {axis=0} : f32[_d1] loc("/cat")',
    '  return %1',
    '}',
  ]);
  const r = fold(g);
  assert.equal(nodeLines(r.graph), ['%1 = Concat(%x, %0) {axis=0} : f32[6] loc("/cat")']);
  assert.equal(values(r.graph, '0'), [1, 2, 3, 4]);
});

test('nodes reading a graph input, and constants without data, do not fold (same graph back)', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[N,3]) -> (%2: i64[2]) {',
    '  %w = const f32[3] #0123456789abcdef',
    '  %0 = Add(%x, %w) : f32[N,3] loc("/add")',
    '  %1 = Neg(%w) : f32[3] loc("/neg")',
    '  %2 = Shape(%0) : i64[2] loc("/shape")',
    '  return %2',
    '}',
  ]);
  assertUnchanged(foldConstantsPass, g);
});

for (const name of ZOO_MODELS) {
  test(`zoo ${name}: outputs unchanged within 1e-5`, () => {
    const r = checkZoo(foldConstantsPass, name);
    if (name.startsWith('bert')) {
      // the token-type and position embedding Gathers read only constants
      assert.is(r.stats['folded-nodes'], 2);
      assert.is(r.after, r.before - 2);
    }
  });
}

test.run();
