/**
 * Depthwise convolution template (Conv / kiln.conv with group = C = M, one weight plane per channel;
 * 2-D, any kernel size, stride, dilation and padding; bias and the fused epilogue): mobilenet's 3x3
 * depthwise layers.
 *
 * Schedule (NCHW, as the graph stores it):
 *
 *     for nc < N·C  parallel                       (one image plane per iteration)
 *       for oh in each row segment                 (window.ts: top border, interior, bottom border)
 *         for ow in each column segment            (interior: vectorize 8, tail; no guard)
 *           acc = 0
 *           for kh < KH unroll: for kw < KW unroll: [guard on border segments]
 *             acc += x[nc, oh·sh + kh·dh − ph, ow·sw + kw·dw − pw] · w[c, kh, kw]
 *           out[nc, oh, ow] = epilogue(acc + bias[c])
 *
 * The kernel loops are fully unrolled (constant, small), so the interior ow loop is straight-line
 * code over unit-stride (stride 1) or constant-stride loads that the C compiler vectorizes over output
 * width; each lane sums its terms in the same order as conv.ts's direct loop nest. Geometry is compiler/ops/window.ts's, shared with the
 * reference kernel.
 */
import { type Stmt, binary, iadd, ic, imod, imul, iv, lit, load, loop, ref } from '../kir.ts';
import { type LowerNode, type Lowered, input } from './context.ts';
import { epilogue } from './epilogue.ts';
import type { Geometry } from '../../ops/window.ts';
import { guarded, windowAt, windowBounds, windowNest2d } from './window.ts';

/** True when the conv of `x` (N,C,...) with `w` (M, C/group, ...) and `group` is depthwise 2-D. */
export function isDepthwise(xShape: readonly number[], wShape: readonly number[], group: number): boolean {
  return xShape.length === 4 && group > 1 && group === xShape[1] && wShape[0] === group && wShape[1] === 1;
}

/** Lowers a depthwise 2-D convolution with the resolved geometry `g` (caller checked isDepthwise). */
export function lowerDepthwise(n: LowerNode, g: Geometry): Lowered {
  const x = input(n, 0), w = input(n, 1), b = n.inputs[2], out = n.outputs[0];
  const [N, C, H, W] = x.shape;
  const [OH, OW] = g.output, [KH, KW] = g.kernel;
  const t = out.dtype;
  const nc = n.fresh('nc');
  const c = N === 1 ? iv(nc) : imod(iv(nc), ic(C));
  const body = windowNest2d(n, g, (p) => {
    const acc = n.fresh('acc'), kh = n.fresh('kh'), kw = n.fresh('kw');
    const at: [ReturnType<typeof windowAt>, ReturnType<typeof windowAt>] = [windowAt(g, 0, p.o[0], iv(kh)), windowAt(g, 1, p.o[1], iv(kw))];
    const xv = load(x.name, iadd(imul(iv(nc), ic(H * W)), iadd(imul(at[0], ic(W)), at[1])), x.dtype);
    const wv = load(w.name, iadd(imul(c, ic(KH * KW)), iadd(imul(iv(kh), ic(KW)), iv(kw))), w.dtype);
    const term: Stmt[] = guarded(windowBounds(g, p, at), [{ k: 'accum', name: acc, value: binary('mul', xv, wv) }]);
    const o = iadd(imul(iv(nc), ic(OH * OW)), iadd(imul(p.o[0], ic(OW)), p.o[1]));
    const v = b ? binary('add', ref(acc, t), load(b.name, c, b.dtype)) : ref(acc, t);
    const ep = epilogue(n, v, o);
    return [
      { k: 'acc', name: acc, dtype: t, combine: 'add', init: lit(0, t) },
      loop(kh, KH, [loop(kw, KW, term, [{ kind: 'unroll', factor: KW }])], [{ kind: 'unroll', factor: KH }]),
      ...ep.lets,
      { k: 'store', buffer: out.name, index: o, value: ep.value },
    ];
  });
  return { kind: 'kernel', body: [loop(nc, N * C, body, [{ kind: 'parallel' }])] };
}
