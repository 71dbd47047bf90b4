/**
 * Op family 'scatter': index-driven writes and their gather counterpart — ScatterND, ScatterElements,
 * Scatter (its deprecated opset-9/10 name), GatherND and TensorScatter (the KV-cache update).
 *
 * Every scatter starts from a copy of `data` and then writes each update in the order the updates
 * are stored (so with duplicate indices and reduction 'none' the last write wins, as onnxruntime's
 * CPU kernel does). 'none' copies raw storage elements, so it serves every dtype; a reduction
 * (add, mul, max, min) reads data and updates as numbers, folds each update into its target and
 * writes the result back once in the data's dtype.
 *
 * ScatterND/GatherND address slices: the last axis of `indices` (length k) holds the coordinates
 * of one slice of the data's trailing axes [k..), a contiguous block of `inner` elements. GatherND's
 * batch_dims leading axes are shared by data and indices: each batch gathers from its own slab.
 * ScatterElements walks the updates with the row-major position of each element and replaces its
 * coordinate on `axis` by the index. Negative indices wrap once; anything still out of range is an
 * error. TensorScatter writes, for every prefix of the axes before `axis`, the update's rows at
 * write_indices[batch] + s (mod the cache length in 'circular' mode).
 */
import type { Dim } from '../ir/graph.ts';
import { Tensor, readInts, readNumbers, shapeSize, stridesOf } from '../ir/tensor.ts';
import type { AttrReader, OpDef } from './registry.ts';
import { normalizeAxis, required, sameDType } from './support.ts';
import { allocData, copyBlock, copyData, fmtShape } from './movement.ts';

type Reduction = 'none' | 'add' | 'mul' | 'max' | 'min';

const COMBINE: Record<Exclude<Reduction, 'none'>, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  mul: (a, b) => a * b,
  max: (a, b) => (a >= b || a !== a ? a : b),
  min: (a, b) => (a <= b || a !== a ? a : b),
};

function readReduction(r: AttrReader): Reduction {
  return r.oneOf('reduction', r.string('reduction', 'none'), ['none', 'add', 'mul', 'max', 'min']) as Reduction;
}

function expectIndexType(t: { dtype: string }, what: string): void {
  if (t.dtype !== 'i32' && t.dtype !== 'i64') throw new Error(`${what} must be i32 or i64, got ${t.dtype}`);
}

function wrap(v: number, dim: number, axis: number): number {
  const w = v < 0 ? v + dim : v;
  if (w < 0 || w >= dim) throw new Error(`index ${v} is out of range for axis ${axis} of size ${dim}`);
  return w;
}

/**
 * A scatter's writer: `write(dst, src, n)` applies n consecutive update elements from updates[src..]
 * onto out[dst..]; `finish()` returns the output tensor.
 */
function scatterWriter(data: Tensor, updates: Tensor, reduction: Reduction): {
  write(dst: number, src: number, n: number): void; finish(): Tensor;
} {
  if (reduction === 'none') {
    const out = copyData(data.data);
    return {
      write: (dst, src, n) => copyBlock(updates.data, src, out, dst, n),
      finish: () => new Tensor(data.dtype, data.shape, out),
    };
  }
  if (data.dtype === 'str' || data.dtype === 'bool') throw new Error(`reduction '${reduction}' does not accept ${data.dtype} data`);
  const acc = Float64Array.from(readNumbers(data));
  const upd = readNumbers(updates);
  const f = COMBINE[reduction];
  return {
    write(dst, src, n) { for (let i = 0; i < n; i++) acc[dst + i] = f(acc[dst + i], upd[src + i]); },
    finish: () => Tensor.fromNumbers(data.dtype, data.shape, acc),
  };
}

/** Checks k, the coordinate count on the last axis of ND indices, against the data rank. */
function ndDepth(indicesShape: readonly Dim[], dataRank: number, batchDims: number, op: string): Dim {
  if (indicesShape.length < 1) throw new Error(`${op} indices must have rank >= 1`);
  const k = indicesShape[indicesShape.length - 1];
  if (typeof k === 'number' && (k < 1 || k + batchDims > dataRank)) {
    throw new Error(`${op} indices' last axis has length ${k}, more than the data rank ${dataRank}${batchDims ? ` minus batch_dims ${batchDims}` : ''} allows`);
  }
  return k;
}

/** ScatterND(data, indices, updates; reduction). */
const ScatterND: OpDef<{ reduction: Reduction }> = {
  name: 'ScatterND', inputs: [3, 3], outputs: [1, 1],
  parseAttrs: (r) => ({ reduction: readReduction(r) }),
  inferTypes(inputs) {
    const x = required(inputs, 0, 'data');
    const ind = required(inputs, 1, 'indices');
    const upd = required(inputs, 2, 'updates');
    expectIndexType(ind, 'indices');
    sameDType([x, upd]);
    const k = ndDepth(ind.shape, x.shape.length, 0, 'ScatterND');
    if (typeof k === 'number') {
      const want = [...ind.shape.slice(0, -1), ...x.shape.slice(k)];
      if (upd.shape.length !== want.length) throw new Error(`updates shape ${fmtShape(upd.shape)} should be ${fmtShape(want)}`);
    }
    return [{ dtype: x.dtype, shape: x.shape }];
  },
  run([x, ind, upd], a) {
    const shape = x!.shape;
    const k = ind!.shape[ind!.shape.length - 1];
    const idx = readInts(ind!);
    const strides = stridesOf(shape);
    const inner = shapeSize(shape.slice(k));
    const count = idx.length / k;
    const want = [...ind!.shape.slice(0, -1), ...shape.slice(k)];
    if (upd!.shape.length !== want.length || upd!.shape.some((d, i) => d !== want[i])) {
      throw new Error(`updates shape ${fmtShape(upd!.shape)} should be ${fmtShape(want)}`);
    }
    const w = scatterWriter(x!, upd!, a.reduction);
    for (let u = 0; u < count; u++) {
      let off = 0;
      for (let j = 0; j < k; j++) off += wrap(idx[u * k + j], shape[j], j) * strides[j];
      w.write(off, u * inner, inner);
    }
    return [w.finish()];
  },
};

/** ScatterElements / Scatter(data, indices, updates; axis, reduction). */
function scatterElements(name: 'ScatterElements' | 'Scatter'): OpDef<{ axis: number; reduction: Reduction }> {
  return {
    name, inputs: [3, 3], outputs: [1, 1],
    parseAttrs: (r) => ({ axis: r.int('axis', 0), reduction: name === 'Scatter' ? 'none' : readReduction(r) }),
    inferTypes(inputs, a) {
      const x = required(inputs, 0, 'data');
      const ind = required(inputs, 1, 'indices');
      const upd = required(inputs, 2, 'updates');
      expectIndexType(ind, 'indices');
      sameDType([x, upd]);
      if (ind.shape.length !== x.shape.length) throw new Error(`indices rank ${ind.shape.length} differs from data rank ${x.shape.length}`);
      if (upd.shape.length !== ind.shape.length) throw new Error(`updates rank ${upd.shape.length} differs from indices rank ${ind.shape.length}`);
      normalizeAxis(a.axis, x.shape.length);
      return [{ dtype: x.dtype, shape: x.shape }];
    },
    run([x, ind, upd], a) {
      const rank = x!.shape.length;
      const axis = normalizeAxis(a.axis, rank);
      const ishape = ind!.shape;
      if (ishape.length !== rank || upd!.shape.some((d, i) => d !== ishape[i])) {
        throw new Error(`indices ${fmtShape(ishape)} and updates ${fmtShape(upd!.shape)} must have the same shape, of data's rank ${rank}`);
      }
      const idx = readInts(ind!);
      const ds = stridesOf(x!.shape);
      const dim = x!.shape[axis];
      const w = scatterWriter(x!, upd!, a.reduction);
      const pos = new Array<number>(rank).fill(0);
      for (let p = 0; p < idx.length; p++) {
        let off = 0;
        for (let d = 0; d < rank; d++) off += (d === axis ? wrap(idx[p], dim, axis) : pos[d]) * ds[d];
        w.write(off, p, 1);
        for (let d = rank - 1; d >= 0; d--) {
          if (++pos[d] < ishape[d]) break;
          pos[d] = 0;
        }
      }
      return [w.finish()];
    },
  };
}

/** GatherND(data, indices; batch_dims). */
const GatherND: OpDef<{ batchDims: number }> = {
  name: 'GatherND', inputs: [2, 2], outputs: [1, 1],
  movement: true,
  parseAttrs: (r) => ({ batchDims: r.int('batch_dims', 0) }),
  inferTypes(inputs, a) {
    const x = required(inputs, 0, 'data');
    const ind = required(inputs, 1, 'indices');
    expectIndexType(ind, 'indices');
    const b = a.batchDims;
    if (b < 0 || b >= Math.min(x.shape.length, ind.shape.length)) {
      throw new Error(`batch_dims ${b} must be below both the data rank ${x.shape.length} and the indices rank ${ind.shape.length}`);
    }
    const k = ndDepth(ind.shape, x.shape.length, b, 'GatherND');
    if (typeof k !== 'number') throw new Error(`GatherND indices' last axis is symbolic ('${k}'), so the output rank is unknown`);
    return [{ dtype: x.dtype, shape: [...ind.shape.slice(0, -1), ...x.shape.slice(b + k)] }];
  },
  run([x, ind], a) {
    const shape = x!.shape;
    const b = a.batchDims;
    const ishape = ind!.shape;
    const k = ishape[ishape.length - 1];
    for (let d = 0; d < b; d++) {
      if (shape[d] !== ishape[d]) throw new Error(`batch axis ${d} differs: data ${fmtShape(shape)}, indices ${fmtShape(ishape)}`);
    }
    const idx = readInts(ind!);
    const strides = stridesOf(shape);
    const batches = shapeSize(shape.slice(0, b));
    const slab = shapeSize(shape.slice(b));
    const inner = shapeSize(shape.slice(b + k));
    const perBatch = shapeSize(ishape.slice(b, -1));
    const outShape = [...ishape.slice(0, -1), ...shape.slice(b + k)];
    const out = allocData(x!.dtype, shapeSize(outShape));
    let p = 0;
    for (let bi = 0; bi < batches; bi++) {
      for (let u = 0; u < perBatch; u++) {
        const row = (bi * perBatch + u) * k;
        let off = bi * slab;
        for (let j = 0; j < k; j++) off += wrap(idx[row + j], shape[b + j], b + j) * strides[b + j];
        copyBlock(x!.data, off, out, p, inner);
        p += inner;
      }
    }
    return [new Tensor(x!.dtype, outShape, out)];
  },
};

/** TensorScatter(past_cache, update, write_indices?; axis, mode) -> present_cache. */
const TensorScatter: OpDef<{ axis: number; circular: boolean }> = {
  name: 'TensorScatter', inputs: [2, 3], outputs: [1, 1],
  movement: true,
  parseAttrs: (r) => ({ axis: r.int('axis', -2), circular: r.oneOf('mode', r.string('mode', 'linear'), ['linear', 'circular']) === 'circular' }),
  inferTypes(inputs, a) {
    const cache = required(inputs, 0, 'past_cache');
    const upd = required(inputs, 1, 'update');
    sameDType([cache, upd]);
    if (inputs[2]) expectIndexType(inputs[2], 'write_indices');
    if (upd.shape.length !== cache.shape.length) throw new Error(`update rank ${upd.shape.length} differs from past_cache rank ${cache.shape.length}`);
    if (normalizeAxis(a.axis, cache.shape.length) === 0) throw new Error('axis must not be the batch axis 0');
    return [{ dtype: cache.dtype, shape: cache.shape }];
  },
  run([cache, upd, wi], a) {
    const shape = cache!.shape;
    const axis = normalizeAxis(a.axis, shape.length);
    if (axis === 0) throw new Error('axis must not be the batch axis 0');
    const maxSeq = shape[axis];
    const seq = upd!.shape[axis];
    if (upd!.shape.some((d, i) => i !== axis && d !== shape[i]) || seq > maxSeq) {
      throw new Error(`update ${fmtShape(upd!.shape)} must match past_cache ${fmtShape(shape)} except on axis ${axis}, with at most ${maxSeq} rows`);
    }
    const writes = wi ? readInts(wi) : new Array<number>(shape[0]).fill(0);
    const inner = shapeSize(shape.slice(axis + 1));
    const prefix = shapeSize(shape.slice(0, axis));
    const perBatch = prefix / shape[0];
    const out = copyData(cache!.data);
    for (let p = 0; p < prefix; p++) {
      const start = writes[Math.floor(p / perBatch)];
      for (let s = 0; s < seq; s++) {
        let row = start + s;
        if (a.circular) row %= maxSeq;
        if (row < 0 || row >= maxSeq) throw new Error(`write index ${start} + ${s} is out of range for a cache of ${maxSeq} rows`);
        copyBlock(upd!.data, (p * seq + s) * inner, out, (p * maxSeq + row) * inner, inner);
      }
    }
    return [new Tensor(cache!.dtype, shape, out)];
  },
};

export const scatterOps: OpDef<any>[] = [ScatterND, scatterElements('ScatterElements'), scatterElements('Scatter'), GatherND, TensorScatter];
