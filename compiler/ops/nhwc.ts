/**
 * Channels-last (NHWC) variants of the NCHW window and normalisation ops, produced by the layout pass
 * (compiler/passes/layout.ts): `kiln.conv_nhwc`, `kiln.maxpool_nhwc`, `kiln.averagepool_nhwc`,
 * `kiln.globalaveragepool_nhwc`, `kiln.globalmaxpool_nhwc`, `kiln.batchnorm_nhwc`, and
 * `kiln.conv_epilogue_nhwc` for fuse-conv-act's `kiln.conv` (whose residual input is NHWC too).
 *
 * Each takes the attributes of its ONNX op plus `layout="NHWC"` (required; the only layout so far),
 * and the same inputs, except that the activation input X (and kiln.conv's residual R) and the output
 * Y are [N, H, W, C] instead of [N, C, H, W]. Weights keep their ONNX layout (Conv W stays [M, C/group, kH, kW]; BatchNormalization's
 * per-channel vectors are layout-free), so the pass never rewrites weight data.
 *
 * Shape rule: the activations' types are permuted to NCHW, the NCHW op's rule runs, and Y's type is
 * permuted back. Reference kernel: the same, on data — X is transposed to NCHW, the op's kernel runs,
 * and Y is transposed to NHWC — so an NHWC graph computes bit-identically to the NCHW one. A backend
 * would implement these natively; the reference only fixes their meaning. Inputs must be 4-D.
 */
import type { TensorType } from '../ir/graph.ts';
import type { OpDef } from './registry.ts';
import { AttrError, getOp } from './registry.ts';
import { opFlops, withEpilogue } from './flops.ts';
import { transposeTensor } from './layout.ts';

/** Axis permutation NHWC → NCHW (`Transpose(perm=[0,3,1,2])` of an NHWC value gives NCHW). */
export const TO_NCHW: readonly number[] = [0, 3, 1, 2];
/** Axis permutation NCHW → NHWC. */
export const TO_NHWC: readonly number[] = [0, 2, 3, 1];

/** The layout attribute value of every op here. */
export const NHWC = 'NHWC';

/** How an NCHW op maps to its channels-last variant. */
export interface NhwcVariant {
  /** The channels-last op's name. */
  readonly name: string;
  /** Largest input count (as the NCHW op's). */
  readonly maxInputs: number;
  /** Inputs that are NCHW activations (become NHWC); the others keep their layout. */
  readonly activations: readonly number[];
}

/**
 * NCHW op → its channels-last variant. `kiln.conv` (fuse-conv-act's Conv with an epilogue,
 * compiler/ops/fused-compute.ts) has its residual input 3 in the activation layout too.
 */
export const NHWC_VARIANT: Readonly<Record<string, NhwcVariant>> = {
  Conv: { name: 'kiln.conv_nhwc', maxInputs: 3, activations: [0] },
  'kiln.conv': { name: 'kiln.conv_epilogue_nhwc', maxInputs: 4, activations: [0, 3] },
  MaxPool: { name: 'kiln.maxpool_nhwc', maxInputs: 1, activations: [0] },
  AveragePool: { name: 'kiln.averagepool_nhwc', maxInputs: 1, activations: [0] },
  GlobalAveragePool: { name: 'kiln.globalaveragepool_nhwc', maxInputs: 1, activations: [0] },
  GlobalMaxPool: { name: 'kiln.globalmaxpool_nhwc', maxInputs: 1, activations: [0] },
  BatchNormalization: { name: 'kiln.batchnorm_nhwc', maxInputs: 5, activations: [0] },
};

const permuteType = (t: TensorType, perm: readonly number[]): TensorType => ({ dtype: t.dtype, shape: perm.map((a) => t.shape[a]) });

interface NhwcAttrs { readonly inner: unknown }

/** The channels-last variant of NCHW op `base` (its activation inputs and output 0 are NHWC). */
function channelsLast(base: string, v: NhwcVariant): OpDef<NhwcAttrs> {
  const def = () => getOp(base); // looked up lazily: registration order does not matter
  const isAct = (i: number) => v.activations.includes(i);
  return {
    name: v.name,
    inputs: [1, v.maxInputs],
    outputs: [1, 1],
    parseAttrs(r) {
      const layout = r.string('layout');
      if (layout !== NHWC) throw new AttrError('layout', `must be "${NHWC}", got "${layout}"`);
      return { inner: def().parseAttrs(r) };
    },
    // the NCHW op's count on the permuted types; a Conv bias counts one per output element here, as in
    // kiln.conv (a plain Conv's rule leaves its bias out)
    flops(inputs, outputs, a) {
      const args = inputs.map((t, i) => (t && isAct(i) && t.shape.length === 4 ? permuteType(t, TO_NCHW) : t));
      const outs = outputs.map((t) => (t.shape.length === 4 ? permuteType(t, TO_NCHW) : t));
      const inner = opFlops(def(), args, outs, a.inner);
      return base === 'Conv' && inputs[2] ? withEpilogue(inner, 1, outs) : inner;
    },
    inferTypes(inputs, a, ctx) {
      const x = inputs[0];
      if (!x) throw new Error('X is required');
      inputs.forEach((t, i) => {
        if (t && isAct(i) && t.shape.length !== 4) throw new Error(`input ${i} must be 4-D [N,H,W,C], got [${t.shape.join(',')}]`);
      });
      const args = inputs.map((t, i) => (t && isAct(i) ? permuteType(t, TO_NCHW) : t));
      const [y] = def().inferTypes(args, a.inner, ctx, 1);
      return [permuteType(y, TO_NHWC)];
    },
    run(inputs, a) {
      const args = inputs.map((t, i) => (t && isAct(i) ? transposeTensor(t, TO_NCHW) : t));
      const [y] = def().run(args, a.inner, 1);
      return [transposeTensor(y, TO_NHWC)];
    },
  };
}

export const nhwcOps: OpDef<any>[] = Object.entries(NHWC_VARIANT).map(([base, v]) => channelsLast(base, v));
