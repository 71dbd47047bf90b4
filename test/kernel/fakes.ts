/**
 * Test doubles for the kernel handler: a transport that records what the handler sends, request
 * builders, a scriptable executor, and a waiter for messages that arrive asynchronously.
 */
import type { KernelTransport } from '../../kernel/handler.ts';
import type { OutgoingMessage } from '../../kernel/wire.ts';
import { newHeader } from '../../kernel/wire.ts';
import type { Channel, JsonObject, Message } from '../../kernel/messages.ts';
import type { CellCallbacks, CellExecutor, RunResult, UserExpressions } from '../../kernel/worker-client.ts';
import type { Completion } from '../../kernel/introspect.ts';

/** One sent message. */
export interface Sent {
  channel: Channel;
  msg: OutgoingMessage;
}

/** Records sent messages; `waitFor` resolves when one matches. */
export class FakeTransport implements KernelTransport {
  readonly sent: Sent[] = [];
  private waiters: { pred: (s: Sent) => boolean; resolve: (s: Sent) => void }[] = [];

  send(channel: Channel, msg: OutgoingMessage): void {
    const s = { channel, msg };
    this.sent.push(s);
    this.waiters = this.waiters.filter((w) => (w.pred(s) ? (w.resolve(s), false) : true));
  }

  /** The first sent message (past or future) matching `pred`. */
  waitFor(pred: (s: Sent) => boolean, timeoutMs = 10_000): Promise<Sent> {
    const found = this.sent.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a message')), timeoutMs);
      this.waiters.push({ pred, resolve: (s) => { clearTimeout(timer); resolve(s); } });
    });
  }

  /** The reply to request `req` (by parent msg_id and a `_reply` type). */
  reply(req: Message, timeoutMs?: number): Promise<Sent> {
    return this.waitFor((s) => s.channel !== 'iopub' && s.msg.parent_header.msg_id === req.header.msg_id && s.msg.header.msg_type.endsWith('_reply'), timeoutMs);
  }

  /** iopub messages whose parent is `req`, as [msg_type, content]. */
  iopub(req: Message): [string, Record<string, unknown>][] {
    return this.sent.filter((s) => s.channel === 'iopub' && s.msg.parent_header.msg_id === req.header.msg_id)
      .map((s) => [s.msg.header.msg_type, s.msg.content as Record<string, unknown>]);
  }

  /** Waits for the idle status of `req`. */
  idle(req: Message, timeoutMs?: number): Promise<Sent> {
    return this.waitFor((s) => s.channel === 'iopub' && s.msg.parent_header.msg_id === req.header.msg_id
      && s.msg.header.msg_type === 'status' && (s.msg.content as { execution_state: string }).execution_state === 'idle', timeoutMs);
  }
}

/** A client request as the handler receives it. */
export function request(msgType: string, content: object = {}): Message {
  return { identities: [Buffer.from('client-7')], header: newHeader(msgType, 'client-session', 'tester'), parent_header: {}, metadata: {}, content: content as JsonObject, buffers: [] };
}

/** One scripted behaviour of the fake executor for a cell. */
export type Script = (cb: CellCallbacks, code: string) => Promise<RunResult>;

/**
 * An executor whose cells follow scripts keyed by code; unknown code returns its text as the value.
 * A user expression evaluates to `=code`, or fails with a ReferenceError when its code starts with `!`.
 */
export class FakeExecutor implements CellExecutor {
  readonly ran: { code: string; label: string; expressions: UserExpressions }[] = [];
  interrupts = 0;
  closed = false;
  private interruptHook: (() => void) | undefined;

  constructor(private readonly scripts: Record<string, Script> = {}) {}

  async run(code: string, label: string, cb: CellCallbacks, expressions: UserExpressions = []): Promise<RunResult> {
    this.ran.push({ code, label, expressions });
    const s = Object.hasOwn(this.scripts, code) ? this.scripts[code] : undefined;
    const r: RunResult = s ? await s(cb, code) : { ok: true, data: { 'text/plain': `value of ${code}` } };
    if (!r.ok) return r;
    return {
      ...r,
      expressions: expressions.map(([name, c]) => [name, c.startsWith('!')
        ? { status: 'error', ename: 'ReferenceError', evalue: `${c.slice(1)} is not defined`, traceback: [`ReferenceError: ${c.slice(1)} is not defined`] }
        : { status: 'ok', data: { 'text/plain': `=${c}` }, metadata: {} }]),
    };
  }

  /** A cell that runs until interrupted. */
  static blocking(executor: () => FakeExecutor): Script {
    return () => new Promise<RunResult>((resolve) => {
      executor().interruptHook = () => resolve({ ok: false, error: { ename: 'Interrupted', evalue: 'the cell was interrupted', traceback: [] } });
    });
  }

  async complete(code: string, cursor: number): Promise<Completion> {
    const m = /[\w$]*$/.exec(code.slice(0, cursor))![0];
    return { matches: ['alpha', 'alphabet'].filter((w) => w.startsWith(m)), start: cursor - m.length, end: cursor };
  }

  async inspect(code: string): Promise<string | null> {
    return code.includes('known') ? 'known: documented' : null;
  }

  async interrupt(): Promise<void> {
    this.interrupts++;
    const h = this.interruptHook;
    this.interruptHook = undefined;
    h?.();
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
