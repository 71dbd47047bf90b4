/**
 * Run-time values: what a graph value holds when it runs. A tensor-typed value holds a Tensor; a
 * `seq<T>` value an array of tensors (possibly empty); an `opt<T>` value a Tensor or `null` (none); an
 * `opt<seq<T>>` value an array or `null`. The value's IR type (ir/graph.ts `TensorType.container`)
 * says which, so the representation needs no tag of its own.
 */
import type { TensorType } from './graph.ts';
import { formatType } from './graph.ts';
import { Tensor } from './tensor.ts';
import { KilnError } from '../errors.ts';

/** A sequence of tensors (ONNX `seq(tensor)`). */
export type TensorSequence = readonly Tensor[];

/** A run-time value: a tensor, a sequence of tensors, or an optional's none (`null`). */
export type Value = Tensor | TensorSequence | null;

/** True for a sequence value. */
export function isSequence(v: Value | undefined): v is TensorSequence {
  return Array.isArray(v);
}

/** A short description of a value for messages: `f32[2,3]`, `sequence of 3 tensors`, `none`. */
export function describeValue(v: Value | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'none';
  if (v instanceof Tensor) return `${v.dtype}[${v.shape.join(',')}]`;
  return `a sequence of ${v.length} tensor${v.length === 1 ? '' : 's'}`;
}

/**
 * Why a run-time value does not fit a type, or undefined when it does: the container (a sequence
 * for `seq`, a tensor or none for `opt`, ...), and each tensor's dtype and rank (unless the element
 * type is unranked). Sizes are not compared: symbols bind per value.
 */
export function valueProblem(v: Value | undefined, t: TensorType): string | undefined {
  const tensorProblem = (x: Tensor) => (x.dtype !== t.dtype || (!t.unranked && x.shape.length !== t.shape.length)
    ? `holds ${x.dtype}[${x.shape.join(',')}] where ${formatType(t)} is declared` : undefined);
  switch (t.container) {
    case undefined: return v instanceof Tensor ? tensorProblem(v) : `is ${describeValue(v)}, not a tensor`;
    case 'opt': return v === null ? undefined : v instanceof Tensor ? tensorProblem(v) : `is ${describeValue(v)}, not an optional tensor`;
    case 'opt-seq': if (v === null) return undefined; // falls through
    case 'seq': {
      if (!isSequence(v)) return `is ${describeValue(v)}, not a sequence`;
      for (const x of v) { const p = tensorProblem(x); if (p) return `element ${p}`; }
      return undefined;
    }
  }
}

/**
 * The values as tensors, for callers that handle tensors only: a sequence or optional among them is
 * an error naming its place (`names[k]`, e.g. the graph output).
 */
export function expectTensors(values: readonly Value[], names: readonly string[] = []): Tensor[] {
  return values.map((v, k) => {
    if (v instanceof Tensor) return v;
    throw new KilnError(`'${names[k] ?? `#${k}`}' is ${describeValue(v)}, where only tensors are handled`, names[k] ? { node: names[k] } : {});
  });
}
