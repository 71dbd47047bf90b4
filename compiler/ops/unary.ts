/**
 * Unary math ops: Abs, Neg, Exp, Log, Sqrt, Reciprocal, Ceil, Floor, Round, Sign, Sin, Cos, Tanh,
 * Erf, Not, Identity (which also passes sequences and optionals through: a value kernel, `runValues`).
 *
 * Each op is a set of tight per-lane loops (see unary-kernel.ts): floats compute in double precision
 * and store to f32/f64 (f16/bf16 through f32), integers store through their typed array (so Abs/Neg of
 * the most negative value wraps as in C), i64/u64 use BigInt. Round is round-half-to-even like
 * numpy.round; Erf combines a Taylor series near zero with a Chebyshev-fitted erfc elsewhere
 * (absolute and relative error about 1e-7).
 */
import type { OpDef } from './registry.ts';
import { required } from './support.ts';
import { unaryOp } from './unary-kernel.ts';
import { FLOATS, NUMERIC, SIGNED_NUMERIC, need } from './elementwise.ts';
import { Tensor } from '../ir/tensor.ts';
import type { TensorData } from '../ir/dtype.ts';

/** Rounds half to even (numpy.round / ONNX Round); keeps -0, NaN and infinities. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // half rounds up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** The error function, accurate to about 1e-7 (relative near 0, absolute elsewhere). */
export function erf(x: number): number {
  const a = Math.abs(x);
  if (a < 0.5) {
    // Taylor series 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1)); |x| < 0.5 needs ~10 terms
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 12; n++) {
      term *= -x2 / n;
      sum += term / (2 * n + 1);
    }
    return TWO_OVER_SQRT_PI * sum;
  }
  // erfc by the Chebyshev fit of Numerical Recipes (fractional error < 1.2e-7)
  const t = 1 / (1 + 0.5 * a);
  const erfc = t * Math.exp(-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  const r = 1 - erfc;
  return x < 0 ? -r : r;
}

const identity: OpDef<Record<string, never>> = {
  name: 'Identity',
  inputs: [1, 1],
  outputs: [1, 1],
  elementwise: true,
  view: true, // a view, so never computed in place: it writes nothing
  parseAttrs: () => ({}),
  inferTypes(inputs, _a, ctx) {
    const x = required(inputs, 0, 'Identity input');
    // a value known before running passes through (value kernels are not folded by inference)
    const known = ctx.value(0);
    if (known) ctx.produce?.(0, known);
    // sequences and optionals pass through as they are (onnx opset 14+/16+)
    return [x.container ? x : { dtype: x.dtype, shape: x.shape }];
  },
  run(inputs) {
    const x = need(inputs[0], 'Identity input');
    return [new Tensor(x.dtype, x.shape, x.data.slice() as TensorData)]; // kernels return fresh tensors
  },
  // a tensor is copied like `run` does; a sequence (an immutable array) or none passes through
  runValues: ([x]) => [x instanceof Tensor ? identity.run([x], {}, 1)[0] : x ?? null],
};

export const unaryOps: OpDef<any>[] = [
  unaryOp({
    name: 'Abs', types: NUMERIC,
    float: (x, y) => { for (let i = 0; i < x.length; i++) y[i] = Math.abs(x[i]); },
    int: (x, y) => { for (let i = 0; i < x.length; i++) { const v = x[i]; y[i] = v < 0 ? -v : v; } },
    big: (x, y) => { for (let i = 0; i < x.length; i++) { const v = x[i]; y[i] = v < 0n ? -v : v; } },
  }),
  unaryOp({
    name: 'Neg', types: SIGNED_NUMERIC,
    float: (x, y) => { for (let i = 0; i < x.length; i++) y[i] = -x[i]; },
    int: (x, y) => { for (let i = 0; i < x.length; i++) y[i] = -x[i]; },
    big: (x, y) => { for (let i = 0; i < x.length; i++) y[i] = -x[i]; },
  }),
  unaryOp({
    name: 'Sign', types: NUMERIC,
    float: (x, y) => { for (let i = 0; i < x.length; i++) y[i] = Math.sign(x[i]); },
    int: (x, y) => { for (let i = 0; i < x.length; i++) y[i] = Math.sign(x[i]); },
    big: (x, y) => { for (let i = 0; i < x.length; i++) { const v = x[i]; y[i] = v > 0n ? 1n : v < 0n ? -1n : 0n; } },
  }),
  unaryOp({
    name: 'Exp', types: FLOATS,
    float: (x, y) => { for (let i = 0; i < x.length; i++) y[i] = Math.exp(x[i]); },
  }),
  unaryOp({
    name: 'Log', types: FLOATS,
    float: (x, y) => { for (let i = 0; i < x.length; i++) y[i] = Math.log(x[i]); },
  }),
  unaryOp({
    name: 'Sqrt', types: FLOATS,
    float: (x, y) => { for (let i = 0; i < x.length; i++) y[i] = Math.sqrt(x[i]); },
  }),
  unaryOp({
    name: 'Reciprocal', types: FLOATS,
    float: (x, y) => { for (let i = 0; i < x.length; i++) y[i] = 1 / x[i]; },
  }),
  unaryOp({
    name: 'Ceil', types: FLOATS,
    float: (x, y) => { for (let i = 0; i < x.length; i++) y[i] = Math.ceil(x[i]); },
  }),
  unaryOp({
    name: 'Floor', types: FLOATS,
    float: (x, y) => { for (let i = 0; i < x.length; i++) y[i] = Math.floor(x[i]); },
  }),
  unaryOp({
    name: 'Round', types: FLOATS,
    float: (x, y) => { for (let i = 0; i < x.length; i++) y[i] = roundHalfEven(x[i]); },
  }),
  unaryOp({
    name: 'Sin', types: FLOATS,
    float: (x, y) => { for (let i = 0; i < x.length; i++) y[i] = Math.sin(x[i]); },
  }),
  unaryOp({
    name: 'Cos', types: FLOATS,
    float: (x, y) => { for (let i = 0; i < x.length; i++) y[i] = Math.cos(x[i]); },
  }),
  unaryOp({
    name: 'Tanh', types: FLOATS,
    float: (x, y) => { for (let i = 0; i < x.length; i++) y[i] = Math.tanh(x[i]); },
  }),
  unaryOp({
    name: 'Erf', types: NUMERIC,
    float: (x, y) => { for (let i = 0; i < x.length; i++) y[i] = erf(x[i]); },
    // integer Erf (allowed by ONNX) is erf computed in floating point, truncated on store
    int: (x, y) => { for (let i = 0; i < x.length; i++) y[i] = erf(x[i]); },
    big: (x, y) => { for (let i = 0; i < x.length; i++) y[i] = BigInt(Math.trunc(erf(Number(x[i])))); },
  }),
  unaryOp({
    name: 'Not', types: ['bool'],
    bool: (x, y) => { for (let i = 0; i < x.length; i++) y[i] = x[i] ? 0 : 1; },
  }),
  identity,
];
