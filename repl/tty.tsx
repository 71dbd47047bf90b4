/**
 * Starts the ink app on a terminal: the history file, the banner, the initial `load MODEL` line, and
 * waits until the user leaves, then closes the engine (its worker). Kept apart from repl/index.ts so
 * the piped mode never loads ink or React.
 */
import { render } from 'ink';
import { App } from './app.tsx';
import { History, historyPath } from './history.ts';
import type { ReplEngine } from './engine.ts';

/** Options of the terminal app. */
export interface TtyOptions {
  readonly stdin: NodeJS.ReadStream;
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  /** Lines to run first (e.g. `load zoo:resnet50`). */
  readonly initialLines: readonly string[];
  /** History file (default: historyPath()). */
  readonly historyFile?: string;
  /** Columns results are laid out for (default: the terminal's). */
  readonly width?: number;
}

/** The banner: what the REPL is and the three things to know. */
export const BANNER = 'kiln REPL: type help for the commands (each with an example), Tab to complete, Up/Down for history, exit or Ctrl-D to leave.';

/** Runs the app until the user leaves; resolves to the exit code (0). */
export async function runTty(engine: ReplEngine, opts: TtyOptions): Promise<number> {
  const history = new History(opts.historyFile ?? historyPath());
  const app = render(<App engine={engine} history={history} banner={BANNER} initialLines={opts.initialLines} width={opts.width} />, {
    stdin: opts.stdin, stdout: opts.stdout, stderr: opts.stderr, exitOnCtrlC: false,
  });
  try {
    await app.waitUntilExit();
  } finally {
    await engine.close();
  }
  return 0;
}
