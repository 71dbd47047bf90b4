/**
 * Timing runs of a prepared Program of any backend (backend.ts): whole runs (for `run`, `kiln run`,
 * the bench) and per-kernel timings joined to IR nodes (for `timings`), as numbers and as Arrow result
 * tables. `timeProgram` is the one warm-up + repeat + median loop in kiln.
 *
 * Per kernel. With `perKernel`, every run asks the program for its `onKernel` reports (the reference
 * executor reports one kernel per node, a compiled backend one per generated kernel); every run adds
 * one sample per kernel, and a kernel's time is the median of its samples, which shrugs off the odd
 * slow run (a GC pause) that a mean would smear over every kernel. `nodeTimings` joins kernels to the
 * graph's nodes by IR node id (a kernel computing several nodes splits its time evenly over them).
 *
 * Per node. Shares are each node's median over the sum of all node medians; FLOPs are the estimates
 * `kiln summary` uses (compiler/zoo/summary.ts `nodeFlops`, counted at the sizes of the inputs given:
 * symbolic input dims are bound to them first, inputs.ts `bindInputs`) and GFLOP/s is FLOPs over the
 * median time (null when the op has no FLOP estimate, its FLOPs depend on a size known only at run
 * time, or it took no measurable time). Bytes are each node's compulsory memory traffic (ops/flops.ts
 * `nodeBytes`: distinct inputs plus outputs, no cache model) at the same sizes; intensity is FLOPs per
 * byte and GB/s bytes over the median time: a node's place on the roofline (display/roofline.ts). Each node says where it ran (`runs_on`): the backend, or `ref`
 * when a compiled program ran it on its reference kernel (KernelEvent.fallback). The by-op table sums nodes of the same op, largest time first.
 *
 * Whole runs. `timeProgram` reports the median and fastest run; `runTiming` adds the statistics of each
 * output of the last run. Outputs (and inputs) are run-time values (ir/value.ts): tensors, and for a
 * graph with sequence or optional outputs, sequences of tensors and optionals' none. `outputsTable`
 * gives each one row: a tensor its dtype, shape and statistics; a sequence its element dtype, a shape
 * like `seq of 3: [2,3]×2, [1,3]` (equal neighbours counted, at most 8 shapes listed) and statistics
 * over all its elements; an optional holding a value that value's row with the shape prefixed `opt `;
 * an optional's none the shape `none` and no statistics.
 */
import type { Graph, TensorType } from '../ir/graph.ts';
import { nodeId, valueTypes } from '../ir/graph.ts';
import { Tensor } from '../ir/tensor.ts';
import type { Value } from '../ir/value.ts';
import { nodeFlops } from '../zoo/summary.ts';
import { nodeBytes } from '../ops/flops.ts';
import { buildTable, type ResultTable } from '../results/table.ts';
import type { KernelEvent, Program } from './backend.ts';
import { bindInputs, type TensorStats, valueStats } from './inputs.ts';

/** The median of numbers (NaN for none). */
export function median(xs: ArrayLike<number>): number {
  const a = Array.from(xs).sort((x, y) => x - y);
  if (a.length === 0) return NaN;
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}

/** The timing of one node. */
export interface NodeTiming {
  /** Position of the node in the graph. */
  readonly index: number;
  /** Node id (first output name). */
  readonly node: string;
  readonly op: string;
  /** Median milliseconds over the runs. */
  readonly ms: number;
  /** Estimated floating-point operations of one execution; null when unknown before running. */
  readonly flops: number | null;
  /** Estimated compulsory memory traffic in bytes (ops/flops.ts `nodeBytes`); null when unknown before running. */
  readonly bytes: number | null;
  /** ONNX node names the node came from. */
  readonly provenance: readonly string[];
  /**
   * Where the node ran: the program's backend, or `ref` for a node a compiled program ran on its
   * reference kernel (a fallback, KernelEvent.fallback). Absent when not known.
   */
  readonly runsOn?: string;
}

/** Times of every op summed over its nodes. */
export interface OpTiming {
  readonly op: string;
  readonly count: number;
  readonly ms: number;
  /** Sum over the nodes; null when some node's FLOPs are unknown. */
  readonly flops: number | null;
}

/** GFLOP/s of `flops` done in `ms` milliseconds; null without FLOPs or a measurable time. */
export const gflopPerS = (flops: number | null, ms: number) => (flops !== null && flops > 0 && ms > 0 ? flops / (ms * 1e6) : null);

/** FLOPs per byte; null when either is unknown or there are no bytes. */
export const intensity = (flops: number | null, bytes: number | null) => (flops !== null && bytes !== null && bytes > 0 ? flops / bytes : null);

/** GB/s (10^9 bytes per second) of `bytes` moved in `ms` milliseconds; null without bytes or a measurable time. */
export const gbPerS = (bytes: number | null, ms: number) => (bytes !== null && bytes > 0 && ms > 0 ? bytes / (ms * 1e6) : null);

/** Sum of numbers, null (unknown) absorbing. */
const sumKnown = (xs: readonly (number | null)[]) => xs.reduce<number | null>((t, x) => (t === null || x === null ? null : t + x), 0);

/** Per-node timings of a graph: medians over `repeat` runs, with tables. */
export class NodeTimings {
  constructor(
    /** Name of the timed graph. */
    readonly graphName: string,
    /** Every node in graph order. */
    readonly nodes: readonly NodeTiming[],
    /** Wall time of each whole run, in milliseconds. */
    readonly runMs: readonly number[],
    /** Outputs of the last run, in `graph.outputs` order (tensors, sequences, optionals' none). */
    readonly outputs: readonly Value[],
    /** A label for titles (e.g. `zoo:mlp at step 9`); default the graph name. */
    readonly label = graphName,
    /** The device's measured FP32 peak in GFLOP/s (the program's `peakGflops`); null when unknown. */
    readonly peakGflops: number | null = null,
    /** Per-kernel medians in order of first execution (what `kernelTable` shows). */
    readonly kernels: readonly KernelTiming[] = [],
    /** ONNX provenance of every node id (for the kernel table). */
    private readonly provenanceOf: ReadonlyMap<string, readonly string[]> = new Map(),
  ) {}

  /**
   * One row per kernel in execution order. Columns: kernel utf8, nodes list<utf8> (IR node ids),
   * onnx list<utf8> (the ONNX nodes they came from), dispatch utf8 (GPU: workgroups × threads per
   * workgroup; null on a CPU), ms f64 (median), share_pct f64 (of the kernels' total), clock utf8 (GPU:
   * `device` timestamps or `host`), runs_on utf8 (the backend, or `ref` for a host fallback), then
   * flops f64, bytes f64 (summed over the kernel's nodes: a kernel of several nodes also counts the
   * values passed between them; null when a node's is unknown), gflop_per_s f64, intensity f64 (FLOP/byte).
   */
  kernelTable(title = `kernel timings of ${this.label} (median of ${this.repeat} run${this.repeat === 1 ? '' : 's'})`): ResultTable {
    const ks = this.kernels;
    const total = ks.reduce((t, k) => t + k.ms, 0);
    const backend = this.nodes.find((n) => n.runsOn !== undefined && n.runsOn !== 'ref')?.runsOn ?? null;
    const flops = ks.map((k) => this.kernelSum(k, 'flops')), bytes = ks.map((k) => this.kernelSum(k, 'bytes'));
    return buildTable(title, [
      { name: 'kernel', type: 'utf8', values: ks.map((k) => k.kernel) },
      { name: 'nodes', type: 'list<utf8>', values: ks.map((k) => k.nodes) },
      { name: 'onnx', type: 'list<utf8>', values: ks.map((k) => [...new Set(k.nodes.flatMap((n) => this.provenanceOf.get(n) ?? []))]) },
      { name: 'dispatch', type: 'utf8', values: ks.map((k) => k.dispatch ?? null) },
      { name: 'ms', type: 'f64', values: ks.map((k) => k.ms) },
      { name: 'share_pct', type: 'f64', values: ks.map((k) => (total > 0 ? (100 * k.ms) / total : 0)) },
      { name: 'clock', type: 'utf8', values: ks.map((k) => k.clock ?? null) },
      { name: 'runs_on', type: 'utf8', values: ks.map((k) => (k.fallback ? 'ref' : backend)) },
      { name: 'flops', type: 'f64', values: flops },
      { name: 'bytes', type: 'f64', values: bytes },
      { name: 'gflop_per_s', type: 'f64', values: ks.map((k, i) => gflopPerS(flops[i], k.ms)) },
      { name: 'intensity', type: 'f64', values: ks.map((_, i) => intensity(flops[i], bytes[i])) },
    ]);
  }

  /** A kernel's FLOPs or bytes: the sum over its nodes; null when one is unknown or not a node of the graph. */
  kernelSum(k: KernelTiming, what: 'flops' | 'bytes'): number | null {
    this.byId ??= new Map(this.nodes.map((n) => [n.node, n]));
    return k.nodes.length ? sumKnown(k.nodes.map((id) => this.byId!.get(id)?.[what] ?? null)) : null;
  }

  private byId?: Map<string, NodeTiming>;

  /** Percent of the FP32 peak that `gflops` reaches (null without a peak or a rate). */
  pctOfPeak(gflops: number | null): number | null {
    return gflops !== null && this.peakGflops !== null && this.peakGflops > 0 ? (100 * gflops) / this.peakGflops : null;
  }

  /** Number of timed runs. */
  get repeat(): number {
    return this.runMs.length;
  }

  /** Median wall time of a whole run (kernels plus the executor's own work). */
  get totalMs(): number {
    return median(this.runMs);
  }

  /** Sum of the node medians. */
  get nodeMs(): number {
    return this.nodes.reduce((t, n) => t + n.ms, 0);
  }

  /** Percent of the node time spent in `ms`. */
  share(ms: number): number {
    const total = this.nodeMs;
    return total > 0 ? (100 * ms) / total : 0;
  }

  /** The `n` slowest nodes, slowest first. */
  top(n = 10): NodeTiming[] {
    return [...this.nodes].sort((a, b) => b.ms - a.ms || a.index - b.index).slice(0, n);
  }

  /** Nodes summed by op, slowest op first. */
  byOp(): OpTiming[] {
    const m = new Map<string, { op: string; count: number; ms: number; flops: number | null }>();
    for (const n of this.nodes) {
      let e = m.get(n.op);
      if (!e) m.set(n.op, (e = { op: n.op, count: 0, ms: 0, flops: 0 }));
      e.count++;
      e.ms += n.ms;
      e.flops = e.flops === null || n.flops === null ? null : e.flops + n.flops;
    }
    return [...m.values()].sort((a, b) => b.ms - a.ms || a.op.localeCompare(b.op));
  }

  /**
   * One row per node in graph order. Columns: index i32, node utf8, op utf8, ms f64, share_pct f64,
   * flops f64, gflop_per_s f64 (null without a FLOP estimate), pct_of_peak f64 (gflop_per_s over the
   * device's measured FP32 peak; null when either is unknown), provenance list<utf8>, runs_on utf8
   * (the backend, or `ref` for a node that fell back to its reference kernel), then bytes f64 (the
   * compulsory memory traffic, ops/flops.ts `nodeBytes`), intensity f64 (flops / bytes) and gb_per_s f64
   * (bytes over the median time); each null when unknown.
   */
  table(nodes: readonly NodeTiming[] = this.nodes, title = `node timings of ${this.label} (median of ${this.repeat} run${this.repeat === 1 ? '' : 's'})`): ResultTable {
    return buildTable(title, [
      { name: 'index', type: 'i32', values: nodes.map((n) => n.index) },
      { name: 'node', type: 'utf8', values: nodes.map((n) => n.node) },
      { name: 'op', type: 'utf8', values: nodes.map((n) => n.op) },
      { name: 'ms', type: 'f64', values: nodes.map((n) => n.ms) },
      { name: 'share_pct', type: 'f64', values: nodes.map((n) => this.share(n.ms)) },
      { name: 'flops', type: 'f64', values: nodes.map((n) => n.flops) },
      { name: 'gflop_per_s', type: 'f64', values: nodes.map((n) => gflopPerS(n.flops, n.ms)) },
      { name: 'pct_of_peak', type: 'f64', values: nodes.map((n) => this.pctOfPeak(gflopPerS(n.flops, n.ms))) },
      { name: 'provenance', type: 'list<utf8>', values: nodes.map((n) => n.provenance) },
      { name: 'runs_on', type: 'utf8', values: nodes.map((n) => n.runsOn ?? null) },
      { name: 'bytes', type: 'f64', values: nodes.map((n) => n.bytes) },
      { name: 'intensity', type: 'f64', values: nodes.map((n) => intensity(n.flops, n.bytes)) },
      { name: 'gb_per_s', type: 'f64', values: nodes.map((n) => gbPerS(n.bytes, n.ms)) },
    ]);
  }

  /** Columns: op utf8, nodes i32, ms f64, share_pct f64, flops f64, gflop_per_s f64, pct_of_peak f64; slowest first. */
  opTable(title = `time by op of ${this.label}`): ResultTable {
    const ops = this.byOp();
    return buildTable(title, [
      { name: 'op', type: 'utf8', values: ops.map((o) => o.op) },
      { name: 'nodes', type: 'i32', values: ops.map((o) => o.count) },
      { name: 'ms', type: 'f64', values: ops.map((o) => o.ms) },
      { name: 'share_pct', type: 'f64', values: ops.map((o) => this.share(o.ms)) },
      { name: 'flops', type: 'f64', values: ops.map((o) => o.flops) },
      { name: 'gflop_per_s', type: 'f64', values: ops.map((o) => gflopPerS(o.flops, o.ms)) },
      { name: 'pct_of_peak', type: 'f64', values: ops.map((o) => this.pctOfPeak(gflopPerS(o.flops, o.ms))) },
    ]);
  }
}

/** Options of `timeProgram`. */
export interface TimeOptions {
  /** Untimed runs first (default 0). */
  readonly warmup?: number;
  /** Timed runs (default 1). */
  readonly repeat?: number;
  /** Collect per-kernel times (asks the program for its `onKernel` reports; slower on some backends). */
  readonly perKernel?: boolean;
  /** Called before each timed run (`run` counts from 0): progress, yielding to a shell. */
  readonly beforeRun?: (run: number, runs: number) => void | Promise<void>;
  /** Called after each kernel of a timed run (progress within a run); implies the kernel reports. */
  readonly onKernel?: (e: KernelEvent, run: number) => void;
  /** Cancels between kernels (where the program supports it) and between runs. */
  readonly signal?: AbortSignal;
}

/** One kernel's times over the timed runs. */
export interface KernelTiming {
  readonly kernel: string;
  /** IR node ids the kernel computes. */
  readonly nodes: readonly string[];
  /** Median milliseconds. */
  readonly ms: number;
  /** Every sample, in run order. */
  readonly samples: readonly number[];
  /** True when the kernel is a node run on its reference kernel inside a compiled program. */
  readonly fallback?: boolean;
  /** GPU: the dispatch size (KernelEvent.dispatch). */
  readonly dispatch?: string;
  /** GPU: what measured it (KernelEvent.clock). */
  readonly clock?: 'device' | 'host';
}

/** What `timeProgram` measured. */
export interface ProgramTiming {
  readonly backend: string;
  /** The program's preparation time (compile time). */
  readonly prepareMs: number;
  /** Wall time of each timed run, in milliseconds. */
  readonly times: readonly number[];
  readonly medianMs: number;
  readonly minMs: number;
  /** Outputs of the last run, in `graph.outputs` order (tensors, sequences, optionals' none). */
  readonly outputs: readonly Value[];
  /** Per-kernel medians in order of first execution (empty unless `perKernel`). */
  readonly kernels: readonly KernelTiming[];
}

/**
 * The one timing loop of kiln: runs `program` `warmup` times untimed, then `repeat` times timed, and
 * reports each run's wall time, the median and fastest, and (with `perKernel`) each kernel's median
 * over the timed runs, keyed by kernel name with the IR node ids it computes.
 */
export async function timeProgram(program: Program, inputs: ReadonlyMap<string, Value>, opts: TimeOptions = {}): Promise<ProgramTiming> {
  const { signal, onKernel } = opts;
  const repeat = Math.max(1, opts.repeat ?? 1);
  for (let w = 0; w < (opts.warmup ?? 0); w++) {
    signal?.throwIfAborted();
    await program.run(inputs, { signal });
  }
  const kernels = new Map<string, { nodes: readonly string[]; samples: number[]; fallback?: boolean; dispatch?: string; clock?: 'device' | 'host' }>();
  const hooked = opts.perKernel || onKernel !== undefined;
  const times: number[] = [];
  let outputs: Value[] = [];
  for (let r = 0; r < repeat; r++) {
    await opts.beforeRun?.(r, repeat);
    signal?.throwIfAborted();
    const report = !hooked ? undefined : (e: KernelEvent) => {
      if (opts.perKernel) {
        let k = kernels.get(e.kernel);
        if (!k) kernels.set(e.kernel, (k = { nodes: e.nodes, samples: [], ...(e.fallback ? { fallback: true } : {}), ...(e.dispatch ? { dispatch: e.dispatch } : {}), ...(e.clock ? { clock: e.clock } : {}) }));
        k.samples.push(e.ms);
      }
      onKernel?.(e, r);
    };
    const t0 = performance.now();
    outputs = await program.run(inputs, { onKernel: report, signal });
    times.push(performance.now() - t0);
  }
  return {
    backend: program.backend, prepareMs: program.prepareMs, times, medianMs: median(times), minMs: Math.min(...times), outputs,
    kernels: [...kernels].map(([kernel, k]) => ({ ...k, kernel, ms: median(k.samples) })),
  };
}

/**
 * Per-node timings of `graph` from a per-kernel `timing` (module header): each kernel's median goes
 * to the nodes it computes, split evenly when it computes several (so the sums stay right); a node no
 * kernel reported takes 0. FLOPs are counted at the sizes of `inputs`.
 */
export function nodeTimings(graph: Graph, inputs: ReadonlyMap<string, Value>, timing: ProgramTiming, label = graph.name,
  peakGflops: number | null = null): NodeTimings {
  const index = new Map<string, number>();
  graph.nodes.forEach((n, i) => { if (nodeId(n)) index.set(nodeId(n), i); });
  const ms = graph.nodes.map(() => 0);
  const fellBack = new Set<number>();
  for (const k of timing.kernels) {
    for (const id of k.nodes) {
      const i = index.get(id);
      if (i !== undefined) ms[i] += k.ms / k.nodes.length;
      if (i !== undefined && k.fallback) fellBack.add(i);
    }
  }
  // FLOPs at the sizes of the inputs given (the bound graph has the same nodes in the same order)
  const sized = bindInputs(graph, { values: inputs }).graph;
  const types = valueTypes(sized);
  const nodes = sized.nodes.map((n, i): NodeTiming => {
    const inputTypes = n.inputs.map((v) => (v ? types.get(v) : undefined));
    return {
      index: i, node: nodeId(n) || `#${i} ${n.op}`, op: n.op, ms: ms[i], flops: nodeFlops(n, inputTypes), bytes: nodeBytes(n, inputTypes),
      provenance: graph.nodes[i].loc, runsOn: fellBack.has(i) ? 'ref' : timing.backend,
    };
  });
  return new NodeTimings(graph.name, nodes, timing.times, timing.outputs, label, peakGflops, timing.kernels,
    new Map(graph.nodes.map((n) => [nodeId(n), n.loc])));
}

/** The outcome of a timed run: outputs with statistics and run times. */
export interface RunTiming {
  /** Output names and values of the last run. */
  readonly names: readonly string[];
  readonly outputs: readonly Value[];
  /** The outputs' declared types where known (an optional holding a tensor shows as one). */
  readonly types?: readonly (TensorType | undefined)[];
  /** Statistics of each output (over all elements of a sequence; NaN for none). */
  readonly stats: readonly TensorStats[];
  /** Wall time of each timed run, in milliseconds. */
  readonly times: readonly number[];
  readonly medianMs: number;
  readonly minMs: number;
}

/** A RunTiming of `graph` from what `timeProgram` measured. */
export function runTiming(graph: Graph, timing: ProgramTiming): RunTiming {
  const types = valueTypes(graph);
  return {
    names: graph.outputs, outputs: timing.outputs, types: graph.outputs.map((o) => types.get(o)), stats: timing.outputs.map(valueStats),
    times: [...timing.times], medianMs: timing.medianMs, minMs: timing.minMs,
  };
}

/** Most shapes `valueShape` lists for a sequence. */
const SHAPES_LISTED = 8;

/**
 * A value's shape for tables and reports: `[2,3]` for a tensor; `seq of 3: [2,3]×2, [1,3]` for a
 * sequence (equal neighbours counted, at most 8 shapes listed, then `…`); `seq of 0` when empty;
 * `none` for an optional's none; an optional (`type` says so) holding a value prefixes `opt `.
 */
export function valueShape(v: Value, type?: TensorType): string {
  if (v === null) return 'none';
  const opt = type?.container === 'opt' || type?.container === 'opt-seq' ? 'opt ' : '';
  if (v instanceof Tensor) return `${opt}[${v.shape.join(',')}]`;
  const groups: { shape: string; count: number }[] = [];
  for (const t of v) {
    const shape = `[${t.shape.join(',')}]`;
    if (groups.at(-1)?.shape === shape) groups.at(-1)!.count++;
    else groups.push({ shape, count: 1 });
  }
  const listed = groups.slice(0, SHAPES_LISTED).map((g) => (g.count > 1 ? `${g.shape}×${g.count}` : g.shape));
  return `${opt}seq of ${v.length}${listed.length ? `: ${listed.join(', ')}${groups.length > SHAPES_LISTED ? ', …' : ''}` : ''}`;
}

/**
 * A value's dtype: a tensor's; a sequence's elements' (distinct ones joined by `|`); the declared
 * type's for none or an empty sequence; null when not known.
 */
export function valueDtype(v: Value, type?: TensorType): string | null {
  if (v instanceof Tensor) return v.dtype;
  const dtypes = [...new Set((v ?? []).map((t) => t.dtype))];
  return dtypes.length ? dtypes.join('|') : type?.dtype ?? null;
}

/**
 * The outputs of a run as a table, one row per output (module header). Columns: output utf8, dtype
 * utf8 (a sequence's element dtype), shape utf8 (`[2,3]`, `seq of 3: [2,3]×2, [1,3]`, `opt [2]`,
 * `none`: `valueShape`), mean f64, std f64, min f64, max f64 (over all elements of a sequence; NaN
 * statistics of string, empty or none outputs become null).
 */
export function outputsTable(run: RunTiming, title = 'outputs'): ResultTable {
  const num = (x: number) => (Number.isNaN(x) ? null : x);
  return buildTable(title, [
    { name: 'output', type: 'utf8', values: run.names },
    { name: 'dtype', type: 'utf8', values: run.outputs.map((v, k) => valueDtype(v, run.types?.[k])) },
    { name: 'shape', type: 'utf8', values: run.outputs.map((v, k) => valueShape(v, run.types?.[k])) },
    { name: 'mean', type: 'f64', values: run.stats.map((s) => num(s.mean)) },
    { name: 'std', type: 'f64', values: run.stats.map((s) => num(s.std)) },
    { name: 'min', type: 'f64', values: run.stats.map((s) => num(s.min)) },
    { name: 'max', type: 'f64', values: run.stats.map((s) => num(s.max)) },
  ]);
}
