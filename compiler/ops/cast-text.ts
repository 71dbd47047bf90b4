/**
 * Number <-> string conversions for Cast to and from `str` tensors, following numpy (which the ONNX
 * reference uses) and the ONNX Cast spec.
 *
 * Formatting is numpy's `repr` of a scalar of the source precision: the shortest decimal that reads
 * back to the same value *in that precision* (found by trying 1..17 significant digits and rounding
 * the candidate through the source type), written positionally when 1e-4 <= |x| < cutoff (always with
 * a fraction, `1.0`) and in scientific form otherwise (`1e-05`, `1.5e+16`); `nan`, `inf`, `-inf`.
 * The cutoff is numpy 2's: 1e16 for f64, 1e6 for f32, 1e3 for f16 (`str(np.float32(1e6)) == '1e+06'`).
 * Parsing accepts plain and scientific notation and, case-insensitively, INF/+INF/-INF/INFINITY/NaN;
 * integers parse exactly into i64/u64 when written as integers; otherwise the longest numeric prefix
 * is used (like C strtod) and text with none gives NaN.
 */

/**
 * Formats a float like numpy's str/repr: `round` rounds a double to the source precision, values at or
 * above `cutoff` in magnitude (or below 1e-4) print in scientific notation.
 */
export function formatFloat(v: number, round: (x: number) => number = (x) => x, cutoff = 1e16): string {
  if (v !== v) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  let s = '';
  for (let p = 1; p <= 17; p++) {
    s = v.toExponential(p - 1);
    if (round(Number(s)) === v) break;
  }
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s)!;
  const sign = m[1];
  const digits = m[2] + (m[3] ?? '');
  const exp = Number(m[4]);
  if (exp < -4 || Math.abs(v) >= cutoff) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp);
    return `${sign}${mant}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  if (exp >= digits.length - 1) return `${sign}${digits}${'0'.repeat(exp - digits.length + 1)}.0`;
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

const SPECIAL: ReadonlyMap<string, number> = new Map([
  ['inf', Infinity], ['+inf', Infinity], ['infinity', Infinity], ['+infinity', Infinity],
  ['-inf', -Infinity], ['-infinity', -Infinity], ['nan', NaN], ['+nan', NaN], ['-nan', NaN], ['true', 1], ['false', 0],
]);

/** Parses a numeric string as Cast does (see the module comment); NaN when it holds no number. */
export function parseNumber(s: string): number {
  const t = s.trim();
  const special = SPECIAL.get(t.toLowerCase());
  if (special !== undefined) return special;
  if (t === '') return NaN;
  const v = Number(t);
  return Number.isNaN(v) ? parseFloat(t) : v;
}

const INTEGER = /^[+-]?\d+$/;

/** Parses a string into a 64-bit integer: exact for integer literals, else the truncated number. */
export function parseBigInt(s: string): bigint {
  const t = s.trim();
  if (INTEGER.test(t)) return BigInt(t);
  const v = Math.trunc(parseNumber(t));
  return Number.isFinite(v) ? BigInt(v) : -(2n ** 63n);
}
