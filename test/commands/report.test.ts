/**
 * `report DIR` through the shared command table (the `%report` magic and the REPL's `report`): it
 * writes the folder, returns the headline table, reports each phase through the context's progress,
 * stops at an interrupt without writing anything, and refuses bad arguments with the command's name.
 * `report --replay DIR [OUT]` reruns a folder without a session and returns the timings table.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runLine } from '../../compiler/commands/line.ts';
import { findCommand } from '../../compiler/commands/all.ts';
import { ResultTable } from '../../compiler/results/table.ts';
import { toMimeBundle } from '../../compiler/display/index.ts';
import { Session } from '../../compiler/session.ts';
import { fakeContext } from './fake-context.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-report-cmd-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('report DIR writes the folder and returns the headline table; progress names the phases', async () => {
  const s = Session.load('zoo:mlp');
  const ctx = fakeContext(s);
  try {
    const dir = path.join(tmp, 'r1');
    const r = await runLine(`report ${dir} --backend ref --repeat 1 --warmup 0`, ctx);
    assert.instance(r, ResultTable);
    const t = r as ResultTable;
    assert.equal(t.columnNames, ['metric', 'before', 'after', 'unit', 'change']);
    assert.ok(t.column('metric').some((m) => String(m).startsWith('latency: ref')), 'a latency row for ref');
    assert.match(toMimeBundle(t)['text/html'], /before/);
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    assert.equal(m.backends.map((b: { asked: string }) => b.asked), ['ref']);
    assert.equal(m.run.repeat, 1);
    assert.ok(fs.existsSync(path.join(dir, 'report.html')));
    const labels = ctx.progressLog.map((p) => p.label).join('\n');
    assert.match(labels, /pass 1\//);
    assert.match(labels, /ref on step \d+/);
    assert.match(labels, /wrote the report to /);
    assert.ok(ctx.printed.some((p) => p.includes(`open ${dir}/report.html`)), ctx.printed.join('\n'));
    assert.is(s.current, 0, 'the cursor stays');
  } finally {
    await s.close();
  }
});

test('an interrupt stops the report and nothing is written', async () => {
  const s = Session.load('zoo:mlp');
  const ctx = fakeContext(s);
  const ac = new AbortController();
  ctx.signal = ac.signal;
  // the first report of a phase always goes through the throttle
  ctx.progress = (label) => { if (label.startsWith('pass 1/')) ac.abort(); };
  try {
    const dir = path.join(tmp, 'r2');
    await runLine(`report ${dir} --backend ref`, ctx).then(() => assert.unreachable(), (e) => assert.match((e as Error).message, /^report: interrupted/));
    assert.not.ok(fs.existsSync(dir));
  } finally {
    await s.close();
  }
});

test('report --replay DIR OUT reruns the report without a session and returns the recorded vs replayed timings', async () => {
  const dir = path.join(tmp, 'r1'); // written by the first test
  const out = path.join(tmp, 'r1-again');
  const ctx = fakeContext();
  const r = await runLine(`report --replay ${dir} ${out}`, ctx);
  assert.instance(r, ResultTable);
  assert.equal((r as ResultTable).column('run'), ['ref (baseline)', 'ref']);
  assert.ok(ctx.printed.some((p) => /^replay reproduced the report: IR hashes identical: (\d+) of \1 steps/.test(p)), ctx.printed.join('\n'));
  assert.match(ctx.progressLog.map((p) => p.label).join('\n'), /comparing with the original/);
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')).replayOf.path, '../r1');
  await runLine(`report --replay ${dir} --repeat 2`, ctx).then(() => assert.unreachable(), (e) => assert.match((e as Error).message, /^report: --replay reruns the options its manifest records; --repeat cannot be given with it/));
  await runLine(`report --replay ${tmp}`, ctx).then(() => assert.unreachable(), (e) => assert.match((e as Error).message, /manifest\.json: cannot read report manifest/));
});

test('bad arguments are the command\'s errors', async () => {
  const s = Session.load('zoo:mlp');
  const ctx = fakeContext(s);
  try {
    await runLine('report', ctx).then(() => assert.unreachable(), (e) => assert.match((e as Error).message, /^report: /));
    await runLine(`report ${path.join(tmp, 'r3')} --backend nope`, ctx).then(() => assert.unreachable(), (e) => assert.match((e as Error).message, /^report: unknown backend 'nope'/));
    await runLine(`report ${tmp}`, ctx).then(() => assert.unreachable(), (e) => assert.match((e as Error).message, /^report: .*not empty/));
    await runLine('report x', fakeContext()).then(() => assert.unreachable(), (e) => assert.match((e as Error).message, /^report: no model is loaded/));
    assert.match(findCommand('report')!.details!, /--backend NAME/);
  } finally {
    await s.close();
  }
});

test.run();
