/**
 * Expression evaluation for the GPU simulator (simulate.ts): kernel IR index and scalar expressions
 * compiled once into JS closures over one thread's environment, with the semantics kir.ts documents
 * and the C/CUDA descriptors render (lang/c.ts, lang/cuda.ts; the scalar-op table's JS_HELPERS).
 *
 * - Environment: an array of slots per thread. Slots 0..2 hold the block index (x, y, z), 3..5 the
 *   thread index; then one slot per binding (loop variable, let, accumulator) and per buffer (a
 *   param's or shared buffer's typed array, the same in every thread of a block; a `local`'s own).
 * - Values: a scalar is a JS number whatever its dtype (bool is 0/1); a vector (lanes > 1) is an
 *   array of numbers, never mutated once made. Every operation rounds its result to its node's dtype:
 *   f32 Math.fround, f16/bf16 (and the other encoded floats) to their precision through their codec,
 *   integers wrapped to their width (i32/u32 products by Math.imul, so they stay exact), f64 as it
 *   is. i64/u64 are JS numbers too: exact below 2^53 and not wrapped at 64 bits (no kernel of the
 *   GPU targets computes past that). No multiply-add is contracted (nvcc may fuse one into an FMA:
 *   one rounding fewer), so results follow the reference's rounding per operation.
 * - Operators: integer `div` truncates (a zero divisor gives 0; signed MIN / -1 wraps to MIN), `fmod`
 *   is C's remainder (0 for a divisor of -1 or 0 on ints), max/min propagate NaN and keep `a` on
 *   ties, `round` is half to even, `sign` keeps NaN and -0, casts are the reference's (to bool: != 0,
 *   NaN true; float → i32: NaN, Inf or out of range give INT32_MIN; float → narrower ints: truncate
 *   and wrap, NaN/Inf 0; from i64: wrap). `select` evaluates only the chosen arm.
 * - Buffers are the typed arrays tensors store (ir/dtype.ts: f16/bf16 as Uint16 bits, i64 as
 *   BigInt64Array, bool as Uint8Array): loads decode, stores encode. Every access is checked against
 *   its buffer's declared element count (all lanes of a vector); an `aligned` vector load must sit at
 *   a multiple of its lanes.
 * - Index arithmetic is exact integer arithmetic with floor division and modulo; a negative dividend
 *   is an error, because the targets render `/` and `%` of their integer type, which truncate (the
 *   renderer relies on indices never being negative).
 */
import { type DType, type TensorData, dtypeInfo } from '../../ir/dtype.ts';
import { narrowFloatCodec } from '../../ir/floatbits.ts';
import { JS_HELPERS } from '../../ops/scalar-expr.ts';
import { type BinaryOp, type Index, type Scalar, type UnaryOp, lanesOf } from '../kir.ts';

/** A scalar (number) or vector (array of numbers) value. */
export type Value = number | readonly number[];
/** One thread's slots (module header). */
export type Env = unknown[];
/** The environment slots of the block and thread indices (x, y, z each). */
export const BLOCK_SLOT = 0, THREAD_SLOT = 3, FIRST_SLOT = 6;

/** A buffer as the simulator sees it: its env slot and declaration. */
export interface BufferSlot {
  readonly name: string;
  readonly slot: number;
  readonly dtype: DType;
  readonly count: number;
}

/** What compiling an expression needs from its kernel and scope. */
export interface EvalScope {
  readonly kernel: string;
  /** The slot of a loop variable, local or accumulator bound here. */
  slot(name: string): number;
  buffer(name: string): BufferSlot;
}

/** An error at one thread: names the kernel, the block and the thread. */
export function threadError(kernel: string, env: Env, message: string): Error {
  const at = (s: number) => `[${env[s]},${env[s + 1]},${env[s + 2]}]`;
  return new Error(`kernel @${kernel} (block ${at(BLOCK_SLOT)}, thread ${at(THREAD_SLOT)}): ${message}`);
}

type Num = (v: number) => number;

/** Wraps an integer to the width of `d` (identity for i64/u64; 0/1 for bool). */
function wrapInt(d: DType): Num {
  const bits = dtypeInfo(d).bits;
  if (d === 'bool') return (v) => (v ? 1 : 0);
  if (bits >= 64) return (v) => v;
  if (bits === 32) return dtypeInfo(d).signed ? (v) => v | 0 : (v) => v >>> 0;
  const s = 32 - bits, mask = 2 ** bits - 1;
  return dtypeInfo(d).signed ? (v) => (v << s) >> s : (v) => v & mask;
}

/** Rounds a value to the precision (or width) of `d`. */
export function roundTo(d: DType): Num {
  if (d === 'f32') return Math.fround;
  if (d === 'f64') return (v) => v;
  if (d === 'f16') return JS_HELPERS.roundF16;
  if (d === 'bf16') return JS_HELPERS.roundBf16;
  if (dtypeInfo(d).encoded) { const c = narrowFloatCodec(d); return (v) => c.decode(c.encode(v, false)); }
  return wrapInt(d);
}

/** A conversion from `from` to `to` (module header). */
export function caster(from: DType, to: DType): Num {
  if (to === 'bool') return (v) => (v !== 0 ? 1 : 0);
  if (from === to) return (v) => v;
  if (dtypeInfo(to).isFloat) return roundTo(to);
  const fromFloat = dtypeInfo(from).isFloat;
  if (to === 'i64' || to === 'u64') return fromFloat ? (v) => (Number.isFinite(v) ? Math.trunc(v) : -(2 ** 63)) : (v) => v;
  const w = wrapInt(to);
  if (from === 'i64' || from === 'u64') return w; // ToInt32/ToUint32 wrap an exact integer modulo 2^32
  if (to === 'i32') return JS_HELPERS.f2i32;
  return (v) => (Number.isFinite(v) ? w(Math.trunc(v)) : 0);
}

/** A unary operator on an operand of dtype `d` (unrounded: the caller rounds to the node's dtype). */
export function unaryFn(op: UnaryOp, d: DType): Num {
  const f = dtypeInfo(d).isFloat;
  const id: Num = (v) => v;
  switch (op) {
    case 'neg': return (v) => -v;
    case 'abs': return Math.abs;
    case 'not': return (v) => (v ? 0 : 1);
    case 'exp': return Math.exp;
    case 'expm1': return Math.expm1;
    case 'log': return Math.log;
    case 'log1p': return Math.log1p;
    case 'sqrt': return Math.sqrt;
    case 'tanh': return Math.tanh;
    case 'erf': return JS_HELPERS.erf;
    case 'sin': return Math.sin;
    case 'cos': return Math.cos;
    case 'floor': return f ? Math.floor : id;
    case 'ceil': return f ? Math.ceil : id;
    case 'round': return f ? JS_HELPERS.roundHalfEven : id;
    case 'round_f16': return JS_HELPERS.roundF16;
    case 'sign': return (v) => (v > 0 ? 1 : v < 0 ? -1 : f ? v : 0);
    case 'isnan': return (v) => (v !== v ? 1 : 0);
  }
}

/** A binary operator on operands of dtype `d` (unrounded: the caller rounds to the node's dtype). */
export function binaryFn(op: BinaryOp, d: DType): (a: number, b: number) => number {
  const f = dtypeInfo(d).isFloat;
  switch (op) {
    case 'add': return (a, b) => a + b;
    case 'sub': return (a, b) => a - b;
    case 'mul': return d === 'i32' || d === 'u32' ? Math.imul : (a, b) => a * b;
    case 'div': return f ? (a, b) => a / b : (a, b) => (b === 0 ? 0 : Math.trunc(a / b));
    case 'fmod': return f ? (a, b) => a % b : (a, b) => (b === 0 || b === -1 ? 0 : a % b);
    case 'max': return JS_HELPERS.max;
    case 'min': return JS_HELPERS.min;
    case 'pow': { if (f) return JS_HELPERS.cPow; const c = caster('f64', d); return (a, b) => c(JS_HELPERS.cPow(a, b)); }
    case 'lt': return (a, b) => (a < b ? 1 : 0);
    case 'le': return (a, b) => (a <= b ? 1 : 0);
    case 'gt': return (a, b) => (a > b ? 1 : 0);
    case 'ge': return (a, b) => (a >= b ? 1 : 0);
    case 'eq': return (a, b) => (a === b ? 1 : 0);
    case 'ne': return (a, b) => (a !== b ? 1 : 0);
    case 'and': return (a, b) => (a && b ? 1 : 0);
    case 'or': return (a, b) => (a || b ? 1 : 0);
    case 'xor': return (a, b) => ((a ? 1 : 0) !== (b ? 1 : 0) ? 1 : 0);
  }
}

/** Reads element i of a buffer of dtype `d` as a number (encoded floats decoded, 64-bit ints as numbers). */
export function reader(d: DType): (a: TensorData, i: number) => number {
  if (dtypeInfo(d).encoded) { const c = narrowFloatCodec(d); return (a, i) => c.decode(a[i] as number); }
  if (d === 'i64' || d === 'u64') return (a, i) => Number(a[i]);
  return (a, i) => a[i] as number;
}

/** Writes a number as element i of a buffer of dtype `d` (encoding it as the buffer stores it). */
export function writer(d: DType): (a: TensorData, i: number, v: number) => void {
  if (dtypeInfo(d).encoded) { const c = narrowFloatCodec(d); return (a, i, v) => { (a as Uint8Array)[i] = c.encode(v, false); }; }
  if (d === 'i64' || d === 'u64') return (a, i, v) => { (a as BigInt64Array)[i] = BigInt(Number.isFinite(v) ? Math.trunc(v) : 0); };
  return (a, i, v) => { (a as Float64Array)[i] = v; };
}

/** A fresh buffer of `count` elements of `d`, floats filled with NaN (uninitialised memory made visible). */
export function poisoned(d: DType, count: number): TensorData {
  const a = dtypeInfo(d).alloc(count);
  if (dtypeInfo(d).isFloat) { const w = writer(d); for (let i = 0; i < count; i++) w(a, i, NaN); }
  return a;
}

/** Compiles an index expression. */
export function compileIndex(e: Index, sc: EvalScope): (env: Env) => number {
  switch (e.k) {
    case 'const': { const v = e.value; return () => v; }
    case 'var': { const s = sc.slot(e.name); return (env) => env[s] as number; }
    case 'add': { const a = compileIndex(e.a, sc), b = compileIndex(e.b, sc); return (env) => a(env) + b(env); }
    case 'mul': { const a = compileIndex(e.a, sc), b = compileIndex(e.b, sc); return (env) => a(env) * b(env); }
    case 'div': case 'mod': {
      const a = compileIndex(e.a, sc), b = compileIndex(e.b, sc), div = e.k === 'div';
      return (env) => {
        const x = a(env), y = b(env);
        if (x < 0 || y <= 0) throw threadError(sc.kernel, env, `index ${x} ${div ? '/' : 'mod'} ${y}: a negative dividend or non-positive divisor (the targets' integer ${div ? '/' : '%'} truncates)`);
        return div ? Math.floor(x / y) : x % y;
      };
    }
    case 'load': {
      const buf = sc.buffer(e.buffer), i = compileIndex(e.index, sc), rd = reader(buf.dtype);
      return (env) => rd(env[buf.slot] as TensorData, checked(sc, env, buf, i(env), 1, 'indirect index load'));
    }
    case 'table': {
      const values = e.values, i = compileIndex(e.index, sc);
      return (env) => {
        const x = i(env);
        if (!(x >= 0 && x < values.length)) throw threadError(sc.kernel, env, `index table read at ${x}, outside [0, ${values.length})`);
        return values[x];
      };
    }
  }
}

/** `index` when `lanes` elements from it lie within the buffer; else an error naming buffer and index. */
export function checked(sc: EvalScope, env: Env, buf: BufferSlot, index: number, lanes: number, what: string): number {
  if (index >= 0 && index + lanes <= buf.count && Number.isInteger(index)) return index;
  const span = lanes > 1 ? `${lanes} lanes from index ${index}` : `index ${index}`;
  throw threadError(sc.kernel, env, `${what} of '${buf.name}' at ${span}, outside [0, ${buf.count})`);
}

/** A store of `lanes` elements at `index` into a buffer, bounds checked. */
export function compileStore(buf: BufferSlot, index: Index, lanes: number, sc: EvalScope): (env: Env, v: Value) => void {
  const i = compileIndex(index, sc), wr = writer(buf.dtype);
  return (env, v) => {
    const at = checked(sc, env, buf, i(env), lanes, 'store'), a = env[buf.slot] as TensorData;
    if (lanes === 1) wr(a, at, v as number);
    else for (let l = 0; l < lanes; l++) wr(a, at + l, (v as readonly number[])[l]);
  };
}

/** Compiles a scalar expression (its value rounded to its dtype). */
export function compileScalar(e: Scalar, sc: EvalScope): (env: Env) => Value {
  const r = roundTo(e.dtype);
  switch (e.k) {
    case 'lit': { const v = typeof e.value === 'boolean' ? (e.value ? 1 : 0) : r(e.value); return () => v; }
    case 'ref': { const s = sc.slot(e.name); return (env) => env[s] as Value; }
    case 'index': { const i = compileIndex(e.index, sc), c = caster('i64', e.dtype); return (env) => c(i(env)); }
    case 'load': {
      const buf = sc.buffer(e.buffer), i = compileIndex(e.index, sc), rd = reader(buf.dtype), lanes = e.lanes ?? 1, aligned = e.aligned;
      if (lanes === 1) return (env) => rd(env[buf.slot] as TensorData, checked(sc, env, buf, i(env), 1, 'load'));
      return (env) => {
        const at = checked(sc, env, buf, i(env), lanes, 'vector load'), a = env[buf.slot] as TensorData;
        if (aligned && at % lanes !== 0) throw threadError(sc.kernel, env, `aligned ${lanes}-lane load of '${buf.name}' at index ${at}, not a multiple of ${lanes}`);
        return Array.from({ length: lanes }, (_, l) => rd(a, at + l));
      };
    }
    case 'broadcast': { const a = compileScalar(e.a, sc), n = e.lanes; return (env) => new Array<number>(n).fill(a(env) as number); }
    case 'lane': {
      const a = compileScalar(e.a, sc), i = compileIndex(e.index, sc), n = lanesOf(e.a);
      return (env) => {
        const x = i(env);
        if (!(x >= 0 && x < n)) throw threadError(sc.kernel, env, `lane ${x} of a ${n}-lane vector`);
        return (a(env) as readonly number[])[x];
      };
    }
    case 'table': {
      const values = e.values.map(r), i = compileIndex(e.index, sc);
      return (env) => {
        const x = i(env);
        if (!(x >= 0 && x < values.length)) throw threadError(sc.kernel, env, `table read at ${x}, outside [0, ${values.length})`);
        return values[x];
      };
    }
    case 'unary': { const a = compileScalar(e.a, sc), f = unaryFn(e.op, e.a.dtype); return (env) => r(f(a(env) as number)); }
    case 'cast': { const a = compileScalar(e.a, sc), f = caster(e.a.dtype, e.dtype); return (env) => f(a(env) as number); }
    case 'select': {
      const c = compileScalar(e.cond, sc), a = compileScalar(e.a, sc), b = compileScalar(e.b, sc);
      return (env) => (c(env) ? a(env) : b(env));
    }
    case 'binary': {
      const a = compileScalar(e.a, sc), b = compileScalar(e.b, sc), f = binaryFn(e.op, e.a.dtype);
      if ((e.lanes ?? 1) === 1) return (env) => r(f(a(env) as number, b(env) as number));
      return (env) => {
        const x = a(env) as readonly number[], y = b(env) as readonly number[];
        return x.map((v, l) => r(f(v, y[l])));
      };
    }
  }
}
