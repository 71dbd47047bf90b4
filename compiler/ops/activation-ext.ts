/**
 * More activation ops: Selu, Celu, Mish, Swish, Softsign, Shrink, ThresholdedRelu, and the gated
 * SwiGLU (two inputs).
 *
 * The unary ones are elementwise loops (unary-kernel.ts) computed in double precision and stored to
 * the input's dtype, following the ONNX formulas:
 *   Selu(x)  = gamma·x for x > 0, gamma·alpha·(e^x − 1) otherwise (expm1 keeps small x accurate)
 *   Celu(x)  = max(0, x) + min(0, alpha·(e^(x/alpha) − 1))
 *   Mish(x)  = x·tanh(softplus(x)), softplus split on the sign of x so e^x never overflows
 *   Swish(x) = x·sigmoid(alpha·x), sigmoid from e^−|v| (never overflows)
 *   Softsign(x) = x / (1 + |x|)
 *   Shrink(x) = x + bias for x < −lambd, x − bias for x > lambd, 0 otherwise (every numeric dtype;
 *     integers compute in double precision and store truncated, as the typed array stores do)
 *   ThresholdedRelu(x) = x for x > alpha, 0 otherwise
 * SwiGLU(A, B) = Swish_alpha(A)·B on two inputs of identical shape (ONNX applies no broadcasting).
 */
import { AttrError, type OpDef } from './registry.ts';
import { required } from './support.ts';
import { unaryOp } from './unary-kernel.ts';
import { FLOATS, NUMERIC, checkDType, floatBuffer, floatResult, floatValues, need } from './elementwise.ts';

const SELU_ALPHA = 1.67326319217681884765625;
const SELU_GAMMA = 1.05070102214813232421875;

/** The logistic sigmoid of v, from e^−|v| so that it never overflows. */
function sigmoid(v: number): number {
  const e = Math.exp(-Math.abs(v));
  return v >= 0 ? 1 / (1 + e) : e / (1 + e);
}

/** Shrink of one value. */
const shrink = (v: number, lambd: number, bias: number) => (v < -lambd ? v + bias : v > lambd ? v - bias : 0);

interface SwigluAttrs { readonly alpha: number }

const swiglu: OpDef<SwigluAttrs> = {
  name: 'SwiGLU',
  inputs: [2, 2],
  outputs: [1, 1],
  parseAttrs: (r) => ({ alpha: r.float('alpha', 1) }),
  inferTypes(inputs) {
    const a = required(inputs, 0, 'SwiGLU input A');
    const b = required(inputs, 1, 'SwiGLU input B');
    checkDType('SwiGLU', a.dtype, FLOATS, 'input A');
    if (b.dtype !== a.dtype) throw new Error(`SwiGLU input B has dtype ${b.dtype} but input A has ${a.dtype}; they must match`);
    if (a.shape.length !== b.shape.length || a.shape.some((d, k) => typeof d === 'number' && typeof b.shape[k] === 'number' && d !== b.shape[k])) {
      throw new Error(`SwiGLU inputs A [${a.shape.join(', ')}] and B [${b.shape.join(', ')}] must have the same shape (no broadcasting)`);
    }
    return [{ dtype: a.dtype, shape: a.shape.map((d, k) => (typeof d === 'number' ? d : b.shape[k])) }];
  },
  run(inputs, { alpha }) {
    const a = need(inputs[0], 'SwiGLU input A');
    const b = need(inputs[1], 'SwiGLU input B');
    checkDType('SwiGLU', a.dtype, FLOATS, 'input A');
    if (b.dtype !== a.dtype) throw new Error(`SwiGLU input B has dtype ${b.dtype} but input A has ${a.dtype}`);
    if (a.shape.length !== b.shape.length || a.shape.some((d, k) => d !== b.shape[k])) {
      throw new Error(`SwiGLU inputs A [${a.shape.join(', ')}] and B [${b.shape.join(', ')}] must have the same shape (no broadcasting)`);
    }
    const av = floatValues(a), bv = floatValues(b);
    const y = floatBuffer(a.dtype, a.size);
    for (let i = 0; i < y.length; i++) { const v = av[i]; y[i] = v * sigmoid(alpha * v) * bv[i]; }
    return [floatResult(a.dtype, a.shape, y)];
  },
};

export const activationExtOps: OpDef<any>[] = [
  unaryOp({
    name: 'Selu', types: FLOATS,
    attrs: (r) => ({ alpha: r.float('alpha', SELU_ALPHA), gamma: r.float('gamma', SELU_GAMMA) }),
    float: (x, y, { alpha, gamma }) => {
      for (let i = 0; i < x.length; i++) { const v = x[i]; y[i] = v > 0 ? gamma * v : gamma * alpha * Math.expm1(v); }
    },
  }),
  unaryOp({
    name: 'Celu', types: FLOATS,
    attrs: (r) => {
      const alpha = r.float('alpha', 1);
      if (alpha === 0) throw new AttrError('alpha', 'must not be 0 (Celu divides by alpha)');
      return { alpha };
    },
    float: (x, y, { alpha }) => {
      for (let i = 0; i < x.length; i++) { const v = x[i]; y[i] = Math.max(0, v) + Math.min(0, alpha * Math.expm1(v / alpha)); }
    },
  }),
  unaryOp({
    name: 'Mish', types: FLOATS,
    float: (x, y) => {
      for (let i = 0; i < x.length; i++) {
        const v = x[i];
        const sp = v > 0 ? v + Math.log1p(Math.exp(-v)) : Math.log1p(Math.exp(v));
        y[i] = v * Math.tanh(sp);
      }
    },
  }),
  unaryOp({
    name: 'Swish', types: FLOATS,
    attrs: (r) => ({ alpha: r.float('alpha', 1) }),
    float: (x, y, { alpha }) => { for (let i = 0; i < x.length; i++) { const v = x[i]; y[i] = v * sigmoid(alpha * v); } },
  }),
  unaryOp({
    name: 'Softsign', types: FLOATS,
    float: (x, y) => { for (let i = 0; i < x.length; i++) { const v = x[i]; y[i] = v / (1 + Math.abs(v)); } },
  }),
  unaryOp({
    name: 'Shrink', types: NUMERIC,
    attrs: (r) => ({ lambd: r.float('lambd', 0.5), bias: r.float('bias', 0) }),
    float: (x, y, { lambd, bias }) => { for (let i = 0; i < x.length; i++) y[i] = shrink(x[i], lambd, bias); },
    int: (x, y, { lambd, bias }) => { for (let i = 0; i < x.length; i++) y[i] = Math.trunc(shrink(x[i], lambd, bias)); },
    big: (x, y, { lambd, bias }) => {
      for (let i = 0; i < x.length; i++) y[i] = BigInt(Math.trunc(shrink(Number(x[i]), lambd, bias)));
    },
  }),
  unaryOp({
    name: 'ThresholdedRelu', types: FLOATS,
    attrs: (r) => ({ alpha: r.float('alpha', 1) }),
    float: (x, y, { alpha }) => { for (let i = 0; i < x.length; i++) { const v = x[i]; y[i] = v > alpha ? v : 0; } },
  }),
  swiglu,
];
