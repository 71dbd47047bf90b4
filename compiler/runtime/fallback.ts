/**
 * Host fallback inside a compiled program, shared by the compiled backends (cpu, webgpu): the nodes a
 * backend cannot compile run on their ops' reference kernels (OpDef.run, as reference.ts and arena.ts
 * call them), in the execution order, between the compiled kernels.
 *
 * Steps. The execution order (the memory plan's, else the graph's) is cut into steps: a **native
 * segment** is a maximal run of consecutive nodes that have kernels (views have neither a kernel nor a
 * step), a **fallback step** is one node that did not compile. A backend runs a segment in one go (the
 * cpu: one native call; webgpu: one compute pass) and a fallback step on the host.
 *
 * A reference kernel's result is checked against the node's declared dtype and shape before it is
 * stored (a kernel bug surfaces at its node, as on the arena); an exception becomes a KilnError
 * placed at the node.
 *
 * Control flow: a node with regions (If, Loop, Scan) never lowers, so it is a fallback step: the host
 * keeps the control itself, and its op's value kernel (`runValues`) runs the regions on the reference
 * executor (reference.ts `referenceRegionContext`), each value a region reads from the graph
 * (`hostReads`: inputs and captured values) taken from the program's storage. The region bodies are
 * not compiled: their kernels run on the reference kernels, inside the node's host step. Sequences,
 * optionals and tensors sized only at run time (they have no program buffer: codegen/lower makes
 * every node writing or reading one a host step) live on the host (`ProgramValues.held`); a graph that takes or returns one is refused by
 * `compiledUnsupported` (`containerBoundary`), so a conformance run skips it. Where the values live is the backend's (cpu/segments.ts FallbackValues,
 * webgpu/values.ts DeviceValues).
 */
import type { Graph, Node, TensorType } from '../ir/graph.ts';
import { capturedValues, formatType, nodeId, regionsOf, valueTypes } from '../ir/graph.ts';
import type { BufferLayout } from './buffer-layout.ts';
import { Tensor } from '../ir/tensor.ts';
import { type Value, describeValue, valueProblem } from '../ir/value.ts';
import { referenceRegionContext } from './reference.ts';
import { KilnError } from '../errors.ts';
import { type OpDef, type RunContext, getOp } from '../ops/registry.ts';
import { nodeAttrs } from '../ops/infer.ts';
import type { Program as KernelProgram } from '../codegen/kir.ts';
import type { Unsupported } from './backend.ts';
import { referenceUnsupported } from './ref-backend.ts';
import { loweringUnsupported } from '../codegen/lower/index.ts';

/** A maximal run of native kernels: indices into the kernel program's `calls`. */
export interface NativeSegment {
  readonly kind: 'native';
  /** The segment's number (the `s` of `kiln_run_segment`). */
  readonly segment: number;
  readonly calls: readonly number[];
}

/** One node run on its reference kernel. */
export interface FallbackStep {
  readonly kind: 'fallback';
  /** IR node id. */
  readonly id: string;
  readonly node: Node;
  /** Why it did not lower. */
  readonly reason: string;
}

/** One step of a compiled program with fallback, in execution order. */
export type ProgramStep = NativeSegment | FallbackStep;

/**
 * Cuts the execution `order` (node ids; default the graph's order) into native segments and fallback
 * steps. `fallbacks` are the nodes that did not lower (lowerGraph's `unsupported`, each with a node).
 */
export function planSteps(graph: Graph, program: KernelProgram, fallbacks: readonly Unsupported[], order?: readonly string[]): ProgramStep[] {
  const byId = new Map(graph.nodes.map((n) => [nodeId(n), n]));
  const reasons = new Map(fallbacks.map((u) => [u.node!, u.reason]));
  const kernelOf = new Map<string, number>(); // node id → index of its call
  const kernelIndex = new Map(program.kernels.map((k) => [k.name, k]));
  program.calls.forEach((c, i) => { for (const id of kernelIndex.get(c.kernel)!.nodes) kernelOf.set(id, i); });
  const steps: ProgramStep[] = [];
  let current: number[] | undefined;
  let segments = 0;
  for (const id of order ?? graph.nodes.map(nodeId)) {
    const reason = reasons.get(id);
    if (reason !== undefined) {
      current = undefined;
      steps.push({ kind: 'fallback', id, node: byId.get(id)!, reason });
      continue;
    }
    const call = kernelOf.get(id);
    if (call === undefined) continue; // a view: no kernel, no step
    if (!current) steps.push({ kind: 'native', segment: segments++, calls: (current = []) });
    if (!current.includes(call)) current.push(call);
  }
  return steps;
}

/** Of the nodes that do not lower (`fallbacks`), those the reference kernels cannot run either. */
export function referenceGaps(graph: Graph, fallbacks: readonly Unsupported[]): Unsupported[] {
  if (!fallbacks.length) return [];
  const byReference = new Map<string, Unsupported>();
  for (const u of referenceUnsupported(graph)) if (u.node !== undefined && !byReference.has(u.node)) byReference.set(u.node, u);
  return fallbacks.flatMap((u) => {
    const ref = byReference.get(u.node!);
    return ref ? [{ ...ref, reason: `${u.reason}, and ${ref.reason}` }] : [];
  });
}

/**
 * The values a host step reads: its node's inputs and, for a node with regions (If, Loop, Scan), the
 * values its regions read from the enclosing scopes (ir/graph.ts `capturedValues`), each once.
 */
export function hostReads(node: Node): string[] {
  const names = new Set(node.inputs.filter(Boolean));
  for (const [, region] of regionsOf(node)) for (const v of capturedValues(region)) names.add(v);
  return [...names];
}

/**
 * Runs fallback `step`'s node on its reference kernel: inputs from `read`, each output checked against
 * its declared type (`types`) and handed to `write`. An op with a value kernel (`runValues`: sequence
 * and optional ops, If/Loop/Scan) runs that, its regions on the reference executor
 * (reference.ts `referenceRegionContext`) with the values they read from the graph taken from `read`;
 * its outputs may be sequences or optionals (`write` then gets those).
 */
export function runReferenceNode(step: FallbackStep, types: ReadonlyMap<string, TensorType>, read: (value: string) => Value,
  write: (value: string, v: Value) => void, compiled?: ReadonlyMap<Graph, CompiledRegion>): void {
  const { node, id } = step;
  const def: OpDef = getOp(node.op);
  const args = node.inputs.map((name) => (name ? read(name) : undefined));
  let outs: Value[];
  try {
    if (def.runValues) outs = def.runValues(args, nodeAttrs(def, node), node.outputs.length, regionContext(read, compiled));
    else {
      args.forEach((v, k) => {
        if (v !== undefined && !(v instanceof Tensor)) throw new KilnError(`input ${k} '%${node.inputs[k]}' is ${describeValue(v)}; op ${node.op} takes tensors`);
      });
      outs = def.run(args as (Tensor | undefined)[], nodeAttrs(def, node), node.outputs.length);
    }
  } catch (e) {
    if (e instanceof KilnError) throw e.place.node ? e : new KilnError(e.reason, { ...e.place, node: id, op: node.op });
    throw Object.assign(new KilnError(`reference kernel failed: ${(e as Error).message}`, { node: id, op: node.op }), { cause: e });
  }
  node.outputs.forEach((o, k) => {
    if (!o) return;
    const got = outs[k], want = types.get(o)!;
    const bad = (why: string) => new KilnError(`reference kernel output ${k} is ${got instanceof Tensor ? `${got.dtype}[${got.shape.join(',')}]` : describeValue(got)} but the IR declares ${formatType(want)}${why}`, { node: id, op: node.op });
    if (want.container !== undefined) {
      if (got === undefined || valueProblem(got, want)) throw bad('');
    } else if (!(got instanceof Tensor) || got.dtype !== want.dtype || got.shape.length !== want.shape.length
      || got.shape.some((d, i) => typeof want.shape[i] === 'number' && d !== want.shape[i])) throw bad(''); // a symbolic dim: sized at run time
    try { write(o, got); } catch (e) { throw bad(`: ${(e as Error).message}`); }
  });
}

/**
 * A region body compiled as a program of its own (`regionGraph`): runs it on its inputs by name (the
 * body's arguments and the values it captures) and returns its results.
 */
export type CompiledRegion = (inputs: ReadonlyMap<string, Value>) => Value[];

/**
 * A region as a graph a backend can compile on its own: its arguments, then the values it reads from
 * the enclosing scopes (typed by `outer`), as graph inputs; its constants, nodes and results as they are.
 */
export function regionGraph(region: Graph, outer: ReadonlyMap<string, TensorType>, name = region.name): Graph {
  const captured = capturedValues(region).map((v) => {
    const type = outer.get(v);
    if (!type) throw new KilnError(`region '@${region.name}' reads '%${v}', which has no type in the enclosing graph`);
    return { name: v, type };
  });
  return { name, inputs: [...region.inputs, ...captured], outputs: region.outputs, constants: region.constants, nodes: region.nodes };
}

/** The RunContext of a host step: compiled bodies where there are some, else the reference executor. */
function regionContext(read: (value: string) => Value, compiled?: ReadonlyMap<Graph, CompiledRegion>): RunContext {
  const reference = referenceRegionContext(read);
  if (!compiled?.size) return reference;
  return {
    runRegion(region, args) {
      const run = compiled.get(region);
      if (!run) return reference.runRegion(region, args);
      const inputs = new Map<string, Value>(region.inputs.map((a, k) => [a.name, args[k]]));
      for (const v of capturedValues(region)) inputs.set(v, read(v));
      return run(inputs);
    },
  };
}

/** One line per node, `  %id Op: reason` (at most `max`, then a count): refusals and `fallback.txt`. */
export function nodeLines(problems: readonly Unsupported[], max = Infinity): string {
  const lines = problems.slice(0, max).map((p) => `  ${p.node ? `%${p.node} ` : ''}${p.op ?? ''}: ${p.reason}`);
  return lines.join('\n') + (problems.length > max ? `\n  ... and ${problems.length - max} more` : '');
}

/**
 * What the compiled backends' value stores share (cpu/segments.ts FallbackValues, webgpu/values.ts
 * DeviceValues): every value's type, the graph's constants, the root a view's bytes belong to, and
 * the values held on the host because the program's storage cannot hold their dtype.
 */
export abstract class ProgramValues {
  protected readonly types: ReadonlyMap<string, TensorType>;
  protected readonly constants: ReadonlyMap<string, Tensor>;
  /**
   * Values held on the host, by root value name: dtypes the program's storage cannot hold, and
   * sequences, optionals and tensors sized only at run time (no fixed bytes; only host steps make and
   * read them).
   */
  protected readonly held = new Map<string, Value>();

  constructor(graph: Graph, protected readonly layout: BufferLayout) {
    this.types = valueTypes(graph);
    this.constants = new Map(graph.constants.flatMap((c) => (c.data ? [[c.name, c.data] as const] : [])));
  }

  protected type(value: string): TensorType {
    const t = this.types.get(value);
    if (!t) throw new KilnError(`value '%${value}' has no type`, { node: value });
    return t;
  }

  /** True for a sequence or optional: held on the host, never in the program's storage. */
  protected isContainer(value: string): boolean {
    return this.type(value).container !== undefined;
  }

  /** A value held on the host (a view of a held tensor with its own shape); a KilnError before it is computed. */
  protected heldValue(value: string): Value {
    const root = this.root(value);
    if (!this.held.has(root)) throw new KilnError(`value '%${value}' has not been computed`, { node: value });
    const h = this.held.get(root)!;
    if (root === value || !(h instanceof Tensor)) return h;
    const t = this.type(value);
    return new Tensor(t.dtype, t.shape as number[], h.data);
  }

  /** The value a view's bytes belong to (itself when it is not a view). */
  protected root(value: string): string {
    return this.layout.buffers.get(value)?.aliasOf ?? value;
  }
}

/**
 * What a compiling backend with reference fallback (cpu, webgpu, cuda: their `unsupported`) cannot
 * run in `graph`: graph-wide problems of lowering (input sizes not concrete; a value sized only at run
 * time is not one: its writers and readers are host steps),
 * else the nodes that neither lower nor have a reference kernel able to run them. Empty: a program
 * can run the whole graph, natively or with fallback.
 */
export function compiledUnsupported(graph: Graph): Unsupported[] {
  const boundary = containerBoundary(graph);
  if (boundary.length) return boundary;
  const lowering = loweringUnsupported(graph);
  const graphWide = lowering.filter((u) => u.node === undefined);
  return graphWide.length ? graphWide : referenceGaps(graph, lowering);
}

/**
 * Graph inputs and outputs that are sequences or optionals: a compiled program takes and returns
 * tensors (inside, host steps pass sequences between them).
 */
export function containerBoundary(graph: Graph): Unsupported[] {
  const kind = (t: TensorType) => (t.container === 'seq' ? 'a sequence' : 'an optional');
  const types = valueTypes(graph);
  return [
    ...graph.inputs.filter((i) => i.type.container).map((i) => ({ reason: `graph input '${i.name}' is ${kind(i.type)}: compiled programs take tensors (run it with --backend ref)` })),
    ...graph.outputs.filter((o) => types.get(o)?.container).map((o) => ({ reason: `graph output '${o}' is ${kind(types.get(o)!)}: compiled programs return tensors (run it with --backend ref)` })),
  ];
}

/**
 * Refuses, before anything is built, a program of `backend` whose fallback nodes it may not or cannot
 * run: any fallback when `allowed` is false (the node named), or nodes the reference kernels cannot
 * run either. Shared by the GPU backends' prepare.
 */
export function requireFallbacksRunnable(backend: string, graph: Graph, fallbacks: readonly Unsupported[], allowed: boolean): void {
  if (!fallbacks.length) return;
  if (!allowed) {
    throw new KilnError(`the ${backend} backend cannot compile ${fallbacks.length} node(s) of @${graph.name} (reference fallback is off):\n${nodeLines(fallbacks, 20)}`,
      fallbacks[0].node ? { node: fallbacks[0].node, op: fallbacks[0].op } : {});
  }
  const cannot = referenceGaps(graph, fallbacks);
  if (cannot.length) throw new KilnError(`the ${backend} backend cannot run ${cannot.length} node(s) of @${graph.name} (the reference kernels cannot run them either):\n${nodeLines(cannot, 20)}`);
}
