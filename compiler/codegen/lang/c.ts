/**
 * The C language descriptor (C11, GCC/Clang): what render.ts needs to write a program as one C file.
 *
 * - Types: f32 float, f64 double, f16 _Float16 (storage only: kernels compute it in f32, widen.ts; GCC 12+
 *   and Clang 15+ on x86-64 and AArch64), intN_t/uintN_t, bool as uint8_t (0/1); index type int64_t.
 *   bf16, float8, float4 and sub-byte integers are storage only, converted by header helpers (c-narrow.ts).
 * - Math: the float or double libm function by the operand dtype (expf/exp, expm1f, log1pf, erff/erf,
 *   rintf for the half-to-even `round`, powf, fmodf); the semantics are the scalar-op table's
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
 *   for declared reductions; ignored without -fopenmp), `vectorize` gets `#pragma GCC ivdep` (the
 *   compiler's vectoriser handles the tail; not on a loop that is also omp parallel, where GCC allows no
 *   pragma in between), `unroll(n)` gets `#pragma GCC unroll n`, `tile` and the
 *   GPU mappings are comments (a CPU target runs the loop as written).
 * - Entry: `void kiln_run(void *const *buffers)` calls the kernels in order; `buffers[i]` is the i-th
 *   non-view program buffer (the order is listed in a comment and in `kiln_buffer_count`); a view
 *   uses its root's slot. A GPU barrier has no C form (a kernel with one does not render to C).
 */
import type { DType } from '../../ir/dtype.ts';
import { dtypeInfo } from '../../ir/dtype.ts';
import type { Annotation, BinaryOp, Combine, Kernel, Program, UnaryOp } from '../kir.ts';
import type { Language, LoopContext } from '../render.ts';
import { NARROW_C_TYPES, narrowCast, narrowHelpers, narrowLiteral } from './c-narrow.ts';

const TYPES: Partial<Record<DType, string>> = {
  f32: 'float', f64: 'double', f16: '_Float16', i8: 'int8_t', u8: 'uint8_t', i16: 'int16_t', u16: 'uint16_t',
  i32: 'int32_t', u32: 'uint32_t', i64: 'int64_t', u64: 'uint64_t', bool: 'uint8_t', ...NARROW_C_TYPES,
};

function type(dtype: DType): string {
  const t = TYPES[dtype];
  if (!t) throw new Error(`the C target has no type for ${dtype}`);
  return t;
}

const isFloat = (d: DType) => dtypeInfo(d).isFloat;
/** libm name for a float dtype: expf for f32, exp for f64. */
const libm = (name: string, d: DType) => (d === 'f32' ? `${name}f` : name);

function literal(value: number | boolean, dtype: DType): string {
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

function unary(op: UnaryOp, a: string, d: DType): string {
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

function binary(op: BinaryOp, a: string, b: string, d: DType): string {
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
function cast(a: string, from: DType, to: DType): string {
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
    } else if (a.kind === 'vectorize' && !omp) lines.push('#pragma GCC ivdep'); // GCC allows no pragma between omp and its loop
    else if (a.kind === 'unroll') lines.push(`#pragma GCC unroll ${a.factor}`);
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

function accumulate(name: string, combine: Combine, value: string, d: DType): string {
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

/** The C descriptor. */
export const C: Language = {
  name: 'c',
  extension: 'c',
  indexType: 'int64_t',
  type,
  literal,
  unary,
  binary,
  select: (c, a, b) => `(${c} ? ${a} : ${b})`,
  cast,
  indexLoad: (buffer, index) => `((int64_t)${buffer}[${index}])`,
  // a static const array in a GNU statement expression (GCC, Clang): in read-only data, made once
  table: (values, d, index) => `({ static const ${type(d)} t_[${Math.max(values.length, 1)}] = {${values.map((v) => literal(v, d)).join(', ')}}; t_[${index}]; })`,
  fileHeader: (p) => [
    `/* kiln: program @${p.name}, ${p.kernels.length} kernel(s); generated, do not edit */`,
    '#include <math.h>', '#include <stdint.h>',
    ...narrowHelpers(new Set(p.kernels.flatMap((k) => k.params.map((x) => x.dtype)))),
  ],
  kernelOpen,
  loopOpen,
  letDecl: (name, d, value) => `const ${type(d)} ${name} = ${value};`,
  accDecl: (name, d, init) => `${type(d)} ${name} = ${init};`,
  accumulate,
  store: (buffer, index, value) => `${buffer}[${index}] = ${value};`,
  guardOpen: (bounds) => `if (${bounds.map((b) => `${b.index} >= 0 && ${b.index} < ${b.extent}`).join(' && ')}) {`,
  barrier: () => { throw new Error('the C target has no barrier (a GPU kernel does not render to C)'); },
  entry,
};
