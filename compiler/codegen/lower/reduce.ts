/**
 * Lowering of reductions (ReduceSum/Mean/Max/Min/Prod/SumSquare/L1/L2/LogSum over any axes), of
 * ArgMax/ArgMin (Softmax/LogSoftmax: softmax.ts).
 *
 * A reduction is a loop nest with the kept axes outside (the first of them parallel) and the reduced
 * axes inside: an accumulator is declared per output element, updated by the reduced loops (each
 * element is first mapped: squared, abs), then finished (mean divides, L2 takes the square root,
 * LogSum the log) and stored once.
 */
import type { DType } from '../../ir/dtype.ts';
import { dtypeInfo } from '../../ir/dtype.ts';
import { type Combine, type Index, type Scalar, type Stmt, binary, cast, iv, lit, load, loop, ref, select, unary } from '../kir.ts';
import { type LowerNode, type Lowered, type Operand, LowerUnsupported, constInts, flatIndex, input, loopNest, normAxis } from './context.ts';
import { checkDType } from './scalar.ts';

/** How one reduction op maps, combines and finishes. */
export interface ReduceKind {
  readonly combine: Combine;
  readonly map?: (x: Scalar) => Scalar;
  readonly finish?: (acc: Scalar, count: number) => Scalar;
}

const KINDS: Readonly<Record<string, ReduceKind>> = {
  ReduceSum: { combine: 'add' },
  ReduceMean: { combine: 'add', finish: (a, c) => binary('div', a, lit(c, a.dtype)) },
  ReduceMax: { combine: 'max' },
  ReduceMin: { combine: 'min' },
  ReduceProd: { combine: 'mul' },
  ReduceSumSquare: { combine: 'add', map: (x) => binary('mul', x, x) },
  ReduceL1: { combine: 'add', map: (x) => unary('abs', x) },
  ReduceL2: { combine: 'add', map: (x) => binary('mul', x, x), finish: (a) => unary('sqrt', a) },
  ReduceLogSum: { combine: 'add', finish: (a) => unary('log', a) },
};

/** The kind of a reduction op (LowerUnsupported for one not lowered, e.g. ReduceLogSumExp). */
export function reduceKind(op: string): ReduceKind {
  const k = KINDS[op];
  if (!k) throw new LowerUnsupported(`${op} is not lowered`);
  return k;
}

/** Sorted, normalised reduced axes; null for the identity (noop_with_empty_axes with no axes). */
export function resolveReduceAxes(axes: readonly number[] | undefined, rank: number, noopWithEmpty: boolean): number[] | null {
  if (!axes || axes.length === 0) return noopWithEmpty ? null : [...Array(rank).keys()];
  return [...new Set(axes.map((a) => normAxis(a, rank)))].sort((a, b) => a - b);
}

/** The initial value of an accumulator. */
function initOf(combine: Combine, dtype: DType): Scalar {
  const info = dtypeInfo(dtype);
  if (combine === 'add') return lit(0, dtype);
  if (combine === 'mul') return lit(1, dtype);
  if (info.isFloat) return lit(combine === 'max' ? -Infinity : Infinity, dtype);
  const bits = info.bits;
  const lo = info.signed ? -(2 ** (bits - 1)) : 0, hi = info.signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  if (bits > 32) throw new LowerUnsupported(`max/min reductions over ${dtype} are not lowered`);
  return lit(combine === 'max' ? lo : hi, dtype);
}

/**
 * The loop nest of a reduction of a value over `inShape` along `axes` into `out` (whose flat index is
 * the kept positions in order). `at(idx)` gives the statements to run at a full position and the value
 * to accumulate there.
 */
export function reduceNest(n: LowerNode, inShape: readonly number[], axes: readonly number[], out: Operand, kind: ReduceKind,
  at: (idx: Index[]) => { pre: Stmt[]; value: Scalar }): Stmt[] {
  const kept = inShape.map((_, d) => d).filter((d) => !axes.includes(d));
  const keptShape = kept.map((d) => inShape[d]);
  const count = axes.reduce((a, d) => a * inShape[d], 1);
  if (keptShape.includes(0)) return []; // an empty output: nothing to store
  return loopNest(n, keptShape, (keptIdx) => {
    const acc = n.fresh('acc');
    const vars = axes.map(() => n.fresh('r'));
    const idx: Index[] = inShape.map((_, d) => (axes.includes(d) ? iv(vars[axes.indexOf(d)]) : keptIdx[kept.indexOf(d)]));
    const { pre, value } = at(idx);
    const dtype = out.dtype;
    const mapped = kind.map ? kind.map(cast(value, dtype)) : cast(value, dtype);
    let inner: Stmt[] = [...pre, { k: 'accum', name: acc, value: mapped }];
    for (let i = axes.length - 1; i >= 0; i--) inner = [loop(vars[i], inShape[axes[i]], inner)];
    const result = kind.finish ? kind.finish(ref(acc, dtype), count) : ref(acc, dtype);
    return [
      { k: 'acc', name: acc, dtype, combine: kind.combine, init: initOf(kind.combine, dtype) },
      ...inner,
      { k: 'store', buffer: out.name, index: flatIndex(keptShape, keptIdx), value: result },
    ];
  });
}

/** Lowers ReduceX(data, axes?). */
export function lowerReduce(n: LowerNode): Lowered {
  const x = input(n, 0), out = n.outputs[0];
  checkDType(x.dtype, x.name);
  const kind = reduceKind(n.node.op);
  const axes = constInts(n, 1, 'axes') ?? n.attrs.maybeInts('axes');
  n.parsed();
  const resolved = resolveReduceAxes(axes, x.shape.length, n.attrs.int('noop_with_empty_axes', 0) !== 0);
  if (!resolved) {
    return { kind: 'kernel', body: loopNest(n, [x.count], (idx) => [{ k: 'store', buffer: out.name, index: idx[0], value: load(x.name, idx[0], x.dtype) }]) };
  }
  return { kind: 'kernel', body: reduceNest(n, x.shape, resolved, out, kind, (idx) => ({ pre: [], value: load(x.name, flatIndex(x.shape, idx), x.dtype) })) };
}

/**
 * Lowers ArgMax / ArgMin along one axis: per output element, a pass for the extreme value, then a pass
 * for the first (or, with select_last_index, the last) position holding it.
 */
export function lowerArgReduce(n: LowerNode): Lowered {
  const x = input(n, 0), out = n.outputs[0];
  checkDType(x.dtype, x.name);
  const a = n.parsed<{ axis: number; keepdims: boolean; selectLast: boolean }>();
  const axis = normAxis(a.axis, x.shape.length);
  const len = x.shape[axis];
  const t = x.dtype;
  const extreme: Combine = n.node.op === 'ArgMax' ? 'max' : 'min';
  const kept = x.shape.map((d, i) => (i === axis ? 1 : d));
  const hit = (v: Scalar, best: Scalar) => (dtypeInfo(t).isFloat ? binary('or', binary('eq', v, best), unary('isnan', v, 'bool')) : binary('eq', v, best));
  const body = loopNest(n, kept, (idx) => {
    const m = n.fresh('best'), p = n.fresh('pos');
    const j0 = n.fresh('j'), j1 = n.fresh('j');
    const xv = (v: string) => load(x.name, flatIndex(x.shape, idx.map((q, d) => (d === axis ? iv(v) : q))), t);
    const pos = (v: string): Scalar => ({ k: 'index', dtype: 'i64', index: iv(v) });
    const miss = lit(a.selectLast ? -1 : len, 'i64');
    return [
      { k: 'acc', name: m, dtype: t, combine: extreme, init: initOf(extreme, t) },
      loop(j0, len, [{ k: 'accum', name: m, value: xv(j0) }]),
      { k: 'acc', name: p, dtype: 'i64', combine: a.selectLast ? 'max' : 'min', init: miss },
      // max/min propagate NaN: a NaN extreme is found at the NaN elements (the reference ranks NaN first)
      loop(j1, len, [{ k: 'accum', name: p, value: select(hit(xv(j1), ref(m, t)), pos(j1), miss) }]),
      { k: 'store', buffer: out.name, index: flatIndex(kept, idx), value: cast(ref(p, 'i64'), out.dtype) },
    ];
  });
  return { kind: 'kernel', body };
}
