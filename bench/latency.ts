/**
 * The latency section of `npm run bench`: zoo models × contenders (kiln backends, default `cpu`;
 * onnxruntime-node with graph optimization `all` and `disabled`) × thread counts, measured in
 * interleaved rounds in one run.
 *
 * Every configuration (model, contender, threads) runs in a child process of its own
 * (bench/latency-worker.ts), so its peak RSS is its own and native thread pools do not share a process.
 * Per model, the children are started and set up one at a time (prepare, warm-up run); then round r
 * runs every configuration once, one at a time, starting at the r-th configuration of the list (the
 * order rotates), so drift and neighbours' noise hit all alike. Each run is timed inside its child by
 * the one timing loop (timeProgram), which waits for the parent's `go` before each timed run; nothing
 * runs at the same time as a timed run: before each `go` the parent waits (up to QUIET_MS, polling
 * /proc) until no thread of any other child is running, since thread pools spin for a while after a
 * run before they sleep (onnxruntime's by default, OpenMP's unless told to wait passively), and a
 * pool still spinning takes a core from the next contender's run.
 *
 * Reported per configuration: median and fastest run over the rounds; the ratio of the median to
 * onnxruntime `all` at the same thread count (the issue's kiln/ORT figure); preparation cold (empty
 * kiln object cache, onnxruntime session creation) and warm (the kiln object cache hit); kiln's pass
 * time; the child's peak RSS; and the largest absolute difference of the outputs from onnxruntime `all`
 * at the same thread count. Then the geometric mean of kiln cpu / onnxruntime all at 2 threads over
 * resnet50, mobilenetv2 and bert (the acceptance figure of issue 10) and, per model, kiln's slowest
 * kernels at the kernels' thread count (ms, share, GFLOP/s, % of the measured FP32 peak).
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Tensor } from '../compiler/ir/tensor.ts';
import type { DType } from '../compiler/ir/dtype.ts';
import { median } from '../compiler/runtime/timings.ts';
import { diffTensors } from '../compiler/runtime/compare.ts';
import type { OrtOptimization } from './ort-program.ts';
import type { ParentMessage, PlainTensor, TopKernel, WorkerConfig, WorkerMessage, WorkerResult } from './latency-worker.ts';

/** The models of the issue's acceptance figure (geometric mean at 2 threads). */
export const ACCEPTANCE_MODELS = ['resnet50', 'mobilenetv2', 'bert'] as const;
/** The thread count of the acceptance figure. */
export const ACCEPTANCE_THREADS = 2;

/** One contender: a kiln backend or onnxruntime at one optimization level. */
export type Contender = WorkerConfig['contender'];

/** The contender's name in tables: `kiln-cpu`, `ort-all`. */
export const contenderName = (c: Contender) => (c.kind === 'kiln' ? `kiln-${c.backend}` : `ort-${c.optimization}`);

/** Options of the latency section. */
export interface LatencyOptions {
  readonly models: readonly string[];
  readonly contenders: readonly Contender[];
  readonly threads: readonly number[];
  readonly rounds: number;
  /** kiln's pass pipeline text ('' for the graph as imported). */
  readonly pipeline: string;
  /** Slowest kiln nodes to report per model (0: none), at `kernelThreads`. */
  readonly topKernels: number;
  readonly kernelThreads: number;
  /** Runs of the per-kernel timing. */
  readonly kernelRepeat: number;
  /** Progress lines (to stderr in the CLI). */
  readonly log: (line: string) => void;
  /** Called with each round's order of configurations (`kiln-cpu@2`), before it runs. */
  readonly onRound?: (model: string, round: number, order: readonly string[]) => void;
}

/** One configuration's measurements (or why it has none). */
export interface LatencyRow {
  readonly model: string;
  readonly contender: string;
  readonly threads: number;
  /** Set when the configuration failed (unsupported node, compile error); the numbers are then absent. */
  readonly error?: string;
  readonly medianMs?: number;
  readonly minMs?: number;
  readonly times?: readonly number[];
  /** medianMs over onnxruntime `all`'s at the same thread count. */
  readonly ratioToOrtAll?: number;
  readonly prepareColdMs?: number;
  readonly prepareWarmMs?: number | null;
  readonly cacheHit?: boolean | null;
  readonly passesMs?: number | null;
  /** Nodes a kiln program runs on reference kernels instead of compiled code (null for onnxruntime). */
  readonly fallbacks?: number | null;
  readonly rssPeakMiB?: number;
  readonly rssBaseMiB?: number;
  /** Largest |output - onnxruntime all output| over every output (same thread count). */
  readonly maxAbsDiffToOrtAll?: number;
  readonly peakGflops?: number | null;
  readonly top?: readonly TopKernel[];
}

/** The section's result. */
export interface LatencyReport {
  readonly rounds: number;
  readonly threads: readonly number[];
  readonly pipeline: string;
  readonly rows: readonly LatencyRow[];
  /** Geometric mean of kiln-cpu / ort-all at 2 threads over the acceptance models; null when a model is missing. */
  readonly acceptance: { readonly geomean: number | null; readonly worst: number | null; readonly ratios: Readonly<Record<string, number | null>> };
}

const WORKER = fileURLToPath(new URL('./latency-worker.ts', import.meta.url));

/** A child process running one configuration, with its messages as a queue. */
class Worker {
  private readonly queue: WorkerMessage[] = [];
  private waiter: ((m: WorkerMessage) => void) | undefined;
  private readonly child: ChildProcess;

  constructor(readonly config: WorkerConfig, readonly name: string) {
    this.child = fork(WORKER, [], { execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: ['ignore', 2, 2, 'ipc'] /* anything a child prints goes to stderr: stdout may be --json */ });
    this.child.on('message', (m: WorkerMessage) => this.push(m));
    this.child.on('exit', (code, signal) => this.push({ type: 'error', message: `the bench worker exited (${signal ?? `code ${code}`}) before reporting` }));
    this.send({ type: 'config', config });
  }

  private push(m: WorkerMessage): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(m);
    } else this.queue.push(m);
  }

  send(m: ParentMessage): void {
    this.child.send(m);
  }

  /** The next message (an `error` when the child died). */
  next(): Promise<WorkerMessage> {
    const m = this.queue.shift();
    return m ? Promise.resolve(m) : new Promise((resolve) => { this.waiter = resolve; });
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill();
  }

  /** Whether any thread of the child is running (state R in /proc); false where /proc cannot say. */
  running(): boolean {
    const dir = `/proc/${this.child.pid}/task`;
    try {
      return fs.readdirSync(dir).some((t) => {
        const stat = fs.readFileSync(`${dir}/${t}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'R';
      });
    } catch {
      return false;
    }
  }
}

/** Longest wait for the other children's threads to go idle before a timed run. */
const QUIET_MS = 1000;

/** Resolves once no thread of `others` runs (polled each millisecond), or after QUIET_MS. */
async function quiet(others: readonly Worker[]): Promise<void> {
  const until = performance.now() + QUIET_MS;
  while (others.some((w) => w.running()) && performance.now() < until) await new Promise((r) => setTimeout(r, 1));
}

const toTensor = (p: PlainTensor) => new Tensor(p.dtype as DType, [...p.shape], p.data as Tensor['data']);

/** Largest absolute difference of `got` from `want` over all outputs (Infinity for a shape/dtype mismatch). */
function maxAbsDiff(got: readonly PlainTensor[], want: readonly PlainTensor[]): number {
  if (got.length !== want.length) return Infinity;
  return Math.max(0, ...got.map((g, i) => diffTensors(toTensor(g), toTensor(want[i]), { rtol: 0, atol: 0 }).maxAbsError));
}

/** Runs the rounds of one model; results by configuration name. */
async function benchModel(model: string, opts: LatencyOptions): Promise<Map<string, WorkerResult | string>> {
  const results = new Map<string, WorkerResult | string>();
  const active: Worker[] = [];
  const biggest = Math.max(...opts.threads);
  const kernelThreads = opts.threads.includes(opts.kernelThreads) ? opts.kernelThreads : biggest;
  try {
    for (const threads of opts.threads) {
      for (const contender of opts.contenders) {
        const name = `${contenderName(contender)}@${threads}`;
        opts.log(`  ${model} ${name}: setting up`);
        const w = new Worker({
          model, contender, threads, pipeline: opts.pipeline, rounds: opts.rounds, kernelRepeat: opts.kernelRepeat,
          topKernels: contender.kind === 'kiln' && threads === kernelThreads ? opts.topKernels : 0,
        }, name);
        const m = await w.next(); // set up one at a time: compiles never overlap
        if (m.type === 'waiting') active.push(w);
        else {
          results.set(name, m.type === 'error' ? m.message : 'reported before its rounds');
          w.kill();
        }
      }
    }
    for (let r = 0; r < opts.rounds; r++) {
      opts.log(`  ${model} round ${r + 1}/${opts.rounds}`);
      const order = active.map((_, i) => active[(i + r) % active.length]);
      opts.onRound?.(model, r, order.map((w) => w.name));
      for (const w of order) {
        if (results.has(w.name)) continue; // failed in an earlier round
        await quiet(active.filter((o) => o !== w));
        w.send({ type: 'go' });
        const m = await w.next();
        if (m.type === 'done') results.set(w.name, m.result);
        else if (m.type === 'error') results.set(w.name, m.message);
        else if (m.run !== r + 1) results.set(w.name, `out of step: waiting for run ${m.run} in round ${r + 1}`);
      }
    }
  } finally {
    for (const w of active) w.kill();
  }
  return results;
}

const geomean = (xs: readonly number[]) => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);

/** Measures every configuration (module header). */
export async function benchLatency(opts: LatencyOptions): Promise<LatencyReport> {
  const rows: LatencyRow[] = [];
  for (const model of opts.models) {
    const results = await benchModel(model, opts);
    for (const threads of opts.threads) {
      const ortAll = results.get(`ort-all@${threads}`);
      for (const c of opts.contenders) {
        const contender = contenderName(c);
        const r = results.get(`${contender}@${threads}`);
        if (r === undefined || typeof r === 'string') {
          rows.push({ model, contender, threads, error: r ?? 'no result' });
          continue;
        }
        const reference = typeof ortAll === 'object' ? ortAll : undefined;
        const medianMs = median(r.times);
        rows.push({
          model, contender, threads, medianMs, minMs: Math.min(...r.times), times: r.times,
          ratioToOrtAll: reference ? medianMs / median(reference.times) : undefined,
          prepareColdMs: r.prepareColdMs, prepareWarmMs: r.prepareWarmMs, cacheHit: r.cacheHit, passesMs: r.passesMs, fallbacks: r.fallbacks,
          rssPeakMiB: r.rssPeakMiB, rssBaseMiB: r.rssBaseMiB,
          maxAbsDiffToOrtAll: reference ? maxAbsDiff(r.outputs, reference.outputs) : undefined,
          peakGflops: r.peakGflops, top: r.top,
        });
      }
    }
  }
  const ratios = Object.fromEntries(ACCEPTANCE_MODELS.map((m) => [m,
    rows.find((r) => r.model === m && r.contender === 'kiln-cpu' && r.threads === ACCEPTANCE_THREADS)?.ratioToOrtAll ?? null]));
  const known = Object.values(ratios).filter((x): x is number => x !== null);
  const complete = known.length === ACCEPTANCE_MODELS.length;
  return {
    rounds: opts.rounds, threads: opts.threads, pipeline: opts.pipeline, rows,
    acceptance: { geomean: complete ? geomean(known) : null, worst: complete ? Math.max(...known) : null, ratios },
  };
}

/** Parses a `--ort` value: `all,disabled`, `all`, or `none`. */
export function ortLevels(text: string): OrtOptimization[] {
  if (text === 'none') return [];
  const levels = text.split(',').map((s) => s.trim());
  for (const l of levels) if (l !== 'all' && l !== 'disabled') throw new Error(`--ort: unknown level '${l}' (use all, disabled, or none)`);
  return levels as OrtOptimization[];
}
