/**
 * The kernel's protocol logic as a plain object: decoded messages in (`receive`), messages out through
 * a `KernelTransport` — no sockets here, so tests drive it with a fake transport and executor.
 *
 * Scheduling. Shell requests run one at a time in arrival order (a queue); control requests run at
 * once, even while a cell runs (interrupt, shutdown, kernel_info). Every shell or control request is
 * wrapped in iopub `status: busy` … `status: idle`, idle sent in `finally`. When a cell fails and its
 * request has `stop_on_error` (the default), every execute_request still queued is answered with
 * status `aborted` (with its own busy/idle) without running.
 *
 * Execution (execute_request): the counter is incremented when `store_history` (forced false by
 * `silent`, and for blank code); iopub gets execute_input, streams (coalesced, flushed before any other
 * output), display_data / update_display_data (by `transient.display_id`), clear_output, then
 * execute_result or error; nothing goes to iopub when `silent`. `input()` in a cell becomes an
 * input_request on stdin, addressed like the execute_request, when `allow_stdin`; otherwise it fails.
 * Stored cells' inputs go to the history. `user_expressions` (an object of name → code) are evaluated
 * after a successful cell, in the same executor run (so an interrupt stops them too), and each comes
 * back in execute_reply as `{status: 'ok', data, metadata}` or `{status: 'error', ename, evalue,
 * traceback}`; an entry whose code is not a string gets its own error without running anything.
 *
 * Offsets in complete/inspect requests are Unicode code points (protocol 5.2+) and are converted to
 * and from JavaScript's UTF-16 indices here.
 */
import type { CellExecutor, CellCallbacks, UserExpressionResult, UserExpressions } from './worker-client.ts';
import type { History } from './history.ts';
import { stderrLog, type KernelLog } from './log.ts';
import { newHeader, type OutgoingMessage } from './wire.ts';
import {
  PROTOCOL_VERSION, type Channel, type CompleteRequest, type ExecuteRequest, type HistoryRequest, type InspectRequest,
  type JsonObject, type KernelInfoReply, type Message, type MimeBundle,
} from './messages.ts';

/** Where the handler's messages go (the server's sockets, or a test's list). */
export interface KernelTransport {
  send(channel: Channel, msg: OutgoingMessage): void;
}

/** Options of a KernelHandler. */
export interface HandlerOptions {
  readonly executor: CellExecutor;
  readonly history: History;
  /** The kernel's session id (header.session of everything it sends). */
  readonly session: string;
  /** Called after a shutdown_reply was sent. */
  readonly onShutdown?: (restart: boolean) => void;
  /** kiln's version for kernel_info. */
  readonly version?: string;
  /** Where the handler's own log lines go (default: stderr, see kernel/log.ts). */
  readonly log?: KernelLog;
  /** Milliseconds to coalesce stream output (default 50). */
  readonly streamDelayMs?: number;
}

type Handler = (msg: Message, channel: Channel) => Promise<void>;

/** The Jupyter protocol 5.3 kernel logic. */
export class KernelHandler {
  /** The execution counter (the number of the last stored cell). */
  executionCount = 0;
  private readonly queue: Message[] = [];
  private draining = false;
  private idleWaiters: (() => void)[] = [];
  private pendingInput: { resolve: (v: string) => void; reject: (e: Error) => void } | undefined;
  private shuttingDown = false;
  /** Handlers by msg_type: a Map, so a msg_type such as `constructor` or `__proto__` finds nothing. */
  private readonly handlers: ReadonlyMap<string, Handler>;

  constructor(private readonly transport: KernelTransport, private readonly opts: HandlerOptions) {
    this.handlers = new Map<string, Handler>(Object.entries({
      kernel_info_request: async (m, ch) => this.reply(m, ch, 'kernel_info_reply', this.kernelInfo()),
      execute_request: (m) => this.execute(m),
      complete_request: (m, ch) => this.complete(m, ch),
      inspect_request: (m, ch) => this.inspect(m, ch),
      is_complete_request: async (m, ch) => {
        const { isComplete } = await import('./introspect.ts'); // loaded on first use: keeps start-up short
        this.reply(m, ch, 'is_complete_reply', await isComplete(String((m.content as { code?: string }).code ?? '')));
      },
      history_request: async (m, ch) => this.reply(m, ch, 'history_reply', { status: 'ok', history: this.opts.history.query(m.content as unknown as HistoryRequest) }),
      comm_info_request: async (m, ch) => this.reply(m, ch, 'comm_info_reply', { status: 'ok', comms: {} }),
      shutdown_request: (m, ch) => this.shutdown(m, ch),
      interrupt_request: async (m, ch) => {
        void this.interrupt();
        this.reply(m, ch, 'interrupt_reply', { status: 'ok' });
      },
    } satisfies Record<string, Handler>));
  }

  private get log(): KernelLog {
    return this.opts.log ?? stderrLog;
  }

  /** Interrupts the running cell (interrupt_request, or SIGINT through the server); resolves once it stopped. */
  interrupt(): Promise<void> {
    const p = this.pendingInput;
    this.pendingInput = undefined;
    p?.reject(new Error('interrupted while waiting for input'));
    return this.opts.executor.interrupt();
  }

  /** Publishes `status: starting` once, at start-up. */
  start(): void {
    this.publish(undefined, 'status', { execution_state: 'starting' });
  }

  /** Takes a decoded message from a socket. */
  receive(channel: Channel, msg: Message): void {
    if (channel === 'stdin') {
      if (msg.header.msg_type === 'input_reply' && this.pendingInput) {
        const p = this.pendingInput;
        this.pendingInput = undefined;
        p.resolve(String((msg.content as { value?: unknown }).value ?? ''));
      }
      return;
    }
    if (channel === 'control') {
      void this.dispatch(msg, channel);
      return;
    }
    this.queue.push(msg);
    if (!this.draining) void this.drain();
  }

  /** Resolves when no shell request is queued or running (for tests and shutdown). */
  whenIdle(): Promise<void> {
    if (!this.draining && !this.queue.length) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length) await this.dispatch(this.queue.shift()!, 'shell');
    } finally {
      this.draining = false;
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const r of w) r();
    }
  }

  private async dispatch(msg: Message, channel: Channel): Promise<void> {
    const handler = this.handlers.get(msg.header.msg_type);
    this.publish(msg, 'status', { execution_state: 'busy' });
    try {
      if (handler) await handler(msg, channel);
      else if (!/^comm_(open|msg|close)$/.test(msg.header.msg_type)) this.log('warn', `ignoring unsupported ${channel} message '${msg.header.msg_type}'`);
    } catch (e) {
      this.log('warn', `error handling ${msg.header.msg_type}: ${(e as Error)?.stack ?? e}`);
    } finally {
      this.publish(msg, 'status', { execution_state: 'idle' });
    }
  }

  private send(channel: Channel, parent: Message | undefined, msgType: string, content: object, extra: Partial<OutgoingMessage> = {}): void {
    this.transport.send(channel, {
      identities: channel === 'iopub' ? [Buffer.from(`kernel.${this.opts.session}.${msgType}`)] : parent?.identities ?? [],
      header: newHeader(msgType, this.opts.session),
      parent_header: parent?.header ?? {},
      metadata: {},
      content,
      ...extra,
    });
  }

  private reply(msg: Message, channel: Channel, msgType: string, content: object): void {
    this.send(channel, msg, msgType, content);
  }

  private publish(parent: Message | undefined, msgType: string, content: object): void {
    this.send('iopub', parent, msgType, content);
  }

  /** kernel_info_reply content. */
  kernelInfo(): KernelInfoReply {
    return {
      status: 'ok',
      protocol_version: PROTOCOL_VERSION,
      implementation: 'kiln',
      implementation_version: this.opts.version ?? '0.0.0',
      language_info: {
        name: 'typescript', version: 'es2022', mimetype: 'text/x.typescript', file_extension: '.ts',
        pygments_lexer: 'typescript', codemirror_mode: 'typescript', nbconvert_exporter: 'script',
      },
      banner: `kiln ${this.opts.version ?? ''} — TypeScript cells with the kiln compiler preloaded (load, session, zoo, display). %help lists the magics.`,
      debugger: false,
      help_links: [{ text: 'kiln', url: 'https://github.com/kiln-compiler/kiln' }],
    };
  }

  private async execute(msg: Message): Promise<void> {
    const req = msg.content as unknown as ExecuteRequest;
    const code = String(req.code ?? '');
    const silent = req.silent === true;
    const store = !silent && req.store_history !== false && code.trim() !== '';
    if (store) this.executionCount++;
    const count = this.executionCount;
    if (!silent) this.publish(msg, 'execute_input', { code, execution_count: count });
    const out = new OutputSink((type, content) => { if (!silent) this.publish(msg, type, content); }, this.opts.streamDelayMs ?? 50);
    const callbacks: CellCallbacks = {
      stream: (name, text) => out.stream(name, text),
      display: (data, displayId, update) => out.emit(update ? 'update_display_data' : 'display_data', { data, metadata: {}, transient: { display_id: displayId } }),
      clear: (wait) => out.emit('clear_output', { wait }),
      input: (prompt, password) => this.requestInput(msg, req, prompt, password, out),
    };
    const exprs = this.userExpressions(req.user_expressions);
    const run = exprs.code.length > 0 || code.trim() !== '';
    const result = run ? await this.opts.executor.run(code, store ? `In [${count}]` : '<cell>', callbacks, exprs.code) : { ok: true as const };
    out.flush();
    if (store) this.opts.history.add(code);
    if (result.ok) {
      if (result.data) out.emit('execute_result', { execution_count: count, data: result.data, metadata: {} });
      const evaluated = new Map(result.expressions ?? []);
      const userExpressions = Object.fromEntries(exprs.names.map((name) => [name, exprs.invalid.get(name) ?? evaluated.get(name) ?? notEvaluated(name)]));
      this.reply(msg, 'shell', 'execute_reply', { status: 'ok', execution_count: count, payload: [], user_expressions: userExpressions });
      return;
    }
    const { ename, evalue, traceback } = result.error;
    out.emit('error', { ename, evalue, traceback });
    out.flush();
    this.reply(msg, 'shell', 'execute_reply', { status: 'error', execution_count: count, ename, evalue, traceback, payload: [], user_expressions: {} });
    if (req.stop_on_error !== false) this.abortQueuedExecutes();
  }

  /**
   * The request's user_expressions split into code to run (name, code pairs) and entries refused at
   * once; `names` keeps the request's order. Anything but an object of strings is refused with a note.
   */
  private userExpressions(raw: unknown): { names: string[]; code: UserExpressions; invalid: Map<string, UserExpressionResult> } {
    const names: string[] = [], code: [string, string][] = [], invalid = new Map<string, UserExpressionResult>();
    if (raw === undefined || raw === null) return { names, code, invalid };
    if (typeof raw !== 'object' || Array.isArray(raw)) {
      this.log('warn', `ignoring user_expressions: expected an object of name → code, got ${Array.isArray(raw) ? 'an array' : typeof raw}`);
      return { names, code, invalid };
    }
    for (const [name, value] of Object.entries(raw)) {
      names.push(name);
      if (typeof value === 'string') code.push([name, value]);
      else {
        const evalue = `user expression '${name}' must be a string of code, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`;
        invalid.set(name, { status: 'error', ename: 'TypeError', evalue, traceback: [`\x1b[1;31mTypeError\x1b[0m: ${evalue}`] });
      }
    }
    return { names, code, invalid };
  }

  /** Answers every queued execute_request with `aborted` (busy/idle around each). */
  private abortQueuedExecutes(): void {
    for (let i = 0; i < this.queue.length;) {
      const m = this.queue[i];
      if (m.header.msg_type !== 'execute_request') { i++; continue; }
      this.queue.splice(i, 1);
      this.publish(m, 'status', { execution_state: 'busy' });
      this.reply(m, 'shell', 'execute_reply', { status: 'aborted', execution_count: this.executionCount });
      this.publish(m, 'status', { execution_state: 'idle' });
    }
  }

  private requestInput(msg: Message, req: ExecuteRequest, prompt: string, password: boolean, out: OutputSink): Promise<string> {
    if (!req.allow_stdin) return Promise.reject(new Error('input() is not available: this frontend does not accept input (allow_stdin is false)'));
    out.flush();
    this.pendingInput?.reject(new Error('a newer input request replaced this one'));
    return new Promise<string>((resolve, reject) => {
      this.pendingInput = { resolve, reject };
      this.send('stdin', msg, 'input_request', { prompt, password });
    });
  }

  private async complete(msg: Message, channel: Channel): Promise<void> {
    const req = msg.content as unknown as CompleteRequest;
    const code = String(req.code ?? '');
    const cursor = toUtf16(code, typeof req.cursor_pos === 'number' ? req.cursor_pos : codePointLength(code));
    const c = await this.opts.executor.complete(code, cursor);
    this.reply(msg, channel, 'complete_reply', {
      status: 'ok', matches: c.matches, cursor_start: codePointLength(code.slice(0, c.start)), cursor_end: codePointLength(code.slice(0, c.end)), metadata: {},
    });
  }

  private async inspect(msg: Message, channel: Channel): Promise<void> {
    const req = msg.content as unknown as InspectRequest;
    const code = String(req.code ?? '');
    const cursor = toUtf16(code, typeof req.cursor_pos === 'number' ? req.cursor_pos : codePointLength(code));
    const doc = await this.opts.executor.inspect(code, cursor, req.detail_level ?? 0);
    const data: MimeBundle = doc === null ? {} : { 'text/plain': doc };
    this.reply(msg, channel, 'inspect_reply', { status: 'ok', found: doc !== null, data, metadata: {} });
  }

  private async shutdown(msg: Message, channel: Channel): Promise<void> {
    const restart = (msg.content as { restart?: unknown }).restart === true;
    this.reply(msg, channel, 'shutdown_reply', { status: 'ok', restart });
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.pendingInput?.reject(new Error('the kernel is shutting down'));
    // after the idle status of this request has been published
    setImmediate(() => this.opts.onShutdown?.(restart));
  }
}

/** The result of an expression the executor did not report (a fake or a broken executor). */
function notEvaluated(name: string): UserExpressionResult {
  const evalue = `user expression '${name}' was not evaluated`;
  return { status: 'error', ename: 'KernelError', evalue, traceback: [`\x1b[1;31mKernelError\x1b[0m: ${evalue}`] };
}

/** Coalesces stream text per request and flushes it before any other output, keeping order. */
class OutputSink {
  private name: 'stdout' | 'stderr' | undefined;
  private text = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly publish: (type: string, content: JsonObject | object) => void, private readonly delayMs: number) {}

  stream(name: 'stdout' | 'stderr', text: string): void {
    if (this.name !== name) this.flush();
    this.name = name;
    this.text += text;
    this.timer ??= setTimeout(() => this.flush(), this.delayMs);
  }

  emit(type: string, content: object): void {
    this.flush();
    this.publish(type, content);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.name && this.text) this.publish('stream', { name: this.name, text: this.text });
    this.name = undefined;
    this.text = '';
  }
}

/** Number of Unicode code points in `s`. */
export function codePointLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) i++;
    n++;
  }
  return n;
}

/** The UTF-16 index of code point offset `cp` in `s`. */
export function toUtf16(s: string, cp: number): number {
  let i = 0;
  for (let n = 0; n < cp && i < s.length; n++) {
    const c = s.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
  }
  return i;
}
