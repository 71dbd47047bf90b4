/**
 * Tensor comparison for conformance checks: exact for integers, bools and strings; for floats
 * |got - want| <= atol + rtol * |want| elementwise, with NaN equal to NaN and an infinity equal only
 * to the same infinity. Narrow floats (f16, bf16, float8, float4) are compared on their decoded
 * values. The result is undefined when the tensors match, or a one-line description of the first
 * difference: dtype, shape, or how many elements differ, the largest absolute and relative errors,
 * and the first bad index with both values.
 */
import { dtypeInfo } from '../ir/dtype.ts';
import { type Tensor, readNumbers } from '../ir/tensor.ts';

/** Tolerances for float comparison. */
export interface Tolerance {
  rtol: number;
  atol: number;
}

const fmtShape = (t: Tensor) => `${t.dtype}[${t.shape.join(',')}]`;

/** Compares `got` against `want`; undefined when they match, else the reason they do not. */
export function compareTensors(got: Tensor, want: Tensor, tol: Tolerance): string | undefined {
  if (got.dtype !== want.dtype) return `dtype mismatch: got ${got.dtype}, expected ${want.dtype}`;
  if (got.shape.length !== want.shape.length || got.shape.some((d, i) => d !== want.shape[i])) {
    return `shape mismatch: got ${fmtShape(got)}, expected ${fmtShape(want)}`;
  }
  const n = want.size;
  if (want.dtype === 'str') {
    const g = got.data as string[], w = want.data as string[];
    let bad = 0, first = -1;
    for (let i = 0; i < n; i++) if (g[i] !== w[i]) { bad++; if (first < 0) first = i; }
    return bad ? `${bad} of ${n} strings differ; first at index ${first}: got ${JSON.stringify(g[first])}, expected ${JSON.stringify(w[first])}` : undefined;
  }
  if (!dtypeInfo(want.dtype).isFloat) return compareExact(got, want);
  const g = readNumbers(got), w = readNumbers(want);
  let bad = 0, first = -1, maxAbs = 0, maxRel = 0;
  for (let i = 0; i < n; i++) {
    const a = g[i], b = w[i];
    if (a === b || (a !== a && b !== b)) continue; // equal, same infinity, or both NaN
    const diff = Math.abs(a - b);
    const ok = Number.isFinite(diff) && diff <= tol.atol + tol.rtol * Math.abs(b);
    const err = Number.isNaN(diff) ? Infinity : diff;
    if (err > maxAbs) maxAbs = err;
    const rel = b === 0 ? (err === 0 ? 0 : Infinity) : err / Math.abs(b);
    if (!ok && rel > maxRel) maxRel = rel;
    if (!ok) { bad++; if (first < 0) first = i; }
  }
  if (!bad) return undefined;
  return `${bad} of ${n} elements differ (rtol ${tol.rtol}, atol ${tol.atol}); max abs error ${fmt(maxAbs)}, max rel error ${fmt(maxRel)}; `
    + `first at index ${first}: got ${fmt(g[first])}, expected ${fmt(w[first])}`;
}

function compareExact(got: Tensor, want: Tensor): string | undefined {
  const g = got.data as ArrayLike<number | bigint>, w = want.data as ArrayLike<number | bigint>;
  let bad = 0, first = -1;
  for (let i = 0; i < want.size; i++) if (g[i] !== w[i]) { bad++; if (first < 0) first = i; }
  if (!bad) return undefined;
  return `${bad} of ${want.size} elements differ (exact match required for ${want.dtype}); first at index ${first}: got ${g[first]}, expected ${w[first]}`;
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return String(Number(v.toPrecision(6)));
}
