/**
 * The main thread's side of the cell worker (kernel/worker.ts): starts it, runs cells and RPCs on it,
 * routes its output to the request that caused it, and interrupts it.
 *
 * Why a worker. User code runs in a worker thread so the main thread — sockets, heartbeat, control —
 * never blocks: interrupt_request, shutdown_request and heartbeats are answered while a cell computes.
 *
 * Interrupting. A cell still waiting for the worker to start is cancelled (it never runs). A running
 * cell is stopped in three stages, each only if the previous did not settle it:
 *   1. post `interrupt`: the worker aborts the cell's AbortSignal (commands stop between steps) and,
 *      if its thread is free (the cell is awaiting), reports the cell interrupted at once (200 ms grace);
 *   2. the thread is busy in synchronous code: `Runtime.terminateExecution` through the inspector
 *      (NodeWorker domain of an in-process inspector session) stops the JavaScript that is running
 *      without killing the thread — V8 cancels the termination when that outermost call returns —
 *      and the queued `interrupt` then reports the cell. Globals and the session survive;
 *   3. still nothing after 2 s (or no inspector): the worker is terminated and a fresh one started;
 *      the cell's error says that the kernel state (variables, session) was lost.
 * A worker that dies by itself is restarted the same way, and the running cell reports it.
 *
 * No child process is ever left a zombie by a restart. A terminated worker thread cannot reap the
 * child processes it started (libuv waits only for the children of its own loop), so the worker starts
 * none of its own: cells are compiled by esbuild here, in the main thread (the worker asks with a
 * `transform` message and gets the JavaScript back), and the esbuild service process is this thread's.
 *
 * user_expressions travel with the cell (`run`'s `expressions`) and are evaluated by the worker after
 * it, in the same run: an expression that never finishes is interrupted like a cell, and nothing waits
 * on a timer.
 */
import { Worker } from 'node:worker_threads';
import type { Session as InspectorSession } from 'node:inspector';
import type { CellError } from './traceback.ts';
import { esbuildTransform } from './transform.ts';
import type { Completion } from './introspect.ts';
import type { JsonObject, MimeBundle } from './messages.ts';

/** Messages to the worker. */
export type ToWorker =
  | { type: 'run'; id: number; code: string; label: string; expressions: UserExpressions }
  | { type: 'interrupt'; id: number }
  | { type: 'input-reply'; reqId: number; value?: string; error?: string }
  | { type: 'complete'; id: number; code: string; cursor: number }
  | { type: 'inspect'; id: number; code: string; cursor: number; detail: number }
  | { type: 'close'; id: number }
  | { type: 'transform-reply'; reqId: number; code: string; map: string }
  | { type: 'transform-reply'; reqId: number; error: string; errors?: unknown[] };

/** Messages from the worker. */
export type FromWorker =
  | { type: 'ready' }
  | { type: 'boot-error'; message: string }
  | { type: 'stream'; id: number; name: 'stdout' | 'stderr'; text: string }
  | { type: 'display'; id: number; data: MimeBundle; displayId: string; update: boolean }
  | { type: 'clear'; id: number; wait: boolean }
  | { type: 'input'; id: number; reqId: number; prompt: string; password: boolean }
  | { type: 'transform'; reqId: number; source: string; filename: string }
  | { type: 'done'; id: number; ok: true; data?: MimeBundle; expressions: UserExpressionResults }
  | { type: 'done'; id: number; ok: false; error?: CellError; interrupted?: boolean }
  | { type: 'reply'; id: number; result: unknown };

/** Where a running cell's output goes. */
export interface CellCallbacks {
  stream(name: 'stdout' | 'stderr', text: string): void;
  display(data: MimeBundle, displayId: string, update: boolean): void;
  clear(wait: boolean): void;
  /** Asks the frontend for input; rejects when stdin is not allowed. */
  input(prompt: string, password: boolean): Promise<string>;
}

/**
 * The user_expressions of an execute_request as (name, code) pairs, in request order (pairs, not an
 * object: a name such as `__proto__` stays a name on every hop).
 */
export type UserExpressions = readonly (readonly [name: string, code: string])[];

/** One user expression's outcome as execute_reply reports it: its value's bundle, or its error. */
export type UserExpressionResult =
  | { status: 'ok'; data: MimeBundle; metadata: JsonObject }
  | { status: 'error'; ename: string; evalue: string; traceback: string[] };

/** The outcomes of user expressions, as (name, result) pairs in request order. */
export type UserExpressionResults = readonly (readonly [name: string, result: UserExpressionResult])[];

/** A cell's outcome: its value's bundle and its user expressions' results, or the error to report. */
export type RunResult = { ok: true; data?: MimeBundle; expressions?: UserExpressionResults } | { ok: false; error: CellError };

/** What the handler needs of an executor (the worker, or a fake in tests). */
export interface CellExecutor {
  /** Runs a cell, then (when it succeeded) evaluates `expressions`, each on its own. */
  run(code: string, label: string, callbacks: CellCallbacks, expressions?: UserExpressions): Promise<RunResult>;
  complete(code: string, cursor: number): Promise<Completion>;
  inspect(code: string, cursor: number, detail: number): Promise<string | null>;
  /** Stops the running cell (no-op when idle); resolves once it has been stopped. */
  interrupt(): Promise<void>;
  close(): Promise<void>;
}

/** Timings of the interrupt stages (tests shorten them). */
export interface InterruptTimings {
  graceMs: number;
  terminateMs: number;
}

interface PendingRun {
  readonly id: number;
  readonly callbacks: CellCallbacks;
  readonly done: Promise<RunResult>;
  resolve(r: RunResult): void;
  /** Sent to the worker (false while waiting for it to start). */
  posted: boolean;
}

const INTERRUPTED: CellError = { ename: 'Interrupted', evalue: 'the cell was interrupted', traceback: ['\x1b[1;31mInterrupted\x1b[0m: the cell was interrupted'] };

/** Runs cells in a worker thread; see the module comment for interrupts. */
export class WorkerExecutor implements CellExecutor {
  private worker!: Worker;
  private counter = 0;
  private running: PendingRun | undefined;
  private lastCallbacks: CellCallbacks | undefined;
  private readonly replies = new Map<number, (v: unknown) => void>();
  private bootError: string | undefined;
  private closing = false;
  private readonly terminator = new ExecutionTerminator();
  private ready!: Promise<void>;

  constructor(private readonly timings: InterruptTimings = { graceMs: 200, terminateMs: 2000 }) {
    this.start();
  }

  /** Resolves when the worker has loaded the kiln API (or failed to). */
  whenReady(): Promise<void> {
    return this.ready;
  }

  private start(): void {
    const api = import.meta.resolve('tsx/esm/api');
    const entry = new URL('./worker.ts', import.meta.url).href;
    const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
    const worker = new Worker(boot, { eval: true, execArgv: [] });
    this.worker = worker;
    this.bootError = undefined;
    let readyResolve!: () => void;
    let started = false;
    let lastError = '';
    this.ready = new Promise((r) => { readyResolve = r; });
    const failBoot = (message: string) => {
      this.bootError = message;
      process.stderr.write(`kiln kernel: the cell worker failed to start:\n${message}\n`);
      readyResolve();
    };
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'ready') { started = true; readyResolve(); } else if (m.type === 'boot-error') failBoot(m.message);
      else if (m.type === 'transform') void this.transform(worker, m.reqId, m.source, m.filename);
      else this.onMessage(m);
    });
    worker.on('error', (e) => {
      lastError = (e as Error)?.stack ?? String(e);
      if (!this.closing && started) process.stderr.write(`kiln kernel: cell worker error: ${lastError}\n`);
    });
    worker.on('exit', (code) => {
      if (!started) {
        if (!this.bootError && !this.closing) failBoot(lastError || `the cell worker exited during start-up (exit code ${code})`);
        readyResolve();
        return; // a worker that cannot start would fail again: no restart loop
      }
      if (this.closing || this.worker !== worker) return;
      this.settle({ ok: false, error: lost(`the cell worker stopped (exit code ${code})`) });
      this.start();
    });
  }

  private onMessage(m: FromWorker): void {
    const cb = this.running && 'id' in m && m.id === this.running.id ? this.running.callbacks : this.running?.callbacks ?? this.lastCallbacks;
    switch (m.type) {
      case 'stream': cb?.stream(m.name, m.text); break;
      case 'display': cb?.display(m.data, m.displayId, m.update); break;
      case 'clear': cb?.clear(m.wait); break;
      case 'input': {
        const reply = (r: { value?: string; error?: string }) => this.post({ type: 'input-reply', reqId: m.reqId, ...r });
        if (!cb) reply({ error: 'no cell is running' });
        else cb.input(m.prompt, m.password).then((value) => reply({ value }), (e: Error) => reply({ error: e.message }));
        break;
      }
      case 'done':
        if (this.running?.id !== m.id) break;
        if (m.ok) this.settle({ ok: true, data: m.data, expressions: m.expressions });
        else this.settle({ ok: false, error: m.interrupted ? INTERRUPTED : m.error ?? INTERRUPTED });
        break;
      case 'reply': {
        const r = this.replies.get(m.id);
        this.replies.delete(m.id);
        r?.(m.result);
        break;
      }
    }
  }

  /**
   * Compiles TypeScript for `worker` (see the module comment: the worker starts no processes). The
   * answer goes to the worker that asked, and only while it is the current one.
   */
  private async transform(worker: Worker, reqId: number, source: string, filename: string): Promise<void> {
    let reply: ToWorker;
    try {
      const { code, map } = await esbuildTransform(source, filename);
      reply = { type: 'transform-reply', reqId, code, map };
    } catch (e) {
      const errors = (e as { errors?: unknown[] }).errors;
      reply = { type: 'transform-reply', reqId, error: (e as Error)?.message ?? String(e), errors: Array.isArray(errors) ? JSON.parse(JSON.stringify(errors)) as unknown[] : undefined };
    }
    if (worker === this.worker && !this.closing) worker.postMessage(reply);
  }

  private settle(r: RunResult): void {
    const cell = this.running;
    if (!cell) return;
    this.running = undefined;
    cell.resolve(r);
  }

  private post(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  async run(code: string, label: string, callbacks: CellCallbacks, expressions: UserExpressions = []): Promise<RunResult> {
    const id = ++this.counter;
    let resolve!: (r: RunResult) => void;
    const done = new Promise<RunResult>((r) => { resolve = r; });
    const cell: PendingRun = { id, callbacks, done, resolve, posted: false };
    this.running = cell; // before the worker is ready too, so an interrupt can cancel the cell
    this.lastCallbacks = callbacks;
    await this.ready;
    if (this.running !== cell) return done; // interrupted while the worker was starting
    if (this.bootError) {
      this.settle({ ok: false, error: { ename: 'KernelError', evalue: 'the cell worker failed to start', traceback: this.bootError.split('\n') } });
      return done;
    }
    cell.posted = true;
    this.post({ type: 'run', id, code, label, expressions });
    return done;
  }

  private rpc<T>(msg: { type: 'complete' | 'inspect' | 'close' } & Record<string, unknown>, fallback: T, timeoutMs = 10_000): Promise<T> {
    return this.ready.then(() => new Promise<T>((resolve) => {
      if (this.bootError) return resolve(fallback);
      const id = ++this.counter;
      const timer = setTimeout(() => { this.replies.delete(id); resolve(fallback); }, timeoutMs);
      this.replies.set(id, (v) => { clearTimeout(timer); resolve(v as T); });
      this.post({ ...msg, id } as ToWorker);
    }));
  }

  complete(code: string, cursor: number): Promise<Completion> {
    return this.rpc({ type: 'complete', code, cursor }, { matches: [], start: cursor, end: cursor }, 5000);
  }

  inspect(code: string, cursor: number, detail: number): Promise<string | null> {
    return this.rpc({ type: 'inspect', code, cursor, detail }, null, 5000);
  }

  async interrupt(): Promise<void> {
    const cell = this.running;
    if (!cell) return;
    if (!cell.posted) { // still waiting for the worker: the cell never starts
      this.settle({ ok: false, error: INTERRUPTED });
      return;
    }
    const stopped = await stopInStages({
      worker: this.worker, done: cell.done, terminator: this.terminator, timings: this.timings,
      postInterrupt: () => this.post({ type: 'interrupt', id: cell.id }),
    });
    if (stopped) return;
    if (this.running !== cell) return;
    const old = this.worker;
    this.settle({ ok: false, error: lost('the cell did not stop when interrupted, so its worker was restarted') });
    this.start();
    await old.terminate();
  }

  async close(): Promise<void> {
    this.closing = true;
    this.settle({ ok: false, error: INTERRUPTED });
    // the session disposes what it compiled (Session.close) before the thread ends; 2 s at most
    await this.rpc({ type: 'close' }, false, 2000).catch(() => false);
    this.terminator.close();
    await this.worker.terminate();
  }
}

/**
 * Stops the JavaScript a worker thread is running, without ending the thread: `Runtime.terminateExecution`
 * sent through an in-process inspector session (NodeWorker domain). V8 cancels the termination when
 * the outermost call returns, so the worker's event loop goes on with its state intact. Used by the
 * kernel's cell worker and the REPL's worker (repl/worker-engine.ts).
 *
 * Every terminator in a process shares ONE inspector session, opened on first use and kept: it sees
 * each worker attach as the worker starts. A second session opened later must first be told about
 * every older worker, one after another, and a worker that is gone or busy holds that up for seconds,
 * so the newest worker (the one to stop) could be reported too late.
 */
export class ExecutionTerminator {
  /** Stops what `worker` runs now; false when the inspector is unavailable or does not see the worker. */
  async terminate(worker: Worker): Promise<boolean> {
    try {
      const inspector = await sharedInspector();
      // the inspector reports a new worker asynchronously; on a loaded machine that can take a while
      for (let i = 0; i < 400 && !inspector.sessions.has(worker.threadId); i++) await delay(5);
      const sessionId = inspector.sessions.get(worker.threadId);
      if (sessionId === undefined) return false;
      const message = JSON.stringify({ id: 1, method: 'Runtime.terminateExecution' });
      await new Promise<void>((res, rej) => inspector.session.post('NodeWorker.sendMessageToWorker', { sessionId, message }, (err) => (err ? rej(err) : res())));
      return true;
    } catch {
      return false;
    }
  }

  /** Nothing to release: the process-wide inspector session stays for the next worker. */
  close(): void {}
}

/** The process-wide inspector session and the inspector's session id of each worker it has seen. */
interface SharedInspector {
  readonly session: InspectorSession;
  readonly sessions: Map<number, string>;
}

let shared: Promise<SharedInspector> | undefined;

function sharedInspector(): Promise<SharedInspector> {
  shared ??= (async () => {
    const { Session } = await import('node:inspector');
    const session = new Session();
    session.connect();
    const sessions = new Map<number, string>();
    session.on('NodeWorker.attachedToWorker', (e) => {
      const p = e.params as { sessionId: string; workerInfo: { workerId: string } };
      sessions.set(Number(p.workerInfo.workerId), p.sessionId);
    });
    session.on('NodeWorker.detachedFromWorker', (e) => {
      const p = e.params as { sessionId: string };
      for (const [id, sid] of sessions) if (sid === p.sessionId) sessions.delete(id);
    });
    await new Promise<void>((res, rej) => session.post('NodeWorker.enable', { waitForDebuggerOnStart: false }, (err) => (err ? rej(err) : res())));
    return { session, sessions };
  })();
  shared.catch(() => { shared = undefined; });
  return shared;
}

/** What `stopInStages` needs: the worker, the running work's settlement, and how to ask it to stop. */
export interface StagedStop {
  readonly worker: Worker;
  /** Settles when the worker has reported the work done (or interrupted). */
  readonly done: Promise<unknown>;
  /** Posts the worker's `interrupt` message (it aborts the work's signal and reports it interrupted). */
  postInterrupt(): void;
  readonly terminator: ExecutionTerminator;
  readonly timings: InterruptTimings;
}

/**
 * Stages 1 and 2 of an interrupt (see the module comment): post `interrupt` and give the worker
 * `graceMs` to report; then stop its running JavaScript through the inspector and post `interrupt`
 * again, giving it `terminateMs`. True when the work was reported stopped (the worker kept its state);
 * false when the caller must fall back to restarting the worker.
 */
export async function stopInStages(s: StagedStop): Promise<boolean> {
  const settledWithin = (ms: number) => Promise.race([s.done.then(() => true), delay(ms).then(() => false)]);
  s.postInterrupt();
  if (await settledWithin(s.timings.graceMs)) return true;
  if (await s.terminator.terminate(s.worker)) {
    s.postInterrupt();
    if (await settledWithin(s.timings.terminateMs)) return true;
  }
  return false;
}

function lost(why: string): CellError {
  const evalue = `${why}; the kernel state (variables, the session) was lost`;
  return { ename: 'KernelRestarted', evalue, traceback: [`\x1b[1;31mKernelRestarted\x1b[0m: ${evalue}`] };
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
