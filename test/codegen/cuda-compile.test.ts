/**
 * Generated CUDA is checked without a GPU, on every commit where nvcc is found: every zoo model, in f32
 * (here) and in f16 (cuda-compile-f16.test.ts; the zoo checks themselves are in cuda-zoo-compile.ts) (the webgpu/cuda default pipeline with mixed precision; resnet50 and bert also in tf32 and
 * bf16), becomes one CUDA translation unit (compiler/runtime/cuda/compile.ts) that nvcc compiles for
 * sm_80 and sm_90 (compiler/runtime/cuda/nvcc.ts) with no error, no register spill in a template
 * kernel (the tiled GEMM/convolution, on tensor cores in f16, bf16 and tf32) and no kernel over the
 * architecture's 48 KiB of static shared memory. The CUDA descriptor's spelling is
 * checked on small kernels (no #include, unmangled entry points, aligned vector loads as one vector
 * load in the PTX). Without nvcc the compile tests say they were skipped and why. Every kernel of the
 * ONNX conformance cases is compiled the same way in cuda-compile-conformance.test.ts (a file of its
 * own, so test/run.ts can run the two halves of this nvcc work in different processes).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../../compiler/ops/all.ts';
import '../../compiler/passes/all.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { compileCudaSource } from '../../compiler/runtime/cuda/compile.ts';
import { cudaZooTests } from './cuda-zoo-compile.ts';
import { compileCuda, findNvcc, parsePtxasInfo } from '../../compiler/runtime/cuda/nvcc.ts';

const nvcc = findNvcc();
if (!nvcc) console.log('cuda-compile.test.ts: no nvcc found (KILN_NVCC, PATH, CUDA_HOME, /usr/local/cuda): skipping the CUDA compile checks');
const withNvcc = nvcc ? test : test.skip;
const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-cuda-'));
test.after(() => fs.rmSync(cache, { recursive: true, force: true }));


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

// the zoo models in f32 and tf32 (f16 and bf16: cuda-compile-f16.test.ts, another process of npm test)
cudaZooTests(['f32', 'tf32'], { nvcc, cacheDir: cache });

test.run();
