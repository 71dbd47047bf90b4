/**
 * The terminal app's engine over a worker thread (repl/worker-engine.ts + repl/worker.ts) with kiln's
 * real command table, display layer and cell runtime: lines run in the worker with the status text
 * coming back, progress is relayed while the line runs, completion and continuation are answered,
 * console output of code lands in the line's output, a soft interrupt stops a command at its next
 * check, and a hard interrupt stops code that never yields (a busy loop), restarts the worker and asks
 * the app to reload the model.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WorkerEngine } from '../../repl/worker-engine.ts';

const opts = { color: false, width: 100 };
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
  assert.match(load.output[0].text, 'session zoo:mlp (graph mlp), target cpu, at step 0 of 9');
  assert.is(load.status, 'zoo:mlp · cpu · step 0/9 (load) · next: shape-infer');
  const run = await engine.execute('runall', opts);
  assert.ok(run.ok, JSON.stringify(run.output));
  assert.is(run.status, 'zoo:mlp · cpu · step 9/9 (dce) · end of pipeline');
  assert.ok(progress.some((p) => /runall: fuse-conv-act \(7\/9\)/.test(p)), progress.join(' | '));
  const code = await engine.execute('console.log("hello from", session.source); session.current', opts);
  assert.equal(code.output, [{ kind: 'print', text: 'hello from zoo:mlp' }, { kind: 'result', text: '9' }]);
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

test('a soft interrupt stops a command at its next check', async () => {
  await engine.execute('goto 0', opts);
  let progressed!: () => void;
  const started = new Promise<void>((res) => { progressed = res; });
  engine.listeners = { progress: () => progressed() };
  const r = engine.execute('timings --repeat 100000', opts); // minutes, unless interrupted
  await started;
  const i = await engine.interrupt(false);
  assert.match(i.note ?? '', 'interrupting');
  const out = await r;
  assert.is(out.ok, false);
  assert.match(out.output[0].text, /interrupted/);
  assert.ok((await engine.execute('session.current', opts)).ok, 'the session survives');
});

test('a hard interrupt stops a busy loop, restarts the worker and asks to reload the model', async () => {
  const r = engine.execute('for (;;) {}', opts);
  await new Promise((res) => setTimeout(res, 300));
  assert.match((await engine.interrupt(false)).note ?? '', 'Ctrl-C again');
  const hard = await engine.interrupt(true);
  assert.equal(hard, { rerun: 'load zoo:mlp' });
  const out = await r;
  assert.equal(out.output, [{ kind: 'error', text: 'error: interrupted (the computation was stopped; the session was reset)' }]);
  const after = await engine.execute('session === undefined', opts);
  assert.equal(after.output, [{ kind: 'result', text: 'true' }], 'a fresh worker');
  assert.ok((await engine.execute(hard.rerun!, opts)).ok);
  assert.equal((await engine.execute('session.source', opts)).output, [{ kind: 'result', text: 'zoo:mlp' }]);
});

test.after(async () => {
  await engine.close();
});
test.run();
