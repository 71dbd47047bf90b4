/**
 * Commands that execute or plan a step's graph: run (timed runs on seeded inputs), timings (per-node
 * times) and mem (the memory plan).
 *
 * run and timings go through the Session (`execute`, `timings`: compiler/session-run.ts), so any
 * registered backend (compiler/runtime/backends.ts) runs them: `--backend NAME`, completed from the
 * registry. Both bind seeded random inputs (the same inputs for the same seed), report progress per
 * run (timings also per kernel) through a throttled reporter, and yield to the shell between runs so an
 * interrupt stops them there. The last timings of each session are kept (weakly) for `tables timings`.
 * mem plans through `Session.memory` (compiler/schedule, cached per step graph and options) and shows
 * the plan with the step's graph, so the chart can colour buffers by op.
 */
import type { Session } from '../session.ts';
import type { NodeTimings } from '../runtime/timings.ts';
import { requireStaticShapes } from '../ops/bind-shapes.ts';
import { outputsTable } from '../runtime/timings.ts';
import { DEFAULT_BACKEND, backendNames, findBackend } from '../runtime/backends.ts';
import { plannerNames } from '../schedule/index.ts';
import { MemoryView, RunView } from '../display/views.ts';
import type { CommandContext } from './command.ts';
import { type OptionSpec, type ParsedArgs, commandError, needSession, opt, parseStepArg, throttledProgress, yieldToShell } from './args.ts';
import { defineCommand, type KilnCommand } from './define.ts';
import { stepNumbers } from './complete.ts';
import { TUNING_OPTION, tuningOption } from './tune-commands.ts';
import type { TuningMode } from '../runtime/tune/tuner.ts';
import { formatCheck } from '../runtime/check.ts';
import { describeValue } from '../ir/value.ts';

const timingsBySession = new WeakMap<Session, NodeTimings>();

/** The last `timings` result of a session, if any. */
export function lastTimings(s: Session): NodeTimings | undefined {
  return timingsBySession.get(s);
}

const RUN_OPTIONS: readonly OptionSpec[] = [
  { name: 'repeat', type: 'int', value: 'N', min: 1, help: 'timed runs (default 1); times are medians' },
  { name: 'seed', type: 'int', value: 'S', min: 0, help: 'seed of the random inputs (default 0)' },
  { name: 'step', type: 'int', value: 'K', min: 0, help: 'run the graph of step K instead of the current step' },
  { name: 'backend', type: 'string', value: 'NAME', help: `backend to run on (default ${DEFAULT_BACKEND}; see the list with --backend and Tab)`, values: () => backendNames() },
  TUNING_OPTION,
  { name: 'threads', type: 'int', value: 'N', min: 1, help: 'threads of a CPU backend (default: all cores)' },
  { name: 'no-fallback', type: 'flag', help: 'refuse a graph the backend would run partly on reference kernels (naming those nodes) instead of running it' },
  { name: 'tf32', type: 'flag', help: 'let f32 matrix products round to tf32 on tensor cores (cuda; about 1e-3 relative error)' },
];

/** `run` also takes --check: compare with the reference executor on the same inputs. */
const CHECK_OPTION: OptionSpec = { name: 'check', type: 'flag', help: 'also run the reference executor on the same inputs and report the error against the tolerance (kernels such as Winograd declare theirs)' };

interface Target { s: Session; step: number; backend: string; seed: number; repeat: number; tuning?: TuningMode; threads?: number; fallback?: false; tf32?: true }

function target(command: string, usage: string, args: ParsedArgs, ctx: CommandContext): Target {
  const s = needSession(ctx, command);
  const stepOpt = args.options.get('step');
  const step = stepOpt === undefined ? s.current : parseStepArg(command, String(stepOpt), s, usage, '--step');
  requireStaticShapes(s.at(step).graph, command);
  const backend = opt(args, 'backend', DEFAULT_BACKEND);
  if (!findBackend(backend)) throw commandError(command, `unknown backend '${backend}'; backends: ${backendNames().join(', ')}`, usage);
  const tuning = tuningOption(command, args, usage);
  const threads = args.options.get('threads') as number | undefined;
  if (threads !== undefined && threads > 4096) throw commandError(command, `--threads must be from 1 to 4096, got ${threads}`, usage);
  return {
    s, step, backend, seed: opt(args, 'seed', 0), repeat: opt(args, 'repeat', 1), ...(tuning ? { tuning } : {}), ...(threads ? { threads } : {}),
    ...(args.options.get('no-fallback') === true ? { fallback: false as const } : {}),
    ...(args.options.get('tf32') === true ? { tf32: true as const } : {}),
  };
}

/** Progress and interrupts of a timed command: preparation, each run (and each kernel with `nodes`). */
function hooks(command: string, verb: string, ctx: CommandContext, t: Target, nodes?: number) {
  const report = throttledProgress(ctx);
  const what = `step ${t.step} on ${t.backend}`;
  return {
    onPrepare: (label: string, fraction: number) => report(`preparing ${what}: ${label}`, fraction),
    beforeRun: async (r: number, runs: number) => {
      report(`${verb} ${r + 1}/${runs} of ${what}`, r / runs);
      await yieldToShell(ctx, command);
    },
    ...(nodes ? { onKernel: (() => {
      let done = 0, run = -1;
      return (_: unknown, r: number) => {
        if (r !== run) { run = r; done = 0; }
        report(`${verb} ${r + 1}/${t.repeat} of ${what}`, (r + Math.min(1, ++done / nodes)) / t.repeat);
      };
    })() } : {}),
    signal: ctx.signal,
    onWarning: (message: string) => ctx.print(`note: ${message}`),
  };
}

/** Runs `fn`; an abort of the shell's signal (mid-run, between kernels) is the command's `interrupted` error. */
export async function interruptible<T>(command: string, ctx: CommandContext, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (ctx.signal?.aborted && (e as Error)?.name === 'AbortError') throw commandError(command, 'interrupted');
    throw e;
  }
}

const run = defineCommand({
  name: 'run',
  usage: '[--repeat N] [--seed S] [--step K] [--backend NAME] [--tuning MODE] [--threads N] [--no-fallback] [--tf32] [--check]',
  summary: "run the current step's graph on seeded inputs (reference executor by default); output statistics and time",
  examples: ['run', 'run --repeat 5 --seed 1', 'run --backend ref', 'run --backend cpu --check'],
  options: [...RUN_OPTIONS, CHECK_OPTION],
  completePositional: () => [],
  async run(args, ctx) {
    const t = target('run', this.usage, args, ctx);
    const r = await interruptible('run', ctx, () => t.s.execute({ step: t.step, backend: t.backend, seed: t.seed, repeat: t.repeat, tuning: t.tuning, threads: t.threads, fallback: t.fallback, tf32: t.tf32, check: args.options.get('check') === true, ...hooks('run', 'run', ctx, t) }));
    ctx.progress(`ran ${r.label}`, 1);
    const inputList = [...r.inputs].map(([name, x]) => `${name}: ${describeValue(x)}`);
    const summary = findBackend(r.backend)!.summary;
    return new RunView(r.label, r.run, outputsTable(r.run, `outputs of ${r.label}`), t.seed, inputList, r.backend, r.timing.prepareMs, summary,
      [...(r.program.device ? [`device: ${r.program.device.name}`] : []), ...(r.check ? [formatCheck(r.check)] : [])]);
  },
});

const timings = defineCommand({
  name: 'timings',
  usage: '[--repeat N] [--seed S] [--step K] [--backend NAME] [--tuning MODE] [--threads N] [--no-fallback] [--tf32]',
  summary: 'time every kernel of the current step (reference executor by default): table by node and by op, chart',
  examples: ['timings', 'timings --repeat 3'],
  details: 'The node table is keyed by node id with op, median ms, share, FLOPs, GFLOP/s and provenance;\n'
    + '`tables timings` shows all of it (the terminal view lists the slowest nodes). On a compiled backend\n'
    + '`tables kernels` lists each kernel with its IR and ONNX nodes, its time and, on webgpu, its dispatch size.',
  options: RUN_OPTIONS,
  completePositional: () => [],
  async run(args, ctx) {
    const t = target('timings', this.usage, args, ctx);
    const nodes = t.s.at(t.step).graph.nodes.length;
    const result = await interruptible('timings', ctx, () => t.s.timings({ step: t.step, backend: t.backend, seed: t.seed, repeat: t.repeat, tuning: t.tuning, threads: t.threads, fallback: t.fallback, tf32: t.tf32, ...hooks('timings', 'timing run', ctx, t, nodes) }));
    ctx.progress(`timed ${result.label}`, 1);
    timingsBySession.set(t.s, result);
    return result;
  },
});

// ---- memory planning --------------------------------------------------------------------------

const mem = defineCommand({
  name: 'mem',
  usage: '[STEP] [--planner NAME] [--order memory|graph] [--no-inplace]',
  summary: 'the memory plan of the current step (or STEP): arena peak against its bounds, timeline chart',
  examples: ['mem', 'mem 0 --planner greedy-size'],
  positionals: [0, 1],
  options: [
    { name: 'planner', type: 'string', value: 'NAME', help: 'planner (default: the best of them)', values: () => plannerNames() },
    { name: 'order', type: 'string', value: 'memory|graph', help: 'execution order: chosen for a low peak (default) or as written', values: () => ['memory', 'graph'] },
    { name: 'inplace', type: 'flag', help: 'let elementwise ops write over their input (default on)' },
  ],
  completePositional: (i, ctx) => (i === 0 ? stepNumbers(ctx) : []),
  async run(args, ctx) {
    const s = needSession(ctx, 'mem');
    const k = args.positionals.length ? parseStepArg('mem', args.positionals[0], s, this.usage) : s.current;
    const order = args.options.get('order') as string | undefined;
    if (order !== undefined && order !== 'memory' && order !== 'graph') {
      throw commandError('mem', `--order must be memory or graph, got '${order}'`, this.usage);
    }
    const planner = args.options.get('planner') as string | undefined;
    if (planner !== undefined && !plannerNames().includes(planner)) {
      throw commandError('mem', `unknown planner '${planner}'; planners: ${plannerNames().join(', ')}`, this.usage);
    }
    const inplace = args.options.get('inplace') as boolean | undefined;
    ctx.progress(`planning memory of step ${k}`, 0);
    const plan = s.memory(k, { ...(planner !== undefined ? { planner } : {}), ...(order ? { order: order as 'memory' | 'graph' } : {}), ...(inplace !== undefined ? { inplace } : {}) });
    ctx.progress(`planned memory of step ${k}`, 1);
    return new MemoryView(plan, s.graph(k), `memory of ${s.source} at step ${k} (${k === 0 ? 'load' : s.at(k).pass})`);
  },
});

/** The commands that execute or plan a graph. */
export const runCommands: readonly KilnCommand[] = [run, timings, mem];
