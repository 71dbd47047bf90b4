/**
 * dce: dead code elimination. Removes every node none of whose outputs reaches a graph output, and
 * every constant nothing live reads.
 *
 * Algorithm: one backward walk over the nodes (they are in topological order). The live set starts
 * as the graph outputs; a node is live when any of its outputs is live, and then its inputs become
 * live. Constants are kept when live. Graph inputs are never removed (they are the signature), and a
 * live node keeps all its outputs, even unused ones. Every op is treated as free of side effects (a
 * dead random op is removed as well). Kept nodes are the same objects, so provenance and types are
 * untouched.
 *
 * Regions: every region body is cleaned first (the same walk, its results as the live set, its block
 * arguments kept), then the enclosing graph, where a live node keeps alive everything its regions
 * read from outside (ir/graph.ts `readsOf`), so a value used only inside a branch or body stays.
 */
import type { Graph, Node } from '../ir/graph.ts';
import { readsOf } from '../ir/graph.ts';
import { mapRegions } from './graph-edit.ts';
import type { Pass, PassContext } from './pass.ts';

/** DCE of one graph or region, its regions first. */
function dceScope(scope: Graph, ctx: PassContext): Graph {
  const graph = mapRegions(scope, (r) => dceScope(r, ctx));
  const live = new Set<string>(graph.outputs);
  const keep: boolean[] = new Array(graph.nodes.length).fill(false);
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const node = graph.nodes[i];
    if (!node.outputs.some((o) => o !== '' && live.has(o))) continue;
    keep[i] = true;
    for (const v of readsOf(node)) live.add(v);
  }
  const nodes: Node[] = graph.nodes.filter((_, i) => keep[i]);
  const constants = graph.constants.filter((c) => live.has(c.name));
  const removedNodes = graph.nodes.length - nodes.length;
  const removedConstants = graph.constants.length - constants.length;
  if (removedNodes === 0 && removedConstants === 0) return graph;
  ctx.stats.add('removed-nodes', removedNodes);
  ctx.stats.add('removed-constants', removedConstants);
  return { ...graph, nodes, constants };
}

/** The dce pass. */
export const dcePass: Pass = {
  name: 'dce',
  summary: 'remove nodes whose results never reach a graph output, and unused constants',
  description:
    'Walks the graph backwards from its outputs. A node is kept when at least one of its outputs is '
    + 'read by a kept node or is a graph output; everything else is removed, as are constants that no '
    + 'kept node reads. Graph inputs stay even when unused. Unused outputs of kept nodes stay. Region '
    + 'bodies are cleaned too; a value read inside a region is used by the node owning it.',
  options: [],
  statistics: [
    { name: 'removed-nodes', help: 'nodes removed' },
    { name: 'removed-constants', help: 'constants removed' },
  ],
  run: dceScope,
};
