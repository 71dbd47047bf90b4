/**
 * Lowering of ops whose output comes from shapes and attributes rather than input data: Shape and
 * Size (the static shape stored as i64 literals), ConstantOfShape (a fill loop with the `value`
 * attribute) and Range (start + i · delta, with scalar start/delta read from their buffers).
 */
import { readNumbers } from '../../ir/tensor.ts';
import { type Stmt, binary, cast, ic, lit, load } from '../kir.ts';
import { type LowerNode, type Lowered, input, loopNest } from './context.ts';
import { checkDType } from './scalar.ts';

/** Lowers Shape (with start/end) and Size. */
export function lowerShape(n: LowerNode): Lowered {
  const x = input(n, 0), out = n.outputs[0];
  const a = n.parsed<{ start?: number; end?: number }>();
  let values: number[];
  if (n.node.op === 'Size') values = [x.count];
  else {
    const r = x.shape.length;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
    values = x.shape.slice(clamp(a.start ?? 0), clamp(a.end ?? r));
  }
  const body: Stmt[] = values.map((v, i) => ({ k: 'store', buffer: out.name, index: ic(i), value: lit(v, out.dtype) }));
  return { kind: 'kernel', body };
}

/** Lowers ConstantOfShape: every element is the `value` attribute (0 when absent). */
export function lowerConstantOfShape(n: LowerNode): Lowered {
  const out = n.outputs[0];
  checkDType(out.dtype, out.name);
  n.parsed();
  const t = n.attrs.tensor('value');
  const v = t ? readNumbers(t)[0] : 0;
  const value = out.dtype === 'bool' ? lit(v !== 0, 'bool') : lit(v, out.dtype);
  return { kind: 'kernel', body: out.count === 0 ? [] : loopNest(n, [out.count], ([i]) => [{ k: 'store', buffer: out.name, index: i, value }]) };
}

/** Lowers Range: out[i] = start + i · delta (the count is the output's static size). */
export function lowerRange(n: LowerNode): Lowered {
  const start = input(n, 0), delta = input(n, 2), out = n.outputs[0];
  checkDType(out.dtype, out.name);
  n.parsed();
  const t = out.dtype;
  const body = out.count === 0 ? [] : loopNest(n, [out.count], ([i]) => [{
    k: 'store', buffer: out.name, index: i,
    value: binary('add', load(start.name, ic(0), t), binary('mul', cast({ k: 'index', dtype: 'i64', index: i }, t), load(delta.name, ic(0), t))),
  }]);
  return { kind: 'kernel', body };
}
