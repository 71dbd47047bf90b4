/**
 * GraphIndex: the lookup tables the conv/gemm passes (fold-conv-bn, fuse-conv-act) need, built once
 * per run in one walk over the graph so that every query is O(1): producer and position of each
 * value, its consumer nodes (a node owning regions reads what they read from outside), whether it
 * is a graph output, constants by name, and fresh value names (unique across regions too).
 */
import type { Constant, Graph, Node } from '../ir/graph.ts';
import { consumers, nodeId } from '../ir/graph.ts';
import { definedNames } from './graph-edit.ts';
import type { Tensor } from '../ir/tensor.ts';

/** Lookups over one (unchanging) graph. */
export class GraphIndex {
  private readonly producers = new Map<string, Node>();
  private readonly positions = new Map<Node, number>();
  private readonly users: Map<string, Node[]>;
  private readonly outputs: ReadonlySet<string>;
  private readonly constants = new Map<string, Constant>();
  /** Every name of the graph and its regions (names are unique across them). */
  private readonly taken: Set<string>;

  constructor(readonly graph: Graph) {
    graph.nodes.forEach((n, i) => {
      this.positions.set(n, i);
      for (const o of n.outputs) if (o) this.producers.set(o, n);
    });
    for (const c of graph.constants) this.constants.set(c.name, c);
    this.taken = definedNames(graph);
    this.users = consumers(graph);
    this.outputs = new Set(graph.outputs);
  }

  /** The node id (first output name). */
  id(node: Node): string {
    return nodeId(node);
  }

  /** The node producing `value`, or undefined for graph inputs, constants and ''. */
  producer(value: string): Node | undefined {
    return this.producers.get(value);
  }

  /** The node's index in graph order. */
  position(node: Node): number {
    return this.positions.get(node) ?? -1;
  }

  /** Index of the node defining `value`; -1 for graph inputs and constants (defined before every node). */
  definedAt(value: string): number {
    const p = this.producers.get(value);
    return p ? this.position(p) : -1;
  }

  /** The distinct nodes reading `value`, in graph order. */
  consumers(value: string): readonly Node[] {
    return this.users.get(value) ?? [];
  }

  /** True if `value` is one of the graph's outputs. */
  isOutput(value: string): boolean {
    return this.outputs.has(value);
  }

  /** Distinct reader nodes of `value`, plus one if it is a graph output. */
  useCount(value: string): number {
    return this.consumers(value).length + (this.isOutput(value) ? 1 : 0);
  }

  /** The constant named `value`, or undefined. */
  constant(value: string): Constant | undefined {
    return value ? this.constants.get(value) : undefined;
  }

  /** The data of constant `value`, or undefined when it is not a constant or has no data. */
  constantData(value: string): Tensor | undefined {
    return this.constant(value)?.data;
  }

  /** A value name not yet defined in the graph (nor handed out): `base.suffix`, `base.suffix.1`, ... */
  freshName(base: string, suffix: string): string {
    let name = `${base}.${suffix}`;
    for (let k = 1; this.taken.has(name); k++) name = `${base}.${suffix}.${k}`;
    this.taken.add(name);
    return name;
  }
}
