/**
 * Commands that look at a session without moving it: ir, diff, passes, nodes, tables, decisions,
 * fusions, check. Step arguments are step indices (0 = the loaded model); a step that has not been
 * computed yet is refused with the session's error, which says how to get there.
 */
import { allPasses } from '../passes/pass.ts';
import { TARGETS, defaultPipeline } from '../passes/all.ts';
import { printOptionValue } from '../passes/pipeline.ts';
import { lookupPass } from '../passes/manager.ts';
import { buildTable, type ResultTable } from '../results/table.ts';
import { diffTable } from '../results/diff.ts';
import type { Session } from '../session.ts';
import { CheckView, DiffView, IRView, TextView } from '../display/views.ts';
import type { CommandContext } from './command.ts';
import { commandError, needSession, opt, parseStepArg } from './args.ts';
import { defineCommand, type KilnCommand } from './define.ts';
import { passNames, stepNumbers } from './complete.ts';
import { lastTimings } from './run-commands.ts';
import type { NodeTimings } from '../runtime/timings.ts';

const stepTitle = (s: Session, k: number) => `step ${k} (${k === 0 ? 'load' : s.at(k).pass})`;

const ir = defineCommand({
  name: 'ir',
  usage: '[STEP]',
  summary: 'print the IR of the current step (or of STEP)',
  examples: ['ir', 'ir 0'],
  positionals: [0, 1],
  completePositional: (i, ctx) => (i === 0 ? stepNumbers(ctx) : []),
  async run(args, ctx) {
    const s = needSession(ctx, 'ir');
    const k = args.positionals.length ? parseStepArg('ir', args.positionals[0], s, this.usage) : s.current;
    return new IRView(s.ir(k), `IR of ${s.source} at ${stepTitle(s, k)}`);
  },
});

const diff = defineCommand({
  name: 'diff',
  usage: '[A [B]] [--context N] [--table]',
  summary: 'what changed from step A to step B (default: the previous step to the current one)',
  examples: ['diff', 'diff 0', 'diff 0 4 --context 1', 'diff 3 4 --table'],
  details: 'With A alone, the diff from A to the current step.',
  positionals: [0, 2],
  options: [
    { name: 'context', type: 'int', value: 'N', min: 0, help: 'unchanged lines shown around each change (default 3)' },
    { name: 'table', type: 'flag', help: 'the changed nodes and constants as a table instead of text' },
  ],
  completePositional: (i, ctx) => (i < 2 ? stepNumbers(ctx) : []),
  async run(args, ctx) {
    const s = needSession(ctx, 'diff');
    const [pa, pb] = args.positionals;
    const a = pa !== undefined ? parseStepArg('diff', pa, s, this.usage, 'A') : Math.max(0, s.current - 1);
    const b = pb !== undefined ? parseStepArg('diff', pb, s, this.usage, 'B') : s.current;
    const d = s.diff(a, b);
    if (opt(args, 'table', false)) return diffTable(d, { changesOnly: true, title: `changes from ${stepTitle(s, a)} to ${stepTitle(s, b)}` });
    const context = args.options.get('context') as number | undefined;
    return new DiffView(d, { labels: [stepTitle(s, a), stepTitle(s, b)], ...(context !== undefined ? { context } : {}) });
  },
});

/** The registry as a table: pass, summary, options (`name=default (type): help`), statistics, use. */
function passesRegistryTable(s: Session | undefined): ResultTable {
  const passes = allPasses();
  const used = new Set(s?.pipelineEntries.map((e) => e.pass) ?? []);
  const cols = [
    { name: 'pass', type: 'utf8' as const, values: passes.map((p) => p.name) },
    { name: 'summary', type: 'utf8' as const, values: passes.map((p) => p.summary) },
    { name: 'options', type: 'list<utf8>' as const, values: passes.map((p) => p.options.map((o) => `${o.name}=${printOptionValue(o.default)}`)) },
    { name: 'statistics', type: 'list<utf8>' as const, values: passes.map((p) => p.statistics.map((x) => x.name)) },
    ...(s ? [{ name: 'in_pipeline', type: 'bool' as const, values: passes.map((p) => used.has(p.name)) }] : []),
  ];
  return buildTable('passes (`passes NAME` for one in detail)', cols);
}

const passes = defineCommand({
  name: 'passes',
  usage: '[NAME]',
  summary: 'the registered passes with their options, or one pass in detail',
  examples: ['passes', 'passes fuse-elementwise'],
  positionals: [0, 1],
  completePositional: (i) => (i === 0 ? passNames() : []),
  async run(args, ctx) {
    const name = args.positionals[0];
    if (name === undefined) return passesRegistryTable(ctx.session);
    const p = lookupPass(name); // unknown names: the registry's error with a suggestion
    const lines = [p.summary, ...(p.description ? ['', p.description] : [])];
    if (p.options.length) {
      lines.push('', 'options:');
      for (const o of p.options) lines.push(`  ${o.name}=${printOptionValue(o.default)} (${o.type}): ${o.help}`);
    }
    if (p.statistics.length) {
      lines.push('', 'statistics:');
      for (const st of p.statistics) lines.push(`  ${st.name}: ${st.help}`);
    }
    const inDefault = TARGETS.filter((t) => defaultPipeline(t).split(',').includes(p.name));
    lines.push('', `in the default pipeline of: ${inDefault.join(', ') || '(none)'}`);
    return new TextView(lines.join('\n') + '\n', `pass ${p.name}`);
  },
});

const nodes = defineCommand({
  name: 'nodes',
  usage: '[STEP]',
  summary: 'the nodes table: op, inputs, outputs, dtype, shape, FLOPs, bytes, provenance',
  examples: ['nodes', 'nodes 0'],
  positionals: [0, 1],
  completePositional: (i, ctx) => (i === 0 ? stepNumbers(ctx) : []),
  async run(args, ctx) {
    const s = needSession(ctx, 'nodes');
    return s.nodesTable(args.positionals.length ? parseStepArg('nodes', args.positionals[0], s, this.usage) : s.current);
  },
});

/** The session's last `timings` result, or the error saying to run it first. */
function timed(s: Session): NodeTimings {
  const t = lastTimings(s);
  if (!t) throw commandError('tables', 'no timings yet; run `timings` first');
  return t;
}

/** The tables `tables NAME` knows, with what each holds. */
const TABLES: Readonly<Record<string, { what: string; make(s: Session, step: number, ctx: CommandContext): ResultTable }>> = {
  nodes: { what: 'one row per node of a step', make: (s, k) => s.nodesTable(k) },
  passes: { what: 'one row per computed step (pass, time, node counts, numeric error)', make: (s) => s.passesTable(true) },
  diff: { what: 'changed nodes and constants from the step before STEP to STEP', make: (s, k) => diffTable(s.diff(Math.max(0, k - 1), k), { changesOnly: true }) },
  decisions: { what: 'fusion decisions of steps 1..current (fused or rejected, and why)', make: (s) => s.decisionsTable() },
  fusions: { what: 'fused nodes of a step with the ONNX nodes they came from', make: (s, k) => s.fusionsTable(k) },
  timings: { what: 'per-node times of the last `timings` run', make: (s) => timed(s).table() },
  kernels: {
    what: 'per-kernel times of the last `timings` run: IR and ONNX nodes, dispatch size (GPU), time',
    make: (s) => timed(s).kernelTable(),
  },
};

const tables = defineCommand({
  name: 'tables',
  usage: '[NAME [STEP]] [--save FILE.arrow]',
  summary: 'list the result tables, or show one (and save it as an Arrow IPC file)',
  examples: ['tables', 'tables nodes', 'tables passes --save passes.arrow'],
  positionals: [0, 2],
  options: [{ name: 'save', type: 'string', value: 'FILE', help: 'write the table as an Arrow IPC file (pandas, polars, DuckDB read it)' }],
  completePositional: (i, ctx) => (i === 0 ? Object.keys(TABLES) : i === 1 ? stepNumbers(ctx) : []),
  async run(args, ctx) {
    const [name, stepText] = args.positionals;
    if (name === undefined) {
      const names = Object.keys(TABLES);
      return buildTable('result tables (`tables NAME [STEP]`)', [
        { name: 'table', type: 'utf8', values: names },
        { name: 'holds', type: 'utf8', values: names.map((n) => TABLES[n].what) },
      ]);
    }
    const spec = TABLES[name];
    if (!spec) throw commandError('tables', `unknown table '${name}'; tables: ${Object.keys(TABLES).join(', ')}`, this.usage);
    const s = needSession(ctx, 'tables');
    const k = stepText !== undefined ? parseStepArg('tables', stepText, s, this.usage) : s.current;
    const t = spec.make(s, k, ctx);
    const file = args.options.get('save') as string | undefined;
    if (file !== undefined) {
      t.writeIPC(file);
      ctx.print(`wrote ${t.numRows} rows of '${t.title}' to ${file}`);
    }
    return t;
  },
});

const decisions = defineCommand({
  name: 'decisions',
  usage: '',
  summary: 'fusion decisions of the steps so far: what was fused, what was rejected and why',
  examples: ['decisions'],
  async run(_args, ctx) {
    return needSession(ctx, 'decisions').decisionsTable();
  },
});

const fusions = defineCommand({
  name: 'fusions',
  usage: '[STEP]',
  summary: 'fused nodes of the current step (or STEP) with the ONNX nodes each came from',
  examples: ['fusions'],
  positionals: [0, 1],
  completePositional: (i, ctx) => (i === 0 ? stepNumbers(ctx) : []),
  async run(args, ctx) {
    const s = needSession(ctx, 'fusions');
    return s.fusionsTable(args.positionals.length ? parseStepArg('fusions', args.positionals[0], s, this.usage) : s.current);
  },
});

const check = defineCommand({
  name: 'check',
  usage: '[STEP] [--rtol R] [--atol A]',
  summary: 'run the current step (or STEP) on seeded inputs and compare its outputs with step 0',
  examples: ['check', 'check 4 --rtol 1e-3'],
  details: '--rtol and --atol set the session\'s tolerances for this and later checks.',
  positionals: [0, 1],
  options: [
    { name: 'rtol', type: 'number', value: 'R', min: 0, help: 'relative tolerance (against the largest |reference|)' },
    { name: 'atol', type: 'number', value: 'A', min: 0, help: 'absolute tolerance' },
  ],
  completePositional: (i, ctx) => (i === 0 ? stepNumbers(ctx) : []),
  async run(args, ctx) {
    const s = needSession(ctx, 'check');
    const k = args.positionals.length ? parseStepArg('check', args.positionals[0], s, this.usage) : s.current;
    const rtol = args.options.get('rtol') as number | undefined, atol = args.options.get('atol') as number | undefined;
    if (rtol !== undefined || atol !== undefined) s.setTolerance(rtol ?? s.tolerance, atol);
    ctx.progress(`checking step ${k}`, 0);
    const r = s.check(k);
    ctx.progress(`checked step ${k}`, 1);
    const [rt, at] = tolerances(s);
    return new CheckView(k, k === 0 ? 'load' : s.at(k).pass, r, rt, at);
  },
});

/**
 * The session's (rtol, atol). The Session exposes rtol as `tolerance` but keeps atol in a private field
 * (a TypeScript-private, so readable at run time); NaN if that ever changes.
 */
function tolerances(s: Session): [number, number] {
  const atol = (s as unknown as { atol?: unknown }).atol;
  return [s.tolerance, typeof atol === 'number' ? atol : NaN];
}

/** The commands that look at a session. */
export const viewCommands: readonly KilnCommand[] = [ir, diff, passes, nodes, tables, decisions, fusions, check];
