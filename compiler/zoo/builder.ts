/**
 * GraphBuilder: writes kiln graphs in code (used by the model zoo and by tests).
 *
 * The builder appends nodes in the order they are written, which is therefore a topological order.
 * Intermediate values are named `%0`-style sequential numbers (`0`, `1`, ... in the IR; the printer
 * adds the `%`), unless a node asks for explicit output names (used for graph outputs). Attributes
 * are given as plain JS values and converted to typed AttrValues: integers become `int`, other
 * numbers `float`, arrays `ints`/`floats`/`strings`; where that guess would be wrong (an integral
 * float like `alpha: 1`) wrap the value with `float(1)`, `floats([..])`, `ints([])` etc. `build`
 * runs whole-graph type inference (ops/infer.ts), so node types never have to be written by hand.
 */
import type { AttrValue, Attrs, Constant, Dim, Graph, GraphInput, Node, TensorType } from '../ir/graph.ts';
import type { DType } from '../ir/dtype.ts';
import { Tensor } from '../ir/tensor.ts';
import { hashOf } from '../ir/weights.ts';
import { inferTypes } from '../ops/infer.ts';

/** An attribute as written in builder code: a typed AttrValue or a plain value to convert. */
export type AttrInput = AttrValue | number | string | readonly number[] | readonly string[] | Tensor;

/** Typed attribute helpers for values whose plain-JS form is ambiguous. */
export const int = (value: number): AttrValue => ({ kind: 'int', value });
/** Float attributes are f32 values (as in ONNX), so they print and parse exactly. */
export const float = (value: number): AttrValue => ({ kind: 'float', value: Math.fround(value) });
export const str = (value: string): AttrValue => ({ kind: 'string', value });
export const ints = (value: readonly number[]): AttrValue => ({ kind: 'ints', value });
export const floats = (value: readonly number[]): AttrValue => ({ kind: 'floats', value: value.map(Math.fround) });
export const strs = (value: readonly string[]): AttrValue => ({ kind: 'strings', value });
export const tensorAttr = (value: Tensor): AttrValue => ({ kind: 'tensor', value });

/** Converts a builder attribute to a typed AttrValue (see the module comment for the rules). */
export function toAttrValue(v: AttrInput): AttrValue {
  if (v instanceof Tensor) return { kind: 'tensor', value: v };
  if (typeof v === 'number') return Number.isInteger(v) ? int(v) : float(v);
  if (typeof v === 'string') return str(v);
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) return v.length ? strs(v as string[]) : ints([]);
    const nums = v as readonly number[];
    return nums.every((x) => Number.isInteger(x)) ? ints(nums) : floats(nums);
  }
  return v as AttrValue;
}

/** Options of one node. */
export interface NodeOptions {
  /** The ONNX-style node name (e.g. `/layer1/layer1.0/conv1/Conv`); becomes the node's loc. */
  name?: string;
  /** Number of outputs (default 1), or explicit output names. */
  outputs?: number | readonly string[];
}

/** Options of `build`. */
export interface BuildOptions {
  /**
   * Run type inference (default true). With false, node types are placeholders (`f32[]`); only for
   * code that looks at structure alone.
   */
  inferTypes?: boolean;
}

const PLACEHOLDER: TensorType = { dtype: 'f32', shape: [] };

/** Builds a Graph node by node. */
export class GraphBuilder {
  private readonly inputs: GraphInput[] = [];
  private readonly constants: Constant[] = [];
  private readonly nodes: Node[] = [];
  private readonly outputs: string[] = [];
  private readonly defined = new Set<string>();
  private counter = 0;
  private readonly nodeNames = new Map<string, number>();

  /** Declares a graph input; returns its name. */
  input(name: string, dtype: DType, shape: readonly Dim[]): string {
    this.define(name);
    this.inputs.push({ name, type: { dtype, shape: [...shape] } });
    return name;
  }

  /** Adds a named constant (its hash is computed, and cached, here); returns its name. */
  constant(name: string, tensor: Tensor): string {
    this.define(name);
    this.constants.push({ name, type: { dtype: tensor.dtype, shape: [...tensor.shape] }, hash: hashOf(tensor), data: tensor });
    return name;
  }

  /** Adds a scalar (rank-0) constant. */
  scalar(name: string, value: number, dtype: DType = 'f32'): string {
    return this.constant(name, Tensor.scalar(dtype, value));
  }

  /** Adds a 1-D i64 constant (shapes, axes). */
  int64s(name: string, values: readonly number[]): string {
    return this.constant(name, new Tensor('i64', [values.length], BigInt64Array.from(values, (v) => BigInt(v))));
  }

  /** Appends a node; returns its output value names. */
  node(op: string, inputs: readonly string[], attrs: Readonly<Record<string, AttrInput>> = {}, opts: NodeOptions = {}): string[] {
    for (const i of inputs) {
      if (i && !this.defined.has(i)) throw new Error(`builder: node ${opts.name ?? op} reads undefined value '${i}'`);
    }
    const spec = opts.outputs ?? 1;
    const outputs = typeof spec === 'number' ? Array.from({ length: spec }, () => String(this.counter++)) : [...spec];
    for (const o of outputs) this.define(o);
    const typed: Record<string, AttrValue> = {};
    for (const [k, v] of Object.entries(attrs)) typed[k] = toAttrValue(v);
    this.nodes.push({
      op, inputs: [...inputs], outputs, types: outputs.map(() => PLACEHOLDER), attrs: typed as Attrs,
      loc: opts.name ? [opts.name] : [],
    });
    return outputs;
  }

  /** Appends a single-output node; returns its output name. */
  op(op: string, inputs: readonly string[], attrs: Readonly<Record<string, AttrInput>> = {}, opts: NodeOptions = {}): string {
    return this.node(op, inputs, attrs, opts)[0];
  }

  /**
   * A unique ONNX-style node name `${scope}/${op}`, numbered `_1`, `_2`, ... on repeats within the
   * scope, as the PyTorch exporter names them (`/attention/self/MatMul`, `/attention/self/MatMul_1`).
   */
  nodeName(scope: string, op: string): string {
    const base = `${scope}/${op}`;
    const k = this.nodeNames.get(base) ?? 0;
    this.nodeNames.set(base, k + 1);
    return k === 0 ? base : `${base}_${k}`;
  }

  /** Marks a value as a graph output. */
  output(name: string): void {
    if (!this.defined.has(name)) throw new Error(`builder: output '${name}' is not defined`);
    this.outputs.push(name);
  }

  /** The finished graph, with inferred node types. */
  build(graphName: string, opts: BuildOptions = {}): Graph {
    const graph: Graph = {
      name: graphName, inputs: [...this.inputs], outputs: [...this.outputs],
      constants: [...this.constants], nodes: [...this.nodes],
    };
    return opts.inferTypes === false ? graph : inferTypes(graph);
  }

  private define(name: string): void {
    if (!name) throw new Error('builder: empty value name');
    if (this.defined.has(name)) throw new Error(`builder: value '${name}' is defined twice`);
    this.defined.add(name);
  }
}
