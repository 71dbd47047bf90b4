/**
 * Tensor-core fragment layouts: for each MmaShape (kernel IR `mma`), which element of the A, B and
 * accumulator tiles a lane of the warp holds in each fragment position. These are the PTX ISA's
 * tables ("Matrix Fragments for mma.m16n8k16 with floating point type", "... mma.m16n8k8" for .tf32),
 * with g = laneid >> 2 (the group) and t = laneid % 4 (the thread in the group):
 *
 *   m16n8k16 f16/bf16   A (16×16, 8 per lane): row g (+8 for elements 2, 3, 6, 7),
 *                                              col 2t + (i & 1) (+8 for elements 4..7)
 *                       B (16×8, 4 per lane):  row 2t + (i & 1) (+8 for elements 2, 3), col g
 *   m16n8k8 tf32        A (16×8, 4 per lane):  row g (+8 for elements 1, 3), col t (+4 for elements 2, 3)
 *                       B (8×8, 2 per lane):   row t (+4 for element 1), col g
 *   accumulator (16×8, 4 f32 per lane, every shape): row g (+8 for elements 2, 3), col 2t + (i & 1)
 *
 * The GPU lowering builds fragments from these (lower/gemm-mma.ts), the host simulator executes `mma`
 * by them (gpu/simulate.ts), and the CUDA descriptor passes the fragments to the instruction in this
 * order, so the layout lives here only.
 */
import type { DType } from '../ir/dtype.ts';
import type { MmaShape } from './kir.ts';

/** A tile position. */
export interface TileCoord {
  readonly row: number;
  readonly col: number;
}

/** g·`g` + t·`t` + `c`: a fragment coordinate as a function of the lane's group g and thread t. */
export interface LaneAffine {
  readonly g: number;
  readonly t: number;
  readonly c: number;
}

/** Where fragment position i sits in its tile, affine in (g, t): what a lowering builds indices from. */
export interface FragmentPlace {
  readonly row: LaneAffine;
  readonly col: LaneAffine;
}

/** One tensor-core shape: its tiles and fragment layouts. */
export interface MmaLayout {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  /** The dtype of the A and B elements a thread passes (f32 for tf32: rounded by the instruction's operand conversion). */
  readonly operand: DType;
  /** Elements of A and of B per lane. */
  readonly aElems: number;
  readonly bElems: number;
  /** Where A (m×k), B (k×n) and accumulator (m×n) fragment position i sits, in terms of (g, t). */
  readonly aPlace: (i: number) => FragmentPlace;
  readonly bPlace: (i: number) => FragmentPlace;
  readonly cPlace: (i: number) => FragmentPlace;
  /** The same at one lane: the A, B and accumulator element a lane holds at fragment position i. */
  a(lane: number, i: number): TileCoord;
  b(lane: number, i: number): TileCoord;
  c(lane: number, i: number): TileCoord;
}

const G = (c = 0): LaneAffine => ({ g: 1, t: 0, c });
const T = (t: number, c = 0): LaneAffine => ({ g: 0, t, c });
const at = (place: (i: number) => FragmentPlace) => (lane: number, i: number): TileCoord => {
  const p = place(i), g = lane >> 2, t = lane % 4;
  return { row: p.row.g * g + p.row.t * t + p.row.c, col: p.col.g * g + p.col.t * t + p.col.c };
};

function layout(m: number, n: number, k: number, operand: DType, aElems: number, bElems: number,
  aPlace: (i: number) => FragmentPlace, bPlace: (i: number) => FragmentPlace): MmaLayout {
  // the accumulator: row g (+8 for elements 2, 3), col 2t + (i & 1)
  const cPlace = (i: number): FragmentPlace => ({ row: G(i >= 2 ? 8 : 0), col: T(2, i & 1) });
  return { m, n, k, operand, aElems, bElems, aPlace, bPlace, cPlace, a: at(aPlace), b: at(bPlace), c: at(cPlace) };
}

// m16n8k16 f16/bf16: A row g (+8 for 2, 3, 6, 7), col 2t + (i & 1) (+8 for 4..7); B row 2t + (i & 1) (+8 for 2, 3), col g
const k16 = (operand: DType): MmaLayout => layout(16, 8, 16, operand, 8, 4,
  (i) => ({ row: G((i >> 1) & 1 ? 8 : 0), col: T(2, (i & 1) + (i >= 4 ? 8 : 0)) }),
  (i) => ({ row: T(2, (i & 1) + (i >= 2 ? 8 : 0)), col: G() }));

/** Every shape's layout. */
export const MMA_LAYOUTS: Readonly<Record<MmaShape, MmaLayout>> = {
  'm16n8k16.f16': k16('f16'),
  'm16n8k16.bf16': k16('bf16'),
  // m16n8k8 tf32: A row g (+8 for 1, 3), col t (+4 for 2, 3); B row t (+4 for 1), col g
  'm16n8k8.tf32': layout(16, 8, 8, 'f32', 4, 2,
    (i) => ({ row: G(i & 1 ? 8 : 0), col: T(1, i >= 2 ? 4 : 0) }),
    (i) => ({ row: T(1, i ? 4 : 0), col: G() })),
};

/** Threads per warp, the unit an `mma` runs on. */
export const WARP = 32;
