/**
 * The C language descriptor (C11, GCC/Clang): what render.ts needs to write a program as one C file.
 *
 * - Types: f32 float, f64 double, f16 _Float16 (storage only: kernels compute it in f32, widen.ts; GCC 12+
 *   and Clang 15+ on x86-64 and AArch64), intN_t/uintN_t, bool as uint8_t (0/1); index type int64_t.
 *   bf16, float8, float4 and sub-byte integers are storage only, converted by header helpers (c-narrow.ts).
 * - Math: the float or double libm function by the operand dtype (expf/exp, expm1f, log1pf, erf,
 *   rintf for the half-to-even `round`, powf, fmodf), except f32 `erf`: `kiln_erff`, a rational
 *   approximation (Eigen's generic_fast_erf_float: x·P(x²)/Q(x²) on x clamped to [-4, 4]; |error| <
 *   1e-7, measured against the exact erf, NaN kept) that is plain arithmetic, so a loop of GELU
 *   epilogues vectorises where a libm call per element would not; and f32 `exp`: `kiln_expf`, Cephes'
 *   expf as arithmetic (n = rint(x·log2 e), r = x − n·ln 2 in two parts (Cody-Waite), e^r by a degree-6
 *   polynomial, times 2^n built from exponent bits in two halves so subnormal results and overflow to
 *   inf come out of the multiply; x clamped to [-104, 89] first, NaN passed through). Measured over
 *   every f32 input (all 2^32 bit patterns, GCC 12 -O2 -march=native): at most 1 ulp from glibc's expf,
 *   relative error at most 8.5e-8 against the exact exp where the result is normal, identical inf, 0 and
 *   NaN; a loop of Softmax, Sigmoid or Exp vectorises (about 12x faster than expf per element on AVX-512).
 *   The semantics are the scalar-op table's
 *   (compiler/ops/scalar-expr.ts): max/min as conditionals that propagate NaN and keep a on ties
 *   (fmaxf/fminf would drop NaN), float sign keeps NaN and -0, isnan as a != a (no -ffast-math),
 *   round_f16 as a round trip through _Float16; integer max/min/abs/sign as conditionals; signed
 *   integer div/rem by -1 as -a/0 (MIN / -1 traps on x86). Integers wrap as the table says only under
 *   -fwrapv (signed overflow is otherwise undefined in C).
 * - Tables (kernel IR `table`): a `static const` array inside a GNU statement expression (GCC and
 *   Clang), so each table is read-only data made once, wherever the expression stands.
 * - Kernels: `void NAME(const T *restrict inK, ..., T *restrict outK)`: inputs and constants const,
 *   every param restrict (a program never binds an output to a buffer another param reads).
 * - Annotations (at most one pragma line per kind): the outermost `parallel` loop gets `#pragma omp parallel for` (with `reduction(op:acc)`
 *   for declared reductions; ignored without -fopenmp), `vectorize` gets `#pragma GCC ivdep` and `unroll 1` (the
 *   compiler's vectoriser handles the tail; not on a loop that is also omp parallel, where GCC allows no
 *   pragma in between), `unroll(n)` gets `#pragma GCC unroll n`, `tile` and the
 *   GPU mappings are comments (a CPU target runs the loop as written).
 * - Vector lanes: GCC/Clang vector extensions, one typedef per (dtype, lanes) the program uses,
 *   `typedef float kiln_f32x16 __attribute__((vector_size(64), aligned(4), may_alias))`: element
 *   alignment makes a vector load or store through a cast pointer an unaligned access, may_alias lets it
 *   read a float buffer; lanewise + - * / are C operators on those types, a broadcast is `x - {0}`
 *   (GCC converts the scalar operand; `{0} + x` would keep an add, since 0 + -0 is +0), a lane is `v[i]`. The multiply-add of `acc += a * b` becomes an
 *   FMA under GCC's default -ffp-contract=fast (GNU C mode); no intrinsics are needed.
 * - Entry: `void kiln_run(void *const *buffers)` calls the kernels in order; `buffers[i]` is the i-th
 *   non-view program buffer (the order is listed in a comment and in `kiln_buffer_count`); a view
 *   uses its root's slot. A GPU barrier has no C form (a kernel with one does not render to C).
 * - Private buffers (`local`): `float *restrict lc0 = (float *)(kiln_local + offset);`, slices of one
 *   `_Thread_local` arena as large as the largest kernel's locals (kir.ts localLayout), so each OpenMP
 *   thread fills and reads its own, warm in its cache from one iteration and kernel to the next.
 */
import type { DType } from '../../ir/dtype.ts';
import { dtypeInfo } from '../../ir/dtype.ts';
import { type Annotation, type BinaryOp, type Combine, type Kernel, type Program, type UnaryOp, localBytes, vectorTypes } from '../kir.ts';
import type { Language, LoopContext } from '../render.ts';
import { NARROW_C_TYPES, narrowCast, narrowHelpers, narrowLiteral } from './c-narrow.ts';

const TYPES: Partial<Record<DType, string>> = {
  f32: 'float', f64: 'double', f16: '_Float16', i8: 'int8_t', u8: 'uint8_t', i16: 'int16_t', u16: 'uint16_t',
  i32: 'int32_t', u32: 'uint32_t', i64: 'int64_t', u64: 'uint64_t', bool: 'uint8_t', ...NARROW_C_TYPES,
};

/** The C type of a dtype (throws for one the target lacks); the CUDA descriptor spells scalars the same way. */
export function type(dtype: DType): string {
  const t = TYPES[dtype];
  if (!t) throw new Error(`the C target has no type for ${dtype}`);
  return t;
}

const isFloat = (d: DType) => dtypeInfo(d).isFloat;
/** libm name for a float dtype: expf for f32, exp for f64. */
const libm = (name: string, d: DType) => (d === 'f32' ? `${name}f` : name);

/** f32 erf as arithmetic (see the module header); compare-and-select clamps keep NaN. */
const ERFF = [
  'static inline float kiln_erff(float a) {',
  '  const float x = a > 4.0f ? 4.0f : a < -4.0f ? -4.0f : a, x2 = x * x;',
  '  float p = -2.72614225801306e-10f;',
  '  p = p * x2 + 2.77068142495902e-08f; p = p * x2 - 2.10102402082508e-06f; p = p * x2 - 5.69250639462346e-05f;',
  '  p = p * x2 - 7.34990630326855e-04f; p = p * x2 - 2.95459980854025e-03f; p = p * x2 - 1.60960333262415e-02f;',
  '  float q = -1.45660718464996e-05f;',
  '  q = q * x2 - 2.13374055278905e-04f; q = q * x2 - 1.68282697438203e-03f; q = q * x2 - 7.37332916720468e-03f;',
  '  q = q * x2 - 1.42647390514189e-02f;',
  '  return x * p / q;',
  '}',
];

/** f32 exp as arithmetic (see the module header); the selects keep NaN and clamp the exponent. */
const EXPF = [
  'static inline float kiln_expf(float a) {',
  '  const float x = a > 89.0f ? 89.0f : a < -104.0f ? -104.0f : a == a ? a : 0.0f;',
  '  const float n = __builtin_rintf(x * 1.44269504088896341f);',
  '  const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;',
  '  float p = 1.9875691500e-4f;',
  '  p = p * r + 1.3981999507e-3f; p = p * r + 8.3334519073e-3f; p = p * r + 4.1665795894e-2f;',
  '  p = p * r + 1.6666665459e-1f; p = p * r + 5.0000001201e-1f;',
  '  p = p * (r * r) + r + 1.0f;',
  '  const int32_t e = (int32_t)n, e1 = e / 2, e2 = e - e1;',
  '  const union { int32_t i; float f; } s1 = { (e1 + 127) * 8388608 }, s2 = { (e2 + 127) * 8388608 };',
  '  const float y = p * s1.f * s2.f;',
  '  return a == a ? y : a;',
  '}',
];

/** The C name of a vector type. */
function vectorType(dtype: DType, lanes: number): string {
  type(dtype);
  if (dtype === 'bool' || dtype === 'f16') throw new Error(`the C target has no vectors of ${dtype}`);
  return `kiln_${dtype}x${lanes}`;
}

/** The typedef of one vector type. */
function vectorTypedef(dtype: DType, lanes: number): string {
  const bytes = dtypeInfo(dtype).bits / 8;
  if (lanes & (lanes - 1)) throw new Error(`the C target has no ${lanes}-lane vectors (a power of two is needed)`);
  return `typedef ${type(dtype)} ${vectorType(dtype, lanes)} __attribute__((vector_size(${bytes * lanes}), aligned(${bytes}), may_alias));`;
}

/** A C literal of a dtype (NAN/INFINITY from math.h for non-finite floats). */
export function literal(value: number | boolean, dtype: DType): string {
  const narrow = narrowLiteral(value, dtype);
  if (narrow !== undefined) return narrow;
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (dtype === 'bool') return value ? '1' : '0';
  if (isFloat(dtype)) {
    const v = dtype === 'f32' ? Math.fround(value) : value;
    const special = Number.isNaN(v) ? 'NAN' : v === Infinity ? 'INFINITY' : v === -Infinity ? '(-INFINITY)' : undefined;
    if (special) return dtype === 'f32' ? special : `((double)${special})`;
    let s = Object.is(v, -0) ? '-0.0' : String(v);
    if (!/[.eE]/.test(s)) s += '.0';
    if (dtype === 'f32') s += 'f';
    return s.startsWith('-') ? `(${s})` : s;
  }
  const suffix = dtype === 'i64' ? 'LL' : dtype === 'u64' ? 'ULL' : dtype === 'u32' ? 'U' : '';
  if (dtype === 'i64' && value === -(2 ** 63)) return '(-9223372036854775807LL - 1)';
  if (dtype === 'i32' && value === -(2 ** 31)) return '(-2147483647 - 1)';
  return value < 0 ? `(${value}${suffix})` : `${value}${suffix}`;
}

/** f32 functions rendered as the arithmetic helpers of the file header rather than libm calls. */
const F32_HELPERS: Partial<Record<UnaryOp, string>> = { erf: 'kiln_erff', exp: 'kiln_expf' };

/** A unary operator with the scalar-op table's semantics (see the module header). */
export function unary(op: UnaryOp, a: string, d: DType): string {
  const helper = d === 'f32' ? F32_HELPERS[op] : undefined;
  if (helper) return `${helper}(${a})`;
  const f = isFloat(d);
  switch (op) {
    case 'neg': return `(-${a})`;
    case 'not': return `(!${a})`;
    case 'abs': return f ? `${libm('fabs', d)}(${a})` : `(${a} < 0 ? -${a} : ${a})`;
    // floats keep NaN and -0 (the table's sign); ints give -1/0/1
    case 'sign': return f ? `(${a} > 0 ? ${literal(1, d)} : ${a} < 0 ? ${literal(-1, d)} : ${a})` : `((${type(d)})((${a} > 0) - (${a} < 0)))`;
    case 'round': return f ? `${libm('rint', d)}(${a})` : a;
    case 'floor': case 'ceil': return f ? `${libm(op, d)}(${a})` : a;
    case 'isnan': return f ? `(${a} != ${a})` : '0';
    case 'round_f16': return `((${type(d)})(_Float16)${a})`;
    default:
      if (!f) throw new Error(`the C target has no integer ${op}`);
      return `${libm(op, d)}(${a})`;
  }
}

const OPS: Partial<Record<BinaryOp, string>> = {
  add: '+', sub: '-', mul: '*', div: '/', lt: '<', le: '<=', gt: '>', ge: '>=', eq: '==', ne: '!=', and: '&&', or: '||', xor: '!=',
};

const SIGNED_INTS: ReadonlySet<DType> = new Set(['i8', 'i16', 'i32', 'i64']);

/** A binary operator with the scalar-op table's semantics (see the module header). */
export function binary(op: BinaryOp, a: string, b: string, d: DType): string {
  // signed MIN / -1 and MIN % -1 trap on x86: -a (wrapping, -fwrapv) and 0 are the table's results
  if (op === 'div' && SIGNED_INTS.has(d)) return `(${b} == -1 ? -${a} : ${a} / ${b})`;
  if (op === 'fmod' && SIGNED_INTS.has(d)) return `(${b} == -1 ? 0 : ${a} % ${b})`;
  const sym = OPS[op];
  if (sym) return `(${a} ${sym} ${b})`;
  const f = isFloat(d);
  switch (op) {
    // NaN propagates, ties keep a (fmaxf/fminf drop NaN)
    case 'max': return f ? `(${b} > ${a} || ${b} != ${b} ? ${b} : ${a})` : `(${b} > ${a} ? ${b} : ${a})`;
    case 'min': return f ? `(${b} < ${a} || ${b} != ${b} ? ${b} : ${a})` : `(${b} < ${a} ? ${b} : ${a})`;
    case 'pow': return f ? `${libm('pow', d)}(${a}, ${b})` : `((${type(d)})pow((double)${a}, (double)${b}))`;
    case 'fmod': return f ? `${libm('fmod', d)}(${a}, ${b})` : `(${a} % ${b})`;
    default: throw new Error(`the C target has no operator ${op}`);
  }
}

/**
 * A conversion with the table's semantics: any -> bool is a != 0 (NaN is true); u32 -> i32 out of range
 * gives INT32_MIN like every other conversion to i32 (the reference Cast; float -> i32 does so on x86);
 * the rest are C conversions.
 */
export function cast(a: string, from: DType, to: DType): string {
  const narrow = narrowCast(a, from, to, cast);
  if (narrow !== undefined) return narrow;
  if (to === 'bool') return `((uint8_t)(${a} != 0))`;
  if (from === to) return a;
  if (from === 'u32' && to === 'i32') return `(${a} > 2147483647U ? (-2147483647 - 1) : (int32_t)${a})`;
  return `((${type(to)})${a})`;
}

function loopOpen(v: string, extent: number, anns: readonly Annotation[], ctx: LoopContext): string[] {
  const lines: string[] = [];
  const omp = !ctx.insideParallel && anns.some((a) => a.kind === 'parallel');
  for (const a of anns) {
    if (a.kind === 'parallel' && !ctx.insideParallel) {
      const sym: Record<Combine, string> = { add: '+', mul: '*', max: 'max', min: 'min' };
      const red = (a.reductions ?? []).map((r) => ` reduction(${sym[ctx.combines.get(r) ?? 'add']}:${r})`).join('');
      lines.push(`#pragma omp parallel for${red}`);
    } else if (a.kind === 'vectorize' && !omp) {
      // GCC allows no pragma between omp and its loop. `unroll 1` keeps a short loop a loop: GCC
      // peels a loop of a few constant iterations completely before its loop vectoriser runs, and
      // the selects in the straight-line copies then become branches no vectoriser takes back (a
      // GEMM tile's finish, 16 lanes of bias + relu6: scalar with jumps, 3.5x slower)
      lines.push('#pragma GCC ivdep');
      if (!anns.some((b) => b.kind === 'unroll')) lines.push('#pragma GCC unroll 1');
    } else if (a.kind === 'unroll') lines.push(`#pragma GCC unroll ${a.factor}`);
  }
  const notes = anns.filter((a) => a.kind === 'tile' || a.kind === 'grid' || a.kind === 'block')
    .map((a) => (a.kind === 'tile' ? `tile(${a.sizes.join(', ')})` : `${a.kind}(${a.axis})`));
  lines.push(`for (int64_t ${v} = 0; ${v} < ${extent}; ${v}++) {${notes.length ? ` /* ${notes.join(' ')} */` : ''}`);
  return lines;
}

function kernelOpen(k: Kernel): string[] {
  const params = k.params.map((p) => `${p.role === 'input' || p.role === 'constant' ? 'const ' : ''}${type(p.dtype)} *restrict ${p.name}`);
  const loc = k.loc.length ? ` (${k.loc.join(', ').replace(/\*\//g, '* /')})` : '';
  return [`/* ${k.nodes.map((n) => `%${n}`).join(', ')}${loc} */`, `void ${k.name}(${params.join(', ') || 'void'}) {`];
}

/** acc = combine(acc, value) as a C statement. */
export function accumulate(name: string, combine: Combine, value: string, d: DType): string {
  if (combine === 'add') return `${name} += ${value};`;
  if (combine === 'mul') return `${name} *= ${value};`;
  return `${name} = ${binary(combine, name, value, d)};`;
}

/** The non-view buffers in slot order. */
export function bufferSlots(p: Program): Map<string, number> {
  const slots = new Map<string, number>();
  for (const b of p.buffers) if (b.aliasOf === undefined) slots.set(b.value, slots.size);
  for (const b of p.buffers) if (b.aliasOf !== undefined) slots.set(b.value, slots.get(b.aliasOf) ?? -1);
  return slots;
}

function entry(p: Program): string[] {
  const slots = bufferSlots(p);
  const kernels = new Map(p.kernels.map((k) => [k.name, k]));
  const lines = [`/* buffers (slot: value dtype[count] kind): */`];
  for (const b of p.buffers) {
    lines.push(`/*   ${slots.get(b.value)}: %${b.value.replace(/\*\//g, '* /')} ${b.dtype}[${b.count}] ${b.aliasOf !== undefined ? `view of %${b.aliasOf.replace(/\*\//g, '* /')}` : b.kind} */`);
  }
  lines.push(`const int kiln_buffer_count = ${[...p.buffers].filter((b) => b.aliasOf === undefined).length};`, '');
  lines.push('void kiln_run(void *const *buffers) {');
  for (const c of p.calls) {
    const k = kernels.get(c.kernel)!;
    const args = c.args.map((a, i) => `(${k.params[i].role === 'input' || k.params[i].role === 'constant' ? 'const ' : ''}${type(k.params[i].dtype)} *)buffers[${slots.get(a)}]`);
    lines.push(`  ${c.kernel}(${args.join(', ')});`);
  }
  lines.push('}');
  return lines;
}

/** The thread-local arena the `local` statements slice (none when no kernel has one). */
const localArena = (bytes: number): string[] => (bytes > 0 ? [`static _Thread_local unsigned char kiln_local[${bytes}] __attribute__((aligned(64)));`] : []);

/** The C descriptor. */
export const C: Language = {
  name: 'c',
  extension: 'c',
  indexType: 'int64_t',
  indexDType: 'i64',
  type,
  literal,
  unary,
  binary,
  select: (c, a, b) => `(${c} ? ${a} : ${b})`,
  cast,
  vectorType,
  vectorLoad: (buffer, index, d, lanes) => `(*(const ${vectorType(d, lanes)} *)&${buffer}[${index}])`,
  vectorStore: (buffer, index, value, d, lanes) => `*(${vectorType(d, lanes)} *)&${buffer}[${index}] = ${value};`,
  // x - {0}, not {0} + x: 0 + x is not x for x = -0, so GCC keeps that add (a scalar add and a
  // register shuffle per broadcast, half the GEMM's speed); x - 0 is x for every x, so it folds to a
  // plain vbroadcastss from memory
  broadcast: (a, d, lanes) => `((${a}) - (${vectorType(d, lanes)}){0})`,
  lane: (a, index) => `${a}[${index}]`,
  load: (buffer, index) => `${buffer}[${index}]`,
  indexLoad: (buffer, index) => `((int64_t)${buffer}[${index}])`,
  // a static const array in a GNU statement expression (GCC, Clang): in read-only data, made once
  table: (values, d, index) => `({ static const ${type(d)} t_[${Math.max(values.length, 1)}] = {${values.map((v) => literal(v, d)).join(', ')}}; t_[${index}]; })`,
  fileHeader: (p) => [
    `/* kiln: program @${p.name}, ${p.kernels.length} kernel(s); generated, do not edit */`,
    '#include <math.h>', '#include <stdint.h>',
    ...narrowHelpers(new Set(p.kernels.flatMap((k) => k.params.map((x) => x.dtype)))),
    ...ERFF,
    ...EXPF,
    ...vectorTypes(p).map((t) => vectorTypedef(t.dtype, t.lanes)),
    // the private buffers of `local` statements: slices of one arena per thread (thread-local storage,
    // allocated by the C library on a thread's first use and kept: every kernel's slices reuse it warm)
    ...localArena(localBytes(p)),
  ],
  kernelOpen,
  loopOpen,
  letDecl: (name, d, value, lanes) => `const ${lanes > 1 ? vectorType(d, lanes) : type(d)} ${name} = ${value};`,
  accDecl: (name, d, init, lanes) => `${lanes > 1 ? vectorType(d, lanes) : type(d)} ${name} = ${init};`,
  accumulate,
  store: (buffer, index, value) => `${buffer}[${index}] = ${value};`,
  guardOpen: (bounds) => `if (${bounds.map((b) => `${b.index} >= 0 && ${b.index} < ${b.extent}`).join(' && ')}) {`,
  barrier: () => { throw new Error('the C target has no barrier (a GPU kernel does not render to C)'); },
  localDecl: (name, d, offset) => `${type(d)} *restrict ${name} = (${type(d)} *)(kiln_local + ${offset});`,
  entry,
};
