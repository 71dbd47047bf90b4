/**
 * A quick measurement (not a test, not the issue's `npm run bench`): every zoo model after the default
 * cpu pipeline, median latency on the reference executor vs the `cpu` backend at 1 and 2 threads, and
 * the cpu backend's prepare time cold (empty object cache) and warm (cache hit). Prints a table.
 *
 *   node --import tsx bench/cpu-vs-ref.ts [MODEL...] [--runs N]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import '../compiler/ops/all.ts';
import { PassManager, defaultPipeline } from '../compiler/passes/index.ts';
import '../compiler/passes/all.ts';
import { zooModel, zooNames } from '../compiler/zoo/index.ts';
import { randomInputs } from '../compiler/runtime/inputs.ts';
import { runReference } from '../compiler/runtime/reference.ts';
import { planMemory } from '../compiler/schedule/index.ts';
import { prepareCpu } from '../compiler/runtime/cpu/index.ts';

const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 10;
const models = args.filter((a, i) => !a.startsWith('--') && (runsAt < 0 || i !== runsAt + 1));
process.env.KILN_CACHE_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-cpu-bench-'));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function time(n: number, f: () => unknown): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) { const t = performance.now(); await f(); ms.push(performance.now() - t); }
  return median(ms);
}

const rows: string[][] = [['model', 'ref ms', 'cpu 1t ms', 'cpu 2t ms', 'speedup 2t', 'prepare cold ms', 'prepare warm ms']];
for (const name of models.length ? models : zooNames()) {
  const results = new PassManager({ target: 'cpu' }).run(zooModel(name), defaultPipeline('cpu'));
  const g = results[results.length - 1].graph;
  const plan = planMemory(g);
  const inputs = randomInputs(g, 1);
  const ref = await time(Math.max(1, Math.min(3, runs)), () => runReference(g, inputs));
  const cold = await prepareCpu(g, plan, { threads: 1 });
  const warm = await prepareCpu(g, plan, { threads: 2 });
  await cold.run(inputs); await warm.run(inputs); // warm-up
  const t1 = await time(runs, () => cold.run(inputs));
  const t2 = await time(runs, () => warm.run(inputs));
  rows.push([name, ref.toFixed(1), t1.toFixed(2), t2.toFixed(2), `${(ref / t2).toFixed(1)}x`, cold.prepareMs.toFixed(0), warm.prepareMs.toFixed(0)]);
  await cold.dispose(); await warm.dispose();
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
for (const r of rows) console.log(r.map((x, c) => x.padStart(widths[c])).join('  '));
fs.rmSync(process.env.KILN_CACHE_DIR!, { recursive: true, force: true });
