/**
 * Lowering of elementwise ops (unary math, activations, binary arithmetic/comparison/logic with numpy
 * broadcasting, Where, Clip, variadic Sum/Mean/Max/Min, Cast, Expand) and of `kiln.fused` regions.
 *
 * One loop nest over the output shape; each input is loaded at its broadcast position and the op's
 * scalar form (the scalar-op table, through scalar.ts) is stored. When no input broadcasts (each has
 * the output's shape or one element) the nest is a single flat loop over the element count.
 *
 * A `kiln.fused` region computes every body line at the iteration point as a `let t<j>`, so the
 * region's intermediates never touch memory. Without a reduction the iteration space is the shape of
 * the region's results (all results must share it); with a trailing reduction it is the reduction's
 * input shape, iterated as kept axes outside, reduced axes inside (reduce.ts), and elementwise results
 * of that shape are stored from inside the reduction loop.
 */
import { type Index, type Scalar, type Stmt, ic, lit, load, ref } from '../kir.ts';
import { type LowerNode, type Lowered, type Operand, LowerUnsupported, broadcastIndex, flatIndex, knownValue, loopNest } from './context.ts';
import { SCALAR_OPS, checkDType, checkedAttrs, parsedAttrs, scalarOp } from './scalar.ts';
import { parseBodyLine } from '../../ops/fused-body.ts';
import { isBodyReduction } from '../../ops/fused-region.ts';
import { type ReduceKind, reduceKind, reduceNest, resolveReduceAxes } from './reduce.ts';
import type { Attrs, TensorType } from '../../ir/graph.ts';
import { readInts } from '../../ir/tensor.ts';
import { type ShapeContext, findOp, readAttrs } from '../../ops/registry.ts';

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** Loads an operand broadcast into an iteration over `shape` at `idx` (flat when `flat`). */
function loadAt(x: Operand, shape: readonly number[], idx: readonly Index[], flat: boolean): Scalar {
  if (x.count === 1) return load(x.name, ic(0), x.dtype);
  return load(x.name, flat ? idx[0] : broadcastIndex(x.shape, shape, idx), x.dtype);
}

/** Binds a value to a fresh local `s<k>` appended to `lets` (shared subtrees of a table tree). */
function binder(n: LowerNode, lets: Stmt[]): (value: Scalar) => Scalar {
  return (value) => {
    const name = n.fresh('s');
    lets.push({ k: 'let', name, value });
    return ref(name, value.dtype);
  };
}

/** Lowers a single elementwise node. */
export function lowerElementwise(n: LowerNode): Lowered {
  const out = n.outputs[0];
  for (const x of [...n.inputs, out]) if (x) checkDType(x.dtype, x.name);
  n.parsed();
  const flat = n.inputs.every((x) => !x || x.count === 1 || sameShape(x.shape, out.shape));
  const shape = flat ? [out.count] : out.shape;
  const body = loopNest(n, shape, (idx) => {
    const op = n.node.op === 'Expand' ? 'Identity' : n.node.op;
    // Expand's shape and CastLike's dtype template are not values of the iteration: never loaded (the
    // template stands as a literal of its dtype, which the conversion ignores)
    const args = (n.node.op === 'Expand' ? n.inputs.slice(0, 1) : n.inputs).map((x, k) => (x && n.node.op === 'CastLike' && k === 1 ? lit(0, x.dtype) : x && loadAt(x, shape, idx, flat)));
    const lets: Stmt[] = [];
    const value = scalarOp(op, args, n.node.op === 'Expand' ? {} : n.parsed(), out.dtype, binder(n, lets));
    return [...lets, { k: 'store', buffer: out.name, index: flat ? idx[0] ?? ic(0) : flatIndex(out.shape, idx), value }];
  });
  return { kind: 'kernel', body };
}

interface FusedLine { readonly op: string; readonly operands: readonly ({ kind: 'input' | 'value'; index: number } | { kind: 'omitted' })[]; readonly attrs: Attrs }

/** Lowers a kiln.fused region. */
export function lowerFused(n: LowerNode): Lowered {
  const body = n.attrs.strings('body');
  const results = n.attrs.strings('results').map((r) => Number(r.slice(1)));
  const lines: FusedLine[] = body.map((text, j) => parseBodyLine(text, j));
  for (const x of [...n.inputs, ...n.outputs]) if (x) checkDType(x.dtype, x.name);
  for (const l of lines) if (!SCALAR_OPS.has(l.op) && !isBodyReduction(l.op)) throw new LowerUnsupported(`fused body op ${l.op} has no scalar form`);
  const last = lines[lines.length - 1];
  const reduction = isBodyReduction(last.op) ? last : undefined;
  const types = lineTypes(n, lines);

  /** The let statements of lines [0, upto) at an iteration point over `shape`. */
  const lets = (shape: readonly number[], idx: readonly Index[], upto: number): Stmt[] => {
    const stmts: Stmt[] = [];
    for (let j = 0; j < upto; j++) {
      const l = lines[j];
      const args = l.operands.map((o) => (o.kind === 'omitted' ? undefined : o.kind === 'input' ? loadAt(inp(o.index), shape, idx, false) : ref(`t${o.index}`, types[o.index].dtype)));
      const value = scalarOp(l.op, args, parsedAttrs(l.op, l.attrs), types[j].dtype, binder(n, stmts));
      if (value.dtype !== types[j].dtype) throw new LowerUnsupported(`fused line t${j} (${l.op}) computes ${value.dtype} but its type is ${types[j].dtype}`);
      stmts.push({ k: 'let', name: `t${j}`, value });
    }
    return stmts;
  };
  const inp = (k: number): Operand => {
    const x = n.inputs[k];
    if (!x) throw new LowerUnsupported(`fused body reads omitted input in${k}`);
    return x;
  };
  const storeResults = (shape: readonly number[], idx: readonly Index[], skip?: number): Stmt[] =>
    results.flatMap((j, r) => {
      if (j === skip) return [];
      const o = n.outputs[r];
      if (!sameShape(o.shape, shape)) throw new LowerUnsupported(`fused result t${j} has shape [${o.shape.join(',')}], not the region's iteration shape [${shape.join(',')}]`);
      return [{ k: 'store', buffer: o.name, index: flatIndex(shape, idx), value: ref(`t${j}`, types[j].dtype) } as Stmt];
    });

  if (!reduction) {
    const shape = n.outputs[0].shape;
    return { kind: 'kernel', body: loopNest(n, shape, (idx) => [...lets(shape, idx, lines.length), ...storeResults(shape, idx)]) };
  }
  // trailing reduction: operand 0 is the reduced value, operand 1 (if any) the constant axes
  const j = lines.length - 1;
  const src = reduction.operands[0];
  if (src.kind !== 'value') throw new LowerUnsupported('a fused reduction must reduce a body value');
  const r = results.indexOf(j);
  if (r < 0) throw new LowerUnsupported('a fused region ending in a reduction must return it');
  const out = n.outputs[r];
  const inShape = staticShape(types[src.index]);
  const axesOp = reduction.operands[1];
  let axes: number[] | undefined;
  if (axesOp && axesOp.kind === 'input') {
    const v = knownValue(inp(axesOp.index));
    if (!v) throw new LowerUnsupported('fused reduction axes are known only at run time');
    axes = readInts(v);
  }
  const attrs = checkedAttrs(reduction.op, reduction.attrs);
  const resolved = resolveReduceAxes(axes ?? attrs.maybeInts('axes'), inShape.length, attrs.int('noop_with_empty_axes', 0) !== 0);
  if (!resolved) throw new LowerUnsupported('a fused reduction with noop_with_empty_axes and no axes is not lowered');
  const kind: ReduceKind = reduceKind(reduction.op);
  return {
    kind: 'kernel',
    body: reduceNest(n, inShape, resolved, out, kind, (idx) => {
      const pre = lets(inShape, idx, j);
      return { pre: [...pre, ...storeResults(inShape, idx, j)], value: ref(`t${src.index}`, types[src.index].dtype) };
    }),
  };

}

const staticShape = (t: TensorType): number[] => t.shape.map((d) => {
  if (typeof d !== 'number') throw new LowerUnsupported(`fused body value has symbolic dim ${d}`);
  return d;
});

/** The type of every body line, by each op's own type rule on the region's input types. */
function lineTypes(n: LowerNode, lines: readonly FusedLine[]): TensorType[] {
  const types: TensorType[] = [];
  lines.forEach((l, j) => {
    const def = findOp(l.op);
    if (!def) throw new LowerUnsupported(`fused body op ${l.op} is not registered`);
    const operand = (o: FusedLine['operands'][number]) => {
      if (o.kind === 'omitted') return undefined;
      if (o.kind === 'value') return types[o.index];
      const x = n.inputs[o.index];
      return x && { dtype: x.dtype, shape: x.shape };
    };
    const ctx: ShapeContext = {
      value: (i) => { const o = l.operands[i]; const x = o && o.kind === 'input' ? n.inputs[o.index] : undefined; return x && knownValue(x); },
      freshDim: () => { throw new LowerUnsupported(`fused line t${j} has a data-dependent shape`); },
    };
    types.push(def.inferTypes(l.operands.map(operand), readAttrs(def, l.attrs), ctx, 1)[0]);
  });
  return types;
}

/** The elementwise ops lowered by `lowerElementwise`. */
export const ELEMENTWISE_LOWERED: readonly string[] = [...SCALAR_OPS].filter((op) => op !== 'Identity').concat('Expand');
