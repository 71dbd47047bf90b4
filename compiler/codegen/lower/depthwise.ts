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
 * reference kernel. That schedule is kept for strided convs and for planes without a border.
 *
 * Stride 1 with a border: each plane is first copied into a zero-padded plane lc0 of
 * PH × PW = (OH + (KH−1)·dh) × (OW + (KW−1)·dw), so no read needs a guard. When OW ≥ 8, output (oh, ow)
 * reads lc0 at oh·PW + ow + kh·dh·PW + kw·dw, so the window sums run as ONE contiguous vectorized loop
 * over the flat index j = oh·PW + ow < (OH−1)·PW + OW into lc1 (the PW − OW columns past each
 * row are computed and dropped), and a second loop adds the bias and applies the epilogue while storing
 * the OH × OW outputs. This keeps whole vectors busy on 14x14 and 28x28 planes, where the split
 * schedule ran one partial vector plus scalar guarded borders per row. Narrower stride-1 planes (OW < 8,
 * mobilenet's 7x7) up to PAD_PLANE_MAX run the window loops above on lc0 with no border segment.
 * lc0 and lc1 are `local` buffers, private to the thread running the plane: every plane a thread runs
 * reuses them in its L1/L2 (as per-plane slices of a scratch buffer they were fresh memory each time:
 * 3.8 MB of cold lines for mobilenetv2's 144-channel 56x56 layer).
 * Measured on mobilenetv2 at 2 threads (one run, interleaved): its 17 depthwise kernels 4.8-5.1 ms ->
 * 3.5 ms in all; padding the strided layers too made them slower, so they keep the split.
 */
import { type Stmt, binary, iadd, ic, imod, imul, iv, lit, load, loop, ref } from '../kir.ts';
import { type LowerNode, type Lowered, input } from './context.ts';
import { epilogue } from './epilogue.ts';
import type { Geometry } from '../../ops/window.ts';
import { axisSegments, copyToPaddedPlane, guarded, paddedPlane, windowAt, windowBounds, windowNest2d } from './window.ts';

/** True when the conv of `x` (N,C,...) with `w` (M, C/group, ...) and `group` is depthwise 2-D. */
export function isDepthwise(xShape: readonly number[], wShape: readonly number[], group: number): boolean {
  return xShape.length === 4 && group > 1 && group === xShape[1] && wShape[0] === group && wShape[1] === 1;
}

/**
 * Stride-1 planes narrower than 8 outputs with a border and at most this many input elements (H·W) are
 * copied into a zero-padded plane and run unguarded (mobilenet's 7x7 layers: 0.23 -> 0.13 ms);
 * larger narrow planes keep the interior/border split.
 */
export const PAD_PLANE_MAX = 28 * 28;

/** Lowers a depthwise 2-D convolution with the resolved geometry `g` (caller checked isDepthwise). */
export function lowerDepthwise(n: LowerNode, g: Geometry): Lowered {
  const x = input(n, 0), w = input(n, 1), b = n.inputs[2], out = n.outputs[0];
  const [N, C, H, W] = x.shape;
  const [OH, OW] = g.output, [KH, KW] = g.kernel;
  const t = out.dtype;
  const nc = n.fresh('nc');
  const c = N === 1 ? iv(nc) : imod(iv(nc), ic(C));
  const plane = paddedPlane(g);
  const bordered = [0, 1].some((s) => axisSegments(g, s).some((seg) => seg.guarded));
  const unit = g.strides.every((st) => st === 1);
  // stride 1 at least 8 wide: the flat form below; narrower stride-1 planes: padded when small
  const flat = bordered && unit && OW >= 8;
  const pad = flat || (bordered && unit && H * W <= PAD_PLANE_MAX);
  const [PH, PW] = pad ? plane : [H, W];
  // on the padded plane the window starts at 0 and never leaves it: windowNest2d makes one interior segment
  const gw: Geometry = pad ? { ...g, input: plane, padBegin: [0, 0], padEnd: [0, 0] } : g;
  // the padded plane (lc0) and the window sums (lc1) are private to the thread running the plane
  const src = pad ? 'lc0' : x.name;
  const planeBase = pad ? ic(0) : imul(iv(nc), ic(PH * PW));
  const body = windowNest2d(n, gw, (p) => {
    const acc = n.fresh('acc'), kh = n.fresh('kh'), kw = n.fresh('kw');
    const at: [ReturnType<typeof windowAt>, ReturnType<typeof windowAt>] = [windowAt(gw, 0, p.o[0], iv(kh)), windowAt(gw, 1, p.o[1], iv(kw))];
    const xv = load(src, iadd(planeBase, iadd(imul(at[0], ic(PW)), at[1])), x.dtype);
    const wv = load(w.name, iadd(imul(c, ic(KH * KW)), iadd(imul(iv(kh), ic(KW)), iv(kw))), w.dtype);
    const term: Stmt[] = guarded(windowBounds(gw, p, at), [{ k: 'accum', name: acc, value: binary('mul', xv, wv) }]);
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
  if (!pad) return { kind: 'kernel', body: [loop(nc, N * C, body, [{ kind: 'parallel' }])] };
  // stride 1: output (oh, ow) reads plane offset oh·PW + ow + kh·dh·PW + kw·dw, so over the flat index
  // j = oh·PW + ow the window sums are one contiguous loop of L = (OH−1)·PW + OW (columns ow ≥ OW are
  // computed and dropped) into lc1; the epilogue then stores the OH×OW outputs from it
  const L = (OH - 1) * PW + OW;
  const sums: Stmt[] = [];
  if (flat) {
    const j = n.fresh('j'), acc = n.fresh('acc'), kh = n.fresh('kh'), kw = n.fresh('kw');
    const xv = load('lc0', iadd(iv(j), iadd(imul(iv(kh), ic(g.dilations[0] * PW)), imul(iv(kw), ic(g.dilations[1])))), x.dtype);
    const wv = load(w.name, iadd(imul(c, ic(KH * KW)), iadd(imul(iv(kh), ic(KW)), iv(kw))), w.dtype);
    sums.push(loop(j, L, [
      { k: 'acc', name: acc, dtype: t, combine: 'add', init: lit(0, t) },
      loop(kh, KH, [loop(kw, KW, [{ k: 'accum', name: acc, value: binary('mul', xv, wv) }], [{ kind: 'unroll', factor: KW }])], [{ kind: 'unroll', factor: KH }]),
      { k: 'store', buffer: 'lc1', index: iv(j), value: ref(acc, t) },
    ], L >= 8 ? [{ kind: 'vectorize', width: 8, tail: L % 8 !== 0 }] : []));
    const oh = n.fresh('o'), ow = n.fresh('o');
    const o = iadd(imul(iv(nc), ic(OH * OW)), iadd(imul(iv(oh), ic(OW)), iv(ow)));
    const sum = load('lc1', iadd(imul(iv(oh), ic(PW)), iv(ow)), t);
    const ep = epilogue(n, b ? binary('add', sum, load(b.name, c, b.dtype)) : sum, o);
    sums.push(loop(oh, OH, [loop(ow, OW, [...ep.lets, { k: 'store', buffer: out.name, index: o, value: ep.value }])]));
  }
  // zero the plane, then copy the input plane into its interior (window.ts)
  const fill = copyToPaddedPlane(n, g, x.dtype, { buffer: x.name, base: imul(iv(nc), ic(H * W)) }, { buffer: 'lc0', base: ic(0) }, true);
  const locals: Stmt[] = [
    { k: 'local', name: 'lc0', dtype: x.dtype, count: PH * PW }, // the zero-padded input plane
    ...(flat ? [{ k: 'local', name: 'lc1', dtype: t, count: L } as Stmt] : []), // window sums at the padded row pitch
  ];
  return { kind: 'kernel', body: [loop(nc, N * C, [...locals, ...fill, ...(flat ? sums : body)], [{ kind: 'parallel' }])] };
}
