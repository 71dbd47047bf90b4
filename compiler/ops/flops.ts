/**
 * FLOPs arithmetic for the ops' `flops` rules (registry.ts OpTraits) and the one function that applies
 * a rule with its default (`opFlops`), used by the model summary (zoo/summary.ts), the timings tables
 * and the nodes table.
 *
 * The counting conventions, each declared on its op:
 * - Conv 2·out·(Cin/group)·prod(kernel); ConvTranspose 2·in·(Cout/group)·prod(kernel); MatMul 2·out·K;
 *   Gemm 2·M·N·K (+ M·N with a bias); Einsum one per output element (the default);
 * - pools out·prod(kernel); global pools and reductions (Reduce*, ArgMax/ArgMin) one per input element;
 * - BatchNormalization 2, LayerNormalization and InstanceNormalization 5, Softmax and LogSoftmax 3 per
 *   input element;
 * - views, movement ops and ops that only make or reinterpret data (Shape, Size, Cast, Range,
 *   ConstantOfShape, Dropout) 0; every other op one per output element;
 * - kiln's fused ops: the anchor's FLOPs plus one per output element per epilogue step (a bias counts as
 *   a step); a kiln.fused region one per body line per element of its largest value; channels-last ops
 *   as their NCHW op.
 *
 * Symbolic dims stay symbols: every count is a polynomial in them (ir/dim-poly.ts), so a model with input
 * f32[N,3,H,W] has FLOPs like `216·N·H·W + 10·N`, and a number only once the dims are bound. A count
 * that is not a polynomial, or a missing type, is undefined (unknown), never a made-up size.
 *
 * Bytes per node (`nodeBytes`), the denominator of arithmetic intensity (FLOPs per byte, the x axis of
 * the roofline): a node's compulsory memory traffic, the bytes of its distinct input tensors (an input
 * named twice, as in Mul(x, x), counts once; constants count like any input) plus the bytes of its
 * outputs, each at its storage size (ir/dtype.ts `storageBytes`: a byte per element of a sub-byte type).
 * It is a lower bound of the traffic, not a cache model: every byte is counted once, so re-reads of a
 * tensor that does not fit in cache (a big convolution's weights, once per output tile) and write-
 * allocate traffic are not counted, and neither is a view's aliasing (a Reshape counts its input and
 * output though it moves nothing). A fused node counts only what crosses its boundary: its external
 * inputs and its outputs, never the intermediates of its body. A control-flow node's region bodies read
 * outer values by name; those are not counted. Unknown (undefined; null as a number) when a type is
 * missing, holds a sequence or optional, is unranked or of strings; symbolic dims stay symbols.
 */
import type { Dim, Node, TensorType } from '../ir/graph.ts';
import { DimPoly } from '../ir/dim-poly.ts';
import { storageBytes } from '../ir/dtype.ts';
import type { FlopsRule, OpTraits } from './registry.ts';

/** Product of the dims of a shape as a polynomial (undefined when the type is missing). */
export function elems(shape: readonly Dim[] | undefined): DimPoly | undefined {
  return shape ? DimPoly.product(shape) : undefined;
}

/** a · b · ... with undefined (unknown) absorbing. */
export function times(...xs: (DimPoly | number | undefined)[]): DimPoly | undefined {
  let p = DimPoly.constant(1);
  for (const x of xs) {
    if (x === undefined) return undefined;
    p = p.mul(x);
  }
  return p;
}

/** a + b + ... with undefined (unknown) absorbing. */
export function plus(...xs: (DimPoly | number | undefined)[]): DimPoly | undefined {
  let p = DimPoly.constant(0);
  for (const x of xs) {
    if (x === undefined) return undefined;
    p = p.add(x);
  }
  return p;
}

/** A rule's result as a polynomial (undefined stays unknown). */
export function asPoly(x: number | DimPoly | undefined): DimPoly | undefined {
  return typeof x === 'number' ? DimPoly.constant(x) : x;
}

/** Zero FLOPs: the op makes, moves or reinterprets data without arithmetic. */
export const zeroFlops: FlopsRule<any> = () => 0;

/** One FLOP per element of all outputs together (the default rule). */
export const perOutputElement: FlopsRule<any> = (_i, outs) => plus(...outs.map((t) => elems(t.shape)));

/** `k` FLOPs per element of input 0 (reductions, normalisations, softmax). */
export const perInputElement = (k = 1): FlopsRule<any> => (inputs) => times(k, elems(inputs[0]?.shape));

/** Pools: out · prod(kernel_shape). */
export const windowFlops = (kernel: (attrs: any) => readonly number[]): FlopsRule<any> =>
  (_i, outs, a) => times(elems(outs[0]?.shape), kernel(a).reduce((x, y) => x * y, 1));

/** Conv: 2 · out · (Cin/group) · prod(kernel) = 2 · out · prod(W.shape[1:]). */
export const convFlops: FlopsRule<any> = (inputs, outs) => times(2, elems(outs[0]?.shape), elems(inputs[1]?.shape.slice(1)));

/** MatMul: 2 · out · K, K the last dim of A. */
export const matmulFlops: FlopsRule<any> = (inputs, outs) => {
  const a = inputs[0]?.shape;
  if (!a || a.length === 0) return undefined;
  return times(2, elems(outs[0]?.shape), elems([a[a.length - 1]]));
};

/**
 * A fused compute op (kiln.conv, kiln.gemm, kiln.matmul, kiln.conv_epilogue_nhwc): the anchor's FLOPs
 * plus one per output element per epilogue step, a bias the anchor does not count being one more step.
 */
export function withEpilogue(anchor: number | DimPoly | undefined, steps: number, outputs: readonly TensorType[]): DimPoly | undefined {
  return plus(asPoly(anchor), times(steps, elems(outputs[0]?.shape)));
}

/**
 * The FLOPs of a node of an op with these traits, from its input types, its present outputs' types
 * and its parsed attributes: the op's `flops` rule, or the default (0 for views and movement ops, one
 * per output element otherwise). A polynomial, or undefined when unknown.
 */
export function opFlops(def: OpTraits<any>, inputs: readonly (TensorType | undefined)[], outputs: readonly TensorType[],
  attrs: unknown): DimPoly | undefined {
  if (def.flops) return asPoly(def.flops(inputs, outputs, attrs));
  if (def.view || def.movement) return DimPoly.constant(0);
  return asPoly(perOutputElement(inputs, outputs, attrs));
}

/** Bytes of one tensor of `type` as a polynomial; undefined for a missing, container, unranked or string type. */
export function tensorBytes(type: TensorType | undefined): DimPoly | undefined {
  if (!type || type.container || type.unranked || type.dtype === 'str') return undefined;
  return times(elems(type.shape), storageBytes(type.dtype, 1));
}

/**
 * The compulsory memory traffic of a node (module header): bytes of its distinct inputs, `inputTypes`
 * parallel to `node.inputs` ('' inputs skipped), plus its present outputs. A polynomial, or undefined.
 */
export function nodeBytesFormula(node: Node, inputTypes: readonly (TensorType | undefined)[]): DimPoly | undefined {
  const seen = new Set<string>();
  const parts: (DimPoly | undefined)[] = [];
  node.inputs.forEach((name, k) => {
    if (!name || seen.has(name)) return;
    seen.add(name);
    parts.push(tensorBytes(inputTypes[k]));
  });
  node.outputs.forEach((name, k) => { if (name) parts.push(tensorBytes(node.types[k])); });
  return plus(...parts);
}

/** A node's compulsory memory traffic in bytes; null when a size is unknown or symbolic. */
export function nodeBytes(node: Node, inputTypes: readonly (TensorType | undefined)[]): number | null {
  return nodeBytesFormula(node, inputTypes)?.value ?? null;
}
