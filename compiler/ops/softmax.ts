/**
 * Op family 'softmax': Softmax and LogSoftmax, opset-13 semantics (normalised along one `axis`,
 * default -1).
 *
 * Algorithm: the tensor is viewed as [outer, n, inner] around the axis. For each (outer, inner) line:
 * m = max, s = Σ exp(x - m) (numerically stable for large inputs), then y = exp(x - m) / s or
 * y = x - m - log(s). When the axis is the last one (inner = 1) the line is contiguous; otherwise the
 * loop walks `inner` lines side by side with stride `inner`. Math is in f64, stored as f32/f16/bf16/f64.
 */
import type { Tensor } from '../ir/tensor.ts';
import type { OpDef } from './registry.ts';
import { perInputElement } from './flops.ts';
import { FLOAT_TYPES, expectDType, normalizeAxis, required } from './support.ts';
import { allocFloat, floatData, floatTensor } from './float-io.ts';

function softmaxDef(name: 'Softmax' | 'LogSoftmax'): OpDef<{ axis: number }> {
  const log = name === 'LogSoftmax';
  return {
    name,
    inputs: [1, 1],
    flops: perInputElement(3),
    outputs: [1, 1],
    parseAttrs: (r) => ({ axis: r.int('axis', -1) }),
    inferTypes(inputs, a) {
      const x = required(inputs, 0, 'input');
      expectDType(x.dtype, FLOAT_TYPES, 'input');
      normalizeAxis(a.axis, Math.max(1, x.shape.length));
      return [{ dtype: x.dtype, shape: x.shape }];
    },
    run(inputs, a) {
      return [softmax(inputs[0]!, a.axis, log)];
    },
  };
}

/** Softmax (or LogSoftmax when `log`) of a concrete tensor along `axis`. */
export function softmax(x: Tensor, axis: number, log: boolean): Tensor {
  const rank = x.shape.length;
  if (rank === 0) {
    // a scalar is a single-element line
    const v = floatData(x)[0];
    return floatTensor(x.dtype, [], Float64Array.of(v !== v || !Number.isFinite(v) ? NaN : log ? 0 : 1));
  }
  const ax = normalizeAxis(axis, rank);
  const n = x.shape[ax];
  let inner = 1;
  for (let i = ax + 1; i < rank; i++) inner *= x.shape[i];
  const outer = n * inner === 0 ? 0 : x.size / (n * inner);
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

export const softmaxOps: OpDef<any>[] = [softmaxDef('Softmax'), softmaxDef('LogSoftmax')];
