/**
 * The one execution interface every backend implements: the reference executor, the arena executor,
 * and the compiled backends (C on the CPU, WGSL on WebGPU, CUDA). Everything that runs a graph —
 * `kiln run`, `kiln conformance`, the Session's run and timings, `%run`/`%timings` in the kernel and
 * the REPL, `npm run bench` — goes through a Backend found by name in this registry.
 *
 * A backend prepares a graph once (`prepare`: compile, load, pack weights; asynchronous because
 * compilers and GPU devices are) and returns a Program that can be run many times. What a backend
 * cannot handle is reported up front by `unsupported`, node by node with reasons, so callers can
 * fall back or explain instead of failing mid-run. A Program keeps the artifacts of its preparation
 * (sources, compiler commands and logs, binaries) for the user to open, each keyed to IR node ids.
 */
import type { Graph } from '../ir/graph.ts';
import type { Value } from '../ir/value.ts';
import type { MemoryPlan } from '../schedule/plan.ts';
import type { TuningReport } from './tune/tuner.ts';

/** Why a backend cannot run one node (or the whole graph, when `node` is absent). */
export interface Unsupported {
  /** IR node id (the node's first output), when the reason is about one node. */
  readonly node?: string;
  readonly op?: string;
  /** Plain words: "op Einsum is not lowered", "f64 is not supported on WebGPU". */
  readonly reason: string;
}

/** Options of `Backend.prepare`. */
export interface PrepareOptions {
  /** Threads a CPU backend may use (default: all cores). */
  readonly threads?: number;
  /** Reports progress of a long preparation (compiling), fraction in [0, 1]. */
  readonly onProgress?: (what: string, fraction: number) => void;
  /** Cancels a long preparation. */
  readonly signal?: AbortSignal;
  /**
   * Whether nodes the backend cannot compile may run on the reference kernels inside the program
   * (default true); false refuses such a graph at prepare, naming its nodes.
   */
  readonly fallback?: boolean;
  /**
   * Schedule tuning of a compiled backend (runtime/tune): `measure` candidates not yet cached (the
   * default; KILN_TUNING overrides the default), use only `cached` results, or `off` (the defaults).
   */
  readonly tuning?: 'measure' | 'cached' | 'off';
  /**
   * f32 matrix products may round their operands to tf32 on tensor cores (the cuda backend; PyTorch's
   * allow_tf32): faster, about 1e-3 relative error instead of f32's. Default false.
   */
  readonly tf32?: boolean;
}

/** One kernel's execution, reported by `Program.run` when asked. */
export interface KernelEvent {
  /** The kernel's name in the program's artifacts. */
  readonly kernel: string;
  /** IR node ids the kernel computes (several after fusion into one kernel). */
  readonly nodes: readonly string[];
  /** Wall time of the kernel in milliseconds (device time on a GPU). */
  readonly ms: number;
  /** True when the node ran on its reference kernel inside a compiled program (a fallback). */
  readonly fallback?: boolean;
  /** GPU backends: the dispatch size `[gx,gy,gz]x[bx,by,bz]` (workgroups × threads per workgroup). */
  readonly dispatch?: string;
  /** What measured `ms` on a GPU: the device's timestamps, or the host (submit to completion). */
  readonly clock?: 'device' | 'host';
}

/** Options of one `Program.run`. */
export interface RunOptions {
  /** Called after each kernel with its time (timings); omit for the fastest run. */
  readonly onKernel?: (e: KernelEvent) => void;
  /** Cancels the run between kernels (a compiled backend: between its native calls, see its module). */
  readonly signal?: AbortSignal;
  /** false: a GPU backend issues every launch itself instead of replaying a captured graph (cuda). */
  readonly graph?: boolean;
}

/** One artifact of a preparation: generated source, a compiler command and its log, a binary. */
export interface Artifact {
  /** File-like name: `model.c`, `build.log`, `model.so`, `kernel_17.ptx`. */
  readonly name: string;
  readonly kind: 'source' | 'command' | 'log' | 'binary' | 'ir' | 'plan' | 'manifest';
  /** Text for text artifacts; a path for binaries kept on disk. */
  readonly content: string;
  /** IR node ids the artifact belongs to (empty for the whole program). */
  readonly nodes?: readonly string[];
}

/** A kernel's declared numeric bound: max |got − want| ≤ rel · max |want| over its output. */
export interface DeclaredTolerance {
  readonly kernel: string;
  /** IR node ids the kernel computes. */
  readonly nodes: readonly string[];
  readonly rel: number;
  /** Why, in words (`Winograd F(4x4,3x3) convolution, f32`). */
  readonly what: string;
}

/** The device a program runs on. */
export interface DeviceInfo {
  /** One line naming it (`llvmpipe: Mesa 25.0.7 (LLVM 15.0.6) (software: runs on the CPU)`). */
  readonly name: string;
  readonly features: readonly string[];
  readonly limits: Readonly<Record<string, number>>;
}

/** A prepared graph: run it as often as needed. */
export interface Program {
  /** The backend that prepared it. */
  readonly backend: string;
  /** Milliseconds `prepare` took (compile time, not import or passes). */
  readonly prepareMs: number;
  /**
   * Runs on inputs by graph input name; outputs in `graph.outputs` order. Values are tensors except
   * where the graph's types are sequences or optionals (ir/value.ts); only backends that run such
   * graphs (the reference executor) ever see or return those.
   */
  run(inputs: ReadonlyMap<string, Value>, opts?: RunOptions): Promise<Value[]>;
  readonly artifacts: readonly Artifact[];
  /**
   * Kernels whose arithmetic differs from the reference executor's by design (Winograd), with the
   * norm-relative bound each declares: what the numeric check of a compiled program (check.ts) allows.
   */
  readonly tolerances?: readonly DeclaredTolerance[];
  /**
   * Nodes this program runs on the reference kernels because the backend could not compile them, with
   * the reasons (absent or empty: everything runs compiled).
   */
  readonly fallbacks?: readonly Unsupported[];
  /**
   * The FP32 peak in GFLOP/s of the device this program runs on: measured at the program's thread
   * count on a CPU, the datasheet figure on a GPU (cuda/peak.ts); the denominator of the timings'
   * "% of peak" (absent when the backend does not know it).
   */
  peakGflops?(): Promise<number>;
  /**
   * How the kernels' schedule choices (tile sizes, variants) were made: measured now, from the tuning
   * cache, or defaults, one row per (node, template, key, candidate) (runtime/tune; the `tuning`
   * command's table). Absent on backends that do not tune.
   */
  readonly tuning?: TuningReport;
  /**
   * The device it runs on, for a run's metadata (a GPU backend: the adapter's name, features and
   * limits); absent on backends that run in this process on the CPU.
   */
  readonly device?: DeviceInfo;
  /** Releases native resources (a loaded library, device buffers); the program cannot run after. */
  dispose(): Promise<void>;
}

/** An execution backend. */
export interface Backend {
  /** The name users type: `ref`, `arena`, `cpu`, `webgpu`, `cuda`. */
  readonly name: string;
  /** One line for listings and help. */
  readonly summary: string;
  /** Whether the backend can run here at all (a C compiler, a GPU); a reason when it cannot. */
  available(): Promise<{ ok: true } | { ok: false; reason: string }>;
  /** What in `graph` this backend cannot run (empty when it can run all of it). */
  unsupported(graph: Graph): Unsupported[];
  /** Prepares `graph` (with its memory plan, when the backend executes one) for running. */
  prepare(graph: Graph, plan: MemoryPlan | undefined, opts?: PrepareOptions): Promise<Program>;
  /**
   * Builds `graph` for a named target without its device (a GPU backend on a machine without the
   * GPU: `kiln build --arch`): every artifact, nothing loaded. Absent where building needs the device.
   */
  build?(graph: Graph, plan: MemoryPlan | undefined, opts: BuildOptions): Promise<Built>;
}

/** Options of Backend.build: the preparation's, plus the target architecture (`sm_90`). */
export interface BuildOptions extends PrepareOptions {
  readonly arch: string;
}

/** What Backend.build made. */
export interface Built {
  readonly backend: string;
  /** The architecture it was built for. */
  readonly target: string;
  readonly prepareMs: number;
  readonly artifacts: readonly Artifact[];
  /** Nodes the program would run on the host (as Program.fallbacks). */
  readonly fallbacks: readonly Unsupported[];
}

const backends = new Map<string, Backend>();

/** Adds a backend; a duplicate name throws. Returns a function that removes it again (for tests). */
export function registerBackend(b: Backend): () => void {
  if (backends.has(b.name)) throw new Error(`backend '${b.name}' is already registered`);
  backends.set(b.name, b);
  return () => {
    if (backends.get(b.name) === b) backends.delete(b.name);
  };
}

/** The backend named `name`, or undefined. */
export function findBackend(name: string): Backend | undefined {
  return backends.get(name);
}

/** Every registered backend's name, in registration order (the reference executor first). */
export function backendNames(): string[] {
  return [...backends.keys()];
}
