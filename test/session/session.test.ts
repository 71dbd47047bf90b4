/**
 * Session tests on zoo:mlp with the test-only passes (test-passes.ts): stepping, stepTo, run, back,
 * goto, pipeline changes, branch and compare, immutable snapshots that share constants, the numeric
 * check (exact fusion, a deliberately wrong pass caught with its first divergent node, on/off,
 * tolerance), decisions and the fusion map, errors, and the summary.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Session } from '../../compiler/session.ts';
import { KilnError } from '../../compiler/errors.ts';
import { printGraph } from '../../compiler/ir/print.ts';
import { zooModel } from '../../compiler/zoo/index.ts';
import { registerTestPasses, ops } from './test-passes.ts';

registerTestPasses();

const PIPE = 'e-test.noop,e-test.fuse-relu,e-test.scale-first{factor=3},e-test.noop';
const open = (pipeline = PIPE, numericCheck = true) => Session.load('zoo:mlp', { pipeline, numericCheck });

/** Asserts that fn throws a KilnError whose message matches re. */
function throwsKiln(fn: () => unknown, re: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, KilnError);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected a KilnError matching ${re}`);
}

test('load: step 0 is the model, the pipeline is parsed', () => {
  const s = open();
  assert.is(s.current, 0);
  assert.is(s.length, 4);
  assert.is(s.source, 'zoo:mlp');
  assert.is(s.target, 'cpu');
  assert.is(s.pipelineText, 'e-test.noop,e-test.fuse-relu,e-test.scale-first{factor=3},e-test.noop');
  const h = s.history;
  assert.is(h.length, 1);
  assert.is(h[0].pass, 'load');
  assert.is(h[0].index, 0);
  assert.is(h[0].graph.nodes.length, 5);
  assert.is(h[0].maxAbsError, 0);
  assert.is(s.ir(), printGraph(zooModel('mlp')));
});

test('step, stepTo, run: records, changed flags, node counts, stats, options', () => {
  const s = open();
  const s1 = s.step();
  assert.equal([s1.index, s1.step, s1.pass, s1.changed], [1, 1, 'e-test.noop', false]);
  assert.is(s1.graph, s.history[0].graph, 'an unchanged step keeps the very same graph');
  const s2 = s.stepTo('e-test.fuse-relu');
  assert.equal([s2.index, s2.changed, s2.nodesBefore, s2.nodesAfter], [2, true, 5, 3]);
  assert.equal(s2.stats, { fused: 2 });
  assert.equal(ops(s2.graph), ['e_test.WithRelu', 'e_test.WithRelu', 'Gemm']);
  assert.ok(s2.ms >= 0);
  const last = s.run();
  assert.is(last.index, 4);
  assert.is(s.current, 4);
  assert.equal(s.history.map((h) => h.pass), ['load', 'e-test.noop', 'e-test.fuse-relu', 'e-test.scale-first', 'e-test.noop']);
  assert.equal(s.history[3].options, { factor: 3 });
  assert.equal(s.history.map((h) => h.changed), [false, false, true, true, false]);
  assert.is(s.run().index, 4, 'run at the end stays there');
});

test('stepTo(index) runs forward; stepTo a name after the cursor', () => {
  const s = open('e-test.noop,e-test.fuse-relu,e-test.noop,e-test.noop');
  assert.is(s.stepTo(2).pass, 'e-test.fuse-relu');
  assert.is(s.stepTo('e-test.noop').index, 3, 'the next noop after step 2 is entry 3');
  throwsKiln(() => s.stepTo('e-test.fuse-relu'), /pass 'e-test.fuse-relu' does not occur after step 3 .* \(it ran already; use goto\(\) to go back\)/);
  throwsKiln(() => s.stepTo(1), /stepTo\(1\) would go backwards from step 3/);
  throwsKiln(() => s.stepTo('e-test.fuse-rleu'), /unknown pass 'e-test.fuse-rleu' \(did you mean 'e-test.fuse-relu'\?\)/);
  throwsKiln(() => s.stepTo('e-test.drop-relu'), /does not occur after step 3/);
});

test('back, goto: cursor moves, snapshots are reused, errors at the edges', () => {
  const s = open();
  s.run();
  const steps = s.history;
  assert.is(s.back().index, 3);
  assert.is(s.back(2).index, 1);
  assert.is(s.graph(), steps[1].graph);
  throwsKiln(() => s.back(2), /cannot go back 2 steps from step 1; step 0 is the loaded model/);
  throwsKiln(() => s.back(-1), /whole number/);
  assert.is(s.goto(4), steps[4], 'goto forward reuses the computed step object');
  throwsKiln(() => s.step(), /already at the last step \(4\) of the pipeline/);
  assert.is(s.goto(0), steps[0]);
  assert.is(s.step(), steps[1], 'stepping again reuses the snapshot');
  assert.is(s.history.length, 5, 'the timeline past the cursor is kept');
  throwsKiln(() => s.goto(5), /goto\(5\): no such step; steps run from 0 \(the loaded model\) to 4/);
  throwsKiln(() => s.goto(1.5), /no such step/);
  throwsKiln(() => s.graph(7), /no such step/);
});

test('goto runs forward when the step has not been computed', () => {
  const s = open();
  const st = s.goto(3);
  assert.is(st.pass, 'e-test.scale-first');
  assert.is(s.history.length, 4);
  throwsKiln(() => s.at(4), /step 4 has not been computed yet \(steps 0..3 exist\); use goto\(4\)/);
});

test('changing the pipeline keeps the unchanged prefix of the timeline', () => {
  const s = open();
  s.run();
  const before = s.history;
  s.pipeline('e-test.noop,e-test.fuse-relu,e-test.drop-relu');
  assert.is(s.current, 2);
  assert.is(s.history.length, 3);
  assert.is(s.history[2], before[2]);
  s.pipeline('e-test.noop,e-test.fuse-relu,e-test.scale-first{factor=4}');
  assert.is(s.history.length, 3);
  assert.is(s.step().options.factor, 4);
  s.pipeline('e-test.noop,e-test.fuse-relu,e-test.scale-first');
  assert.is(s.history.length, 3, 'different options: the step is dropped');
  throwsKiln(() => s.pipeline('e-test.noop,nope'), /unknown pass 'nope'/);
  assert.is(s.pipelineText, 'e-test.noop,e-test.fuse-relu,e-test.scale-first', 'a bad pipeline changes nothing');
});

test('snapshots are frozen and share constants (weights are never copied)', () => {
  const s = open();
  s.run();
  const [h0, , h2, h3] = s.history;
  assert.ok(Object.isFrozen(h3) && Object.isFrozen(h3.stats) && Object.isFrozen(h3.decisions) && Object.isFrozen(s.history));
  assert.throws(() => { (h3 as { changed: boolean }).changed = false; }, TypeError);
  // fusion: constants untouched
  h0.graph.constants.forEach((c, k) => assert.is(h2.graph.constants[k], c));
  assert.is(h2.graph.nodes[2], h0.graph.nodes[4], 'the untouched Gemm node is the same object');
  // scale-first replaced only the first float constant
  assert.is.not(h3.graph.constants[0], h0.graph.constants[0]);
  assert.is.not(h3.graph.constants[0].data, h0.graph.constants[0].data);
  for (let k = 1; k < h0.graph.constants.length; k++) {
    assert.is(h3.graph.constants[k], h0.graph.constants[k]);
    assert.is(h3.graph.constants[k].data, h0.graph.constants[k].data);
  }
  assert.is((h0.graph.constants[0].data!.data as Float32Array)[0] * 3, (h3.graph.constants[0].data!.data as Float32Array)[0]);
});

test('numeric check: exact fusion, then a wrong pass caught with its first divergent node', () => {
  const s = open('e-test.fuse-relu,e-test.noop', true);
  const a = s.step();
  assert.equal([a.maxAbsError, a.maxRelError, a.withinTolerance], [0, 0, true]);
  assert.is(a.firstDivergent, undefined);
  const t = Session.load('zoo:mlp', { pipeline: 'e-test.noop,e-test.drop-relu' });
  t.run();
  const bad = t.at(2);
  assert.is(bad.withinTolerance, false);
  assert.ok(bad.maxAbsError! > 1e-3 && bad.maxRelError! > 1e-3, `${bad.maxAbsError} ${bad.maxRelError}`);
  assert.is(bad.firstDivergent, '2', 'the Gemm that now reads the un-Relu-ed value');
  assert.is(t.at(1).maxAbsError, 0);
});

test('numeric check off, on demand, tolerance', () => {
  const s = open('e-test.fuse-relu,e-test.scale-first', false);
  assert.is(s.numericCheck, false);
  const a = s.step();
  assert.is(a.maxAbsError, undefined);
  assert.is(a.withinTolerance, undefined);
  assert.is(s.check().maxAbsError, 0, 'check() runs on demand');
  s.numericCheck = true;
  const b = s.step();
  assert.is(b.withinTolerance, false);
  assert.is(b.firstDivergent, '1');
  s.tolerance = 1e9;
  assert.is(s.tolerance, 1e9);
  assert.is(s.check().withinTolerance, true);
  assert.is(s.check().maxAbsError, b.maxAbsError);
  throwsKiln(() => s.setTolerance(-1), /tolerances must be numbers >= 0/);
});

test('branch: shares steps up to the cursor, runs its own pipeline; compare', () => {
  const s = open();
  s.stepTo(2);
  const b = s.branch('e-test.drop-relu');
  assert.is(b.current, 2);
  assert.is(b.pipelineText, 'e-test.noop,e-test.fuse-relu,e-test.drop-relu');
  assert.is(b.history[2], s.history[2], 'the same step object');
  assert.is(b.step().changed, false, 'nothing left to drop after fusion');
  throwsKiln(() => b.step(), /already at the last step \(3\)/);
  s.run();
  assert.is(s.current, 4, 'the original is unaffected');
  assert.is(s.history.length, 5);
  const c = s.compare(b);
  assert.is(c.a.index, 4);
  assert.is(c.b.index, 3);
  assert.equal(c.diff.counts, { added: 0, removed: 0, changed: 0, unchanged: 3 });
  assert.equal(c.diff.constants.map((x) => [x.name, x.kind]), [['fc1.weight', 'changed']]);
  const text = c.toText();
  assert.match(text, /^a: step 4, 3 nodes, .* ms in passes, max rel error .*; pipeline e-test.noop,e-test.fuse-relu,e-test.scale-first\{factor=3\},e-test.noop$/m);
  assert.match(text, /^b: step 3, 3 nodes, .*pipeline e-test.noop,e-test.fuse-relu,e-test.drop-relu$/m);
  assert.match(text, /a → b: 0 added, 0 removed, 0 changed, 3 unchanged nodes; constants 1 changed/);
  const same = s.branch();
  assert.is(same.pipelineText, s.pipelineText);
  assert.is(same.current, 4);
});

test('ir, graph, diff between steps', () => {
  const s = open();
  s.run();
  assert.is(s.ir(2), printGraph(s.history[2].graph));
  assert.is(s.graph(0), s.history[0].graph);
  const d = s.diff(1, 2);
  assert.equal(d.nodes.map((n) => n.kind), ['removed', 'changed', 'removed', 'changed', 'unchanged']);
  s.goto(2);
  assert.equal(s.diff().nodes.map((n) => n.kind), d.nodes.map((n) => n.kind), 'default: previous → current');
  s.goto(0);
  assert.equal(s.diff().counts.unchanged, 5);
});

test('decisions and fusion map', () => {
  const s = open();
  assert.equal(s.decisions(), []);
  s.run();
  const ds = s.decisions();
  assert.equal(ds.map((d) => [d.step, d.pass, d.kind, d.nodes.join(' '), d.result]), [
    [2, 'e-test.fuse-relu', 'fused', '0 1', '1'], [2, 'e-test.fuse-relu', 'fused', '2 3', '3'],
  ]);
  assert.equal([...s.fusionMap()], [['1', ['/fc1/Gemm', '/Relu']], ['3', ['/fc2/Gemm', '/Relu_1']]]);
  assert.equal([...s.fusionMap(0)], []);
  s.goto(1);
  assert.equal(s.decisions(), [], 'only decisions up to the current step');
});

test('a failing pass is a KilnError naming the pass; the session is unchanged', () => {
  const s = open('e-test.noop,e-test.throw');
  s.step();
  throwsKiln(() => s.step(), /pass 'e-test.throw'.*boom/);
  assert.is(s.current, 1);
  assert.is(s.history.length, 2);
  throwsKiln(() => Session.load('zoo:mlp', { pipeline: '' }).step(), /the pipeline is empty/);
  throwsKiln(() => Session.load('zoo:mlp', { target: 'tpu' }), /unknown target 'tpu'/);
});

test('load a Graph; summary text', () => {
  const s = Session.load(zooModel('mlp'), { pipeline: 'e-test.fuse-relu', numericCheck: false });
  assert.is(s.source, 'mlp');
  s.step();
  const text = s.summary();
  const lines = text.split('\n');
  assert.is(lines[0], 'session mlp (graph mlp), target cpu, at step 1 of 1');
  assert.is(lines[1], 'pipeline: e-test.fuse-relu');
  assert.is(lines[2], 'numeric check: off');
  assert.match(lines[3], /^current graph: 3 nodes, 6 constants, .*FLOPs; e_test.WithRelu 2, Gemm 1$/);
  assert.match(text, /\n {3}1  e-test.fuse-relu .* {13}5 {12}3  true\s*\n/);
});

test('the default pipeline keeps mlp within tolerance at every step', () => {
  const s = Session.load('zoo:mlp');
  s.run();
  assert.is(s.history.length, s.length + 1);
  for (const h of s.history) assert.is(h.withinTolerance, true, `step ${h.index} ${h.pass}`);
});

test.run();
