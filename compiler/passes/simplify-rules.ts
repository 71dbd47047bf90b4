/**
 * The rewrite rules of the simplify pass, as a declarative table: each rule names the ops it looks
 * at, says in one line what it does, and has a `rewrite(node, view)` that either declines
 * (undefined) or returns the rewrite. The driver (simplify.ts) applies rules to a fixed point,
 * counts each firing under the rule's name, and handles graph outputs and dead producers.
 *
 * A rewrite is one of:
 * - `{ forward: v }` — the node's (only used) output is the value `v`, which has exactly the same
 *   type; the node goes away and its readers read `v`.
 * - `{ replace: node }` — a new node with the same outputs and types (a shorter chain); the rule
 *   sets its loc to the union of the nodes it stands for, in graph order.
 *
 * Rules only fire when the result is bit-for-bit the same computation, with one documented
 * exception: `x + 0` turns an output -0 into the input's -0 where IEEE addition gives +0 (equal
 * values; every compiler with algebraic simplification does this).
 */
import type { DType } from '../ir/dtype.ts';
import { dtypeInfo } from '../ir/dtype.ts';
import type { Node, TensorType } from '../ir/graph.ts';
import { type Tensor, readInts, readNumbers } from '../ir/tensor.ts';
import { dropoutIsIdentity, sameType, unionLoc } from './graph-edit.ts';

/** What a rule may ask about the graph around a node (maintained by the driver as rules fire). */
export interface SimplifyView {
  /** Type of a value (graph input, constant or node output). */
  type(v: string): TensorType | undefined;
  /** Data of a constant, or undefined for anything else. */
  constant(v: string): Tensor | undefined;
  /** The node that produces a value, or undefined for graph inputs and constants. */
  producer(v: string): Node | undefined;
  /** Number of readers of a value (node input slots plus graph output entries). */
  uses(v: string): number;
}

/** The result of a rule that fires. */
export type Rewrite = { readonly forward: string } | { readonly replace: Node };

/** One simplification rule. */
export interface SimplifyRule {
  /** Statistic name and short id (`mul-one`). */
  readonly name: string;
  /** One line for `kiln passes` and the docs. */
  readonly label: string;
  /** Ops this rule looks at. */
  readonly ops: readonly string[];
  rewrite(node: Node, view: SimplifyView): Rewrite | undefined;
}

/** `forward: x` when the node's only used output has exactly x's type. */
function forwardIfSameType(node: Node, x: string, view: SimplifyView): Rewrite | undefined {
  return sameType(node.types[0], view.type(x)) ? { forward: x } : undefined;
}

/** True if `v` is a constant whose every element equals `k` (and it has at least one element). */
function constantAll(view: SimplifyView, v: string, k: number): boolean {
  const t = view.constant(v);
  if (!t || t.size === 0 || t.dtype === 'str') return false;
  const xs = readNumbers(t);
  for (let i = 0; i < xs.length; i++) if (xs[i] !== k) return false;
  return true;
}

/** x op c (and c op x when commutative) → x, for the neutral constant c of op. */
function neutralRule(name: string, op: string, neutral: number, commutative: boolean, label: string): SimplifyRule {
  return {
    name, label, ops: [op],
    rewrite(node, view) {
      const [a, b] = node.inputs;
      if (!a || !b) return undefined;
      if (constantAll(view, b, neutral)) {
        const r = forwardIfSameType(node, a, view);
        if (r) return r;
      }
      if (commutative && constantAll(view, a, neutral)) return forwardIfSameType(node, b, view);
      return undefined;
    },
  };
}

/** The permutation of a Transpose node for an input of `rank` (default: reversed axes). */
function transposePerm(node: Node, rank: number): number[] {
  const a = node.attrs.perm;
  if (a && a.kind === 'ints') return a.value.map((p) => (p < 0 ? p + rank : p));
  return Array.from({ length: rank }, (_, i) => rank - 1 - i);
}

const FLOAT_PRECISION: Partial<Record<DType, number>> = { f16: 11, bf16: 8, f32: 24, f64: 53 };
const SMALL_FLOATS: readonly DType[] = ['f8e4m3fn', 'f8e4m3fnuz', 'f8e5m2', 'f8e5m2fnuz', 'f4e2m1'];

/**
 * True if every value of dtype `from` converts to dtype `to` exactly (so a cast through `to` loses
 * nothing): wider floats, narrow floats into f16/bf16/f32/f64 (f8e8m0 into f32/f64), integers into
 * wider integers of a compatible sign, integers into floats with enough mantissa bits, bool into
 * any int or standard float. Strings never count.
 */
export function losslessCast(from: DType, to: DType): boolean {
  if (from === to) return true;
  if (from === 'str' || to === 'str') return false;
  const f = dtypeInfo(from), t = dtypeInfo(to);
  const precision = FLOAT_PRECISION[to];
  if (from === 'bool') return t.isInt || precision !== undefined;
  if (f.isFloat) {
    if (from === 'f8e8m0') return to === 'f32' || to === 'f64';
    if (SMALL_FLOATS.includes(from)) return precision !== undefined;
    const p = FLOAT_PRECISION[from];
    // f16 -> f32/f64, bf16 -> f32/f64, f32 -> f64 (f16 and bf16 do not hold each other)
    return p !== undefined && precision !== undefined && precision > p && (to === 'f32' || to === 'f64');
  }
  if (!f.isInt) return false;
  const valueBits = f.signed ? f.bits - 1 : f.bits;
  if (t.isInt) return f.signed ? t.signed && t.bits >= f.bits : (t.signed ? t.bits > f.bits : t.bits >= f.bits);
  return precision !== undefined && valueBits <= precision;
}

/** The rule table, in the order the driver tries them on a node. */
export const SIMPLIFY_RULES: readonly SimplifyRule[] = [
  {
    name: 'identity', label: 'Identity(x) -> x', ops: ['Identity'],
    rewrite: (node, view) => forwardIfSameType(node, node.inputs[0], view),
  },
  {
    name: 'dropout', label: 'Dropout(x) in inference mode, mask unused -> x', ops: ['Dropout'],
    rewrite(node, view) {
      const mask = node.outputs[1];
      if (mask && view.uses(mask) > 0) return undefined;
      if (!dropoutIsIdentity(node, (v) => view.constant(v))) return undefined;
      return forwardIfSameType(node, node.inputs[0], view);
    },
  },
  {
    name: 'reshape-noop', label: 'Reshape(x, s) whose result type is x\'s type -> x', ops: ['Reshape'],
    rewrite: (node, view) => forwardIfSameType(node, node.inputs[0], view),
  },
  {
    name: 'transpose-noop', label: 'Transpose(x) with the identity permutation -> x', ops: ['Transpose'],
    rewrite(node, view) {
      const t = view.type(node.inputs[0]);
      if (!t || !transposePerm(node, t.shape.length).every((p, i) => p === i)) return undefined;
      return forwardIfSameType(node, node.inputs[0], view);
    },
  },
  {
    name: 'reshape-chain', label: 'Reshape(Reshape(x, s1), s2) -> Reshape(x, s2) when s2 is constant without 0s',
    ops: ['Reshape'],
    rewrite(node, view) {
      const inner = view.producer(node.inputs[0]);
      if (!inner || inner.op !== 'Reshape') return undefined;
      const s2 = view.constant(node.inputs[1]);
      const allowzero = node.attrs.allowzero?.kind === 'int' && node.attrs.allowzero.value !== 0;
      // with allowzero=0 a 0 copies the input's dim, which differs between x and the inner result
      if (!s2 || (!allowzero && readInts(s2).includes(0))) return undefined;
      return { replace: { ...node, inputs: [inner.inputs[0], node.inputs[1]], loc: unionLoc(inner.loc, node.loc) } };
    },
  },
  {
    name: 'transpose-chain', label: 'Transpose(Transpose(x, p1), p2) -> Transpose(x, p1[p2])', ops: ['Transpose'],
    rewrite(node, view) {
      const inner = view.producer(node.inputs[0]);
      const t = view.type(node.inputs[0]);
      if (!inner || inner.op !== 'Transpose' || !t) return undefined;
      const rank = t.shape.length;
      const p1 = transposePerm(inner, rank), p2 = transposePerm(node, rank);
      const perm = p2.map((i) => p1[i]);
      return { replace: { ...node, inputs: [inner.inputs[0]], attrs: { ...node.attrs, perm: { kind: 'ints', value: perm } }, loc: unionLoc(inner.loc, node.loc) } };
    },
  },
  neutralRule('mul-one', 'Mul', 1, true, 'x * 1 and 1 * x -> x (ones that do not broadcast x)'),
  neutralRule('add-zero', 'Add', 0, true, 'x + 0 and 0 + x -> x (zeros that do not broadcast x)'),
  neutralRule('sub-zero', 'Sub', 0, false, 'x - 0 -> x (zeros that do not broadcast x)'),
  neutralRule('div-one', 'Div', 1, false, 'x / 1 -> x (ones that do not broadcast x)'),
  {
    name: 'cast-noop', label: 'Cast(x) or CastLike(x, y) to x\'s own dtype -> x', ops: ['Cast', 'CastLike'],
    rewrite: (node, view) => forwardIfSameType(node, node.inputs[0], view),
  },
  {
    name: 'cast-chain', label: 'Cast(Cast(x: A) to B) to C -> Cast(x) to C when A -> B is lossless', ops: ['Cast'],
    rewrite(node, view) {
      const inner = view.producer(node.inputs[0]);
      if (!inner || inner.op !== 'Cast') return undefined;
      const a = view.type(inner.inputs[0]), b = view.type(node.inputs[0]);
      if (!a || !b || node.types[0].dtype === 'str' || !losslessCast(a.dtype, b.dtype)) return undefined;
      return { replace: { ...node, inputs: [inner.inputs[0]], loc: unionLoc(inner.loc, node.loc) } };
    },
  },
];
