/**
 * Tensor comparison for conformance checks: exact for integers, bools and strings; for floats
 * |got - want| <= atol + rtol * |want| elementwise, with NaN equal to NaN and an infinity equal only
 * to the same infinity. Narrow floats (f16, bf16, float8, float4) are compared on their decoded
 * values.
 *
 * `diffTensors` measures the whole tensor: the largest absolute error |got - want| and the largest
 * relative error |got - want| / |want| over all elements (an element that differs where want is 0,
 * or a NaN or infinity that disagrees, counts as Infinity), how many elements are past tolerance, and,
 * when any is (or dtype or shape differ), `reason`: a one-line description of the first difference
 * (dtype, shape, or how many elements differ, the largest errors, and the first bad index with both
 * values). `compareTensors` is that reason alone.
 *
 * `diffValues` compares run-time values (ir/value.ts): tensors as above; sequences by length, then
 * element by element (the errors are the worst over the elements, the reason names the first bad
 * element); optionals by presence (none against none matches), then by the value they hold.
 *
 * `tensorDistance` and `valueDistance` measure a result against a reference for the norm-relative
 * checks (runtime/check.ts): the largest |got - ref| and the largest finite |ref|, over a sequence's
 * elements too; a dtype, shape, length or presence disagreement is an infinite distance.
 */
import { dtypeInfo } from '../ir/dtype.ts';
import { Tensor, readNumbers } from '../ir/tensor.ts';
import { type Value, describeValue, isSequence } from '../ir/value.ts';

/** Tolerances for float comparison. */
export interface Tolerance {
  rtol: number;
  atol: number;
}

/** How far a result is from the expected tensor (see the module header). */
export interface TensorDiff {
  /** Largest |got - want|; Infinity for a dtype or shape mismatch or a differing string. */
  readonly maxAbsError: number;
  /** Largest |got - want| / |want|; Infinity where want is 0 and got differs. */
  readonly maxRelError: number;
  /** Elements past tolerance (all of them for a dtype or shape mismatch). */
  readonly mismatched: number;
  /** Why the tensors do not match; undefined when they do. */
  readonly reason?: string;
}

const fmtShape = (t: Tensor) => `${t.dtype}[${t.shape.join(',')}]`;

/** Compares `got` against `want`; undefined when they match, else the reason they do not. */
export function compareTensors(got: Tensor, want: Tensor, tol: Tolerance): string | undefined {
  return diffTensors(got, want, tol).reason;
}

/** Measures `got` against `want` (see the module header). */
export function diffTensors(got: Tensor, want: Tensor, tol: Tolerance): TensorDiff {
  const n = want.size;
  const total = (reason: string): TensorDiff => ({ maxAbsError: Infinity, maxRelError: Infinity, mismatched: n, reason });
  if (got.dtype !== want.dtype) return total(`dtype mismatch: got ${got.dtype}, expected ${want.dtype}`);
  if (got.shape.length !== want.shape.length || got.shape.some((d, i) => d !== want.shape[i])) {
    return total(`shape mismatch: got ${fmtShape(got)}, expected ${fmtShape(want)}`);
  }
  if (want.dtype === 'str') {
    const g = got.data as string[], w = want.data as string[];
    let bad = 0, first = -1;
    for (let i = 0; i < n; i++) if (g[i] !== w[i]) { bad++; if (first < 0) first = i; }
    return exactDiff(bad, bad ? `${bad} of ${n} strings differ; first at index ${first}: got ${JSON.stringify(g[first])}, expected ${JSON.stringify(w[first])}` : undefined);
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
    const rel = b === 0 ? Infinity : err / Math.abs(b);
    if (rel > maxRel) maxRel = rel;
    if (!ok) { bad++; if (first < 0) first = i; }
  }
  const reason = bad ? `${bad} of ${n} elements differ (rtol ${tol.rtol}, atol ${tol.atol}); max abs error ${fmt(maxAbs)}, max rel error ${fmt(maxRel)}; `
    + `first at index ${first}: got ${fmt(g[first])}, expected ${fmt(w[first])}` : undefined;
  return { maxAbsError: maxAbs, maxRelError: maxRel, mismatched: bad, ...(reason ? { reason } : {}) };
}

/** Measures the value `got` against `want` (see the module header). */
export function diffValues(got: Value, want: Value, tol: Tolerance): TensorDiff {
  const size = (v: Value): number => (v instanceof Tensor ? v.size : isSequence(v) ? v.reduce((n, t) => n + t.size, 0) : 0);
  const total = (reason: string): TensorDiff => ({ maxAbsError: Infinity, maxRelError: Infinity, mismatched: Math.max(1, size(want)), reason });
  const expected = want instanceof Tensor ? `a tensor ${fmtShape(want)}` : describeValue(want);
  if (want === null) return got === null ? { maxAbsError: 0, maxRelError: 0, mismatched: 0 } : total(`got ${describeValue(got)}, expected none`);
  if (want instanceof Tensor) return got instanceof Tensor ? diffTensors(got, want, tol) : total(`got ${describeValue(got)}, expected ${expected}`);
  if (!isSequence(got)) return total(`got ${got instanceof Tensor ? `a tensor ${fmtShape(got)}` : describeValue(got)}, expected ${expected}`);
  if (got.length !== want.length) return total(`got a sequence of ${got.length} tensors, expected ${want.length}`);
  let maxAbsError = 0, maxRelError = 0, mismatched = 0, reason: string | undefined;
  want.forEach((w, k) => {
    const d = diffTensors(got[k], w, tol);
    maxAbsError = Math.max(maxAbsError, d.maxAbsError);
    maxRelError = Math.max(maxRelError, d.maxRelError);
    mismatched += d.mismatched;
    if (d.reason && reason === undefined) reason = `sequence element ${k}: ${d.reason}`;
  });
  return { maxAbsError, maxRelError, mismatched, ...(reason ? { reason } : {}) };
}

/** The diff of strings: a differing string is an error of Infinity, absolute and relative. */
function exactDiff(bad: number, reason: string | undefined): TensorDiff {
  return { maxAbsError: bad ? Infinity : 0, maxRelError: bad ? Infinity : 0, mismatched: bad, ...(reason ? { reason } : {}) };
}

/** Integers and bools must match exactly; the errors are still measured, for reports. */
function compareExact(got: Tensor, want: Tensor): TensorDiff {
  const g = got.data as ArrayLike<number | bigint>, w = want.data as ArrayLike<number | bigint>;
  let bad = 0, first = -1, maxAbs = 0, maxRel = 0;
  for (let i = 0; i < want.size; i++) {
    if (g[i] === w[i]) continue;
    bad++;
    if (first < 0) first = i;
    const err = Math.abs(Number(g[i]) - Number(w[i])), b = Math.abs(Number(w[i]));
    if (err > maxAbs) maxAbs = err;
    const rel = b === 0 ? Infinity : err / b;
    if (rel > maxRel) maxRel = rel;
  }
  const reason = bad ? `${bad} of ${want.size} elements differ (exact match required for ${want.dtype}); first at index ${first}: got ${g[first]}, expected ${w[first]}` : undefined;
  return { maxAbsError: maxAbs, maxRelError: maxRel, mismatched: bad, ...(reason ? { reason } : {}) };
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return String(Number(v.toPrecision(6)));
}

/** How far apart two tensors are: max |got - ref| and max |ref| (the scale of a norm-relative error). */
export interface Distance { abs: number; scale: number }

/** Max |got - ref| and max |ref| (finite values); Infinity for a shape mismatch or NaN/inf disagreement. */
export function tensorDistance(got: Tensor, ref: Tensor): Distance {
  if (got.shape.length !== ref.shape.length || got.shape.some((d, i) => d !== ref.shape[i])) return { abs: Infinity, scale: 0 };
  if (ref.dtype === 'str' || got.dtype === 'str') {
    if (got.dtype !== ref.dtype) return { abs: Infinity, scale: 0 };
    const g = got.data as string[], r = ref.data as string[];
    for (let i = 0; i < r.length; i++) if (g[i] !== r[i]) return { abs: Infinity, scale: 0 };
    return { abs: 0, scale: 0 };
  }
  const g = readNumbers(got), r = readNumbers(ref);
  let abs = 0, scale = 0;
  for (let i = 0; i < r.length; i++) {
    const a = g[i], b = r[i];
    const m = Math.abs(b);
    if (m > scale && m !== Infinity) scale = m;
    if (a === b || (a !== a && b !== b)) continue;
    const d = Math.abs(a - b);
    if (!(d <= abs)) abs = d !== d ? Infinity : d;
  }
  return { abs, scale };
}

/**
 * `tensorDistance` of run-time values (module header): none against none is no distance; a sequence
 * against one of the same length is the worst element's error over the largest element's scale.
 */
export function valueDistance(got: Value, ref: Value): Distance {
  const far: Distance = { abs: Infinity, scale: 0 };
  if (ref === null || got === null) return ref === got ? { abs: 0, scale: 0 } : far;
  if (ref instanceof Tensor || got instanceof Tensor) {
    return ref instanceof Tensor && got instanceof Tensor && got.dtype === ref.dtype ? tensorDistance(got, ref) : far;
  }
  if (got.length !== ref.length) return far;
  let abs = 0, scale = 0;
  ref.forEach((r, k) => {
    const d = got[k].dtype === r.dtype ? tensorDistance(got[k], r) : far;
    abs = Math.max(abs, d.abs);
    scale = Math.max(scale, d.scale);
  });
  return { abs, scale };
}
