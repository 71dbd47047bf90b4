/**
 * Types of the memory plan: execution order, live intervals of every intermediate tensor, arena
 * offsets chosen by a planner, and the bounds a plan is judged against.
 *
 * Conventions: steps are positions in `order` (0-based). A tensor is live from the step that
 * produces it (`first`) to the last step that reads it (`last`, inclusive); graph outputs stay live to
 * the end. A view (Reshape, Flatten, Squeeze, Unsqueeze, Identity) and an in-place elementwise output
 * share their source's buffer: they get `aliasOf` and no bytes of their own, and extend the source's
 * interval.
 *
 * The plan is a contract a runtime executes without re-deriving anything (the arena executor,
 * runtime/arena.ts, proves it). Every size is concrete: symbolic dims are bound before planning
 * (`dims`, checked by requireStaticShapes), never guessed. Memory is three regions, each with offsets
 * from its own start:
 *   - `constant`: the graph's constants (weights), stacked in graph order; read-only while running, so a
 *     runtime may keep it apart (mapped weights, a read-only GPU buffer) and fill it once at prepare time;
 *   - `input`: the graph inputs, stacked in graph order; the caller's tensors are **copied in** before
 *     each run (one buffer to hand a device; the caller's arrays are never written). Kernels read
 *     them in place there; nothing is written over an input (in-place over inputs is never planned);
 *   - `arena`: every intermediate, at the planner's offsets, plus per-kernel scratch. Graph outputs
 *     are **written into the arena** by their kernels (they live to the end, so nothing reuses their
 *     bytes) and **copied out** after the last step. An output that is a view of an input or constant
 *     lives in that region and is copied out from there.
 * Per buffer the plan gives dtype, concrete shape, element count, bytes and the required alignment
 * (the plan's alignment, at least the element's natural size so a typed view is legal); every offset is
 * a multiple of it. A view or in-place result names the value whose buffer it shares (`aliasOf`, a
 * root) and carries the root's region and offset. Scratch (im2col, packed panels, Winograd transforms)
 * is declared per node by `PlanOptions.scratchBytes` and placed like a buffer live during its node's
 * step only, so it never overlaps a value live then; its contents are undefined on entry.
 *
 * Control flow (a node owning regions: If, Loop, Scan): what a region reads from the enclosing graph
 * is live until the owning node's step; each region body is planned on its own (recursively,
 * `PlannedBody`) and the owning node's scratch holds the largest of its bodies (`bodyBytes`). A
 * sequence or optional has no static size: the plan puts it in region `host` with no bytes (the
 * runtime holds it as a value), and a body whose sizes are known only at run time is left unplanned,
 * with the reason.
 */
import type { Graph, Node, TensorType } from '../ir/graph.ts';
import type { DType } from '../ir/dtype.ts';

/**
 * Where a buffer lives (offsets are from the start of that region); `host`: a sequence or optional,
 * which has no static size, is held by the runtime as a run-time value (no bytes, offset 0).
 */
export type PlanRegion = 'arena' | 'input' | 'constant' | 'host';

/** A value's concrete storage facts, shared by intermediates and external values. */
export interface PlannedLayout {
  readonly dtype: DType;
  /** Concrete shape (symbolic dims bound). */
  readonly shape: readonly number[];
  /** Number of elements (product of shape). */
  readonly elements: number;
  /** Required alignment of the buffer in bytes: max(plan alignment, the element's natural size). */
  readonly alignment: number;
  /** Region the value's bytes live in (for an alias: its root's region). */
  readonly region: PlanRegion;
}

/** A graph input or constant, placed in its own region. */
export interface PlannedExternal extends PlannedLayout {
  readonly name: string;
  /** `host` for a sequence or optional graph input (no bytes). */
  readonly region: 'input' | 'constant' | 'host';
  /** Bytes of its buffer. */
  readonly bytes: number;
  /** Byte offset from the start of its region. */
  readonly offset: number;
}

/** Scratch space of one kernel: arena bytes that are its own during its step only. */
export interface PlannedScratch {
  /** Id of the node whose kernel uses it. */
  readonly node: string;
  /** Its step in `order`. */
  readonly step: number;
  readonly bytes: number;
  readonly alignment: number;
  /** Arena byte offset. */
  readonly offset: number;
  /**
   * For a node that owns regions (If, Loop, Scan): the bytes of its region bodies held here
   * (`MemoryPlan.bodies`: the largest body's, since one body runs at a time), included in `bytes`.
   */
  readonly bodyBytes?: number;
  /** The region attributes whose bodies `bodyBytes` covers (`body`, `then_branch`, ...). */
  readonly bodies?: readonly string[];
}

/**
 * One region body of a node, planned on its own (a MemoryPlan of the region graph: its block
 * arguments are its `input` region, its constants its `constant` region, the values it reads from the
 * enclosing scopes live in the enclosing plan). One run of the body holds `bytes` = its arena peak +
 * its input region + its constant region; the owning node's scratch at its step holds the largest body
 * of the node (its bodies run one at a time), so the enclosing plan's peak includes it.
 */
export interface PlannedBody {
  /** Id of the node that owns the region. */
  readonly node: string;
  /** Its step in the enclosing `order`. */
  readonly step: number;
  /** The region's attribute name (`body`, `then_branch`, `else_branch`). */
  readonly attribute: string;
  /** Bytes one run of the body holds (0 when it has no plan). */
  readonly bytes: number;
  /** The body's own plan (absent when it cannot be planned: `unplanned` says why). */
  readonly plan?: MemoryPlan;
  /** Why the body has no static plan (its sizes are known only at run time): the host sizes it when it runs. */
  readonly unplanned?: string;
}

/** One intermediate tensor the plan places. */
export interface PlannedTensor extends PlannedLayout {
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
  /** Byte offset in `region` (for an alias: its root's offset). */
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
  /** Graph inputs (region `input`) then constants (region `constant`), each region stacked in graph order. */
  readonly externals: readonly PlannedExternal[];
  /** Bytes of the input region (last input's offset + bytes). */
  readonly inputRegionBytes: number;
  /** Bytes of the constant region. */
  readonly constantRegionBytes: number;
  /** Scratch of the kernels that declared some, in step order (inside the arena, counted in peakBytes). */
  readonly scratch: readonly PlannedScratch[];
  /** Region bodies of the nodes that own regions, in step order (absent or empty: the graph has none). */
  readonly bodies?: readonly PlannedBody[];
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
  /**
   * Scratch bytes the kernel of `node` needs during its step (im2col, packed panels); 0 or absent for
   * none. A backend passes its own rule; a negative or non-integer answer is a KilnError.
   */
  scratchBytes?: (node: Node) => number;
  /**
   * Set by the planner when it plans a region body: the types of the values of the enclosing scopes
   * (what the body reads from them lives outside its plan). Not for callers.
   */
  outer?: ReadonlyMap<string, TensorType>;
}
