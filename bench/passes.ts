/**
 * Pass-pipeline benchmark (part of `npm run bench`; alone: `node --import tsx bench/passes.ts
 * [--repeat N] [--models a,b] [--target cpu]`).
 *
 * What the compile-time budget covers: ONNX import plus the whole default pipeline, numeric check off,
 * verifier on (as `kiln opt` runs it). The zoo model is built and exported to ONNX bytes once, outside
 * the timing (building a zoo model draws its random weights, which is not import); each timed run then
 * does `importOnnx(bytes)` and `PassManager.run(graph, defaultPipeline(target))`. Reports the median over
 * `repeat` runs after one warm-up of: import, pipeline, their sum, the pipeline without the verifier,
 * and every step's time (the slowest step against its budget). Budgets: import + pipeline <= 200 ms
 * on resnet50, any one step <= 50 ms.
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { zooModel } from '../compiler/zoo/index.ts';
import { exportOnnx } from '../compiler/import/onnx/export.ts';
import { importOnnx } from '../compiler/import/onnx/import.ts';
import { PassManager } from '../compiler/passes/manager.ts';
import { type Target, defaultPipeline, isTarget } from '../compiler/passes/all.ts';
import { parsePipeline } from '../compiler/passes/pipeline.ts';
import { median } from '../compiler/runtime/timings.ts';

/** Budgets from the issue (ms). */
export const BUDGET = { total: 200, step: 50 };

/** Settings of the pass benchmark. */
export interface PassBenchOptions {
  models?: readonly string[];
  repeat?: number;
  target?: Target;
}

/** Times import + default pipeline per model and prints the table; returns true when within budget. */
export function benchPasses(opts: PassBenchOptions = {}): boolean {
  const models = opts.models ?? ['resnet50'];
  const repeat = Math.max(1, opts.repeat ?? 5);
  const target = opts.target ?? 'cpu';
  const pipeline = parsePipeline(defaultPipeline(target));
  console.log(`\nkiln pass bench: import + default ${target} pipeline (${pipeline.entries.length} steps), numeric check off, `
    + `median of ${repeat} after 1 warm-up`);
  console.log(`pipeline: ${defaultPipeline(target)}`);
  let ok = true;
  for (const name of models) {
    const bytes = exportOnnx(zooModel(name, { seed: 0 }));
    const imports: number[] = [], pipes: number[] = [], noVerify: number[] = [];
    const steps: number[][] = pipeline.entries.map(() => []);
    let nodes = '';
    for (let r = 0; r <= repeat; r++) {
      const t0 = performance.now();
      const graph = importOnnx(bytes);
      const t1 = performance.now();
      const results = new PassManager({ target }).run(graph, pipeline);
      const t2 = performance.now();
      const g2 = importOnnx(bytes);
      const t3 = performance.now();
      new PassManager({ target, verify: false }).run(g2, pipeline);
      const t4 = performance.now();
      if (r === 0) {
        nodes = [graph.nodes.length, ...results.map((x) => x.nodesAfter)].join('→');
        continue; // warm-up
      }
      imports.push(t1 - t0);
      pipes.push(t2 - t1);
      noVerify.push(t4 - t3);
      results.forEach((x, k) => steps[k].push(x.ms));
    }
    const imp = median(imports), pipe = median(pipes), total = imp + pipe;
    const stepMs = steps.map(median);
    const slowest = stepMs.reduce((a, b, k) => (b > stepMs[a] ? k : a), 0);
    console.log(`${name}: nodes per step ${nodes}`);
    console.log(`  import ${imp.toFixed(1)} ms + pipeline ${pipe.toFixed(1)} ms (verifier on) = ${total.toFixed(1)} ms`
      + `  [budget ${BUDGET.total} ms: ${total <= BUDGET.total ? 'ok' : 'OVER'}]; pipeline without verifier ${median(noVerify).toFixed(1)} ms`);
    if (stepMs.length) {
      console.log(`  slowest step: ${pipeline.entries[slowest].pass} (step ${slowest + 1}) ${stepMs[slowest].toFixed(1)} ms`
        + `  [budget ${BUDGET.step} ms: ${stepMs[slowest] <= BUDGET.step ? 'ok' : 'OVER'}]`);
      console.log('  steps: ' + pipeline.entries.map((e, k) => `${e.pass} ${stepMs[k].toFixed(1)}`).join(', '));
    }
    if (name === 'resnet50' && (total > BUDGET.total || (stepMs[slowest] ?? 0) > BUDGET.step)) ok = false;
  }
  return ok;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { repeat: { type: 'string', default: '5' }, models: { type: 'string' }, target: { type: 'string', default: 'cpu' } } });
  if (!isTarget(values.target!)) throw new Error(`unknown target '${values.target}'`);
  benchPasses({ repeat: Number(values.repeat), models: values.models?.split(','), target: values.target });
}
