/**
 * Test doubles for the REPL: a small command table over a real Session (load, pipeline, step, back,
 * ir, help, fail, crash, slow, lines, wait), a renderer that colours diffs with compiler/ir/diff.ts's ANSI
 * format, and an evaluator that runs a JavaScript expression with `session` in scope; plus helpers to
 * wait for an ink-testing-library frame.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command, CommandContext } from '../../compiler/commands/command.ts';
import { KilnError } from '../../compiler/errors.ts';
import { Session } from '../../compiler/session.ts';
import { formatDiff, formatDiffAnsi, type GraphDiff } from '../../compiler/ir/diff.ts';
import type { ReplDeps, RenderOptions } from '../../repl/shell.ts';

const PASSES = ['cse', 'dce', 'fold-constants', 'fold-conv-bn', 'fuse-conv-act', 'fuse-elementwise', 'shape-infer', 'simplify'];

function need(ctx: CommandContext): Session {
  if (!ctx.session) throw new KilnError('no model loaded: load MODEL');
  return ctx.session;
}

/** A diff result, as a fake `step` returns it. */
export class FakeDiff {
  constructor(readonly title: string, readonly diff: GraphDiff) {}
}

function cmd(name: string, run: Command['run'], complete?: Command['complete']): Command {
  return { name, usage: '', summary: `the ${name} command`, run, complete };
}

/** The fake command table. */
export function fakeCommands(): Command[] {
  return [
    cmd('load', async (a, ctx) => {
      const s = Session.load(a.trim(), { pipeline: 'shape-infer,fuse-conv-act,dce' });
      ctx.setSession(s);
      return `loaded ${s.source}`;
    }, (a) => ['zoo:mlp', 'zoo:resnet50'].filter((m) => m.startsWith(a))),
    cmd('pipeline', async (a, ctx) => `pipeline: ${need(ctx).pipeline(a).pipelineText}`,
      (a) => PASSES.filter((p) => p.startsWith(/\S*$/.exec(a)![0]))),
    cmd('step', async (_a, ctx) => {
      const s = need(ctx);
      const st = s.step();
      return new FakeDiff(`step ${st.index}: ${st.pass}`, s.diff());
    }),
    cmd('back', async (_a, ctx) => `at step ${need(ctx).back().index}`),
    cmd('ir', async (_a, ctx) => need(ctx).ir()),
    cmd('help', async () => 'commands: load pipeline step back ir help'),
    cmd('fail', async () => { throw new KilnError('fail: it broke on purpose'); }),
    cmd('crash', async () => { throw new TypeError('x is not a function'); }),
    cmd('slow', async (_a, ctx) => {
      ctx.progress('compiling', 0.5);
      await sleep(300);
      ctx.progress('compiling', 1);
      return 'slow done';
    }),
    cmd('lines', async (a) => Array.from({ length: Number(a) }, (_, i) => `line ${i + 1}`).join('\n')),
    cmd('wait', (_a, ctx) => new Promise((resolve, reject) => {
      const t = setTimeout(() => resolve('waited'), 5000);
      ctx.signal?.addEventListener('abort', () => { clearTimeout(t); reject(new KilnError('interrupted')); });
    })),
  ];
}

/** Renders FakeDiffs (coloured when asked) and everything else as text. */
export function fakeRender(obj: unknown, opts: RenderOptions): string {
  if (obj instanceof FakeDiff) return `${obj.title}\n${(opts.color ? formatDiffAnsi : formatDiff)(obj.diff)}`;
  return typeof obj === 'string' ? obj : JSON.stringify(obj);
}

/** Fake deps: the table above, the renderer, and a JS expression evaluator with `session` in scope. */
export function fakeDeps(withEvaluator = true): ReplDeps {
  const list = fakeCommands();
  return {
    findCommand: (n) => list.find((c) => c.name === n),
    allCommands: () => list,
    render: fakeRender,
    evaluate: withEvaluator
      ? async (code, ctx) => new Function('session', `return (${code});`)(ctx.session)
      : undefined,
  };
}

/** Strips ANSI escapes. */
export function plain(s: string | undefined): string {
  return (s ?? '').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
}

/** Waits until `check()` holds (polling every 10 ms); throws with `what()` after `ms`. */
export async function waitFor(check: () => boolean, what: () => string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting; last frame:\n${what()}`);
    await sleep(10);
  }
}
