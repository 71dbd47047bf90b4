/**
 * What the memory planner needs to know about ops: which ones are views (a Reshape-like op whose
 * output is its input's bytes read under another shape, so it needs no buffer of its own) and which
 * ones may write their result over an input (elementwise ops, where output element i depends only on
 * input elements at the same flat index i of every operand that has the output's shape).
 *
 * The ops declare both: the `view` and `inPlace` traits of their OpDef (ops/registry.ts); a kiln.fused
 * region is in-place capable when its body is elementwise (ops/fused-region.ts `isElementwiseBody`)
 * and all its results have one shape. This module adds what the traits cannot know: sizes. The
 * liveness analysis (liveness.ts) and, for now, the validator (validate.ts) both ask these questions. Sizes come
 * from static types: symbolic dims take their value from `dims`; a symbol without one is an error
 * (planning checks for those up front, graphFacts), never a made-up size.
 */
import type { Dim, Graph, Node, TensorType } from '../ir/graph.ts';
import { byteSize, dtypeInfo } from '../ir/dtype.ts';
import { KilnError } from '../errors.ts';
import { opTraits } from '../ops/registry.ts';
import { FUSED_OP, isElementwiseBody } from '../ops/fused-region.ts';

/** Resolves a dim: a number as is, a symbol from `dims`; a KilnError when the symbol has no size. */
export function resolveDim(d: Dim, dims: Readonly<Record<string, number>> = {}): number {
  if (typeof d === 'number') return d;
  if (!Object.prototype.hasOwnProperty.call(dims, d)) throw new KilnError(`the memory plan needs a size for symbolic dim '${d}'`);
  return dims[d];
}

/**
 * Element count of a type with symbolic dims resolved; 0 for a sequence or optional, or a tensor whose
 * size is known only at run time, which have no static size (the plan leaves them to the host:
 * `isHostHeld`).
 */
export function elementCount(t: TensorType, dims?: Readonly<Record<string, number>>): number {
  if (isHostHeld(t, dims)) return 0;
  let n = 1;
  for (const d of t.shape) n *= resolveDim(d, dims);
  return n;
}

/**
 * True for a value the plan leaves to the host: a sequence or optional (its elements are sized when
 * made, at run time), or a tensor with a symbolic dim that `dims` does not give. Planning first
 * requires every graph input dim to be given (facts.ts), so such a dim is one only the data decides
 * (a Loop's stacked scan outputs, ConcatFromSequence, NonZero): the value's size is known only at
 * run time, and only host steps make and read it. It has no bytes in any region (`region: 'host'`).
 */
export function isHostHeld(t: TensorType, dims: Readonly<Record<string, number>> = {}): boolean {
  return t.container !== undefined || t.shape.some((d) => typeof d === 'string' && !Object.prototype.hasOwnProperty.call(dims, d));
}

/** Bytes of a value of type `t` in a plan (sub-byte types round up; see dtype.ts `byteSize`). */
export function typeBytes(t: TensorType, dims?: Readonly<Record<string, number>>): number {
  return byteSize(t.dtype, elementCount(t, dims));
}

/** True when the two types have the same resolved shape (leading 1s ignored) and element width. */
export function sameLayout(a: TensorType, b: TensorType, dims?: Readonly<Record<string, number>>): boolean {
  if (isHostHeld(a, dims) || isHostHeld(b, dims)) return false;
  if (dtypeInfo(a.dtype).bits !== dtypeInfo(b.dtype).bits) return false;
  const sa = trimOnes(a.shape.map((d) => resolveDim(d, dims)));
  const sb = trimOnes(b.shape.map((d) => resolveDim(d, dims)));
  return sa.length === sb.length && sa.every((d, i) => d === sb[i]);
}

function trimOnes(s: number[]): number[] {
  let k = 0;
  while (k < s.length && s[k] === 1) k++;
  return s.slice(k);
}

/** True when `node` is a view of its input 0 (a `view` op whose output has the input's byte count). */
export function isViewNode(node: Node, types: ReadonlyMap<string, TensorType>, dims?: Readonly<Record<string, number>>): boolean {
  if (!opTraits(node.op).view || !node.inputs[0] || !node.outputs[0]) return false;
  const src = types.get(node.inputs[0]);
  if (src === undefined || isHostHeld(src, dims) || isHostHeld(node.types[0], dims)) return false;
  return typeBytes(src, dims) === typeBytes(node.types[0], dims);
}

/** True when a kiln.fused region is purely elementwise: no reduction line, all outputs one shape. */
function isElementwiseRegion(node: Node, dims?: Readonly<Record<string, number>>): boolean {
  if (!isElementwiseBody(node.attrs)) return false;
  // One loop over one iteration space: a result smaller than another would be written while inputs of
  // its own shape are still read at other iterations, so every result must have the same shape.
  const outs = node.types.filter((_, k) => node.outputs[k]);
  return outs.every((t) => sameLayout(t, outs[0], dims) && elementCount(t, dims) === elementCount(outs[0], dims));
}

/**
 * True when `node` computes elementwise with an `inPlace` trait (or is an elementwise region), so an
 * output may overwrite a same-layout input that dies here (`inplaceCandidates` says which).
 */
export function isElementwiseNode(node: Node, dims?: Readonly<Record<string, number>>): boolean {
  if (node.op === FUSED_OP) return isElementwiseRegion(node, dims);
  return opTraits(node.op).inPlace !== undefined && node.outputs.filter((o) => o).length === 1;
}

/**
 * Indices of the inputs of elementwise `node` that output `k` may overwrite: inputs its op allows
 * (`inPlace` trait; every input of a region) with the output's layout (same shape, same element
 * width), in input order, each once.
 */
export function inplaceCandidates(node: Node, k: number, types: ReadonlyMap<string, TensorType>,
  dims?: Readonly<Record<string, number>>): number[] {
  const allowed = node.op === FUSED_OP ? 'all' : opTraits(node.op).inPlace;
  const out = node.types[k];
  const seen = new Set<string>();
  const result: number[] = [];
  node.inputs.forEach((name, i) => {
    if (!name || seen.has(name) || !allowed) return;
    seen.add(name);
    if (allowed !== 'all' && !allowed.includes(i)) return;
    const t = types.get(name);
    if (t && sameLayout(t, out, dims)) result.push(i);
  });
  return result;
}

/** Bytes of the graph's constants and of its inputs (both live outside the arena). */
export function externalBytes(graph: Graph, dims?: Readonly<Record<string, number>>): { weights: number; inputs: number } {
  let weights = 0, inputs = 0;
  for (const c of graph.constants) weights += typeBytes(c.type, dims);
  for (const i of graph.inputs) inputs += typeBytes(i.type, dims);
  return { weights, inputs };
}
