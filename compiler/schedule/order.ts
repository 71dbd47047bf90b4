/**
 * Execution orders for memory planning.
 *
 * - `graph`: the nodes as written (the graph's own topological order).
 * - `memory`: a greedy list scheduler that keeps few bytes live. Buffers are counted per view group (a
 *   value and every Reshape-like view of it share one buffer, freed when the last node reading any of
 *   them has run; a group holding a graph output is never freed). A node reads its inputs and what its
 *   regions capture (facts.ts `reads`), so a value a region reads is produced before its owner runs. Among the ready nodes it runs the one
 *   whose net effect on live bytes is smallest: bytes it allocates (its non-view outputs) minus bytes it
 *   frees (groups it is the last reader of). Ties go to the node that became ready (or changed score)
 *   most recently, which walks depth-first down one branch and finishes it before opening another.
 *   Scores only change when a group drops to one remaining reader; that reader is then re-queued with
 *   its new score (stale heap entries are skipped by a version stamp), so the scheduler runs in
 *   O((nodes + edges) · log nodes).
 *
 * The memory order is a heuristic, not an optimum: callers (planners.ts) compute liveness for it and
 * for the graph order and keep whichever has the lower max breadth, so it is never worse.
 */
import type { GraphFacts } from './facts.ts';
import { viewRoot } from './facts.ts';

/** Names of the order strategies (PlanOptions.order). */
export type OrderKind = 'graph' | 'memory';

/** The graph's own order: node indices 0..n-1. */
export function graphOrder(facts: GraphFacts): number[] {
  return facts.graph.nodes.map((_, k) => k);
}

/** A min-heap of [score, -seq, node, version] entries. */
class Heap {
  private readonly items: [number, number, number, number][] = [];
  get size(): number { return this.items.length; }
  push(item: [number, number, number, number]): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }
  pop(): [number, number, number, number] {
    const a = this.items;
    const top = a[0];
    const last = a.pop()!;
    if (a.length) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && less(a[l], a[m])) m = l;
        if (r < a.length && less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

function less(x: readonly number[], y: readonly number[]): boolean {
  return x[0] !== y[0] ? x[0] < y[0] : x[1] < y[1];
}

/** The greedy low-memory order (see the module header). */
export function memoryOrder(facts: GraphFacts): number[] {
  const nodes = facts.graph.nodes;
  const n = nodes.length;
  // View groups of intermediates: group id = root value name; bytes, pinned (holds a graph output), readers.
  const groupOf = new Map<string, string>();
  const groupBytes = new Map<string, number>();
  const pinned = new Set<string>();
  for (const v of facts.producer.keys()) {
    const root = viewRoot(facts, v);
    if (facts.external.has(root)) continue;
    groupOf.set(v, root);
    if (!facts.viewSource.has(v)) groupBytes.set(root, facts.bytes.get(v) ?? 0);
    if (facts.outputs.has(v)) pinned.add(root);
  }
  const groupReaders = new Map<string, number[]>();
  const readGroups: string[][] = nodes.map(() => []);
  const indeg = new Int32Array(n);
  nodes.forEach((node, k) => {
    const groups = new Set<string>();
    const preds = new Set<number>();
    for (const i of facts.reads[k]) {
      const g = groupOf.get(i);
      if (g !== undefined) groups.add(g);
      const p = facts.producer.get(i);
      if (p !== undefined) preds.add(p);
    }
    indeg[k] = preds.size;
    for (const g of groups) {
      readGroups[k].push(g);
      let list = groupReaders.get(g);
      if (!list) groupReaders.set(g, (list = []));
      list.push(k);
    }
  });
  const remaining = new Map<string, number>();
  for (const [g, list] of groupReaders) remaining.set(g, list.length);
  const alloc = nodes.map((node) => node.outputs.reduce((s, o) => s + (o && !facts.viewSource.has(o) ? facts.bytes.get(o) ?? 0 : 0), 0));
  const score = (k: number): number => {
    let s = alloc[k];
    for (const g of readGroups[k]) if (remaining.get(g) === 1 && !pinned.has(g)) s -= groupBytes.get(g) ?? 0;
    return s;
  };
  const successors: number[][] = nodes.map(() => []);
  nodes.forEach((_, k) => {
    const preds = new Set<number>();
    for (const i of facts.reads[k]) { const p = facts.producer.get(i); if (p !== undefined) preds.add(p); }
    for (const p of preds) successors[p].push(k);
  });
  const version = new Int32Array(n);
  const done = new Uint8Array(n);
  const heap = new Heap();
  let seq = 0;
  const enqueue = (k: number) => heap.push([score(k), -(seq++), k, ++version[k]]);
  for (let k = 0; k < n; k++) if (indeg[k] === 0) enqueue(k);
  const order: number[] = [];
  while (heap.size) {
    const [, , k, ver] = heap.pop();
    if (done[k] || ver !== version[k]) continue;
    done[k] = 1;
    order.push(k);
    for (const g of readGroups[k]) {
      const left = remaining.get(g)! - 1;
      remaining.set(g, left);
      if (left !== 1) continue;
      const last = groupReaders.get(g)!.find((w) => !done[w]);
      if (last !== undefined && indeg[last] === 0) enqueue(last);
    }
    for (const w of successors[k]) if (--indeg[w] === 0) enqueue(w);
  }
  if (order.length !== n) throw new Error(`graph '${facts.graph.name}' has a cycle: ${n - order.length} nodes never became ready`);
  return order;
}

/**
 * The candidate orders for a strategy: `graph` only the graph order; `memory` the graph order and the
 * greedy order (the caller keeps the lowest max breadth, the graph order on ties).
 */
export function candidateOrders(facts: GraphFacts, kind: OrderKind): { name: OrderKind; order: number[] }[] {
  const graph = { name: 'graph' as const, order: graphOrder(facts) };
  return kind === 'graph' ? [graph] : [graph, { name: 'memory', order: memoryOrder(facts) }];
}
