/**
 * Liveness for one execution order: the live interval of every intermediate tensor, which tensors are
 * views or in-place results sharing another's buffer, and the bytes live at each step.
 *
 * Steps are positions in the order. An intermediate (a node output) is live from the step producing it
 * to the last step reading it, inclusive; a graph output to the last step; an output nobody reads only
 * at its own step. Graph inputs and constants live outside the arena.
 *
 * Walking the order once, each node output becomes one of:
 * - a **view** (Reshape, Flatten, Squeeze, Unsqueeze, Identity with unchanged bytes): it joins its
 *   source's buffer (the source's root, transitively) with no bytes of its own; a view of a graph input
 *   or constant needs no arena bytes at all;
 * - an **in-place** result of an elementwise op (op-kinds.ts) written over an input with the same layout
 *   whose buffer dies at this step: every value sharing that buffer is last read here and none is a graph
 *   output (so no later read, and no live view, sees the overwrite). Each input buffer is taken by at
 *   most one output of the node;
 * - otherwise a **root** with a buffer of its own type's bytes.
 * A root's interval is then extended over all the values sharing its buffer. The breadth of a step is
 * the sum of the bytes of the roots live there; its maximum is the lower bound of any placement for
 * this order.
 */
import { type GraphFacts, viewRoot } from './facts.ts';
import { inplaceCandidates, isElementwiseNode } from './op-kinds.ts';

/** One intermediate and its interval. Roots carry the extended interval of their whole buffer. */
export interface LiveTensor {
  readonly name: string;
  /** Bytes of its own buffer (0 for an alias). */
  readonly bytes: number;
  first: number;
  last: number;
  readonly producer: string;
  readonly consumers: readonly string[];
  readonly aliasOf?: string;
  readonly aliasKind?: 'view' | 'inplace';
}

/** A buffer to place: a root with bytes, by its index in `tensors`, or a kernel's scratch. */
export interface LiveBuffer {
  /** Index in `tensors`; -1 for scratch. */
  readonly tensor: number;
  readonly size: number;
  readonly first: number;
  readonly last: number;
  /** Alignment the buffer needs (set by the planner, contract.ts); the placement's when absent. */
  readonly align?: number;
  /** For scratch: the index of the node (in graph.nodes) that uses it. */
  readonly scratchOf?: number;
}

/** Liveness of one order. */
export interface Liveness {
  /** Node indices in execution order. */
  readonly order: readonly number[];
  /** Every intermediate, in production order. */
  readonly tensors: readonly LiveTensor[];
  /** Roots with bytes > 0, in production order. */
  readonly buffers: readonly LiveBuffer[];
  /** Bytes live at each step. */
  readonly breadth: readonly number[];
  /** Max breadth. */
  readonly lowerBound: number;
  /** Sum of the bytes of every intermediate that is not a view (what no reuse at all needs). */
  readonly naiveBytes: number;
}

/** Computes liveness of `order` (node indices); `inplace` allows in-place results (default true). */
export function computeLiveness(facts: GraphFacts, order: readonly number[], inplace = true): Liveness {
  const { graph, ids } = facts;
  const n = order.length;
  const stepOf = new Int32Array(graph.nodes.length).fill(-1);
  order.forEach((k, s) => { stepOf[k] = s; });
  const ownLast = (name: string, first: number): number => {
    if (facts.outputs.has(name)) return n - 1;
    let last = first;
    for (const r of facts.readers.get(name) ?? []) last = Math.max(last, stepOf[r]);
    return last;
  };
  const tensors: LiveTensor[] = [];
  // Per root tensor index: the group's last read so far and whether it holds a graph output.
  const groupLast = new Map<number, number>();
  const groupPinned = new Set<number>();
  const rootOf = new Map<string, number>();
  let naiveBytes = 0;
  for (let s = 0; s < n; s++) {
    const k = order[s];
    const node = graph.nodes[k];
    const elementwise = inplace && isElementwiseNode(node, facts.dims);
    const taken = new Set<number>();
    node.outputs.forEach((name, j) => {
      if (!name) return;
      const bytes = facts.bytes.get(name) ?? 0;
      const last = ownLast(name, s);
      const consumers = (facts.readers.get(name) ?? []).map((r) => ids[r]);
      const make = (own: number, aliasOf?: string, aliasKind?: 'view' | 'inplace'): LiveTensor =>
        aliasOf === undefined ? { name, bytes: own, first: s, last, producer: ids[k], consumers }
          : { name, bytes: own, first: s, last, producer: ids[k], consumers, aliasOf, aliasKind };
      const src = facts.viewSource.get(name);
      let t: LiveTensor;
      let root: number | undefined;
      if (src !== undefined) {
        root = rootOf.get(src);
        t = make(0, root !== undefined ? tensors[root].name : viewRoot(facts, src), 'view');
      } else {
        naiveBytes += bytes;
        if (elementwise && bytes > 0) {
          for (const i of inplaceCandidates(node, j, facts.types, facts.dims)) {
            const r = rootOf.get(node.inputs[i]);
            if (r === undefined || taken.has(r) || groupPinned.has(r) || groupLast.get(r) !== s) continue;
            if (tensors[r].bytes !== bytes) continue;
            root = r;
            break;
          }
        }
        t = root !== undefined ? make(0, tensors[root].name, 'inplace') : make(bytes);
      }
      const me = tensors.length;
      tensors.push(t);
      if (root !== undefined) {
        taken.add(root);
        rootOf.set(name, root);
        groupLast.set(root, Math.max(groupLast.get(root)!, last));
        if (facts.outputs.has(name)) groupPinned.add(root);
      } else if (t.aliasOf === undefined) {
        rootOf.set(name, me);
        groupLast.set(me, last);
        if (facts.outputs.has(name)) groupPinned.add(me);
      }
    });
  }
  const buffers: LiveBuffer[] = [];
  const diff = new Float64Array(n + 1);
  tensors.forEach((t, i) => {
    if (t.aliasOf !== undefined) return;
    t.last = groupLast.get(i)!;
    if (t.bytes === 0) return;
    buffers.push({ tensor: i, size: t.bytes, first: t.first, last: t.last });
    diff[t.first] += t.bytes;
    diff[t.last + 1] -= t.bytes;
  });
  const breadth: number[] = [];
  let live = 0, lowerBound = 0;
  for (let s = 0; s < n; s++) {
    live += diff[s];
    breadth.push(live);
    lowerBound = Math.max(lowerBound, live);
  }
  return { order, tensors, buffers, breadth, lowerBound, naiveBytes };
}
