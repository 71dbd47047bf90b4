/**
 * Type inference for a whole graph: recomputes every node's output types through its op's shape
 * rule, in topological order.
 *
 * Alongside types, the driver tracks the *values* of small tensors it can compute before running:
 * constants, `Shape`/`Size` of statically shaped values, and any node whose inputs are all known and
 * whose output is small (shape arithmetic such as Shape→Gather→Concat→Reshape in exported models).
 * Shape rules see those values through `ShapeContext.value`, so data-dependent shapes come out static
 * whenever they can. Sizes that stay unknown become fresh symbolic dims `_d0`, `_d1`, ... A shape rule
 * that computes an invalid dim (negative, fractional, beyond 2^53) is an error at its node.
 */
import type { Graph, Node, TensorType, Dim } from '../ir/graph.ts';
import { isStaticShape, nodeId, staticSize } from '../ir/graph.ts';
import { Tensor, i64Tensor } from '../ir/tensor.ts';
import { shapeProblem } from '../ir/sizes.ts';
import { KilnError } from '../errors.ts';
import { findOp, parseNodeAttrs, type OpDef } from './registry.ts';
import './all.ts';

/** Options of type inference. */
export interface InferOptions {
  /** File the graph came from, for error messages. */
  file?: string;
  /** Largest output (in elements) evaluated at compile time to feed shape rules. Default 4096. */
  foldLimit?: number;
  /** When given, receives every value known before running (constants and folded small values). */
  values?: Map<string, Tensor>;
}

/** Node attributes parsed once per node object (attrs are immutable, so caching by node is safe). */
const attrCache = new WeakMap<Node, unknown>();

/** Parsed attributes of a node, cached. Throws KilnError naming node, op and attribute. */
export function nodeAttrs(def: OpDef<any>, node: Node): unknown {
  let a = attrCache.get(node);
  if (a === undefined && !attrCache.has(node)) {
    a = parseNodeAttrs(def, node.attrs, nodeId(node));
    attrCache.set(node, a);
  }
  return a;
}

/** Recomputes every node's output types; returns a new graph (unchanged nodes are reused). */
export function inferTypes(graph: Graph, opts: InferOptions = {}): Graph {
  const foldLimit = opts.foldLimit ?? 4096;
  const types = new Map<string, TensorType>();
  const known = opts.values ?? new Map<string, Tensor>();
  const usedSymbols = new Set<string>();
  const noteSymbols = (t: TensorType) => { for (const d of t.shape) if (typeof d === 'string') usedSymbols.add(d); };
  for (const i of graph.inputs) { types.set(i.name, i.type); noteSymbols(i.type); }
  for (const c of graph.constants) {
    types.set(c.name, c.type);
    if (c.data) known.set(c.name, c.data);
  }
  let fresh = 0;
  const freshDim = (): Dim => {
    let name: string;
    do name = `_d${fresh++}`; while (usedSymbols.has(name));
    usedSymbols.add(name);
    return name;
  };

  const nodes = graph.nodes.map((node) => {
    const id = nodeId(node) || node.loc[0] || node.op;
    const where = { file: opts.file, node: id, op: node.op };
    const def = findOp(node.op);
    if (!def) throw new KilnError(`unknown op '${node.op}'`, where);
    const inTypes = node.inputs.map((name, k) => {
      if (!name) return undefined;
      const t = types.get(name);
      if (!t) throw new KilnError(`input ${k} '%${name}' is not defined before use`, where);
      return t;
    });
    const attrs = nodeAttrs(def, node);
    const ctx = { value: (i: number) => (node.inputs[i] ? known.get(node.inputs[i]) : undefined), freshDim };
    let out: TensorType[];
    try {
      out = def.inferTypes(inTypes, attrs, ctx, node.outputs.length);
    } catch (e) {
      if (e instanceof KilnError) throw e;
      throw Object.assign(new KilnError(`type inference failed: ${(e as Error).message}`, where), { cause: e });
    }
    if (out.length < node.outputs.length) {
      throw new KilnError(`op produces ${out.length} outputs but the node declares ${node.outputs.length}`, where);
    }
    out = out.slice(0, node.outputs.length);
    out.forEach((t, k) => {
      const bad = node.outputs[k] ? shapeProblem(t.shape) : undefined;
      if (bad) throw new KilnError(`output ${k} '%${node.outputs[k]}' would have an invalid shape: ${bad}`, where);
    });
    node.outputs.forEach((o, k) => { if (o) types.set(o, out[k]); });
    foldValues(node, def, attrs, inTypes, out, known, foldLimit);
    const same = out.every((t, k) => sameType(t, node.types[k]));
    return same ? node : { ...node, types: out };
  });
  return { ...graph, nodes };
}

/** Evaluates small known values at compile time so later shape rules can read them. */
function foldValues(node: Node, def: OpDef<any>, attrs: unknown, inTypes: (TensorType | undefined)[],
  out: TensorType[], known: Map<string, Tensor>, foldLimit: number): void {
  if (node.op === 'Shape' || node.op === 'Size') {
    const t = inTypes[0];
    if (!t || !isStaticShape(t.shape)) return;
    const shape = t.shape as number[];
    if (node.op === 'Size') { known.set(node.outputs[0], new Tensor('i64', [], BigInt64Array.of(BigInt(shape.reduce((a, b) => a * b, 1))))); return; }
    const rank = shape.length;
    const attr = (n: string, d: number) => { const a = node.attrs[n]; return a && a.kind === 'int' ? a.value : d; };
    const clamp = (v: number) => Math.min(rank, Math.max(0, v < 0 ? v + rank : v));
    known.set(node.outputs[0], i64Tensor(shape.slice(clamp(attr('start', 0)), clamp(attr('end', rank)))));
    return;
  }
  const inputsKnown = node.inputs.every((n) => !n || known.has(n));
  if (!inputsKnown || node.inputs.length === 0 && node.op !== 'Range') return;
  for (let k = 0; k < node.outputs.length; k++) {
    const n = staticSize(out[k].shape);
    if (n === undefined || n > foldLimit) return;
  }
  try {
    const values = def.run(node.inputs.map((n) => (n ? known.get(n) : undefined)), attrs, node.outputs.length);
    node.outputs.forEach((o, k) => { if (o && values[k]) known.set(o, values[k]); });
  } catch {
    // a value we cannot fold is simply unknown; the run-time kernel will report real errors
  }
}

function sameType(a: TensorType, b: TensorType | undefined): boolean {
  return !!b && a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
}
