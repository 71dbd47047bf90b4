/**
 * The unary elementwise op builder shared by unary.ts and activation.ts.
 *
 * An op is described by its name, allowed dtypes, attribute parser and one tight loop per lane it
 * supports (float over f32/f64 storage with f16/bf16 decoded to f32; int over native integer storage;
 * big over i64/u64; bool over 0/1 bytes). The builder supplies the type rule (same dtype and shape as
 * the input, dtype checked against the ONNX constraint) and the run function that picks the lane,
 * allocates the output and packs f16/bf16 results.
 */
import type { DType } from '../ir/dtype.ts';
import { Tensor } from '../ir/tensor.ts';
import type { AttrReader, OpDef } from './registry.ts';
import { required } from './support.ts';
import {
  type BigArray, type FloatArray, type NumberArray, checkDType, floatBuffer, floatResult, floatValues, laneOf, need,
} from './elementwise.ts';

/** What one unary op does per lane. Each loop writes y[i] for every i of x. */
export interface UnarySpec<A> {
  readonly name: string;
  /** Allowed input dtypes (the ONNX type constraint). */
  readonly types: readonly DType[];
  readonly attrs?: (r: AttrReader) => A;
  readonly float?: (x: FloatArray, y: FloatArray, attrs: A) => void;
  readonly int?: (x: NumberArray, y: NumberArray, attrs: A) => void;
  readonly big?: (x: BigArray, y: BigArray, attrs: A) => void;
  readonly bool?: (x: Uint8Array, y: Uint8Array, attrs: A) => void;
}

/** Builds the OpDef of a unary elementwise op (output has the input's dtype and shape). */
export function unaryOp<A = Record<string, never>>(spec: UnarySpec<A>): OpDef<A> {
  const { name, types } = spec;
  return {
    name,
    inputs: [1, 1],
    outputs: [1, 1],
    elementwise: true,
    inPlace: 'all',
    parseAttrs: (r) => (spec.attrs ? spec.attrs(r) : ({} as A)),
    inferTypes(inputs) {
      const x = required(inputs, 0, `${name} input`);
      checkDType(name, x.dtype, types);
      return [{ dtype: x.dtype, shape: x.shape }];
    },
    run(inputs, attrs) {
      const x = need(inputs[0], `${name} input`);
      checkDType(name, x.dtype, types);
      return [applyUnary(spec, x, attrs)];
    },
  };
}

function applyUnary<A>(spec: UnarySpec<A>, x: Tensor, attrs: A): Tensor {
  const lane = laneOf(x.dtype);
  if (lane === 'float' && spec.float) {
    const y = floatBuffer(x.dtype, x.size);
    spec.float(floatValues(x), y, attrs);
    return floatResult(x.dtype, x.shape, y);
  }
  const out = Tensor.zeros(x.dtype, x.shape);
  if (lane === 'int' && spec.int) spec.int(x.data as NumberArray, out.data as NumberArray, attrs);
  else if (lane === 'big' && spec.big) spec.big(x.data as BigArray, out.data as BigArray, attrs);
  else if (lane === 'bool' && spec.bool) spec.bool(x.data as Uint8Array, out.data as Uint8Array, attrs);
  else throw new Error(`${spec.name} has no kernel for dtype ${x.dtype}`);
  return out;
}
