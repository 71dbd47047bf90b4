/**
 * Every compile stage of a session's snapshot as an artifact: the one API that `kiln opt --emit`,
 * `kiln build`, and the `source`/`kir` commands (`%source NODE` in the kernel) read.
 *
 * Stages of one snapshot (a step's graph, `Session.artifacts(step)`):
 *   graph    the IR text (`printGraph`);
 *   plan     the memory plan (compiler/schedule through `planMemoryCached`, once per graph) as JSON
 *            (`planJson`) and as text (summary and timeline table, `planText`);
 *   kernel   the kernel IR program, lowered in the plan's execution order for the session's target (on
 *            `cpu` at this machine's vector width, as the cpu backend compiles it; codegen/lower; once per
 *            graph object, kept weakly), printed with codegen/print.ts;
 *   source   that program rendered to C (codegen/render.ts with lang/c.ts); for the `webgpu` target the
 *            WGSL of every dispatch, for `cuda` the CUDA translation unit (runtime/cuda/compile.ts).
 * Nodes that do not lower are listed in a stage's `notes` (node, op, reason) and, for `kernel` and
 * `source`, in a comment at the top of the text, so an incomplete program never looks complete.
 *
 * Backend artifacts (what a backend really built: sources, compiler command and log, binary, kernel
 * IR) come from the Program the session prepared for that step (compiler/session-run.ts
 * `prepareStep`: prepared once per step graph and backend, shared with run and timings). `kernelOf`
 * finds the kernel that computes one IR node (by node id or ONNX node name) among a program's
 * artifacts: the smallest per-kernel source artifact (one tied to fewer nodes than the whole graph)
 * whose nodes include it, with the kernel IR artifact of the same nodes when the backend kept one. A
 * backend that keeps only whole-program sources shows that; when per-kernel sources exist and none
 * holds the node, it has no kernel (a view, or a node bound without code).
 */
import type { Graph, Node } from './ir/graph.ts';
import { nodeId } from './ir/graph.ts';
import { printGraph } from './ir/print.ts';
import { KilnError } from './errors.ts';
import { requireStaticShapes } from './ops/bind-shapes.ts';
import { opTraits } from './ops/registry.ts';
import { formatMemorySummary, memorySummary, memoryTimelineTable, planMemoryCached } from './results/memory.ts';
import type { MemoryPlan } from './schedule/plan.ts';
import { type LoweredProgram, lowerGraph } from './codegen/lower/index.ts';
import { GPU_TARGET, type LowerTarget, PLAIN_TARGET } from './codegen/lower/context.ts';
import { DEFAULT_WEBGPU_TARGET, compileWebgpu, wgslText } from './runtime/webgpu/compile.ts';
import { compileCudaSource, cudaTarget } from './runtime/cuda/compile.ts';
import { cpuLowerTarget } from './runtime/cpu/index.ts';
import { printProgram } from './codegen/print.ts';
import { renderProgram } from './codegen/render.ts';
import { C } from './codegen/lang/c.ts';
import { type Artifact, type Unsupported, findBackend } from './runtime/backend.ts';
import type { Session } from './session.ts';
import { type PrepareStepOptions, type PreparedStep, prepareStep } from './session-run.ts';

/** The stages a snapshot's text can stop at, in pipeline order. */
export const STAGES = ['graph', 'plan', 'kernel', 'source'] as const;
export type Stage = (typeof STAGES)[number];

/** A stage's text and the notes about it (nodes that do not lower). */
export interface StageText {
  readonly text: string;
  readonly notes: readonly string[];
}

/** The memory plan as JSON text: summary, execution order, every tensor's bytes, interval, offset and alias. */
export function planJson(plan: MemoryPlan): string {
  const { tensors: tensorCount, ...summary } = memorySummary(plan);
  return JSON.stringify({
    ...summary,
    tensorCount,
    alignment: plan.alignment,
    order: plan.order,
    tensors: plan.tensors.map((t) => ({
      name: t.name, bytes: t.bytes, offset: t.offset, first: t.first, last: t.last, producer: t.producer,
      ...(t.aliasOf !== undefined ? { aliasOf: t.aliasOf, aliasKind: t.aliasKind } : {}),
    })),
  }, null, 2) + '\n';
}

/** The memory plan as text: the summary line and the timeline table (every tensor). */
export function planText(plan: MemoryPlan): string {
  return `${formatMemorySummary(plan)}\n\n${memoryTimelineTable(plan).toText({ maxRows: Infinity }).trimEnd()}\n`;
}

const lowerings = new WeakMap<Graph, Map<string, LoweredProgram>>();

/**
 * The lowering target of a pass target: for `cpu`, this machine's vector width (the kernels the cpu
 * backend compiles here: the GEMM template over vector lanes); for `webgpu` and `cuda` the GPU target
 * (GPU templates, plain loop nests for the GPU mapping); plain loop nests otherwise.
 */
export function lowerTargetFor(target: string): LowerTarget {
  return target === 'cpu' ? cpuLowerTarget() : target === 'webgpu' ? GPU_TARGET : target === 'cuda' ? cudaTarget() : PLAIN_TARGET;
}

/**
 * The kernel program of `graph` in its memory plan's order for a lowering target (default plain loop
 * nests), lowered once per graph object and target.
 */
export function loweredProgram(graph: Graph, target: LowerTarget = PLAIN_TARGET): LoweredProgram {
  let byTarget = lowerings.get(graph);
  if (!byTarget) lowerings.set(graph, (byTarget = new Map()));
  const key = JSON.stringify(target);
  let l = byTarget.get(key);
  if (!l) {
    requireStaticShapes(graph, 'kernel lowering', { values: 'host' });
    byTarget.set(key, (l = lowerGraph(graph, { order: planMemoryCached(graph).order, target })));
  }
  return l;
}

/**
 * The text of `graph` at `stage` (see the module header). `what` names the request in the error for a
 * graph with symbolic sizes (default `the STAGE stage`).
 */
export function stageText(graph: Graph, stage: Stage, what = `the ${stage} stage`, passTarget = 'plain'): StageText {
  if (stage === 'graph') return { text: printGraph(graph), notes: [] };
  requireStaticShapes(graph, what, { values: 'host' });
  if (stage === 'plan') return { text: planJson(planMemoryCached(graph)), notes: [] };
  const { program, unsupported } = loweredProgram(graph, lowerTargetFor(passTarget));
  const order = planMemoryCached(graph).order;
  // GPU targets: the source stage is the WGSL of every dispatch (for an adapter with shader-f16), or
  // the CUDA translation unit
  const gpu = stage !== 'source' ? undefined
    : passTarget === 'webgpu' ? (() => { const w = compileWebgpu(graph, { order, target: { ...DEFAULT_WEBGPU_TARGET, f16: true } }); return { text: wgslText(w), fallbacks: w.fallbacks }; })()
      : passTarget === 'cuda' ? (() => { const c = compileCudaSource(graph, { order }); return { text: c.source, fallbacks: c.fallbacks }; })()
        : undefined;
  const notes = gpu ? gpu.fallbacks.map((u) => `runs on the host: %${u.node} ${u.op}: ${u.reason}`) : unsupported.map((u) => `not lowered: %${u.node} ${u.op}: ${u.reason}`);
  const text = gpu ? gpu.text : stage === 'kernel' ? printProgram(program) : renderProgram(C, program);
  if (!notes.length) return { text, notes };
  const comment = stage === 'kernel' || (passTarget === 'webgpu' && gpu) ? notes.map((n) => `// ${n}`).join('\n') : `/*\n${notes.map((n) => ` * ${n.replace(/\*\//g, '* /')}`).join('\n')}\n */`;
  return { text: `${comment}\n${text}`, notes };
}

/** The kernel that runs one IR node on a backend (`kernelOf`). */
export interface NodeKernel {
  /** The node asked for: its id, op and ONNX provenance. */
  readonly node: string;
  readonly op: string;
  readonly loc: readonly string[];
  readonly backend: string;
  readonly label: string;
  /**
   * The kernel's source artifact; undefined when no kernel computes the node (a view, a node the
   * backend runs on its reference kernel, or a backend that generates no source) — `why` says which.
   */
  readonly source?: Artifact;
  /** The kernel IR of that kernel, when the backend kept it. */
  readonly kir?: Artifact;
  /** Its PTX, on the cuda backend (the `.entry` of each of its launches). */
  readonly ptx?: Artifact;
  /** Every IR node the kernel computes (the node itself and what was fused with it). */
  readonly nodes: readonly string[];
  /** Why there is no source, in plain words. */
  readonly why?: string;
}

/** The artifacts of one snapshot of a session (module header). */
export class SnapshotArtifacts {
  constructor(private readonly session: Session, readonly step: number) {
    session.at(step); // a step that does not exist is the Session's error
  }

  /** The snapshot's graph. */
  get graph(): Graph {
    return this.session.at(this.step).graph;
  }

  /** The IR text. */
  ir(): string {
    return printGraph(this.graph);
  }

  /** The memory plan (default options; cached per graph). */
  plan(): MemoryPlan {
    requireStaticShapes(this.graph, 'the memory plan', { values: 'host' });
    return planMemoryCached(this.graph);
  }

  /** The kernel program and the nodes that do not lower, lowered for the session's target (lowerTargetFor). */
  kernels(): LoweredProgram {
    return loweredProgram(this.graph, lowerTargetFor(this.session.target));
  }

  /** The text of a stage (graph, plan JSON, kernel IR, C source) for the session's target; `what` as in `stageText`. */
  stage(stage: Stage, what?: string): StageText {
    return stageText(this.graph, stage, what, this.session.target);
  }

  /** The snapshot prepared on a backend: the session's cached program and its artifacts. */
  compiled(opts: Omit<PrepareStepOptions, 'step'> = {}): Promise<PreparedStep> {
    return prepareStep(this.session, { ...opts, step: this.step });
  }

  /** The node of this snapshot named `name`: an IR node id (`%` optional) or an ONNX node name. */
  findNode(name: string): Node {
    const g = this.graph;
    const id = name.startsWith('%') ? name.slice(1) : name;
    const byId = g.nodes.find((n) => nodeId(n) === id);
    if (byId) return byId;
    const byLoc = g.nodes.filter((n) => n.loc.includes(name));
    if (byLoc.length) return byLoc[0];
    const ids = g.nodes.map(nodeId);
    const near = ids.filter((x) => x.toLowerCase().includes(id.toLowerCase())).slice(0, 5);
    throw new KilnError(`no node '${name}' at step ${this.step} (by IR node id or ONNX node name)`
      + (near.length ? `; did you mean ${near.map((x) => `'${x}'`).join(', ')}?` : `; the graph has ${ids.length} nodes, e.g. ${ids.slice(0, 3).map((x) => `'${x}'`).join(', ')}`));
  }

  /**
   * The kernel that runs node `name` when the snapshot is prepared on a backend (default cpu): its
   * source and kernel IR artifacts and every node it computes (see the module header).
   */
  async kernelOf(name: string, opts: Omit<PrepareStepOptions, 'step'> & { readonly arch?: string } = {}): Promise<NodeKernel> {
    const node = this.findNode(name);
    const id = nodeId(node);
    const prepared = opts.arch === undefined ? await this.compiled({ backend: 'cpu', ...opts }) : await this.built(opts.backend ?? 'cpu', opts.arch, opts);
    const base = { node: id, op: node.op, loc: node.loc, backend: prepared.backend, label: prepared.label };
    // per-kernel sources when the backend keeps them (fewer nodes than the graph), else whole-program ones
    const sources = prepared.program.artifacts.filter((a) => a.kind === 'source' && a.nodes?.length);
    const perKernel = sources.filter((a) => a.nodes!.length < prepared.graph.nodes.length);
    const source = smallest((perKernel.length ? perKernel : sources).filter((a) => a.nodes!.includes(id) && !a.name.endsWith('.ptx')));
    if (!source) {
      const anySource = sources.length > 0;
      const fallback = prepared.program.fallbacks?.find((u) => u.node === id);
      const why = fallback ? `%${id} (${node.op}) runs on its reference kernel inside the ${prepared.backend} program (not compiled: ${fallback.reason})`
        : !anySource ? `backend ${prepared.backend} generates no source: %${id} runs on the reference kernel of ${node.op}`
        : opTraits(node.op).view ? `%${id} (${node.op}) has no kernel: it is a view of its input's storage`
          : `no kernel of the program computes %${id} (${node.op})`;
      return { ...base, nodes: [id], why };
    }
    const kir = smallest(prepared.program.artifacts.filter((a) => a.kind === 'ir' && a.nodes?.includes(id)
      && sameNodes(a.nodes, source.nodes!)));
    const ptx = prepared.program.artifacts.find((a) => a.name.endsWith('.ptx') && a.nodes && sameNodes(a.nodes, source.nodes!));
    return { ...base, source, ...(kir ? { kir } : {}), ...(ptx ? { ptx } : {}), nodes: source.nodes! };
  }

  /**
   * This snapshot built for an architecture without its device (Backend.build: `source NODE --backend
   * cuda --arch sm_90` on a machine with no GPU), in the shape kernelOf reads.
   */
  private async built(backend: string, arch: string, opts: Omit<PrepareStepOptions, 'step'>): Promise<Pick<PreparedStep, 'backend' | 'label' | 'graph'> & { program: { artifacts: readonly Artifact[]; fallbacks?: readonly Unsupported[] } }> {
    const b = findBackend(backend);
    if (!b?.build) throw new KilnError(`backend '${backend}' builds for this machine only; --arch is for a GPU backend (cuda)`);
    const graph = this.graph;
    requireStaticShapes(graph, 'building a step');
    const built = await b.build(graph, planMemoryCached(graph), { arch, ...(opts.tf32 ? { tf32: true } : {}), ...(opts.onPrepare ? { onProgress: opts.onPrepare } : {}) });
    const st = this.session.at(this.step);
    return { backend: `${b.name} (${arch}, built without a device)`, label: `${this.session.source} at step ${this.step} (${st.pass})`, graph, program: built };
  }
}

/** The artifact with the fewest nodes (a kernel's own rather than the whole program's). */
function smallest(list: readonly Artifact[]): Artifact | undefined {
  return list.reduce<Artifact | undefined>((best, a) => (!best || a.nodes!.length < best.nodes!.length ? a : best), undefined);
}

const sameNodes = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
