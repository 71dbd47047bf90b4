/**
 * Replaying a report: `replayReport(dir, opts)` (`kiln report --replay DIR [--out DIR2]`, `%report
 * --replay DIR`) reruns a report folder from its manifest.json alone and says whether it reproduced.
 *
 * 1. read    DIR/manifest.json (manifest.ts `readManifest`: format 1, every field the replay uses).
 * 2. verify  every file the manifest lists is there with its sha256. A changed or missing IR file,
 *            weights sidecar, input or output is fatal (they are what the replay compares with); a
 *            changed page, table or source is only noted (`changedFiles`): they are views.
 * 3. rerun   the model: zoo:NAME with its recorded weight seed; a model file by its recorded path when
 *            it exists and its sha256 matches; else the report's own ir/000_input.kir with its sidecar
 *            (`modelFrom` says which). The recorded shape/dim bindings, target, pipeline and numeric-check
 *            tolerance and seed; the same backends with the recorded seed, repeat, warmup, threads and
 *            tuning. The report writer (index.ts `writeReport`) gathers and writes the replay's own
 *            full report into DIR2 (default `DIR-replay` beside DIR; new or empty, checked first).
 * 4. compare (before the replay's folder is written, so its page and manifest carry the verdict):
 *            - the IR text of every step by sha256 against `steps[].irSha256`; the first mismatch names
 *              its step and pass and the first differing node (the recorded .kir, parsed with its
 *              sidecar, diffed against the replayed graph by compiler/ir/diff.ts; the first differing
 *              line when the file does not parse);
 *            - the seeded inputs by the sha256 of their .pb encoding;
 *            - the outputs of the baseline and of each backend against the recorded output files,
 *              within the recorded rtol/atol (runtime/compare.ts `diffValues`); a backend that cannot
 *              run here (the writer ran the reference one instead) is skipped and said so;
 *            - timings side by side (never a failure): recorded and replayed median, min, max and
 *              spread ((max-min)/median over the timed runs), and the ratio replay/original.
 *            The page gets a "replay" section first (replay-html.ts: verdict, tables, a relative link to
 *            the original report.html and manifest.json); tables replay_steps, replay_outputs and
 *            replay_timings are written as Arrow files; manifest.json gets `replayOf: { path (DIR
 *            relative to DIR2), manifestSha256 }` and `replay: { ok, stepsSame, steps, inputsSame,
 *            outputsOk, modelFrom, firstMismatch }`.
 * `ok` is false when an IR hash, an input or an output differs; the shells exit 1 then.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../errors.ts';
import { FileProblem, checkOutFolder, readRegularFile, resolveInsideFolder, sha256Hex as sha256 } from '../files.ts';
import { Session, type SessionOptions } from '../session.ts';
import { type Graph, valueTypes } from '../ir/graph.ts';
import { diffGraphs } from '../ir/diff.ts';
import { readKirFile } from '../ir/kir-file.ts';
import { encodeValue, readValueFile } from '../import/onnx/tensor-proto.ts';
import { diffValues } from '../runtime/compare.ts';
import { median } from '../runtime/timings.ts';
import { TUNING_MODES, type TuningMode } from '../runtime/tune/tuner.ts';
import type { Value } from '../ir/value.ts';
import { type ReportManifest, readManifest } from './manifest.ts';
import { type WrittenReport, writeReport } from './index.ts';
import type { ReportData, ReportOptions } from './model.ts';
import { replayLead, replayTables } from './replay-html.ts';

/** Options of a replay. */
export interface ReplayOptions extends Pick<ReportOptions, 'onProgress' | 'yield' | 'signal' | 'onWarning' | 'argv'> {
  /** The replay's folder (default: `DIR-replay` beside DIR); must not exist or be empty. */
  readonly out?: string;
}

/** One step's IR hash, recorded and replayed. */
export interface StepComparison {
  readonly index: number;
  readonly pass: string;
  readonly recorded?: string;
  readonly replayed?: string;
  readonly same: boolean;
}

/** One output of the baseline or a backend against its recorded file. */
export interface OutputComparison {
  /** `ref (baseline)` or the backend asked. */
  readonly run: string;
  readonly output: string;
  /** Absent when the comparison was skipped (`skipped` says why). */
  readonly maxAbsError?: number;
  readonly maxRelError?: number;
  readonly mismatched?: number;
  readonly ok: boolean;
  readonly skipped?: string;
  readonly reason?: string;
}

/** Recorded and replayed run times of the baseline or one backend. */
export interface TimingComparison {
  readonly run: string;
  readonly recorded: SpreadStats;
  /** Undefined when the backend did not run here. */
  readonly replayed?: SpreadStats;
  /** Replayed median / recorded median. */
  readonly ratio?: number;
}

/** Median, min, max and spread ((max-min)/median) of timed runs, in ms. */
export interface SpreadStats { readonly runs: number; readonly medianMs: number; readonly minMs: number; readonly maxMs: number; readonly spread: number }

/** What a replay found. */
export interface ReplayComparison {
  /** Where the model came from: `zoo`, `file` (the recorded path, sha256 checked) or `report-ir` (ir/000_input.kir). */
  readonly modelFrom: 'zoo' | 'file' | 'report-ir';
  readonly steps: readonly StepComparison[];
  readonly stepsSame: number;
  /** The first step whose IR differs, with its first differing node (or line). */
  readonly firstMismatch?: { readonly index: number; readonly pass: string; readonly detail: string };
  readonly inputsSame: boolean;
  readonly outputs: readonly OutputComparison[];
  readonly outputsOk: boolean;
  readonly timings: readonly TimingComparison[];
  /** Files of the original folder that changed but are only views (page, tables, sources). */
  readonly changedFiles: readonly string[];
  /** Backends that could not run here (skipped). */
  readonly skippedBackends: readonly string[];
  readonly ok: boolean;
}

/** A finished replay. */
export interface ReplayResult {
  readonly dir: string;
  readonly out: string;
  readonly comparison: ReplayComparison;
  readonly written: WrittenReport;
  /** One line: the verdict. */
  readonly verdict: string;
}

/** The default folder of a replay of `dir`: `dir-replay` beside it. */
export const defaultReplayFolder = (dir: string): string => `${dir.replace(/[\\/]+$/, '')}-replay`;

const FATAL = /^(ir|inputs|outputs)\//;

/** Replays the report in `dir` (see the module header). */
export async function replayReport(dir: string, opts: ReplayOptions = {}): Promise<ReplayResult> {
  const progress = opts.onProgress ?? (() => {});
  const { manifest: m, text } = readManifest(dir);
  const out = opts.out ?? defaultReplayFolder(dir);
  checkOutFolder(out, 'kiln report --replay');
  progress('verifying the report folder', 0);
  const changedFiles = verifyFolder(dir, m);
  const { session, modelFrom } = loadRecorded(dir, m);
  const tuning = m.run.tuning;
  if (tuning !== null && !TUNING_MODES.includes(tuning as TuningMode)) {
    throw new KilnError(`manifest field 'run.tuning' is '${tuning}'; modes: ${TUNING_MODES.join(', ')}`, { file: path.join(dir, 'manifest.json') });
  }
  let comparison!: ReplayComparison;
  const replayOf = { path: path.relative(out, dir).split(path.sep).join('/') || '.', manifestSha256: sha256(text) };
  try {
    const written = await writeReport(session, out, {
      backends: m.backends.map((b) => b.asked), repeat: m.run.repeat, warmup: m.run.warmup, seed: m.run.seed,
      ...(m.run.threads !== null ? { threads: m.run.threads } : {}), ...(tuning !== null ? { tuning: tuning as TuningMode } : {}),
      ...(opts.argv ? { argv: opts.argv } : {}), onProgress: progress,
      ...(opts.yield ? { yield: opts.yield } : {}), ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
    }, (data) => {
      progress('comparing with the original', undefined);
      comparison = compare(dir, m, session, data, modelFrom, changedFiles);
      return {
        lead: { id: 'replay', html: replayLead(comparison, replayOf.path, verdictLine(comparison)) },
        tables: replayTables(comparison),
        manifest: {
          replayOf,
          replay: {
            ok: comparison.ok, stepsSame: comparison.stepsSame, steps: comparison.steps.length, inputsSame: comparison.inputsSame,
            outputsOk: comparison.outputsOk, modelFrom, firstMismatch: comparison.firstMismatch ?? null,
            skippedBackends: comparison.skippedBackends, changedFiles,
          },
        },
      };
    });
    return { dir, out, comparison, written, verdict: verdictLine(comparison) };
  } finally {
    await session.close();
  }
}

/** The verdict in one line. */
export function verdictLine(c: ReplayComparison): string {
  const parts = [
    `IR hashes identical: ${c.stepsSame} of ${c.steps.length} steps`
      + (c.firstMismatch ? ` (first mismatch: step ${c.firstMismatch.index} ${c.firstMismatch.pass}: ${c.firstMismatch.detail})` : ''),
    c.inputsSame ? 'inputs identical' : 'INPUTS DIFFER',
    c.outputsOk ? 'outputs within tolerance' : `OUTPUTS OUTSIDE TOLERANCE: ${[...new Set(c.outputs.filter((o) => !o.ok).map((o) => o.run))].join(', ')}`,
  ];
  if (c.skippedBackends.length) parts.push(`not compared (cannot run here): ${c.skippedBackends.join(', ')}`);
  return `${c.ok ? 'replay reproduced the report' : 'replay differs'}: ${parts.join('; ')}`;
}

/** Checks every listed file's sha256; throws for an IR/input/output file, returns the views that changed. */
function verifyFolder(dir: string, m: ReportManifest): string[] {
  const changed: string[] = [];
  for (const f of m.files) {
    let problem: string | undefined;
    try {
      const bytes = readRegularFile(resolveInsideFolder(dir, f.path), 'report file');
      if (sha256(bytes) !== f.sha256) problem = 'changed since the report was written (its sha256 differs from the manifest)';
    } catch (e) {
      if (!(e instanceof KilnError || e instanceof FileProblem)) throw e;
      problem = `missing or unreadable (${e.message})`;
    }
    if (!problem) continue;
    if (FATAL.test(f.path)) throw new KilnError(`${f.path} is ${problem}; the replay compares with it, so it cannot run`, { file: path.join(dir, f.path) });
    changed.push(f.path);
  }
  return changed;
}

/** The recorded model in a Session with the recorded options (module header, step 3). */
function loadRecorded(dir: string, m: ReportManifest): { session: Session; modelFrom: ReplayComparison['modelFrom'] } {
  const common: SessionOptions = { target: m.target, pipeline: m.pipeline, seed: m.numericCheck.seed, rtol: m.numericCheck.rtol, atol: m.numericCheck.atol };
  const bindings = { shapes: m.bindings.shapes, dims: m.bindings.dims } as Pick<SessionOptions, 'shapes' | 'dims'>;
  if (m.model.zoo) return { session: Session.load(`zoo:${m.model.zoo.name}`, { ...common, ...bindings, zoo: { seed: m.model.zoo.seed } }), modelFrom: 'zoo' };
  const ref = m.model.ref;
  if (m.model.fileSha256 && fs.existsSync(ref)) {
    let same = false;
    try {
      same = sha256(readRegularFile(ref, 'model')) === m.model.fileSha256;
    } catch { /* unreadable: the report's own copy below */ }
    if (same) return { session: Session.load(ref, { ...common, ...bindings }), modelFrom: 'file' };
  }
  const step0 = m.steps.find((s) => s.index === 0);
  if (!step0) throw new KilnError("manifest field 'steps' has no step 0 (the loaded model)", { file: path.join(dir, 'manifest.json') });
  // step 0 was written with its bindings applied: no bindings again
  return { session: Session.load(path.join(dir, step0.file), common), modelFrom: 'report-ir' };
}

/** Every comparison (module header, step 4). */
function compare(dir: string, m: ReportManifest, s: Session, d: ReportData, modelFrom: ReplayComparison['modelFrom'], changedFiles: string[]): ReplayComparison {
  const n = Math.max(m.steps.length, d.steps.length);
  const steps: StepComparison[] = [];
  let firstMismatch: ReplayComparison['firstMismatch'];
  for (let k = 0; k < n; k++) {
    const rec = m.steps[k], rep = d.steps[k];
    const replayed = rep ? sha256(rep.ir) : undefined;
    const same = rec !== undefined && replayed === rec.irSha256;
    const pass = rec?.pass ?? rep!.pass;
    steps.push({ index: k, pass, ...(rec ? { recorded: rec.irSha256 } : {}), ...(replayed ? { replayed } : {}), same });
    if (!same && !firstMismatch) {
      firstMismatch = {
        index: k, pass,
        detail: !rec ? 'the replay has more steps than the report' : !rep ? 'the replay has fewer steps than the report' : firstDifference(path.join(dir, rec.file), s.graph(k), rep.ir),
      };
    }
  }
  const inputNames = [...d.baseline.inputs.keys()];
  const types0 = valueTypes(d.graph0);
  const inputsSame = inputNames.length === m.inputs.length && inputNames.every((name, k) =>
    m.inputs[k].name === name && sha256(encodeValue(d.baseline.inputs.get(name)!, types0.get(name), name)) === m.inputs[k].sha256);

  const tol = { rtol: m.numericCheck.rtol, atol: m.numericCheck.atol };
  const outputs: OutputComparison[] = [];
  const skippedBackends: string[] = [];
  const compareOutputs = (run: string, graph: Graph, recorded: ReportManifest['baseline']['outputs'], got: readonly Value[]) => {
    const types = valueTypes(graph);
    recorded.forEach((o, k) => {
      if (k >= got.length) return void outputs.push({ run, output: o.name, ok: false, reason: 'the replay has no such output' });
      const want = readValueFile(path.join(dir, o.path), types.get(o.name));
      const r = diffValues(got[k], want, tol);
      outputs.push({ run, output: o.name, maxAbsError: r.maxAbsError, maxRelError: r.maxRelError, mismatched: r.mismatched, ok: r.mismatched === 0, ...(r.reason ? { reason: r.reason } : {}) });
    });
    if (got.length > recorded.length) outputs.push({ run, output: `(${got.length - recorded.length} more)`, ok: false, reason: 'the replay has more outputs than the report' });
  };
  const baseRun = `${m.baseline.backend ?? 'ref'} (baseline)`;
  compareOutputs(baseRun, d.graph0, m.baseline.outputs, d.baseline.outputs);
  const timings: TimingComparison[] = [timing(baseRun, m.baseline.runMs, d.baseline.runMs)];
  for (const rb of m.backends) {
    const b = d.backends.find((x) => x.asked === rb.asked);
    if (!b || b.backend !== rb.backend) {
      skippedBackends.push(rb.asked);
      outputs.push({ run: rb.asked, output: '*', ok: true, skipped: `${rb.backend} cannot run here${b ? ` (${b.backend} ran instead)` : ''}` });
      timings.push(timing(rb.asked, rb.runMs, undefined));
      continue;
    }
    compareOutputs(rb.asked, d.final, rb.outputs, b.outputs);
    timings.push(timing(rb.asked, rb.runMs, b.timings.runMs));
  }
  const stepsSame = steps.filter((x) => x.same).length;
  const outputsOk = outputs.every((o) => o.ok);
  return {
    modelFrom, steps, stepsSame, ...(firstMismatch ? { firstMismatch } : {}), inputsSame, outputs, outputsOk, timings,
    changedFiles, skippedBackends, ok: stepsSame === steps.length && inputsSame && outputsOk,
  };
}

/** The first differing node between the recorded step (its .kir) and the replayed graph, or the first differing line. */
function firstDifference(kirFile: string, replayed: Graph, replayedIR: string): string {
  let recorded: Graph;
  try {
    recorded = readKirFile(kirFile);
  } catch (e) {
    if (!(e instanceof KilnError)) throw e;
    const a = fs.readFileSync(kirFile, 'utf8').split('\n'), b = replayedIR.split('\n');
    const line = a.findIndex((x, i) => x !== b[i]);
    return `${path.basename(kirFile)} does not parse (${e.reason}); first differing line ${line + 1}: ${JSON.stringify(a[line] ?? '')} vs ${JSON.stringify(b[line] ?? '')}`;
  }
  const diff = diffGraphs(recorded, replayed);
  const node = diff.nodes.find((c) => c.kind !== 'unchanged');
  if (node) return `node %${node.node} ${node.kind === 'changed' ? `differs in ${node.fields.join(', ')}` : node.kind === 'added' ? 'is only in the replay' : 'is only in the report'}`;
  const c = diff.constants[0];
  if (c) return `constant ${c.name} ${c.kind === 'changed' ? 'differs' : c.kind === 'added' ? 'is only in the replay' : 'is only in the report'}`;
  if (diff.signatureChanged) return 'the graph inputs or outputs differ';
  return 'no node differs; the IR text does (names, metadata or layout)';
}

function stats(runs: readonly number[]): SpreadStats {
  const med = median(runs), lo = Math.min(...runs), hi = Math.max(...runs);
  return { runs: runs.length, medianMs: med, minMs: lo, maxMs: hi, spread: med > 0 ? (hi - lo) / med : 0 };
}

function timing(run: string, recorded: readonly number[], replayed: readonly number[] | undefined): TimingComparison {
  const r = stats(recorded);
  if (!replayed?.length) return { run, recorded: r };
  const p = stats(replayed);
  return { run, recorded: r, replayed: p, ...(r.medianMs > 0 ? { ratio: p.medianMs / r.medianMs } : {}) };
}

