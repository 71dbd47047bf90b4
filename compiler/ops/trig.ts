/**
 * Trigonometric and hyperbolic ops: Tan, Asin, Acos, Atan, Sinh, Cosh, Asinh, Acosh, Atanh.
 *
 * Each is a unary float loop (unary-kernel.ts): the value is computed in double precision by the JS
 * Math function of the same name and stored to the input's float dtype (f16/bf16 through f32), as
 * numpy does. Out-of-domain inputs give NaN (Asin/Acos outside [-1, 1], Acosh below 1, Atanh outside
 * [-1, 1]); Atanh(±1) is ±Infinity. ONNX allows float types only (f16, bf16 since opset 22, f32, f64).
 */
import type { OpDef } from './registry.ts';
import { unaryOp } from './unary-kernel.ts';
import { FLOATS } from './elementwise.ts';

/** A float unary op computing `fn` per element. */
function mathOp(name: string, fn: (v: number) => number): OpDef<Record<string, never>> {
  return unaryOp({
    name, types: FLOATS,
    float: (x, y) => { for (let i = 0; i < x.length; i++) y[i] = fn(x[i]); },
  });
}

export const trigOps: OpDef<any>[] = [
  mathOp('Tan', Math.tan),
  mathOp('Asin', Math.asin),
  mathOp('Acos', Math.acos),
  mathOp('Atan', Math.atan),
  mathOp('Sinh', Math.sinh),
  mathOp('Cosh', Math.cosh),
  mathOp('Asinh', Math.asinh),
  mathOp('Acosh', Math.acosh),
  mathOp('Atanh', Math.atanh),
];
