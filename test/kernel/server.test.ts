/**
 * The kernel on real zeromq sockets over 127.0.0.1: an in-process KernelServer (with a scripted
 * executor) and the real `kiln kernel -f` as a child process. kernel_info round trip with a valid
 * HMAC, a forged signature is dropped (no reply, logged) while the next valid message is answered,
 * heartbeat echo, iopub status, shutdown closing everything, and the child exiting 0 with no process
 * left behind after shutdown_request and after SIGTERM.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { spawn, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as zmq from 'zeromq';
import { KernelServer, type ConnectionInfo } from '../../kernel/server.ts';
import { History } from '../../kernel/history.ts';
import { FakeExecutor } from './fakes.ts';

const KEY = crypto.randomUUID();
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A minimal client: DEALER shell/control, SUB iopub, REQ heartbeat; signs with node:crypto. */
class Client {
  readonly shell = new zmq.Dealer({ routingId: 'test-client', linger: 0 });
  readonly control = new zmq.Dealer({ routingId: 'test-client', linger: 0 });
  readonly iopub = new zmq.Subscriber({ linger: 0 });
  readonly hb = new zmq.Request({ linger: 0 });
  readonly iopubMsgs: Record<string, any>[] = [];

  constructor(private readonly key: string) {}

  connect(ports: { shell: number; control: number; iopub: number; hb: number }): void {
    this.shell.connect(`tcp://127.0.0.1:${ports.shell}`);
    this.control.connect(`tcp://127.0.0.1:${ports.control}`);
    this.iopub.connect(`tcp://127.0.0.1:${ports.iopub}`);
    this.iopub.subscribe();
    this.hb.connect(`tcp://127.0.0.1:${ports.hb}`);
    void (async () => {
      try {
        for await (const frames of this.iopub) this.iopubMsgs.push(parse(frames));
      } catch { /* closed */ }
    })();
  }

  frames(msgType: string, content: object, signature?: string): { frames: Buffer[]; id: string } {
    const id = crypto.randomUUID();
    const header = { msg_id: id, username: 'test', session: 'client-session', date: new Date().toISOString(), msg_type: msgType, version: '5.3' };
    const json = [header, {}, {}, content].map((o) => JSON.stringify(o));
    const sig = signature ?? crypto.createHmac('sha256', this.key).update(json.join('')).digest('hex');
    return { frames: [Buffer.from('<IDS|MSG>'), Buffer.from(sig), ...json.map((j) => Buffer.from(j))], id };
  }

  async request(sock: zmq.Dealer, msgType: string, content: object = {}, timeoutMs = 10_000): Promise<Record<string, any>> {
    const { frames, id } = this.frames(msgType, content);
    await sock.send(frames);
    const reply = await withTimeout(sock.receive(), timeoutMs);
    const msg = parse(reply);
    assert.is(msg.parent_header.msg_id, id);
    return msg;
  }

  close(): void {
    for (const s of [this.shell, this.control, this.iopub, this.hb]) s.close();
  }
}

/** Decodes and verifies kernel frames (the kernel's signature is checked with KEY). */
function parse(frames: Buffer[]): Record<string, any> {
  const at = frames.findIndex((f) => f.toString() === '<IDS|MSG>');
  const json = frames.slice(at + 2, at + 6).map((f) => f.toString());
  const sig = crypto.createHmac('sha256', KEY).update(json.join('')).digest('hex');
  assert.is(frames[at + 1].toString(), sig, 'the kernel signs what it sends');
  const [header, parent_header, metadata, content] = json.map((j) => JSON.parse(j));
  return { header, parent_header, metadata, content };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<T>((_, rej) => { timer = setTimeout(() => rej(new Error(`no answer within ${ms} ms`)), ms); });
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 20 ms until it holds; fails after `ms` (a bounded deadline, not a measured time). */
async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`still waiting for ${what} after ${ms} ms`);
    await delay(20);
  }
}

/** Sends kernel_info requests until one's iopub status arrives: the subscription has reached the PUB socket. */
async function untilSubscribed(client: Client): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const info = await client.request(client.shell, 'kernel_info_request');
    const id = info.parent_header.msg_id;
    try {
      await until(() => client.iopubMsgs.some((m) => m.parent_header.msg_id === id), 'an iopub message', 200);
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
  }
}

test('in-process server: kernel_info round trip, forged signature dropped, heartbeat, iopub status, shutdown', async () => {
  const info: ConnectionInfo = { transport: 'tcp', ip: '127.0.0.1', shell_port: 0, iopub_port: 0, stdin_port: 0, control_port: 0, hb_port: 0, key: KEY, signature_scheme: 'hmac-sha256' };
  const executor = new FakeExecutor();
  const server = await KernelServer.start(info, { executor, history: new History(), version: '1.2.3' });
  const client = new Client(KEY);
  const logged: string[] = [];
  const origWrite = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => { logged.push(String(chunk)); return true; }) as typeof process.stderr.write;
  try {
    assert.ok(Object.values(server.ports).every((p) => p > 0));
    client.connect(server.ports);
    await untilSubscribed(client);

    const reply = await client.request(client.shell, 'kernel_info_request');
    assert.is(reply.header.msg_type, 'kernel_info_reply');
    assert.is(reply.content.protocol_version, '5.3');
    assert.is(reply.content.implementation_version, '1.2.3');
    assert.is(reply.content.language_info.name, 'typescript');

    // a forged signature: no reply, a line on stderr; the next valid request is answered
    const forged = client.frames('kernel_info_request', {}, 'f'.repeat(64));
    await client.shell.send(forged.frames);
    await until(() => logged.some((l) => /dropped a message on shell: invalid signature/.test(l)), 'the log line');
    const after = await client.request(client.shell, 'execute_request', { code: 'x', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });
    assert.is(after.parent_header.msg_id === forged.id, false);
    assert.equal(after.content, { status: 'ok', execution_count: 1, payload: [], user_expressions: {} });

    await client.hb.send('ping-1');
    const [echo] = await withTimeout(client.hb.receive(), 5000);
    assert.is(echo.toString(), 'ping-1');

    const idleOf = (id: string) => client.iopubMsgs.some((m) => m.parent_header.msg_id === id && m.content.execution_state === 'idle');
    await until(() => idleOf(after.parent_header.msg_id), 'the idle status');
    const states = client.iopubMsgs.filter((m) => m.parent_header.msg_id === after.parent_header.msg_id).map((m) => m.header.msg_type === 'status' ? m.content.execution_state : m.header.msg_type);
    assert.equal(states, ['busy', 'execute_input', 'execute_result', 'idle']);

    const down = await client.request(client.control, 'shutdown_request', { restart: false });
    assert.equal(down.content, { status: 'ok', restart: false });
    await withTimeout(server.closed, 5000);
    assert.ok(executor.closed);
  } finally {
    process.stderr.write = origWrite;
    client.close();
    await server.close();
  }
});

test('a replayed message (same frames, valid signature) is dropped and logged at debug level; fresh ones work', async () => {
  const info: ConnectionInfo = { transport: 'tcp', ip: '127.0.0.1', shell_port: 0, iopub_port: 0, stdin_port: 0, control_port: 0, hb_port: 0, key: KEY, signature_scheme: 'hmac-sha256' };
  const executor = new FakeExecutor();
  const log: [string, string][] = [];
  const server = await KernelServer.start(info, { executor, history: new History(), log: (level, text) => log.push([level, text]) });
  const client = new Client(KEY);
  try {
    client.connect(server.ports);
    const exec = client.frames('execute_request', { code: 'once', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });
    await client.shell.send(exec.frames);
    const first = parse(await withTimeout(client.shell.receive(), 10_000));
    assert.is(first.parent_header.msg_id, exec.id);
    assert.is(first.content.execution_count, 1);
    // the captured request again, on shell and on control: both dropped
    await client.shell.send(exec.frames);
    await client.control.send(exec.frames);
    await until(() => log.filter(([, t]) => /replayed message/.test(t)).length === 2, 'two replay log lines');
    assert.equal(log.map(([level]) => level), ['debug', 'debug']);
    assert.match(log[0][1], /^dropped a message on shell: replayed message/);
    assert.match(log[1][1], /^dropped a message on control: replayed message/);
    // shell requests are answered in order, so a replay that got through would be answered before this
    const fresh = await client.request(client.shell, 'execute_request', { code: 'again', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });
    assert.is(fresh.content.execution_count, 2);
    assert.equal(executor.ran.map((r) => r.code), ['once', 'again']);
    const control = await client.request(client.control, 'kernel_info_request');
    assert.is(control.header.msg_type, 'kernel_info_reply');
  } finally {
    client.close();
    await server.close();
  }
});

/** Free TCP ports on 127.0.0.1 (bound then released). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<net.Server>((res) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => res(s)); })));
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Starts `kiln kernel -f` as a child; returns it with a connected client once kernel_info answers. */
async function startChild() {
  const [shell, iopub, stdin, control, hb] = await freePorts(5);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-kernel-test-'));
  const file = path.join(dir, 'connection.json');
  fs.writeFileSync(file, JSON.stringify({ transport: 'tcp', ip: '127.0.0.1', shell_port: shell, iopub_port: iopub, stdin_port: stdin, control_port: control, hb_port: hb, key: KEY, signature_scheme: 'hmac-sha256', kernel_name: 'kiln' }));
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', 'kernel', '-f', file], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KILN_KERNEL_HISTORY: 'off' } });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  const client = new Client(KEY);
  client.connect({ shell, control, iopub, hb });
  const info = await client.request(client.shell, 'kernel_info_request', {}, 30_000);
  await untilSubscribed(client);
  return { child, client, exited, info, stderr: () => stderr, dir };
}

/** Node processes whose parent is `pid` (esbuild services and the like), from /proc. */
function childrenOf(pid: number): number[] {
  if (process.platform !== 'linux') return [];
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').map((s) => Number(s.trim())).filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when there are none
  }
}

/** Whether `pid` runs (a zombie waiting for a reaper counts as gone). */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

test('child process: kernel_info, a cell, forged signature ignored, shutdown_request exits 0 with nothing left', async () => {
  const k = await startChild();
  try {
    assert.is(k.info.content.implementation, 'kiln');
    const r = await k.client.request(k.client.shell, 'execute_request', { code: 'const z: number = 20; z + 22', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true }, 60_000);
    assert.is(r.content.status, 'ok');
    await k.client.shell.send(k.client.frames('kernel_info_request', {}, '00').frames);
    const grandchildren = childrenOf(k.child.pid!);
    const down = await k.client.request(k.client.control, 'shutdown_request', { restart: false });
    assert.equal(down.content, { status: 'ok', restart: false });
    assert.is(await withTimeout(k.exited, 10_000), 0);
    assert.match(k.stderr(), /invalid signature/);
    await until(() => grandchildren.every((pid) => !alive(pid)), `the kernel's children ${grandchildren.join(', ')} to exit`);
  } finally {
    k.client.close();
    if (k.child.exitCode === null) k.child.kill('SIGKILL');
    fs.rmSync(k.dir, { recursive: true, force: true });
  }
});

test('child process: SIGINT interrupts a busy cell, SIGTERM shuts the kernel down cleanly (exit 0)', async () => {
  const k = await startChild();
  try {
    const { frames, id } = k.client.frames('execute_request', { code: 'let spin = 0; console.log("spinning"); while (true) spin++;', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });
    await k.client.shell.send(frames);
    // the loop is running once its output has arrived
    await until(() => k.client.iopubMsgs.some((m) => m.header.msg_type === 'stream' && m.content.text === 'spinning\n'), 'the cell\'s output', 30_000);
    k.child.kill('SIGINT');
    const reply = parse(await withTimeout(k.client.shell.receive(), 15_000));
    assert.is(reply.parent_header.msg_id, id);
    assert.is(reply.content.status, 'error');
    assert.is(reply.content.ename, 'Interrupted');
    assert.is(k.child.exitCode, null);
    const after = await k.client.request(k.client.shell, 'execute_request', { code: 'spin > 0', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });
    assert.is(after.content.status, 'ok');
    k.child.kill('SIGTERM');
    assert.is(await withTimeout(k.exited, 10_000), 0);
  } finally {
    k.client.close();
    if (k.child.exitCode === null) k.child.kill('SIGKILL');
    fs.rmSync(k.dir, { recursive: true, force: true });
  }
});

test('in-process server over the ipc transport', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-ipc-'));
  const info: ConnectionInfo = { transport: 'ipc', ip: path.join(dir, 'kernel'), shell_port: 1, iopub_port: 2, stdin_port: 3, control_port: 4, hb_port: 5, key: KEY, signature_scheme: 'hmac-sha256' };
  const server = await KernelServer.start(info, { executor: new FakeExecutor(), history: new History() });
  const shell = new zmq.Dealer({ linger: 0 });
  try {
    assert.ok(fs.existsSync(path.join(dir, 'kernel-1')));
    shell.connect(`ipc://${path.join(dir, 'kernel')}-1`);
    const client = new Client(KEY);
    const reply = await client.request(shell, 'kernel_info_request');
    assert.is(reply.header.msg_type, 'kernel_info_reply');
    client.close();
  } finally {
    shell.close();
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a kernel whose parent process dies exits by itself (no orphan)', async () => {
  const [shell, iopub, stdin, control, hb] = await freePorts(5);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-orphan-'));
  const file = path.join(dir, 'connection.json');
  fs.writeFileSync(file, JSON.stringify({ transport: 'tcp', ip: '127.0.0.1', shell_port: shell, iopub_port: iopub, stdin_port: stdin, control_port: control, hb_port: hb, key: KEY, signature_scheme: 'hmac-sha256' }));
  // a shell starts the kernel in the background, prints its pid and stays (as `sleep`) until killed
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const cmd = `${quote(process.execPath)} --import tsx cli/main.ts kernel -f ${quote(file)} >/dev/null 2>&1 & echo $!; exec sleep 60`;
  const sh = spawn('sh', ['-c', cmd], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, KILN_KERNEL_HISTORY: 'off' } });
  const pid = Number(await new Promise<string>((res) => sh.stdout.once('data', (d: Buffer) => res(d.toString().trim()))));
  const client = new Client(KEY);
  try {
    client.connect({ shell, control, iopub, hb });
    const info = await client.request(client.shell, 'kernel_info_request', {}, 30_000);
    assert.is(info.header.msg_type, 'kernel_info_reply');
    assert.ok(alive(pid));
    sh.kill('SIGKILL'); // the kernel's parent dies
    await new Promise((r) => sh.on('exit', r));
    await until(() => !alive(pid), 'the orphaned kernel to exit');
  } finally {
    client.close();
    if (sh.exitCode === null && sh.signalCode === null) sh.kill('SIGKILL');
    if (alive(pid)) process.kill(pid, 'SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
