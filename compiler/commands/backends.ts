/**
 * Execution backends of the `run` command. The reference executor is built in; a compiled backend
 * (CPU, CUDA, WebGPU) adds itself with `registerRunBackend` when it lands, and then `run --backend
 * NAME` (and its completion) offers it in the notebook and the REPL alike, with no change to the
 * command. A backend prepares a graph once (compiling it) and returns a function that runs it; `run`
 * times only those calls, so compile time is reported apart from run time.
 */
import type { Graph } from '../ir/graph.ts';
import type { Tensor } from '../ir/tensor.ts';
import { runReference } from '../runtime/reference.ts';
import type { CommandContext } from './command.ts';

/** Runs a prepared graph on inputs (by graph input name), outputs in `graph.outputs` order. */
export type PreparedRun = (inputs: ReadonlyMap<string, Tensor>) => Tensor[] | Promise<Tensor[]>;

/** One backend `run` can use. */
export interface RunBackend {
  readonly name: string;
  readonly summary: string;
  /** Compiles or otherwise prepares `graph`; may report progress through `ctx`. */
  prepare(graph: Graph, ctx: CommandContext): PreparedRun | Promise<PreparedRun>;
}

const backends = new Map<string, RunBackend>();

/** Adds a backend; a duplicate name throws. */
export function registerRunBackend(b: RunBackend): void {
  if (backends.has(b.name)) throw new Error(`run backend '${b.name}' is already registered`);
  backends.set(b.name, b);
}

/** The backend named `name`, or undefined. */
export function findRunBackend(name: string): RunBackend | undefined {
  return backends.get(name);
}

/** Names of the backends, the reference executor first. */
export function runBackendNames(): string[] {
  return [...backends.keys()];
}

registerRunBackend({
  name: 'ref',
  summary: 'the reference executor (TypeScript kernels, node by node)',
  prepare: (graph) => (inputs) => runReference(graph, inputs),
});
