/**
 * `kiln report MODEL [--pipeline P] [--target T] [--backend B]... [--repeat N] [--warmup N] [--seed N]
 *  [--threads N] [--tuning measure|cached|off] [--quiet] [--shape INPUT=SIZES]... [--dim NAME=SIZE]... --out DIR`
 *
 * Writes an optimization report of a model into a new folder (compiler/report): the model is loaded
 * into a Session (shape bindings, target, pipeline — default the target's), the whole pipeline runs
 * with the numeric check, the final memory plan is made, the reference executor times the loaded
 * model, and each backend (default `ref` and `cpu`; `--backend` repeatable) times the final graph on
 * the same seeded inputs. The folder holds report.html, manifest.json, an Arrow file per table, the IR
 * after each step, the inputs and every backend's outputs, and the generated sources (the layout is in
 * compiler/report/index.ts). --out must not exist or be an empty folder, checked before anything
 * runs; the folder is written all at once. Progress (each pass, the planning, each backend's compile
 * and runs, the writing) is drawn on a terminal with ora (cli/progress.ts; --quiet turns it off), and
 * the headline before/after table is printed at the end.
 *
 * `kiln report --replay DIR [--out DIR2] [--quiet]` reruns a report from its manifest.json
 * (compiler/report/replay.ts) into DIR2 (default `DIR-replay`, new or empty) and compares: the IR of
 * every step by hash, the inputs, the outputs within the recorded tolerance, the timings side by side.
 * It prints the verdict and the timing table; it exits 1 (`error: replay differs: …`) when an IR hash,
 * an input or an output differs. Every other option is recorded in the manifest and is a usage error here.
 */
import { REPEAT, SEED, SHAPE_OPTIONS, UsageError, choiceOption, numberOption, parseCommand, pipelineOption, shapeBindings } from '../args.ts';
import { Session } from '../../compiler/session.ts';
import { TARGETS, defaultPipeline } from '../../compiler/passes/all.ts';
import { backendNames } from '../../compiler/runtime/backends.ts';
import { TUNING_MODES } from '../../compiler/runtime/tune/tuner.ts';
import { checkOutFolder } from '../../compiler/files.ts';
import { terminalProgress } from '../progress.ts';
import { defaultReplayFolder, replayReport } from '../../compiler/report/replay.ts';

export async function reportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, {
    pipeline: { type: 'string' },
    target: { type: 'string' },
    backend: { type: 'string', multiple: true },
    repeat: { type: 'string' },
    warmup: { type: 'string' },
    seed: { type: 'string' },
    threads: { type: 'string' },
    tuning: { type: 'string' },
    out: { type: 'string' },
    quiet: { type: 'boolean', default: false },
    replay: { type: 'string' },
    ...SHAPE_OPTIONS,
  }, [0, 1], ['MODEL']);
  if (values.replay !== undefined) return replay(values.replay, values, positionals, argv);
  if (!positionals.length) throw new UsageError('missing MODEL (or --replay DIR to rerun a report)');
  if (values.out === undefined) throw new UsageError('--out DIR is required (a new or empty folder for the report)');
  const names = backendNames();
  const backends = (values.backend ?? []).map((b) => choiceOption(b, 'backend', names, 'ref'));
  const twice = backends.find((b, i) => backends.indexOf(b) !== i);
  if (twice) throw new UsageError(`--backend ${twice} is given twice; each backend is timed once`);
  const target = choiceOption(values.target, 'target', TARGETS, 'cpu');
  const repeat = numberOption(values.repeat, 'repeat', 3, REPEAT);
  const warmup = numberOption(values.warmup, 'warmup', 1, { integer: true, min: 0, max: 10_000 });
  const seed = numberOption(values.seed, 'seed', 0, SEED);
  const threads = values.threads === undefined ? undefined : numberOption(values.threads, 'threads', 1, { integer: true, min: 1, max: 4096 });
  const tuning = values.tuning === undefined ? undefined : choiceOption(values.tuning, 'tuning', TUNING_MODES, 'measure');
  if (values.pipeline !== undefined) pipelineOption(values.pipeline); // a bad pipeline is a usage error
  const out = values.out;
  checkOutFolder(out, 'kiln report'); // before any work

  const model = positionals[0];
  const session = Session.load(model, { ...(await shapeBindings(values)), target, pipeline: values.pipeline ?? defaultPipeline(target), seed });
  const progress = values.quiet ? undefined : terminalProgress(process.stderr);
  try {
    const r = await session.report(out, {
      ...(backends.length ? { backends } : {}), repeat, warmup, seed, ...(threads ? { threads } : {}), ...(tuning ? { tuning } : {}),
      argv: ['report', ...argv],
      onProgress: progress ? (label, fraction) => progress.update(label, fraction ?? 0) : undefined,
      onWarning: (m) => console.error(`note: ${m}`),
    });
    progress?.done();
    const bytes = r.files.reduce((t, f) => t + f.bytes, 0);
    console.log(r.headline.toText({ maxWidth: 90 }).trimEnd());
    console.log(`\nwrote ${r.files.length} files (${(bytes / 1e6).toFixed(2)} MB) to ${out}; open ${out}/report.html`);
    return 0;
  } finally {
    progress?.done();
    await session.close();
  }
}

/** `kiln report --replay DIR [--out DIR2] [--quiet]` (module header). */
async function replay(dir: string, values: Record<string, unknown>, positionals: readonly string[], argv: string[]): Promise<number> {
  if (positionals.length) throw new UsageError(`--replay reruns the model its manifest names; no MODEL is given with it (got '${positionals[0]}')`);
  const fixed = Object.keys(values).filter((k) => k !== 'replay' && k !== 'out' && k !== 'quiet' && values[k] !== undefined);
  if (fixed.length) throw new UsageError(`--replay reruns the options its manifest records; --${fixed[0]} cannot be given with it`);
  const out = (values.out as string | undefined) ?? defaultReplayFolder(dir);
  checkOutFolder(out, 'kiln report --replay'); // before any work
  const progress = values.quiet ? undefined : terminalProgress(process.stderr);
  try {
    const r = await replayReport(dir, {
      out, argv: ['report', ...argv],
      onProgress: progress ? (label, fraction) => progress.update(label, fraction ?? 0) : undefined,
      onWarning: (m) => console.error(`note: ${m}`),
    });
    progress?.done();
    const c = r.comparison;
    console.log(`model from ${c.modelFrom === 'report-ir' ? `the report's ${dir}/ir/000_input.kir` : c.modelFrom === 'file' ? 'the recorded model file (sha256 checked)' : 'the zoo with its recorded seed'}`);
    if (c.changedFiles.length) console.log(`note: changed since the report was written (not compared): ${c.changedFiles.join(', ')}`);
    console.log(r.written.data.tables.get('replay_timings')!.toText({ maxWidth: 120 }).trimEnd());
    console.log(`\nwrote the replay to ${out}; open ${out}/report.html`);
    if (!c.ok) {
      console.error(`error: ${r.verdict}`);
      return 1;
    }
    console.log(r.verdict);
    return 0;
  } finally {
    progress?.done();
  }
}
