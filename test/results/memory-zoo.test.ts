/**
 * Memory plan outputs on real plans: `Session.memory` on zoo:resnet50 (the peak falls after the
 * default pipeline, plans are cached per step graph and options and shared with branches), and on
 * every zoo model the tables agree with the plan (the steps table's live bytes are the sums of the
 * timeline rows live at each step, the high-water mark covers them), the SVG has one rectangle per
 * buffer and the text chart fits its width.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tableFromIPC } from 'apache-arrow';
import { Session } from '../../compiler/session.ts';
import { zooNames } from '../../compiler/zoo/index.ts';
import { memoryStepsTable, memoryTimelineTable, memorySummary } from '../../compiler/results/memory.ts';
import { memorySvg } from '../../compiler/display/memory-svg.ts';
import { memoryText } from '../../compiler/display/memory-text.ts';
import { checkXml } from './xml-check.ts';

const resnet = Session.load('zoo:resnet50', { numericCheck: false });

test('Session.memory on resnet50: fusion lowers the peak; plans cached per step and options', () => {
  const before = resnet.memory(0);
  resnet.run();
  const after = resnet.memory();
  assert.ok(after.peakBytes < before.peakBytes, `peak after the pipeline ${after.peakBytes} < step 0 ${before.peakBytes}`);
  assert.ok(after.naiveBytes < before.naiveBytes);
  assert.is(after.order.length, resnet.graph().nodes.length);
  assert.is(before.order.length, resnet.graph(0).nodes.length);
  // Batch-norm folding removes the BN outputs: the drop happens at fold-conv-bn.
  const fold = resnet.history.findIndex((s) => s.pass === 'fold-conv-bn');
  assert.ok(resnet.memory(fold).peakBytes < resnet.memory(fold - 1).peakBytes);
  // The acceptance figures: within 2% of the lower bound, at least 80% below naive.
  assert.ok(after.peakBytes <= 1.02 * after.lowerBoundBytes, `${after.peakBytes} vs ${after.lowerBoundBytes}`);
  assert.ok(after.peakBytes <= 0.2 * after.naiveBytes, `${after.peakBytes} vs naive ${after.naiveBytes}`);
  // Cached: same object for the same step and options, in any key order; options alone mean the current step.
  assert.is(resnet.memory(), after);
  assert.is(resnet.memory(0), before);
  assert.is(resnet.memory(resnet.current, { planner: 'best', alignment: 64 }), resnet.memory({ alignment: 64, planner: 'best' }));
  const naive = resnet.memory({ planner: 'naive' });
  assert.is(naive.planner, 'naive');
  assert.is.not(naive, after);
  assert.ok(naive.peakBytes >= after.peakBytes);
  // A branch shares the step graphs, hence their plans.
  assert.is(resnet.branch().memory(0), before);
  // Going back costs nothing and gives the step's own plan.
  resnet.goto(0);
  assert.is(resnet.memory(), before);
  resnet.run();
});

test('every zoo model: tables agree with the plan, SVG has one rectangle per buffer, text fits', () => {
  for (const name of zooNames({ controlFlow: false })) {
    const s = name === 'resnet50' ? resnet : Session.load(`zoo:${name}`, { numericCheck: false });
    s.run();
    const plan = s.memory();
    const timeline = tableFromIPC(memoryTimelineTable(plan).toIPC());
    const steps = tableFromIPC(memoryStepsTable(plan).toIPC());
    assert.is(timeline.numRows, plan.tensors.length, name);
    assert.is(steps.numRows, plan.order.length, name);
    const col = (t: typeof timeline, c: string) => Array.from({ length: t.numRows }, (_, i) => t.getChild(c)!.get(i));
    const bytes = col(timeline, 'bytes') as number[], first = col(timeline, 'first_step') as number[];
    const last = col(timeline, 'last_step') as number[], alias = col(timeline, 'alias_of') as (string | null)[];
    const live = col(steps, 'live_bytes') as number[], high = col(steps, 'high_water') as number[];
    for (let k = 0; k < steps.numRows; k++) {
      let sum = 0;
      for (let i = 0; i < timeline.numRows; i++) if (alias[i] === null && first[i] <= k && k <= last[i]) sum += bytes[i];
      assert.is(live[k], sum, `${name} step ${k}`);
      assert.ok(high[k] >= live[k] && high[k] <= plan.peakBytes, `${name} step ${k}: high-water ${high[k]}`);
    }
    assert.is(Math.max(...live), plan.lowerBoundBytes, name);
    assert.equal(col(steps, 'node'), [...plan.order]);
    const sum = memorySummary(plan);
    assert.ok(sum.peakOverLowerBound >= 1 && sum.peakOverLowerBound <= 1.02, `${name}: ${sum.peakOverLowerBound}`);

    const els = checkXml(memorySvg(plan, { graph: s.graph() }));
    const rects = els.filter((e) => e.name === 'rect' && els.some((t) => t.name === 'title' && t.parent === e));
    assert.is(rects.length, plan.tensors.filter((t) => t.aliasOf === undefined).length, name);

    for (const width of [40, 80, 120]) {
      for (const line of memoryText(plan, { width, graph: s.graph() }).trimEnd().split('\n')) {
        assert.ok(line.length <= width, `${name} @${width}: ${line}`);
      }
    }
  }
});

test.run();
