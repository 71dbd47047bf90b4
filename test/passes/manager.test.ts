/**
 * The PassManager and its instruments, driven by the test passes of test-passes.ts: step results
 * (changed, statistics, decisions, node counts, time), errors naming the pass and node, the verifier
 * catching deliberately broken passes (pass, node and rule named), the numeric check (errors against
 * step 0 computed by hand, first divergent node), IR printing, dump folders, skipping and hook order.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { printGraph } from '../../compiler/ir/print.ts';
import { readNumbers } from '../../compiler/ir/tensor.ts';
import { randomInputs } from '../../compiler/runtime/inputs.ts';
import { KilnError } from '../../compiler/errors.ts';
import { PassManager } from '../../compiler/passes/manager.ts';
import { type PassInstrument, dumpDirInstrument, nodesToReverify, printIrInstrument } from '../../compiler/passes/instruments.ts';
import { registerTestPasses } from './test-passes.ts';
import { type Pass, findPass, registerPasses } from '../../compiler/passes/pass.ts';
import { lazyConstant, lazyTensor } from '../../compiler/ir/lazy-weights.ts';

registerTestPasses();

const TEXT = `kiln.graph @t(%x: f32[8]) -> (%2: f32[8]) {
  %c = const f32[] dense<2.0>
  %b = const f32[8] dense<[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]>
  %0 = Relu(%x) : f32[8] loc("/relu")
  %1 = Mul(%0, %c) : f32[8] loc("/mul")
  %2 = Add(%1, %b) : f32[8] loc("/add")
  return %2
}
`;
const graph = parseGraph(TEXT);

/** Runs `fn`, expecting a KilnError; returns it. */
function kilnError(fn: () => unknown): KilnError {
  try {
    fn();
  } catch (e) {
    assert.instance(e, KilnError, String(e));
    return e as KilnError;
  }
  assert.unreachable('expected a KilnError');
  throw new Error();
}

test('step results: changed, statistics, decisions, node counts, time', () => {
  const pm = new PassManager({ target: 'cpu' });
  const rs = pm.run(graph, 'test-noop,test-count,test-relu-to-sigmoid,test-noop');
  assert.equal(rs.map((r) => [r.step, r.pass, r.changed]), [[1, 'test-noop', false], [2, 'test-count', false], [3, 'test-relu-to-sigmoid', true], [4, 'test-noop', false]]);
  assert.is(rs[0].graph, graph, 'an unchanged step keeps the very graph object');
  assert.is(rs[3].graph, rs[2].graph);
  assert.equal(rs[1].stats, { nodes: 3, relus: 1 });
  assert.equal(rs[0].stats, {});
  assert.equal(rs[1].decisions, [{ pass: 'test-count', kind: 'rejected', nodes: ['0'], loc: ['/relu'], reason: 'test pass never fuses' }]);
  assert.equal([rs[2].nodesBefore, rs[2].nodesAfter], [3, 3]);
  assert.is(rs[2].graph.nodes[0].op, 'Sigmoid');
  for (const r of rs) assert.ok(Number.isFinite(r.ms) && r.ms >= 0, 'each step records its time (speed belongs to npm run bench)');
  assert.is(rs[0].maxAbsError, undefined, 'no numeric check unless asked');
  const opts = pm.runEntry(graph, { pass: 'test-opts', options: { tol: 3 } }, 1).options;
  assert.equal(opts, { 'max-ops': 8, tol: 3, aggressive: false, mode: 'fast', allow: [] }, 'options resolved');
});

test('a pass that throws becomes a KilnError naming the pass (and node)', () => {
  const pm = new PassManager();
  let e = kilnError(() => pm.run(graph, 'test-noop,test-throws'));
  assert.is(e.place.pass, 'test-throws');
  assert.is(e.message, "pass 'test-throws': pass failed: index out of range");
  e = kilnError(() => pm.run(graph, 'test-throws-at-node'));
  assert.equal([e.place.pass, e.place.node, e.place.op], ['test-throws-at-node', '0', 'Relu']);
  assert.is(e.message, "pass 'test-throws-at-node', node '0', op Relu: cannot handle this node");
  e = kilnError(() => pm.runEntry(graph, { pass: 'test-nop', options: {} }, 1));
  assert.match(e.message, "unknown pass 'test-nop' (did you mean 'test-noop'?)");
});

test('the verifier catches broken passes, naming pass, node and rule', () => {
  const cases: [string, string, string, RegExp][] = [
    ['test-broken-drop-input', '1', 'op.arity', /Mul takes 2 inputs, node has 1/],
    ['test-broken-type', '2', 'type.mismatch', /output '2' is declared i32\[8\] but Add infers f32\[8\]/],
    ['test-broken-undefined', '0', 'ssa.undefined', /input 'nowhere' is not defined/],
    ['test-broken-input-type', '0', 'type.mismatch', /output '0' is declared f32\[8\] but Relu infers f64\[8\]/],
    ['test-broken-hash', 'bad_hash', 'const.hash', /hash abababababababab does not match its data/],
  ];
  for (const [pass, node, rule, why] of cases) {
    const e = kilnError(() => new PassManager().run(graph, `test-noop,${pass},test-noop`));
    assert.equal([e.place.pass, e.place.node, e.place.rule], [pass, node, rule], e.message);
    assert.match(e.message, `pass '${pass}', node '${node}'`);
    assert.match(e.message, `rule ${rule}`);
    assert.match(e.message, why);
    // With the verifier off the broken graph goes through.
    assert.ok(new PassManager({ verify: false }).run(graph, pass)[0].changed);
  }
  const bad = parseGraph(TEXT.replace('Add(%1, %b)', 'Add(%1)'));
  const e = kilnError(() => new PassManager().run(bad, 'test-noop'));
  assert.match(e.message, /^node '2', op Add, rule op.arity: the input graph does not verify: Add takes 2 inputs/);
});

test('the verifier does not force lazy weights', () => {
  let computed = 0;
  const lazy = lazyConstant('lazy_w', lazyTensor('f32', [8], () => { computed++; return new Float32Array(8); }));
  const pass: Pass = {
    name: 'test-adds-lazy-constant', summary: 'adds an unused lazy constant', options: [], statistics: [],
    run: (g) => ({ ...g, constants: [...g.constants, lazy] }),
  };
  if (!findPass(pass.name)) registerPasses([pass]);
  const rs = new PassManager().run(graph, 'test-adds-lazy-constant,test-relu-to-sigmoid');
  assert.is(rs[0].graph.constants.length, 3);
  assert.is(computed, 0, 'verification computed the lazy data');
});

test('nodesToReverify: new node objects and readers of changed definitions', () => {
  const relu = graph.nodes[0], mul = graph.nodes[1], add = graph.nodes[2];
  assert.equal(nodesToReverify(graph, graph), []);
  const newMul = { ...mul };
  assert.equal(nodesToReverify(graph, { ...graph, nodes: [relu, newMul, add] }), [newMul, add]);
  const newB = { ...graph.constants[1] };
  assert.equal(nodesToReverify(graph, { ...graph, constants: [graph.constants[0], newB] }), [add]);
  const retyped = { ...graph, inputs: [{ ...graph.inputs[0] }] };
  assert.equal(nodesToReverify(graph, retyped), [relu]);
});

test('numeric check: errors against step 0 by hand, first divergent node', () => {
  const x = readNumbers(randomInputs(graph, 7).get('x')!);
  let abs = 0, scale = 0;
  for (const v of x) {
    const ref = 2 * Math.max(v, 0) + 1, got = 2 * Math.fround(1 / (1 + Math.exp(-v))) + 1;
    abs = Math.max(abs, Math.abs(Math.fround(got) - Math.fround(ref)));
    scale = Math.max(scale, Math.abs(Math.fround(ref)));
  }
  const pm = new PassManager({ numericCheck: { seed: 7, rtol: 1e-4, atol: 1e-6 } });
  const rs = pm.run(graph, 'test-count,test-relu-to-sigmoid');
  assert.equal([rs[0].maxAbsError, rs[0].maxRelError, rs[0].withinTolerance, rs[0].firstDivergent], [0, 0, true, undefined]);
  assert.ok(Math.abs(rs[1].maxAbsError! - abs) < 1e-6, `${rs[1].maxAbsError} vs ${abs}`);
  assert.ok(Math.abs(rs[1].maxRelError! - abs / scale) < 1e-6);
  assert.is(rs[1].withinTolerance, false);
  assert.is(rs[1].firstDivergent, '0');
  // A loose enough tolerance accepts it.
  const loose = new PassManager({ numericCheck: { seed: 7, rtol: 1, atol: 1 } }).run(graph, 'test-relu-to-sigmoid')[0];
  assert.equal([loose.withinTolerance, loose.firstDivergent], [true, undefined]);
  // Constants without data cannot be checked.
  const noData = parseGraph(TEXT.replace(/dense<\[1\.0[^>]*>/, '#0123456789abcdef'));
  const e = kilnError(() => new PassManager({ numericCheck: {} }).run(noData, 'test-noop'));
  assert.match(e.message, "constant 'b' has none");
  assert.is(new PassManager().run(noData, 'test-noop').length, 1, 'without the check it runs');
});

test('IR printing after all / after change, to a sink', () => {
  for (const mode of ['all', 'change'] as const) {
    const got: string[] = [];
    new PassManager({ instruments: [printIrInstrument(mode, (h, t) => got.push(h, t))] }).run(graph, 'test-noop,test-relu-to-sigmoid');
    const want = mode === 'all'
      ? ['// ----- after test-noop (step 1) -----', TEXT, '// ----- after test-relu-to-sigmoid (step 2) -----', TEXT.replace('Relu', 'Sigmoid')]
      : ['// ----- after test-relu-to-sigmoid (step 2) -----', TEXT.replace('Relu', 'Sigmoid')];
    assert.equal(got, want, mode);
  }
});

test('dump folder: 000_input.kir, NNN_<pass>.kir, stale dumps removed, broken IR still dumped', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-dump-'));
  fs.writeFileSync(path.join(dir, '007_old.kir'), 'stale');
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'kept');
  new PassManager({ instruments: [dumpDirInstrument(dir)] }).run(graph, 'test-noop,test-relu-to-sigmoid');
  assert.equal(fs.readdirSync(dir).sort(), ['000_input.kir', '001_test-noop.kir', '002_test-relu-to-sigmoid.kir', 'notes.txt']);
  assert.is(fs.readFileSync(path.join(dir, '000_input.kir'), 'utf8'), TEXT);
  assert.is(fs.readFileSync(path.join(dir, '002_test-relu-to-sigmoid.kir'), 'utf8'), printGraph(parseGraph(TEXT.replace('Relu', 'Sigmoid'))));
  assert.throws(() => new PassManager({ instruments: [dumpDirInstrument(dir)] }).run(graph, 'test-broken-type'), /type.mismatch/);
  assert.match(fs.readFileSync(path.join(dir, '001_test-broken-type.kir'), 'utf8'), '%2 = Add(%1, %b) : i32[8]');
});

test('hook order, shouldRun skipping, begin once', () => {
  const log: string[] = [];
  const mk = (name: string, skip?: string): PassInstrument => ({
    name,
    begin: () => log.push(`${name}.begin`),
    shouldRun: (i) => i.pass.name !== skip,
    before: (i) => log.push(`${name}.before ${i.step}`),
    after: (i, r) => log.push(`${name}.after ${i.step}${r.skipped ? ' skipped' : ''}`),
  });
  const pm = new PassManager({ instruments: [mk('outer'), mk('inner', 'test-relu-to-sigmoid')] });
  const rs = pm.run(graph, 'test-noop,test-relu-to-sigmoid');
  assert.equal(log, ['outer.begin', 'inner.begin', 'outer.before 1', 'inner.before 1', 'inner.after 1', 'outer.after 1',
    'inner.after 2 skipped', 'outer.after 2 skipped']);
  assert.equal([rs[1].changed, rs[1].skipped, rs[1].graph === graph], [false, true, true]);
  // runEntry without run: begin happens on the first step.
  log.length = 0;
  const pm2 = new PassManager({ instruments: [mk('solo')] });
  pm2.runEntry(graph, { pass: 'test-noop', options: {} }, 1);
  pm2.runEntry(graph, { pass: 'test-noop', options: {} }, 2);
  assert.equal(log.filter((l) => l.endsWith('begin')), ['solo.begin']);
});

test.run();
