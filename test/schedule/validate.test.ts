/**
 * The validator must be able to fail: valid plans are mutated one way at a time and each mutation is
 * caught by the rule it breaks — overlapping buffers (hand graphs, ResNet-50, random graphs), offsets
 * off the alignment, orders that read before writing, missing and extra tensors, fake views and fake
 * in-place results, overwriting a value that is still read or a graph output, aliases off their root's
 * offset, lying intervals, bytes, peaks and bounds — and assertValidPlan throws a KilnError naming it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Graph } from '../../compiler/ir/graph.ts';
import { KilnError } from '../../compiler/errors.ts';
import '../../compiler/ops/all.ts';
import { zooModel } from '../../compiler/zoo/index.ts';
import { assertValidPlan, planMemory, validatePlan, type MemoryPlan, type PlannedTensor } from '../../compiler/schedule/index.ts';
import { build, chain, diamond, f32, ty } from './graphs.ts';
import { randomGraph } from './random-graphs.ts';

type Mutable = { -readonly [K in keyof PlannedTensor]: PlannedTensor[K] };
/** A copy of `plan` whose tensors went through `edit` (which may change them in place). */
function mutate(plan: MemoryPlan, edit: (byName: Map<string, Mutable>, list: Mutable[]) => void, extra: Partial<MemoryPlan> = {}): MemoryPlan {
  const list = plan.tensors.map((t) => ({ ...t }) as Mutable);
  edit(new Map(list.map((t) => [t.name, t])), list);
  return { ...plan, tensors: list, ...extra };
}
/** The rules (message prefixes) the validator reports. */
const rules = (g: Graph, p: MemoryPlan) => [...new Set(validatePlan(g, p).map((e) => e.slice(0, e.indexOf(':'))))];
const graphPlan = (g: Graph, opts = {}) => {
  const p = planMemory(g, { order: 'graph', ...opts });
  assert.equal(validatePlan(g, p), []);
  return p;
};

/** Moves root `b` (and its aliases) onto root `a`'s offset. */
function stack(p: MemoryPlan, a: string, b: string): MemoryPlan {
  const off = p.tensors.find((t) => t.name === a)!.offset;
  return mutate(p, (_, list) => { for (const t of list) if (t.name === b || t.aliasOf === b) t.offset = off; });
}

/** Two roots with bytes whose (extended) lifetimes overlap, or undefined. */
function overlappingPair(p: MemoryPlan): [string, string] | undefined {
  const roots = p.tensors.filter((t) => t.aliasOf === undefined && t.bytes > 0);
  for (let i = 0; i < roots.length; i++) {
    for (let j = i + 1; j < roots.length; j++) {
      if (roots[i].first <= roots[j].last && roots[j].first <= roots[i].last) return [roots[i].name, roots[j].name];
    }
  }
  return undefined;
}

test('overlap: two buffers live at the same step at the same offset are caught; disjoint lifetimes may share', () => {
  const g = chain(), p = graphPlan(g, { planner: 'greedy-size' });
  assert.ok(rules(g, stack(p, 'a', 'b')).includes('overlap'));
  // c and a never live together: sharing their bytes is fine (greedy-size already does it).
  const offs = Object.fromEntries(p.tensors.map((t) => [t.name, t.offset]));
  assert.is(offs.a, offs.c);
  const dg = diamond(), d = graphPlan(dg);
  assert.ok(rules(dg, stack(d, 'a', 'c')).includes('overlap'));
  // Partial overlap: b shifted down by 64 bytes into a.
  const e = mutate(d, (m) => { m.get('b')!.offset = m.get('a')!.offset + 1024 - 64; });
  assert.ok(rules(dg, e).includes('overlap'));
});

test('overlap is caught on ResNet-50 and on 100 random graphs', () => {
  const cases: Graph[] = [zooModel('resnet50'), ...Array.from({ length: 100 }, (_, i) => randomGraph(1000 + i))];
  let mutated = 0;
  for (const g of cases) {
    const p = planMemory(g, { dims: { N: 3 } }); // random graphs have some symbolic dims N
    assert.equal(validatePlan(g, p), []);
    const pair = overlappingPair(p);
    if (!pair) continue;
    mutated++;
    assert.ok(rules(g, stack(p, pair[0], pair[1])).includes('overlap'), `${g.name}: ${pair.join(' onto ')}`);
  }
  assert.ok(mutated >= 80, `only ${mutated} graphs had overlapping buffers`);
});

test('alignment, peak, breadth, lower bound, high water and naive bytes must be what the buffers give', () => {
  const g = chain(), p = graphPlan(g);
  assert.equal(rules(g, mutate(p, (m) => { m.get('y')!.offset = 32; })), ['alignment']);
  assert.equal(rules(g, mutate(p, (m) => { m.get('y')!.offset = -64; })).includes('alignment'), true);
  // a plan alignment the offsets do not respect, which each buffer's required alignment falls short of too
  assert.equal(rules(g, { ...p, alignment: 4096 }), ['externals', 'layout', 'alignment']);
  assert.equal(rules(g, { ...p, peakBytes: p.peakBytes - 1 }), ['peak']);
  assert.equal(rules(g, { ...p, lowerBoundBytes: 100 }), ['peak']);
  assert.equal(rules(g, { ...p, breadth: [0, 0, 0, 0] }), ['peak']);
  assert.equal(rules(g, { ...p, highWater: [1, 2, 3, 4] }), ['peak']);
  assert.equal(rules(g, { ...p, naiveBytes: 1 }), ['peak']);
});

test('order: a permutation in which every value is produced before it is read', () => {
  const g = chain(), p = graphPlan(g);
  assert.equal(rules(g, { ...p, order: ['b', 'a', 'c', 'y'] }), ['order']);
  assert.equal(rules(g, { ...p, order: ['a', 'b', 'c'] }), ['order']);
  assert.equal(rules(g, { ...p, order: ['a', 'b', 'b', 'y'] }), ['order']);
  assert.equal(rules(g, { ...p, order: ['a', 'b', 'c', 'zz'] }), ['order']);
});

test('tensors: every intermediate once, nothing else; bytes: roots their type, aliases none', () => {
  const g = chain(), p = graphPlan(g);
  assert.equal(rules(g, mutate(p, () => {}, { tensors: p.tensors.slice(1) })), ['tensors']);
  assert.equal(rules(g, { ...p, tensors: [...p.tensors, p.tensors[0]] }), ['tensors']);
  assert.equal(rules(g, { ...p, tensors: [...p.tensors, { ...p.tensors[0], name: 'x' }] }), ['tensors']);
  assert.ok(rules(g, mutate(p, (m) => { m.get('b')!.bytes = 1024; })).includes('bytes'));
  assert.ok(rules(g, mutate(p, (m) => { m.get('a')!.producer = 'b'; })).includes('tensors'));
});

test('interval: a plan that shortens a lifetime is caught even when its offsets are consistent with the lie', () => {
  const g = chain(), p = graphPlan(g, { planner: 'naive' });
  // Claim a dies at step 0 and give b a's bytes: a is still read at step 1, so the buffers really overlap.
  const lie = mutate(p, (m) => { m.get('a')!.last = 0; m.get('b')!.offset = 0; m.get('c')!.offset = 2048; m.get('y')!.offset = 2560; });
  assert.equal(rules(g, lie).includes('interval'), true);
  assert.equal(rules(g, lie).includes('overlap'), true);
});

const inplaceGraph = () => build({
  inputs: [['x', f32(256)]],
  nodes: [
    ['Conv', ['x'], [['a', f32(256)]]],
    ['Relu', ['a'], [['r', f32(256)]]],
    ['Add', ['r', 'a'], [['c', f32(256)]]],
    ['Conv', ['c'], [['y', f32(16)]]],
  ],
  outputs: ['y', 'r'],
});

test('overwrite: an in-place result over a value still read later, or over a graph output, is caught', () => {
  const g = inplaceGraph(), p = graphPlan(g);
  // The planner wrote c over a (dying at c), not over r (a graph output), and r not over a (read by c).
  assert.equal(p.tensors.filter((t) => t.aliasOf !== undefined).map((t) => [t.name, t.aliasOf, t.aliasKind]), [['c', 'a', 'inplace']]);
  const overA = mutate(p, (m) => Object.assign(m.get('r')!, { aliasOf: 'a', aliasKind: 'inplace', bytes: 0, offset: m.get('a')!.offset }));
  assert.ok(rules(g, overA).includes('overwrite'));
  const overR = mutate(p, (m) => Object.assign(m.get('c')!, { aliasOf: 'r', aliasKind: 'inplace', bytes: 0, offset: m.get('r')!.offset }));
  assert.ok(validatePlan(g, overR).some((e) => /graph output 'r' is overwritten/.test(e)));
});

test('alias: fake views and fake in-place results, aliases of aliases, two outputs over one buffer, wrong offsets', () => {
  const g = chain(), p = graphPlan(g);
  const fakeView = mutate(p, (m) => Object.assign(m.get('b')!, { aliasOf: 'a', aliasKind: 'view', bytes: 0, offset: 0 }));
  assert.ok(rules(g, fakeView).includes('alias'));
  const fakeInplace = mutate(p, (m) => Object.assign(m.get('b')!, { aliasOf: 'a', aliasKind: 'inplace', bytes: 0 }));
  assert.ok(validatePlan(g, fakeInplace).some((e) => /alias: 'b' \(Conv 'b'\) is not an elementwise result/.test(e)));
  const half = mutate(p, (m) => { m.get('b')!.aliasKind = 'view'; });
  assert.ok(rules(g, half).includes('alias'));

  const v = build({
    inputs: [['x', f32(16)]], constants: [['s', ty('i64', 1)]],
    nodes: [
      ['Conv', ['x'], [['a', f32(16, 16)]]],
      ['Reshape', ['a', 's'], [['r', f32(256)]]],
      ['Flatten', ['r'], [['q', f32(1, 256)]]],
      ['Conv', ['q'], [['b', f32(256)]]],
      ['Sigmoid', ['b'], [['y', f32(256)]]],
    ],
    outputs: ['y'],
  });
  const pv = graphPlan(v);
  assert.equal(pv.tensors.find((t) => t.name === 'q')!.aliasOf, 'a');
  assert.equal(pv.tensors.find((t) => t.name === 'y')!.aliasKind, 'inplace');
  assert.ok(rules(v, mutate(pv, (m) => { m.get('q')!.aliasOf = 'r'; })).includes('alias'), 'alias of an alias');
  assert.ok(rules(v, mutate(pv, (m) => { m.get('q')!.offset += 64; })).includes('alias'), 'view off its root');
  assert.ok(rules(v, mutate(pv, (m) => { m.get('r')!.aliasOf = 'b'; })).includes('alias'), 'view of the wrong buffer');
  assert.ok(rules(v, mutate(pv, (m) => { m.get('y')!.aliasOf = 'a'; })).includes('alias'), 'in place over a buffer it does not read');

  const two = build({
    inputs: [['x', f32(16)]],
    nodes: [
      ['Conv', ['x'], [['p', f32(256)]]],
      ['kiln.fused', ['p'], [['u', f32(256)], ['w', f32(256)]], {
        body: { kind: 'strings', value: ['t0 = Neg(in0)', 't1 = Relu(t0)'] }, results: { kind: 'strings', value: ['t0', 't1'] },
      }],
      ['Concat', ['u', 'w'], [['y', f32(512)]]],
    ],
    outputs: ['y'],
  });
  const pt = graphPlan(two);
  assert.equal(pt.tensors.filter((t) => t.aliasKind === 'inplace').map((t) => t.name), ['u']);
  const both = mutate(pt, (m) => Object.assign(m.get('w')!, { aliasOf: 'p', aliasKind: 'inplace', bytes: 0, offset: m.get('p')!.offset }));
  assert.ok(validatePlan(two, both).some((e) => /writes two outputs over 'p'/.test(e)));
});

test('assertValidPlan passes valid plans and throws a KilnError naming the rule', () => {
  const g = diamond(), p = graphPlan(g);
  assertValidPlan(g, p);
  try {
    assertValidPlan(g, stack(p, 'a', 'b'));
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, KilnError);
    assert.is((e as KilnError).place.rule, 'memory-plan/overlap');
    assert.match((e as Error).message, /memory plan 'best' of graph 'hand' is invalid: 'a' \[0, 1024\) live \[0, 2\] and 'b'/);
  }
});

test.run();
