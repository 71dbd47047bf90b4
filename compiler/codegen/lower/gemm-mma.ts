/**
 * The tensor-core GEMM template: C[b, i, j] = finish(Σ_k A[b, i, k] · B[b, k, j]) on the warp-level
 * `mma` of the kernel IR (PTX mma.sync), for GPU targets that have tensor cores (LowerTarget.mma: the
 * CUDA target). MatMul, Gemm and group-1 convolutions (implicit GEMM over NCHW or channels-last
 * inputs) reach it through lowerGemmGpu, which picks it when the target has tensor cores and the
 * operands suit a shape (mmaShapeFor): f16 operands (the mixed-precision pass's f16 storage) →
 * m16n8k16 with f32 accumulation; f32 operands with tf32 allowed (LowerTarget.mma.tf32, the user's
 * opt-in: 10 mantissa bits per product) → m16n8k8 tf32; anything else keeps the SIMT template.
 *
 * Tiling (the classic warp-tiled tensor-core GEMM, as in CUTLASS's sm80 kernels without the pipeline):
 *   - a block of W warps computes a TM×TN tile of C; its warps form a WM×WN grid, each warp a
 *     (TM/WM)×(TN/WN) tile of MT×NT mma tiles (16×8 each), whose accumulators (4 f32 per thread and
 *     tile) live in registers for the whole K loop;
 *   - per K step of TK, the block copies the TM×TK block of A (As[i·SA + k], k contiguous) and the
 *     TK×TN block of B transposed (Bs[j·SA + k], k contiguous) into shared memory (tile-copy.ts:
 *     asynchronous cp.async copies where 4 elements of the operand land on 4 consecutive ones of the
 *     tile — rows of A, rows of a transposed B such as Gemm's and convolutions' weights, channel runs
 *     of a channels-last input —, else zero and then the value under the operand's bounds), with a
 *     padded row stride SA = TK + 8 halves (TK + 4 floats) so the 8 rows a fragment load touches fall
 *     in distinct banks;
 *   - the copies run one step ahead in two stages (double buffering): tile 0 is issued before the
 *     loop, and step kt issues tile kt + 1 into the other stage, commits, waits until only that
 *     newest group is in flight (cp.async.wait_group 1), a barrier, then for each k16 (k8) slice every
 *     warp loads its A fragments (one per mt) and B fragments (one per nt) from stage kt mod 2 and
 *     issues MT·NT mma; a barrier before the next step overwrites the stage;
 *   - fragments: f16 ones come from ldmatrix.x4 (one per A tile, one per pair of B tiles: lane l
 *     gives the row address l mod 8 of matrix l / 8 and receives (row l / 4, columns 2·(l mod 4)
 *     and +1) of each 8×8 matrix, which is the mma register layout); tf32 ones are loaded element by
 *     element at the PTX layouts' places (codegen/mma-layout.ts);
 *   - the epilogue maps each accumulator element back to (i, j) by the accumulator layout and stores
 *     finish(acc) under the bounds guard (bias, activation, residual: the same GemmFinish as the SIMT
 *     template).
 * Configurations: TM = TN = 128 with 8 warps (2×4; warp tile 64×32) when M and N are both ≥ 128,
 * else TM = TN = 64 with 4 warps (2×2; warp tile 32×32). TK = 32 for f16 (k16 × 2), 16 for tf32
 * (k8 × 2). Shared memory: 2 stages · 2 operands · TM · SA elements (40 KiB for the large f16 and
 * tf32 tiles, within the 48 KiB of static shared memory).
 * Not yet here: more than two stages (dynamic shared memory), wgmma on sm_90.
 */
import type { DType } from '../../ir/dtype.ts';
import { type Index, type MmaShape, type Scalar, type Stmt, broadcast, cast, iadd, ic, idiv, imod, imul, iv, lane, lit, load, loop, ref, vref } from '../kir.ts';
import { type LaneAffine, MMA_LAYOUTS, WARP } from '../mma-layout.ts';
import type { LowerNode, LowerTarget, Lowered } from './context.ts';
import type { GpuGemmSpec } from './gemm-gpu.ts';
import { tileCopies, tiledKernel } from './tile-copy.ts';

/** Shared-memory stages of the copy pipeline (double buffering). */
const STAGES = 2;

/** The value an operand element is stored as before the SIMT template would widen it. */
function stored(v: Scalar): Scalar {
  return v.k === 'cast' && v.dtype === 'f32' && (v.a.dtype === 'f16' || v.a.dtype === 'bf16') ? v.a : v;
}

/** The tensor-core shape for a product on a target, or undefined (module header). */
export function mmaShapeFor(target: LowerTarget, s: GpuGemmSpec): MmaShape | undefined {
  if (!target.gpu || !target.mma || s.N < 8 || s.K < 8 || s.M < 16) return undefined;
  const zero = ic(0);
  const dts = [stored(s.a(zero, zero, zero).value).dtype, stored(s.b(zero, zero, zero).value).dtype];
  if (dts.every((d) => d === 'f16')) return 'm16n8k16.f16';
  if (dts.every((d) => d === 'bf16')) return 'm16n8k16.bf16';
  if (target.mma.tf32 && s.dtype === 'f32' && dts.every((d) => d === 'f32')) return 'm16n8k8.tf32';
  return undefined;
}

/** Lowers one product to tensor cores with `shape` (module header). */
export function lowerGemmMma(n: LowerNode, s: GpuGemmSpec, shape: MmaShape): Lowered {
  const L = MMA_LAYOUTS[shape];
  const big = s.M >= 128 && s.N >= 128;
  const [TM, TN, WM, WN] = big ? [128, 128, 2, 4] : [64, 64, 2, 2];
  const threads = WM * WN * WARP;
  const TK = 2 * L.k, SA = TK + (L.operand === 'f32' ? 4 : 8);
  const MT = TM / WM / L.m, NT = TN / WN / L.n; // mma tiles per warp along rows and columns
  const opd: DType = L.operand;

  const gx = n.fresh('gx'), gy = n.fresh('gy'), gz = n.fresh('gz'), t = n.fresh('t'), kt = n.fresh('kt'), ks = n.fresh('ks');
  const As = n.fresh('As'), Bs = n.fresh('Bs');
  const T = iv(t), bIdx = s.batch > 1 ? iv(gz) : ic(0);
  const row0 = imul(iv(gy), ic(TM)), col0 = imul(iv(gx), ic(TN));
  const warp = idiv(T, ic(WARP)), laneId = imod(T, ic(WARP));
  const g = idiv(laneId, ic(4)), tg = imod(T, ic(4));
  const wRow = imul(idiv(warp, ic(WN)), ic(TM / WM)), wCol = imul(imod(warp, ic(WN)), ic(TN / WN));
  const affine = (a: LaneAffine): Index => iadd(iadd(imul(g, ic(a.g)), imul(tg, ic(a.t))), ic(a.c));

  // the shared tiles, per stage: A as As[i·SA + k], B transposed as Bs[j·SA + k]
  const aSize = TM * SA, bSize = TN * SA;
  const aAt = (stage: Index) => (i: Index, k: Index) => iadd(imul(stage, ic(aSize)), iadd(imul(i, ic(SA)), k));
  const bAt = (stage: Index) => (k: Index, j: Index) => iadd(imul(stage, ic(bSize)), iadd(imul(j, ic(SA)), k));
  // the copies of K tile `tile` into stage `stage`
  const copies = (tile: Index, stage: Index): Stmt[] => {
    const gk = (k: Index) => iadd(imul(tile, ic(TK)), k);
    return [
      ...tileCopies(n, {
        rows: TM, cols: TK, rowExtent: s.M, colExtent: s.K, to: As, dtype: opd, t: T, threads, origin: [row0, gk(ic(0))], async: true,
        value: (i, k) => { const o = s.a(bIdx, iadd(row0, i), gk(k)); return { ...o, value: stored(o.value) }; },
        at: aAt(stage),
      }),
      ...tileCopies(n, {
        rows: TK, cols: TN, rowExtent: s.K, colExtent: s.N, to: Bs, dtype: opd, t: T, threads, origin: [gk(ic(0)), col0], async: true,
        value: (k, j) => { const o = s.b(bIdx, gk(k), iadd(col0, j)); return { ...o, value: stored(o.value) }; },
        at: bAt(stage),
      }),
    ];
  };
  const stage = imod(iv(kt), ic(STAGES)); // the stage the slices of step kt read

  // one k slice: fragments from shared memory, then MT·NT mma
  const acc = (mt: number, nt: number) => `${As}_c${mt}_${nt}`;
  const slice: Stmt[] = [];
  const k0 = imul(iv(ks), ic(L.k));
  /** An f32 fragment: `elems` lets, element i loaded at `at` of its place (row, col in the mma tile). */
  const fragment = (buffer: string, name: string, elems: number, place: (i: number) => { row: Index; col: Index }, at: (r: Index, c: Index) => Index): Scalar[] =>
    Array.from({ length: elems }, (_, i) => {
      const p = place(i), reg = `${name}_${i}`;
      slice.push({ k: 'let', name: reg, value: load(buffer, at(p.row, p.col), opd) });
      return ref(reg, opd);
    });
  let aFrags: Scalar[][], bFrags: Scalar[][];
  if (opd === 'f32') {
    aFrags = Array.from({ length: MT }, (_, mt) => fragment(As, `${As}_a${mt}`, L.aElems, (i) => {
      const p = L.aPlace(i);
      return { row: iadd(wRow, iadd(ic(mt * L.m), affine(p.row))), col: iadd(k0, affine(p.col)) };
    }, aAt(stage)));
    bFrags = Array.from({ length: NT }, (_, nt) => fragment(Bs, `${Bs}_b${nt}`, L.bElems, (i) => {
      const p = L.bPlace(i); // B's row is k, its column j
      return { row: iadd(k0, affine(p.row)), col: iadd(wCol, iadd(ic(nt * L.n), affine(p.col))) };
    }, bAt(stage)));
  } else {
    // 16-bit operands: ldmatrix.x4. Lane l points at row l mod 8 of matrix l / 8 and gets (row l / 4,
    // columns 2·(l mod 4), +1) of each: A's matrices are its 8×8 quarters (rows +0/+8, k +0/+8), in
    // the order of the A registers; B's (Bs is [j][k]) are k +0/+8 of n tiles nt and nt + 1.
    const r8 = imod(T, ic(8)), q = imod(idiv(T, ic(8)), ic(2)), h = imod(idiv(T, ic(16)), ic(2));
    const ld = (buffer: string, names: string[], index: Index): Scalar[] => {
      slice.push({ k: 'ldmatrix', names, dtype: opd, buffer, index });
      return names.map((x) => vref(x, opd, 2));
    };
    aFrags = Array.from({ length: MT }, (_, mt) => ld(As, [0, 1, 2, 3].map((i) => `${As}_a${mt}_${i}`),
      aAt(stage)(iadd(wRow, iadd(ic(mt * L.m), iadd(r8, imul(q, ic(8))))), iadd(k0, imul(h, ic(8))))));
    bFrags = [];
    for (let nt = 0; nt < NT; nt += 2) {
      const regs = ld(Bs, [`${Bs}_b${nt}_0`, `${Bs}_b${nt}_1`, `${Bs}_b${nt + 1}_0`, `${Bs}_b${nt + 1}_1`],
        bAt(stage)(iadd(k0, imul(q, ic(8))), iadd(wCol, iadd(imul(iadd(ic(nt), h), ic(L.n)), r8))));
      bFrags.push(regs.slice(0, 2), regs.slice(2));
    }
  }
  for (let mt = 0; mt < MT; mt++) for (let nt = 0; nt < NT; nt++) slice.push({ k: 'mma', shape, acc: acc(mt, nt), a: aFrags[mt], b: bFrags[nt] });

  const stores: Stmt[] = [];
  for (let mt = 0; mt < MT; mt++) {
    for (let nt = 0; nt < NT; nt++) {
      for (let e = 0; e < 4; e++) {
        const p = L.cPlace(e);
        const i = iadd(row0, iadd(wRow, iadd(ic(mt * L.m), affine(p.row))));
        const j = iadd(col0, iadd(wCol, iadd(ic(nt * L.n), affine(p.col))));
        const v = cast(lane(vref(acc(mt, nt), 'f32', 4), ic(e)), s.outDtype ?? s.dtype);
        const fin = s.finish ? s.finish(bIdx, i, j, v) : { lets: [], value: v };
        stores.push({ k: 'guard', bounds: [{ index: i, extent: s.M }, { index: j, extent: s.N }], body: [...fin.lets, { k: 'store', buffer: s.out, index: s.outIndex(bIdx, i, j), value: fin.value }] });
      }
    }
  }

  const perThread: Stmt[] = [];
  for (let mt = 0; mt < MT; mt++) for (let nt = 0; nt < NT; nt++) perThread.push({ k: 'acc', name: acc(mt, nt), dtype: 'f32', combine: 'add', init: broadcast(lit(0, 'f32'), 4), lanes: 4 });
  // the pipeline: tile 0 in flight before the loop; step kt issues tile kt + 1 into the other stage,
  // waits for tile kt's group (at most the newest one still in flight), computes on it
  const steps = Math.ceil(s.K / TK), next = iadd(iv(kt), ic(1));
  const prefetch: Stmt[] = steps > 1 ? [{ k: 'guard', bounds: [{ index: next, extent: steps }], body: copies(next, imod(next, ic(STAGES))) }] : [];
  perThread.push(...copies(ic(0), ic(0)), { k: 'async_commit' }, loop(kt, steps, [
    ...prefetch, { k: 'async_commit' }, { k: 'async_wait', pending: 1 }, { k: 'barrier' },
    loop(ks, TK / L.k, slice, [{ kind: 'unroll', factor: TK / L.k }]), { k: 'barrier' },
  ]), ...stores);

  return tiledKernel({ gx, gy, gz, t, M: s.M, N: s.N, TM, TN, batch: s.batch, threads }, perThread,
    [{ name: As, dtype: opd, count: STAGES * aSize, role: 'shared' }, { name: Bs, dtype: opd, count: STAGES * bSize, role: 'shared' }]);
}
