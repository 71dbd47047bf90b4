/**
 * Memory planners and `planMemory`, the entry point: order the graph, compute liveness, assign arena
 * offsets, and report the plan with its bounds.
 *
 * Planning runs in three stages:
 *   1. order (order.ts): with `order: 'memory'` (the default) the greedy low-memory schedule and the
 *      graph's own order are both analysed and the one with the lower max breadth is kept (ties keep
 *      the graph order), so the chosen order is never worse than the graph's;
 *   2. liveness (liveness.ts) for that order: intervals, views, in-place results, breadth;
 *   3. placement (placement.ts) by the planner's strategy.
 * Liveness is extended by contract.ts before the order is chosen: each buffer's required alignment,
 * and one buffer per kernel that declares scratch (`scratchBytes`), so both count in the bounds.
 * Planners, by name: `naive` (no reuse: every non-view tensor its own buffer, in-place off, stacked),
 * `greedy-size` and `greedy-breadth` (TFLite's strategies), and `best` (every strategy, including extra
 * buffer orders for the same best-fit rule, on the same liveness; the lowest arena wins, earlier
 * strategies on ties). The lower bound reported is the max breadth of the plan's own liveness.
 * Region bodies (bodies.ts) are planned first, each by the same planner, and held as their owning
 * node's scratch.
 */
import type { Graph } from '../ir/graph.ts';
import { KilnError } from '../errors.ts';
import type { MemoryPlan, PlannedScratch, PlannedTensor, Planner, PlanOptions } from './plan.ts';
import { type GraphFacts, graphFacts } from './facts.ts';
import { candidateOrders } from './order.ts';
import { type Liveness, computeLiveness } from './liveness.ts';
import { externalBytes } from './op-kinds.ts';
import { layoutOf, placeExternals, scratchRequests, withContract } from './contract.ts';
import { type Block, arenaSize, byBreadthSequence, bySizeSequence, placeInOrder, placeNaive } from './placement.ts';
import { improveStrategies } from './improve.ts';
import { type NodeBodies, planBodies } from './bodies.ts';

/** Options of planMemory: plan options plus the planner's name (default `best`). */
export interface PlanMemoryOptions extends PlanOptions {
  readonly planner?: string;
}

/** Default arena alignment in bytes. */
export const DEFAULT_ALIGNMENT = 64;

/** A placement strategy over one liveness: offsets parallel to `live.buffers`. */
export interface Strategy {
  readonly name: string;
  place(blocks: readonly Block[], align: number, live: Liveness): number[];
}

const greedySize: Strategy = { name: 'greedy-size', place: (b, a) => placeInOrder(b, a, bySizeSequence(b)) };
const greedyBreadth: Strategy = { name: 'greedy-breadth', place: (b, a, l) => placeInOrder(b, a, byBreadthSequence(b, l.breadth)) };
const stacked: Strategy = { name: 'naive', place: (b, a) => placeNaive(b, a) };

/** Stage 1 and 2: facts, the chosen order and its liveness. */
export interface Analysis {
  readonly facts: GraphFacts;
  readonly live: Liveness;
  readonly orderKind: 'memory' | 'graph';
  /** Region bodies by node index (bodies.ts), planned by `planner`. */
  readonly bodies: ReadonlyMap<number, NodeBodies>;
}

/**
 * Orders the graph and computes liveness (see the module header); region bodies are planned first with
 * planner `planner` (default `best`) and held as their nodes' scratch.
 */
export function analyzeMemory(graph: Graph, opts: PlanOptions = {}, planner = 'best'): Analysis {
  const facts = graphFacts(graph, opts.dims ?? {}, opts.outer);
  const inplace = opts.inplace ?? true;
  const align = alignmentOf(opts);
  const bodies = planBodies(facts, opts, (region, o) => getPlanner(planner).plan(region, o));
  const scratch = scratchRequests(facts, opts.scratchBytes, bodies);
  let best: Analysis | undefined;
  for (const c of candidateOrders(facts, opts.order ?? 'memory')) {
    const live = withContract(computeLiveness(facts, c.order, inplace), facts, align, scratch);
    if (!best || live.lowerBound < best.live.lowerBound) best = { facts, live, orderKind: c.name, bodies };
  }
  return best!;
}

/** Builds the MemoryPlan of a placement (offsets parallel to live.buffers). */
export function buildPlan(a: Analysis, offsets: readonly number[], planner: string, align: number, t0: number,
  chosen?: string): MemoryPlan {
  const { facts, live } = a;
  const offsetOf = new Map<number, number>();
  const scratch: PlannedScratch[] = [];
  live.buffers.forEach((b, i) => {
    if (b.scratchOf === undefined) { offsetOf.set(b.tensor, offsets[i]); return; }
    const held = a.bodies.get(b.scratchOf);
    const body = held && held.bytes > 0 ? { bodyBytes: held.bytes, bodies: held.bodies.map((x) => x.attribute) } : {};
    scratch.push({ node: facts.ids[b.scratchOf], step: b.first, bytes: b.size, alignment: b.align ?? align, offset: offsets[i], ...body });
  });
  scratch.sort((x, y) => x.step - y.step);
  const stepOf = new Map(live.order.map((k, s) => [k, s]));
  const bodies = [...a.bodies].flatMap(([k, held]) => held.bodies.map((x) => ({ ...x, step: stepOf.get(k)! })))
    .sort((x, y) => x.step - y.step);
  const byName = new Map<string, number>();
  live.tensors.forEach((t, i) => byName.set(t.name, i));
  const ext = placeExternals(facts, align);
  const extByName = new Map(ext.externals.map((e) => [e.name, e]));
  const tensors: PlannedTensor[] = live.tensors.map((t, i) => {
    const root = t.aliasOf !== undefined ? byName.get(t.aliasOf) : i;
    // a view of a graph input or constant lives in that value's region
    const outside = t.aliasOf !== undefined && root === undefined ? extByName.get(t.aliasOf) : undefined;
    const offset = outside ? outside.offset : root !== undefined ? offsetOf.get(root) ?? 0 : 0;
    const layout = layoutOf(facts.types.get(t.name)!, facts.dims, align, outside ? outside.region : 'arena');
    return {
      name: t.name, bytes: t.bytes, first: t.first, last: t.last, producer: t.producer, consumers: t.consumers,
      ...(t.aliasOf !== undefined ? { aliasOf: t.aliasOf, aliasKind: t.aliasKind } : {}), offset, ...layout,
    };
  });
  const n = live.order.length;
  const top = new Float64Array(n);
  live.buffers.forEach((b, i) => { top[b.first] = Math.max(top[b.first], offsets[i] + b.size); });
  const highWater: number[] = [];
  let hw = 0;
  for (let s = 0; s < n; s++) highWater.push((hw = Math.max(hw, top[s])));
  const extBytes = externalBytes(facts.graph, facts.dims);
  return {
    planner, order: live.order.map((k) => facts.ids[k]), tensors,
    peakBytes: arenaSize(live.buffers, offsets), lowerBoundBytes: live.lowerBound, naiveBytes: live.naiveBytes,
    weightsBytes: extBytes.weights, inputBytes: extBytes.inputs, breadth: live.breadth, highWater,
    ms: performance.now() - t0,
    ...(chosen !== undefined ? { chosen } : {}), orderKind: a.orderKind, alignment: align, dims: facts.dims,
    externals: ext.externals, inputRegionBytes: ext.inputRegionBytes, constantRegionBytes: ext.constantRegionBytes, scratch,
    ...(bodies.length ? { bodies } : {}),
  };
}

function alignmentOf(opts: PlanOptions): number {
  const align = opts.alignment ?? DEFAULT_ALIGNMENT;
  if (!Number.isInteger(align) || align < 1) throw new KilnError(`alignment must be a positive integer, got ${align}`, { attribute: 'alignment' });
  return align;
}

/** A planner running one strategy. */
function strategyPlanner(s: Strategy, summary: string, forceOpts: PlanOptions = {}): Planner {
  return {
    name: s.name,
    summary,
    plan(graph, opts = {}) {
      const t0 = performance.now();
      const align = alignmentOf(opts);
      const a = analyzeMemory(graph, { ...opts, ...forceOpts }, s.name);
      return buildPlan(a, s.place(a.live.buffers, align, a.live), s.name, align, t0);
    },
  };
}

/** Every strategy `best` tries, in tie-break order. */
export function bestStrategies(): Strategy[] {
  return [greedySize, greedyBreadth, ...improveStrategies(), stacked];
}

const bestPlanner: Planner = {
  name: 'best',
  summary: 'every strategy on the same liveness; the smallest arena wins',
  plan(graph, opts = {}) {
    const t0 = performance.now();
    const align = alignmentOf(opts);
    const a = analyzeMemory(graph, opts, 'best');
    const blocks = a.live.buffers;
    let bestOffsets: number[] = [], bestPeak = Infinity, bestName = '';
    for (const s of bestStrategies()) {
      const offsets = s.place(blocks, align, a.live);
      const peak = arenaSize(blocks, offsets);
      if (peak < bestPeak) { bestPeak = peak; bestOffsets = offsets; bestName = s.name; }
      if (bestPeak <= a.live.lowerBound) break;
    }
    return buildPlan(a, bestOffsets, 'best', align, t0, bestName);
  },
};

const PLANNERS: readonly Planner[] = [
  strategyPlanner(stacked, 'no reuse: every tensor but views its own buffer, stacked (in-place off)', { inplace: false }),
  strategyPlanner(greedySize, "TFLite's greedy by size: largest first, each into the best-fitting gap"),
  strategyPlanner(greedyBreadth, "TFLite's greedy by breadth: busiest steps first, their tensors largest first"),
  bestPlanner,
];

/** Names of the planners, in registry order. */
export function plannerNames(): string[] {
  return PLANNERS.map((p) => p.name);
}

/** Every planner. */
export function allPlanners(): readonly Planner[] {
  return PLANNERS;
}

/** The planner `name`; a KilnError listing the planners otherwise. */
export function getPlanner(name: string): Planner {
  const p = PLANNERS.find((x) => x.name === name);
  if (!p) throw new KilnError(`unknown planner '${name}'; planners: ${plannerNames().join(', ')}`, { attribute: 'planner' });
  return p;
}

/** Plans the memory of `graph` with planner `opts.planner` (default `best`). */
export function planMemory(graph: Graph, opts: PlanMemoryOptions = {}): MemoryPlan {
  const { planner = 'best', ...rest } = opts;
  return getPlanner(planner).plan(graph, rest);
}
