/**
 * The command table on zoo:resnet50 (numeric check off, to keep it to a few reference runs): load →
 * pipeline default → step → ir → diff → runall → run → timings → mem, with the node counts the passes
 * are known to give (53 BatchNormalizations folded, Conv+bias+Relu(+residual) fused into kiln.conv),
 * run outputs equal to the timing run's outputs on the same seed, per-node timings keyed by node id
 * with provenance, and progress reported by the long commands.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../../compiler/commands/all.ts';
import { runLine } from '../../compiler/commands/line.ts';
import { Session } from '../../compiler/session.ts';
import { NodeTimings } from '../../compiler/runtime/timings.ts';
import { valueStats } from '../../compiler/runtime/inputs.ts';
import { DiffView, IRView, MemoryView, PipelineView, RunView, StepView } from '../../compiler/display/views.ts';
import { toMimeBundle, toTerminal } from '../../compiler/display/index.ts';
import { fakeContext } from './fake-context.ts';

const ctx = fakeContext();
const run = (line: string) => runLine(line, ctx);

test('load zoo:resnet50 with progress', async () => {
  const s = (await run('load zoo:resnet50 --no-check')) as Session;
  assert.instance(s, Session);
  assert.is(s.graph().nodes.length, 175);
  assert.is(s.numericCheck, false);
  assert.equal(ctx.progressLog.map((p) => [p.label, p.fraction]), [['loading zoo:resnet50', 0], ['loaded zoo:resnet50', 1]]);
  assert.match(toTerminal(s, { color: false, width: 80 }), /^session zoo:resnet50 \(graph resnet50\), target cpu, at step 0 of 10\n/);
});

test('pipeline default, step, ir, diff', async () => {
  const p = (await run('pipeline default')) as PipelineView;
  assert.equal(p.items.map((i) => i.pass).slice(0, 2), ['shape-infer', 'simplify']);
  const st = (await run('step')) as StepView;
  assert.equal([st.step.pass, st.step.changed, st.step.nodesAfter], ['shape-infer', false, 175]);
  const ir = (await run('ir')) as IRView;
  assert.is((ir.text.match(/= BatchNormalization\(/g) ?? []).length, 53);
  const d = (await run('diff')) as DiffView;
  assert.equal(d.diff.counts, { added: 0, removed: 0, changed: 0, unchanged: 175 });
});

test('runall: BN folding, Conv fusion, then channels-last, 175 → 122 → 57 → 59 nodes', async () => {
  ctx.progressLog.length = 0;
  const v = (await run('runall')) as StepView;
  assert.equal(v.steps.map((s) => s.index), [2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const byPass = Object.fromEntries(v.steps.filter((s) => s.changed).map((s) => [s.pass, [s.nodesBefore, s.nodesAfter]]));
  assert.equal(byPass, { 'fold-conv-bn': [175, 122], 'fuse-conv-act': [122, 57], layout: [57, 59] }, 'layout adds a Transpose after the input and one before Flatten');
  assert.is(v.diff!.a, ctx.session!.graph(1));
  assert.is(v.diff!.counts.removed + v.diff!.counts.changed + v.diff!.counts.unchanged, 175);
  assert.equal(ctx.progressLog.length, 10, 'one per pass and a final one');
  assert.is(ctx.progressLog[3].label, 'runall: fold-conv-bn (5/10)');
  const term = toTerminal(v, { color: false, width: 72 });
  assert.ok(term.split('\n').every((l) => l.length <= 72));
  assert.match(term, /… \d+ more lines/);
});

let runOutputMean = NaN;

test('run: the fused graph on seeded inputs, with per-node progress', async () => {
  ctx.progressLog.length = 0;
  const r = (await run('run')) as RunView;
  assert.instance(r, RunView);
  assert.is(r.label, 'zoo:resnet50 at step 10 (dce)');
  const row = r.outputs.rows()[0];
  assert.equal([row.output, row.shape], ['output', '[1,1000]']);
  assert.ok(Number.isFinite(row.mean as number) && (row.std as number) > 0);
  runOutputMean = row.mean as number;
  assert.ok(ctx.progressLog.length >= 2);
  assert.is(ctx.progressLog.at(-1)!.fraction, 1);
});

test('timings: one row per node, keyed by id, with provenance; same outputs as run', async () => {
  const t = (await run('timings')) as NodeTimings;
  assert.instance(t, NodeTimings);
  const g = ctx.session!.graph();
  assert.is(t.nodes.length, 59);
  assert.equal(t.nodes.map((n) => n.node), g.nodes.map((n) => n.outputs[0]));
  const table = t.table();
  assert.equal(table.columnNames, ['index', 'node', 'op', 'ms', 'share_pct', 'flops', 'gflop_per_s', 'pct_of_peak', 'provenance', 'runs_on',
    'bytes', 'intensity', 'gb_per_s']);
  assert.ok(table.column('bytes').every((b) => typeof b === 'number' && b > 0), 'static shapes: every node\'s bytes are known');
  // the layout pass's Transpose of the input first (provenance: the conv that reads it), then the stem
  const [transpose, stem] = table.rows();
  assert.is(transpose.op, 'Transpose');
  assert.is(stem.op, 'kiln.conv_epilogue_nhwc');
  assert.equal(stem.provenance, ['/conv1/Conv', '/bn1/BatchNormalization', '/relu/Relu']);
  const ops = t.byOp();
  assert.is(ops.reduce((a, o) => a + o.count, 0), 59);
  assert.is(ops[0].op, 'kiln.conv_epilogue_nhwc', 'the convolutions dominate');
  assert.is(valueStats(t.outputs[0]).mean, runOutputMean, 'same graph and seed, same outputs');
  const bundle = toMimeBundle(t);
  assert.match(bundle['image/svg+xml'], /^<svg [^>]*>/);
  assert.match(bundle['image/svg+xml'], />kiln\.conv_epilogue_nhwc</);
});

test('mem: the plan of the fused graph and of step 0, planners checked', async () => {
  ctx.progressLog.length = 0;
  const m = (await run('mem')) as MemoryView;
  assert.instance(m, MemoryView);
  assert.is(m.plan, ctx.session!.memory(9), 'the session\'s cached plan');
  assert.is(m.graph, ctx.session!.graph(9));
  assert.is(m.plan.order.length, 59);
  assert.ok(m.plan.peakBytes >= m.plan.lowerBoundBytes && m.plan.peakBytes < m.plan.naiveBytes);
  assert.is(m.title, 'memory of zoo:resnet50 at step 10 (dce)');
  assert.equal(ctx.progressLog.map((p) => p.fraction), [0, 1]);
  const naive = (await run('mem 0 --planner naive --order graph')) as MemoryView;
  assert.is(naive.plan.planner, 'naive');
  assert.is(naive.plan.order.length, 175);
  assert.equal(naive.plan.order, ctx.session!.graph(0).nodes.map((n) => n.outputs[0]), 'graph order as asked');
  try { await run('mem --planner magic'); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /^mem: unknown planner 'magic'; planners: naive, /); }
  try { await run('mem --order random'); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /^mem: --order must be memory or graph, got 'random'/); }
  const b = toMimeBundle(m);
  assert.equal(Object.keys(b).sort(), ['application/vnd.apache.arrow.stream', 'image/svg+xml', 'text/html', 'text/plain']);
  assert.match(b['text/plain'], /^memory of zoo:resnet50 at step 10 \(dce\)\nmemory plan \(best\): 59 steps/);
});

test.run();
