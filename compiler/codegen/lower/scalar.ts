/**
 * The scalar form of every elementwise op a kernel can compute: ONNX op + its scalar operands (already
 * loaded, broadcast) → one kernel IR Scalar. Elementwise kernels, kiln.fused bodies and epilogues all
 * build their expressions here, so an op has one scalar definition in codegen.
 *
 * This is the stand-in for the scalar-op table of compiler/ops/scalar-ops.ts (issue 10 part A item 3,
 * written in parallel): when that table lands, `scalarOp` becomes a thin adapter from its entries to
 * kernel IR Scalars, and this file's switch goes away.
 *
 * Precision contract (the one the issue asks for): f16 tensors compute in f32 and round once at the
 * store (widen.ts); bf16 and the float8 types are not lowered yet; f32 ops compute in f32, f64 in f64,
 * integers in their own type.
 * Semantics follow the reference kernels: Relu keeps NaN, Round is half-to-even (`round`, which the
 * C descriptor renders as rint), Mod with fmod=0 is the sign-of-divisor modulo (`imod`), integer Div
 * truncates like C.
 */
import type { DType } from '../../ir/dtype.ts';
import { dtypeInfo } from '../../ir/dtype.ts';
import { AttrReader, findOp, readAttrs } from '../../ops/registry.ts';
import type { Attrs } from '../../ir/graph.ts';
import { type Scalar, binary, cast, lit, select, unary } from '../kir.ts';
import { LowerUnsupported } from './context.ts';

const UNARY: Readonly<Record<string, Parameters<typeof unary>[0]>> = {
  Abs: 'abs', Neg: 'neg', Sign: 'sign', Exp: 'exp', Log: 'log', Sqrt: 'sqrt', Ceil: 'ceil', Floor: 'floor',
  Round: 'round', Sin: 'sin', Cos: 'cos', Tanh: 'tanh', Erf: 'erf', Not: 'not',
};
const BINARY: Readonly<Record<string, Parameters<typeof binary>[0]>> = {
  Add: 'add', Sub: 'sub', Mul: 'mul', Div: 'div', Pow: 'pow',
  Equal: 'eq', Greater: 'gt', GreaterOrEqual: 'ge', Less: 'lt', LessOrEqual: 'le', And: 'and', Or: 'or', Xor: 'xor',
};
/** Ops whose scalar form is defined here (every body op of kiln.fused except reductions). */
export const SCALAR_OPS: ReadonlySet<string> = new Set([
  ...Object.keys(UNARY), ...Object.keys(BINARY),
  'Identity', 'Reciprocal', 'Relu', 'LeakyRelu', 'Elu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Softplus', 'Gelu',
  'Mod', 'PRelu', 'Where', 'Clip', 'Sum', 'Mean', 'Max', 'Min', 'Cast', 'CastLike',
]);

/** Dtypes kernels compute on (bf16/float8/sub-byte/str are not lowered yet; f16 is widened to f32). */
export function checkDType(dtype: DType, what: string): void {
  if (dtype === 'str' || (dtypeInfo(dtype).encoded && dtype !== 'f16') || dtypeInfo(dtype).bits < 8) {
    throw new LowerUnsupported(`${what} has dtype ${dtype}, which kernels do not compute on yet`);
  }
}

const k = (v: number, like: Scalar) => lit(v, like.dtype);
const float = (x: Scalar, op: string) => {
  if (!dtypeInfo(x.dtype).isFloat) throw new LowerUnsupported(`${op} on ${x.dtype} is not lowered (float only)`);
  return x;
};

/**
 * The scalar result of elementwise op `op` on `args` (omitted optional operands undefined), with the
 * op's attributes; `out` is the result dtype (for Cast).
 */
export function scalarOp(op: string, args: readonly (Scalar | undefined)[], attrs: AttrReader, out: DType): Scalar {
  const need = (i: number) => {
    const x = args[i];
    if (!x) throw new LowerUnsupported(`${op}: operand ${i} is omitted`);
    return x;
  };
  if (op in UNARY) {
    const x = need(0);
    return UNARY[op] === 'not' ? unary('not', x) : unary(UNARY[op], x);
  }
  if (op in BINARY) return binary(BINARY[op], need(0), need(1));
  switch (op) {
    case 'Identity': return need(0);
    case 'Reciprocal': return binary('div', k(1, need(0)), need(0));
    case 'Relu': { const x = need(0); return select(binary('lt', x, k(0, x)), k(0, x), x); }
    case 'LeakyRelu': {
      const x = float(need(0), op);
      return select(binary('lt', x, k(0, x)), binary('mul', k(attrs.float('alpha', 0.01), x), x), x);
    }
    case 'PRelu': { const x = need(0); return select(binary('lt', x, k(0, x)), binary('mul', need(1), x), x); }
    case 'Elu': {
      const x = float(need(0), op);
      return select(binary('lt', x, k(0, x)), binary('mul', k(attrs.float('alpha', 1), x), binary('sub', unary('exp', x), k(1, x))), x);
    }
    case 'Sigmoid': {
      const x = float(need(0), op);
      return binary('div', k(1, x), binary('add', k(1, x), unary('exp', unary('neg', x))));
    }
    case 'HardSigmoid': {
      const x = float(need(0), op);
      const v = binary('add', binary('mul', k(attrs.float('alpha', 0.2), x), x), k(attrs.float('beta', 0.5), x));
      return binary('max', k(0, x), binary('min', k(1, x), v));
    }
    case 'HardSwish': {
      const x = float(need(0), op);
      const g = binary('add', binary('div', x, k(6, x)), k(0.5, x));
      return binary('mul', x, binary('max', k(0, x), binary('min', k(1, x), g)));
    }
    case 'Softplus': {
      // log(1 + e^x) = max(x, 0) + log(1 + e^-|x|): no overflow for large x
      const x = float(need(0), op);
      return binary('add', binary('max', x, k(0, x)), unary('log', binary('add', k(1, x), unary('exp', unary('neg', unary('abs', x))))));
    }
    case 'Gelu': {
      const x = float(need(0), op);
      const approx = attrs.string('approximate', 'none');
      return approx === 'tanh' ? geluTanh(x) : geluErf(x);
    }
    case 'Mod': {
      const fmod = attrs.int('fmod', 0) !== 0;
      const x = need(0), y = need(1);
      if (dtypeInfo(x.dtype).isFloat && !fmod) throw new LowerUnsupported('Mod on floats needs fmod=1');
      return binary(fmod ? 'fmod' : 'imod', x, y);
    }
    case 'Where': return select(need(0), need(1), need(2));
    case 'Clip': {
      let x = need(0);
      if (args[1]) x = select(binary('lt', x, args[1]), args[1], x);
      if (args[2]) x = select(binary('gt', x, args[2]), args[2], x);
      return x;
    }
    case 'Sum': case 'Mean': case 'Max': case 'Min': {
      const xs = args.filter((x): x is Scalar => x !== undefined);
      if (!xs.length) throw new LowerUnsupported(`${op} has no operands`);
      const comb = op === 'Max' ? 'max' : op === 'Min' ? 'min' : 'add';
      const acc = xs.slice(1).reduce((s, x) => binary(comb, s, x), xs[0]);
      return op === 'Mean' ? binary('div', acc, k(xs.length, acc)) : acc;
    }
    case 'Cast': case 'CastLike': return cast(need(0), out);
  }
  throw new LowerUnsupported(`op ${op} has no scalar form`);
}

/** Exact GELU: x/2 · (1 + erf(x/√2)). */
export function geluErf(x: Scalar): Scalar {
  return binary('mul', binary('mul', k(0.5, x), x), binary('add', k(1, x), unary('erf', binary('mul', x, k(Math.SQRT1_2, x)))));
}

/** Tanh GELU: x/2 · (1 + tanh(√(2/π)(x + 0.044715 x³))). */
export function geluTanh(x: Scalar): Scalar {
  const cube = binary('mul', binary('mul', x, x), x);
  const inner = binary('mul', k(Math.sqrt(2 / Math.PI), x), binary('add', x, binary('mul', k(0.044715, x), cube)));
  return binary('mul', binary('mul', k(0.5, x), x), binary('add', k(1, x), unary('tanh', inner)));
}

/** An AttrReader over a body line's or node's attributes, validated by the op's own parser first. */
export function checkedAttrs(op: string, attrs: Attrs): AttrReader {
  const def = findOp(op);
  if (def) readAttrs(def, attrs);
  return new AttrReader(attrs);
}
