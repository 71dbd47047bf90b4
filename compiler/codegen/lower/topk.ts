/**
 * Lowering of TopK (any axis, largest or smallest, K known at compile time) by rank counting, a naive
 * O(K · n²) kernel per row that needs no sort and no scratch: for output slot s (0 <= s < K) of a row,
 * the element placed there is the one i whose rank (the number of elements j ordered before it) is s;
 * the slot stores i as the index, then reads the value through that index (an indirect load of the
 * indices output). The order is the reference kernel's (ops/gather.ts TopK): by value (descending for
 * largest, NaN above every number), ties by the smaller index, so ranks are distinct and every slot
 * finds exactly one element. `sorted=0` returns the same sorted order (allowed by ONNX).
 */
import { dtypeInfo } from '../../ir/dtype.ts';
import { type Index, type Scalar, type Stmt, binary, cast, iv, lit, load, loop, ref, select, unary } from '../kir.ts';
import { type LowerNode, type Lowered, LowerUnsupported, constInts, flatIndex, input, loopNest, normAxis } from './context.ts';
import { checkDType } from './scalar.ts';

/** Lowers TopK(X, K) -> (values, indices). */
export function lowerTopK(n: LowerNode): Lowered {
  const x = input(n, 0), values = n.outputs[0], indices = n.outputs[1];
  checkDType(x.dtype, x.name);
  const a = n.parsed<{ axis: number; largest: boolean }>();
  const axis = normAxis(a.axis, x.shape.length);
  const k = constInts(n, 1, 'K')![0];
  const dim = x.shape[axis];
  if (!(k >= 0 && k <= dim)) throw new LowerUnsupported(`K = ${k} is out of range for an axis of size ${dim}`);
  if (values.count === 0) return { kind: 'kernel', body: [] };
  if (!indices) throw new LowerUnsupported('TopK without its indices output is not lowered (the kernel reads the value through it)');
  if (indices.dtype !== 'i64') throw new LowerUnsupported(`TopK indices of dtype ${indices.dtype}`);
  const t = x.dtype, float = dtypeInfo(t).isFloat;
  // a ranks strictly above b: a > b, or a NaN above a number
  const above = (p: Scalar, q: Scalar): Scalar => (float
    ? binary('or', binary('gt', p, q), binary('and', unary('isnan', p, 'bool'), unary('not', unary('isnan', q, 'bool'))))
    : binary('gt', p, q));
  const pos = (v: string): Scalar => ({ k: 'index', dtype: 'i64', index: iv(v) });
  const body = loopNest(n, values.shape, (o): Stmt[] => {
    const place = n.fresh('pos'), rank = n.fresh('rank'), vi = n.fresh('e'), vj = n.fresh('e');
    const at = (e: Index) => flatIndex(x.shape, o.map((q, d) => (d === axis ? e : q)));
    const xi = load(x.name, at(iv(vi)), t), xj = load(x.name, at(iv(vj)), t);
    // j comes before i: ranked above it (below it for smallest), or equal-ranked with a smaller index
    const [hi, lo] = a.largest ? [xj, xi] : [xi, xj];
    const before = binary('or', above(hi, lo), binary('and', unary('not', above(lo, hi)), binary('lt', pos(vj), pos(vi))));
    const slot: Scalar = { k: 'index', dtype: 'i64', index: o[axis] };
    const out = flatIndex(values.shape, o);
    return [
      { k: 'acc', name: place, dtype: 'i64', combine: 'add', init: lit(0, 'i64') },
      loop(vi, dim, [
        { k: 'acc', name: rank, dtype: 'i64', combine: 'add', init: lit(0, 'i64') },
        loop(vj, dim, [{ k: 'accum', name: rank, value: cast(before, 'i64') }]),
        { k: 'accum', name: place, value: select(binary('eq', ref(rank, 'i64'), slot), pos(vi), lit(0, 'i64')) },
      ]),
      { k: 'store', buffer: indices.name, index: out, value: ref(place, 'i64') },
      { k: 'store', buffer: values.name, index: out, value: load(x.name, at({ k: 'load', buffer: indices.name, index: out }), t) },
    ];
  });
  return { kind: 'kernel', body };
}
