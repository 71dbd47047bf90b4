/**
 * The kernel process's sockets: binds the five zeromq 6 sockets a Jupyter connection file names, runs
 * the receive loops, and connects them to the KernelHandler through the wire codec.
 *
 * shell, control and stdin are ROUTER sockets, iopub a PUB socket, heartbeat a REP socket that echoes
 * every message. Addresses are `tcp://IP:PORT` or, for the ipc transport, `ipc://IP-PORT` (Jupyter's
 * convention); a port of 0 binds a free port (`ports` tells which). Every received message is decoded
 * and verified (kernel/wire.ts); a bad one is reported on stderr and dropped, a replayed one (its
 * signature already accepted once, on any channel) is dropped and logged at debug level only (shown
 * when `KILN_KERNEL_DEBUG` is set). Sends go through one
 * promise chain per socket, because a zeromq.js socket allows only one pending send.
 *
 * Lifetime: `close()` (after shutdown_request, on SIGTERM, or when the parent process goes away —
 * the parent pid changing means Jupyter died) stops the cell worker and closes every socket with a
 * short linger so the last replies still go out; `closed` then resolves. SIGINT interrupts the running
 * cell (interrupt_mode signal) instead of stopping the kernel.
 */
import crypto from 'node:crypto';
import * as zmq from 'zeromq';
import { KernelHandler } from './handler.ts';
import { History, defaultHistoryFile } from './history.ts';
import { Signer, SignatureHistory, ReplayedMessage, decode, encode, WireError, type OutgoingMessage } from './wire.ts';
import { stderrLog, type KernelLog } from './log.ts';
import { WorkerExecutor, type CellExecutor } from './worker-client.ts';
import type { Channel } from './messages.ts';
import { readRegularFile } from '../compiler/files.ts';

/** A Jupyter connection file. */
export interface ConnectionInfo {
  transport: 'tcp' | 'ipc';
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

/** Options of `KernelServer.start`. */
export interface ServerOptions {
  /** The executor (default: a WorkerExecutor). */
  executor?: CellExecutor;
  /** The history (default: the user's history file, see kernel/history.ts). */
  history?: History;
  /** Install SIGINT/SIGTERM handlers and the parent watch (the `kiln kernel` process does). */
  processHooks?: boolean;
  version?: string;
  /** Where the kernel's own log lines go (default: stderr, see kernel/log.ts); the handler's too. */
  log?: KernelLog;
  /** How many accepted signatures are remembered to refuse replays (default SIGNATURE_HISTORY_SIZE). */
  signatureHistory?: number;
}


/** Reads and checks a connection file. */
export function readConnectionFile(file: string): ConnectionInfo {
  const info = JSON.parse(readRegularFile(file, 'connection file').toString('utf8')) as Partial<ConnectionInfo>;
  for (const k of ['ip', 'shell_port', 'iopub_port', 'stdin_port', 'control_port', 'hb_port'] as const) {
    if (info[k] === undefined) throw new Error(`connection file ${file} has no '${k}'`);
  }
  return { transport: 'tcp', key: '', signature_scheme: 'hmac-sha256', ...info } as ConnectionInfo;
}

type SocketName = 'shell' | 'control' | 'stdin' | 'iopub' | 'hb';

/** A running kernel: sockets + handler + executor. */
export class KernelServer {
  readonly handler: KernelHandler;
  /** Resolves once the kernel has shut down. */
  readonly closed: Promise<void>;
  /** The bound ports by socket (useful when the connection file asked for port 0). */
  readonly ports: Record<SocketName, number> = { shell: 0, control: 0, stdin: 0, iopub: 0, hb: 0 };
  private readonly sockets: Record<SocketName, zmq.Router | zmq.Publisher | zmq.Reply>;
  private readonly chains = new Map<SocketName, Promise<void>>();
  private resolveClosed!: () => void;
  private closing: Promise<void> | undefined;
  private readonly cleanups: (() => void)[] = [];

  private readonly seen: SignatureHistory;

  private constructor(
    private readonly info: ConnectionInfo, private readonly signer: Signer, private readonly executor: CellExecutor, history: History, version: string,
    private readonly log: KernelLog, signatureHistory: number | undefined,
  ) {
    this.seen = new SignatureHistory(signatureHistory);
    this.closed = new Promise((r) => { this.resolveClosed = r; });
    const linger = 1000;
    this.sockets = {
      shell: new zmq.Router({ linger }), control: new zmq.Router({ linger }), stdin: new zmq.Router({ linger }),
      iopub: new zmq.Publisher({ linger }), hb: new zmq.Reply({ linger: 0 }),
    };
    this.handler = new KernelHandler(
      { send: (channel, msg) => this.send(channel, msg) },
      { executor, history, session: crypto.randomUUID(), version, log, onShutdown: () => void this.close() },
    );
  }

  /** Binds the sockets of `info` and starts serving. */
  static async start(info: ConnectionInfo, opts: ServerOptions = {}): Promise<KernelServer> {
    const signer = new Signer(info.key ?? '', info.signature_scheme || 'hmac-sha256');
    const executor = opts.executor ?? new WorkerExecutor();
    const server = new KernelServer(info, signer, executor, opts.history ?? new History(defaultHistoryFile()), opts.version ?? '0.0.0', opts.log ?? stderrLog, opts.signatureHistory);
    await server.bindAll();
    for (const ch of ['shell', 'control', 'stdin'] as const) void server.receiveLoop(ch);
    void server.heartbeat();
    if (opts.processHooks) server.installProcessHooks();
    server.handler.start();
    return server;
  }

  private address(port: number): string {
    const { transport, ip } = this.info;
    if (transport === 'ipc') return `ipc://${ip}-${port}`;
    return `tcp://${ip}:${port === 0 ? '*' : port}`;
  }

  private async bindAll(): Promise<void> {
    const ports: Record<SocketName, number> = {
      shell: this.info.shell_port, control: this.info.control_port, stdin: this.info.stdin_port, iopub: this.info.iopub_port, hb: this.info.hb_port,
    };
    for (const name of Object.keys(ports) as SocketName[]) {
      const sock = this.sockets[name];
      await sock.bind(this.address(ports[name]));
      const m = /:(\d+)$/.exec(sock.lastEndpoint ?? '');
      this.ports[name] = this.info.transport === 'tcp' && m ? Number(m[1]) : ports[name];
    }
  }

  private async receiveLoop(channel: 'shell' | 'control' | 'stdin'): Promise<void> {
    const sock = this.sockets[channel] as zmq.Router;
    try {
      for await (const frames of sock) {
        let msg;
        try {
          msg = decode(frames, this.signer, this.seen);
        } catch (e) {
          if (!(e instanceof WireError)) throw e;
          this.log(e instanceof ReplayedMessage ? 'debug' : 'warn', `dropped a message on ${channel}: ${e.message}`);
          continue;
        }
        this.handler.receive(channel, msg);
      }
    } catch (e) {
      if (!this.closing) this.log('warn', `${channel} socket failed: ${(e as Error).message}`);
    }
  }

  private async heartbeat(): Promise<void> {
    const hb = this.sockets.hb as zmq.Reply;
    try {
      for await (const frames of hb) await hb.send(frames);
    } catch (e) {
      if (!this.closing) this.log('warn', `heartbeat socket failed: ${(e as Error).message}`);
    }
  }

  private send(channel: Channel, msg: OutgoingMessage): void {
    const name: SocketName = channel;
    const sock = this.sockets[name] as zmq.Router | zmq.Publisher;
    const frames = encode(msg, this.signer);
    const prev = this.chains.get(name) ?? Promise.resolve();
    const next = prev.then(() => (sock.closed ? undefined : sock.send(frames))).catch((e: Error) => {
      if (!this.closing) this.log('warn', `cannot send ${msg.header.msg_type} on ${channel}: ${e.message}`);
    });
    this.chains.set(name, next);
  }

  private installProcessHooks(): void {
    const onInt = () => { void this.handler.interrupt(); };
    const onTerm = () => { void this.close(); };
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    const parent = process.ppid;
    const watch = setInterval(() => { if (process.ppid !== parent) void this.close(); }, 1000);
    watch.unref();
    this.cleanups.push(() => { process.off('SIGINT', onInt); process.off('SIGTERM', onTerm); clearInterval(watch); });
  }

  /** Stops the worker and closes the sockets (idempotent); resolves when done. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const c of this.cleanups) c();
      await Promise.allSettled([...this.chains.values()]);
      await this.executor.close().catch(() => undefined);
      for (const s of Object.values(this.sockets)) s.close();
      this.resolveClosed();
    })();
    return this.closing;
  }
}
