/**
 * The webgpu backend's compiler, device-free: graph → kernel IR (lowered for a GPU target, in the
 * execution order: matrix products and convolutions on the workgroup-tiled template, the rest plain
 * loop nests) → GPU kernels (codegen/gpu/map.ts: launches, grid/block loops, workgroup
 * reductions) → one WGSL module per dispatch (render.ts with lang/wgsl.ts).
 *
 * A kernel the device cannot run — a dtype WGSL has no form for (f64, bf16, float8), f16 without the
 * adapter's shader-f16, more storage buffers than the adapter binds per stage, a binding larger than
 * its maximum — is not an error: its node runs on the host's reference kernel (a fallback, listed with
 * the reason, as nodes that do not lower are). `kiln build --backend webgpu` uses this without a
 * device, at WebGPU's default limits.
 */
import type { Graph } from '../../ir/graph.ts';
import type { Kernel, Program as KernelProgram } from '../../codegen/kir.ts';
import { lowerGraph } from '../../codegen/lower/index.ts';
import { GPU_TARGET } from '../../codegen/lower/context.ts';
import { type GpuKernel, type MappingMode, mapKernelToGpu } from '../../codegen/gpu/map.ts';
import { renderKernelModule } from '../../codegen/render.ts';
import { renameBuffers } from '../../codegen/gpu/rewrite.ts';
import { wgsl } from '../../codegen/lang/wgsl.ts';
import type { Unsupported } from '../backend.ts';
import { deviceBytes } from './transfer.ts';

/** What the compiler may assume of the device. */
export interface WebgpuTarget {
  /** The adapter has `shader-f16` (f16 buffers and arithmetic). */
  readonly f16: boolean;
  readonly maxStorageBuffersPerShaderStage: number;
  readonly maxStorageBufferBindingSize: number;
}

/** WebGPU's default limits, without f16: what a build without a device compiles for. */
export const DEFAULT_WEBGPU_TARGET: WebgpuTarget = { f16: false, maxStorageBuffersPerShaderStage: 8, maxStorageBufferBindingSize: 134217728 };

/** One dispatch: a GPU kernel with its WGSL and its bindings. */
export interface WebgpuDispatch {
  /** The GPU kernel's name (the kernel IR kernel's, `_i` for its i-th dispatch). */
  readonly name: string;
  /** The kernel IR kernel it came from. */
  readonly from: string;
  /** Index of the kernel IR call it runs (program.calls). */
  readonly call: number;
  readonly kernel: Kernel;
  readonly wgsl: string;
  readonly mode: MappingMode;
  /** Workgroups dispatched (x, y, z) and threads per workgroup. */
  readonly grid: readonly [number, number, number];
  readonly block: readonly [number, number, number];
  /** Binding i: the program value bound to the kernel's i-th param. */
  readonly args: readonly string[];
}

/** The WGSL of every dispatch in order, each after a comment line with its launch: one text for reading. */
export function wgslText(c: WebgpuCompiled): string {
  return c.dispatches.map((d) => `${dispatchHeader(d)}\n${d.wgsl}`).join('\n');
}

/** The comment line before a dispatch's module (`// ---- dispatch k3_Conv: 4x8x1 workgroups of 256x1x1 threads (...)`). */
export function dispatchHeader(d: WebgpuDispatch): string {
  return `// ---- dispatch ${d.name}: ${d.grid.join('x')} workgroups of ${d.block.join('x')} threads (${d.mode})`;
}

/** A compiled graph. */
export interface WebgpuCompiled {
  readonly program: KernelProgram;
  /** Every dispatch, in execution order. */
  readonly dispatches: readonly WebgpuDispatch[];
  /** Nodes the host runs (not lowered, or not expressible on this device), with reasons. */
  readonly fallbacks: readonly Unsupported[];
}

/** Compiles `graph` for a WebGPU device (see the module header). */
export function compileWebgpu(graph: Graph, opts: { order?: readonly string[]; target?: WebgpuTarget } = {}): WebgpuCompiled {
  const target = opts.target ?? DEFAULT_WEBGPU_TARGET;
  const lowered = lowerGraph(graph, { ...(opts.order ? { order: opts.order } : {}), target: GPU_TARGET });
  const { program } = lowered;
  const fallbacks: Unsupported[] = [...lowered.unsupported];
  const lang = wgsl({ f16: target.f16 });
  const kernels = new Map(program.kernels.map((k) => [k.name, k]));
  const aliasOf = new Map(program.buffers.map((b) => [b.value, b.aliasOf]));
  const rootOf = (v: string): string => aliasOf.get(v) ?? v;
  const dispatches: WebgpuDispatch[] = [];
  program.calls.forEach((c, call) => {
    const k = kernels.get(c.kernel)!;
    const reason = deviceLimits(k, target);
    const fail = (why: string) => fallbacks.push({ node: k.nodes[0], op: opOf(graph, k.nodes[0]), reason: `kernel ${k.name}: ${why}` });
    if (reason) { fail(reason); return; }
    let gpu: GpuKernel[];
    const made: WebgpuDispatch[] = [];
    try {
      gpu = mapKernelToGpu(k);
      const argOf = new Map(k.params.map((p, i) => [p.name, c.args[i]]));
      for (const g0 of gpu) {
        const g = { ...g0, kernel: oneBindingPerBuffer(g0.kernel, argOf, rootOf) };
        const source = renderKernelModule(lang, g.kernel);
        made.push({
          name: g.kernel.name, from: k.name, call, kernel: g.kernel, wgsl: source, mode: g.mode,
          grid: g.kernel.launch!.grid, block: g.kernel.launch!.block, args: g.kernel.params.map((p) => argOf.get(p.name)!),
        });
      }
    } catch (e) {
      fail((e as Error).message);
      return;
    }
    dispatches.push(...made);
  });
  return { program, dispatches, fallbacks };
}

/**
 * `k` with params bound to the same storage (one value passed twice, `Add(x, x)`, or a value and a view
 * of it) merged into the first of them: WebGPU refuses a dispatch whose writable bindings overlap, and
 * every binding is writable (lang/wgsl.ts). Such params are always inputs (a lowering never binds an
 * output over an input), so one binding serves both.
 */
function oneBindingPerBuffer(k: Kernel, argOf: ReadonlyMap<string, string>, rootOf: (v: string) => string): Kernel {
  const first = new Map<string, string>(), rename = new Map<string, string>();
  for (const p of k.params) {
    const root = rootOf(argOf.get(p.name)!);
    const kept = first.get(root);
    if (kept === undefined) first.set(root, p.name);
    else {
      const keptParam = k.params.find((q) => q.name === kept)!;
      if (keptParam.dtype !== p.dtype || p.role === 'output' || keptParam.role === 'output') throw new Error(`params ${kept} and ${p.name} of ${k.name} share storage`);
      rename.set(p.name, kept);
    }
  }
  if (!rename.size) return k;
  const params = k.params.filter((p) => !rename.has(p.name)).map((p) => {
    const merged = k.params.filter((q) => rename.get(q.name) === p.name);
    return merged.length ? { ...p, count: Math.max(p.count, ...merged.map((q) => q.count)) } : p;
  });
  return { ...k, params, body: renameBuffers(k.body, rename) };
}

/** Why kernel `k` exceeds the device's binding limits, or undefined. */
function deviceLimits(k: Kernel, target: WebgpuTarget): string | undefined {
  if (k.params.length > target.maxStorageBuffersPerShaderStage) {
    return `${k.params.length} storage buffers, the adapter binds at most ${target.maxStorageBuffersPerShaderStage} per shader stage`;
  }
  for (const p of k.params) {
    const bytes = deviceBytes(p.dtype, p.count);
    if (bytes > target.maxStorageBufferBindingSize) return `buffer ${p.name} is ${bytes} bytes, over the adapter's largest binding (${target.maxStorageBufferBindingSize})`;
  }
  return undefined;
}

function opOf(graph: Graph, id: string): string | undefined {
  return graph.nodes.find((n) => n.outputs[0] === id)?.op;
}
