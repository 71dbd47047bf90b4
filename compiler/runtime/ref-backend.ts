/**
 * The reference executor as a Backend (`ref`): the ops' TypeScript kernels run node by node
 * (reference.ts). It is the oracle the other backends are checked against and the default backend.
 *
 * unsupported: a node whose op has no reference kernel, or that reads or writes a dtype its op
 * declares unsupported (`OpDef.unsupportedDTypes`). prepare: nothing to compile; the program runs
 * `runReference`, and with `onKernel` reports one kernel per node (kernel name and nodes = the node's
 * id) from the executor's per-node hook. No artifacts.
 */
import type { Graph } from '../ir/graph.ts';
import { nodeId, valueTypes } from '../ir/graph.ts';
import { findOp } from '../ops/registry.ts';
import { KilnError } from '../errors.ts';
import type { Backend, Program, Unsupported } from './backend.ts';
import { runReferenceValues } from './reference.ts';

/** Nodes of `graph` the reference kernels cannot run, in graph order, with reasons. */
export function referenceUnsupported(graph: Graph): Unsupported[] {
  const types = valueTypes(graph);
  const out: Unsupported[] = [];
  for (const node of graph.nodes) {
    const def = findOp(node.op);
    if (!def) {
      out.push({ node: nodeId(node), op: node.op, reason: `op ${node.op} has no reference kernel` });
      continue;
    }
    const bad = def.unsupportedDTypes;
    if (!bad?.length) continue;
    const used = [...node.inputs, ...node.outputs].filter(Boolean).map((v) => types.get(v)?.dtype);
    const hit = used.find((d) => d !== undefined && bad.includes(d));
    if (hit) out.push({ node: nodeId(node), op: node.op, reason: `op ${node.op} does not support ${hit}` });
  }
  return out;
}

/** The reference executor backend. */
export const refBackend: Backend = {
  name: 'ref',
  summary: 'the reference executor (TypeScript kernels, node by node)',
  available: async () => ({ ok: true }),
  unsupported: referenceUnsupported,
  async prepare(graph): Promise<Program> {
    const t0 = performance.now();
    let disposed = false;
    return {
      backend: 'ref',
      prepareMs: performance.now() - t0, // nothing to compile: the time to make the closure
      artifacts: [],
      async run(inputs, opts = {}) {
        if (disposed) throw new KilnError(`the ref program of graph '${graph.name}' was disposed`);
        const { onKernel, signal } = opts;
        signal?.throwIfAborted();
        if (!onKernel && !signal) return runReferenceValues(graph, inputs);
        return runReferenceValues(graph, inputs, {
          onNode: (node, ms) => {
            const id = nodeId(node);
            onKernel?.({ kernel: id, nodes: [id], ms });
            signal?.throwIfAborted();
          },
        });
      },
      async dispose() {
        disposed = true;
      },
    };
  },
};
