/**
 * The epilogue of the fused compute ops (kiln.gemm, kiln.matmul, kiln.conv) in kernel IR: the steps of
 * compiler/ops/epilogue.ts applied to the accumulated (and biased) value of one output element before
 * its one store. Each step's result is a local, so no expression is repeated however long the chain.
 */
import { type Index, type Scalar, type Stmt, binary, lit, load, ref, select, unary } from '../kir.ts';
import { readEpilogue } from '../../ops/epilogue.ts';
import { type LowerNode, input } from './context.ts';
import { geluErf, geluTanh } from './scalar.ts';

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
    switch (s) {
      case 'relu': v = select(binary('lt', v, c(0)), c(0), v); break;
      case 'clip':
        if (ep.clipMin > -Infinity) v = bind(select(binary('lt', v, c(ep.clipMin)), c(ep.clipMin), v));
        if (ep.clipMax < Infinity) v = select(binary('gt', v, c(ep.clipMax)), c(ep.clipMax), v);
        break;
      case 'sigmoid': v = binary('div', c(1), binary('add', c(1), unary('exp', unary('neg', v)))); break;
      case 'hardswish': v = binary('mul', v, binary('max', c(0), binary('min', c(1), binary('add', binary('div', v, c(6)), c(0.5))))); break;
      case 'gelu': v = geluErf(v); break;
      case 'gelu_tanh': v = geluTanh(v); break;
      case 'add': {
        const r = input(n, 3);
        v = binary('add', v, load(r.name, outIndex, r.dtype));
        break;
      }
    }
    v = bind(v);
  }
  return { lets, value: v };
}

