/**
 * Op family 'shape': ops that change only the shape of a tensor or create tensors from shapes.
 *
 * Reshape, Flatten, Squeeze and Unsqueeze keep the row-major element order, so their kernels copy
 * the storage as is and attach the new shape. Expand broadcasts with a per-axis offset table
 * (stride 0 on broadcast axes, see movement.ts). Shape/Size read the input's shape; ConstantOfShape
 * fills; Range counts ceil((limit - start) / delta) steps (bigint arithmetic for i64).
 *
 * Shape rules use the compile-time value of shape-like inputs when the type-inference driver knows
 * it (`ctx.value`). When it does not, the output rank still follows from the static length of the
 * 1-D operand and each unknown dim becomes a fresh symbol. Reshape keeps symbolic dims when the
 * arithmetic allows it (0 copies an input dim; -1 cancels matching symbols between input and output).
 */
import type { Dim } from '../ir/graph.ts';
import type { DType } from '../ir/dtype.ts';
import { Tensor, readInts, readNumbers, shapeSize, stridesOf } from '../ir/tensor.ts';
import { checkTensorSize } from '../ir/sizes.ts';
import { AttrError, type OpDef, type ShapeContext } from './registry.ts';
import { zeroFlops } from './flops.ts';
import { broadcastDims, required } from './support.ts';
import {
  allocData, copyData, dimProduct, fillData, fmtShape, gatherAxes, knownInts, normalizeAxes, rawElement,
  staticLength,
} from './movement.ts';

/**
 * Resolves a Reshape target (0 = copy input dim unless allowzero, -1 = infer) against a dims list.
 * Works on static and symbolic input dims; returns the output dims.
 */
export function resolveReshape(input: readonly Dim[], target: readonly number[], allowzero: boolean,
  ctx?: ShapeContext): Dim[] {
  const out: Dim[] = new Array(target.length);
  let inferAt = -1;
  for (let i = 0; i < target.length; i++) {
    const s = target[i];
    if (s === -1) {
      if (inferAt >= 0) throw new Error(`shape ${fmtShape(target)} has more than one -1`);
      inferAt = i;
      out[i] = -1;
    } else if (s === 0 && !allowzero) {
      if (i >= input.length) throw new Error(`shape ${fmtShape(target)} copies dim ${i} (0) but the input has rank ${input.length}`);
      out[i] = input[i];
    } else if (s < 0) {
      throw new Error(`shape ${fmtShape(target)} has invalid entry ${s}`);
    } else out[i] = s;
  }
  if (allowzero && inferAt >= 0 && target.includes(0)) {
    throw new Error(`shape ${fmtShape(target)} has both 0 and -1 with allowzero=1`);
  }
  // static product / symbol multisets of input and known output dims
  let pin = 1, pout = 1;
  const symIn: string[] = [];
  const symOut: string[] = [];
  for (const d of input) typeof d === 'number' ? (pin *= d) : symIn.push(d);
  out.forEach((d, i) => { if (i !== inferAt) typeof d === 'number' ? (pout *= d) : symOut.push(d); });
  const rest = [...symIn];
  let subset = true;
  for (const s of symOut) {
    const k = rest.indexOf(s);
    if (k < 0) { subset = false; break; }
    rest.splice(k, 1);
  }
  if (inferAt >= 0) {
    if (subset && rest.length === 0) {
      if (pout === 0) throw new Error(`cannot infer -1 in shape ${fmtShape(target)}: the other dims multiply to 0`);
      if (pin % pout !== 0) throw new Error(`cannot reshape ${fmtShape(input)} to ${fmtShape(target)}`);
      out[inferAt] = pin / pout;
    } else if (subset && rest.length === 1 && pin === pout && pout !== 0) {
      out[inferAt] = rest[0];
    } else {
      if (!ctx) throw new Error(`cannot infer -1 in shape ${fmtShape(target)} from ${fmtShape(input)}`);
      out[inferAt] = ctx.freshDim();
    }
  } else if (subset && rest.length === 0 && symOut.length === symIn.length && pin !== pout) {
    throw new Error(`cannot reshape ${fmtShape(input)} (${pin} elements) to ${fmtShape(out)} (${pout} elements)`);
  }
  return out;
}

/** Reshape(data, shape; allowzero). */
const Reshape: OpDef<{ allowzero: boolean }> = {
  name: 'Reshape', inputs: [2, 2], outputs: [1, 1],
  view: true,
  parseAttrs: (r) => ({ allowzero: r.int('allowzero', 0) !== 0 }),
  inferTypes(inputs, a, ctx) {
    const data = required(inputs, 0, 'data');
    const shapeT = required(inputs, 1, 'shape');
    const target = knownInts(ctx, 1);
    if (target) return [{ dtype: data.dtype, shape: resolveReshape(data.shape, target, a.allowzero, ctx) }];
    const rank = staticLength(shapeT, 'shape');
    return [{ dtype: data.dtype, shape: Array.from({ length: rank }, () => ctx.freshDim()) }];
  },
  run([x, s], a) {
    const shape = resolveReshape(x!.shape, readInts(s!), a.allowzero) as number[];
    return [new Tensor(x!.dtype, shape, copyData(x!.data))];
  },
};

/** Flatten(input; axis in [-r, r]) to 2-D. */
const Flatten: OpDef<{ axis: number }> = {
  name: 'Flatten', inputs: [1, 1], outputs: [1, 1],
  view: true,
  parseAttrs: (r) => ({ axis: r.int('axis', 1) }),
  inferTypes(inputs, a, ctx) {
    const x = required(inputs, 0);
    const ax = flattenAxis(a.axis, x.shape.length);
    return [{ dtype: x.dtype, shape: [dimProduct(x.shape.slice(0, ax), ctx), dimProduct(x.shape.slice(ax), ctx)] }];
  },
  run([x], a) {
    const ax = flattenAxis(a.axis, x!.shape.length);
    const shape = [shapeSize(x!.shape.slice(0, ax)), shapeSize(x!.shape.slice(ax))];
    return [new Tensor(x!.dtype, shape, copyData(x!.data))];
  },
};

function flattenAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a > rank) throw new Error(`axis ${axis} is out of range for Flatten of rank ${rank}`);
  return a;
}

/** Output dims of Squeeze; `axes` undefined removes every static 1 (symbolic dims are assumed > 1). */
function squeezeDims(shape: readonly Dim[], axes: readonly number[] | undefined): Dim[] {
  if (!axes) return shape.filter((d) => d !== 1);
  const drop = new Set(normalizeAxes(axes, shape.length));
  for (const a of drop) {
    if (typeof shape[a] === 'number' && shape[a] !== 1) {
      throw new Error(`cannot squeeze axis ${a} of size ${shape[a]} in ${fmtShape(shape)}`);
    }
  }
  return shape.filter((_, i) => !drop.has(i));
}

/** Squeeze(data, axes?). */
const Squeeze: OpDef<object> = {
  name: 'Squeeze', inputs: [1, 2], outputs: [1, 1],
  view: true,
  parseAttrs: () => ({}),
  inferTypes(inputs, _a, ctx) {
    const x = required(inputs, 0);
    if (!inputs[1]) return [{ dtype: x.dtype, shape: squeezeDims(x.shape, undefined) }];
    const axes = knownInts(ctx, 1);
    if (axes) return [{ dtype: x.dtype, shape: squeezeDims(x.shape, axes) }];
    const rank = x.shape.length - staticLength(inputs[1], 'axes');
    if (rank < 0) throw new Error('Squeeze has more axes than input dims');
    return [{ dtype: x.dtype, shape: Array.from({ length: rank }, () => ctx.freshDim()) }];
  },
  run([x, axes]) {
    const shape = squeezeDims(x!.shape, axes ? readInts(axes) : undefined) as number[];
    return [new Tensor(x!.dtype, shape, copyData(x!.data))];
  },
};

function unsqueezeDims(shape: readonly Dim[], axes: readonly number[]): Dim[] {
  const rank = shape.length + axes.length;
  const ins = new Set(normalizeAxes(axes, rank));
  const out: Dim[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(ins.has(i) ? 1 : shape[k++]);
  return out;
}

/** Unsqueeze(data, axes). */
const Unsqueeze: OpDef<object> = {
  name: 'Unsqueeze', inputs: [2, 2], outputs: [1, 1],
  view: true,
  parseAttrs: () => ({}),
  inferTypes(inputs, _a, ctx) {
    const x = required(inputs, 0);
    const axesT = required(inputs, 1, 'axes');
    const axes = knownInts(ctx, 1);
    if (axes) return [{ dtype: x.dtype, shape: unsqueezeDims(x.shape, axes) }];
    const rank = x.shape.length + staticLength(axesT, 'axes');
    return [{ dtype: x.dtype, shape: Array.from({ length: rank }, () => ctx.freshDim()) }];
  },
  run([x, axes]) {
    return [new Tensor(x!.dtype, unsqueezeDims(x!.shape, readInts(axes!)) as number[], copyData(x!.data))];
  },
};

/** [start, end) of Shape's slice after negative wrap and clamping. */
function shapeRange(rank: number, start: number, end: number | undefined): [number, number] {
  const clamp = (v: number) => Math.min(rank, Math.max(0, v < 0 ? v + rank : v));
  const s = clamp(start);
  const e = end === undefined ? rank : clamp(end);
  return [s, Math.max(s, e)];
}

/** Shape(data; start, end). */
const Shape: OpDef<{ start: number; end?: number }> = {
  name: 'Shape', inputs: [1, 1], outputs: [1, 1],
  flops: zeroFlops, // reads the type, not the data
  parseAttrs: (r) => ({ start: r.int('start', 0), end: r.has('end') ? r.int('end') : undefined }),
  inferTypes(inputs, a) {
    const [s, e] = shapeRange(required(inputs, 0).shape.length, a.start, a.end);
    return [{ dtype: 'i64', shape: [e - s] }];
  },
  run([x], a) {
    const [s, e] = shapeRange(x!.shape.length, a.start, a.end);
    return [new Tensor('i64', [e - s], BigInt64Array.from(x!.shape.slice(s, e), (d) => BigInt(d)))];
  },
};

/** Size(data): element count as an i64 scalar. */
const Size: OpDef<object> = {
  name: 'Size', inputs: [1, 1], outputs: [1, 1],
  flops: zeroFlops,
  parseAttrs: () => ({}),
  inferTypes: (inputs) => { required(inputs, 0); return [{ dtype: 'i64', shape: [] }]; },
  run: ([x]) => [new Tensor('i64', [], BigInt64Array.of(BigInt(x!.size)))],
};

/** Expand(input, shape): bidirectional broadcast. */
const Expand: OpDef<object> = {
  name: 'Expand', inputs: [2, 2], outputs: [1, 1],
  movement: true,
  parseAttrs: () => ({}),
  inferTypes(inputs, _a, ctx) {
    const x = required(inputs, 0);
    const shapeT = required(inputs, 1, 'shape');
    const target = knownInts(ctx, 1);
    if (target) return [{ dtype: x.dtype, shape: broadcastDims(x.shape, target) }];
    const rank = Math.max(x.shape.length, staticLength(shapeT, 'shape'));
    return [{ dtype: x.dtype, shape: Array.from({ length: rank }, () => ctx.freshDim()) }];
  },
  run([x, s]) {
    const outShape = broadcastDims(x!.shape, readInts(s!)) as number[];
    return [broadcastTo(x!, outShape)];
  },
};

/** Copies `x` broadcast to `outShape` (which must be a valid numpy broadcast of x's shape). */
export function broadcastTo(x: Tensor, outShape: readonly number[]): Tensor {
  checkTensorSize({ what: 'output' }, x.dtype, outShape);
  const rank = outShape.length;
  const lead = rank - x.shape.length;
  const inStrides = stridesOf(x.shape);
  const offsets = outShape.map((n, ax) => {
    const t = new Int32Array(n);
    if (ax >= lead && x.shape[ax - lead] !== 1) for (let i = 0; i < n; i++) t[i] = i * inStrides[ax - lead];
    return t;
  });
  const out = allocData(x.dtype, shapeSize(outShape));
  gatherAxes(x.data, out, outShape, offsets);
  return new Tensor(x.dtype, outShape, out);
}

/** ConstantOfShape(input; value): a tensor of the given shape filled with `value` (default f32 0). */
const ConstantOfShape: OpDef<{ value?: Tensor }> = {
  name: 'ConstantOfShape', inputs: [1, 1], outputs: [1, 1],
  flops: zeroFlops, // a fill
  parseAttrs: (r) => {
    const value = r.tensor('value');
    if (value && value.size !== 1) throw new AttrError('value', `must have one element, got ${value.size}`);
    return { value };
  },
  inferTypes(inputs, a, ctx) {
    const shapeT = required(inputs, 0, 'input');
    const dtype: DType = a.value?.dtype ?? 'f32';
    const dims = knownInts(ctx, 0);
    if (dims) return [{ dtype, shape: dims }];
    return [{ dtype, shape: Array.from({ length: staticLength(shapeT, 'input') }, () => ctx.freshDim()) }];
  },
  run([s], a) {
    const shape = readInts(s!);
    if (shape.some((d) => d < 0)) throw new Error(`ConstantOfShape shape ${fmtShape(shape)} has a negative dim`);
    const dtype: DType = a.value?.dtype ?? 'f32';
    const data = allocData(dtype, checkTensorSize({ what: 'output' }, dtype, shape));
    if (a.value) fillData(data, rawElement(a.value));
    return [new Tensor(dtype, shape, data)];
  },
};

/** Number of Range elements, max(ceil((limit - start) / delta), 0). */
function rangeCount(start: number, limit: number, delta: number): number {
  if (delta === 0) throw new Error('Range delta must not be 0');
  const n = Math.ceil((limit - start) / delta);
  return Number.isFinite(n) ? Math.max(n, 0) : 0;
}

/** Range(start, limit, delta): 1-D start + i*delta for i < ceil((limit-start)/delta). */
const Range: OpDef<object> = {
  name: 'Range', inputs: [3, 3], outputs: [1, 1],
  flops: zeroFlops, // counted as data making, as ConstantOfShape
  parseAttrs: () => ({}),
  inferTypes(inputs, _a, ctx) {
    const dtype = required(inputs, 0, 'start').dtype;
    for (let i = 1; i < 3; i++) {
      if (required(inputs, i).dtype !== dtype) throw new Error(`Range inputs must share a dtype, got ${dtype} and ${inputs[i]!.dtype}`);
    }
    const vals = [ctx.value(0), ctx.value(1), ctx.value(2)];
    if (vals.every((v) => v)) return [{ dtype, shape: [rangeLength(vals[0]!, vals[1]!, vals[2]!)] }];
    return [{ dtype, shape: [ctx.freshDim()] }];
  },
  run: ([s, l, d]) => [runRange(s!, l!, d!)],
};

/** The number of elements Range makes, computed without making them. */
function rangeLength(start: Tensor, limit: Tensor, delta: Tensor): number {
  if (start.size !== 1 || limit.size !== 1 || delta.size !== 1) throw new Error('Range inputs must be scalars');
  if (start.data instanceof BigInt64Array || start.data instanceof BigUint64Array) {
    const s = start.data[0] as bigint, l = limit.data[0] as bigint, d = delta.data[0] as bigint;
    if (d === 0n) throw new Error('Range delta must not be 0');
    const span = l - s;
    // ceil division for either sign of delta
    let n = span / d;
    if (n * d !== span && (span > 0n) === (d > 0n)) n += 1n;
    return n > 0n ? Number(n) : 0;
  }
  return rangeCount(readNumbers(start)[0], readNumbers(limit)[0], readNumbers(delta)[0]);
}

function runRange(start: Tensor, limit: Tensor, delta: Tensor): Tensor {
  const dtype = start.dtype;
  const count = checkTensorSize({ what: 'output' }, dtype, [rangeLength(start, limit, delta)]);
  if (start.data instanceof BigInt64Array || start.data instanceof BigUint64Array) {
    const s = start.data[0] as bigint, d = delta.data[0] as bigint;
    const out = allocData(dtype, count) as BigInt64Array;
    for (let i = 0; i < count; i++) out[i] = s + BigInt(i) * d;
    return new Tensor(dtype, [count], out);
  }
  const s = readNumbers(start)[0], d = readNumbers(delta)[0];
  const values = new Float64Array(count);
  for (let i = 0; i < count; i++) values[i] = s + i * d;
  return Tensor.fromNumbers(dtype, [count], values);
}

export const shapeOps: OpDef<any>[] = [Reshape, Flatten, Squeeze, Unsqueeze, Shape, Size, Expand, ConstantOfShape, Range];
