/**
 * Running a session's step on a backend: what `Session.execute` and `Session.timings` do (and through
 * them the `run` and `timings` commands, `%run`/`%timings` in the kernel and the REPL).
 *
 * The step's graph is bound to its inputs (compiler/runtime/inputs.ts `bindInputs`: seeded random
 * values, or tensors the caller gives), prepared on the named backend (compiler/runtime/backends.ts,
 * default the reference executor) and timed by the one timing loop (compiler/runtime/timings.ts
 * `timeProgram`). A program is prepared once per bound graph and backend and kept for the session's
 * later runs (graphs are immutable snapshots, so the key is the graph object itself): `run` then
 * `timings` then `source` on a compiled backend compiles once (`prepareStep` is that one preparation).
 *
 * Disposal. Each Session owns a ProgramCache. A program is disposed (Program.dispose: a loaded
 * library unloaded, device memory freed) when its entry is replaced (the same graph and backend
 * prepared again with other options, e.g. another thread count), when its snapshot leaves the
 * session's timeline (`retain`, called when the pipeline changes), and when the session is closed.
 */
import type { Graph } from './ir/graph.ts';
import type { Value } from './ir/value.ts';
import type { Session } from './session.ts';
import { requireStaticShapes } from './ops/bind-shapes.ts';
import type { KernelEvent, PrepareOptions, Program } from './runtime/backend.ts';
import { DEFAULT_BACKEND, requireSupported, useBackend } from './runtime/backends.ts';
import { bindInputs } from './runtime/inputs.ts';
import { KilnError } from './errors.ts';
import { type ProgramCheck, checkAgainstReference } from './runtime/check.ts';
import { type NodeTimings, type ProgramTiming, type RunTiming, nodeTimings, runTiming, timeProgram } from './runtime/timings.ts';

/** Options of `Session.execute` and `Session.timings`. */
export interface ExecuteOptions {
  /** A registered backend's name (default: the reference executor). */
  readonly backend?: string;
  /** The step whose graph runs (default: the current step). */
  readonly step?: number;
  /** Seed of the random inputs (default 0); ignored when `inputs` are given. */
  readonly seed?: number;
  /**
   * Inputs by graph input name instead of random ones, checked against the graph's input types:
   * tensors, and for a sequence or optional input an array of tensors or `null` (none). A graph with
   * such an input runs only on inputs given here (random inputs are tensors).
   */
  readonly inputs?: ReadonlyMap<string, Value> | Readonly<Record<string, Value>>;
  /** Timed runs (default 1). */
  readonly repeat?: number;
  /** Untimed runs first (default 0). */
  readonly warmup?: number;
  /** Threads a CPU backend may use (default: all cores). */
  readonly threads?: number;
  /** Schedule tuning of a compiled backend (PrepareOptions.tuning; default: the backend's). */
  readonly tuning?: PrepareOptions['tuning'];
  /**
   * false: a compiled backend refuses a graph with nodes it would run on their reference kernels,
   * naming them (PrepareOptions.fallback; default: allowed, and listed in the timings).
   */
  readonly fallback?: boolean;
  /** f32 products in tf32 on tensor cores (PrepareOptions.tf32; the cuda backend). */
  readonly tf32?: boolean;
  /**
   * Also run the reference executor on the same inputs and compare (runtime/check.ts): the numeric
   * check of a compiled program, against its kernels' declared bounds (Winograd) or the default.
   */
  readonly check?: boolean;
  /** Progress of a long preparation (compiling), fraction in [0, 1]. */
  readonly onPrepare?: (what: string, fraction: number) => void;
  /** Called before each timed run: progress, yielding to a shell. */
  readonly beforeRun?: (run: number, runs: number) => void | Promise<void>;
  /** Called after each kernel of a timed run (progress within a run). */
  readonly onKernel?: (e: KernelEvent, run: number) => void;
  readonly signal?: AbortSignal;
  /**
   * Receives what the shell should tell the user: the backend cannot run here and the reference
   * backend runs instead (backends.ts `useBackend`).
   */
  readonly onWarning?: (message: string) => void;
}

/** A timed run of a session's step. */
export interface SessionRun {
  /** What ran, e.g. `zoo:mlp at step 9 (dce)`. */
  readonly label: string;
  readonly step: number;
  readonly backend: string;
  /** The graph that ran, bound to the sizes of the inputs. */
  readonly graph: Graph;
  readonly inputs: ReadonlyMap<string, Value>;
  /** Times, kernels and outputs as measured. */
  readonly timing: ProgramTiming;
  /** Outputs with statistics, for views. */
  readonly run: RunTiming;
  /** The program that ran (kept by the Session per step graph, backend and threads). */
  readonly program: Program;
  /** The outputs against the reference executor's, when asked (`check`). */
  readonly check?: ProgramCheck;
}

/** One cached preparation: the options it was made with, and the program (or its failure) to come. */
interface CachedProgram {
  readonly options: string;
  readonly program: Promise<Program>;
}

/**
 * The programs a session prepared, by step graph and backend (see the module header): at most one per
 * graph and backend, disposed when replaced, dropped from the timeline, or closed.
 */
export class ProgramCache {
  private readonly byGraph = new Map<Graph, Map<string, CachedProgram>>();
  private closed = false;

  /**
   * The program of `graph` on `backend` prepared with `options` (a stable text of the options that
   * change the program): the cached one, or `prepare()`'s. A failed preparation is not kept.
   */
  get(graph: Graph, backend: string, options: string, prepare: () => Promise<Program>): Promise<Program> {
    if (this.closed) throw new KilnError('this session was closed; load the model again');
    let byBackend = this.byGraph.get(graph);
    if (!byBackend) this.byGraph.set(graph, (byBackend = new Map()));
    const old = byBackend.get(backend);
    if (old && old.options === options) return old.program;
    if (old) void disposeQuietly(old.program);
    const entry: CachedProgram = { options, program: prepare() };
    byBackend.set(backend, entry);
    entry.program.catch(() => { if (byBackend!.get(backend) === entry) byBackend!.delete(backend); }); // tried again next time
    return entry.program;
  }

  /** The cached program of `graph` on `backend`, if one was prepared (or is being prepared). */
  peek(graph: Graph, backend: string): Promise<Program> | undefined {
    return this.byGraph.get(graph)?.get(backend)?.program;
  }

  /** Disposes every program whose graph is not in `graphs` (snapshots dropped from the timeline). */
  async retain(graphs: Iterable<Graph>): Promise<void> {
    const keep = new Set(graphs);
    const gone: Promise<void>[] = [];
    for (const [g, byBackend] of this.byGraph) {
      if (keep.has(g)) continue;
      this.byGraph.delete(g);
      for (const e of byBackend.values()) gone.push(disposeQuietly(e.program));
    }
    await Promise.all(gone);
  }

  /** Disposes every program; later `get`s are errors. Closing twice is fine. */
  async close(): Promise<void> {
    this.closed = true;
    await this.retain([]);
  }

  /** Number of programs cached (prepared or being prepared). */
  get size(): number {
    let n = 0;
    for (const m of this.byGraph.values()) n += m.size;
    return n;
  }
}

/**
 * Disposes a program once its preparation settles; a failed preparation has nothing to dispose. A
 * failing dispose is not reported: nothing could act on it, and the entry is gone either way.
 */
async function disposeQuietly(p: Promise<Program>): Promise<void> {
  let program: Program;
  try {
    program = await p;
  } catch {
    return;
  }
  await program.dispose().catch(() => {});
}

/** Options of `prepareStep` (a subset of ExecuteOptions). */
export type PrepareStepOptions = Pick<ExecuteOptions, 'backend' | 'step' | 'threads' | 'tuning' | 'fallback' | 'tf32' | 'onPrepare' | 'signal' | 'onWarning'>;

/** A step's graph prepared on a backend: the Session's cached program. */
export interface PreparedStep {
  readonly label: string;
  readonly step: number;
  readonly backend: string;
  readonly graph: Graph;
  readonly program: Program;
}

/**
 * Prepares the graph of a step (default current; its sizes must be concrete) on a backend, or returns
 * the program the session prepared before for it: what `run`, `timings`, `source` and `kiln build`
 * share, so a step compiles once.
 */
export async function prepareStep(s: Session, opts: PrepareStepOptions = {}): Promise<PreparedStep> {
  const step = opts.step ?? s.current;
  const graph = s.at(step).graph;
  requireStaticShapes(graph, 'preparing a step');
  return prepareGraph(s, step, graph, opts);
}

async function prepareGraph(s: Session, step: number, graph: Graph, opts: PrepareStepOptions): Promise<PreparedStep> {
  const st = s.at(step);
  const label = `${s.source} at step ${step} (${st.pass})`;
  const backend = await useBackend(opts.backend ?? DEFAULT_BACKEND, { onWarning: opts.onWarning });
  requireSupported(backend, graph, label);
  // a graph bound to the sizes of given inputs is cached under its step's graph, keyed by those sizes,
  // so a run at other sizes replaces (and disposes) the program instead of piling up programs
  const sizes = graph === st.graph ? '' : ` inputs=${graph.inputs.map((i) => i.type.shape.join('x')).join(',')}`;
  const program = await s.programs.get(st.graph, backend.name, `threads=${opts.threads ?? ''} tuning=${opts.tuning ?? ''} fallback=${opts.fallback ?? ''} tf32=${opts.tf32 ?? ''}${sizes}`,
    () => backend.prepare(graph, undefined, {
      threads: opts.threads, tuning: opts.tuning, onProgress: opts.onPrepare, signal: opts.signal, ...(opts.fallback === false ? { fallback: false } : {}),
      ...(opts.tf32 ? { tf32: true } : {}),
    }));
  return { label, step, backend: backend.name, graph, program };
}

/** Runs a step of `s` on a backend, timed (see the module header). */
export async function executeStep(s: Session, opts: ExecuteOptions = {}, perKernel = false): Promise<SessionRun> {
  const step = opts.step ?? s.current;
  const st = s.at(step);
  if (!opts.inputs) requireStaticShapes(st.graph, 'running a step');
  const { graph, inputs } = bindInputs(st.graph, opts.inputs ? { values: opts.inputs } : { random: { seed: opts.seed ?? 0 } });
  const { label, backend, program } = await prepareGraph(s, step, graph, opts);
  const timing = await timeProgram(program, inputs, {
    warmup: opts.warmup, repeat: opts.repeat, perKernel, beforeRun: opts.beforeRun, onKernel: opts.onKernel, signal: opts.signal,
  });
  const check = opts.check ? await checkAgainstReference(graph, program, inputs, timing.outputs) : undefined;
  return { label, step, backend, graph, inputs, timing, run: runTiming(graph, timing), program, ...(check ? { check } : {}) };
}

/** Per-node timings of a step of `s` on a backend (see the module header). */
export async function timeStep(s: Session, opts: ExecuteOptions = {}): Promise<NodeTimings> {
  const r = await executeStep(s, opts, true);
  // the device's FP32 peak, for "% of peak": a backend that cannot measure it (or a probe that fails) leaves it unknown
  const peak = r.program.peakGflops ? await r.program.peakGflops().catch(() => null) : null;
  return nodeTimings(r.graph, r.inputs, r.timing, r.label, peak);
}
