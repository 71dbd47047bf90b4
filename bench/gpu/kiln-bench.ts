/**
 * The kiln side of the GPU bench (`run.sh` in the GPU bundle runs it with the bundled Node): every zoo
 * model on the cuda backend, f32, tf32 (f32 graph, PrepareOptions.tf32: products on tensor cores) and
 * f16 (the cuda default pipeline with and without `mixed-precision`), batch 1 and 8; per case the max
 * norm-relative error against the reference executor (f32 and tf32, on the same graph), the median and
 * minimum wall time of ROUNDS runs (inputs in, outputs out; the model replayed as one CUDA graph) and
 * the summed device time of the kernels (CUDA events, launches issued one by one). Writes one JSON file
 * (argv[2], default `results/kiln.json`); without a driver it writes `{ "skipped": reason }` and exits 0.
 */
import fs from 'node:fs';
import { expectTensors } from '../../compiler/ir/value.ts';
import path from 'node:path';
import '../../compiler/ops/all.ts';
import '../../compiler/passes/all.ts';
import { PassManager, defaultPipeline } from '../../compiler/passes/index.ts';
import { zooModel, zooNames } from '../../compiler/zoo/index.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { planMemory } from '../../compiler/schedule/index.ts';
import { findBackend } from '../../compiler/runtime/backend.ts';
import '../../compiler/runtime/backends.ts';
import { randomInputs } from '../../compiler/runtime/inputs.ts';
import { openCuda } from '../../compiler/runtime/cuda/driver.ts';
import { tensorDistance } from '../../compiler/runtime/compare.ts';
import type { Tensor } from '../../compiler/ir/tensor.ts';

/** max |got − want| / max |want| over all outputs (the numeric check's norm-relative error). */
function relativeError(got: readonly Tensor[], want: readonly Tensor[]): number {
  let abs = 0, scale = 0;
  want.forEach((w, i) => { const d = tensorDistance(got[i], w); abs = Math.max(abs, d.abs); scale = Math.max(scale, d.scale); });
  return abs / (scale || 1);
}

const ROUNDS = Number(process.env.KILN_GPU_ROUNDS ?? 20);
const out = process.argv[2] ?? path.join('results', 'kiln.json');
fs.mkdirSync(path.dirname(out), { recursive: true });

const opened = openCuda();
if (!opened.ok) {
  console.log(`kiln gpu bench: skipped: ${opened.reason}`);
  fs.writeFileSync(out, JSON.stringify({ skipped: opened.reason }, null, 2) + '\n');
  process.exit(0);
}
const F16 = defaultPipeline('cuda'), F32 = F16.split(',').filter((p) => p !== 'mixed-precision').join(',');
const rows: Record<string, unknown>[] = [];
const models = (process.env.KILN_GPU_MODELS ?? 'resnet50,mobilenetv2,bert').split(',').filter((m) => zooNames().includes(m));
for (const model of models) {
  for (const batch of [1, 8]) {
    for (const [precision, pipeline] of [['f32', F32], ['tf32', F32], ['f16', F16]] as const) {
      const row: Record<string, unknown> = { model, batch, precision };
      try {
        const g = new PassManager({ target: 'cuda' }).run(zooModel(model, { batch }), pipeline).at(-1)!.graph;
        const program = await findBackend('cuda')!.prepare(g, planMemory(g), { tf32: precision === 'tf32' });
        const inputs = randomInputs(g, 11);
        const got = expectTensors(await program.run(inputs));
        if (precision !== 'f16') row.error = relativeError(got, runReference(g, inputs));
        const times: number[] = [];
        for (let i = 0; i < ROUNDS; i++) {
          const t = performance.now();
          expectTensors(await program.run(inputs));
          times.push(performance.now() - t);
        }
        times.sort((a, b) => a - b);
        let device = 0;
        expectTensors(await program.run(inputs, { onKernel: (e) => { device += e.ms; } }));
        Object.assign(row, { median_ms: times[times.length >> 1], min_ms: times[0], device_ms: device, fallbacks: program.fallbacks?.length ?? 0, prepare_ms: program.prepareMs });
        await program.dispose();
      } catch (e) {
        row.error_message = (e as Error).message.split('\n').slice(0, 8).join('\n');
      }
      console.log(JSON.stringify(row));
      rows.push(row);
    }
  }
}
fs.writeFileSync(out, JSON.stringify({ device: opened.cuda.info, rounds: ROUNDS, rows }, null, 2) + '\n');
