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
 *
 * Regions (If's branches, Loop's and Scan's bodies) are inferred by their owning op's rule, which
 * calls `ShapeContext.region` with the argument types it gives the region (Loop: the iteration number,
 * the condition and the carried values) and reads back the results' types; a region sees the types
 * and known values of everything visible at its node.
 */
import type { AttrValue, Graph, Node, TensorType, Dim } from '../ir/graph.ts';
import { formatType, isStaticShape, nodeId, regionName, regionsOf, staticSize } from '../ir/graph.ts';
import { Tensor, i64Tensor } from '../ir/tensor.ts';
import { shapeProblem } from '../ir/sizes.ts';
import { KilnError, withPlace } from '../errors.ts';
import { findOp, parseNodeAttrs, type OpDef, type ShapeContext } from './registry.ts';
import { regionResultTypes } from './region-types.ts';
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
  const known = opts.values ?? new Map<string, Tensor>();
  const usedSymbols = new Set<string>();
  noteGraphSymbols(graph, usedSymbols);
  let fresh = 0;
  const freshDim = (): Dim => {
    let name: string;
    do name = `_d${fresh++}`; while (usedSymbols.has(name));
    usedSymbols.add(name);
    return name;
  };
  return inferScope(graph, new Map(), known, { file: opts.file, foldLimit: opts.foldLimit ?? 4096, freshDim });
}

/** What every scope of one inference shares. */
interface Inference { file?: string; foldLimit: number; freshDim: () => Dim }

/** Every symbol named in the graph's and its regions' types, so fresh dims never collide with one. */
function noteGraphSymbols(graph: Graph, used: Set<string>): void {
  const note = (t: TensorType | undefined) => { for (const d of t?.shape ?? []) if (typeof d === 'string') used.add(d); };
  for (const i of graph.inputs) note(i.type);
  for (const n of graph.nodes) {
    n.types.forEach(note);
    for (const [, r] of regionsOf(n)) noteGraphSymbols(r, used);
  }
}

/**
 * Infers one graph or region. `outer` holds the types of the enclosing scopes' values visible here
 * (empty for the top graph); `known` the values known before running (a region gets a copy, so the
 * values it computes stay inside it). A node's regions are re-inferred by its op's rule through
 * `ShapeContext.region`, with the argument types the op gives them; the node keeps the last re-typed
 * version of each region.
 */
function inferScope(graph: Graph, outer: ReadonlyMap<string, TensorType>, known: Map<string, Tensor>, inf: Inference): Graph {
  const types = new Map<string, TensorType>(outer);
  for (const i of graph.inputs) types.set(i.name, i.type);
  for (const c of graph.constants) {
    types.set(c.name, c.type);
    if (c.data) known.set(c.name, c.data);
  }
  const nodes = graph.nodes.map((node) => {
    const id = nodeId(node) || node.loc[0] || node.op;
    const where = { file: inf.file, node: id, op: node.op };
    const def = findOp(node.op);
    if (!def) throw new KilnError(`unknown op '${node.op}'`, where);
    const inTypes = node.inputs.map((name, k) => {
      if (!name) return undefined;
      const t = types.get(name);
      if (!t) throw new KilnError(`input ${k} '%${name}' is not defined before use`, where);
      return t;
    });
    if (!def.runValues) {
      const k = inTypes.findIndex((t) => t?.container);
      if (k >= 0) throw new KilnError(`input ${k} '%${node.inputs[k]}' is ${formatType(inTypes[k]!)}; op ${node.op} takes tensors`, where);
    }
    const attrs = nodeAttrs(def, node);
    const retyped = new Map<Graph, Graph>();
    const regionKnown = new Map<Graph, Map<string, Tensor>>();
    const produced = new Map<string, Tensor>();
    const ctx: ShapeContext = {
      value: (i: number) => (node.inputs[i] ? known.get(node.inputs[i]) : undefined),
      freshDim: inf.freshDim,
      region: (region, args) => {
        const name = regionName(node, region);
        if (args.length !== region.inputs.length) {
          throw new KilnError(`region '${name}' takes ${region.inputs.length} arguments but op ${node.op} gives it ${args.length}`, where);
        }
        const bound = { ...region, inputs: region.inputs.map((a, k) => ({ name: a.name, type: args[k] })) };
        let g: Graph;
        const inner = new Map(known);
        try {
          g = inferScope(bound, types, inner, inf);
        } catch (e) {
          if (e instanceof KilnError) throw withPlace(e, {}, `in region '${name}' of node '${id}': `);
          throw e;
        }
        retyped.set(region, g);
        regionKnown.set(region, inner);
        return regionResultTypes(g, types);
      },
      regionValue: (region, k) => {
        const g = retyped.get(region);
        return g ? regionKnown.get(region)?.get(g.outputs[k]) : undefined;
      },
      produce: (k, value) => { if (node.outputs[k]) produced.set(node.outputs[k], value); },
    };
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
    for (const [o, v] of produced) known.set(o, v);
    if (!def.runValues && out.every((t) => !t.container)) foldValues(node, def, attrs, inTypes, out, known, inf.foldLimit);
    const same = out.every((t, k) => sameType(t, node.types[k]));
    let attrsOut = node.attrs;
    if (retyped.size) {
      const next: Record<string, AttrValue> = { ...node.attrs };
      for (const [k, a] of Object.entries(node.attrs)) {
        const g = a.kind === 'graph' ? retyped.get(a.value) : undefined;
        if (g && g !== a.value) next[k] = { kind: 'graph', value: g };
      }
      if (Object.keys(next).some((k) => next[k] !== node.attrs[k])) attrsOut = next;
    }
    return same && attrsOut === node.attrs ? node : { ...node, types: out, attrs: attrsOut };
  });
  return nodes.every((n, i) => n === graph.nodes[i]) ? graph : { ...graph, nodes };
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
  return !!b && a.dtype === b.dtype && a.container === b.container && !a.unranked === !b.unranked && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
}
