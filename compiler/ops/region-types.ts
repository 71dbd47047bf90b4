/**
 * The declared types of a region's results, for rules and kernels that read them without running
 * inference (inference itself, ops/infer.ts, types regions through `ShapeContext.region`).
 */
import type { Graph, TensorType } from '../ir/graph.ts';
import { valueTypes } from '../ir/graph.ts';
import { KilnError } from '../errors.ts';

/**
 * The types of a region's results: each result's type where the region (or, through `outer`, an
 * enclosing scope) defines it; an error for a result defined nowhere.
 */
export function regionResultTypes(region: Graph, outer: ReadonlyMap<string, TensorType> = new Map()): TensorType[] {
  const inner = valueTypes(region);
  return region.outputs.map((o) => {
    const t = inner.get(o) ?? outer.get(o);
    if (!t) throw new KilnError(`region '@${region.name}' returns '%${o}', which is not defined`);
    return t;
  });
}

/** The type of a region's result k where the region defines it (undefined for an outer value). */
export function regionResultType(region: Graph, k: number): TensorType | undefined {
  return valueTypes(region).get(region.outputs[k]);
}
