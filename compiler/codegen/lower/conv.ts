/**
 * Lowering of Conv and the fused kiln.conv (direct convolution, NCHW, any spatial rank, groups,
 * strides, dilations, explicit or auto pads, per-channel bias, epilogue); pooling is pool.ts.
 * Templates first: depthwise 2-D convs go to depthwise.ts, 3x3 stride-1 convs to winograd.ts when the
 * conv3x3 choice says so; on a target with vectors an f32 convolution with group 1 is a GEMM on the
 * template (gemm.ts): C[img] = W [Cout, Cin·KH·KW] · im2col(X[img]) [Cin·KH·KW, OH·OW], NCHW in and
 * out, the weights packed once as A, the im2col columns packed per call into the template's B
 * (scratch; zero in the padding; a 1x1 stride-1 unpadded convolution reads X itself), bias and
 * epilogue on the accumulators. The rest is the naive loop nest below.
 *
 * Convolution: one loop per output dim (the first with more than one iteration parallel), then an
 * accumulator over input channels of the group and kernel positions; the input position of a spatial
 * axis is o·stride + k·dilation − pad_begin. Where padding can put that position outside the input,
 * a `guard` skips the term (the padded value is 0). Geometry comes from compiler/ops/window.ts, the same
 * rules the reference kernels and shape inference use.
 */
import { type Index, type Scalar, type Stmt, binary, iadd, ic, idiv, imod, imul, iv, lit, load, loop, ref } from '../kir.ts';
import { type LowerNode, type Lowered, type Operand, LowerUnsupported, flatIndex, input, loopNest } from './context.ts';
import { epilogue, hasEpilogue } from './epilogue.ts';
import { gemmLanes, lowerGemm } from './gemm.ts';
import type { GemmSpec } from './gemm-spec.ts';
import { PARALLEL_COPY } from './gemm-pack.ts';
import { floatOnly, gpuFloats, unflattenIndex } from './matmul.ts';
import { GPU_TILE_MIN_ROWS, type GpuGemmSpec, lowerGemmGpu } from './gemm-gpu.ts';
import { readConvAttrs } from '../../ops/conv.ts';
import { type Geometry, resolveGeometry } from '../../ops/window.ts';
import { copyToPaddedPlane, guarded, paddedPlane, windowPosition } from './window.ts';
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
  // templates of other files (keep this dispatch short): GPU implicit GEMM (gemm-gpu.ts), depthwise (lower/depthwise.ts), Winograd (lower/winograd.ts)
  if (n.target.gpu && a.group === 1 && gpuFloats([x, w, out, ...(b ? [b] : [])]) && M >= GPU_TILE_MIN_ROWS) return lowerGemmGpu(n, convGpuSpec(n, g, x, w, b, out));
  // (a GPU target runs depthwise and Winograd-shaped convs as the loop nest below, a thread per output:
  // the CPU templates' per-thread padded planes and scratch transforms do not suit GPU threads)
  if (!n.target.gpu && isDepthwise(x.shape, w.shape, a.group)) return lowerDepthwise(n, g);
  if (!n.target.gpu && winogradApplies(x, w, g, a.group) && chooseWinograd(n, x, w, g)) return lowerWinograd(n, g);
  const L = gemmLanes(n, out.dtype);
  if (a.group === 1 && L && [x, w, ...(b ? [b] : [])].every((o) => o.dtype === 'f32') && out.count > 0) {
    return lowerGemm(n, convGemmSpec(n, g, x, w, b, out), L);
  }
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

/**
 * A group-1 convolution as the GPU template's implicit GEMM: C[img] = W [Cout, Cin·taps] · im2col(X[img]),
 * the im2col element of (k = (ci, taps...), j = output position) read from X as the tile is copied,
 * 0 where the window is in the padding.
 */
function convGpuSpec(n: LowerNode, g: Geometry, x: Operand, w: Operand, b: Operand | undefined, out: Operand): GpuGemmSpec {
  const [images, C] = x.shape, M = w.shape[0];
  const N = g.output.reduce((p, d) => p * d, 1);
  const taps = g.kernel.reduce((p, d) => p * d, 1);
  const outIndex = (img: Index, i: Index, j: Index) => iadd(imul(iadd(imul(img, ic(M)), i), ic(N)), j);
  return {
    M, N, K: C * taps, batch: images, dtype: 'f32', outDtype: out.dtype, out: out.name, outIndex,
    a: (_, i, k) => ({ value: load(w.name, iadd(imul(i, ic(C * taps)), k), w.dtype) }),
    b: (img, k, j) => {
      const [ci, ...kk] = unflattenIndex(k, [C, ...g.kernel]);
      const o = unflattenIndex(j, g.output);
      const pos = o.map((oi, s) => windowPosition(g, s, oi, kk[s]));
      return {
        value: load(x.name, flatIndex(x.shape, [img, ci, ...pos.map((p) => p.at)]), x.dtype),
        bounds: pos.flatMap((p) => (p.bound ? [p.bound] : [])),
      };
    },
    finish: (img, i, j, acc) => epilogue(n, b ? binary('add', acc, load(b.name, i, b.dtype)) : acc, outIndex(img, i, j)),
  };
}

/** Output positions below which the im2col is packed into panels instead of rows. */
const IM2COL_PANELS_BELOW = 100;

/** A group-1 convolution as the template's GEMM (see the module header). */
function convGemmSpec(n: LowerNode, g: Geometry, x: Operand, w: Operand, b: Operand | undefined, out: Operand): GemmSpec {
  const [images, C] = x.shape, M = w.shape[0];
  const N = g.output.reduce((p, d) => p * d, 1);
  const taps = g.kernel.reduce((p, d) => p * d, 1);
  const K = C * taps;
  const inSize = g.input.reduce((p, d) => p * d, 1);
  if (x.count !== images * C * inSize) throw new LowerUnsupported(`Conv input [${x.shape.join(',')}] does not match its geometry`);
  const pointwise = taps === 1 && g.strides.every((s) => s === 1) && g.padBegin.every((p) => p === 0) && N === inSize;
  const outIndex = (bt: readonly Index[], i: Index, j: Index) => iadd(iadd(imul(bt[0], ic(M * N)), imul(i, ic(N))), j);
  // a padded convolution first copies each input channel into a zero-bordered scratch plane (sc1), so
  // the im2col reads need no bounds checks: plane dims cover every window position read
  const padded = g.padBegin.some((p) => p > 0) || g.output.some((o, s) => (o - 1) * g.strides[s] + (g.kernel[s] - 1) * g.dilations[s] >= g.input[s]);
  const plane = paddedPlane(g);
  const planeSize = plane.reduce((p, d) => p * d, 1);
  /** im2col row k (k = ci·taps + tap) at output position `pos` of image bt[0]. */
  const im2colValue = (bt: readonly Index[], k: Index, pos: readonly Index[]) => {
    const ci = idiv(k, ic(taps));
    let tapStride = taps;
    const kpos = g.kernel.map((d) => {
      tapStride /= d;
      return imod(idiv(k, ic(tapStride)), ic(d));
    });
    const at = pos.map((o, s) => iadd(imul(o, ic(g.strides[s])), imul(kpos[s], ic(g.dilations[s]))));
    return padded
      ? load('sc1', iadd(imul(ci, ic(planeSize)), flatIndex(plane, at)), x.dtype)
      : load(x.name, iadd(iadd(imul(bt[0], ic(C * inSize)), imul(ci, ic(inSize))), flatIndex(g.input, at)), x.dtype);
  };
  /** Row k of the im2col for `units` output rows from row `first`: write(c, value) at column c of those rows. */
  const im2colRows = (bt: readonly Index[], k: Index, first: Index, units: number, write: (c: Index, value: Scalar) => Stmt): Stmt[] => {
    const ov = g.output.map(() => n.fresh('o'));
    const pos = ov.map((o, s) => (s === 0 ? iadd(first, iv(o)) : iv(o)));
    let inner: Stmt[] = [write(flatIndex([units, ...g.output.slice(1)], ov.map(iv)), im2colValue(bt, k, pos))];
    for (let s = ov.length - 1; s >= 0; s--) inner = [loop(ov[s], s === 0 ? units : g.output[s], inner)];
    return inner;
  };
  return {
    M, N, K, dtype: out.dtype, batch: [images], out: out.name, outIndex,
    a: (_, i, k) => load(w.name, iadd(imul(i, ic(K)), k), w.dtype),
    // constant weights are packed once into the template's row blocks
    ...(w.value?.data instanceof Float32Array ? { aConstant: { from: 1, at: ((d: Float32Array) => (i: number, k: number) => d[i * K + k])(w.value.data) } } : {}),
    // a pointwise convolution's B is X[img] itself, [Cin, H·W] row-major: read in place
    b: pointwise ? { kind: 'inPlace', buffer: x.name, kStride: N, base: (bt) => imul(bt[0], ic(C * N)), what: 'X' } : {
      // one im2col row per (input channel, kernel tap), in parallel over all of them (a stem conv
      // has 3 channels but 147 rows), after the zero-padded planes are copied, in parallel over channels
      kind: 'runtime', what: 'im2col rows', outer: C * taps, rows: 1,
      // row-major (the copies run along output positions) unless the output plane is small: then its
      // few panels interleave in every row and the micro-kernel reads each panel's rows 64 B of every
      // NP·64 (resnet50's 7x7 3x3 layers, 2 threads: panels 2.05-2.1 ms against rows 2.5 ms; at
      // 14x14 and larger rows were faster, the packing's div/mod per element costing more)
      ...(N < IM2COL_PANELS_BELOW ? {} : { layout: 'rows' as const }),
      ...(padded ? {
        scratch: [{ name: 'sc1', dtype: x.dtype, count: C * planeSize, what: 'zero-padded input planes' }],
        prepare: (bt: readonly Index[]) => {
          const ci = n.fresh('c');
          const img = imul(bt[0], ic(C * inSize));
          return [loop(ci, C, copyToPaddedPlane(n, g, x.dtype, { buffer: x.name, base: iadd(img, imul(iv(ci), ic(inSize))) }, { buffer: 'sc1', base: imul(iv(ci), ic(planeSize)) }),
            C > 1 && C * planeSize >= PARALLEL_COPY ? [{ kind: 'parallel' }] : [])];
        },
      } : {}),
      // the whole image's rows, or (by column blocks) whole output rows from `first`
      pack: (bt, k, w) => im2colRows(bt, k, ic(0), g.output[0], (c, value) => w.write(k, c, value)),
      blocks: { unit: N / g.output[0], pack: im2colRows },
    },
    ...(b || hasEpilogue(n) ? {
      finish: (bt: readonly Index[], i: Index, j: Index, acc: ReturnType<typeof ref>) =>
        epilogue(n, b ? binary('add', acc, load(b.name, i, b.dtype)) : acc, outIndex(bt, i, j)),
    } : {}),
  };
}
