/**
 * The cuda backend (compiler/runtime/cuda/). Everywhere: its driver and NVRTC bindings parse (koffi
 * prototypes of every call), and without the NVIDIA driver it says so, and `useBackend('cuda')` runs on the
 * reference backend with that reason. With a driver and a device (and nvcc or NVRTC to compile): every zoo
 * model matches the reference executor (1e-4 of the largest |output| in f32; the f16 pipeline within
 * the mixed-precision pass's 5e-3 of the f32 model), one timing event per launch with its nodes, launch
 * size and a device time, and the ONNX conformance set passes at least 97%. Those GPU tests say they
 * were skipped and why on a machine without one.
 */
import { test } from 'uvu';
import { expectTensors } from '../../compiler/ir/value.ts';
import * as assert from 'uvu/assert';
import koffi from 'koffi';
import { relativeError } from '../support/compare.ts';
import type { Graph } from '../../compiler/ir/graph.ts';
import '../../compiler/ops/all.ts';
import { PassManager, defaultPipeline } from '../../compiler/passes/index.ts';
import '../../compiler/passes/all.ts';
import { zooModel, zooNames } from '../../compiler/zoo/index.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { planMemory } from '../../compiler/schedule/index.ts';
import { type KernelEvent, findBackend } from '../../compiler/runtime/backend.ts';
import { useBackend } from '../../compiler/runtime/backends.ts';
import { randomInputs } from '../../compiler/runtime/inputs.ts';
import { runConformance } from '../../compiler/runtime/conformance.ts';
import { conformanceDir } from '../support/paths.ts';
import { DRIVER_SIGNATURES, openCuda } from '../../compiler/runtime/cuda/driver.ts';
import { findNvcc } from '../../compiler/runtime/cuda/nvcc.ts';
import { NVRTC_SIGNATURES, findNvrtc } from '../../compiler/runtime/cuda/nvrtc.ts';
import { resourcesText } from '../../compiler/runtime/cuda/index.ts';
import { cudaPeaks } from '../../compiler/runtime/cuda/peak.ts';

const opened = openCuda();
const compiler = findNvcc() ?? findNvrtc();
const why = !opened.ok ? opened.reason : !compiler ? 'neither nvcc nor libnvrtc to compile the kernels' : '';
if (why) console.log(`cuda.test.ts: skipping the GPU tests: ${why}`);
const withCuda = why ? test.skip : test;

const F16_PIPELINE = defaultPipeline('cuda');
const F32_PIPELINE = F16_PIPELINE.split(',').filter((p) => p !== 'mixed-precision').join(',');
const compiled = (name: string, pipeline: string): Graph => new PassManager({ target: 'cuda' }).run(zooModel(name), pipeline).at(-1)!.graph;

test('every driver and NVRTC call the runtime binds has a prototype koffi parses', () => {
  for (const [name, sig] of Object.entries({ ...DRIVER_SIGNATURES, ...NVRTC_SIGNATURES })) {
    try { koffi.proto(sig); } catch (e) { assert.unreachable(`${name}: ${(e as Error).message}`); }
  }
  assert.ok(Object.keys(DRIVER_SIGNATURES).includes('cuLaunchKernel'));
});

test('the ptxas artifact lists every kernel with its registers, spills, shared memory and stack', () => {
  const text = resourcesText([{ kernel: 'k0_MatMul', registers: 72, spillStores: 4, spillLoads: 4, sharedBytes: 8192, stackBytes: 8 }], 'sm_90');
  assert.match(text, 'ptxas -v for sm_90:');
  assert.match(text, /k0_MatMul\s+72\s+8\s+8192\s+8/);
});

test('without a driver the backend says what is missing and runs on the reference backend', async () => {
  const backend = findBackend('cuda')!;
  const a = await backend.available();
  if (opened.ok) { assert.equal(a, { ok: true }); return; }
  assert.equal(a, { ok: false, reason: opened.reason });
  assert.match(opened.reason, /NVIDIA driver|CUDA device|KILN_CUDA/);
  const warnings: string[] = [];
  const used = await useBackend('cuda', { onWarning: (m) => warnings.push(m) });
  assert.is(used.name, 'ref');
  assert.match(warnings.join('\n'), opened.reason);
  await useBackend('cuda', { substitute: false }).then(() => assert.unreachable('used'), (e) => assert.match((e as Error).message, opened.reason));
});

for (const name of zooNames({ controlFlow: false })) {
  withCuda(`${name}: compiled to CUDA matches the reference executor; one event per launch`, async () => {
    const g = compiled(name, F32_PIPELINE);
    const program = await findBackend('cuda')!.prepare(g, planMemory(g));
    try {
      assert.equal(program.fallbacks, []);
      const inputs = randomInputs(g, 11);
      const rel = relativeError(expectTensors(await program.run(inputs)), runReference(g, inputs));
      assert.ok(rel <= 1e-4, `${name}: relative error ${rel}`);
      const events: KernelEvent[] = [];
      expectTensors(await program.run(inputs, { onKernel: (e) => events.push(e) }));
      assert.ok(events.length > 0 && events.every((e) => e.clock === 'device' && e.ms >= 0 && e.nodes.length > 0 && /^\[\d+,\d+,\d+\]x\[\d+,\d+,\d+\]$/.test(e.dispatch ?? '')));
    } finally {
      await program.dispose();
    }
  });

  withCuda(`${name}: the f16 pipeline runs within the mixed-precision budget of the f32 model`, async () => {
    const g16 = compiled(name, F16_PIPELINE), g32 = compiled(name, F32_PIPELINE);
    const program = await findBackend('cuda')!.prepare(g16, planMemory(g16));
    try {
      const inputs = randomInputs(g32, 11);
      const rel = relativeError(expectTensors(await program.run(inputs)), runReference(g32, inputs));
      assert.ok(rel <= 5e-3, `${name}: f16 relative error ${rel}`);
    } finally {
      await program.dispose();
    }
  });
}

withCuda('cuda backend passes the ONNX conformance set', async () => {
  const report = await runConformance(conformanceDir(), { backend: 'cuda' });
  const total = report.results.length;
  assert.ok(report.passed / total >= 0.97, `pass rate ${report.passed}/${total}`);
});

test('theoretical peaks from the driver\'s figures match the datasheets (A100 SXM, H100 SXM)', () => {
  const a100 = cudaPeaks({ capability: [8, 0], multiprocessors: 108, clockKHz: 1410000 });
  assert.ok(Math.abs(a100.fp32 - 19500) < 50 && Math.abs(a100.tensorF16 - 312000) < 500 && Math.abs(a100.tensorTf32 - 156000) < 300, JSON.stringify(a100));
  const h100 = cudaPeaks({ capability: [9, 0], multiprocessors: 132, clockKHz: 1830000 });
  assert.ok(Math.abs(h100.fp32 - 61800) < 200 && Math.abs(h100.tensorF16 - 989000) < 2000, JSON.stringify(h100));
});

withCuda('tf32: f32 products on tensor cores stay within 1e-2 of the reference; a replayed CUDA graph gives what the launches one by one give', async () => {
  const g = compiled('resnet50', F32_PIPELINE);
  const program = await findBackend('cuda')!.prepare(g, planMemory(g), { tf32: true });
  try {
    assert.ok(program.artifacts.some((a) => a.name.endsWith('.cu') && a.content.includes('mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32')), 'tf32 mma in the source');
    const inputs = randomInputs(g, 11);
    const eager = expectTensors(await program.run(inputs, { graph: false }));
    const rel = relativeError(eager, runReference(g, inputs));
    assert.ok(rel <= 1e-2, `tf32 relative error ${rel}`);
    const first = expectTensors(await program.run(inputs)), again = expectTensors(await program.run(inputs));
    assert.is(relativeError(first, eager), 0, 'graph replay = launches one by one');
    assert.is(relativeError(again, eager), 0, 'second replay');
    assert.ok((await program.peakGflops!()) > 1000, 'a datasheet FP32 peak');
  } finally {
    await program.dispose();
  }
});

test.run();
