/**
 * The scalar-op table: for every pointwise op kiln has, what one output element is, as a scalar
 * expression tree (scalar-expr.ts) over the op's operands, with the op's arity, the attributes it
 * reads and its dtype rule. It is the single source of pointwise semantics for code that does not
 * call the op's reference kernel: the epilogues of kiln.conv/gemm/matmul (epilogue.ts), the loops of
 * kiln.fused regions (fused-loop.ts), and every renderer of compiled kernels (C now, WGSL and CUDA
 * later, in compiler/codegen). test/ops/scalar-ops.test.ts checks each entry against the op's
 * reference kernel (OpDef.run) on random data with edge values, within the tolerances below.
 *
 * API: `scalarOp(name)` finds an entry; `opExpr(entry, dtypes, attrs)` builds the tree for the given
 * operand dtypes and the attributes as the op's OpDef.parseAttrs returned them (undefined when the
 * entry does not accept those dtypes or attributes); `evaluateOp` computes one element in JS.
 *
 * Precision contract of fused and compiled pointwise code (the reference evaluator follows it):
 *   - Compute types: f64 tensors compute in f64; f32, f16 and bf16 tensors compute in f32 (half types
 *     are widened on load); integers compute exactly and wrap to their width (two's complement, as
 *     the reference kernels' stores do); bool is 0/1.
 *   - Each op's result is a value of its compute type (a rounding point: a `convert` node to the
 *     compute type ends every tree built by `opExpr`). The JS evaluator computes inside one op in f64
 *     and rounds at that point, as the reference kernels do, so for f32/f64/int/bool data a fused
 *     region equals the unfused ops bit for bit. A rendered kernel may compute every node in f32
 *     (expf, erff, ...) and is held to the tolerances below.
 *   - Stores round once: a value is rounded to its tensor's dtype only where it is stored (f16/bf16
 *     intermediates of a region stay in f32 registers). Cast is an explicit conversion and rounds to
 *     its target dtype where it stands (a Cast to f16 rounds to f16 precision, in f32).
 *   - Tolerances against the reference executor, per element, |got - want| <= atol + rtol·|want|,
 *     NaN matches NaN and infinities match exactly (TOLERANCES): f64 rtol 1e-12; f32 rtol 1e-5,
 *     atol 1e-6; f16 rtol 2e-3, atol 1e-5 (about two f16 ulps, for intermediates not rounded to
 *     f16); bf16 rtol 1.6e-2, atol 1e-5 (two bf16 ulps); integers and bool exact. They hold per op;
 *     a chain of k ops in f32 code may drift by about k times these.
 *
 * Pointwise ops without an entry are in NOT_LOWERABLE with the reason.
 */
import type { DType } from '../ir/dtype.ts';
import {
  type Expr, ExprBuilder, type ScalarClosure, type ScalarType, compileScalar, computeType, isFloatType,
} from './scalar-expr.ts';

/** How an entry's output dtype follows from its operand dtypes. */
export type DTypeRule =
  | 'same'       // all operands share one dtype of `types`; output has it
  | 'compare'    // operands share one dtype of `types`; output bool
  | 'where'      // bool condition, then two operands of one dtype of `types`; output that dtype
  | 'pow'        // base of `types`, exponent of any numeric dtype; output the base dtype
  | 'cast'       // input of `types`; output the `to` attribute's dtype (one of `types`)
  | 'cast-like'; // input of `types`; output the dtype of operand 1 (one of `types`)

/** What `build` gets: a builder in the operands' compute type, the parsed attributes and dtypes. */
export interface BuildContext {
  readonly f: ExprBuilder;
  readonly attrs: any;
  /** The operands' dtypes (undefined for omitted ones). */
  readonly dtypes: readonly (DType | undefined)[];
  /** The output's dtype. */
  readonly out: DType;
}

/** One table entry. */
export interface ScalarOp {
  readonly op: string;
  /** Operand count, min and max (Infinity for variadic ops). */
  readonly arity: readonly [number, number];
  /** Attributes the tree reads (names as in ONNX); values come from the OpDef's parsed attributes. */
  readonly attrs: readonly string[];
  /** Dtypes the entry accepts (see `rule`). */
  readonly types: readonly DType[];
  readonly rule: DTypeRule;
  /** Extra attribute check: a reason when these attributes cannot be lowered, undefined when fine. */
  readonly reject?: (attrs: any, dtype: DType) => string | undefined;
  /** The tree: `x[k]` is operand k (undefined when omitted); the result is not yet rounded. */
  readonly build: (x: readonly (Expr | undefined)[], c: BuildContext) => Expr;
}

const FLOATS: readonly DType[] = ['f32', 'f16', 'bf16', 'f64'];
const INTS: readonly DType[] = ['i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', 'u64'];
const SIGNED_INTS: readonly DType[] = ['i8', 'i16', 'i32', 'i64'];
const NUMERIC: readonly DType[] = [...FLOATS, ...INTS];
const ALL: readonly DType[] = [...NUMERIC, 'bool'];
const SQRT1_2 = Math.SQRT1_2;
const GELU_TANH_C = Math.sqrt(2 / Math.PI);

const need = (x: Expr | undefined): Expr => {
  if (!x) throw new Error('scalar-ops: a required operand is missing');
  return x;
};
const bools = new ExprBuilder('bool');

/** A unary entry from a per-element builder of operand 0. */
function unary(op: string, types: readonly DType[], body: (x: Expr, c: BuildContext) => Expr, attrs: readonly string[] = []): ScalarOp {
  return { op, arity: [1, 1], attrs, types, rule: 'same', build: (x, c) => body(need(x[0]), c) };
}
/** A float math function entry. */
const math = (op: string, fn: 'exp' | 'log' | 'sqrt' | 'sin' | 'cos' | 'tanh' | 'floor' | 'ceil' | 'round_even') =>
  unary(op, FLOATS, (x, { f }) => f.op(fn, x));
/** A same-dtype binary entry. */
function binary(op: string, types: readonly DType[], body: (a: Expr, b: Expr, c: BuildContext) => Expr, attrs: readonly string[] = []): ScalarOp {
  return { op, arity: [2, 2], attrs, types, rule: 'same', build: (x, c) => body(need(x[0]), need(x[1]), c) };
}
/** A comparison entry (bool output). */
const compare = (op: string, fn: 'eq' | 'gt' | 'ge' | 'lt' | 'le', types: readonly DType[]): ScalarOp =>
  ({ op, arity: [2, 2], attrs: [], types, rule: 'compare', build: (x, { f }) => f.op(fn, need(x[0]), need(x[1])) });
/** A bool logic entry. */
const logic = (op: string, fn: 'and' | 'or' | 'xor'): ScalarOp =>
  ({ op, arity: [2, 2], attrs: [], types: ['bool'], rule: 'same', build: (x, { f }) => f.op(fn, need(x[0]), need(x[1])) });
/** A variadic fold entry (Sum, Mean, Max, Min). */
function fold(op: string, types: readonly DType[], step: (acc: Expr, v: Expr, f: ExprBuilder) => Expr,
  finish?: (acc: Expr, n: number, f: ExprBuilder) => Expr): ScalarOp {
  return {
    op, arity: [1, Infinity], attrs: [], types, rule: 'same',
    build: (x, { f }) => {
      let acc = need(x[0]);
      for (let k = 1; k < x.length; k++) acc = step(acc, need(x[k]), f);
      return finish ? finish(acc, x.length, f) : acc;
    },
  };
}
const isFloat = (c: BuildContext) => isFloatType(c.f.type);
/** Integer division by zero gives 0 (ONNX leaves it undefined; the reference kernels give 0). */
const guardZero = (f: ExprBuilder, d: Expr, e: Expr) => f.select(f.eq(d, f.const(0)), f.const(0), e);

/** Conversion to the output dtype (Cast, CastLike): f16/bf16 targets round to their precision in f32. */
function castTo(x: Expr, c: BuildContext): Expr {
  if (c.out === 'f16' || c.out === 'bf16') {
    // round once from the source value (f64 holds every source exactly, f32 holds f32 sources)
    const b = new ExprBuilder(c.f.type === 'f32' ? 'f32' : 'f64');
    return b.convert(b.op(c.out === 'f16' ? 'round_f16' : 'round_bf16', b.convert(x, b.type)), 'f32');
  }
  return c.f.convert(x, computeType(c.out)!);
}

/** The table, one entry per op. */
const ENTRIES: readonly ScalarOp[] = [
  // unary math (unary.ts)
  unary('Abs', NUMERIC, (x, c) => (isFloat(c) ? c.f.op('abs', x) : c.f.select(c.f.lt(x, c.f.const(0)), c.f.op('neg', x), x))),
  unary('Neg', [...FLOATS, ...SIGNED_INTS], (x, { f }) => f.op('neg', x)),
  unary('Sign', NUMERIC, (x, { f }) => f.op('sign', x)),
  math('Exp', 'exp'), math('Log', 'log'), math('Sqrt', 'sqrt'), math('Sin', 'sin'), math('Cos', 'cos'),
  math('Tanh', 'tanh'), math('Ceil', 'ceil'), math('Floor', 'floor'), math('Round', 'round_even'),
  unary('Reciprocal', FLOATS, (x, { f }) => f.div(f.const(1), x)),
  unary('Erf', NUMERIC, (x, c) => {
    if (isFloat(c)) return c.f.op('erf', x);
    // integer Erf: erf in f64, truncated to the integer type
    const d = new ExprBuilder('f64');
    return d.convert(d.op('erf', c.f.convert(x, 'f64')), c.f.type);
  }),
  unary('Not', ['bool'], (x, { f }) => f.op('not', x)),
  unary('Identity', ALL, (x) => x),
  // activations (activation.ts)
  unary('Relu', [...FLOATS, ...SIGNED_INTS], (x, c) => {
    const { f } = c;
    return isFloat(c) ? f.select(f.gt(x, f.const(0)), x, f.select(f.op('isnan', x), x, f.const(0)))
      : f.select(f.lt(x, f.const(0)), f.const(0), x);
  }),
  unary('LeakyRelu', FLOATS, (x, { f, attrs }) => f.select(f.lt(x, f.const(0)), f.mul(x, f.const(attrs.alpha, 'alpha')), x), ['alpha']),
  unary('Elu', FLOATS, (x, { f, attrs }) =>
    f.select(f.lt(x, f.const(0)), f.mul(f.const(attrs.alpha, 'alpha'), f.op('expm1', x)), x), ['alpha']),
  unary('Sigmoid', FLOATS, (x, { f }) => {
    const e = f.op('exp', f.op('neg', f.op('abs', x))); // exp(-|x|) never overflows
    return f.div(f.select(f.op('ge', x, f.const(0)), f.const(1), e), f.add(f.const(1), e));
  }),
  unary('HardSigmoid', FLOATS, (x, { f, attrs }) => {
    const v = f.add(f.mul(f.const(attrs.alpha, 'alpha'), x), f.const(attrs.beta, 'beta'));
    return f.select(f.lt(v, f.const(0)), f.const(0), f.select(f.gt(v, f.const(1)), f.const(1), v));
  }, ['alpha', 'beta']),
  unary('HardSwish', FLOATS, (x, { f }) => {
    const g = f.add(f.div(x, f.const(6)), f.const(0.5));
    return f.mul(x, f.select(f.lt(g, f.const(0)), f.const(0), f.select(f.gt(g, f.const(1)), f.const(1), g)));
  }),
  unary('Softplus', FLOATS, (x, { f }) => f.select(f.gt(x, f.const(0)),
    f.add(x, f.op('log1p', f.op('exp', f.op('neg', x)))), f.op('log1p', f.op('exp', x)))),
  unary('Gelu', FLOATS, (x, { f, attrs }) => {
    const half = f.mul(f.const(0.5), x);
    if (attrs.approximate === 'tanh') {
      const cube = f.mul(f.mul(f.mul(f.const(0.044715), x), x), x);
      return f.mul(half, f.add(f.const(1), f.op('tanh', f.mul(f.const(GELU_TANH_C), f.add(x, cube)))));
    }
    return f.mul(half, f.add(f.const(1), f.op('erf', f.mul(x, f.const(SQRT1_2)))));
  }, ['approximate']),
  // more activations (activation-ext.ts)
  unary('Selu', FLOATS, (x, { f, attrs }) => f.select(f.gt(x, f.const(0)), f.mul(f.const(attrs.gamma, 'gamma'), x),
    f.mul(f.mul(f.const(attrs.gamma, 'gamma'), f.const(attrs.alpha, 'alpha')), f.op('expm1', x))), ['alpha', 'gamma']),
  unary('Celu', FLOATS, (x, { f, attrs }) => {
    const alpha = f.const(attrs.alpha, 'alpha');
    return f.add(f.op('max', f.const(0), x), f.op('min', f.const(0), f.mul(alpha, f.op('expm1', f.div(x, alpha)))));
  }, ['alpha']),
  unary('Mish', FLOATS, (x, { f }) => f.mul(x, f.op('tanh', f.select(f.gt(x, f.const(0)),
    f.add(x, f.op('log1p', f.op('exp', f.op('neg', x)))), f.op('log1p', f.op('exp', x)))))),
  unary('Swish', FLOATS, (x, { f, attrs }) => {
    const v = f.mul(f.const(attrs.alpha, 'alpha'), x);
    const e = f.op('exp', f.op('neg', f.op('abs', v)));
    return f.mul(x, f.div(f.select(f.op('ge', v, f.const(0)), f.const(1), e), f.add(f.const(1), e)));
  }, ['alpha']),
  unary('Softsign', FLOATS, (x, { f }) => f.div(x, f.add(f.const(1), f.op('abs', x)))),
  unary('Shrink', FLOATS, (x, { f, attrs }) => {
    const lambd = f.const(attrs.lambd, 'lambd'), bias = f.const(attrs.bias, 'bias');
    return f.select(f.lt(x, f.op('neg', lambd)), f.add(x, bias), f.select(f.gt(x, lambd), f.sub(x, bias), f.const(0)));
  }, ['lambd', 'bias']),
  unary('ThresholdedRelu', FLOATS, (x, { f, attrs }) => f.select(f.gt(x, f.const(attrs.alpha, 'alpha')), x, f.const(0)), ['alpha']),
  // trigonometric and hyperbolic (trig.ts) from the functions SCALAR_FNS has; Tan and the inverse ones are in NOT_LOWERABLE
  unary('Sinh', FLOATS, (x, { f }) => f.mul(f.const(0.5), f.sub(f.op('expm1', x), f.op('expm1', f.op('neg', x))))),
  unary('Cosh', FLOATS, (x, { f }) => f.mul(f.const(0.5), f.add(f.op('exp', x), f.op('exp', f.op('neg', x))))),
  // float classification (bitwise.ts): IsInf is in NOT_LOWERABLE
  { op: 'IsNaN', arity: [1, 1], attrs: [], types: FLOATS, rule: 'compare', build: (x, { f }) => f.op('isnan', need(x[0])) },
  // binary arithmetic (binary.ts)
  binary('Add', NUMERIC, (a, b, { f }) => f.add(a, b)),
  binary('Sub', NUMERIC, (a, b, { f }) => f.sub(a, b)),
  binary('Mul', NUMERIC, (a, b, { f }) => f.mul(a, b)),
  binary('Div', NUMERIC, (a, b, c) => (isFloat(c) ? c.f.div(a, b) : guardZero(c.f, b, c.f.div(a, b)))),
  binary('Mod', NUMERIC, (a, d, c) => {
    const { f } = c;
    const r = f.op('rem', a, d);
    if (isFloat(c) && c.attrs.fmod) return r;
    // Python-style remainder: the sign of the divisor
    const fix = bools.op('and', f.op('ne', r, f.const(0)), bools.op('ne', f.lt(r, f.const(0)), f.lt(d, f.const(0))));
    if (isFloat(c)) {
      // floats with fmod=0 (Mod-28): a zero remainder takes the divisor's sign too; NaN never
      // equals 0, so it passes through either way (WGSL's != is false on NaN as well)
      const m = f.select(fix, f.add(r, d), r);
      return f.select(f.eq(m, f.const(0)), f.select(f.lt(d, f.const(0)), f.op('neg', f.const(0)), f.const(0)), m);
    }
    if (c.attrs.fmod) return guardZero(f, d, r);
    return guardZero(f, d, f.select(fix, f.add(r, d), r));
  }, ['fmod']),
  binary('PRelu', [...FLOATS, 'i32', 'i64', 'u32', 'u64'], (a, b, { f }) => f.select(f.lt(a, f.const(0)), f.mul(a, b), a)),
  {
    op: 'Pow', arity: [2, 2], attrs: [], types: FLOATS, rule: 'pow',
    build: (x, c) => {
      const [a, e] = [need(x[0]), need(x[1])];
      if (c.dtypes[1] === c.dtypes[0]) return c.f.op('pow', a, e);
      // a different exponent dtype: pow in f64 (an integer exponent keeps its parity exactly)
      const d = new ExprBuilder('f64');
      return d.op('pow', d.convert(a, 'f64'), d.convert(e, 'f64'));
    },
  },
  // comparison, logic, selection (compare.ts)
  compare('Equal', 'eq', ALL), compare('Greater', 'gt', NUMERIC), compare('GreaterOrEqual', 'ge', NUMERIC),
  compare('Less', 'lt', NUMERIC), compare('LessOrEqual', 'le', NUMERIC),
  logic('And', 'and'), logic('Or', 'or'), logic('Xor', 'xor'),
  { op: 'Where', arity: [3, 3], attrs: [], types: ALL, rule: 'where', build: (x, { f }) => f.select(need(x[0]), need(x[1]), need(x[2])) },
  // variadic and Clip (variadic.ts)
  // Sum and Mean are n-1 Adds: each partial sum rounds to the compute type, as the kernels' accumulator
  fold('Sum', FLOATS, (acc, v, f) => f.convert(f.add(acc, v), f.type)),
  fold('Mean', FLOATS, (acc, v, f) => f.convert(f.add(acc, v), f.type), (acc, n, f) => f.div(acc, f.const(n))),
  fold('Max', NUMERIC, (acc, v, f) => f.op('max', acc, v)),
  fold('Min', NUMERIC, (acc, v, f) => f.op('min', acc, v)),
  {
    op: 'Clip', arity: [1, 3], attrs: [], types: NUMERIC, rule: 'same',
    build: (x, { f }) => {
      let v = need(x[0]);
      if (x[1]) v = f.select(f.lt(v, x[1]), x[1], v);
      if (x[2]) v = f.select(f.gt(v, x[2]), x[2], v);
      return v;
    },
  },
  // conversions (cast.ts); float8, 4-bit and string dtypes have no compute type and stay on the kernels
  { op: 'Cast', arity: [1, 1], attrs: ['to'], types: ALL, rule: 'cast', build: (x, c) => castTo(need(x[0]), c) },
  { op: 'CastLike', arity: [2, 2], attrs: [], types: ALL, rule: 'cast-like', build: (x, c) => castTo(need(x[0]), c) },
];

const TABLE: ReadonlyMap<string, ScalarOp> = new Map(ENTRIES.map((e) => [e.op, e]));

/** Pointwise ops deliberately without an entry, with the reason. */
export const NOT_LOWERABLE: Readonly<Record<string, string>> = {
  Dropout: 'two outputs (the mask) and a run-time training_mode check; fuse-elementwise never puts it in a region',
  Tan: 'sin/cos is not a tan: WGSL sin and cos lose accuracy for wide arguments, where their ratio is far off',
  IsInf: 'no isinf function (x - x is NaN only for infinities in C; WGSL may assume no infinities)',
  Asin: 'needs asin, which SCALAR_FNS lacks (no accurate form from its functions)',
  Acos: 'needs acos, which SCALAR_FNS lacks (no accurate form from its functions)',
  Atan: 'needs atan, which SCALAR_FNS lacks (no accurate form from its functions)',
  Asinh: 'needs asinh, which SCALAR_FNS lacks (log(x + sqrt(x^2 + 1)) cancels for negative x, x^2 overflows for large x)',
  Acosh: 'needs acosh, which SCALAR_FNS lacks (x^2 in log(x + sqrt(x^2 - 1)) overflows for large x)',
  Atanh: 'needs atanh, which SCALAR_FNS lacks',
  BitwiseAnd: 'integer bitwise functions are not in SCALAR_FNS (and/or/xor/not are bool only)',
  BitwiseOr: 'integer bitwise functions are not in SCALAR_FNS (and/or/xor/not are bool only)',
  BitwiseXor: 'integer bitwise functions are not in SCALAR_FNS (and/or/xor/not are bool only)',
  BitwiseNot: 'integer bitwise functions are not in SCALAR_FNS (and/or/xor/not are bool only)',
  BitShift: 'integer shifts are not in SCALAR_FNS',
};

/** The entry of op `name`, or undefined when the op has none. */
export function scalarOp(name: string): ScalarOp | undefined {
  return TABLE.get(name);
}

/** Every op name in the table. */
export function scalarOpNames(): string[] {
  return [...TABLE.keys()];
}

/**
 * The output dtype of `entry` for operands of `dtypes` and parsed `attrs`, or a string saying why
 * the entry does not lower this case (the reference kernel then runs, and reports any error itself).
 */
export function outputDType(entry: ScalarOp, dtypes: readonly (DType | undefined)[], attrs: any): DType | string {
  const n = dtypes.length;
  if (n < entry.arity[0] || n > entry.arity[1]) return `${entry.op} takes ${entry.arity.join('..')} operands, got ${n}`;
  const first = entry.rule === 'where' ? dtypes[1] : dtypes[0];
  if (first === undefined || !entry.types.includes(first)) return `${entry.op} does not lower dtype ${first ?? 'none'}`;
  const operands = entry.rule === 'where' ? dtypes.slice(1) : entry.rule === 'pow' || entry.rule.startsWith('cast') ? [] : dtypes;
  for (const d of operands) if (d !== undefined && d !== first) return `${entry.op} operands mix ${first} and ${d}`;
  if (entry.rule === 'where' && dtypes[0] !== 'bool') return 'Where condition must be bool';
  if (entry.rule === 'pow' && (dtypes[1] === undefined || !NUMERIC.includes(dtypes[1]))) return `Pow exponent dtype ${dtypes[1]}`;
  if (dtypes.slice(1).some((d, k) => d === undefined && !(entry.op === 'Clip' && k < 2))) return `${entry.op} has an omitted operand`;
  const rejected = entry.reject?.(attrs, first);
  if (rejected) return rejected;
  let out: DType = first;
  if (entry.rule === 'compare') out = 'bool';
  else if (entry.rule === 'cast') out = attrs.to as DType;
  else if (entry.rule === 'cast-like') out = dtypes[1] as DType;
  if (!ALL.includes(out)) return `${entry.op} does not lower output dtype ${out}`;
  return out;
}

/**
 * The tree of `entry` for operands of `dtypes` (input k is `input(k)` of its compute type), ending
 * in the rounding to the output's compute type; a string when the entry does not lower this case.
 */
export function opExpr(entry: ScalarOp, dtypes: readonly (DType | undefined)[], attrs: any): Expr | string {
  const out = outputDType(entry, dtypes, attrs);
  if (!ALL.includes(out as DType)) return out;
  const operandType = computeType(entry.rule === 'where' ? dtypes[1]! : dtypes[0]!)!;
  const f = new ExprBuilder(operandType);
  const x = dtypes.map((d, k) => (d === undefined ? undefined : f.input(k, computeType(d)!)));
  const tree = entry.build(x, { f, attrs, dtypes, out: out as DType });
  return f.convert(tree, computeType(out as DType) as ScalarType);
}

/** The tolerance of pointwise results of a dtype (see the module comment). */
export interface Tolerance { readonly rtol: number; readonly atol: number }

/** Tolerances per dtype; dtypes not listed (integers, bool) compare exactly. */
export const TOLERANCES: Readonly<Partial<Record<DType, Tolerance>>> = {
  f64: { rtol: 1e-12, atol: 0 },
  f32: { rtol: 1e-5, atol: 1e-6 },
  f16: { rtol: 2e-3, atol: 1e-5 },
  bf16: { rtol: 1.6e-2, atol: 1e-5 },
};

/**
 * Tolerances of compiled templates whose arithmetic differs from the reference kernels by design (not
 * pointwise: the whole output of a kernel), norm-relative like the numeric check: max |got − want| ≤
 * rel · max |want| over the output. `winograd_f4`: Winograd F(4x4,3x3) convolution in f32
 * (compiler/codegen/lower/winograd.ts), whose transforms (entries up to 8, 1/24) amplify rounding;
 * measured 1.6e-5 on random data with 256 input channels, 1.1e-5 on resnet50's 3x3 layers, 1.5e-6 on
 * the whole resnet50 output (test/runtime/templates.test.ts); the bound keeps headroom for wider layers.
 */
export const TEMPLATE_TOLERANCES = {
  winograd_f4: { rel: 1e-4, what: 'Winograd F(4x4,3x3) convolution, f32' },
} as const;

/** Whether `got` matches `want` within the tolerance of `dtype` (NaN matches NaN; ints exact). */
export function withinTolerance(dtype: DType, got: number | bigint, want: number | bigint): boolean {
  if (typeof got === 'bigint' || typeof want === 'bigint') return BigInt(got) === BigInt(want);
  if (Number.isNaN(want) || Number.isNaN(got)) return Number.isNaN(want) && Number.isNaN(got);
  if (!Number.isFinite(want) || !Number.isFinite(got)) return got === want;
  const tol = TOLERANCES[dtype];
  if (!tol) return got === want;
  return Math.abs(got - want) <= tol.atol + tol.rtol * Math.abs(want);
}

/**
 * Evaluates op `name` on one element: `args` are operand values in their compute types (f16/bf16
 * decoded to numbers, i64/u64 as bigints, bool 0/1; undefined for omitted operands), `attrs` as the
 * op's OpDef.parseAttrs returned them. The result is the output's compute-type value, rounded at the
 * op's end per the precision contract (a f16 output is an f32 value; the store rounds it to f16).
 */
export function evaluateOp(name: string, attrs: any, dtypes: readonly (DType | undefined)[], args: readonly (number | bigint | undefined)[]): number | bigint {
  return compileOp(name, attrs, dtypes)(...(args as (number | bigint)[]));
}

/** `evaluateOp` compiled once for many elements: a JS closure over the operand values. */
export function compileOp(name: string, attrs: any, dtypes: readonly (DType | undefined)[]): ScalarClosure {
  const entry = scalarOp(name);
  if (!entry) throw new Error(`scalar-ops: no entry for op ${name}`);
  const tree = opExpr(entry, dtypes, attrs);
  if (typeof tree === 'string') throw new Error(`scalar-ops: ${tree}`);
  return compileScalar(tree, dtypes.length);
}
