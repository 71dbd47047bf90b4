/**
 * Small graph-editing helpers shared by the canonical passes (shape-infer, fold-constants, dce, cse,
 * simplify): which nodes are deterministic, provenance unions, type equality, value use counts, and
 * dropping constants a rewrite left unused.
 *
 * They work on the immutable IR of ir/graph.ts: nothing here mutates a Node, Constant or Graph.
 */
import type { Constant, Graph, Node, TensorType } from '../ir/graph.ts';
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

/** How many times each value is read: once per node input slot, plus once per graph output entry. */
export function useCounts(nodes: readonly Node[], outputs: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  const bump = (v: string) => { if (v) m.set(v, (m.get(v) ?? 0) + 1); };
  for (const n of nodes) for (const i of n.inputs) bump(i);
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

/** Maps a node's inputs through `rename`; returns the node itself when no input changes. */
export function renameInputs(node: Node, rename: (v: string) => string): Node {
  let changed = false;
  const inputs = node.inputs.map((v) => {
    const r = v ? rename(v) : v;
    if (r !== v) changed = true;
    return r;
  });
  return changed ? { ...node, inputs } : node;
}

/** Reads an integer option (the manager fills defaults; a direct caller may leave it out). */
export function intOption(pass: string, options: Readonly<Record<string, OptionValue>>, name: string, dflt: number): number {
  const v = options[name] ?? dflt;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new KilnError(`option '${name}' must be an integer, got ${JSON.stringify(v)}`, { pass });
  }
  return v;
}
