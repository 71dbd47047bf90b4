/**
 * Commands that create a session and move through its pipeline: load, pipeline, step, stepto, runall,
 * back, goto, branch, history.
 *
 * Moving forward runs one pass at a time (`advance`): before each step it reports progress
 * (`runall: fold-constants (4/9)`) and yields to the event loop, so a shell can draw the progress and
 * an interrupt can stop the walk between two passes; the steps already taken stay on the timeline. The
 * result of a move is a StepView: the steps taken and the diff from where the walk started to where it
 * ended. Moving back only moves the cursor and shows the step arrived at.
 */
import { Session } from '../session.ts';
import { parseShapeOptions, type ShapeBindings } from '../ops/bind-shapes.ts';
import type { Step } from '../session.ts';
import { TARGETS, defaultPipeline, isTarget } from '../passes/all.ts';
import { printEntry } from '../passes/pipeline.ts';
import { PipelineView, StepView } from '../display/views.ts';
import type { CommandContext } from './command.ts';
import { commandError, needSession, opt, parseIntArg, parseStepArg, yieldToShell } from './args.ts';
import { defineCommand, naming, type KilnCommand } from './define.ts';
import { lastWord, matching, modelPaths, passNames, stepNumbers, zooRefs } from './complete.ts';
import { withColumn } from './tables.ts';

/** The pipeline of a session as a view. */
export function pipelineView(s: Session): PipelineView {
  const items = s.pipelineEntries.map((e, i) => ({ step: i + 1, pass: e.pass, text: printEntry(e) }));
  return new PipelineView(items, s.current, s.history.length - 1, s.target, s.pipelineText);
}

/**
 * Runs the session forward to step `target` one pass at a time, with progress and a yield before each;
 * returns the steps taken. `label` names the walk in progress messages.
 */
export async function advance(ctx: CommandContext, s: Session, target: number, label: string): Promise<Step[]> {
  const taken: Step[] = [];
  const start = s.current;
  const entries = s.pipelineEntries;
  while (s.current < target) {
    const k = s.current;
    ctx.progress(`${label}: ${entries[k].pass} (${k + 1}/${target})`, (k - start) / Math.max(1, target - start));
    await yieldToShell(ctx, label);
    taken.push(s.step());
  }
  if (taken.length) ctx.progress(`${label}: done at step ${s.current}`, 1);
  return taken;
}

/** A StepView of a forward walk (or of the current step when nothing moved). */
function walkView(s: Session, before: number, taken: Step[], note?: string): StepView {
  if (!taken.length) return new StepView([s.at()], s.length, undefined, note ?? `already at step ${s.current}`);
  return new StepView(taken, s.length, s.diff(before, s.current), note);
}

const modelCandidates = (word: string) => (word === '' || 'zoo:'.startsWith(word) || word.startsWith('zoo:')
  ? [...zooRefs(), ...modelPaths(word)] : modelPaths(word));

const load = defineCommand({
  name: 'load',
  usage: 'MODEL [--target T] [--pipeline P] [--seed S] [--batch N] [--shape INPUT=SIZES]... [--dim NAME=SIZE]... [--no-check]',
  summary: 'load a model (zoo:NAME, a .onnx or .kir file) and start a stepping session',
  examples: ['load zoo:mlp', 'load zoo:resnet50 --target cuda', 'load models/net.onnx --no-check', 'load zoo:mlp --batch N --shape input=4x784', 'load zoo:mlp --batch N --dim N=8'],
  positionals: [1, 1],
  options: [
    { name: 'target', type: 'string', value: 'T', help: `compilation target (${TARGETS.join(', ')}; default cpu)`, values: () => [...TARGETS] },
    { name: 'pipeline', type: 'string', value: 'P', help: "pipeline text (default: the target's default pipeline)" },
    { name: 'seed', type: 'int', value: 'S', min: 0, help: 'seed of zoo weights and of the numeric check inputs (default 0)' },
    { name: 'batch', type: 'string', value: 'N', help: 'batch dim of zoo models: a size or a symbol (default 1)' },
    { name: 'shape', type: 'string', value: 'INPUT=SIZES', repeatable: true, help: 'bind a graph input\'s symbolic dims: --shape x=1x3x640x640 (repeatable)' },
    { name: 'dim', type: 'string', value: 'NAME=SIZE', repeatable: true, help: 'bind one symbolic dim wherever it occurs: --dim N=8 (repeatable)' },
    { name: 'check', type: 'flag', help: 'check each step numerically against step 0 (default on; --no-check turns it off)' },
  ],
  completePositional: (i, _ctx, word) => (i === 0 ? modelCandidates(word) : []),
  async run(args, ctx) {
    const model = args.positionals[0];
    const target = opt(args, 'target', 'cpu');
    if (!isTarget(target)) throw commandError('load', `unknown target '${target}'; targets: ${TARGETS.join(', ')}`, this.usage);
    const seed = args.options.get('seed') as number | undefined;
    const batchText = args.options.get('batch') as string | undefined;
    const batch = batchText === undefined ? undefined : /^\d+$/.test(batchText) ? Number(batchText) : batchText;
    if (batch !== undefined && (batch === 0 || (typeof batch === 'string' && !/^[A-Za-z_]\w*$/.test(batch)))) {
      throw commandError('load', `--batch must be a size >= 1 or a symbol like N, got '${batchText}'`, this.usage);
    }
    let bindings: ShapeBindings;
    try {
      bindings = parseShapeOptions(args.options.get('shape') as string[] | undefined, args.options.get('dim') as string[] | undefined);
    } catch (e) {
      throw commandError('load', (e as Error).message, this.usage);
    }
    ctx.progress(`loading ${model}`, 0);
    await yieldToShell(ctx, 'load');
    const session = Session.load(model, {
      target, pipeline: args.options.get('pipeline') as string | undefined, numericCheck: opt(args, 'check', true),
      seed, zoo: { seed, ...(batch !== undefined ? { batch } : {}) }, ...bindings,
    });
    ctx.progress(`loaded ${model}`, 1);
    // the replaced session's compiled programs (loaded libraries) are released; the session itself
    // stays usable for a notebook variable that still holds it (its next run prepares again)
    const replaced = ctx.session;
    ctx.setSession(session);
    if (replaced && replaced !== session) await replaced.releasePrograms();
    return session;
  },
});

/** Candidates for the pass name being typed at the end of pipeline text. */
function pipelineCandidates(argText: string): string[] {
  const word = lastWord(argText);
  const cut = Math.max(word.lastIndexOf(','), word.lastIndexOf('}'));
  const head = word.slice(0, cut + 1), partial = word.slice(cut + 1);
  if (word.slice(cut + 1).includes('{')) return [];
  const extra = argText.trim() === word && !head ? ['default'] : [];
  return matching(word, [...extra, ...passNames()].filter((n) => n.startsWith(partial)).map((n) => head + n));
}

const pipeline: KilnCommand = {
  name: 'pipeline',
  usage: '[TEXT | default]',
  summary: "show the pipeline, or set it (steps whose passes are unchanged are kept)",
  examples: ['pipeline', 'pipeline default', 'pipeline shape-infer,fold-constants,fuse-elementwise{max-ops=8},dce'],
  details: 'TEXT is pass,pass{option=value,list=[a,b]},... (see `passes` for the passes and their options);\n'
    + "`default` sets the target's default pipeline. Without TEXT, shows the pipeline with the current step.",
  options: [],
  complete: (argText) => pipelineCandidates(argText),
  run: (argText, ctx) => naming('pipeline', async () => {
    const s = needSession(ctx, 'pipeline');
    const text = argText.trim();
    if (text) s.pipeline(text === 'default' ? defaultPipeline(s.target as (typeof TARGETS)[number], s.graph(0)) : text);
    return pipelineView(s);
  }),
};

const step = defineCommand({
  name: 'step',
  usage: '[N]',
  summary: 'run the next N passes (default 1) and show what changed',
  examples: ['step', 'step 3'],
  positionals: [0, 1],
  async run(args, ctx) {
    const s = needSession(ctx, 'step');
    const left = s.length - s.current;
    if (left === 0) throw commandError('step', `already at the last step (${s.current}) of the pipeline; back, goto or pipeline change that`);
    const n = args.positionals.length ? parseIntArg('step', 'N', args.positionals[0], 1, left, this.usage) : 1;
    const before = s.current;
    return walkView(s, before, await advance(ctx, s, before + n, 'step'));
  },
});

const stepto = defineCommand({
  name: 'stepto',
  usage: 'PASS | N',
  summary: 'run forward through the next occurrence of PASS, or to step N',
  examples: ['stepto fuse-conv-act', 'stepto 5'],
  positionals: [1, 1],
  completePositional: (i, ctx) => {
    const s = ctx.session;
    if (i !== 0) return [];
    return s ? [...new Set(s.pipelineEntries.slice(s.current).map((e) => e.pass)), ...stepNumbers(ctx).slice(s.current + 1)] : passNames();
  },
  async run(args, ctx) {
    const s = needSession(ctx, 'stepto');
    const arg = args.positionals[0];
    const before = s.current;
    let target: number;
    if (/^\d+$/.test(arg)) {
      target = parseStepArg('stepto', arg, s, this.usage, 'N');
      if (target < before) throw commandError('stepto', `step ${target} is behind the current step ${before}; use back or goto`, this.usage);
    } else {
      const k = s.pipelineEntries.findIndex((e, i) => i >= before && e.pass === arg);
      if (k < 0) s.stepTo(arg); // the session's error: unknown pass, or not ahead in the pipeline
      target = k + 1;
    }
    return walkView(s, before, await advance(ctx, s, target, 'stepto'));
  },
});

const runall = defineCommand({
  name: 'runall',
  usage: '',
  summary: 'run the rest of the pipeline (each pass once) and show the overall diff',
  examples: ['runall'],
  async run(_args, ctx) {
    const s = needSession(ctx, 'runall');
    const before = s.current;
    return walkView(s, before, await advance(ctx, s, s.length, 'runall'), `ran steps ${before + 1}..${s.length}`);
  },
});

const back = defineCommand({
  name: 'back',
  usage: '[N]',
  summary: 'go back N steps (default 1); nothing is recomputed',
  examples: ['back', 'back 2'],
  positionals: [0, 1],
  async run(args, ctx) {
    const s = needSession(ctx, 'back');
    if (s.current === 0) throw commandError('back', 'already at step 0 (the loaded model)');
    const n = args.positionals.length ? parseIntArg('back', 'N', args.positionals[0], 0, s.current, this.usage) : 1;
    return new StepView([s.back(n)], s.length, undefined, `back ${n} step${n === 1 ? '' : 's'}; now at:`);
  },
});

const goto = defineCommand({
  name: 'goto',
  usage: 'N',
  summary: 'go to step N, running forward when it has not been computed',
  examples: ['goto 0', 'goto 4'],
  positionals: [1, 1],
  completePositional: (i, ctx) => (i === 0 ? stepNumbers(ctx) : []),
  async run(args, ctx) {
    const s = needSession(ctx, 'goto');
    const n = parseStepArg('goto', args.positionals[0], s, this.usage, 'N');
    const before = s.current;
    if (n < s.history.length) return new StepView([s.goto(n)], s.length, undefined, `moved from step ${before} to:`);
    s.goto(s.history.length - 1);
    return walkView(s, s.current, await advance(ctx, s, n, 'goto'), `moved from step ${before}, computing steps ${s.current + 1}..${n}:`);
  },
});

const branch = defineCommand({
  name: 'branch',
  usage: '[PIPELINE]',
  summary: 'continue in a new session that shares the steps so far, with another rest of the pipeline',
  examples: ['branch', 'branch fuse-elementwise{max-ops=4},dce'],
  details: 'The new session becomes the current one; its steps up to here are the same objects as the old one\'s.',
  positionals: [0, 1],
  completePositional: (i, _ctx, word) => (i === 0 ? pipelineCandidates(word) : []),
  async run(args, ctx) {
    const s = needSession(ctx, 'branch');
    const b = s.branch(args.positionals[0]);
    ctx.setSession(b);
    ctx.print(`branched at step ${s.current}; the branch is now the current session`);
    return pipelineView(b);
  },
});

const history = defineCommand({
  name: 'history',
  usage: '',
  summary: 'every computed step: pass, time, node counts, numeric error (▶ marks the current step)',
  examples: ['history'],
  async run(_args, ctx) {
    const s = needSession(ctx, 'history');
    const t = s.passesTable(true);
    const marks = t.column('step').map((k) => (k === s.current ? '▶' : ''));
    const next = s.pipelineEntries.slice(s.current).map((e) => e.pass);
    const title = `history of ${s.source}: at step ${s.current} of ${s.length}${next.length ? `; next: ${next.join(', ')}` : ''}`;
    return withColumn(t, { name: 'at', type: 'utf8', values: marks }, 0, title);
  },
});

/** The session commands. */
export const sessionCommands: readonly KilnCommand[] = [load, pipeline, step, stepto, runall, back, goto, branch, history];
