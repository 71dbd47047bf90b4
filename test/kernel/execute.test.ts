/**
 * Executing real cells: the KernelHandler with the worker-thread executor (kernel/worker.ts) and a fake
 * transport. TypeScript state across cells, top-level await, console output as streams, errors at the
 * cell's own line and column, magics from the shared command table with a progress bar updated in
 * place (`%report` too: one bar through all its phases, then the headline table), display()/input(),
 * completion and inspection against live values, and interrupts of a busy loop and of a pending await
 * after which the kernel keeps its state and keeps working.
 */
import { test } from 'uvu';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import * as assert from 'uvu/assert';
import { KernelHandler } from '../../kernel/handler.ts';
import { History } from '../../kernel/history.ts';
import { WorkerExecutor } from '../../kernel/worker-client.ts';
import { stripAnsi } from '../../kernel/traceback.ts';
import { FakeTransport, request } from './fakes.ts';
import type { Message } from '../../kernel/messages.ts';

const transport = new FakeTransport();
const executor = new WorkerExecutor();
const handler = new KernelHandler(transport, { executor, history: new History(), session: 'k', streamDelayMs: 5 });

/** Runs a cell; returns its reply content and its iopub messages (without status). */
async function exec(code: string, extra: object = {}): Promise<{ reply: Record<string, any>; io: [string, Record<string, any>][]; req: Message }> {
  const req = request('execute_request', { code, silent: false, store_history: true, allow_stdin: false, stop_on_error: true, ...extra });
  handler.receive('shell', req);
  const reply = (await transport.reply(req, 60_000)).msg.content as Record<string, any>;
  await transport.idle(req);
  return { reply, io: transport.iopub(req).filter(([t]) => t !== 'status'), req };
}
const result = (io: [string, Record<string, any>][]) => io.find(([t]) => t === 'execute_result')?.[1].data['text/plain'];
const streams = (io: [string, Record<string, any>][], name: string) => io.filter(([t, c]) => t === 'stream' && c.name === name).map(([, c]) => c.text).join('');

test.before(async () => {
  await executor.whenReady();
});
test.after(async () => {
  await executor.close();
});

test('TypeScript state persists across cells; the last expression is the execute_result', async () => {
  const a = await exec('const base: number = 40;\ninterface P { n: number }\nconst p: P = { n: 2 };');
  assert.is(a.reply.status, 'ok');
  assert.is(result(a.io), undefined);
  const b = await exec('base + p.n');
  assert.is(b.reply.status, 'ok');
  assert.is(result(b.io), '42');
  assert.is(b.reply.execution_count, a.reply.execution_count + 1);
});

test('results show as a REPL shows them: strings quoted, objects inspected; a cell ending in display() shows the display once', async () => {
  assert.is(result((await exec('"abc"')).io), "'abc'");
  assert.is(result((await exec('"it\'s"')).io), '"it\'s"');
  assert.is(result((await exec('"1"')).io), "'1'");
  assert.is(result((await exec('({ a: "x", n: [1, 2] })')).io), "{ a: 'x', n: [ 1, 2 ] }");
  const d = await exec('const shown = { v: 1 };\ndisplay(shown)');
  assert.equal(d.io.map(([t]) => t), ['execute_input', 'display_data']);
  assert.is(d.io[1][1].data['text/plain'], '{ v: 1 }');
  // the handle is still there for updates
  const h = await exec('const handle = display("a");\nhandle.update("b");\nhandle.id');
  assert.equal(h.io.map(([t]) => t), ['execute_input', 'display_data', 'update_display_data', 'execute_result']);
  assert.is(result(h.io), `'${h.io[1][1].transient.display_id}'`);
});

test('top-level await and console.log / console.error go to the stdout / stderr streams', async () => {
  const r = await exec('const got = await new Promise<string>((r) => setTimeout(() => r("late"), 20));\nconsole.log("hello, world", got);\nconsole.error("careful");\nprocess.stdout.write("raw\\n");');
  assert.is(r.reply.status, 'ok');
  assert.is(streams(r.io, 'stdout'), 'hello, world late\nraw\n');
  assert.is(streams(r.io, 'stderr'), 'careful\n');
  assert.is(result((await exec('got.length')).io), '4');
});

test('a runtime error points at the cell line and column; the kernel keeps working', async () => {
  const code = 'const k = 1;\nfunction check(v: number): void {\n  const s: string = "bad"; throw new RangeError("out of range: " + s + v);\n}\ncheck(k);';
  const r = await exec(code);
  assert.is(r.reply.status, 'error');
  assert.is(r.reply.ename, 'RangeError');
  assert.is(r.reply.evalue, 'out of range: bad1');
  const tb = r.reply.traceback.map(stripAnsi);
  const col = code.split('\n')[2].indexOf('new RangeError') + 1;
  assert.ok(tb.includes(`In [${r.reply.execution_count}], line 3, column ${col}:`), tb.join('\n'));
  assert.ok(tb.some((l: string) => l.startsWith('> 3 |   const s: string = "bad"; throw new RangeError')), tb.join('\n'));
  assert.ok(tb.some((l: string) => l.trim() === `at check (In [${r.reply.execution_count}]:3:${col})`), tb.join('\n'));
  assert.ok(tb.some((l: string) => l.trim() === `at In [${r.reply.execution_count}]:5:1`), tb.join('\n'));
  const errMsg = r.io.find(([t]) => t === 'error')![1];
  assert.is(errMsg.ename, 'RangeError');
  // a function from an earlier cell failing later still points into its own cell
  const later = await exec('check(2)');
  assert.ok(later.reply.traceback.map(stripAnsi).includes(`In [${r.reply.execution_count}], line 3, column ${col}:`));
  assert.is(result((await exec('k + 1')).io), '2');
});

test('a syntax error names the cell line and column', async () => {
  const r = await exec('const ok = 1;\nconst x = (1 + ;');
  assert.is(r.reply.status, 'error');
  assert.is(r.reply.ename, 'SyntaxError');
  const tb = r.reply.traceback.map(stripAnsi);
  assert.ok(tb.includes(`In [${r.reply.execution_count}], line 2, column 16:`), tb.join('\n'));
});

test('magics run commands from the shared table; progress updates one display in place', async () => {
  const load = await exec('%load zoo:mlp');
  assert.is(load.reply.status, 'ok', JSON.stringify(load.reply));
  const displays = load.io.filter(([t]) => t === 'display_data' || t === 'update_display_data');
  assert.ok(displays.length >= 1);
  assert.is(displays[0][0], 'display_data');
  const id = displays[0][1].transient.display_id;
  assert.ok(displays.every(([, c]) => c.transient.display_id === id));
  assert.ok(displays.slice(1).every(([t]) => t === 'update_display_data'));
  assert.ok(displays.every(([, c]) => typeof c.data['text/plain'] === 'string' && typeof c.data['text/html'] === 'string'));
  const step = await exec('%step\n%step\nsession.current');
  assert.is(step.reply.status, 'ok', JSON.stringify(step.reply));
  assert.is(result(step.io), '2');
  const back = await exec('%back\nsession.current');
  assert.is(result(back.io), '1');
  const ir = await exec('%ir');
  assert.match(result(ir.io), /Gemm/);
});

test('%report: the progress bar is one display updated in place through every phase; the result is the headline table', async () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-kernel-report-')), 'r');
  try {
    assert.is((await exec('%load zoo:mlp')).reply.status, 'ok');
    const r = await exec(`%report ${dir} --backend ref --repeat 1`);
    assert.is(r.reply.status, 'ok', JSON.stringify(r.reply));
    // the cell's bar: one display, then only updates of it, from the first pass to the writing
    const bar = r.io.filter(([t]) => t === 'display_data' || t === 'update_display_data');
    const labels = bar.map(([, c]) => c.data['text/plain'] as string);
    assert.match(labels[0], /^pass 1\/10: shape-infer \[-+\] 0%$/);
    assert.is(bar[0][0], 'display_data');
    const id = bar[0][1].transient.display_id;
    assert.ok(bar.slice(1).every(([t, c]) => t === 'update_display_data' && c.transient.display_id === id), labels.join('\n'));
    assert.ok(bar.length >= 3, labels.join('\n'));
    assert.match(labels.at(-1)!, new RegExp(`^wrote the report to ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\[█+\\] 100%$`));
    assert.match(bar.at(-1)![1].data['text/html'], /<progress [^>]*value="1\.0000"/);
    assert.match(streams(r.io, 'stdout'), new RegExp(`wrote \\d+ files to .*; open .*report\\.html`));
    // the result: the headline table (HTML and its Arrow stream), after the last progress update
    const at = r.io.findIndex(([t]) => t === 'execute_result');
    assert.ok(at > r.io.indexOf(bar.at(-1)!));
    const data = r.io[at][1].data;
    assert.match(data['text/plain'], /^headline: before and after/);
    assert.match(data['text/html'], /<table/);
    const t = tableFromIPC(Buffer.from(data['application/vnd.apache.arrow.stream'], 'base64'));
    assert.equal([...t.getChild('metric')!].map(String), [
      'latency: ref on the final graph vs ref on the loaded model', 'activation memory: naive (no reuse) vs planned peak', 'nodes: loaded model vs after the pipeline',
    ]);
    assert.ok([...t.getChild('before')!].every((x) => Number(x) > 0) && [...t.getChild('after')!].every((x) => Number(x) > 0));
    assert.ok(fs.existsSync(path.join(dir, 'manifest.json')) && fs.existsSync(path.join(dir, 'report.html')));
  } finally {
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  }
});

test('an unknown magic and a failing command are errors naming the magic', async () => {
  const r = await exec('%nosuchmagic 1');
  assert.is(r.reply.status, 'error');
  assert.match(r.reply.evalue, /unknown magic %nosuchmagic/);
  assert.ok(r.reply.traceback.map(stripAnsi).some((l: string) => l.includes('> 1 | %nosuchmagic 1')));
});

test('display() shows and updates by id; clearOutput sends clear_output', async () => {
  const r = await exec('const h = display("first", { id: "mine" });\nh.update("second");\nclearOutput(true);');
  assert.equal(r.io.map(([t]) => t), ['execute_input', 'display_data', 'update_display_data', 'clear_output']);
  assert.is(r.io[1][1].transient.display_id, 'mine');
  assert.is(r.io[2][1].data['text/plain'], 'second');
  assert.equal(r.io[3][1], { wait: true });
});

test('input() asks the frontend through stdin', async () => {
  const req = request('execute_request', { code: 'const who = await input("who? ");\n`hi ${who}`', allow_stdin: true, store_history: true });
  handler.receive('shell', req);
  const ir = await transport.waitFor((s) => s.channel === 'stdin' && s.msg.parent_header.msg_id === req.header.msg_id);
  assert.equal(ir.msg.content, { prompt: 'who? ', password: false });
  handler.receive('stdin', request('input_reply', { value: 'Ada' }));
  await transport.reply(req);
  await transport.idle(req);
  assert.is(result(transport.iopub(req)), "'hi Ada'");
});

/** Waits (bounded) until the cell of `req` has written `text` to stdout: it has reached that point. */
const reached = (req: Message, text: string) => transport.waitFor((s) => s.msg.parent_header.msg_id === req.header.msg_id
  && s.msg.header.msg_type === 'stream' && (s.msg.content as { text: string }).text.includes(text), 30_000);

test('interrupting a busy loop returns control; state survives and the kernel keeps working', async () => {
  await exec('let spins = 0; const keep = "kept";');
  const req = request('execute_request', { code: 'console.log("looping");\nwhile (true) { spins++; }', store_history: true });
  handler.receive('shell', req);
  await reached(req, 'looping');
  const intr = request('interrupt_request');
  handler.receive('control', intr);
  assert.equal((await transport.reply(intr)).msg.content, { status: 'ok' });
  const reply = (await transport.reply(req, 10_000)).msg.content as Record<string, any>;
  assert.is(reply.status, 'error');
  assert.is(reply.ename, 'Interrupted');
  const after = await exec('`${keep} ${spins > 0}`');
  assert.is(result(after.io), "'kept true'");
});

test('interrupting a pending await (and a loop after an await) also returns control', async () => {
  for (const code of ['console.log("waiting");\nawait new Promise(() => {})', 'await new Promise((r) => setTimeout(r, 10));\nconsole.log("looping");\nfor (;;) {}']) {
    const req = request('execute_request', { code, store_history: true });
    handler.receive('shell', req);
    await reached(req, code.includes('waiting') ? 'waiting' : 'looping');
    await handler.interrupt();
    const reply = (await transport.reply(req, 10_000)).msg.content as Record<string, any>;
    assert.is(reply.ename, 'Interrupted');
  }
  assert.is(result((await exec('keep')).io), "'kept'");
});

test('an exception thrown later by a background callback is reported on stderr, not fatal', async () => {
  await exec('setTimeout(() => { throw new Error("from a timer"); }, 5);');
  const reported = await transport.waitFor((s) => s.msg.header.msg_type === 'stream' && /from a timer/.test((s.msg.content as { text: string }).text));
  assert.is((reported.msg.content as { name: string }).name, 'stderr');
  const r = await exec('1 + 1');
  assert.is(result(r.io), '2');
});

test('completion sees live globals, Session members and magics; inspect documents kiln names', async () => {
  await exec('const myVariable = 1;');
  const complete = async (code: string, cursor = code.length) => {
    const req = request('complete_request', { code, cursor_pos: cursor });
    handler.receive('shell', req);
    return (await transport.reply(req)).msg.content as Record<string, any>;
  };
  const c1 = await complete('myVar');
  assert.ok(c1.matches.includes('myVariable'));
  assert.equal([c1.cursor_start, c1.cursor_end], [0, 5]);
  const c2 = await complete('session.ste');
  assert.ok(c2.matches.includes('step') && c2.matches.includes('stepTo'), JSON.stringify(c2.matches));
  assert.is(c2.cursor_start, 8);
  const c3 = await complete('%ste');
  assert.ok(c3.matches.includes('%step'));
  const c4 = await complete('%load zoo:mo');
  assert.ok(c4.matches.includes('zoo:mobilenetv2'), JSON.stringify(c4));
  assert.is(c4.cursor_start, 6);
  const ins = request('inspect_request', { code: 'load(', cursor_pos: 2, detail_level: 0 });
  handler.receive('shell', ins);
  const doc = (await transport.reply(ins)).msg.content as Record<string, any>;
  assert.is(doc.found, true);
  assert.match(doc.data['text/plain'], /^load\(model: string/);
  const ins2 = request('inspect_request', { code: 'session.back', cursor_pos: 10, detail_level: 0 });
  handler.receive('shell', ins2);
  assert.match(((await transport.reply(ins2)).msg.content as Record<string, any>).data['text/plain'], /Session\.back/);
  // names of Object.prototype members are not kiln docs: they describe the live value like any name
  for (const name of ['constructor', 'toString', 'session.constructor']) {
    const r = request('inspect_request', { code: name, cursor_pos: name.length, detail_level: 0 });
    handler.receive('shell', r);
    const c = (await transport.reply(r)).msg.content as Record<string, any>;
    assert.is(c.status, 'ok');
    assert.ok(!/^Session\.constructor:/.test(c.data['text/plain'] ?? ''), JSON.stringify(c));
    if (name !== 'session.constructor') assert.is(c.found, true, name);
  }
});

test('user_expressions are evaluated after the cell; one that throws or is not code gets its own error', async () => {
  const r = await exec('const ue = 6;', { user_expressions: { a: 'ue * 7', bad: 'nope.x', s: '`n=${ue}`', n: 5, t: 'throw new RangeError("out")', obj: '({ k: ue })' } });
  const ue = r.reply.user_expressions;
  assert.is(r.reply.status, 'ok');
  assert.equal(Object.keys(ue), ['a', 'bad', 's', 'n', 't', 'obj']);
  assert.equal(ue.a, { status: 'ok', data: ue.a.data, metadata: {} });
  assert.is(ue.a.data['text/plain'], '42');
  assert.equal([ue.bad.status, ue.bad.ename, ue.bad.evalue], ['error', 'ReferenceError', 'nope is not defined']);
  assert.ok(Array.isArray(ue.bad.traceback) && ue.bad.traceback.length > 0);
  assert.is(ue.s.data['text/plain'], "'n=6'");
  assert.equal([ue.n.status, ue.n.ename], ['error', 'TypeError']);
  assert.equal([ue.t.status, ue.t.ename, ue.t.evalue], ['error', 'RangeError', 'out']);
  assert.is(ue.obj.data['text/plain'], '{ k: 6 }');
  // nothing of the expressions shows on iopub: only the cell's own messages
  assert.equal(r.io.map(([t]) => t), ['execute_input']);
});

test('a user expression that never finishes is interrupted like a cell; the kernel keeps working', async () => {
  const req = request('execute_request', { code: 'const before = 1;', store_history: true, user_expressions: { forever: 'console.log("evaluating");\nawait new Promise(() => {})' } });
  handler.receive('shell', req);
  await reached(req, 'evaluating');
  await handler.interrupt();
  const reply = (await transport.reply(req, 10_000)).msg.content as Record<string, any>;
  assert.equal([reply.status, reply.ename], ['error', 'Interrupted']);
  assert.is(result((await exec('before + 1')).io), '2');
});

test('an interrupt while the worker is still starting cancels the waiting cell', async () => {
  const fresh = new WorkerExecutor();
  try {
    const cb = { stream: () => {}, display: () => {}, clear: () => {}, input: async () => '' };
    const cell = fresh.run('globalThis.ranAnyway = true; while (true) {}', 'In [1]', cb);
    await fresh.interrupt();
    const out = await cell;
    assert.is(out.ok, false);
    assert.is(!out.ok && out.error.ename, 'Interrupted');
    await fresh.whenReady();
    const check = await fresh.run('typeof ranAnyway', 'In [2]', cb);
    assert.is(check.ok && check.data?.['text/plain'], "'undefined'");
  } finally {
    await fresh.close();
  }
});

/** Child processes of this process (every thread's), with their state letter (Z: a zombie), from /proc. */
function children(): Map<number, string> {
  const out = new Map<number, string>();
  for (const task of fs.readdirSync(`/proc/${process.pid}/task`)) {
    let list = '';
    try { list = fs.readFileSync(`/proc/${process.pid}/task/${task}/children`, 'utf8'); } catch { continue; }
    for (const pid of list.trim().split(/\s+/).filter(Boolean).map(Number)) {
      try { out.set(pid, /^\d+ \(.*\) (\S)/.exec(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'))![1]); } catch { /* gone */ }
    }
  }
  return out;
}

test('a worker restart leaves no zombie: the cell worker starts no process of its own', async () => {
  const cb = { stream: () => {}, display: () => {}, clear: () => {}, input: async () => '' };
  const fresh = new WorkerExecutor({ graceMs: 50, terminateMs: 200 });
  try {
    await fresh.whenReady();
    assert.ok(fs.existsSync(`/proc/${process.pid}/task`), 'this test reads /proc (Linux)');
    assert.ok((await fresh.run('const typed: number = 1; typed', 'In [1]', cb)).ok);
    const before = children();
    // the worker dies by itself and is restarted
    const died = await fresh.run('const t: string = "x"; process.exit(3)', 'In [2]', cb);
    assert.is(!died.ok && died.error.ename, 'KernelRestarted');
    assert.ok((await fresh.run('const again: number = 2; again', 'In [3]', cb)).ok);
    const after = children();
    assert.equal([...after.keys()].sort(), [...before.keys()].sort(), 'the worker started or left child processes');
    assert.equal([...after.values()].filter((st) => st === 'Z'), [], `zombie children: ${JSON.stringify([...after])}`);
  } finally {
    await fresh.close();
  }
});

test.run();
