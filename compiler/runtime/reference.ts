/**
 * The reference executor: runs a graph node by node with the ops' TypeScript reference kernels.
 *
 * It is the oracle every compiled backend is checked against (as a Backend: ref-backend.ts). Algorithm:
 * bind graph inputs (checked by inputs.ts `checkInputs`: dtype, rank, static dims and a consistent
 * binding of symbolic dims), bind constants, then execute
 * nodes in graph order; each intermediate is dropped right after its last use so peak memory stays
 * near the live set, whose bytes (with constants and inputs) are counted against the memory budget. Each kernel's outputs are checked against the node's declared dtype and rank, so
 * a kernel or pass bug surfaces at the node that caused it. Before each node runs, its outputs whose
 * types are static (symbols bound from the inputs) are checked against the memory budget
 * (ir/sizes.ts), so a too-large tensor is refused before it is allocated. Optional per-node timing hook.
 */
import type { Graph, Node, Dim } from '../ir/graph.ts';
import { nodeId } from '../ir/graph.ts';
import type { Tensor } from '../ir/tensor.ts';
import { KilnError, type ErrorPlace } from '../errors.ts';
import { checkTensorSize } from '../ir/sizes.ts';
import { byteSize } from '../ir/dtype.ts';
import { getOp } from '../ops/registry.ts';
import { nodeAttrs } from '../ops/infer.ts';
import { checkInputs } from './inputs.ts';

/** Options of a reference run. */
export interface ReferenceOptions {
  /** Called after each node with its wall time in milliseconds and its outputs. */
  onNode?: (node: Node, ms: number, outputs: readonly Tensor[]) => void;
}

/** Runs `graph` on `inputs` (by graph input name) and returns the outputs in `graph.outputs` order. */
export function runReference(graph: Graph, inputs: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>,
  opts: ReferenceOptions = {}): Tensor[] {
  const given = inputs instanceof Map ? inputs : new Map(Object.entries(inputs));
  const env = new Map<string, Tensor>();
  const symbols = checkInputs(graph, given as ReadonlyMap<string, Tensor>);
  for (const input of graph.inputs) env.set(input.name, given.get(input.name)!);
  for (const c of graph.constants) {
    if (!c.data) throw new KilnError(`constant '%${c.name}' has no data (IR text parsed without its weights)`, { node: c.name });
    env.set(c.name, c.data);
  }
  // bytes held: constants and inputs throughout, intermediates from their node to their last use
  let held = 0;
  for (const t of env.values()) held += tensorBytes(t);
  const lastUse = lastUses(graph);
  const keep = new Set(graph.outputs);
  const constants = new Set(graph.constants.map((c) => c.name));
  const clock = opts.onNode ? () => performance.now() : () => 0;
  graph.nodes.forEach((node, index) => {
    const id = nodeId(node);
    const def = getOp(node.op);
    const args = node.inputs.map((name) => {
      if (!name) return undefined;
      const t = env.get(name);
      if (!t) throw new KilnError(`input '%${name}' has no value`, { node: id, op: node.op });
      return t;
    });
    const attrs = nodeAttrs(def, node);
    checkOutputSizes(node, symbols, held);
    const t0 = clock();
    let outs: Tensor[];
    try {
      outs = def.run(args, attrs, node.outputs.length);
    } catch (e) {
      if (e instanceof KilnError) throw e.place.node ? e : withPlace(e, { node: id, op: node.op });
      // the cause stays attached: a TypeError or RangeError here is a kiln bug, not a model error
      throw Object.assign(new KilnError(`kernel failed: ${(e as Error).message}`, { node: id, op: node.op }), { cause: e });
    }
    const ms = clock() - t0;
    node.outputs.forEach((o, k) => {
      if (!o) return;
      const t = outs[k];
      if (!t) throw new KilnError(`kernel returned no output ${k}`, { node: id, op: node.op });
      const want = node.types[k];
      if (want && (t.dtype !== want.dtype || t.shape.length !== want.shape.length)) {
        throw new KilnError(`kernel output ${k} is ${t.dtype}[${t.shape.join(',')}] but the IR declares ${want.dtype}[${want.shape.join(',')}]`,
          { node: id, op: node.op });
      }
      if (!env.has(o)) held += tensorBytes(t);
      env.set(o, t);
    });
    opts.onNode?.(node, ms, outs);
    for (const name of node.inputs) {
      if (!name || lastUse.get(name) !== index || keep.has(name)) continue;
      const t = env.get(name);
      if (t && !constants.has(name) && !given.has(name)) held -= tensorBytes(t);
      env.delete(name);
    }
  });
  return graph.outputs.map((name) => {
    const t = env.get(name);
    if (!t) throw new KilnError(`graph output '%${name}' was not computed`, { node: name });
    return t;
  });
}

/** Index of the last node reading each value. */
function lastUses(graph: Graph): Map<string, number> {
  const m = new Map<string, number>();
  graph.nodes.forEach((n, i) => { for (const name of n.inputs) if (name) m.set(name, i); });
  return m;
}

/**
 * Refuses, before the kernel allocates anything, an output whose type is static once the input
 * symbols are bound and which, with the bytes the run already holds, is beyond the memory budget
 * (ir/sizes.ts). Outputs whose size depends on data (fresh symbols) are checked by their kernels.
 */
function checkOutputSizes(node: Node, symbols: ReadonlyMap<Dim, number>, held: number): void {
  node.outputs.forEach((o, k) => {
    const t = node.types[k];
    if (!o || !t) return;
    const shape = t.shape.map((d) => (typeof d === 'number' ? d : symbols.get(d)));
    if (!shape.every((d): d is number => d !== undefined)) return;
    const n = checkTensorSize({ value: o, node: nodeId(node), op: node.op, held }, t.dtype, shape);
    held += byteSize(t.dtype, n);
  });
}

/** Bytes of a tensor's storage as the budget counts them. */
function tensorBytes(t: Tensor): number {
  return byteSize(t.dtype, t.size);
}

/** The same error with a place added (a kernel's size refusal gets the node it happened at). */
function withPlace(e: KilnError, place: ErrorPlace): KilnError {
  const prefix = new KilnError('', e.place).message;
  const err = new (e.constructor as typeof KilnError)(e.message.slice(prefix.length), { ...e.place, ...place });
  return err;
}
