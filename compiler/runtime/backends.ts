/**
 * The explicit list of kiln's execution backends: importing this file registers each of them, once,
 * in the registry of backend.ts, in the order listings show them (the reference executor first). A
 * new backend adds one import and one entry to `BACKENDS`; nothing else in kiln names a backend.
 * Everything that runs a graph (`kiln run`, `kiln conformance`, the Session, the `run`/`timings`
 * commands, `npm run bench`) finds its backend through `useBackend` here.
 */
import { type Backend, backendNames, findBackend, registerBackend } from './backend.ts';
import { refBackend } from './ref-backend.ts';
import { arenaBackend } from './arena.ts';
import { cpuBackend } from './cpu/index.ts';
import { webgpuBackend } from './webgpu/index.ts';
import { cudaBackend } from './cuda/index.ts';
import { KilnError } from '../errors.ts';
import type { Graph } from '../ir/graph.ts';

export { backendNames, findBackend, registerBackend } from './backend.ts';
export type { Backend, Program, Unsupported, KernelEvent, RunOptions, PrepareOptions, Artifact } from './backend.ts';

/** Every backend kiln ships, in listing order. */
const BACKENDS: readonly Backend[] = [refBackend, arenaBackend, cpuBackend, webgpuBackend, cudaBackend];

/** The backend used when none is named: the first of the list, the reference executor. */
export const DEFAULT_BACKEND = BACKENDS[0].name;

// registered once even if this module is reached through two specifiers
for (const b of BACKENDS) if (!findBackend(b.name)) registerBackend(b);

/**
 * Throws when `backend` cannot run all of `graph`: one KilnError saying how many nodes of `what` it
 * cannot run and the first one's reason, placed at that node (and `file` when given).
 */
export function requireSupported(backend: Backend, graph: Graph, what: string, file?: string): void {
  const unsupported = backend.unsupported(graph);
  if (!unsupported.length) return;
  const u = unsupported[0];
  throw new KilnError(`backend ${backend.name} cannot run ${unsupported.length} node${unsupported.length === 1 ? '' : 's'} of ${what}; first: ${u.reason}`,
    { ...(file !== undefined ? { file } : {}), ...(u.node !== undefined ? { node: u.node } : {}), ...(u.op !== undefined ? { op: u.op } : {}) });
}

/** Options of `useBackend`. */
export interface UseBackendOptions {
  /**
   * Receives the one message said when the named backend cannot run here and the reference backend
   * runs instead (the shells print it; compiler/ never prints).
   */
  readonly onWarning?: (message: string) => void;
  /** False: a backend that cannot run here is an error instead of the reference backend (default true). */
  readonly substitute?: boolean;
}

/**
 * The backend named `name`, checked to be able to run here: an unknown name is a KilnError listing the
 * backends. One that cannot run here (no C compiler, no GPU) is replaced by the reference backend,
 * with its reason and "running on the reference backend" sent to `onWarning` — the one place kiln
 * falls back from an unavailable backend; with `substitute: false` it is a KilnError with the reason.
 */
export async function useBackend(name: string = DEFAULT_BACKEND, opts: UseBackendOptions = {}): Promise<Backend> {
  const b = findBackend(name);
  if (!b) throw new KilnError(`unknown backend '${name}'; backends: ${backendNames().join(', ')}`);
  const a = await b.available();
  if (a.ok) return b;
  if (opts.substitute === false || name === DEFAULT_BACKEND) throw new KilnError(`backend '${name}' cannot run here: ${a.reason}`);
  opts.onWarning?.(`${a.reason}; running on the reference backend`);
  return findBackend(DEFAULT_BACKEND)!;
}
