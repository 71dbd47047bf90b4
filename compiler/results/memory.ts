/**
 * The memory plan as data: Arrow result tables of a MemoryPlan (compiler/schedule/plan.ts), a
 * summary of its figures, and byte formatting the memory renderings share.
 *
 * `memoryTimelineTable` has one row per planned tensor (its bytes, live interval in steps, arena
 * offset, producer and consumers, what it aliases, where it is stored) and one per node's region
 * bodies (`bodyBlocks`: the bytes a control-flow node holds for them, column `body`); `memoryStepsTable` one row per step of the
 * execution order (the node, the bytes live there — the breadth — and the arena's high-water mark so
 * far). Byte counts and offsets are Arrow float64 columns holding whole numbers: exact up to 2^53 and
 * never overflowing as int32 would past 2 GiB. `memorySummary` gathers the plan's headline figures and
 * their ratios (peak over the lower bound, reduction against no reuse); `formatMemorySummary` prints
 * them as a few lines. `planMemoryCached` plans a graph once per (graph object, options): graphs are
 * immutable snapshots (a Session's steps and its branches share them), so a WeakMap keyed by the graph
 * is a safe cache that goes away with the graph.
 */
import type { Graph } from '../ir/graph.ts';
import type { MemoryPlan, PlannedTensor, PlanOptions } from '../schedule/plan.ts';
import { planMemory } from '../schedule/index.ts';
import { buildTable, type ResultTable } from './table.ts';
import { formatBytes } from '../ir/sizes.ts';

/** Bytes in binary units (`512 B`, `1.50 KiB`); its home is ir/sizes.ts. */
export { formatBytes };

/** Options of memory planning as the session and the CLI pass them: plan options plus the planner. */
export interface MemoryOptions extends PlanOptions {
  /** Planner name (`naive`, `greedy-size`, `greedy-breadth`, `best`); default: the schedule's default. */
  readonly planner?: string;
}

/**
 * The bytes region bodies hold, as timeline blocks: one per node owning regions whose bodies have a
 * plan (its scratch at its step: `name` = `NODE.ATTR` or `NODE.ATTR1|ATTR2`, producer = the node), and
 * one with no bytes and region `host` per body that could not be planned (sizes known only at run
 * time). The memory charts draw the first kind like buffers.
 */
export function bodyBlocks(plan: MemoryPlan): PlannedTensor[] {
  const out: PlannedTensor[] = [];
  for (const sc of plan.scratch) {
    if (!sc.bodyBytes || !sc.bodies) continue;
    out.push({ name: `${sc.node}.${sc.bodies.join('|')}`, bytes: sc.bytes, first: sc.step, last: sc.step, producer: sc.node, consumers: [],
      offset: sc.offset, dtype: 'u8', shape: [sc.bytes], elements: sc.bytes, alignment: sc.alignment, region: 'arena' });
  }
  for (const b of plan.bodies ?? []) {
    if (b.plan) continue;
    out.push({ name: `${b.node}.${b.attribute}`, bytes: 0, first: b.step, last: b.step, producer: b.node, consumers: [],
      offset: 0, dtype: 'u8', shape: [], elements: 0, alignment: 1, region: 'host' });
  }
  return out;
}

/**
 * One row per planned tensor, then one per region body block (`bodyBlocks`). Columns: tensor utf8,
 * bytes f64, first_step i32, last_step i32, offset f64, producer utf8, consumers list<utf8>, alias_of
 * utf8 (null unless a view or in-place result), alias_kind utf8 (`view` | `inplace` | null), storage
 * utf8 (the plan region: `arena`, `input`, `constant`, or `host` for a sequence or optional, which has
 * no static size, and for a region body with no static plan), body utf8 (null unless the row is the
 * bytes of the region bodies of its producer: their attribute names, `body`, `else_branch|then_branch`).
 */
export function memoryTimelineTable(plan: MemoryPlan, title = `memory timeline (${plan.planner})`): ResultTable {
  const bodies = bodyBlocks(plan);
  const t = [...plan.tensors, ...bodies];
  const isBody = new Set(bodies);
  return buildTable(title, [
    { name: 'tensor', type: 'utf8', values: t.map((x) => x.name) },
    { name: 'bytes', type: 'f64', values: t.map((x) => x.bytes) },
    { name: 'first_step', type: 'i32', values: t.map((x) => x.first) },
    { name: 'last_step', type: 'i32', values: t.map((x) => x.last) },
    { name: 'offset', type: 'f64', values: t.map((x) => x.offset) },
    { name: 'producer', type: 'utf8', values: t.map((x) => x.producer) },
    { name: 'consumers', type: 'list<utf8>', values: t.map((x) => x.consumers) },
    { name: 'alias_of', type: 'utf8', values: t.map((x) => x.aliasOf ?? null) },
    { name: 'alias_kind', type: 'utf8', values: t.map((x) => x.aliasKind ?? null) },
    { name: 'storage', type: 'utf8', values: t.map((x) => x.region ?? 'arena') },
    { name: 'body', type: 'utf8', values: t.map((x) => (isBody.has(x) ? x.name.slice(x.producer.length + 1) : null)) },
  ]);
}

/**
 * One row per step of the execution order. Columns: step i32, node utf8, live_bytes f64 (the
 * breadth: bytes of tensors live at that step), high_water f64 (the arena's high-water mark after
 * the step), live_tensors i32 (buffers live at that step, aliases not counted), body_bytes f64 (bytes
 * of the region bodies the step's node holds, part of live_bytes; 0 for a node without regions).
 */
export function memoryStepsTable(plan: MemoryPlan, title = `memory per step (${plan.planner})`): ResultTable {
  const n = plan.order.length;
  const live = new Array<number>(n).fill(0);
  for (const t of plan.tensors) {
    if (t.aliasOf !== undefined) continue;
    for (let s = Math.max(0, t.first); s <= Math.min(n - 1, t.last); s++) live[s]++;
  }
  const bodyAt = new Map(plan.scratch.filter((sc) => sc.bodyBytes).map((sc) => [sc.step, sc.bodyBytes!]));
  return buildTable(title, [
    { name: 'step', type: 'i32', values: plan.order.map((_, i) => i) },
    { name: 'node', type: 'utf8', values: plan.order },
    { name: 'live_bytes', type: 'f64', values: plan.order.map((_, i) => plan.breadth[i] ?? null) },
    { name: 'high_water', type: 'f64', values: plan.order.map((_, i) => plan.highWater[i] ?? null) },
    { name: 'live_tensors', type: 'i32', values: live },
    { name: 'body_bytes', type: 'f64', values: plan.order.map((_, i) => bodyAt.get(i) ?? 0) },
  ]);
}

/** The headline figures of a plan. */
export interface MemorySummary {
  readonly planner: string;
  readonly peakBytes: number;
  readonly lowerBoundBytes: number;
  readonly naiveBytes: number;
  readonly weightsBytes: number;
  readonly inputBytes: number;
  /** Steps in the execution order. */
  readonly steps: number;
  /** Planned tensors, aliases included. */
  readonly tensors: number;
  /** Views and in-place results (tensors with no buffer of their own). */
  readonly aliases: number;
  /** Milliseconds the planner took. */
  readonly ms: number;
  /** peak / lower bound (1 when both are 0). */
  readonly peakOverLowerBound: number;
  /** 1 - peak / naive: the fraction of the no-reuse arena saved (0 when naive is 0). */
  readonly reductionVsNaive: number;
  /** Region bodies (present only when the graph has some): how many, and how many have no static plan. */
  readonly bodies?: number;
  readonly unplannedBodies?: number;
  /** The most bytes region bodies hold at one step. */
  readonly bodyBytes?: number;
  /**
   * Values in region `host` (present only when there are some): sequences, optionals and tensors whose
   * size is known only at run time, held by the host, no bytes in the plan.
   */
  readonly hostValues?: number;
}

/** The summary figures of a plan. */
export function memorySummary(plan: MemoryPlan): MemorySummary {
  const { peakBytes: peak, lowerBoundBytes: lb, naiveBytes: naive } = plan;
  const host = [...plan.tensors, ...plan.externals].filter((t) => t.region === 'host').length;
  return {
    planner: plan.planner, peakBytes: peak, lowerBoundBytes: lb, naiveBytes: naive,
    weightsBytes: plan.weightsBytes, inputBytes: plan.inputBytes,
    steps: plan.order.length, tensors: plan.tensors.length,
    aliases: plan.tensors.filter((t) => t.aliasOf !== undefined).length,
    ms: plan.ms,
    peakOverLowerBound: lb > 0 ? peak / lb : peak > 0 ? Infinity : 1,
    reductionVsNaive: naive > 0 ? 1 - peak / naive : 0,
    ...(plan.bodies?.length ? {
      bodies: plan.bodies.length, unplannedBodies: plan.bodies.filter((b) => !b.plan).length,
      bodyBytes: plan.scratch.reduce((m, sc) => Math.max(m, sc.bodyBytes ?? 0), 0),
    } : {}),
    ...(host ? { hostValues: host } : {}),
  };
}

/** A few lines naming the planner, the arena peak against its bounds, and the memory outside the arena. */
export function formatMemorySummary(plan: MemoryPlan | MemorySummary): string {
  const s = 'order' in plan ? memorySummary(plan) : plan;
  return [
    `memory plan (${s.planner}): ${s.steps} steps, ${s.tensors} tensors (${s.aliases} alias${s.aliases === 1 ? '' : 'es'}), planned in ${s.ms.toFixed(1)} ms`,
    `  peak         ${formatBytes(s.peakBytes).padStart(10)}  = ${formatRatio(s.peakOverLowerBound)} x lower bound`,
    `  lower bound  ${formatBytes(s.lowerBoundBytes).padStart(10)}  (max bytes live at one step)`,
    `  naive        ${formatBytes(s.naiveBytes).padStart(10)}  (no reuse; the plan saves ${(s.reductionVsNaive * 100).toFixed(1)}%)`,
    `  weights      ${formatBytes(s.weightsBytes).padStart(10)}  inputs ${formatBytes(s.inputBytes)} (outside the arena)`,
    ...(s.bodies ? [`  regions      ${formatBytes(s.bodyBytes ?? 0).padStart(10)}  (at most, held at one step by ${s.bodies} region bod${s.bodies === 1 ? 'y' : 'ies'}, each planned on its own${s.unplannedBodies ? `; ${s.unplannedBodies} sized only at run time, by the host` : ''})`] : []),
    ...(s.hostValues ? [`  host-held    ${String(s.hostValues).padStart(10)}  sequence/optional value${s.hostValues === 1 ? ' or tensor' : 's or tensors'} sized at run time (no static size: held by the runtime, not in the arena)`] : []),
  ].join('\n') + '\n';
}

function formatRatio(r: number): string {
  return Number.isFinite(r) ? r.toFixed(3) : String(r);
}

const cache = new WeakMap<Graph, Map<string, MemoryPlan>>();

/** Canonical text of options, so equal options hit the same cache entry whatever their key order. */
function optionsKey(opts: MemoryOptions): string {
  const o = opts as Record<string, unknown>;
  const sorted = (v: unknown): unknown => (v && typeof v === 'object' && !Array.isArray(v)
    ? Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])]) : v);
  return JSON.stringify(Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => [k, sorted(o[k])]));
}

/** Plans `graph` with `opts` (compiler/schedule `planMemory`), once per graph object and options. */
export function planMemoryCached(graph: Graph, opts: MemoryOptions = {}): MemoryPlan {
  let byOpts = cache.get(graph);
  if (!byOpts) cache.set(graph, byOpts = new Map());
  const key = optionsKey(opts);
  let plan = byOpts.get(key);
  if (!plan) byOpts.set(key, plan = planMemory(graph, opts));
  return plan;
}
