/**
 * Op family 'softmax': Softmax, LogSoftmax and Hardmax, opset-13 semantics (normalised along one
 * `axis`, default -1; older forms are rewritten by the importer, import/onnx/opsets.ts).
 *
 * Algorithm: the tensor is viewed as [outer, n, inner] around the axis. For each (outer, inner) line:
 * m = max, s = Σ exp(x - m) (numerically stable for large inputs), then y = exp(x - m) / s or
 * y = x - m - log(s). When the axis is the last one (inner = 1) the line is contiguous; otherwise the
 * loop walks `inner` lines side by side with stride `inner`. Math is in f64, stored as f32/f16/bf16/f64.
 * Hardmax walks the same lines: 1 at the first maximum of each line, 0 elsewhere (a NaN is never the
 * maximum; a line of only NaN marks its first element).
 */
import type { Tensor } from '../ir/tensor.ts';
import type { OpDef } from './registry.ts';
import { perInputElement } from './flops.ts';
import { FLOAT_TYPES, expectDType, normalizeAxis, required } from './support.ts';
import { allocFloat, floatData, floatTensor } from './float-io.ts';

function softmaxDef(name: 'Softmax' | 'LogSoftmax' | 'Hardmax'): OpDef<{ axis: number }> {
  const log = name === 'LogSoftmax';
  return {
    name,
    inputs: [1, 1],
    flops: perInputElement(name === 'Hardmax' ? 1 : 3),
    outputs: [1, 1],
    parseAttrs: (r) => ({ axis: r.int('axis', -1) }),
    inferTypes(inputs, a) {
      const x = required(inputs, 0, 'input');
      expectDType(x.dtype, FLOAT_TYPES, 'input');
      normalizeAxis(a.axis, Math.max(1, x.shape.length));
      return [{ dtype: x.dtype, shape: x.shape }];
    },
    run(inputs, a) {
      return [name === 'Hardmax' ? hardmax(inputs[0]!, a.axis) : softmax(inputs[0]!, a.axis, log)];
    },
  };
}

/** The tensor viewed as [outer, n, inner] around `axis` (rank >= 1). */
function lines(shape: readonly number[], size: number, axis: number): { outer: number; n: number; inner: number } {
  const ax = normalizeAxis(axis, shape.length);
  const n = shape[ax];
  let inner = 1;
  for (let i = ax + 1; i < shape.length; i++) inner *= shape[i];
  return { outer: n * inner === 0 ? 0 : size / (n * inner), n, inner };
}

/** Softmax (or LogSoftmax when `log`) of a concrete tensor along `axis`. */
export function softmax(x: Tensor, axis: number, log: boolean): Tensor {
  const rank = x.shape.length;
  if (rank === 0) {
    // a scalar is a single-element line
    const v = floatData(x)[0];
    return floatTensor(x.dtype, [], Float64Array.of(v !== v || !Number.isFinite(v) ? NaN : log ? 0 : 1));
  }
  const { outer, n, inner } = lines(x.shape, x.size, axis);
  const xs = floatData(x);
  const y = allocFloat(x.dtype, x.size);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * n * inner + j;
      let m = -Infinity;
      for (let i = 0; i < n; i++) {
        const v = xs[base + i * inner];
        if (v > m || v !== v) m = v;
      }
      let s = 0;
      if (log) {
        for (let i = 0; i < n; i++) s += Math.exp(xs[base + i * inner] - m);
        const shift = m + Math.log(s);
        for (let i = 0; i < n; i++) y[base + i * inner] = xs[base + i * inner] - shift;
      } else {
        for (let i = 0; i < n; i++) {
          const e = Math.exp(xs[base + i * inner] - m);
          y[base + i * inner] = e;
          s += e;
        }
        const inv = 1 / s;
        for (let i = 0; i < n; i++) y[base + i * inner] *= inv;
      }
    }
  }
  return floatTensor(x.dtype, x.shape, y);
}

/** Hardmax of a concrete tensor along `axis`: one-hot of the first maximum of each line. */
export function hardmax(x: Tensor, axis: number): Tensor {
  const y = allocFloat(x.dtype, x.size);
  if (x.shape.length === 0) {
    y[0] = 1;
    return floatTensor(x.dtype, [], y);
  }
  const { outer, n, inner } = lines(x.shape, x.size, axis);
  const xs = floatData(x);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * n * inner + j;
      let m = -Infinity, at = base;
      for (let i = 0; i < n; i++) {
        const v = xs[base + i * inner];
        if (v > m) { m = v; at = base + i * inner; }
      }
      y[at] = 1;
    }
  }
  return floatTensor(x.dtype, x.shape, y);
}

export const softmaxOps: OpDef<any>[] = [softmaxDef('Softmax'), softmaxDef('LogSoftmax'), softmaxDef('Hardmax')];
