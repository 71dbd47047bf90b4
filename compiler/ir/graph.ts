/**
 * The kiln graph IR: tensor types with static or symbolic dims, typed attributes, nodes with
 * provenance, constants held by reference, and graphs.
 *
 * Everything here is immutable data: a pass builds a new Graph that shares unchanged nodes and
 * constants with the old one (weights are never copied). Values are named by SSA strings; a name is
 * defined exactly once, by a graph input, a constant or a node output. A node's id is the name of its
 * first output (`nodeId`), so every later artifact (kernel, timing, buffer) can be keyed to it and
 * survives printing and parsing. Ops use the ONNX operator set in its newest form (attributes that
 * became inputs in later opsets are inputs here; the importer converts older models).
 */
import type { DType } from './dtype.ts';
import type { Tensor } from './tensor.ts';

/** A dimension: a static size, or a symbol (printed by name, e.g. `N`) known only at run time. */
export type Dim = number | string;

/**
 * What a non-tensor value holds (ONNX's sequence and optional types): `seq` a sequence of tensors,
 * `opt` an optional tensor (a tensor or none), `opt-seq` an optional sequence of tensors.
 */
export type Container = 'seq' | 'opt' | 'opt-seq';

/**
 * The type of a value: element type and shape (rank is always known) of a tensor or, when `container`
 * is set, of the tensors a sequence or optional holds. A sequence's elements may differ in their sizes
 * (their dims are then symbols) or even in rank: `unranked` marks an element type whose rank is unknown
 * (an empty sequence's, or a merge of ranks; `shape` is then []). Tensors are never unranked.
 */
export interface TensorType {
  readonly dtype: DType;
  readonly shape: readonly Dim[];
  readonly container?: Container;
  readonly unranked?: true;
}

/** A typed attribute value. Ints beyond 2^53 are kept as the nearest double. */
export type AttrValue =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'strings'; readonly value: readonly string[] }
  | { readonly kind: 'tensor'; readonly value: Tensor }
  | { readonly kind: 'graph'; readonly value: Graph };

/**
 * A `graph` attribute is a **region**: a subgraph the node owns (If's `then_branch`/`else_branch`,
 * Loop's and Scan's `body`, SequenceMap's `body`). Its inputs are the region's block arguments, its
 * outputs its results; its nodes may also read any value of the enclosing graphs that is defined
 * before the owning node (ONNX's outer-scope rule). Names are unique across a graph and all its regions.
 */
/** Attributes of a node, by name. */
export type Attrs = Readonly<Record<string, AttrValue>>;

/** One operation. */
export interface Node {
  /** Operator name: an ONNX op (`Conv`) or a kiln op (`kiln.conv2d`). */
  readonly op: string;
  /** Input value names, in order; '' marks an omitted optional input. */
  readonly inputs: readonly string[];
  /** Output value names, in order; '' marks an omitted optional output. */
  readonly outputs: readonly string[];
  /** Output types, parallel to `outputs` (the entry of an omitted output is unused). */
  readonly types: readonly TensorType[];
  readonly attrs: Attrs;
  /** Provenance: the ONNX node names this node came from (several after fusion). Kept by every pass. */
  readonly loc: readonly string[];
}

/** A named constant (an ONNX initializer or Constant node). */
export interface Constant {
  readonly name: string;
  readonly type: TensorType;
  /** Content hash (sha256 hex) of the data; large constants print by this hash, never inline. */
  readonly hash: string;
  /** The data; absent when the constant was parsed from text without its weights. */
  readonly data?: Tensor;
}

/** A graph input. */
export interface GraphInput {
  readonly name: string;
  readonly type: TensorType;
}

/** A whole model graph. Nodes are in a topological order. */
export interface Graph {
  readonly name: string;
  readonly inputs: readonly GraphInput[];
  /** Names of the values the graph returns. */
  readonly outputs: readonly string[];
  readonly constants: readonly Constant[];
  readonly nodes: readonly Node[];
}

/** The regions a node owns (its graph attributes), by attribute name, in sorted name order. */
export function regionsOf(node: Node): [string, Graph][] {
  const out: [string, Graph][] = [];
  for (const k of Object.keys(node.attrs).sort()) {
    const a = node.attrs[k];
    if (a.kind === 'graph') out.push([k, a.value]);
  }
  return out;
}

/** The attribute name under which `node` holds `region` (its graph name if it holds it under none). */
export function regionName(node: Node, region: Graph): string {
  return Object.keys(node.attrs).find((k) => node.attrs[k].value === region) ?? region.name;
}

/** True when some node of the graph owns a region. */
export function hasRegions(graph: Graph): boolean {
  return graph.nodes.some((n) => Object.values(n.attrs).some((a) => a.kind === 'graph'));
}

/**
 * The values a region reads from enclosing scopes (its free variables): every name its nodes (and
 * nested regions) read, or it returns, that it does not define itself. In first-use order.
 */
export function capturedValues(region: Graph): string[] {
  const defined = new Set<string>([...region.inputs.map((i) => i.name), ...region.constants.map((c) => c.name)]);
  const out = new Set<string>();
  const use = (v: string) => { if (v && !defined.has(v)) out.add(v); };
  for (const n of region.nodes) {
    for (const i of n.inputs) use(i);
    for (const [, g] of regionsOf(n)) for (const v of capturedValues(g)) use(v);
    for (const o of n.outputs) if (o) defined.add(o);
  }
  for (const o of region.outputs) use(o);
  return [...out];
}

/**
 * Every value a node reads: its inputs, then the values its regions capture from enclosing scopes
 * (a value read only inside a region is used by the node that owns the region). Distinct, '' left out.
 */
export function readsOf(node: Node): string[] {
  const out = new Set<string>();
  for (const i of node.inputs) if (i) out.add(i);
  for (const [, g] of regionsOf(node)) for (const v of capturedValues(g)) out.add(v);
  return [...out];
}

/** True for a plain tensor type (not a sequence or optional). */
export function isTensorType(t: TensorType): boolean {
  return t.container === undefined;
}

/** The id of a node: the name of its first output. */
export function nodeId(node: Node): string {
  return node.outputs[0];
}

/** Map from every defined value name to its type (graph inputs, constants, node outputs). */
export function valueTypes(graph: Graph): Map<string, TensorType> {
  const m = new Map<string, TensorType>();
  for (const i of graph.inputs) m.set(i.name, i.type);
  for (const c of graph.constants) m.set(c.name, c.type);
  for (const n of graph.nodes) n.outputs.forEach((o, k) => { if (o) m.set(o, n.types[k]); });
  return m;
}

/** Map from value name to the node that produces it. */
export function producers(graph: Graph): Map<string, Node> {
  const m = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) if (o) m.set(o, n);
  return m;
}

/**
 * Map from value name to the nodes that read it (in graph order, once per node); a node owning a
 * region reads what the region captures (readsOf).
 */
export function consumers(graph: Graph): Map<string, Node[]> {
  const m = new Map<string, Node[]>();
  for (const n of graph.nodes) {
    for (const i of readsOf(n)) {
      let list = m.get(i);
      if (!list) m.set(i, (list = []));
      list.push(n);
    }
  }
  return m;
}

/** True if every dim is a number. */
export function isStaticShape(shape: readonly Dim[]): shape is readonly number[] {
  return shape.every((d) => typeof d === 'number');
}

/** Prints a type as in the IR text: `f32[1,3,224,224]`, `i64[]`, `f32[N,128]`, `seq<f32[*]>`. */
export function formatType(t: TensorType): string {
  const inner = `${t.dtype}[${t.unranked ? '*' : t.shape.join(',')}]`;
  switch (t.container) {
    case undefined: return inner;
    case 'seq': return `seq<${inner}>`;
    case 'opt': return `opt<${inner}>`;
    case 'opt-seq': return `opt<seq<${inner}>>`;
  }
}

/** Number of elements of a static shape, or undefined if any dim is symbolic. */
export function staticSize(shape: readonly Dim[]): number | undefined {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number') return undefined;
    n *= d;
  }
  return n;
}
