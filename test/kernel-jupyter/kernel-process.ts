/**
 * Starting the kiln kernel the way a Jupyter frontend does: write a connection file, substitute it
 * into the installed kernelspec's argv, spawn (tracked, own process group). Used by the tests that
 * talk to the kernel over raw zeromq (signature, SIGTERM, `jupyter console --existing`) and by the
 * bench.
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { type JupyterEnv, start } from './harness.ts';
import { type ConnectionInfo, writeConnectionFile } from './wire-client.ts';

/** A kernel started from the kernelspec. */
export interface StartedKernel {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly file: string;
  readonly info: ConnectionInfo;
  /** stdout + stderr of the kernel so far (for failure messages). */
  log(): string;
  /** Resolves with the exit code/signal once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the kernel of `env` with a fresh connection file (signing key `key`, '' for none). */
export async function startKernel(env: JupyterEnv, key?: string): Promise<StartedKernel> {
  const { file, info } = await writeConnectionFile(path.join(env.root, 'runtime'), key);
  const argv = env.spec.argv.map((a) => a.replace('{connection_file}', file));
  const child = start(argv[0], argv.slice(1), { env: { ...env.env, ...(env.spec.env ?? {}) } });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stdin!.end();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return { child, pid: child.pid!, file, info, log: () => out, exited };
}
