/**
 * The REPL without a terminal: when stdin is not a TTY (`kiln repl MODEL < script`, a pipe in CI), the
 * lines of stdin are read one by one and run through the same ReplShell as the ink app, and results
 * are printed as plain text: no ANSI escapes, no ink, no spinner, no echo of the input.
 *
 * Contract (scripts depend on it): every line runs in order; results and notes go to stdout, each
 * followed by a newline; a failing line prints `error: ...` on stderr and the script goes on with the
 * next line; the exit code is 0 when every line succeeded and 1 when at least one failed. Empty lines
 * and `#` comments are skipped; output is never folded (`more` says so) and `clear` does nothing; `exit`/`quit` stop reading (the exit code still reports earlier
 * failures). TypeScript that is not complete at the end of a line (an open bracket, string or
 * template, as the kernel's is_complete decides) continues on the next lines, up to an empty line or
 * the line that completes it. Progress is not drawn. Results are laid out for `width` columns
 * (default $COLUMNS, else 120); longer lines are cut with `…`.
 */
import readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { ReplShell } from './shell.ts';

/** Options of the piped mode. */
export interface PlainOptions {
  readonly input: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Columns results are laid out for (default: $COLUMNS or 120). */
  readonly width?: number;
}

/** Runs every line of `input`; resolves to the exit code (1 when any line failed). */
export async function runPlain(shell: ReplShell, opts: PlainOptions): Promise<number> {
  const width = opts.width ?? (Number(process.env.COLUMNS) || 120);
  const rl = readline.createInterface({ input: opts.input, crlfDelay: Infinity, terminal: false });
  let failed = false;
  shell.listeners = { print: (text) => opts.stdout.write(text + '\n') };
  const run = async (text: string): Promise<boolean> => {
    const result = await shell.execute(text, { color: false, width });
    for (const item of result.output) {
      await write(item.kind === 'error' ? opts.stderr : opts.stdout, item.text + '\n');
    }
    if (!result.ok) failed = true;
    if (result.screen === 'more' || result.screen === 'more all') await write(opts.stdout, 'nothing more to show: piped output is printed in full\n');
    return result.exit === true;
  };
  let pending: string[] = [];
  for await (const line of rl) {
    if (pending.length && line.trim() === '') {
      const text = pending.join('\n');
      pending = [];
      if (await run(text)) break;
      continue;
    }
    const text = [...pending, line].join('\n');
    if (await shell.needsMore(text)) {
      pending.push(line);
      continue;
    }
    pending = [];
    if (await run(text)) break;
  }
  if (pending.length) await run(pending.join('\n'));
  rl.close();
  return failed ? 1 : 0;
}

function write(stream: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => stream.write(text, (e) => (e ? reject(e) : resolve())));
}
