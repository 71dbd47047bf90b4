/**
 * The memory plan of graphs with regions: values a region reads from the enclosing graph stay live
 * until the owning node's step (and are produced before it in every order), each region body is
 * planned on its own (recursively, nested regions too) and held as its node's scratch (the largest
 * body of an If), the peak includes it, a body whose sizes are known only at run time is left
 * unplanned with the reason, sequences and optionals are host-held with no bytes, the timeline and
 * summary say so, and the validator accepts such plans and catches a body that is not held, a cut
 * captured interval and a missing body entry.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Graph } from '../../compiler/ir/graph.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import '../../compiler/ops/all.ts';
import { planMemory, plannerNames, validatePlan, type MemoryPlan } from '../../compiler/schedule/index.ts';
import { formatMemorySummary, memoryStepsTable, memoryTimelineTable } from '../../compiler/results/memory.ts';
import { memoryText } from '../../compiler/display/memory-text.ts';
import { memorySvg } from '../../compiler/display/memory-svg.ts';
import { IF_TEXT, LOOP_TEXT } from '../support/control-flow-graphs.ts';

const rules = (g: Graph, p: MemoryPlan) => [...new Set(validatePlan(g, p).map((e) => e.slice(0, e.indexOf(':'))))];
const ifGraph = parseGraph(IF_TEXT);
const loopGraph = parseGraph(LOOP_TEXT);

test('every planner: valid plans for an If and a Loop, with one planned body per region', () => {
  for (const planner of plannerNames()) {
    for (const g of [ifGraph, loopGraph]) {
      const p = planMemory(g, { planner });
      assert.equal(validatePlan(g, p), [], `${planner} on @${g.name}`);
      const regions = g.nodes.flatMap((n) => Object.entries(n.attrs).filter(([, a]) => a.kind === 'graph').map(([k]) => `${n.outputs[0]}.${k}`));
      assert.equal(p.bodies!.map((b) => `${b.node}.${b.attribute}`).sort(), regions.sort());
      for (const b of p.bodies!) assert.ok(b.plan && b.plan.planner === planner, 'each body planned by the same planner');
    }
  }
});

test('captured values live until the owning node; the If holds its larger branch', () => {
  const p = planMemory(ifGraph, { planner: 'greedy-size' });
  const step = p.order.indexOf('r');
  for (const name of ['a', 'b']) {
    const t = p.tensors.find((x) => x.name === name)!;
    assert.is(t.last, step, `%${name} is read inside the branches: live until the If`);
    assert.ok(t.consumers.includes('r'));
  }
  const then = p.bodies!.find((b) => b.attribute === 'then_branch')!, other = p.bodies!.find((b) => b.attribute === 'else_branch')!;
  assert.is(then.bytes, then.plan!.peakBytes, 'no arguments, no constants: the body\'s arena');
  const sc = p.scratch.find((x) => x.node === 'r')!;
  assert.is(sc.bodyBytes, Math.max(then.bytes, other.bytes), 'one branch runs: the larger one is held');
  assert.equal(sc.bodies, ['else_branch', 'then_branch']);
  assert.is(sc.step, step);
  assert.ok(p.breadth[step] >= sc.bytes + 2 * 16, 'the step holds the body and both captured values');
  assert.ok(p.peakBytes >= p.breadth[step]);
});

test('the memory order produces a captured value before the node that reads it in a region', () => {
  // %late is read only inside the region: without the captured read it could be ordered after the If
  const g = parseGraph(`kiln.graph @late(%p: bool[], %x: f32[64]) -> (%out: f32[64]) {
  %late = Exp(%x) : f32[64] loc("late")
  %r = If(%p) : f32[64] loc("if") {
    else_branch @no() -> (%e: f32[64]) {
      %e = Abs(%late) : f32[64] loc("abs")
      return %e
    }
    then_branch @yes() -> (%th: f32[64]) {
      %th = Neg(%late) : f32[64] loc("neg")
      return %th
    }
  }
  %out = Sqrt(%r) : f32[64] loc("sqrt")
  return %out
}`);
  const p = planMemory(g, { order: 'memory' });
  assert.ok(p.order.indexOf('late') < p.order.indexOf('r'));
  assert.equal(validatePlan(g, p), []);
});

test('a Loop body: its arguments and constants count, the carried state is an argument', () => {
  const p = planMemory(loopGraph);
  const body = p.bodies![0];
  assert.is(body.attribute, 'body');
  // arguments i64[] + bool[] + f32[2] in the body's input region, %t and the results in its arena
  assert.is(body.bytes, body.plan!.peakBytes + body.plan!.inputRegionBytes + body.plan!.constantRegionBytes);
  assert.ok(body.plan!.inputRegionBytes > 0);
  assert.is(p.scratch.find((x) => x.node === 'y')!.bytes, body.bytes);
});

test('nested regions: an If inside a Loop body is planned inside the body\'s plan', () => {
  const g = parseGraph(`kiln.graph @nested(%x: f32[8], %w: f32[8], %p: bool[]) -> (%out: f32[8]) {
  %m = const i64[] dense<2>
  %c = const bool[] dense<true>
  %y = Loop(%m, %c, %x) : f32[8] loc("loop") {
    body @body(%i: i64[], %cin: bool[], %s: f32[8]) -> (%cout: bool[], %s2: f32[8]) {
      %cout = Identity(%cin) : bool[] loc("id")
      %u = Mul(%s, %w) : f32[8] loc("mul")
      %s2 = If(%p) : f32[8] loc("if") {
        else_branch @no() -> (%e: f32[8]) {
          %e = Abs(%u) : f32[8] loc("abs")
          return %e
        }
        then_branch @yes() -> (%th: f32[8]) {
          %q = Add(%u, %s) : f32[8] loc("add")
          %th = Relu(%q) : f32[8] loc("relu")
          return %th
        }
      }
      return %cout, %s2
    }
  }
  %out = Neg(%y) : f32[8] loc("neg")
  return %out
}`);
  const p = planMemory(g);
  assert.equal(validatePlan(g, p), []);
  const inner = p.bodies![0].plan!;
  assert.equal(inner.bodies!.map((b) => b.attribute), ['else_branch', 'then_branch']);
  const u = inner.tensors.find((t) => t.name === 'u')!;
  assert.is(u.last, inner.order.indexOf('s2'), 'the inner If\'s captured %u lives until it');
  assert.ok(inner.peakBytes >= inner.scratch.find((x) => x.node === 's2')!.bytes);
});

test('a body whose sizes are known only at run time is unplanned, with the reason', () => {
  const g = parseGraph(`kiln.graph @grow(%x: f32[4]) -> (%y: f32[4]) {
  %m = const i64[] dense<2>
  %c = const bool[] dense<true>
  %y = Loop(%m, %c, %x) : f32[4] loc("loop") {
    body @body(%i: i64[], %cin: bool[], %s: f32[4]) -> (%cout: bool[], %s2: f32[4]) {
      %cout = Identity(%cin) : bool[] loc("id")
      %k = NonZero(%s) : i64[1,K] loc("nz")
      %s2 = Relu(%s) : f32[4] loc("relu")
      return %cout, %s2
    }
  }
  return %y
}`);
  const p = planMemory(g);
  assert.equal(validatePlan(g, p), []);
  const body = p.bodies![0];
  assert.is(body.plan, undefined);
  assert.is(body.bytes, 0);
  assert.match(body.unplanned!, /region '@body'.*symbolic dim 'K'/);
  const t = memoryTimelineTable(p);
  const row = t.column('tensor').indexOf('y.body');
  assert.ok(row >= 0);
  assert.is(t.column('storage')[row], 'host');
  assert.match(formatMemorySummary(p), /1 sized only at run time, by the host/);
});

test('sequences and optionals are host-held: no bytes, region host, said in the timeline and summary', () => {
  const g = parseGraph(`kiln.graph @seqs(%s: seq<f32[3]>, %x: f32[2]) -> (%y: seq<f32[3]>, %z: f32[2]) {
  %y = Identity(%s) : seq<f32[3]> loc("id")
  %z = Relu(%x) : f32[2] loc("relu")
  return %y, %z
}`);
  const p = planMemory(g);
  assert.equal(validatePlan(g, p), []);
  const y = p.tensors.find((t) => t.name === 'y')!;
  assert.equal([y.region, y.bytes, y.aliasOf], ['host', 0, undefined]);
  assert.is(p.externals.find((e) => e.name === 's')!.region, 'host');
  const t = memoryTimelineTable(p);
  assert.equal(t.column('storage'), ['host', 'arena']);
  assert.match(formatMemorySummary(p), /host-held +2 +sequence\/optional values/);
  // a host value planned with bytes in the arena is caught
  const bad = { ...p, tensors: p.tensors.map((x) => (x.name === 'y' ? { ...x, region: 'arena' as const } : x)) };
  assert.ok(rules(g, bad).includes('layout'));
});

test('validator: a body not held, a cut captured interval, a missing body entry', () => {
  const p = planMemory(ifGraph, { planner: 'greedy-size' });
  const small = { ...p, scratch: p.scratch.map((s) => (s.node === 'r' ? { ...s, bytes: 8 } : s)) };
  assert.ok(rules(ifGraph, small).includes('bodies'), 'scratch smaller than the body');
  const cut = { ...p, tensors: p.tensors.map((t) => (t.name === 'a' ? { ...t, last: t.first } : t)) };
  assert.ok(rules(ifGraph, cut).includes('interval'), 'a captured value cut short');
  const missing = { ...p, bodies: p.bodies!.slice(1) };
  assert.ok(rules(ifGraph, missing).includes('bodies'), 'a region without a body entry');
  const wrongBody = { ...p, bodies: p.bodies!.map((b, i) => (i === 0 ? { ...b, bytes: b.bytes + 64 } : b)) };
  assert.ok(rules(ifGraph, wrongBody).includes('bodies'), 'body bytes off its plan');
});

test('renderings: steps table, text chart and SVG show the body bytes', () => {
  const p = planMemory(ifGraph);
  const steps = memoryStepsTable(p);
  const k = p.order.indexOf('r');
  assert.is(steps.column('body_bytes')[k], p.scratch.find((x) => x.node === 'r')!.bodyBytes);
  assert.match(formatMemorySummary(p), /regions +.*2 region bodies/);
  assert.ok(memoryText(p, { width: 80, graph: ifGraph }).includes('regions'));
  assert.match(memorySvg(p, { graph: ifGraph }), /r\.else_branch\|then_branch/);
});

test.run();
