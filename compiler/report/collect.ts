/**
 * Gathering a report: a Session and options → a `ReportData` (model.ts), everything measured once.
 *
 * Phases, each reported through `onProgress` (the shells draw it: ora on a terminal, a bar in the
 * kernel and the REPL):
 *   1. passes    the whole pipeline runs (`Session.goto`, one step at a time; computed steps are
 *                reused). Each step gets its numeric check against step 0 (the Session's own when it
 *                ran with the check on, else `Session.check`, cached per graph) unless the inputs keep
 *                symbolic dims; its IR text and the diff from the step before.
 *   2. planning  the memory plan of the final graph (`Session.memory`: peak, lower bound, naive).
 *   3. baseline  the reference executor on the loaded model (step 0), `repeat` timed runs after
 *                `warmup` untimed ones, on the seeded inputs: the "before" latency and the reference
 *                outputs every backend's outputs are compared with.
 *   4. backends  for each backend asked: per-node timings of the final step (`Session.timings`, which
 *                compiles once per step graph and backend), then the program's generated files from the
 *                same cached program (`SnapshotArtifacts.compiled`), its outputs and their largest
 *                norm-relative error against the baseline.
 * The session's cursor is put back where it was when the report is done (or fails).
 *
 * Tables (name → ResultTable, the names the Arrow files get): headline, backends (run-time spread per
 * backend), runs (every timed run), model_ops, passes, decisions, fusions, memory_timeline, and per
 * backend timings_<b>_nodes, timings_<b>_ops and, for a compiled program, timings_<b>_kernels.
 */
import type { Session } from '../session.ts';
import { KilnError } from '../errors.ts';
import { requireStaticShapes } from '../ops/bind-shapes.ts';
import { buildTable, type ResultTable } from '../results/table.ts';
import { passesTable, decisionsTable } from '../results/passes.ts';
import { memorySummary, memoryTimelineTable } from '../results/memory.ts';
import { DEFAULT_BACKEND, backendNames, findBackend } from '../runtime/backends.ts';
import { valueDistance } from '../runtime/compare.ts';
import { median } from '../runtime/timings.ts';
import { safeFileName, uniqueName } from '../files.ts';
import { summarizeGraph } from '../zoo/summary.ts';
import type { Value } from '../ir/value.ts';
import { DEFAULT_REPORT_BACKENDS, type ReportBackend, type ReportBaseline, type ReportData, type ReportOptions, type ReportSource, type ReportStep } from './model.ts';

/** The report's options with defaults filled in; bad values are KilnErrors naming the option. */
export function reportOptions(opts: ReportOptions): ReportData['options'] {
  const backends = [...(opts.backends?.length ? opts.backends : DEFAULT_REPORT_BACKENDS)];
  for (const b of backends) {
    if (!findBackend(b)) throw new KilnError(`unknown backend '${b}' for the report; backends: ${backendNames().join(', ')}`);
  }
  const twice = backends.find((b, i) => backends.indexOf(b) !== i);
  if (twice) throw new KilnError(`backend '${twice}' is named twice; a report times each backend once`);
  const whole = (name: string, v: number | undefined, dflt: number, min: number) => {
    if (v === undefined) return dflt;
    if (!Number.isInteger(v) || v < min) throw new KilnError(`report option ${name} must be a whole number >= ${min}, got ${v}`);
    return v;
  };
  return {
    backends, repeat: whole('repeat', opts.repeat, 3, 1), warmup: whole('warmup', opts.warmup, 1, 0), seed: whole('seed', opts.seed, 0, 0),
    ...(opts.threads !== undefined ? { threads: whole('threads', opts.threads, 1, 1) } : {}),
    ...(opts.tuning ? { tuning: opts.tuning } : {}),
    ...(opts.argv ? { argv: [...opts.argv] } : {}),
  };
}

/** Gathers everything a report of `s` shows (see the module header). */
export async function collectReport(s: Session, opts: ReportOptions = {}): Promise<ReportData> {
  const o = reportOptions(opts);
  const progress = opts.onProgress ?? (() => {});
  const pause = async () => {
    await opts.yield?.();
    if (opts.signal?.aborted) throw new KilnError('report interrupted');
  };
  requireStaticShapes(s.graph(0), 'a report (it runs the model)');
  const cursor = s.current;
  try {
    const last = s.length;
    for (let k = 1; k <= last; k++) {
      progress(`pass ${k}/${last}: ${s.pipelineEntries[k - 1].pass}`, (k - 1) / Math.max(1, last));
      await pause();
      s.goto(k);
    }
    progress(`passes done (${last} steps)`, 1);
    const steps = collectSteps(s, last, progress);
    progress('planning memory', 0);
    const plan = s.memory(last);
    const mem = memorySummary(plan);
    progress('planned memory', 1);

    const common = { seed: o.seed, repeat: o.repeat, warmup: o.warmup, signal: opts.signal, onWarning: opts.onWarning };
    const runHook = (what: string) => ({
      onPrepare: (label: string, f: number) => progress(`${what}: compiling ${label}`, f),
      beforeRun: async (r: number, runs: number) => { progress(`${what}: run ${r + 1}/${runs}`, r / runs); await pause(); },
    });
    const ref = await s.execute({ ...common, backend: DEFAULT_BACKEND, step: 0, ...runHook('reference executor on step 0') });
    const baseline: ReportBaseline = {
      backend: ref.backend, runMs: ref.timing.times, medianMs: ref.timing.medianMs, inputs: ref.inputs, outputs: ref.timing.outputs,
    };
    const backends: ReportBackend[] = [];
    for (const b of o.backends) {
      const tuning = o.tuning, threads = o.threads;
      const timings = await s.timings({ ...common, backend: b, step: last, ...(tuning ? { tuning } : {}), ...(threads ? { threads } : {}), ...runHook(`${b} on step ${last}`) });
      // the same cached program the timings ran (same step graph, backend and options): nothing compiles again
      const prepared = await s.artifacts(last).compiled({ backend: b, ...(tuning ? { tuning } : {}), ...(threads ? { threads } : {}), onWarning: () => {} });
      const used = new Set<string>();
      const sources: ReportSource[] = prepared.program.artifacts.filter((a) => a.kind !== 'binary').map((a) => ({
        path: uniqueName(`sources/${safeFileName(prepared.backend)}/${safeFileName(a.name)}`, used), kind: a.kind, content: a.content,
        ...(a.nodes?.length ? { nodes: a.nodes } : {}),
      }));
      backends.push({
        asked: b, backend: prepared.backend, timings, prepareMs: prepared.program.prepareMs, outputs: timings.outputs,
        maxRelError: maxRelError(timings.outputs, baseline.outputs), sources, fallbacks: prepared.program.fallbacks ?? [],
      });
      progress(`timed ${b}`, 1);
    }
    progress('building tables', undefined);
    const summary = summarizeGraph(s.graph(0));
    const headline = headlineTable(s.graph(0).nodes.length, s.graph(last).nodes.length, baseline, backends, mem.naiveBytes, mem.peakBytes);
    const tables = new Map<string, ResultTable>([
      ['headline', headline],
      ['backends', backendsTable(baseline, backends)],
      ['runs', runsTable(baseline, backends)],
      ['model_ops', modelOpsTable(summary)],
      ['passes', passesTable(s.history.slice(0, last + 1).map((st, k) => ({ ...st, ...checkColumns(steps[k]) })), `passes of ${s.source}`)],
      ['decisions', decisionsTable(s.decisions(last))],
      ['fusions', s.fusionsTable(last)],
      ['memory_timeline', memoryTimelineTable(plan)],
    ]);
    for (const b of backends) {
      const key = safeFileName(b.asked);
      tables.set(`timings_${key}_nodes`, b.timings.table(b.timings.nodes, `node timings on ${b.backend} (median of ${b.timings.repeat} runs)`));
      tables.set(`timings_${key}_ops`, b.timings.opTable(`time by op on ${b.backend}`));
      if (b.timings.kernels.length) tables.set(`timings_${key}_kernels`, b.timings.kernelTable(`kernel timings on ${b.backend} (median of ${b.timings.repeat} runs)`));
    }
    return {
      source: s.source, target: s.target, pipeline: s.pipelineText, options: o, graph0: s.graph(0), final: s.graph(last), summary, steps,
      ...(s.numericCheckSkipped ? { checkSkipped: s.numericCheckSkipped } : {}),
      tolerance: { rtol: s.tolerance, atol: s.absTolerance, seed: s.options.seed ?? 0 },
      memory: { plan, summary: mem }, baseline, backends, tables, headline,
    };
  } finally {
    s.goto(Math.min(cursor, s.length));
  }
}

/** Each step's IR, diff and numeric check (module header, phase 1). */
function collectSteps(s: Session, last: number, progress: (label: string, fraction?: number) => void): ReportStep[] {
  const checkable = s.numericCheckSkipped === undefined;
  const out: ReportStep[] = [];
  for (let k = 0; k <= last; k++) {
    const st = s.at(k);
    let check: ReportStep['check'];
    if (st.maxAbsError !== undefined && st.maxRelError !== undefined) {
      check = { maxAbsError: st.maxAbsError, maxRelError: st.maxRelError, ok: st.withinTolerance ?? true, ...(st.firstDivergent ? { firstDivergent: st.firstDivergent } : {}) };
    } else if (checkable) {
      progress(`numeric check of step ${k}`, k / (last + 1));
      const r = s.check(k);
      check = { maxAbsError: r.maxAbsError, maxRelError: r.maxRelError, ok: r.withinTolerance, ...(r.firstDivergent ? { firstDivergent: r.firstDivergent } : {}) };
    }
    out.push({
      index: k, pass: st.pass, ms: st.ms, nodesBefore: st.nodesBefore, nodesAfter: st.nodesAfter, changed: st.changed, ir: s.ir(k),
      ...(k > 0 ? { diff: s.diff(k - 1, k) } : {}), ...(check ? { check } : {}),
    });
  }
  return out;
}

const checkColumns = (st: ReportStep) => (st.check
  ? { maxAbsError: st.check.maxAbsError, maxRelError: st.check.maxRelError, ...(st.check.firstDivergent ? { firstDivergent: st.check.firstDivergent } : {}) }
  : {});

/** Largest norm-relative error of `got` against `want` over the outputs (Infinity for a mismatch). */
function maxRelError(got: readonly Value[], want: readonly Value[]): number {
  if (got.length !== want.length) return Infinity;
  let worst = 0;
  got.forEach((g, k) => {
    const d = valueDistance(g, want[k]);
    const rel = d.abs === 0 ? 0 : d.scale > 0 ? d.abs / d.scale : Infinity;
    worst = Math.max(worst, rel);
  });
  return worst;
}

/**
 * The headline: before/after per row. Columns: metric utf8, before f64, after f64, unit utf8,
 * change utf8 (`3.1x faster`, `-62% (saved 1.2 MB)`, `-20 nodes`).
 */
function headlineTable(nodes0: number, nodesN: number, baseline: ReportBaseline, backends: readonly ReportBackend[], naive: number, peak: number): ResultTable {
  const rows: { metric: string; before: number; after: number; unit: string; change: string }[] = [];
  for (const b of backends) {
    const after = b.timings.totalMs, before = baseline.medianMs;
    const ratio = after > 0 ? before / after : Infinity;
    rows.push({
      metric: `latency: ${b.backend} on the final graph vs ${baseline.backend} on the loaded model`, before, after, unit: 'ms',
      change: ratio >= 1 ? `${ratio.toFixed(2)}x faster` : `${(1 / ratio).toFixed(2)}x slower`,
    });
  }
  rows.push({
    metric: 'activation memory: naive (no reuse) vs planned peak', before: naive, after: peak, unit: 'bytes',
    change: naive > 0 ? `${(100 * (peak - naive) / naive).toFixed(1)}% (saved ${naive - peak} bytes)` : 'no activations',
  });
  rows.push({ metric: 'nodes: loaded model vs after the pipeline', before: nodes0, after: nodesN, unit: 'nodes', change: `${nodesN - nodes0 >= 0 ? '+' : ''}${nodesN - nodes0} nodes` });
  return buildTable('headline: before and after', [
    { name: 'metric', type: 'utf8', values: rows.map((r) => r.metric) },
    { name: 'before', type: 'f64', values: rows.map((r) => r.before) },
    { name: 'after', type: 'f64', values: rows.map((r) => r.after) },
    { name: 'unit', type: 'utf8', values: rows.map((r) => r.unit) },
    { name: 'change', type: 'utf8', values: rows.map((r) => r.change) },
  ]);
}

/** Run-time spread per backend (and the baseline). Columns: backend, graph, runs, median_ms, min_ms, max_ms, prepare_ms, max_rel_error, fallback_nodes. */
function backendsTable(baseline: ReportBaseline, backends: readonly ReportBackend[]): ResultTable {
  const rows = [
    { backend: `${baseline.backend} (baseline)`, graph: 'step 0 (loaded)', runs: baseline.runMs, prepare: null as number | null, err: 0, fallbacks: 0 },
    ...backends.map((b) => ({ backend: b.backend, graph: 'final step', runs: b.timings.runMs, prepare: b.prepareMs as number | null, err: b.maxRelError, fallbacks: b.fallbacks.length })),
  ];
  return buildTable('run time per backend', [
    { name: 'backend', type: 'utf8', values: rows.map((r) => r.backend) },
    { name: 'graph', type: 'utf8', values: rows.map((r) => r.graph) },
    { name: 'runs', type: 'i32', values: rows.map((r) => r.runs.length) },
    { name: 'median_ms', type: 'f64', values: rows.map((r) => median(r.runs)) },
    { name: 'min_ms', type: 'f64', values: rows.map((r) => Math.min(...r.runs)) },
    { name: 'max_ms', type: 'f64', values: rows.map((r) => Math.max(...r.runs)) },
    { name: 'prepare_ms', type: 'f64', values: rows.map((r) => r.prepare) },
    { name: 'max_rel_error', type: 'f64', values: rows.map((r) => r.err) },
    { name: 'fallback_nodes', type: 'i32', values: rows.map((r) => r.fallbacks) },
  ]);
}

/** Every timed run. Columns: backend utf8, run i32, ms f64. */
function runsTable(baseline: ReportBaseline, backends: readonly ReportBackend[]): ResultTable {
  const rows = [
    ...baseline.runMs.map((ms, run) => ({ backend: `${baseline.backend} (baseline)`, run, ms })),
    ...backends.flatMap((b) => b.timings.runMs.map((ms, run) => ({ backend: b.backend, run, ms }))),
  ];
  return buildTable('timed runs', [
    { name: 'backend', type: 'utf8', values: rows.map((r) => r.backend) },
    { name: 'run', type: 'i32', values: rows.map((r) => r.run) },
    { name: 'ms', type: 'f64', values: rows.map((r) => r.ms) },
  ]);
}

/** Op counts and FLOPs of the loaded model. Columns: op utf8, nodes i32, flops f64 (null when unknown). */
function modelOpsTable(sum: ReturnType<typeof summarizeGraph>): ResultTable {
  const flops = new Map(sum.flopsByOp.map(([op, p]) => [op, p.value ?? null]));
  return buildTable(`ops of ${sum.name}`, [
    { name: 'op', type: 'utf8', values: sum.opCounts.map(([op]) => op) },
    { name: 'nodes', type: 'i32', values: sum.opCounts.map(([, n]) => n) },
    { name: 'flops', type: 'f64', values: sum.opCounts.map(([op]) => flops.get(op) ?? null) },
  ]);
}
