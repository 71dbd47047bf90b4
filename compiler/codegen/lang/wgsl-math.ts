/**
 * Float and conversion helpers of the WGSL descriptor (wgsl.ts), written into a module's header when
 * one of its kernels uses them. WGSL implementations may assume floats are never NaN or infinite (a
 * `x != x` can fold to false), so every test for NaN or infinity reads the bits, and non-finite
 * constants are made at run time from bits (`kiln_f32_bits`: a call of a user function is never
 * const-evaluated, where a const NaN or Inf is a shader-creation error).
 *
 * - max/min: NaN propagates, ties keep a (the table's max(a, b) = b > a || b != b ? b : a).
 * - sign keeps NaN and -0; erf is C's kiln_erff (lang/c.ts: Eigen's rational approximation on x
 *   clamped to [-4, 4]); expm1 and log1p are exact near 0 (Kahan's tricks: (u - 1)·x / log u with
 *   u = e^x, and log(u)·x / (u - 1) with u = 1 + x); tanh is expm1(2|x|) / (expm1(2|x|) + 2) with its
 *   sign (exact near 0, ±1 beyond |x| = 9): WGSL bounds its tanh only as sinh/cosh, which an
 *   implementation may compute from exp and lose relative precision near 0 (lavapipe's is accurate,
 *   the helper does not depend on it).
 * - pow is C's pow (cPow in compiler/ops/binary.ts): pow(x, ±0) = 1 and pow(1, y) = 1 even for NaN,
 *   pow(-1, ±inf) = 1, a negative base with an integral exponent keeps the parity's sign, a non-integral
 *   one gives NaN, zero and infinite bases and exponents as C99 Annex F; elsewhere exp2(y·log2|x|)
 *   (WGSL's pow, whose precision is the implementation's).
 * - fmod is C's remainder, exactly: long division of |a| by |b| with power-of-two multiples of |b| (each
 *   subtraction exact), the sign of a; a zero or NaN divisor, or an infinite dividend, give NaN.
 * - round_f16 rounds to f16 precision in f32 (pack2x16float), ±Inf past f16's range (|x| >= 65520);
 *   kiln_f16 converts an f32 to f16 storage the same way (f16(x) of an out-of-range x is indeterminate).
 * - Conversions to integers with the table's semantics: to i32 truncates, and NaN, ±Inf and values out
 *   of range give INT32_MIN (x86); to the other integers (u32 and the narrow ones) truncates and wraps
 *   modulo 2^32 (the narrow ones then wrap to their width), NaN and ±Inf give 0 (a typed-array store);
 *   u32 -> i32 beyond INT32_MAX gives INT32_MIN.
 */

/** The helper functions: name → [dependencies, WGSL lines]. `T` in a line is f32 or f16 (see `typed`). */
export const MATH_HELPERS: Readonly<Record<string, readonly [readonly string[], readonly string[]]>> = {
  kiln_f32_bits: [[], ['fn kiln_f32_bits(b: u32) -> f32 { return bitcast<f32>(b); }']],
  kiln_f16_bits: [[], ['fn kiln_f16_bits(b: u32) -> f16 { return bitcast<vec2<f16>>(b).x; }']],
  kiln_isnan: [[], ['fn kiln_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }']],
  kiln_isinf: [[], ['fn kiln_isinf(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }']],
  kiln_max_f32: [['kiln_isnan'], ['fn kiln_max_f32(a: f32, b: f32) -> f32 { return select(a, b, b > a || kiln_isnan(b)); }']],
  kiln_min_f32: [['kiln_isnan'], ['fn kiln_min_f32(a: f32, b: f32) -> f32 { return select(a, b, b < a || kiln_isnan(b)); }']],
  kiln_max_f16: [['kiln_isnan'], ['fn kiln_max_f16(a: f16, b: f16) -> f16 { return select(a, b, b > a || kiln_isnan(f32(b))); }']],
  kiln_min_f16: [['kiln_isnan'], ['fn kiln_min_f16(a: f16, b: f16) -> f16 { return select(a, b, b < a || kiln_isnan(f32(b))); }']],
  kiln_sign_f32: [[], ['fn kiln_sign_f32(a: f32) -> f32 { return select(select(a, -1.0f, a < 0.0f), 1.0f, a > 0.0f); }']],
  kiln_sign_f16: [[], ['fn kiln_sign_f16(a: f16) -> f16 { return select(select(a, -1.0h, a < 0.0h), 1.0h, a > 0.0h); }']],
  kiln_sign_i32: [[], ['fn kiln_sign_i32(a: i32) -> i32 { return select(select(0i, -1i, a < 0i), 1i, a > 0i); }']],
  kiln_erf: [['kiln_isnan'], [
    'fn kiln_erf(a: f32) -> f32 {',
    '  if (kiln_isnan(a)) { return a; }',
    '  let x = clamp(a, -4.0f, 4.0f); let x2 = x * x;',
    '  var p = -2.72614225801306e-10f;',
    '  p = p * x2 + 2.77068142495902e-08f; p = p * x2 - 2.10102402082508e-06f; p = p * x2 - 5.69250639462346e-05f;',
    '  p = p * x2 - 7.34990630326855e-04f; p = p * x2 - 2.95459980854025e-03f; p = p * x2 - 1.60960333262415e-02f;',
    '  var q = -1.45660718464996e-05f;',
    '  q = q * x2 - 2.13374055278905e-04f; q = q * x2 - 1.68282697438203e-03f; q = q * x2 - 7.37332916720468e-03f;',
    '  q = q * x2 - 1.42647390514189e-02f;',
    '  return x * p / q;',
    '}',
  ]],
  kiln_expm1: [['kiln_isnan'], [
    'fn kiln_expm1(x: f32) -> f32 {',
    '  if (kiln_isnan(x)) { return x; }',
    '  if (abs(x) >= 0.5f) { return exp(x) - 1.0f; }',
    '  let u = exp(x);',
    '  if (u == 1.0f) { return x; }',
    '  return (u - 1.0f) * x / log(u);',
    '}',
  ]],
  kiln_log1p: [['kiln_isnan'], [
    'fn kiln_log1p(x: f32) -> f32 {',
    '  if (kiln_isnan(x)) { return x; }',
    '  let u = 1.0f + x;',
    '  if (abs(x) >= 0.5f) { return log(u); }',
    '  if (u == 1.0f) { return x; }',
    '  return log(u) * x / (u - 1.0f);',
    '}',
  ]],
  kiln_tanh: [['kiln_isnan', 'kiln_expm1'], [
    'fn kiln_tanh(x: f32) -> f32 {',
    '  if (kiln_isnan(x)) { return x; }',
    '  let a = abs(x);',
    '  var t = 1.0f;',
    '  if (a < 9.0f) { let e = kiln_expm1(2.0f * a); t = e / (e + 2.0f); }',
    '  return select(t, -t, x < 0.0f);',
    '}',
  ]],
  kiln_pow: [['kiln_isnan', 'kiln_isinf', 'kiln_f32_bits'], [
    'fn kiln_pow(x: f32, y: f32) -> f32 {',
    '  if (y == 0.0f || x == 1.0f) { return 1.0f; }',
    '  if (kiln_isnan(x) || kiln_isnan(y)) { return kiln_f32_bits(0x7fc00000u); }',
    '  let inf = kiln_f32_bits(0x7f800000u);',
    '  let ax = abs(x);',
    '  if (kiln_isinf(y)) {',
    '    if (ax == 1.0f) { return 1.0f; }',
    '    return select(0.0f, inf, (ax > 1.0f) == (y > 0.0f));',
    '  }',
    '  let yint = floor(y) == y;',
    '  let odd = yint && abs(y) < 16777216.0f && (i32(abs(y)) & 1i) == 1i;',
    '  let neg = bitcast<u32>(x) >= 0x80000000u;',
    '  var r: f32;',
    '  if (ax == 0.0f) { r = select(0.0f, inf, y < 0.0f); }',
    '  else if (kiln_isinf(x)) { r = select(0.0f, inf, y > 0.0f); }',
    '  else {',
    '    if (neg && !yint) { return kiln_f32_bits(0x7fc00000u); }',
    '    r = pow(ax, y);',
    '  }',
    '  return select(r, -r, neg && odd);',
    '}',
  ]],
  kiln_fmod: [['kiln_isnan', 'kiln_isinf', 'kiln_f32_bits'], [
    'fn kiln_fmod(a: f32, b: f32) -> f32 {',
    '  if (kiln_isnan(a) || kiln_isnan(b) || kiln_isinf(a) || b == 0.0f) { return kiln_f32_bits(0x7fc00000u); }',
    '  let m = abs(b);',
    '  var r = abs(a);',
    '  if (kiln_isinf(b) || r < m) { return a; }',
    '  for (var i: i32 = 0; i < 300 && r >= m; i++) {',
    '    let k = frexp(r).exp - frexp(m).exp;',
    '    var d = ldexp(m, k);',
    '    if (d > r) { d = ldexp(m, k - 1); }',
    '    r = r - d;',
    '  }',
    '  return bitcast<f32>(bitcast<u32>(r) | (bitcast<u32>(a) & 0x80000000u));',
    '}',
  ]],
  kiln_round_f16: [['kiln_isnan', 'kiln_f32_bits'], [
    'fn kiln_round_f16(x: f32) -> f32 {',
    '  if (kiln_isnan(x)) { return x; }',
    '  if (abs(x) >= 65520.0f) { return select(kiln_f32_bits(0x7f800000u), kiln_f32_bits(0xff800000u), x < 0.0f); }',
    '  return unpack2x16float(pack2x16float(vec2<f32>(x, 0.0f))).x;',
    '}',
  ]],
  kiln_f16: [['kiln_isnan', 'kiln_f16_bits'], [
    'fn kiln_f16(x: f32) -> f16 {',
    '  if (kiln_isnan(x)) { return kiln_f16_bits(0x7e00u); }',
    '  if (abs(x) >= 65520.0f) { return kiln_f16_bits(select(0x7c00u, 0xfc00u, x < 0.0f)); }',
    '  return f16(x);',
    '}',
  ]],
  kiln_f32_i32: [[], [
    'fn kiln_f32_i32(x: f32) -> i32 {',
    '  if ((bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u || abs(x) >= 2147483648.0f) { return i32(-2147483647 - 1); }',
    '  return i32(x);',
    '}',
  ]],
  kiln_f32_wrap32: [[], [
    '// f32 -> u32 bits: truncate, wrap modulo 2^32 (exact: |t| >= 2^31 is a multiple of 256); NaN, Inf give 0',
    'fn kiln_f32_wrap32(x: f32) -> u32 {',
    '  if ((bitcast<u32>(x) & 0x7f800000u) == 0x7f800000u) { return 0u; }',
    '  let t = trunc(x);',
    '  if (abs(t) < 2147483648.0f) { return bitcast<u32>(i32(t)); }',
    '  return u32(t - 4294967296.0f * floor(t / 4294967296.0f));',
    '}',
  ]],
  kiln_u32_i32: [[], ['fn kiln_u32_i32(x: u32) -> i32 { return select(bitcast<i32>(x), i32(-2147483647 - 1), x > 0x7fffffffu); }']],
};
