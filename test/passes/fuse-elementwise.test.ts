/**
 * Direct tests of the fuse-elementwise pass beyond its golden file: the zoo models (region counts, the
 * decomposed LayerNorm and the GELU Erf chain recognised, outputs bit-identical), option effects on a
 * whole model, idempotence, and a fuzz over random DAGs mixing elementwise ops, reductions and
 * non-fusible ops (the result must verify — so no cycle and a topological order — and compute the
 * same values bit for bit).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Graph, Node } from '../../compiler/ir/graph.ts';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { printGraph } from '../../compiler/ir/print.ts';
import { inferTypes } from '../../compiler/ops/infer.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { hashOf } from '../../compiler/ir/weights.ts';
import { i64Tensor } from '../../compiler/ir/tensor.ts';
import { fuseElementwise } from '../../compiler/passes/fuse-elementwise.ts';
import { Rng } from '../../compiler/zoo/random.ts';
import { checkZoo, runPass, zooBaseline } from './canonical-helpers.ts';

const fused = (g: Graph) => g.nodes.filter((n) => n.op === 'kiln.fused');
const bodyOf = (n: Node) => (n.attrs.body.value as string[]);
const opsOf = (n: Node) => bodyOf(n).map((l) => /= ([A-Za-z]+)\(/.exec(l)![1]);
const REASONS = [
  /^op \S+ is not elementwise$/, /^reduction not last: Reduce\w+ %\S+ already ends the region$/, /^would exceed max-ops=\d+$/,
  /^already fused into the region of %\S+ \(regions are not merged\)$/, /^would create a cycle through %\S+$/,
  /^shape \[.*\] of %\S+ does not broadcast with region shape \[.*\]$/, /^reduction input \[.*\] does not cover region shape \[.*\]$/,
  /^reduction over axes \[.*\] is not over the last axes$/, /^op \S+ is (on|not on) the (deny|allow) list$/,
];

test('bert-decomposed: every LayerNorm splits into 3 regions, every GELU is one 6-op region, outputs unchanged', () => {
  const r = checkZoo(fuseElementwise, 'bert-decomposed');
  assert.equal(r.stats, { regions: 36, 'ops-fused': 134, rejected: 75 });
  assert.is(r.after, 121);
  const regions = fused(r.graph);
  const sig = (n: Node) => opsOf(n).join(' ');
  const count = (s: string) => regions.filter((n) => sig(n) === s).length;
  // 9 LayerNorms: mean (ending the residual Adds), variance, normalise+affine
  assert.is(count('Sub Pow ReduceMean'), 9);
  assert.is(count('Add Sqrt Div Mul Add'), 9);
  assert.is(count('Add Add ReduceMean'), 9);
  assert.is(count('Add Div Erf Add Mul Mul'), 4);
  assert.is(count('Div Add'), 4); // attention scale + mask
  assert.is(count('Cast Sub Mul'), 1); // the mask
  for (const n of regions) assert.ok(n.loc.length === bodyOf(n).length, 'one loc per fused op');
  assert.is(r.decisions.filter((d) => d.kind === 'fused').length, 36);
  for (const d of r.decisions.filter((x) => x.kind === 'rejected')) {
    assert.ok(REASONS.some((re) => re.test(d.reason)), `unexpected reason '${d.reason}'`);
  }
});

test('bert, resnet50 and mobilenetv2: region counts, outputs unchanged', () => {
  const bert = checkZoo(fuseElementwise, 'bert');
  assert.equal(bert.stats.regions, 18);
  assert.is(fused(bert.graph).filter((n) => opsOf(n).includes('Erf')).length, 4);
  const resnet = checkZoo(fuseElementwise, 'resnet50');
  assert.equal(resnet.stats, { regions: 16, 'ops-fused': 32, rejected: 64 });
  assert.ok(fused(resnet.graph).every((n) => opsOf(n).join(' ') === 'Add Relu'), 'residual Add + Relu');
  const mobile = checkZoo(fuseElementwise, 'mobilenetv2');
  assert.is(mobile.graph, zooBaseline('mobilenetv2').graph, 'no two elementwise ops are adjacent in MobileNetV2');
});

test('options on a whole model: max-ops bounds every region, deny keeps reductions out', () => {
  const small = checkZoo(fuseElementwise, 'bert-decomposed', { 'max-ops': 3 });
  assert.ok(fused(small.graph).every((n) => bodyOf(n).length <= 3));
  assert.ok(small.decisions.some((d) => d.reason === 'would exceed max-ops=3'));
  const noReduce = checkZoo(fuseElementwise, 'bert-decomposed', { deny: ['Reduce*'] });
  assert.ok(fused(noReduce.graph).every((n) => !opsOf(n).some((o) => o.startsWith('Reduce'))));
  assert.is(noReduce.graph.nodes.filter((n) => n.op === 'ReduceMean').length, 18);
  const onlyAdd = checkZoo(fuseElementwise, 'bert-decomposed', { allow: ['Add'] });
  assert.ok(fused(onlyAdd.graph).every((n) => opsOf(n).every((o) => o === 'Add')));
});

test('running the pass again changes nothing', () => {
  const once = runPass(fuseElementwise, zooBaseline('bert-decomposed').graph).graph;
  const twice = runPass(fuseElementwise, once);
  assert.is(twice.graph, once);
  assert.is(twice.stats.regions, 0);
});

/** A random DAG over [2,3]-broadcastable values: elementwise ops, reductions, Softmax and Transpose pairs. */
function randomGraph(seed: number): Graph {
  const rng = Rng.forName(seed, 'fuse-fuzz');
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(0, xs.length)];
  const shapes = new Map<string, string>([['x', '2,3'], ['y', '2,1'], ['z', '3']]);
  const constants = [{ name: 'axes', type: { dtype: 'i64' as const, shape: [1] }, data: i64Tensor([-1]), hash: hashOf(i64Tensor([-1])) }];
  const nodes: Node[] = [];
  const add = (op: string, inputs: string[], shape: string, attrs: Node['attrs'] = {}) => {
    const out = `v${nodes.length}`;
    nodes.push({ op, inputs, outputs: [out], types: [{ dtype: 'f32', shape: [] }], attrs, loc: [`/${op}_${nodes.length}`] });
    shapes.set(out, shape);
    return out;
  };
  const values = () => [...shapes.keys()].filter((v) => shapes.get(v) !== '3,2');
  for (let i = 0; i < 14; i++) {
    const kind = rng.int(0, 10);
    const full = values().filter((v) => shapes.get(v) === '2,3');
    if (kind < 3) {
      const v = pick(values());
      add(pick(['Neg', 'Tanh', 'Sigmoid', 'Relu', 'Abs']), [v], shapes.get(v)!);
    } else if (kind < 7) {
      const a = pick(values()), b = pick(values());
      const sa = shapes.get(a)!, sb = shapes.get(b)!;
      add(pick(['Add', 'Sub', 'Mul', 'Max']), [a, b], sa === sb ? sa : '2,3');
    } else if (kind === 7 && full.length) {
      add(pick(['ReduceSum', 'ReduceMax']), [pick(full), 'axes'], '2,1', { keepdims: { kind: 'int', value: 1 } });
    } else if (kind === 8 && full.length) {
      add('Softmax', [pick(full)], '2,3', { axis: { kind: 'int', value: -1 } });
    } else if (full.length) {
      const t = add('Transpose', [pick(full)], '3,2', { perm: { kind: 'ints', value: [1, 0] } });
      add('Transpose', [t], '2,3', { perm: { kind: 'ints', value: [1, 0] } });
    }
  }
  const live = values().filter((v) => v.startsWith('v'));
  const outputs = [...new Set([live[live.length - 1], pick(live), pick(live)])].filter(Boolean);
  const graph: Graph = {
    name: `fuzz${seed}`,
    inputs: [{ name: 'x', type: { dtype: 'f32', shape: [2, 3] } }, { name: 'y', type: { dtype: 'f32', shape: [2, 1] } },
      { name: 'z', type: { dtype: 'f32', shape: [3] } }],
    outputs, constants, nodes,
  };
  return inferTypes(graph);
}

test('fuzz: random DAGs fuse into verified graphs that compute the same values bit for bit', () => {
  const inputs = {
    x: Tensor.fromNumbers('f32', [2, 3], [0.5, -1, 2, -0.25, 1.5, -2]),
    y: Tensor.fromNumbers('f32', [2, 1], [0.3, -0.7]),
    z: Tensor.fromNumbers('f32', [3], [1, -1, 0.5]),
  };
  let regions = 0, cycles = 0;
  for (let seed = 0; seed < 150; seed++) {
    const g = randomGraph(seed);
    if (g.outputs.length === 0) continue;
    const maxOps = 2 + (seed % 5);
    const r = runPass(fuseElementwise, g, { 'max-ops': maxOps }); // verifies: SSA, topological order, types
    regions += r.stats.regions;
    cycles += r.decisions.filter((d) => d.reason.startsWith('would create a cycle')).length;
    for (const n of fused(r.graph)) assert.ok(bodyOf(n).length <= maxOps);
    const want = runReference(g, inputs), got = runReference(r.graph, inputs);
    want.forEach((t, k) => assert.equal(got[k].data, t.data, `seed ${seed} output ${k}\n${printGraph(g)}\n${printGraph(r.graph)}`));
  }
  assert.ok(regions > 100, `the fuzz should form many regions, got ${regions}`);
  assert.ok(cycles > 0, 'the fuzz should hit the cycle rule');
});

test.run();
