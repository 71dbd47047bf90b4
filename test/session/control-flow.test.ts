/**
 * The Session on a model with regions (an ONNX Loop whose body reads an outer value, written by
 * test/support/control-flow-graphs.ts): stepping through the default pipeline keeps the Loop and its
 * result, `ir` prints the body, a change inside the body diffs as a change of the Loop node (field
 * `regions`, a line diff of the nested text), rewinding gives the model back, the memory plan covers
 * the body, and run and timings work on the reference executor, the arena and (with a C compiler) the
 * cpu backend, the Loop timed as one node.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Graph, Node } from '../../compiler/ir/graph.ts';
import { regionsOf } from '../../compiler/ir/graph.ts';
import { Tensor, readNumbers } from '../../compiler/ir/tensor.ts';
import { formatDiff } from '../../compiler/ir/diff.ts';
import { Session } from '../../compiler/session.ts';
import { type Pass, findPass, registerPasses } from '../../compiler/passes/pass.ts';
import { diffTable } from '../../compiler/results/diff.ts';
import { memoryTimelineTable } from '../../compiler/results/memory.ts';
import { validatePlan } from '../../compiler/schedule/index.ts';
import { cpuBackend } from '../../compiler/runtime/cpu/index.ts';
import '../../compiler/runtime/backends.ts';
import { LOOP_EXPECTED, LOOP_INPUTS, LOOP_TEXT, onnxFileOf } from '../support/control-flow-graphs.ts';

/** Test only: every Relu inside a region becomes Abs (a change that only a region diff shows). */
const reluToAbsInRegions: Pass = {
  name: 'e-test.region-relu-abs', summary: 'test only: Relu -> Abs inside regions', options: [], statistics: [],
  run(graph) {
    const inRegion = (g: Graph): Graph => ({ ...g, nodes: g.nodes.map((n) => (n.op === 'Relu' ? { ...n, op: 'Abs' } : withRegions(n))) });
    const withRegions = (n: Node): Node => {
      const regions = regionsOf(n);
      if (!regions.length) return n;
      const attrs = { ...n.attrs };
      for (const [k, g] of regions) attrs[k] = { kind: 'graph', value: inRegion(g) };
      return { ...n, attrs };
    };
    return { ...graph, nodes: graph.nodes.map(withRegions) };
  },
};
if (!findPass(reluToAbsInRegions.name)) registerPasses([reluToAbsInRegions]);

/**
 * LOOP_TEXT with its trip count made a graph input, so simplify-control-flow keeps the Loop (a
 * constant trip count of 3 would be unrolled; test/passes/simplify-control-flow.* cover that).
 */
const KEPT_TEXT = LOOP_TEXT.replace('kiln.graph @loopy(%x: f32[2], %w: f32[2])', 'kiln.graph @loopy(%x: f32[2], %w: f32[2], %m: i64[])')
  .replace('  %m = const i64[] dense<3>\n', '');
const INPUTS = { ...LOOP_INPUTS, m: new Tensor('i64', [], BigInt64Array.of(3n)) };
const file = onnxFileOf(KEPT_TEXT, 'loopy');
const loopOf = (g: Graph) => g.nodes.find((n) => n.op === 'Loop');

test('stepping the default pipeline keeps the Loop, its body and its result', () => {
  const s = Session.load(file);
  const loop0 = loopOf(s.graph(0));
  assert.ok(loop0, 'the imported model has its Loop');
  assert.match(s.ir(0), /body @body\(/);
  while (s.current < s.length) {
    const st = s.step();
    assert.ok(loopOf(st.graph), `the Loop survives ${st.pass}`);
    if (st.maxAbsError !== undefined) assert.ok(st.maxAbsError <= 1e-6, `${st.pass}: numeric check error ${st.maxAbsError}`);
  }
  assert.match(s.ir(), /Loop\(/);
  assert.match(s.ir(), /Relu\(/, 'the body still prints inside the Loop');
});

test('a change inside the body diffs as a change of the Loop node; rewind gives the model back', () => {
  const s = Session.load(file, { pipeline: 'e-test.region-relu-abs', numericCheck: false });
  const before = s.ir();
  const st = s.step();
  assert.ok(st.changed);
  const d = s.diff(0, 1);
  const loop = d.nodes.find((n) => n.kind === 'changed');
  assert.ok(loop, 'one node changed');
  assert.is(loop!.node, loopOf(st.graph)!.outputs[0]);
  assert.equal(loop!.fields, ['regions']);
  assert.equal(d.counts, { added: 0, removed: 0, changed: 1, unchanged: 2 });
  assert.match(loop!.regionDiff!, /^@@ /);
  assert.match(loop!.regionDiff!, /\n- +%s2 = Relu\(/);
  assert.match(loop!.regionDiff!, /\n\+ +%s2 = Abs\(/);
  assert.match(formatDiff(d), /\n\+ +%s2 = Abs\(/, 'the unified diff shows the nested line');
  const row = diffTable(d, { changesOnly: true });
  assert.equal(row.column('region_diff'), [loop!.regionDiff]);
  s.goto(0);
  assert.is(s.ir(), before, 'rewound to the model');
  assert.equal(s.diff(0, 0).counts.changed, 0);
  s.step();
  assert.match(s.ir(), /Abs\(/, 'stepping again redoes the change');
});

test('memory plan: the body planned on its own, held at the Loop\'s step', () => {
  const s = Session.load(file);
  s.run();
  const g = s.graph();
  const plan = s.memory();
  assert.equal(validatePlan(g, plan), []);
  const id = loopOf(g)!.outputs[0];
  const body = plan.bodies!.find((b) => b.node === id)!;
  assert.ok(body.plan, 'the body has its own plan');
  assert.is(body.step, plan.order.indexOf(id));
  const sc = plan.scratch.find((x) => x.node === id)!;
  assert.equal(sc.bodies, ['body']);
  assert.ok(sc.bytes >= body.bytes && body.bytes > 0);
  const t = memoryTimelineTable(plan);
  assert.ok(t.column('body').includes('body'), 'the timeline names the body');
});

async function runOn(backend: string): Promise<void> {
  const s = Session.load(file);
  s.run();
  try {
    const r = await s.execute({ backend, inputs: INPUTS });
    assert.equal(Array.from(readNumbers(r.run.outputs[0] as Tensor)), LOOP_EXPECTED, backend);
    const t = await s.timings({ backend, inputs: INPUTS });
    const id = loopOf(s.graph())!.outputs[0];
    const row = t.nodes.find((n) => n.node === id);
    assert.ok(row, `${backend}: the Loop has a timing`);
    assert.ok(row!.ms >= 0);
    assert.ok(!t.nodes.some((n) => ['id', 'add', 'relu'].includes(n.provenance[0] ?? '')), `${backend}: body nodes are inside the Loop's time`);
  } finally {
    await s.close();
  }
}

test('run and timings on the reference executor', () => runOn('ref'));
test('run and timings on the arena', () => runOn('arena'));
test('run and timings on cpu (the Loop a host step)', async () => {
  const ok = await cpuBackend.available();
  if (!ok.ok) { console.log(`  skipped: ${ok.reason}`); return; }
  await runOn('cpu');
});

test.run();
