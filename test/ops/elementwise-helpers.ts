/**
 * Test helpers for the elementwise op families: run a registered op's kernel or type rule with plain
 * attribute values, build tensors from plain numbers or bigints, and compare results.
 */
import * as assert from 'uvu/assert';
import type { AttrValue, Dim, TensorType } from '../../compiler/ir/graph.ts';
import type { DType } from '../../compiler/ir/dtype.ts';
import { Tensor, readNumbers } from '../../compiler/ir/tensor.ts';
import { AttrReader, getOp } from '../../compiler/ops/registry.ts';
import '../../compiler/ops/all.ts';

/** Attribute values: integers become `int`, other numbers `float`, strings `string`; or a typed AttrValue. */
export type Attrs = Record<string, number | string | AttrValue>;

function attrReader(attrs: Attrs): AttrReader {
  const a: Record<string, AttrValue> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'number') a[k] = Number.isInteger(v) ? { kind: 'int', value: v } : { kind: 'float', value: v };
    else if (typeof v === 'string') a[k] = { kind: 'string', value: v };
    else a[k] = v;
  }
  return new AttrReader(a);
}

/** Runs op `name`'s reference kernel. */
export function run(name: string, inputs: (Tensor | undefined)[], attrs: Attrs = {}, outputs = 1): Tensor[] {
  const def = getOp(name);
  return def.run(inputs, def.parseAttrs(attrReader(attrs)), outputs);
}

/** Runs the first output of op `name`. */
export function run1(name: string, inputs: (Tensor | undefined)[], attrs: Attrs = {}): Tensor {
  return run(name, inputs, attrs)[0];
}

/** Runs op `name`'s type rule. */
export function infer(name: string, inputs: (TensorType | undefined)[], attrs: Attrs = {}, outputs = 1): TensorType[] {
  const def = getOp(name);
  let fresh = 0;
  return def.inferTypes(inputs, def.parseAttrs(attrReader(attrs)), { value: () => undefined, freshDim: () => `?${fresh++}` }, outputs);
}

/** A tensor type. */
export const ty = (dtype: DType, shape: Dim[]): TensorType => ({ dtype, shape });

/** A tensor from plain numbers (encoded as the dtype needs). */
export const t = (dtype: DType, shape: number[], values: number[]): Tensor => Tensor.fromNumbers(dtype, shape, values);
/** A 1-D f32 tensor. */
export const f32 = (...values: number[]): Tensor => t('f32', [values.length], values);
/** An i64/u64 tensor from bigints. */
export const big = (dtype: 'i64' | 'u64', shape: number[], values: bigint[]): Tensor =>
  new Tensor(dtype, shape, dtype === 'i64' ? BigInt64Array.from(values) : BigUint64Array.from(values));

/** Element values as plain numbers (decoded floats, bools 0/1). */
export const vals = (x: Tensor): number[] => Array.from(readNumbers(x));
/** Raw storage as a plain array (codes for encoded floats, bigints for i64/u64). */
export const raw = (x: Tensor): unknown[] => Array.from(x.data as ArrayLike<unknown>);

/** Asserts dtype, shape and values within `tol` (relative to max(1, |expected|)); NaN matches NaN. */
export function close(x: Tensor, dtype: DType, shape: number[], expected: number[], tol = 1e-6): void {
  assert.is(x.dtype, dtype);
  assert.equal(x.shape, shape);
  const got = vals(x);
  assert.is(got.length, expected.length, 'element count');
  expected.forEach((e, i) => {
    const g = got[i];
    const ok = Number.isNaN(e) ? Number.isNaN(g) : e === g || Math.abs(g - e) <= tol * Math.max(1, Math.abs(e));
    if (!ok) assert.unreachable(`element ${i}: got ${g}, expected ${e} (all: ${got.join(', ')})`);
  });
}
