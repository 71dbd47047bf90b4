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
 *
 * Regions (the graph attributes of If, Loop, Scan; ir/graph.ts) are written with the same API:
 * `region(name, args, body)` hands `body` a child builder whose inputs are the block arguments;
 * the child's nodes may read every value visible in the enclosing builders (outer-scope reads), its
 * values stay invisible outside it, and names (value names, `%N` numbering, node names) are drawn from
 * one pool shared by the whole graph, so they are unique across the graph and all its regions as the
 * IR requires. The region comes back as a `graph` attribute for `node`; its node types are left to
 * the inference `build` runs over the whole graph (the owning op's rule types the region).
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
export const graphAttr = (value: Graph): AttrValue => ({ kind: 'graph', value });

/** A block argument of a region: its name and declared type (a tensor, sequence or optional type). */
export interface RegionArg extends TensorType {
  readonly name: string;
}

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
  /** Number of outputs (default 1), or explicit output names (null: the next `%N` name). */
  outputs?: number | readonly (string | null)[];
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

/** What a graph's builder and the builders of its regions share: the name pools. */
interface NamePool {
  /** Every value name defined anywhere in the graph or its regions. */
  readonly all: Set<string>;
  counter: number;
  readonly nodeNames: Map<string, number>;
}

/** Builds a Graph node by node. */
export class GraphBuilder {
  private readonly inputs: GraphInput[] = [];
  private readonly constants: Constant[] = [];
  private readonly nodes: Node[] = [];
  private readonly outputs: string[] = [];
  /** Values defined in this scope (a region's builder also sees its parents'). */
  private readonly defined = new Set<string>();
  private readonly pool: NamePool;

  /** A builder for a new graph; `parent` is the enclosing builder of a region's (see `region`). */
  constructor(private readonly parent?: GraphBuilder) {
    this.pool = parent ? parent.pool : { all: new Set(), counter: 0, nodeNames: new Map() };
  }

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
      if (i && !this.visible(i)) throw new Error(`builder: node ${opts.name ?? op} reads undefined value '${i}'`);
    }
    const spec = opts.outputs ?? 1;
    const outputs = typeof spec === 'number' ? Array.from({ length: spec }, () => String(this.pool.counter++))
      : spec.map((o) => o ?? String(this.pool.counter++));
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
    const k = this.pool.nodeNames.get(base) ?? 0;
    this.pool.nodeNames.set(base, k + 1);
    return k === 0 ? base : `${base}_${k}`;
  }

  /**
   * Builds a region: `body` gets a child builder (inputs declared from `args`, in order) and the
   * argument names, and returns the region's results (values of the region or of an enclosing
   * scope). Returns the region as a `graph` attribute for `node`.
   */
  region(name: string, args: readonly RegionArg[], body: (r: GraphBuilder, args: string[]) => readonly string[]): AttrValue {
    const r = new GraphBuilder(this);
    const names = args.map(({ name, ...type }) => {
      r.define(name);
      r.inputs.push({ name, type });
      return name;
    });
    for (const o of body(r, names)) r.output(o);
    return graphAttr(r.build(name, { inferTypes: false }));
  }

  /** Marks a value as a graph (or region) output. */
  output(name: string): void {
    if (!this.visible(name)) throw new Error(`builder: output '${name}' is not defined`);
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
    if (this.pool.all.has(name)) throw new Error(`builder: value '${name}' is defined twice`);
    this.pool.all.add(name);
    this.defined.add(name);
  }

  /** True when `name` is defined in this scope or an enclosing one. */
  private visible(name: string): boolean {
    return this.defined.has(name) || (this.parent?.visible(name) ?? false);
  }
}
