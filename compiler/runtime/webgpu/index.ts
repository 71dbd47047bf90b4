/**
 * The WebGPU backend `webgpu`: the graph compiled to WGSL (compile.ts: kernel IR → GPU kernels → one
 * module per dispatch) and run on the process's Dawn device (device.ts) — any Vulkan, Metal or D3D12
 * GPU, or Mesa's lavapipe on a machine without one.
 *
 * prepare: compile → one shader module and compute pipeline per dispatch (Dawn caches identical
 * modules) → one device buffer laid out like the cpu backend's (runtime/buffer-layout.ts: a slot per
 * value at the device's storage offset alignment, intermediates sharing bytes by lifetime unless
 * host fallbacks read them between dispatches) → constants and packed weights uploaded once → one bind
 * group per dispatch (each param a range of the one buffer). The dispatch list is recorded once as
 * (pipeline, bind group, workgroup counts); a run replays it into a command encoder (WebGPU command
 * buffers cannot be resubmitted, so the encoding is redone; everything it refers to is made once).
 *
 * run: inputs written into their slots (queue.writeBuffer, converted: transfer.ts) → the steps in
 * execution order: a segment of dispatches is one compute pass, one submit; a fallback node (a node
 * that did not lower, or a dtype the device lacks) copies its inputs back (mapAsync), runs its
 * reference kernel on the host and writes its outputs → outputs copied into one staging buffer and
 * read back.
 *
 * Timings (`onKernel`): with `timestamp-query` (and at most 2048 dispatches, a query set's 4096
 * timestamps; `KILN_WEBGPU_TIMESTAMPS=off` opts out) each dispatch gets its own compute pass whose
 * beginning and end write device timestamps; one resolve after the run gives each dispatch's device
 * time (KernelEvent `ms`, with its workgroup counts and size in `dispatch`). Without timestamps (an
 * adapter that lacks them) each dispatch is submitted alone and timed on the host from submit to
 * `onSubmittedWorkDone` — device time plus the submission's overhead, documented in the event
 * (`clock: 'host'`). A fallback node's time is its host time, transfers included.
 */
import type { Graph } from '../../ir/graph.ts';
import { nodeId, valueTypes } from '../../ir/graph.ts';
import { Tensor } from '../../ir/tensor.ts';
import type { DType } from '../../ir/dtype.ts';
import { KilnError } from '../../errors.ts';
import type { MemoryPlan } from '../../schedule/plan.ts';
import { printKernel, printProgram } from '../../codegen/print.ts';
import type { Artifact, Backend, KernelEvent, PrepareOptions, Program, RunOptions, Unsupported } from '../backend.ts';
import { checkInputs } from '../inputs.ts';
import { layoutBuffers } from '../buffer-layout.ts';
import { type FallbackStep, nodeLines, planSteps } from '../fallback.ts';
import { compiledUnsupported, requireFallbacksRunnable } from '../fallback.ts';
import { type AdapterInfo, type GpuContext, adapterLine, webgpuDevice } from './device.ts';
import { type WebgpuDispatch, compileWebgpu, dispatchHeader, wgslText } from './compile.ts';
import { DeviceValues } from './values.ts';
import { deviceBytes } from './transfer.ts';

/** A prepared webgpu program, with what tests and tools want to see. */
export interface WebgpuProgram extends Program {
  readonly adapter: AdapterInfo;
  readonly dispatches: readonly WebgpuDispatch[];
  readonly fallbacks: readonly Unsupported[];
  /** Bytes of the one device buffer. */
  readonly deviceBytes: number;
}

type Step = { readonly kind: 'gpu'; readonly dispatches: readonly Recorded[] } | FallbackStep;

/** A dispatch ready to replay. */
interface Recorded {
  readonly d: WebgpuDispatch;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
}

const U = () => globalThis as unknown as { GPUBufferUsage: Record<string, number>; GPUMapMode: Record<string, number> };

/** Prepares `graph` on the webgpu backend (see the module header). */
export async function prepareWebgpu(graph: Graph, plan: MemoryPlan | undefined, opts: PrepareOptions = {}): Promise<WebgpuProgram> {
  const t0 = performance.now();
  const progress = opts.onProgress ?? (() => {});
  const opened = await webgpuDevice();
  if (!opened.ok) throw new KilnError(`the webgpu backend cannot run here: ${opened.reason}`);
  const gpu: GpuContext = opened.gpu;
  const { device } = gpu;
  const limits = gpu.info.limits;
  progress('compiling', 0);
  const compiled = compileWebgpu(graph, {
    ...(plan ? { order: plan.order } : {}),
    target: { f16: gpu.f16, maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage, maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize },
  });
  const { program, fallbacks } = compiled;
  requireFallbacksRunnable('webgpu', graph, fallbacks, opts.fallback !== false);
  const alignment = Math.max(256, limits.minStorageBufferOffsetAlignment);
  const layout = layoutBuffers(program, { reuse: fallbacks.length === 0, alignment, bytes: (d, n) => Math.ceil(deviceBytes(d, n) / 4) * 4 });
  const usage = U().GPUBufferUsage;
  const buffer = device.createBuffer({ size: layout.totalBytes, usage: usage.STORAGE | usage.COPY_SRC | usage.COPY_DST });
  const values = new DeviceValues(graph, layout, device, buffer);
  for (const c of graph.constants) if (values.resident(c.name) && c.data) values.upload(c.name, c.data.data);
  for (const b of program.buffers) if (b.packed) values.uploadRaw(b.value, b.dtype, b.packed.data);

  // pipelines and bind groups, once
  progress('pipelines', 0.3);
  device.pushErrorScope('validation');
  const modules = new Map<string, GPUShaderModule>();
  const recorded = compiled.dispatches.map((d, i): Recorded => {
    let module = modules.get(d.wgsl);
    if (!module) modules.set(d.wgsl, (module = device.createShaderModule({ code: d.wgsl, label: d.name })));
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: d.name }, label: d.name });
    const bindGroup = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0), label: d.name,
      entries: d.kernel.params.map((p, b) => {
        const slot = layout.slots[layout.slotOf.get(d.args[b])!];
        // an empty tensor still binds 4 bytes (WebGPU refuses empty bindings; every slot has at least its alignment)
        return { binding: b, resource: { buffer, offset: slot.offset, size: Math.max(4, Math.ceil(deviceBytes(p.dtype, p.count) / 4) * 4) } };
      }),
    });
    progress('pipelines', 0.3 + (0.6 * (i + 1)) / compiled.dispatches.length);
    return { d, pipeline, bindGroup };
  });
  const failure = await device.popErrorScope();
  if (failure) {
    const bad = await firstBadModule(compiled.dispatches, modules);
    throw new KilnError(`the webgpu backend could not build a pipeline: ${failure.message}${bad ? `\n${bad}` : ''}`);
  }

  const byCall = new Map<number, Recorded[]>();
  for (const r of recorded) (byCall.get(r.d.call) ?? byCall.set(r.d.call, []).get(r.d.call)!).push(r);
  const steps: Step[] = planSteps(graph, program, fallbacks, plan?.order).map((s) => (s.kind === 'fallback' ? s
    : { kind: 'gpu', dispatches: s.calls.flatMap((c) => byCall.get(c) ?? []) }));

  const types = valueTypes(graph);
  const outputs = graph.outputs.map((name) => ({ name, dtype: types.get(name)!.dtype as DType, shape: types.get(name)!.shape as number[] }));
  // a query set holds at most 4096 timestamps (WebGPU's limit): a longer program times on the host clock
  // (KILN_WEBGPU_TIMESTAMPS=off asks for the host clock, e.g. to compare the two)
  const timer = gpu.timestamps && 2 * recorded.length <= MAX_QUERIES && process.env.KILN_WEBGPU_TIMESTAMPS !== 'off'
    ? new Timestamps(device, recorded.length) : undefined;
  const allNodes = graph.nodes.map(nodeId);
  const artifacts: Artifact[] = [
    { name: `${program.name}.kir`, kind: 'ir', content: printProgram(program), nodes: allNodes },
    { name: `${program.name}.wgsl`, kind: 'source', nodes: allNodes, content: wgslText(compiled) },
    { name: 'adapter.json', kind: 'manifest', content: JSON.stringify(gpu.info, null, 2) + '\n' },
    // per kernel: the WGSL of its dispatches (several when its statements became separate dispatches)
    ...program.kernels.flatMap((k): Artifact[] => {
      const ds = compiled.dispatches.filter((d) => d.from === k.name);
      if (!ds.length) return [];
      return [
        { name: `${k.name}.wgsl`, kind: 'source', nodes: k.nodes, content: ds.map((d) => `${dispatchHeader(d)}\n${d.wgsl}`).join('\n') },
        { name: `${k.name}.kir`, kind: 'ir', nodes: k.nodes, content: ds.map((d) => printKernel(d.kernel)).join('\n') },
      ];
    }),
    ...(fallbacks.length ? [{ name: 'fallback.txt', kind: 'log' as const, nodes: fallbacks.flatMap((u) => (u.node ? [u.node] : [])), content: `${fallbacks.length} node(s) run on the host's reference kernels:\n${nodeLines(fallbacks)}\n` }] : []),
  ];
  let disposed = false;
  progress('ready', 1);

  const encodeSegment = (enc: GPUCommandEncoder, ds: readonly Recorded[], timed: boolean, first: number) => {
    if (!timed) {
      const pass = enc.beginComputePass();
      for (const r of ds) { pass.setPipeline(r.pipeline); pass.setBindGroup(0, r.bindGroup); pass.dispatchWorkgroups(r.d.grid[0], r.d.grid[1], r.d.grid[2]); }
      pass.end();
      return;
    }
    ds.forEach((r, i) => {
      const pass = enc.beginComputePass({ timestampWrites: timer!.writes(first + i) });
      pass.setPipeline(r.pipeline); pass.setBindGroup(0, r.bindGroup); pass.dispatchWorkgroups(r.d.grid[0], r.d.grid[1], r.d.grid[2]);
      pass.end();
    });
  };

  return {
    backend: 'webgpu', prepareMs: performance.now() - t0, artifacts, fallbacks, adapter: gpu.info,
    device: { name: adapterLine(gpu.info), features: gpu.info.features, limits: gpu.info.limits }, dispatches: compiled.dispatches, deviceBytes: layout.totalBytes,
    tolerances: program.kernels.flatMap((k) => (k.tolerance ? [{ kernel: k.name, nodes: k.nodes, rel: k.tolerance.rel, what: k.tolerance.what }] : [])),
    async run(given: ReadonlyMap<string, Tensor>, ropts: RunOptions = {}): Promise<Tensor[]> {
      if (disposed) throw new KilnError('this webgpu program was disposed; prepare it again');
      checkInputs(graph, given);
      for (const i of graph.inputs) values.write(i.name, given.get(i.name)!);
      const report = ropts.onKernel;
      const pendingFallbacks: { at: number; e: KernelEvent }[] = [];
      const events: { r: Recorded; index: number }[] = [];
      for (const step of steps) {
        if (ropts.signal?.aborted) throw new KilnError('the run was cancelled');
        if (step.kind === 'gpu') {
          if (report && !timer) {
            for (const r of step.dispatches) {
              const enc = device.createCommandEncoder();
              encodeSegment(enc, [r], false, 0);
              const t = performance.now();
              device.queue.submit([enc.finish()]);
              await device.queue.onSubmittedWorkDone();
              report({ kernel: r.d.name, nodes: r.d.kernel.nodes, ms: performance.now() - t, dispatch: dispatchText(r.d), clock: 'host' });
            }
            continue;
          }
          const enc = device.createCommandEncoder();
          encodeSegment(enc, step.dispatches, report !== undefined, events.length);
          for (const r of step.dispatches) events.push({ r, index: events.length });
          device.queue.submit([enc.finish()]);
        } else {
          const t = performance.now();
          await values.runFallback(step);
          if (report) {
            // device times of the dispatches before it are reported in order after the run
            pendingFallbacks.push({ at: events.length, e: { kernel: `ref:${step.id}`, nodes: [step.id], ms: performance.now() - t, fallback: true } });
          }
        }
      }
      const result = await values.readOutputs(outputs.map((o) => o.name));
      if (report && timer) {
        const ms = await timer.read(events.length);
        let f = 0;
        events.forEach((ev, i) => {
          while (f < pendingFallbacks.length && pendingFallbacks[f].at <= i) report(pendingFallbacks[f++].e);
          report({ kernel: ev.r.d.name, nodes: ev.r.d.kernel.nodes, ms: ms[i], dispatch: dispatchText(ev.r.d), clock: 'device' });
        });
        while (f < pendingFallbacks.length) report(pendingFallbacks[f++].e);
      } else if (report) for (const p of pendingFallbacks) report(p.e);
      return result;
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      buffer.destroy();
      values.dispose();
      timer?.dispose();
    },
  };
}

/** `[gx,gy,gz]x[bx,by,bz]`: workgroups × threads per workgroup, the dispatch size of the timing table. */
export function dispatchText(d: Pick<WebgpuDispatch, 'grid' | 'block'>): string {
  return `[${d.grid.join(',')}]x[${d.block.join(',')}]`;
}

/** The most timestamps one query set holds (WebGPU). */
const MAX_QUERIES = 4096;

/** Per-dispatch device timestamps: a query set of two per dispatch, resolved after a run. */
class Timestamps {
  private readonly set: GPUQuerySet;
  private readonly resolve: GPUBuffer;
  private readonly readback: GPUBuffer;
  constructor(private readonly device: GPUDevice, count: number) {
    const usage = U().GPUBufferUsage;
    const n = Math.max(2, 2 * count);
    this.set = device.createQuerySet({ type: 'timestamp', count: n });
    this.resolve = device.createBuffer({ size: 8 * n, usage: usage.QUERY_RESOLVE | usage.COPY_SRC });
    this.readback = device.createBuffer({ size: 8 * n, usage: usage.MAP_READ | usage.COPY_DST });
  }
  writes(i: number): GPUComputePassTimestampWrites {
    return { querySet: this.set, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }
  /** Milliseconds of the first `n` dispatches of the last run. */
  async read(n: number): Promise<number[]> {
    if (n === 0) return [];
    const enc = this.device.createCommandEncoder();
    enc.resolveQuerySet(this.set, 0, 2 * n, this.resolve, 0);
    enc.copyBufferToBuffer(this.resolve, 0, this.readback, 0, 16 * n);
    this.device.queue.submit([enc.finish()]);
    await this.readback.mapAsync(U().GPUMapMode.READ, 0, 16 * n);
    const t = new BigUint64Array(this.readback.getMappedRange(0, 16 * n).slice(0));
    this.readback.unmap();
    return Array.from({ length: n }, (_, i) => Math.max(0, Number(t[2 * i + 1] - t[2 * i]) / 1e6));
  }
  dispose(): void {
    this.set.destroy(); this.resolve.destroy(); this.readback.destroy();
  }
}

/** The first dispatch whose module fails to compile, with its messages, for the error. */
async function firstBadModule(ds: readonly WebgpuDispatch[], modules: ReadonlyMap<string, GPUShaderModule>): Promise<string | undefined> {
  for (const d of ds) {
    const info = await modules.get(d.wgsl)?.getCompilationInfo();
    const errors = info?.messages.filter((m) => m.type === 'error') ?? [];
    if (errors.length) {
      return `kernel ${d.name} (nodes ${d.kernel.nodes.map((n) => `%${n}`).join(', ')}): ${errors.map((m) => `line ${m.lineNum}: ${m.message}`).join('; ')}\n`
        + `reproduce: kiln build MODEL --backend webgpu --out DIR, then open DIR/${d.name}.wgsl`;
    }
  }
  return undefined;
}

/** The WebGPU backend. */
export const webgpuBackend: Backend = {
  name: 'webgpu',
  summary: 'generated WGSL on WebGPU through Dawn (any Vulkan/Metal/D3D12 GPU; Mesa lavapipe on the CPU without one)',
  async available() {
    const r = await webgpuDevice();
    return r.ok ? { ok: true } : { ok: false, reason: r.reason };
  },
  unsupported: compiledUnsupported,
  prepare: prepareWebgpu,
};

export { adapterLine };
