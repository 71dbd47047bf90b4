/**
 * Op family 'reduce': ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2,
 * ReduceLogSum, ReduceLogSumExp, ReduceSumSquare — newest form: `axes` is an optional i64 input
 * (an `axes` attribute from older exports is accepted too), plus keepdims and noop_with_empty_axes.
 *
 * Semantics: no axes reduces every axis, unless noop_with_empty_axes=1 (then the op is the identity).
 * Reducing an empty set gives the identity of the reduction: 0 for Sum/L1/L2/SumSquare, 1 for Prod,
 * -inf for LogSum/LogSumExp, NaN for Mean, and for Max/Min -inf/+inf (floats) or the dtype's
 * smallest/largest value (integers; false/true for bool).
 *
 * Algorithm: two index maps are built once per call — the flat input offset of the first element of
 * every output position (an odometer over the kept axes) and the offsets of every reduced position
 * relative to it — then each output is one tight loop over the reduced offsets. Floats and integers
 * that fit f64 accumulate in f64 (integer results truncated and wrapped on store; 32-bit products use
 * Math.imul so they wrap exactly); i64/u64 Sum/Prod/Max/Min/L1/SumSquare/Mean run in BigInt.
 */
import type { DType } from '../ir/dtype.ts';
import type { Dim } from '../ir/graph.ts';
import { Tensor, readInts, readNumbers, stridesOf } from '../ir/tensor.ts';
import type { OpDef } from './registry.ts';
import { perInputElement } from './flops.ts';
import { NUMERIC_TYPES, expectDType, normalizeAxis, required } from './support.ts';
import { allocFloat, floatTensor } from './float-io.ts';

type Kind = 'sum' | 'mean' | 'max' | 'min' | 'prod' | 'l1' | 'l2' | 'logsum' | 'logsumexp' | 'sumsquare';

/** Reduce attributes. */
export interface ReduceAttrs {
  readonly keepdims: boolean;
  readonly noopWithEmptyAxes: boolean;
  /** Axes given as an attribute by older exports (the input wins when both exist). */
  readonly axesAttr?: readonly number[];
}

/** Resolves the reduced axes (sorted, normalised); null means "identity" (noop with empty axes). */
function resolveAxes(axes: readonly number[] | undefined, rank: number, a: ReduceAttrs): number[] | null {
  if (!axes || axes.length === 0) {
    if (a.noopWithEmptyAxes) return null;
    return Array.from({ length: rank }, (_, i) => i);
  }
  const norm = axes.map((x) => normalizeAxis(x, rank, 'axes value'));
  if (new Set(norm).size !== norm.length) throw new Error(`axes [${axes.join(',')}] repeat an axis`);
  return norm.sort((x, y) => x - y);
}

function reduceDef(name: string, kind: Kind): OpDef<ReduceAttrs> {
  const allowed: readonly DType[] = kind === 'max' || kind === 'min' ? [...NUMERIC_TYPES, 'bool'] : NUMERIC_TYPES;
  return {
    name,
    inputs: [1, 2],
    outputs: [1, 1],
    reduction: { axes: { input: 1, attribute: 'axes' }, result: 'value' },
    flops: perInputElement(1),
    parseAttrs: (r) => ({
      keepdims: r.int('keepdims', 1) !== 0,
      noopWithEmptyAxes: r.int('noop_with_empty_axes', 0) !== 0,
      axesAttr: r.maybeInts('axes'),
    }),
    inferTypes(inputs, a, ctx) {
      const x = required(inputs, 0, 'data');
      expectDType(x.dtype, allowed, 'data');
      const rank = x.shape.length;
      const axesType = inputs[1];
      let axes: readonly number[] | undefined = a.axesAttr;
      if (axesType) {
        if (axesType.dtype !== 'i64') throw new Error(`${name}: axes must be i64, got ${axesType.dtype}`);
        if (axesType.shape.length !== 1) throw new Error(`${name}: axes must be 1-D, got [${axesType.shape.join(',')}]`);
        const v = ctx.value(1);
        if (v) axes = readInts(v);
        else {
          // axes known only at run time: the rank is still known when the axes count is
          const count = axesType.shape[0];
          if (a.keepdims) return [{ dtype: x.dtype, shape: x.shape.map(() => ctx.freshDim()) }];
          if (typeof count !== 'number') throw new Error(`${name}: with keepdims=0 the axes input needs a static length`);
          if (count === 0 && a.noopWithEmptyAxes) return [{ dtype: x.dtype, shape: x.shape }];
          const outRank = count === 0 ? 0 : rank - count;
          return [{ dtype: x.dtype, shape: Array.from({ length: outRank }, () => ctx.freshDim()) }];
        }
      }
      const ax = resolveAxes(axes, rank, a);
      if (!ax) return [{ dtype: x.dtype, shape: x.shape }];
      const shape: Dim[] = [];
      x.shape.forEach((d, i) => {
        if (!ax.includes(i)) shape.push(d);
        else if (a.keepdims) shape.push(1);
      });
      return [{ dtype: x.dtype, shape }];
    },
    run(inputs, a) {
      const x = inputs[0]!;
      const axes = inputs[1] ? readInts(inputs[1]) : a.axesAttr;
      const ax = resolveAxes(axes, x.shape.length, a);
      if (!ax) return [new Tensor(x.dtype, x.shape, x.data.slice() as typeof x.data)];
      return [reduce(x, ax, a.keepdims, kind)];
    },
  };
}

/** Reduces a concrete tensor over sorted, normalised `axes`. */
export function reduce(x: Tensor, axes: readonly number[], keepdims: boolean, kind: Kind): Tensor {
  const rank = x.shape.length;
  const strides = stridesOf(x.shape);
  const kept = [...Array(rank).keys()].filter((i) => !axes.includes(i));
  const outShape: number[] = [];
  x.shape.forEach((d, i) => {
    if (!axes.includes(i)) outShape.push(d);
    else if (keepdims) outShape.push(1);
  });
  const bases = offsetsOver(kept.map((i) => x.shape[i]), kept.map((i) => strides[i]));
  const offs = offsetsOver(axes.map((i) => x.shape[i]), axes.map((i) => strides[i]));
  const dtype = x.dtype;
  if ((dtype === 'i64' || dtype === 'u64') && kind !== 'l2' && kind !== 'logsum' && kind !== 'logsumexp') {
    return new Tensor(dtype, outShape, reduceBig(x.data as BigInt64Array, bases, offs, kind, dtype === 'u64'));
  }
  const xs = readNumbers(x);
  const isFloat = dtype === 'f32' || dtype === 'f64' || dtype === 'f16' || dtype === 'bf16';
  const out = isFloat ? allocFloat(dtype, bases.length) : new Float64Array(bases.length);
  const R = offs.length;
  if (R === 0) {
    out.fill(emptyValue(kind, dtype));
  } else if (kind === 'prod' && !isFloat && dtype !== 'i64' && dtype !== 'u64') {
    for (let o = 0; o < bases.length; o++) {
      const b = bases[o];
      let p = 1;
      for (let r = 0; r < R; r++) p = Math.imul(p, xs[b + offs[r]]);
      out[o] = p;
    }
  } else {
    reduceNumbers(xs, bases, offs, kind, out);
  }
  return isFloat ? floatTensor(dtype, outShape, out) : Tensor.fromNumbers(dtype, outShape, out);
}

/** Flat offsets of every position of a (dims, strides) grid, row-major. */
function offsetsOver(dims: readonly number[], strides: readonly number[]): Int32Array {
  let n = 1;
  for (const d of dims) n *= d;
  const out = new Int32Array(n);
  const idx = new Int32Array(dims.length);
  let off = 0;
  for (let k = 0; k < n; k++) {
    out[k] = off;
    for (let ax = dims.length - 1; ax >= 0; ax--) {
      idx[ax]++;
      off += strides[ax];
      if (idx[ax] < dims[ax]) break;
      off -= strides[ax] * dims[ax];
      idx[ax] = 0;
    }
  }
  return out;
}

/** The result of reducing an empty set. */
function emptyValue(kind: Kind, dtype: DType): number {
  switch (kind) {
    case 'prod': return 1;
    case 'mean': return NaN;
    case 'logsum': case 'logsumexp': return -Infinity;
    case 'max': return intRange(dtype)?.[0] ?? -Infinity;
    case 'min': return intRange(dtype)?.[1] ?? Infinity;
    default: return 0;
  }
}

function intRange(dtype: DType): [number, number] | undefined {
  switch (dtype) {
    case 'bool': return [0, 1];
    case 'i8': return [-128, 127];
    case 'u8': return [0, 255];
    case 'i16': return [-32768, 32767];
    case 'u16': return [0, 65535];
    case 'i32': return [-2147483648, 2147483647];
    case 'u32': return [0, 4294967295];
    default: return undefined;
  }
}

/** One tight loop per reduction kind over f64 values. */
function reduceNumbers(xs: ArrayLike<number>, bases: Int32Array, offs: Int32Array, kind: Kind, out: { [i: number]: number }): void {
  const R = offs.length, n = bases.length;
  for (let o = 0; o < n; o++) {
    const b = bases[o];
    let acc: number;
    switch (kind) {
      case 'sum': case 'mean': case 'logsum':
        acc = 0;
        for (let r = 0; r < R; r++) acc += xs[b + offs[r]];
        if (kind === 'mean') acc /= R;
        else if (kind === 'logsum') acc = Math.log(acc);
        break;
      case 'prod':
        acc = 1;
        for (let r = 0; r < R; r++) acc *= xs[b + offs[r]];
        break;
      case 'max':
        acc = -Infinity;
        for (let r = 0; r < R; r++) { const v = xs[b + offs[r]]; if (v > acc || v !== v) acc = v; if (acc !== acc) break; }
        break;
      case 'min':
        acc = Infinity;
        for (let r = 0; r < R; r++) { const v = xs[b + offs[r]]; if (v < acc || v !== v) acc = v; if (acc !== acc) break; }
        break;
      case 'l1':
        acc = 0;
        for (let r = 0; r < R; r++) acc += Math.abs(xs[b + offs[r]]);
        break;
      case 'l2': case 'sumsquare':
        acc = 0;
        for (let r = 0; r < R; r++) { const v = xs[b + offs[r]]; acc += v * v; }
        if (kind === 'l2') acc = Math.sqrt(acc);
        break;
      case 'logsumexp': {
        let m = -Infinity;
        for (let r = 0; r < R; r++) { const v = xs[b + offs[r]]; if (v > m || v !== v) m = v; }
        if (m === -Infinity || m === Infinity || m !== m) { acc = m; break; }
        let s = 0;
        for (let r = 0; r < R; r++) s += Math.exp(xs[b + offs[r]] - m);
        acc = m + Math.log(s);
        break;
      }
    }
    out[o] = acc;
  }
}

/** Exact 64-bit integer reductions (wrapping like int64/uint64 arithmetic). */
function reduceBig(xs: BigInt64Array, bases: Int32Array, offs: Int32Array, kind: Kind, unsigned: boolean): BigInt64Array {
  const R = offs.length, n = bases.length;
  const out = (unsigned ? new BigUint64Array(n) : new BigInt64Array(n)) as BigInt64Array;
  const wrap = unsigned ? (v: bigint) => BigInt.asUintN(64, v) : (v: bigint) => BigInt.asIntN(64, v);
  const lo = unsigned ? 0n : -(2n ** 63n), hi = unsigned ? 2n ** 64n - 1n : 2n ** 63n - 1n;
  for (let o = 0; o < n; o++) {
    const b = bases[o];
    let acc: bigint;
    switch (kind) {
      case 'max':
        acc = lo;
        for (let r = 0; r < R; r++) { const v = xs[b + offs[r]]; if (v > acc) acc = v; }
        break;
      case 'min':
        acc = hi;
        for (let r = 0; r < R; r++) { const v = xs[b + offs[r]]; if (v < acc) acc = v; }
        break;
      case 'prod':
        acc = 1n;
        for (let r = 0; r < R; r++) acc = wrap(acc * xs[b + offs[r]]);
        break;
      case 'sumsquare':
        acc = 0n;
        for (let r = 0; r < R; r++) { const v = xs[b + offs[r]]; acc += v * v; }
        break;
      case 'l1':
        acc = 0n;
        for (let r = 0; r < R; r++) { const v = xs[b + offs[r]]; acc += v < 0n ? -v : v; }
        break;
      default: // sum, mean
        acc = 0n;
        for (let r = 0; r < R; r++) acc += xs[b + offs[r]];
        if (kind === 'mean') acc = R === 0 ? 0n : acc / BigInt(R);
    }
    out[o] = wrap(acc);
  }
  return out;
}

export const reduceOps: OpDef<any>[] = [
  reduceDef('ReduceSum', 'sum'),
  reduceDef('ReduceMean', 'mean'),
  reduceDef('ReduceMax', 'max'),
  reduceDef('ReduceMin', 'min'),
  reduceDef('ReduceProd', 'prod'),
  reduceDef('ReduceL1', 'l1'),
  reduceDef('ReduceL2', 'l2'),
  reduceDef('ReduceLogSum', 'logsum'),
  reduceDef('ReduceLogSumExp', 'logsumexp'),
  reduceDef('ReduceSumSquare', 'sumsquare'),
];
