/**
 * Graph → kernel IR Program: every node in execution order is lowered by its op's lowering (the
 * registry of lower/all.ts) into one kernel, or bound as a view of its input; what cannot be lowered
 * is reported as Unsupported (node, op, reason; the Backend interface's type) instead of failing.
 *
 * Buffers: one program buffer per graph input, used constant and node output (graph outputs are
 * `output`, the rest `intermediate`; a view's buffer names its root with `aliasOf`). Each kernel's
 * params are the node's present inputs (`in<k>`, role input, or constant for a graph constant) and
 * outputs (`out<k>`), and its call binds them to those program buffers. Every kernel is verified
 * (verify.ts) as it is made: a verifier failure here is a lowering bug and throws. A kernel with f16
 * params computes in f32 (widen.ts).
 *
 * Shapes must be concrete: symbolic dims are bound first (requireStaticShapes names the options).
 * A value whose size is known only at run time (bind-shapes.ts `runTimeSized`: a Loop's stacked scan
 * outputs, ConcatFromSequence) has no buffer: a kernel needs its size when it is lowered, so every
 * node that reads or writes one is Unsupported (the compiled backends run it as a host step, on its
 * reference kernel, and hold the value on the host, as they hold sequences).
 */
import '../../ops/all.ts';
import './all.ts';
import { type Graph, type TensorType, formatType, nodeId, valueTypes } from '../../ir/graph.ts';
import type { Tensor } from '../../ir/tensor.ts';
import { requireStaticShapes, runTimeSized } from '../../ops/bind-shapes.ts';
import { inferTypes } from '../../ops/infer.ts';
import { KilnError } from '../../errors.ts';
import type { Unsupported } from '../../runtime/backend.ts';
import type { BufferDecl, Call, Index, Kernel, Program, ProgramBuffer, Scalar, Stmt } from '../kir.ts';
import { verifyKernel, verifyProgram } from '../verify.ts';
import { type LowerTarget, type Operand, type Tunable, type TuningChoices, LowerUnsupported, PLAIN_TARGET, findLowering, lowerNode } from './context.ts';
import { isHalf, widenHalf } from './widen.ts';

/** The result of lowering a graph. */
export interface LoweredProgram {
  /** The kernels of every node that lowers (a node listed in `unsupported` has no kernel). */
  readonly program: Program;
  /** Nodes that could not be lowered, with reasons. */
  readonly unsupported: readonly Unsupported[];
  /** Every schedule choice the lowerings made (LowerNode.choose), in lowering order. */
  readonly tunables: readonly Tunable[];
}

/** Options of lowerGraph. */
export interface LowerOptions {
  /** Execution order (node ids; e.g. the memory plan's `order`); default: the graph's order. */
  readonly order?: readonly string[];
  /** Tuned schedule choices (`${template}|${key}` → candidate index); default: every lowering's default. */
  readonly choices?: TuningChoices;
  /** What to lower for (the vector width templates use); default PLAIN_TARGET, plain loop nests. */
  readonly target?: LowerTarget;
}

const sanitize = (s: string) => s.replace(/[^A-Za-z0-9_]/g, '_');

/** Lowers a graph with concrete shapes to a kernel program. */
export function lowerGraph(graph: Graph, opts: LowerOptions = {}): LoweredProgram {
  requireStaticShapes(graph, 'kernel lowering', { values: 'host' });
  const dynamic = runTimeSized(graph);
  const target = opts.target ?? PLAIN_TARGET;
  const types = valueTypes(graph);
  // values known before running (constants, and small values inference folds: shape arithmetic), so a
  // lowering can read Slice starts or Pad pads computed by nodes; the nodes themselves still run
  const known = new Map<string, Tensor>();
  inferTypes(graph, { values: known });
  const constants = new Map(graph.constants.map((c) => [c.name, c]));
  const inputs = new Set(graph.inputs.map((i) => i.name));
  const outputs = new Set(graph.outputs);
  const byId = new Map(graph.nodes.map((n) => [nodeId(n), n]));
  const nodes = opts.order ? opts.order.map((id) => {
    const n = byId.get(id);
    if (!n) throw new Error(`lowerGraph: the execution order names '${id}', which is not a node of @${graph.name}`);
    return n;
  }) : graph.nodes;
  if (new Set(nodes).size !== graph.nodes.length) throw new Error(`lowerGraph: the execution order has ${new Set(nodes).size} distinct nodes, the graph ${graph.nodes.length}`);

  const buffers = new Map<string, ProgramBuffer>();
  const count = (t: TensorType) => (t.shape as number[]).reduce((a, b) => a * b, 1);
  const addBuffer = (value: string, kind: ProgramBuffer['kind'], aliasOf?: string) => {
    if (buffers.has(value) || dynamic.has(value)) return; // a run-time-sized value lives on the host
    const t = types.get(value)!;
    buffers.set(value, { value, dtype: t.dtype, count: count(t), kind, ...(aliasOf !== undefined ? { aliasOf } : {}) });
  };
  for (const i of graph.inputs) addBuffer(i.name, 'input');
  const root = (v: string): string => buffers.get(v)?.aliasOf ?? v;

  const kernels: Kernel[] = [];
  const calls: Call[] = [];
  const unsupported: Unsupported[] = [];
  const tunables: Tunable[] = [];
  for (const node of nodes) {
    const id = nodeId(node);
    const fail = (reason: string) => {
      unsupported.push({ node: id, op: node.op, reason });
      // keep the program's buffers complete so later kernels still bind (the gap is this node's kernel)
      for (const o of node.outputs) if (o) addBuffer(o, outputs.has(o) ? 'output' : 'intermediate');
    };
    const lowering = findLowering(node.op);
    if (!lowering) { fail(`op ${node.op} is not lowered to kernels`); continue; }
    const sized = [...node.inputs, ...node.outputs].find((v) => v && dynamic.has(v));
    if (sized) {
      const t = types.get(sized)!;
      fail(`${node.outputs.includes(sized) ? 'writes' : 'reads'} '${sized}' (${formatType(t)}), whose size is known only at run time (dim '${dynamic.get(sized)}'): a kernel needs it when lowered`);
      continue;
    }
    const operand = (value: string, name: string): Operand => {
      const t = types.get(value)!;
      const data: Tensor | undefined = constants.get(value)?.data;
      const folded = data ? undefined : known.get(value);
      return { name, dtype: t.dtype, shape: t.shape as number[], count: count(t), ...(data ? { value: data } : {}), ...(folded ? { folded } : {}) };
    };
    const ins = node.inputs.map((v, k) => (v ? operand(v, `in${k}`) : undefined));
    const outs = node.outputs.map((v, k) => operand(v, `out${k}`));
    if (node.outputs.some((o) => !o)) { fail('a node with omitted outputs is not lowered'); continue; }
    let lowered;
    try {
      const made: Tunable[] = [];
      lowered = lowering(lowerNode(node, ins, outs, { choices: opts.choices, made }, target));
      tunables.push(...made);
    } catch (e) {
      if (e instanceof LowerUnsupported) { fail(e.message); continue; }
      throw e;
    }
    if (lowered.kind === 'view') {
      // a view of a graph constant (Identity of an initializer) needs the constant's buffer as its root
      if (constants.has(node.inputs[0])) addBuffer(node.inputs[0], 'constant');
      addBuffer(node.outputs[0], outputs.has(node.outputs[0]) ? 'output' : 'intermediate', root(node.inputs[0]));
      continue;
    }
    for (const o of node.outputs) addBuffer(o, outputs.has(o) ? 'output' : 'intermediate');
    const params: BufferDecl[] = [];
    const args: string[] = [];
    const read = buffersRead(lowered.body);
    node.inputs.forEach((v, k) => {
      if (!v || !read.has(`in${k}`)) return; // an input the kernel never reads (constant axes, shapes) is not a param
      const x = ins[k]!;
      if (constants.has(v)) addBuffer(v, 'constant');
      params.push({ name: x.name, dtype: x.dtype, count: x.count, role: constants.has(v) ? 'constant' : 'input' });
      args.push(v);
    });
    // packed constants (made from a constant operand at lowering time) are read like constants
    for (const pk of lowered.packed ?? []) {
      const value = `${id}.${pk.name}`, from = node.inputs[pk.from];
      if (!from || !constants.has(from)) throw new Error(`lowering of %${id} packed input ${pk.from}, which is not a constant`);
      if (pk.data.length === 0) throw new Error(`lowering of %${id}: packed constant ${pk.name} is empty`);
      buffers.set(value, { value, dtype: pk.dtype, count: pk.data.length, kind: 'constant', packed: { from, what: pk.what, data: pk.data } });
      params.push({ name: pk.name, dtype: pk.dtype, count: pk.data.length, role: 'constant' });
      args.push(value);
    }
    node.outputs.forEach((v, k) => {
      params.push({ name: outs[k].name, dtype: outs[k].dtype, count: outs[k].count, role: 'output' });
      args.push(v);
    });
    for (const sc of lowered.scratch ?? []) {
      const value = `${id}.${sc.name}`;
      buffers.set(value, { value, dtype: sc.dtype, count: sc.count, kind: 'scratch' });
      params.push({ name: sc.name, dtype: sc.dtype, count: sc.count, role: 'scratch' });
      args.push(value);
    }
    const dtypes = new Map([...params, ...(lowered.shared ?? [])].map((p) => [p.name, p.dtype]));
    const half = params.some((p) => isHalf(p.dtype));
    const kernel: Kernel = {
      name: `k${kernels.length}_${sanitize(node.op)}`,
      params, shared: lowered.shared ?? [], body: half ? widenHalf(lowered.body, (b) => dtypes.get(b)) : lowered.body, nodes: [id], loc: node.loc,
      ...(lowered.tolerance ? { tolerance: lowered.tolerance } : {}), ...(lowered.launch ? { launch: lowered.launch } : {}),
    };
    verifyKernel(kernel);
    kernels.push(kernel);
    calls.push({ kernel: kernel.name, args });
  }
  // graph outputs that are graph inputs or constants need no kernel but must be buffers
  for (const o of graph.outputs) if (!buffers.has(o)) addBuffer(o, inputs.has(o) ? 'input' : constants.has(o) ? 'constant' : 'intermediate');
  const program: Program = {
    name: sanitize(graph.name), buffers: [...buffers.values()], kernels, calls,
    ...(target.vectorBits > 0 || target.gpu ? { target: { vectorBits: target.vectorBits, ...(target.gpu ? { gpu: true } : {}) } } : {}),
  };
  if (!unsupported.length) verifyProgram(program);
  return { program, unsupported, tunables };
}

/** Names of the buffers a kernel body loads from (directly or as an indirect index). */
function buffersRead(stmts: readonly Stmt[], out: Set<string> = new Set()): Set<string> {
  const idx = (e: Index): void => {
    if (e.k === 'load') { out.add(e.buffer); idx(e.index); } else if (e.k === 'table') idx(e.index); else if (e.k !== 'const' && e.k !== 'var') { idx(e.a); idx(e.b); }
  };
  const sc = (e: Scalar): void => {
    switch (e.k) {
      case 'load': out.add(e.buffer); idx(e.index); return;
      case 'index': case 'table': idx(e.index); return;
      case 'unary': case 'cast': case 'broadcast': sc(e.a); return;
      case 'lane': sc(e.a); idx(e.index); return;
      case 'binary': sc(e.a); sc(e.b); return;
      case 'select': sc(e.cond); sc(e.a); sc(e.b); return;
      default:
    }
  };
  for (const s of stmts) {
    if (s.k === 'loop') buffersRead(s.body, out);
    else if (s.k === 'guard') { for (const b of s.bounds) idx(b.index); buffersRead(s.body, out); }
    else if (s.k === 'store') { idx(s.index); sc(s.value); } else if (s.k === 'let' || s.k === 'accum') sc(s.value);
    else if (s.k === 'acc') sc(s.init);
    else if (s.k === 'mma') [...s.a, ...s.b].forEach(sc);
    else if (s.k === 'ldmatrix') { out.add(s.buffer); idx(s.index); } else if (s.k === 'copy_async') { out.add(s.from); idx(s.fromIndex); idx(s.toIndex); for (const b of s.bounds) idx(b.index); }
  }
  return out;
}

/**
 * What kernel lowering cannot handle in `graph`, without throwing: each node that does not lower, or
 * one graph-wide entry when sizes are not concrete (a symbolic dim that is unbound, or that only the
 * data decides). For a Backend's `unsupported`.
 */
export function loweringUnsupported(graph: Graph): Unsupported[] {
  try {
    return [...lowerGraph(graph).unsupported];
  } catch (e) {
    if (e instanceof KilnError) return [{ reason: e.reason }];
    throw e;
  }
}
