/**
 * Helpers shared by the rewriting passes fuse-elementwise, layout and mixed-precision: reading their
 * options with defaults, op lists with `*` globs, fresh value names, provenance unions, and restoring a
 * topological node order after a rewrite moved a node, and cancelling pairs of nodes that undo each other.
 *
 * Nothing here mutates a Node, Constant or Graph.
 */
import type { Graph, Node } from '../ir/graph.ts';
import { readsOf } from '../ir/graph.ts';
import { KilnError } from '../errors.ts';
import { definedNames, renameInputs } from './graph-edit.ts';
import type { OptionValue, PassContext } from './pass.ts';

/** Reads an option of the pass, falling back to `dflt` when the caller gave none; checks its type. */
export function option<T extends OptionValue>(pass: string, ctx: PassContext, name: string, dflt: T): T {
  const v = ctx.options[name] ?? dflt;
  const ok = Array.isArray(dflt) ? Array.isArray(v) && v.every((x) => typeof x === 'string') : typeof v === typeof dflt;
  if (!ok) throw new KilnError(`option '${name}' expects ${Array.isArray(dflt) ? 'a list of strings' : typeof dflt}, got ${JSON.stringify(v)}`, { pass });
  return v as T;
}

/**
 * A matcher for an op list: an entry is an op name (`MatMul`) or a prefix glob ending in `*`
 * (`kiln.*`, `Reduce*`; quote it in pipeline text: `deny=["Reduce*"]`).
 */
export function opMatcher(list: readonly string[]): (op: string) => boolean {
  const exact = new Set(list.filter((p) => !p.endsWith('*')));
  const prefixes = list.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1));
  return (op) => exact.has(op) || prefixes.some((p) => op.startsWith(p));
}

/** The union of loc lists in the order given (first occurrence wins), without duplicates. */
export function mergeLoc(locs: readonly (readonly string[])[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const list of locs) for (const l of list) if (!seen.has(l)) { seen.add(l); out.push(l); }
  return out;
}

/** Hands out value names not yet defined in the graph: `base.suffix`, then `base.suffix.1`, ... */
export class Namer {
  private readonly taken: Set<string>;
  /** Names are unique across a graph and its regions: every one of them is taken. */
  constructor(graph: Graph) {
    this.taken = definedNames(graph);
  }
  /** A fresh name derived from `base` (`%12` + `nhwc` → `12.nhwc`), reserved on return. */
  fresh(base: string, suffix: string): string {
    let name = `${base}.${suffix}`;
    for (let k = 1; this.taken.has(name); k++) name = `${base}.${suffix}.${k}`;
    this.taken.add(name);
    return name;
  }
}

/**
 * Returns `nodes` in a topological order that stays as close to the given order as the data flow
 * allows (Kahn's algorithm, always taking the ready node that came first). Returns the very same array
 * when it is already topological. Values not produced by any node (inputs, constants) count as ready;
 * a node owning regions waits for what its regions read too (ir/graph.ts `readsOf`).
 * Throws if the nodes contain a cycle (a pass bug).
 */
export function topologicalOrder(nodes: readonly Node[]): readonly Node[] {
  const producerIndex = new Map<string, number>();
  nodes.forEach((n, i) => { for (const o of n.outputs) if (o) producerIndex.set(o, i); });
  let ordered = true;
  const seen = new Set<string>();
  const reads = nodes.map(readsOf);
  nodes.forEach((n, i) => {
    for (const v of reads[i]) if (producerIndex.has(v) && !seen.has(v)) ordered = false;
    for (const o of n.outputs) if (o) seen.add(o);
  });
  if (ordered) return nodes;
  const waiting = new Int32Array(nodes.length);
  const users: number[][] = nodes.map(() => []);
  nodes.forEach((_, i) => {
    for (const v of reads[i]) {
      const p = producerIndex.get(v);
      if (p !== undefined && p !== i) { waiting[i]++; users[p].push(i); }
    }
  });
  const heap: number[] = [];
  const push = (i: number) => {
    heap.push(i);
    for (let k = heap.length - 1; k > 0;) {
      const up = (k - 1) >> 1;
      if (heap[up] <= heap[k]) break;
      [heap[up], heap[k]] = [heap[k], heap[up]];
      k = up;
    }
  };
  const pop = (): number => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length) {
      heap[0] = last;
      for (let k = 0; ;) {
        const l = 2 * k + 1, r = l + 1;
        let m = k;
        if (l < heap.length && heap[l] < heap[m]) m = l;
        if (r < heap.length && heap[r] < heap[m]) m = r;
        if (m === k) break;
        [heap[m], heap[k]] = [heap[k], heap[m]];
        k = m;
      }
    }
    return top;
  };
  nodes.forEach((_, i) => { if (waiting[i] === 0) push(i); });
  const out: Node[] = [];
  while (heap.length) {
    const i = pop();
    out.push(nodes[i]);
    for (const u of users[i]) if (--waiting[u] === 0) push(u);
  }
  if (out.length !== nodes.length) throw new Error('the rewritten nodes contain a cycle');
  return out;
}

/**
 * Removes nodes of `op` that undo the node of the same op feeding them (`undoes(second, first)`):
 * readers of the second are redirected to the first one's input, and a first node left without
 * readers goes too. Producers of graph outputs are kept. `onRemove` is called once per removed node.
 * Used for Transpose pairs (layout) and Cast round trips (mixed-precision).
 */
export function cancelInversePairs(nodes: readonly Node[], graphOutputs: readonly string[], op: string,
  undoes: (second: Node, first: Node) => boolean, onRemove?: () => void): Node[] {
  const prod = new Map<string, Node>();
  for (const n of nodes) for (const o of n.outputs) if (o) prod.set(o, n);
  const isOutput = new Set(graphOutputs);
  const alias = new Map<string, string>();
  const kept: Node[] = [];
  for (const n of nodes) {
    const node = alias.size ? renameInputs(n, (v) => alias.get(v) ?? v) : n;
    if (node.op === op && !isOutput.has(node.outputs[0])) {
      const first = prod.get(node.inputs[0]);
      if (first && first.op === op && undoes(node, first)) {
        alias.set(node.outputs[0], first.inputs[0]);
        onRemove?.();
        continue;
      }
    }
    kept.push(node);
  }
  if (alias.size === 0) return kept;
  const used = new Set<string>(graphOutputs);
  for (const n of kept) for (const v of readsOf(n)) used.add(v);
  const wasUsed = new Set<string>();
  for (const n of nodes) for (const v of readsOf(n)) wasUsed.add(v);
  return kept.filter((n) => {
    const dead = n.op === op && !used.has(n.outputs[0]) && wasUsed.has(n.outputs[0]);
    if (dead) onRemove?.();
    return !dead;
  });
}
