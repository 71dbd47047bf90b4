/**
 * The ONNX importer: ModelProto bytes -> kiln Graph.
 *
 * Steps: (1) decode with the protobufjs schema (malformed bytes become "not a valid ONNX model");
 * (2) check the IR version (3-13) and the default-domain opset (up to MAX_OPSET, 28); (2b) inline every
 * call of a model-local function (functions.ts: the body's nodes named `<call>/<function>/<node>`);
 * (3) collect every problem kiln cannot import — nodes of other domains, ops missing from the
 * registry, unsupported attributes, value types kiln has no type for (maps, sparse tensors),
 * rank-less tensors — and report them all in ONE KilnError; (4) turn initializers (dense, sparse,
 * external data) into constants; (5) order the nodes topologically if the file did not; (6) in that
 * order, turn Constant nodes into constants and rewrite every other node into its newest-opset form
 * (opsets.ts), tracking value types as it goes so that rules that need a dtype or rank can ask;
 * (7) rename every intermediate value, in every scope, to a short SSA name (`0`, `1`, ... in
 * definition order; graph and region inputs and outputs and initializers keep their ONNX names);
 * (8) run type inference through the op registry and check the graph outputs' dtypes against the
 * model's declarations.
 *
 * Subgraphs (If's branches, Loop's and Scan's bodies, to any depth) become regions (graph
 * attributes): each is built by the same steps 3-6 as a nested scope when its node is converted, so
 * it sees the types of every value converted before it in the enclosing scopes; a node whose regions
 * read an outer value is ordered after that value's producer. Sequence and optional value types become
 * container types (`seq<T>`, `opt<T>`, `opt<seq<T>>`; an element without a shape is unranked).
 */
import type { AttrValue, Constant, Graph, GraphInput, Node, TensorType } from '../../ir/graph.ts';
import type { Tensor } from '../../ir/tensor.ts';
import { formatType } from '../../ir/graph.ts';
import { dimProblem, shapeProblem } from '../../ir/sizes.ts';
import { lazyConstant } from '../../ir/lazy-weights.ts';
import { KilnError, withPlace } from '../../errors.ts';
import { readRegularFile } from '../../files.ts';
import { AttrReader, findOp } from '../../ops/registry.ts';
import { inferTypes } from '../../ops/infer.ts';
import { decodeModelProto, toInt, type GraphProto, type ModelProto, type NodeProto, type TypeProto, type ValueInfoProto } from './schema.ts';
import { tensorFromProto } from './tensor-proto.ts';
import { attrFromProto, constantNodeValue, densify, nonTensorKind, tensorTypeFromProto } from './proto-values.ts';
import { normalizeNode, normalizedOpName, type OpsetContext, type RawNode } from './opsets.ts';
import { inlineFunctions } from './functions.ts';

/** Options of `importOnnx`. */
export interface ImportOptions {
  /** The model's path: used in errors and to resolve external data. */
  file?: string;
}

/** Newest supported ONNX IR version and default-domain opset. */
export const MAX_IR_VERSION = 13;
export const MAX_OPSET = 28;

/** Reads and imports an .onnx file. */
export function loadOnnxFile(file: string): Graph {
  return importOnnx(readRegularFile(file, 'model'), { file });
}

/** Imports a serialized ONNX model. */
export function importOnnx(bytes: Uint8Array, opts: ImportOptions = {}): Graph {
  const { file } = opts;
  let graph: Graph;
  let declared: Map<string, TensorType>;
  try {
    ({ graph, declared } = buildGraph(decode(bytes, file), file));
  } catch (e) {
    if (e instanceof KilnError) throw e;
    // garbage that decoded as protobuf but makes no sense as a model (absurd sizes and the like)
    throw Object.assign(new KilnError(`not a valid ONNX model: ${(e as Error).message}`, { file }), { cause: e });
  }
  try {
    graph = inferTypes(graph, { file });
  } catch (e) {
    // inference names a node by its IR id and attribute errors carry no file: name the file and the ONNX node
    if (!(e instanceof KilnError)) throw e;
    const onnxName = e.place.node === undefined ? undefined : graph.nodes.find((n) => n.outputs[0] === e.place.node)?.loc[0];
    throw withPlace(e, { ...(file ? { file } : {}), ...(onnxName ? { node: onnxName } : {}) });
  }
  checkDeclaredOutputs(graph, declared, file);
  return graph;
}

function decode(bytes: Uint8Array, file?: string): ModelProto {
  let model: ModelProto;
  try {
    model = decodeModelProto(bytes);
  } catch (e) {
    throw new KilnError(`not a valid ONNX model: ${(e as Error).message}`, { file });
  }
  if (!model.graph) throw new KilnError('not a valid ONNX model: it has no graph', { file });
  return model;
}

/** The graph before type inference, and the declared types of graph outputs. */
function buildGraph(model: ModelProto, file: string | undefined): { graph: Graph; declared: Map<string, TensorType> } {
  const fail = (msg: string): never => { throw new KilnError(msg, { file }); };
  const ir = toInt(model.ir_version);
  if (ir < 3 || ir > MAX_IR_VERSION) fail(`ONNX IR version ${ir} is not supported (kiln reads IR versions 3 to ${MAX_IR_VERSION})`);
  const opsets = new Map<string, number>();
  for (const o of model.opset_import ?? []) opsets.set(o.domain === 'ai.onnx' ? '' : (o.domain ?? ''), toInt(o.version));
  const opset = opsets.get('');
  if (opset === undefined) return fail('not a valid ONNX model: opset_import has no entry for the default (ai.onnx) domain');
  if (opset < 1 || opset > MAX_OPSET) fail(`ai.onnx opset ${opset} is not supported (kiln reads opsets up to ${MAX_OPSET})`);
  const g = model.graph as GraphProto;

  // every dim name anywhere, so fresh names never collide
  const dimNames = new Set<string>();
  collectDimNames(g, dimNames);
  let freshCount = 0;
  const freshDim = () => { let s; do s = `_u${freshCount++}`; while (dimNames.has(s)); return s; };
  const problems: string[] = [];
  const model_ = { model, opsets, opset, file, freshDim, problems, temps: { count: 0 }, kept: new Set<string>(), order: [] as string[] };
  const scope = buildScope(g, model_, undefined);
  if (problems.length) {
    fail(`cannot import this model; ${problems.length} unsupported item${problems.length > 1 ? 's' : ''}:\n  ${problems.join('\n  ')}`);
  }
  const graph = renameValues(scope.graph, model_.kept, model_.order);
  const declaredOutputs = new Map<string, TensorType>();
  for (const o of graph.outputs) { const t = scope.declared.get(o); if (t) declaredOutputs.set(o, t); }
  return { graph, declared: declaredOutputs };
}

/** What every scope (the main graph and each region) of one import shares. */
interface ImportContext {
  readonly model: ModelProto;
  readonly opsets: Map<string, number>;
  readonly opset: number;
  readonly file?: string;
  readonly freshDim: () => string;
  /** Every unsupported item found, in any scope: reported together. */
  readonly problems: string[];
  readonly temps: { count: number };
  /** Names that keep their ONNX spelling: graph and region inputs and outputs, initializers. */
  readonly kept: Set<string>;
  /** Definition order of every other value, for SSA numbering. */
  readonly order: string[];
}

/** Every dim_param in the graph's and its subgraphs' declared types. */
function collectDimNames(g: GraphProto, names: Set<string>): void {
  const visit = (t: TypeProto | null | undefined) => {
    if (!t) return;
    for (const d of t.tensor_type?.shape?.dim ?? []) if (d.dim_param) names.add(d.dim_param);
    visit(t.sequence_type?.elem_type);
    visit(t.optional_type?.elem_type);
  };
  for (const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.value_info ?? [])]) visit(v.type);
  for (const n of g.node ?? []) for (const a of n.attribute ?? []) if (a.g) collectDimNames(a.g, names);
}

/**
 * Builds one graph or region (steps 4-6 of the module header) with ONNX's value names; `parent` is
 * the enclosing scope's type tracker (absent for the main graph), whose values the region may read.
 */
function buildScope(g: GraphProto, ctx: ImportContext, parent: TypeTracker | undefined): { graph: Graph; declared: Map<string, TensorType>; tracker: TypeTracker } {
  const { file, problems, freshDim } = ctx;
  const fail = (msg: string): never => { throw new KilnError(msg, { file }); };
  const src = { file };
  const region = parent !== undefined;

  // constants from initializers (dense and sparse)
  const constants = new Map<string, Tensor>();
  const addInitializer = (name: string, t: Tensor) => {
    const prev = constants.get(name);
    if (prev) fail(`initializer '${name}' is given more than once (${formatType(prev)} and ${formatType(t)})`);
    constants.set(name, t);
  };
  for (const t of g.initializer ?? []) {
    if (!t.name) fail('not a valid ONNX model: an initializer has no name');
    addInitializer(t.name!, tensorFromProto(t, src));
  }
  for (const sp of g.sparse_initializer ?? []) {
    const name = sp.values?.name;
    if (!name) return fail('not a valid ONNX model: a sparse initializer has no name');
    addInitializer(name, densify(sp, src));
  }

  const inputs: GraphInput[] = [];
  for (const v of g.input ?? []) {
    const init = constants.get(v.name ?? '');
    if (init && !region) { // IR < 4 style: initializers listed as inputs are constants, of the same type
      const t = valueType(v, freshDim, problems, true);
      if (t && !typeAdmits(t, init)) fail(`graph input '${v.name}' is declared ${formatType(t)} but its initializer is ${formatType(init)}`);
      continue;
    }
    // a region's argument types come from its op's rule; a missing or partial declaration is fine
    const t = valueType(v, freshDim, problems, region) ?? (region ? { dtype: 'f32', shape: [] } as TensorType : undefined);
    if (!v.name) fail(`not a valid ONNX model: a ${region ? 'region' : 'graph'} input has no name`);
    if (t && inputs.some((i) => i.name === v.name)) fail(`graph input '${v.name}' is declared more than once`);
    if (t) inputs.push({ name: v.name!, type: t });
  }
  const declared = new Map<string, TensorType>();
  for (const v of [...(g.output ?? []), ...(g.value_info ?? [])]) {
    const t = valueType(v, freshDim, problems, true);
    const prev = v.name ? declared.get(v.name) : undefined;
    if (t && prev && prev.dtype !== t.dtype) {
      fail(`value '${v.name}' is declared twice with different types (${formatType(prev)} and ${formatType(t)})`);
    }
    if (t && v.name) declared.set(v.name, t);
  }
  const outputs = (g.output ?? []).map((v) => v.name ?? '');
  if (outputs.some((o) => !o)) fail(`not a valid ONNX model: a ${region ? 'region' : 'graph'} output has no name`);
  for (const n of [...inputs.map((i) => i.name), ...outputs, ...constants.keys()]) ctx.kept.add(n);

  const tracker = new TypeTracker(inputs, constants, new Map(), declared, parent);
  const read = readNodes(inlineFunctions(g.node ?? [], ctx.model, problems), ctx, src);
  // with problems found (here or in a region), the model is refused with all of them: stop building
  if (problems.length) return { graph: { name: g.name || 'main', inputs, outputs, constants: [], nodes: [] }, declared, tracker };
  const raw = topoSort(read, inputs, constants, parent, file);

  // normalise opsets, tracking types
  const added = tracker.added; // constants from Constant nodes and from conversions
  const used = new Set<string>(outputs);
  for (const n of raw) for (const i of n.inputs) used.add(i);
  const nodes: RawNode[] = [];
  for (const node of raw) {
    if (node.op === 'Constant') {
      if (!node.outputs[0]) throw new KilnError('a Constant node needs an output', { file, node: node.name, op: 'Constant' });
      const value = constantNodeValue(node.attrs);
      if (typeof value === 'string') throw new KilnError(value, { file, node: node.name, op: 'Constant' });
      added.set(node.outputs[0], value);
      ctx.order.push(node.outputs[0]);
      continue;
    }
    const pending = pendingRegions.get(node);
    if (pending) {
      // a region sees the values converted so far in this scope and the enclosing ones
      for (const [k, proto] of Object.entries(pending)) node.attrs[k] = { kind: 'graph', value: buildScope(proto, ctx, tracker).graph };
    }
    const octx: OpsetContext = {
      opset: ctx.opset,
      constant: (t) => { const name = `\u0000c${ctx.temps.count++}`; added.set(name, t); ctx.order.push(name); return name; },
      temp: () => `\u0000t${ctx.temps.count++}`,
      typeOf: (name) => tracker.get(name),
      valueOf: (name) => tracker.constantValue(name),
      isUsed: (name) => used.has(name),
      fail: (message) => { throw new KilnError(message, { file, node: node.name, op: node.op }); },
    };
    for (const n of normalizeNode(node, octx)) {
      tracker.track(n);
      nodes.push(n);
      for (const o of n.outputs) if (o) ctx.order.push(o);
    }
  }
  for (const o of outputs) {
    if (!tracker.visible(o)) throw new KilnError(`${region ? `region '${g.name || '?'}' result` : 'graph output'} '${o}' is not produced by any node`, { file });
  }
  const placeholder: TensorType = { dtype: 'f32', shape: [] };
  const consts: Constant[] = [];
  // the content hash is computed on first read: most sessions never print or compare most weights
  for (const [n, t] of constants) consts.push(lazyConstant(n, t));
  for (const [n, t] of added) consts.push(lazyConstant(n, t));
  const irNodes: Node[] = nodes.map((n) => ({
    op: n.op,
    inputs: n.inputs,
    outputs: n.outputs,
    types: n.outputs.map((o) => tracker.get(o) ?? placeholder),
    attrs: n.attrs,
    loc: [n.name],
  }));
  return { graph: { name: g.name || (region ? 'region' : 'main'), inputs, outputs, constants: consts, nodes: irNodes }, declared, tracker };
}

/**
 * Renames every intermediate value, in every scope, to a short SSA number (`0`, `1`, ... in
 * definition order); kept names (inputs, outputs, initializers of any scope) stay.
 */
function renameValues(graph: Graph, kept: ReadonlySet<string>, order: readonly string[]): Graph {
  const rename = new Map<string, string>();
  let counter = 0;
  // names conversions made inside regions they built themselves (opsets.ts) were never listed: add them
  const extra: string[] = [];
  const collect = (g: Graph) => {
    for (const v of [...g.inputs.map((i) => i.name), ...g.nodes.flatMap((n) => n.outputs)]) if (v.startsWith('\u0000')) extra.push(v);
    for (const n of g.nodes) for (const a of Object.values(n.attrs)) if (a.kind === 'graph') collect(a.value);
  };
  collect(graph);
  for (const v of [...order, ...extra]) {
    if (kept.has(v) || rename.has(v)) continue;
    let s;
    do s = String(counter++); while (kept.has(s));
    rename.set(v, s);
  }
  const r = (v: string) => (v ? rename.get(v) ?? v : '');
  const visit = (g: Graph): Graph => ({
    ...g,
    inputs: g.inputs.map((i) => (rename.has(i.name) ? { ...i, name: r(i.name) } : i)),
    outputs: g.outputs.map(r),
    constants: g.constants.map((c) => (rename.has(c.name) ? lazyConstant(r(c.name), c.data!) : c)),
    nodes: g.nodes.map((n) => {
      let attrs = n.attrs;
      if (Object.values(attrs).some((a) => a.kind === 'graph')) {
        attrs = Object.fromEntries(Object.entries(attrs).map(([k, a]) => [k, a.kind === 'graph' ? { kind: 'graph', value: visit(a.value) } : a]));
      }
      return { ...n, inputs: n.inputs.map(r), outputs: n.outputs.map(r), attrs };
    }),
  });
  return visit(graph);
}

/** The kiln type of a declared value; records problems for non-tensor or unsupported types. */
function valueType(v: ValueInfoProto, fresh: () => string, problems: string[], lenient = false): TensorType | undefined {
  const name = v.name ?? '';
  const kind = nonTensorKind(v.type);
  if (kind) { problems.push(`value '${name}': ${kind} is not supported (kiln handles tensors, sequences of tensors and optionals)`); return undefined; }
  if (!v.type?.tensor_type && !v.type?.sequence_type && !v.type?.optional_type) {
    if (!lenient) problems.push(`value '${name}': its type is not given`);
    return undefined;
  }
  const t = tensorTypeFromProto(v.type, fresh);
  if (typeof t === 'string') {
    if (!lenient || !t.includes('shape')) problems.push(`value '${name}': ${t}`);
    return undefined;
  }
  // a graph input's dims must be valid; a declared (value_info, output) type is only a hint, and a
  // bad dim there is left for inference to compute
  const bad = shapeProblem(t.shape);
  if (bad && !lenient) problems.push(`value '${name}': ${bad}`);
  return { ...t, shape: t.shape.map((d) => (typeof d === 'number' && dimProblem(d) ? fresh() : d)) };
}

/** True when a declared type (symbols match anything) admits a tensor's dtype and shape. */
function typeAdmits(t: TensorType, x: Tensor): boolean {
  return t.dtype === x.dtype && t.shape.length === x.shape.length && t.shape.every((d, i) => typeof d !== 'number' || d === x.shape[i]);
}

/**
 * Converts NodeProtos to RawNodes, recording every node kiln cannot import; graph attributes are kept
 * aside (`pendingRegions`) and built as regions when their node is converted.
 */
function readNodes(protos: NodeProto[], ctx: ImportContext, src: { file?: string }): RawNode[] {
  return protos.map((p, index) => {
    const op = p.op_type ?? '';
    const name = p.name || `${op}_${index}`;
    const rawDomain = p.domain ?? '';
    const domain = rawDomain === 'ai.onnx' ? '' : rawDomain;
    const version = ctx.opsets.get(domain);
    const where = `node '${name}' (op ${op}, domain '${domain || 'ai.onnx'}', opset ${version ?? 'not imported'})`;
    const attrs: Record<string, AttrValue> = {};
    const subgraphs: Record<string, GraphProto> = {};
    const bad: string[] = [];
    const supported = domain === '' && (op === 'Constant' || !!findOp(normalizedOpName(op)));
    for (const a of p.attribute ?? []) {
      const v = attrFromProto(a, src, ctx.freshDim);
      if ('unsupported' in v) bad.push(`attribute '${a.name}' is ${v.unsupported}`);
      else if ('subgraph' in v) subgraphs[a.name ?? ''] = v.subgraph; // built in order, once what it reads is typed
      else attrs[a.name ?? ''] = v;
    }
    if (domain !== '') ctx.problems.push(`${where}: only the default ai.onnx domain is supported`);
    else if (!supported) ctx.problems.push(`${where}: op is not supported by kiln`);
    else if (bad.length) ctx.problems.push(`${where}: ${bad.join('; ')}`);
    const raw: RawNode = { op, name, inputs: [...(p.input ?? [])], outputs: [...(p.output ?? [])], attrs };
    if (supported && Object.keys(subgraphs).length) pendingRegions.set(raw, subgraphs);
    return raw;
  });
}

/** The graph attributes of a node not yet built as regions (readNodes → buildScope's conversion loop). */
const pendingRegions = new WeakMap<RawNode, Record<string, GraphProto>>();

/** The names a subgraph reads from enclosing scopes (its nodes' inputs and its outputs it does not define). */
function protoCaptures(g: GraphProto): string[] {
  const defined = new Set<string>([...(g.input ?? []).map((v) => v.name ?? ''), ...(g.initializer ?? []).map((t) => t.name ?? ''),
    ...(g.sparse_initializer ?? []).map((t) => t.values?.name ?? '')]);
  for (const n of g.node ?? []) for (const o of n.output ?? []) defined.add(o);
  const out = new Set<string>();
  const use = (v: string) => { if (v && !defined.has(v)) out.add(v); };
  for (const n of g.node ?? []) {
    for (const i of n.input ?? []) use(i);
    for (const a of n.attribute ?? []) if (a.g) for (const v of protoCaptures(a.g)) use(v);
  }
  for (const o of g.output ?? []) use(o.name ?? '');
  return [...out];
}

/**
 * Value types known while converting one scope: its inputs, constants, declared types and op shape
 * rules, and through `parent` those of the enclosing scopes.
 */
class TypeTracker {
  private readonly types = new Map<string, TensorType>();
  private fresh = 0;
  constructor(inputs: GraphInput[], private readonly constants: Map<string, Tensor>, readonly added: Map<string, Tensor>,
    private readonly declared: Map<string, TensorType>, private readonly parent?: TypeTracker) {
    for (const i of inputs) this.types.set(i.name, i.type);
  }
  get(name: string): TensorType | undefined {
    const t = this.types.get(name);
    if (t) return t;
    const c = this.constants.get(name) ?? this.added.get(name);
    return c ? { dtype: c.dtype, shape: c.shape } : this.declared.get(name) ?? this.parent?.get(name);
  }
  /** The data of a constant visible here (this scope's or an enclosing one's). */
  constantValue(name: string): Tensor | undefined {
    return this.constants.get(name) ?? this.added.get(name) ?? this.parent?.constantValue(name);
  }
  /** True when the value is defined in this scope so far or in an enclosing one. */
  visible(name: string): boolean {
    return this.types.has(name) || this.constants.has(name) || this.added.has(name) || (this.parent?.visible(name) ?? false);
  }
  /** Records a converted node's output types (from its shape rule, or the declared types). */
  track(node: RawNode): void {
    let out: TensorType[] | undefined;
    const def = findOp(node.op);
    const ins = node.inputs.map((i) => (i ? this.get(i) : undefined));
    if (def && ins.every((t, k) => t || !node.inputs[k])) {
      try {
        const attrs = def.parseAttrs(new AttrReader(node.attrs));
        const ctx = { value: (i: number) => this.constantValue(node.inputs[i]), freshDim: () => `\u0000d${this.fresh++}` };
        out = def.inferTypes(ins, attrs, ctx, node.outputs.length);
      } catch {
        out = undefined; // reported properly by the final type inference
      }
    }
    node.outputs.forEach((o, k) => {
      const t = out?.[k] ?? this.declared.get(o);
      if (o) this.types.set(o, t ?? { dtype: 'f32', shape: [] });
    });
  }
}

/**
 * Orders nodes (Constant nodes included) topologically — stable: the file's order when it already is
 * one — after checking that every value is defined exactly once.
 */
function topoSort(nodes: RawNode[], inputs: GraphInput[], constants: Map<string, Tensor>, outer: TypeTracker | undefined, file?: string): RawNode[] {
  const defined = new Set<string>([...inputs.map((i) => i.name), ...constants.keys()]);
  // values of enclosing scopes read here (by a node or inside its regions) are defined already
  for (const n of nodes) for (const i of [...n.inputs, ...regionReads(n)]) if (i && !defined.has(i) && outer?.visible(i)) defined.add(i);
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => n.outputs.forEach((o) => {
    if (!o) return;
    if (defined.has(o) || producer.has(o)) throw new KilnError(`value '${o}' is defined more than once`, { file, node: n.name, op: n.op });
    producer.set(o, i);
  }));
  for (const n of nodes) {
    for (const i of n.inputs) {
      if (i && !defined.has(i) && !producer.has(i)) throw new KilnError(`input '${i}' is not defined anywhere in the graph`, { file, node: n.name, op: n.op });
    }
  }
  // a node depends on its inputs' producers and on those of the values its regions read
  const deps = nodes.map((n) => new Set([...n.inputs, ...regionReads(n)].filter((i) => i && !defined.has(i) && producer.has(i)).map((i) => producer.get(i)!)));
  const inOrder = deps.every((d, idx) => [...d].every((p) => p < idx));
  if (inOrder) return nodes;
  // Kahn's algorithm, always taking the earliest ready node
  const pending = deps.map((d) => d.size);
  const readers = nodes.map(() => [] as number[]);
  deps.forEach((d, idx) => { for (const p of d) readers[p].push(idx); });
  const ready = pending.map((c, i) => (c === 0 ? i : -1)).filter((i) => i >= 0);
  const out: RawNode[] = [];
  while (ready.length) {
    ready.sort((a, b) => a - b);
    const i = ready.shift()!;
    out.push(nodes[i]);
    for (const r of readers[i]) if (--pending[r] === 0) ready.push(r);
  }
  if (out.length !== nodes.length) {
    const stuck = nodes.filter((_, i) => pending[i] > 0).map((n) => `'${n.name}'`).slice(0, 5);
    throw new KilnError(`the graph has a cycle (through nodes ${stuck.join(', ')})`, { file });
  }
  return out;
}

/** The values a node's (not yet built) regions read from outside themselves. */
function regionReads(n: RawNode): string[] {
  return Object.values(pendingRegions.get(n) ?? {}).flatMap(protoCaptures);
}

/** Checks inferred output dtypes against the model's declared graph outputs. */
function checkDeclaredOutputs(graph: Graph, declared: Map<string, TensorType>, file?: string): void {
  const types = new Map<string, TensorType>();
  for (const i of graph.inputs) types.set(i.name, i.type);
  for (const c of graph.constants) types.set(c.name, c.type);
  for (const n of graph.nodes) n.outputs.forEach((o, k) => { if (o) types.set(o, n.types[k]); });
  for (const [name, want] of declared) {
    const got = types.get(name);
    if (got && got.dtype !== want.dtype) {
      throw new KilnError(`graph output '${name}' is declared ${want.dtype} but kiln infers ${got.dtype}`, { file, node: name });
    }
  }
}
