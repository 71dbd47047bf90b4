/**
 * The cuda backend: the GPU kernels of a graph (runtime/cuda/compile.ts: the same kernel IR and GPU
 * mapping as webgpu, spelled as CUDA by lang/cuda.ts) compiled for the device's architecture with nvcc
 * (nvcc.ts, cached by content) and run through the driver API (driver.ts, koffi: no CUDA runtime
 * library). Prepare: open device 0 → compile the unit for `sm_<major><minor>` → load the cubin and
 * find every kernel → one device arena laid out by the program's buffers (runtime/buffer-layout.ts,
 * 256-byte slots: the aligned vector loads rely on it) → constants and packed weights uploaded once.
 * Run: inputs copied in, the launches in order on the default stream with host fallback steps
 * (runtime/fallback.ts) between them, outputs copied out. Timings (`onKernel`): a CUDA event before
 * and after every launch, read after the run (device time per kernel, `clock: 'device'`).
 *
 * Without the NVIDIA driver or a device, `available` says which is missing and `kiln run --backend
 * cuda` runs on the reference backend with that message. Not built yet: NVRTC (nvcc must be found
 * where kiln prepares), CUDA graph capture, tensor-core templates (see the closing notes of issue 12).
 */
import type { Graph } from '../../ir/graph.ts';
import { nodeId } from '../../ir/graph.ts';
import type { Tensor } from '../../ir/tensor.ts';
import { KilnError } from '../../errors.ts';
import type { MemoryPlan } from '../../schedule/plan.ts';
import { printKernel, printProgram } from '../../codegen/print.ts';
import type { Artifact, Backend, KernelEvent, PrepareOptions, Program, RunOptions } from '../backend.ts';
import { checkInputs } from '../inputs.ts';
import { layoutBuffers } from '../buffer-layout.ts';
import { compiledUnsupported, nodeLines, planSteps, requireFallbacksRunnable } from '../fallback.ts';
import { openCuda } from './driver.ts';
import { type CudaLaunch, compileCudaSource } from './compile.ts';
import { type KernelResources, compileCuda } from './nvcc.ts';
import { CudaValues, cudaBytes } from './values.ts';
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
  const compiled = compileCudaSource(graph, plan ? { order: plan.order } : {});
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
  const allNodes = graph.nodes.map(nodeId);
  const artifacts: Artifact[] = [
    { name: `${program.name}.kir`, kind: 'ir', content: printProgram(program), nodes: allNodes },
    { name: `${program.name}.cu`, kind: 'source', nodes: allNodes, content: compiled.source },
    { name: 'build.log', kind: 'log', content: fs.readFileSync(binary.logPath, 'utf8') },
    { name: 'device.json', kind: 'manifest', content: JSON.stringify(cuda.info, null, 2) + '\n' },
    { name: 'ptxas.txt', kind: 'log', nodes: allNodes, content: resourcesText(binary.resources, cuda.info.arch) },
    // per kernel IR kernel: the CUDA of its launches and their GPU kernel IR (what `source NODE` shows)
    ...program.kernels.flatMap((k): Artifact[] => {
      const ls = compiled.kernels.filter((r) => launches.some((l) => l.from === k.name && l.name === r.kernel.name));
      if (!ls.length) return [];
      return [
        { name: `${k.name}.cu`, kind: 'source', nodes: k.nodes, content: ls.map((r) => r.text.join('\n')).join('\n\n') + '\n' },
        { name: `${k.name}.kir`, kind: 'ir', nodes: k.nodes, content: ls.map((r) => printKernel(r.kernel)).join('\n') },
      ];
    }),
    ...(fs.existsSync(binary.ptxPath) ? [{ name: `${program.name}.${binary.arch}.ptx`, kind: 'source' as const, nodes: allNodes, content: fs.readFileSync(binary.ptxPath, 'utf8') }] : []),
    ...(fallbacks.length ? [{ name: 'fallback.txt', kind: 'log' as const, nodes: fallbacks.flatMap((u) => (u.node ? [u.node] : [])), content: `${fallbacks.length} node(s) run on the host's reference kernels:\n${nodeLines(fallbacks)}\n` }] : []),
  ];
  let disposed = false;
  progress('ready', 1);

  const argsOf = (l: CudaLaunch) => l.args.map((a) => values.address(a));
  const what = (l: CudaLaunch) => `kernel ${l.name} (nodes ${l.kernel.nodes.map((n) => `%${n}`).join(', ')}); source ${binary.sourcePath}`;
  return {
    backend: 'cuda', prepareMs: performance.now() - t0, artifacts, fallbacks,
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
      for (const step of steps) {
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
      const out = values.read(graph.outputs);
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
      cuda.free(base);
      cuda.unloadModule(module);
    },
  };
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
};

/** ptxas's figures per kernel as a table (registers, spills, shared memory, stack). */
export function resourcesText(rs: readonly KernelResources[], arch: string): string {
  const rows = rs.map((r) => `${r.kernel.padEnd(40)} ${String(r.registers).padStart(9)} ${String(r.spillStores + r.spillLoads).padStart(11)} ${String(r.sharedBytes).padStart(12)} ${String(r.stackBytes).padStart(11)}`);
  return [`ptxas -v for ${arch}:`, `${'kernel'.padEnd(40)} ${'registers'.padStart(9)} ${'spill bytes'.padStart(11)} ${'shared bytes'.padStart(12)} ${'stack bytes'.padStart(11)}`, ...rows].join('\n') + '\n';
}
