/**
 * Binding shape arguments to their values: the specialisation a compiler needs when a graph input is
 * not data but a *shape argument* (Reshape's `shape`, Expand's `shape`, Tile's `repeats`, the `axes` of
 * a reduction, Slice's `starts`/`ends`, TopK's `K`, Resize's `scales`/`sizes`, a window length...).
 * Binding the input sizes (bind-shapes.ts) cannot make such a graph static: its intermediate sizes
 * depend on the *values* of those inputs. When the caller has the values (a run's inputs), the graph
 * is specialised to them: each such input becomes a constant holding the given tensor, and type
 * inference (infer.ts, which folds small known values through shape arithmetic) makes every size
 * concrete. The result is exactly as valid as the values: a program compiled from it computes the
 * graph for those shape arguments only, which is why the inputs leave the graph (a run that gives
 * them again is refused by the input check rather than silently ignored).
 *
 * Algorithm of `bindValues`. Nothing happens when every value's size is already concrete, or when
 * some input size is still symbolic. Otherwise the candidates are the inputs small enough to be shape
 * arguments (at most MAX_ARGUMENT_ELEMENTS elements, not strings); with all of them as constants the
 * graph must become static (or nothing is bound: the remaining dims are truly data-dependent, such
 * as NonZero's count). The set is then made minimal: each candidate in turn is given back to the
 * inputs when the graph stays static without it, so data inputs (indices, small tensors) stay inputs.
 * One type inference per candidate; graphs that need none of this pay one check of their value types.
 */
import type { Graph } from '../ir/graph.ts';
import { valueTypes } from '../ir/graph.ts';
import type { Tensor } from '../ir/tensor.ts';
import { lazyConstant } from '../ir/lazy-weights.ts';
import { KilnError } from '../errors.ts';
import { inferTypes } from './infer.ts';

/** Largest graph input (in elements) treated as a possible shape argument. */
export const MAX_ARGUMENT_ELEMENTS = 64;

/** A graph specialised to the values of its shape arguments. */
export interface BoundValues {
  /** The specialised graph (the same graph when nothing was bound). */
  readonly graph: Graph;
  /** The graph inputs that became constants, in graph input order. */
  readonly bound: readonly string[];
}

/** True when some value of the graph (input, constant or node output) has a symbolic dim. */
export function hasSymbolicValues(graph: Graph): boolean {
  for (const t of valueTypes(graph).values()) if (t.shape.some((d) => typeof d === 'string')) return true;
  return false;
}

/** The graph with the inputs in `names` turned into constants holding `values`, re-inferred. */
function withConstants(graph: Graph, names: ReadonlySet<string>, values: ReadonlyMap<string, Tensor>, file?: string): Graph {
  const inputs = graph.inputs.filter((i) => !names.has(i.name));
  const constants = [...graph.constants, ...graph.inputs.filter((i) => names.has(i.name)).map((i) => lazyConstant(i.name, values.get(i.name)!))];
  return inferTypes({ ...graph, inputs, constants }, { file });
}

/**
 * Specialises `graph` to the values of the inputs whose values decide its sizes (module header).
 * `values` holds a tensor per graph input (already checked against the input types).
 */
export function bindValues(graph: Graph, values: ReadonlyMap<string, Tensor>, opts: { file?: string } = {}): BoundValues {
  const same: BoundValues = { graph, bound: [] };
  if (!hasSymbolicValues(graph)) return same;
  if (graph.inputs.some((i) => i.type.shape.some((d) => typeof d === 'string'))) return same;
  const candidates = graph.inputs.filter((i) => {
    const t = values.get(i.name);
    return t && t.dtype !== 'str' && t.data.length <= MAX_ARGUMENT_ELEMENTS;
  }).map((i) => i.name);
  if (!candidates.length) return same;
  const attempt = (names: ReadonlySet<string>): Graph | undefined => {
    try {
      const g = withConstants(graph, names, values, opts.file);
      return hasSymbolicValues(g) ? undefined : g;
    } catch (e) {
      // values a shape rule rejects are the run's business (it reports them at their node)
      if (e instanceof KilnError) return undefined;
      throw e;
    }
  };
  const chosen = new Set(candidates);
  let best = attempt(chosen);
  if (!best) return same;
  for (const name of candidates) {
    chosen.delete(name);
    const g = attempt(chosen);
    if (g) best = g; else chosen.add(name);
  }
  return { graph: best, bound: graph.inputs.map((i) => i.name).filter((n) => chosen.has(n)) };
}
