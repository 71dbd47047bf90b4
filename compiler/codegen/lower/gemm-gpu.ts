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
import { type GuardBound, type Index, type Scalar, type Stmt, binary, cast, iadd, ic, idiv, imod, imul, iv, knownMultiple, lane as laneOf, lit, load, loop, ref, vload, vref } from '../kir.ts';
import { hoistLane, linearIn, mentionsVar } from '../gpu/rewrite.ts';
import type { LowerNode, Lowered } from './context.ts';
import type { GemmFinish } from './gemm-spec.ts';

/** An operand element and the conditions (besides the matrix bounds) under which it is not 0. */
export interface GpuOperand {
  readonly value: Scalar;
  readonly bounds?: readonly GuardBound[];
}

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

/** Lowers one product to the tiled template (module header). */
export function lowerGemmGpu(n: LowerNode, s: GpuGemmSpec): Lowered {
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
      rows: TM, cols: TK, rowExtent: s.M, colExtent: s.K, to: As, dtype: f32, t: T, origin: [row0, gk(ic(0))],
      value: (i, k) => s.a(bIdx, iadd(row0, i), gk(k)), at: (i, k) => iadd(imul(k, ic(TM)), i),
    }),
    ...tileCopies(n, {
      rows: TK, cols: TN, rowExtent: s.K, colExtent: s.N, to: Bs, dtype: f32, t: T, origin: [gk(ic(0)), col0],
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

  const grid: [number, number, number] = [Math.ceil(s.N / TN), Math.ceil(s.M / TM), s.batch];
  let body: Stmt[] = [loop(t, THREADS, perThread, [{ kind: 'block', axis: 0 }])];
  body = [loop(gx, grid[0], body, [{ kind: 'grid', axis: 0 }])];
  body = [loop(gy, grid[1], body, [{ kind: 'grid', axis: 1 }])];
  if (s.batch > 1) body = [loop(gz, grid[2], body, [{ kind: 'grid', axis: 2 }])];
  return {
    kind: 'kernel', body,
    launch: { grid, block: [THREADS, 1, 1] },
    shared: [{ name: As, dtype: f32, count: TM * TK, role: 'shared' }, { name: Bs, dtype: f32, count: TK * TN, role: 'shared' }],
  };
}

/** One operand's tile of a K step: rows × cols elements at tile position (r, c) → workgroup memory. */
interface TileCopy {
  readonly rows: number;
  readonly cols: number;
  /** The operand position of tile position (0, 0). */
  readonly origin: readonly [Index, Index];
  /** The operand's extents along the tile's rows and columns (elements past them are 0). */
  readonly rowExtent: number;
  readonly colExtent: number;
  /** The operand element at tile position (r, c), and where it is not 0 besides the extents. */
  readonly value: (r: Index, c: Index) => GpuOperand;
  readonly to: string;
  readonly dtype: DType;
  readonly at: (r: Index, c: Index) => Index;
  /** The thread index. */
  readonly t: Index;
}

/**
 * The statements of one tile copy. Each thread copies VEC consecutive elements with one aligned vector
 * load where the operand allows (along the columns, else along the rows: the element is a load whose
 * index runs with that coordinate at stride 1 from a multiple of VEC, its extent is a multiple of VEC
 * and no other bound depends on it: a row-major matrix with K % 4 = 0, a channels-last input with
 * C % 4 = 0), else one element per copy (element e = l·256 + t: consecutive threads, consecutive columns).
 */
function tileCopies(n: LowerNode, tc: TileCopy): Stmt[] {
  return vectorCopies(n, tc, 'cols') ?? vectorCopies(n, tc, 'rows') ?? scalarCopies(tc);
}

function scalarCopies(tc: TileCopy): Stmt[] {
  const out: Stmt[] = [];
  for (let l = 0; l < (tc.rows * tc.cols) / THREADS; l++) {
    const e = iadd(ic(l * THREADS), tc.t), r = idiv(e, ic(tc.cols)), c = imod(e, ic(tc.cols));
    out.push(...zeroThenCopy(tc, r, c, tc.value(r, c), [], [{ r, c, value: (v) => v }]));
  }
  return out;
}

const VEC = 4;

/** The vector form of tileCopies along `axis`, or undefined where the operand does not allow it. */
function vectorCopies(n: LowerNode, tc: TileCopy, axis: 'rows' | 'cols'): Stmt[] | undefined {
  const along = axis === 'cols' ? tc.cols : tc.rows;
  const extent = axis === 'cols' ? tc.colExtent : tc.rowExtent;
  if (along % VEC !== 0 || extent % VEC !== 0) return undefined;
  const groups = (tc.rows * tc.cols) / VEC, per = along / VEC;
  const lane = n.fresh('lane');
  const out: Stmt[] = [];
  for (let l = 0; l * THREADS < groups; l++) {
    const e = iadd(ic(l * THREADS), tc.t);
    const a0 = imul(imod(e, ic(per)), ic(VEC)), b = idiv(e, ic(per)); // a0: the vector's first position along the axis
    const rc = (a: Index) => (axis === 'cols' ? { r: b, c: a } : { r: a, c: b });
    const probe = rc(iadd(a0, iv(lane)));
    const op = tc.value(probe.r, probe.c);
    const ld = op.value.k === 'cast' ? op.value.a : op.value;
    if (ld.k !== 'load' || (ld.lanes ?? 1) !== 1 || !['f32', 'f16'].includes(ld.dtype)) return undefined;
    const index = hoistLane(ld.index, lane, VEC), f = linearIn(index, lane);
    const bounds = (op.bounds ?? []).map((x) => ({ ...x, index: hoistLane(x.index, lane, VEC) }));
    if (!f || f.coef !== 1 || knownMultiple(f.rest) % VEC !== 0 || bounds.some((x) => mentionsVar(x.index, lane))) return undefined;
    const v = n.fresh(`${tc.to}_v`);
    const vec: Stmt = { k: 'let', name: v, value: vload(ld.buffer, f.rest, ld.dtype, VEC, true) };
    const lanes = Array.from({ length: VEC }, (_, x) => {
      const p = rc(iadd(a0, ic(x)));
      const el = laneOf(vref(v, ld.dtype, VEC), ic(x));
      return { ...p, value: (): Scalar => (op.value.k === 'cast' ? cast(el, op.value.dtype) : el) };
    });
    const first = rc(a0);
    const stmts = zeroThenCopy(tc, first.r, first.c, { value: op.value, bounds }, [vec], lanes);
    out.push(...((l + 1) * THREADS <= groups ? stmts : [{ k: 'guard', bounds: [{ index: e, extent: groups }], body: stmts } as Stmt]));
  }
  return out;
}

/**
 * Zeroes the elements `lanes` name, then, where (r, c) lies in the operand and its bounds hold, runs
 * `pre` (the vector load) and stores each lane's value over its zero.
 */
function zeroThenCopy(tc: TileCopy, r: Index, c: Index, op: GpuOperand, pre: Stmt[],
  lanes: readonly { r: Index; c: Index; value: (v: Scalar) => Scalar }[]): Stmt[] {
  const zero = lanes.map((x): Stmt => ({ k: 'store', buffer: tc.to, index: tc.at(x.r, x.c), value: lit(0, tc.dtype) }));
  const bounds: GuardBound[] = [
    { index: iadd(tc.origin[0], r), extent: tc.rowExtent }, { index: iadd(tc.origin[1], c), extent: tc.colExtent }, ...(op.bounds ?? []),
  ];
  const copy = lanes.map((x): Stmt => ({ k: 'store', buffer: tc.to, index: tc.at(x.r, x.c), value: x.value(op.value) }));
  return [...zero, { k: 'guard', bounds, body: [...pre, ...copy] }];
}
