/**
 * Execution orders: the greedy low-memory order finishes one branch before opening the next (a fan
 * written breadth-first drops from 4·4096 + 64 to 4096 + 4·64 live bytes), is a topological order,
 * is never chosen when it is worse than the graph's own order, handles views and multi-output nodes,
 * and scales to tens of thousands of nodes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Graph, Node } from '../../compiler/ir/graph.ts';
import { planMemory, validatePlan } from '../../compiler/schedule/index.ts';
import { graphFacts } from '../../compiler/schedule/facts.ts';
import { candidateOrders, graphOrder, memoryOrder } from '../../compiler/schedule/order.ts';
import { build, chain, f32, fan, ty } from './graphs.ts';

/** True when `order` (node indices) runs every node after the producers of its inputs. */
function topological(g: Graph, order: readonly number[]): boolean {
  const done = new Set<string>([...g.inputs.map((i) => i.name), ...g.constants.map((c) => c.name)]);
  if (new Set(order).size !== g.nodes.length || order.length !== g.nodes.length) return false;
  for (const k of order) {
    if (!g.nodes[k].inputs.every((i) => !i || done.has(i))) return false;
    g.nodes[k].outputs.forEach((o) => done.add(o));
  }
  return true;
}

test('fan: the memory order pairs each expansion with its reduction', () => {
  const g = fan(4);
  const p = planMemory(g);
  assert.equal(validatePlan(g, p), []);
  assert.is(p.orderKind, 'memory');
  assert.equal(p.order, ['a3', 'b3', 'a2', 'b2', 'a1', 'b1', 'a0', 'b0', 'y']);
  assert.is(p.lowerBoundBytes, 4096 + 4 * 64);
  assert.is(p.peakBytes, p.lowerBoundBytes);
  const written = planMemory(g, { order: 'graph' });
  assert.is(written.orderKind, 'graph');
  assert.equal(written.order, ['a0', 'a1', 'a2', 'a3', 'b0', 'b1', 'b2', 'b3', 'y']);
  assert.is(written.lowerBoundBytes, 4 * 4096 + 64);
});

test('memory order is never worse than the graph order: on ties the graph order is kept', () => {
  const p = planMemory(chain());
  assert.is(p.orderKind, 'graph');
  assert.equal(p.order, ['a', 'b', 'c', 'y']);
  const facts = graphFacts(chain());
  assert.equal(candidateOrders(facts, 'graph').map((c) => c.name), ['graph']);
  assert.equal(candidateOrders(facts, 'memory').map((c) => c.name), ['graph', 'memory']);
});

test('memory order prefers freeing nodes and counts a view group as one buffer', () => {
  // Two branches from x: a (4096 B, read through its view r) and e (2048 B). The scheduler starts the
  // cheaper branch, finishes it (d frees e), then opens a; the view r allocates nothing and c frees the
  // a/r group. As written, a and e are live together (6208 B).
  const g = build({
    inputs: [['x', f32(16)]], constants: [['s', ty('i64', 1)]],
    nodes: [
      ['Conv', ['x'], [['a', f32(1024)]]],
      ['Conv', ['x'], [['e', f32(512)]]],
      ['Reshape', ['a', 's'], [['r', f32(1024)]]],
      ['Conv', ['r'], [['c', f32(16)]]],
      ['Conv', ['e'], [['d', f32(16)]]],
      ['Concat', ['c', 'd'], [['y', f32(32)]]],
    ],
    outputs: ['y'],
  });
  const facts = graphFacts(g);
  const order = memoryOrder(facts).map((k) => facts.ids[k]);
  assert.equal(order, ['e', 'd', 'a', 'r', 'c', 'y']);
  const p = planMemory(g);
  assert.equal(validatePlan(g, p), []);
  assert.is(p.orderKind, 'memory');
  assert.is(p.lowerBoundBytes, 4096 + 64 + 64);
});

test('multi-output nodes, dead outputs and graph outputs read by later nodes', () => {
  const g = build({
    inputs: [['x', f32(16)]],
    nodes: [
      ['Split', ['x'], [['a', f32(64)], ['b', f32(64)]]],
      ['Conv', ['a'], [['c', f32(16)]]],
      ['Conv', ['b', 'c'], [['d', f32(16)]]],
      ['Relu', ['c'], [['e', f32(16)]]],
    ],
    outputs: ['c', 'd', 'e'],
  });
  const facts = graphFacts(g);
  const order = memoryOrder(facts);
  assert.ok(topological(g, order));
  const p = planMemory(g);
  assert.equal(validatePlan(g, p), []);
  assert.ok(p.tensors.every((t) => t.name !== 'e' || t.aliasOf === undefined), 'e may not overwrite the output c');
});

/** A layered random DAG with n nodes (each reading 1-3 earlier values), built fast for scaling tests. */
function bigGraph(n: number): Graph {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const nodes: Node[] = [];
  for (let k = 0; k < n; k++) {
    const inputs = ['x'];
    for (let j = 0; j < 1 + Math.floor(rand() * 3) && k > 0; j++) inputs.push(`v${Math.max(0, k - 1 - Math.floor(rand() * 8))}`);
    nodes.push({ op: 'Conv', inputs, outputs: [`v${k}`], types: [f32(16 * (1 + Math.floor(rand() * 64)))], attrs: {}, loc: [] });
  }
  return { name: 'big', inputs: [{ name: 'x', type: f32(16) }], outputs: [`v${n - 1}`], constants: [], nodes };
}

test('memory order handles 40 000 nodes and stays topological', () => {
  const g = bigGraph(40000);
  const facts = graphFacts(g);
  const order = memoryOrder(facts); // an O(n^2) scheduler would take minutes here; its time is a bench matter
  assert.ok(topological(g, order));
  assert.equal(graphOrder(facts).slice(0, 3), [0, 1, 2]);
});

test.run();
