/**
 * A minimal Jupyter client written against the wire protocol spec (messaging 5.3), independent of
 * the kernel's own codec in kernel/, so the tests and the bench cross-check it rather than agree
 * with it by construction.
 *
 * Wire format of one message on a socket: [identities..., '<IDS|MSG>', signature, header,
 * parent_header, metadata, content, buffers...]; signature = hex HMAC-SHA256 over the four JSON
 * frames with the connection key (empty key: empty signature). A DEALER socket sends no
 * identities (the kernel's ROUTER adds one); iopub is a SUB socket whose first frame is a topic.
 *
 * Each socket has a reader loop that decodes incoming frames into a queue; `next(pred, timeout)`
 * takes the first queued message matching a predicate or waits for one, so a test can wait for "the
 * execute_reply to my msg_id" without losing the iopub messages that arrive meanwhile.
 * `sendRaw` puts arbitrary frames on a socket (a forged signature, for instance).
 */
import { createHmac, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import * as zmq from 'zeromq';

/** The fields of a Jupyter connection file. */
export interface ConnectionInfo {
  transport: string;
  ip: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  key: string;
  signature_scheme: string;
  kernel_name?: string;
}

/** A decoded message. */
export interface Msg {
  header: { msg_id: string; msg_type: string; session: string; username: string; date: string; version: string };
  parent_header: { msg_id?: string; msg_type?: string; [k: string]: unknown };
  metadata: Record<string, unknown>;
  content: Record<string, any>;
  buffers: Buffer[];
  /** True when the signature checked out. */
  signatureOk: boolean;
}

const DELIM = '<IDS|MSG>';

/** Hex HMAC-SHA256 of the four JSON frames; '' for an empty key. */
export function sign(key: string, frames: readonly (string | Buffer)[]): string {
  if (!key) return '';
  const h = createHmac('sha256', key);
  for (const f of frames) h.update(f);
  return h.digest('hex');
}

/** Returns `n` free TCP ports on 127.0.0.1 (bound to port 0 together, then released). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<net.Server>((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** Writes a connection file with fresh ports and a random key into `dir`. */
export async function writeConnectionFile(dir: string, key: string = randomUUID()): Promise<{ file: string; info: ConnectionInfo }> {
  const [shell, iopub, stdin, control, hb] = await freePorts(5);
  const info: ConnectionInfo = {
    transport: 'tcp', ip: '127.0.0.1', shell_port: shell, iopub_port: iopub, stdin_port: stdin,
    control_port: control, hb_port: hb, key, signature_scheme: 'hmac-sha256', kernel_name: 'kiln',
  };
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `kernel-${randomUUID()}.json`);
  fs.writeFileSync(file, JSON.stringify(info, null, 1));
  return { file, info };
}

/** A queue of decoded messages from one socket. */
class Inbox {
  private readonly items: Msg[] = [];
  private readonly waiters: { pred: (m: Msg) => boolean; resolve: (m: Msg) => void }[] = [];

  push(m: Msg): void {
    const i = this.waiters.findIndex((w) => w.pred(m));
    if (i >= 0) this.waiters.splice(i, 1)[0].resolve(m);
    else this.items.push(m);
  }

  /** The first message matching `pred` (queued or yet to come); rejects after `timeoutMs`. */
  next(pred: (m: Msg) => boolean, timeoutMs: number, what: string): Promise<Msg> {
    const i = this.items.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.items.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const waiter = {
        pred,
        resolve: (m: Msg) => { clearTimeout(timer); resolve(m); },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Every queued message, removed from the queue. */
  drain(): Msg[] {
    return this.items.splice(0);
  }
}

/** Socket names of a kernel connection. */
export type Channel = 'shell' | 'control' | 'stdin' | 'iopub';

/** A connected client: DEALER shell/control/stdin, SUB iopub, REQ heartbeat. */
export class WireClient {
  readonly session = randomUUID();
  private readonly sockets: Record<Channel, zmq.Dealer | zmq.Subscriber>;
  private readonly inboxes: Record<Channel, Inbox> = { shell: new Inbox(), control: new Inbox(), stdin: new Inbox(), iopub: new Inbox() };
  private readonly hb = new zmq.Request({ linger: 0, receiveTimeout: 2000, sendTimeout: 2000 });
  private closed = false;

  constructor(readonly info: ConnectionInfo) {
    const url = (port: number) => `${info.transport}://${info.ip}:${port}`;
    const iopub = new zmq.Subscriber({ linger: 0 });
    iopub.subscribe();
    this.sockets = {
      shell: new zmq.Dealer({ linger: 0 }),
      control: new zmq.Dealer({ linger: 0 }),
      stdin: new zmq.Dealer({ linger: 0 }),
      iopub,
    };
    this.sockets.shell.connect(url(info.shell_port));
    this.sockets.control.connect(url(info.control_port));
    this.sockets.stdin.connect(url(info.stdin_port));
    iopub.connect(url(info.iopub_port));
    this.hb.connect(url(info.hb_port));
    for (const ch of Object.keys(this.sockets) as Channel[]) void this.readLoop(ch);
  }

  private async readLoop(ch: Channel): Promise<void> {
    try {
      for await (const frames of this.sockets[ch]) {
        const m = decode(frames as Buffer[], this.info.key);
        if (m) this.inboxes[ch].push(m);
      }
    } catch {
      /* socket closed */
    }
  }

  /** Builds a message (header with a fresh msg_id). */
  message(msgType: string, content: Record<string, unknown>): Omit<Msg, 'signatureOk'> {
    return {
      header: {
        msg_id: randomUUID(), msg_type: msgType, session: this.session, username: 'kiln-test',
        date: new Date().toISOString(), version: '5.3',
      },
      parent_header: {}, metadata: {}, content, buffers: [],
    };
  }

  /** Sends a message, signed with the connection key; returns its msg_id. */
  async send(ch: Exclude<Channel, 'iopub'>, msg: Omit<Msg, 'signatureOk'>): Promise<string> {
    const parts = [JSON.stringify(msg.header), JSON.stringify(msg.parent_header), JSON.stringify(msg.metadata), JSON.stringify(msg.content)];
    await this.sendRaw(ch, [DELIM, sign(this.info.key, parts), ...parts]);
    return msg.header.msg_id;
  }

  /** Puts raw frames on a socket. */
  async sendRaw(ch: Exclude<Channel, 'iopub'>, frames: (string | Buffer)[]): Promise<void> {
    await (this.sockets[ch] as zmq.Dealer).send(frames);
  }

  /** Sends a request and waits for the reply whose parent is it. */
  async request(ch: 'shell' | 'control', msgType: string, content: Record<string, unknown>, timeoutMs = 10_000): Promise<Msg> {
    const id = await this.send(ch, this.message(msgType, content));
    return this.reply(ch, id, timeoutMs);
  }

  /** The reply (on `ch`) to the request `msgId`. */
  reply(ch: Channel, msgId: string, timeoutMs: number): Promise<Msg> {
    return this.inboxes[ch].next((m) => m.parent_header.msg_id === msgId, timeoutMs, `the reply to ${msgId} on ${ch}`);
  }

  /** The next message on `ch` matching `pred`. */
  next(ch: Channel, pred: (m: Msg) => boolean, timeoutMs: number, what = 'a message'): Promise<Msg> {
    return this.inboxes[ch].next(pred, timeoutMs, what);
  }

  /** Messages queued on `ch` (removed). */
  drain(ch: Channel): Msg[] {
    return this.inboxes[ch].drain();
  }

  /**
   * Waits until the kernel answers kernel_info on shell and its iopub reaches us (the SUB socket
   * only sees messages published after it joined, so this retries until a status message for one
   * of our requests arrives). Returns the first kernel_info_reply.
   */
  async waitReady(timeoutMs = 30_000): Promise<Msg> {
    const end = Date.now() + timeoutMs;
    const first = await this.request('shell', 'kernel_info_request', {}, timeoutMs);
    for (;;) {
      const id = await this.send('shell', this.message('kernel_info_request', {}));
      await this.reply('shell', id, Math.max(1, end - Date.now()));
      try {
        await this.next('iopub', (m) => m.parent_header.msg_id === id && m.header.msg_type === 'status', 200, 'iopub status');
        this.drain('iopub');
        return first;
      } catch {
        if (Date.now() > end) throw new Error('iopub never delivered a status message');
      }
    }
  }

  /** Runs one cell: returns the execute_reply and the iopub messages of it up to its idle status. */
  async execute(code: string, opts: { timeoutMs?: number; silent?: boolean; storeHistory?: boolean; stopOnError?: boolean; allowStdin?: boolean } = {}): Promise<{ reply: Msg; iopub: Msg[] }> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const id = await this.send('shell', this.message('execute_request', {
      code, silent: opts.silent ?? false, store_history: opts.storeHistory ?? true, user_expressions: {},
      allow_stdin: opts.allowStdin ?? false, stop_on_error: opts.stopOnError ?? true,
    }));
    return this.collect(id, timeoutMs);
  }

  /** The execute_reply to `id` and its iopub messages until idle. */
  async collect(id: string, timeoutMs: number): Promise<{ reply: Msg; iopub: Msg[] }> {
    const iopub: Msg[] = [];
    const end = Date.now() + timeoutMs;
    for (;;) {
      const m = await this.next('iopub', (x) => x.parent_header.msg_id === id, Math.max(1, end - Date.now()), `iopub of ${id}`);
      iopub.push(m);
      if (m.header.msg_type === 'status' && m.content.execution_state === 'idle') break;
    }
    const reply = await this.reply('shell', id, Math.max(1, end - Date.now()));
    return { reply, iopub };
  }

  /** One heartbeat ping; true when echoed. */
  async ping(): Promise<boolean> {
    try {
      await this.hb.send('ping');
      const [echo] = await this.hb.receive();
      return echo.toString() === 'ping';
    } catch {
      return false;
    }
  }

  /** Closes every socket. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of Object.values(this.sockets)) s.close();
    this.hb.close();
  }
}

/** Decodes frames (identities first, if any) into a message; undefined when malformed. */
export function decode(frames: Buffer[], key: string): Msg | undefined {
  let i = frames.findIndex((f) => f.length === DELIM.length && f.toString() === DELIM);
  if (i < 0) return undefined;
  const [sig, h, p, md, c, ...buffers] = frames.slice(i + 1);
  if (!c) return undefined;
  try {
    return {
      header: JSON.parse(h.toString()), parent_header: JSON.parse(p.toString()),
      metadata: JSON.parse(md.toString()), content: JSON.parse(c.toString()), buffers,
      signatureOk: sig.toString() === sign(key, [h, p, md, c]),
    };
  } catch {
    return undefined;
  }
}

/** The text of the stream messages of one stream name, concatenated. */
export function streamText(iopub: readonly Msg[], name: 'stdout' | 'stderr'): string {
  return iopub.filter((m) => m.header.msg_type === 'stream' && m.content.name === name).map((m) => m.content.text).join('');
}
