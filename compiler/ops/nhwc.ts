/**
 * Channels-last (NHWC) variants of the NCHW window and normalisation ops, produced by the layout pass
 * (compiler/passes/layout.ts): `kiln.conv_nhwc`, `kiln.maxpool_nhwc`, `kiln.averagepool_nhwc`,
 * `kiln.globalaveragepool_nhwc`, `kiln.globalmaxpool_nhwc`, `kiln.batchnorm_nhwc`.
 *
 * Each takes the attributes of its ONNX op plus `layout="NHWC"` (required; the only layout so far),
 * and the same inputs, except that the activation input X and the output Y are [N, H, W, C] instead of
 * [N, C, H, W]. Weights keep their ONNX layout (Conv W stays [M, C/group, kH, kW]; BatchNormalization's
 * per-channel vectors are layout-free), so the pass never rewrites weight data.
 *
 * Shape rule: X's type is permuted to NCHW, the ONNX op's rule runs, and Y's type is permuted back.
 * Reference kernel: the same, on data — X is transposed to NCHW, the ONNX op's reference kernel runs,
 * and Y is transposed to NHWC — so an NHWC graph computes bit-identically to the NCHW one. A backend
 * would implement these natively; the reference only fixes their meaning. Inputs must be 4-D.
 */
import type { TensorType } from '../ir/graph.ts';
import type { OpDef } from './registry.ts';
import { AttrError, getOp } from './registry.ts';
import { transposeTensor } from './layout.ts';

/** Axis permutation NHWC → NCHW (`Transpose(perm=[0,3,1,2])` of an NHWC value gives NCHW). */
export const TO_NCHW: readonly number[] = [0, 3, 1, 2];
/** Axis permutation NCHW → NHWC. */
export const TO_NHWC: readonly number[] = [0, 2, 3, 1];

/** The layout attribute value of every op here. */
export const NHWC = 'NHWC';

/** ONNX op → its channels-last kiln op. */
export const NHWC_VARIANT: Readonly<Record<string, string>> = {
  Conv: 'kiln.conv_nhwc',
  MaxPool: 'kiln.maxpool_nhwc',
  AveragePool: 'kiln.averagepool_nhwc',
  GlobalAveragePool: 'kiln.globalaveragepool_nhwc',
  GlobalMaxPool: 'kiln.globalmaxpool_nhwc',
  BatchNormalization: 'kiln.batchnorm_nhwc',
};

const permuteType = (t: TensorType, perm: readonly number[]): TensorType => ({ dtype: t.dtype, shape: perm.map((a) => t.shape[a]) });

interface NhwcAttrs { readonly inner: unknown }

/** The channels-last variant of ONNX op `base` (input 0 and output 0 are NHWC). */
function channelsLast(name: string, base: string): OpDef<NhwcAttrs> {
  const def = () => getOp(base); // looked up lazily: registration order does not matter
  return {
    name,
    inputs: [1, base === 'Conv' ? 3 : base === 'BatchNormalization' ? 5 : 1],
    outputs: [1, 1],
    parseAttrs(r) {
      const layout = r.string('layout');
      if (layout !== NHWC) throw new AttrError('layout', `must be "${NHWC}", got "${layout}"`);
      return { inner: def().parseAttrs(r) };
    },
    inferTypes(inputs, a, ctx) {
      const x = inputs[0];
      if (!x) throw new Error('X is required');
      if (x.shape.length !== 4) throw new Error(`X must be 4-D [N,H,W,C], got [${x.shape.join(',')}]`);
      const args = inputs.map((t, i) => (i === 0 && t ? permuteType(t, TO_NCHW) : t));
      const [y] = def().inferTypes(args, a.inner, ctx, 1);
      return [permuteType(y, TO_NHWC)];
    },
    run(inputs, a) {
      const args = inputs.map((t, i) => (i === 0 && t ? transposeTensor(t, TO_NCHW) : t));
      const [y] = def().run(args, a.inner, 1);
      return [transposeTensor(y, TO_NHWC)];
    },
  };
}

export const nhwcOps: OpDef<any>[] = Object.entries(NHWC_VARIANT).map(([base, name]) => channelsLast(name, base));
