/**
 * Memory-planning benchmark (part of `npm run bench`; alone: `node --import tsx bench/memory.ts
 * [--repeat N] [--models a,b] [--target cpu]`).
 *
 * For each zoo model after the target's default pipeline (numeric check off, verifier on, as `kiln
 * plan` runs it): the naive arena (no reuse), the lower bound (max bytes live at one step of the
 * chosen order), the peak of the `best` planner and of each single strategy, which strategy `best`
 * kept, the median ms to plan over `repeat` runs after one warm-up, peak / lower bound and the
 * reduction against naive. The goals checked (issue 4): peak <= 1.02 x lower bound on every model,
 * and on resnet50 a peak at least 80% below naive.
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { zooModel, zooNames } from '../compiler/zoo/index.ts';
import { PassManager } from '../compiler/passes/manager.ts';
import { type Target, defaultPipeline, isTarget } from '../compiler/passes/all.ts';
import { planMemory } from '../compiler/schedule/index.ts';
import type { MemoryPlan } from '../compiler/schedule/plan.ts';
import { formatBytes } from '../compiler/results/memory.ts';
import { median } from '../compiler/runtime/timings.ts';

/** Goals from the issue. */
export const GOALS = { peakOverLowerBound: 1.02, resnet50Reduction: 0.8 };

/** Settings of the memory benchmark. */
export interface MemoryBenchOptions {
  models?: readonly string[];
  repeat?: number;
  target?: Target;
}

/** One model's figures. */
export interface MemoryBenchRow {
  readonly model: string;
  readonly nodes: number;
  readonly plan: MemoryPlan;
  /** Peak of each single strategy, by planner name. */
  readonly peaks: Readonly<Record<string, number>>;
  /** Median ms of `planMemory(graph, {planner: 'best'})`. */
  readonly ms: number;
}

/** Plans every model and prints the table; returns the rows and whether the goals are met. */
export function benchMemory(opts: MemoryBenchOptions = {}): { rows: MemoryBenchRow[]; ok: boolean } {
  const models = opts.models ?? zooNames({ controlFlow: false });
  const repeat = Math.max(1, opts.repeat ?? 5);
  const target = opts.target ?? 'cpu';
  console.log(`\nkiln memory bench: activation arena after the default ${target} pipeline, planner best, ms = median of ${repeat} after 1 warm-up`);
  const rows: MemoryBenchRow[] = [];
  for (const name of models) {
    const results = new PassManager({ target }).run(zooModel(name, { seed: 0 }), defaultPipeline(target));
    const graph = results[results.length - 1]?.graph ?? zooModel(name, { seed: 0 });
    let plan = planMemory(graph, { planner: 'best' });
    const times: number[] = [];
    for (let r = 0; r < repeat; r++) {
      const t0 = performance.now();
      plan = planMemory(graph, { planner: 'best' });
      times.push(performance.now() - t0);
    }
    const peaks = Object.fromEntries(['greedy-size', 'greedy-breadth'].map((p) => [p, planMemory(graph, { planner: p }).peakBytes]));
    rows.push({ model: name, nodes: graph.nodes.length, plan, peaks, ms: median(times) });
  }
  const head = ['model', 'nodes', 'naive', 'lower bound', 'peak', 'peak/lb', 'vs naive', 'planner', 'ms', 'greedy-size', 'greedy-breadth'];
  const table = rows.map((r) => {
    const p = r.plan;
    return [r.model, String(r.nodes), formatBytes(p.naiveBytes), formatBytes(p.lowerBoundBytes), formatBytes(p.peakBytes),
      (p.lowerBoundBytes ? p.peakBytes / p.lowerBoundBytes : 1).toFixed(3), `-${((1 - p.peakBytes / p.naiveBytes) * 100).toFixed(1)}%`,
      `best (${p.chosen ?? p.planner})`, r.ms.toFixed(2), formatBytes(r.peaks['greedy-size']), formatBytes(r.peaks['greedy-breadth'])];
  });
  const widths = head.map((h, c) => Math.max(h.length, ...table.map((t) => t[c].length)));
  const line = (cells: string[]) => cells.map((x, c) => (c === 0 || c === 7 ? x.padEnd(widths[c]) : x.padStart(widths[c]))).join('  ').trimEnd();
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const t of table) console.log(line(t));
  const worst = rows.reduce((a, r) => Math.max(a, r.plan.lowerBoundBytes ? r.plan.peakBytes / r.plan.lowerBoundBytes : 1), 1);
  const resnet = rows.find((r) => r.model === 'resnet50');
  const reduction = resnet ? 1 - resnet.plan.peakBytes / resnet.plan.naiveBytes : undefined;
  const ok = worst <= GOALS.peakOverLowerBound && (reduction === undefined || reduction >= GOALS.resnet50Reduction);
  console.log(`goals: peak <= ${GOALS.peakOverLowerBound} x lower bound on every model (worst ${worst.toFixed(3)}: ${worst <= GOALS.peakOverLowerBound ? 'ok' : 'MISSED'})`
    + (reduction === undefined ? '' : `; resnet50 >= ${GOALS.resnet50Reduction * 100}% below naive (${(reduction * 100).toFixed(1)}%: ${reduction >= GOALS.resnet50Reduction ? 'ok' : 'MISSED'})`));
  return { rows, ok };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { repeat: { type: 'string', default: '5' }, models: { type: 'string' }, target: { type: 'string', default: 'cpu' } } });
  if (!isTarget(values.target!)) throw new Error(`unknown target '${values.target}'`);
  const { ok } = benchMemory({ repeat: Number(values.repeat), models: values.models?.split(','), target: values.target });
  process.exitCode = ok ? 0 : 1;
}
