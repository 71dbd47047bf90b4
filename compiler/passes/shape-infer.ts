/**
 * shape-infer: re-runs type inference over the whole graph (ops/infer.ts `inferTypes`), optionally
 * after binding symbolic dims of the graph inputs to static sizes.
 *
 * inferTypes recomputes every node's output types in topological order through the ops' shape rules
 * and evaluates small shape arithmetic on the way (Shape/Size of static shapes, Gather/Concat/... of
 * known values feeding Reshape, Expand, ...), so dims that an importer or an earlier pass left
 * symbolic come out static whenever they can. Binding (`bind=[N:1]`) substitutes a symbol by its size
 * in every graph input type first (the rules of ops/bind-shapes.ts, which the CLI's --dim also uses),
 * then infers: the whole graph is specialised to that size.
 *
 * Statistics count the nodes whose output types changed and, among them, those whose outputs became
 * fully static. When no type changes, the very same Graph object is returned.
 */
import type { Graph, GraphInput, Node } from '../ir/graph.ts';
import { isStaticShape } from '../ir/graph.ts';
import { inferTypes } from '../ops/infer.ts';
import { bindInputTypes, resolveBindings } from '../ops/bind-shapes.ts';
import { KilnError } from '../errors.ts';
import type { Pass } from './pass.ts';

const NAME = 'shape-infer';

/**
 * Parses `bind` entries `SYMBOL:SIZE` or `SYMBOL=SIZE` (the `=` form must be quoted in pipeline
 * text) into a map; throws a KilnError naming the pass and the bad entry.
 */
export function parseBindings(entries: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of entries) {
    const match = /^\s*([^:=\s]+)\s*[:=]\s*(\d+)\s*$/.exec(e);
    if (!match) {
      throw new KilnError(`option 'bind': entry '${e}' is not SYMBOL:SIZE (e.g. N:1)`, { pass: NAME, attribute: 'bind' });
    }
    const [, sym, size] = match;
    const n = Number(size);
    if (m.has(sym) && m.get(sym) !== n) {
      throw new KilnError(`option 'bind': symbol '${sym}' is bound twice (${m.get(sym)} and ${n})`, { pass: NAME, attribute: 'bind' });
    }
    m.set(sym, n);
  }
  return m;
}

/** The graph inputs with symbols bound (ops/bind-shapes.ts rules); errors name the pass and option. */
function bindInputs(graph: Graph, bind: ReadonlyMap<string, number>): readonly GraphInput[] {
  try {
    resolveBindings(graph, { dims: Object.fromEntries(bind) });
  } catch (e) {
    if (e instanceof KilnError) throw new KilnError(`option 'bind': ${e.message}`, { pass: NAME, attribute: 'bind' });
    throw e;
  }
  return bindInputTypes(graph, bind);
}

const allStatic = (n: Node) => n.types.every((t, k) => n.outputs[k] === '' || isStaticShape(t.shape));

/** The shape-infer pass. */
export const shapeInferPass: Pass = {
  name: NAME,
  summary: 'recompute every type (static and symbolic dims); optionally bind symbols to sizes',
  description:
    'Re-runs the ops\' shape rules over the graph in order, folding small shape arithmetic '
    + '(Shape, Size, Gather/Concat/... of known values) so that Reshape and friends get static '
    + 'dims wherever the sizes are known at compile time; other sizes stay symbolic. With '
    + 'bind=[N:1,S:128] the named symbols of the graph inputs are first replaced by those sizes, '
    + 'specialising the whole graph. Node values, constants and provenance are untouched.',
  options: [
    { name: 'bind', type: 'strings', default: [], help: 'symbol bindings SYMBOL:SIZE applied to the graph inputs, e.g. [N:1]' },
  ],
  statistics: [
    { name: 'changed-nodes', help: 'nodes whose output types changed' },
    { name: 'now-static', help: 'nodes whose outputs became fully static' },
    { name: 'bound-symbols', help: 'symbols bound by the bind option' },
  ],
  run(graph, ctx) {
    const bindOpt = ctx.options.bind ?? [];
    if (!Array.isArray(bindOpt)) throw new KilnError(`option 'bind' must be a list`, { pass: NAME, attribute: 'bind' });
    const bind = parseBindings(bindOpt as readonly string[]);
    const inputs = bind.size ? bindInputs(graph, bind) : graph.inputs;
    const inputsChanged = inputs.some((i, k) => i !== graph.inputs[k]);
    const inferred = inferTypes(inputsChanged ? { ...graph, inputs } : graph);
    let changed = 0, nowStatic = 0;
    inferred.nodes.forEach((n, k) => {
      const before = graph.nodes[k];
      if (n === before) return;
      changed++;
      if (allStatic(n) && !allStatic(before)) nowStatic++;
    });
    if (!changed && !inputsChanged) return graph;
    ctx.stats.add('changed-nodes', changed);
    ctx.stats.add('now-static', nowStatic);
    ctx.stats.add('bound-symbols', bind.size);
    return inferred;
  },
};
