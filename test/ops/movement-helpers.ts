/**
 * Test helpers for the data-movement op families: look an OpDef up in a family list, run its
 * kernel with plain attribute values, run its shape rule with known input values and fresh symbols
 * named ?0, ?1, ... in order, and read results as plain numbers.
 */
import type { AttrValue, Dim, TensorType } from '../../compiler/ir/graph.ts';
import type { DType } from '../../compiler/ir/dtype.ts';
import { Tensor, i64Tensor, readNumbers } from '../../compiler/ir/tensor.ts';
import { AttrReader, type OpDef } from '../../compiler/ops/registry.ts';

/** Plain attribute values, converted by kind: integer -> int, non-integer -> float, etc. */
export type PlainAttrs = Record<string, number | string | number[] | string[] | Tensor | { float: number } | { floats: number[] }>;

function toAttr(v: PlainAttrs[string]): AttrValue {
  if (v instanceof Tensor) return { kind: 'tensor', value: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { kind: 'int', value: v } : { kind: 'float', value: v };
  if (typeof v === 'string') return { kind: 'string', value: v };
  if (Array.isArray(v)) return typeof v[0] === 'string' ? { kind: 'strings', value: v as string[] } : { kind: 'ints', value: v as number[] };
  if ('float' in v) return { kind: 'float', value: v.float };
  return { kind: 'floats', value: v.floats };
}

export function opFrom(list: readonly OpDef<any>[], name: string): OpDef<any> {
  const d = list.find((o) => o.name === name);
  if (!d) throw new Error(`no op ${name}`);
  return d;
}

function parse(def: OpDef<any>, attrs: PlainAttrs): unknown {
  const a: Record<string, AttrValue> = {};
  for (const [k, v] of Object.entries(attrs)) a[k] = toAttr(v);
  return def.parseAttrs(new AttrReader(a));
}

/** Runs a kernel. */
export function runOp(def: OpDef<any>, inputs: (Tensor | undefined)[], attrs: PlainAttrs = {}, outputs = 1): Tensor[] {
  return def.run(inputs, parse(def, attrs), outputs);
}

/** Runs a shape rule; `values[i]` is input i's compile-time value if known. */
export function inferOp(def: OpDef<any>, types: (TensorType | undefined)[], attrs: PlainAttrs = {},
  values: (Tensor | undefined)[] = [], outputs = 1): TensorType[] {
  let n = 0;
  return def.inferTypes(types, parse(def, attrs), { value: (i) => values[i], freshDim: () => `?${n++}` }, outputs);
}

/** A type literal. */
export function ty(dtype: DType, shape: Dim[]): TensorType {
  return { dtype, shape };
}

/** f32 tensor with values 0..n-1 (or given values). */
export function f32(shape: number[], values?: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return Tensor.fromNumbers('f32', shape, values ?? Array.from({ length: n }, (_, i) => i));
}

/** i64 tensor. */
export function i64(values: number[], shape: number[] = [values.length]): Tensor {
  return i64Tensor(values, shape);
}

/** Plain numbers of a tensor. */
export function nums(t: Tensor): number[] {
  return Array.from(readNumbers(t));
}

/** Numbers rounded to `digits` decimals (for float comparisons). */
export function approx(t: Tensor | number[], digits = 4): number[] {
  const v = t instanceof Tensor ? nums(t) : t;
  const f = 10 ** digits;
  return v.map((x) => Math.round(x * f) / f);
}
