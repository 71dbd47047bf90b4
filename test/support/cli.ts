/**
 * Running the `kiln` CLI as a user does, in a child process (`node --import tsx cli/main.ts ...`),
 * with a bounded deadline so a command that hangs fails its test instead of stalling the run.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './paths.ts';

/** What a CLI call returned; `timedOut` is set when the deadline killed it. */
export interface CliResult {
  code: number;
  out: string;
  err: string;
  timedOut: boolean;
}

/** Options of `runKiln`. */
export interface RunKilnOptions {
  /** Deadline in milliseconds (default 120 s). */
  timeoutMs?: number;
  /** The whole environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Text on the command's standard input (default: none). */
  input?: string;
}

/** Runs `kiln ...args` to completion or until `timeoutMs` (default 120 s) passes. */
export function runKiln(args: readonly string[], opts: RunKilnOptions = {}): CliResult {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'cli/main.ts'), ...args], {
    cwd: REPO_ROOT, encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000, killSignal: 'SIGKILL',
    env: opts.env ?? process.env, input: opts.input,
  });
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT' || r.signal === 'SIGKILL';
  return { code: r.status ?? -1, out: r.stdout ?? '', err: r.stderr ?? '', timedOut };
}

/** Lines of stderr that look like stack frames (`    at f (file:1:2)`). */
export function stackFrames(err: string): string[] {
  return err.split('\n').filter((l) => /^\s+at .+[:(]/.test(l));
}

/** Runs a CLI command in-process with console.log and console.error captured. */
export async function captureConsole(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const log = console.log, error = console.error;
  let out = '', err = '';
  console.log = (...a: unknown[]) => { out += a.join(' ') + '\n'; };
  console.error = (...a: unknown[]) => { err += a.join(' ') + '\n'; };
  try {
    return { code: await fn(), out, err };
  } finally {
    console.log = log;
    console.error = error;
  }
}
