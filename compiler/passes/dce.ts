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
 */
import type { Node } from '../ir/graph.ts';
import type { Pass } from './pass.ts';

/** The dce pass. */
export const dcePass: Pass = {
  name: 'dce',
  summary: 'remove nodes whose results never reach a graph output, and unused constants',
  description:
    'Walks the graph backwards from its outputs. A node is kept when at least one of its outputs is '
    + 'read by a kept node or is a graph output; everything else is removed, as are constants that no '
    + 'kept node reads. Graph inputs stay even when unused. Unused outputs of kept nodes stay.',
  options: [],
  statistics: [
    { name: 'removed-nodes', help: 'nodes removed' },
    { name: 'removed-constants', help: 'constants removed' },
  ],
  run(graph, ctx) {
    const live = new Set<string>(graph.outputs);
    const keep: boolean[] = new Array(graph.nodes.length).fill(false);
    for (let i = graph.nodes.length - 1; i >= 0; i--) {
      const node = graph.nodes[i];
      if (!node.outputs.some((o) => o !== '' && live.has(o))) continue;
      keep[i] = true;
      for (const v of node.inputs) if (v) live.add(v);
    }
    const nodes: Node[] = graph.nodes.filter((_, i) => keep[i]);
    const constants = graph.constants.filter((c) => live.has(c.name));
    const removedNodes = graph.nodes.length - nodes.length;
    const removedConstants = graph.constants.length - constants.length;
    if (removedNodes === 0 && removedConstants === 0) return graph;
    ctx.stats.add('removed-nodes', removedNodes);
    ctx.stats.add('removed-constants', removedConstants);
    return { ...graph, nodes, constants };
  },
};
