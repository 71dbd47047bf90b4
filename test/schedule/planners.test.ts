/**
 * Planners on hand-built graphs with offsets worked out by hand: naive stacking, TFLite's greedy by
 * size and greedy by breadth (best-fit gaps), `best` (the lowest arena; its `chosen` strategy), the
 * high-water marks, alignment, the registry and its errors, and the plan's figures.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Graph } from '../../compiler/ir/graph.ts';
import { KilnError } from '../../compiler/errors.ts';
import { allPlanners, getPlanner, planMemory, plannerNames, validatePlan, type MemoryPlan } from '../../compiler/schedule/index.ts';
import { alignUp, placeBySize, placeByBreadth, placeNaive } from '../../compiler/schedule/placement.ts';
import { build, chain, diamond, f32 } from './graphs.ts';

const offsets = (p: MemoryPlan) => Object.fromEntries(p.tensors.map((t) => [t.name, t.offset]));
const planned = (g: Graph, planner: string, alignment?: number) => {
  const p = planMemory(g, { planner, order: 'graph', alignment });
  assert.equal(validatePlan(g, p), [], `${planner} plan is valid`);
  return p;
};

test('registry: four planners in order; getPlanner finds them; unknown names and bad alignment are KilnErrors', () => {
  assert.equal(plannerNames(), ['naive', 'greedy-size', 'greedy-breadth', 'best']);
  assert.is(allPlanners().length, 4);
  assert.is(getPlanner('greedy-size').name, 'greedy-size');
  assert.ok(allPlanners().every((p) => p.summary.length > 10));
  assert.throws(() => getPlanner('tetris'), (e: Error) => e instanceof KilnError && /unknown planner 'tetris'; planners: naive, greedy-size/.test(e.message));
  assert.throws(() => planMemory(chain(), { planner: 'nope' }), (e: Error) => e instanceof KilnError);
  assert.throws(() => planMemory(chain(), { alignment: 0 }), (e: Error) => e instanceof KilnError && /alignment/.test(e.message));
});

test('naive stacks every tensor in production order', () => {
  const p = planned(chain(), 'naive');
  assert.equal(offsets(p), { a: 0, b: 1024, c: 3072, y: 3584 });
  assert.is(p.peakBytes, 3648);
  assert.is(p.peakBytes, p.naiveBytes);
  assert.equal(p.highWater, [1024, 3072, 3584, 3648]);
});

test('greedy by size on the chain: b at 0, a and c above it, y in the gap under c', () => {
  const p = planned(chain(), 'greedy-size');
  assert.equal(offsets(p), { a: 2048, b: 0, c: 2048, y: 0 });
  assert.is(p.peakBytes, 3072);
  assert.is(p.peakBytes, p.lowerBoundBytes);
  assert.equal(p.highWater, [3072, 3072, 3072, 3072]);
  assert.is(p.planner, 'greedy-size');
});

test('diamond: greedy by size and by breadth both reach the lower bound, with different layouts', () => {
  const s = planned(diamond(), 'greedy-size');
  assert.equal(offsets(s), { a: 0, b: 1024, c: 1536, d: 0 });
  const b = planned(diamond(), 'greedy-breadth');
  assert.equal(offsets(b), { a: 0, b: 1024, c: 1536, d: 0 });
  assert.is(s.peakBytes, 1792);
  assert.is(b.peakBytes, 1792);
  assert.equal(s.highWater, [1024, 1536, 1792, 1792]);
});

test('best keeps the smallest arena and names the strategy it kept', () => {
  // Greedy by size puts the big long-lived tensor first; by breadth fills the busiest step first.
  const g = build({
    inputs: [['x', f32(16)]],
    nodes: [
      ['Conv', ['x'], [['p', f32(512)]]],
      ['Conv', ['p'], [['q', f32(256)]]],
      ['Conv', ['x'], [['r', f32(1024)]]],
      ['Conv', ['q', 'r'], [['s', f32(768)]]],
      ['Conv', ['s'], [['y', f32(16)]]],
    ],
    outputs: ['y'],
  });
  const best = planned(g, 'best');
  const others = ['naive', 'greedy-size', 'greedy-breadth'].map((name) => planned(g, name).peakBytes);
  assert.is(best.peakBytes, Math.min(...others));
  assert.is(best.planner, 'best');
  assert.type(best.chosen, 'string');
  assert.ok(best.peakBytes >= best.lowerBoundBytes);
});

test('alignment: offsets are multiples of it; tensor bytes are not padded', () => {
  const g = build({
    inputs: [['x', f32(3)]],
    nodes: [['Conv', ['x'], [['a', f32(3)]]], ['Conv', ['x'], [['b', f32(3)]]], ['Add', ['a', 'b', 'x'], [['y', f32(5)]]]],
    outputs: ['y'],
  });
  const p64 = planned(g, 'greedy-size');
  assert.ok(p64.tensors.every((t) => t.offset % 64 === 0));
  assert.is(p64.lowerBoundBytes, 44);
  assert.is(p64.peakBytes, 128 + 12);
  assert.is(p64.alignment, 64);
  const p1 = planned(g, 'greedy-size', 1);
  assert.is(p1.peakBytes, 44);
  const p16 = planned(g, 'best', 16);
  assert.ok(p16.tensors.every((t) => t.offset % 16 === 0));
  assert.is(p16.peakBytes, 32 + 20);
});

test('placement primitives: naive, by size, by breadth on raw blocks', () => {
  const blocks = [{ size: 100, first: 0, last: 1 }, { size: 300, first: 1, last: 2 }, { size: 50, first: 2, last: 3 }, { size: 200, first: 3, last: 3 }];
  assert.is(alignUp(65, 64), 128);
  assert.is(alignUp(128, 64), 128);
  assert.equal(placeNaive(blocks, 1), [0, 100, 400, 450]);
  assert.equal(placeNaive(blocks, 64), [0, 128, 448, 512]);
  // By size: 300 → 0; 200 (step 3) → 0 (no overlap with it); 100 (steps 0-1) overlaps 300 → 300; 50 overlaps 300 and 200 → 300.
  assert.equal(placeBySize(blocks, 1), [300, 0, 300, 0]);
  // By breadth: step 1 (400) → 300 at 0, 100 at 300; step 2 (350) → 50 at 300; step 3 (250) → 200 overlaps 50 [300,350) → gap [0,300) → 0.
  assert.equal(placeByBreadth(blocks, 1, [100, 400, 350, 250]), [300, 0, 300, 0]);
});

test('a graph without intermediates plans to an empty arena', () => {
  const g = build({ inputs: [['x', f32(4)]], nodes: [], outputs: ['x'] });
  for (const name of plannerNames()) {
    const p = planned(g, name);
    assert.is(p.peakBytes, 0);
    assert.is(p.lowerBoundBytes, 0);
    assert.equal(p.tensors, []);
  }
});

test('plans carry weights, input bytes, order kind and timing', () => {
  const g = build({
    inputs: [['x', f32(16)]], constants: [['w', f32(32)]],
    nodes: [['Conv', ['x', 'w'], [['y', f32(16)]]]], outputs: ['y'],
  });
  const p = planMemory(g);
  assert.is(p.weightsBytes, 128);
  assert.is(p.inputBytes, 64);
  assert.is(p.planner, 'best');
  assert.is(p.orderKind, 'graph');
  assert.ok(Number.isFinite(p.ms) && p.ms >= 0, 'planning time is recorded (its speed belongs to npm run bench)');
});

test.run();
