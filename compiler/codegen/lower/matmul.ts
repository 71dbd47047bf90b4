/**
 * Lowering of MatMul, Gemm and the fused kiln.matmul / kiln.gemm (bias, epilogue, residual): naive
 * loop nests (the tiled, packed, register-blocked templates are issue 10 part B).
 *
 * MatMul follows numpy: A [..., M, K] · B [..., K, N] with broadcast batch dims; a 1-D A is [1, K]
 * and a 1-D B is [K, 1] (those unit dims are dropped from the output, which changes no flat index).
 * Each output element is an accumulator over K; the first output loop with more than one iteration
 * is parallel. Gemm is Y = alpha·op(A)·op(B) + beta·C (op = transpose when transA/transB), C
 * broadcast to [M, N]. The epilogue (epilogue.ts: relu, clip, sigmoid, hardswish, gelu, gelu_tanh,
 * add of the residual) runs on the accumulated value before the one store.
 */
import { type Scalar, type Stmt, binary, ic, iv, lit, load, loop, ref } from '../kir.ts';
import { type LowerNode, type Lowered, type Operand, LowerUnsupported, broadcastIndex, flatIndex, input, loopNest } from './context.ts';
import { checkDType } from './scalar.ts';
import { epilogue } from './epilogue.ts';
import { dtypeInfo } from '../../ir/dtype.ts';

/** Checks every operand is a float dtype kernels compute on. */
export const floatOnly = (xs: readonly Operand[]) => {
  for (const x of xs) {
    checkDType(x.dtype, x.name);
    if (!dtypeInfo(x.dtype).isFloat) throw new LowerUnsupported(`${x.name} is ${x.dtype}; matrix products are lowered for floats only`);
  }
};

/** Lowers MatMul and kiln.matmul. */
export function lowerMatMul(n: LowerNode): Lowered {
  const a = input(n, 0), b = input(n, 1), out = n.outputs[0];
  floatOnly([a, b, out]);
  n.parsed();
  const aShape = a.shape.length === 1 ? [1, a.shape[0]] : a.shape;
  const bShape = b.shape.length === 1 ? [b.shape[0], 1] : b.shape;
  const M = aShape[aShape.length - 2], K = aShape[aShape.length - 1], N = bShape[bShape.length - 1];
  const batchRank = Math.max(aShape.length, bShape.length) - 2;
  const batch = out.count / (M * N);
  const outShape = [...out.shape.slice(0, batchRank), M, N];
  if (outShape.reduce((x, y) => x * y, 1) !== out.count || batchRank < 0 || !Number.isInteger(batch)) {
    throw new LowerUnsupported(`MatMul output [${out.shape.join(',')}] does not match [.., ${M}, ${N}]`);
  }
  const bias = n.node.op === 'kiln.matmul' ? n.inputs[2] : undefined;
  const body = loopNest(n, outShape, (idx) => {
    const acc = n.fresh('acc'), kv = n.fresh('k');
    const bi = idx.slice(0, batchRank), i = idx[batchRank], j = idx[batchRank + 1];
    const aIdx = broadcastIndex(aShape, [...outShape.slice(0, batchRank), M, K], [...bi, i, iv(kv)]);
    const bIdx = broadcastIndex(bShape, [...outShape.slice(0, batchRank), K, N], [...bi, iv(kv), j]);
    const o = flatIndex(outShape, idx);
    let v: Scalar = ref(acc, out.dtype);
    if (bias) v = binary('add', v, bias.count === 1 ? load(bias.name, ic(0), bias.dtype) : load(bias.name, broadcastIndex(bias.shape, outShape, idx), bias.dtype));
    const ep = epilogue(n, v, o);
    return [
      { k: 'acc', name: acc, dtype: out.dtype, combine: 'add', init: lit(0, out.dtype) },
      loop(kv, K, [{ k: 'accum', name: acc, value: binary('mul', load(a.name, aIdx, a.dtype), load(b.name, bIdx, b.dtype)) }]),
      ...ep.lets,
      { k: 'store', buffer: out.name, index: o, value: ep.value },
    ] as Stmt[];
  });
  return { kind: 'kernel', body };
}

/** Lowers Gemm and kiln.gemm. */
export function lowerGemm(n: LowerNode): Lowered {
  const a = input(n, 0), b = input(n, 1), c = n.inputs[2], out = n.outputs[0];
  floatOnly([a, b, out, ...(c ? [c] : [])]);
  const { alpha, beta, transA, transB } = { alpha: n.attrs.float('alpha', 1), beta: n.attrs.float('beta', 1), transA: n.attrs.int('transA', 0) !== 0, transB: n.attrs.int('transB', 0) !== 0 };
  n.parsed();
  const [M, N] = out.shape;
  const K = transA ? a.shape[0] : a.shape[1];
  const body = loopNest(n, [M, N], ([i, j]) => {
    const acc = n.fresh('acc'), kv = iv(n.fresh('k'));
    const aIdx = transA ? flatIndex(a.shape, [kv, i]) : flatIndex(a.shape, [i, kv]);
    const bIdx = transB ? flatIndex(b.shape, [j, kv]) : flatIndex(b.shape, [kv, j]);
    const o = flatIndex([M, N], [i, j]);
    let v: Scalar = ref(acc, out.dtype);
    if (alpha !== 1) v = binary('mul', lit(alpha, out.dtype), v);
    if (c && beta !== 0) {
      const cv = load(c.name, c.count === 1 ? ic(0) : broadcastIndex(c.shape, [M, N], [i, j]), c.dtype);
      v = binary('add', v, beta === 1 ? cv : binary('mul', lit(beta, out.dtype), cv));
    }
    const ep = epilogue(n, v, o);
    return [
      { k: 'acc', name: acc, dtype: out.dtype, combine: 'add', init: lit(0, out.dtype) },
      loop(kv.k === 'var' ? kv.name : '', K, [{ k: 'accum', name: acc, value: binary('mul', load(a.name, aIdx, a.dtype), load(b.name, bIdx, b.dtype)) }]),
      ...ep.lets,
      { k: 'store', buffer: out.name, index: o, value: ep.value },
    ] as Stmt[];
  });
  return { kind: 'kernel', body };
}
