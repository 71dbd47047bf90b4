/**
 * 64-bit integers for the WGSL descriptor (wgsl.ts): WGSL has no i64/u64, so a 64-bit value is a
 * `vec2<u32>` (x = low word, y = high word: the bytes of a little-endian int64, so a device buffer of
 * i64 holds the host's BigInt64Array unchanged) and every operation is a helper function written into
 * the module header when a kernel uses it (wgsl.ts collects the names while rendering).
 *
 * Semantics (the scalar-op table's, compiler/ops/scalar-expr.ts): add, sub, mul and neg wrap modulo
 * 2^64 (mul: the low 64 bits of the product, from 16-bit partial products of the low words plus the
 * cross terms); comparisons are signed for i64 (the high words compared as i32) and unsigned for u64;
 * div truncates toward zero and fmod takes the sign of the dividend (long division by shifts over the
 * magnitudes, 64 steps); a zero divisor gives quotient = dividend and remainder 0, as WGSL's own integer
 * `/` and `%` (the table guards zero divisors itself); MIN / -1 wraps to MIN and MIN % -1 is 0.
 * Conversions: i32/narrow signed values sign-extend, unsigned zero-extend, bool gives 0/1; a float
 * truncates toward zero and wraps modulo 2^64 (exact: the words are split off with power-of-two scales),
 * NaN and ±Inf give INT64_MIN; to f32 rounds to nearest even from the exact value (the reference rounds
 * through f64 first, which can differ by one f32 ulp on rare ties).
 */

/** The helper functions: name → [dependencies, WGSL lines]. */
export const I64_HELPERS: Readonly<Record<string, readonly [readonly string[], readonly string[]]>> = {
  kiln_add64: [[], [
    'fn kiln_add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {',
    '  let lo = a.x + b.x;',
    '  return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));',
    '}',
  ]],
  kiln_sub64: [[], [
    'fn kiln_sub64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {',
    '  return vec2<u32>(a.x - b.x, a.y - b.y - select(0u, 1u, a.x < b.x));',
    '}',
  ]],
  kiln_neg64: [['kiln_sub64'], ['fn kiln_neg64(a: vec2<u32>) -> vec2<u32> { return kiln_sub64(vec2<u32>(0u, 0u), a); }']],
  kiln_mul32w: [[], [
    '// the full 64-bit product of two u32, from 16-bit halves',
    'fn kiln_mul32w(a: u32, b: u32) -> vec2<u32> {',
    '  let a0 = a & 0xffffu; let a1 = a >> 16u; let b0 = b & 0xffffu; let b1 = b >> 16u;',
    '  let p00 = a0 * b0; let p01 = a0 * b1; let p10 = a1 * b0; let p11 = a1 * b1;',
    '  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);',
    '  return vec2<u32>((p00 & 0xffffu) | (mid << 16u), p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u));',
    '}',
  ]],
  kiln_mul64: [['kiln_mul32w'], [
    'fn kiln_mul64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {',
    '  let w = kiln_mul32w(a.x, b.x);',
    '  return vec2<u32>(w.x, w.y + a.x * b.y + a.y * b.x);',
    '}',
  ]],
  kiln_lt_u64: [[], ['fn kiln_lt_u64(a: vec2<u32>, b: vec2<u32>) -> bool { return a.y < b.y || (a.y == b.y && a.x < b.x); }']],
  kiln_lt_i64: [[], ['fn kiln_lt_i64(a: vec2<u32>, b: vec2<u32>) -> bool { return bitcast<i32>(a.y) < bitcast<i32>(b.y) || (a.y == b.y && a.x < b.x); }']],
  kiln_max_i64: [['kiln_lt_i64'], ['fn kiln_max_i64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> { return select(a, b, kiln_lt_i64(a, b)); }']],
  kiln_min_i64: [['kiln_lt_i64'], ['fn kiln_min_i64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> { return select(a, b, kiln_lt_i64(b, a)); }']],
  kiln_max_u64: [['kiln_lt_u64'], ['fn kiln_max_u64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> { return select(a, b, kiln_lt_u64(a, b)); }']],
  kiln_min_u64: [['kiln_lt_u64'], ['fn kiln_min_u64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> { return select(a, b, kiln_lt_u64(b, a)); }']],
  kiln_abs64: [['kiln_neg64'], ['fn kiln_abs64(a: vec2<u32>) -> vec2<u32> { return select(a, kiln_neg64(a), (a.y >> 31u) != 0u); }']],
  kiln_sign_i64: [[], [
    'fn kiln_sign_i64(a: vec2<u32>) -> vec2<u32> {',
    '  if ((a.y >> 31u) != 0u) { return vec2<u32>(0xffffffffu, 0xffffffffu); }',
    '  return vec2<u32>(select(0u, 1u, a.x != 0u || a.y != 0u), 0u);',
    '}',
  ]],
  kiln_sign_u64: [[], ['fn kiln_sign_u64(a: vec2<u32>) -> vec2<u32> { return vec2<u32>(select(0u, 1u, a.x != 0u || a.y != 0u), 0u); }']],
  kiln_divmod_u64: [['kiln_lt_u64', 'kiln_sub64'], [
    '// unsigned long division: (quotient, remainder) as vec4 (xy, zw); a zero divisor gives (n, 0)',
    'fn kiln_divmod_u64(n: vec2<u32>, d: vec2<u32>) -> vec4<u32> {',
    '  if (d.x == 0u && d.y == 0u) { return vec4<u32>(n, 0u, 0u); }',
    '  var q = vec2<u32>(0u, 0u); var r = vec2<u32>(0u, 0u);',
    '  for (var i: i32 = 63; i >= 0; i--) {',
    '    let top = r.y >> 31u;',
    '    let bit = select((n.x >> u32(i)) & 1u, (n.y >> u32(i - 32)) & 1u, i >= 32);',
    '    r = vec2<u32>((r.x << 1u) | bit, (r.y << 1u) | (r.x >> 31u));',
    '    if (top != 0u || !kiln_lt_u64(r, d)) {',
    '      r = kiln_sub64(r, d);',
    '      if (i >= 32) { q.y = q.y | (1u << u32(i - 32)); } else { q.x = q.x | (1u << u32(i)); }',
    '    }',
    '  }',
    '  return vec4<u32>(q, r);',
    '}',
  ]],
  kiln_div_u64: [['kiln_divmod_u64'], ['fn kiln_div_u64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> { return kiln_divmod_u64(a, b).xy; }']],
  kiln_rem_u64: [['kiln_divmod_u64'], ['fn kiln_rem_u64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> { return kiln_divmod_u64(a, b).zw; }']],
  kiln_div_i64: [['kiln_divmod_u64', 'kiln_abs64', 'kiln_neg64'], [
    'fn kiln_div_i64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {',
    '  if (b.x == 0u && b.y == 0u) { return a; }',
    '  let q = kiln_divmod_u64(kiln_abs64(a), kiln_abs64(b)).xy;',
    '  return select(q, kiln_neg64(q), ((a.y ^ b.y) >> 31u) != 0u);',
    '}',
  ]],
  kiln_rem_i64: [['kiln_divmod_u64', 'kiln_abs64', 'kiln_neg64'], [
    'fn kiln_rem_i64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {',
    '  let r = kiln_divmod_u64(kiln_abs64(a), kiln_abs64(b)).zw;',
    '  return select(r, kiln_neg64(r), (a.y >> 31u) != 0u);',
    '}',
  ]],
  kiln_i64_from_i32: [[], ['fn kiln_i64_from_i32(a: i32) -> vec2<u32> { return vec2<u32>(bitcast<u32>(a), select(0u, 0xffffffffu, a < 0i)); }']],
  kiln_u64_f32: [[], [
    '// u64 -> f32, rounded to nearest even from the exact value',
    'fn kiln_u64_f32(v: vec2<u32>) -> f32 {',
    '  if (v.y == 0u) { return f32(v.x); }',
    '  let s = countLeadingZeros(v.y);',
    '  let hi = (v.y << s) | select(0u, v.x >> (32u - s), s > 0u);',
    '  let lo = v.x << s;',
    '  var m = hi >> 8u;',
    '  let half = (hi & 0x80u) != 0u; let sticky = (hi & 0x7fu) != 0u || lo != 0u;',
    '  if (half && (sticky || (m & 1u) != 0u)) { m = m + 1u; }',
    '  return ldexp(f32(m), i32(40u - s));',
    '}',
  ]],
  kiln_i64_f32: [['kiln_u64_f32', 'kiln_abs64'], [
    'fn kiln_i64_f32(v: vec2<u32>) -> f32 {',
    '  let m = kiln_u64_f32(kiln_abs64(v));',
    '  return select(m, -m, (v.y >> 31u) != 0u);',
    '}',
  ]],
  kiln_f32_64: [['kiln_neg64'], [
    '// f32 -> 64-bit: truncate toward zero, wrap modulo 2^64; NaN and +-Inf give INT64_MIN',
    'fn kiln_f32_64(x: f32) -> vec2<u32> {',
    '  if ((bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u) { return vec2<u32>(0u, 0x80000000u); }',
    '  let a = trunc(abs(x));',
    '  let h = floor(a / 4294967296.0f);',
    '  let v = vec2<u32>(u32(a - h * 4294967296.0f), u32(h - 4294967296.0f * floor(h / 4294967296.0f)));',
    '  return select(v, kiln_neg64(v), x < 0.0f);',
    '}',
  ]],
};

/**
 * The 64-bit literal `vec2<u32>(lo, hi)` of an integral JS number (two's complement for negatives). A JS
 * number is exact only to 2^53: the kernel IR's INT64_MAX or UINT64_MAX arrive rounded up to 2^63 or
 * 2^64, so values above the dtype's range saturate to its maximum instead of wrapping to MIN or 0
 * (a negative u64 value wraps, as C's `-1ULL`).
 */
export function literal64(value: number, unsigned: boolean): string {
  const hi = unsigned ? 2n ** 64n - 1n : 2n ** 63n - 1n;
  const n = Number.isFinite(value) ? BigInt(Math.trunc(value)) : 0n;
  const v = BigInt.asUintN(64, n > hi ? hi : n);
  return `vec2<u32>(${v & 0xffffffffn}u, ${v >> 32n}u)`;
}
