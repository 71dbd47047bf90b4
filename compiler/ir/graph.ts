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

/** The type of a tensor value: element type and shape (rank is always known). */
export interface TensorType {
  readonly dtype: DType;
  readonly shape: readonly Dim[];
}

/** A typed attribute value. Ints beyond 2^53 are kept as the nearest double. */
export type AttrValue =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'strings'; readonly value: readonly string[] }
  | { readonly kind: 'tensor'; readonly value: Tensor };

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

/** Map from value name to the nodes that read it (in graph order, once per node). */
export function consumers(graph: Graph): Map<string, Node[]> {
  const m = new Map<string, Node[]>();
  for (const n of graph.nodes) {
    for (const i of new Set(n.inputs)) {
      if (!i) continue;
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

/** Prints a type as in the IR text: `f32[1,3,224,224]`, `i64[]`, `f32[N,128]`. */
export function formatType(t: TensorType): string {
  return `${t.dtype}[${t.shape.join(',')}]`;
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
