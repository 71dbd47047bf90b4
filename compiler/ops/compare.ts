/**
 * Comparison, logical and selection ops with numpy broadcasting: Equal, Greater, GreaterOrEqual,
 * Less, LessOrEqual (bool output), And, Or, Xor (bool inputs), and Where(cond, X, Y).
 *
 * Operands are broadcast once (elementwise.ts) and compared in one loop per op. Float operands are
 * compared as values (f16/bf16 decoded, NaN compares unequal/false as IEEE requires), integers as JS
 * numbers, i64/u64 as BigInts, strings (Equal only) by code units. Where selects element by element
 * from any dtype's storage, so it works for every dtype including strings and bigints.
 */
import type { DType, TensorData } from '../ir/dtype.ts';
import { Tensor } from '../ir/tensor.ts';
import { checkTensorSize } from '../ir/sizes.ts';
import type { OpDef } from './registry.ts';
import { broadcastAll, broadcastShapes, required } from './support.ts';
import {
  ANY_TYPE, NUMERIC, allocLike, broadcastData, broadcastType, checkDType, floatValues, laneOf, need,
} from './elementwise.ts';

/** A comparison loop: y[i] = a[i] ? b[i] as 0/1 for all i (elements are numbers, bigints or strings). */
type CompareLoop = (a: ArrayLike<any>, b: ArrayLike<any>, y: Uint8Array) => void;

/** Builds a two-input op with a bool output from a loop over broadcast operands. */
function boolOp(name: string, types: readonly DType[], loop: CompareLoop): OpDef<Record<string, never>> {
  return {
    name,
    inputs: [2, 2],
    outputs: [1, 1],
    elementwise: true,
    inPlace: 'all',
    parseAttrs: () => ({}),
    inferTypes(inputs) {
      required(inputs, 0, `${name} input A`);
      required(inputs, 1, `${name} input B`);
      return [{ dtype: 'bool', shape: broadcastType(name, inputs, types, ['input A', 'input B']).shape }];
    },
    run(inputs) {
      const a = need(inputs[0], `${name} input A`);
      const b = need(inputs[1], `${name} input B`);
      checkDType(name, a.dtype, types, 'input A');
      if (b.dtype !== a.dtype) throw new Error(`${name} input B has dtype ${b.dtype} but input A has ${a.dtype}`);
      const shape = broadcastShapes(a.shape, b.shape);
      checkTensorSize({ what: 'output' }, 'bool', shape);
      const y = new Uint8Array(shape.reduce((p, d) => p * d, 1));
      loop(broadcastData(valuesOf(a), a.shape, shape), broadcastData(valuesOf(b), b.shape, shape), y);
      return [new Tensor('bool', shape, y)];
    },
  };
}

/** Comparable element values: decoded floats for float dtypes, the storage otherwise. */
function valuesOf(t: Tensor): TensorData {
  return laneOf(t.dtype) === 'float' ? floatValues(t) : t.data;
}

const EQUAL_TYPES: readonly DType[] = [...NUMERIC, 'bool', 'str'];

const where: OpDef<Record<string, never>> = {
  name: 'Where',
  inputs: [3, 3],
  outputs: [1, 1],
  elementwise: true,
  inPlace: 'all',
  parseAttrs: () => ({}),
  inferTypes(inputs) {
    const c = required(inputs, 0, 'Where condition');
    const x = required(inputs, 1, 'Where input X');
    const y = required(inputs, 2, 'Where input Y');
    checkDType('Where', c.dtype, ['bool'], 'condition');
    const t = broadcastType('Where', [x, y], ANY_TYPE, ['input X', 'input Y']);
    return [{ dtype: t.dtype, shape: broadcastAll([c.shape, x.shape, y.shape]) }];
  },
  run(inputs) {
    const c = need(inputs[0], 'Where condition');
    const x = need(inputs[1], 'Where input X');
    const y = need(inputs[2], 'Where input Y');
    checkDType('Where', c.dtype, ['bool'], 'condition');
    if (x.dtype !== y.dtype) throw new Error(`Where input Y has dtype ${y.dtype} but input X has ${x.dtype}`);
    const shape = broadcastShapes(c.shape, x.shape, y.shape);
    checkTensorSize({ what: 'output' }, x.dtype, shape);
    const cs = broadcastData(c.data as Uint8Array, c.shape, shape);
    const xs = broadcastData(x.data, x.shape, shape) as ArrayLike<unknown>;
    const ys = broadcastData(y.data, y.shape, shape) as ArrayLike<unknown>;
    const out = allocLike(x.data, cs.length);
    const o = out as unknown as unknown[];
    for (let i = 0; i < cs.length; i++) o[i] = cs[i] ? xs[i] : ys[i];
    return [new Tensor(x.dtype, shape, out)];
  },
};

export const compareOps: OpDef<any>[] = [
  boolOp('Equal', EQUAL_TYPES, (a, b, y) => { for (let i = 0; i < y.length; i++) y[i] = a[i] === b[i] ? 1 : 0; }),
  boolOp('Greater', NUMERIC, (a, b, y) => { for (let i = 0; i < y.length; i++) y[i] = a[i] > b[i] ? 1 : 0; }),
  boolOp('GreaterOrEqual', NUMERIC, (a, b, y) => { for (let i = 0; i < y.length; i++) y[i] = a[i] >= b[i] ? 1 : 0; }),
  boolOp('Less', NUMERIC, (a, b, y) => { for (let i = 0; i < y.length; i++) y[i] = a[i] < b[i] ? 1 : 0; }),
  boolOp('LessOrEqual', NUMERIC, (a, b, y) => { for (let i = 0; i < y.length; i++) y[i] = a[i] <= b[i] ? 1 : 0; }),
  boolOp('And', ['bool'], (a, b, y) => { for (let i = 0; i < y.length; i++) y[i] = a[i] && b[i] ? 1 : 0; }),
  boolOp('Or', ['bool'], (a, b, y) => { for (let i = 0; i < y.length; i++) y[i] = a[i] || b[i] ? 1 : 0; }),
  boolOp('Xor', ['bool'], (a, b, y) => { for (let i = 0; i < y.length; i++) y[i] = !a[i] !== !b[i] ? 1 : 0; }),
  where,
];
