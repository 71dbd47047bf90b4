/**
 * The command table driven on zoo:mlp through a fake context: load, pipeline, step, stepto, ir, diff,
 * back, goto, history, runall, run, timings, check, tables, decisions, fusions, branch — each result
 * checked for its values (node counts, diff counts, output statistics against an independent
 * reference run, hand-computed FLOPs), and the progress each long command reports.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findCommand, allCommands } from '../../compiler/commands/all.ts';
import { registerBackend } from '../../compiler/runtime/backends.ts';
import { type FakeCalls, fakeBackend } from '../support/fake-backend.ts';
import { toMimeBundle } from '../../compiler/display/index.ts';
import { runLine, completeLine } from '../../compiler/commands/line.ts';
import { Session } from '../../compiler/session.ts';
import { ResultTable } from '../../compiler/results/table.ts';
import { NodeTimings } from '../../compiler/runtime/timings.ts';
import { randomInputs, tensorStats } from '../../compiler/runtime/inputs.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { CheckView, DiffView, IRView, PipelineView, RunView, StepView, TextView, HelpView } from '../../compiler/display/views.ts';
import { defaultPipeline } from '../../compiler/passes/all.ts';
import { fakeContext } from './fake-context.ts';

const ctx = fakeContext();
const run = (line: string) => runLine(line, ctx);

test('the table holds every command, each with usage, summary and an example', () => {
  const names = allCommands().map((c) => c.name);
  for (const n of ['load', 'pipeline', 'step', 'stepto', 'runall', 'back', 'goto', 'branch', 'history', 'ir', 'diff', 'passes',
    'nodes', 'tables', 'decisions', 'fusions', 'check', 'run', 'timings', 'mem', 'help']) {
    assert.ok(names.includes(n), n);
    const c = findCommand(n)!;
    assert.ok(c.summary.length > 10, `${n} summary`);
    assert.ok((c.examples?.length ?? 0) >= 1 && c.examples![0].startsWith(n), `${n} example`);
  }
  assert.equal(names, [...names].sort(), 'sorted by name');
});

test('commands other than load/passes/help need a session', async () => {
  for (const n of ['step', 'ir', 'diff', 'run', 'timings', 'mem', 'history', 'nodes', 'check']) {
    try {
      await run(n);
      assert.unreachable(n);
    } catch (e) {
      assert.match((e as Error).message, new RegExp(`^${n}: no model is loaded; load one first`));
    }
  }
});

test('load: creates the session, reports progress, returns it', async () => {
  const s = await run('load zoo:mlp');
  assert.instance(s, Session);
  assert.is(ctx.session, s);
  assert.is((s as Session).source, 'zoo:mlp');
  assert.is((s as Session).graph().nodes.length, 5);
  assert.equal(ctx.progressLog.map((p) => p.fraction), [0, 1]);
  assert.is(ctx.progressLog[0].label, 'loading zoo:mlp');
});

test('pipeline: shows with the cursor; default sets the target default', async () => {
  const v = (await run('pipeline')) as PipelineView;
  assert.instance(v, PipelineView);
  assert.is(v.current, 0);
  // zoo:mlp has no control flow: its default pipeline leaves simplify-control-flow out
  assert.is(v.text, defaultPipeline('cpu', ctx.session!.graph(0)));
  assert.is(v.items.length, 10);
  assert.equal(v.items.map((i) => i.step), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  await run('pipeline shape-infer,dce');
  assert.is(ctx.session!.pipelineText, 'shape-infer,dce');
  const d = (await run('pipeline default')) as PipelineView;
  assert.is(d.text, defaultPipeline('cpu', ctx.session!.graph(0)));
});

test('pipeline: a bad pipeline names the command and points at the pass', async () => {
  try {
    await run('pipeline shape-infer,bogus');
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /^pipeline: pipeline position 13: unknown pass 'bogus'/);
  }
});

test('step: one step, then N steps, with diff of the walk', async () => {
  ctx.progressLog.length = 0;
  const one = (await run('step')) as StepView;
  assert.instance(one, StepView);
  assert.equal(one.steps.map((s) => s.pass), ['shape-infer']);
  assert.is(one.step.changed, false);
  assert.is(one.step.withinTolerance, true);
  const six = (await run('step 6')) as StepView;
  assert.equal(six.steps.map((s) => s.index), [2, 3, 4, 5, 6, 7]);
  assert.is(six.step.pass, 'fuse-conv-act');
  assert.equal([six.step.nodesBefore, six.step.nodesAfter], [5, 3]);
  assert.equal(six.diff!.counts, { added: 0, removed: 2, changed: 2, unchanged: 1 });
  const fractions = ctx.progressLog.map((p) => p.fraction!);
  assert.ok(fractions.every((f, i) => i === 0 || f >= fractions[i - 1] || f === 0), 'progress rises within each walk');
  assert.is(ctx.progressLog.at(-1)!.fraction, 1);
  assert.is(ctx.progressLog.at(-2)!.label, 'step: fuse-conv-act (7/7)');
});

test('step: N past the end and non-numbers are refused naming the argument', async () => {
  for (const [line, msg] of [
    ['step 5', /^step: N 5 is out of range; it must be from 1 to 3 \(usage: step \[N\]\)/],
    ['step two', /^step: N must be a whole number, got 'two'/],
    ['step 1 2', /^step: unexpected argument '2'/],
    ['step --fast', /^step: unknown option '--fast'; it takes no options/],
  ] as const) {
    try { await run(line); assert.unreachable(line); } catch (e) { assert.match((e as Error).message, msg, line); }
  }
});

test('ir: current step and step 0', async () => {
  const cur = (await run('ir')) as IRView;
  assert.instance(cur, IRView);
  assert.is(cur.text, ctx.session!.ir(7));
  assert.is(cur.title, 'IR of zoo:mlp at step 7 (fuse-conv-act)');
  assert.is((cur.text.match(/kiln\.gemm\(/g) ?? []).length, 2);
  const zero = (await run('ir 0')) as IRView;
  assert.is((zero.text.match(/= Relu\(/g) ?? []).length, 2);
  try { await run('ir 11'); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /^ir: STEP 11 is out of range; it must be from 0 to 10/); }
});

test('diff: defaults, A alone, A B, --table, --context', async () => {
  const d = (await run('diff')) as DiffView;
  assert.instance(d, DiffView);
  assert.equal(d.diff.counts, { added: 0, removed: 2, changed: 2, unchanged: 1 });
  assert.equal(d.options.labels, ['step 6 (fold-constants)', 'step 7 (fuse-conv-act)']);
  const none = (await run('diff 1 2')) as DiffView;
  assert.equal(none.diff.counts, { added: 0, removed: 0, changed: 0, unchanged: 5 });
  const fromZero = (await run('diff 0')) as DiffView;
  assert.is(fromZero.diff.a, ctx.session!.graph(0));
  assert.is(fromZero.diff.b, ctx.session!.graph(7));
  const t = (await run('diff 0 7 --table')) as ResultTable;
  assert.instance(t, ResultTable);
  assert.equal(t.column('kind').sort(), ['changed', 'changed', 'removed', 'removed']);
  assert.is(((await run('diff --context 0')) as DiffView).options.context, 0);
  try { await run('diff 0 8'); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /^diff: step 8 has not been computed yet \(steps 0\.\.7 exist\); use goto 8 to run to it$/); }
});

test('back, goto (backwards and forwards), history marks the current step', async () => {
  const b = (await run('back 2')) as StepView;
  assert.is(b.step.index, 5);
  assert.is(b.diff, undefined);
  assert.is(ctx.session!.current, 5);
  try { await run('back 6'); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /^back: N 6 is out of range; it must be from 0 to 5/); }
  const h = (await run('history')) as ResultTable;
  assert.equal(h.columnNames.slice(0, 3), ['at', 'step', 'pass']);
  assert.is(h.numRows, 8, 'steps 0..7 are computed');
  assert.equal(h.column('at').map((m, i) => (m ? i : -1)).filter((i) => i >= 0), [5]);
  assert.match(h.title, /at step 5 of 10; next: fold-constants, fuse-conv-act, layout, fuse-elementwise, dce/);
  const g = (await run('goto 10')) as StepView;
  assert.equal(g.steps.map((s) => s.index), [8, 9, 10], 'runs only what was not computed');
  assert.is(ctx.session!.current, 10);
  const g0 = (await run('goto 0')) as StepView;
  assert.is(g0.step.index, 0);
});

test('stepto: by pass name and by number; errors from the session', async () => {
  const v = (await run('stepto fuse-conv-act')) as StepView;
  assert.is(v.step.index, 7);
  assert.is(v.steps.length, 7);
  const n = (await run('stepto 9')) as StepView;
  assert.is(n.step.pass, 'fuse-elementwise');
  try { await run('stepto simplfy'); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /^stepto: unknown pass 'simplfy' \(did you mean 'simplify'\?\)/); }
  try { await run('stepto 3'); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /^stepto: step 3 is behind the current step 9/); }
});

test('runall: runs the rest; at the end it says so', async () => {
  await run('goto 6');
  const v = (await run('runall')) as StepView;
  assert.equal(v.steps.map((s) => s.index), [7, 8, 9, 10]);
  assert.is(v.note, 'ran steps 7..10');
  try { await run('step'); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /^step: already at the last step \(10\) of the pipeline/); }
  const again = (await run('runall')) as StepView;
  assert.is(again.steps.length, 1);
  assert.is(again.diff, undefined);
  assert.is(ctx.session!.graph().nodes.length, 3);
});

test('run: outputs equal an independent reference run on the same seeded inputs', async () => {
  ctx.progressLog.length = 0;
  const r = (await run('run --repeat 3 --seed 4')) as RunView;
  assert.instance(r, RunView);
  assert.is(r.run.times.length, 3);
  assert.ok(r.run.minMs <= r.run.medianMs);
  const g0 = ctx.session!.graph(0);
  const want = tensorStats(runReference(g0, randomInputs(g0, 4))[0]);
  const got = r.outputs.rows()[0];
  assert.equal([got.output, got.dtype, got.shape], ['logits', 'f32', '[1,10]']);
  assert.ok(Math.abs((got.mean as number) - want.mean) < 1e-6 && Math.abs((got.max as number) - want.max) < 1e-6);
  assert.equal(r.inputs, ['input: f32[1,784]']);
  assert.is(r.seed, 4);
  assert.is(ctx.progressLog.at(-1)!.fraction, 1);
  assert.ok(ctx.progressLog.length >= 2);
});

test('run and timings --backend: a registered backend prepares once per step and runs both; unknown, unavailable and unsupported are named', async () => {
  const { backend, calls } = fakeBackend('test-double');
  const unregister = [registerBackend(backend), registerBackend(fakeBackend('test-offline', { unavailable: 'no such device here' }).backend),
    registerBackend(fakeBackend('test-nogemm', { unsupportedOps: ['Gemm'] }).backend)];
  try {
    await backendChecks(calls);
  } finally {
    for (const u of unregister) u();
  }
});

async function backendChecks(calls: FakeCalls): Promise<void> {
  const r = (await run('run --backend test-double --repeat 2')) as RunView;
  assert.equal([r.backend, calls.prepared, calls.runs, r.run.times.length, r.prepareMs], ['test-double', 1, 2, 2, 42]);
  assert.match(toMimeBundle(r)['text/plain'], /on the test-double test backend \(reference kernels, made-up kernel times\) \(backend test-double, prepared in 42 ms\)/);
  // timings reuses the program prepared for this step; its made-up kernels (pairs of nodes, 2 ms each) become the node times
  const t = (await run('timings --backend test-double --repeat 3')) as NodeTimings;
  assert.equal([calls.prepared, calls.runs, t.repeat], [1, 5, 3]);
  assert.equal(t.nodes.map((n) => [n.node, n.ms]), [['1', 1], ['3', 1], ['logits', 2]]);
  assert.equal(completeLine('run --backend test-', ctx).candidates, ['test-double', 'test-offline', 'test-nogemm']);
  assert.ok(completeLine('timings --backend r', ctx).candidates.includes('ref'));
  const err = async (line: string) => { try { await run(line); } catch (e) { return (e as Error).message; } return assert.unreachable(line) as never; };
  assert.match(await err('run --backend tpu'), /^run: unknown backend 'tpu'; backends: ref, .*cuda, test-double/);
  // a backend that cannot run here: the reference backend runs instead, with one note printed
  const offline = (await run('timings --backend test-offline')) as NodeTimings;
  assert.instance(offline, NodeTimings);
  assert.equal(offline.nodes.map((n) => n.runsOn), ['ref', 'ref', 'ref']);
  assert.is(ctx.printed.at(-1), 'note: no such device here; running on the reference backend');
  assert.match(await err('run --backend test-nogemm'), /backend test-nogemm cannot run 1 node of zoo:mlp at step 10 \(dce\); first: test-nogemm has no kernel for Gemm/);
}

test('timings: per-node table with hand-computed FLOPs, shares summing to 100', async () => {
  const t = (await run('timings --repeat 2')) as NodeTimings;
  assert.instance(t, NodeTimings);
  assert.is(t.repeat, 2);
  assert.equal(t.nodes.map((n) => [n.node, n.op]), [['1', 'kiln.gemm'], ['3', 'kiln.gemm'], ['logits', 'Gemm']]);
  assert.is(t.nodes[2].flops, 2 * 10 * 256 + 10, 'Gemm 1x256 · 256x10 plus bias');
  const table = t.table();
  const share = table.column('share_pct') as number[];
  assert.ok(Math.abs(share.reduce((a, b) => a + b, 0) - 100) < 1e-9);
  assert.equal(table.column('provenance')[2], ['/fc3/Gemm']);
  assert.equal(t.opTable().column('nodes').reduce((a, b) => (a as number) + (b as number), 0), 3);
  const saved = (await run('tables timings')) as ResultTable;
  assert.equal(saved.column('node'), ['1', '3', 'logits']);
});

test('check: numeric check of a step; tolerances set the session', async () => {
  const c = (await run('check 7 --rtol 1e-3 --atol 1e-5')) as CheckView;
  assert.instance(c, CheckView);
  assert.equal([c.step, c.pass, c.rtol, c.atol], [7, 'fuse-conv-act', 1e-3, 1e-5]);
  assert.equal(c.result, { maxAbsError: 0, maxRelError: 0, withinTolerance: true });
  assert.is(ctx.session!.tolerance, 1e-3);
  try { await run('check --rtol -1'); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /^check: option --rtol must be at least 0, got -1/); }
});

test('passes, nodes, decisions, fusions, tables', async () => {
  const p = (await run('passes')) as ResultTable;
  assert.ok((p.column('pass') as string[]).includes('fuse-elementwise'));
  assert.is(p.column('in_pipeline')[(p.column('pass') as string[]).indexOf('layout')], true, 'layout is in the cpu pipeline');
  assert.is(p.column('in_pipeline')[(p.column('pass') as string[]).indexOf('mixed-precision')], false);
  const one = (await run('passes dce')) as TextView;
  assert.is(one.title, 'pass dce');
  assert.match(one.text, /in the default pipeline of: ref, cpu, cuda, webgpu/);
  try { await run('passes dec'); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /^passes: unknown pass 'dec' \(did you mean 'dce'\?\)/); }
  const n = (await run('nodes 0')) as ResultTable;
  assert.equal(n.column('op'), ['Gemm', 'Relu', 'Gemm', 'Relu', 'Gemm']);
  const d = (await run('decisions')) as ResultTable;
  assert.equal(d.column('kind'), ['fused', 'fused']);
  const f = (await run('fusions')) as ResultTable;
  assert.equal(f.column('sources'), [['/fc1/Gemm', '/Relu'], ['/fc2/Gemm', '/Relu_1']]);
  const list = (await run('tables')) as ResultTable;
  assert.equal(list.column('table'), ['nodes', 'passes', 'diff', 'decisions', 'fusions', 'timings', 'kernels']);
  try { await run('tables bogus'); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /^tables: unknown table 'bogus'; tables: nodes, passes/); }
});

test('help: list and one command; unknown command suggests', async () => {
  const all = (await run('help')) as HelpView;
  assert.is(all.entries.length, allCommands().length);
  const one = (await run('help %step')) as HelpView;
  assert.equal([one.detailed, one.entries[0].name], [true, 'step']);
  try { await run('help stpe'); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /^help: unknown command 'stpe' \(did you mean 'step'\?\)/); }
  try { await run('stpe 3'); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /^stpe: unknown command \(did you mean 'step'\?\)/); }
});

test('branch: new current session sharing the steps so far', async () => {
  const before = ctx.session!;
  await run('goto 6');
  const v = (await run('branch dce'));
  assert.instance(v, PipelineView);
  const b = ctx.session!;
  assert.is.not(b, before);
  assert.is(b.graph(6), before.graph(6), 'same snapshot objects');
  assert.is(b.pipelineText.split(',').at(-1), 'dce');
  assert.is(b.length, 7);
  assert.equal(ctx.printed.at(-1), 'branched at step 6; the branch is now the current session');
  ctx.setSession(before);
});

test('an aborted signal stops a walk between passes', async () => {
  const c = fakeContext(Session.load('zoo:mlp'));
  const ac = new AbortController();
  c.signal = ac.signal;
  ac.abort();
  try { await runLine('runall', c); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /^runall: interrupted/); }
  assert.is(c.session!.current, 0);
});

test.run();
