/**
 * Commands that execute or plan a step's graph: run (timed runs on seeded inputs), timings (per-node
 * times of the reference executor) and mem (the memory plan).
 *
 * run executes on a backend (backends.ts: the reference executor unless a compiled backend is named);
 * timings times the nodes of the reference executor. Both bind seeded random inputs
 * (compiler/runtime/inputs.ts: the same inputs for the same seed), report progress per node through a
 * throttled reporter, and yield to the shell between runs so an interrupt stops them there. The last timings of each session are kept (weakly) for
 * `tables timings`. mem plans through `Session.memory` (compiler/schedule, cached per step graph and
 * options) and shows the plan with the step's graph, so the chart can colour buffers by op.
 */
import type { Graph } from '../ir/graph.ts';
import type { Tensor } from '../ir/tensor.ts';
import { randomInputs } from '../runtime/inputs.ts';
import { requireStaticShapes } from '../ops/bind-shapes.ts';
import { runReference } from '../runtime/reference.ts';
import { NodeTimer, outputsTable, runTiming, type NodeTimings } from '../runtime/timings.ts';
import type { Session } from '../session.ts';
import { plannerNames } from '../schedule/index.ts';
import { MemoryView, RunView } from '../display/views.ts';
import type { CommandContext } from './command.ts';
import { type OptionSpec, type ParsedArgs, commandError, needSession, opt, parseStepArg, throttledProgress, yieldToShell } from './args.ts';
import { defineCommand, type KilnCommand } from './define.ts';
import { stepNumbers } from './complete.ts';
import { findRunBackend, runBackendNames } from './backends.ts';

const timingsBySession = new WeakMap<Session, NodeTimings>();

/** The last `timings` result of a session, if any. */
export function lastTimings(s: Session): NodeTimings | undefined {
  return timingsBySession.get(s);
}

const RUN_OPTIONS: readonly OptionSpec[] = [
  { name: 'repeat', type: 'int', value: 'N', min: 1, help: 'timed runs (default 1); times are medians' },
  { name: 'seed', type: 'int', value: 'S', min: 0, help: 'seed of the random inputs (default 0)' },
  { name: 'step', type: 'int', value: 'K', min: 0, help: 'run the graph of step K instead of the current step' },
];

interface Target { s: Session; k: number; graph: Graph; label: string; seed: number; repeat: number }

function target(command: string, usage: string, args: ParsedArgs, ctx: CommandContext): Target {
  const s = needSession(ctx, command);
  const stepOpt = args.options.get('step');
  const k = stepOpt === undefined ? s.current : parseStepArg(command, String(stepOpt), s, usage, '--step');
  const st = s.at(k);
  requireStaticShapes(st.graph, command);
  return { s, k, graph: st.graph, label: `${s.source} at step ${k} (${st.pass})`, seed: opt(args, 'seed', 0), repeat: opt(args, 'repeat', 1) };
}

const run = defineCommand({
  name: 'run',
  usage: '[--repeat N] [--seed S] [--step K] [--backend NAME]',
  summary: "run the current step's graph on seeded inputs (reference executor by default); output statistics and time",
  examples: ['run', 'run --repeat 5 --seed 1'],
  options: [
    ...RUN_OPTIONS,
    { name: 'backend', type: 'string', value: 'NAME', help: 'backend to run on (default ref, the reference executor)', values: () => runBackendNames() },
  ],
  completePositional: () => [],
  async run(args, ctx) {
    const t = target('run', this.usage, args, ctx);
    const backendName = opt(args, 'backend', 'ref');
    const backend = findRunBackend(backendName);
    if (!backend) throw commandError('run', `unknown backend '${backendName}'; backends: ${runBackendNames().join(', ')}`, this.usage);
    const inputs = randomInputs(t.graph, t.seed);
    const report = throttledProgress(ctx);
    let prepareMs: number | undefined;
    let once: (r: number) => Promise<Tensor[]>;
    if (backendName === 'ref') {
      const n = t.graph.nodes.length;
      once = async (r) => {
        let done = 0;
        return runReference(t.graph, inputs, { onNode: () => report(`run ${r + 1}/${t.repeat}`, (r + ++done / n) / t.repeat) });
      };
    } else {
      ctx.progress(`preparing ${t.label} for ${backendName}`, 0);
      const p0 = performance.now();
      const prepared = await backend.prepare(t.graph, ctx);
      prepareMs = performance.now() - p0;
      once = async () => prepared(inputs);
    }
    const times: number[] = [];
    let outputs: Tensor[] = [];
    for (let r = 0; r < t.repeat; r++) {
      report(`run ${r + 1}/${t.repeat} of ${t.label}`, r / t.repeat);
      await yieldToShell(ctx, 'run');
      const t0 = performance.now();
      outputs = await once(r);
      times.push(performance.now() - t0);
    }
    ctx.progress(`ran ${t.label}`, 1);
    const timing = runTiming(t.graph, outputs, times);
    const inputList = [...inputs].map(([name, x]) => `${name}: ${x.dtype}[${x.shape.join(',')}]`);
    return new RunView(t.label, timing, outputsTable(timing, `outputs of ${t.label}`), t.seed, inputList, backendName, prepareMs);
  },
});

const timings = defineCommand({
  name: 'timings',
  usage: '[--repeat N] [--seed S] [--step K]',
  summary: 'time every node of the current step on the reference executor: table by node and by op, chart',
  examples: ['timings', 'timings --repeat 3'],
  details: 'The node table is keyed by node id with op, median ms, share, FLOPs, GFLOP/s and provenance;\n'
    + '`tables timings` shows all of it (the terminal view lists the slowest nodes).',
  options: RUN_OPTIONS,
  completePositional: () => [],
  async run(args, ctx) {
    const t = target('timings', this.usage, args, ctx);
    const timer = new NodeTimer(t.graph, randomInputs(t.graph, t.seed), t.label);
    const report = throttledProgress(ctx);
    for (let r = 0; r < t.repeat; r++) {
      report(`timing run ${r + 1}/${t.repeat} of ${t.label}`, r / t.repeat);
      await yieldToShell(ctx, 'timings');
      timer.runOnce((done, total) => report(`timing run ${r + 1}/${t.repeat}`, (r + done / total) / t.repeat));
    }
    ctx.progress(`timed ${t.label}`, 1);
    const result = timer.result();
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
