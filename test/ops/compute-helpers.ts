/**
 * Test helpers for the compute-heavy op families (conv, pool, matmul, norm, softmax, reduce): run an
 * op's kernel or shape rule with plain attribute values (and optional known input values), seeded
 * random tensors, and closeness checks with a relative tolerance.
 */
import * as assert from 'uvu/assert';
import type { AttrValue, Dim, TensorType } from '../../compiler/ir/graph.ts';
import type { DType } from '../../compiler/ir/dtype.ts';
import { Tensor, readNumbers } from '../../compiler/ir/tensor.ts';
import { AttrReader, getOp } from '../../compiler/ops/registry.ts';
import '../../compiler/ops/all.ts';

/** Attribute values: integer → int, other number → float, string → string, number[] → ints, or a typed AttrValue. */
export type Attrs = Record<string, number | string | number[] | AttrValue>;

function reader(attrs: Attrs): AttrReader {
  const a: Record<string, AttrValue> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'number') a[k] = Number.isInteger(v) ? { kind: 'int', value: v } : { kind: 'float', value: v };
    else if (typeof v === 'string') a[k] = { kind: 'string', value: v };
    else if (Array.isArray(v)) a[k] = { kind: 'ints', value: v };
    else a[k] = v;
  }
  return new AttrReader(a);
}

/** Runs op `name`'s kernel and returns all outputs. */
export function run(name: string, inputs: (Tensor | undefined)[], attrs: Attrs = {}, outputs = 1): Tensor[] {
  const def = getOp(name);
  return def.run(inputs, def.parseAttrs(reader(attrs)), outputs);
}

/** Runs op `name`'s kernel and returns its first output. */
export function run1(name: string, inputs: (Tensor | undefined)[], attrs: Attrs = {}): Tensor {
  return run(name, inputs, attrs)[0];
}

/** Parses attributes only (to test attribute errors). */
export function parse(name: string, attrs: Attrs): unknown {
  return getOp(name).parseAttrs(reader(attrs));
}

/** Runs op `name`'s shape rule; `values[i]` is input i's value when known at compile time. */
export function infer(name: string, inputs: (TensorType | undefined)[], attrs: Attrs = {}, outputs = 1,
  values: (Tensor | undefined)[] = []): TensorType[] {
  const def = getOp(name);
  let fresh = 0;
  return def.inferTypes(inputs, def.parseAttrs(reader(attrs)), { value: (i) => values[i], freshDim: () => `?${fresh++}` }, outputs);
}

/** A tensor type. */
export const ty = (dtype: DType, shape: Dim[]): TensorType => ({ dtype, shape });

/** A tensor from plain numbers (encoded as the dtype needs). */
export const t = (dtype: DType, shape: number[], values: ArrayLike<number>): Tensor => Tensor.fromNumbers(dtype, shape, values);

/** An i64 tensor from numbers. */
export const i64 = (shape: number[], values: number[]): Tensor => new Tensor('i64', shape, BigInt64Array.from(values, (v) => BigInt(v)));

/** A deterministic pseudo-random generator (mulberry32) giving values in [-1, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return (((x ^ (x >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

/** A tensor of seeded random values in [-1, 1) (integers in [-9, 9] for integer dtypes). */
export function rand(dtype: DType, shape: number[], seed = 1): Tensor {
  const r = rng(seed);
  let n = 1;
  for (const d of shape) n *= d;
  const isInt = !['f32', 'f64', 'f16', 'bf16'].includes(dtype);
  return t(dtype, shape, Array.from({ length: n }, () => (isInt ? Math.round(r() * 9) : r())));
}

/** Element values as plain numbers. */
export const vals = (x: Tensor): number[] => Array.from(readNumbers(x));

/** Asserts dtype, shape and values within `tol` relative to max(1, |expected|); NaN matches NaN. */
export function close(x: Tensor, dtype: DType, shape: number[], expected: ArrayLike<number>, tol = 1e-5): void {
  assert.is(x.dtype, dtype, 'dtype');
  assert.equal([...x.shape], shape, 'shape');
  const got = vals(x);
  assert.is(got.length, expected.length, 'element count');
  for (let i = 0; i < got.length; i++) {
    const e = expected[i], g = got[i];
    const ok = Number.isNaN(e) ? Number.isNaN(g) : e === g || Math.abs(g - e) <= tol * Math.max(1, Math.abs(e));
    if (!ok) assert.unreachable(`element ${i}: got ${g}, expected ${e}`);
  }
}

/** Asserts that `fn` throws an error whose message matches `re`. */
export function throwsLike(fn: () => unknown, re: RegExp): void {
  try {
    fn();
  } catch (e) {
    const msg = (e as Error).message;
    if (!re.test(msg)) assert.unreachable(`error message '${msg}' does not match ${re}`);
    return;
  }
  assert.unreachable(`expected an error matching ${re}`);
}

/** Asserts that `fn` throws an attribute error for `attribute` whose message matches `re`. */
export function attrErrorLike(fn: () => unknown, attribute: string, re: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.is((e as { attribute?: string }).attribute, attribute, 'attribute named by the error');
    if (!re.test((e as Error).message)) assert.unreachable(`error message '${(e as Error).message}' does not match ${re}`);
    return;
  }
  assert.unreachable(`expected an error for attribute '${attribute}'`);
}
