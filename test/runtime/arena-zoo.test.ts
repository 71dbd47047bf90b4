/**
 * Every zoo model after the default (cpu) pipeline runs on the arena executor with the `best` plan —
 * views, in-place results and buffer reuse as the planner chose them — and gives the reference
 * executor's outputs bit for bit (same kernels). MLP and MobileNetV2 are also run with scratch declared
 * for every heavy kernel (the arena poisons it before the kernel runs), and MobileNetV2 with a corrupted
 * plan (a buffer moved onto one a residual Add still reads) that the validator refuses and that changes
 * the outputs.
 */
import { test } from 'uvu';
import { expectTensors } from '../../compiler/ir/value.ts';
import * as assert from 'uvu/assert';
import type { Graph, Node } from '../../compiler/ir/graph.ts';
import '../../compiler/ops/all.ts';
import { PassManager, defaultPipeline } from '../../compiler/passes/index.ts';
import '../../compiler/passes/all.ts';
import { zooModel, zooNames } from '../../compiler/zoo/index.ts';
import { randomInputs } from '../../compiler/runtime/inputs.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { prepareArena } from '../../compiler/runtime/arena.ts';
import { type MemoryPlan, planMemory, validatePlan } from '../../compiler/schedule/index.ts';
import { sameBits } from './arena-support.ts';

function compiled(name: string): Graph {
  const results = new PassManager({ target: 'cpu' }).run(zooModel(name), defaultPipeline('cpu'));
  return results[results.length - 1].graph;
}

/** Scratch a GEMM-like kernel might want: the bytes of its output (packed panels, im2col). */
const heavyScratch = (n: Node) => (/Conv|Gemm|MatMul/i.test(n.op) ? 4 * n.types[0].shape.reduce<number>((a, d) => a * (d as number), 1) : 0);

async function check(g: Graph, plan: MemoryPlan, label: string): Promise<void> {
  assert.equal(validatePlan(g, plan, {}), [], label);
  const inputs = randomInputs(g, 11);
  const want = runReference(g, inputs);
  const got = expectTensors(await prepareArena(g, plan).run(inputs));
  assert.is(got.length, want.length);
  want.forEach((w, k) => assert.ok(sameBits(w, got[k]), `${label}: output ${k} '${g.outputs[k]}' differs from the reference`));
}

for (const name of zooNames({ controlFlow: false })) {
  test(`${name}: the arena executor matches the reference executor bit for bit after the default pipeline`, async () => {
    const g = compiled(name);
    const plan = planMemory(g);
    // (MLP fuses into three GEMMs with epilogues: nothing left to alias)
    if (name !== 'mlp') assert.ok(plan.tensors.some((t) => t.aliasKind !== undefined), `${name}: the plan has views or in-place results to exercise`);
    await check(g, plan, name);
    if (name === 'mlp' || name === 'mobilenetv2') {
      const withScratch = planMemory(g, { scratchBytes: heavyScratch });
      assert.ok(withScratch.scratch.length > 0);
      assert.equal(validatePlan(g, withScratch, { scratchBytes: heavyScratch }), []);
      await check(g, withScratch, `${name} with scratch`);
    }
  });
}

test('mobilenetv2: a buffer moved onto one still to be read is refused and changes the outputs', async () => {
  const g = compiled('mobilenetv2');
  const plan = planMemory(g, { inplace: false });
  const roots = plan.tensors.filter((t) => t.aliasOf === undefined && t.bytes > 0);
  // a is read after b is written (a residual branch's input and a tensor inside the branch)
  const [a, b] = roots.flatMap((x) => roots.filter((y) => x.first < y.first && y.first < x.last).map((y) => [x, y]))[0];
  const bad = { ...plan, tensors: plan.tensors.map((t) => (t.name === b.name || t.aliasOf === b.name ? { ...t, offset: a.offset } : t)) };
  assert.ok(validatePlan(g, bad).some((e) => e.startsWith('overlap')));
  const inputs = randomInputs(g, 11);
  const want = runReference(g, inputs);
  const got = expectTensors(await prepareArena(g, bad, { validate: false }).run(inputs));
  assert.not.ok(want.every((w, k) => sameBits(w, got[k])), 'overlapping live buffers must corrupt the output');
});

test.run();
