/**
 * `tuning`: how the kernels of a step's compiled program chose their schedules (tile sizes,
 * variants): the Arrow table of compiler/results/tuning.ts, one row per (node, template, key,
 * candidate) with its median ms, GFLOP/s, whether it runs, and whether the choice was measured now,
 * read from the tuning cache or left at the lowering's default (`%tuning` in notebooks).
 *
 * The program is the Session's kept one for that step, backend, threads and tuning mode
 * (session-run.ts `prepareStep`), so `tuning` after `timings --backend cpu` compiles nothing; on its
 * own it prepares the step (measuring what is not cached, unless `--tuning cached|off`); where the
 * backend cannot run (no C compiler) the table is empty and its title says why. Also here:
 * the `--tuning MODE` option that run and timings share.
 */
import { prepareStep } from '../session-run.ts';
import { requireStaticShapes } from '../ops/bind-shapes.ts';
import { backendNames, findBackend } from '../runtime/backends.ts';
import { TUNING_MODES, type TuningMode } from '../runtime/tune/tuner.ts';
import { tuningTable } from '../results/tuning.ts';
import { type OptionSpec, type ParsedArgs, commandError, needSession, parseStepArg, throttledProgress } from './args.ts';
import { defineCommand, type KilnCommand } from './define.ts';

/** `--tuning MODE`, shared by run, timings and tuning. */
export const TUNING_OPTION: OptionSpec = {
  name: 'tuning', type: 'string', value: 'MODE', values: () => TUNING_MODES,
  help: 'schedule tuning of a compiled backend: measure (default; KILN_TUNING sets the default), cached, off',
};

/** The `--tuning` value, or undefined when not given; a bad value is the command's usage error. */
export function tuningOption(command: string, args: ParsedArgs, usage: string): TuningMode | undefined {
  const v = args.options.get('tuning');
  if (v === undefined) return undefined;
  if (!(TUNING_MODES as readonly unknown[]).includes(v)) throw commandError(command, `--tuning must be one of ${TUNING_MODES.join(', ')}, got '${String(v)}'`, usage);
  return v as TuningMode;
}

const tuning = defineCommand({
  name: 'tuning',
  usage: '[--step K] [--backend NAME] [--tuning MODE]',
  summary: "how the compiled kernels of the current step chose their tile sizes and variants: candidates, times, winner",
  examples: ['tuning', 'tuning --tuning cached'],
  details: 'One row per (node, template, key, candidate): params, median ms, GFLOP/s, chosen, source\n'
    + '(measured now, cache, default) and why a candidate was excluded. Results are cached on disk per\n'
    + 'CPU, compiler and thread count, so only the first compile of a shape measures.',
  options: [
    { name: 'step', type: 'int', value: 'K', min: 0, help: 'the graph of step K instead of the current step' },
    { name: 'backend', type: 'string', value: 'NAME', help: 'compiled backend (default cpu)', values: () => backendNames() },
    TUNING_OPTION,
  ],
  completePositional: () => [],
  async run(args, ctx) {
    const s = needSession(ctx, 'tuning');
    const stepOpt = args.options.get('step');
    const step = stepOpt === undefined ? s.current : parseStepArg('tuning', String(stepOpt), s, this.usage, '--step');
    requireStaticShapes(s.at(step).graph, 'tuning');
    const backend = (args.options.get('backend') as string | undefined) ?? 'cpu';
    if (!findBackend(backend)) throw commandError('tuning', `unknown backend '${backend}'; backends: ${backendNames().join(', ')}`, this.usage);
    const mode = tuningOption('tuning', args, this.usage);
    // a machine without the backend (no C compiler) has nothing tuned: say so instead of failing
    const available = await findBackend(backend)!.available();
    if (!available.ok) return tuningTable({ mode: mode ?? 'off', measurements: 0, ms: 0, rows: [] }, `no tuning: the ${backend} backend cannot run here (${available.reason})`);
    const report = throttledProgress(ctx);
    const p = await prepareStep(s, {
      step, backend, ...(mode ? { tuning: mode } : {}), signal: ctx.signal,
      onPrepare: (what, fraction) => report(`preparing step ${step} on ${backend}: ${what}`, fraction),
    });
    ctx.progress(`prepared ${p.label}`, 1);
    if (!p.program.tuning) throw commandError('tuning', `the ${backend} backend does not tune its kernels (try --backend cpu)`, this.usage);
    const t = p.program.tuning;
    const what = t.rows.length ? `${new Set(t.rows.map((r) => r.node)).size} node(s)` : 'no tunable choices: no lowering offered candidates';
    return tuningTable(t, `tuning of ${p.label} on ${backend} (${t.mode}, ${t.measurements} measured when prepared): ${what}`);
  },
});

/** The tuning commands. */
export const tuneCommands: readonly KilnCommand[] = [tuning];
