/**
 * The one Backend path (compiler/runtime/backend.ts, backends.ts): the reference executor as the `ref`
 * backend (unsupported nodes with reasons, prepare, run, one kernel report per node, dispose), the
 * registry's errors for unknown and unavailable backends, and every caller — `runConformance`,
 * `kiln conformance`, `kiln run`, the Session's execute and timings — reaching a backend registered
 * here (test/support/fake-backend.ts: reference results, made-up kernels, counted calls).
 */
import { test } from 'uvu';
import { expectTensors } from '../../compiler/ir/value.ts';
import * as assert from 'uvu/assert';
import { captureConsole } from '../support/cli.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Graph } from '../../compiler/ir/graph.ts';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { KilnError } from '../../compiler/errors.ts';
import { registerOps } from '../../compiler/ops/registry.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { importOnnx } from '../../compiler/import/onnx/import.ts';
import { writeTensorFile } from '../../compiler/import/onnx/tensor-proto.ts';
import { zooModel } from '../../compiler/zoo/index.ts';
import { DEFAULT_BACKEND, backendNames, findBackend, registerBackend, useBackend } from '../../compiler/runtime/backends.ts';
import { refBackend } from '../../compiler/runtime/ref-backend.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { randomInputs } from '../../compiler/runtime/inputs.ts';
import { runConformance } from '../../compiler/runtime/conformance.ts';
import { Session } from '../../compiler/session.ts';
import { defaultPipeline } from '../../compiler/passes/all.ts';
import { conformanceCommand } from '../../cli/commands/conformance.ts';
import { runCommand } from '../../cli/commands/run.ts';
import { modelBytes, node, value } from '../import/onnx-build.ts';
import { fakeBackend } from '../support/fake-backend.ts';

const f32 = (v: number[], shape = [v.length]) => Tensor.fromNumbers('f32', shape, v);

registerOps([{
  name: 'TestOnlyNoF64', inputs: [1, 1], outputs: [1, 1], parseAttrs: () => ({}), unsupportedDTypes: ['f64'],
  inferTypes: (ins) => [ins[0]!], run: (ins) => [ins[0]!],
}]);

// registered for this file's tests only (every test file is imported before any test runs)
const fake = fakeBackend('test-fake');
const unregister: (() => void)[] = [];
test.before(() => {
  unregister.push(registerBackend(fake.backend));
  unregister.push(registerBackend(fakeBackend('test-unavailable', { unavailable: 'no C compiler found (tried cc, gcc, clang)' }).backend));
});
test.after(() => { for (const u of unregister) u(); });

test('the registry: the reference executor first and default; unknown and unavailable backends are errors with reasons', async () => {
  assert.is(backendNames()[0], 'ref');
  assert.is(DEFAULT_BACKEND, 'ref');
  assert.is(findBackend('ref'), refBackend);
  assert.ok(backendNames().includes('test-fake'));
  assert.is(await useBackend('test-fake'), fake.backend);
  assert.throws(() => registerBackend(fakeBackend('test-fake').backend), /backend 'test-fake' is already registered/);
  const remove = registerBackend(fakeBackend('test-removed').backend);
  assert.ok(backendNames().includes('test-removed'));
  remove();
  assert.not.ok(backendNames().includes('test-removed'));
  for (const [name, want] of [['nope', /^unknown backend 'nope'; backends: ref, .*test-fake/], ['test-unavailable', "backend 'test-unavailable' cannot run here: no C compiler found (tried cc, gcc, clang)"]] as const) {
    try { await useBackend(name, { substitute: false }); assert.unreachable(name); } catch (e) { assert.instance(e, KilnError); assert.match((e as Error).message, want); }
  }
});

test('a backend that cannot run here is replaced by the reference backend, said once through onWarning', async () => {
  const said: string[] = [];
  assert.is(await useBackend('test-unavailable', { onWarning: (m) => said.push(m) }), refBackend);
  assert.equal(said, ['no C compiler found (tried cc, gcc, clang); running on the reference backend']);
  // an unknown name is still an error, substitution or not
  try { await useBackend('nope', { onWarning: (m) => said.push(m) }); assert.unreachable('nope'); } catch (e) { assert.match((e as Error).message, /^unknown backend 'nope'/); }
  assert.is(said.length, 1);
});

test('ref backend: unsupported lists every node with an unknown op or a dtype its kernel refuses', () => {
  const g = parseGraph(`kiln.graph @g(%a: f64[2], %b: f32[2]) -> (%y: f64[2], %z: f32[2]) {
  %y = TestOnlyNoF64(%a) : f64[2]
  %z = TestOnlyNoF64(%b) : f32[2]
  return %y, %z
}`);
  assert.equal(refBackend.unsupported(g), [{ node: 'y', op: 'TestOnlyNoF64', reason: 'op TestOnlyNoF64 does not support f64' }]);
  // a graph with an op no registry knows (built by hand: the parser and importer refuse it)
  const unknown: Graph = { ...g, nodes: [{ ...g.nodes[1], op: 'NoSuchOp' }], outputs: ['z'] };
  assert.equal(refBackend.unsupported(unknown), [{ node: 'z', op: 'NoSuchOp', reason: 'op NoSuchOp has no reference kernel' }]);
  assert.equal(refBackend.unsupported(zooModel('mlp')), []);
});

test('ref backend: prepare, run (the reference results), one kernel per node with its id, no artifacts, dispose', async () => {
  assert.equal(await refBackend.available(), { ok: true });
  const g = zooModel('mlp');
  const inputs = randomInputs(g, 1);
  const p = await refBackend.prepare(g, undefined);
  assert.equal([p.backend, p.artifacts], ['ref', []]);
  assert.ok(p.prepareMs >= 0);
  const events: { kernel: string; nodes: readonly string[]; ms: number }[] = [];
  const got = expectTensors(await p.run(inputs, { onKernel: (e) => events.push(e) }));
  assert.equal(Array.from(got[0].data as Float32Array), Array.from(runReference(g, inputs)[0].data as Float32Array));
  const ids = g.nodes.map((n) => n.outputs[0]);
  assert.equal(events.map((e) => [e.kernel, e.nodes]), ids.map((id) => [id, [id]]));
  assert.ok(events.every((e) => e.ms >= 0));
  const stop = new AbortController();
  stop.abort();
  try { expectTensors(await p.run(inputs, { signal: stop.signal })); assert.unreachable(); } catch (e) { assert.is((e as Error).name, 'AbortError'); }
  await p.dispose();
  try { expectTensors(await p.run(inputs)); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /was disposed/); }
});

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-backends-'));
function writeCase(name: string, op: string, a: number[], b: number[], y: number[]): void {
  const dir = path.join(root, 'cases', name, 'test_data_set_0');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(root, 'cases', name, 'model.onnx'), modelBytes({
    nodes: [node(op, ['a', 'b'], ['y'])], inputs: [value('a', 1, [2]), value('b', 1, [2])], outputs: [value('y', 1, [2])],
  }));
  writeTensorFile(path.join(dir, 'input_0.pb'), f32(a));
  writeTensorFile(path.join(dir, 'input_1.pb'), f32(b));
  writeTensorFile(path.join(dir, 'output_0.pb'), f32(y));
}
writeCase('test_add', 'Add', [1, 2], [10, 20], [11, 22]);
writeCase('test_sub', 'Sub', [1, 2], [10, 20], [-9, -18]);

test('runConformance and kiln conformance --backend reach a registered backend: its skips, its programs, disposed', async () => {
  const { backend, calls } = fakeBackend('test-conf', { unsupportedOps: ['Sub'] });
  unregister.push(registerBackend(backend));
  const report = await runConformance(path.join(root, 'cases'), { backend: 'test-conf' });
  assert.equal(report.results.map((r) => [r.name, r.status, r.reason]), [
    ['test_add', 'pass', undefined], ['test_sub', 'skip', "test-conf has no kernel for Sub (node 'Sub_0')"],
  ]);
  assert.equal([calls.prepared, calls.runs, calls.disposed], [1, 1, 1]);
  const out = await captureConsole(() => conformanceCommand([path.join(root, 'cases'), '--backend', 'test-conf']));
  assert.equal([out.code, out.out], [0, "SKIP test_sub: test-conf has no kernel for Sub (node 'Sub_0')\n1 passed, 0 failed, 1 skipped\n"]);
  assert.is(calls.prepared, 2);
  // a backend that cannot run here: the reference backend runs the cases, with one note
  const notes: string[] = [];
  const sub = await runConformance(path.join(root, 'cases'), { backend: 'test-unavailable', onWarning: (m) => notes.push(m) });
  assert.equal([sub.backend, sub.passed, notes], ['ref', 2, ['no C compiler found (tried cc, gcc, clang); running on the reference backend']]);
  const cli = await captureConsole(() => conformanceCommand([path.join(root, 'cases'), '--backend', 'test-unavailable']));
  assert.equal([cli.code, cli.out, cli.err], [0, '2 passed, 0 failed, 0 skipped\n', 'note: no C compiler found (tried cc, gcc, clang); running on the reference backend\n']);
});

test('kiln run --backend: the registry\'s backend runs, compileMs is its prepareMs, import time apart; unavailable runs on ref with a note', async () => {
  const before = { ...fake.calls };
  const r = await captureConsole(() => runCommand(['zoo:mlp', '--backend', 'test-fake', '--repeat', '2', '--json']));
  assert.is(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal([j.backend, j.compileMs, j.repeat], ['test-fake', 42, 2]);
  assert.ok(typeof j.importMs === 'number' && j.importMs > 0);
  assert.equal([fake.calls.prepared - before.prepared, fake.calls.runs - before.runs, fake.calls.disposed - before.disposed], [1, 3, 1], 'one warm-up, two timed runs');
  const text = await captureConsole(() => runCommand(['zoo:mlp', '--backend', 'test-fake']));
  assert.match(text.out, /^zoo:mlp on test-fake: import [\d.]+ ms, compile 42\.0 ms, run [\d.]+ ms \(median of 1/);
  // with a pipeline: the passes' time apart, and the backend prepares the optimised graph (Gemm+Relu fused: 3 nodes)
  const piped = await captureConsole(() => runCommand(['zoo:mlp', '--backend', 'test-fake', '--pipeline', defaultPipeline('cpu'), '--json']));
  const pj = JSON.parse(piped.out);
  assert.ok(typeof pj.passesMs === 'number' && pj.passesMs > 0);
  assert.equal([fake.calls.nodes.at(-2), fake.calls.nodes.at(-1)], [5, 3]);
  assert.ok(Math.abs(pj.outputs[0].mean - j.outputs[0].mean) < 1e-6, 'the same results after the passes');
  assert.is(j.passesMs, undefined, 'no pipeline, no passes time');
  unregister.push(registerBackend(fakeBackend('test-run-nogemm', { unsupportedOps: ['Gemm'] }).backend));
  try { await runCommand(['zoo:mlp', '--backend', 'test-run-nogemm']); assert.unreachable(); } catch (e) {
    assert.instance(e, KilnError);
    assert.is((e as Error).message, "zoo:mlp, node '0', op Gemm: backend test-run-nogemm cannot run 3 nodes of this model; first: test-run-nogemm has no kernel for Gemm");
  }
  try { await runCommand(['zoo:mlp', '--target', 'cpu']); assert.unreachable(); } catch (e) { assert.match((e as Error).message, '--target needs --pipeline'); }
  const sub = await captureConsole(() => runCommand(['zoo:mlp', '--backend', 'test-unavailable']));
  assert.equal([sub.code, sub.err], [0, 'note: no C compiler found (tried cc, gcc, clang); running on the reference backend\n']);
  assert.match(sub.out, /^zoo:mlp on ref: import /);
});

test('Session.execute and Session.timings reach a registered backend; given inputs are checked and bind symbolic dims', async () => {
  const { backend, calls } = fakeBackend('test-session');
  unregister.push(registerBackend(backend));
  const s = Session.load('zoo:mlp');
  const r = await s.execute({ backend: 'test-session', repeat: 2, threads: 3, step: 0 });
  assert.equal([r.backend, r.step, r.timing.times.length, r.timing.prepareMs, calls.threads], ['test-session', 0, 2, 42, [3]]);
  assert.is(r.label, 'zoo:mlp at step 0 (load)');
  const t = await s.timings({ backend: 'test-session', step: 0, threads: 3 });
  assert.is(calls.prepared, 1, 'the step 0 program is reused');
  await s.execute({ backend: 'test-session', step: 0 });
  assert.equal(calls.threads, [3, undefined], 'other options: another program');
  // step 0 of mlp: Gemm Relu Gemm Relu Gemm; made-up kernels over pairs, 2 ms each
  assert.equal(t.nodes.map((n) => n.ms), [1, 1, 1, 1, 2]);
  // a symbolic model runs on the tensors given, at their sizes
  const g = importOnnx(modelBytes({ nodes: [node('Add', ['a', 'b'], ['y'])], inputs: [value('a', 1, ['N', 2]), value('b', 1, ['N', 2])], outputs: [value('y', 1, ['N', 2])] }));
  const sym = Session.load(g);
  const run = await sym.execute({ inputs: { a: f32([1, 2, 3, 4, 5, 6], [3, 2]), b: f32([1, 1, 1, 1, 1, 1], [3, 2]) } });
  assert.equal(run.graph.inputs.map((i) => i.type.shape), [[3, 2], [3, 2]]);
  assert.equal(Array.from((run.run.outputs[0] as Tensor).data as Float32Array), [2, 3, 4, 5, 6, 7]);
  try { await sym.execute({ inputs: { a: f32([1, 2, 3, 4], [2, 2]), b: f32([1, 1, 1, 1, 1, 1], [3, 2]) } }); assert.unreachable(); } catch (e) {
    assert.is((e as Error).message, "tensor is f32[3,2] but graph input 'b' is f32[N,2]: dim 0 (N) is 3 here but 2 in input 'a'");
  }
  try { await sym.execute(); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /running a step needs concrete sizes/); }
});

test('Session.timings stops between kernels when its signal is aborted', async () => {
  const s = Session.load('zoo:mlp', { numericCheck: false });
  const stop = new AbortController();
  let seen = 0;
  try {
    await s.timings({ step: 0, repeat: 3, signal: stop.signal, onKernel: () => { if (++seen === 2) stop.abort(); } });
    assert.unreachable();
  } catch (e) {
    assert.is((e as Error).name, 'AbortError');
  }
  assert.is(seen, 2, 'no kernel ran after the abort');
});

test.run();
