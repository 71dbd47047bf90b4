/**
 * The terminal app's engine over a worker thread (repl/worker-engine.ts + repl/worker.ts) with kiln's
 * real command table, display layer and cell runtime: lines run in the worker with the status text
 * coming back, progress is relayed while the line runs (a report's too, phase by phase), completion
 * and continuation are answered, console output of code lands in the line's output, an interrupt
 * stops a command at its next check, and one interrupt stops code that never yields (a busy loop)
 * the way the kernel does, keeping the session, its steps and the variables; only where that cannot
 * work is the worker restarted, and the app asked to reload the model.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkerEngine } from '../../repl/worker-engine.ts';
import { ExecutionTerminator } from '../../kernel/worker-client.ts';
import { waitFor } from './fakes.ts';

const opts = { color: false, width: 100 };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-repl-worker-'));
const until = (check: () => boolean, what: string) => waitFor(check, () => what, 30_000);
let engine: WorkerEngine;

test.before(async () => {
  engine = new WorkerEngine();
  await engine.started();
});

test('lines run in the worker; the status comes back; progress is relayed', async () => {
  assert.is(engine.status(), 'no model loaded: load MODEL (zoo:mlp, zoo:resnet50, file.onnx, file.kir)');
  const progress: string[] = [];
  engine.listeners = { progress: (label) => progress.push(label) };
  const load = await engine.execute('load zoo:mlp', opts);
  assert.ok(load.ok, JSON.stringify(load.output));
  assert.match(load.output[0].text, 'session zoo:mlp (graph mlp), target cpu, at step 0 of 10');
  assert.is(load.status, 'zoo:mlp · cpu · step 0/10 (load) · next: shape-infer');
  const run = await engine.execute('runall', opts);
  assert.ok(run.ok, JSON.stringify(run.output));
  assert.is(run.status, 'zoo:mlp · cpu · step 10/10 (dce) · end of pipeline');
  assert.ok(progress.some((p) => /runall: fuse-conv-act \(7\/10\)/.test(p)), progress.join(' | '));
  const code = await engine.execute('console.log("hello from", session.source); session.current', opts);
  assert.equal(code.output, [{ kind: 'print', text: 'hello from zoo:mlp' }, { kind: 'result', text: '10' }]);
  const bad = await engine.execute('back 99', opts);
  assert.is(bad.ok, false);
  assert.match(bad.output[0].text, /^error: back: /);
});

test('completion and continuation are answered by the worker', async () => {
  assert.equal(await engine.complete('passes fuse-c'), { start: 7, candidates: ['fuse-conv-act'] });
  const code = await engine.complete('session.nodesT');
  assert.equal(code.candidates, ['nodesTable']);
  assert.is(code.start, 8);
  assert.is(await engine.needsMore('const f = (x: number) => {'), true);
  assert.is(await engine.needsMore('step'), false);
});

test('an interrupt stops a command at its next check; the session survives', async () => {
  await engine.execute('goto 0', opts);
  let progressed!: () => void;
  const started = new Promise<void>((res) => { progressed = res; });
  engine.listeners = { progress: () => progressed() };
  const r = engine.execute('timings --repeat 100000', opts); // minutes, unless interrupted
  await started;
  assert.equal(await engine.interrupt(), {});
  const out = await r;
  assert.is(out.ok, false);
  assert.equal(out.output, [{ kind: 'error', text: 'error: interrupted' }]);
  assert.ok((await engine.execute('session.current', opts)).ok, 'the session survives');
});

test('one interrupt stops a busy loop and keeps the session, its steps and the variables', async () => {
  assert.ok((await engine.execute('goto 3', opts)).ok);
  assert.ok((await engine.execute('const kept = 41', opts)).ok);
  const flag = path.join(tmp, 'spinning');
  // the line writes a file just before it spins: polling for the file tells the loop is running
  const r = engine.execute(`(await import('node:fs')).writeFileSync(${JSON.stringify(flag)}, 'x'); while (true) {}`, opts);
  await until(() => fs.existsSync(flag), 'the busy loop to start');
  assert.equal(await engine.interrupt(), {}, 'no reload asked: nothing was lost');
  const out = await r;
  assert.equal(out.output, [{ kind: 'error', text: 'error: interrupted' }]);
  assert.is(out.status, 'zoo:mlp · cpu · step 3/10 (fold-constants) · next: cse');
  assert.equal((await engine.execute('kept + 1', opts)).output, [{ kind: 'result', text: '42' }], 'variables kept');
  assert.equal((await engine.execute('session.current', opts)).output, [{ kind: 'result', text: '3' }], 'steps kept');
});

test('when busy code cannot be stopped, the worker restarts and the app is asked to reload the model', async () => {
  /** A terminator without an inspector, as where Runtime.terminateExecution is unavailable. */
  class NoInspector extends ExecutionTerminator {
    override async terminate(): Promise<boolean> {
      return false;
    }
  }
  const fallback = new WorkerEngine({ graceMs: 200, terminateMs: 2000 }, new NoInspector());
  try {
    await fallback.started();
    assert.ok((await fallback.execute('load zoo:mlp', opts)).ok);
    const flag = path.join(tmp, 'spinning-2');
    const r = fallback.execute(`(await import('node:fs')).writeFileSync(${JSON.stringify(flag)}, 'x'); for (;;) {}`, opts);
    await until(() => fs.existsSync(flag), 'the busy loop to start');
    assert.equal(await fallback.interrupt(), { rerun: 'load zoo:mlp' });
    const out = await r;
    assert.equal(out.output, [{ kind: 'error', text: 'error: interrupted (the computation did not stop, so the worker was restarted and the session reset)' }]);
    assert.equal((await fallback.execute('session === undefined', opts)).output, [{ kind: 'result', text: 'true' }], 'a fresh worker');
  } finally {
    await fallback.close();
  }
});

test('report relays its progress phase by phase; the result is the headline table; the cursor stays', async () => {
  const before = (await engine.execute('load zoo:mlp', opts)).status;
  const progress: [string, number | undefined][] = [];
  engine.listeners = { progress: (label, fraction) => progress.push([label, fraction]) };
  const dir = path.join(tmp, 'report');
  const r = await engine.execute(`report ${dir} --backend ref --repeat 1`, opts);
  assert.ok(r.ok, JSON.stringify(r.output));
  assert.is(r.status, before);
  const labels = progress.map(([l]) => l);
  assert.equal(progress[0], ['pass 1/10: shape-infer', 0]);
  for (const phase of [/^passes done \(10 steps\)$/, /^planning memory$/, /^writing the report$/]) assert.ok(labels.some((l) => phase.test(l)), `${phase}: ${labels.join(' | ')}`);
  assert.equal(progress.at(-1), [`wrote the report to ${dir}`, 1]);
  assert.equal(r.output.map((o) => o.kind), ['print', 'result']);
  assert.match(r.output[0].text, new RegExp(`^wrote \\d+ files to ${dir}; open ${dir}/report\\.html$`));
  assert.match(r.output[1].text, /^headline: before and after\n/);
  // (the metric column is cut to the 100-column width)
  assert.match(r.output[1].text, /^latency: ref on the final graph vs ref on the loaded (model|…) +[\d.]+ +[\d.]+ +ms /m);
  assert.match(r.output[1].text, /^nodes: loaded model vs after the pipeline +5 +3 +nodes /m);
  assert.ok(fs.existsSync(path.join(dir, 'manifest.json')));
});

test('an interrupt with no line running does nothing', async () => {
  assert.equal(await engine.interrupt(), {});
  assert.ok((await engine.execute('1 + 1', opts)).ok);
});

test.after(async () => {
  await engine.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});
test.run();
