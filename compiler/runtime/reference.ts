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
 *
 * Values are tensors, sequences or optionals (ir/value.ts). Ops with a value kernel (`runValues`:
 * sequence and optional ops, If/Loop/Scan) get a context that runs their regions: a region runs as a
 * nested scope whose nodes also see the enclosing scopes' values, and a value read inside a region is
 * kept alive until the node owning the region has run. `referenceRegionContext` runs the regions of one
 * node the same way for a compiled program's host step (runtime/fallback.ts).
 */
import type { Graph, Node, Dim } from '../ir/graph.ts';
import { capturedValues, nodeId, regionsOf } from '../ir/graph.ts';
import { Tensor } from '../ir/tensor.ts';
import { type Value, describeValue, isSequence, valueProblem } from '../ir/value.ts';
import { printType } from '../ir/print.ts';
import { KilnError, type ErrorPlace } from '../errors.ts';
import { checkTensorSize } from '../ir/sizes.ts';
import { byteSize } from '../ir/dtype.ts';
import { getOp, type RunContext } from '../ops/registry.ts';
import { nodeAttrs } from '../ops/infer.ts';
import { checkInputs } from './inputs.ts';

/** Options of a reference run. */
export interface ReferenceOptions {
  /** Called after each node with its wall time in milliseconds and its outputs (not for nodes inside regions). */
  onNode?: (node: Node, ms: number, outputs: readonly Value[]) => void;
}

/**
 * Runs a graph whose inputs and outputs are all tensors on `inputs` (by graph input name) and returns
 * the outputs in `graph.outputs` order. Graphs with sequence or optional inputs or outputs run through
 * `runReferenceValues`.
 */
export function runReference(graph: Graph, inputs: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>,
  opts: ReferenceOptions = {}): Tensor[] {
  const given = inputs instanceof Map ? inputs : new Map(Object.entries(inputs));
  return runReferenceValues(graph, given as ReadonlyMap<string, Value>, opts).map((v, k) => {
    if (v instanceof Tensor) return v;
    throw new KilnError(`graph output '%${graph.outputs[k]}' is ${describeValue(v)}, not a tensor (run it with runReferenceValues)`, { node: graph.outputs[k] });
  });
}

/** Runs `graph` on values (tensors, sequences, optionals) by graph input name; outputs in order. */
export function runReferenceValues(graph: Graph, given: ReadonlyMap<string, Value>, opts: ReferenceOptions = {}): Value[] {
  const symbols = checkInputs(graph, given);
  const env = new Map<string, Value>();
  for (const input of graph.inputs) env.set(input.name, given.get(input.name)!);
  const budget = { held: 0 };
  for (const t of env.values()) budget.held += valueBytes(t);
  return runScope(graph, env, undefined, symbols, budget, opts);
}

/** Bytes the run holds (constants, inputs, live intermediates), shared by a graph and its regions. */
interface Budget { held: number }

/**
 * Runs one graph or region: `env` holds its bound inputs, `outer` the values of the enclosing scopes
 * (read-only here). Constants are bound, then nodes run in order; each value this scope defines is
 * dropped after its last use (a use inside a node's region counts as a use by that node).
 */
function runScope(graph: Graph, env: Map<string, Value>, outer: ((name: string) => Value | undefined) | undefined,
  symbols: ReadonlyMap<Dim, number>, budget: Budget, opts: ReferenceOptions): Value[] {
  const inputs = new Set(env.keys());
  for (const c of graph.constants) {
    if (!c.data) throw new KilnError(`constant '%${c.name}' has no data (IR text parsed without its weights)`, { node: c.name });
    env.set(c.name, c.data);
    budget.held += tensorBytes(c.data);
  }
  const lookup = (name: string): Value | undefined => (env.has(name) ? env.get(name) : outer?.(name));
  const lastUse = lastUses(graph);
  const keep = new Set(graph.outputs);
  const constants = new Set(graph.constants.map((c) => c.name));
  const clock = opts.onNode ? () => performance.now() : () => 0;
  const regionCtx = scopeContext(lookup, symbols, budget);
  graph.nodes.forEach((node, index) => {
    const id = nodeId(node);
    const def = getOp(node.op);
    const args = node.inputs.map((name) => {
      if (!name) return undefined;
      const v = lookup(name);
      if (v === undefined) throw new KilnError(`input '%${name}' has no value`, { node: id, op: node.op });
      return v;
    });
    const attrs = nodeAttrs(def, node);
    checkOutputSizes(node, symbols, budget.held);
    const t0 = clock();
    let outs: Value[];
    try {
      if (def.runValues) outs = def.runValues(args, attrs, node.outputs.length, regionCtx);
      else {
        args.forEach((v, k) => {
          if (v !== undefined && !(v instanceof Tensor)) throw new KilnError(`input ${k} '%${node.inputs[k]}' is ${describeValue(v)}; op ${node.op} takes tensors`, { node: id, op: node.op });
        });
        outs = def.run(args as (Tensor | undefined)[], attrs, node.outputs.length);
      }
    } catch (e) {
      if (e instanceof KilnError) throw e.place.node ? e : withPlace(e, { node: id, op: node.op });
      // the cause stays attached: a TypeError or RangeError here is a kiln bug, not a model error
      throw Object.assign(new KilnError(`kernel failed: ${(e as Error).message}`, { node: id, op: node.op }), { cause: e });
    }
    const ms = clock() - t0;
    node.outputs.forEach((o, k) => {
      if (!o) return;
      const v = outs[k];
      if (v === undefined) throw new KilnError(`kernel returned no output ${k}`, { node: id, op: node.op });
      const want = node.types[k];
      const problem = want && valueProblem(v, want);
      if (problem) {
        const got = v instanceof Tensor ? `${v.dtype}[${v.shape.join(',')}]` : describeValue(v);
        throw new KilnError(`kernel output ${k} is ${got} but the IR declares ${printType(want)}`, { node: id, op: node.op });
      }
      if (!env.has(o)) budget.held += valueBytes(v);
      env.set(o, v);
    });
    opts.onNode?.(node, ms, outs);
    for (const name of lastUse.readBy(node)) {
      if (lastUse.at.get(name) !== index || keep.has(name) || !env.has(name)) continue;
      const v = env.get(name);
      if (!constants.has(name) && !inputs.has(name)) budget.held -= valueBytes(v);
      env.delete(name);
    }
  });
  const results = graph.outputs.map((name) => {
    const v = lookup(name);
    if (v === undefined) throw new KilnError(`graph output '%${name}' was not computed`, { node: name });
    return v;
  });
  for (const c of graph.constants) budget.held -= tensorBytes(c.data!);
  return results;
}

/** The RunContext of a node whose regions run as nested scopes over `outer` (the enclosing values). */
function scopeContext(outer: (name: string) => Value | undefined, symbols: ReadonlyMap<Dim, number>, budget: Budget): RunContext {
  return {
    runRegion: (region, args) => {
      if (args.length !== region.inputs.length) {
        throw new KilnError(`region '@${region.name}' takes ${region.inputs.length} arguments but is given ${args.length}`);
      }
      const inner = new Map<string, Value>(region.inputs.map((a, k) => [a.name, args[k]]));
      // a region's nodes report to nobody: the owning node's time includes them
      return runScope(region, inner, outer, symbols, budget, {});
    },
  };
}

/**
 * A RunContext that runs a node's regions on the reference kernels, each value they read from the
 * enclosing scopes taken from `outer` (a compiled program's buffers: runtime/fallback.ts). What the
 * region bodies hold is counted against the memory budget from zero.
 */
export function referenceRegionContext(outer: (name: string) => Value | undefined): RunContext {
  return scopeContext(outer, new Map(), { held: 0 });
}

/** Index of the last node reading each value (reads inside a node's regions count as that node's). */
function lastUses(graph: Graph): { at: Map<string, number>; readBy: (node: Node) => string[] } {
  const reads = new Map<Node, string[]>();
  const at = new Map<string, number>();
  graph.nodes.forEach((n, i) => {
    const names = [...n.inputs.filter(Boolean), ...regionsOf(n).flatMap(([, g]) => capturedValues(g))];
    reads.set(n, names);
    for (const name of names) at.set(name, i);
  });
  return { at, readBy: (node) => reads.get(node) ?? [] };
}

/**
 * Refuses, before the kernel allocates anything, an output whose type is static once the input
 * symbols are bound and which, with the bytes the run already holds, is beyond the memory budget
 * (ir/sizes.ts). Outputs whose size depends on data (fresh symbols) are checked by their kernels.
 */
function checkOutputSizes(node: Node, symbols: ReadonlyMap<Dim, number>, held: number): void {
  node.outputs.forEach((o, k) => {
    const t = node.types[k];
    if (!o || !t || t.container) return; // a sequence's elements are sized by their kernels
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

/** Bytes of a value: a tensor's, the sum over a sequence's tensors, none for none. */
function valueBytes(v: Value | undefined): number {
  if (v instanceof Tensor) return tensorBytes(v);
  return isSequence(v) ? v.reduce((s, t) => s + tensorBytes(t), 0) : 0;
}

/** The same error with a place added (a kernel's size refusal gets the node it happened at). */
function withPlace(e: KilnError, place: ErrorPlace): KilnError {
  const prefix = new KilnError('', e.place).message;
  const err = new (e.constructor as typeof KilnError)(e.message.slice(prefix.length), { ...e.place, ...place });
  return err;
}
