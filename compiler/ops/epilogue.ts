/**
 * Epilogues of the fused compute ops (kiln.conv, kiln.gemm, kiln.matmul in fused-compute.ts): the
 * ordered list of elementwise steps applied to every output element of a Conv/Gemm/MatMul right after
 * it is computed, while it is still in a register in a compiled kernel.
 *
 * Attributes:
 *   - `epilogue` (strings, default empty): the steps in order; each is one of EPILOGUE_STEPS;
 *   - `clip_min`, `clip_max` (floats, default -inf / +inf): the bounds of the `clip` step.
 * Step semantics, for an output element v (and, for `add`, the element r of the residual input at the
 * same flat index: the residual has exactly the output's shape, no broadcasting):
 *   relu       v = v > 0 ? v : 0            (NaN stays NaN, -0 becomes 0; as ONNX Relu)
 *   clip       v = v < lo ? lo : v; v = v > hi ? hi : v   (lo > hi gives hi; NaN stays; as ONNX Clip)
 *   sigmoid    v = 1 / (1 + e^-v)           (in the overflow-free form of the Sigmoid kernel)
 *   hardswish  v = v · clamp(v/6 + 1/2, 0, 1)
 *   gelu       v = v/2 · (1 + erf(v/√2))    (exact GELU, ONNX Gelu approximate="none")
 *   gelu_tanh  v = v/2 · (1 + tanh(√(2/π)(v + 0.044715 v³)))   (Gelu approximate="tanh")
 *   add        v = v + r                    (the residual; at most one `add` per epilogue)
 * Each step computes exactly as its entry in the scalar-op table (scalar-ops.ts: relu = Relu, clip =
 * Clip with the two bounds, sigmoid = Sigmoid, hardswish = HardSwish, gelu/gelu_tanh = Gelu with
 * approximate none/tanh, add = Add), which is also what the compiled backends render.
 * Precision (the table's contract): the steps run on the f32 accumulator (f64 for f64 tensors), each
 * step's result rounded to that compute type, and the value is stored once in the output dtype; so f32
 * and f64 results equal the unfused ops bit for bit, while f16/bf16 ones skip the unfused graph's
 * f16/bf16 rounding between steps (within the f16/bf16 tolerance of the table).
 *
 * `applyEpilogue` runs all steps (and an optional per-column bias add first, for kiln.matmul) in one
 * pass over the fresh output buffer, in place: one loop generated from the table's trees per
 * (steps, dtype, bias) and cached.
 */
import { AttrError, type AttrReader } from './registry.ts';
import type { FloatArray } from './float-io.ts';
import type { DType } from '../ir/dtype.ts';
import { compileJs, renderJs } from './scalar-expr.ts';
import { opExpr, scalarOp } from './scalar-ops.ts';

/** The epilogue step names, as written in the `epilogue` attribute. */
export const EPILOGUE_STEPS = ['relu', 'clip', 'sigmoid', 'hardswish', 'gelu', 'gelu_tanh', 'add'] as const;

/** One epilogue step. */
export type EpilogueStep = (typeof EPILOGUE_STEPS)[number];

/** A parsed epilogue. */
export interface Epilogue {
  readonly steps: readonly EpilogueStep[];
  /** Lower bound of `clip` (-Infinity when absent). */
  readonly clipMin: number;
  /** Upper bound of `clip` (+Infinity when absent). */
  readonly clipMax: number;
  /** True when a step is `add` (the node then needs its residual input). */
  readonly hasResidual: boolean;
}

/** Reads and validates `epilogue`, `clip_min` and `clip_max`; errors name the attribute. */
export function readEpilogue(r: AttrReader): Epilogue {
  const steps = r.strings('epilogue', []);
  for (const s of steps) {
    if (!(EPILOGUE_STEPS as readonly string[]).includes(s)) {
      throw new AttrError('epilogue', `unknown step '${s}'; steps are ${EPILOGUE_STEPS.join(', ')}`);
    }
  }
  const adds = steps.filter((s) => s === 'add').length;
  if (adds > 1) throw new AttrError('epilogue', `at most one 'add' step (one residual input), got ${adds}`);
  const clipMin = r.float('clip_min', -Infinity), clipMax = r.float('clip_max', Infinity);
  if (Number.isNaN(clipMin)) throw new AttrError('clip_min', 'must not be NaN');
  if (Number.isNaN(clipMax)) throw new AttrError('clip_max', 'must not be NaN');
  return { steps: steps as EpilogueStep[], clipMin, clipMax, hasResidual: adds === 1 };
}

/** A per-column bias added before the steps: y[i] += data[(i mod period) · stride]. */
export interface ColumnBias {
  readonly data: FloatArray;
  /** The length of the output's last axis (the row length). */
  readonly period: number;
  /** 1 when the bias has one value per column, 0 when it is a single value. */
  readonly stride: number;
}

/** The table op (and its parsed attributes) each step runs; `clip` reads its bounds as operands. */
export const STEP_OPS: Readonly<Record<EpilogueStep, { op: string; attrs: object }>> = {
  relu: { op: 'Relu', attrs: {} },
  clip: { op: 'Clip', attrs: {} },
  sigmoid: { op: 'Sigmoid', attrs: {} },
  hardswish: { op: 'HardSwish', attrs: {} },
  gelu: { op: 'Gelu', attrs: { approximate: 'none' } },
  gelu_tanh: { op: 'Gelu', attrs: { approximate: 'tanh' } },
  add: { op: 'Add', attrs: {} },
};

/** JS source of `v = op(v, operands...)` for the table op `op` on `dtype` values. */
function stepSource(op: string, attrs: object, dtype: DType, operands: readonly string[]): string {
  const entry = scalarOp(op);
  if (!entry) throw new Error(`epilogue: the scalar-op table has no ${op}`);
  const tree = opExpr(entry, operands.map(() => dtype), attrs);
  if (typeof tree === 'string') throw new Error(`epilogue: ${tree}`);
  return `v = ${renderJs(tree, operands)};`;
}

type EpilogueLoop = (y: FloatArray, r: FloatArray, b: FloatArray | undefined, period: number, bStride: number,
  lo: number, hi: number) => void;

/**
 * The epilogue as one generated loop (cached by source): each step is its scalar-op table entry,
 * rounded to the compute type after each step (f64 for Float64Array outputs, f32 otherwise).
 */
function epilogueLoop(steps: readonly EpilogueStep[], dtype: DType, bias: boolean): EpilogueLoop {
  const body: string[] = [];
  if (bias) body.push(stepSource('Add', {}, dtype, ['v', 'b[j * bStride]']));
  for (const s of steps) {
    const { op, attrs } = STEP_OPS[s];
    const operands = s === 'clip' ? ['v', 'lo', 'hi'] : s === 'add' ? ['v', 'r[i]'] : ['v'];
    body.push(stepSource(op, attrs, dtype, operands));
  }
  const src = [
    'for (let row = 0; row < y.length; row += period) {',
    '  for (let j = 0; j < period; j++) {',
    '    const i = row + j;',
    '    let v = y[i];',
    ...body.map((l) => `    ${l}`),
    '    y[i] = v;',
    '  }',
    '}',
  ].join('\n');
  return compileJs<EpilogueLoop>(['y', 'r', 'b', 'period', 'bStride', 'lo', 'hi'], src);
}

/**
 * Applies `bias` (if any) and then the epilogue steps to every element of `y`, in place, in one pass.
 * `residual` (same length as y) is required when the epilogue has an `add` step.
 */
export function applyEpilogue(y: FloatArray, ep: Epilogue, residual?: FloatArray, bias?: ColumnBias): void {
  if ((ep.steps.length === 0 && !bias) || y.length === 0) return;
  if (ep.hasResidual && (!residual || residual.length !== y.length)) {
    throw new Error(`epilogue 'add': the residual must have ${y.length} elements, got ${residual ? residual.length : 'none'}`);
  }
  const dtype: DType = y instanceof Float64Array ? 'f64' : 'f32';
  const loop = epilogueLoop(ep.steps, dtype, bias !== undefined);
  loop(y, residual ?? y, bias?.data, bias ? bias.period : y.length, bias ? bias.stride : 0, ep.clipMin, ep.clipMax);
}
