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
 */
import type { Dim, TensorType } from '../ir/graph.ts';
import { DimPoly } from '../ir/dim-poly.ts';
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
