/**
 * Control flow on the compiled cpu backend and the arena: a node with regions (If, Loop) is a host
 * step whose region bodies are compiled as cpu programs of their own (`regions.txt` says so), the
 * values they capture read from the program's buffer; results equal the reference executor's for both branches of an If and for a Loop
 * whose body reads an outer value; timings report the control-flow node once (kernel `ref:ID`, its
 * whole region time); a sequence made and read by host steps is held on the host (cpu) or in the
 * plan's host region (arena); a graph whose inputs or outputs are sequences is declared unsupported
 * with the reason (a conformance run skips it). The arena runs the same graphs on their validated plans.
 * Without a C compiler the cpu tests are skipped.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Graph } from '../../compiler/ir/graph.ts';
import { Tensor, readNumbers } from '../../compiler/ir/tensor.ts';
import { expectTensors } from '../../compiler/ir/value.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import '../../compiler/ops/all.ts';
import { registerOps, valueKernelOnly } from '../../compiler/ops/registry.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import type { KernelEvent } from '../../compiler/runtime/backend.ts';
import { cpuUnsupported, prepareCpu } from '../../compiler/runtime/cpu/index.ts';
import { prepareArena } from '../../compiler/runtime/arena.ts';
import { planMemory } from '../../compiler/schedule/index.ts';
import { findCCompiler } from '../../compiler/runtime/native/c-compiler.ts';
import { IF_TEXT, LOOP_EXPECTED, LOOP_INPUTS, LOOP_TEXT } from '../support/control-flow-graphs.ts';

const cc = findCCompiler();
if (!cc) console.log('cpu-control-flow.test.ts: no C compiler found: skipping the cpu tests');
const withCC = cc ? test : test.skip;
const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-cpu-cf-'));
process.env.KILN_CACHE_DIR = cache;
test.after(() => fs.rmSync(cache, { recursive: true, force: true }));

const loop = parseGraph(LOOP_TEXT), branchy = parseGraph(IF_TEXT);
const loopInputs = new Map(Object.entries(LOOP_INPUTS));
const ifInputs = (p: boolean) => new Map<string, Tensor>([
  ['p', Tensor.fromNumbers('bool', [], [p ? 1 : 0])], ['x', Tensor.fromNumbers('f32', [4], [0.5, -1, 2, 0])]]);
const numbers = (t: unknown) => Array.from(readNumbers(t as Tensor));

withCC('cpu: a Loop runs as a host step between native kernels, its body reading the outer %w', async () => {
  const p = await prepareCpu(loop, undefined, { threads: 1, tuning: 'off' });
  try {
    assert.equal(p.fallbacks.map((u) => [u.node, u.op]), [['y', 'Loop']]);
    const regions = p.artifacts.find((a) => a.name === 'regions.txt')!.content;
    assert.match(regions, /%y Loop body: compiled \(3 of 3 node\(s\) native\)/, 'the body is a cpu program of its own');
    assert.equal(numbers((await p.run(loopInputs))[0]), LOOP_EXPECTED);
    const events: KernelEvent[] = [];
    await p.run(loopInputs, { onKernel: (e) => events.push(e) });
    const host = events.filter((e) => e.fallback);
    assert.equal(host.map((e) => [e.kernel, e.nodes]), [['ref:y', ['y']]], 'the Loop is timed once, as a whole');
    assert.ok(!events.some((e) => e.nodes.includes('t') || e.nodes.includes('s2')), 'no event for a body node');
  } finally {
    await p.dispose();
  }
});

withCC('cpu: both branches of an If read the captured values from the buffer', async () => {
  const p = await prepareCpu(branchy, planMemory(branchy), { threads: 1, tuning: 'off' });
  try {
    assert.equal(p.fallbacks.map((u) => u.op), ['If']);
    const regions = p.artifacts.find((a) => a.name === 'regions.txt')!.content;
    assert.match(regions, /%r If else_branch: compiled/);
    assert.match(regions, /%r If then_branch: compiled/);
    for (const cond of [true, false]) {
      const want = runReference(branchy, ifInputs(cond))[0];
      const got = expectTensors(await p.run(ifInputs(cond)))[0];
      assert.equal(numbers(got), numbers(want), `cond ${cond}`);
    }
  } finally {
    await p.dispose();
  }
});

test('arena: If and Loop run on their validated plans and match the reference executor', async () => {
  for (const [g, inputs] of [[loop, loopInputs], [branchy, ifInputs(true)], [branchy, ifInputs(false)]] as [Graph, Map<string, Tensor>][]) {
    const p = prepareArena(g);
    assert.ok(p.plan.bodies?.length, 'the plan has region bodies');
    const got = expectTensors(await p.run(inputs))[0];
    assert.equal(numbers(got), numbers(runReference(g, inputs)[0]), g.name);
  }
});

// test-only value ops (the sequence ops live elsewhere): a tensor split into a sequence of its rows,
// and a sequence of rows stacked back into a tensor
registerOps([
  {
    name: 'TestOnlyRows', inputs: [1, 1], outputs: [1, 1], parseAttrs: () => ({}),
    inferTypes: (ins) => [{ dtype: ins[0]!.dtype, shape: ins[0]!.shape.slice(1), container: 'seq' }],
    run: valueKernelOnly('TestOnlyRows'),
    runValues: (ins) => {
      const x = ins[0] as Tensor, n = x.shape[0], w = x.size / n, d = x.data as Float32Array;
      return [Array.from({ length: n }, (_, r) => new Tensor('f32', x.shape.slice(1), d.slice(r * w, (r + 1) * w)))];
    },
  },
  {
    name: 'TestOnlyStack', inputs: [1, 1], outputs: [1, 1], parseAttrs: () => ({}),
    inferTypes: (ins) => [{ dtype: ins[0]!.dtype, shape: [3, ...ins[0]!.shape] }], // the test's three rows
    run: valueKernelOnly('TestOnlyStack'),
    runValues: (ins) => {
      const rows = ins[0] as readonly Tensor[], w = rows[0].size, out = new Float32Array(rows.length * w);
      rows.forEach((r, k) => out.set(r.data as Float32Array, k * w));
      return [new Tensor('f32', [rows.length, ...rows[0].shape], out)];
    },
  },
]);

const SEQ_TEXT = `kiln.graph @rows(%x: f32[3,4]) -> (%out: f32[3,4]) {
  %a = Relu(%x) : f32[3,4] loc("relu")
  %s = TestOnlyRows(%a) : seq<f32[4]> loc("rows")
  %b = TestOnlyStack(%s) : f32[3,4] loc("stack")
  %out = Neg(%b) : f32[3,4] loc("neg")
  return %out
}`;

withCC('cpu: a sequence made and read by host steps is held on the host between native kernels', async () => {
  const g = parseGraph(SEQ_TEXT);
  const x = Tensor.fromNumbers('f32', [3, 4], Array.from({ length: 12 }, (_, i) => i - 5));
  const want = Array.from({ length: 12 }, (_, i) => -Math.max(0, i - 5));
  const p = await prepareCpu(g, undefined, { threads: 1, tuning: 'off' });
  try {
    assert.equal(p.fallbacks.map((u) => u.op), ['TestOnlyRows', 'TestOnlyStack']);
    assert.equal(numbers((await p.run(new Map([['x', x]])))[0]), want);
  } finally {
    await p.dispose();
  }
  const a = prepareArena(g);
  assert.is(a.plan.tensors.find((t) => t.name === 's')!.region, 'host');
  assert.equal(numbers((await a.run(new Map([['x', x]])))[0]), want);
});

test('sequences at the graph boundary: compiled backends declare them unsupported, with the reason', () => {
  const g = parseGraph(`kiln.graph @seqs(%s: seq<f32[3]>, %x: f32[2]) -> (%y: seq<f32[3]>, %z: f32[2]) {
  %y = Identity(%s) : seq<f32[3]> loc("id")
  %z = Relu(%x) : f32[2] loc("relu")
  return %y, %z
}`);
  const why = cpuUnsupported(g).map((u) => u.reason);
  assert.equal(why.length, 2);
  assert.match(why[0], /graph input 's' is a sequence: compiled programs take tensors/);
  assert.match(why[1], /graph output 'y' is a sequence: compiled programs return tensors/);
});

test.run();
