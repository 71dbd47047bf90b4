/**
 * Types of the memory plan: execution order, live intervals of every intermediate tensor, arena
 * offsets chosen by a planner, and the bounds a plan is judged against.
 *
 * Conventions: steps are positions in `order` (0-based). A tensor is live from the step that
 * produces it (`first`) to the last step that reads it (`last`, inclusive); graph outputs stay live to
 * the end. Graph inputs and constants (weights) live outside the arena and are reported separately.
 * A view (Reshape, Flatten, Squeeze, Unsqueeze) and an in-place elementwise output share their
 * source's buffer: they get `aliasOf` and no bytes of their own, and extend the source's interval.
 */
import type { Graph } from '../ir/graph.ts';

/** One tensor the plan places. */
export interface PlannedTensor {
  /** Value name (SSA name in the graph). */
  readonly name: string;
  /** Bytes it needs (0 for a view or in-place alias). */
  readonly bytes: number;
  /** Step that produces it. */
  readonly first: number;
  /** Last step that reads it (inclusive); the last step for graph outputs. */
  readonly last: number;
  /** Id of the producing node. */
  readonly producer: string;
  /** Ids of the nodes that read it. */
  readonly consumers: readonly string[];
  /** For a view or in-place result: the tensor whose buffer it uses (transitively resolved to a root). */
  readonly aliasOf?: string;
  /** 'view' (Reshape-like, no copy), 'inplace' (elementwise op writing over its input), or undefined. */
  readonly aliasKind?: 'view' | 'inplace';
  /** Arena byte offset (for an alias: its root's offset). */
  readonly offset: number;
}

/** A complete memory plan for one graph. */
export interface MemoryPlan {
  /** Planner that made it (`naive`, `greedy-size`, `greedy-breadth`, `best`...). */
  readonly planner: string;
  /** Node ids in execution order. */
  readonly order: readonly string[];
  readonly tensors: readonly PlannedTensor[];
  /** Arena size: max over tensors of offset + bytes. */
  readonly peakBytes: number;
  /** For this order: max over steps of the bytes live at that step (max breadth). */
  readonly lowerBoundBytes: number;
  /** No reuse: sum of all tensor bytes. */
  readonly naiveBytes: number;
  /** Bytes of constants (weights), outside the arena. */
  readonly weightsBytes: number;
  /** Bytes of graph inputs, outside the arena. */
  readonly inputBytes: number;
  /** Live bytes at each step (breadth), parallel to `order`. */
  readonly breadth: readonly number[];
  /** Arena high-water mark after each step, parallel to `order`. */
  readonly highWater: readonly number[];
  /** Milliseconds the planner took. */
  readonly ms: number;
  /** For `best`: the strategy whose placement was kept (`greedy-size`, `greedy-breadth`, ...). */
  readonly chosen?: string;
  /** The order actually used: `memory` (the low-memory schedule won) or `graph` (as written). */
  readonly orderKind?: 'memory' | 'graph';
  /** Alignment the offsets respect (bytes). */
  readonly alignment?: number;
  /** Symbolic dim values the sizes were computed with (every symbol of the graph has one). */
  readonly dims?: Readonly<Record<string, number>>;
}

/** A planner: assigns offsets for a given order and set of intervals. */
export interface Planner {
  readonly name: string;
  readonly summary: string;
  plan(graph: Graph, opts?: PlanOptions): MemoryPlan;
}

/** Options of planning. */
export interface PlanOptions {
  /** Execution order strategy: 'memory' (default: an order chosen to keep the peak low) or 'graph' (as written). */
  order?: 'memory' | 'graph';
  /** Allow in-place reuse for elementwise ops (default true). */
  inplace?: boolean;
  /** Arena alignment in bytes (default 64). */
  alignment?: number;
  /** Sizes of symbolic dims; planning a graph with a symbol that has none is a KilnError. */
  dims?: Readonly<Record<string, number>>;
}
