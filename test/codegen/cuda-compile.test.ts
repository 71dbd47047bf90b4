/**
 * Generated CUDA is checked without a GPU, on every commit where nvcc is found: every zoo model, in f32
 * and in f16 (the webgpu/cuda default pipeline with mixed precision; resnet50 and bert also in tf32 and
 * bf16), becomes one CUDA translation unit (compiler/runtime/cuda/compile.ts) that nvcc compiles for
 * sm_80 and sm_90 (compiler/runtime/cuda/nvcc.ts) with no error, no register spill in a template
 * kernel (the tiled GEMM/convolution, on tensor cores in f16, bf16 and tf32) and no kernel over the
 * architecture's 48 KiB of static shared memory. The CUDA descriptor's spelling is
 * checked on small kernels (no #include, unmangled entry points, aligned vector loads as one vector
 * load in the PTX). Without nvcc the compile tests say they were skipped and why.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../../compiler/ops/all.ts';
import '../../compiler/passes/all.ts';
import { PassManager, defaultPipeline } from '../../compiler/passes/index.ts';
import { zooModel, zooNames } from '../../compiler/zoo/index.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { type RenderedKernel, compileCudaSource, cudaUnit } from '../../compiler/runtime/cuda/compile.ts';
import { conformanceDir } from '../support/paths.ts';
import { loadOnnxFile } from '../../compiler/import/onnx/import.ts';
import { bindInputs } from '../../compiler/runtime/inputs.ts';
import { compileCuda, findNvcc, parsePtxasInfo } from '../../compiler/runtime/cuda/nvcc.ts';

const nvcc = findNvcc();
if (!nvcc) console.log('cuda-compile.test.ts: no nvcc found (KILN_NVCC, PATH, CUDA_HOME, /usr/local/cuda): skipping the CUDA compile checks');
const withNvcc = nvcc ? test : test.skip;
const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-cuda-'));
test.after(() => fs.rmSync(cache, { recursive: true, force: true }));

const ARCHS = ['sm_80', 'sm_90'];
/** Static shared memory per block on sm_80 and sm_90 without the dynamic opt-in. */
const STATIC_SHARED_LIMIT = 48 * 1024;
const F16_PIPELINE = defaultPipeline('webgpu');
const F32_PIPELINE = F16_PIPELINE.split(',').filter((p) => p !== 'mixed-precision').join(',');
const BF16_PIPELINE = F16_PIPELINE.replace('mixed-precision', 'mixed-precision{dtype=bf16}');

test('the CUDA unit includes no header, names kernels unmangled and binds grid/block loops to blockIdx/threadIdx', () => {
  const g = parseGraph(`kiln.graph @s(%x: f32[4,512]) -> (%y: f32[4,512]) {
  %y = Softmax(%x) {axis=-1} : f32[4,512]
  return %y
}`);
  const { source, launches, fallbacks } = compileCudaSource(g);
  assert.equal(fallbacks, []);
  assert.not.match(source, '#include');
  assert.match(source, `extern "C" __global__ void __launch_bounds__(256, 1) ${launches[0].name}(const float *__restrict__ in0, float *__restrict__ out0) {`);
  assert.match(source, '__shared__ float ');
  assert.match(source, '{ const int g_x = (int)blockIdx.x;');
  assert.match(source, '{ const int g_t = (int)threadIdx.x;');
  assert.match(source, '__syncthreads();');
  assert.match(source, '__int_as_float((int)0xff800000u)'); // the max's -inf initial value, from bits
});

test('a kernel CUDA cannot spell yet (a float8 Cast) is a listed fallback, not an error; bf16 compiles (stored as 16 bits, computed in f32)', () => {
  const g = parseGraph(`kiln.graph @b(%x: f32[8]) -> (%y: f8e4m3fn[8]) {
  %y = Cast(%x) {to=17} : f8e4m3fn[8]
  return %y
}`);
  const { fallbacks, launches } = compileCudaSource(g);
  assert.is(launches.length, 0);
  assert.ok(fallbacks.length === 1 && /the CUDA target has no f8e4m3fn yet/.test(fallbacks[0].reason), JSON.stringify(fallbacks));
  const b = compileCudaSource(parseGraph(`kiln.graph @b(%x: bf16[8]) -> (%y: bf16[8]) {
  %y = Relu(%x) : bf16[8]
  return %y
}`));
  assert.equal(b.fallbacks, []);
  assert.match(b.source, 'kiln_f32_bf16(');
  assert.match(b.source, 'kiln_bf16_f32(in0[');
});

test('ptxas -v figures are read per kernel', () => {
  const log = [
    "ptxas info    : Compiling entry function 'k0_MatMul' for 'sm_80'",
    'ptxas info    : Function properties for k0_MatMul',
    '    8 bytes stack frame, 4 bytes spill stores, 4 bytes spill loads',
    'ptxas info    : Used 72 registers, 8192 bytes smem, 368 bytes cmem[0]',
    'ptxas info    : Function properties for k1_Relu',
    '    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads',
    'ptxas info    : Used 10 registers, 360 bytes cmem[0]',
  ].join('\n');
  assert.equal(parsePtxasInfo(log), [
    { kernel: 'k0_MatMul', registers: 72, sharedBytes: 8192, stackBytes: 8, spillStores: 4, spillLoads: 4 },
    { kernel: 'k1_Relu', registers: 10, sharedBytes: 0, stackBytes: 0, spillStores: 0, spillLoads: 0 },
  ]);
});

withNvcc('aligned vector loads become one 128-bit load in the PTX; the PTX and the command are artifacts', () => {
  const g = parseGraph(`kiln.graph @v(%x: f32[64,256], %b: f32[256]) -> (%y: f32[64,256]) {
  %y = Add(%x, %b) : f32[64,256]
  return %y
}`);
  const { source } = compileCudaSource(g);
  assert.match(source, '(*(const kiln_f32x4 *)&in0[');
  const bin = compileCuda(source, 'sm_80', { nvcc, cacheDir: cache, name: 'vec' });
  assert.match(fs.readFileSync(bin.ptxPath, 'utf8'), /ld\.global(\.nc)?\.v4\.f32/);
  assert.ok(fs.existsSync(bin.cubinPath));
  assert.match(fs.readFileSync(path.join(path.dirname(bin.sourcePath), 'command.txt'), 'utf8'), /-arch=sm_80 -cubin/);
  // the same source again is a cache hit
  assert.is(compileCuda(source, 'sm_80', { nvcc, cacheDir: cache, name: 'vec' }).hit, true);
});

withNvcc('a compile error names the source and the command that reproduces it', () => {
  try {
    compileCuda('extern "C" __global__ void broken() { undeclared_thing(); }\n', 'sm_80', { nvcc, cacheDir: cache, name: 'broken' });
    assert.unreachable('compiled');
  } catch (e) {
    const m = (e as Error).message;
    assert.match(m, 'nvcc failed for sm_80');
    assert.match(m, 'undeclared_thing');
    assert.match(m, /reproduce: .*nvcc.* -arch=sm_80 -cubin/);
  }
});

/**
 * The zoo model `name` after `pipeline`. The last one is kept: f32 and tf32 run next to each other and
 * share the f32 pipeline's graph (tf32 is a compile option, not a pass), so it is built and lowered
 * once; keeping only one graph keeps the big models' weights from piling up.
 */
let last: { key: string; graph: ReturnType<typeof zooModel> } | undefined;
function loweredZoo(name: string, pipeline: string): ReturnType<typeof zooModel> {
  const key = `${name}\n${pipeline}`;
  if (last?.key !== key) last = { key, graph: new PassManager({ target: 'webgpu' }).run(zooModel(name), pipeline).at(-1)!.graph };
  return last.graph;
}

for (const name of zooNames({ controlFlow: false })) {
  // tf32 and bf16 for the two largest models (the same templates as f16 with other operand types)
  const big = ['resnet50', 'bert'].includes(name);
  const precisions = [
    ['f32', F32_PIPELINE], ...(big ? [['tf32', F32_PIPELINE]] as const : []), ['f16', F16_PIPELINE], ...(big ? [['bf16', BF16_PIPELINE]] as const : []),
  ] as const;
  for (const [precision, pipeline] of precisions) {
    withNvcc(`${name} (${precision}): every CUDA kernel compiles for sm_80 and sm_90, no template spills, shared memory within the limit`, () => {
      const c = compileCudaSource(loweredZoo(name, pipeline), { tf32: precision === 'tf32' });
      assert.equal(c.fallbacks, [], `${name}: every kernel has a CUDA form`);
      const templates = new Set(c.launches.filter((l) => l.mode === 'tiled (workgroup memory)').map((l) => l.name));
      // tensor cores for every tiled product in f16 and tf32 (exact f32 keeps the SIMT template)
      const tensor = c.kernels.filter((k) => templates.has(k.kernel.name) && k.text.some((l) => l.includes('mma.sync.aligned')));
      if (precision === 'f32') assert.is(tensor.length, 0, 'f32 uses no tensor cores');
      else assert.is(tensor.length, templates.size, `${precision}: ${tensor.length} of ${templates.size} tiled kernels use mma.sync`);
      for (const arch of ARCHS) {
        const bin = compileCuda(c.source, arch, { nvcc, cacheDir: cache, name, ptx: false });
        const seen = new Set(bin.resources.map((r) => r.kernel));
        for (const l of c.launches) assert.ok(seen.has(l.name), `${arch}: ptxas reported ${l.name}`);
        for (const r of bin.resources) {
          if (templates.has(r.kernel)) assert.is(r.spillStores + r.spillLoads, 0, `${arch}: template kernel ${r.kernel} spills`);
          assert.ok(r.sharedBytes <= STATIC_SHARED_LIMIT, `${arch}: ${r.kernel} uses ${r.sharedBytes} bytes of shared memory`);
        }
      }
    });
  }
}

/** Why a conformance case's node may have no CUDA kernel (it then runs on the host). */
const FALLBACK_REASONS = /the CUDA target has no (bf16|f8\w*|f4\w*|[iu][24]|str) yet|kernels do not compute on|known only at run time|does not lower dtype|is not lowered|training mode/;

withNvcc('every kernel of the ONNX conformance cases compiles for sm_80 and sm_90 (one unit); nodes without one are listed for a known reason', () => {
  const dir = conformanceDir();
  const cases = fs.readdirSync(dir).filter((d) => fs.existsSync(path.join(dir, d, 'model.onnx'))).sort();
  assert.ok(cases.length >= 740, `found only ${cases.length} cases`);
  const kernels: RenderedKernel[] = [];
  const odd: string[] = [];
  let compiled = 0;
  cases.forEach((name, i) => {
    const caseDir = path.join(dir, name);
    const set = fs.readdirSync(caseDir).filter((f) => f.startsWith('test_data_set_')).sort()[0];
    let graph;
    try {
      graph = bindInputs(loadOnnxFile(path.join(caseDir, 'model.onnx')), { dir: path.join(caseDir, set) }).graph;
    } catch {
      return; // a case kiln does not import (the conformance runner reports it)
    }
    const c = compileCudaSource(graph, { prefix: `c${i}_` });
    for (const f of c.fallbacks) if (!FALLBACK_REASONS.test(f.reason)) odd.push(`${name}: ${f.op}: ${f.reason}`);
    if (c.launches.length && !c.fallbacks.length) compiled++;
    kernels.push(...c.kernels);
  });
  assert.equal(odd, [], `kernels refused for other reasons:\n${odd.join('\n')}`);
  assert.ok(compiled / cases.length >= 0.8, `fully compiled cases: ${compiled}/${cases.length}`);
  const source = cudaUnit('conformance', kernels);
  console.log(`cuda-compile.test.ts: ${kernels.length} kernels from ${cases.length} conformance cases (${compiled} with every node compiled)`);
  for (const arch of ARCHS) {
    const bin = compileCuda(source, arch, { nvcc, cacheDir: cache, name: 'conformance', ptx: false });
    assert.is(bin.resources.length, kernels.length, `${arch}: ptxas reported every kernel`);
    for (const r of bin.resources) assert.ok(r.sharedBytes <= STATIC_SHARED_LIMIT, `${arch}: ${r.kernel} uses ${r.sharedBytes} bytes of shared memory`);
  }
});

test.run();
