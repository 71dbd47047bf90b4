/**
 * Op family 'gather': index-driven selection — Gather, GatherElements, TopK, ArgMax and ArgMin.
 *
 * Gather copies, for every (outer, index) pair, one contiguous block of `inner` elements (rows of
 * an embedding table become single block copies). GatherElements walks the indices tensor with an
 * odometer that keeps the data offset of every axis but `axis`, adding index * stride(axis).
 * Negative indices wrap once; anything still out of range is an error.
 *
 * TopK and ArgMax/ArgMin compare elements along one axis. Keys are read once per call: bigint
 * storage (i64/u64) is compared as bigint, everything else as decoded numbers. NaN ranks above
 * every number (numpy's argmax/argmin return the first NaN). TopK orders by value, then by
 * smaller index first (a stable tie-break for both largest and smallest), and always returns the
 * k elements sorted (allowed when sorted=0, where the order is unspecified).
 */
import type { Dim } from '../ir/graph.ts';
import { Tensor, readInts, readNumbers, shapeSize, stridesOf } from '../ir/tensor.ts';
import type { OpDef } from './registry.ts';
import { perInputElement } from './flops.ts';
import { normalizeAxis, required } from './support.ts';
import { allocData, copyBlock, knownInts, staticLength } from './movement.ts';

/** Reads index values, wrapping negatives once by `dim` and rejecting out-of-range entries. */
function wrapIndices(indices: Tensor, dim: number): number[] {
  const idx = readInts(indices);
  for (let i = 0; i < idx.length; i++) {
    const v = idx[i] < 0 ? idx[i] + dim : idx[i];
    if (v < 0 || v >= dim) throw new Error(`index ${idx[i]} is out of range for an axis of size ${dim}`);
    idx[i] = v;
  }
  return idx;
}

function expectIndexType(t: { dtype: string }, what: string): void {
  if (t.dtype !== 'i32' && t.dtype !== 'i64') throw new Error(`${what} must be i32 or i64, got ${t.dtype}`);
}

/** Gather(data, indices; axis). */
const Gather: OpDef<{ axis: number }> = {
  name: 'Gather', inputs: [2, 2], outputs: [1, 1],
  movement: true,
  parseAttrs: (r) => ({ axis: r.int('axis', 0) }),
  inferTypes(inputs, a) {
    const x = required(inputs, 0, 'data');
    const ind = required(inputs, 1, 'indices');
    expectIndexType(ind, 'indices');
    const axis = normalizeAxis(a.axis, x.shape.length);
    return [{ dtype: x.dtype, shape: [...x.shape.slice(0, axis), ...ind.shape, ...x.shape.slice(axis + 1)] }];
  },
  run([x, ind], a) {
    const shape = x!.shape;
    const axis = normalizeAxis(a.axis, shape.length);
    const dim = shape[axis];
    const idx = wrapIndices(ind!, dim);
    const outShape = [...shape.slice(0, axis), ...ind!.shape, ...shape.slice(axis + 1)];
    const outer = shapeSize(shape.slice(0, axis));
    const inner = shapeSize(shape.slice(axis + 1));
    const out = allocData(x!.dtype, shapeSize(outShape));
    let p = 0;
    for (let o = 0; o < outer; o++) {
      const base = o * dim * inner;
      for (let k = 0; k < idx.length; k++) {
        copyBlock(x!.data, base + idx[k] * inner, out, p, inner);
        p += inner;
      }
    }
    return [new Tensor(x!.dtype, outShape, out)];
  },
};

/** GatherElements(data, indices; axis). */
const GatherElements: OpDef<{ axis: number }> = {
  name: 'GatherElements', inputs: [2, 2], outputs: [1, 1],
  movement: true,
  parseAttrs: (r) => ({ axis: r.int('axis', 0) }),
  inferTypes(inputs, a) {
    const x = required(inputs, 0, 'data');
    const ind = required(inputs, 1, 'indices');
    expectIndexType(ind, 'indices');
    if (ind.shape.length !== x.shape.length) throw new Error(`indices rank ${ind.shape.length} differs from data rank ${x.shape.length}`);
    normalizeAxis(a.axis, x.shape.length);
    return [{ dtype: x.dtype, shape: ind.shape }];
  },
  run([x, ind], a) {
    const rank = x!.shape.length;
    if (ind!.shape.length !== rank) throw new Error(`indices rank ${ind!.shape.length} differs from data rank ${rank}`);
    const axis = normalizeAxis(a.axis, rank);
    const idx = wrapIndices(ind!, x!.shape[axis]);
    const ds = stridesOf(x!.shape);
    const ishape = ind!.shape;
    const src = x!.data as unknown as { [i: number]: unknown };
    const out = allocData(x!.dtype, ind!.size);
    const dst = out as unknown as { [i: number]: unknown };
    const pos = new Int32Array(rank);
    const sAxis = ds[axis];
    let base = 0;
    for (let p = 0; p < idx.length; p++) {
      dst[p] = src[base + idx[p] * sAxis];
      for (let d = rank - 1; d >= 0; d--) {
        pos[d]++;
        if (d !== axis) base += ds[d];
        if (pos[d] < ishape[d]) break;
        if (d !== axis) base -= ds[d] * pos[d];
        pos[d] = 0;
      }
    }
    return [new Tensor(x!.dtype, ishape, out)];
  },
};

/** Element keys for comparison: bigint storage as is, other types decoded to numbers. */
function keysOf(t: Tensor): ArrayLike<number> | ArrayLike<bigint> {
  if (t.dtype === 'str') throw new Error('cannot compare string elements');
  if (t.data instanceof BigInt64Array || t.data instanceof BigUint64Array) return t.data;
  return readNumbers(t);
}

/** True if key a ranks strictly above key b (NaN above every number). */
function above(a: number | bigint, b: number | bigint): boolean {
  if (a !== a) return b === b; // a is NaN: above unless b is NaN too
  if (b !== b) return false;
  return a > b;
}

/** outer / dim / inner split of a shape around `axis`. */
function axisSplit(shape: readonly number[], axis: number): [number, number, number] {
  return [shapeSize(shape.slice(0, axis)), shape[axis], shapeSize(shape.slice(axis + 1))];
}

/** TopK(X, K; axis, largest, sorted) -> (values, i64 indices). */
const TopK: OpDef<{ axis: number; largest: boolean; sorted: boolean }> = {
  name: 'TopK', inputs: [2, 2], outputs: [1, 2],
  parseAttrs: (r) => ({ axis: r.int('axis', -1), largest: r.int('largest', 1) !== 0, sorted: r.int('sorted', 1) !== 0 }),
  inferTypes(inputs, a, ctx) {
    const x = required(inputs, 0, 'X');
    if (staticLength(required(inputs, 1, 'K'), 'K') !== 1) throw new Error('K must have exactly one element');
    const axis = normalizeAxis(a.axis, x.shape.length);
    const k = knownInts(ctx, 1)?.[0];
    const shape: Dim[] = [...x.shape];
    shape[axis] = k ?? ctx.freshDim();
    if (k !== undefined && typeof x.shape[axis] === 'number' && (k < 0 || k > (x.shape[axis] as number))) {
      throw new Error(`K = ${k} is out of range for an axis of size ${x.shape[axis]}`);
    }
    return [{ dtype: x.dtype, shape }, { dtype: 'i64', shape }];
  },
  run([x, kT], a) {
    const axis = normalizeAxis(a.axis, x!.shape.length);
    const [outer, dim, inner] = axisSplit(x!.shape, axis);
    const k = readInts(kT!)[0];
    if (k < 0 || k > dim) throw new Error(`K = ${k} is out of range for an axis of size ${dim}`);
    const outShape = [...x!.shape];
    outShape[axis] = k;
    const n = outer * k * inner;
    const values = allocData(x!.dtype, n);
    const indices = new BigInt64Array(n);
    const keys = keysOf(x!);
    const src = x!.data as unknown as { [i: number]: unknown };
    const dst = values as unknown as { [i: number]: unknown };
    const order = new Int32Array(dim);
    let base = 0;
    const largest = a.largest;
    // ranks candidate i before j: by value (descending for largest), then by smaller index
    const cmp = (i: number, j: number): number => {
      const ki = keys[base + i * inner], kj = keys[base + j * inner];
      if (above(ki, kj)) return largest ? -1 : 1;
      if (above(kj, ki)) return largest ? 1 : -1;
      return i - j;
    };
    for (let o = 0; o < outer; o++) {
      for (let c = 0; c < inner; c++) {
        base = o * dim * inner + c;
        for (let i = 0; i < dim; i++) order[i] = i;
        order.sort(cmp);
        for (let r = 0; r < k; r++) {
          const p = (o * k + r) * inner + c;
          dst[p] = src[base + order[r] * inner];
          indices[p] = BigInt(order[r]);
        }
      }
    }
    return [new Tensor(x!.dtype, outShape, values), new Tensor('i64', outShape, indices)];
  },
};

interface ArgAttrs { axis: number; keepdims: boolean; selectLast: boolean }

/** ArgMax / ArgMin(data; axis, keepdims, select_last_index) -> i64 indices. */
function argOp(name: 'ArgMax' | 'ArgMin'): OpDef<ArgAttrs> {
  const isMax = name === 'ArgMax';
  return {
    name, inputs: [1, 1], outputs: [1, 1],
    reduction: { axes: { attribute: 'axis' }, result: 'index' },
    flops: perInputElement(1),
    parseAttrs: (r) => ({ axis: r.int('axis', 0), keepdims: r.int('keepdims', 1) !== 0, selectLast: r.int('select_last_index', 0) !== 0 }),
    inferTypes(inputs, a) {
      const x = required(inputs, 0);
      if (x.dtype === 'str') throw new Error(`${name} does not accept strings`);
      const axis = normalizeAxis(a.axis, x.shape.length);
      const shape = a.keepdims ? x.shape.map((d, i) => (i === axis ? 1 : d)) : x.shape.filter((_, i) => i !== axis);
      return [{ dtype: 'i64', shape }];
    },
    run([x], a) {
      const axis = normalizeAxis(a.axis, x!.shape.length);
      const [outer, dim, inner] = axisSplit(x!.shape, axis);
      if (dim === 0 && outer * inner > 0) throw new Error(`${name} over an empty axis`);
      const outShape = a.keepdims ? x!.shape.map((d, i) => (i === axis ? 1 : d)) : x!.shape.filter((_, i) => i !== axis);
      const keys = keysOf(x!);
      const out = new BigInt64Array(outer * inner);
      for (let o = 0; o < outer; o++) {
        for (let c = 0; c < inner; c++) {
          const base = o * dim * inner + c;
          let best = 0;
          let bk = keys[base];
          for (let i = 1; i < dim; i++) {
            const v = keys[base + i * inner];
            // strictly better, or equal when the last index is wanted (a NaN never ties a later NaN)
            const better = isMax ? above(v, bk) : (v !== v ? bk === bk : (bk === bk && v < bk));
            const tie = a.selectLast && v === bk;
            if (better || tie) { best = i; bk = v; }
          }
          out[o * inner + c] = BigInt(best);
        }
      }
      return [new Tensor('i64', outShape, out)];
    },
  };
}

export const gatherOps: OpDef<any>[] = [Gather, GatherElements, TopK, argOp('ArgMax'), argOp('ArgMin')];
