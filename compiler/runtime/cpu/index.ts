/**
 * The native CPU backend `cpu`: the graph lowered to kernel IR (codegen/lower) in the memory plan's
 * execution order, rendered to one C file (codegen/render.ts with lang/c.ts), compiled with the system
 * compiler and OpenMP through the content-hash object cache (native/object-cache.ts), and loaded into
 * this process through koffi (native/library.ts).
 *
 * prepare: tuning (runtime/tune: schedule candidates measured once per shape and machine, cached on
 * disk; the `tuning` option, KILN_TUNING) → lowering with the tuned choices → C source (+ the entry
 * points of layout.ts, segments.ts and timed.ts) → build (a cache hit when the same source, flags,
 * compiler and CPU were built before) → load → bind `kiln_set_threads` and the run entries (timed.ts).
 * All buffers live in one ArrayBuffer (layout.ts: intermediates share bytes by lifetime unless the
 * program has fallback nodes; kernel scratch shares one region); constants are copied in once here.
 *
 * run: inputs are copied into their slots; then one native call of `kiln_run_at` (with fallback
 * nodes, one `kiln_run_segment` call per native segment and the fallback nodes in between); outputs
 * are copied out of their slots into fresh tensors (a graph output that is a view of an input or
 * constant included). The run loop is timed.ts's `nativeRunner`.
 *
 * Per-kernel timings (`onKernel`): the same native calls, made to the timed entries
 * (`kiln_run_timed_at`, `kiln_run_segment_timed`), which read CLOCK_MONOTONIC around each kernel call
 * in C and return each kernel's milliseconds; then one KernelEvent per kernel, in kernel order, keyed
 * to the kernel's name and the IR node ids it computes. A kernel's time is its call's wall time,
 * its OpenMP fork and join included. Timing in C rather than around one koffi call per kernel keeps
 * the koffi round trip out of every kernel and the OpenMP threads hot between kernels, as in an
 * untimed run (between native calls they go to sleep: each kernel called alone paid a wake-up). A fallback node is timed in JavaScript (kernel `ref:ID`, `fallback: true`).
 * Cancellation (`signal`) is checked before each native call and fallback node (timed.ts).
 *
 * Threads: `kiln_set_threads(threads)` (omp_set_num_threads) is called before every run, so two
 * programs prepared with different thread counts each run with their own, in one process. Default:
 * all cores (cpuInfo().cores).
 *
 * Fallback (segments.ts): nodes that do not lower run on their reference kernels inside the same
 * program, between native segments (`kiln_run_segment`), on views of the same buffer; the program
 * lists them (`fallbacks`, and the artifact `fallback.txt`) and reports them in timings
 * (`KernelEvent.fallback`). `PrepareOptions.fallback: false` refuses such a graph instead, naming the
 * nodes. A graph whose input sizes are not concrete, or with a node neither lowering nor the reference
 * kernels can run, is refused either way (`cpuUnsupported`); `cpuFallbacks` lists what would fall back.
 * A value whose size is known only at run time (a Loop's stacked scan outputs, ConcatFromSequence's
 * result) has no slot: the nodes that write or read it are fallback nodes (codegen/lower says why) and
 * it is held on the TypeScript side like a sequence; as a graph output it is returned with the run's shape.
 * Control flow (If, Loop, Scan) is such a host step: the control stays on the host and each region body
 * is compiled as a cpu program of its own (regions.ts; the artifact `regions.txt` says which bodies
 * compiled and which run on the reference executor, and why), called by the op's value kernel with the
 * values the body captures read from the buffer (runtime/fallback.ts); its time in the timings is the
 * whole region's.
 *
 * Not yet: the memory plan's offsets are not used (see layout.ts).
 */
import type { Graph } from '../../ir/graph.ts';
import { nodeId, valueTypes } from '../../ir/graph.ts';
import { Tensor } from '../../ir/tensor.ts';
import type { DType, TensorData } from '../../ir/dtype.ts';
import { KilnError } from '../../errors.ts';
import type { MemoryPlan } from '../../schedule/plan.ts';
import { lowerGraph } from '../../codegen/lower/index.ts';
import type { LowerTarget } from '../../codegen/lower/context.ts';
import { renderKernel, renderProgram } from '../../codegen/render.ts';
import { C } from '../../codegen/lang/c.ts';
import { printKernel, printProgram } from '../../codegen/print.ts';
import { findCCompiler } from '../native/c-compiler.ts';
import { buildSharedObject } from '../native/object-cache.ts';
import { loadLibrary } from '../native/library.ts';
import { cpuInfo } from '../native/cpu-features.ts';
import { fp32PeakGflops } from '../native/peak.ts';
import fs from 'node:fs';
import type { Artifact, Backend, PrepareOptions, Program, RunOptions, Unsupported } from '../backend.ts';
import { checkInputs } from '../inputs.ts';
import { entrySource, layoutBuffers } from './layout.ts';
import { FallbackValues, byteAddressable, segmentEntrySource } from './segments.ts';
import { nodeLines, planSteps } from '../fallback.ts';
import { nativeRunner, timedEntrySource } from './timed.ts';
import { cpuUnsupported, referenceGaps } from './support.ts';
import { compileRegions, regionRunners } from './regions.ts';
import type { Value } from '../../ir/value.ts';
import { type TuningReport, tuneGraph, tuningMode, tuningReport } from '../tune/tuner.ts';
import { TuningCache, machineFingerprint } from '../tune/cache.ts';

export { cpuFallbacks, cpuUnsupported } from './support.ts';

/** A prepared cpu program, with what tests and tools want to see. */
export interface CpuProgram extends Program {
  /** Threads every run uses. */
  readonly threads: number;
  /** True when the shared object came from the cache (nothing compiled). */
  readonly cacheHit: boolean;
  /** Milliseconds the C compiler ran (0 on a cache hit). */
  readonly compileMs: number;
  /** Nodes that run on their reference kernels (empty when the whole graph compiled). */
  readonly fallbacks: readonly Unsupported[];
  /** How the kernels' schedule choices were made: one row per (node, template, key, candidate). */
  readonly tuning: TuningReport;
  /** Runs synchronously (a compiled region body inside a host step: regions.ts). */
  runSync(inputs: ReadonlyMap<string, Value>): Tensor[];
}

/**
 * How the cpu backend builds C: OpenMP, and -fwrapv (the scalar-op table's integers wrap; signed
 * overflow is otherwise undefined in C), -fno-math-errno (libm calls set no errno, so repeated
 * calls can be merged; results unchanged) and -fno-trapping-math (floating-point operations are
 * assumed not to trap, which kiln never enables: GCC may then evaluate both sides of a select, so a
 * loop with clamps or NaN tests vectorises; without it GCC keeps them as branches, e.g. a GELU
 * epilogue (kiln_erff's clamp) stayed scalar: bert's 128x1024x256 GELU matmul 0.78 -> 0.48 ms in
 * isolation with the epilogue vectorised. Values, NaN and infinities are unchanged; only the
 * floating-point exception flags may differ, and nothing reads them). The tuner builds its
 * measuring files the same way.
 */
const buildC = (source: string, name: string) =>
  buildSharedObject(source, { name, openmp: true, extraFlags: ['-fwrapv', '-fno-math-errno', '-fno-trapping-math'] });

const bytesOf = (d: TensorData): Uint8Array => {
  const v = d as Uint8Array;
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
};


/** The refusal of a graph with nodes that do not lower: `why` says why they cannot fall back. */
function refuse(graph: Graph, problems: readonly Unsupported[], why: string): KilnError {
  const first = problems[0];
  return new KilnError(`the cpu backend cannot compile ${problems.length} node(s) of @${graph.name} (${why}):\n${nodeLines(problems, 20)}`,
    first.node ? { node: first.node, op: first.op } : {});
}

/** What the cpu backend lowers for: the widest float registers of this CPU (-march=native compiles for them). */
export function cpuLowerTarget(): LowerTarget {
  return { vectorBits: cpuInfo().f32Lanes * 32 };
}

/** Prepares `graph` on the cpu backend (see the module header). */
export async function prepareCpu(graph: Graph, plan: MemoryPlan | undefined, opts: PrepareOptions = {}): Promise<CpuProgram> {
  const t0 = performance.now();
  const progress = opts.onProgress ?? (() => {});
  const threads = opts.threads ?? cpuInfo().cores;
  if (!Number.isInteger(threads) || threads < 1 || threads > 4096) throw new KilnError(`bad thread count ${threads}: use a whole number from 1 to 4096`);
  const cancelled = () => { if (opts.signal?.aborted) throw new KilnError('the preparation was cancelled'); };

  const target = cpuLowerTarget();
  const lowerOptions = plan ? { order: plan.order, target } : { target };
  // 'tuning' progress comes only when something is measured (tuneGraph's onProgress)
  const tuned = await tuneGraph(graph, {
    lowerOptions, mode: tuningMode(opts.tuning), threads, cache: new TuningCache(machineFingerprint(threads)), build: buildC,
    onProgress: (f) => progress('tuning', f), signal: opts.signal,
  });
  progress('lowering', 0);
  const { program, unsupported: fallbacks, tunables } = lowerGraph(graph, { ...lowerOptions, choices: tuned.choices });
  if (fallbacks.length && opts.fallback === false) throw refuse(graph, fallbacks, 'reference fallback is off; run it with --backend ref or allow fallback');
  if (fallbacks.length) {
    const cannot = referenceGaps(graph, fallbacks);
    if (cannot.length) throw refuse(graph, cannot, 'the reference kernels cannot run them either');
  }
  const tuning = tuningReport(graph, tunables, tuned);
  // intermediates share bytes by lifetime unless fallback nodes read and write between segments
  const layout = layoutBuffers(program, { reuse: fallbacks.length === 0 });
  const steps = planSteps(graph, program, fallbacks, plan?.order);
  let source: string;
  try {
    source = renderProgram(C, program) + entrySource(layout.slots.length)
      + (fallbacks.length ? segmentEntrySource(program, layout.slotOf, layout.slots.length, steps) : '')
      + timedEntrySource(program, layout.slotOf, layout.slots.length, steps);
  } catch (e) {
    throw new KilnError(`the cpu backend cannot render @${graph.name} to C: ${(e as Error).message}`);
  }
  cancelled();

  progress('compiling', 0.1);
  const name = program.name.slice(0, 64) || 'model';
  const built = await buildC(source, name);
  cancelled();

  progress('loading', 0.9);
  const lib = loadLibrary(built.objectPath);
  const setThreads = lib.func('kiln_set_threads', 'void (int n)');

  // the one buffer, constants copied in once
  const buffer = new ArrayBuffer(layout.totalBytes);
  const slotBytes = layout.slots.map((s) => new Uint8Array(buffer, s.offset, s.bytes));
  const offsets = new BigInt64Array(layout.slots.map((s) => BigInt(s.offset)));
  const bytesOfValue = (value: string) => slotBytes[layout.slotOf.get(value)!];
  const values = new FallbackValues(graph, layout, buffer);
  for (const c of graph.constants) {
    if (!layout.slotOf.has(c.name) || !byteAddressable(c.type.dtype)) continue;
    if (!c.data) throw new KilnError(`constant '%${c.name}' has no data (IR text parsed without its weights)`, { node: c.name });
    bytesOfValue(c.name).set(bytesOf(c.data.data));
  }
  // constants the lowering made (packed weights): their data is in the program
  for (const b of program.buffers) if (b.packed) bytesOfValue(b.value).set(bytesOf(b.packed.data));
  const runNative = nativeRunner(lib, { program, steps, buffer, offsets, values });
  // the bodies of control-flow host steps, compiled as programs of their own where they can be (regions.ts)
  const regions = await compileRegions(graph, steps, { ...opts, threads }, prepareCpu);
  for (const [region, run] of regionRunners(regions)) values.compiledRegions.set(region, run);

  const types = valueTypes(graph);
  const constantNames = new Set(graph.constants.map((c) => c.name));
  const outputs = graph.outputs.map((name) => {
    const t = types.get(name)!;
    return { name, dtype: t.dtype as DType, shape: t.shape };
  });
  for (const o of outputs) {
    // a value sized only at run time is held on the host (lowerGraph gives it no buffer)
    const needsSlot = byteAddressable(o.dtype) && !constantNames.has(layout.buffers.get(o.name)?.aliasOf ?? o.name) && o.shape.every((d) => typeof d === 'number');
    if (needsSlot && !layout.slotOf.has(o.name)) throw new KilnError(`graph output '%${o.name}' has no program buffer`, { node: o.name });
  }

  const allNodes = graph.nodes.map(nodeId);
  const log = fs.existsSync(built.logPath) ? fs.readFileSync(built.logPath, 'utf8') : '';
  const artifacts: Artifact[] = [
    { name: `${name}.c`, kind: 'source', content: source, nodes: allNodes },
    { name: 'command.txt', kind: 'command', content: built.command },
    { name: 'build.log', kind: 'log', content: log },
    { name: `${name}.so`, kind: 'binary', content: built.objectPath },
    { name: `${name}.kir`, kind: 'ir', content: printProgram(program), nodes: allNodes },
    { name: 'tuning.json', kind: 'log', content: JSON.stringify(tuning, null, 2) + '\n', nodes: [...new Set(tuning.rows.map((r) => r.node))] },
    ...program.kernels.flatMap((k): Artifact[] => [
      { name: `${k.name}.c`, kind: 'source', content: renderKernel(C, k).join('\n') + '\n', nodes: k.nodes },
      { name: `${k.name}.kir`, kind: 'ir', content: printKernel(k), nodes: k.nodes },
    ]),
    ...(regions.lines.length ? [{ name: 'regions.txt', kind: 'log' as const, content: `region bodies of host steps:\n${regions.lines.map((l) => `  ${l}`).join('\n')}\n` }] : []),
    ...(fallbacks.length ? [{ name: 'fallback.txt', kind: 'log' as const, nodes: fallbacks.map((u) => u.node!),
      content: `${fallbacks.length} node(s) run on the reference kernels:\n${nodeLines(fallbacks)}\n` }] : []),
  ];
  let disposed = false;
  progress('ready', 1);
  const runSync = (given: ReadonlyMap<string, Value>, ropts: RunOptions = {}): Tensor[] => {
    if (disposed) throw new KilnError('this cpu program was disposed; prepare it again');
    checkInputs(graph, given); // names, dtypes and shapes (inputs.ts); shapes are concrete here
    for (const i of graph.inputs) values.write(i.name, given.get(i.name)!);
    setThreads(threads);
    runNative(ropts);
    return outputs.map((o) => {
      const v = values.read(o.name) as Tensor; // a graph output is a tensor (containerBoundary)
      return new Tensor(o.dtype, v.shape, v.data.slice() as TensorData); // v's shape: the type's, or the run's for a host-held one
    });
  };

  return {
    backend: 'cpu', prepareMs: performance.now() - t0, threads, cacheHit: built.hit, compileMs: built.compileMs, artifacts, fallbacks, tuning,
    tolerances: program.kernels.flatMap((k) => (k.tolerance ? [{ kernel: k.name, nodes: k.nodes, rel: k.tolerance.rel, what: k.tolerance.what }] : [])),
    peakGflops: () => fp32PeakGflops({ threads }), // probed once per CPU and thread count, then cached on disk
    async run(given: ReadonlyMap<string, Value>, ropts: RunOptions = {}): Promise<Tensor[]> {
      return runSync(given, ropts);
    },
    runSync: (given: ReadonlyMap<string, Value>) => runSync(given),
    async dispose() {
      if (disposed) return;
      disposed = true;
      for (const p of regions.programs.values()) await p.dispose();
      lib.dispose();
    },
  };
}

/** The native CPU backend (register it where the backends are listed; see the report). */
export const cpuBackend: Backend = {
  name: 'cpu',
  summary: 'generated C compiled by the system compiler with OpenMP, loaded in-process (native CPU)',
  async available() {
    const cc = findCCompiler();
    return cc ? { ok: true } : { ok: false, reason: 'no C compiler found (set CC or install gcc/clang)' };
  },
  unsupported: cpuUnsupported,
  prepare: prepareCpu,
};
