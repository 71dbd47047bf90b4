/**
 * Constant data by content hash: the link between a `.kir` text (which names large tensors by hash only)
 * and the tensors themselves.
 *
 * `hashOf` caches `tensorHash` per Tensor object (tensors are immutable, so a hash never goes stale),
 * which keeps repeated verification of a large model cheap. `weightsOf` collects every tensor a graph
 * holds (constant data and tensor attributes) under its full hash, in the form `parseGraph` accepts as
 * `opts.weights` (regions included). `WeightsLink` is the `.kir` file header naming the safetensors
 * sidecar that holds those tensors (print.ts prints it, parse.ts reads it, kir-file.ts writes and reads
 * the files).
 */
import { type Graph, regionsOf } from './graph.ts';
import { type Tensor, tensorHash } from './tensor.ts';

/** Tensors with at most this many elements (and scalars) print inline; larger ones print by hash. */
export const INLINE_LIMIT = 16;

/** Hex digits of a hash as printed in the text (`#3f2a9c0e12ab45cd`). */
export const SHORT_HASH = 16;

const cache = new WeakMap<Tensor, string>();

/** `tensorHash(t)`, computed once per tensor object. */
export function hashOf(t: Tensor): string {
  let h = cache.get(t);
  if (h === undefined) cache.set(t, (h = tensorHash(t)));
  return h;
}

/** True if a tensor of this many elements prints inline. */
export function printsInline(size: number): boolean {
  return size <= INLINE_LIMIT;
}

/** A `.kir` file's link to its weights: the sidecar's path relative to the .kir's folder and its sha256 (hex). */
export interface WeightsLink {
  readonly path: string;
  readonly sha256: string;
}

/**
 * Every tensor of the graph and of its nodes' regions keyed by full hash: constants with data (under
 * `Constant.hash`) and tensor attributes (under `hashOf`). Pass it to `parseGraph` to restore what the
 * text names by hash.
 */
export function weightsOf(graph: Graph, into = new Map<string, Tensor>()): Map<string, Tensor> {
  for (const c of graph.constants) if (c.data) into.set(c.hash, c.data);
  for (const n of graph.nodes) {
    for (const a of Object.values(n.attrs)) if (a.kind === 'tensor') into.set(hashOf(a.value), a.value);
    for (const [, g] of regionsOf(n)) weightsOf(g, into);
  }
  return into;
}
