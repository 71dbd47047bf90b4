/**
 * The scalar form of every elementwise op a kernel computes, read from the scalar-op table
 * (compiler/ops/scalar-ops.ts): elementwise kernels, kiln.fused bodies and the epilogues of the fused
 * compute ops all build their expressions here, so an op's formula lives only in the table.
 *
 * `scalarOp` is a thin adapter: it asks the table for the op's expression tree (`opExpr`) for the
 * operands' dtypes and the op's parsed attributes, and translates the tree node by node into kernel IR
 * Scalars: `input(i)` becomes operand i (an already loaded and broadcast Scalar), `const` a literal of
 * its type, each function `fn` the kernel IR operator of FN_OPS (select a select), `convert` a cast.
 * An op the table has no entry for, or whose entry rejects these dtypes or attributes, is
 * LowerUnsupported with the table's reason (NOT_LOWERABLE or opExpr's string). A subtree the table
 * shares (one node object used twice) becomes one local through the caller's `bind`, except integer
 * divisions, which must stay inside the select that guards their zero divisor.
 *
 * Precision contract (the table's, see scalar-ops.ts): f32, f16 and bf16 tensors compute in f32, f64 in
 * f64, integers in their own type. A `convert` to the value's own type is a rounding point of the JS
 * evaluator (which computes inside a tree in f64); a typed kernel computes in the type itself, so the
 * adapter emits nothing for it. f16 operands enter the f32 tree as they are and the result is cast to
 * the f16 output: widen.ts then computes every f16 value in f32 and rounds once at the store. bf16 and
 * the float8 types are not lowered yet (checkDType).
 */
import type { DType } from '../../ir/dtype.ts';
import { dtypeInfo } from '../../ir/dtype.ts';
import { AttrReader, findOp, readAttrs } from '../../ops/registry.ts';
import type { Attrs } from '../../ir/graph.ts';
import { NOT_LOWERABLE, opExpr, scalarOp as tableEntry, scalarOpNames } from '../../ops/scalar-ops.ts';
import { type Expr, type ScalarFn, type ScalarType, computeType, isFloatType, resultType } from '../../ops/scalar-expr.ts';
import { type BinaryOp, type Scalar, type UnaryOp, binary, cast, lit, select, unary } from '../kir.ts';
import { LowerUnsupported } from './context.ts';

/** Ops with a scalar form: the scalar-op table's entries. */
export const SCALAR_OPS: ReadonlySet<string> = new Set(scalarOpNames());

/** Dtypes kernels compute on (float8/sub-byte/str are not lowered yet; f16 and bf16 are widened to f32). */
export function checkDType(dtype: DType, what: string): void {
  if (dtype === 'str' || (dtypeInfo(dtype).encoded && dtype !== 'f16' && dtype !== 'bf16') || dtypeInfo(dtype).bits < 8) {
    throw new LowerUnsupported(`${what} has dtype ${dtype}, which kernels do not compute on yet`);
  }
}

/** The kernel IR operator of each table function (select is a select node; round_bf16 has none yet). */
const FN_OPS: Readonly<Partial<Record<ScalarFn, { unary: UnaryOp } | { binary: BinaryOp }>>> = {
  add: { binary: 'add' }, sub: { binary: 'sub' }, mul: { binary: 'mul' }, div: { binary: 'div' },
  rem: { binary: 'fmod' }, min: { binary: 'min' }, max: { binary: 'max' }, pow: { binary: 'pow' },
  lt: { binary: 'lt' }, le: { binary: 'le' }, gt: { binary: 'gt' }, ge: { binary: 'ge' }, eq: { binary: 'eq' }, ne: { binary: 'ne' },
  and: { binary: 'and' }, or: { binary: 'or' }, xor: { binary: 'xor' },
  neg: { unary: 'neg' }, abs: { unary: 'abs' }, sign: { unary: 'sign' }, exp: { unary: 'exp' }, expm1: { unary: 'expm1' },
  log: { unary: 'log' }, log1p: { unary: 'log1p' }, sqrt: { unary: 'sqrt' }, sin: { unary: 'sin' }, cos: { unary: 'cos' },
  tanh: { unary: 'tanh' }, erf: { unary: 'erf' }, floor: { unary: 'floor' }, ceil: { unary: 'ceil' },
  round_even: { unary: 'round' }, round_f16: { unary: 'round_f16' }, isnan: { unary: 'isnan' }, not: { unary: 'not' },
};

/** Kernel IR dtype of a table value type (the names coincide). */
const dtypeOf = (t: ScalarType): DType => t;

/** How often each op/convert node object occurs in a tree (the table shares subtrees by reference). */
function uses(e: Expr, n: Map<Expr, number> = new Map()): Map<Expr, number> {
  if (e.kind === 'input' || e.kind === 'const') return n;
  const seen = n.has(e);
  n.set(e, (n.get(e) ?? 0) + 1);
  if (!seen) for (const a of e.kind === 'convert' ? [e.arg] : e.args) uses(a, n);
  return n;
}

/**
 * True when a subtree divides integers: the table guards a zero divisor with a select, so such a
 * subtree must stay inside the select's chosen branch rather than be hoisted into a local.
 */
function mayTrap(e: Expr): boolean {
  if (e.kind === 'input' || e.kind === 'const') return false;
  if (e.kind === 'convert') return mayTrap(e.arg);
  return ((e.fn === 'div' || e.fn === 'rem') && !isFloatType(e.type)) || e.args.some(mayTrap);
}

/** Translation state: the operands, shared subtrees already bound to locals, and how to bind one. */
interface Translation {
  readonly op: string;
  readonly args: readonly (Scalar | undefined)[];
  readonly uses: ReadonlyMap<Expr, number>;
  readonly done: Map<Expr, Scalar>;
  readonly bind?: (value: Scalar) => Scalar;
}

/** Translates a table tree into a kernel IR Scalar; a subtree used twice is bound once when `bind` is given. */
function translate(e: Expr, t: Translation): Scalar {
  const hit = t.done.get(e);
  if (hit) return hit;
  const v = translateNode(e, t);
  if (t.bind && (t.uses.get(e) ?? 0) > 1 && v.k !== 'ref' && v.k !== 'lit' && v.k !== 'load' && !mayTrap(e)) {
    const b = t.bind(v);
    t.done.set(e, b);
    return b;
  }
  return v;
}

function translateNode(e: Expr, t: Translation): Scalar {
  const { op, args } = t;
  const tr = (x: Expr) => translate(x, t);
  switch (e.kind) {
    case 'input': {
      const x = args[e.index];
      if (!x) throw new LowerUnsupported(`${op}: operand ${e.index} is omitted`);
      if (computeType(x.dtype) !== e.type) throw new LowerUnsupported(`${op}: operand ${e.index} is ${x.dtype}, the table computes it in ${e.type}`);
      return x;
    }
    case 'const': return lit(Number(e.value), dtypeOf(e.type));
    case 'convert': {
      const a = tr(e.arg);
      // a convert to the value's own type is the evaluator's rounding point: a typed kernel computes in that type
      return resultType(e.arg) === e.type ? a : cast(a, dtypeOf(e.type));
    }
    default: break;
  }
  const a = e.args.map(tr);
  if (e.fn === 'select') return select(a[0], a[1], a[2]);
  const k = FN_OPS[e.fn];
  if (!k) throw new LowerUnsupported(`${op}: scalar function ${e.fn} has no kernel IR operator yet`);
  if ('binary' in k) return binary(k.binary, a[0], a[1]);
  return unary(k.unary, a[0], dtypeOf(resultType(e)));
}

/**
 * The scalar result of elementwise op `op` on `args` (omitted optional operands undefined), with the
 * op's parsed attributes (its OpDef.parseAttrs result); `out` is the result's tensor dtype. `bind`, when
 * given, turns a value into a local (a `let` the caller places before the use) and returns its ref: a
 * subtree the table uses twice (Sigmoid's exp, Clip's lower bound, Mod's remainder) is then computed
 * once; without it the subtree is repeated in the expression.
 */
export function scalarOp(op: string, args: readonly (Scalar | undefined)[], attrs: unknown, out: DType,
  bind?: (value: Scalar) => Scalar): Scalar {
  const entry = tableEntry(op);
  if (!entry) throw new LowerUnsupported(`op ${op} has no scalar form${NOT_LOWERABLE[op] ? `: ${NOT_LOWERABLE[op]}` : ''}`);
  const tree = opExpr(entry, args.map((x) => x?.dtype), attrs ?? {});
  if (typeof tree === 'string') throw new LowerUnsupported(tree);
  if (computeType(out) !== resultType(tree)) throw new LowerUnsupported(`${op}: the table computes ${resultType(tree)}, the output is ${out}`);
  const v = translate(tree, { op, args, uses: uses(tree), done: new Map(), bind });
  return cast(v, out); // f16 outputs: computed in f32, rounded at the store (widen.ts)
}

/** The parsed attributes of a body line or node of op `op` (its OpDef's parser validates them). */
export function parsedAttrs(op: string, attrs: Attrs): unknown {
  const def = findOp(op);
  return def ? readAttrs(def, attrs) : {};
}

/** An AttrReader over a body line's or node's attributes, validated by the op's own parser first. */
export function checkedAttrs(op: string, attrs: Attrs): AttrReader {
  const def = findOp(op);
  if (def) readAttrs(def, attrs);
  return new AttrReader(attrs);
}
