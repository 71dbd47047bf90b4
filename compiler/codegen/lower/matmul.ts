/**
 * Lowering of MatMul, Gemm and the fused kiln.matmul / kiln.gemm (bias, epilogue, residual). On a GPU
 * target with f32 operands they run on the workgroup-tiled template (gemm-gpu.ts); on a CPU
 * target with vectors and f32 operands on the GEMM template (gemm.ts: packed panels, a
 * register-blocked micro-kernel, a constant B packed once at lowering time); otherwise as the naive
 * loop nests below, which every target runs.
 *
 * MatMul follows numpy: A [..., M, K] · B [..., K, N] with broadcast batch dims; a 1-D A is [1, K]
 * and a 1-D B is [K, 1] (those unit dims are dropped from the output, which changes no flat index).
 * Each output element is an accumulator over K; the first output loop with more than one iteration
 * is parallel. Gemm is Y = alpha·op(A)·op(B) + beta·C (op = transpose when transA/transB), C
 * broadcast to [M, N]. The epilogue (epilogue.ts: relu, clip, sigmoid, hardswish, gelu, gelu_tanh,
 * add of the residual) runs on the accumulated value before the one store.
 */
import { type Index, type Scalar, type Stmt, binary, iadd, ic, idiv, imod, imul, iv, lit, load, loop, ref } from '../kir.ts';
import { GPU_TILE_MIN_ROWS, lowerGemmGpu } from './gemm-gpu.ts';
import { type LowerNode, type Lowered, type Operand, LowerUnsupported, broadcastIndex, flatIndex, input, loopNest } from './context.ts';
import { checkDType } from './scalar.ts';
import { epilogue, hasEpilogue } from './epilogue.ts';
import { dtypeInfo } from '../../ir/dtype.ts';
import { gemmLanes, lowerGemm as lowerGemmTemplate } from './gemm.ts';
import type { GemmB, GemmSpec } from './gemm-spec.ts';

/** The f32 elements of a constant operand, or undefined when it is not an f32 constant. */
function f32Constant(x: Operand): Float32Array | undefined {
  const d = x.value?.data;
  return d instanceof Float32Array ? d : undefined;
}

/**
 * True when every operand is f32 or f16, what the GPU template takes: it computes in f32 (f16 loads
 * widened, the store rounded back: widen.ts's contract).
 */
export const gpuFloats = (xs: readonly Operand[]) => xs.every((x) => x.dtype === 'f32' || x.dtype === 'f16' || x.dtype === 'bf16');

/** The indices of flat position `x` in a row-major shape `dims`. */
export function unflattenIndex(x: Index, dims: readonly number[]): Index[] {
  const out: Index[] = [];
  let stride = 1;
  for (let d = dims.length - 1; d >= 0; d--) {
    out[d] = d === 0 ? idiv(x, ic(stride)) : imod(idiv(x, ic(stride)), ic(dims[d]));
    stride *= dims[d];
  }
  return out;
}

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
  if (n.target.gpu && gpuFloats([a, b, out, ...(bias ? [bias] : [])]) && K > 0 && M >= GPU_TILE_MIN_ROWS) {
    const batchDims = outShape.slice(0, batchRank);
    const bt = (x: Index) => unflattenIndex(x, batchDims);
    const outIndex = (x: Index, i: Index, j: Index) => flatIndex(outShape, [...bt(x), i, j]);
    return lowerGemmGpu(n, {
      M, N, K, batch: batch, dtype: 'f32', outDtype: out.dtype, out: out.name, outIndex,
      a: (x, i, k) => ({ value: load(a.name, broadcastIndex(aShape, [...batchDims, M, K], [...bt(x), i, k]), a.dtype) }),
      b: (x, k, j) => ({ value: load(b.name, broadcastIndex(bShape, [...batchDims, K, N], [...bt(x), k, j]), b.dtype) }),
      finish: (x, i, j, acc) => epilogue(n, bias ? binary('add', acc, load(bias.name, bias.count === 1 ? ic(0) : broadcastIndex(bias.shape, outShape, [...bt(x), i, j]), bias.dtype)) : acc, outIndex(x, i, j)),
    });
  }
  const L = gemmLanes(n, out.dtype);
  if (L && a.dtype === 'f32' && b.dtype === 'f32' && (!bias || bias.dtype === 'f32') && K > 0) {
    return lowerGemmTemplate(n, matMulSpec(n, { a, b, out, bias, aShape, bShape, outShape, M, N, K, batchRank }), L);
  }
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

/** A runtime B operand packed by rows of k (parallel over k, j contiguous). */
function runtimeB(n: LowerNode, what: string, K: number, N: number, b: Operand, at: (bt: readonly Index[], k: Index, j: Index) => Index): GemmB {
  return {
    kind: 'runtime', what, outer: K, rows: 1,
    pack: (bt, k, w) => w.columns((col) => [w.writeColumn(k, col, load(b.name, at(bt, k, col.j), b.dtype))]),
  };
}

/** The template's view of a MatMul (see lowerMatMul for the shapes). */
function matMulSpec(n: LowerNode, s: {
  a: Operand; b: Operand; out: Operand; bias?: Operand; aShape: readonly number[]; bShape: readonly number[];
  outShape: readonly number[]; M: number; N: number; K: number; batchRank: number;
}): GemmSpec {
  const { a, b, out, bias, aShape, bShape, outShape, M, N, K, batchRank } = s;
  const batchDims = outShape.slice(0, batchRank);
  const batchCount = batchDims.reduce((x, y) => x * y, 1);
  const bData = f32Constant(b);
  // an unbatched B (and a bias along N only) folds the batch of A into its rows: one [batch·M, N] product
  const flat = bShape.length === 2 && aShape.slice(0, -2).reduce((x, y) => x * y, 1) === batchCount
    && (!bias || bias.count === 1 || (bias.count === N && bias.shape[bias.shape.length - 1] === N));
  const rows = flat ? batchCount * M : M;
  const bSpec: GemmB = bData && bShape.length === 2
    ? { kind: 'constant', from: 1, at: (k, j) => bData[k * N + j], what: 'B panels' }
    : runtimeB(n, 'B panels', K, N, b, (bt, k, j) => broadcastIndex(bShape, [...batchDims, K, N], [...bt, k, j]));
  const outIndex = (bt: readonly Index[], i: Index, j: Index) => (flat ? iadd(imul(i, ic(N)), j) : flatIndex(outShape, [...bt, i, j]));
  const ep = hasEpilogue(n);
  return {
    M: rows, N, K, dtype: out.dtype, batch: flat ? [] : batchDims, out: out.name, outIndex, b: bSpec,
    a: (bt, i, k) => load(a.name, flat ? iadd(imul(i, ic(K)), k) : broadcastIndex(aShape, [...batchDims, M, K], [...bt, i, k]), a.dtype),
    ...(bias || ep ? {
      finish: (bt: readonly Index[], i: Index, j: Index, acc: Scalar) => {
        let v = acc;
        if (bias) {
          const bi = bias.count === 1 ? ic(0) : flat ? j : broadcastIndex(bias.shape, outShape, [...bt, i, j]);
          v = binary('add', v, load(bias.name, bi, bias.dtype));
        }
        return epilogue(n, v, outIndex(bt, i, j));
      },
    } : {}),
  };
}

/** Lowers Gemm and kiln.gemm. */
export function lowerGemm(n: LowerNode): Lowered {
  const a = input(n, 0), b = input(n, 1), c = n.inputs[2], out = n.outputs[0];
  floatOnly([a, b, out, ...(c ? [c] : [])]);
  const { alpha, beta, transA, transB } = { alpha: n.attrs.float('alpha', 1), beta: n.attrs.float('beta', 1), transA: n.attrs.int('transA', 0) !== 0, transB: n.attrs.int('transB', 0) !== 0 };
  n.parsed();
  const [M, N] = out.shape;
  const K = transA ? a.shape[0] : a.shape[1];
  if (n.target.gpu && gpuFloats([a, b, out, ...(c ? [c] : [])]) && K > 0 && M >= GPU_TILE_MIN_ROWS) {
    const outIndex = (_: Index, i: Index, j: Index) => flatIndex([M, N], [i, j]);
    return lowerGemmGpu(n, {
      M, N, K, batch: 1, dtype: 'f32', outDtype: out.dtype, out: out.name, outIndex,
      a: (_, i, k) => ({ value: load(a.name, transA ? flatIndex(a.shape, [k, i]) : flatIndex(a.shape, [i, k]), a.dtype) }),
      b: (_, k, j) => ({ value: load(b.name, transB ? flatIndex(b.shape, [j, k]) : flatIndex(b.shape, [k, j]), b.dtype) }),
      finish: (_, i, j, acc) => {
        let v = acc;
        if (alpha !== 1) v = binary('mul', lit(alpha, out.dtype), v);
        if (c && beta !== 0) {
          const cv = load(c.name, c.count === 1 ? ic(0) : broadcastIndex(c.shape, [M, N], [i, j]), c.dtype);
          v = binary('add', v, beta === 1 ? cv : binary('mul', lit(beta, out.dtype), cv));
        }
        return epilogue(n, v, outIndex(ic(0), i, j));
      },
    });
  }
  const L = gemmLanes(n, out.dtype);
  if (L && a.dtype === 'f32' && b.dtype === 'f32' && (!c || c.dtype === 'f32') && K > 0) {
    const bData = f32Constant(b);
    const bAt = (k: Index, j: Index) => (transB ? flatIndex(b.shape, [j, k]) : flatIndex(b.shape, [k, j]));
    const ep = hasEpilogue(n);
    const outIndex = (_: readonly Index[], i: Index, j: Index) => flatIndex([M, N], [i, j]);
    const spec: GemmSpec = {
      M, N, K, dtype: out.dtype, batch: [], out: out.name, outIndex,
      a: (_, i, k) => load(a.name, transA ? flatIndex(a.shape, [k, i]) : flatIndex(a.shape, [i, k]), a.dtype),
      b: bData
        ? { kind: 'constant', from: 1, what: transB ? 'B^T panels' : 'B panels', at: (k, j) => bData[transB ? j * K + k : k * N + j] }
        : runtimeB(n, transB ? 'B^T panels' : 'B panels', K, N, b, (_, k, j) => bAt(k, j)),
      ...(alpha !== 1 || (c && beta !== 0) || ep ? {
        finish: (_: readonly Index[], i: Index, j: Index, acc: Scalar) => {
          let v = acc;
          if (alpha !== 1) v = binary('mul', lit(alpha, out.dtype), v);
          if (c && beta !== 0) {
            const cv = load(c.name, c.count === 1 ? ic(0) : broadcastIndex(c.shape, [M, N], [i, j]), c.dtype);
            v = binary('add', v, beta === 1 ? cv : binary('mul', lit(beta, out.dtype), cv));
          }
          return epilogue(n, v, outIndex([], i, j));
        },
      } : {}),
    };
    return lowerGemmTemplate(n, spec, L);
  }
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
