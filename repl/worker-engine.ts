/**
 * The terminal app's engine: the ReplShell runs in a worker thread (repl/worker.ts) so the screen
 * never freezes; this side sends lines and completion requests, and relays progress and out-of-line
 * output to the app's listeners.
 *
 * Interrupting. The first Ctrl-C posts `interrupt`: the line's AbortSignal is aborted and commands
 * stop at their next check (they check between passes and runs, where they also yield). Code that
 * never yields cannot see it, so a second Ctrl-C while the same line still runs terminates the worker
 * and starts a fresh one: the line ends with `error: interrupted`, the session and variables are lost,
 * and the app runs the last `load` line that succeeded again, so the REPL comes back on the same model.
 *
 * The worker boots through tsx's register API (the sources are TypeScript) with no inherited
 * execArgv. A worker that cannot start rejects `started()`, and the caller falls back to running
 * the shell in the main thread.
 */
import { Worker } from 'node:worker_threads';
import type { EngineResult, Interruption, ReplEngine } from './engine.ts';
import type { Completion, RenderOptions, ShellListeners } from './shell.ts';
import type { FromReplWorker, ToReplWorker } from './worker.ts';

/** A request to the worker before it gets its id. */
type Request = ToReplWorker extends infer T ? T extends { id: number } ? Omit<T, 'id'> : never : never;

interface Pending {
  resolve(v: unknown): void;
  /** The line this request runs, for `execute` (what a hard interrupt answers). */
  readonly line?: string;
}

/** A ReplEngine over a worker thread. */
export class WorkerEngine implements ReplEngine {
  listeners: ShellListeners = {};
  private worker!: Worker;
  private ready!: Promise<void>;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private statusNow = 'starting…';
  private lastLoad: string | undefined;
  private interrupted = false;

  constructor() {
    this.start();
  }

  /** Resolves when the worker is ready; rejects with its boot error. */
  started(): Promise<void> {
    return this.ready;
  }

  private start(): void {
    const api = import.meta.resolve('tsx/esm/api');
    const entry = new URL('./worker.ts', import.meta.url).href;
    const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
    const worker = new Worker(boot, { eval: true, execArgv: [], stdout: false, stderr: false });
    this.worker = worker;
    this.ready = new Promise((resolve, reject) => {
      worker.on('message', (m: FromReplWorker) => {
        switch (m.type) {
          case 'ready':
            this.statusNow = m.status;
            resolve();
            break;
          case 'boot-error':
            reject(new Error(m.message));
            break;
          case 'progress':
            this.listeners.progress?.(m.label, m.fraction);
            break;
          case 'print':
            this.listeners.print?.(m.text);
            break;
          case 'reply': {
            const p = this.pending.get(m.id);
            this.pending.delete(m.id);
            p?.resolve(m.result);
            break;
          }
        }
      });
      worker.on('error', (e) => {
        reject(e);
        this.failAll(`error: the REPL's worker failed: ${e.message}`);
      });
      worker.on('exit', () => this.failAll('error: the REPL\'s worker stopped'));
    });
    this.ready.catch(() => {}); // observed by started() and by each request
  }

  /** Answers every waiting request after the worker died. */
  private failAll(text: string): void {
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.resolve(p.line !== undefined
        ? { ok: false, parsed: { kind: 'empty' }, output: [{ kind: 'error', text }], status: this.statusNow }
        : undefined);
    }
  }

  private request<T>(msg: Request, line?: string): Promise<T> {
    return this.ready.then(() => new Promise<T>((resolve) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, line });
      this.worker.postMessage({ ...msg, id } as ToReplWorker);
    }));
  }

  async execute(line: string, opts: RenderOptions): Promise<EngineResult> {
    this.interrupted = false;
    const r = await this.request<EngineResult>({ type: 'execute', line, opts }, line);
    this.statusNow = r.status;
    if (r.ok && /^\s*%?load(\s|$)/.test(line)) this.lastLoad = line;
    return r;
  }

  async complete(text: string): Promise<Completion> {
    return (await this.request<Completion | undefined>({ type: 'complete', text })) ?? { start: text.length, candidates: [] };
  }

  async needsMore(text: string): Promise<boolean> {
    return (await this.request<boolean | undefined>({ type: 'needsMore', text })) ?? false;
  }

  async interrupt(hard: boolean): Promise<Interruption> {
    const running = [...this.pending.values()].some((p) => p.line !== undefined);
    if (!running) return {};
    if (!hard || !this.interrupted) {
      this.interrupted = true;
      this.worker.postMessage({ type: 'interrupt' } satisfies ToReplWorker);
      return { note: 'interrupting… (Ctrl-C again: stop at once, losing the session)' };
    }
    // the line does not yield: stop the thread and start over on the same model
    const old = this.worker;
    old.removeAllListeners('exit');
    this.failAll('error: interrupted (the computation was stopped; the session was reset)');
    await old.terminate();
    this.start();
    return this.lastLoad ? { rerun: this.lastLoad } : { note: 'restarted: load a model to go on' };
  }

  status(): string {
    return this.statusNow;
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}
