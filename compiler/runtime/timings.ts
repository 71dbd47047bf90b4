/**
 * Timing runs of the reference executor: whole runs (`timeRun`, for `run`) and per-node timings
 * (`timeNodes`, for `timings`), as numbers and as Arrow result tables.
 *
 * Per node. `NodeTimer` runs the graph through `runReference` with its `onNode` hook, which reports the
 * wall time of each kernel call; every run adds one sample per node (kept by the node's position in
 * the graph, so ids never collide). A node's time is the median of its samples, which shrugs off the
 * odd slow run (a GC pause) that a mean would smear over every node. Shares are each node's median
 * over the sum of all node medians; FLOPs are the estimates `kiln summary` uses (compiler/zoo/summary.ts
 * `nodeFlops`, counted at the sizes of the inputs given: symbolic input dims are bound to them first) and
 * GFLOP/s is FLOPs over the median time (null when the op has no FLOP estimate, its FLOPs depend on a
 * size known only at run time, or it took no measurable time). The by-op table sums nodes of the same op, largest time first.
 *
 * Whole runs. `timeRun` runs the graph `warmup` times untimed and `repeat` times timed and reports the
 * median and fastest run and the statistics of each output of the last run.
 */
import type { Graph, Node } from '../ir/graph.ts';
import { valueTypes } from '../ir/graph.ts';
import type { Tensor } from '../ir/tensor.ts';
import { nodeFlops } from '../zoo/summary.ts';
import { bindShapes, shapesOf } from '../ops/bind-shapes.ts';
import { buildTable, type ResultTable } from '../results/table.ts';
import { runReference } from './reference.ts';
import { tensorStats, type TensorStats } from './inputs.ts';

type Inputs = ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>;

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
  /** ONNX node names the node came from. */
  readonly provenance: readonly string[];
}

/** Times of every op summed over its nodes. */
export interface OpTiming {
  readonly op: string;
  readonly count: number;
  readonly ms: number;
  /** Sum over the nodes; null when some node's FLOPs are unknown. */
  readonly flops: number | null;
}

const gflopPerS = (flops: number | null, ms: number) => (flops !== null && flops > 0 && ms > 0 ? flops / (ms * 1e6) : null);

/** Per-node timings of a graph: medians over `repeat` runs, with tables. */
export class NodeTimings {
  constructor(
    /** Name of the timed graph. */
    readonly graphName: string,
    /** Every node in graph order. */
    readonly nodes: readonly NodeTiming[],
    /** Wall time of each whole run, in milliseconds. */
    readonly runMs: readonly number[],
    /** Outputs of the last run, in `graph.outputs` order. */
    readonly outputs: readonly Tensor[],
    /** A label for titles (e.g. `zoo:mlp at step 9`); default the graph name. */
    readonly label = graphName,
  ) {}

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
   * flops f64, gflop_per_s f64 (null without a FLOP estimate), provenance list<utf8>.
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
      { name: 'provenance', type: 'list<utf8>', values: nodes.map((n) => n.provenance) },
    ]);
  }

  /** Columns: op utf8, nodes i32, ms f64, share_pct f64, flops f64, gflop_per_s f64; slowest first. */
  opTable(title = `time by op of ${this.label}`): ResultTable {
    const ops = this.byOp();
    return buildTable(title, [
      { name: 'op', type: 'utf8', values: ops.map((o) => o.op) },
      { name: 'nodes', type: 'i32', values: ops.map((o) => o.count) },
      { name: 'ms', type: 'f64', values: ops.map((o) => o.ms) },
      { name: 'share_pct', type: 'f64', values: ops.map((o) => this.share(o.ms)) },
      { name: 'flops', type: 'f64', values: ops.map((o) => o.flops) },
      { name: 'gflop_per_s', type: 'f64', values: ops.map((o) => gflopPerS(o.flops, o.ms)) },
    ]);
  }
}

/** Collects per-node samples run by run, so a caller can yield or report progress between runs. */
export class NodeTimer {
  private readonly index = new Map<Node, number>();
  private readonly samples: number[][];
  private readonly flops: (number | null)[];
  private readonly runs: number[] = [];
  private last: Tensor[] = [];

  constructor(readonly graph: Graph, readonly inputs: Inputs, readonly label = graph.name) {
    graph.nodes.forEach((n, i) => this.index.set(n, i));
    this.samples = graph.nodes.map(() => []);
    // FLOPs at the sizes of the inputs given (the bound graph has the same nodes in the same order)
    const given = inputs instanceof Map ? inputs : new Map(Object.entries(inputs));
    const names = new Set(graph.inputs.map((i) => i.name));
    const sized = bindShapes(graph, shapesOf(new Map([...given].filter(([name]) => names.has(name)))));
    const types = valueTypes(sized);
    this.flops = sized.nodes.map((n) => nodeFlops(n, n.inputs.map((i) => (i ? types.get(i) : undefined))));
  }

  /** Runs the graph once, adding a sample per node; `onNode(done, total)` after each node. */
  runOnce(onNode?: (done: number, total: number) => void): void {
    const total = this.graph.nodes.length;
    let done = 0;
    const t0 = performance.now();
    this.last = runReference(this.graph, this.inputs, {
      onNode: (node, ms) => {
        const k = this.index.get(node);
        if (k !== undefined) this.samples[k].push(ms);
        onNode?.(++done, total);
      },
    });
    this.runs.push(performance.now() - t0);
  }

  /** The timings of the runs so far. */
  result(): NodeTimings {
    const nodes = this.graph.nodes.map((n, i): NodeTiming => ({
      index: i, node: n.outputs[0] || `#${i} ${n.op}`, op: n.op, ms: median(this.samples[i]), flops: this.flops[i], provenance: n.loc,
    }));
    return new NodeTimings(this.graph.name, nodes, [...this.runs], this.last, this.label);
  }
}

/** Options of `timeNodes`. */
export interface TimeNodesOptions {
  /** Timed runs (default 1). */
  readonly repeat?: number;
  /** A label for table titles. */
  readonly label?: string;
}

/** Runs `graph` `repeat` times and returns per-node median times (see the module header). */
export function timeNodes(graph: Graph, inputs: Inputs, opts: TimeNodesOptions = {}): NodeTimings {
  const timer = new NodeTimer(graph, inputs, opts.label);
  const repeat = Math.max(1, opts.repeat ?? 1);
  for (let r = 0; r < repeat; r++) timer.runOnce();
  return timer.result();
}

/** The outcome of `timeRun`. */
export interface RunTiming {
  /** Output names and tensors of the last run. */
  readonly names: readonly string[];
  readonly outputs: readonly Tensor[];
  /** Statistics of each output. */
  readonly stats: readonly TensorStats[];
  /** Wall time of each timed run, in milliseconds. */
  readonly times: readonly number[];
  readonly medianMs: number;
  readonly minMs: number;
}

/** Builds a RunTiming from outputs and run times. */
export function runTiming(graph: Graph, outputs: readonly Tensor[], times: readonly number[]): RunTiming {
  return {
    names: graph.outputs, outputs, stats: outputs.map(tensorStats), times: [...times],
    medianMs: median(times), minMs: Math.min(...times),
  };
}

/** Runs `graph` `warmup` times untimed, then `repeat` times timed (defaults 0 and 1). */
export function timeRun(graph: Graph, inputs: Inputs, opts: { repeat?: number; warmup?: number } = {}): RunTiming {
  for (let w = 0; w < (opts.warmup ?? 0); w++) runReference(graph, inputs);
  const times: number[] = [];
  let outputs: Tensor[] = [];
  for (let r = 0; r < Math.max(1, opts.repeat ?? 1); r++) {
    const t0 = performance.now();
    outputs = runReference(graph, inputs);
    times.push(performance.now() - t0);
  }
  return runTiming(graph, outputs, times);
}

/**
 * The outputs of a run as a table. Columns: output utf8, dtype utf8, shape utf8, mean f64, std f64,
 * min f64, max f64 (NaN statistics of string or empty outputs become null).
 */
export function outputsTable(run: RunTiming, title = 'outputs'): ResultTable {
  const num = (x: number) => (Number.isNaN(x) ? null : x);
  return buildTable(title, [
    { name: 'output', type: 'utf8', values: run.names },
    { name: 'dtype', type: 'utf8', values: run.outputs.map((t) => t.dtype) },
    { name: 'shape', type: 'utf8', values: run.outputs.map((t) => `[${t.shape.join(',')}]`) },
    { name: 'mean', type: 'f64', values: run.stats.map((s) => num(s.mean)) },
    { name: 'std', type: 'f64', values: run.stats.map((s) => num(s.std)) },
    { name: 'min', type: 'f64', values: run.stats.map((s) => num(s.min)) },
    { name: 'max', type: 'f64', values: run.stats.map((s) => num(s.max)) },
  ]);
}
