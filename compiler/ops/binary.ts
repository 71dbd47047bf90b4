/**
 * Binary arithmetic ops with numpy broadcasting: Add, Sub, Mul, Div, Pow, Mod, PRelu.
 *
 * Operands are broadcast to the output shape once (elementwise.ts `broadcastData`), then one tight
 * loop per lane computes the result:
 *   - float: double-precision math stored to f32/f64 (f16/bf16 through f32);
 *   - int (i8..u32): JS-number math stored through the typed array, which wraps modulo 2^bits; Mul
 *     uses Math.imul so 32-bit products keep their exact low bits; Div truncates toward zero as in C;
 *     division or modulo by zero gives 0 (the ONNX behaviour is undefined);
 *   - big (i64/u64): exact BigInt math, wrapped by the 64-bit stores.
 * Mod follows ONNX Mod-28: fmod=0 is the remainder with the divisor's sign (Python `%`: on floats
 * the C fmod plus the divisor when the signs differ, a zero taking the divisor's sign), fmod=1 the C
 * fmod with the dividend's sign. Floats with fmod=0 are an opset-28 form; the importer refuses them
 * in older models (import/onnx/opsets.ts). Pow keeps the base dtype and accepts any
 * numeric exponent dtype; integer bases with non-negative integer exponents use exact modular
 * exponentiation by squaring (numpy's wrapping result), other cases C `pow` truncated to the integer
 * type, with NaN/Inf/out-of-range giving the integer minimum as x86 conversions do.
 */
import type { DType } from '../ir/dtype.ts';
import { Tensor } from '../ir/tensor.ts';
import { checkTensorSize } from '../ir/sizes.ts';
import type { AttrReader, OpDef } from './registry.ts';
import { broadcastDims, broadcastShapes, required } from './support.ts';
import {
  type BigArray, type FloatArray, type NumberArray, FLOATS, NUMERIC, broadcastData, broadcastType, checkDType,
  floatBuffer, floatResult, floatValues, laneOf, need,
} from './elementwise.ts';

/**
 * What one binary op does per lane; each loop writes y[i] = a[i] op b[i] for all i. An integer-only
 * op (the bitwise ones) has no `float` loop: its `types` hold no float dtype.
 */
export interface ArithSpec<A> {
  readonly name: string;
  readonly types: readonly DType[];
  readonly attrs?: (r: AttrReader) => A;
  /** Extra validity check of dtype and attributes (type rule and kernel). */
  readonly check?: (dtype: DType, attrs: A) => void;
  readonly float?: (a: FloatArray, b: FloatArray, y: FloatArray, attrs: A) => void;
  readonly int?: (a: NumberArray, b: NumberArray, y: NumberArray, attrs: A) => void;
  readonly big?: (a: BigArray, b: BigArray, y: BigArray, attrs: A) => void;
}

/** Builds the OpDef of a same-dtype binary op whose output has the inputs' dtype. */
export function arithOp<A = Record<string, never>>(spec: ArithSpec<A>): OpDef<A> {
  const { name, types } = spec;
  return {
    name,
    inputs: [2, 2],
    outputs: [1, 1],
    elementwise: true,
    inPlace: 'all',
    parseAttrs: (r) => (spec.attrs ? spec.attrs(r) : ({} as A)),
    inferTypes(inputs, attrs) {
      required(inputs, 0, `${name} input A`);
      required(inputs, 1, `${name} input B`);
      const t = broadcastType(name, inputs, types, ['input A', 'input B']);
      spec.check?.(t.dtype, attrs);
      return [t];
    },
    run(inputs, attrs) {
      const a = need(inputs[0], `${name} input A`);
      const b = need(inputs[1], `${name} input B`);
      checkDType(name, a.dtype, types, 'input A');
      if (b.dtype !== a.dtype) throw new Error(`${name} input B has dtype ${b.dtype} but input A has ${a.dtype}`);
      spec.check?.(a.dtype, attrs);
      const shape = broadcastShapes(a.shape, b.shape);
      checkTensorSize({ what: 'output' }, a.dtype, shape);
      const lane = laneOf(a.dtype);
      if (lane === 'float') {
        if (!spec.float) throw new Error(`${name} does not compute on ${a.dtype}`);
        const y = floatBuffer(a.dtype, shapeLength(shape));
        spec.float(broadcastData(floatValues(a), a.shape, shape), broadcastData(floatValues(b), b.shape, shape), y, attrs);
        return [floatResult(a.dtype, shape, y)];
      }
      const out = Tensor.zeros(a.dtype, shape);
      if (lane === 'int' && spec.int) {
        spec.int(broadcastData(a.data as NumberArray, a.shape, shape), broadcastData(b.data as NumberArray, b.shape, shape),
          out.data as NumberArray, attrs);
      } else if (lane === 'big' && spec.big) {
        spec.big(broadcastData(a.data as BigArray, a.shape, shape), broadcastData(b.data as BigArray, b.shape, shape),
          out.data as BigArray, attrs);
      } else throw new Error(`${name} has no kernel for dtype ${a.dtype}`);
      return [out];
    },
  };
}

function shapeLength(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** C `pow`: like Math.pow except pow(1, y) = 1 and pow(-1, +-Inf) = 1 (numpy agrees). */
export function cPow(a: number, b: number): number {
  if (a === 1 || b === 0) return 1;
  if (a === -1 && (b === Infinity || b === -Infinity)) return 1;
  return Math.pow(a, b);
}

/** a^e modulo 2^32 for an integer e >= 0, by squaring (exact low bits, as C integer pow). */
function intPow32(a: number, e: number): number {
  let result = 1;
  let base = a | 0;
  while (e > 0) {
    if (e % 2 === 1) result = Math.imul(result, base);
    base = Math.imul(base, base);
    e = Math.floor(e / 2);
  }
  return result;
}

/** a^e modulo 2^64 (as signed) for e >= 0, by squaring. */
function bigPow64(a: bigint, e: bigint): bigint {
  let result = 1n;
  let base = a;
  while (e > 0n) {
    if (e & 1n) result = BigInt.asIntN(64, result * base);
    base = BigInt.asIntN(64, base * base);
    e >>= 1n;
  }
  return result;
}

/** What x86 float->integer conversions give for NaN, Inf and out-of-range values. */
const INT64_MIN = -(2n ** 63n);

/** Pow exponent dtypes (ONNX T1). */
const POW_EXPONENT_TYPES: readonly DType[] = NUMERIC;
/** Pow base dtypes (ONNX T). */
const POW_BASE_TYPES: readonly DType[] = ['i32', 'i64', ...FLOATS];

const pow: OpDef<Record<string, never>> = {
  name: 'Pow',
  inputs: [2, 2],
  outputs: [1, 1],
  elementwise: true,
  inPlace: 'all',
  parseAttrs: () => ({}),
  inferTypes(inputs) {
    const x = required(inputs, 0, 'Pow input X');
    const y = required(inputs, 1, 'Pow input Y');
    checkDType('Pow', x.dtype, POW_BASE_TYPES, 'input X');
    checkDType('Pow', y.dtype, POW_EXPONENT_TYPES, 'input Y');
    return [{ dtype: x.dtype, shape: broadcastDims(x.shape, y.shape) }];
  },
  run(inputs) {
    const x = need(inputs[0], 'Pow input X');
    const e = need(inputs[1], 'Pow input Y');
    checkDType('Pow', x.dtype, POW_BASE_TYPES, 'input X');
    checkDType('Pow', e.dtype, POW_EXPONENT_TYPES, 'input Y');
    const shape = broadcastShapes(x.shape, e.shape);
    const n = checkTensorSize({ what: 'output' }, x.dtype, shape);
    const lane = laneOf(x.dtype);
    if (lane === 'big' && laneOf(e.dtype) === 'big') {
      const a = broadcastData(x.data as BigArray, x.shape, shape);
      const b = broadcastData(e.data as BigArray, e.shape, shape);
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) {
        const p = b[i];
        if (p >= 0n) out[i] = bigPow64(a[i], p);
      else { const v = Math.trunc(cPow(Number(a[i]), Number(p))); out[i] = Number.isFinite(v) ? BigInt(v) : INT64_MIN; }
      }
      return [new Tensor('i64', shape, out)];
    }
    const b = broadcastData(exponentValues(e), e.shape, shape);
    if (lane === 'float') {
      const a = broadcastData(floatValues(x), x.shape, shape);
      const y = floatBuffer(x.dtype, n);
      for (let i = 0; i < n; i++) y[i] = cPow(a[i], b[i]);
      return [floatResult(x.dtype, shape, y)];
    }
    if (lane === 'big') {
      const a = broadcastData(x.data as BigArray, x.shape, shape);
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) {
        const p = b[i];
        if (Number.isInteger(p) && p >= 0) out[i] = bigPow64(a[i], BigInt(p));
        else { const v = Math.trunc(cPow(Number(a[i]), p)); out[i] = Number.isFinite(v) ? BigInt(v) : INT64_MIN; }
      }
      return [new Tensor('i64', shape, out)];
    }
    const a = broadcastData(x.data as Int32Array, x.shape, shape);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const p = b[i];
      if (Number.isInteger(p) && p >= 0) out[i] = intPow32(a[i], p);
      else { const v = Math.trunc(cPow(a[i], p)); out[i] = v > -2147483649 && v < 2147483648 ? v : -2147483648; }
    }
    return [new Tensor('i32', shape, out)];
  },
};

/** Exponent values as JS numbers (decoded floats, integers, bigints converted). */
function exponentValues(e: Tensor): FloatArray | NumberArray {
  const lane = laneOf(e.dtype);
  if (lane === 'float') return floatValues(e);
  if (lane === 'big') return Float64Array.from(e.data as BigArray, (v) => Number(v));
  return e.data as NumberArray;
}

interface ModAttrs { readonly fmod: boolean }

export const binaryOps: OpDef<any>[] = [
  arithOp({
    name: 'Add', types: NUMERIC,
    float: (a, b, y) => { for (let i = 0; i < y.length; i++) y[i] = a[i] + b[i]; },
    int: (a, b, y) => { for (let i = 0; i < y.length; i++) y[i] = a[i] + b[i]; },
    big: (a, b, y) => { for (let i = 0; i < y.length; i++) y[i] = a[i] + b[i]; },
  }),
  arithOp({
    name: 'Sub', types: NUMERIC,
    float: (a, b, y) => { for (let i = 0; i < y.length; i++) y[i] = a[i] - b[i]; },
    int: (a, b, y) => { for (let i = 0; i < y.length; i++) y[i] = a[i] - b[i]; },
    big: (a, b, y) => { for (let i = 0; i < y.length; i++) y[i] = a[i] - b[i]; },
  }),
  arithOp({
    name: 'Mul', types: NUMERIC,
    float: (a, b, y) => { for (let i = 0; i < y.length; i++) y[i] = a[i] * b[i]; },
    int: (a, b, y) => { for (let i = 0; i < y.length; i++) y[i] = Math.imul(a[i], b[i]); },
    big: (a, b, y) => { for (let i = 0; i < y.length; i++) y[i] = a[i] * b[i]; },
  }),
  arithOp({
    name: 'Div', types: NUMERIC,
    float: (a, b, y) => { for (let i = 0; i < y.length; i++) y[i] = a[i] / b[i]; },
    int: (a, b, y) => { for (let i = 0; i < y.length; i++) { const d = b[i]; y[i] = d === 0 ? 0 : Math.trunc(a[i] / d); } },
    big: (a, b, y) => { for (let i = 0; i < y.length; i++) { const d = b[i]; y[i] = d === 0n ? 0n : a[i] / d; } },
  }),
  arithOp<ModAttrs>({
    name: 'Mod', types: NUMERIC,
    attrs: (r) => ({ fmod: r.oneOf('fmod', r.int('fmod', 0), [0, 1]) === 1 }),
    float: (a, b, y, { fmod }) => {
      for (let i = 0; i < y.length; i++) {
        const d = b[i];
        let r = a[i] % d;
        if (!fmod) {
          if (r === 0) r = d < 0 ? -0 : 0; // (a zero divisor gave NaN)
          else if ((r < 0) !== (d < 0)) r += d;
        }
        y[i] = r;
      }
    },
    int: (a, b, y, { fmod }) => {
      for (let i = 0; i < y.length; i++) {
        const d = b[i];
        if (d === 0) { y[i] = 0; continue; }
        let r = a[i] % d;
        if (!fmod && r !== 0 && (r < 0) !== (d < 0)) r += d;
        y[i] = r;
      }
    },
    big: (a, b, y, { fmod }) => {
      for (let i = 0; i < y.length; i++) {
        const d = b[i];
        if (d === 0n) { y[i] = 0n; continue; }
        let r = a[i] % d;
        if (!fmod && r !== 0n && (r < 0n) !== (d < 0n)) r += d;
        y[i] = r;
      }
    },
  }),
  arithOp({
    name: 'PRelu', types: [...FLOATS, 'i32', 'i64', 'u32', 'u64'],
    float: (a, b, y) => {
      const factor = Float64Array.of(1, 0); // factor[1] = slope, selected by (v < 0) without a branch
      for (let i = 0; i < y.length; i++) { const v = a[i]; factor[1] = b[i]; y[i] = v * factor[Number(v < 0)]; }
    },
    int: (a, b, y) => { for (let i = 0; i < y.length; i++) { const v = a[i]; y[i] = v < 0 ? Math.imul(v, b[i]) : v; } },
    big: (a, b, y) => { for (let i = 0; i < y.length; i++) { const v = a[i]; y[i] = v < 0n ? v * b[i] : v; } },
  }),
  pow,
];
