/**
 * `npm run bench`: times kiln against peers measured in the same run and prints ratios.
 *
 * Import + type inference of each zoo model, and the reference executor against
 * onnxruntime-node (CPU) on the same exported model and inputs (median of `--repeat` runs after one
 * warm-up). The reference executor is an oracle, not the fast path; the ratio tells how far the
 * compiled backends have to go. Then the pass pipeline's compile time on resnet50 (bench/passes.ts), and
 * the Jupyter kernel's start-up and trivial-cell round trip (bench/kernel.ts), and the memory plans of
 * the zoo models after the default pipeline (bench/memory.ts).
 * Usage: npm run bench [-- --repeat N] [--models a,b].
 */
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { zooModel, zooNames } from '../compiler/zoo/index.ts';
import { exportOnnx } from '../compiler/import/onnx/export.ts';
import { importOnnx } from '../compiler/import/onnx/import.ts';
import { runReference } from '../compiler/runtime/reference.ts';
import { randomInputs } from '../compiler/runtime/inputs.ts';
import type { Tensor } from '../compiler/ir/tensor.ts';
import { benchPasses } from './passes.ts';
import { benchMemory } from './memory.ts';
import { benchKernel } from './kernel.ts';

const { values } = parseArgs({ options: { repeat: { type: 'string', default: '3' }, models: { type: 'string' } } });
const repeat = Number(values.repeat);
const models = values.models ? values.models.split(',') : zooNames();
const ort = createRequire(import.meta.url)('onnxruntime-node');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function timeIt(fn: () => unknown | Promise<unknown>): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

const ORT_TYPES: Record<string, string> = { f32: 'float32', i64: 'int64', i32: 'int32', f64: 'float64', bool: 'bool', u8: 'uint8', i8: 'int8' };
const toOrt = (t: Tensor) => new ort.Tensor(ORT_TYPES[t.dtype], t.data, [...t.shape]);

console.log(`kiln bench: ${models.length} model(s), median of ${repeat} after 1 warm-up, ${new Date().toISOString()}`);
console.log('model'.padEnd(18) + 'import ms'.padStart(10) + 'kiln-ref ms'.padStart(13) + 'ort ms'.padStart(10) + 'ref/ort'.padStart(9));
for (const name of models) {
  const graph = zooModel(name, { seed: 0 });
  const bytes = exportOnnx(graph);
  const importMs = await timeIt(() => importOnnx(bytes));
  const inputs = randomInputs(graph, 0);
  const refMs = await timeIt(() => runReference(graph, inputs));
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const feeds = Object.fromEntries([...inputs].map(([k, t]) => [k, toOrt(t)]));
  const ortMs = await timeIt(() => session.run(feeds));
  console.log(name.padEnd(18) + importMs.toFixed(1).padStart(10) + refMs.toFixed(1).padStart(13) + ortMs.toFixed(1).padStart(10) + (refMs / ortMs).toFixed(1).padStart(9));
}

// Compile time: import + the default pass pipeline (bench/passes.ts), against its budgets.
benchPasses({ repeat: Math.max(repeat, 5) });

// The Jupyter kernel: start-up to kernel_info_reply and the round trip of `1+1` (bench/kernel.ts).
await benchKernel();

// Memory planning: naive, lower bound and planned peak per model (bench/memory.ts).
benchMemory({ repeat: Math.max(repeat, 5), models });
