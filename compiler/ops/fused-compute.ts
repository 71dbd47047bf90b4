/**
 * Fused compute ops made by the fuse-conv-act pass: a Conv, Gemm or MatMul with an epilogue of
 * elementwise steps (activation, residual add) applied to each output element as it is produced.
 *
 *   kiln.conv(X, W, B?, R?)       Conv semantics and attributes (auto_pad, dilations, group,
 *                                 kernel_shape, pads, strides), optional per-channel bias B, then the
 *                                 epilogue; R is the residual of an `add` step (the output's shape).
 *   kiln.gemm(A, B, C?, R?)       Gemm semantics and attributes (transA, transB, alpha, beta, C
 *                                 broadcast to [M, N]), then the epilogue.
 *   kiln.matmul(A, B, bias?, R?)  MatMul (numpy semantics), plus an optional bias broadcast along the
 *                                 last axis (shape [N] or [1, ..., 1, N], or a single value), then the
 *                                 epilogue.
 * The epilogue attributes (`epilogue` strings, `clip_min`, `clip_max`) and the exact semantics of each
 * step are defined in epilogue.ts; they are what the compiled backends' kernel templates implement.
 * Float dtypes only (f32, f16, bf16, f64).
 *
 * Shape rules: the unfused op's own rule on the first inputs, then the residual must have the output's
 * dtype and shape (static dims equal; no broadcasting), and it must be present exactly when the
 * epilogue has an `add` step. Reference kernels: the unfused op's kernel (conv.ts / matmul.ts on the
 * shared GEMM core) computes a fresh output buffer, then `applyEpilogue` adds the bias and runs the
 * steps over that buffer in place, in one pass (f16/bf16 outputs are decoded once, then re-encoded).
 */
import type { Dim, TensorType } from '../ir/graph.ts';
import { Tensor, readF32 } from '../ir/tensor.ts';
import type { OpDef, ShapeContext } from './registry.ts';
import { FLOAT_TYPES, expectDType } from './support.ts';
import { type ConvAttrs, conv, convOps, readConvAttrs } from './conv.ts';
import { type GemmAttrs, gemm, gemmFlops, matmul, matmulOps } from './matmul.ts';
import { convFlops, matmulFlops, withEpilogue } from './flops.ts';
import { type ColumnBias, type Epilogue, applyEpilogue, readEpilogue } from './epilogue.ts';
import { floatData } from './float-io.ts';

/** The op names of the fused compute ops. */
export const KILN_CONV = 'kiln.conv';
export const KILN_GEMM = 'kiln.gemm';
export const KILN_MATMUL = 'kiln.matmul';

function base(list: readonly OpDef<any>[], name: string): OpDef<any> {
  const d = list.find((o) => o.name === name);
  if (!d) throw new Error(`fused-compute: base op ${name} is missing`);
  return d;
}
const ConvDef = base(convOps, 'Conv') as OpDef<ConvAttrs>;
const GemmDef = base(matmulOps, 'Gemm') as OpDef<GemmAttrs>;
const MatMulDef = base(matmulOps, 'MatMul') as OpDef<null>;

/** Checks the residual input (index 3) against the output type and the epilogue. */
function checkResidual(op: string, r: TensorType | undefined, out: TensorType, ep: Epilogue): void {
  if (ep.hasResidual && !r) throw new Error(`${op}: the epilogue has an 'add' step but the residual input (input 3) is omitted`);
  if (!r) return;
  if (!ep.hasResidual) throw new Error(`${op}: a residual input (input 3) is given but the epilogue has no 'add' step`);
  const same = r.dtype === out.dtype && r.shape.length === out.shape.length &&
    r.shape.every((d, i) => typeof d !== 'number' || typeof out.shape[i] !== 'number' || d === out.shape[i]);
  if (!same) {
    throw new Error(`${op}: residual ${r.dtype}[${r.shape.join(',')}] must have the output's type ${out.dtype}[${out.shape.join(',')}]`);
  }
}

/** Runs the epilogue on a kernel's fresh output tensor (in place for f32/f64 storage). */
function finish(y: Tensor, ep: Epilogue, residual: Tensor | undefined, bias?: ColumnBias): Tensor {
  const r = residual ? floatData(residual) : undefined;
  if (y.data instanceof Float32Array || y.data instanceof Float64Array) {
    applyEpilogue(y.data, ep, r, bias);
    return y;
  }
  const v = readF32(y);
  applyEpilogue(v, ep, r, bias);
  return Tensor.fromNumbers(y.dtype, y.shape, v);
}

/** kiln.conv attributes. */
export interface FusedConvAttrs {
  readonly conv: ConvAttrs;
  readonly epilogue: Epilogue;
}

const KilnConv: OpDef<FusedConvAttrs> = {
  name: KILN_CONV,
  inputs: [2, 4],
  outputs: [1, 1],
  flops: (i, o, a) => withEpilogue(convFlops(i, o, a.conv), a.epilogue.steps.length + (i[2] ? 1 : 0), o),
  parseAttrs: (r) => ({ conv: readConvAttrs(r), epilogue: readEpilogue(r) }),
  inferTypes(inputs, a, ctx) {
    const [out] = ConvDef.inferTypes(inputs.slice(0, 3), a.conv, ctx, 1);
    checkResidual(KILN_CONV, inputs[3], out, a.epilogue);
    return [out];
  },
  run(inputs, a) {
    const y = conv(inputs[0]!, inputs[1]!, inputs[2], a.conv);
    return [finish(y, a.epilogue, inputs[3])];
  },
};

/** kiln.gemm attributes. */
export interface FusedGemmAttrs {
  readonly gemm: GemmAttrs;
  readonly epilogue: Epilogue;
}

const KilnGemm: OpDef<FusedGemmAttrs> = {
  name: KILN_GEMM,
  inputs: [2, 4],
  outputs: [1, 1],
  flops: (i, o, a) => withEpilogue(gemmFlops(i, o, a.gemm), a.epilogue.steps.length, o), // Gemm counts its bias
  parseAttrs: (r) => ({ gemm: GemmDef.parseAttrs(r), epilogue: readEpilogue(r) }),
  inferTypes(inputs, a, ctx) {
    const [out] = GemmDef.inferTypes(inputs.slice(0, 3), a.gemm, ctx, 1);
    expectDType(out.dtype, FLOAT_TYPES, 'A');
    checkResidual(KILN_GEMM, inputs[3], out, a.epilogue);
    return [out];
  },
  run(inputs, a) {
    const y = gemm(inputs[0]!, inputs[1]!, inputs[2], a.gemm);
    return [finish(y, a.epilogue, inputs[3])];
  },
};

/** kiln.matmul attributes. */
export interface FusedMatMulAttrs {
  readonly epilogue: Epilogue;
}

/** Checks that a bias broadcasts along the last axis of an output of shape `out`. */
function checkColumnBias(bias: readonly Dim[], out: readonly Dim[]): void {
  const n = out.length ? out[out.length - 1] : 1;
  const last = bias.length ? bias[bias.length - 1] : 1;
  const ok = bias.length <= Math.max(out.length, 1) &&
    bias.slice(0, -1).every((d) => d === 1) &&
    (last === 1 || last === n || typeof last !== 'number' || typeof n !== 'number');
  if (!ok) throw new Error(`${KILN_MATMUL}: bias [${bias.join(',')}] must broadcast along the last axis of the output [${out.join(',')}]`);
}

const KilnMatMul: OpDef<FusedMatMulAttrs> = {
  name: KILN_MATMUL,
  inputs: [2, 4],
  outputs: [1, 1],
  flops: (i, o, a) => withEpilogue(matmulFlops(i, o, null), a.epilogue.steps.length + (i[2] ? 1 : 0), o),
  parseAttrs: (r) => ({ epilogue: readEpilogue(r) }),
  inferTypes(inputs, a, ctx: ShapeContext) {
    const [out] = MatMulDef.inferTypes(inputs.slice(0, 2), null, ctx, 1);
    expectDType(out.dtype, FLOAT_TYPES, 'A');
    const bias = inputs[2];
    if (bias) {
      if (bias.dtype !== out.dtype) throw new Error(`${KILN_MATMUL}: bias has dtype ${bias.dtype} but A has ${out.dtype}`);
      checkColumnBias(bias.shape, out.shape);
    }
    checkResidual(KILN_MATMUL, inputs[3], out, a.epilogue);
    return [out];
  },
  run(inputs, a) {
    const y = matmul(inputs[0]!, inputs[1]!);
    const b = inputs[2];
    let bias: ColumnBias | undefined;
    if (b) {
      checkColumnBias(b.shape, y.shape);
      const period = y.shape.length ? y.shape[y.shape.length - 1] : 1;
      bias = { data: floatData(b), period, stride: b.size === 1 ? 0 : 1 };
    }
    return [finish(y, a.epilogue, inputs[3], bias)];
  },
};

export const fusedComputeOps: OpDef<any>[] = [KilnConv, KilnGemm, KilnMatMul];
