/** Helpers of the arena executor tests. */
import type { Graph } from '../../compiler/ir/graph.ts';
import { type Tensor, tensorHash } from '../../compiler/ir/tensor.ts';
import { inferTypes } from '../../compiler/ops/infer.ts';

/** Bytes of a tensor's storage (numbers only; `str` tensors have none). */
export function bytesOf(t: Tensor): Uint8Array {
  const d = t.data as Uint8Array;
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** True when both tensors have the same dtype, shape and storage bits (NaN payloads included). */
export function sameBits(a: Tensor, b: Tensor): boolean {
  if (a.dtype !== b.dtype || a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) return false;
  if (a.dtype === 'str') return (a.data as string[]).every((s, i) => s === (b.data as string[])[i]);
  return Buffer.compare(bytesOf(a), bytesOf(b)) === 0;
}

/**
 * `graph` with the inputs `names` turned into constants holding `inputs`' values and types re-inferred,
 * so sizes that depend on those values (a Range limit, a Resize's sizes input) become concrete: how a
 * caller binds data-dependent sizes before planning. Returns the graph and the inputs still to pass.
 */
export function specializeInputs(graph: Graph, inputs: ReadonlyMap<string, Tensor>, names: ReadonlySet<string>):
  { graph: Graph; inputs: Map<string, Tensor> } {
  const constants = graph.inputs.filter((i) => names.has(i.name)).map((i) => {
    const data = inputs.get(i.name)!;
    return { name: i.name, type: { dtype: data.dtype, shape: [...data.shape] }, hash: tensorHash(data), data };
  });
  const g = inferTypes({ ...graph, inputs: graph.inputs.filter((i) => !names.has(i.name)), constants: [...graph.constants, ...constants] });
  return { graph: g, inputs: new Map([...inputs].filter(([k]) => !names.has(k))) };
}
