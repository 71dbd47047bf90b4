/**
 * Op family 'matmul': MatMul (numpy semantics: batched, broadcast batch dims, 1-D operands promoted
 * and their unit axis removed) and Gemm (transA/transB, alpha, beta, optional C broadcast to [M, N]).
 * Einsum lives in einsum.ts.
 *
 * Algorithm: float types run on the shared GEMM core (gemm-core.ts): sgemm for f32/f16/bf16 (f16/bf16
 * decoded to f32 once), dgemm for f64. Transposes are strided views, never copies. When B has no batch
 * dims (or all ones) and A's batch equals the output batch — the common "activations × weights" case —
 * A's batch is folded into M and the whole product is one GEMM. Otherwise each output batch item is one
 * GEMM with operand offsets from a broadcast index map. Integer MatMul/Gemm (i32/u32/i64/u64) use an
 * exact i-k-j loop that wraps like two's-complement C (Math.imul for 32-bit, BigInt.asIntN for 64-bit).
 */
import type { DType } from '../ir/dtype.ts';
import type { Dim } from '../ir/graph.ts';
import { Tensor } from '../ir/tensor.ts';
import type { FlopsRule, OpDef } from './registry.ts';
import { elems, matmulFlops, plus, times } from './flops.ts';
import { FLOAT_TYPES, broadcastDims, broadcastOffsets, expectDType, required, sameDType } from './support.ts';
import { allocFloat, floatData, floatTensor } from './float-io.ts';
import { type MatView, dense, dgemm, sgemm } from './gemm-core.ts';

/** Dtypes MatMul and Gemm accept. */
export const MATMUL_TYPES: readonly DType[] = [...FLOAT_TYPES, 'i32', 'u32', 'i64', 'u64'];

/** The shape rule of MatMul (exported for fusion passes). */
export function matmulShape(a: readonly Dim[], b: readonly Dim[]): Dim[] {
  if (a.length === 0 || b.length === 0) throw new Error('MatMul: operands must have rank >= 1 (got a scalar)');
  const a2 = a.length === 1 ? [1, a[0]] : a;
  const b2 = b.length === 1 ? [b[0], 1] : b;
  const ka = a2[a2.length - 1], kb = b2[b2.length - 2];
  if (typeof ka === 'number' && typeof kb === 'number' && ka !== kb) {
    throw new Error(`MatMul: inner dims differ: A [${a.join(',')}] has K=${ka}, B [${b.join(',')}] has K=${kb}`);
  }
  const batch = broadcastDims(a2.slice(0, -2), b2.slice(0, -2));
  const out = [...batch];
  if (a.length > 1) out.push(a2[a2.length - 2]);
  if (b.length > 1) out.push(b2[b2.length - 1]);
  return out;
}

const MatMul: OpDef<null> = {
  name: 'MatMul',
  inputs: [2, 2],
  flops: matmulFlops,
  outputs: [1, 1],
  parseAttrs: () => null,
  inferTypes(inputs) {
    const a = required(inputs, 0, 'A'), b = required(inputs, 1, 'B');
    const dtype = sameDType([a, b]);
    expectDType(dtype, MATMUL_TYPES, 'A');
    return [{ dtype, shape: matmulShape(a.shape, b.shape) }];
  },
  run(inputs) {
    return [matmul(inputs[0]!, inputs[1]!)];
  },
};

/** Runs MatMul on concrete tensors. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  const outShape = matmulShape(a.shape, b.shape) as number[];
  const a2 = a.shape.length === 1 ? [1, a.shape[0]] : a.shape;
  const b2 = b.shape.length === 1 ? [b.shape[0], 1] : b.shape;
  const M = a2[a2.length - 2], K = a2[a2.length - 1], N = b2[b2.length - 1];
  const aBatch = a2.slice(0, -2), bBatch = b2.slice(0, -2);
  const batch = broadcastDims(aBatch, bBatch) as number[];
  let batchSize = 1;
  for (const d of batch) batchSize *= d;
  const size = batchSize * M * N;
  const bFlat = bBatch.every((d) => d === 1);
  const aMatchesOut = aBatch.length === batch.length && aBatch.every((d, i) => d === batch[i]);
  // fold A's batch into M when B is one matrix shared by every batch item
  const fold = bFlat && aMatchesOut;
  const aOffsets = fold ? null : broadcastOffsets(batch, aBatch);
  const bOffsets = fold ? null : broadcastOffsets(batch, bBatch);
  const plan: GemmPlan = { batch: fold ? 1 : batchSize, M: fold ? batchSize * M : M, N, K, aOffsets, bOffsets };
  if (FLOAT_TYPES.includes(a.dtype)) {
    const as = floatData(a), bs = floatData(b);
    const y = allocFloat(a.dtype, size);
    for (let i = 0; i < plan.batch; i++) {
      const ao = (aOffsets ? aOffsets[i] : i) * M * K, bo = (bOffsets ? bOffsets[i] : i) * K * N;
      if (y instanceof Float64Array) {
        dgemm(plan.M, N, K, 1, dense(as as Float64Array, ao, K), dense(bs as Float64Array, bo, N), y, i * M * N, N, false);
      } else {
        sgemm(plan.M, N, K, 1, dense(as as Float32Array, ao, K), dense(bs as Float32Array, bo, N), y, i * M * N, N, false);
      }
    }
    return floatTensor(a.dtype, outShape, y);
  }
  const y = Tensor.zeros(a.dtype, outShape);
  for (let i = 0; i < plan.batch; i++) {
    const ao = (aOffsets ? aOffsets[i] : i) * M * K, bo = (bOffsets ? bOffsets[i] : i) * K * N;
    intGemm(plan.M, N, K, a, { offset: ao, rowStride: K, colStride: 1 }, b, { offset: bo, rowStride: N, colStride: 1 }, y, i * M * N);
  }
  return y;
}

interface GemmPlan {
  batch: number; M: number; N: number; K: number;
  aOffsets: Int32Array | null; bOffsets: Int32Array | null;
}

/** A strided view without its data (for integer operands). */
type Strides = Omit<MatView, 'data'>;

/**
 * Exact integer GEMM: y[yOff + i·N + j] = Σ_k A(i,k)·B(k,j), wrapping at the dtype's width
 * (i32/u32 through Math.imul, i64/u64 in BigInt). Other integer dtypes go through f64.
 */
export function intGemm(M: number, N: number, K: number, a: Tensor, av: Strides, b: Tensor, bv: Strides, y: Tensor, yOff: number): void {
  const dtype = a.dtype;
  if (dtype === 'i64' || dtype === 'u64') {
    const ad = a.data as BigInt64Array, bd = b.data as BigInt64Array, yd = y.data as BigInt64Array;
    const wrap = dtype === 'i64' ? (v: bigint) => BigInt.asIntN(64, v) : (v: bigint) => BigInt.asUintN(64, v);
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let s = 0n;
        for (let k = 0; k < K; k++) s += ad[av.offset + i * av.rowStride + k * av.colStride] * bd[bv.offset + k * bv.rowStride + j * bv.colStride];
        yd[yOff + i * N + j] = wrap(s);
      }
    }
    return;
  }
  const ad = a.data as Int32Array, bd = b.data as Int32Array, yd = y.data as Int32Array;
  const imul = dtype === 'i32' || dtype === 'u32';
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const x = ad[av.offset + i * av.rowStride + k * av.colStride], w = bd[bv.offset + k * bv.rowStride + j * bv.colStride];
        s = imul ? (s + Math.imul(x, w)) | 0 : s + x * w;
      }
      yd[yOff + i * N + j] = s;
    }
  }
}

/** Gemm attributes. */
export interface GemmAttrs {
  readonly transA: boolean;
  readonly transB: boolean;
  readonly alpha: number;
  readonly beta: number;
}

/** Gemm: 2·M·N·K, plus M·N for the bias C when given. */
export const gemmFlops: FlopsRule<GemmAttrs> = (i, o, a) => {
  const sa = i[0]?.shape;
  if (!sa || sa.length !== 2) return undefined;
  const mn = elems(o[0]?.shape);
  return plus(times(2, mn, elems([sa[a.transA ? 0 : 1]])), i[2] ? mn : 0);
};

/** Checks that C broadcasts unidirectionally to [M, N]. */
function checkBias(c: readonly Dim[], m: Dim, n: Dim): void {
  if (c.length > 2) throw new Error(`Gemm: C [${c.join(',')}] has rank > 2`);
  const target = [m, n].slice(2 - c.length);
  c.forEach((d, i) => {
    if (typeof d === 'number' && d !== 1 && typeof target[i] === 'number' && d !== target[i]) {
      throw new Error(`Gemm: C [${c.join(',')}] does not broadcast to [${m},${n}]`);
    }
  });
}

const Gemm: OpDef<GemmAttrs> = {
  name: 'Gemm',
  inputs: [2, 3],
  flops: gemmFlops,
  outputs: [1, 1],
  parseAttrs: (r) => ({
    transA: r.int('transA', 0) !== 0,
    transB: r.int('transB', 0) !== 0,
    alpha: r.float('alpha', 1),
    beta: r.float('beta', 1),
  }),
  inferTypes(inputs, at) {
    const a = required(inputs, 0, 'A'), b = required(inputs, 1, 'B'), c = inputs[2];
    const dtype = sameDType([a, b, c]);
    expectDType(dtype, MATMUL_TYPES, 'A');
    if (a.shape.length !== 2 || b.shape.length !== 2) {
      throw new Error(`Gemm: A [${a.shape.join(',')}] and B [${b.shape.join(',')}] must be 2-D`);
    }
    const [m, ka] = at.transA ? [a.shape[1], a.shape[0]] : a.shape;
    const [kb, n] = at.transB ? [b.shape[1], b.shape[0]] : b.shape;
    if (typeof ka === 'number' && typeof kb === 'number' && ka !== kb) {
      throw new Error(`Gemm: inner dims differ: A${at.transA ? 'ᵀ' : ''} has K=${ka}, B${at.transB ? 'ᵀ' : ''} has K=${kb}`);
    }
    if (c) checkBias(c.shape, m, n);
    return [{ dtype, shape: [m, n] }];
  },
  run(inputs, at) {
    return [gemm(inputs[0]!, inputs[1]!, inputs[2], at)];
  },
};

/** Runs Gemm on concrete tensors: alpha·op(A)·op(B) + beta·C. */
export function gemm(a: Tensor, b: Tensor, c: Tensor | undefined, at: GemmAttrs): Tensor {
  const [M, K] = at.transA ? [a.shape[1], a.shape[0]] : a.shape;
  const [kb, N] = at.transB ? [b.shape[1], b.shape[0]] : b.shape;
  if (K !== kb) throw new Error(`Gemm: inner dims differ: ${K} vs ${kb}`);
  const aStr = { offset: 0, rowStride: at.transA ? 1 : a.shape[1], colStride: at.transA ? a.shape[1] : 1 };
  const bStr = { offset: 0, rowStride: at.transB ? 1 : b.shape[1], colStride: at.transB ? b.shape[1] : 1 };
  const useC = c !== undefined && at.beta !== 0;
  if (c) checkBias(c.shape, M, N);
  const cMap = useC ? broadcastOffsets([M, N], c.shape) : null;
  if (FLOAT_TYPES.includes(a.dtype)) {
    const y = allocFloat(a.dtype, M * N);
    if (useC) {
      const cs = floatData(c);
      for (let i = 0; i < M * N; i++) y[i] = at.beta * cs[cMap ? cMap[i] : i];
    }
    const as = floatData(a), bs = floatData(b);
    if (y instanceof Float64Array) {
      dgemm(M, N, K, at.alpha, { data: as as Float64Array, ...aStr }, { data: bs as Float64Array, ...bStr }, y, 0, N, useC);
    } else {
      sgemm(M, N, K, at.alpha, { data: as as Float32Array, ...aStr }, { data: bs as Float32Array, ...bStr }, y, 0, N, useC);
    }
    return floatTensor(a.dtype, [M, N], y);
  }
  const y = Tensor.zeros(a.dtype, [M, N]);
  intGemm(M, N, K, a, aStr, b, bStr, y, 0);
  if (at.alpha !== 1 || useC) {
    // integer Gemm with scaling or bias: combine in the value domain and wrap on store
    const cMapped = (i: number) => (cMap ? cMap[i] : i);
    if (a.dtype === 'i64' || a.dtype === 'u64') {
      const yd = y.data as BigInt64Array, cd = useC ? (c.data as BigInt64Array) : undefined;
      const alpha = BigInt(Math.trunc(at.alpha)), beta = BigInt(Math.trunc(at.beta));
      for (let i = 0; i < M * N; i++) {
        const v = yd[i] * alpha + (cd ? cd[cMapped(i)] * beta : 0n);
        yd[i] = a.dtype === 'i64' ? BigInt.asIntN(64, v) : BigInt.asUintN(64, v);
      }
    } else {
      const yd = y.data as Int32Array, cd = useC ? (c.data as Int32Array) : undefined;
      for (let i = 0; i < M * N; i++) yd[i] = Math.trunc(at.alpha * yd[i] + (cd ? at.beta * cd[cMapped(i)] : 0));
    }
  }
  return y;
}

export const matmulOps: OpDef<any>[] = [MatMul, Gemm];
