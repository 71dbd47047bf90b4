/**
 * Facts about a graph's values that ordering (order.ts) and liveness (liveness.ts) share: types, which
 * values are external (graph inputs and constants, outside the arena), which node produces and which
 * nodes read each value, the graph outputs, each intermediate's own bytes, and which values are views.
 *
 * Built once per planning call in one pass over the nodes. Nodes are referred to by their index in
 * `graph.nodes`; an execution order is a permutation of those indices.
 */
import type { Graph, Node, TensorType } from '../ir/graph.ts';
import { capturedValues, nodeId, regionsOf } from '../ir/graph.ts';
import { isViewNode, typeBytes } from './op-kinds.ts';
import { requireStaticShapes, runTimeSized } from '../ops/bind-shapes.ts';
import { KilnError } from '../errors.ts';

/** Shared facts about the values of one graph. */
export interface GraphFacts {
  readonly graph: Graph;
  readonly dims: Readonly<Record<string, number>>;
  readonly types: ReadonlyMap<string, TensorType>;
  /** Graph inputs and constants, and (for a region body) the values it reads from enclosing scopes. */
  readonly external: ReadonlySet<string>;
  /** Value name → index of the node producing it (intermediates only). */
  readonly producer: ReadonlyMap<string, number>;
  /**
   * Value name → indices of the distinct nodes reading it, in graph order. A node reads its inputs and
   * the values its regions read from the enclosing scopes (ir/graph.ts `capturedValues`): those stay
   * live until the node that owns the region has run.
   */
  readonly readers: ReadonlyMap<string, readonly number[]>;
  /** Per node (parallel to graph.nodes): the distinct values it reads, inputs and captured values. */
  readonly reads: readonly (readonly string[])[];
  /** Values the graph returns. */
  readonly outputs: ReadonlySet<string>;
  /** Bytes of each intermediate's own type (0 for a sequence or optional: held by the host). */
  readonly bytes: ReadonlyMap<string, number>;
  /** View output → its source (input 0), for nodes that are views (op-kinds.ts `isViewNode`). */
  readonly viewSource: ReadonlyMap<string, string>;
  /** Node ids, parallel to graph.nodes. */
  readonly ids: readonly string[];
}

/** The distinct values `node` reads: its inputs, then what its regions read from enclosing scopes. */
export function nodeReads(node: Node): string[] {
  const names = new Set(node.inputs.filter(Boolean));
  for (const [, region] of regionsOf(node)) for (const v of capturedValues(region)) names.add(v);
  return [...names];
}

/**
 * Collects the facts of `graph` with symbolic dims resolved from `dims`. Every graph input size must be
 * known: a symbolic input dim that `dims` does not give is a KilnError naming it and how to bind it. An
 * intermediate with a dim that neither `dims` nor the inputs give is sized only at run time: the plan
 * holds it on the host (op-kinds.ts `isHostHeld`, 0 bytes). A region body (`outer` given) with such a
 * value is a KilnError instead: the body has no static plan (bodies.ts records it `unplanned`). For a region
 * body, `outer` holds the types of the enclosing scopes' values (what it captures lives outside its
 * plan, as inputs and constants do); a symbol without a size is then a KilnError from `resolveDim`.
 */
export function graphFacts(graph: Graph, dims: Readonly<Record<string, number>> = {},
  outer?: ReadonlyMap<string, TensorType>): GraphFacts {
  if (!outer) requireStaticShapes(graph, 'the memory plan', { dims, values: 'host' });
  else {
    // a region body with a value sized only at run time has no static plan (bodies.ts: `unplanned`)
    const [first] = runTimeSized(graph, dims);
    if (first) throw new KilnError(`the memory plan needs a size for symbolic dim '${first[1]}' (value '${first[0]}' is sized only at run time)`);
  }
  const types = new Map<string, TensorType>();
  const external = new Set<string>();
  for (const i of graph.inputs) { types.set(i.name, i.type); external.add(i.name); }
  for (const c of graph.constants) { types.set(c.name, c.type); external.add(c.name); }
  const producer = new Map<string, number>();
  const bytes = new Map<string, number>();
  graph.nodes.forEach((n, k) => n.outputs.forEach((o, j) => {
    if (!o) return;
    types.set(o, n.types[j]);
    producer.set(o, k);
    bytes.set(o, typeBytes(n.types[j], dims));
  }));
  const reads = graph.nodes.map(nodeReads);
  for (const names of reads) {
    for (const v of names) {
      if (types.has(v)) continue;
      const t = outer?.get(v);
      if (t) { types.set(v, t); external.add(v); }
    }
  }
  const readers = new Map<string, number[]>();
  const viewSource = new Map<string, string>();
  graph.nodes.forEach((n, k) => {
    for (const i of reads[k]) {
      let list = readers.get(i);
      if (!list) readers.set(i, (list = []));
      list.push(k);
    }
    // a view of a captured value would alias another plan's buffer: it gets its own
    if (isViewNode(n, types, dims) && (producer.has(n.inputs[0]) || !outer?.has(n.inputs[0]))) viewSource.set(n.outputs[0], n.inputs[0]);
  });
  return {
    graph, dims, types, external, producer, readers, reads, outputs: new Set(graph.outputs), bytes, viewSource,
    ids: graph.nodes.map(nodeId),
  };
}

/**
 * The buffer a value lives in when views are followed back: the first value up the view chain that is
 * not a view of an intermediate (an intermediate root, or an external value a view reads).
 */
export function viewRoot(facts: GraphFacts, name: string): string {
  let v = name;
  for (let src = facts.viewSource.get(v); src !== undefined; src = facts.viewSource.get(v)) v = src;
  return v;
}
