/**
 * Lowering of the channels-last convolutions the layout pass makes (compiler/passes/layout.ts):
 * kiln.conv_nhwc (a Conv) and kiln.conv_epilogue_nhwc (fuse-conv-act's kiln.conv, its residual NHWC
 * too). X is [N, H, W, C], Y is [N, OH, OW, M]; the weights keep the ONNX layout [M, C/group, KH, KW].
 * Channels are the contiguous axis, so the vectors run along channels:
 *
 * - depthwise 2-D (group = C = M, mobilenet's 3x3 layers): per output position, the channel loop is
 *   the vector loop and each lane sums its channel's window:
 *
 *       for r < N·OH  parallel                          (one output row of one image)
 *         for ow in each column segment of window.ts    (interior: no guard)
 *           for c < C  vectorize 8 (tail)
 *             acc = Σ_kh,kw x[img, oh·sh + kh·dh − ph, ow·sw + kw·dw − pw, c] · wk[kh, kw, c]
 *             y[img, oh, ow, c] = epilogue(acc + bias[c])
 *
 *   Border rows and columns guard each term on the tap's position (loop-invariant in c, so the C
 *   compiler hoists it). Interior columns run POSITIONS adjacent positions per pass over the channels,
 *   one accumulator each, so each tap's weight vector is loaded once for all of them (mobilenetv2's
 *   depthwise layers, in-process at 2 threads: 0.98-1.03 ms in all -> 0.89-0.91 ms; its 32-channel
 *   112x112 layer 0.20 -> 0.13 ms). wk is the weights repacked once at lowering time as [KH·KW, C] (`pk0`), so
 *   the lanes read contiguous weights as they read contiguous inputs. With channels in the lanes every
 *   vector is full whatever the plane's width (the NCHW template, depthwise.ts, runs 14 or 7 wide
 *   rows, one partial vector per row);
 * - group 1, f32, on a target with vectors: one GEMM on the template (gemm.ts) with the pixels as rows:
 *   C[pixel, m] = Σ_k A[pixel, k] · W'[k, m] over every image's pixels at once (M = N·OH·OW), W' the
 *   weights as B, packed once into the template's panels along the output channels (every panel full
 *   when M is a multiple of its width: no partial vectors), bias and epilogue on the accumulators, and
 *   Y stored in place (row pixel, column m: Y's own layout). A is X itself for a pointwise convolution
 *   (1x1, stride 1, no padding: the rows of X are the pixels, contiguous in k = c); otherwise A is an
 *   im2col in scratch `sc1`, row per output pixel with k = (kh·KW + kw)·C + c (with dilation 1 a kernel
 *   row's KW·C values are one contiguous run of X; taps in the padding stay zero), filled in parallel
 *   over output rows, border pixels guarded, interior ones not;
 * - a 3x3 stride-1 group-1 conv that prefers Winograd (winograd.ts's rule and tunable): winograd-nhwc.ts;
 * - on a GPU target: group 1 as the tiled implicit GEMM (gemm-gpu.ts), the rest as the direct nest;
 * - anything else (groups between 1 and C, f64, no vectors): the direct loop nest, one accumulator per
 *   output element over the group's channels and the taps, guarded where the padding can be read.
 * Geometry is compiler/ops/window.ts's (the reference kernels and shape inference use it too).
 *
 * Why channels-last on the cpu target (its default pipeline runs the layout pass): measured with every
 * generated kernel of a model run natively (2 threads, AVX2, minimum per kernel over 30 runs, the two
 * layouts' programs alternated), resnet50's kernels took 45.0-47.7 ms in all against 50.0-50.1 ms NCHW
 * (pointwise convs ~0.1 ms faster each, 7x7 and stride-2 3x3 layers 0.1-0.26 ms), mobilenetv2's
 * 6.1-6.7 ms against 8.4-8.5 ms (its depthwise layers, 0.18-0.25 ms at 14x14 NCHW, are vector-full).
 */
import { type Index, type Stmt, binary, iadd, ic, idiv, imul, iv, lit, load, loop, ref } from '../kir.ts';
import type { TensorData } from '../../ir/dtype.ts';
import { type LowerNode, type Lowered, type Operand, type PackedConstant, LowerUnsupported, input, loopNest } from './context.ts';
import { epilogue } from './epilogue.ts';
import { gemmLanes, lowerGemm } from './gemm.ts';
import type { GemmSpec } from './gemm-spec.ts';
import { floatOnly, gpuFloats, unflattenIndex } from './matmul.ts';
import { GPU_TILE_MIN_ROWS, type GpuGemmSpec, lowerGemmGpu } from './gemm-gpu.ts';
import { chooseWinograd, winogradApplies } from './winograd.ts';
import { lowerWinogradNhwc } from './winograd-nhwc.ts';
import { readConvAttrs } from '../../ops/conv.ts';
import { type Geometry, resolveGeometry } from '../../ops/window.ts';
import { type SteppedSegment, axisSegments, guarded, segmentedRows, windowAt, windowPosition } from './window.ts';

/** Lowers kiln.conv_nhwc and kiln.conv_epilogue_nhwc. */
export function lowerConvNhwc(n: LowerNode): Lowered {
  const x = input(n, 0), w = input(n, 1), b = n.inputs[2], out = n.outputs[0];
  floatOnly([x, w, out, ...(b ? [b] : [])]);
  n.parsed();
  if (x.shape.length !== 4) throw new LowerUnsupported(`channels-last Conv input of rank ${x.shape.length} (4 expected)`);
  const a = readConvAttrs(n.attrs);
  const [, H, W, C] = x.shape, M = w.shape[0], Cg = w.shape[1];
  const g = resolveGeometry(a, [H, W], w.shape.slice(2));
  if (Cg * a.group !== C || M % a.group !== 0) throw new LowerUnsupported(`Conv groups ${a.group} do not divide channels ${C} / ${M}`);
  // a GPU target: group-1 convolutions as the tiled implicit GEMM (gemm-gpu.ts), pixels as rows;
  // depthwise and grouped ones as the direct nest below, a thread per output
  if (n.target.gpu) {
    if (a.group === 1 && gpuFloats([x, w, out, ...(b ? [b] : [])]) && N_OF(x, g) >= GPU_TILE_MIN_ROWS) return lowerGemmGpu(n, gpuSpecNhwc(n, g, x, w, b, out));
    return directNhwc(n, g, a.group, x, w, b, out);
  }
  if (a.group === C && M === C && Cg === 1) return depthwiseNhwc(n, g, x, w, b, out);
  const L = gemmLanes(n, out.dtype);
  if (L && winogradApplies(x, w, g, a.group) && chooseWinograd(n, x, w, g, true)) return lowerWinogradNhwc(n, g, L);
  if (a.group === 1 && L && w.value && [x, w, ...(b ? [b] : [])].every((o) => o.dtype === 'f32') && out.count > 0) {
    return gemmNhwc(n, g, x, w, b, out, L);
  }
  return directNhwc(n, g, a.group, x, w, b, out);
}

/** Output pixels of every image: the GEMM's rows. */
const N_OF = (x: Operand, g: Geometry) => x.shape[0] * g.output[0] * g.output[1];

/**
 * A group-1 channels-last convolution as the GPU template's implicit GEMM: C[pixel, m] = Σ_k A[pixel, k] ·
 * W'[k, m] over every image's pixels, k = (kh·KW + kw)·C + c (a kernel row's taps are contiguous runs of
 * X's channels), A read from X as the tile is copied (0 in the padding), W' = the ONNX weights
 * [M, C, KH, KW] read transposed, Y stored in place ([pixel, m] is Y's own layout).
 */
function gpuSpecNhwc(n: LowerNode, g: Geometry, x: Operand, w: Operand, b: Operand | undefined, out: Operand): GpuGemmSpec {
  const [N, H, W, C] = x.shape, M = w.shape[0];
  const [OH, OW] = g.output, [KH, KW] = g.kernel;
  const outIndex = (_: Index, i: Index, j: Index) => iadd(imul(i, ic(M)), j);
  return {
    M: N * OH * OW, N: M, K: KH * KW * C, batch: 1, dtype: 'f32', outDtype: out.dtype, out: out.name, outIndex,
    a: (_, i, k) => {
      const [img, oh, ow] = unflattenIndex(i, [N, OH, OW]);
      const [kh, kw, c] = unflattenIndex(k, [KH, KW, C]);
      const ih = windowPosition(g, 0, oh, kh), iw = windowPosition(g, 1, ow, kw);
      return { value: load(x.name, nhwcAt(H, W, C, img, ih.at, iw.at, c), x.dtype), bounds: [...(ih.bound ? [ih.bound] : []), ...(iw.bound ? [iw.bound] : [])] };
    },
    b: (_, k, j) => {
      const [kh, kw, c] = unflattenIndex(k, [KH, KW, C]);
      return { value: load(w.name, iadd(imul(iadd(imul(iadd(imul(j, ic(C)), c), ic(KH)), kh), ic(KW)), kw), w.dtype) };
    },
    finish: (_, i, j, acc) => epilogue(n, b ? binary('add', acc, load(b.name, j, b.dtype)) : acc, outIndex(ic(0), i, j)),
  };
}

/** The flat index of [img, h, w, c] in an NHWC tensor of spatial dims [H, W] and C channels. */
const nhwcAt = (H: number, W: number, C: number, img: Index, h: Index, w: Index, c: Index): Index =>
  iadd(imul(iadd(imul(iadd(imul(img, ic(H)), h), ic(W)), w), ic(C)), c);

/**
 * Output positions of a depthwise row that share one pass over the channels in interior columns: the
 * accumulators of POSITIONS positions (x 8 lanes) stay in registers and each tap's weights load once.
 */
const POSITIONS = 4;

/** The depthwise template (see the module header). */
function depthwiseNhwc(n: LowerNode, g: Geometry, x: Operand, w: Operand, b: Operand | undefined, out: Operand): Lowered {
  const [N, H, W, C] = x.shape;
  const [OH, OW] = g.output, [KH, KW] = g.kernel;
  const taps = KH * KW, t = out.dtype;
  // the weights as [tap, c] (contiguous along the lanes), once at lowering time when they are constant
  const wk = w.value?.data;
  const packed: PackedConstant[] = [];
  if (wk) {
    const d = new (wk.constructor as new (count: number) => TensorData)(taps * C) as unknown as unknown[];
    const src = wk as unknown as ArrayLike<unknown>;
    for (let c = 0; c < C; c++) for (let k = 0; k < taps; k++) d[k * C + c] = src[c * taps + k];
    packed.push({ name: 'pk0', dtype: w.dtype, from: 1, what: `weights as [${KH}x${KW} taps, ${C} channels]`, data: d as unknown as TensorData });
  }
  const wAt = (tap: Index, c: Index) => (wk ? load('pk0', iadd(imul(tap, ic(C)), c), w.dtype) : load(w.name, iadd(imul(c, ic(taps)), tap), w.dtype));
  /** One output position's channel loop; `rowGuard`/`colGuard`: its taps can leave the input on that axis. */
  /**
   * The channel loop of `count` consecutive output positions from column ow (count > 1 only where no
   * column tap needs a guard): one accumulator per position, each tap's weight vector loaded once for
   * all of them. `rowGuard`/`colGuard`: the taps can leave the input on that axis.
   */
  const positions = (img: Index, oh: Index, ow: Index, count: number, rowGuard: boolean, colGuard: boolean): Stmt[] => {
    const c = n.fresh('c'), kh = n.fresh('kh'), kw = n.fresh('kw'), wv = n.fresh('w');
    const accs = Array.from({ length: count }, () => n.fresh('acc'));
    const at = (p: number) => (p ? iadd(ow, ic(p)) : ow);
    const ih = windowAt(g, 0, oh, iv(kh));
    const terms = accs.map((acc, p): Stmt[] => {
      const iw = windowAt(g, 1, at(p), iv(kw));
      const bounds = [...(rowGuard ? [{ index: ih, extent: H }] : []), ...(colGuard ? [{ index: iw, extent: W }] : [])];
      return guarded(bounds, [{ k: 'accum', name: acc, value: binary('mul', load(x.name, nhwcAt(H, W, C, img, ih, iw, iv(c)), x.dtype), ref(wv, w.dtype)) }]);
    });
    const finish = accs.flatMap((acc, p): Stmt[] => {
      const o = nhwcAt(OH, OW, C, img, oh, at(p), iv(c));
      const v = b ? binary('add', ref(acc, t), load(b.name, iv(c), b.dtype)) : ref(acc, t);
      const ep = epilogue(n, v, o);
      return [...ep.lets, { k: 'store', buffer: out.name, index: o, value: ep.value }];
    });
    return [loop(c, C, [
      ...accs.map((acc): Stmt => ({ k: 'acc', name: acc, dtype: t, combine: 'add', init: lit(0, t) })),
      loop(kh, KH, [loop(kw, KW, [{ k: 'let', name: wv, value: wAt(iadd(imul(iv(kh), ic(KW)), iv(kw)), iv(c)) }, ...terms.flat()], [{ kind: 'unroll', factor: KW }])], [{ kind: 'unroll', factor: KH }]),
      ...finish,
    ], C >= 8 ? [{ kind: 'vectorize', width: 8, tail: C % 8 !== 0 }] : [])];
  };
  // rows and columns split into border and interior segments (window.ts): only border taps are
  // guarded; interior columns run POSITIONS at a time, the rest of the segment one by one
  const cols = axisSegments(g, 1).flatMap((s): SteppedSegment[] => {
    const blocked = s.guarded ? 0 : s.extent - (s.extent % POSITIONS);
    return [
      ...(blocked ? [{ ...s, extent: blocked, step: POSITIONS }] : []),
      ...(s.extent > blocked ? [{ start: s.start + blocked, extent: s.extent - blocked, guarded: s.guarded }] : []),
    ];
  });
  const body = segmentedRows(n, N, axisSegments(g, 0), cols, (img, oh, ow, rs, cs) => positions(img, oh, ow, cs.step ?? 1, rs.guarded, cs.guarded));
  return { kind: 'kernel', body, ...(packed.length ? { packed } : {}) };
}

/** A group-1 convolution as the template's GEMM over pixels (see the module header). */
function gemmNhwc(n: LowerNode, g: Geometry, x: Operand, w: Operand, b: Operand | undefined, out: Operand, L: number): Lowered {
  const [N, H, W, C] = x.shape, M = w.shape[0];
  const [OH, OW] = g.output, [KH, KW] = g.kernel;
  const taps = KH * KW, K = taps * C, P = N * OH * OW;
  const pointwise = taps === 1 && g.strides.every((s) => s === 1) && g.padBegin.every((p) => p === 0) && OH === H && OW === W;
  const wd = w.value!.data;
  const spec: GemmSpec = {
    M: P, N: M, K, dtype: out.dtype, batch: [], out: out.name,
    outIndex: (_, i, j) => iadd(imul(i, ic(M)), j),
    a: (_, i, k) => load(pointwise ? x.name : 'sc1', iadd(imul(i, ic(K)), k), x.dtype),
    // B[k, m] = W[m, c, kh, kw] with k = (kh·KW + kw)·C + c
    b: { kind: 'constant', from: 1, what: 'W^T panels', at: (k, m) => Number(wd[m * K + (k % C) * taps + Math.floor(k / C)]) },
    ...(b || n.node.op === 'kiln.conv_epilogue_nhwc' ? {
      finish: (_: readonly Index[], i: Index, j: Index, acc: ReturnType<typeof ref>) =>
        epilogue(n, b ? binary('add', acc, load(b.name, j, b.dtype)) : acc, iadd(imul(i, ic(M)), j)),
    } : {}),
  };
  const gemm = lowerGemm(n, spec, L);
  if (pointwise) return gemm;
  // the im2col rows, by border/interior segments of output rows and columns (window.ts): a row of a
  // border pixel is zeroed first; then each kernel row inside the input copies its KW·C values: in
  // interior columns with dilation 1 one contiguous run of X, else tap by tap (guarded in border
  // columns)
  const vec = (extent: number) => (extent >= 8 ? [{ kind: 'vectorize' as const, width: 8, tail: extent % 8 !== 0 }] : []);
  const run = g.dilations[1] === 1;
  const fill = segmentedRows(n, N, axisSegments(g, 0), axisSegments(g, 1), (img, oh, ow, rs, cs) => {
    const row = iadd(imul(iadd(imul(img, ic(OH)), oh), ic(OW)), ow);
    const kh = n.fresh('kh'), z = n.fresh('z');
    const ih = windowAt(g, 0, oh, iv(kh));
    const rowBound = rs.guarded ? [{ index: ih, extent: H }] : [];
    const at = (k: Index) => iadd(imul(row, ic(K)), iadd(imul(iv(kh), ic(KW * C)), k));
    let copy: Stmt;
    if (run && !cs.guarded) {
      const j = n.fresh('j');
      const src = iadd(imul(iadd(imul(img, ic(H)), ih), ic(W * C)), iadd(imul(windowAt(g, 1, ow, ic(0)), ic(C)), iv(j)));
      copy = loop(j, KW * C, [{ k: 'store', buffer: 'sc1', index: at(iv(j)), value: load(x.name, src, x.dtype) }], vec(KW * C));
    } else {
      const kw = n.fresh('kw'), c = n.fresh('c');
      const iw = windowAt(g, 1, ow, iv(kw));
      copy = loop(kw, KW, guarded(cs.guarded ? [{ index: iw, extent: W }] : [], [loop(c, C, [{ k: 'store', buffer: 'sc1', index: at(iadd(imul(iv(kw), ic(C)), iv(c))),
        value: load(x.name, nhwcAt(H, W, C, img, ih, iw, iv(c)), x.dtype) }], vec(C))]));
    }
    return [
      ...(rs.guarded || cs.guarded ? [loop(z, K, [{ k: 'store', buffer: 'sc1', index: iadd(imul(row, ic(K)), iv(z)), value: lit(0, x.dtype) } as Stmt], vec(K))] : []),
      loop(kh, KH, guarded(rowBound, [copy])),
    ];
  });
  return {
    ...gemm, body: [...fill, ...gemm.body],
    scratch: [...(gemm.scratch ?? []), { name: 'sc1', dtype: x.dtype, count: P * K, what: `im2col rows (${P} pixels x ${KH}x${KW}x${C})` }],
  };
}

/** The direct loop nest (any group; see the module header). */
function directNhwc(n: LowerNode, g: Geometry, group: number, x: Operand, w: Operand, b: Operand | undefined, out: Operand): Lowered {
  const [, H, W, C] = x.shape, M = w.shape[0], Cg = w.shape[1];
  const [KH, KW] = g.kernel, mPerGroup = M / group, t = out.dtype;
  const body = loopNest(n, out.shape, (idx) => {
    const [img, oh, ow, m] = idx;
    const acc = n.fresh('acc'), cv = n.fresh('c'), kh = n.fresh('kh'), kw = n.fresh('kw');
    const ih = windowPosition(g, 0, oh, iv(kh)), iw = windowPosition(g, 1, ow, iv(kw));
    const channel = group === 1 ? iv(cv) : iadd(imul(idiv(m, ic(mPerGroup)), ic(Cg)), iv(cv));
    const xv = load(x.name, nhwcAt(H, W, C, img, ih.at, iw.at, channel), x.dtype);
    const wv = load(w.name, iadd(imul(iadd(imul(m, ic(Cg)), iv(cv)), ic(KH * KW)), iadd(imul(iv(kh), ic(KW)), iv(kw))), w.dtype);
    const term = guarded([...(ih.bound ? [ih.bound] : []), ...(iw.bound ? [iw.bound] : [])], [{ k: 'accum', name: acc, value: binary('mul', xv, wv) }]);
    const o = nhwcAt(out.shape[1], out.shape[2], M, img, oh, ow, m);
    const v = b ? binary('add', ref(acc, t), load(b.name, m, b.dtype)) : ref(acc, t);
    const ep = epilogue(n, v, o);
    return [
      { k: 'acc', name: acc, dtype: t, combine: 'add', init: lit(0, t) },
      loop(cv, Cg, [loop(kh, KH, [loop(kw, KW, term)])]),
      ...ep.lets,
      { k: 'store', buffer: out.name, index: o, value: ep.value },
    ];
  });
  return { kind: 'kernel', body };
}
