/**
 * A test-only Backend that proves callers reach the registry: it runs the reference kernels (so its
 * results are right) but reports made-up kernels — one per pair of nodes, `kernelMs` each — and counts
 * what was asked of it. `unsupportedOps` are declared unsupported; `unavailable` makes `available()`
 * say no with that reason. Register it under a name no other test file uses.
 */
import type { Backend, Program } from '../../compiler/runtime/backend.ts';
import { nodeId } from '../../compiler/ir/graph.ts';
import { runReferenceValues } from '../../compiler/runtime/reference.ts';

/** What a fake backend was asked to do. */
export interface FakeCalls {
  prepared: number;
  runs: number;
  disposed: number;
  /** Threads asked for at each preparation. */
  threads: (number | undefined)[];
  /** Node count of the graph of each preparation. */
  nodes: number[];
}

/** Options of `fakeBackend`. */
export interface FakeOptions {
  readonly unsupportedOps?: readonly string[];
  readonly unavailable?: string;
  /** Milliseconds every made-up kernel reports (default 2). */
  readonly kernelMs?: number;
  /** Progress reports `prepare` makes through `onProgress`, in order. */
  readonly progress?: readonly (readonly [what: string, fraction: number])[];
  /** Adds one C source and one kernel IR artifact per made-up kernel (a pair of nodes). */
  readonly kernelArtifacts?: boolean;
}

/** A fake backend named `name` and the record of its calls. */
export function fakeBackend(name: string, opts: FakeOptions = {}): { backend: Backend; calls: FakeCalls } {
  const calls: FakeCalls = { prepared: 0, runs: 0, disposed: 0, threads: [], nodes: [] };
  const backend: Backend = {
    name,
    summary: `the ${name} test backend (reference kernels, made-up kernel times)`,
    available: async () => (opts.unavailable ? { ok: false, reason: opts.unavailable } : { ok: true }),
    unsupported: (graph) => graph.nodes.filter((n) => opts.unsupportedOps?.includes(n.op))
      .map((n) => ({ node: nodeId(n), op: n.op, reason: `${name} has no kernel for ${n.op}` })),
    async prepare(graph, _plan, prep = {}): Promise<Program> {
      calls.prepared++;
      calls.threads.push(prep.threads);
      calls.nodes.push(graph.nodes.length);
      const ids = graph.nodes.map(nodeId);
      for (const [what, fraction] of opts.progress ?? []) prep.onProgress?.(what, fraction);
      const pairs = opts.kernelArtifacts ? Array.from({ length: Math.ceil(ids.length / 2) }, (_, k) => ids.slice(2 * k, 2 * k + 2)) : [];
      return {
        backend: name, prepareMs: 42,
        artifacts: [
          { name: 'fake.txt', kind: 'source', content: `${graph.nodes.length} nodes`, nodes: ids },
          ...pairs.flatMap((nodes, k) => [
            { name: `pair${k}.c`, kind: 'source' as const, content: `void pair${k}(void) { /* ${nodes.join(' ')} */ }\n`, nodes },
            { name: `pair${k}.kir`, kind: 'ir' as const, content: `kernel @pair${k}() nodes=[${nodes.map((n) => `%${n}`).join(', ')}]\n`, nodes },
          ]),
        ],
        async run(inputs, runOpts = {}) {
          calls.runs++;
          const out = runReferenceValues(graph, inputs);
          for (let i = 0; i < ids.length; i += 2) {
            runOpts.onKernel?.({ kernel: `pair${i / 2}`, nodes: ids.slice(i, i + 2), ms: opts.kernelMs ?? 2 });
          }
          return out;
        },
        async dispose() {
          calls.disposed++;
        },
      };
    },
  };
  return { backend, calls };
}
