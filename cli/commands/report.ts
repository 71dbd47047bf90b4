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
 */
import { REPEAT, SEED, SHAPE_OPTIONS, UsageError, choiceOption, numberOption, parseCommand, pipelineOption, shapeBindings } from '../args.ts';
import { Session } from '../../compiler/session.ts';
import { TARGETS, defaultPipeline } from '../../compiler/passes/all.ts';
import { backendNames } from '../../compiler/runtime/backends.ts';
import { TUNING_MODES } from '../../compiler/runtime/tune/tuner.ts';
import { checkOutFolder } from '../../compiler/files.ts';
import { terminalProgress } from '../progress.ts';

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
    ...SHAPE_OPTIONS,
  }, [1, 1], ['MODEL']);
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
