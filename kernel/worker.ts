/**
 * The cell worker: a worker thread that owns the kernel's CellRuntime and runs cells for the main
 * thread (kernel/worker-client.ts), which keeps the sockets. Messages in: run, interrupt, complete,
 * inspect, evaluate, input-reply; out: ready, stream, display, clear, input, done, reply.
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
import { mimeBundle, progressBundle, rawBundle } from './mime.ts';
import type { ToWorker, FromWorker } from './worker-client.ts';

const port = parentPort!;
const post = (m: FromWorker): void => { port.postMessage(m); };

/** The request whose output we are producing (late output of an interrupted cell goes to the latest). */
let currentId = 0;
/** The running cell: settled once, by its end or by an interrupt. */
let running: { id: number; settled: boolean } | undefined;
let inputCounter = 0;
const pendingInputs = new Map<number, { resolve: (v: string) => void; reject: (e: Error) => void }>();
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

let runtime: CellRuntime;
try {
  runtime = new CellRuntime(host);
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
      runtime.run(m.code, m.label).then((out) => {
        if (cell.settled) return;
        cell.settled = true;
        if (running === cell) running = undefined;
        if (out.ok) post({ type: 'done', id: m.id, ok: true, data: out.value === undefined ? undefined : mimeBundle(out.value) });
        else post({ type: 'done', id: m.id, ok: false, error: out.error });
      });
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
    case 'evaluate':
      void evaluate(m.id, m.expressions);
      break;
    case 'close':
      // stop esbuild's service process so it is reaped by us, not left to init
      // (stop() kills it without waiting; a short pause lets this thread's loop reap the child)
      void import('esbuild').then((e) => e.stop()).then(() => new Promise((r) => setTimeout(r, 50))).catch(() => undefined)
        .finally(() => post({ type: 'reply', id: m.id, result: null }));
      break;
  }
});

/** user_expressions: each evaluated on its own; a failure is reported for that name only. */
async function evaluate(id: number, expressions: Record<string, string>): Promise<void> {
  const out: Record<string, unknown> = {};
  for (const [name, code] of Object.entries(expressions)) {
    const r = await runtime.run(code, `<user_expression ${name}>`);
    out[name] = r.ok
      ? { status: 'ok', data: mimeBundle(r.value), metadata: {} }
      : { status: 'error', ename: r.error.ename, evalue: r.error.evalue, traceback: r.error.traceback };
  }
  post({ type: 'reply', id, result: out });
}
