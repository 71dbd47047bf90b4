/**
 * The epilogue of the fused compute ops (kiln.gemm, kiln.matmul, kiln.conv) in kernel IR: the steps of
 * compiler/ops/epilogue.ts applied to the accumulated (and biased) value of one output element before
 * its one store. Each step is its scalar-op table entry (the op of STEP_OPS, through scalar.ts), so the
 * compiled epilogue and the reference one (compiler/ops/epilogue.ts) share one formula.
 * Each step's result is a local, so no expression is repeated however long the chain.
 */
import { type Index, type Scalar, type Stmt, lit, load, ref } from '../kir.ts';
import { STEP_OPS, readEpilogue } from '../../ops/epilogue.ts';
import { type LowerNode, input } from './context.ts';
import { scalarOp } from './scalar.ts';

/** True when the node is a fused op with at least one epilogue step. */
export function hasEpilogue(n: LowerNode): boolean {
  return n.node.op.startsWith('kiln.') && readEpilogue(n.attrs).steps.length > 0;
}

/**
 * The epilogue of a fused node as statements: the value before the steps, then one local per step
 * (so no step's expression is repeated), ending in the value to store. The residual is loaded at
 * `outIndex`. An unfused node returns the value as is.
 */
export function epilogue(n: LowerNode, v: Scalar, outIndex: Index): { lets: Stmt[]; value: Scalar } {
  if (!n.node.op.startsWith('kiln.')) return { lets: [], value: v };
  const ep = readEpilogue(n.attrs);
  if (!ep.steps.length) return { lets: [], value: v };
  const lets: Stmt[] = [];
  const c = (x: number) => lit(x, v.dtype);
  const bind = (x: Scalar) => {
    const name = n.fresh('e');
    lets.push({ k: 'let', name, value: x });
    return ref(name, x.dtype);
  };
  v = bind(v);
  for (const s of ep.steps) {
    const { op, attrs } = STEP_OPS[s];
    let operands: (Scalar | undefined)[] = [v];
    if (s === 'clip') {
      operands = [v, ep.clipMin > -Infinity ? c(ep.clipMin) : undefined, ep.clipMax < Infinity ? c(ep.clipMax) : undefined];
    } else if (s === 'add') {
      const r = input(n, 3);
      operands = [v, load(r.name, outIndex, r.dtype)];
    }
    v = bind(scalarOp(op, operands, attrs, v.dtype, bind));
  }
  return { lets, value: v };
}

