/**
 * The KernelHandler's protocol logic with a fake transport and a scripted executor: kernel_info,
 * busy/idle around every request, execute (counter, execute_input, streams, displays, results, errors,
 * silent, store_history, user_expressions), stop_on_error aborting queued cells, stdin input,
 * control while a cell runs, interrupt, complete/inspect with code-point offsets, is_complete, history,
 * comm_info and shutdown.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KernelHandler } from '../../kernel/handler.ts';
import { History } from '../../kernel/history.ts';
import { FakeExecutor, FakeTransport, request, type Script } from './fakes.ts';

function setup(scripts: Record<string, Script> = {}) {
  const transport = new FakeTransport();
  const executor = new FakeExecutor(scripts);
  const shutdowns: boolean[] = [];
  const history = new History();
  const log: [string, string][] = [];
  const handler = new KernelHandler(transport, {
    executor, history, session: 'kernel-sess', version: '9.9.9', streamDelayMs: 5, onShutdown: (r) => shutdowns.push(r), log: (level, text) => log.push([level, text]),
  });
  return { transport, executor, handler, shutdowns, history, log };
}

const types = (list: [string, Record<string, unknown>][]) => list.map(([t, c]) => (t === 'status' ? `status:${c.execution_state}` : t));

test('kernel_info_reply: protocol 5.3, kiln, TypeScript language_info, wrapped in busy/idle', async () => {
  const { transport, handler } = setup();
  const req = request('kernel_info_request');
  handler.receive('shell', req);
  const { msg, channel } = await transport.reply(req);
  await transport.idle(req);
  assert.is(channel, 'shell');
  assert.is(msg.header.msg_type, 'kernel_info_reply');
  const c = msg.content as Record<string, any>;
  assert.is(c.status, 'ok');
  assert.is(c.protocol_version, '5.3');
  assert.is(c.implementation, 'kiln');
  assert.is(c.implementation_version, '9.9.9');
  assert.equal(c.language_info.name, 'typescript');
  assert.is(c.language_info.file_extension, '.ts');
  assert.is(c.language_info.mimetype, 'text/x.typescript');
  assert.is(c.language_info.codemirror_mode, 'typescript');
  assert.is(typeof c.banner, 'string');
  assert.equal(msg.identities?.map(String), ['client-7']);
  assert.is(msg.header.session, 'kernel-sess');
  assert.is(msg.parent_header.msg_id, req.header.msg_id);
  assert.equal(types(transport.iopub(req)), ['status:busy', 'status:idle']);
});

test('execute: counter, execute_input, coalesced streams, display/update, execute_result, reply and history', async () => {
  const { transport, handler, executor, history } = setup({
    'cell A': async (cb) => {
      cb.stream('stdout', 'a');
      cb.stream('stdout', 'b\n');
      cb.stream('stderr', 'warn\n');
      cb.display({ 'text/plain': 'bar 0%' }, 'd1', false);
      cb.display({ 'text/plain': 'bar 100%' }, 'd1', true);
      return { ok: true, data: { 'text/plain': '42' } };
    },
  });
  const req = request('execute_request', { code: 'cell A', silent: false, store_history: true, user_expressions: { two: '1+1' }, allow_stdin: false, stop_on_error: true });
  handler.receive('shell', req);
  const { msg } = await transport.reply(req);
  await transport.idle(req);
  assert.equal(msg.content, { status: 'ok', execution_count: 1, payload: [], user_expressions: { two: { status: 'ok', data: { 'text/plain': '=1+1' }, metadata: {} } } });
  const io = transport.iopub(req);
  assert.equal(types(io), ['status:busy', 'execute_input', 'stream', 'stream', 'display_data', 'update_display_data', 'execute_result', 'status:idle']);
  assert.equal(io[1][1], { code: 'cell A', execution_count: 1 });
  assert.equal(io[2][1], { name: 'stdout', text: 'ab\n' });
  assert.equal(io[3][1], { name: 'stderr', text: 'warn\n' });
  assert.equal(io[4][1], { data: { 'text/plain': 'bar 0%' }, metadata: {}, transient: { display_id: 'd1' } });
  assert.equal(io[5][1], { data: { 'text/plain': 'bar 100%' }, metadata: {}, transient: { display_id: 'd1' } });
  assert.equal(io[6][1], { execution_count: 1, data: { 'text/plain': '42' }, metadata: {} });
  assert.equal(executor.ran, [{ code: 'cell A', label: 'In [1]', expressions: [['two', '1+1']] }]);
  // the history keeps inputs, not outputs
  assert.equal(history.query({ hist_access_type: 'tail', n: 5, output: true, raw: true }), [[history.session, 1, ['cell A', null]]]);
});

test('the counter advances only for stored cells; silent sends nothing on iopub', async () => {
  const { transport, handler, executor } = setup();
  const a = request('execute_request', { code: 'x', store_history: false });
  const b = request('execute_request', { code: 'y', silent: true });
  const c = request('execute_request', { code: 'z' });
  const blank = request('execute_request', { code: '  \n' });
  for (const r of [a, b, c, blank]) handler.receive('shell', r);
  await handler.whenIdle();
  const counts = await Promise.all([a, b, c, blank].map(async (r) => ((await transport.reply(r)).msg.content as { execution_count: number }).execution_count));
  assert.equal(counts, [0, 0, 1, 1]);
  assert.equal(executor.ran.map((r) => r.label), ['<cell>', '<cell>', 'In [1]']);
  assert.equal(types(transport.iopub(b)), ['status:busy', 'status:idle']);
  assert.equal(types(transport.iopub(a)), ['status:busy', 'execute_input', 'execute_result', 'status:idle']);
});

test('an error: iopub error, error reply with ename/evalue/traceback, and queued cells aborted', async () => {
  const err = { ename: 'TypeError', evalue: 'x is not a function', traceback: ['TypeError: x is not a function', 'In [1], line 2, column 3:'] };
  const { transport, handler, executor } = setup({ fail: async () => ({ ok: false, error: err }) });
  const bad = request('execute_request', { code: 'fail' });
  const next1 = request('execute_request', { code: 'next1' });
  const info = request('kernel_info_request');
  const next2 = request('execute_request', { code: 'next2' });
  for (const r of [bad, next1, info, next2]) handler.receive('shell', r);
  await handler.whenIdle();
  const reply = (await transport.reply(bad)).msg.content;
  assert.equal(reply, { status: 'error', execution_count: 1, ...err, payload: [], user_expressions: {} });
  assert.equal(transport.iopub(bad).find(([t]) => t === 'error')![1], err);
  for (const r of [next1, next2]) {
    assert.equal((await transport.reply(r)).msg.content, { status: 'aborted', execution_count: 1 });
    assert.equal(types(transport.iopub(r)), ['status:busy', 'status:idle']);
  }
  assert.is((await transport.reply(info)).msg.header.msg_type, 'kernel_info_reply');
  assert.equal(executor.ran.map((r) => r.code), ['fail']);
  // the next request after the abort runs normally
  const after = request('execute_request', { code: 'after' });
  handler.receive('shell', after);
  assert.is(((await transport.reply(after)).msg.content as { status: string }).status, 'ok');
});

test('stop_on_error false keeps the queue', async () => {
  const { transport, handler, executor } = setup({ fail: async () => ({ ok: false, error: { ename: 'E', evalue: 'v', traceback: [] } }) });
  const bad = request('execute_request', { code: 'fail', stop_on_error: false });
  const next = request('execute_request', { code: 'next' });
  handler.receive('shell', bad);
  handler.receive('shell', next);
  await handler.whenIdle();
  assert.is(((await transport.reply(next)).msg.content as { status: string }).status, 'ok');
  assert.equal(executor.ran.map((r) => r.code), ['fail', 'next']);
});

test('input(): input_request on stdin addressed like the request, answered by input_reply', async () => {
  let got = '';
  const { transport, handler } = setup({
    ask: async (cb) => { got = await cb.input('Name? ', false); return { ok: true, data: { 'text/plain': got } }; },
  });
  const req = request('execute_request', { code: 'ask', allow_stdin: true });
  handler.receive('shell', req);
  const ir = await transport.waitFor((s) => s.channel === 'stdin');
  assert.is(ir.msg.header.msg_type, 'input_request');
  assert.equal(ir.msg.content, { prompt: 'Name? ', password: false });
  assert.equal(ir.msg.identities?.map(String), ['client-7']);
  assert.is(ir.msg.parent_header.msg_id, req.header.msg_id);
  handler.receive('stdin', request('input_reply', { value: 'Ada' }));
  await transport.reply(req);
  assert.is(got, 'Ada');
});

test('input() without allow_stdin fails inside the cell', async () => {
  let error = '';
  const { transport, handler } = setup({
    ask: async (cb) => { try { await cb.input('x', false); } catch (e) { error = (e as Error).message; } return { ok: true }; },
  });
  const req = request('execute_request', { code: 'ask', allow_stdin: false });
  handler.receive('shell', req);
  await transport.reply(req);
  assert.match(error, /allow_stdin is false/);
  assert.not.ok(transport.sent.some((s) => s.channel === 'stdin'));
});

test('control requests are answered while a cell runs; interrupt_request stops it', async () => {
  let executor!: FakeExecutor;
  const env = setup({ loop: FakeExecutor.blocking(() => executor) });
  executor = env.executor;
  const { transport, handler } = env;
  const cell = request('execute_request', { code: 'loop' });
  handler.receive('shell', cell);
  await transport.waitFor((s) => s.msg.header.msg_type === 'execute_input');
  const info = request('kernel_info_request');
  handler.receive('control', info);
  const infoReply = await transport.reply(info);
  assert.is(infoReply.channel, 'control');
  assert.not.ok(transport.sent.some((s) => s.msg.parent_header.msg_id === cell.header.msg_id && s.msg.header.msg_type === 'execute_reply'));
  const intr = request('interrupt_request');
  handler.receive('control', intr);
  assert.equal((await transport.reply(intr)).msg.content, { status: 'ok' });
  const reply = (await transport.reply(cell)).msg.content as Record<string, unknown>;
  assert.is(reply.status, 'error');
  assert.is(reply.ename, 'Interrupted');
  assert.is(executor.interrupts, 1);
  assert.equal(types(transport.iopub(intr)), ['status:busy', 'status:idle']);
});

test('complete and inspect convert code-point offsets (an emoji before the cursor)', async () => {
  const { transport, handler } = setup();
  const code = 'const s = "😀"; alp';
  const cp = [...code].length;
  const req = request('complete_request', { code, cursor_pos: cp });
  handler.receive('shell', req);
  const c = (await transport.reply(req)).msg.content as Record<string, unknown>;
  assert.equal(c, { status: 'ok', matches: ['alpha', 'alphabet'], cursor_start: cp - 3, cursor_end: cp, metadata: {} });
  const ins = request('inspect_request', { code: 'known', cursor_pos: 2, detail_level: 0 });
  handler.receive('shell', ins);
  assert.equal((await transport.reply(ins)).msg.content, { status: 'ok', found: true, data: { 'text/plain': 'known: documented' }, metadata: {} });
  const miss = request('inspect_request', { code: 'zzz', cursor_pos: 1 });
  handler.receive('shell', miss);
  assert.equal((await transport.reply(miss)).msg.content, { status: 'ok', found: false, data: {}, metadata: {} });
});

test('is_complete, comm_info and history requests', async () => {
  const { transport, handler } = setup();
  for (const code of ['a = 1', 'b = 2', 'a = 1']) handler.receive('shell', request('execute_request', { code }));
  const ic = request('is_complete_request', { code: 'f(' });
  const ci = request('comm_info_request', { target_name: 'x' });
  const tail = request('history_request', { hist_access_type: 'tail', n: 2, output: false, raw: true });
  const search = request('history_request', { hist_access_type: 'search', pattern: 'a*', unique: true, output: false, raw: true });
  const range = request('history_request', { hist_access_type: 'range', session: 0, start: 2, stop: 3, output: false, raw: true });
  for (const r of [ic, ci, tail, search, range]) handler.receive('shell', r);
  await handler.whenIdle();
  assert.equal((await transport.reply(ic)).msg.content, { status: 'incomplete', indent: '  ' });
  assert.equal((await transport.reply(ci)).msg.content, { status: 'ok', comms: {} });
  const s = (await transport.reply(tail)).msg.content as { history: unknown[] };
  const sess = (s.history[0] as number[])[0];
  assert.equal(s.history, [[sess, 2, 'b = 2'], [sess, 3, 'a = 1']]);
  assert.equal(((await transport.reply(search)).msg.content as { history: unknown[] }).history, [[sess, 3, 'a = 1']]);
  assert.equal(((await transport.reply(range)).msg.content as { history: unknown[] }).history, [[sess, 2, 'b = 2']]);
});

test('shutdown_request on control replies, then calls onShutdown after the idle status', async () => {
  const { transport, handler, shutdowns } = setup();
  const req = request('shutdown_request', { restart: true });
  handler.receive('control', req);
  const r = await transport.reply(req);
  assert.is(r.channel, 'control');
  assert.equal(r.msg.content, { status: 'ok', restart: true });
  await transport.idle(req);
  await new Promise((res) => setImmediate(res));
  assert.equal(shutdowns, [true]);
});

test('unknown message types get busy/idle but no reply; comm messages are ignored quietly', async () => {
  const { transport, handler } = setup();
  const req = request('comm_open', { comm_id: 'c', target_name: 't', data: {} });
  handler.receive('shell', req);
  await handler.whenIdle();
  assert.equal(types(transport.iopub(req)), ['status:busy', 'status:idle']);
  assert.not.ok(transport.sent.some((s) => s.channel !== 'iopub'));
});

test('user_expressions: each evaluated after the cell, in order; a failing or non-string one gets its own error', async () => {
  const { transport, handler, executor, log } = setup({ fail: async () => ({ ok: false, error: { ename: 'Error', evalue: 'no', traceback: [] } }) });
  const run = async (content: object) => {
    const req = request('execute_request', { silent: false, store_history: true, allow_stdin: false, stop_on_error: false, ...content });
    handler.receive('shell', req);
    const reply = (await transport.reply(req)).msg.content as Record<string, any>;
    await transport.idle(req);
    return { reply, req };
  };
  const raw = JSON.parse('{"a": "1+1", "boom": "!nope", "n": 7, "__proto__": "p", "list": ["x"], "z": "last"}');
  const { reply } = await run({ code: 'cell', user_expressions: raw });
  assert.is(reply.status, 'ok');
  const ue = reply.user_expressions;
  assert.equal(Object.keys(ue), ['a', 'boom', 'n', '__proto__', 'list', 'z']);
  assert.equal(ue.a, { status: 'ok', data: { 'text/plain': '=1+1' }, metadata: {} });
  assert.equal(ue.boom, { status: 'error', ename: 'ReferenceError', evalue: 'nope is not defined', traceback: ['ReferenceError: nope is not defined'] });
  assert.is(ue.n.status, 'error');
  assert.is(ue.n.ename, 'TypeError');
  assert.is(ue.n.evalue, "user expression 'n' must be a string of code, got number");
  assert.is(Object.getPrototypeOf(ue), Object.prototype, '__proto__ is a name, not a prototype');
  assert.equal(Object.getOwnPropertyDescriptor(ue, '__proto__')!.value, { status: 'ok', data: { 'text/plain': '=p' }, metadata: {} });
  assert.is(ue.list.evalue, "user expression 'list' must be a string of code, got an array");
  assert.equal(ue.z.data, { 'text/plain': '=last' });
  // only the strings went to the executor, in order
  assert.equal(executor.ran[0].expressions, [['a', '1+1'], ['boom', '!nope'], ['__proto__', 'p'], ['z', 'last']]);
  // the reply as sent on the wire keeps __proto__ as a key
  assert.match(JSON.stringify(reply), /"__proto__":\{"status":"ok"/);

  // a failing cell: no expression is evaluated, user_expressions is empty
  const failed = await run({ code: 'fail', user_expressions: { a: '1' } });
  assert.equal([failed.reply.status, failed.reply.user_expressions], ['error', {}]);
  // blank code still evaluates them; silent ones too, with nothing on iopub
  const blank = await run({ code: '  ', user_expressions: { b: 'x' } });
  assert.equal(blank.reply.user_expressions.b.data, { 'text/plain': '=x' });
  const silent = await run({ code: 'quiet', silent: true, user_expressions: { c: 'y' } });
  assert.equal(silent.reply.user_expressions.c.data, { 'text/plain': '=y' });
  assert.equal(types(transport.iopub(silent.req)), ['status:busy', 'status:idle']);
  // not an object: ignored with a note
  const bad = await run({ code: 'cell', user_expressions: 'a+b' });
  assert.equal([bad.reply.status, bad.reply.user_expressions], ['ok', {}]);
  assert.ok(log.some(([level, t]) => level === 'warn' && t === 'ignoring user_expressions: expected an object of name → code, got string'), JSON.stringify(log));
  // blank code without expressions does not reach the executor
  await run({ code: '' });
  assert.equal(executor.ran.map((r) => r.code), ['cell', 'fail', '  ', 'quiet', 'cell']);
});

test('message types named like Object.prototype members are unknown types, nothing more', async () => {
  const { transport, executor, handler, shutdowns, log } = setup();
  const names = ['__proto__', 'constructor', 'valueOf', 'toString', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__'];
  for (const channel of ['shell', 'control'] as const) {
    for (const name of names) {
      const req = request(name, { code: 'x' });
      handler.receive(channel, req);
      await transport.idle(req);
      assert.equal(types(transport.iopub(req)), ['status:busy', 'status:idle'], name);
      assert.not.ok(transport.sent.some((s) => s.channel !== 'iopub' && s.msg.parent_header.msg_id === req.header.msg_id), `${name} got a reply`);
    }
  }
  assert.equal(log, [...names, ...names].map((n, i) => ['warn', `ignoring unsupported ${i < names.length ? 'shell' : 'control'} message '${n}'`]));
  assert.equal(executor.ran, []);
  assert.equal(shutdowns, []);
  // the handler table is intact: real requests still work
  const info = request('kernel_info_request');
  handler.receive('shell', info);
  assert.is((await transport.reply(info)).msg.header.msg_type, 'kernel_info_reply');
  const exec = request('execute_request', { code: 'after' });
  handler.receive('shell', exec);
  assert.is(((await transport.reply(exec)).msg.content as { status: string }).status, 'ok');
});

test.run();
