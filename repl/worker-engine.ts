/**
 * The terminal app's engine: the ReplShell runs in a worker thread (repl/worker.ts) so the screen
 * never freezes; this side sends lines and completion requests, and relays progress and out-of-line
 * output to the app's listeners.
 *
 * Interrupting. Ctrl-C stops the running line the way the Jupyter kernel stops a cell, with the
 * same code (kernel/worker-client.ts `stopInStages`): post `interrupt` (the line's AbortSignal is
 * aborted, commands stop at their next check, and a line that awaits is reported interrupted at
 * once); if the worker does not answer within a grace period its thread is busy in code that never
 * yields (`while (true) {}`), so that JavaScript is terminated through the inspector and `interrupt`
 * posted again: the line ends with `error: interrupted` and the session, its steps and the variables
 * stay. Only if that fails too is the worker terminated and a fresh one started: the line ends with
 * an error saying the session was reset, and the app runs the last `load` line that succeeded again,
 * so the REPL comes back on the same model.
 *
 * The worker boots through tsx's register API (the sources are TypeScript) with no inherited
 * execArgv. A worker that cannot start rejects `started()`, and the caller falls back to running
 * the shell in the main thread.
 */
import { Worker } from 'node:worker_threads';
import { ExecutionTerminator, stopInStages, type InterruptTimings } from '../kernel/worker-client.ts';
import type { EngineResult, Interruption, ReplEngine } from './engine.ts';
import type { Completion, RenderOptions, ShellListeners } from './shell.ts';
import type { FromReplWorker, ToReplWorker } from './worker.ts';

/** A request to the worker before it gets its id. */
type Request = ToReplWorker extends infer T ? T extends { id: number } ? Omit<T, 'id'> : never : never;

interface Pending {
  resolve(v: unknown): void;
  /** The line this request runs, for `execute` (what an interrupt that restarts the worker answers). */
  readonly line?: string;
  /** Settles with the answer. */
  readonly done: Promise<void>;
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
  /** The interrupt in progress (a second Ctrl-C meanwhile adds nothing). */
  private interrupting: Promise<Interruption> | undefined;

  /**
   * `timings`: the interrupt's stages (the kernel's defaults); `terminator`: what stops busy code
   * (tests pass one that cannot, to reach the restart).
   */
  constructor(
    private readonly timings: InterruptTimings = { graceMs: 200, terminateMs: 2000 },
    private readonly terminator: ExecutionTerminator = new ExecutionTerminator(),
  ) {
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
      let ended!: () => void;
      const done = new Promise<void>((r) => { ended = r; });
      this.pending.set(id, { resolve: (v) => { ended(); (resolve as (v: unknown) => void)(v); }, line, done });
      this.worker.postMessage({ ...msg, id } as ToReplWorker);
    }));
  }

  async execute(line: string, opts: RenderOptions): Promise<EngineResult> {
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

  async interrupt(): Promise<Interruption> {
    this.interrupting ??= this.stopLine().finally(() => { this.interrupting = undefined; });
    return this.interrupting;
  }

  /** Stops the running line as the kernel stops a cell; restarts the worker only as a last resort. */
  private async stopLine(): Promise<Interruption> {
    const line = [...this.pending.values()].find((p) => p.line !== undefined);
    if (!line) return {};
    const worker = this.worker;
    const stopped = await stopInStages({
      worker, done: line.done, terminator: this.terminator, timings: this.timings,
      postInterrupt: () => worker.postMessage({ type: 'interrupt' } satisfies ToReplWorker),
    });
    if (stopped || this.worker !== worker) return {};
    // the line did not stop: end the thread and start over on the same model
    worker.removeAllListeners('exit');
    this.failAll('error: interrupted (the computation did not stop, so the worker was restarted and the session reset)');
    await worker.terminate();
    this.start();
    return this.lastLoad ? { rerun: this.lastLoad } : { note: 'restarted: load a model to go on' };
  }

  status(): string {
    return this.statusNow;
  }

  async close(): Promise<void> {
    // the session disposes what it compiled first; a worker that does not answer within 2 s is ended anyway
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => { timer = setTimeout(r, 2000); });
    await Promise.race([this.request<unknown>({ type: 'close' }).catch(() => {}), deadline]);
    clearTimeout(timer);
    this.terminator.close();
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}
