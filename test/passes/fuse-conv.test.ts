/**
 * Direct tests of fold-conv-bn and fuse-conv-act (beside their golden files): the lazily computed
 * folded weights (nothing computed or hashed by the pass, correct values on first read, unchanged
 * weights never copied), folds checked against the reference executor (Gemm with full and scalar C,
 * f16 conv), the very same graph returned when nothing applies, decisions with loc and result, and
 * the linear-time walk on a long chain.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Graph } from '../../compiler/ir/graph.ts';
import { Tensor, readNumbers } from '../../compiler/ir/tensor.ts';
import { hashOf } from '../../compiler/ir/weights.ts';
import { GraphBuilder, float } from '../../compiler/zoo/builder.ts';
import { Rng } from '../../compiler/zoo/random.ts';
import '../../compiler/passes/all.ts';
import { foldConvBnPass } from '../../compiler/passes/fold-conv-bn.ts';
import { fuseConvActPass } from '../../compiler/passes/fuse-conv-act.ts';
import { hasDerivedHash, isMaterialized } from '../../compiler/ir/lazy-weights.ts';
import { type Decision, type Pass, Statistics } from '../../compiler/passes/pass.ts';
import { randomInputs } from '../../compiler/runtime/inputs.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { parseKir, runPass } from './canonical-helpers.ts';

/** Runs a pass without verification (which would hash, and so materialise, new constants). */
function bare(pass: Pass, g: Graph): { graph: Graph; stats: Record<string, number>; decisions: Decision[] } {
  const stats = new Statistics(pass.statistics);
  const decisions: Decision[] = [];
  const graph = pass.run(g, { options: {}, stats, decide: (d) => decisions.push({ ...d, pass: pass.name }), target: 'ref' });
  return { graph, stats: stats.toJSON(), decisions };
}

/** Asserts both graphs compute the same outputs on seeded inputs, within `rtol` of the largest |output|. */
function sameOutputs(a: Graph, b: Graph, rtol = 1e-5): void {
  const inputs = randomInputs(a, 3);
  const x = runReference(a, inputs), y = runReference(b, inputs);
  x.forEach((t, k) => {
    const p = readNumbers(t), q = readNumbers(y[k]);
    let max = 0, err = 0;
    for (let i = 0; i < p.length; i++) { max = Math.max(max, Math.abs(p[i])); err = Math.max(err, Math.abs(p[i] - q[i])); }
    assert.ok(err <= rtol * max, `output ${k}: error ${err}, max |output| ${max}`);
  });
}

const CONV_BN = [
  'kiln.graph @g(%x: f32[1,2,3,3]) -> (%y: f32[1,2,3,3], %z: f32[1,2,3,3]) {',
  '  %w = const f32[2,2,1,1] dense<[1.0, 2.0, 3.0, 4.0]>',
  '  %w2 = const f32[2,2,1,1] dense<[5.0, 6.0, 7.0, 8.0]>',
  '  %g = const f32[2] dense<[2.0, 2.0]>',
  '  %b = const f32[2] dense<[0.5, -1.0]>',
  '  %m = const f32[2] dense<[1.0, 0.0]>',
  '  %v = const f32[2] dense<[3.0, 15.0]>',
  '  %0 = Conv(%x, %w) : f32[1,2,3,3] loc("/conv")',
  '  %y = BatchNormalization(%0, %g, %b, %m, %v) {epsilon=1.0} : f32[1,2,3,3] loc("/bn")',
  '  %z = Conv(%x, %w2) : f32[1,2,3,3] loc("/other")',
  '  return %y, %z',
  '}',
];

test('fold-conv-bn computes nothing and hashes nothing until the folded weight is read', () => {
  const g = parseKir(CONV_BN);
  const r = bare(foldConvBnPass, g);
  const w = r.graph.constants.find((c) => c.name === 'w.folded')!;
  assert.ok(w, 'folded weight present');
  assert.equal([...w.type.shape], [2, 2, 1, 1]);
  assert.is(isMaterialized(w.data!), false, 'not computed by the pass');
  assert.ok(hasDerivedHash(w), 'hash derived from the data by construction');
  assert.not.ok(hasDerivedHash(g.constants[0]), 'a parsed constant carries its own hash');
  assert.equal(Array.from(readNumbers(w.data!)), [1, 2, 1.5, 2]);
  assert.is(isMaterialized(w.data!), true);
  assert.is(w.hash, hashOf(w.data!), 'hash is the content hash');
  const bias = r.graph.constants.find((c) => c.name === 'w.bias.folded')!;
  assert.equal(Array.from(readNumbers(bias.data!)), [-0.5, -1]);
  sameOutputs(g, r.graph, 1e-6);
});

test('fold-conv-bn never copies the weights it does not change', () => {
  const g = parseKir(CONV_BN);
  const r = bare(foldConvBnPass, g);
  const before = g.constants.find((c) => c.name === 'w2')!;
  const after = r.graph.constants.find((c) => c.name === 'w2')!;
  assert.ok(after === before, 'the Constant object is shared');
  assert.ok(r.graph.nodes.find((n) => n.outputs[0] === 'z') === g.nodes.find((n) => n.outputs[0] === 'z'), 'untouched node shared');
  assert.equal(r.graph.constants.map((c) => c.name), ['w2', 'w.folded', 'w.bias.folded'], 'old weight and BN parameters removed');
});

test('fold-conv-bn on Gemm (full [M,N] C, transB=0) and Gemm without C matches the reference', () => {
  const b = new GraphBuilder();
  const rng = new Rng(5);
  const vec = (n: number, lo: number, hi: number) => { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rng.uniform(); return a; };
  const x = b.input('x', 'f32', [3, 4]);
  const bn = (v: string, name: string) => b.op('BatchNormalization', [v,
    b.constant(`${name}.g`, t32([5], vec(5, 0.5, 1.5))), b.constant(`${name}.b`, t32([5], vec(5, -1, 1))),
    b.constant(`${name}.m`, t32([5], vec(5, -1, 1))), b.constant(`${name}.v`, t32([5], vec(5, 0.5, 2)))], { epsilon: float(1e-3) });
  const g1 = b.op('Gemm', [x, b.constant('w1', t32([4, 5], vec(20, -1, 1))), b.constant('c1', t32([3, 5], vec(15, -1, 1)))], { alpha: float(0.5), beta: float(2) });
  const g2 = b.op('Gemm', [x, b.constant('w2', t32([5, 4], vec(20, -1, 1)))], { transB: 1 });
  b.output(bn(g1, 'bn1'));
  b.output(bn(g2, 'bn2'));
  const g = b.build('gemms');
  const r = runPass(foldConvBnPass, g);
  assert.is(r.stats['folded-gemm'], 2);
  assert.equal(r.graph.nodes.map((n) => n.op), ['Gemm', 'Gemm']);
  assert.equal([...r.graph.constants.find((c) => c.name === 'c1.folded')!.type.shape], [3, 5]);
  sameOutputs(g, r.graph);
});

test('fold-conv-bn on an f16 conv keeps f16 weights and matches within f16 precision', () => {
  const g = parseKir([
    'kiln.graph @h(%x: f16[1,2,2,2]) -> (%y: f16[1,2,2,2]) {',
    '  %w = const f16[2,2,1,1] dense<[1.0, -2.0, 0.5, 4.0]>',
    '  %g = const f16[2] dense<[1.5, 0.75]>',
    '  %b = const f16[2] dense<[0.25, -1.0]>',
    '  %m = const f16[2] dense<[0.5, 0.125]>',
    '  %v = const f16[2] dense<[2.0, 0.5]>',
    '  %0 = Conv(%x, %w) : f16[1,2,2,2]',
    '  %y = BatchNormalization(%0, %g, %b, %m, %v) : f16[1,2,2,2]',
    '  return %y',
    '}',
  ]);
  const r = runPass(foldConvBnPass, g);
  assert.ok(r.graph.constants.every((c) => c.type.dtype === 'f16'));
  sameOutputs(g, r.graph, 2e-3);
});

test('both passes return the very same graph when nothing applies', () => {
  const g = parseKir([
    'kiln.graph @n(%x: f32[2,2]) -> (%y: f32[2,2]) {',
    '  %w = const f32[2,2] dense<[1.0, 2.0, 3.0, 4.0]>',
    '  %0 = MatMul(%x, %w) : f32[2,2]',
    '  %y = Softmax(%0) : f32[2,2]',
    '  return %y',
    '}',
  ]);
  for (const p of [foldConvBnPass, fuseConvActPass]) {
    const r = bare(p, g);
    assert.ok(r.graph === g, p.name);
    assert.equal(r.decisions, []);
  }
});

test('fuse-conv-act decisions carry the fused node ids, the locs in graph order and the result', () => {
  const g = parseKir([
    'kiln.graph @d(%x: f32[1,2,2,2]) -> (%r: f32[1,2,2,2]) {',
    '  %w = const f32[2,2,1,1] dense<[1.0, -0.5, 0.25, 2.0]>',
    '  %0 = Conv(%x, %w) : f32[1,2,2,2] loc("/conv")',
    '  %1 = Add(%x, %0) : f32[1,2,2,2] loc("/add")',
    '  %r = Relu(%1) : f32[1,2,2,2] loc("/relu")',
    '  return %r',
    '}',
  ]);
  const r = runPass(fuseConvActPass, g);
  assert.equal(r.decisions, [{
    pass: 'fuse-conv-act', kind: 'fused', nodes: ['0', '1', 'r'], loc: ['/conv', '/add', '/relu'],
    reason: 'Conv + Add(residual) + Relu → kiln.conv [add, relu]', result: 'r',
  }]);
  assert.equal(r.graph.nodes.map((n) => [n.op, n.inputs]), [['kiln.conv', ['x', 'w', '', 'x']]]);
  sameOutputs(g, r.graph, 1e-6);
});

test('fuse-conv-act fuses every pair of a long chain (4000 Conv+Relu pairs)', () => {
  const b = new GraphBuilder();
  let v = b.input('x', 'f32', [1, 2, 1, 1]);
  const w = b.constant('w', t32([2, 2, 1, 1], Float32Array.of(0.5, 0.5, 0.5, 0.5)));
  for (let i = 0; i < 4000; i++) v = b.op('Relu', [b.op('Conv', [v, w])]);
  b.output(v);
  const g = b.build('long');
  const r = bare(fuseConvActPass, g);
  assert.is(r.stats.conv, 4000);
  assert.is(r.graph.nodes.length, 4000);
});

function t32(shape: number[], data: Float32Array): Tensor {
  return new Tensor('f32', shape, data);
}

test.run();
