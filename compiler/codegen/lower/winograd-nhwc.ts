/**
 * Winograd F(4x4, 3x3) for channels-last 3x3 stride-1 group-1 convolutions (kiln.conv_nhwc,
 * kiln.conv_epilogue_nhwc): the algorithm and matrices of winograd.ts, with the channels in the
 * vector lanes at every stage:
 *
 *   - input transform, parallel over rows of tiles: for each 6x6 input tile and each vector of
 *     channels, V[ξ][t][c] = (Bᵀ d B)[ξ] (36 loads of x[img, h, w, c..c+7], contiguous; the border
 *     tiles' taps outside the input read as 0) into scratch `sc1`;
 *   - 36 batched products on the GEMM template (gemm.ts): M_ξ[t][k] = Σ_c V_ξ[t][c] · U_ξ[c][k], the
 *     tiles as rows (A = V_ξ read in place, rows contiguous in c), U_ξ the B operand packed once at
 *     lowering time into panels along the output channels (one packed set per ξ: `perBatch`), all
 *     36 batches in one parallel loop; into scratch `sc2`;
 *   - output transform, parallel over rows of tiles: for each tile and each vector of output
 *     channels, Y = Aᵀ M A (36 loads of M, contiguous in k), + bias, the epilogue (a residual read
 *     at the output position), 16 contiguous stores; the last tile row or column guarded where the
 *     output ends inside it.
 * Precision: as winograd.ts (WINOGRAD_F4_TOLERANCE of the output's largest magnitude).
 * The default follows preferWinograd, with the same tunable choice `conv3x3` as the NCHW template.
 */
import { type Index, type Scalar, type Stmt, binary, iadd, ic, imul, iv, lit, load, loop } from '../kir.ts';
import { readNumbers } from '../../ir/tensor.ts';
import { type LowerNode, type Lowered, input } from './context.ts';
import { epilogue } from './epilogue.ts';
import type { Geometry } from '../../ops/window.ts';
import { type Segment, axisSegments, guarded, segmentedRows } from './window.ts';
import { TEMPLATE_TOLERANCES } from '../../ops/scalar-ops.ts';
import { lowerGemm } from './gemm.ts';
import { tapValue, transformFilters, transformInputTile, transformOutputTile } from './winograd.ts';

const vec = (extent: number) => (extent >= 8 ? [{ kind: 'vectorize' as const, width: 8, tail: extent % 8 !== 0 }] : []);

/** Lowers a channels-last 3x3 stride-1 group-1 conv by F(4x4,3x3) (caller checked winogradApplies and L > 0). */
export function lowerWinogradNhwc(n: LowerNode, g: Geometry, L: number): Lowered {
  const x = input(n, 0), w = input(n, 1), b = n.inputs[2], out = n.outputs[0];
  const t = out.dtype;
  const [N, H, W, C] = x.shape, K = w.shape[0];
  const [OH, OW] = g.output;
  const TH = Math.ceil(OH / 4), TW = Math.ceil(OW / 4), T = N * TH * TW;
  const V = 'sc1', M = 'sc2';
  const [ph, pw] = g.padBegin;

  // ---- input transform ----
  const tiles: Geometry = {
    rank: 2, input: [H, W], kernel: [6, 6], strides: [4, 4], dilations: [1, 1],
    padBegin: g.padBegin, padEnd: [4 * TH + 2 - H - ph, 4 * TW + 2 - W - pw], output: [TH, TW],
  };
  /**
   * One tile's channel loop: d (36 loads; a tap is 0 where it lies outside the input for every tile of
   * the segment, guarded where only some tiles put it outside), Bᵀ d B, 36 stores.
   */
  const inputTile = (img: Index, th: Index, tw: Index, rs: Segment, cs: Segment): Stmt[] => {
    const c = n.fresh('c');
    const stmts: Stmt[] = [];
    const d: Scalar[] = [];
    for (let r = 0; r < 6; r++) {
      for (let s = 0; s < 6; s++) {
        const at: [Index, Index] = [iadd(imul(th, ic(4)), ic(r - ph)), iadd(imul(tw, ic(4)), ic(s - pw))];
        const idx = iadd(imul(iadd(imul(iadd(imul(img, ic(H)), at[0]), ic(W)), at[1]), ic(C)), iv(c));
        // the tap's input position over the segment's tiles: first and last, per axis
        const span = [0, 1].map((axis) => {
          const seg = axis === 0 ? rs : cs, off = axis === 0 ? r - ph : s - pw;
          return { first: 4 * seg.start + off, last: 4 * (seg.start + seg.extent - 1) + off, size: axis === 0 ? H : W };
        });
        if (span.some((p) => p.last < 0 || p.first >= p.size)) { d.push(lit(0, t)); continue; }
        const bounds = at.flatMap((index, axis) => (span[axis].first >= 0 && span[axis].last < span[axis].size ? [] : [{ index, extent: span[axis].size }]));
        d.push(tapValue(n, stmts, bounds, load(x.name, idx, x.dtype), t));
      }
    }
    const vs = transformInputTile(n, stmts, d, t);
    const tile = iadd(imul(iadd(imul(img, ic(TH)), th), ic(TW)), tw);
    vs.forEach((v, xi) => stmts.push({ k: 'store', buffer: V, index: iadd(imul(iadd(imul(ic(xi), ic(T)), tile), ic(C)), iv(c)), value: v }));
    return [loop(c, C, stmts, vec(C))];
  };
  const inputStage = segmentedRows(n, N, axisSegments(tiles, 0), axisSegments(tiles, 1), inputTile);

  // ---- products: 36 batches of M_ξ (T x K) = V_ξ (T x C) · U_ξ (C x K) on the GEMM template ----
  const filters = transformFilters(readNumbers(w.value!), K, C, t) as Float32Array; // [ξ][c][k]
  const gemm = lowerGemm(n, {
    M: T, N: K, K: C, dtype: t, batch: [36],
    a: (bt, tt, cc) => load(V, iadd(imul(iadd(imul(bt[0], ic(T)), tt), ic(C)), cc), t),
    b: { kind: 'constant', from: 1, what: 'Winograd filters U = G g Gᵀ', perBatch: true, at: (cc, kk, xi) => filters[(xi * C + cc) * K + kk] },
    out: M, outIndex: (bt, tt, kk) => iadd(imul(iadd(imul(bt[0], ic(T)), tt), ic(K)), kk),
  }, L);

  // ---- output transform ----
  const outSegments = (O: number, count: number) => [
    { start: 0, extent: Math.floor(O / 4), guarded: false },
    { start: Math.floor(O / 4), extent: count - Math.floor(O / 4), guarded: true },
  ].filter((s) => s.extent > 0);
  const outputTile = (img: Index, th: Index, tw: Index, rs: Segment, cs: Segment): Stmt[] => {
    const k = n.fresh('k');
    const ot: Stmt[] = [];
    const tile = iadd(imul(iadd(imul(img, ic(TH)), th), ic(TW)), tw);
    const ys = transformOutputTile(n, ot, Array.from({ length: 36 }, (_, q) => load(M, iadd(imul(iadd(imul(ic(q), ic(T)), tile), ic(K)), iv(k)), t)), t);
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        const y = ys[i * 4 + j];
        const oh = iadd(imul(th, ic(4)), ic(i)), ow = iadd(imul(tw, ic(4)), ic(j));
        const o = iadd(imul(iadd(imul(iadd(imul(img, ic(OH)), oh), ic(OW)), ow), ic(K)), iv(k));
        const ep = epilogue(n, b ? binary('add', y, load(b.name, iv(k), b.dtype)) : y, o);
        const bounds = [...(rs.guarded ? [{ index: oh, extent: OH }] : []), ...(cs.guarded ? [{ index: ow, extent: OW }] : [])];
        ot.push(...guarded(bounds, [...ep.lets, { k: 'store', buffer: out.name, index: o, value: ep.value }]));
      }
    }
    return [loop(k, K, ot, vec(K))];
  };
  const outputStage = segmentedRows(n, N, outSegments(OH, TH), outSegments(OW, TW), outputTile);
  return {
    kind: 'kernel', body: [...inputStage, ...gemm.body, ...outputStage], tolerance: TEMPLATE_TOLERANCES.winograd_f4,
    packed: gemm.packed,
    scratch: [...(gemm.scratch ?? []),
      { name: V, dtype: t, count: 36 * T * C, what: 'Winograd input tiles V = Bᵀ d B, [36][tiles][C]' },
      { name: M, dtype: t, count: 36 * T * K, what: 'Winograd products M = V·U, [36][tiles][K]' }],
  };
}
