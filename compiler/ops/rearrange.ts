/**
 * Op family 'rearrange': ops that move elements to computed places or build index-shaped tensors —
 * DepthToSpace, SpaceToDepth, CenterCropPad, ReverseSequence, EyeLike and OneHot.
 *
 * DepthToSpace and SpaceToDepth are a reshape to six axes, a transpose and a reshape back, exactly
 * as the ONNX spec writes them (DCR: depth-column-row, CRD: column-row-depth); SpaceToDepth is the
 * inverse of DepthToSpace in the same mode (its `mode` is opset 28's; DCR, the default, is its only
 * order before that). The transpose is layout.ts's `transposeTensor`. CenterCropPad is one `gatherAxes` pass: on every listed axis the
 * output coordinate i reads input coordinate i + floor((dim - target) / 2) when cropping and
 * i - floor((target - dim) / 2) when padding, and coordinates outside the input become zeros. ReverseSequence copies the input and
 * then, per batch entry b, reverses the first sequence_lens[b] steps along the time axis.
 *
 * EyeLike and OneHot fill an "off" value and then write "on" where the row/column (EyeLike, offset
 * by k) or the index (OneHot, negatives wrapping once by depth, others out of range left off) says.
 */
import type { Dim } from '../ir/graph.ts';
import type { DType } from '../ir/dtype.ts';
import { ONNX_CODES } from './cast.ts';
import { Tensor, readInts, readNumbers, shapeSize, stridesOf } from '../ir/tensor.ts';
import { AttrError, type AttrReader, type OpDef } from './registry.ts';
import { normalizeAxis, required } from './support.ts';
import {
  allocData, copyData, fillData, fmtShape, gatherAxes, knownInts, normalizeAxes, rawElement, rawFromNumber, staticLength,
  stridedOffsets,
} from './movement.ts';
import { transposeTensor } from './layout.ts';

type Slots = { [i: number]: unknown };

interface BlockAttrs { blocksize: number; crd: boolean }

function blockAttrs(r: AttrReader): BlockAttrs {
  const blocksize = r.int('blocksize');
  if (blocksize < 1) throw new AttrError('blocksize', `must be >= 1, got ${blocksize}`);
  const crd = r.oneOf('mode', r.string('mode', 'DCR'), ['DCR', 'CRD']) === 'CRD';
  return { blocksize, crd };
}

function rank4(shape: readonly Dim[], what: string): void {
  if (shape.length !== 4) throw new Error(`${what} must be 4-D [N,C,H,W], got ${fmtShape(shape)}`);
}

/** DepthToSpace(input; blocksize, mode). */
const DepthToSpace: OpDef<BlockAttrs> = {
  name: 'DepthToSpace', inputs: [1, 1], outputs: [1, 1],
  movement: true,
  parseAttrs: blockAttrs,
  inferTypes(inputs, a, ctx) {
    const x = required(inputs, 0, 'input');
    rank4(x.shape, 'input');
    const [n, c, h, w] = x.shape;
    const b2 = a.blocksize * a.blocksize;
    if (typeof c === 'number' && c % b2 !== 0) throw new Error(`channels ${c} are not divisible by blocksize² = ${b2}`);
    const sym = (d: Dim) => (typeof d === 'number' ? d * a.blocksize : ctx.freshDim());
    return [{ dtype: x.dtype, shape: [n, typeof c === 'number' ? c / b2 : ctx.freshDim(), sym(h), sym(w)] }];
  },
  run([x], a) {
    const [n, c, h, w] = x!.shape;
    const b = a.blocksize;
    if (x!.shape.length !== 4 || c % (b * b) !== 0) throw new Error(`input ${fmtShape(x!.shape)} must be 4-D with channels divisible by ${b * b}`);
    const d = c / (b * b);
    const t = a.crd
      ? transposeTensor(x!.reshape([n, d, b, b, h, w]), [0, 1, 4, 2, 5, 3])
      : transposeTensor(x!.reshape([n, b, b, d, h, w]), [0, 3, 4, 1, 5, 2]);
    return [t.reshape([n, d, h * b, w * b])];
  },
};

/** SpaceToDepth(input; blocksize, mode). */
const SpaceToDepth: OpDef<BlockAttrs> = {
  name: 'SpaceToDepth', inputs: [1, 1], outputs: [1, 1],
  movement: true,
  parseAttrs: blockAttrs,
  inferTypes(inputs, a, ctx) {
    const x = required(inputs, 0, 'input');
    rank4(x.shape, 'input');
    const [n, c, h, w] = x.shape;
    const b = a.blocksize;
    const div = (d: Dim, what: string): Dim => {
      if (typeof d !== 'number') return ctx.freshDim();
      if (d % b !== 0) throw new Error(`${what} ${d} is not divisible by blocksize ${b}`);
      return d / b;
    };
    return [{ dtype: x.dtype, shape: [n, typeof c === 'number' ? c * b * b : ctx.freshDim(), div(h, 'height'), div(w, 'width')] }];
  },
  run([x], a) {
    const [n, c, h, w] = x!.shape;
    const b = a.blocksize;
    if (x!.shape.length !== 4 || h % b !== 0 || w % b !== 0) throw new Error(`input ${fmtShape(x!.shape)} must be 4-D with H and W divisible by ${b}`);
    const t = transposeTensor(x!.reshape([n, c, h / b, b, w / b, b]), a.crd ? [0, 1, 3, 5, 2, 4] : [0, 3, 5, 1, 2, 4]);
    return [t.reshape([n, c * b * b, h / b, w / b])];
  },
};

/** CenterCropPad(input, shape; axes). */
const CenterCropPad: OpDef<{ axes?: readonly number[] }> = {
  name: 'CenterCropPad', inputs: [2, 2], outputs: [1, 1],
  movement: true,
  parseAttrs: (r) => ({ axes: r.maybeInts('axes') }),
  inferTypes(inputs, a, ctx) {
    const x = required(inputs, 0, 'input');
    const s = required(inputs, 1, 'shape');
    if (s.dtype !== 'i32' && s.dtype !== 'i64') throw new Error(`shape must be i32 or i64, got ${s.dtype}`);
    const rank = x.shape.length;
    const axes = a.axes ? normalizeAxes(a.axes, rank) : Array.from({ length: rank }, (_, i) => i);
    const len = staticLength(s, 'shape');
    if (len !== axes.length) throw new Error(`shape has ${len} entries but ${axes.length} axes are cropped or padded`);
    const target = knownInts(ctx, 1);
    const shape = [...x.shape];
    axes.forEach((ax, i) => { shape[ax] = target ? target[i] : ctx.freshDim(); });
    return [{ dtype: x.dtype, shape }];
  },
  run([x, s], a) {
    const shape = x!.shape;
    const rank = shape.length;
    const axes = a.axes ? normalizeAxes(a.axes, rank) : Array.from({ length: rank }, (_, i) => i);
    const target = readInts(s!);
    if (target.length !== axes.length) throw new Error(`shape has ${target.length} entries but ${axes.length} axes are cropped or padded`);
    const outShape = [...shape];
    axes.forEach((ax, i) => {
      if (target[i] < 0) throw new Error(`shape entry ${target[i]} is negative`);
      outShape[ax] = target[i];
    });
    const strides = stridesOf(shape);
    const offsets = outShape.map((n, d) => {
      const shift = shape[d] >= n ? Math.floor((shape[d] - n) / 2) : -Math.floor((n - shape[d]) / 2);
      const t = stridedOffsets(n, shift, 1, strides[d]);
      for (let i = 0; i < n; i++) if (i + shift < 0 || i + shift >= shape[d]) t[i] = -1;
      return t;
    });
    const out = allocData(x!.dtype, shapeSize(outShape));
    gatherAxes(x!.data, out, outShape, offsets, rawFromNumber(x!.dtype, 0));
    return [new Tensor(x!.dtype, outShape, out)];
  },
};

/** ReverseSequence(input, sequence_lens; batch_axis, time_axis). */
const ReverseSequence: OpDef<{ batchAxis: number; timeAxis: number }> = {
  name: 'ReverseSequence', inputs: [2, 2], outputs: [1, 1],
  movement: true,
  parseAttrs: (r) => {
    const batchAxis = r.oneOf('batch_axis', r.int('batch_axis', 1), [0, 1]);
    const timeAxis = r.oneOf('time_axis', r.int('time_axis', 0), [0, 1]);
    if (batchAxis === timeAxis) throw new AttrError('time_axis', `must differ from batch_axis (both are ${timeAxis})`);
    return { batchAxis, timeAxis };
  },
  inferTypes(inputs) {
    const x = required(inputs, 0, 'input');
    const lens = required(inputs, 1, 'sequence_lens');
    if (lens.dtype !== 'i64' && lens.dtype !== 'i32') throw new Error(`sequence_lens must be i32 or i64, got ${lens.dtype}`);
    if (x.shape.length < 2) throw new Error(`input must have rank >= 2, got ${fmtShape(x.shape)}`);
    if (lens.shape.length !== 1) throw new Error(`sequence_lens must be 1-D, got ${fmtShape(lens.shape)}`);
    return [{ dtype: x.dtype, shape: x.shape }];
  },
  run([x, lensT], a) {
    const shape = x!.shape;
    const lens = readInts(lensT!);
    const batch = shape[a.batchAxis], time = shape[a.timeAxis];
    if (lens.length !== batch) throw new Error(`sequence_lens has ${lens.length} entries for a batch of ${batch}`);
    for (const l of lens) if (l < 0 || l > time) throw new Error(`sequence length ${l} is out of range for ${time} time steps`);
    const strides = stridesOf(shape);
    const sb = strides[a.batchAxis], st = strides[a.timeAxis];
    const inner = shapeSize(shape.slice(2));
    const out = copyData(x!.data);
    const src = x!.data as unknown as Slots, dst = out as unknown as Slots;
    for (let b = 0; b < batch; b++) {
      for (let t = 0; t < lens[b]; t++) {
        const to = b * sb + t * st, from = b * sb + (lens[b] - 1 - t) * st;
        for (let i = 0; i < inner; i++) dst[to + i] = src[from + i];
      }
    }
    return [new Tensor(x!.dtype, shape, out)];
  },
};

/** Reads an optional ONNX data type code attribute. */
function dtypeAttr(r: AttrReader, name: string): DType | undefined {
  if (!r.has(name)) return undefined;
  const code = r.int(name);
  const d = ONNX_CODES[code];
  if (!d || d === 'str') throw new AttrError(name, `data type ${code} is not supported`);
  return d;
}

/** EyeLike(input; dtype, k). */
const EyeLike: OpDef<{ dtype?: DType; k: number }> = {
  name: 'EyeLike', inputs: [1, 1], outputs: [1, 1],
  parseAttrs: (r) => ({ dtype: dtypeAttr(r, 'dtype'), k: r.int('k', 0) }),
  inferTypes(inputs, a) {
    const x = required(inputs, 0, 'input');
    if (x.shape.length !== 2) throw new Error(`input must be 2-D, got ${fmtShape(x.shape)}`);
    return [{ dtype: a.dtype ?? x.dtype, shape: x.shape }];
  },
  run([x], a) {
    const [rows, cols] = x!.shape;
    const dtype = a.dtype ?? x!.dtype;
    const out = allocData(dtype, rows * cols);
    const one = rawFromNumber(dtype, 1);
    for (let i = 0; i < rows; i++) {
      const j = i + a.k;
      if (j >= 0 && j < cols) (out as unknown as Slots)[i * cols + j] = one;
    }
    return [new Tensor(dtype, [rows, cols], out)];
  },
};

/** OneHot(indices, depth, values; axis). */
const OneHot: OpDef<{ axis: number }> = {
  name: 'OneHot', inputs: [3, 3], outputs: [1, 1],
  parseAttrs: (r) => ({ axis: r.int('axis', -1) }),
  inferTypes(inputs, a, ctx) {
    const ind = required(inputs, 0, 'indices');
    const depth = required(inputs, 1, 'depth');
    const values = required(inputs, 2, 'values');
    if (ind.dtype === 'str' || ind.dtype === 'bool') throw new Error(`indices must be numeric, got ${ind.dtype}`);
    if (staticLength(depth, 'depth') !== 1) throw new Error('depth must hold exactly one value');
    if (staticLength(values, 'values') !== 2) throw new Error('values must hold exactly two values [off, on]');
    const axis = normalizeAxis(a.axis, ind.shape.length + 1);
    const v = ctx.value(1);
    const d: Dim = v ? Math.trunc(readNumbers(v)[0]) : ctx.freshDim();
    return [{ dtype: values.dtype, shape: [...ind.shape.slice(0, axis), d, ...ind.shape.slice(axis)] }];
  },
  run([ind, depthT, values], a) {
    const axis = normalizeAxis(a.axis, ind!.shape.length + 1);
    const depth = Math.trunc(readNumbers(depthT!)[0]);
    if (!(depth >= 1)) throw new Error(`depth must be >= 1, got ${depth}`);
    if (values!.size !== 2) throw new Error('values must hold exactly two values [off, on]');
    const idx = readNumbers(ind!);
    const outShape = [...ind!.shape.slice(0, axis), depth, ...ind!.shape.slice(axis)];
    const inner = shapeSize(ind!.shape.slice(axis));
    const out = allocData(values!.dtype, shapeSize(outShape));
    fillData(out, rawElement(values!, 0));
    const on = rawElement(values!, 1);
    for (let p = 0; p < idx.length; p++) {
      let i = Math.trunc(idx[p]);
      if (i < 0) i += depth;
      if (i < 0 || i >= depth) continue;
      const o = Math.floor(p / inner), c = p % inner;
      (out as unknown as Slots)[(o * depth + i) * inner + c] = on;
    }
    return [new Tensor(values!.dtype, outShape, out)];
  },
};

export const rearrangeOps: OpDef<any>[] = [DepthToSpace, SpaceToDepth, CenterCropPad, ReverseSequence, EyeLike, OneHot];
