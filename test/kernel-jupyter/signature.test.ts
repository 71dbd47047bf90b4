/**
 * Message authentication against the real kernel over raw zeromq (the zeromq package, a client
 * written from the spec in wire-client.ts): a request with a wrong HMAC on the shell port gets no
 * reply and no iopub traffic, while a correctly signed one right after it is answered (and the
 * answer is signed with the connection key); the control port rejects forgeries too; an unsigned
 * request is rejected when a key is set; a captured request sent again (its valid signature already
 * seen) is dropped, as jupyter_client's Session does; and with an empty key, messages go unsigned.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHmac } from 'node:crypto';
import { type JupyterEnv, jupyterEnv, killEverything, sleep, waitGone } from './harness.ts';
import { type StartedKernel, startKernel } from './kernel-process.ts';
import { WireClient, sign } from './wire-client.ts';

let env: JupyterEnv;
let kernel: StartedKernel;
let client: WireClient;

test.before(async () => {
  env = await jupyterEnv();
  kernel = await startKernel(env, 'a-secret-key');
  client = new WireClient(kernel.info);
  await client.waitReady(60_000);
});

test.after(async () => {
  client?.close();
  await killEverything();
  env?.dispose();
});

/** Frames of a kernel_info_request signed with `key` (or with `signature` when given). */
function frames(c: WireClient, opts: { key?: string; signature?: string }): { id: string; frames: string[] } {
  const m = c.message('kernel_info_request', {});
  const parts = [JSON.stringify(m.header), JSON.stringify(m.parent_header), JSON.stringify(m.metadata), JSON.stringify(m.content)];
  const sig = opts.signature ?? sign(opts.key ?? '', parts);
  return { id: m.header.msg_id, frames: ['<IDS|MSG>', sig, ...parts] };
}

/** True when any shell or iopub message answers `id` within `ms`. */
async function answered(id: string, ms: number, channel: 'shell' | 'control' = 'shell'): Promise<boolean> {
  const reply = client.next(channel, (m) => m.parent_header.msg_id === id, ms).then(() => true, () => false);
  const iopub = client.next('iopub', (m) => m.parent_header.msg_id === id, ms).then(() => true, () => false);
  const [a, b] = await Promise.all([reply, iopub]);
  return a || b;
}

test('a forged signature on shell gets no reply; a signed request right after does', async () => {
  const forged = frames(client, { key: 'the-wrong-key' });
  await client.sendRaw('shell', forged.frames);
  const good = frames(client, { key: kernel.info.key });
  await client.sendRaw('shell', good.frames);
  const reply = await client.reply('shell', good.id, 10_000);
  assert.is(reply.header.msg_type, 'kernel_info_reply');
  assert.ok(reply.signatureOk, 'the reply is signed with the connection key');
  assert.is(reply.content.status, 'ok');
  assert.not.ok(await answered(forged.id, 1500), 'the forged request was answered');
});

test('a tampered body (signature of another content) is rejected', async () => {
  const m = client.message('execute_request', { code: 'globalThis.tampered = 1', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });
  const parts = [JSON.stringify(m.header), JSON.stringify(m.parent_header), JSON.stringify(m.metadata), JSON.stringify(m.content)];
  const sig = sign(kernel.info.key, parts);
  const evil = JSON.stringify({ ...m.content, code: 'globalThis.tampered = 2' });
  await client.sendRaw('shell', ['<IDS|MSG>', sig, parts[0], parts[1], parts[2], evil]);
  assert.not.ok(await answered(m.header.msg_id, 1500));
  const { reply, iopub } = await client.execute('typeof globalThis.tampered');
  assert.is(reply.content.status, 'ok');
  const result = iopub.find((x) => x.header.msg_type === 'execute_result');
  assert.ok(result);
  assert.match(result.content.data['text/plain'], /undefined/);
});

test('unsigned and garbage-signed requests are rejected on shell and control', async () => {
  for (const sig of ['', 'not-hex-at-all', createHmac('sha256', 'x').update('y').digest('hex')]) {
    const f = frames(client, { signature: sig });
    await client.sendRaw('shell', f.frames);
    const c = frames(client, { signature: sig });
    await client.sendRaw('control', c.frames);
    assert.not.ok(await answered(f.id, 700), `shell answered signature '${sig}'`);
    assert.not.ok(await answered(c.id, 300, 'control'), `control answered signature '${sig}'`);
  }
  // the kernel is still there and answers properly signed requests on both
  assert.is((await client.request('control', 'kernel_info_request', {})).header.msg_type, 'kernel_info_reply');
  assert.ok(await client.ping(), 'heartbeat');
});

test('a replayed request (the same frames, validly signed) is dropped; a fresh one right after is answered', async () => {
  const m = client.message('execute_request', { code: 'globalThis.replays = (globalThis.replays ?? 0) + 1', silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true });
  const parts = [JSON.stringify(m.header), JSON.stringify(m.parent_header), JSON.stringify(m.metadata), JSON.stringify(m.content)];
  const captured = ['<IDS|MSG>', sign(kernel.info.key, parts), ...parts];
  await client.sendRaw('shell', captured);
  const first = await client.collect(m.header.msg_id, 30_000);
  assert.is(first.reply.content.status, 'ok');
  await client.sendRaw('shell', captured);
  // shell requests are handled in arrival order: a replay that got through would run and be answered first
  const { reply, iopub } = await client.execute('globalThis.replays');
  assert.is(reply.content.status, 'ok');
  assert.is(iopub.find((x) => x.header.msg_type === 'execute_result')?.content.data['text/plain'], '1');
  assert.equal(client.drain('shell').filter((x) => x.parent_header.msg_id === m.header.msg_id), [], 'the replay was answered');
  assert.equal(client.drain('iopub').filter((x) => x.parent_header.msg_id === m.header.msg_id), [], 'the replay was published');
});

test('with an empty key, messages are unsigned and accepted', async () => {
  const k = await startKernel(env, '');
  const c = new WireClient(k.info);
  try {
    const info = await c.waitReady(60_000);
    assert.is(info.header.msg_type, 'kernel_info_reply');
    assert.ok(info.signatureOk); // '' === sign('', ...)
    const { reply } = await c.execute('6 * 7');
    assert.is(reply.content.status, 'ok');
    await c.request('control', 'shutdown_request', { restart: false });
    const exit = await Promise.race([k.exited, sleep(10_000).then(() => undefined)]);
    assert.ok(exit, 'kernel did not exit after shutdown_request');
    assert.equal(await waitGone([k.pid], 2000), []);
  } finally {
    c.close();
  }
});

test.run();
