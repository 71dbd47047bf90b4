/**
 * The REPL's worker thread: owns the ReplShell with kiln's command table, display layer and the
 * kernel's cell runtime (repl/deps.ts), so passes, numeric checks and runs compute here while the main
 * thread keeps drawing (repl/worker-engine.ts is the other side).
 *
 * Messages in: `execute` (a line, with render options), `complete`, `needsMore`, `close` (closes the
 * session, disposing its compiled programs, before the thread ends), `interrupt` (aborts
 * the running line's signal; commands stop at their next check). Out: `ready` (with the status text),
 * `progress`, `print` (output that arrives outside any line: late console output, background
 * callbacks), `reply` (the answer to a request, by id). An `interrupt` reports the running line as
 * interrupted at once, as the kernel's worker does; it runs when this thread is free, either because
 * the line awaits or because the main thread stopped its busy code through the inspector
 * (kernel/worker-client.ts `stopInStages`); the session and globals stay. Console output and `process.stdout/stderr`
 * writes of user code become `print` output of the running line, so nothing writes to the terminal
 * behind ink's back.
 */
import { parentPort } from 'node:worker_threads';
import { ReplShell } from './shell.ts';
import { statusText } from './status.ts';
import type { RenderOptions } from './shell.ts';

/** Messages to the worker. */
export type ToReplWorker =
  | { type: 'execute'; id: number; line: string; opts: RenderOptions }
  | { type: 'complete'; id: number; text: string }
  | { type: 'needsMore'; id: number; text: string }
  | { type: 'close'; id: number }
  | { type: 'interrupt' };

/** Messages from the worker. */
export type FromReplWorker =
  | { type: 'ready'; status: string }
  | { type: 'boot-error'; message: string }
  | { type: 'progress'; label: string; fraction?: number }
  | { type: 'print'; text: string }
  | { type: 'reply'; id: number; result: unknown };

const port = parentPort!;
const post = (m: FromReplWorker): void => port.postMessage(m);

try {
  const { kilnDeps } = await import('./deps.ts');
  const shell = new ReplShell(kilnDeps({ captureConsole: true }));
  shell.listeners = {
    progress: (label, fraction) => post({ type: 'progress', label, fraction }),
    print: (text) => post({ type: 'print', text }),
  };
  for (const stream of [process.stdout, process.stderr]) {
    stream.write = ((chunk: string | Uint8Array) => {
      shell.print(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
      return true;
    }) as typeof stream.write;
  }
  // lines run one after another; an interrupted line is reported at once and the next one does not
  // wait for what is left of it (a command still unwinding to its next check, or a terminated loop
  // whose promise never settles)
  let lines: Promise<unknown> = Promise.resolve();
  let running: { id: number; line: string; settled: boolean; stop(): void } | undefined;
  port.on('message', async (m: ToReplWorker) => {
    switch (m.type) {
      case 'execute': {
        lines = lines.then(() => new Promise<void>((next) => {
          const line = { id: m.id, line: m.line, settled: false, stop: next };
          running = line;
          void shell.execute(m.line, m.opts).then((r) => {
            if (line.settled) return;
            line.settled = true;
            if (running === line) running = undefined;
            post({ type: 'reply', id: m.id, result: { ...r, status: statusText(shell.session) } });
            next();
          });
        }));
        break;
      }
      case 'complete':
        post({ type: 'reply', id: m.id, result: shell.complete(m.text) });
        break;
      case 'needsMore':
        post({ type: 'reply', id: m.id, result: await shell.needsMore(m.text) });
        break;
      case 'close': // the REPL is ending: release what the session compiled (Session.close), then answer
        await shell.session?.close().catch(() => {});
        post({ type: 'reply', id: m.id, result: true });
        break;
      case 'interrupt': {
        // as the kernel's worker does: abort the line's signal and report it interrupted now (this
        // handler runs when the thread is free: the line awaits, or its busy code was terminated)
        const line = running;
        shell.interrupt();
        if (line && !line.settled) {
          line.settled = true;
          running = undefined;
          shell.abandonLine();
          const result = { ok: false, parsed: shell.parse(line.line), output: [{ kind: 'error', text: 'error: interrupted' }] };
          post({ type: 'reply', id: line.id, result: { ...result, status: statusText(shell.session) } });
          line.stop();
        }
        break;
      }
    }
  });
  process.on('uncaughtException', (e) => shell.print(`error (in the background): ${e?.message ?? e}`));
  process.on('unhandledRejection', (e) => shell.print(`error (in the background): ${(e as Error)?.message ?? e}`));
  post({ type: 'ready', status: statusText(shell.session) });
} catch (e) {
  post({ type: 'boot-error', message: (e as Error)?.stack ?? String(e) });
}
