/**
 * Reductions along one row split over LANES partial accumulators, so that a C compiler without
 * -ffast-math (which may not reassociate a float sum or a max chain) still vectorizes them: lane l
 * accumulates elements l, l + LANES, l + 2·LANES, ... of the row (the LANES independent updates of one
 * step are what SLP vectorization packs into one vector), the tail (len mod LANES elements) goes to
 * lane 0, and the lanes are combined pairwise at the end. The order of a float sum differs from one
 * sequential pass (each lane is a sequential sum of len/LANES terms: usually closer to the exact sum);
 * max/min give the same value in any order, NaN included (the combine propagates NaN).
 * Rows shorter than 2·LANES, and every row on a GPU target, use one accumulator.
 */
import type { DType } from '../../ir/dtype.ts';
import { type Combine, type Index, type Scalar, type Stmt, binary, iadd, ic, imul, iv, loop, ref } from '../kir.ts';
import type { LowerNode } from './context.ts';

/** Partial accumulators per row reduction (one AVX2 vector of f32; half an AVX-512 one). */
export const LANES = 8;

/** What one row element contributes: statements that run first at that element (a store), and the value. */
export interface RowTerm {
  readonly pre: readonly Stmt[];
  readonly value: Scalar;
}

/**
 * Statements that reduce `term(j)` over j in [0, len) with `combine` from `init` into a local, and a
 * ref to that local (the result).
 */
export function laneReduce(n: LowerNode, len: number, combine: Combine, dtype: DType, init: Scalar,
  term: (j: Index) => RowTerm): { stmts: Stmt[]; result: Scalar } {
  const one = (name: string, j: Index): Stmt[] => { const t = term(j); return [...t.pre, { k: 'accum', name, value: t.value }]; };
  // a GPU target reduces with threads, not SIMD lanes (codegen/gpu/map.ts combines one accumulator
  // across a workgroup): one accumulator
  if (len < 2 * LANES || n.target.gpu) {
    const a = n.fresh('acc'), j = n.fresh('j');
    return { stmts: [{ k: 'acc', name: a, dtype, combine, init }, loop(j, len, one(a, iv(j)))], result: ref(a, dtype) };
  }
  const accs = Array.from({ length: LANES }, () => n.fresh('lane'));
  const jb = n.fresh('jb'), jt = n.fresh('jt');
  const steps = Math.floor(len / LANES), rest = len - steps * LANES;
  const stmts: Stmt[] = [
    ...accs.map((a): Stmt => ({ k: 'acc', name: a, dtype, combine, init })),
    loop(jb, steps, accs.flatMap((a, l) => one(a, iadd(imul(iv(jb), ic(LANES)), ic(l))))),
  ];
  if (rest > 0) stmts.push(loop(jt, rest, one(accs[0], iadd(iv(jt), ic(steps * LANES)))));
  // pairwise: (a0 ∘ a1) ∘ (a2 ∘ a3) ...
  let level: Scalar[] = accs.map((a) => ref(a, dtype));
  while (level.length > 1) {
    const next: Scalar[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(binary(combine, level[i], level[i + 1]));
    level = next;
  }
  const r = n.fresh('r');
  stmts.push({ k: 'let', name: r, value: level[0] });
  return { stmts, result: ref(r, dtype) };
}
