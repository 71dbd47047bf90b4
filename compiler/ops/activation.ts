/**
 * Activation ops: Relu, LeakyRelu, Elu, Sigmoid, HardSigmoid, HardSwish, Softplus, Gelu, and
 * inference-mode Dropout.
 *
 * All are unary elementwise loops (see unary-kernel.ts) computed in double precision and stored to
 * the input's float dtype; Relu also takes signed integers. Formulas follow the ONNX definitions, in
 * numerically stable forms where the naive one overflows (Sigmoid and Softplus split on the sign of
 * x; Elu uses expm1). Gelu is exact (`0.5x(1+erf(x/sqrt2))`) or the tanh approximation.
 * Dropout is the identity at inference: output = input and the optional mask is all true. The ratio
 * and training_mode inputs are read at run time; training with a non-zero ratio (random output) is
 * rejected with a clear error, while training with ratio 0 is still the identity.
 */
import type { DType } from '../ir/dtype.ts';
import type { TensorData } from '../ir/dtype.ts';
import { Tensor, readNumbers } from '../ir/tensor.ts';
import type { OpDef } from './registry.ts';
import { zeroFlops } from './flops.ts';
import { required } from './support.ts';
import { unaryOp } from './unary-kernel.ts';
import { erf } from './unary.ts';
import { FLOATS, SIGNED_NUMERIC, checkDType, need } from './elementwise.ts';

const SQRT1_2 = Math.SQRT1_2;
const GELU_TANH_C = Math.sqrt(2 / Math.PI);

interface DropoutAttrs { readonly seed?: number }

/** Float dtypes Dropout passes through (ONNX Dropout-22 also allows the float8 types). */
const DROPOUT_TYPES: readonly DType[] = [...FLOATS, 'f8e4m3fn', 'f8e4m3fnuz', 'f8e5m2', 'f8e5m2fnuz'];

const dropout: OpDef<DropoutAttrs> = {
  name: 'Dropout',
  inputs: [1, 3],
  outputs: [1, 2],
  flops: zeroFlops, // inference only: a copy (and a constant mask)
  parseAttrs: (r) => ({ seed: r.has('seed') ? r.int('seed') : undefined }),
  inferTypes(inputs, _attrs, _ctx, outputCount) {
    const x = required(inputs, 0, 'Dropout data');
    checkDType('Dropout', x.dtype, DROPOUT_TYPES, 'data');
    if (inputs[1]) checkDType('Dropout', inputs[1].dtype, DROPOUT_TYPES, 'ratio');
    if (inputs[2]) checkDType('Dropout', inputs[2].dtype, ['bool'], 'training_mode');
    const out = [{ dtype: x.dtype, shape: x.shape }];
    if (outputCount > 1) out.push({ dtype: 'bool', shape: x.shape });
    return out;
  },
  run(inputs, _attrs, outputCount) {
    const x = need(inputs[0], 'Dropout data');
    const training = inputs[2];
    if (training && training.size > 0 && (training.data as Uint8Array)[0] !== 0) {
      const ratio = inputs[1] && inputs[1].size > 0 ? readNumbers(inputs[1])[0] : 0.5;
      if (ratio !== 0) {
        throw new Error(`Dropout training mode is not supported (training_mode is true, ratio ${ratio}); `
          + 'the reference executor runs inference only');
      }
    }
    const out = [new Tensor(x.dtype, x.shape, x.data.slice() as TensorData)];
    if (outputCount > 1) out.push(new Tensor('bool', x.shape, new Uint8Array(x.size).fill(1)));
    return out;
  },
};

export const activationOps: OpDef<any>[] = [
  unaryOp({
    name: 'Relu', types: SIGNED_NUMERIC,
    // branch-free: v * (v > 0) keeps NaN; the rare NaN result of -Inf * 0 is fixed up
    float: (x, y) => {
      for (let i = 0; i < x.length; i++) {
        const v = x[i];
        const r = v * Number(v > 0) + 0; // + 0 turns -0 into 0
        y[i] = r === r ? r : v === v ? 0 : v;
      }
    },
    int: (x, y) => { for (let i = 0; i < x.length; i++) { const v = x[i]; y[i] = v < 0 ? 0 : v; } },
    big: (x, y) => { for (let i = 0; i < x.length; i++) { const v = x[i]; y[i] = v < 0n ? 0n : v; } },
  }),
  unaryOp({
    name: 'LeakyRelu', types: FLOATS,
    attrs: (r) => ({ alpha: r.float('alpha', 0.01) }),
    float: (x, y, { alpha }) => {
      const factor = Float64Array.of(1, alpha); // indexed by (v < 0): a select without a branch
      for (let i = 0; i < x.length; i++) { const v = x[i]; y[i] = v * factor[Number(v < 0)]; }
    },
  }),
  unaryOp({
    name: 'Elu', types: FLOATS,
    attrs: (r) => ({ alpha: r.float('alpha', 1) }),
    float: (x, y, { alpha }) => {
      for (let i = 0; i < x.length; i++) { const v = x[i]; y[i] = v < 0 ? alpha * Math.expm1(v) : v; }
    },
  }),
  unaryOp({
    name: 'Sigmoid', types: FLOATS,
    // e = exp(-|x|) never overflows; sigmoid = 1/(1+e) for x >= 0, e/(1+e) otherwise (branch-free)
    float: (x, y) => {
      for (let i = 0; i < x.length; i++) {
        const v = x[i];
        const e = Math.exp(-Math.abs(v));
        const pos = Number(v >= 0);
        y[i] = (pos + (1 - pos) * e) / (1 + e);
      }
    },
  }),
  unaryOp({
    name: 'HardSigmoid', types: FLOATS,
    attrs: (r) => ({ alpha: r.float('alpha', 0.2), beta: r.float('beta', 0.5) }),
    float: (x, y, { alpha, beta }) => {
      for (let i = 0; i < x.length; i++) { const v = alpha * x[i] + beta; y[i] = v < 0 ? 0 : v > 1 ? 1 : v; }
    },
  }),
  unaryOp({
    name: 'HardSwish', types: FLOATS,
    float: (x, y) => {
      for (let i = 0; i < x.length; i++) {
        const v = x[i];
        const g = v / 6 + 0.5;
        y[i] = v * (g < 0 ? 0 : g > 1 ? 1 : g);
      }
    },
  }),
  unaryOp({
    name: 'Softplus', types: FLOATS,
    float: (x, y) => {
      for (let i = 0; i < x.length; i++) {
        const v = x[i];
        y[i] = v > 0 ? v + Math.log1p(Math.exp(-v)) : Math.log1p(Math.exp(v));
      }
    },
  }),
  unaryOp({
    name: 'Gelu', types: FLOATS,
    attrs: (r) => ({ approximate: r.oneOf('approximate', r.string('approximate', 'none'), ['none', 'tanh']) }),
    float: (x, y, { approximate }) => {
      if (approximate === 'tanh') {
        for (let i = 0; i < x.length; i++) {
          const v = x[i];
          y[i] = 0.5 * v * (1 + Math.tanh(GELU_TANH_C * (v + 0.044715 * v * v * v)));
        }
      } else {
        for (let i = 0; i < x.length; i++) { const v = x[i]; y[i] = 0.5 * v * (1 + erf(v * SQRT1_2)); }
      }
    },
  }),
  dropout,
];
