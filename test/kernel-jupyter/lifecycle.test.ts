/**
 * Kernel lifecycle through Debian's jupyter_client (test/kernel-jupyter/drive.py): an interrupt
 * during a long cell (interrupt_mode message, and SIGINT) returns control with the state kept;
 * user_expressions come back in execute_reply (an error each where they fail) without a stall; a
 * throwing cell leaves the kernel alive and its error points at the cell's own line; shutdown_request
 * on control and on shell, and SIGTERM, leave no process behind (the kernel pid and every
 * descendant, esbuild's service included, are gone).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { HERE, type JupyterEnv, descendants, isAlive, jupyterEnv, jsonLines, killEverything, python, sleep, track, waitGone } from './harness.ts';
import { startKernel } from './kernel-process.ts';
import { WireClient } from './wire-client.ts';

let env: JupyterEnv;

test.before(async () => {
  env = await jupyterEnv();
});

test.after(async () => {
  await killEverything();
  env?.dispose();
});

/** Runs a drive.py scenario; returns its JSON steps by name (the kernel pid is tracked for cleanup). */
async function drive(args: string[], timeoutMs: number): Promise<Map<string, Record<string, any>>> {
  const r = await python([path.join(HERE, 'drive.py'), ...args], { env: env.env, timeoutMs });
  const steps = new Map<string, Record<string, any>>();
  for (const s of jsonLines(r.stdout)) {
    steps.set(s.step, s);
    if (s.step === 'started') track(s.pid);
  }
  const where = `drive.py ${args.join(' ')} (exit ${r.code}${r.timedOut ? ', timed out' : ''})\n${r.stdout}\n${r.stderr.slice(-3000)}`;
  assert.ok(!steps.has('exception'), `${where}`);
  assert.ok(steps.has('done'), where);
  const started = steps.get('started')!;
  // whatever happened, the driver's kernel must be gone once it has exited
  assert.equal(await waitGone([started.pid], 5000), [], `kernel ${started.pid} still alive after ${where}`);
  return steps;
}

test('kernelspec asks for interrupt_mode message', () => {
  assert.is(env.spec.interrupt_mode, 'message');
  assert.is(env.spec.language, 'typescript');
  assert.ok(env.spec.argv.includes('{connection_file}'), JSON.stringify(env.spec.argv));
});

test('an interrupt during a long cell returns control and the kernel stays usable', async () => {
  const steps = await drive(['interrupt'], 120_000);
  assert.is(steps.get('started')!.interrupt_mode, 'message');
  assert.is(steps.get('define')!.status, 'ok');
  for (const label of ['busy-loop', 'await', 'busy-loop-sigint']) {
    const s = steps.get(label);
    assert.ok(s, `no ${label} step`);
    assert.ok(s.ok, `${label}: ${s.error}`);
    // an interrupted cell ends in an error reply (KeyboardInterrupt-like) before drive.py's deadline
    // (15 s; the await alone would last 60 s)
    assert.equal([s.status, s.ename], ['error', 'Interrupted'], `${label}: ${JSON.stringify(s)}`);
    assert.ok(s.outputs.includes('error'), `${label} published no error: ${s.outputs}`);
    const after = steps.get(`${label}-after`)!;
    assert.is(after.status, 'ok', `the cell after ${label}: ${JSON.stringify(after)}`);
    assert.is(after.result, '42', `state lost after ${label}: ${JSON.stringify(after)}`);
    assert.ok(after.alive);
  }
});

test('user_expressions through jupyter_client: each evaluated after the cell, one error each, no stall', async () => {
  const steps = await drive(['user-expressions'], 90_000);
  const reply = steps.get('reply');
  assert.ok(reply, 'no reply step');
  assert.is(reply.status, 'ok');
  const ue = reply.user_expressions;
  assert.equal(Object.keys(ue), ['a', 'text', 'bad', 'num', 'boom']);
  assert.equal([ue.a.status, ue.a.data['text/plain']], ['ok', '42']);
  assert.equal([ue.text.status, ue.text.data['text/plain']], ['ok', "'n=6'"]);
  assert.equal([ue.bad.status, ue.bad.ename], ['error', 'ReferenceError']);
  assert.equal([ue.num.status, ue.num.ename], ['error', 'TypeError']);
  assert.equal([ue.boom.status, ue.boom.ename, ue.boom.evalue], ['error', 'RangeError', 'out']);
  assert.equal(reply.outputs, ['status', 'execute_input', 'status']);
  assert.equal([steps.get('after')!.status, steps.get('after')!.result], ['ok', '7']);
});

test('a throwing cell leaves the kernel alive; errors point at the cell line', async () => {
  const steps = await drive(['throw'], 90_000);
  const thrown = steps.get('throw')!;
  assert.is(thrown.status, 'error');
  assert.is(thrown.ename, 'Error');
  assert.is(thrown.evalue, 'boom');
  assert.is(thrown.errors.length, 1);
  assert.ok(thrown.alive);
  const runtime = steps.get('runtime')!;
  assert.is(runtime.status, 'error');
  assert.is(runtime.ename, 'TypeError');
  // the traceback names the cell's own line 3, column 3 (where `b.field` is read) and quotes the line
  const tb = (runtime.traceback as string[]).join('\n').replace(/\x1b\[[0-9;]*m/g, '');
  assert.match(tb, /line 3, column 3/, tb);
  assert.match(tb, /In \[\d+\]:3:3/, tb);
  assert.match(tb, /> 3 \| b\.field\.x = a;/, tb);
  const after = steps.get('after')!;
  assert.is(after.status, 'ok');
  assert.is(after.result, '42');
  const syntax = steps.get('syntax')!;
  assert.is(syntax.status, 'error');
  assert.is(syntax.ename, 'SyntaxError');
  assert.match((syntax.traceback as string[]).join('\n').replace(/\x1b\[[0-9;]*m/g, ''), /line 1, column 7/);
  assert.ok(syntax.alive);
  const afterSyntax = steps.get('after-syntax')!;
  assert.is(afterSyntax.status, 'ok');
  assert.is(afterSyntax.result, '43');
});

for (const channel of ['control', 'shell']) {
  test(`shutdown_request on ${channel} ends the kernel and every child`, async () => {
    const steps = await drive(['shutdown', '--channel', channel], 60_000);
    const tree = steps.get('tree')!;
    const s = steps.get('shutdown')!;
    assert.is(s.reply_type, 'shutdown_reply', JSON.stringify(s));
    assert.is(s.reply.status, 'ok');
    assert.is(s.reply.restart, false);
    assert.is(s.exit_code, 0, JSON.stringify(s));
    assert.equal(s.alive, [], `left behind: ${s.alive}`);
    assert.equal(await waitGone([tree.pid, ...tree.tree], 1000), []);
  });
}

test('SIGTERM ends the kernel and every child', async () => {
  const k = await startKernel(env);
  const client = new WireClient(k.info);
  try {
    await client.waitReady(60_000);
    const { reply } = await client.execute('1 + 1');
    assert.is(reply.content.status, 'ok');
    const tree = descendants(k.pid);
    process.kill(k.pid, 'SIGTERM');
    const exit = await Promise.race([k.exited, sleep(10_000).then(() => undefined)]);
    assert.ok(exit, `kernel ignored SIGTERM for 10 s\n${k.log()}`);
    assert.equal(await waitGone([k.pid, ...tree], 5000), [], `left behind of ${k.pid}: ${tree.filter(isAlive)}`);
  } finally {
    client.close();
  }
});

test.run();
