/**
 * The REPL's real dependencies: the shared command table (compiler/commands/all.ts registers every
 * kiln command; the Jupyter kernel's `%` magics read the same table), the display layer's
 * `toTerminal`, and the kernel's cell runtime (kernel/executor.ts `CellRuntime`) as the TypeScript
 * evaluator, with the same preloaded kiln API as a notebook (`load`, `session`, `zoo`, `display`,
 * the result tables...).
 *
 * The runtime runs in the thread that calls `kilnDeps` (the terminal app's worker, repl/worker.ts, or
 * the main thread in piped mode). It keeps the current session, and the shell reads and sets it there, so `load zoo:mlp`
 * followed by `session.current`, or `load('zoo:bert')` followed by `step`, act on one session. Console
 * output of code goes to stdout (piped mode) or, with `captureConsole` (the terminal app's worker),
 * into the line's output. A `display(obj)` in code shows the object in the line's output. `input()`
 * is not available.
 */
import '../compiler/commands/all.ts';
import { allCommands, findCommand } from '../compiler/commands/command.ts';
import { toTerminal } from '../compiler/display/index.ts';
import { KilnError } from '../compiler/errors.ts';
import { CellRuntime, type RuntimeHost } from '../kernel/executor.ts';
import { complete as completeCode, isComplete } from '../kernel/introspect.ts';
import type { ReplDeps, ReplShell } from './shell.ts';

/** Options of `kilnDeps`. */
export interface KilnDepsOptions {
  /** Route the code's console output into the line's output (the worker) instead of the terminal. */
  readonly captureConsole?: boolean;
}

/** kiln's command table, renderer and TypeScript evaluator for a REPL. */
export function kilnDeps(opts: KilnDepsOptions = {}): ReplDeps {
  let shell: ReplShell | undefined;
  let counter = 0;
  const host: RuntimeHost = {
    stream: (_name, text) => shell?.print(text),
    display: (obj) => shell?.show(obj),
    clear: () => {},
    progress: (label, fraction) => shell?.progress(label, fraction),
    input: () => Promise.reject(new KilnError('input() is not available in the REPL')),
  };
  const runtime = new CellRuntime(host, { captureConsole: opts.captureConsole ?? false });
  return {
    findCommand,
    allCommands,
    render: (obj, opts) => toTerminal(obj, opts),
    evaluate: (code, sh) => {
      shell = sh;
      return runtime.evaluate(code, `repl:${++counter}`);
    },
    sessions: { get: () => runtime.session, set: (s) => runtime.setSession(s) },
    interruptEvaluation: () => runtime.interrupt(),
    completeCode: (code, sh) => {
      const c = completeCode(code, code.length, sh);
      return { start: c.start, candidates: c.matches };
    },
    isComplete: async (code) => (await isComplete(code)).status,
  };
}
