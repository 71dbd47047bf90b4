/**
 * Lowering of Conv and the fused kiln.conv (direct convolution, NCHW, any spatial rank, groups,
 * strides, dilations, explicit or auto pads, per-channel bias, epilogue); pooling is pool.ts.
 * Depthwise 2-D convs go to depthwise.ts, 3x3 stride-1 convs to winograd.ts when the conv3x3 choice
 * says so; the rest is the naive loop nest below.
 *
 * Convolution: one loop per output dim (the first with more than one iteration parallel), then an
 * accumulator over input channels of the group and kernel positions; the input position of a spatial
 * axis is o·stride + k·dilation − pad_begin. Where padding can put that position outside the input,
 * a `guard` skips the term (the padded value is 0). Geometry comes from compiler/ops/window.ts, the same
 * rules the reference kernels and shape inference use.
 */
import { type Stmt, binary, iadd, ic, idiv, imul, iv, lit, load, loop, ref } from '../kir.ts';
import { type LowerNode, type Lowered, LowerUnsupported, flatIndex, input, loopNest } from './context.ts';
import { epilogue } from './epilogue.ts';
import { floatOnly } from './matmul.ts';
import { readConvAttrs } from '../../ops/conv.ts';
import { resolveGeometry } from '../../ops/window.ts';
import { guarded, windowPosition } from './window.ts';
import { isDepthwise, lowerDepthwise } from './depthwise.ts';
import { chooseWinograd, lowerWinograd, winogradApplies } from './winograd.ts';

/** Lowers Conv and kiln.conv. */
export function lowerConv(n: LowerNode): Lowered {
  const x = input(n, 0), w = input(n, 1), b = n.inputs[2], out = n.outputs[0];
  floatOnly([x, w, out, ...(b ? [b] : [])]);
  n.parsed();
  const a = readConvAttrs(n.attrs);
  const spatial = x.shape.length - 2;
  if (spatial < 1) throw new LowerUnsupported(`Conv input of rank ${x.shape.length}`);
  const g = resolveGeometry(a, x.shape.slice(2), w.shape.slice(2));
  const [, C] = x.shape, M = w.shape[0], Cg = w.shape[1];
  const mPerGroup = M / a.group;
  if (Cg * a.group !== C || !Number.isInteger(mPerGroup)) throw new LowerUnsupported(`Conv groups ${a.group} do not divide channels ${C} / ${M}`);
  // templates of other files (keep this dispatch short): depthwise (lower/depthwise.ts), Winograd (lower/winograd.ts)
  if (isDepthwise(x.shape, w.shape, a.group)) return lowerDepthwise(n, g);
  if (winogradApplies(x, w, g, a.group) && chooseWinograd(n, x, w, g)) return lowerWinograd(n, g);
  const body = loopNest(n, out.shape, (idx) => {
    const acc = n.fresh('acc'), cv = n.fresh('c');
    const kv = g.kernel.map(() => n.fresh('k'));
    const [nIdx, mIdx, ...oIdx] = idx;
    const pos = oIdx.map((o, s) => windowPosition(g, s, o, iv(kv[s])));
    const channel = a.group === 1 ? iv(cv) : iadd(imul(idiv(mIdx, ic(mPerGroup)), ic(Cg)), iv(cv));
    const xv = load(x.name, flatIndex(x.shape, [nIdx, channel, ...pos.map((p) => p.at)]), x.dtype);
    const wv = load(w.name, flatIndex(w.shape, [mIdx, iv(cv), ...kv.map(iv)]), w.dtype);
    let inner: Stmt[] = guarded(pos.flatMap((p) => (p.bound ? [p.bound] : [])), [{ k: 'accum', name: acc, value: binary('mul', xv, wv) }]);
    for (let s = spatial - 1; s >= 0; s--) inner = [loop(kv[s], g.kernel[s], inner)];
    const o = flatIndex(out.shape, idx);
    const v = b ? binary('add', ref(acc, out.dtype), load(b.name, mIdx, b.dtype)) : ref(acc, out.dtype);
    const ep = epilogue(n, v, o);
    return [
      { k: 'acc', name: acc, dtype: out.dtype, combine: 'add', init: lit(0, out.dtype) },
      loop(cv, Cg, inner),
      ...ep.lets,
      { k: 'store', buffer: out.name, index: o, value: ep.value },
    ];
  });
  return { kind: 'kernel', body };
}
