/**
 * Reference fallback inside a cpu program (compiler/runtime/cpu/segments.ts): a graph whose nodes of a
 * test-only op (a reference kernel, no lowering) sit between lowered ones runs with the same results as
 * the reference executor, in the fast path (one native call per segment) and timed per kernel (one
 * `kiln_run_segment_timed` call per segment: every native kernel once per run and each fallback node's
 * `ref:` event, in execution order; a run cancelled from `onKernel` stops at the next segment); the
 * program lists the nodes that fell back (and an artifact does), timings mark them `ref`; `fallback:
 * false` refuses naming them; values the buffer cannot hold (str) stay on the TypeScript side; a node
 * neither lowering nor the reference can run is refused. The conformance runner counts fallback cases
 * (and binds sizes that depend on input values from the data set), the CLI prints them, and without
 * a C compiler `--backend cpu` runs on the reference backend with one note.
 */
import fs from 'node:fs';
import { expectTensors } from '../../compiler/ir/value.ts';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { captureConsole } from '../support/cli.ts';
import { Tensor } from '../../compiler/ir/tensor.ts';
import type { TensorData } from '../../compiler/ir/dtype.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import '../../compiler/ops/all.ts';
import { registerOps } from '../../compiler/ops/registry.ts';
import { findLowering } from '../../compiler/codegen/lower/context.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { type KernelEvent, useBackend } from '../../compiler/runtime/backends.ts';
import { cpuBackend, cpuFallbacks, prepareCpu } from '../../compiler/runtime/cpu/index.ts';
import { planSteps } from '../../compiler/runtime/fallback.ts';
import { lowerGraph } from '../../compiler/codegen/lower/index.ts';
import { planMemory } from '../../compiler/schedule/index.ts';
import { findCCompiler } from '../../compiler/runtime/native/c-compiler.ts';
import { nodeTimings, timeProgram } from '../../compiler/runtime/timings.ts';
import { runConformance } from '../../compiler/runtime/conformance.ts';
import { KilnError } from '../../compiler/errors.ts';
import { conformanceDir } from '../support/paths.ts';
import { sameBits } from './arena-support.ts';
import { Session } from '../../compiler/session.ts';
import { fakeContext } from '../commands/fake-context.ts';
import { runLine } from '../../compiler/commands/all.ts';
import { conformanceCommand } from '../../cli/commands/conformance.ts';
import { runCommand } from '../../cli/commands/run.ts';

const cc = findCCompiler();
if (!cc) console.log('cpu-fallback.test.ts: no C compiler found: skipping the tests that compile');
const withCC = cc ? test : test.skip;
const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-cpu-fallback-'));
process.env.KILN_CACHE_DIR = cache;
test.after(() => fs.rmSync(cache, { recursive: true, force: true }));

// test-only ops with a reference kernel and no lowering: y = 2a + b (b optional, same element count;
// a str input is passed through), and one whose reference kernel refuses f64
registerOps([{
  name: 'TestOnlyAxpy', inputs: [1, 2], outputs: [1, 1], parseAttrs: () => ({}),
  inferTypes: (ins) => [ins[0]!],
  run: (ins) => {
    const a = ins[0]!, b = ins[1];
    if (a.dtype === 'str') return [new Tensor('str', a.shape, (a.data as string[]).slice())];
    const x = a.data as Float32Array, y = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) y[i] = 2 * x[i] + (b ? (b.data as Float32Array)[i] : 0);
    return [new Tensor(a.dtype, a.shape, y as TensorData)];
  },
}, {
  name: 'TestOnlyNoF64Ref', inputs: [1, 1], outputs: [1, 1], parseAttrs: () => ({}), unsupportedDTypes: ['f64'],
  inferTypes: (ins) => [ins[0]!], run: (ins) => [ins[0]!],
}]);

// native Relu; fallback %b reads it and a constant; %v views %b (a graph output); native Neg reads the
// view; two fallback nodes in a row (%e reads the view); native Relu last
const GRAPH = `kiln.graph @fb(%x: f32[2,3]) -> (%v: f32[6], %f: f32[6]) {
  %w = const f32[2,3] dense<[0.5, -1.0, 2.0, 0.25, -0.75, 3.0]>
  %s = const i64[1] dense<[6]>
  %a = Relu(%x) : f32[2,3] loc("/relu")
  %b = TestOnlyAxpy(%a, %w) : f32[2,3] loc("/axpy1")
  %v = Reshape(%b, %s) : f32[6] loc("/flat")
  %c = Neg(%v) : f32[6] loc("/neg")
  %d = TestOnlyAxpy(%c) : f32[6] loc("/axpy2")
  %e = TestOnlyAxpy(%d, %v) : f32[6] loc("/axpy3")
  %f = Relu(%e) : f32[6] loc("/relu2")
  return %v, %f
}`;
const graph = parseGraph(GRAPH, { file: 'cpu-fallback.test.ts' });
const x = Tensor.fromNumbers('f32', [2, 3], [1.5, -2, 0.25, 3, -0.5, 7]);
const inputs = new Map([['x', x]]);
const FELL = ['b', 'd', 'e'];

test('the test op has a reference kernel and no lowering; cpu can run the graph, three nodes would fall back', () => {
  assert.is(findLowering('TestOnlyAxpy'), undefined);
  assert.equal(cpuBackend.unsupported(graph), []);
  assert.equal(cpuFallbacks(graph).map((u) => [u.node, u.op]), FELL.map((n) => [n, 'TestOnlyAxpy']));
});

test('steps: maximal native segments between fallback nodes, views have no step', () => {
  const { program, unsupported } = lowerGraph(graph);
  const steps = planSteps(graph, program, unsupported);
  assert.equal(steps.map((s) => (s.kind === 'native' ? `native#${s.segment}:${s.calls.length}` : `ref:${s.id}`)),
    ['native#0:1', 'ref:b', 'native#1:1', 'ref:d', 'ref:e', 'native#2:1']);
});

withCC('results equal the reference executor, in the fast path and kernel by kernel; fallbacks listed', async () => {
  const want = runReference(graph, inputs);
  const p = await prepareCpu(graph, undefined, { threads: 2 });
  try {
    assert.equal(p.fallbacks.map((u) => u.node), FELL);
    assert.equal(p.fallbacks.map((u) => u.reason), FELL.map(() => 'op TestOnlyAxpy is not lowered to kernels'));
    const art = p.artifacts.find((a) => a.name === 'fallback.txt');
    assert.ok(art, 'a fallback artifact');
    assert.equal(art!.nodes, FELL);
    for (const id of FELL) assert.ok(art!.content.includes(`%${id} TestOnlyAxpy: op TestOnlyAxpy is not lowered`), art!.content);
    const source = p.artifacts.find((a) => a.kind === 'source' && a.name.endsWith('fb.c'))!.content;
    assert.ok(source.includes('kiln_run_segment('));
    // the timed segment entry: each segment's kernels timed natively into ms[0..]
    assert.match(source, /void kiln_run_segment_timed\(int s, uint8_t \*base, const int64_t \*offsets, double \*ms\) \{/);
    assert.equal([...source.slice(source.indexOf('void kiln_run_segment_timed')).matchAll(/ms\[(\d+)\] = /g)].map((m) => m[1]), ['0', '0', '0'],
      'three segments of one kernel each');
    for (let run = 0; run < 2; run++) { // a second run reuses the buffer: stale values must not leak
      const fast = expectTensors(await p.run(inputs));
      const events: KernelEvent[] = [];
      const slow = expectTensors(await p.run(inputs, { onKernel: (e) => events.push(e) }));
      want.forEach((w, k) => {
        assert.ok(sameBits(fast[k], w), `fast path output ${k}: ${fast[k].data} vs ${w.data}`);
        assert.ok(sameBits(slow[k], w), `kernel by kernel output ${k}`);
      });
      assert.equal(events.map((e) => [e.nodes.join(','), e.fallback === true]),
        [['a', false], ['b', true], ['c', false], ['d', true], ['e', true], ['f', false]]);
      const kernels = p.artifacts.filter((a) => a.kind === 'ir' && a.name !== 'fb.kir').map((a) => a.name.replace(/\.kir$/, ''));
      assert.equal(events.map((e) => e.kernel), [kernels[0], 'ref:b', kernels[1], 'ref:d', 'ref:e', kernels[2]]);
      for (const e of events) assert.ok(e.ms >= 0 && Number.isFinite(e.ms), `${e.kernel}: ${e.ms} ms`);
    }
    // cancelled from onKernel after the first kernel: the run stops before the next step
    const abort = new AbortController();
    const seen: string[] = [];
    await p.run(inputs, { signal: abort.signal, onKernel: (e) => { seen.push(e.kernel); abort.abort(); } })
      .then(() => assert.unreachable('ran on after the abort'), (e) => assert.match((e as Error).message, /the run was cancelled/));
    assert.is(seen.length, 1, seen.join(', '));
    // outputs are copies: the next run does not change them
    const first = expectTensors(await p.run(inputs));
    const keep = first.map((t) => new Tensor(t.dtype, t.shape, (t.data as Float32Array).slice()));
    expectTensors(await p.run(new Map([['x', Tensor.fromNumbers('f32', [2, 3], [9, 9, 9, 9, 9, 9])]])));
    first.forEach((t, k) => assert.ok(sameBits(t, keep[k])));
  } finally {
    await p.dispose();
  }
});

withCC('prepared with a memory plan, steps follow the plan\'s order and results stay the same', async () => {
  const plan = planMemory(graph);
  const p = await prepareCpu(graph, plan, { threads: 2 });
  try {
    const want = runReference(graph, inputs);
    const got = expectTensors(await p.run(inputs));
    want.forEach((w, k) => assert.ok(sameBits(got[k], w), `output ${k}`));
    const events: KernelEvent[] = [];
    expectTensors(await p.run(inputs, { onKernel: (e) => events.push(e) }));
    const ran = events.map((e) => e.nodes[0]);
    assert.equal(ran, plan.order.filter((id) => ran.includes(id)), 'kernels and fallback nodes in the plan\'s order');
  } finally {
    await p.dispose();
  }
});

withCC('timings mark the nodes that fell back as ref', async () => {
  const p = await prepareCpu(graph, undefined, { threads: 1 });
  try {
    const timing = await timeProgram(p, inputs, { repeat: 2, perKernel: true });
    assert.equal(timing.kernels.filter((k) => k.fallback).map((k) => k.nodes[0]), FELL);
    const t = nodeTimings(graph, inputs, timing);
    const runsOn = Object.fromEntries(t.nodes.map((n) => [n.node, n.runsOn]));
    assert.equal(runsOn, { a: 'cpu', b: 'ref', v: 'cpu', c: 'cpu', d: 'ref', e: 'ref', f: 'cpu' });
    assert.equal(t.table().column('runs_on'), ['cpu', 'ref', 'cpu', 'cpu', 'ref', 'ref', 'cpu']);
  } finally {
    await p.dispose();
  }
});

withCC('fallback: false refuses the graph, naming the nodes', async () => {
  try {
    await prepareCpu(graph, undefined, { fallback: false });
    assert.unreachable('prepared without fallback');
  } catch (e) {
    assert.instance(e, KilnError);
    const m = (e as Error).message;
    assert.match(m, /cannot compile 3 node\(s\) of @fb \(reference fallback is off/);
    for (const id of FELL) assert.ok(m.includes(`%${id} TestOnlyAxpy: op TestOnlyAxpy is not lowered to kernels`), m);
    assert.is((e as KilnError).place.node, 'b');
  }
});

withCC('a str value (no slot) stays on the TypeScript side; native kernels beside it still run', async () => {
  const g = parseGraph(`kiln.graph @str(%t: str[2], %y: f32[3]) -> (%u: str[2], %z: f32[3]) {
  %u = TestOnlyAxpy(%t) : str[2]
  %z = Neg(%y) : f32[3]
  return %u, %z
}`, { file: 'cpu-fallback.test.ts' });
  const given = new Map([['t', new Tensor('str', [2], ['kiln', 'cpu'])], ['y', Tensor.fromNumbers('f32', [3], [1, -2, 3])]]);
  const p = await prepareCpu(g, undefined, { threads: 1 });
  try {
    assert.equal(p.fallbacks.map((u) => u.node), ['u']);
    const [u, z] = expectTensors(await p.run(given));
    assert.equal([...(u.data as string[])], ['kiln', 'cpu']);
    assert.equal([...(z.data as Float32Array)], [-1, 2, -3]);
  } finally {
    await p.dispose();
  }
});

withCC('a node neither lowering nor the reference kernels can run is unsupported and refused', async () => {
  const g = parseGraph(`kiln.graph @nof64(%x: f64[2]) -> (%y: f64[2]) {
  %y = TestOnlyNoF64Ref(%x) : f64[2]
  return %y
}`, { file: 'cpu-fallback.test.ts' });
  const why = cpuBackend.unsupported(g);
  assert.equal(why.map((u) => [u.node, u.op]), [['y', 'TestOnlyNoF64Ref']]);
  assert.match(why[0].reason, /not lowered to kernels, and op TestOnlyNoF64Ref does not support f64/);
  try {
    await prepareCpu(g, undefined);
    assert.unreachable('prepared a graph the reference cannot run');
  } catch (e) {
    assert.instance(e, KilnError);
    assert.match((e as Error).message, /the reference kernels cannot run them either/);
  }
});

withCC('conformance on cpu counts the cases that needed fallback and lists their ops', async () => {
  const dir = conformanceDir();
  // integer Pow has no lowering (its exact modular semantics): it falls back
  const report = await runConformance(dir, { backend: 'cpu', filter: /^test_(pow_types_int32_int32|pow_types_int64_int64|relu|neg)$/ });
  assert.is(report.backend, 'cpu');
  assert.equal(report.results.map((r) => [r.name, r.status, r.fallback]), [
    ['test_neg', 'pass', []],
    ['test_pow_types_int32_int32', 'pass', ['Pow']],
    ['test_pow_types_int64_int64', 'pass', ['Pow']],
    ['test_relu', 'pass', []],
  ]);
  assert.equal(report.compiled, { fully: 2, withFallback: 2 });
  // sizes that depend on input values (Slice's starts and ends are graph inputs): bound from the data set
  const sliced = await runConformance(dir, { backend: 'cpu', filter: /^test_slice$/ });
  assert.equal([sliced.results[0].status, sliced.results[0].fallback], ['pass', []]);
  assert.ok(sliced.results[0].specialized?.includes('starts'), `bound: ${sliced.results[0].specialized}`);
  // strict: the fallback cases fail, naming the node
  const strict = await runConformance(dir, { backend: 'cpu', fallback: false, filter: /^test_(pow_types_int32_int32|relu)$/ });
  assert.equal(strict.results.map((r) => r.status), ['fail', 'pass']);
  assert.match(strict.results[0].reason!, /reference fallback is off/);
  // the reference backend compiles nothing: no fallback field, no counts
  const ref = await runConformance(dir, { backend: 'ref', filter: /^test_relu$/ });
  assert.is(ref.results[0].fallback, undefined);
  assert.is(ref.compiled, undefined);
});

withCC('kiln conformance and kiln run on cpu: the fallback lines, the compiled: count, --json, --no-fallback', async () => {
  const dir = conformanceDir();
  const text = await captureConsole(() => conformanceCommand([dir, '--backend', 'cpu', '--filter', '^test_(pow_types_int32_int32|relu)$']));
  assert.equal([text.code, text.out], [0, 'FALLBACK test_pow_types_int32_int32: Pow\n2 passed, 0 failed, 0 skipped\ncompiled: 1 fully (50.0%), 1 with fallback\n']);
  const json = await captureConsole(() => conformanceCommand([dir, '--backend', 'cpu', '--filter', '^test_pow_types_int32_int32$', '--json']));
  const report = JSON.parse(json.out);
  assert.equal([report.backend, report.results[0].fallback, report.compiled], ['cpu', ['Pow'], { fully: 0, withFallback: 1 }]);
  const strict = await captureConsole(() => conformanceCommand([dir, '--backend', 'cpu', '--filter', '^test_pow_types_int32_int32$', '--no-fallback']));
  assert.is(strict.code, 1);
  assert.match(strict.out, /^FAIL test_pow_types_int32_int32: run error: .*reference fallback is off/);
  // kiln run: the JSON lists the nodes that fell back; --no-fallback refuses the model
  const model = path.join(dir, 'test_pow_types_int32_int32', 'model.onnx'), data = path.join(dir, 'test_pow_types_int32_int32', 'test_data_set_0');
  const run = await captureConsole(() => runCommand([model, '--backend', 'cpu', '--inputs', data, '--json']));
  const j = JSON.parse(run.out);
  assert.equal([run.code, j.backend, j.matchesExpected, j.fallbacks.map((u: { op: string }) => u.op)], [0, 'cpu', true, ['Pow']]);
  try { await runCommand([model, '--backend', 'cpu', '--no-fallback']); assert.unreachable('ran without fallback'); } catch (e) {
    assert.instance(e, KilnError);
    assert.match((e as Error).message, /cannot compile 1 node\(s\).*reference fallback is off/);
  }
});

withCC('the Session and the run command refuse fallback when asked (fallback: false, run --no-fallback), naming the nodes', async () => {
  const s = Session.load(graph, { numericCheck: false });
  try {
    try {
      await s.execute({ backend: 'cpu', fallback: false });
      assert.unreachable('fallback: false must refuse the graph');
    } catch (e) {
      assert.match((e as Error).message, /reference fallback is off/);
      for (const id of FELL) assert.match((e as Error).message, new RegExp(`%${id}\\b`));
    }
    const ctx = fakeContext(s);
    try {
      await runLine('run --backend cpu --no-fallback', ctx);
      assert.unreachable('run --no-fallback must refuse the graph');
    } catch (e) {
      assert.match((e as Error).message, /reference fallback is off/);
    }
    const r = await s.execute({ backend: 'cpu' }); // allowed by default: the same graph runs, its fallbacks listed
    assert.equal(r.program.fallbacks?.map((u) => u.node), FELL);
  } finally {
    await s.close();
  }
});

test('no C compiler: --backend cpu runs on the reference backend with one note (useBackend, Session, conformance)', async () => {
  const saved = process.env.CC;
  process.env.CC = '/nonexistent/kiln-test-cc';
  try {
    const said: string[] = [];
    const b = await useBackend('cpu', { onWarning: (m) => said.push(m) });
    assert.is(b.name, 'ref');
    assert.equal(said, ['no C compiler found (set CC or install gcc/clang); running on the reference backend']);
    try { await useBackend('cpu', { substitute: false }); assert.unreachable('no substitution asked'); } catch (e) {
      assert.match((e as Error).message, /backend 'cpu' cannot run here: no C compiler found/);
    }
    const notes: string[] = [];
    const r = await Session.load('zoo:mlp').execute({ backend: 'cpu', onWarning: (m) => notes.push(m) });
    assert.is(r.backend, 'ref');
    assert.is(notes.length, 1);
    const conf = await runConformance(conformanceDir(), { backend: 'cpu', filter: /^test_relu$/, onWarning: (m) => notes.push(m) });
    assert.is(conf.backend, 'ref');
    assert.is(conf.passed, 1);
    assert.is(notes.length, 2);
  } finally {
    if (saved === undefined) delete process.env.CC; else process.env.CC = saved;
  }
});

test.run();
