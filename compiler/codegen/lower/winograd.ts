/**
 * Winograd F(4x4, 3x3) convolution template for 3x3, stride-1, dilation-1, group-1 2-D convolutions
 * (Conv / kiln.conv with bias and the fused epilogue): resnet's 3x3 layers. Each 4x4 output tile is
 * computed from a 6x6 input tile with 36 multiplications per (input, output) channel pair instead of
 * 144 (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2015):
 *
 *     Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
 *
 * with g the 3x3 filter, d a 6x6 input tile (tiles overlap by 2; padding and the part past the input
 * read as 0), and the matrices of WINOGRAD_F4 (interpolation points 0, ±1, ±2, ∞).
 *
 * Stages (one kernel; each stage a top-level parallel loop):
 *   - at lowering time: U[ξ][c][k] = (G g_kc Gᵀ)[ξ], ξ < 36, computed in f64 and rounded once to the
 *     tensor dtype, a packed constant (`pk0`, the backend copies it in once);
 *   - input transform, parallel over input channels: V[ξ][c][t] = (Bᵀ d_ct B)[ξ] into scratch `sc0`
 *     (t = the tile index, image-major), tiles split into border tiles (guarded loads) and interior tiles (plain loads) as window.ts
 *     splits a window of size 6 and stride 4;
 *   - 36 batched products M[ξ][k][t] = Σ_c U[ξ][c][k] · V[ξ][c][t] into scratch `sc2`. On a target
 *     with vectors they run on the GEMM template (gemm.ts) as 36 batches of A = U_ξ (K x C, packed
 *     into its row blocks at lowering time instead of `pk0`) times B = V_ξ (C x tiles, read in place;
 *     a partial last panel copied into `sc0`), every batch's tiles in one parallel loop: measured on
 *     resnet50 (2 threads, AVX2) its 3x3 layers went from 1.8-2.3 ms to 1.1-1.4 ms. Without vectors
 *     (and for f64) a loop nest: parallel over ξ, the tile loop vectorized (unit stride over V and M)
 *     with JAM output channels per pass, each an accumulator, or for layers with few tiles the
 *     output-channel loop vectorized (unit stride over U) with JAM tiles per pass (the tunable
 *     `winograd-products`); the channel sum is a loop inside;
 *   - output transform, parallel over output channels: Y = Aᵀ M A per tile, + bias, epilogue (a
 *     residual is loaded at the output position); full tiles unguarded and vectorized over tile
 *     columns (unit-stride loads of M, four contiguous stores per tile row), the last tile row or
 *     column guarded where the output ends inside it.
 *
 * Precision: the transforms amplify rounding (Bᵀ has entries up to 5, Aᵀ up to 8, G has 1/24); with
 * f32 arithmetic the result differs from direct convolution by up to WINOGRAD_F4_TOLERANCE of the
 * output's largest magnitude (measured: see that constant).
 *
 * Whether a conv uses this template is the tunable choice `conv3x3` (candidates {winograd: 1} and
 * {winograd: 0}, 0 = the caller's other lowering); the default follows `preferWinograd` (channels ≥ 16
 * both ways and output ≥ 8x8, where the transforms are paid back).
 */
import type { DType, TensorData } from '../../ir/dtype.ts';
import { readNumbers } from '../../ir/tensor.ts';
import { type GuardBound, type Index, type Scalar, type Stmt, binary, iadd, ic, imul, iv, lit, load, loop, ref, unary } from '../kir.ts';
import { type LowerNode, type Lowered, type Operand, type TuningParams, input } from './context.ts';
import { epilogue } from './epilogue.ts';
import type { Geometry } from '../../ops/window.ts';
import { guarded, windowNest2d } from './window.ts';
import { TEMPLATE_TOLERANCES } from '../../ops/scalar-ops.ts';
import { gemmLanes, lowerGemm } from './gemm.ts';

/** The F(4x4, 3x3) matrices: Bᵀ (6x6), G (6x3), Aᵀ (4x6). */
export const WINOGRAD_F4 = {
  BT: [
    [4, 0, -5, 0, 1, 0],
    [0, -4, -4, 1, 1, 0],
    [0, 4, -4, -1, 1, 0],
    [0, -2, -1, 2, 1, 0],
    [0, 2, -1, -2, 1, 0],
    [0, 4, 0, -5, 0, 1],
  ],
  G: [
    [1 / 4, 0, 0],
    [-1 / 6, -1 / 6, -1 / 6],
    [-1 / 6, 1 / 6, -1 / 6],
    [1 / 24, 1 / 12, 1 / 6],
    [1 / 24, -1 / 12, 1 / 6],
    [0, 0, 1],
  ],
  AT: [
    [1, 1, 1, 1, 1, 0],
    [0, 1, -1, 2, -2, 0],
    [0, 1, 1, 4, 4, 0],
    [0, 1, -1, 8, -8, 1],
  ],
} as const;

/**
 * The error bound of F(4x4,3x3) in f32 against direct convolution, relative to the largest |output|
 * of a layer (max |winograd − reference| ≤ WINOGRAD_F4_TOLERANCE · max |reference|): the
 * `winograd_f4` entry of TEMPLATE_TOLERANCES (compiler/ops/scalar-ops.ts, next to the pointwise
 * tolerances). Measured: 1.6e-5 on random data with 256 input channels, 1.1e-5 on resnet50's 3x3
 * layers (64..256 channels), 1.5e-6 on the whole resnet50 output; the bound is 1e-4.
 */
export const WINOGRAD_F4_TOLERANCE = TEMPLATE_TOLERANCES.winograd_f4.rel;

/** Output channels (or tiles) per pass of the products: one vector accumulator each (register blocking). */
const JAM = 4;

/** The rule behind the default: Winograd pays back its transforms on wide layers with room for tiles. */
export function preferWinograd(C: number, K: number, OH: number, OW: number): boolean {
  return C >= 16 && K >= 16 && OH >= 8 && OW >= 8;
}

/** True when the conv can use F(4x4,3x3): 2-D, 3x3, stride 1, dilation 1, group 1, float. */
export function winogradApplies(x: Operand, w: Operand, g: Geometry, group: number): boolean {
  return x.shape.length === 4 && group === 1 && (x.dtype === 'f32' || x.dtype === 'f64') && w.value !== undefined
    && g.kernel.every((k) => k === 3) && g.strides.every((s) => s === 1) && g.dilations.every((d) => d === 1);
}

/**
 * The tunable choice between Winograd and the caller's lowering for a 3x3 conv: the candidates in the
 * rule's order of preference (choose() picks the first unless the tuner measured otherwise).
 */
export function chooseWinograd(n: LowerNode, x: Operand, w: Operand, g: Geometry, channelsLast = false): boolean {
  const N = x.shape[0], C = x.shape[channelsLast ? 3 : 1], K = w.shape[0];
  const key = `N=${N},C=${C},K=${K},H=${g.input[0]},W=${g.input[1]},pads=${g.padBegin.join('.')}-${g.padEnd.join('.')}`;
  const yes: TuningParams = { winograd: 1 }, no: TuningParams = { winograd: 0 };
  const c = n.choose('conv3x3', key, preferWinograd(C, K, g.output[0], g.output[1]) ? [yes, no] : [no, yes]);
  return c.winograd === 1;
}

/** U[ξ][c][k] = (G g_kc Gᵀ)[ξ] for filters w (K, C, 3, 3), in f64, rounded once into `dtype`. */
export function transformFilters(wdata: ArrayLike<number>, K: number, C: number, dtype: DType): TensorData {
  const G = WINOGRAD_F4.G;
  const U = dtype === 'f64' ? new Float64Array(36 * C * K) : new Float32Array(36 * C * K);
  const tmp = new Float64Array(18);
  for (let k = 0; k < K; k++) {
    for (let c = 0; c < C; c++) {
      const base = (k * C + c) * 9;
      // tmp = G g (6x3)
      for (let i = 0; i < 6; i++) for (let j = 0; j < 3; j++) tmp[i * 3 + j] = G[i][0] * wdata[base + j] + G[i][1] * wdata[base + 3 + j] + G[i][2] * wdata[base + 6 + j];
      // (G g) Gᵀ (6x6)
      for (let i = 0; i < 6; i++) {
        for (let j = 0; j < 6; j++) U[((i * 6 + j) * C + c) * K + k] = tmp[i * 3] * G[j][0] + tmp[i * 3 + 1] * G[j][1] + tmp[i * 3 + 2] * G[j][2];
      }
    }
  }
  return U;
}

/** Σ coef·x over the nonzero coefficients, as scalar IR (±1 without a multiplication). */
function combination(coefs: readonly number[], xs: readonly Scalar[], dtype: DType): Scalar {
  let sum: Scalar | undefined;
  coefs.forEach((c, i) => {
    if (c === 0) return;
    const mag = Math.abs(c);
    const term = mag === 1 ? xs[i] : binary('mul', lit(mag, dtype), xs[i]);
    if (!sum) sum = c < 0 ? unary('neg', term) : term;
    else sum = binary(c < 0 ? 'sub' : 'add', sum, term);
  });
  return sum ?? lit(0, dtype);
}

/** Binds each value to a fresh local; returns the refs. */
function bindAll(n: LowerNode, out: Stmt[], values: readonly Scalar[], prefix: string): Scalar[] {
  return values.map((v) => {
    const name = n.fresh(prefix);
    out.push({ k: 'let', name, value: v });
    return ref(name, v.dtype);
  });
}

const SIX = [0, 1, 2, 3, 4, 5];

/**
 * One value of an input tile: the load itself, or, where `bounds` can fail (the padding), an
 * accumulator that stays 0 unless the guarded load adds the value.
 */
export function tapValue(n: LowerNode, stmts: Stmt[], bounds: readonly GuardBound[], value: Scalar, t: DType): Scalar {
  if (!bounds.length) return value;
  const name = n.fresh('d');
  stmts.push({ k: 'acc', name, dtype: t, combine: 'add', init: lit(0, t) }, ...guarded(bounds, [{ k: 'accum', name, value }]));
  return ref(name, t);
}

/** Bᵀ d B of a 6x6 tile d (row-major) as 36 values, ξ = 6·i + j; Bᵀ d bound to locals in `stmts`. */
export function transformInputTile(n: LowerNode, stmts: Stmt[], d: readonly Scalar[], t: DType): Scalar[] {
  const { BT } = WINOGRAD_F4;
  const bd = bindAll(n, stmts, BT.flatMap((row) => SIX.map((s) => combination(row, SIX.map((r) => d[r * 6 + s]), t))), 'u');
  return BT.flatMap((_, i) => BT.map((row) => combination(row, SIX.map((s) => bd[i * 6 + s]), t)));
}

/** Aᵀ m A of a 6x6 tile of products m (ξ = 6·i + j) as the 16 outputs, row-major; m and Aᵀ m bound to locals in `stmts`. */
export function transformOutputTile(n: LowerNode, stmts: Stmt[], m: readonly Scalar[], t: DType): Scalar[] {
  const { AT } = WINOGRAD_F4;
  const ms = bindAll(n, stmts, m, 'm');
  const am = bindAll(n, stmts, AT.flatMap((row) => SIX.map((s) => combination(row, SIX.map((r) => ms[r * 6 + s]), t))), 'a');
  return AT.flatMap((_, i) => AT.map((row) => combination(row, SIX.map((s) => am[i * 6 + s]), t)));
}

/**
 * Which loop of the batched products is vectorized: tiles (1; unit-stride loads of V and stores of M)
 * or output channels (0; unit-stride loads of U, for layers with few tiles). The tunable
 * `winograd-products`; by default tiles when there are at least 16 of them.
 */
function chooseProductLayout(n: LowerNode, T: number, K: number): boolean {
  const tiles: TuningParams = { vectorTiles: 1 }, channels: TuningParams = { vectorTiles: 0 };
  return n.choose('winograd-products', `T=${T},K=${K}`, T >= 16 ? [tiles, channels] : [channels, tiles]).vectorTiles === 1;
}

/** Lowers a 3x3 stride-1 group-1 conv by F(4x4,3x3) with the resolved geometry `g` (caller checked winogradApplies). */
export function lowerWinograd(n: LowerNode, g: Geometry): Lowered {
  const x = input(n, 0), w = input(n, 1), b = n.inputs[2], out = n.outputs[0];
  const t = out.dtype;
  const [N, C, H, W] = x.shape, K = w.shape[0];
  const [OH, OW] = g.output;
  const TH = Math.ceil(OH / 4), TW = Math.ceil(OW / 4), T = N * TH * TW;
  // V and M leave sc0 to the gemm template (its copy of a partial last panel of V)
  const U = 'pk0', V = 'sc1', M = 'sc2';

  // ---- input transform: V[ξ][c][t] = (Bᵀ d B)[ξ] ----
  const tiles: Geometry = {
    rank: 2, input: [H, W], kernel: [6, 6], strides: [4, 4], dilations: [1, 1],
    padBegin: g.padBegin, padEnd: [4 * TH + 2 - H - g.padBegin[0], 4 * TW + 2 - W - g.padBegin[1]], output: [TH, TW],
  };
  const c = n.fresh('c'), nn = n.fresh('n');
  const inputTransform = windowNest2d(n, tiles, (p) => {
    const stmts: Stmt[] = [];
    const d: Scalar[] = [];
    for (let r = 0; r < 6; r++) {
      for (let s = 0; s < 6; s++) {
        const at: [Index, Index] = [iadd(imul(p.o[0], ic(4)), ic(r - g.padBegin[0])), iadd(imul(p.o[1], ic(4)), ic(s - g.padBegin[1]))];
        const idx = iadd(imul(iadd(imul(iv(nn), ic(C)), iv(c)), ic(H * W)), iadd(imul(at[0], ic(W)), at[1]));
        // a position is checked only on a guarded axis, and only if it can leave the input there
        const bounds = at.flatMap((index, axis) => {
          if (!p.guarded[axis]) return [];
          const lo = axis === 0 ? r : s, size = axis === 0 ? H : W, count = axis === 0 ? TH : TW;
          const first = lo - g.padBegin[axis], last = 4 * (count - 1) + first;
          return first >= 0 && last < size ? [] : [{ index, extent: size }];
        });
        d.push(tapValue(n, stmts, bounds, load(x.name, idx, x.dtype), t));
      }
    }
    const vs = transformInputTile(n, stmts, d, t);
    const tile = iadd(imul(iv(nn), ic(TH * TW)), iadd(imul(p.o[0], ic(TW)), p.o[1]));
    vs.forEach((v, xi) => stmts.push({ k: 'store', buffer: V, index: iadd(imul(iadd(imul(ic(xi), ic(C)), iv(c)), ic(T)), tile), value: v }));
    return stmts;
  });

  // ---- products: M[ξ][k][t] = Σ_c U[ξ][c][k] V[ξ][c][t]: the GEMM template with vectors, else a
  // loop nest (built here, before the output transform, so its names come first) ----
  const L = gemmLanes(n, t);
  const loopProducts = L ? undefined : productsLoopNest(n, { T, K, C, t, U, V, M });
  // ---- output transform: Y = Aᵀ M A + bias, epilogue; full tiles unguarded (vectorized over tile
  // columns), the last tile row/column guarded where the output ends inside it ----
  const k = n.fresh('k'), n2 = n.fresh('n');
  const outSegments = (O: number, count: number) => [
    { start: 0, extent: Math.floor(O / 4), guarded: false },
    { start: Math.floor(O / 4), extent: count - Math.floor(O / 4), guarded: true },
  ].filter((x) => x.extent > 0);
  const outputTile = (th: Index, tw: Index, guardRows: boolean, guardCols: boolean): Stmt[] => {
    const ot: Stmt[] = [];
    const tile = iadd(imul(iv(n2), ic(TH * TW)), iadd(imul(th, ic(TW)), tw));
    const ys = transformOutputTile(n, ot, Array.from({ length: 36 }, (_, q) => load(M, iadd(imul(iadd(imul(ic(q), ic(K)), iv(k)), ic(T)), tile), t)), t);
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        const y = ys[i * 4 + j];
        const oh = iadd(imul(th, ic(4)), ic(i)), ow = iadd(imul(tw, ic(4)), ic(j));
        const o = iadd(imul(iadd(imul(iv(n2), ic(K)), iv(k)), ic(OH * OW)), iadd(imul(oh, ic(OW)), ow));
        const ep = epilogue(n, b ? binary('add', y, load(b.name, iv(k), b.dtype)) : y, o);
        const bounds = [...(guardRows ? [{ index: oh, extent: OH }] : []), ...(guardCols ? [{ index: ow, extent: OW }] : [])];
        ot.push(...guarded(bounds, [...ep.lets, { k: 'store', buffer: out.name, index: o, value: ep.value }]));
      }
    }
    return ot;
  };
  const outputTransform: Stmt[] = outSegments(OH, TH).map((r) => {
    const th = n.fresh('th');
    return loop(th, r.extent, outSegments(OW, TW).map((c) => {
      const tw = n.fresh('tw');
      const ann = !r.guarded && !c.guarded && c.extent >= 8 ? [{ kind: 'vectorize' as const, width: 8, tail: c.extent % 8 !== 0 }] : [];
      return loop(tw, c.extent, outputTile(iadd(iv(th), ic(r.start)), iadd(iv(tw), ic(c.start)), r.guarded, c.guarded), ann);
    }));
  });
  const filters = transformFilters(readNumbers(w.value!), K, C, t);
  const ownScratch = [
    { name: V, dtype: t, count: 36 * C * T, what: 'Winograd input tiles V = Bᵀ d B, [36][C][tiles]' },
    { name: M, dtype: t, count: 36 * T * K, what: 'Winograd products M = U·V, [36][K][tiles]' },
  ];
  const inputStage = loop(c, C, [loop(nn, N, inputTransform)], [{ kind: 'parallel' }]);
  const outputStage = loop(k, K, [loop(n2, N, outputTransform)], [{ kind: 'parallel' }]);
  if (L) {
    // with vectors, the products are the gemm template's: 36 batches of M_ξ = U_ξ (K x C, packed
    // into row blocks at lowering time) · V_ξ (C x tiles, read in place), all in one parallel loop
    const gemm = lowerGemm(n, {
      M: K, N: T, K: C, dtype: t, batch: [36],
      a: () => { throw new Error('winograd: A is the packed constant U'); },
      aConstant: { from: 1, perBatch: true, what: 'Winograd filters U = G g Gᵀ', at: (kk, cc, b) => (filters as Float32Array)[(b * C + cc) * K + kk] },
      b: { kind: 'inPlace', buffer: V, kStride: T, base: (bt) => imul(bt[0], ic(C * T)), what: 'Winograd tiles V' },
      out: M, outIndex: (bt, kk, tt) => iadd(imul(iadd(imul(bt[0], ic(K)), kk), ic(T)), tt),
    }, L);
    return {
      kind: 'kernel', body: [inputStage, ...gemm.body, outputStage], tolerance: TEMPLATE_TOLERANCES.winograd_f4,
      packed: gemm.packed, scratch: [...(gemm.scratch ?? []), ...ownScratch],
    };
  }
  return {
    kind: 'kernel', body: [inputStage, loopProducts!, outputStage],
    tolerance: TEMPLATE_TOLERANCES.winograd_f4,
    packed: [{ name: U, dtype: t, data: filters, from: 1, what: 'Winograd F(4x4,3x3) filters U = G g Gᵀ, [36][C][K]' }],
    scratch: ownScratch,
  };
}

/**
 * The 36 batched products as a loop nest (targets without vectors, f64), parallel over ξ: one loop
 * vectorized (each lane one tile, or one output channel; the tunable `winograd-products`), the other
 * dimension jammed JAM at a time into accumulators, and the channel sum a loop inside, so the
 * accumulators stay in registers across the sum. Tiles are the vector dimension when there are enough.
 */
function productsLoopNest(n: LowerNode, p: { T: number; K: number; C: number; t: DType; U: string; V: string; M: string }): Stmt {
  const { T, K, C, t, U, V, M } = p;
  const xi = n.fresh('xi');
  const overTiles = chooseProductLayout(n, T, K);
  const vecLen = overTiles ? T : K, jamLen = overTiles ? K : T;
  const mIndex = (kk: Index, tt: Index) => iadd(imul(iadd(imul(iv(xi), ic(K)), kk), ic(T)), tt);
  const vIndex = (cc: Index, tt: Index) => iadd(imul(iadd(imul(iv(xi), ic(C)), cc), ic(T)), tt);
  const uIndex = (cc: Index, kk: Index) => iadd(imul(iadd(imul(iv(xi), ic(C)), cc), ic(K)), kk);
  const pass = (base: number, jam: number, groups: number): Stmt[] => {
    if (groups <= 0) return [];
    const g = n.fresh('g'), vv = n.fresh('l'), cv = n.fresh('c');
    const jammed = Array.from({ length: jam }, (_, r) => iadd(iadd(imul(iv(g), ic(jam)), ic(base)), ic(r)));
    const accs = jammed.map(() => n.fresh('acc'));
    const shared = n.fresh('s');
    // the operand shared by the jammed accumulators is loaded once per channel
    const sharedValue = overTiles ? load(V, vIndex(iv(cv), iv(vv)), t) : load(U, uIndex(iv(cv), iv(vv)), t);
    const other = (j: Index) => (overTiles ? load(U, uIndex(iv(cv), j), t) : load(V, vIndex(iv(cv), j), t));
    const inner: Stmt[] = [
      { k: 'let', name: shared, value: sharedValue },
      ...jammed.map((j, r): Stmt => ({ k: 'accum', name: accs[r], value: binary('mul', other(j), ref(shared, t)) })),
    ];
    const perLane: Stmt[] = [
      ...accs.map((a): Stmt => ({ k: 'acc', name: a, dtype: t, combine: 'add', init: lit(0, t) })),
      loop(cv, C, inner),
      ...jammed.map((j, r): Stmt => ({ k: 'store', buffer: M, index: overTiles ? mIndex(j, iv(vv)) : mIndex(iv(vv), j), value: ref(accs[r], t) })),
    ];
    return [loop(g, groups, [loop(vv, vecLen, perLane, vecLen >= 8 ? [{ kind: 'vectorize', width: 8, tail: vecLen % 8 !== 0 }] : [])])];
  };
  const groups = Math.floor(jamLen / JAM);
  return loop(xi, 36, [...pass(0, JAM, groups), ...pass(groups * JAM, 1, jamLen - groups * JAM)], [{ kind: 'parallel' }]);
}
