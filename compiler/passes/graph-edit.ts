/**
 * Small graph-editing helpers shared by the canonical passes (shape-infer, fold-constants, dce, cse,
 * simplify): which nodes are deterministic, provenance unions, type equality, value use counts,
 * dropping constants a rewrite left unused, and the region helpers every pass uses to see inside
 * regions (If branches, Loop/Scan bodies): `mapRegions` / `mapNodeRegions` apply a pass to region
 * bodies, `renameInputs` renames a value's reads inside the node's regions too, `renameAll` renames
 * every name of a region (cloning a body), `definedNames` lists every name a graph and its regions
 * define (for fresh names). A value a region reads from an enclosing scope counts as read by the node
 * owning the region (ir/graph.ts `readsOf`).
 *
 * They work on the immutable IR of ir/graph.ts: nothing here mutates a Node, Constant or Graph.
 */
import type { AttrValue, Constant, Graph, Node, TensorType } from '../ir/graph.ts';
import { readsOf, regionsOf } from '../ir/graph.ts';
import type { Tensor } from '../ir/tensor.ts';
import { KilnError } from '../errors.ts';
import type { OptionValue } from './pass.ts';

/** Ops whose kernels draw random numbers: never folded, never merged. */
export const RANDOM_OPS: ReadonlySet<string> = new Set([
  'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'Bernoulli', 'Multinomial',
]);

/**
 * True if `node` is a Dropout that is the identity on its data input: `training_mode` omitted or a
 * constant false, or `ratio` a constant 0. `value` gives the data of constants (undefined otherwise).
 */
export function dropoutIsIdentity(node: Node, value: (name: string) => Tensor | undefined): boolean {
  if (node.op !== 'Dropout') return false;
  const training = node.inputs[2];
  if (!training) return true;
  const t = value(training);
  if (t && t.size > 0 && (t.data as Uint8Array)[0] === 0) return true;
  const ratio = node.inputs[1] ? value(node.inputs[1]) : undefined;
  return !!ratio && ratio.size > 0 && Number((ratio.data as ArrayLike<number | bigint>)[0]) === 0;
}

/**
 * True if two runs of `node` on the same inputs may differ: random ops, and Dropout unless it is
 * known to be in inference mode (see dropoutIsIdentity).
 */
export function isNondeterministic(node: Node, value: (name: string) => Tensor | undefined): boolean {
  if (RANDOM_OPS.has(node.op)) return true;
  return node.op === 'Dropout' && !dropoutIsIdentity(node, value);
}

/** The union of loc lists in the order given (first occurrence wins), without duplicates. */
export function unionLoc(...locs: (readonly string[])[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const list of locs) for (const l of list) if (!seen.has(l)) { seen.add(l); out.push(l); }
  return out;
}

/** True if two types are identical (same dtype and the very same dims, symbols included). */
export function sameType(a: TensorType | undefined, b: TensorType | undefined): boolean {
  return !!a && !!b && a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
}

/**
 * How many times each value is read: once per node input slot, once per node whose regions read it
 * from outside, plus once per graph output entry.
 */
export function useCounts(nodes: readonly Node[], outputs: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  const bump = (v: string) => { if (v) m.set(v, (m.get(v) ?? 0) + 1); };
  for (const n of nodes) {
    for (const i of n.inputs) bump(i);
    if (regionsOf(n).length) for (const v of readsOf(n)) if (!n.inputs.includes(v)) bump(v);
  }
  for (const o of outputs) bump(o);
  return m;
}

/**
 * The constants of `before` that are still read in the new node list, plus those that were unused
 * already in `before` (those are DCE's business, not the caller's). Returns the same array when no
 * constant was dropped. Used by passes that rewire nodes away from constants.
 */
export function dropOrphanedConstants(before: Graph, nodes: readonly Node[], constants: readonly Constant[]): readonly Constant[] {
  const usedBefore = useCounts(before.nodes, before.outputs);
  const usedNow = useCounts(nodes, before.outputs);
  const kept = constants.filter((c) => usedNow.has(c.name) || !usedBefore.has(c.name));
  return kept.length === constants.length ? constants : kept;
}

/**
 * Maps a node's inputs, and the values its regions read from enclosing scopes, through `rename`;
 * returns the node itself when nothing changes. Names a region defines itself are never renamed.
 */
export function renameInputs(node: Node, rename: (v: string) => string): Node {
  let changed = false;
  const inputs = node.inputs.map((v) => {
    const r = v ? rename(v) : v;
    if (r !== v) changed = true;
    return r;
  });
  const out = changed ? { ...node, inputs } : node;
  return mapNodeRegions(out, (region) => {
    const local = definedNames(region);
    return renameAll(region, (v) => (local.has(v) ? v : rename(v)));
  });
}

/**
 * Applies `f` to each region of `node` (its graph attributes, in sorted attribute order); returns the
 * node itself when `f` returns every region unchanged.
 */
export function mapNodeRegions(node: Node, f: (region: Graph, attr: string, owner: Node) => Graph): Node {
  const regions = regionsOf(node);
  if (!regions.length) return node;
  let attrs: Record<string, AttrValue> | undefined;
  for (const [k, g] of regions) {
    const h = f(g, k, node);
    if (h !== g) (attrs ??= { ...node.attrs })[k] = { kind: 'graph', value: h };
  }
  return attrs ? { ...node, attrs } : node;
}

/**
 * Applies `f` to every region of every node of `graph` (one level: `f` recurses when it runs a pass,
 * which sees its own regions); returns the graph itself when nothing changed. Passes run themselves
 * on region bodies through this, so a pass sees inside regions without copying the walk.
 */
export function mapRegions(graph: Graph, f: (region: Graph, attr: string, owner: Node) => Graph): Graph {
  let changed = false;
  const nodes = graph.nodes.map((n) => {
    const m = mapNodeRegions(n, f);
    if (m !== n) changed = true;
    return m;
  });
  return changed ? { ...graph, nodes } : graph;
}

/**
 * Renames every name in a graph and its regions (inputs, constants, node inputs and outputs, results)
 * through `rename` ('' stays ''); returns the same graph when no name changes. Cloning a body with
 * fresh names, or renaming an outer value a region reads, is this with the right map.
 */
export function renameAll(graph: Graph, rename: (v: string) => string): Graph {
  const names = (list: readonly string[]): readonly string[] => {
    const out = list.map((v) => (v ? rename(v) : v));
    return out.every((v, k) => v === list[k]) ? list : out;
  };
  let changed = false;
  const named = <T extends { readonly name: string }>(x: T): T => {
    const name = rename(x.name);
    if (name === x.name) return x;
    changed = true;
    return { ...x, name };
  };
  const inputs = graph.inputs.map(named);
  const constants = graph.constants.map(named);
  const nodes = graph.nodes.map((n) => {
    const ins = names(n.inputs), outs = names(n.outputs);
    const base = ins === n.inputs && outs === n.outputs ? n : { ...n, inputs: ins, outputs: outs };
    const m = mapNodeRegions(base, (g) => renameAll(g, rename));
    if (m !== n) changed = true;
    return m;
  });
  const outputs = names(graph.outputs);
  return changed || outputs !== graph.outputs ? { ...graph, inputs, constants, nodes, outputs } : graph;
}

/** Every name a graph defines, its regions' included (inputs, constants, node outputs). */
export function definedNames(graph: Graph, into = new Set<string>()): Set<string> {
  for (const i of graph.inputs) into.add(i.name);
  for (const c of graph.constants) into.add(c.name);
  for (const n of graph.nodes) {
    for (const o of n.outputs) if (o) into.add(o);
    for (const [, g] of regionsOf(n)) definedNames(g, into);
  }
  return into;
}

/** Reads an integer option (the manager fills defaults; a direct caller may leave it out). */
export function intOption(pass: string, options: Readonly<Record<string, OptionValue>>, name: string, dflt: number): number {
  const v = options[name] ?? dflt;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new KilnError(`option '${name}' must be an integer, got ${JSON.stringify(v)}`, { pass });
  }
  return v;
}
