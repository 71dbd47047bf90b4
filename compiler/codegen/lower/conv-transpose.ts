/**
 * Lowering of ConvTranspose (NCHW, any spatial rank, groups, strides, dilations, pads, output_padding,
 * output_shape, auto_pad, optional bias): a naive scatter, the adjoint of the direct convolution.
 *
 * Kernel: first every output element gets its channel's bias (or 0); then, per batch item and output
 * channel m (the parallel loop: every store indexes with m), for each input channel c of m's group,
 * input position i and kernel position k, the term x[n, c, i] · w[c, m mod (M/group), k] is added to
 * the output position o = i·stride + k·dilation − pad_begin of each spatial axis, inside a guard where
 * o can fall outside the output (pads, output_padding, output_shape). The update is a load and a store
 * of the output element. Geometry is the reference kernel's (ops/conv-transpose.ts transposeGeometry),
 * so shape inference, the reference and this lowering agree on sizes and pads.
 */
import { dtypeInfo } from '../../ir/dtype.ts';
import { type ConvTransposeAttrs, transposeGeometry } from '../../ops/conv-transpose.ts';
import { type GuardBound, type Stmt, binary, iadd, ic, idiv, imod, imul, iv, lit, load, loop } from '../kir.ts';
import { type LowerNode, type Lowered, LowerUnsupported, flatIndex, input, loopNest } from './context.ts';
import { checkDType } from './scalar.ts';

/** Lowers ConvTranspose. */
export function lowerConvTranspose(n: LowerNode): Lowered {
  const x = input(n, 0), w = input(n, 1), b = n.inputs[2], out = n.outputs[0];
  for (const o of [x, w, out, ...(b ? [b] : [])]) {
    checkDType(o.dtype, o.name);
    if (!dtypeInfo(o.dtype).isFloat) throw new LowerUnsupported(`ConvTranspose on ${o.dtype}`);
  }
  const a = n.parsed<ConvTransposeAttrs>();
  const spatial = x.shape.length - 2;
  if (spatial < 1) throw new LowerUnsupported(`ConvTranspose input of rank ${x.shape.length}`);
  const kernel = w.shape.slice(2);
  const g = transposeGeometry(a, x.shape.slice(2), kernel);
  const [batch, channels] = x.shape;
  const groups = a.group, mg = w.shape[1], m = out.shape[1], cg = channels / groups;
  if (m !== mg * groups || !Number.isInteger(cg)) throw new LowerUnsupported(`ConvTranspose channels ${channels}/${m} do not split into ${groups} groups`);
  const t = out.dtype;

  // 1. bias (or zero) everywhere
  const body: Stmt[] = out.count === 0 ? [] : loopNest(n, out.shape, (idx) => [{
    k: 'store', buffer: out.name, index: flatIndex(out.shape, idx), value: b ? load(b.name, idx[1], b.dtype) : lit(0, t),
  }]);
  if (out.count === 0 || x.count === 0) return { kind: 'kernel', body };

  // 2. scatter-add: n, m (parallel), c, input positions, kernel positions
  const vn = n.fresh('n'), vm = n.fresh('m'), vc = n.fresh('c');
  const vi = x.shape.slice(2).map(() => n.fresh('x'));
  const vk = kernel.map(() => n.fresh('k'));
  // the weight's channel within the group (m mod mg) and the absolute input channel ((m div mg)·cg + c)
  const mInGroup = imod(iv(vm), ic(mg));
  const channel = iadd(imul(idiv(iv(vm), ic(mg)), ic(cg)), iv(vc));
  const bounds: GuardBound[] = [];
  const outPos = vi.map((v, d) => {
    const o = iadd(iadd(imul(iv(v), ic(g.strides[d])), imul(iv(vk[d]), ic(g.dilations[d]))), ic(-g.padBegin[d]));
    const last = (g.input[d] - 1) * g.strides[d] + (g.kernel[d] - 1) * g.dilations[d] - g.padBegin[d];
    if (g.padBegin[d] > 0 || last >= g.output[d]) bounds.push({ index: o, extent: g.output[d] });
    return o;
  });
  const at = flatIndex(out.shape, [iv(vn), iv(vm), ...outPos]);
  const term = binary('mul', load(x.name, flatIndex(x.shape, [iv(vn), channel, ...vi.map(iv)]), t),
    load(w.name, flatIndex(w.shape, [channel, mInGroup, ...vk.map(iv)]), t));
  const update: Stmt = { k: 'store', buffer: out.name, index: at, value: binary('add', load(out.name, at, t), term) };
  let inner: Stmt[] = bounds.length ? [{ k: 'guard', bounds, body: [update] }] : [update];
  for (let d = spatial - 1; d >= 0; d--) inner = [loop(vk[d], kernel[d], inner)];
  for (let d = spatial - 1; d >= 0; d--) inner = [loop(vi[d], g.input[d], inner)];
  inner = [loop(vc, cg, inner)];
  inner = [loop(vm, m, inner, m > 1 ? [{ kind: 'parallel' }] : [])];
  body.push(loop(vn, batch, inner));
  return { kind: 'kernel', body };
}
