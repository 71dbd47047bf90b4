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
 * Precision: the steps run in double precision on the f32 (f64 for f64 tensors) accumulator value and
 * the result is stored once in the output dtype; unlike the unfused graph, intermediate values are not
 * rounded to the storage dtype between steps (so f32 results may differ from the unfused ops by about
 * one f32 rounding per step, f16/bf16 ones by about one f16/bf16 rounding).
 *
 * `applyEpilogue` runs all steps (and an optional per-column bias add first, for kiln.matmul) in one
 * pass over the fresh output buffer, in place, allocating nothing per step: the steps are compiled to
 * a small opcode array once per call and dispatched per element.
 */
import { AttrError, type AttrReader } from './registry.ts';
import type { FloatArray } from './float-io.ts';
import { erf } from './unary.ts';

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

const SQRT1_2 = Math.SQRT1_2;
const GELU_TANH_C = Math.sqrt(2 / Math.PI);
const OPCODES: Readonly<Record<EpilogueStep, number>> = {
  relu: 0, clip: 1, sigmoid: 2, hardswish: 3, gelu: 4, gelu_tanh: 5, add: 6,
};

/**
 * Applies `bias` (if any) and then the epilogue steps to every element of `y`, in place, in one pass.
 * `residual` (same length as y) is required when the epilogue has an `add` step.
 */
export function applyEpilogue(y: FloatArray, ep: Epilogue, residual?: FloatArray, bias?: ColumnBias): void {
  if ((ep.steps.length === 0 && !bias) || y.length === 0) return;
  if (ep.hasResidual && (!residual || residual.length !== y.length)) {
    throw new Error(`epilogue 'add': the residual must have ${y.length} elements, got ${residual ? residual.length : 'none'}`);
  }
  const ops = Int32Array.from(ep.steps, (s) => OPCODES[s]);
  const nOps = ops.length;
  const lo = ep.clipMin, hi = ep.clipMax;
  const r = residual ?? y;
  const period = bias ? bias.period : y.length, bStride = bias ? bias.stride : 0;
  const bData = bias ? bias.data : undefined;
  for (let row = 0; row < y.length; row += period) {
    for (let j = 0; j < period; j++) {
      const i = row + j;
      let v = y[i];
      if (bData) v += bData[j * bStride];
      for (let s = 0; s < nOps; s++) {
        switch (ops[s]) {
          case 0: v = v > 0 ? v : v === v ? 0 : v; break;
          case 1: if (v < lo) v = lo; if (v > hi) v = hi; break;
          case 2: {
            const e = Math.exp(-Math.abs(v));
            v = v >= 0 ? 1 / (1 + e) : e / (1 + e);
            break;
          }
          case 3: {
            const g = v / 6 + 0.5;
            v = v * (g < 0 ? 0 : g > 1 ? 1 : g);
            break;
          }
          case 4: v = 0.5 * v * (1 + erf(v * SQRT1_2)); break;
          case 5: v = 0.5 * v * (1 + Math.tanh(GELU_TANH_C * (v + 0.044715 * v * v * v))); break;
          default: v += r[i];
        }
      }
      y[i] = v;
    }
  }
}
