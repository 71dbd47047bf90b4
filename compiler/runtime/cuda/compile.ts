/**
 * The cuda backend's compiler, device-free: graph → kernel IR (lowered for the GPU target, as for
 * webgpu) → GPU kernels (codegen/gpu/map.ts: launches, grid/block loops, workgroup reductions, vector
 * loads) → one CUDA translation unit for the whole graph (render.ts with lang/cuda.ts). The same
 * GPU kernels WGSL spells, spelled for nvcc/NVRTC.
 *
 * A kernel the CUDA descriptor cannot express (bf16 and the narrow float types for now, a buffer past
 * 32-bit indexing) is not an error: its node is listed as a fallback with the reason, as nodes that do
 * not lower are, and its kernel is left out of the unit. Compiling the unit to cubin and PTX is
 * nvcc.ts's (a content-addressed cache, per-kernel register/spill/shared-memory figures).
 */
import type { Graph } from '../../ir/graph.ts';
import type { Kernel, Program as KernelProgram } from '../../codegen/kir.ts';
import { lowerGraph } from '../../codegen/lower/index.ts';
import { GPU_TARGET, type LowerTarget } from '../../codegen/lower/context.ts';
import { type MappingMode, mapKernelToGpu } from '../../codegen/gpu/map.ts';
import { renderKernel } from '../../codegen/render.ts';
import { cuda } from '../../codegen/lang/cuda.ts';
import type { Unsupported } from '../backend.ts';

/** One kernel launch: a GPU kernel with its launch shape and the program values bound to its params. */
export interface CudaLaunch {
  /** The GPU kernel's name (the kernel IR kernel's, `_i` for its i-th dispatch). */
  readonly name: string;
  /** The kernel IR kernel it came from. */
  readonly from: string;
  /** Index of the kernel IR call it runs (program.calls). */
  readonly call: number;
  readonly kernel: Kernel;
  readonly mode: MappingMode;
  readonly grid: readonly [number, number, number];
  readonly block: readonly [number, number, number];
  /** Param i: the program value bound to the kernel's i-th param. */
  readonly args: readonly string[];
}

/** One GPU kernel and its CUDA text. */
export interface RenderedKernel {
  readonly kernel: Kernel;
  readonly text: readonly string[];
}

/** A graph compiled to CUDA source. */
export interface CudaCompiled {
  readonly program: KernelProgram;
  /** Every launch, in execution order. */
  readonly launches: readonly CudaLaunch[];
  /** The translation unit: every launched kernel once. */
  readonly source: string;
  /** Each launched kernel once, with its rendered text (what `source` joins under one header). */
  readonly kernels: readonly RenderedKernel[];
  /** Nodes the host runs (not lowered, or not expressible in CUDA), with reasons. */
  readonly fallbacks: readonly Unsupported[];
}

/** How compileCudaSource lowers and names. */
export interface CudaSourceOptions {
  /** The execution order (a memory plan's). */
  readonly order?: readonly string[];
  /** A prefix for every kernel name (several graphs in one unit). */
  readonly prefix?: string;
  /**
   * The target architecture, `sm_XY` (default sm_80): tensor-core templates need sm_80 or later
   * (mma.sync m16n8k16 and tf32); before that every product uses the SIMT template.
   */
  readonly arch?: string;
  /** Round f32 products' operands to tf32 on the tensor cores (PyTorch's allow_tf32; default off: f32 stays exact). */
  readonly tf32?: boolean;
}

/** The lowering target for an architecture: the GPU templates, with tensor cores from sm_80. */
export function cudaTarget(opts: Pick<CudaSourceOptions, 'arch' | 'tf32'> = {}): LowerTarget {
  const sm = Number(/^sm_(\d+)a?$/.exec(opts.arch ?? 'sm_80')?.[1] ?? NaN);
  if (!Number.isFinite(sm)) throw new Error(`CUDA architecture '${opts.arch}' is not sm_XY (e.g. sm_80, sm_90)`);
  return sm >= 80 ? { ...GPU_TARGET, mma: { tf32: opts.tf32 ?? false } } : GPU_TARGET;
}

/** Compiles `graph` to CUDA source (see the module header). */
export function compileCudaSource(graph: Graph, opts: CudaSourceOptions = {}): CudaCompiled {
  const lowered = lowerGraph(graph, { ...(opts.order ? { order: opts.order } : {}), target: cudaTarget(opts) });
  const { program } = lowered;
  const fallbacks: Unsupported[] = [...lowered.unsupported];
  const lang = cuda();
  const kernels = new Map(program.kernels.map((k) => [k.name, k]));
  const launches: CudaLaunch[] = [];
  const rendered = new Map<string, RenderedKernel>();
  program.calls.forEach((c, call) => {
    const k = kernels.get(c.kernel)!;
    const made: CudaLaunch[] = [];
    try {
      const argOf = new Map(k.params.map((p, i) => [p.name, c.args[i]]));
      for (const g0 of mapKernelToGpu(k)) {
        // `prefix`: kernel names unique across several graphs in one unit (cudaUnit)
        const g = opts.prefix ? { ...g0, kernel: { ...g0.kernel, name: `${opts.prefix}${g0.kernel.name}` } } : g0;
        if (!rendered.has(g.kernel.name)) rendered.set(g.kernel.name, { kernel: g.kernel, text: renderKernel(lang, g.kernel) });
        made.push({
          name: g.kernel.name, from: k.name, call, kernel: g.kernel, mode: g.mode,
          grid: g.kernel.launch!.grid, block: g.kernel.launch!.block, args: g.kernel.params.map((p) => argOf.get(p.name)!),
        });
      }
    } catch (e) {
      fallbacks.push({ node: k.nodes[0], op: graph.nodes.find((n) => n.outputs[0] === k.nodes[0])?.op, reason: `kernel ${k.name}: ${(e as Error).message}` });
      for (const m of made) rendered.delete(m.name);
      return;
    }
    launches.push(...made);
  });
  const unit = [...rendered.values()];
  const calls = launches.map((l) => ({ kernel: l.name, args: l.args }));
  return { program, launches, source: cudaUnit(program.name, unit, calls), kernels: unit, fallbacks };
}

/**
 * One translation unit of rendered kernels under one header (`calls`, listed as comments: the launch
 * order). compileCudaSource's unit is one graph's; tests join many graphs' (names made unique by
 * `prefix`) to compile them in one nvcc run.
 */
export function cudaUnit(name: string, kernels: readonly RenderedKernel[], calls: readonly { kernel: string; args: readonly string[] }[] = []): string {
  const lang = cuda();
  const header = lang.fileHeader({ name, buffers: [], kernels: kernels.map((u) => u.kernel), calls: [] });
  return [...header, '', ...kernels.flatMap((u) => [...u.text, '']), ...lang.entry({ name, buffers: [], kernels: [], calls })].join('\n') + '\n';
}
