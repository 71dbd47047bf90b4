/**
 * The Session on zoo:resnet50 with the test-only fusion pass: the 16 residual Add+Relu pairs fuse
 * (Conv→BatchNormalization→Relu does not match the test pass), the numeric check finds no error, the
 * fusion map names the ONNX nodes, every constant is shared between the steps, and the tables agree
 * with the graph.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Session } from '../../compiler/session.ts';
import { registerTestPasses } from './test-passes.ts';

registerTestPasses();

const s = Session.load('zoo:resnet50', { pipeline: 'e-test.fuse-relu,e-test.noop,e-test.drop-relu', numericCheck: false });

test('fusing the residual Add+Relu pairs', () => {
  const st = s.step();
  assert.equal([st.nodesBefore, st.nodesAfter, st.changed], [175, 159, true]);
  assert.equal(st.stats, { fused: 16 });
  assert.is(st.decisions.length, 16);
  assert.ok(st.decisions.every((d) => d.kind === 'fused' && d.reason === 'Add+Relu'));
  const map = s.fusionMap();
  assert.is(map.size, 16);
  assert.equal(map.get(st.decisions[0].result!), ['/layer1/layer1.0/Add', '/layer1/layer1.0/relu_2/Relu']);
  assert.equal([...map.values()].at(-1), ['/layer4/layer4.2/Add', '/layer4/layer4.2/relu_2/Relu']);
});

test('the fusion is exact under the numeric check', () => {
  assert.equal(s.check(1), { maxAbsError: 0, maxRelError: 0, withinTolerance: true });
});

test('unchanged step, then stepping on; constants shared by every step', () => {
  const st = s.step();
  assert.is(st.changed, false);
  assert.is(st.graph, s.graph(1));
  const last = s.step();
  assert.equal([last.nodesBefore, last.nodesAfter], [159, 126], 'the Relu after conv1 and the 32 inside the bottlenecks go (16 are fused)');
  const c0 = s.graph(0).constants;
  for (const h of s.history) {
    assert.is(h.graph.constants.length, c0.length);
    h.graph.constants.forEach((c, k) => assert.is(c, c0[k]));
  }
});

test('tables: nodes at a step, passes of the session, diff of the fusion', () => {
  const nodes = s.nodesTable(1);
  assert.is(nodes.numRows, 159);
  assert.equal(nodes.column('step').slice(0, 2), [1, 1]);
  const ops = nodes.column('op');
  assert.is(ops.filter((o) => o === 'e_test.WithRelu').length, 16);
  const passes = s.passesTable();
  assert.equal(passes.column('pass'), ['load', 'e-test.fuse-relu', 'e-test.noop', 'e-test.drop-relu']);
  assert.equal(passes.column('nodes_after'), [175, 159, 159, 126]);
  assert.equal(passes.column('max_abs_error'), [null, null, null, null]);
  const diff = s.diffTable(0, 1);
  const kinds = diff.column('kind');
  assert.is(kinds.filter((k) => k === 'removed').length, 16);
  assert.is(kinds.filter((k) => k === 'changed').length, 16);
  assert.is(kinds.filter((k) => k === 'unchanged').length, 175 - 32);
});

test('the default cpu pipeline: consistent steps, unchanged steps keep the graph, weights never copied', () => {
  const d = Session.load('zoo:resnet50', { numericCheck: false });
  d.run();
  const h = d.history;
  assert.is(h.length, d.length + 1);
  assert.equal(h.map((x) => x.pass), ['load', ...d.pipelineEntries.map((e) => e.pass)]);
  const byName = new Map(h[0].graph.constants.map((c) => [c.name, c]));
  for (let k = 1; k < h.length; k++) {
    assert.is(h[k].nodesBefore, h[k - 1].graph.nodes.length);
    assert.is(h[k].nodesAfter, h[k].graph.nodes.length);
    if (!h[k].changed) assert.is(h[k].graph, h[k - 1].graph, `step ${k} ${h[k].pass}`);
    for (const c of h[k].graph.constants) {
      const old = byName.get(c.name);
      if (old && old.hash === c.hash) assert.is(c.data, old.data, `step ${k} ${h[k].pass} copied constant ${c.name}`);
    }
  }
  // every fused node in the fusion map names ONNX nodes of the input model
  const onnxNames = new Set(h[0].graph.nodes.flatMap((n) => n.loc));
  for (const [, sources] of d.fusionMap()) for (const l of sources) assert.ok(onnxNames.has(l), l);
});

test.run();
