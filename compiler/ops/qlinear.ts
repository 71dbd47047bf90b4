/**
 * Op family 'qlinear': the integer-arithmetic convolution and matrix product ops on quantized
 * tensors: ConvInteger, MatMulInteger (i32 accumulators) and QLinearConv, QLinearMatMul (requantized
 * to the output zero point's type). The quantize/dequantize ops and the shared helpers are in
 * quantize.ts.
 *
 * Algorithm: each operand has its zero point subtracted (per tensor, or per row of A / column of B /
 * output channel of W, through quantize.ts's `paramOffsets`) into an f64 tensor, and the product runs
 * on the float reference kernels of Conv (conv.ts) and MatMul (matmul.ts). That is exact: the operands
 * are integers below 2^16 in magnitude, so every product and partial sum is an integer far below 2^53.
 * The Integer ops store the accumulators as i32. The QLinear ops add the optional i32 bias (QLinearConv),
 * then scale each accumulator by (scale_x · scale_w / scale_y), computed in the scales' dtype (f32 or
 * f16, each step rounded to it), add the output zero point, round half to even and saturate.
 */
import type { DType } from '../ir/dtype.ts';
import type { TensorType } from '../ir/graph.ts';
import { Tensor, readNumbers } from '../ir/tensor.ts';
import type { FlopsRule, OpDef, ShapeContext } from './registry.ts';
import { convFlops, matmulFlops } from './flops.ts';
import { FLOAT_TYPES, expectDType, required } from './support.ts';
import { type ConvAttrs, checkBias, conv, convOps, readConvAttrs } from './conv.ts';
import { matmul, matmulShape } from './matmul.ts';
import { paramOffsets, rounderOf, roundHalfEven, saturate } from './quantize.ts';

/** The 8-bit operand (and QLinear output) types. */
const INT8_TYPES: readonly DType[] = ['i8', 'u8'];

/** Checks an operand type and its optional zero point's (same dtype, at most 1-D). */
function checkOperand(op: string, t: TensorType, zp: TensorType | undefined, names: [string, string], allowed: readonly DType[]): void {
  expectDType(t.dtype, allowed, `${op} ${names[0]}`);
  if (!zp) return;
  if (zp.dtype !== t.dtype) throw new Error(`${op}: ${names[1]} has dtype ${zp.dtype} but ${names[0]} has ${t.dtype}`);
  if (zp.shape.length > 1) throw new Error(`${op}: ${names[1]} [${zp.shape.join(',')}] must be a scalar or 1-D`);
}

/** Checks a scale: a float scalar or 1-D tensor. */
function checkScale(op: string, s: TensorType, name: string): void {
  expectDType(s.dtype, FLOAT_TYPES, `${op} ${name}`);
  if (s.shape.length > 1) throw new Error(`${op}: ${name} [${s.shape.join(',')}] must be a scalar or 1-D`);
}

/**
 * `t` minus its zero point as an f64 tensor; a 1-D zero point of more than one element applies along
 * `axis` of t (rows of A, columns of B, output channels of W).
 */
function centered(t: Tensor, zp: Tensor | undefined, axis: number, what: string): Tensor {
  const v = readNumbers(t);
  const out = Float64Array.from(v);
  if (zp) {
    const z = readNumbers(zp);
    const off = paramOffsets(t.shape, zp.shape, { axis, blockSize: 0 }, what);
    for (let i = 0; i < out.length; i++) out[i] -= z[off[i]];
  }
  return new Tensor('f64', t.shape, out);
}

/** The i32 tensor of exact integer accumulators held in an f64 tensor. */
function toI32(y: Tensor): Tensor {
  return new Tensor('i32', y.shape, Int32Array.from(y.data as Float64Array));
}

/**
 * Requantizes accumulators `acc` (f64, shape `shape`): acc · (sa · sb / sy) + zy, rounded half to even
 * and saturated to `to`. Each scale is per tensor or 1-D along its axis of the output.
 */
function requantize(acc: Float64Array, shape: readonly number[], to: DType,
  scales: readonly [Tensor, number][], yScale: [Tensor, number], yZero: Tensor | undefined): Tensor {
  const r = rounderOf(scales[0][0].dtype);
  const offs = scales.map(([s, axis]) => paramOffsets(shape, s.shape, { axis, blockSize: 0 }, 'scale'));
  const vals = scales.map(([s]) => readNumbers(s));
  const yOff = paramOffsets(shape, yScale[0].shape, { axis: yScale[1], blockSize: 0 }, 'y_scale');
  const ys = readNumbers(yScale[0]);
  const zOff = yZero ? paramOffsets(shape, yZero.shape, { axis: yScale[1], blockSize: 0 }, 'y_zero_point') : undefined;
  const zs = yZero ? readNumbers(yZero) : undefined;
  const out = Tensor.zeros(to, shape);
  const dst = out.data as Int8Array | Uint8Array;
  for (let i = 0; i < acc.length; i++) {
    let m = vals[0][offs[0][i]];
    for (let k = 1; k < vals.length; k++) m = r(m * vals[k][offs[k][i]]);
    m = r(m / ys[yOff[i]]);
    dst[i] = saturate(roundHalfEven(acc[i] * m + (zs ? zs[zOff![i]] : 0)), to);
  }
  return out;
}

/** Conv's shape rule applied to integer operands (X and W as if f32), giving `dtype`. */
function convShape(x: TensorType, w: TensorType, a: ConvAttrs, ctx: ShapeContext, dtype: DType): TensorType {
  const def = convOps.find((d) => d.name === 'Conv')!;
  const [y] = def.inferTypes([{ dtype: 'f32', shape: x.shape }, { dtype: 'f32', shape: w.shape }], a, ctx, 1);
  return { dtype, shape: y.shape };
}

/** A FLOPs rule reading the product's operands from other input positions. */
const remapFlops = (rule: FlopsRule<any>, a: number, b: number): FlopsRule<any> => (i, o, at) => rule([i[a], i[b]], o, at);

const ConvInteger: OpDef<ConvAttrs> = {
  name: 'ConvInteger',
  inputs: [2, 4],
  outputs: [1, 1],
  flops: convFlops,
  parseAttrs: readConvAttrs,
  inferTypes(inputs, a, ctx) {
    const x = required(inputs, 0, 'ConvInteger x'), w = required(inputs, 1, 'ConvInteger w');
    checkOperand('ConvInteger', x, inputs[2], ['x', 'x_zero_point'], INT8_TYPES);
    checkOperand('ConvInteger', w, inputs[3], ['w', 'w_zero_point'], INT8_TYPES);
    return [convShape(x, w, a, ctx, 'i32')];
  },
  run(inputs, a) {
    const x = centered(inputs[0]!, inputs[2], 1, 'x_zero_point');
    const w = centered(inputs[1]!, inputs[3], 0, 'w_zero_point');
    return [toI32(conv(x, w, undefined, a))];
  },
};

const MatMulInteger: OpDef<null> = {
  name: 'MatMulInteger',
  inputs: [2, 4],
  outputs: [1, 1],
  flops: matmulFlops,
  parseAttrs: () => null,
  inferTypes(inputs) {
    const a = required(inputs, 0, 'MatMulInteger A'), b = required(inputs, 1, 'MatMulInteger B');
    checkOperand('MatMulInteger', a, inputs[2], ['A', 'a_zero_point'], INT8_TYPES);
    checkOperand('MatMulInteger', b, inputs[3], ['B', 'b_zero_point'], INT8_TYPES);
    return [{ dtype: 'i32', shape: matmulShape(a.shape, b.shape) }];
  },
  run(inputs) {
    const a = inputs[0]!, b = inputs[1]!;
    return [toI32(matmul(centered(a, inputs[2], Math.max(0, a.shape.length - 2), 'a_zero_point'),
      centered(b, inputs[3], b.shape.length - 1, 'b_zero_point')))];
  },
};

/** The output dtype of a QLinear op: its y_zero_point's, else its first operand's. */
function qlinearOutType(op: string, y0: TensorType, zp: TensorType | undefined): DType {
  const to = zp?.dtype ?? y0.dtype;
  if (!INT8_TYPES.includes(to)) throw new Error(`${op}: y_zero_point has dtype ${to}; expected one of ${INT8_TYPES.join(', ')}`);
  return to;
}

const QLinearConv: OpDef<ConvAttrs> = {
  name: 'QLinearConv',
  inputs: [8, 9],
  outputs: [1, 1],
  flops: remapFlops(convFlops, 0, 3),
  parseAttrs: readConvAttrs,
  inferTypes(inputs, a, ctx) {
    const op = 'QLinearConv';
    const x = required(inputs, 0, `${op} x`), w = required(inputs, 3, `${op} w`);
    checkOperand(op, x, inputs[2], ['x', 'x_zero_point'], INT8_TYPES);
    checkOperand(op, w, inputs[5], ['w', 'w_zero_point'], INT8_TYPES);
    checkScale(op, required(inputs, 1, `${op} x_scale`), 'x_scale');
    checkScale(op, required(inputs, 4, `${op} w_scale`), 'w_scale');
    checkScale(op, required(inputs, 6, `${op} y_scale`), 'y_scale');
    const y = convShape(x, w, a, ctx, qlinearOutType(op, x, inputs[7]));
    const b = inputs[8];
    if (b) {
      expectDType(b.dtype, ['i32'], `${op} B`);
      checkBias(op, b, w.shape[0]);
    }
    return [y];
  },
  run(inputs, a) {
    const [x, xs, xz, w, ws, wz, ys, yz, b] = inputs;
    const xc = centered(x!, xz, 1, 'x_zero_point');
    const wc = centered(w!, wz, 0, 'w_zero_point');
    const bias = b ? new Tensor('f64', b.shape, readNumbers(b)) : undefined;
    const acc = conv(xc, wc, bias, a);
    const to = yz?.dtype ?? x!.dtype;
    return [requantize(acc.data as Float64Array, acc.shape, to, [[xs!, 1], [ws!, 1]], [ys!, 1], yz)];
  },
};

const QLinearMatMul: OpDef<null> = {
  name: 'QLinearMatMul',
  inputs: [8, 8],
  outputs: [1, 1],
  flops: remapFlops(matmulFlops, 0, 3),
  parseAttrs: () => null,
  inferTypes(inputs) {
    const op = 'QLinearMatMul';
    const a = required(inputs, 0, `${op} a`), b = required(inputs, 3, `${op} b`);
    checkOperand(op, a, inputs[2], ['a', 'a_zero_point'], INT8_TYPES);
    checkOperand(op, b, inputs[5], ['b', 'b_zero_point'], INT8_TYPES);
    checkScale(op, required(inputs, 1, `${op} a_scale`), 'a_scale');
    checkScale(op, required(inputs, 4, `${op} b_scale`), 'b_scale');
    checkScale(op, required(inputs, 6, `${op} y_scale`), 'y_scale');
    return [{ dtype: qlinearOutType(op, a, inputs[7]), shape: matmulShape(a.shape, b.shape) }];
  },
  run(inputs) {
    const [a, as, az, b, bs, bz, ys, yz] = inputs;
    const rowA = Math.max(0, a!.shape.length - 2);
    const acc = matmul(centered(a!, az, rowA, 'a_zero_point'), centered(b!, bz, b!.shape.length - 1, 'b_zero_point'));
    const rank = acc.shape.length;
    const row = Math.max(0, rank - 2), col = rank - 1;
    const to = yz?.dtype ?? a!.dtype;
    return [requantize(acc.data as Float64Array, acc.shape, to, [[as!, row], [bs!, col]], [ys!, row], yz)];
  },
};

export const qlinearOps: OpDef<any>[] = [ConvInteger, MatMulInteger, QLinearConv, QLinearMatMul];
