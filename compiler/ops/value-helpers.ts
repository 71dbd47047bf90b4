/**
 * Helpers shared by the ops over values (control flow, sequences, optionals): joining the types a
 * value may take on different paths (If's branches, a Loop's iterations, a sequence's elements), and
 * slicing and stacking tensors along an axis (Scan's inputs and outputs, Loop's scan outputs,
 * SplitToSequence and ConcatFromSequence).
 */
import type { Dim, TensorType } from '../ir/graph.ts';
import { formatType } from '../ir/graph.ts';
import { Tensor, shapeSize } from '../ir/tensor.ts';
import type { Value } from '../ir/value.ts';
import { describeValue } from '../ir/value.ts';
import type { ShapeContext } from './registry.ts';
import { allocData, copyBlock } from './movement.ts';

/**
 * The type that admits values of both types (dtype and container must agree, except that an optional
 * admits its non-optional form): equal dims stay, differing dims become fresh symbols, and differing
 * ranks leave the elements of a sequence or optional unranked. Undefined (with `why`) when no such
 * type exists in kiln's IR: different dtypes or containers, or tensors of different ranks.
 */
export function joinTypes(a: TensorType, b: TensorType, ctx: Pick<ShapeContext, 'freshDim'>): TensorType | string {
  if (a.dtype !== b.dtype) return `${formatType(a)} and ${formatType(b)} have different element types`;
  const container = joinContainers(a.container, b.container);
  if (container === false) return `${formatType(a)} and ${formatType(b)} are different kinds of value`;
  if (a.unranked || b.unranked || a.shape.length !== b.shape.length) {
    if (!container) return `${formatType(a)} and ${formatType(b)} are tensors of different ranks`;
    return { dtype: a.dtype, shape: [], container, unranked: true };
  }
  const shape: Dim[] = a.shape.map((d, i) => (d === b.shape[i] ? d : ctx.freshDim()));
  return container ? { dtype: a.dtype, shape, container } : { dtype: a.dtype, shape };
}

/** The join of two containers (undefined: tensor), or false when none admits both. */
function joinContainers(a: TensorType['container'], b: TensorType['container']): TensorType['container'] | false {
  if (a === b) return a;
  const base = (c: TensorType['container']) => (c === 'opt' ? undefined : c === 'opt-seq' ? 'seq' : c);
  if (base(a) !== base(b)) return false;
  return base(a) === 'seq' ? 'opt-seq' : 'opt';
}

/** `joinTypes`, throwing the reason with `what` in front. */
export function mustJoin(a: TensorType, b: TensorType, ctx: Pick<ShapeContext, 'freshDim'>, what: string): TensorType {
  const t = joinTypes(a, b, ctx);
  if (typeof t === 'string') throw new Error(`${what}: ${t}`);
  return t;
}

/** The element type of a sequence (or optional) type as a tensor type, or an error when it is unranked. */
export function elementType(t: TensorType, what: string): TensorType {
  if (t.unranked) throw new Error(`${what}: the rank of ${formatType(t)}'s elements is not known, and kiln tensors have a rank`);
  return { dtype: t.dtype, shape: t.shape };
}

/** A tensor's value, or an error naming what it is instead. */
export function expectTensor(v: Value | undefined, what: string): Tensor {
  if (v instanceof Tensor) return v;
  throw new Error(`${what} is ${describeValue(v)}, not a tensor`);
}

/** The sub-tensor at `index` along `axis` (the axis removed). */
export function sliceAxis(t: Tensor, axis: number, index: number): Tensor {
  const outer = shapeSize(t.shape.slice(0, axis)), inner = shapeSize(t.shape.slice(axis + 1));
  const len = t.shape[axis];
  const data = allocData(t.dtype, outer * inner);
  for (let o = 0; o < outer; o++) copyBlock(t.data, (o * len + index) * inner, data, o * inner, inner);
  return new Tensor(t.dtype, [...t.shape.slice(0, axis), ...t.shape.slice(axis + 1)], data);
}

/**
 * Stacks tensors of one shape along a new axis `axis` (0..rank). An empty list needs `empty`, the
 * shape of the (absent) elements, to shape its [0]-long result.
 */
export function stackAxis(ts: readonly Tensor[], axis: number, dtype: Tensor['dtype'], empty: readonly number[] = []): Tensor {
  const shape = ts.length ? ts[0].shape : empty;
  ts.forEach((t, k) => {
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`cannot stack ${t.dtype}[${t.shape.join(',')}] (item ${k}) with ${dtype}[${shape.join(',')}] (item 0): stacked tensors need one shape`);
    }
  });
  const outer = shapeSize(shape.slice(0, axis)), inner = shapeSize(shape.slice(axis));
  const n = ts.length;
  const data = allocData(dtype, outer * n * inner);
  ts.forEach((t, k) => {
    for (let o = 0; o < outer; o++) copyBlock(t.data, o * inner, data, (o * n + k) * inner, inner);
  });
  return new Tensor(dtype, [...shape.slice(0, axis), n, ...shape.slice(axis)], data);
}
