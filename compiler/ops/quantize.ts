/**
 * Op family 'quantize': QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear (every ONNX
 * version up to 25). The integer-arithmetic ops built on them (QLinearConv, QLinearMatMul,
 * ConvInteger, MatMulInteger) live in qlinear.ts and share this file's helpers.
 *
 * Granularity: the scale (and zero point, same shape) is either
 *   - a scalar / one-element tensor (per tensor),
 *   - a 1-D tensor of x.shape[axis] elements (per axis), or
 *   - a tensor of x's rank with x's dims except ceil(x.shape[axis] / block_size) along `axis`
 *     (blocked; block_size > 0).
 * `paramOffsets` maps every element of x to the offset of its scale once, so the kernels are one loop.
 *
 * QuantizeLinear: q = x / scale, computed in the precision of the `precision` attribute or else of the
 * scale's dtype (each operand and the quotient rounded to it), then
 *   - integer outputs: round half to even, add the zero point, clamp to the type's range;
 *   - float8/float4 outputs: add the (decoded) zero point and encode, clamping when `saturate`.
 * The output dtype is the zero point's, else `output_dtype`, else u8.
 * DequantizeLinear: y = (x - zero_point) * scale, in the output dtype (`output_dtype`, else the
 * scale's), x and zero point decoded for float8/float4 inputs.
 * DynamicQuantizeLinear: u8 quantization of an f32 tensor with a range [min(0, min x), max(0, max x)]
 * mapped onto [0, 255], everything in f32 as the ONNX function body computes it.
 */
import type { DType } from '../ir/dtype.ts';
import { dtypeInfo } from '../ir/dtype.ts';
import type { Dim, TensorType } from '../ir/graph.ts';
import { Tensor, readNumbers, stridesOf } from '../ir/tensor.ts';
import { narrowFloatCodec } from '../ir/floatbits.ts';
import { AttrError, type AttrReader, type OpDef } from './registry.ts';
import { FLOAT_TYPES, expectDType, normalizeAxis, required } from './support.ts';
import { ONNX_CODES } from './cast.ts';

/** Saturation ranges of the integer types a quantized tensor may have. */
export const QUANT_INT_RANGES: Readonly<Partial<Record<DType, readonly [number, number]>>> = {
  u8: [0, 255], i8: [-128, 127], u16: [0, 65535], i16: [-32768, 32767],
  u4: [0, 15], i4: [-8, 7], u2: [0, 3], i2: [-2, 1],
};
/** Float types QuantizeLinear may produce. */
const QUANT_FLOATS: readonly DType[] = ['f8e4m3fn', 'f8e4m3fnuz', 'f8e5m2', 'f8e5m2fnuz', 'f4e2m1'];
/** Every dtype QuantizeLinear may produce. */
const QUANT_TYPES: readonly DType[] = [...(Object.keys(QUANT_INT_RANGES) as DType[]), ...QUANT_FLOATS];
/** Every dtype DequantizeLinear accepts (i32 without a zero point). */
const DEQUANT_TYPES: readonly DType[] = [...QUANT_TYPES, 'i32'];

/** Rounds to the nearest integer, ties to even (numpy's rint). NaN stays NaN. */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f;
}

/** Clamps an integer to the range of quantized integer type `dtype`. */
export function saturate(v: number, dtype: DType): number {
  const [lo, hi] = QUANT_INT_RANGES[dtype]!;
  return v < lo ? lo : v > hi ? hi : v;
}

/** A function rounding a double to the nearest value of float dtype `dtype` (identity for f64). */
export function rounderOf(dtype: DType): (v: number) => number {
  if (dtype === 'f64') return (v) => v;
  if (dtype === 'f32') return Math.fround;
  const codec = narrowFloatCodec(dtype);
  return (v) => codec.decode(codec.encode(v, false));
}

/** Reads an ONNX data type attribute (0 or absent: undefined) restricted to `allowed`. */
function dtypeAttr(r: AttrReader, name: string, allowed: readonly DType[]): DType | undefined {
  const code = r.int(name, 0);
  if (code === 0) return undefined;
  const d = ONNX_CODES[code];
  if (!d || !allowed.includes(d)) throw new AttrError(name, `data type ${code}${d ? ` (${d})` : ''} is not allowed; expected one of ${allowed.join(', ')}`);
  return d;
}

/** Attributes shared by QuantizeLinear and DequantizeLinear. */
export interface QuantAxisAttrs {
  /** The quantized axis for per-axis and blocked scales (may be negative). */
  readonly axis: number;
  /** Elements along `axis` sharing one scale; 0 when not blocked. */
  readonly blockSize: number;
  /** The output dtype from `output_dtype`, when given. */
  readonly outputDType?: DType;
}

/** QuantizeLinear attributes. */
export interface QuantizeAttrs extends QuantAxisAttrs {
  /** Float8 overflow clamps to the largest finite value (default true). */
  readonly saturate: boolean;
  /** The dtype of the division x / scale (default: the scale's). */
  readonly precision?: DType;
}

function readAxisAttrs(r: AttrReader, outputs: readonly DType[]): QuantAxisAttrs {
  const axis = r.int('axis', 1);
  const blockSize = r.int('block_size', 0);
  if (blockSize < 0) throw new AttrError('block_size', `must be >= 0, got ${blockSize}`);
  return { axis, blockSize, outputDType: dtypeAttr(r, 'output_dtype', outputs) };
}

/**
 * Checks a scale/zero-point shape against x's (static dims only) and returns a message naming the
 * problem, or undefined. `what` names the parameter.
 */
function paramProblem(x: readonly Dim[], p: readonly Dim[], a: QuantAxisAttrs, what: string): string | undefined {
  const count = p.reduce<number | undefined>((n, d) => (n !== undefined && typeof d === 'number' ? n * d : undefined), 1);
  if (a.blockSize === 0 && p.length <= 1 && count === 1) return undefined; // per tensor
  const axis = normalizeAxis(a.axis, x.length, 'axis');
  const known = (u: Dim, v: Dim) => typeof u !== 'number' || typeof v !== 'number' || u === v;
  if (a.blockSize === 0) {
    if (p.length === 1 && known(p[0], x[axis])) return undefined;
    return `${what} [${p.join(',')}] must be a scalar or 1-D of size ${x[axis]} (x [${x.join(',')}] along axis ${a.axis})`;
  }
  const blocks = typeof x[axis] === 'number' ? Math.ceil((x[axis] as number) / a.blockSize) : x[axis];
  if (p.length === x.length && p.every((d, i) => known(d, i === axis ? blocks : x[i]))) return undefined;
  const want = x.map((d, i) => (i === axis ? blocks : d));
  return `${what} [${p.join(',')}] must be [${want.join(',')}] for x [${x.join(',')}] with block_size ${a.blockSize} along axis ${a.axis}`;
}

/** Checks scale and optional zero point types against x (the shared part of both type rules). */
function checkParams(op: string, x: TensorType, scale: TensorType, zp: TensorType | undefined, a: QuantAxisAttrs, names: [string, string]): void {
  const bad = paramProblem(x.shape, scale.shape, a, names[0]);
  if (bad) throw new Error(`${op}: ${bad}`);
  const scalar = (t: TensorType) => t.shape.length <= 1 && t.shape.every((d) => d === 1);
  if (zp && !(scalar(zp) && scalar(scale)) &&
    (zp.shape.length !== scale.shape.length || zp.shape.some((d, i) => typeof d === 'number' && typeof scale.shape[i] === 'number' && d !== scale.shape[i]))) {
    throw new Error(`${op}: ${names[1]} [${zp.shape.join(',')}] must have the shape of ${names[0]} [${scale.shape.join(',')}]`);
  }
}

/** For each element of x (shape `x`), the flat offset of its scale in a tensor of shape `p`. */
export function paramOffsets(x: readonly number[], p: readonly number[], a: QuantAxisAttrs, what = 'scale'): Int32Array {
  const bad = paramProblem(x, p, a, what);
  if (bad) throw new Error(bad);
  let n = 1;
  for (const d of x) n *= d;
  const out = new Int32Array(n);
  if (a.blockSize === 0 && p.length <= 1 && p.reduce((s, d) => s * d, 1) === 1) return out;
  const axis = normalizeAxis(a.axis, x.length);
  if (a.blockSize === 0) {
    const inner = x.slice(axis + 1).reduce((s, d) => s * d, 1);
    for (let i = 0; i < n; i++) out[i] = Math.floor(i / inner) % x[axis];
    return out;
  }
  const ps = stridesOf(p);
  const idx = new Array<number>(x.length).fill(0);
  for (let i = 0; i < n; i++) {
    let off = 0;
    for (let d = 0; d < x.length; d++) off += (d === axis ? Math.floor(idx[d] / a.blockSize) : idx[d]) * ps[d];
    out[i] = off;
    for (let d = x.length - 1; d >= 0; d--) {
      if (++idx[d] < x[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** The output dtype of QuantizeLinear: the zero point's, else output_dtype, else u8. */
function quantizedDType(zp: DType | undefined, a: QuantizeAttrs): DType {
  if (zp && a.outputDType && zp !== a.outputDType) {
    throw new AttrError('output_dtype', `QuantizeLinear: output_dtype ${a.outputDType} differs from y_zero_point's dtype ${zp}`);
  }
  return zp ?? a.outputDType ?? 'u8';
}

/** Runs QuantizeLinear on concrete tensors. */
export function quantize(x: Tensor, scale: Tensor, zp: Tensor | undefined, a: QuantizeAttrs): Tensor {
  const to = quantizedDType(zp?.dtype, a);
  const off = paramOffsets(x.shape, scale.shape, a);
  const xs = readNumbers(x), ss = readNumbers(scale), zs = zp ? readNumbers(zp) : undefined;
  const r = rounderOf(a.precision ?? scale.dtype);
  const q = new Float64Array(x.size);
  for (let i = 0; i < q.length; i++) q[i] = r(r(xs[i]) / r(ss[off[i]]));
  const out = Tensor.zeros(to, x.shape);
  const dst = out.data as Int8Array | Uint8Array | Int16Array | Uint16Array;
  if (QUANT_INT_RANGES[to]) {
    for (let i = 0; i < q.length; i++) dst[i] = saturate(roundHalfEven(q[i]) + (zs ? zs[off[i]] : 0), to);
  } else {
    const codec = narrowFloatCodec(to);
    for (let i = 0; i < q.length; i++) dst[i] = codec.encode(zs ? Math.fround(q[i] + zs[off[i]]) : q[i], a.saturate);
  }
  return out;
}

/** Runs DequantizeLinear on concrete tensors: (x - zero_point) * scale in dtype `to`. */
export function dequantize(x: Tensor, scale: Tensor, zp: Tensor | undefined, a: QuantAxisAttrs, to: DType): Tensor {
  const off = paramOffsets(x.shape, scale.shape, a, 'x_scale');
  const xs = readNumbers(x), ss = readNumbers(scale), zs = zp ? readNumbers(zp) : undefined;
  const r = rounderOf(to);
  const y = new Float64Array(x.size);
  for (let i = 0; i < y.length; i++) {
    const d = zs ? (dtypeInfo(x.dtype).isFloat ? Math.fround(xs[i] - zs[off[i]]) : xs[i] - zs[off[i]]) : xs[i];
    y[i] = r(d * r(ss[off[i]]));
  }
  return Tensor.fromNumbers(to, x.shape, y);
}

const QuantizeLinear: OpDef<QuantizeAttrs> = {
  name: 'QuantizeLinear',
  inputs: [2, 3],
  outputs: [1, 1],
  parseAttrs(r) {
    const base = readAxisAttrs(r, QUANT_TYPES);
    return {
      ...base,
      saturate: r.oneOf('saturate', r.int('saturate', 1), [0, 1]) === 1,
      precision: dtypeAttr(r, 'precision', FLOAT_TYPES),
    };
  },
  inferTypes(inputs, a) {
    const x = required(inputs, 0, 'QuantizeLinear x');
    const scale = required(inputs, 1, 'QuantizeLinear y_scale');
    const zp = inputs[2];
    expectDType(x.dtype, [...FLOAT_TYPES, 'i32'], 'QuantizeLinear x');
    expectDType(scale.dtype, FLOAT_TYPES, 'QuantizeLinear y_scale');
    if (zp) expectDType(zp.dtype, QUANT_TYPES, 'QuantizeLinear y_zero_point');
    checkParams('QuantizeLinear', x, scale, zp, a, ['y_scale', 'y_zero_point']);
    return [{ dtype: quantizedDType(zp?.dtype, a), shape: x.shape }];
  },
  run(inputs, a) {
    return [quantize(inputs[0]!, inputs[1]!, inputs[2], a)];
  },
};

const DequantizeLinear: OpDef<QuantAxisAttrs> = {
  name: 'DequantizeLinear',
  inputs: [2, 3],
  outputs: [1, 1],
  parseAttrs: (r) => readAxisAttrs(r, FLOAT_TYPES),
  inferTypes(inputs, a) {
    const x = required(inputs, 0, 'DequantizeLinear x');
    const scale = required(inputs, 1, 'DequantizeLinear x_scale');
    const zp = inputs[2];
    expectDType(x.dtype, DEQUANT_TYPES, 'DequantizeLinear x');
    expectDType(scale.dtype, FLOAT_TYPES, 'DequantizeLinear x_scale');
    if (zp && zp.dtype !== x.dtype) throw new Error(`DequantizeLinear: x_zero_point has dtype ${zp.dtype} but x has ${x.dtype}`);
    checkParams('DequantizeLinear', x, scale, zp, a, ['x_scale', 'x_zero_point']);
    return [{ dtype: a.outputDType ?? scale.dtype, shape: x.shape }];
  },
  run(inputs, a) {
    const scale = inputs[1]!;
    return [dequantize(inputs[0]!, scale, inputs[2], a, a.outputDType ?? scale.dtype)];
  },
};

/** Runs DynamicQuantizeLinear: [y (u8), y_scale (f32 scalar), y_zero_point (u8 scalar)]. */
export function dynamicQuantize(x: Tensor): Tensor[] {
  const xs = readNumbers(x);
  let lo = 0, hi = 0;
  for (let i = 0; i < xs.length; i++) {
    if (xs[i] < lo) lo = xs[i];
    if (xs[i] > hi) hi = xs[i];
  }
  const f = Math.fround;
  const scale = f(f(hi - lo) / 255);
  const zp = scale === 0 ? 0 : saturate(roundHalfEven(f(0 - f(lo / scale))), 'u8');
  const y = new Uint8Array(xs.length);
  if (scale !== 0) for (let i = 0; i < xs.length; i++) y[i] = saturate(roundHalfEven(f(xs[i] / scale)) + zp, 'u8');
  else y.fill(zp);
  return [new Tensor('u8', x.shape, y), new Tensor('f32', [], Float32Array.of(scale)), new Tensor('u8', [], Uint8Array.of(zp))];
}

const DynamicQuantizeLinear: OpDef<null> = {
  name: 'DynamicQuantizeLinear',
  inputs: [1, 1],
  outputs: [3, 3],
  parseAttrs: () => null,
  inferTypes(inputs) {
    const x = required(inputs, 0, 'DynamicQuantizeLinear x');
    expectDType(x.dtype, ['f32'], 'DynamicQuantizeLinear x');
    return [{ dtype: 'u8', shape: x.shape }, { dtype: 'f32', shape: [] }, { dtype: 'u8', shape: [] }];
  },
  run(inputs) {
    return dynamicQuantize(inputs[0]!);
  },
};

export const quantizeOps: OpDef<any>[] = [QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear];
