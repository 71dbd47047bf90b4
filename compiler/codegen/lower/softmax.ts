/**
 * Softmax / LogSoftmax over one axis (opset 13), parallel over rows. Per row, three passes:
 *   1. the row maximum m (lanes.ts: LANES partial maxima, so it vectorizes);
 *   2. Softmax: e_j = exp(x_j − m) stored into the output and summed (LANES partial sums), so exp
 *      runs once per element; LogSoftmax: the sum of exp(x_j − m) only;
 *   3. Softmax: out_j = e_j / sum, read back from the output (vectorized); LogSoftmax:
 *      out_j = x_j − m − log(sum) (vectorized).
 * A row along a non-last axis is strided; the passes are the same.
 */
import { dtypeInfo } from '../../ir/dtype.ts';
import { type Annotation, type Index, binary, iv, lit, load, loop, ref, unary } from '../kir.ts';
import { type LowerNode, type Lowered, LowerUnsupported, flatIndex, input, loopNest, normAxis } from './context.ts';
import { checkDType } from './scalar.ts';
import { laneReduce } from './lanes.ts';

/** Lowers Softmax / LogSoftmax. */
export function lowerSoftmax(n: LowerNode): Lowered {
  const x = input(n, 0), out = n.outputs[0];
  checkDType(x.dtype, x.name);
  if (!dtypeInfo(x.dtype).isFloat || x.dtype !== out.dtype) throw new LowerUnsupported(`${n.node.op} on ${x.dtype}`);
  const axis = normAxis(n.parsed<{ axis: number }>().axis, x.shape.length);
  const rows = x.shape.map((d, i) => (i === axis ? 1 : d));
  const len = x.shape[axis];
  const t = x.dtype;
  const log = n.node.op === 'LogSoftmax';
  const body = loopNest(n, rows, (rowIdx) => {
    const at = (j: Index) => flatIndex(x.shape, rowIdx.map((r, d) => (d === axis ? j : r)));
    const xv = (j: Index) => load(x.name, at(j), t);
    const max = laneReduce(n, len, 'max', t, lit(-Infinity, t), (j) => ({ pre: [], value: xv(j) }));
    const e = (j: Index) => unary('exp', binary('sub', xv(j), max.result));
    const sum = laneReduce(n, len, 'add', t, lit(0, t), (j) => {
      if (log) return { pre: [], value: e(j) };
      const name = n.fresh('e');
      return { pre: [{ k: 'let', name, value: e(j) }, { k: 'store', buffer: out.name, index: at(j), value: ref(name, t) }], value: ref(name, t) };
    });
    const j = n.fresh('j');
    const vec: Annotation[] = len >= 8 ? [{ kind: 'vectorize', width: 8, tail: len % 8 !== 0 }] : [];
    const value = log
      ? binary('sub', binary('sub', xv(iv(j)), max.result), unary('log', sum.result))
      : binary('div', load(out.name, at(iv(j)), t), sum.result);
    return [...max.stmts, ...sum.stmts, loop(j, len, [{ k: 'store', buffer: out.name, index: at(iv(j)), value }], vec)];
  });
  return { kind: 'kernel', body };
}
