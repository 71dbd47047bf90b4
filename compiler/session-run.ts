/**
 * Running a session's step on a backend: what `Session.execute` and `Session.timings` do (and through
 * them the `run` and `timings` commands, `%run`/`%timings` in the kernel and the REPL).
 *
 * The step's graph is bound to its inputs (compiler/runtime/inputs.ts `bindInputs`: seeded random
 * values, or tensors the caller gives), prepared on the named backend (compiler/runtime/backends.ts,
 * default the reference executor) and timed by the one timing loop (compiler/runtime/timings.ts
 * `timeProgram`). A program is prepared once per bound graph, backend and options and kept for the
 * session's later runs (graphs are immutable snapshots, so the key is the graph object itself): `run`
 * then `timings` on a compiled backend compiles once.
 */
import type { Graph } from './ir/graph.ts';
import type { Tensor } from './ir/tensor.ts';
import type { Session } from './session.ts';
import { requireStaticShapes } from './ops/bind-shapes.ts';
import type { KernelEvent, Program } from './runtime/backend.ts';
import { DEFAULT_BACKEND, requireSupported, useBackend } from './runtime/backends.ts';
import { bindInputs } from './runtime/inputs.ts';
import { type NodeTimings, type ProgramTiming, type RunTiming, nodeTimings, runTiming, timeProgram } from './runtime/timings.ts';

/** Options of `Session.execute` and `Session.timings`. */
export interface ExecuteOptions {
  /** A registered backend's name (default: the reference executor). */
  readonly backend?: string;
  /** The step whose graph runs (default: the current step). */
  readonly step?: number;
  /** Seed of the random inputs (default 0); ignored when `inputs` are given. */
  readonly seed?: number;
  /** Inputs by graph input name instead of random ones; checked against the graph's input types. */
  readonly inputs?: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>;
  /** Timed runs (default 1). */
  readonly repeat?: number;
  /** Untimed runs first (default 0). */
  readonly warmup?: number;
  /** Threads a CPU backend may use (default: all cores). */
  readonly threads?: number;
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
  readonly inputs: ReadonlyMap<string, Tensor>;
  /** Times, kernels and outputs as measured. */
  readonly timing: ProgramTiming;
  /** Outputs with statistics, for views. */
  readonly run: RunTiming;
  /** The program that ran (kept by the Session per step graph, backend and threads). */
  readonly program: Program;
}

const programs = new WeakMap<Graph, Map<string, Promise<Program>>>();

/** Runs a step of `s` on a backend, timed (see the module header). */
export async function executeStep(s: Session, opts: ExecuteOptions = {}, perKernel = false): Promise<SessionRun> {
  const step = opts.step ?? s.current;
  const st = s.at(step);
  const label = `${s.source} at step ${step} (${st.pass})`;
  const backend = await useBackend(opts.backend ?? DEFAULT_BACKEND, { onWarning: opts.onWarning });
  if (!opts.inputs) requireStaticShapes(st.graph, 'running a step');
  const { graph, inputs } = bindInputs(st.graph, opts.inputs ? { tensors: opts.inputs } : { random: { seed: opts.seed ?? 0 } });
  requireSupported(backend, graph, label);
  const key = `${backend.name}/${opts.threads ?? ''}`;
  let byBackend = programs.get(graph);
  if (!byBackend) programs.set(graph, (byBackend = new Map()));
  let pending = byBackend.get(key);
  if (!pending) {
    pending = backend.prepare(graph, undefined, { threads: opts.threads, onProgress: opts.onPrepare, signal: opts.signal });
    byBackend.set(key, pending);
    pending.catch(() => byBackend!.delete(key)); // a failed preparation is tried again next time
  }
  const program = await pending;
  const timing = await timeProgram(program, inputs, {
    warmup: opts.warmup, repeat: opts.repeat, perKernel, beforeRun: opts.beforeRun, onKernel: opts.onKernel, signal: opts.signal,
  });
  return { label, step, backend: backend.name, graph, inputs, timing, run: runTiming(graph, timing), program };
}

/** Per-node timings of a step of `s` on a backend (see the module header). */
export async function timeStep(s: Session, opts: ExecuteOptions = {}): Promise<NodeTimings> {
  const r = await executeStep(s, opts, true);
  // the device's FP32 peak, for "% of peak": a backend that cannot measure it (or a probe that fails) leaves it unknown
  const peak = r.program.peakGflops ? await r.program.peakGflops().catch(() => null) : null;
  return nodeTimings(r.graph, r.inputs, r.timing, r.label, peak);
}
