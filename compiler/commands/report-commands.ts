/**
 * `report DIR [--backend NAME]... [--repeat N] [--warmup N] [--seed S] [--threads N] [--tuning MODE]`:
 * writes an optimization report of the session's model into a new folder (Session.report →
 * compiler/report; the layout is in compiler/report/index.ts) and returns its headline before/after
 * table, which the shell shows. The whole pipeline runs; the cursor stays where it was.
 *
 * Each phase (the passes, the planning, each backend's compile and runs, the writing) is reported
 * through the shell's progress (throttled), and between phases and runs the command yields to the
 * shell so an interrupt stops it there; an interrupted report writes nothing.
 *
 * `report --replay DIR [OUT]` reruns a report folder from its manifest (compiler/report/replay.ts; no
 * session needed) into OUT (default `DIR-replay`), prints the verdict and returns the recorded vs
 * replayed timings table; when an IR hash, an input or an output differs it fails with the verdict
 * (the replay's folder is still written: its page shows what differs).
 */
import { backendNames, findBackend } from '../runtime/backends.ts';
import { commandError, needSession, opt, throttledProgress, yieldToShell } from './args.ts';
import { defineCommand, type KilnCommand } from './define.ts';
import { TUNING_OPTION, tuningOption } from './tune-commands.ts';
import { interruptible } from './run-commands.ts';

const report = defineCommand({
  name: 'report',
  usage: 'DIR [--backend NAME]... [--repeat N] [--warmup N] [--seed S] [--threads N] [--tuning MODE] | --replay DIR [OUT]',
  summary: 'write an optimization report folder (report.html, Arrow tables, IR per step, sources, outputs, manifest.json); shows the headline table',
  examples: ['report mlp-report --backend ref --repeat 1', 'report --replay mlp-report'],
  details: 'DIR must not exist or be empty. Default backends: ref and cpu. The headline compares the reference\n'
    + 'executor on the loaded model with each backend on the final graph, and naive with planned memory.\n'
    + '--replay DIR reruns a report from its manifest into OUT (default DIR-replay) and compares step IR hashes,\n'
    + 'inputs and outputs (a difference fails the command) and timings (side by side).',
  positionals: [0, 1],
  options: [
    { name: 'backend', type: 'string', value: 'NAME', repeatable: true, help: 'a backend to time the final graph on (repeatable; default ref and cpu)', values: () => backendNames() },
    { name: 'repeat', type: 'int', value: 'N', min: 1, help: 'timed runs per backend (default 3); times are medians' },
    { name: 'warmup', type: 'int', value: 'N', min: 0, help: 'untimed runs first (default 1)' },
    { name: 'seed', type: 'int', value: 'S', min: 0, help: 'seed of the random inputs (default 0)' },
    { name: 'threads', type: 'int', value: 'N', min: 1, help: 'threads of a CPU backend (default: all cores)' },
    TUNING_OPTION,
    { name: 'replay', type: 'string', value: 'DIR', help: 'rerun the report in DIR from its manifest and compare (OUT: the replay folder)' },
  ],
  completePositional: () => [],
  async run(args, ctx) {
    const original = args.options.get('replay') as string | undefined;
    if (original !== undefined) {
      const other = [...args.options.keys()].find((k) => k !== 'replay');
      if (other) throw commandError('report', `--replay reruns the options its manifest records; --${other} cannot be given with it`, this.usage);
      const progress = throttledProgress(ctx);
      // loaded on demand, as Session.report loads the report writer
      const { replayReport } = await import('../report/replay.ts');
      const r = await interruptible('report', ctx, () => replayReport(original, {
        ...(args.positionals.length ? { out: args.positionals[0] } : {}),
        onProgress: (label, fraction) => progress(label, fraction),
        yield: () => yieldToShell(ctx, 'report'),
        signal: ctx.signal,
        onWarning: (m) => ctx.print(`note: ${m}`),
      }));
      ctx.progress(`wrote the replay to ${r.out}`, 1);
      ctx.print(`wrote the replay to ${r.out}; open ${r.out}/report.html`);
      if (!r.comparison.ok) throw commandError('report', r.verdict);
      ctx.print(r.verdict);
      return r.written.data.tables.get('replay_timings')!;
    }
    if (!args.positionals.length) throw commandError('report', 'missing DIR (a new or empty folder for the report)', this.usage);
    const s = needSession(ctx, 'report');
    const backends = (args.options.get('backend') as readonly string[] | undefined) ?? [];
    for (const b of backends) {
      if (!findBackend(b)) throw commandError('report', `unknown backend '${b}'; backends: ${backendNames().join(', ')}`, this.usage);
    }
    const tuning = tuningOption('report', args, this.usage);
    const threads = args.options.get('threads') as number | undefined;
    const dir = args.positionals[0];
    const progress = throttledProgress(ctx);
    const r = await interruptible('report', ctx, () => s.report(dir, {
      ...(backends.length ? { backends } : {}),
      repeat: opt(args, 'repeat', 3), warmup: opt(args, 'warmup', 1), seed: opt(args, 'seed', 0),
      ...(threads ? { threads } : {}), ...(tuning ? { tuning } : {}),
      onProgress: (label, fraction) => progress(label, fraction),
      yield: () => yieldToShell(ctx, 'report'),
      signal: ctx.signal,
      onWarning: (m) => ctx.print(`note: ${m}`),
    }));
    ctx.progress(`wrote the report to ${dir}`, 1);
    ctx.print(`wrote ${r.files.length} files to ${dir}; open ${dir}/report.html`);
    return r.headline;
  },
});

/** The report command. */
export const reportCommands: readonly KilnCommand[] = [report];
