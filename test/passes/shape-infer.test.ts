/** The shape-infer pass: static dims from shape arithmetic, symbol propagation, binding, errors, zoo models. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Graph } from '../../compiler/ir/graph.ts';
import { KilnError } from '../../compiler/errors.ts';
import { parsePipeline } from '../../compiler/passes/pipeline.ts';
import { parseBindings, shapeInferPass } from '../../compiler/passes/shape-infer.ts';
import '../../compiler/passes/all.ts';
import { ZOO_MODELS, assertUnchanged, checkZoo, nodeLines, parseKir, runPass } from './canonical-helpers.ts';

const infer = (g: Graph, options = {}) => runPass(shapeInferPass, g, options);

test('shape arithmetic (Shape -> Gather -> Concat -> Reshape) makes symbolic dims static', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[2,3,4]) -> (%4: f32[_a,_b]) {',
    '  %i = const i64[] dense<0>',
    '  %m = const i64[1] dense<[-1]>',
    '  %0 = Shape(%x) : i64[3] loc("/shape")',
    '  %1 = Gather(%0, %i) {axis=0} : i64[] loc("/gather")',
    '  %2 = Unsqueeze(%1, %i) : i64[1] loc("/unsq")',
    '  %3 = Concat(%2, %m) {axis=0} : i64[2] loc("/cat")',
    '  %4 = Reshape(%x, %3) : f32[_a,_b] loc("/reshape")',
    '  return %4',
    '}',
  ]);
  const r = infer(g);
  assert.equal(nodeLines(r.graph).at(-1), '%4 = Reshape(%x, %3) : f32[2,12] loc("/reshape")');
  assert.equal(r.stats, { 'changed-nodes': 1, 'now-static': 1, 'bound-symbols': 0 });
  assert.ok(r.graph.nodes[0] === g.nodes[0], 'unchanged nodes are the same objects');
  assert.ok(r.graph.constants === g.constants);
});

test('symbolic dims propagate from the inputs; stale symbols are replaced', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[N,3]) -> (%1: f32[M,3]) {',
    '  %0 = Relu(%x) : f32[N,3] loc("/relu")',
    '  %1 = Exp(%0) : f32[M,3] loc("/exp")',
    '  return %1',
    '}',
  ]);
  const r = infer(g);
  assert.equal(nodeLines(r.graph), ['%0 = Relu(%x) : f32[N,3] loc("/relu")', '%1 = Exp(%0) : f32[N,3] loc("/exp")']);
  assert.equal(r.stats, { 'changed-nodes': 1, 'now-static': 0, 'bound-symbols': 0 });
});

test('bind specialises the graph: N:1 and "S=8" both accepted', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[N,S], %y: f32[S]) -> (%1: f32[N,S]) {',
    '  %0 = Add(%x, %y) : f32[N,S] loc("/add")',
    '  %1 = Softmax(%0) {axis=-1} : f32[N,S] loc("/softmax")',
    '  return %1',
    '}',
  ]);
  const r = infer(g, { bind: ['N:1', 'S=8'] });
  assert.equal(r.graph.inputs.map((i) => i.type.shape), [[1, 8], [8]]);
  assert.equal(nodeLines(r.graph), ['%0 = Add(%x, %y) : f32[1,8] loc("/add")', '%1 = Softmax(%0) {axis=-1} : f32[1,8] loc("/softmax")']);
  assert.equal(r.stats, { 'changed-nodes': 2, 'now-static': 2, 'bound-symbols': 2 });
  const partial = infer(g, { bind: ['S:8'] });
  assert.equal(partial.graph.nodes[1].types[0].shape, ['N', 8]);
  assert.is(partial.stats['now-static'], 0);
});

test('bind through pipeline text: shape-infer{bind=[N:4]}', () => {
  const entry = parsePipeline('shape-infer{bind=[N:4]}').entries[0];
  assert.equal(entry.options.bind, ['N:4']);
  const g = parseKir([
    'kiln.graph @t(%x: f32[N]) -> (%0: f32[N]) {',
    '  %0 = Relu(%x) : f32[N] loc("/relu")',
    '  return %0',
    '}',
  ]);
  assert.equal(infer(g, entry.options).graph.nodes[0].types[0].shape, [4]);
});

test('bind errors name the pass, the option and the entry', () => {
  assert.equal([...parseBindings(['N:1', ' B = 2 '])], [['N', 1], ['B', 2]]);
  const g = parseKir([
    'kiln.graph @t(%x: f32[N]) -> (%0: f32[N]) {',
    '  %0 = Relu(%x) : f32[N] loc("/relu")',
    '  return %0',
    '}',
  ]);
  const fails = (bind: string[], re: RegExp) => {
    try {
      infer(g, { bind });
      assert.unreachable('should throw');
    } catch (e) {
      assert.instance(e, KilnError);
      assert.match((e as Error).message, re);
    }
  };
  fails(['N'], /pass 'shape-infer'.*option 'bind': entry 'N' is not SYMBOL:SIZE/);
  fails(['N:-1'], /entry 'N:-1'/);
  fails(['M:2'], /symbol 'M' does not occur in the graph inputs \(they use N\)/);
  fails(['N:1', 'N:2'], /symbol 'N' is bound twice \(1 and 2\)/);
});

test('nothing to infer: already-correct types give the same graph back', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[N,4]) -> (%1: f32[N,2]) {',
    '  %s = const i64[2] dense<[2, 2]>',
    '  %0, %1 = Split(%x, %s) {axis=1} : f32[N,2], f32[N,2] loc("/split")',
    '  return %1',
    '}',
  ]);
  assertUnchanged(shapeInferPass, g);
});

for (const name of ZOO_MODELS) {
  test(`zoo ${name}: types are already exact, the same graph comes back`, () => {
    const r = checkZoo(shapeInferPass, name);
    assert.is(r.stats['changed-nodes'], 0);
  });
}

test.run();
