/**
 * The GPU GEMM template: C[b, i, j] = finish(Σ_k A[b, i, k] · B[b, k, j]) as one kernel with a launch,
 * for the GPU targets (LowerTarget.gpu; WGSL now, CUDA next). MatMul, Gemm and group-1 convolutions
 * (implicit GEMM: B is the im2col of the input, computed as it is loaded, never stored) use it.
 *
 * Tiling (the classic shared-memory SGEMM): a workgroup of 256 threads computes a TM×TN tile of C,
 * each thread RM×RN outputs in registers (rows tr + r·TM/RM, columns tc + c·TN/RN: neighbouring
 * threads store neighbouring columns). The K loop runs in steps of TK: the workgroup copies the TM×TK
 * block of A (transposed, As[k·TM + i]) and the TK×TN block of B (Bs[k·TN + j]) into workgroup memory,
 * each thread TM·TK/256 and TK·TN/256 elements, a barrier, then every thread accumulates TK rank-1
 * updates from workgroup memory, and a barrier before the next copy. An element outside the matrices
 * (the last tile of M, N or K; a convolution's padding) is stored as 0: each copy stores 0, then the
 * value under a guard, so no load leaves its operand and no branch surrounds a barrier.
 * Tiles: TM = 64 (RM = 4) when M ≥ 64, else 16 (RM = 1); TN likewise; TK = 16. The grid is
 * [⌈N/TN⌉, ⌈M/TM⌉, batch]. The finish (bias, alpha/beta, epilogue) runs per output under the bounds guard.
 */
import type { DType } from '../../ir/dtype.ts';
import { type Index, type Scalar, type Stmt, binary, cast, iadd, ic, idiv, imod, imul, iv, lit, load, loop, ref } from '../kir.ts';
import { type GpuOperand, tileCopies, tiledKernel } from './tile-copy.ts';
import type { LowerNode, Lowered } from './context.ts';
import type { GemmFinish } from './gemm-spec.ts';
import { lowerGemmMma, mmaShapeFor } from './gemm-mma.ts';

export type { GpuOperand } from './tile-copy.ts';

/** One (batched) matrix product for the GPU template. */
export interface GpuGemmSpec {
  readonly M: number;
  readonly N: number;
  readonly K: number;
  /** Independent products (the grid's z axis). */
  readonly batch: number;
  /** What the template computes and keeps in workgroup memory in (f32; f16 operands are widened). */
  readonly dtype: DType;
  /**
   * The output's dtype (default `dtype`): the finish sees the accumulator in it (f16 for an f16
   * product; widen.ts then computes the finish in f32 and rounds once at the store).
   */
  readonly outDtype?: DType;
  readonly a: (b: Index, i: Index, k: Index) => GpuOperand;
  readonly b: (b: Index, k: Index, j: Index) => GpuOperand;
  readonly out: string;
  readonly outIndex: (b: Index, i: Index, j: Index) => Index;
  readonly finish?: (b: Index, i: Index, j: Index, acc: Scalar) => GemmFinish;
}

const THREADS = 256;

/**
 * Fewer rows than this leave most of a tile's threads idle (a batch-1 Gemm is one row): such products
 * stay plain loop nests, one thread per output (codegen/gpu/map.ts).
 */
export const GPU_TILE_MIN_ROWS = 16;
const TK = 16;

/** Lowers one product to the tiled template (module header), or to tensor cores where the target has them (gemm-mma.ts). */
export function lowerGemmGpu(n: LowerNode, s: GpuGemmSpec): Lowered {
  const shape = mmaShapeFor(n.target, s);
  if (shape) return lowerGemmMma(n, s, shape);
  const [TM, RM] = s.M >= 64 ? [64, 4] : [16, 1];
  const [TN, RN] = s.N >= 64 ? [64, 4] : [16, 1];
  const CM = TM / RM, CN = TN / RN; // threads along rows and columns (CM · CN = 256)
  const gx = n.fresh('gx'), gy = n.fresh('gy'), gz = n.fresh('gz'), t = n.fresh('t'), kt = n.fresh('kt'), kk = n.fresh('kk');
  const As = n.fresh('As'), Bs = n.fresh('Bs');
  const T = iv(t), bIdx = s.batch > 1 ? iv(gz) : ic(0);
  const row0 = imul(iv(gy), ic(TM)), col0 = imul(iv(gx), ic(TN));
  const tr = idiv(T, ic(CN)), tc = imod(T, ic(CN));
  const f32 = s.dtype;

  // the copies of one K step into workgroup memory (A transposed: As[k·TM + i]; B as it is: Bs[k·TN + j])
  const gk = (k: Index) => iadd(imul(iv(kt), ic(TK)), k);
  const copies = [
    ...tileCopies(n, {
      rows: TM, cols: TK, rowExtent: s.M, colExtent: s.K, to: As, dtype: f32, t: T, threads: THREADS, origin: [row0, gk(ic(0))],
      value: (i, k) => s.a(bIdx, iadd(row0, i), gk(k)), at: (i, k) => iadd(imul(k, ic(TM)), i),
    }),
    ...tileCopies(n, {
      rows: TK, cols: TN, rowExtent: s.K, colExtent: s.N, to: Bs, dtype: f32, t: T, threads: THREADS, origin: [gk(ic(0)), col0],
      value: (k, j) => s.b(bIdx, gk(k), iadd(col0, j)), at: (k, j) => iadd(imul(k, ic(TN)), j),
    }),
  ];

  const acc = (r: number, c: number) => `${As}_c${r}_${c}`;
  const aReg = (r: number) => `${As}_a${r}`, bReg = (c: number) => `${Bs}_b${c}`;
  const update: Stmt[] = [];
  for (let r = 0; r < RM; r++) update.push({ k: 'let', name: aReg(r), value: load(As, iadd(imul(iv(kk), ic(TM)), iadd(tr, ic(r * CM))), f32) });
  for (let c = 0; c < RN; c++) update.push({ k: 'let', name: bReg(c), value: load(Bs, iadd(imul(iv(kk), ic(TN)), iadd(tc, ic(c * CN))), f32) });
  for (let r = 0; r < RM; r++) for (let c = 0; c < RN; c++) update.push({ k: 'accum', name: acc(r, c), value: binary('mul', ref(aReg(r), f32), ref(bReg(c), f32)) });

  const stores: Stmt[] = [];
  for (let r = 0; r < RM; r++) {
    for (let c = 0; c < RN; c++) {
      const i = iadd(row0, iadd(tr, ic(r * CM))), j = iadd(col0, iadd(tc, ic(c * CN)));
      const v = cast(ref(acc(r, c), f32), s.outDtype ?? f32);
      const fin = s.finish ? s.finish(bIdx, i, j, v) : { lets: [], value: v };
      stores.push({ k: 'guard', bounds: [{ index: i, extent: s.M }, { index: j, extent: s.N }], body: [...fin.lets, { k: 'store', buffer: s.out, index: s.outIndex(bIdx, i, j), value: fin.value }] });
    }
  }

  const perThread: Stmt[] = [];
  for (let r = 0; r < RM; r++) for (let c = 0; c < RN; c++) perThread.push({ k: 'acc', name: acc(r, c), dtype: f32, combine: 'add', init: lit(0, f32) });
  perThread.push(loop(kt, Math.ceil(s.K / TK), [...copies, { k: 'barrier' }, loop(kk, TK, update, [{ kind: 'unroll', factor: 4 }]), { k: 'barrier' }]), ...stores);

  return tiledKernel({ gx, gy, gz, t, M: s.M, N: s.N, TM, TN, batch: s.batch, threads: THREADS }, perThread,
    [{ name: As, dtype: f32, count: TM * TK, role: 'shared' }, { name: Bs, dtype: f32, count: TK * TN, role: 'shared' }]);
}
