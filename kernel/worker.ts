/**
 * The cell worker: a worker thread that owns the kernel's CellRuntime and runs cells for the main
 * thread (kernel/worker-client.ts), which keeps the sockets. Messages in: run (a cell and its
 * user_expressions), interrupt, complete, inspect, input-reply, transform-reply; out: ready, stream,
 * display, clear, input, transform, done, reply.
 *
 * This thread starts no child process (a restart that terminates it could not reap one): TypeScript is
 * compiled by the main thread's esbuild through `transform` messages. A cell's value is sent as
 * `resultBundle` (strings quoted, as a REPL shows them); its user expressions are evaluated after it,
 * each on its own, in the same run, so an interrupt stops them as it stops the cell.
 *
 * Output is posted on the same port as `done`, so it arrives before the cell's reply: `console` is
 * replaced by the runtime, and `process.stdout/stderr.write` are redirected here. Values are turned into
 * MIME bundles in this thread (kiln objects do not cross threads). An `interrupt` for the running cell
 * aborts its signal (commands stop between steps) and reports the cell as interrupted at once if the
 * thread is free (the cell was awaiting); a cell stuck in synchronous code is stopped by the client
 * through the inspector (Runtime.terminateExecution), after which this handler runs and reports it.
 * Exceptions thrown later by background callbacks of earlier cells are written to stderr, never fatal.
 */
import { parentPort } from 'node:worker_threads';
import { inspect } from 'node:util';
import '../compiler/commands/all.ts';
import { CellRuntime, type RuntimeHost } from './executor.ts';
import { complete, inspectAt } from './introspect.ts';
import { mimeBundle, progressBundle, rawBundle, resultBundle } from './mime.ts';
import type { TsTransform } from './transform.ts';
import type { ToWorker, FromWorker, UserExpressions, UserExpressionResult } from './worker-client.ts';

const port = parentPort!;
const post = (m: FromWorker): void => { port.postMessage(m); };

/** The request whose output we are producing (late output of an interrupted cell goes to the latest). */
let currentId = 0;
/** The running cell: settled once, by its end or by an interrupt. */
let running: { id: number; settled: boolean } | undefined;
let inputCounter = 0;
const pendingInputs = new Map<number, { resolve: (v: string) => void; reject: (e: Error) => void }>();
const pendingTransforms = new Map<number, { resolve: (v: { code: string; map: string }) => void; reject: (e: Error) => void }>();
let transformCounter = 0;
let bar: { runId: number; displayId: string; last: number } | undefined;
let barCounter = 0;

const host: RuntimeHost = {
  stream: (name, text) => post({ type: 'stream', id: currentId, name, text }),
  display: (obj, { id, update, raw }) => post({ type: 'display', id: currentId, data: raw ? rawBundle(obj) : mimeBundle(obj), displayId: id, update }),
  clear: (wait) => post({ type: 'clear', id: currentId, wait }),
  progress: (label, fraction) => {
    const now = Date.now();
    const fresh = !bar || bar.runId !== currentId;
    if (!fresh && fraction !== undefined && fraction < 1 && now - bar!.last < 100) return; // at most 10 updates a second
    if (fresh) bar = { runId: currentId, displayId: `kiln-progress-${++barCounter}`, last: now };
    bar!.last = now;
    post({ type: 'display', id: currentId, data: progressBundle(label, fraction), displayId: bar!.displayId, update: !fresh });
  },
  input: (prompt, password) => new Promise<string>((resolve, reject) => {
    const reqId = ++inputCounter;
    pendingInputs.set(reqId, { resolve, reject });
    post({ type: 'input', id: currentId, reqId, prompt, password });
  }),
};

for (const name of ['stdout', 'stderr'] as const) {
  const stream = process[name];
  stream.write = ((chunk: string | Uint8Array, enc?: unknown, cb?: unknown) => {
    host.stream(name, typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const done = typeof enc === 'function' ? enc : cb;
    if (typeof done === 'function') queueMicrotask(() => (done as () => void)());
    return true;
  }) as typeof stream.write;
}
process.on('uncaughtException', (e) => host.stream('stderr', `Uncaught ${inspect(e)}\n`));
process.on('unhandledRejection', (e) => host.stream('stderr', `Unhandled promise rejection: ${inspect(e)}\n`));

/** Compiles through the main thread (see the module comment). */
const transform: TsTransform = (source, filename) => new Promise((resolve, reject) => {
  const reqId = ++transformCounter;
  pendingTransforms.set(reqId, { resolve, reject });
  post({ type: 'transform', reqId, source, filename });
});

let runtime: CellRuntime;
try {
  runtime = new CellRuntime(host, { transform });
  post({ type: 'ready' });
} catch (e) {
  post({ type: 'boot-error', message: (e as Error)?.stack ?? String(e) });
  throw e;
}

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'run': {
      currentId = m.id;
      const cell = { id: m.id, settled: false };
      running = cell;
      void (async () => {
        const out = await runtime.run(m.code, m.label);
        const expressions = out.ok && !cell.settled ? await evaluate(m.expressions) : [];
        if (cell.settled) return;
        cell.settled = true;
        if (running === cell) running = undefined;
        if (out.ok) post({ type: 'done', id: m.id, ok: true, data: out.value === undefined ? undefined : resultBundle(out.value), expressions });
        else post({ type: 'done', id: m.id, ok: false, error: out.error });
      })();
      break;
    }
    case 'interrupt': {
      const cell = running;
      if (cell && cell.id === m.id && !cell.settled) { // a repeated or late interrupt does nothing
        runtime.interrupt();
        for (const p of pendingInputs.values()) p.reject(new Error('interrupted while waiting for input'));
        pendingInputs.clear();
        cell.settled = true;
        running = undefined;
        post({ type: 'done', id: m.id, ok: false, interrupted: true });
      }
      break;
    }
    case 'input-reply': {
      const p = pendingInputs.get(m.reqId);
      pendingInputs.delete(m.reqId);
      if (p && m.error !== undefined) p.reject(new Error(m.error));
      else p?.resolve(m.value ?? '');
      break;
    }
    case 'complete': {
      const c = complete(m.code, m.cursor, runtime);
      post({ type: 'reply', id: m.id, result: c });
      break;
    }
    case 'inspect':
      post({ type: 'reply', id: m.id, result: inspectAt(m.code, m.cursor, m.detail) ?? null });
      break;
    case 'close': // the kernel is shutting down: release what the session compiled, then answer
      void (runtime.session?.close() ?? Promise.resolve()).catch(() => {}).then(() => post({ type: 'reply', id: m.id, result: true }));
      break;
    case 'transform-reply': {
      const p = pendingTransforms.get(m.reqId);
      pendingTransforms.delete(m.reqId);
      if (!p) break;
      if ('error' in m) p.reject(Object.assign(new Error(m.error), { errors: m.errors }));
      else p.resolve({ code: m.code, map: m.map });
      break;
    }
  }
});

/** user_expressions: each evaluated on its own, in order; a failure is reported for that name only. */
async function evaluate(expressions: UserExpressions): Promise<[string, UserExpressionResult][]> {
  const out: [string, UserExpressionResult][] = [];
  for (const [name, code] of expressions) {
    const r = await runtime.run(code, `<user_expression ${name}>`);
    out.push([name, r.ok
      ? { status: 'ok', data: resultBundle(r.value), metadata: {} }
      : { status: 'error', ename: r.error.ename, evalue: r.error.evalue, traceback: r.error.traceback }]);
  }
  return out;
}
