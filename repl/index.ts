/**
 * Entry of the REPL (`kiln repl [MODEL]`, `kiln` with no arguments, `npm start`): builds the shell
 * over the shared command table, loads the model, and runs either the ink app (stdin and stdout are
 * terminals) or the plain piped mode (anything else: `kiln repl MODEL < script`, `kiln repl | tee`).
 *
 * The model loads through the table's `load` command, so it behaves exactly as typing `load MODEL`.
 * On a terminal that line runs as the first entry of the transcript (with the spinner, and a failure
 * leaves the REPL open to load something else); piped, it runs silently first and a model that does
 * not load ends the run with `error: ...` and exit code 1 before any line is read.
 *
 * On a terminal the shell runs in a worker thread (repl/worker-engine.ts) so the screen stays alive
 * during long work; piped, everything runs in this thread (nothing to draw).
 */
import type { ReplDeps } from './shell.ts';
import { ReplShell } from './shell.ts';
import { LocalEngine, type ReplEngine } from './engine.ts';
import { runPlain } from './plain.ts';
import type { ShapeBindings } from '../compiler/ops/bind-shapes.ts';

/** Options of `startRepl`. */
export interface StartOptions {
  /** Model to load first; undefined loads nothing. */
  readonly model?: string;
  readonly stdin?: NodeJS.ReadStream;
  readonly stdout?: NodeJS.WriteStream;
  readonly stderr?: NodeJS.WriteStream;
  /** Command table, renderer and evaluator (default: kiln's, repl/deps.ts). */
  readonly deps?: ReplDeps;
  /** Force the plain mode even on a terminal (`kiln repl --plain`). */
  readonly plain?: boolean;
  /** Columns results are laid out for (default: the terminal's; piped: $COLUMNS or 120). */
  readonly width?: number;
  /** Symbolic dims to bind when loading `model` (`kiln repl MODEL --shape x=1x3x64x64 --dim N=2`). */
  readonly bindings?: ShapeBindings;
}

const word = (w: string) => (/[\s"'\\]/.test(w) || w === '' ? JSON.stringify(w) : w);

/** The `load` line for a model reference (quoted when it holds spaces or quotes), with its bindings. */
export function loadLine(model: string, bindings: ShapeBindings = {}): string {
  const extra = [
    ...Object.entries(bindings.shapes ?? {}).map(([name, s]) => ` --shape ${word(`${name}=${s.join('x')}`)}`),
    ...Object.entries(bindings.dims ?? {}).map(([sym, n]) => ` --dim ${word(`${sym}=${n}`)}`),
  ];
  return `load ${word(model)}${extra.join('')}`;
}

/** Runs the REPL; resolves to the process exit code. */
export async function startRepl(opts: StartOptions = {}): Promise<number> {
  const stdin = opts.stdin ?? process.stdin;
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  const initial = opts.model !== undefined ? [loadLine(opts.model, opts.bindings)] : [];
  // the ink app needs a terminal on both sides; `kiln repl | tee log` reads typed lines in plain mode
  if (opts.plain || !stdin.isTTY || !stdout.isTTY) {
    const deps = opts.deps ?? (await import('./deps.ts')).kilnDeps();
    const shell = new ReplShell(deps);
    for (const line of initial) {
      const r = await shell.execute(line, { color: false, width: opts.width ?? 120 });
      if (!r.ok) {
        for (const o of r.output) if (o.kind === 'error') stderr.write(o.text + '\n');
        return 1;
      }
    }
    const code = await runPlain(shell, { input: stdin, stdout, stderr, width: opts.width });
    await shell.session?.close(); // unloads what the session compiled (Session.close)
    stdin.pause(); // `exit` may stop before the end of the input: let the process end anyway
    return code;
  }
  // the worker loads the compiler while this thread loads ink and React
  const [engine, { runTty }] = await Promise.all([
    opts.deps ? new LocalEngine(new ReplShell(opts.deps)) : workerOrLocal(stderr),
    import('./tty.tsx'),
  ]);
  return runTty(engine, { stdin, stdout, stderr, initialLines: initial, width: opts.width });
}

/** The worker engine, or the shell in this thread when the worker cannot start (said on stderr). */
async function workerOrLocal(stderr: NodeJS.WriteStream): Promise<ReplEngine> {
  const { WorkerEngine } = await import('./worker-engine.ts');
  const engine = new WorkerEngine();
  try {
    await engine.started();
    return engine;
  } catch (e) {
    stderr.write(`kiln repl: the worker thread did not start (${(e as Error).message.split('\n')[0]}); running in the main thread\n`);
    await engine.close().catch(() => {});
    return new LocalEngine(new ReplShell((await import('./deps.ts')).kilnDeps()));
  }
}
