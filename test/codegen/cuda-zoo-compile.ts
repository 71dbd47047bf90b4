/**
 * The zoo models' CUDA compile check, shared by cuda-compile.test.ts (f32 and tf32) and
 * cuda-compile-f16.test.ts (f16 and bf16): two files so test/run.ts can run the two halves of the nvcc
 * work in different processes. For each zoo model without control flow and each precision asked
 * (tf32 and bf16 only for resnet50 and bert, the two largest: the same templates as f16 with other
 * operand types), the model after the webgpu/cuda default pipeline (without `mixed-precision` for f32
 * and tf32, with `mixed-precision{dtype=bf16}` for bf16) becomes one CUDA translation unit that nvcc
 * compiles for sm_80 and sm_90: every kernel has a CUDA form, ptxas reports every launch, no template
 * kernel spills, none is over 48 KiB of static shared memory, and every tiled product uses tensor cores
 * (`mma.sync`) in f16, bf16 and tf32 while exact f32 uses none.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../../compiler/ops/all.ts';
import '../../compiler/passes/all.ts';
import { PassManager, defaultPipeline } from '../../compiler/passes/index.ts';
import { zooModel, zooNames } from '../../compiler/zoo/index.ts';
import { compileCudaSource } from '../../compiler/runtime/cuda/compile.ts';
import { type Nvcc, compileCuda } from '../../compiler/runtime/cuda/nvcc.ts';

/** A precision the zoo check compiles in. */
export type ZooPrecision = 'f32' | 'tf32' | 'f16' | 'bf16';

const ARCHS = ['sm_80', 'sm_90'];
/** Static shared memory per block on sm_80 and sm_90 without the dynamic opt-in. */
const STATIC_SHARED_LIMIT = 48 * 1024;
const F16_PIPELINE = defaultPipeline('webgpu');
const F32_PIPELINE = F16_PIPELINE.split(',').filter((p) => p !== 'mixed-precision').join(',');
const PIPELINES: Record<ZooPrecision, string> = {
  f32: F32_PIPELINE, tf32: F32_PIPELINE, f16: F16_PIPELINE, bf16: F16_PIPELINE.replace('mixed-precision', 'mixed-precision{dtype=bf16}'),
};

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

/** Registers one uvu test per zoo model and precision in `precisions` (skipped without `nvcc`). */
export function cudaZooTests(precisions: readonly ZooPrecision[], opts: { nvcc: Nvcc | undefined; cacheDir: string }): void {
  const { nvcc, cacheDir } = opts;
  const withNvcc = nvcc ? test : test.skip;
  for (const name of zooNames({ controlFlow: false })) {
    const big = ['resnet50', 'bert'].includes(name);
    for (const precision of precisions.filter((p) => big || p === 'f32' || p === 'f16')) {
      withNvcc(`${name} (${precision}): every CUDA kernel compiles for sm_80 and sm_90, no template spills, shared memory within the limit`, () => {
        const c = compileCudaSource(loweredZoo(name, PIPELINES[precision]), { tf32: precision === 'tf32' });
        assert.equal(c.fallbacks, [], `${name}: every kernel has a CUDA form`);
        const templates = new Set(c.launches.filter((l) => l.mode === 'tiled (workgroup memory)').map((l) => l.name));
        // tensor cores for every tiled product in f16, bf16 and tf32 (exact f32 keeps the SIMT template)
        const tensor = c.kernels.filter((k) => templates.has(k.kernel.name) && k.text.some((l) => l.includes('mma.sync.aligned')));
        if (precision === 'f32') assert.is(tensor.length, 0, 'f32 uses no tensor cores');
        else assert.is(tensor.length, templates.size, `${precision}: ${tensor.length} of ${templates.size} tiled kernels use mma.sync`);
        for (const arch of ARCHS) {
          const bin = compileCuda(c.source, arch, { nvcc, cacheDir, name, ptx: false });
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
}
