/**
 * Variadic elementwise ops Sum, Mean, Max, Min (one or more inputs, numpy broadcasting across all of
 * them) and Clip (x with optional scalar min/max inputs).
 *
 * The variadic ops fold the inputs into an accumulator of the broadcast output shape: the first input
 * is broadcast into it, every further one is broadcast and combined in one tight loop. Floats fold in
 * f32/f64 storage (f16/bf16 through f32); Max/Min propagate NaN like numpy.maximum/minimum; Mean
 * divides the sum by the input count at the end. Clip computes min(max(x, lo), hi), so lo > hi gives
 * hi everywhere (as ONNX's reference does) and NaN stays NaN; omitted bounds do not clip.
 */
import type { DType } from '../ir/dtype.ts';
import { Tensor, readNumbers } from '../ir/tensor.ts';
import type { OpDef } from './registry.ts';
import { required } from './support.ts';
import {
  type BigArray, type FloatArray, type NumberArray, FLOATS, NUMERIC, broadcastData, broadcastTensors, broadcastType,
  checkDType, floatBuffer, floatResult, floatValues, laneOf, need,
} from './elementwise.ts';

/** How one variadic op folds a broadcast input `v` into the accumulator `acc`, per lane. */
interface FoldSpec {
  readonly name: string;
  readonly types: readonly DType[];
  readonly float: (acc: FloatArray, v: FloatArray) => void;
  readonly int?: (acc: NumberArray, v: NumberArray) => void;
  readonly big?: (acc: BigArray, v: BigArray) => void;
  /** Final step on float accumulators (Mean divides by the input count). */
  readonly finish?: (acc: FloatArray, count: number) => void;
}

function variadicOp(spec: FoldSpec): OpDef<Record<string, never>> {
  const { name, types } = spec;
  return {
    name,
    inputs: [1, Infinity],
    outputs: [1, 1],
    elementwise: true,
    inPlace: 'all',
    parseAttrs: () => ({}),
    inferTypes(inputs) {
      if (inputs.some((t) => !t)) throw new Error(`${name} inputs cannot be omitted`);
      return [broadcastType(name, inputs, types, inputs.map((_, i) => `input ${i}`))];
    },
    run(inputs) {
      const ts = inputs.map((t, i) => need(t, `${name} input ${i}`));
      const dtype = ts[0].dtype;
      checkDType(name, dtype, types, 'input 0');
      ts.forEach((t, i) => { if (t.dtype !== dtype) throw new Error(`${name} input ${i} has dtype ${t.dtype} but input 0 has ${dtype}`); });
      const shape = broadcastTensors(ts);
      const lane = laneOf(dtype);
      if (lane === 'float') {
        const acc = floatBuffer(dtype, shape.reduce((p, d) => p * d, 1));
        acc.set(broadcastData(floatValues(ts[0]), ts[0].shape, shape));
        for (let k = 1; k < ts.length; k++) spec.float(acc, broadcastData(floatValues(ts[k]), ts[k].shape, shape));
        spec.finish?.(acc, ts.length);
        return [floatResult(dtype, shape, acc)];
      }
      const out = Tensor.zeros(dtype, shape);
      if (lane === 'int' && spec.int) {
        const acc = out.data as NumberArray;
        acc.set(broadcastData(ts[0].data as NumberArray, ts[0].shape, shape));
        for (let k = 1; k < ts.length; k++) spec.int(acc, broadcastData(ts[k].data as NumberArray, ts[k].shape, shape));
      } else if (lane === 'big' && spec.big) {
        const acc = out.data as BigArray;
        (acc as BigInt64Array).set(broadcastData(ts[0].data as BigInt64Array, ts[0].shape, shape));
        for (let k = 1; k < ts.length; k++) spec.big(acc, broadcastData(ts[k].data as BigArray, ts[k].shape, shape));
      } else throw new Error(`${name} has no kernel for dtype ${dtype}`);
      return [out];
    },
  };
}

interface ClipBounds<T> { lo?: T; hi?: T }

/** Reads Clip's optional scalar bound input k (an empty tensor counts as omitted). */
function clipBound(t: Tensor | undefined, dtype: DType, what: string): Tensor | undefined {
  if (!t || t.size === 0) return undefined;
  if (t.dtype !== dtype) throw new Error(`Clip ${what} has dtype ${t.dtype} but input has ${dtype}`);
  if (t.size !== 1) throw new Error(`Clip ${what} must be a scalar, got shape [${t.shape.join(',')}]`);
  return t;
}

const clip: OpDef<Record<string, never>> = {
  name: 'Clip',
  inputs: [1, 3],
  outputs: [1, 1],
  elementwise: true,
  inPlace: 'all',
  parseAttrs: () => ({}),
  inferTypes(inputs) {
    const x = required(inputs, 0, 'Clip input');
    checkDType('Clip', x.dtype, NUMERIC);
    ['min', 'max'].forEach((what, k) => {
      const t = inputs[k + 1];
      if (t && t.dtype !== x.dtype) throw new Error(`Clip ${what} has dtype ${t.dtype} but input has ${x.dtype}`);
    });
    return [{ dtype: x.dtype, shape: x.shape }];
  },
  run(inputs) {
    const x = need(inputs[0], 'Clip input');
    checkDType('Clip', x.dtype, NUMERIC);
    const lo = clipBound(inputs[1], x.dtype, 'min');
    const hi = clipBound(inputs[2], x.dtype, 'max');
    const lane = laneOf(x.dtype);
    if (lane === 'big') {
      const b: ClipBounds<bigint> = { lo: lo && (lo.data as BigArray)[0], hi: hi && (hi.data as BigArray)[0] };
      const src = x.data as BigArray;
      const out = Tensor.zeros(x.dtype, x.shape);
      const y = out.data as BigArray;
      for (let i = 0; i < src.length; i++) {
        let v = src[i];
        if (b.lo !== undefined && v < b.lo) v = b.lo;
        if (b.hi !== undefined && v > b.hi) v = b.hi;
        y[i] = v;
      }
      return [out];
    }
    const l = lo ? readNumbers(lo)[0] : -Infinity;
    const h = hi ? readNumbers(hi)[0] : Infinity;
    if (lane === 'float') {
      const y = floatBuffer(x.dtype, x.size);
      clampLoop(floatValues(x), y, l, h);
      return [floatResult(x.dtype, x.shape, y)];
    }
    const out = Tensor.zeros(x.dtype, x.shape);
    clampLoop(x.data as NumberArray, out.data as NumberArray, l, h);
    return [out];
  },
};

/**
 * y = min(max(x, l), h), selecting through two-entry tables indexed by the comparison so there are no
 * data-dependent branches (Relu6 inputs are half below the bound, which a branch would mispredict).
 */
function clampLoop(src: NumberArray, y: NumberArray, l: number, h: number): void {
  const low = Float64Array.of(0, l);
  const high = Float64Array.of(0, h);
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    low[0] = v;
    const w = low[Number(v < l)];
    high[0] = w;
    y[i] = high[Number(w > h)];
  }
}

export const variadicOps: OpDef<any>[] = [
  variadicOp({
    name: 'Sum', types: FLOATS,
    float: (acc, v) => { for (let i = 0; i < acc.length; i++) acc[i] += v[i]; },
  }),
  variadicOp({
    name: 'Mean', types: FLOATS,
    float: (acc, v) => { for (let i = 0; i < acc.length; i++) acc[i] += v[i]; },
    finish: (acc, count) => { for (let i = 0; i < acc.length; i++) acc[i] /= count; },
  }),
  variadicOp({
    name: 'Max', types: NUMERIC,
    float: (acc, v) => { for (let i = 0; i < acc.length; i++) { const u = v[i]; if (u > acc[i] || u !== u) acc[i] = u; } },
    int: (acc, v) => { for (let i = 0; i < acc.length; i++) { const u = v[i]; if (u > acc[i]) acc[i] = u; } },
    big: (acc, v) => { for (let i = 0; i < acc.length; i++) { const u = v[i]; if (u > acc[i]) acc[i] = u; } },
  }),
  variadicOp({
    name: 'Min', types: NUMERIC,
    float: (acc, v) => { for (let i = 0; i < acc.length; i++) { const u = v[i]; if (u < acc[i] || u !== u) acc[i] = u; } },
    int: (acc, v) => { for (let i = 0; i < acc.length; i++) { const u = v[i]; if (u < acc[i]) acc[i] = u; } },
    big: (acc, v) => { for (let i = 0; i < acc.length; i++) { const u = v[i]; if (u < acc[i]) acc[i] = u; } },
  }),
  clip,
];
