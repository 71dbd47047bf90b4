/**
 * Scalar expression trees: the language of the scalar-op table (scalar-ops.ts). A tree says what one
 * output element of a pointwise op is, in terms of the op's operands, constants and a small set of
 * functions, independently of any target language. Every renderer (the JS one here; C, WGSL and
 * CUDA in compiler/codegen) prints the same tree in its own syntax.
 *
 * Nodes (all typed: `type` is a ScalarType, the value type of the node's *operands* for `op` nodes):
 *   input(i)          operand i of the op (an element already loaded and widened to its compute type)
 *   const(v)          a literal (number, or bigint for i64/u64); `attr` names the attribute it came from
 *   op(fn, args)      one function of SCALAR_FNS applied to args (all of type `type`, except `select`'s
 *                     condition, which is bool); the result type is `resultType(node)`
 *   convert(a, t)     a value rounded/converted to type t: float -> int truncates toward zero and wraps
 *                     (-> i32 from any non-64-bit type: NaN/Inf/out of range give INT32_MIN, as x86;
 *                     float -> i64/u64: non-finite give INT64_MIN; i64/u64 -> narrower ints wrap),
 *                     any -> bool is `a != 0` (NaN is true), bool -> number is 0/1. A convert to the
 *                     operand's own type marks a rounding point: the JS renderer rounds there (f32:
 *                     Math.fround, ints: wrap to the width), typed targets print nothing or a cast.
 *
 * Function semantics per operand type (float = f32/f64; int = i8..u64; bool = 0/1):
 *   add sub mul neg   IEEE on floats; on ints exact modulo 2^bits (the result wraps at the next convert)
 *   div               floats IEEE; ints truncate toward zero (the tree guards a zero divisor itself)
 *   rem               floats C fmod (sign of the dividend); ints truncated remainder (divisor nonzero)
 *   min max           max(a, b) = (b > a || b != b) ? b : a: NaN propagates, ties keep a (numpy)
 *   abs sign          C fabs / copysign-free sign (sign(NaN) = NaN, sign(-0) = -0)
 *   exp expm1 log log1p sqrt sin cos tanh erf floor ceil   C math functions (floats only)
 *   round_even        round half to even (C nearbyint in the default rounding mode)
 *   round_f16/_bf16   the value rounded to f16/bf16 precision (nearest even), kept in the float type
 *   pow               C pow (floats only)
 *   lt le gt ge eq ne IEEE comparisons (NaN compares false except ne): bool result
 *   isnan             bool result
 *   and or xor not    on bool operands
 *   select(c, a, b)   c ? a : b, evaluating only the chosen branch
 *
 * `compileScalar` turns a tree into a JS closure (cached by its source text): the kiln reference
 * evaluator. Inside one tree the JS closure computes floats in f64 and ints exactly (JS numbers, BigInt
 * for i64/u64); it rounds only at `convert` nodes. See scalar-ops.ts for the precision contract.
 */
import type { DType } from '../ir/dtype.ts';
import { erf, roundHalfEven } from './unary.ts';
import { cPow } from './binary.ts';
import { narrowFloatCodec } from '../ir/floatbits.ts';

const F16 = narrowFloatCodec('f16');
const BF16 = narrowFloatCodec('bf16');

/** Value types of scalar expressions: the compute types of the dtypes pointwise code handles. */
export type ScalarType = 'f32' | 'f64' | 'i8' | 'u8' | 'i16' | 'u16' | 'i32' | 'u32' | 'i64' | 'u64' | 'bool';

/** The functions an `op` node may apply, with their operand counts. */
export const SCALAR_FNS = {
  add: 2, sub: 2, mul: 2, div: 2, rem: 2, neg: 1, abs: 1, sign: 1, min: 2, max: 2, pow: 2,
  exp: 1, expm1: 1, log: 1, log1p: 1, sqrt: 1, sin: 1, cos: 1, tanh: 1, erf: 1, floor: 1, ceil: 1, round_even: 1,
  round_f16: 1, round_bf16: 1,
  lt: 2, le: 2, gt: 2, ge: 2, eq: 2, ne: 2, isnan: 1, and: 2, or: 2, xor: 2, not: 1, select: 3,
} as const;

/** A function name of SCALAR_FNS. */
export type ScalarFn = keyof typeof SCALAR_FNS;

/** Functions whose result is bool whatever their operand type. */
const BOOL_RESULT: ReadonlySet<ScalarFn> = new Set(['lt', 'le', 'gt', 'ge', 'eq', 'ne', 'isnan']);
/** Functions defined on float operands only. */
const FLOAT_ONLY: ReadonlySet<ScalarFn> = new Set(['exp', 'expm1', 'log', 'log1p', 'sqrt', 'sin', 'cos', 'tanh', 'erf',
  'floor', 'ceil', 'round_even', 'pow', 'isnan', 'round_f16', 'round_bf16']);
/** Functions defined on bool operands only. */
const BOOL_ONLY: ReadonlySet<ScalarFn> = new Set(['and', 'or', 'xor', 'not']);

/** A scalar expression tree (see the module comment). */
export type Expr =
  | { readonly kind: 'input'; readonly index: number; readonly type: ScalarType }
  | { readonly kind: 'const'; readonly value: number | bigint; readonly type: ScalarType; readonly attr?: string }
  | { readonly kind: 'op'; readonly fn: ScalarFn; readonly args: readonly Expr[]; readonly type: ScalarType }
  | { readonly kind: 'convert'; readonly arg: Expr; readonly type: ScalarType };

/** The type of the value a node produces. */
export function resultType(e: Expr): ScalarType {
  return e.kind === 'op' && BOOL_RESULT.has(e.fn) ? 'bool' : e.type;
}

/** The scalar type a tensor dtype computes in (f16/bf16 in f32), or undefined when it has none. */
export function computeType(dtype: DType): ScalarType | undefined {
  switch (dtype) {
    case 'f32': case 'f16': case 'bf16': return 'f32';
    case 'f64': case 'i8': case 'u8': case 'i16': case 'u16': case 'i32': case 'u32': case 'i64': case 'u64': case 'bool':
      return dtype;
    default: return undefined;
  }
}

/** True for f32/f64. */
export const isFloatType = (t: ScalarType): boolean => t === 'f32' || t === 'f64';
/** True for i64/u64 (BigInt values in JS). */
export const isBigType = (t: ScalarType): boolean => t === 'i64' || t === 'u64';

/** Node constructors for trees whose operands have type `type`; they check operand types as they build. */
export class ExprBuilder {
  constructor(readonly type: ScalarType) {}
  /** Operand i of the op (of this builder's type unless `type` says otherwise). */
  input(index: number, type: ScalarType = this.type): Expr { return { kind: 'input', index, type }; }
  /** A literal of this builder's type; integers become bigints for i64/u64. */
  const(value: number, attr?: string): Expr {
    const v = isBigType(this.type) ? BigInt(value) : this.type === 'bool' ? Number(value !== 0) : value;
    return attr === undefined ? { kind: 'const', value: v, type: this.type } : { kind: 'const', value: v, type: this.type, attr };
  }
  op(fn: ScalarFn, ...args: Expr[]): Expr {
    if (args.length !== SCALAR_FNS[fn]) throw new Error(`scalar ${fn} takes ${SCALAR_FNS[fn]} operands, got ${args.length}`);
    if (FLOAT_ONLY.has(fn) && !isFloatType(this.type)) throw new Error(`scalar ${fn} is defined on floats, not ${this.type}`);
    if (BOOL_ONLY.has(fn) && this.type !== 'bool') throw new Error(`scalar ${fn} is defined on bool, not ${this.type}`);
    args.forEach((a, k) => {
      const want = fn === 'select' && k === 0 ? 'bool' : this.type;
      if (resultType(a) !== want) throw new Error(`scalar ${fn} operand ${k} has type ${resultType(a)}, expected ${want}`);
    });
    return { kind: 'op', fn, args, type: this.type };
  }
  add(a: Expr, b: Expr): Expr { return this.op('add', a, b); }
  sub(a: Expr, b: Expr): Expr { return this.op('sub', a, b); }
  mul(a: Expr, b: Expr): Expr { return this.op('mul', a, b); }
  div(a: Expr, b: Expr): Expr { return this.op('div', a, b); }
  lt(a: Expr, b: Expr): Expr { return this.op('lt', a, b); }
  gt(a: Expr, b: Expr): Expr { return this.op('gt', a, b); }
  eq(a: Expr, b: Expr): Expr { return this.op('eq', a, b); }
  select(c: Expr, a: Expr, b: Expr): Expr { return this.op('select', c, a, b); }
  /** Converts (or rounds) `a` to `to`. */
  convert(a: Expr, to: ScalarType): Expr { return { kind: 'convert', arg: a, type: to }; }
}

/**
 * A readable, target-neutral spelling of a tree, e.g. `select(lt(x0:f32, 0:f32), 0:f32, x0:f32)`:
 * inputs `x<i>`, literals with their type (and `@attr` when they came from an attribute).
 */
export function printExpr(e: Expr): string {
  switch (e.kind) {
    case 'input': return `x${e.index}:${e.type}`;
    case 'const': return `${typeof e.value === 'bigint' ? e.value : Object.is(e.value, -0) ? '-0' : e.value}:${e.type}${e.attr ? `@${e.attr}` : ''}`;
    case 'convert': return `convert<${e.type}>(${printExpr(e.arg)})`;
    default: return `${e.fn}(${e.args.map(printExpr).join(', ')})`;
  }
}

// ---------------------------------------------------------------------------------------------
// The JS renderer and evaluator

/** Helpers the generated JS calls (passed as `H`). */
export const JS_HELPERS = {
  erf, cPow, roundHalfEven,
  max: <T extends number | bigint>(p: T, q: T): T => (q > p || q !== q ? q : p),
  min: <T extends number | bigint>(p: T, q: T): T => (q < p || q !== q ? q : p),
  babs: (v: bigint): bigint => (v < 0n ? -v : v),
  bsign: (v: bigint): bigint => (v > 0n ? 1n : v < 0n ? -1n : 0n),
  roundF16: (v: number): number => F16.decode(F16.encode(v, false)),
  roundBf16: (v: number): number => BF16.decode(BF16.encode(v, false)),
  i8: new Int8Array(1), u8: new Uint8Array(1), i16: new Int16Array(1), u16: new Uint16Array(1), u32: new Uint32Array(1),
  /** float -> i32 as x86 converts: NaN/Inf/out of range give INT32_MIN. */
  f2i32: (v: number): number => (v > -2147483649 && v < 2147483648 ? Math.trunc(v) | 0 : -2147483648),
  /** float -> narrow int as a typed-array store does (truncate, wrap; NaN/Inf give 0). */
  store: (a: Int8Array | Uint8Array | Int16Array | Uint16Array | Uint32Array, v: number): number => { a[0] = v; return a[0]; },
  /** float -> i64/u64 bits: truncation, non-finite gives INT64_MIN. */
  f2big: (v: number, unsigned: boolean): bigint => {
    const b = Number.isFinite(v) ? BigInt(Math.trunc(v)) : -(2n ** 63n);
    return unsigned ? BigInt.asUintN(64, b) : BigInt.asIntN(64, b);
  },
};

const JS_BINARY: Partial<Record<ScalarFn, string>> = {
  add: '+', sub: '-', lt: '<', le: '<=', gt: '>', ge: '>=', eq: '===', ne: '!==',
};
const JS_MATH: Partial<Record<ScalarFn, string>> = {
  exp: 'Math.exp', expm1: 'Math.expm1', log: 'Math.log', log1p: 'Math.log1p', sqrt: 'Math.sqrt', sin: 'Math.sin',
  cos: 'Math.cos', tanh: 'Math.tanh', floor: 'Math.floor', ceil: 'Math.ceil', abs: 'Math.abs', sign: 'Math.sign',
  erf: 'H.erf', round_even: 'H.roundHalfEven', pow: 'H.cPow',
};

/** JS source of a literal of type t. */
function jsConst(value: number | bigint, t: ScalarType): string {
  if (isBigType(t)) return `${BigInt(value)}n`;
  const v = Number(value);
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (Object.is(v, -0)) return '-0';
  return `(${String(v)})`;
}

/** JS source that rounds a JS value of type t (an f64/exact value) to t's storage precision. */
export function jsRound(src: string, t: ScalarType): string {
  switch (t) {
    case 'f32': return `Math.fround(${src})`;
    case 'i32': return `((${src}) | 0)`;
    case 'u32': return `((${src}) >>> 0)`;
    case 'i16': return `((${src}) << 16 >> 16)`;
    case 'u16': return `((${src}) & 65535)`;
    case 'i8': return `((${src}) << 24 >> 24)`;
    case 'u8': return `((${src}) & 255)`;
    case 'i64': return `BigInt.asIntN(64, ${src})`;
    case 'u64': return `BigInt.asUintN(64, ${src})`;
    default: return src; // f64, bool
  }
}

/** JS source of converting a value of type `from` to type `to` (see `convert` in the module comment). */
function jsConvert(src: string, from: ScalarType, to: ScalarType): string {
  if (from === to) return jsRound(src, to);
  if (to === 'bool') return isBigType(from) ? `(${src} !== 0n ? 1 : 0)` : `(${src} !== 0 ? 1 : 0)`;
  const num = isBigType(from) ? `Number(${src})` : src;
  if (to === 'f32') return `Math.fround(${num})`;
  if (to === 'f64') return num;
  if (isBigType(to)) {
    if (isBigType(from)) return jsRound(src, to);
    if (isFloatType(from)) return `H.f2big(${src}, ${to === 'u64'})`;
    return jsRound(`BigInt(${src})`, to);
  }
  if (isBigType(from)) return jsRound(`Number(BigInt.asIntN(32, ${src}))`, to);
  if (to === 'i32') return `H.f2i32(${src})`; // from any number type: out of range gives INT32_MIN (cast.ts)
  return `H.store(H.${to}, ${src})`;
}

/** JS source of `e`; `names[i]` is the JS expression of input i. Values are unrounded inside a tree. */
export function renderJs(e: Expr, names: readonly string[]): string {
  const r = (x: Expr) => renderJs(x, names);
  switch (e.kind) {
    case 'input': {
      const n = names[e.index];
      if (n === undefined) throw new Error(`scalar input ${e.index} has no name`);
      return n;
    }
    case 'const': return jsConst(e.value, e.type);
    case 'convert': return jsConvert(r(e.arg), resultType(e.arg), e.type);
    default: break;
  }
  const a = e.args.map(r);
  const t = e.type;
  const big = isBigType(t);
  const narrowInt = !big && !isFloatType(t) && t !== 'bool';
  const bin = JS_BINARY[e.fn];
  if (bin) return BOOL_RESULT.has(e.fn) ? `(${a[0]} ${bin} ${a[1]} ? 1 : 0)` : `(${a[0]} ${bin} ${a[1]})`;
  switch (e.fn) {
    case 'mul': return (t === 'i32' || t === 'u32') ? `Math.imul(${a[0]}, ${a[1]})` : `(${a[0]} * ${a[1]})`;
    case 'div': return narrowInt ? `Math.trunc(${a[0]} / ${a[1]})` : `(${a[0]} / ${a[1]})`;
    case 'rem': return `(${a[0]} % ${a[1]})`;
    case 'neg': return `(-${a[0]})`;
    case 'abs': if (big) return `H.babs(${a[0]})`; break;
    case 'sign': if (big) return `H.bsign(${a[0]})`; break;
    case 'max': return `H.max(${a[0]}, ${a[1]})`;
    case 'min': return `H.min(${a[0]}, ${a[1]})`;
    case 'round_f16': return `H.roundF16(${a[0]})`;
    case 'round_bf16': return `H.roundBf16(${a[0]})`;
    case 'isnan': return `(${a[0]} !== ${a[0]} ? 1 : 0)`;
    case 'and': return `(${a[0]} & ${a[1]})`;
    case 'or': return `(${a[0]} | ${a[1]})`;
    case 'xor': return `(${a[0]} ^ ${a[1]})`;
    case 'not': return `(1 - ${a[0]})`;
    case 'select': return `(${a[0]} ? ${a[1]} : ${a[2]})`;
    default: break;
  }
  const m = JS_MATH[e.fn];
  if (!m) throw new Error(`scalar ${e.fn} has no JS rendering for ${t}`);
  return `${m}(${a.join(', ')})`;
}

/** A compiled scalar function: operand values in, the value out (numbers; bigints for i64/u64). */
export type ScalarClosure = (...args: (number | bigint)[]) => number | bigint;

const closureCache = new Map<string, ScalarClosure>();

/** Compiles `e` over `arity` inputs to a JS closure (cached by source); the result is not rounded. */
export function compileScalar(e: Expr, arity: number): ScalarClosure {
  const names = Array.from({ length: arity }, (_, i) => `x${i}`);
  const src = `return (${names.join(', ')}) => ${renderJs(e, names)};`;
  let f = closureCache.get(src);
  if (!f) {
    f = new Function('H', src)(JS_HELPERS) as ScalarClosure;
    closureCache.set(src, f);
  }
  return f;
}

/** Compiles a whole JS function body that uses helpers `H` (cached by source): for loop generators. */
export function compileJs<F>(params: readonly string[], body: string): F {
  const src = `return function (${params.join(', ')}) {\n${body}\n};`;
  let f = closureCache.get(src);
  if (!f) {
    f = new Function('H', src)(JS_HELPERS) as ScalarClosure;
    closureCache.set(src, f);
  }
  return f as unknown as F;
}
