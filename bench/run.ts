/**
 * `npm run bench`: times kiln against peers measured in the same run and prints ratios.
 *
 * Import + type inference of each zoo model, then every registered kiln backend that can run here
 * (compiler/runtime/backends.ts; `--backends a,b` to choose) against onnxruntime-node (CPU) on the same
 * exported model and inputs. Every contender is a Program (onnxruntime is wrapped as one here) timed by
 * the one timing loop (compiler/runtime/timings.ts `timeProgram`: median of `--repeat` runs after one
 * warm-up); the table gives each backend's median, its prepare (compile) time and its ratio to
 * onnxruntime. The reference executor is an oracle, not the fast path; its ratio tells how far the
 * compiled backends have to go. Then the pass pipeline's compile time on resnet50 (bench/passes.ts), and
 * the Jupyter kernel's start-up and trivial-cell round trip (bench/kernel.ts), and the memory plans of
 * the zoo models after the default pipeline (bench/memory.ts).
 * Usage: npm run bench [-- --repeat N] [--models a,b] [--backends a,b].
 */
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { zooModel, zooNames } from '../compiler/zoo/index.ts';
import { exportOnnx } from '../compiler/import/onnx/export.ts';
import { importOnnx } from '../compiler/import/onnx/import.ts';
import { bindInputs } from '../compiler/runtime/inputs.ts';
import { backendNames, findBackend, type Program } from '../compiler/runtime/backends.ts';
import { median, timeProgram } from '../compiler/runtime/timings.ts';
import { Tensor } from '../compiler/ir/tensor.ts';
import type { DType } from '../compiler/ir/dtype.ts';
import { benchPasses } from './passes.ts';
import { benchMemory } from './memory.ts';
import { benchKernel } from './kernel.ts';

const { values } = parseArgs({ options: { repeat: { type: 'string', default: '3' }, models: { type: 'string' }, backends: { type: 'string' } } });
const repeat = Number(values.repeat);
const models = values.models ? values.models.split(',') : zooNames();
const ort = createRequire(import.meta.url)('onnxruntime-node');

const ORT_TYPES: Record<string, string> = { f32: 'float32', i64: 'int64', i32: 'int32', f64: 'float64', bool: 'bool', u8: 'uint8', i8: 'int8' };
const KILN_TYPES: Record<string, DType> = Object.fromEntries(Object.entries(ORT_TYPES).map(([k, v]) => [v, k as DType]));
const toOrt = (t: Tensor) => new ort.Tensor(ORT_TYPES[t.dtype], t.data, [...t.shape]);

/** onnxruntime-node (one intra-op thread) on an exported model, as a Program the timing loop can run. */
async function ortProgram(bytes: Uint8Array, outputs: readonly string[]): Promise<Program> {
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  return {
    backend: 'onnxruntime', prepareMs: performance.now() - t0, artifacts: [],
    async run(inputs) {
      const got = await session.run(Object.fromEntries([...inputs].map(([k, t]) => [k, toOrt(t)])));
      return outputs.map((name) => new Tensor(KILN_TYPES[got[name].type], got[name].dims, got[name].data));
    },
    dispose: async () => { await session.release?.(); },
  };
}

const wanted = values.backends ? values.backends.split(',') : backendNames();
const unknown = wanted.filter((b) => !findBackend(b));
if (unknown.length) throw new Error(`unknown backend(s) ${unknown.join(', ')}; backends: ${backendNames().join(', ')}`);
const backends = [];
for (const name of wanted) {
  const b = findBackend(name)!;
  const a = await b.available();
  if (a.ok) backends.push(b);
  else console.log(`(backend ${name} skipped: ${a.reason})`);
}

console.log(`kiln bench: ${models.length} model(s), median of ${repeat} after 1 warm-up, ${new Date().toISOString()}`);
console.log('model'.padEnd(18) + 'import ms'.padStart(10) + 'ort ms'.padStart(10)
  + backends.map((b) => `${b.name} ms`.padStart(12) + `${b.name} prep`.padStart(12) + `${b.name}/ort`.padStart(10)).join(''));
for (const name of models) {
  const graph = zooModel(name, { seed: 0 });
  const bytes = exportOnnx(graph);
  const imports: number[] = [];
  for (let r = 0; r <= repeat; r++) {
    const t0 = performance.now();
    importOnnx(bytes);
    if (r > 0) imports.push(performance.now() - t0); // the first is the warm-up
  }
  const { inputs } = bindInputs(graph, { random: { seed: 0 } });
  const time = async (p: Program) => {
    try {
      return await timeProgram(p, inputs, { warmup: 1, repeat });
    } finally {
      await p.dispose();
    }
  };
  const ortTiming = await time(await ortProgram(bytes, graph.outputs));
  let row = name.padEnd(18) + median(imports).toFixed(1).padStart(10) + ortTiming.medianMs.toFixed(1).padStart(10);
  for (const b of backends) {
    const skip = b.unsupported(graph);
    if (skip.length) {
      row += `unsupported: ${skip[0].reason}`.padStart(34);
      continue;
    }
    const t = await time(await b.prepare(graph, undefined));
    row += t.medianMs.toFixed(1).padStart(12) + t.prepareMs.toFixed(1).padStart(12) + (t.medianMs / ortTiming.medianMs).toFixed(1).padStart(10);
  }
  console.log(row);
}

// Compile time: import + the default pass pipeline (bench/passes.ts), against its budgets.
benchPasses({ repeat: Math.max(repeat, 5) });

// The Jupyter kernel: start-up to kernel_info_reply and the round trip of `1+1` (bench/kernel.ts).
await benchKernel();

// Memory planning: naive, lower bound and planned peak per model (bench/memory.ts).
benchMemory({ repeat: Math.max(repeat, 5), models });
