/**
 * The REPL's worker thread: owns the ReplShell with kiln's command table, display layer and the
 * kernel's cell runtime (repl/deps.ts), so passes, numeric checks and runs compute here while the main
 * thread keeps drawing (repl/worker-engine.ts is the other side).
 *
 * Messages in: `execute` (a line, with render options), `complete`, `needsMore`, `interrupt` (aborts
 * the running line's signal; commands stop at their next check). Out: `ready` (with the status text),
 * `progress`, `print` (output that arrives outside any line: late console output, background
 * callbacks), `reply` (the answer to a request, by id). Console output and `process.stdout/stderr`
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
  let lines: Promise<unknown> = Promise.resolve(); // lines run one after another
  port.on('message', async (m: ToReplWorker) => {
    switch (m.type) {
      case 'execute': {
        lines = lines.then(async () => {
          const r = await shell.execute(m.line, m.opts);
          post({ type: 'reply', id: m.id, result: { ...r, status: statusText(shell.session) } });
        });
        break;
      }
      case 'complete':
        post({ type: 'reply', id: m.id, result: shell.complete(m.text) });
        break;
      case 'needsMore':
        post({ type: 'reply', id: m.id, result: await shell.needsMore(m.text) });
        break;
      case 'interrupt':
        shell.interrupt();
        break;
    }
  });
  process.on('uncaughtException', (e) => shell.print(`error (in the background): ${e?.message ?? e}`));
  process.on('unhandledRejection', (e) => shell.print(`error (in the background): ${(e as Error)?.message ?? e}`));
  post({ type: 'ready', status: statusText(shell.session) });
} catch (e) {
  post({ type: 'boot-error', message: (e as Error)?.stack ?? String(e) });
}
