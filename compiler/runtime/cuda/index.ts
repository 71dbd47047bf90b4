/**
 * The cuda backend: the GPU kernels of a graph (runtime/cuda/compile.ts: the same kernel IR and GPU
 * mapping as webgpu, spelled as CUDA by lang/cuda.ts) compiled for the device's architecture with nvcc
 * (nvcc.ts, cached by content) and run through the driver API (driver.ts, koffi: no CUDA runtime
 * library). Prepare: open device 0 → compile the unit for `sm_<major><minor>` → load the cubin and
 * find every kernel → one device arena laid out by the program's buffers (runtime/buffer-layout.ts,
 * 256-byte slots: the aligned vector loads rely on it) → constants and packed weights uploaded once.
 * Run: inputs copied in, the launches in order on the default stream with host fallback steps
 * (runtime/fallback.ts) between them, outputs copied out. A run that times no kernel replays the
 * whole model as one CUDA graph (captured at the first such run, driver.ts; not when a node runs on
 * the host, or with RunOptions.graph false): one launch instead of one per kernel. Timings
 * (`onKernel`): a CUDA event before and after every launch, read after the run (device time per
 * kernel, `clock: 'device'`), the launches issued one by one; "% of peak" is against the device's
 * datasheet FP32 peak (peak.ts).
 *
 * Without the NVIDIA driver or a device, `available` says which is missing and `kiln run --backend
 * cuda` runs on the reference backend with that message. `build` (kiln build --arch) compiles for a
 * named architecture without a device.
 */
import type { Graph } from '../../ir/graph.ts';
import { nodeId } from '../../ir/graph.ts';
import type { Tensor } from '../../ir/tensor.ts';
import { KilnError } from '../../errors.ts';
import type { MemoryPlan } from '../../schedule/plan.ts';
import { printKernel, printProgram } from '../../codegen/print.ts';
import type { Artifact, Backend, BuildOptions, Built, KernelEvent, PrepareOptions, Program, RunOptions } from '../backend.ts';
import { checkInputs } from '../inputs.ts';
import { layoutBuffers } from '../buffer-layout.ts';
import { compiledUnsupported, nodeLines, planSteps, requireFallbacksRunnable } from '../fallback.ts';
import { openCuda } from './driver.ts';
import { type CudaCompiled, type CudaLaunch, compileCudaSource } from './compile.ts';
import { type CudaBinary, type KernelResources, compileCuda, ptxEntries } from './nvcc.ts';
import { CudaValues, cudaBytes } from './values.ts';
import { cudaPeaks } from './peak.ts';
import fs from 'node:fs';

/** `[gx,gy,gz]x[bx,by,bz]`: blocks × threads per block, the launch size of the timing table. */
const launchText = (l: CudaLaunch) => `[${l.grid.join(',')}]x[${l.block.join(',')}]`;

/** Prepares `graph` on the cuda backend (see the module header). */
export async function prepareCuda(graph: Graph, plan: MemoryPlan | undefined, opts: PrepareOptions = {}): Promise<Program> {
  const t0 = performance.now();
  const progress = opts.onProgress ?? (() => {});
  const opened = openCuda();
  if (!opened.ok) throw new KilnError(`the cuda backend cannot run here: ${opened.reason}`);
  const { cuda } = opened;
  progress('lowering', 0);
  const compiled = compileCudaSource(graph, { ...(plan ? { order: plan.order } : {}), arch: cuda.info.arch, tf32: opts.tf32 ?? false });
  const { program, fallbacks, launches } = compiled;
  requireFallbacksRunnable('cuda', graph, fallbacks, opts.fallback !== false);
  progress('compiling', 0.2);
  const binary = compileCuda(compiled.source, cuda.info.arch, { name: program.name.replace(/[^A-Za-z0-9_-]/g, '_') });
  progress('loading', 0.7);
  const names = [...new Set(launches.map((l) => l.name))];
  const { module, functions } = cuda.loadModule(fs.readFileSync(binary.cubinPath), names);
  const layout = layoutBuffers(program, { reuse: fallbacks.length === 0, alignment: 256, bytes: cudaBytes });
  const base = cuda.alloc(layout.totalBytes);
  const values = new CudaValues(graph, layout, cuda, base);
  for (const c of graph.constants) if (values.resident(c.name) && c.data) values.upload(c.name, c.data.data);
  for (const b of program.buffers) if (b.packed) values.upload(b.value, b.packed.data);

  const byCall = new Map<number, CudaLaunch[]>();
  for (const l of launches) (byCall.get(l.call) ?? byCall.set(l.call, []).get(l.call)!).push(l);
  const steps = planSteps(graph, program, fallbacks, plan?.order).map((s) => (s.kind === 'fallback' ? s
    : { kind: 'gpu' as const, launches: s.calls.flatMap((c) => byCall.get(c) ?? []) }));
  const peaks = cudaPeaks(cuda.info);
  const artifacts = [...cudaArtifacts(graph, compiled, binary), { name: 'device.json', kind: 'manifest' as const, content: JSON.stringify({ ...cuda.info, peakGflops: peaks }, null, 2) + '\n' }];
  let disposed = false;
  // the whole model as one CUDA graph, captured at the first untimed run (host fallback steps cannot be captured)
  const replayable = steps.every((s) => s.kind === 'gpu');
  let exec: unknown;
  progress('ready', 1);

  const argsOf = (l: CudaLaunch) => l.args.map((a) => values.address(a));
  const what = (l: CudaLaunch) => `kernel ${l.name} (nodes ${l.kernel.nodes.map((n) => `%${n}`).join(', ')}); source ${binary.sourcePath}`;
  return {
    backend: 'cuda', prepareMs: performance.now() - t0, artifacts, fallbacks,
    peakGflops: async () => peaks.fp32,
    device: {
      name: `${cuda.info.name} (${cuda.info.arch}, driver ${cuda.info.driverVersion})`, features: [cuda.info.arch],
      limits: { multiprocessors: cuda.info.multiprocessors, totalBytes: cuda.info.totalBytes },
    },
    async run(given: ReadonlyMap<string, Tensor>, ropts: RunOptions = {}): Promise<Tensor[]> {
      if (disposed) throw new KilnError('this cuda program was disposed; prepare it again');
      checkInputs(graph, given);
      for (const i of graph.inputs) values.write(i.name, given.get(i.name)!);
      const report = ropts.onKernel;
      const timed: { l: CudaLaunch; start: unknown; end: unknown }[] = [];
      const pending: { at: number; e: KernelEvent }[] = [];
      if (!report && replayable && ropts.graph !== false) {
        exec ??= cuda.captureGraph(() => {
          for (const step of steps) if (step.kind === 'gpu') for (const l of step.launches) cuda.launch(functions.get(l.name), l.grid, l.block, argsOf(l), what(l));
        }, `capturing ${program.name}'s ${launches.length} launches as a CUDA graph`);
        cuda.graphLaunch(exec, `replaying ${program.name} as a CUDA graph`);
      }
      for (const step of exec && !report && ropts.graph !== false ? [] : steps) {
        if (ropts.signal?.aborted) throw new KilnError('the run was cancelled');
        if (step.kind === 'gpu') {
          for (const l of step.launches) {
            const fn = functions.get(l.name);
            if (!report) { cuda.launch(fn, l.grid, l.block, argsOf(l), what(l)); continue; }
            const start = cuda.eventCreate(), end = cuda.eventCreate();
            cuda.eventRecord(start);
            cuda.launch(fn, l.grid, l.block, argsOf(l), what(l));
            cuda.eventRecord(end);
            timed.push({ l, start, end });
          }
        } else {
          cuda.synchronize(`before the host fallback of %${step.id}`);
          const t = performance.now();
          values.runFallback(step);
          if (report) pending.push({ at: timed.length, e: { kernel: `ref:${step.id}`, nodes: [step.id], ms: performance.now() - t, fallback: true } });
        }
      }
      cuda.synchronize('after the last kernel');
      const out = values.read(graph.outputs) as Tensor[]; // graph outputs are tensors (fallback.ts containerBoundary)
      if (report) {
        let f = 0;
        timed.forEach((t, i) => {
          while (f < pending.length && pending[f].at <= i) report(pending[f++].e);
          report({ kernel: t.l.name, nodes: t.l.kernel.nodes, ms: cuda.eventElapsed(t.start, t.end), dispatch: launchText(t.l), clock: 'device' });
          cuda.eventDestroy(t.start); cuda.eventDestroy(t.end);
        });
        while (f < pending.length) report(pending[f++].e);
      }
      return out;
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      if (exec) cuda.graphDestroy(exec);
      cuda.free(base);
      cuda.unloadModule(module);
    },
  };
}

/**
 * What a CUDA build keeps for the user (kiln build's backend/ folder, `source NODE`): the kernel IR
 * program, the translation unit, nvcc's log and ptxas's figures, per kernel IR kernel its CUDA and GPU
 * kernel IR, the PTX, and the nodes left to the host.
 */
function cudaArtifacts(graph: Graph, compiled: CudaCompiled, binary: CudaBinary): Artifact[] {
  const { program, fallbacks, launches } = compiled;
  const allNodes = graph.nodes.map(nodeId);
  return [
    { name: `${program.name}.kir`, kind: 'ir', content: printProgram(program), nodes: allNodes },
    { name: `${program.name}.cu`, kind: 'source', nodes: allNodes, content: compiled.source },
    { name: 'build.log', kind: 'log', content: fs.readFileSync(binary.logPath, 'utf8') },
    { name: 'ptxas.txt', kind: 'log', nodes: allNodes, content: resourcesText(binary.resources, binary.arch) },
    // per kernel IR kernel: the CUDA of its launches and their GPU kernel IR (what `source NODE` shows)
    ...program.kernels.flatMap((k): Artifact[] => {
      const ls = compiled.kernels.filter((r) => launches.some((l) => l.from === k.name && l.name === r.kernel.name));
      if (!ls.length) return [];
      return [
        { name: `${k.name}.cu`, kind: 'source', nodes: k.nodes, content: ls.map((r) => r.text.join('\n')).join('\n\n') + '\n' },
        { name: `${k.name}.kir`, kind: 'ir', nodes: k.nodes, content: ls.map((r) => printKernel(r.kernel)).join('\n') },
      ];
    }),
    ...(fs.existsSync(binary.ptxPath) ? ptxArtifacts(program.name, allNodes, compiled, binary.arch, fs.readFileSync(binary.ptxPath, 'utf8')) : []),
    { name: `${program.name}.${binary.arch}.cubin`, kind: 'binary', content: binary.cubinPath },
    ...(fallbacks.length ? [{ name: 'fallback.txt', kind: 'log' as const, nodes: fallbacks.flatMap((u) => (u.node ? [u.node] : [])), content: `${fallbacks.length} node(s) run on the host's reference kernels:\n${nodeLines(fallbacks)}\n` }] : []),
  ];
}

/** The module's PTX, and per kernel IR kernel the PTX of its launches (`source NODE --ptx`). */
function ptxArtifacts(name: string, allNodes: readonly string[], compiled: CudaCompiled, arch: string, ptx: string): Artifact[] {
  const entries = ptxEntries(ptx);
  const perKernel = compiled.program.kernels.flatMap((k): Artifact[] => {
    const texts = compiled.launches.filter((l) => l.from === k.name).map((l) => entries.get(l.name)).filter((t): t is string => t !== undefined);
    return texts.length ? [{ name: `${k.name}.${arch}.ptx`, kind: 'source', nodes: k.nodes, content: [...new Set(texts)].join('\n') }] : [];
  });
  return [{ name: `${name}.${arch}.ptx`, kind: 'source', nodes: allNodes, content: ptx }, ...perKernel];
}

/**
 * Builds `graph` for an architecture without a device (`kiln build --backend cuda --arch sm_90`):
 * lowering, nvcc and the artifacts, nothing loaded or run.
 */
export async function buildCuda(graph: Graph, plan: MemoryPlan | undefined, opts: BuildOptions): Promise<Built> {
  const t0 = performance.now();
  opts.onProgress?.('lowering', 0);
  const compiled = compileCudaSource(graph, { ...(plan ? { order: plan.order } : {}), arch: opts.arch, tf32: opts.tf32 ?? false });
  opts.onProgress?.('compiling', 0.2);
  const binary = compileCuda(compiled.source, opts.arch, { name: compiled.program.name.replace(/[^A-Za-z0-9_-]/g, '_') });
  opts.onProgress?.('ready', 1);
  return { backend: 'cuda', target: opts.arch, prepareMs: performance.now() - t0, artifacts: cudaArtifacts(graph, compiled, binary), fallbacks: compiled.fallbacks };
}

/** The CUDA backend. */
export const cudaBackend: Backend = {
  name: 'cuda',
  summary: 'generated CUDA on an NVIDIA GPU (nvcc, the driver API through koffi); needs the NVIDIA driver',
  async available() {
    const r = openCuda();
    return r.ok ? { ok: true } : { ok: false, reason: r.reason };
  },
  unsupported: compiledUnsupported,
  prepare: prepareCuda,
  build: buildCuda,
};

/** ptxas's figures per kernel as a table (registers, spills, shared memory, stack). */
export function resourcesText(rs: readonly KernelResources[], arch: string): string {
  const rows = rs.map((r) => `${r.kernel.padEnd(40)} ${String(r.registers).padStart(9)} ${String(r.spillStores + r.spillLoads).padStart(11)} ${String(r.sharedBytes).padStart(12)} ${String(r.stackBytes).padStart(11)}`);
  return [`ptxas -v for ${arch}:`, `${'kernel'.padEnd(40)} ${'registers'.padStart(9)} ${'spill bytes'.padStart(11)} ${'shared bytes'.padStart(12)} ${'stack bytes'.padStart(11)}`, ...rows].join('\n') + '\n';
}
