/**
 * The C descriptor's narrow types: the dtypes C has no arithmetic type for, stored as kiln stores them
 * (ir/dtype.ts: one element per array slot) and converted by helpers written into the file header.
 *
 * Kernel IR semantics (every target must give the same): a value of a narrow dtype exists only as a
 * load, a store, a literal or a cast operand. `cast` from a narrow float decodes exactly; `cast` to a
 * narrow float encodes with the format's rounding (round to nearest even) *saturating* out-of-range
 * values and infinities to the largest finite value (ONNX Cast's default `saturate=1`; f8e8m0 rounds
 * `up` as ONNX's default `round_mode`); a literal is the value's exact code (NaN and ±Inf as the
 * format's non-saturating codes). `cast` to a sub-byte integer (i4, u4, i2, u2) truncates toward zero
 * and wraps modulo 2^bits (non-finite values give 0), as the reference Cast (ops/cast.ts).
 *
 * C realisation:
 *   - storage: bf16 as uint16_t bits, the float8 family and f4e2m1 as uint8_t codes, i4/i2 as int8_t
 *     and u4/u2 as uint8_t values (sign-extended, unpacked);
 *   - decoding a float8/float4 code reads a 256-entry float table generated from the reference codec
 *     (ir/float8.ts), so both agree on every code; bf16 decodes by a 16-bit shift;
 *   - encoding a float8/float4 value (from double, so f32 and f64 sources round once) counts the
 *     rounding thresholds below its magnitude: the thresholds are the midpoints between consecutive
 *     finite magnitudes, and whether a value exactly at one rounds up is read from the reference
 *     codec at that point (ties to even without restating the rule); the sign bit is added unless the
 *     format has no -0 (fnuz) and the magnitude is 0; NaN gives the format's NaN code. bf16 encodes
 *     from the f32 value as floatbits.ts does (round to nearest even on the bits; NaN stays NaN).
 *   - a sub-byte integer encodes with fmod on the truncated double.
 */
import type { DType } from '../../ir/dtype.ts';
import { narrowFloatCodec } from '../../ir/floatbits.ts';
import '../../ir/float8.ts';

/** C storage types of the narrow dtypes. */
export const NARROW_C_TYPES: Readonly<Partial<Record<DType, string>>> = {
  bf16: 'uint16_t', f8e4m3fn: 'uint8_t', f8e4m3fnuz: 'uint8_t', f8e5m2: 'uint8_t', f8e5m2fnuz: 'uint8_t', f8e8m0: 'uint8_t',
  f4e2m1: 'uint8_t', i4: 'int8_t', u4: 'uint8_t', i2: 'int8_t', u2: 'uint8_t',
};

/** Sign/exponent/mantissa formats: code bits, sign bit, largest finite magnitude code, and whether -0 exists. */
const MINI: Readonly<Partial<Record<DType, { bits: number; maxCode: number; negZero: boolean }>>> = {
  f8e4m3fn: { bits: 8, maxCode: 0x7e, negZero: true },
  f8e4m3fnuz: { bits: 8, maxCode: 0x7f, negZero: false },
  f8e5m2: { bits: 8, maxCode: 0x7b, negZero: true },
  f8e5m2fnuz: { bits: 8, maxCode: 0x7f, negZero: false },
  f4e2m1: { bits: 4, maxCode: 0x7, negZero: true },
};

const SUB_BYTE: Readonly<Partial<Record<DType, { bits: number; signed: boolean }>>> = {
  i4: { bits: 4, signed: true }, u4: { bits: 4, signed: false }, i2: { bits: 2, signed: true }, u2: { bits: 2, signed: false },
};

/** True for the dtypes this module handles. */
export const isNarrow = (d: DType): boolean => NARROW_C_TYPES[d] !== undefined;
const isNarrowFloat = (d: DType): boolean => isNarrow(d) && SUB_BYTE[d] === undefined;

/** A double as an exact C literal. */
const dbl = (v: number) => {
  if (Object.is(v, -0)) return '-0.0';
  const s = String(v); // the shortest decimal that reads back as exactly v
  return /[e.]/.test(s) ? s.replace('e+', 'e') : `${s}.0`;
};

/** The C helpers of one narrow dtype. */
function helpers(d: DType): string[] {
  const sub = SUB_BYTE[d];
  if (sub) {
    const m = 2 ** sub.bits;
    const wrap = sub.signed ? `r >= ${m / 2}.0 ? r - ${m}.0 : r` : 'r';
    return [`static inline ${NARROW_C_TYPES[d]} kiln_enc_${d}(double x) { if (!isfinite(x)) return 0; double r = fmod(trunc(x), ${m}.0); if (r < 0) r += ${m}.0; return (${NARROW_C_TYPES[d]})(${wrap}); }`];
  }
  if (d === 'bf16') {
    return [
      'static inline float kiln_dec_bf16(uint16_t b) { union { uint32_t u; float f; } v; v.u = (uint32_t)b << 16; return v.f; }',
      'static inline uint16_t kiln_enc_bf16(double x) { union { uint32_t u; float f; } v; v.f = (float)x; uint32_t u = v.u;'
        + ' if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffffu)) return (uint16_t)(((u >> 16) | 0x40u) & 0xffffu);'
        + ' return (uint16_t)(((u + 0x7fffu + ((u >> 16) & 1u)) >> 16) & 0xffffu); }',
    ];
  }
  const codec = narrowFloatCodec(d);
  const size = d === 'f4e2m1' ? 16 : 256;
  const table = Array.from({ length: size }, (_, c) => codec.decode(c));
  const f = (v: number) => (Number.isNaN(v) ? 'NAN' : v === Infinity ? 'INFINITY' : v === -Infinity ? '-INFINITY' : `${dbl(v)}f`);
  const lines = [`static const float kiln_dec_${d}[${size}] __attribute__((unused)) = {${table.map(f).join(',')}};`];
  if (d === 'f8e8m0') {
    // round_mode 'up', saturate (encodeE8M0): keep the f32 exponent, +1 for a non-zero mantissa below 2^127
    lines.push('static inline uint8_t kiln_enc_f8e8m0(double x) { union { uint32_t u; float f; } v; v.f = (float)x;'
      + ' uint32_t e = (v.u >> 23) & 0xffu; if (e == 0xffu) return 0xff; if ((v.u & 0x7fffffu) && e != 0xfeu) e++; return (uint8_t)e; }');
    return lines;
  }
  const mini = MINI[d]!;
  const thresholds: number[] = [], up: number[] = [];
  for (let c = 0; c < mini.maxCode; c++) {
    const t = (codec.decode(c) + codec.decode(c + 1)) / 2;
    thresholds.push(t);
    up.push(codec.encode(t, true) === c + 1 ? 1 : 0);
  }
  const signBit = 1 << (mini.bits - 1);
  lines.push(
    `static const double kiln_thr_${d}[${thresholds.length}] = {${thresholds.map(dbl).join(',')}};`,
    `static const uint8_t kiln_up_${d}[${up.length}] = {${up.join(',')}};`,
    `static inline uint8_t kiln_enc_${d}(double x) {`,
    `  if (x != x) return ${codec.encode(NaN, true)};`,
    '  const double a = fabs(x);',
    `  int lo = 0, hi = ${thresholds.length}; /* the code is the number of thresholds a passes */`,
    '  while (lo < hi) {',
    '    const int mid = (lo + hi) / 2;',
    `    if (a > kiln_thr_${d}[mid] || (a == kiln_thr_${d}[mid] && kiln_up_${d}[mid])) lo = mid + 1; else hi = mid;`,
    '  }',
    `  return (uint8_t)(signbit(x) ${mini.negZero ? '' : '&& lo != 0 '}? (lo | ${signBit}) : lo);`,
    '}',
  );
  return lines;
}

/** File-header helpers for the narrow dtypes in `dtypes`. */
export function narrowHelpers(dtypes: ReadonlySet<DType>): string[] {
  return [...dtypes].filter(isNarrow).sort().flatMap(helpers);
}

/** C of a cast involving a narrow dtype (`a` already rendered), or undefined when neither side is narrow. */
export function narrowCast(a: string, from: DType, to: DType, plain: (a: string, from: DType, to: DType) => string): string | undefined {
  if (!isNarrow(from) && !isNarrow(to)) return undefined;
  if (from === to) return a;
  // decode to float (a sub-byte integer is already its value)
  let v = a, vt: DType = from;
  if (isNarrowFloat(from)) { v = from === 'bf16' ? `kiln_dec_bf16(${a})` : `kiln_dec_${from}[${a}]`; vt = 'f32'; } else if (isNarrow(from)) vt = from === 'i4' || from === 'i2' ? 'i8' : 'u8';
  if (isNarrow(to)) return `kiln_enc_${to}((double)(${v}))`;
  return plain(v, vt, to);
}

/** The C literal of a narrow dtype (the value's exact code), or undefined for another dtype. */
export function narrowLiteral(value: number | boolean, dtype: DType): string | undefined {
  if (!isNarrow(dtype)) return undefined;
  const v = Number(value);
  if (!isNarrowFloat(dtype)) return `((${NARROW_C_TYPES[dtype]})${v})`;
  const code = narrowFloatCodec(dtype).encode(v, false);
  return `((${NARROW_C_TYPES[dtype]})0x${code.toString(16)})`;
}
