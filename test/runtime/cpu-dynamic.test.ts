/**
 * Values whose size is known only at run time (a Loop's stacked scan outputs, ConcatFromSequence,
 * NonZero: a symbolic dim the bound graph inputs do not determine) on the compiled cpu backend and the
 * arena: the memory plan holds them in its `host` region (no bytes), lowering gives them no buffer,
 * every node that reads or writes one is a host step on its reference kernel (listed in `fallbacks`
 * with the reason), and they are returned as graph outputs with the run's sizes.
 *
 * zoo:decoder (greedy GRU decoder: tokens, logits and hidden_states are sized by the run) matches the
 * reference executor on cpu and arena for its default inputs (stop at EOS) and for a prompt that runs
 * to max_new_tokens: tokens exactly, floats within 1e-4 of the output's scale. A small Loop whose
 * stacked output feeds a Mul, a ReduceSum (static result) and a Relu shows the consumers becoming host
 * steps while the static Relu after them stays native; node-ext's test_loop11 and the expanded Range
 * cases (skipped on cpu before, for their run-time sizes) pass. Without a C compiler the cpu tests are
 * skipped.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Graph } from '../../compiler/ir/graph.ts';
import { Tensor, readF32, readInts } from '../../compiler/ir/tensor.ts';
import { expectTensors } from '../../compiler/ir/value.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { bindShapes, shapesOf } from '../../compiler/ops/bind-shapes.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { cpuUnsupported, prepareCpu } from '../../compiler/runtime/cpu/index.ts';
import { prepareArena } from '../../compiler/runtime/arena.ts';
import { lowerGraph } from '../../compiler/codegen/lower/index.ts';
import { planMemory, validatePlan } from '../../compiler/schedule/index.ts';
import { findCCompiler } from '../../compiler/runtime/native/c-compiler.ts';
import { zooModel } from '../../compiler/zoo/index.ts';
import { DECODER_CONFIG, decoderInputs } from '../../compiler/zoo/decoder.ts';
import { zooInputs } from '../zoo/inputs.ts';
import { conformanceExtDir } from '../support/paths.ts';
import { runConformance } from '../../compiler/runtime/conformance.ts';

const cc = findCCompiler();
if (!cc) console.log('cpu-dynamic.test.ts: no C compiler found: skipping the cpu tests');
const withCC = cc ? test : test.skip;
const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-cpu-dyn-'));
process.env.KILN_CACHE_DIR = cache;
test.after(() => fs.rmSync(cache, { recursive: true, force: true }));

const decoder = zooModel('decoder');
const { eos, defaultMaxNewTokens: M } = DECODER_CONFIG;
/** [label, inputs]: the default inputs (test/zoo/inputs.ts) stop at EOS; [1, 2, 3] runs to M. */
const CASES: [string, Map<string, Tensor>][] = [
  ['default inputs, stop at EOS', zooInputs(decoder)],
  ['runs to max_new_tokens', decoderInputs([1, 2, 3], M)],
];
const bound = (g: Graph, inputs: Map<string, Tensor>) => bindShapes(g, shapesOf(inputs));

/** Tokens exactly; floats within 1e-4 of the reference's largest magnitude. */
function assertMatches(got: Tensor[], want: Tensor[], what: string): void {
  assert.is(got.length, want.length);
  want.forEach((w, k) => {
    assert.equal(got[k].shape, w.shape, `${what}: output ${k} shape`);
    if (w.dtype === 'i64') { assert.equal(readInts(got[k]), readInts(w), `${what}: output ${k}`); return; }
    const a = readF32(got[k]), b = readF32(w);
    const scale = Math.max(1, ...Array.from(b, Math.abs));
    const worst = a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
    assert.ok(worst <= 1e-4 * scale, `${what}: output ${k} differs by ${worst}`);
  });
}

test('the two cases differ as intended: one stops at EOS, the other runs to max_new_tokens', () => {
  const [eosCase, full] = CASES.map(([, inputs]) => readInts(runReference(decoder, inputs)[0]));
  assert.ok(eosCase.length < M && eosCase[eosCase.length - 1] === eos, `stops at EOS: ${eosCase}`);
  assert.is(full.length, M);
  assert.not.ok(full.includes(eos));
});

test('plan: the run-time-sized decoder outputs are host-held (no bytes), the plan is valid', () => {
  const g = bound(decoder, CASES[0][1]);
  const plan = planMemory(g);
  assert.equal(validatePlan(g, plan), []);
  for (const name of ['tokens', 'logits', 'hidden_states']) {
    const t = plan.tensors.find((x) => x.name === name)!;
    assert.is(t.region, 'host', name);
    assert.is(t.bytes, 0, name);
  }
  // hidden is f32[1,64]: a sized output stays in the arena
  assert.is(plan.tensors.find((x) => x.name === 'hidden')!.region, 'arena');
});

test('lowering: a run-time-sized value has no buffer; its readers and writers are unsupported with the reason', () => {
  const g = bound(decoder, CASES[0][1]);
  const { program, unsupported } = lowerGraph(g);
  const buffers = new Set(program.buffers.map((b) => b.value));
  for (const name of ['tokens', 'logits', 'hidden_states']) assert.not.ok(buffers.has(name), name);
  assert.ok(buffers.has('hidden'));
  const concat = unsupported.find((u) => u.op === 'ConcatFromSequence')!;
  assert.ok(concat, 'ConcatFromSequence is a host step');
  assert.equal(cpuUnsupported(g), [], 'the cpu backend can run it (with fallback)');
});

for (const [label, inputs] of CASES) {
  const g = bound(decoder, inputs);
  const want = runReference(g, inputs);

  withCC(`cpu: zoo:decoder matches the reference (${label})`, async () => {
    const p = await prepareCpu(g, planMemory(g), { threads: 2, tuning: 'off' });
    try {
      assert.ok(p.fallbacks.some((u) => u.op === 'Loop'));
      assertMatches(expectTensors(await p.run(inputs)), want, 'cpu');
      assertMatches(expectTensors(await p.run(inputs)), want, 'cpu, second run'); // held values are replaced, not kept
    } finally { await p.dispose(); }
  });

  test(`arena: zoo:decoder matches the reference (${label})`, async () => {
    const p = prepareArena(g);
    assertMatches(expectTensors(await p.run(inputs)), want, 'arena');
  });
}

const GROW = `kiln.graph @grow(%x: f32[2], %n: i64[]) -> (%sq: f32[_s,2], %out: f32[2]) {
  %c = const bool[] dense<true>
  %axes = const i64[1] dense<[0]>
  %ys = Loop(%n, %c) : f32[_s,2] loc("loop") {
    body @body(%i: i64[], %cin: bool[]) -> (%cout: bool[], %row: f32[2]) {
      %cout = Identity(%cin) : bool[] loc("id")
      %fi = Cast(%i) {to=1} : f32[] loc("cast")
      %row = Mul(%x, %fi) : f32[2] loc("mul")
      return %cout, %row
    }
  }
  %sq = Mul(%ys, %ys) : f32[_s,2] loc("sq")
  %total = ReduceSum(%sq, %axes) {keepdims=0} : f32[2] loc("sum")
  %out = Relu(%total) : f32[2] loc("relu")
  return %sq, %out
}`;
const grow = parseGraph(GROW);
const growInputs = (n: number) => new Map([['x', Tensor.fromNumbers('f32', [2], [1, -2])], ['n', Tensor.fromNumbers('i64', [], [n])]]);

withCC('cpu: compiled consumers of a run-time-sized value become host steps, saying why; a static value after them is native', async () => {
  const p = await prepareCpu(grow, undefined, { threads: 1, tuning: 'off' });
  try {
    assert.equal(p.fallbacks.map((u) => u.node), ['ys', 'sq', 'total']);
    const reasons = new Map(p.fallbacks.map((u) => [u.node, u.reason]));
    assert.match(reasons.get('sq')!, /reads 'ys' \(f32\[_s,2\]\), whose size is known only at run time/);
    assert.match(reasons.get('total')!, /reads 'sq'/);
    assert.match(p.artifacts.find((a) => a.name === 'fallback.txt')!.content, /%sq Mul: reads 'ys'/);
    assert.ok(p.artifacts.some((a) => /_Relu\.c$/.test(a.name)), 'the Relu after them is a native kernel');
    for (const n of [3, 0, 5]) {
      const got = expectTensors(await p.run(growInputs(n)));
      assertMatches(got, runReference(grow, growInputs(n)), `n=${n}`);
      assert.equal(got[0].shape, [n, 2]);
    }
  } finally { await p.dispose(); }
});

test('arena: the same graph runs, its run-time-sized values in the host region', async () => {
  const plan = planMemory(grow);
  assert.equal(plan.tensors.filter((t) => t.region === 'host').map((t) => t.name).sort(), ['sq', 'ys']);
  const p = prepareArena(grow, plan);
  for (const n of [4, 0]) assertMatches(expectTensors(await p.run(growInputs(n))), runReference(grow, growInputs(n)), `n=${n}`);
});

withCC('cpu conformance: test_loop11 and the expanded Range cases (skipped before: run-time sizes) pass with fallback', async () => {
  const report = await runConformance(conformanceExtDir(), { backend: 'cpu', filter: /^test_(loop11|range_.*_expanded)$/ });
  assert.is(report.results.length, 4, report.results.map((r) => r.name).join(', '));
  for (const r of report.results) assert.is(r.status, 'pass', `${r.name}: ${r.status} ${r.reason ?? ''}`);
});

test.run();
