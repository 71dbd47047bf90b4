/**
 * The native CPU backend `cpu`: the graph lowered to kernel IR (codegen/lower) in the memory plan's
 * execution order, rendered to one C file (codegen/render.ts with lang/c.ts), compiled with the system
 * compiler and OpenMP through the content-hash object cache (native/object-cache.ts), and loaded into
 * this process through koffi (native/library.ts).
 *
 * prepare: lowering → C source (+ the entry points of layout.ts) → build (a cache hit when the same
 * source, flags, compiler and CPU were built before) → load → bind `kiln_run_at`, `kiln_set_threads`
 * and every kernel function. All buffers live in one ArrayBuffer (layout.ts: one slot per value, no
 * reuse); constants are copied in once here.
 *
 * run: inputs are copied into their slots; then either one native call of `kiln_run_at` (the fast
 * path) or, when `onKernel` is given, each kernel called in turn with `performance.now()` around it
 * (one KernelEvent per kernel, keyed to the IR node ids it computes); outputs are copied out of their
 * slots into fresh tensors (a graph output that is a view of an input or constant included).
 *
 * Threads: `kiln_set_threads(threads)` (omp_set_num_threads) is called before every run, so two
 * programs prepared with different thread counts each run with their own, in one process. Default:
 * all cores (cpuInfo().cores).
 *
 * Not yet: nodes that do not lower are refused at prepare with a KilnError listing them (no reference
 * fallback inside the program); the memory plan's offsets are not used (see layout.ts).
 */
import type { Graph } from '../../ir/graph.ts';
import { nodeId, valueTypes } from '../../ir/graph.ts';
import { Tensor } from '../../ir/tensor.ts';
import { type DType, type TensorData, dtypeInfo } from '../../ir/dtype.ts';
import { KilnError } from '../../errors.ts';
import type { MemoryPlan } from '../../schedule/plan.ts';
import { lowerGraph, loweringUnsupported } from '../../codegen/lower/index.ts';
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

/** A prepared cpu program, with what tests and tools want to see. */
export interface CpuProgram extends Program {
  /** Threads every run uses. */
  readonly threads: number;
  /** True when the shared object came from the cache (nothing compiled). */
  readonly cacheHit: boolean;
  /** Milliseconds the C compiler ran (0 on a cache hit). */
  readonly compileMs: number;
}

const bytesOf = (d: TensorData): Uint8Array => {
  const v = d as Uint8Array;
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
};

/** The node-level refusal of a graph with nodes that do not lower. */
function refuse(graph: Graph, problems: readonly Unsupported[]): KilnError {
  const lines = problems.slice(0, 20).map((p) => `  ${p.node ? `%${p.node} ` : ''}${p.op ?? ''}: ${p.reason}`);
  const more = problems.length > 20 ? `\n  ... and ${problems.length - 20} more` : '';
  const first = problems[0];
  return new KilnError(`the cpu backend cannot compile ${problems.length} node(s) of @${graph.name} (no reference fallback yet; run it with --backend ref):\n${lines.join('\n')}${more}`,
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

  progress('lowering', 0);
  const target = cpuLowerTarget();
  const { program, unsupported } = lowerGraph(graph, plan ? { order: plan.order, target } : { target });
  if (unsupported.length) throw refuse(graph, unsupported);
  const layout = layoutBuffers(program);
  let source: string;
  try {
    source = renderProgram(C, program) + entrySource(layout.slots.length);
  } catch (e) {
    throw new KilnError(`the cpu backend cannot render @${graph.name} to C: ${(e as Error).message}`);
  }
  cancelled();

  progress('compiling', 0.1);
  const name = program.name.slice(0, 64) || 'model';
  // -fwrapv: the scalar-op table's integers wrap (signed overflow is otherwise undefined in C);
  // -fno-math-errno: libm calls set no errno, so repeated calls can be merged (results unchanged)
  const built = await buildSharedObject(source, { name, openmp: true, extraFlags: ['-fwrapv', '-fno-math-errno'] });
  cancelled();

  progress('loading', 0.9);
  // libgomp reads its wait policy when it is first loaded: by default a thread that reaches a barrier
  // spins ~300k times before sleeping, and on cores shared with other processes (a CI runner, other
  // jobs) the spinning thread takes the core its partner needs: measured here (2 cores, load ~9),
  // resnet50 ran 5.4x slower than onnxruntime with the default and 1.1x with passive waiting. A
  // user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT wins.
  if (process.env.OMP_WAIT_POLICY === undefined && process.env.GOMP_SPINCOUNT === undefined) process.env.OMP_WAIT_POLICY = 'passive';
  const lib = loadLibrary(built.objectPath);
  const runAt = lib.func('kiln_run_at', 'void (void *base, void *offsets)');
  const setThreads = lib.func('kiln_set_threads', 'void (int n)');
  const kernelFns = new Map(program.kernels.map((k) => [k.name,
    lib.func(k.name, `void (${k.params.map(() => 'void *').join(', ') || 'void'})`)]));

  // the one buffer, constants copied in once
  const buffer = new ArrayBuffer(layout.totalBytes);
  const slotBytes = layout.slots.map((s) => new Uint8Array(buffer, s.offset, s.bytes));
  const offsets = new BigInt64Array(layout.slots.map((s) => BigInt(s.offset)));
  const bytesOfValue = (value: string) => slotBytes[layout.slotOf.get(value)!];
  for (const c of graph.constants) {
    if (!layout.slotOf.has(c.name)) continue;
    if (!c.data) throw new KilnError(`constant '%${c.name}' has no data (IR text parsed without its weights)`, { node: c.name });
    bytesOfValue(c.name).set(bytesOf(c.data.data));
  }
  // constants the lowering made (packed weights): their data is in the program
  for (const b of program.buffers) if (b.packed) bytesOfValue(b.value).set(bytesOf(b.packed.data));
  const calls = program.calls.map((c) => {
    const k = program.kernels.find((x) => x.name === c.kernel)!;
    return { kernel: k.name, nodes: k.nodes, fn: kernelFns.get(k.name)!, args: c.args.map(bytesOfValue) };
  });

  const types = valueTypes(graph);
  const inputs = graph.inputs.filter((i) => layout.slotOf.has(i.name));
  const outputs = graph.outputs.map((name) => {
    const t = types.get(name)!;
    return { name, dtype: t.dtype as DType, shape: t.shape as number[] };
  });
  for (const o of outputs) if (!layout.slotOf.has(o.name)) throw new KilnError(`graph output '%${o.name}' has no program buffer`, { node: o.name });

  const allNodes = graph.nodes.map(nodeId);
  const log = fs.existsSync(built.logPath) ? fs.readFileSync(built.logPath, 'utf8') : '';
  const artifacts: Artifact[] = [
    { name: `${name}.c`, kind: 'source', content: source, nodes: allNodes },
    { name: 'command.txt', kind: 'command', content: built.command },
    { name: 'build.log', kind: 'log', content: log },
    { name: `${name}.so`, kind: 'binary', content: built.objectPath },
    { name: `${name}.kir`, kind: 'ir', content: printProgram(program), nodes: allNodes },
    ...program.kernels.flatMap((k): Artifact[] => [
      { name: `${k.name}.c`, kind: 'source', content: renderKernel(C, k).join('\n') + '\n', nodes: k.nodes },
      { name: `${k.name}.kir`, kind: 'ir', content: printKernel(k), nodes: k.nodes },
    ]),
  ];
  let disposed = false;
  progress('ready', 1);

  return {
    backend: 'cpu', prepareMs: performance.now() - t0, threads, cacheHit: built.hit, compileMs: built.compileMs, artifacts,
    peakGflops: () => fp32PeakGflops({ threads }), // probed once per CPU and thread count, then cached on disk
    async run(given: ReadonlyMap<string, Tensor>, ropts: RunOptions = {}): Promise<Tensor[]> {
      if (disposed) throw new KilnError('this cpu program was disposed; prepare it again');
      checkInputs(graph, given); // names, dtypes and shapes (inputs.ts); shapes are concrete here
      for (const i of inputs) bytesOfValue(i.name).set(bytesOf(given.get(i.name)!.data));
      setThreads(threads);
      const onKernel = ropts.onKernel;
      if (!onKernel && !ropts.signal) runAt(buffer, offsets);
      else {
        for (const c of calls) {
          if (ropts.signal?.aborted) throw new KilnError('the run was cancelled');
          const t = performance.now();
          c.fn(...c.args);
          onKernel?.({ kernel: c.kernel, nodes: c.nodes, ms: performance.now() - t });
        }
      }
      return outputs.map((o) => {
        const data = dtypeInfo(o.dtype).alloc(o.shape.reduce((a, b) => a * b, 1));
        bytesOf(data).set(bytesOfValue(o.name));
        return new Tensor(o.dtype, o.shape, data);
      });
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
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
    return cc ? { ok: true } : { ok: false, reason: 'no C compiler found (set CC, or install cc, gcc or clang)' };
  },
  unsupported: loweringUnsupported,
  prepare: prepareCpu,
};
