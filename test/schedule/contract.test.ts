/**
 * The executable parts of the memory plan (plan.ts header): each buffer's layout and required
 * alignment, the input and constant regions, and per-kernel scratch. Random graphs with random scratch
 * get valid plans whose scratch never shares a byte with a value live at its step (checked here
 * directly, not only by the validator); per-buffer alignment is honoured by every placement; and each
 * new validator rule catches its mutation.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Graph, Node } from '../../compiler/ir/graph.ts';
import '../../compiler/ops/all.ts';
import { type MemoryPlan, planMemory, plannerNames, validatePlan } from '../../compiler/schedule/index.ts';
import { placeInOrder, placeNaive } from '../../compiler/schedule/placement.ts';
import { build, chain, f32, ty } from './graphs.ts';
import { randomGraph, rng } from './random-graphs.ts';

const rules = (g: Graph, p: MemoryPlan) => [...new Set(validatePlan(g, p).map((e) => e.slice(0, e.indexOf(':'))))];

test('random graphs with random scratch: valid plans, scratch apart from every value live at its step', () => {
  let scratches = 0;
  for (let seed = 1; seed <= 120; seed++) {
    const g = randomGraph(seed, { maxNodes: 30 });
    const r = rng(seed * 7919);
    const want = new Map(g.nodes.map((n) => [n, r() < 0.3 ? 1 + Math.floor(r() * 5000) : 0]));
    const scratchBytes = (n: Node) => want.get(n) ?? 0;
    const dims = { N: 1 + (seed % 5) };
    for (const planner of plannerNames()) {
      const p = planMemory(g, { planner, dims, scratchBytes, alignment: [64, 1, 16][seed % 3] });
      assert.equal(validatePlan(g, p, { scratchBytes }), [], `seed ${seed} ${planner}`);
      assert.is(p.scratch.length, [...want.values()].filter((b) => b > 0).length);
      for (const s of p.scratch) {
        scratches++;
        assert.is(p.order[s.step], s.node);
        assert.ok(s.offset % s.alignment === 0 && s.alignment >= 8);
        for (const t of p.tensors) {
          if (t.aliasOf !== undefined || t.bytes === 0 || t.first > s.step || t.last < s.step) continue;
          assert.ok(s.offset >= t.offset + t.bytes || t.offset >= s.offset + s.bytes, `seed ${seed} ${planner}: scratch of ${s.node} on ${t.name}`);
        }
        assert.ok(p.peakBytes >= s.offset + s.bytes);
        assert.ok(p.lowerBoundBytes >= s.bytes);
      }
    }
  }
  assert.ok(scratches > 500, `only ${scratches} scratch regions placed`);
});

test('placement honours each block\'s own alignment over the placement\'s', () => {
  const blocks = [
    { size: 3, first: 0, last: 2, align: 1 },
    { size: 8, first: 0, last: 2, align: 8 },
    { size: 5, first: 1, last: 2, align: 1 },
    { size: 16, first: 1, last: 2, align: 16 },
  ];
  assert.equal(placeNaive(blocks, 1), [0, 8, 16, 32]);
  for (const offsets of [placeInOrder(blocks, 1, [0, 1, 2, 3]), placeInOrder(blocks, 1, [3, 2, 1, 0])]) {
    blocks.forEach((b, i) => assert.is(offsets[i] % b.align, 0, `block ${i} at ${offsets[i]}`));
  }
});

test('every buffer carries dtype, concrete shape, element count, alignment and region', () => {
  const g = build({
    inputs: [['x', ty('f64', 'N', 4)]],
    constants: [['w', f32(4)]],
    nodes: [
      ['Relu', ['x'], [['a', ty('f64', 'N', 4)]]],
      ['Reshape', ['a', 'w'], [['v', ty('f64', 4, 'N')]]],
      ['Cast', ['v'], [['y', ty('u8', 4, 'N')]]],
    ],
    outputs: ['y'],
  });
  const p = planMemory(g, { dims: { N: 3 }, alignment: 1, order: 'graph' });
  assert.equal(validatePlan(g, p), []);
  const t = Object.fromEntries(p.tensors.map((x) => [x.name, x]));
  assert.equal([t.a.dtype, t.a.shape, t.a.elements, t.a.alignment, t.a.region], ['f64', [3, 4], 12, 8, 'arena']);
  assert.equal([t.v.aliasOf, t.v.aliasKind, t.v.shape, t.v.offset], ['a', 'view', [4, 3], t.a.offset]);
  assert.equal([t.y.dtype, t.y.alignment, t.y.bytes], ['u8', 1, 12]);
  assert.equal(p.externals.map((e) => [e.name, e.region, e.offset, e.bytes, e.alignment]), [['x', 'input', 0, 96, 8], ['w', 'constant', 0, 16, 4]]);
  assert.equal([p.inputRegionBytes, p.constantRegionBytes, p.scratch], [96, 16, []]);
});

test('validator: layout, externals and scratch mutations are each caught by their rule', () => {
  const g = chain();
  const p = planMemory(g, { order: 'graph', scratchBytes: (n) => (n.outputs[0] === 'b' ? 128 : 0) });
  assert.equal(validatePlan(g, p), []);
  const tensors = (name: string, change: object) => ({ ...p, tensors: p.tensors.map((t) => (t.name === name ? { ...t, ...change } : t)) });
  assert.equal(rules(g, tensors('a', { dtype: 'f16' })), ['layout']);
  assert.equal(rules(g, tensors('a', { shape: [255] })), ['layout']);
  assert.equal(rules(g, tensors('a', { elements: 3 })), ['layout']);
  assert.equal(rules(g, tensors('a', { alignment: 2 })), ['layout']);
  assert.equal(rules(g, tensors('a', { region: 'input' })), ['layout']);
  const x = p.externals[0];
  const externals = (list: MemoryPlan['externals'], extra: Partial<MemoryPlan> = {}) => rules(g, { ...p, externals: list, ...extra });
  assert.equal(externals([]), ['externals']);
  assert.equal(externals([x, x]), ['externals']);
  assert.equal(externals([{ ...x, region: 'constant' }]), ['externals']);
  assert.equal(externals([{ ...x, bytes: 4 }]), ['externals']);
  assert.equal(externals([{ ...x, offset: 4 }]), ['externals']);
  assert.equal(externals([x], { inputRegionBytes: 8 }), ['externals']);
  assert.equal(externals([x, { ...x, name: 'ghost' }]), ['externals']);
  const s = p.scratch[0];
  assert.equal([s.node, s.step, s.bytes], ['b', 1, 128]);
  const scratch = (list: MemoryPlan['scratch']) => rules(g, { ...p, scratch: list });
  assert.equal(scratch([{ ...s, node: 'nope' }]), ['scratch']);
  assert.equal(scratch([{ ...s, step: 2 }]), ['scratch', 'peak']); // breadth at steps 1 and 2 no longer match
  assert.equal(scratch([{ ...s, bytes: 0 }]), ['scratch', 'peak']);
  assert.equal(scratch([s, s]), ['scratch', 'overlap', 'peak']); // the copy also overlaps the original and counts twice
  assert.equal(scratch([{ ...s, alignment: 4 }]), ['scratch']);
  assert.equal(scratch([{ ...s, offset: s.offset + 8 }]).includes('alignment'), true);
  // scratch over a value live at its step (a is read by b's node; b is being written)
  assert.ok(scratch([{ ...s, offset: p.tensors.find((t) => t.name === 'a')!.offset }]).includes('overlap'));
  // the kernel's declared need is checked when the validator is told it
  assert.ok(validatePlan(g, { ...p, scratch: [] }, { scratchBytes: (n) => (n.outputs[0] === 'b' ? 128 : 0) }).some((e) => e.startsWith('scratch: node \'b\' needs 128')));
});

test.run();
