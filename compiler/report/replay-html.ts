/**
 * The replay section of a replay's report.html and its comparison tables (replay.ts): the verdict, a
 * relative link to the original report.html and manifest.json, and three tables, each also written
 * as an Arrow file:
 *   replay_steps    step i32, pass utf8, recorded_sha256 utf8, replayed_sha256 utf8, same bool
 *   replay_outputs  run utf8, output utf8, max_abs_error f64, max_rel_error f64, mismatched i32,
 *                   within_tolerance bool, note utf8 (why it differs, or why it was skipped)
 *   replay_timings  run utf8, then recorded_ and replayed_ runs, median_ms, min_ms, max_ms, spread
 *                   ((max-min)/median), and ratio (replayed median / recorded median); a backend that
 *                   did not run here has nulls on the replayed side.
 */
import { escapeHTML as esc } from '../display/style.ts';
import { buildTable, type ResultTable } from '../results/table.ts';
import { reportLink, reportTable } from './html.ts';
import type { ReplayComparison, SpreadStats } from './replay.ts';

/** The comparison tables by file name (module header). */
export function replayTables(c: ReplayComparison): Map<string, ResultTable> {
  const steps = buildTable('IR of each step: recorded and replayed sha256', [
    { name: 'step', type: 'i32', values: c.steps.map((s) => s.index) },
    { name: 'pass', type: 'utf8', values: c.steps.map((s) => s.pass) },
    { name: 'recorded_sha256', type: 'utf8', values: c.steps.map((s) => s.recorded ?? null) },
    { name: 'replayed_sha256', type: 'utf8', values: c.steps.map((s) => s.replayed ?? null) },
    { name: 'same', type: 'bool', values: c.steps.map((s) => s.same) },
  ]);
  const o = c.outputs;
  const outputs = buildTable('outputs against the recorded files', [
    { name: 'run', type: 'utf8', values: o.map((x) => x.run) },
    { name: 'output', type: 'utf8', values: o.map((x) => x.output) },
    { name: 'max_abs_error', type: 'f64', values: o.map((x) => x.maxAbsError ?? null) },
    { name: 'max_rel_error', type: 'f64', values: o.map((x) => x.maxRelError ?? null) },
    { name: 'mismatched', type: 'i32', values: o.map((x) => x.mismatched ?? null) },
    { name: 'within_tolerance', type: 'bool', values: o.map((x) => (x.skipped ? null : x.ok)) },
    { name: 'note', type: 'utf8', values: o.map((x) => x.skipped ?? x.reason ?? '') },
  ]);
  const t = c.timings;
  const side = (which: 'recorded' | 'replayed') => {
    const col = (name: string, type: 'i32' | 'f64', f: (s: SpreadStats) => number) =>
      ({ name: `${which}_${name}`, type, values: t.map((x) => (x[which] ? f(x[which]!) : null)) });
    return [col('runs', 'i32', (s) => s.runs), col('median_ms', 'f64', (s) => s.medianMs), col('min_ms', 'f64', (s) => s.minMs),
      col('max_ms', 'f64', (s) => s.maxMs), col('spread', 'f64', (s) => s.spread)];
  };
  const timings = buildTable('run times: recorded and replayed', [
    { name: 'run', type: 'utf8', values: t.map((x) => x.run) },
    ...side('recorded'), ...side('replayed'),
    { name: 'ratio', type: 'f64', values: t.map((x) => x.ratio ?? null) },
  ]);
  return new Map([['replay_steps', steps], ['replay_outputs', outputs], ['replay_timings', timings]]);
}

/** The section shown first on a replay's page; `original` is the original folder relative to the replay's. */
export function replayLead(c: ReplayComparison, original: string, verdict: string): string {
  const t = replayTables(c);
  const from = { zoo: 'the zoo model with its recorded seed', file: 'the recorded model file (sha256 checked)', 'report-ir': "the original report's ir/000_input.kir and its weights sidecar" }[c.modelFrom];
  const orig = (f: string) => reportLink(`${original}/${f}`);
  return `<section id="replay"><h2>Replay</h2>
<p class="${c.ok ? 'ok' : 'bad'}"><b>${esc(verdict)}</b></p>
<p>A replay of ${orig('report.html')} (manifest: ${orig('manifest.json')}), rerun from its manifest: model from ${esc(from)}, the same pipeline, inputs seed, backends, threads, tuning and runs. Timings are shown side by side and never fail a replay.</p>
${c.changedFiles.length ? `<p class="sub">Files of the original changed since it was written (views only, not compared): ${c.changedFiles.map(esc).join(', ')}</p>` : ''}
<h3>IR of each step</h3>
${reportTable('replay_steps', t.get('replay_steps')!, 20)}
<h3>Outputs</h3>
${reportTable('replay_outputs', t.get('replay_outputs')!, 40)}
<h3>Timings</h3>
${reportTable('replay_timings', t.get('replay_timings')!, 40)}
</section>`;
}
