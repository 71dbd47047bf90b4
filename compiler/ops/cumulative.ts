/**
 * Op family 'cumulative': running sums and products along an axis (CumSum, CumProd) and the
 * determinant of square matrices (Det).
 *
 * CumSum/CumProd split the input around the axis into outer × dim × inner and walk each of the
 * outer·inner lines in order (backwards when `reverse`), keeping a running total in f64; with
 * `exclusive` an element receives the total of the elements before it (the identity, 0 or 1, for
 * the first). Values are read as numbers and written back once in the input's dtype, so integer
 * types wrap as their storage does.
 *
 * Det factors each trailing M×M matrix by Gaussian elimination with partial pivoting (LU) in f64:
 * the determinant is the product of the pivots, negated once per row swap; a zero pivot column
 * means a singular matrix and a determinant of 0.
 */
import { Tensor, readInts, readNumbers, shapeSize } from '../ir/tensor.ts';
import type { OpDef } from './registry.ts';
import { FLOAT_TYPES, NUMERIC_TYPES, expectDType, normalizeAxis, required } from './support.ts';
import { perInputElement } from './flops.ts';
import { fmtShape, staticLength } from './movement.ts';

interface CumAttrs { exclusive: boolean; reverse: boolean }

/** CumSum / CumProd(x, axis; exclusive, reverse). */
function cumulative(name: 'CumSum' | 'CumProd'): OpDef<CumAttrs> {
  const isSum = name === 'CumSum';
  return {
    name, inputs: [2, 2], outputs: [1, 1],
    flops: perInputElement(1),
    parseAttrs: (r) => ({
      exclusive: r.oneOf('exclusive', r.int('exclusive', 0), [0, 1]) === 1,
      reverse: r.oneOf('reverse', r.int('reverse', 0), [0, 1]) === 1,
    }),
    inferTypes(inputs) {
      const x = required(inputs, 0, 'x');
      const ax = required(inputs, 1, 'axis');
      expectDType(x.dtype, NUMERIC_TYPES, 'x');
      expectDType(ax.dtype, ['i32', 'i64'], 'axis');
      if (staticLength(ax, 'axis') !== 1) throw new Error('axis must hold exactly one value');
      return [{ dtype: x.dtype, shape: x.shape }];
    },
    run([x, axT], a) {
      const shape = x!.shape;
      const axis = normalizeAxis(readInts(axT!)[0], shape.length);
      const outer = shapeSize(shape.slice(0, axis)), dim = shape[axis], inner = shapeSize(shape.slice(axis + 1));
      const v = readNumbers(x!);
      const out = new Float64Array(v.length);
      const id = isSum ? 0 : 1;
      for (let o = 0; o < outer; o++) {
        for (let c = 0; c < inner; c++) {
          const base = o * dim * inner + c;
          let acc = id;
          for (let s = 0; s < dim; s++) {
            const p = base + (a.reverse ? dim - 1 - s : s) * inner;
            if (a.exclusive) { out[p] = acc; acc = isSum ? acc + v[p] : acc * v[p]; }
            else { acc = isSum ? acc + v[p] : acc * v[p]; out[p] = acc; }
          }
        }
      }
      return [Tensor.fromNumbers(x!.dtype, shape, out)];
    },
  };
}

/** The determinant of the n×n matrix m (row-major, overwritten) by LU with partial pivoting. */
export function determinant(m: Float64Array, n: number): number {
  let det = 1;
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]) > Math.abs(m[piv * n + c])) piv = r;
    const pv = m[piv * n + c];
    if (pv === 0) return 0;
    if (piv !== c) {
      for (let j = 0; j < n; j++) { const t = m[c * n + j]; m[c * n + j] = m[piv * n + j]; m[piv * n + j] = t; }
      det = -det;
    }
    det *= pv;
    for (let r = c + 1; r < n; r++) {
      const f = m[r * n + c] / pv;
      if (f === 0) continue;
      for (let j = c; j < n; j++) m[r * n + j] -= f * m[c * n + j];
    }
  }
  return det;
}

/** Det(X): [..., M, M] -> [...]. */
const Det: OpDef<Record<string, never>> = {
  name: 'Det', inputs: [1, 1], outputs: [1, 1],
  flops: (inputs) => {
    const s = inputs[0]?.shape;
    if (!s || s.some((d) => typeof d !== 'number')) return undefined;
    const n = s[s.length - 1] as number;
    return shapeSize(s.slice(0, -2) as number[]) * Math.ceil((2 * n * n * n) / 3);
  },
  parseAttrs: () => ({}),
  inferTypes(inputs) {
    const x = required(inputs, 0, 'X');
    expectDType(x.dtype, FLOAT_TYPES, 'X');
    const r = x.shape.length;
    if (r < 2) throw new Error(`X must have rank >= 2, got ${fmtShape(x.shape)}`);
    const [m, n] = x.shape.slice(-2);
    if (typeof m === 'number' && typeof n === 'number' && m !== n) throw new Error(`X's matrices must be square, got ${fmtShape(x.shape)}`);
    return [{ dtype: x.dtype, shape: x.shape.slice(0, -2) }];
  },
  run([x]) {
    const shape = x!.shape;
    const n = shape[shape.length - 1];
    if (shape.length < 2 || shape[shape.length - 2] !== n) throw new Error(`X's matrices must be square, got ${fmtShape(shape)}`);
    const v = readNumbers(x!);
    const outShape = shape.slice(0, -2);
    const count = shapeSize(outShape);
    const out = new Float64Array(count);
    for (let b = 0; b < count; b++) out[b] = determinant(Float64Array.from(v.subarray(b * n * n, (b + 1) * n * n)), n);
    return [Tensor.fromNumbers(x!.dtype, outShape, out)];
  },
};

export const cumulativeOps: OpDef<any>[] = [cumulative('CumSum'), cumulative('CumProd'), Det];
