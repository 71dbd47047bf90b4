/**
 * The WebGPU backend `webgpu` (compiler/runtime/webgpu/) on whatever adapter Dawn finds — in CI and on
 * a machine without a GPU, Mesa's lavapipe: every zoo model after an f32 fusion pipeline runs with no
 * host fallback and matches the reference executor (1e-4 of its largest |output|, bert included: see
 * ZOO_TOLERANCE in cpu.test.ts); per-dispatch events name their dispatch, IR nodes, a device time and the dispatch
 * size on every run; the fast and timed runs agree bit for bit; artifacts hold each kernel's WGSL
 * keyed to its nodes and the adapter's description; a graph with a node that does not lower runs it
 * on the host between dispatches and lists it (and refuses it without fallback); dtypes widened on the
 * device (bool, u8, i16) and int64 round-trip; the webgpu default pipeline (mixed precision, f16 on an
 * adapter with shader-f16) stays within the pass's f16 budget (5e-3) of the f32 model; a deterministic sample of ONNX conformance cases pass.
 * Without an adapter every test is skipped and says why (the install hint of device.ts).
 */
import { test } from 'uvu';
import { expectTensors } from '../../compiler/ir/value.ts';
import * as assert from 'uvu/assert';
import { relativeError } from '../support/compare.ts';
import { type Graph, valueTypes } from '../../compiler/ir/graph.ts';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import '../../compiler/ops/all.ts';
import { PassManager, defaultPipeline } from '../../compiler/passes/index.ts';
import '../../compiler/passes/all.ts';
import { zooModel, zooNames } from '../../compiler/zoo/index.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { planMemory } from '../../compiler/schedule/index.ts';
import { findBackend, type KernelEvent } from '../../compiler/runtime/backend.ts';
import '../../compiler/runtime/backends.ts';
import { prepareWebgpu } from '../../compiler/runtime/webgpu/index.ts';
import { webgpuDevice } from '../../compiler/runtime/webgpu/device.ts';
import { randomInputs } from '../../compiler/runtime/inputs.ts';
import { sameBits } from './arena-support.ts';

const opened = await webgpuDevice();
if (!opened.ok) console.log(`webgpu.test.ts: skipping the webgpu backend tests: ${opened.reason}`);
const withGpu = opened.ok ? test : test.skip;

/** The f32 pipeline: the webgpu default (channels-last convolutions) without mixed precision (f16 is checked on its own budget). */
const F32_PIPELINE = defaultPipeline('webgpu').split(',').filter((p) => p !== 'mixed-precision').join(',');
const ZOO_TOLERANCE = 1e-4;

function compiled(name: string, pipeline = F32_PIPELINE): Graph {
  const results = new PassManager({ target: 'webgpu' }).run(zooModel(name), pipeline);
  return results[results.length - 1].graph;
}

withGpu('the webgpu backend is available and describes its adapter', async () => {
  assert.equal(await findBackend('webgpu')!.available(), { ok: true });
  const info = opened.ok ? opened.gpu.info : undefined;
  assert.ok(info && (info.description || info.device).length > 0);
  assert.ok(info!.limits.maxStorageBuffersPerShaderStage >= 8);
});

for (const name of zooNames({ controlFlow: false })) {
  withGpu(`${name}: compiled to WGSL matches the reference executor; dispatch events cover every dispatch`, async () => {
    const g = compiled(name);
    const program = await prepareWebgpu(g, planMemory(g));
    try {
      assert.equal(program.fallbacks, [], `${name} runs entirely on the device`);
      const inputs = randomInputs(g, 11);
      const want = runReference(g, inputs);
      const fast = expectTensors(await program.run(inputs));
      const rel = relativeError(fast, want);
      assert.ok(rel <= ZOO_TOLERANCE, `${name}: relative error ${rel} > ${ZOO_TOLERANCE}`);
      const ids = new Set(g.nodes.map((n) => n.outputs[0]));
      const events: KernelEvent[] = [];
      const timed = expectTensors(await program.run(inputs, { onKernel: (e) => events.push(e) }));
      assert.equal(events.map((e) => e.kernel), program.dispatches.map((d) => d.name), 'one event per dispatch, in order');
      for (const e of events) {
        assert.ok(e.nodes.length > 0 && e.nodes.every((n) => ids.has(n)), `${e.kernel} names graph node ids`);
        assert.ok(e.ms >= 0 && Number.isFinite(e.ms), `${e.kernel}: ${e.ms} ms`);
        assert.match(e.dispatch ?? '', /^\[\d+,\d+,\d+\]x\[\d+,\d+,\d+\]$/);
        assert.is(e.clock, opened.ok && opened.gpu.timestamps ? 'device' : 'host');
      }
      fast.forEach((t, k) => assert.ok(sameBits(t, timed[k]), `${name}: the timed run differs at output ${k}`));
      // each kernel's WGSL is an artifact keyed to its nodes
      const wgsl = program.artifacts.filter((a) => a.kind === 'source' && a.name.endsWith('.wgsl') && a.nodes!.length < g.nodes.length);
      assert.ok(wgsl.length > 0);
      for (const a of wgsl) assert.match(a.content, /@compute @workgroup_size\(/);
      assert.ok(program.artifacts.some((a) => a.name === 'adapter.json'));
    } finally {
      await program.dispose();
    }
  });
}

/** The mixed-precision pass's documented budget for f16 (test/passes/mixed-precision.test.ts). */
const F16_BUDGET = 5e-3;
const withF16 = opened.ok && opened.gpu.f16 ? test : test.skip;
if (opened.ok && !opened.gpu.f16) console.log('webgpu.test.ts: the adapter has no shader-f16: skipping the f16 (mixed-precision) runs');

for (const name of zooNames({ controlFlow: false })) {
  withF16(`${name}: the webgpu default pipeline (f16 mixed precision) runs in f16 on the device within the pass's budget of the f32 model`, async () => {
    const g = compiled(name, defaultPipeline('webgpu'));
    assert.ok(g.nodes.some((n) => n.outputs.some((o) => valueTypes(g).get(o)?.dtype === 'f16')), 'the graph computes in f16');
    const program = await prepareWebgpu(g, planMemory(g));
    try {
      assert.equal(program.fallbacks, [], `${name} runs entirely on the device`);
      assert.ok(program.dispatches.some((d) => /array<f16>/.test(d.wgsl)), 'f16 buffers on the device');
      const f32 = zooModel(name);
      const inputs = randomInputs(f32, 11);
      const rel = relativeError(expectTensors(await program.run(inputs)), runReference(f32, inputs));
      assert.ok(rel <= F16_BUDGET, `${name}: f16 relative error ${rel} > ${F16_BUDGET}`);
    } finally {
      await program.dispose();
    }
  });
}

// graphs whose kernels take each vectorized path, and the scalar one beside it, against the reference
const VECTOR_CASES: readonly [string, string, string][] = [
  ['elementwise rows of 100 with a per-row operand', 'thread per 4 elements (vector loads)', `kiln.graph @ew(%x: f32[6,100], %s: f32[6,1], %b: f32[100]) -> (%y: f32[6,100]) {
  %m = Mul(%x, %s) : f32[6,100]
  %y = Add(%m, %b) : f32[6,100]
  return %y
}`],
  ['Gemm with transA: A vector-loaded along its rows (M)', 'tiled (workgroup memory)', `kiln.graph @gt(%a: f32[36,68], %b: f32[36,20]) -> (%y: f32[68,20]) {
  %y = Gemm(%a, %b) {transA=1} : f32[68,20]
  return %y
}`],
  ['MatMul with K = 37 (no vector copies of A) and N = 24', 'tiled (workgroup memory)', `kiln.graph @mk(%a: f32[40,37], %b: f32[37,24]) -> (%y: f32[40,24]) {
  %y = MatMul(%a, %b) : f32[40,24]
  return %y
}`],
  ['channels-last convolution, 8 channels, padded', 'tiled (workgroup memory)', `kiln.graph @cv(%x: f32[1,8,9,9], %w: f32[12,8,3,3]) -> (%y: f32[1,12,9,9]) {
  %y = Conv(%x, %w) {pads=[1, 1, 1, 1]} : f32[1,12,9,9]
  return %y
}`],
];

for (const [what, mode, text] of VECTOR_CASES) {
  withGpu(`vector loads: ${what} matches the reference`, async () => {
    const g = new PassManager({ target: 'webgpu' }).run(parseGraph(text), F32_PIPELINE).at(-1)!.graph;
    const program = await prepareWebgpu(g, undefined);
    try {
      assert.ok(program.dispatches.some((d) => d.mode === mode), `a ${mode} dispatch`);
      const inputs = randomInputs(g, 5);
      assert.ok(relativeError(expectTensors(await program.run(inputs)), runReference(g, inputs)) <= 1e-6);
    } finally {
      await program.dispose();
    }
  });
}

withGpu('vector loads: the zoo models use them (vector loads in the tile copies and in elementwise kernels)', async () => {
  const program = await prepareWebgpu(compiled('bert'), undefined);
  try {
    assert.ok(program.dispatches.some((d) => d.mode === 'thread per 4 elements (vector loads)'));
    assert.ok(program.dispatches.some((d) => d.mode === 'tiled (workgroup memory)' && /: array<vec4<f32>>;/.test(d.wgsl)));
  } finally {
    await program.dispose();
  }
});

withGpu('a node that does not lower runs on the host between dispatches; refused without fallback', async () => {
  // ReduceLogSumExp has no lowering: it runs on its reference kernel between the two dispatches
  const g = parseGraph(`kiln.graph @fb(%x: f32[2,8]) -> (%z: f32[2,8]) {
  %axes = const i64[1] dense<[1]>
  %y = Relu(%x) : f32[2,8]
  %c = ReduceLogSumExp(%y, %axes) {keepdims=1} : f32[2,1]
  %z = Mul(%c, %y) : f32[2,8]
  return %z
}`);
  const program = await prepareWebgpu(g, undefined);
  try {
    assert.equal(program.fallbacks.map((u) => u.op), ['ReduceLogSumExp']);
    const inputs = randomInputs(g, 3);
    const got = expectTensors(await program.run(inputs));
    assert.ok(relativeError(got, runReference(g, inputs)) <= 1e-6);
    const events: KernelEvent[] = [];
    expectTensors(await program.run(inputs, { onKernel: (e) => events.push(e) }));
    assert.equal(events.map((e) => e.fallback === true), [false, true, false]);
    assert.ok(program.artifacts.some((a) => a.name === 'fallback.txt' && /ReduceLogSumExp/.test(a.content)));
  } finally {
    await program.dispose();
  }
  await prepareWebgpu(g, undefined, { fallback: false }).then(() => assert.unreachable('prepared'), (e) => assert.match((e as Error).message, /ReduceLogSumExp/));
});

withGpu('KILN_WEBGPU_TIMESTAMPS=off times each dispatch on the host clock', async () => {
  const g = compiled('mlp');
  process.env.KILN_WEBGPU_TIMESTAMPS = 'off';
  const program = await prepareWebgpu(g, undefined);
  delete process.env.KILN_WEBGPU_TIMESTAMPS;
  try {
    const inputs = randomInputs(g, 2);
    const events: KernelEvent[] = [];
    const got = expectTensors(await program.run(inputs, { onKernel: (e) => events.push(e) }));
    assert.equal(events.map((e) => e.kernel), program.dispatches.map((d) => d.name));
    assert.ok(events.every((e) => e.clock === 'host' && e.ms >= 0 && Number.isFinite(e.ms)));
    assert.ok(relativeError(got, runReference(g, inputs)) <= ZOO_TOLERANCE);
  } finally {
    await program.dispose();
  }
});

withGpu('bool, 8- and 16-bit integers and int64 round-trip through the device', async () => {
  const g = parseGraph(`kiln.graph @types(%a: u8[5], %b: i16[5], %c: i64[5], %d: bool[5]) -> (%0: u8[5], %1: i16[5], %2: i64[5], %3: bool[5]) {
  %0 = Add(%a, %a) : u8[5]
  %1 = Neg(%b) : i16[5]
  %2 = Mul(%c, %c) : i64[5]
  %3 = Not(%d) : bool[5]
  return %0, %1, %2, %3
}`);
  const program = await prepareWebgpu(g, undefined);
  try {
    assert.equal(program.fallbacks, []);
    const inputs = new Map([
      ['a', Tensor.fromNumbers('u8', [5], [0, 1, 100, 200, 255])],
      ['b', Tensor.fromNumbers('i16', [5], [0, 1, -32768, 32767, -5])],
      ['c', new Tensor('i64', [5], BigInt64Array.from([0n, 3n, -4n, 3037000499n, -(2n ** 40n)]))],
      ['d', Tensor.fromNumbers('bool', [5], [0, 1, 1, 0, 1])],
    ]);
    const got = expectTensors(await program.run(inputs));
    const want = runReference(g, inputs);
    got.forEach((t, k) => assert.equal(Array.from(t.data as ArrayLike<number | bigint>), Array.from(want[k].data as ArrayLike<number | bigint>), `output ${k}`));
  } finally {
    await program.dispose();
  }
});

test.run();
