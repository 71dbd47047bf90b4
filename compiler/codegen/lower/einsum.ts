/**
 * Lowering of Einsum (any number of operands, repeated labels, ellipsis, implicit output): one loop
 * nest over the output labels, an accumulator per output element summing, over every label that is
 * not in the output, the product of the operands at their positions. Labels come from the reference
 * kernel's parser (ops/einsum.ts labelOperands/labelSizes), so both agree on the output order and on
 * broadcasting: an operand dim of size 1 under a label of larger size reads index 0. A repeated label
 * in one operand (a diagonal) indexes that operand's dims with the same loop variable.
 *
 * Precision: the product and the sum are in the output dtype (f32 for f32/f16 after widening, f64,
 * and integers in their own type, wrapping), one accumulation order (the reduced labels in label
 * order); the reference contracts pairwise on the GEMM core, a different order within tolerance.
 */
import { dtypeInfo } from '../../ir/dtype.ts';
import { type EinsumAttrs, labelOperands, labelSizes } from '../../ops/einsum.ts';
import { type Index, type Scalar, type Stmt, binary, cast, ic, iv, lit, load, loop, ref } from '../kir.ts';
import { type LowerNode, type Lowered, LowerUnsupported, flatIndex, input, loopNest } from './context.ts';
import { checkDType } from './scalar.ts';

/** Lowers Einsum. */
export function lowerEinsum(n: LowerNode): Lowered {
  const xs = n.inputs.map((_, k) => input(n, k));
  const out = n.outputs[0];
  for (const x of [...xs, out]) checkDType(x.dtype, x.name);
  if (!dtypeInfo(out.dtype).isFloat && !dtypeInfo(out.dtype).isInt) throw new LowerUnsupported(`Einsum on ${out.dtype}`);
  const a = n.parsed<EinsumAttrs>();
  const { labels, out: outLabels } = labelOperands(a, xs.map((x) => x.shape.length));
  const sizes = labelSizes(labels, xs.map((x) => x.shape), a.equation);
  const reduced = [...new Set(labels.flat())].filter((l) => !outLabels.includes(l)).sort((p, q) => p - q);
  const t = out.dtype;
  if (out.count === 0) return { kind: 'kernel', body: [] };
  const body = loopNest(n, out.shape, (outIdx) => {
    const acc = n.fresh('acc');
    const rvars = reduced.map(() => n.fresh('r'));
    const at = (l: number): Index => {
      const o = outLabels.indexOf(l);
      return o >= 0 ? outIdx[o] : iv(rvars[reduced.indexOf(l)]);
    };
    let product: Scalar | undefined;
    xs.forEach((x, k) => {
      const idx = labels[k].map((l, d) => (x.shape[d] === 1 ? ic(0) : at(l)));
      const v = cast(load(x.name, flatIndex(x.shape, idx), x.dtype), t);
      product = product ? binary('mul', product, v) : v;
    });
    let inner: Stmt[] = [{ k: 'accum', name: acc, value: product! }];
    for (let i = reduced.length - 1; i >= 0; i--) inner = [loop(rvars[i], sizes.get(reduced[i])!, inner)];
    // a reduced label of size 0 sums nothing: the loop runs zero times and the sum is 0
    return [
      { k: 'acc', name: acc, dtype: t, combine: 'add', init: lit(0, t) },
      ...inner,
      { k: 'store', buffer: out.name, index: flatIndex(out.shape, outIdx), value: ref(acc, t) },
    ];
  });
  return { kind: 'kernel', body };
}
