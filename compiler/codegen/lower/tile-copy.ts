/**
 * Copies of one operand tile from global memory into workgroup (shared) memory, and the launch
 * around a tiled kernel (tiledKernel), for the GPU GEMM templates (gemm-gpu.ts's SIMT tiles, gemm-mma.ts's tensor-core tiles). Each thread copies VEC = 4
 * consecutive elements with one aligned vector load where the operand allows it (along the tile's
 * columns, else its rows: the element is a load whose index runs with that coordinate at stride 1
 * from a multiple of 4, its extent is a multiple of 4 and no other bound depends on it: a row-major
 * matrix with K % 4 = 0, a channels-last input with C % 4 = 0), else one element per copy (element
 * e = l·threads + t: consecutive threads, consecutive columns). An element outside the operand (the
 * last tile of M, N or K; a convolution's padding) is stored as 0: each copy stores 0, then the value
 * under a guard, so no load leaves its operand and no branch surrounds a barrier. With `async` (the
 * tensor-core template on sm_80+), a vector copy whose lanes land on 4 consecutive, aligned elements
 * of the tile is one asynchronous copy (kernel IR copy_async, zero-filled outside the operand)
 * instead of a load into registers and four stores.
 */
import type { DType } from '../../ir/dtype.ts';
import { type BufferDecl, type GuardBound, type Index, type Scalar, type Stmt, cast, iadd, ic, idiv, imod, imul, iv, knownMultiple, lane as laneOf, lit, loop, vload, vref } from '../kir.ts';
import { hoistLane, linearIn, mentionsVar } from '../gpu/rewrite.ts';
import type { LowerNode, Lowered } from './context.ts';

/** An operand element and the conditions (besides the matrix bounds) under which it is not 0. */
export interface GpuOperand {
  readonly value: Scalar;
  readonly bounds?: readonly GuardBound[];
}

/** One operand's tile of a K step: rows × cols elements at tile position (r, c) → workgroup memory. */
export interface TileCopy {
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
  /** The thread index, and the workgroup's thread count (rows · cols is a multiple of it). */
  readonly t: Index;
  readonly threads: number;
  /**
   * Copy with asynchronous copies where they fit (kernel IR copy_async: a vector of the operand moved
   * as it is, to 4 consecutive, aligned destination elements); the caller commits and waits.
   */
  readonly async?: boolean;
}

/**
 * Copy l's element e = l·threads + t as (e / width, e mod width); where width divides the thread
 * count that is (l·threads/width + t / width, t mod width), which keeps the constant out of the
 * division (fewer registers and instructions per copy).
 */
function split(l: number, threads: number, t: Index, width: number): [Index, Index] {
  if (threads % width === 0) return [iadd(ic((l * threads) / width), idiv(t, ic(width))), imod(t, ic(width))];
  const e = iadd(ic(l * threads), t);
  return [idiv(e, ic(width)), imod(e, ic(width))];
}

/** The statements of one tile copy (module header). */
export function tileCopies(n: LowerNode, tc: TileCopy): Stmt[] {
  return vectorCopies(n, tc, 'cols') ?? vectorCopies(n, tc, 'rows') ?? scalarCopies(tc);
}

function scalarCopies(tc: TileCopy): Stmt[] {
  const out: Stmt[] = [];
  for (let l = 0; l < (tc.rows * tc.cols) / tc.threads; l++) {
    const [r, c] = split(l, tc.threads, tc.t, tc.cols);
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
  for (let l = 0; l * tc.threads < groups; l++) {
    const e = iadd(ic(l * tc.threads), tc.t);
    const [b, at] = split(l, tc.threads, tc.t, per);
    const a0 = imul(at, ic(VEC)); // the vector's first position along the axis
    const rc = (a: Index) => (axis === 'cols' ? { r: b, c: a } : { r: a, c: b });
    const probe = rc(iadd(a0, iv(lane)));
    const op = tc.value(probe.r, probe.c);
    const ld = op.value.k === 'cast' ? op.value.a : op.value;
    if (ld.k !== 'load' || (ld.lanes ?? 1) !== 1 || !['f32', 'f16', 'bf16'].includes(ld.dtype)) return undefined;
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
    const dst = tc.async && op.value.k === 'load' && op.value.dtype === tc.dtype ? linearIn(tc.at(probe.r, probe.c), lane) : undefined;
    const stmts = dst && dst.coef === 1 && knownMultiple(dst.rest) % VEC === 0
      ? [{
        k: 'copy_async', dtype: tc.dtype, to: tc.to, toIndex: dst.rest, from: ld.buffer, fromIndex: f.rest, lanes: VEC,
        bounds: [{ index: iadd(tc.origin[0], first.r), extent: tc.rowExtent }, { index: iadd(tc.origin[1], first.c), extent: tc.colExtent }, ...bounds],
      } as Stmt]
      : zeroThenCopy(tc, first.r, first.c, { value: op.value, bounds }, [vec], lanes);
    out.push(...((l + 1) * tc.threads <= groups ? stmts : [{ k: 'guard', bounds: [{ index: e, extent: groups }], body: stmts } as Stmt]));
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

/** The loop variables and sizes of a tiled GEMM launch (gemm-gpu.ts, gemm-mma.ts). */
export interface TiledLaunch {
  /** Grid x (column tiles), y (row tiles), z (batch) and thread variables. */
  readonly gx: string;
  readonly gy: string;
  readonly gz: string;
  readonly t: string;
  readonly M: number;
  readonly N: number;
  readonly TM: number;
  readonly TN: number;
  readonly batch: number;
  readonly threads: number;
}

/**
 * A tiled GEMM kernel: `perThread` under the block loop of `threads` and the grid loops over
 * [⌈N/TN⌉, ⌈M/TM⌉, batch] (no z loop for one product), with its launch and shared buffers.
 */
export function tiledKernel(l: TiledLaunch, perThread: Stmt[], shared: BufferDecl[]): Lowered {
  const grid: [number, number, number] = [Math.ceil(l.N / l.TN), Math.ceil(l.M / l.TM), l.batch];
  let body: Stmt[] = [loop(l.t, l.threads, perThread, [{ kind: 'block', axis: 0 }])];
  body = [loop(l.gx, grid[0], body, [{ kind: 'grid', axis: 0 }])];
  body = [loop(l.gy, grid[1], body, [{ kind: 'grid', axis: 1 }])];
  if (l.batch > 1) body = [loop(l.gz, grid[2], body, [{ kind: 'grid', axis: 2 }])];
  return { kind: 'kernel', body, launch: { grid, block: [l.threads, 1, 1] }, shared };
}
