/**
 * Shared harness of the Jupyter integration tests (test/kernel-jupyter, test/notebooks) and the
 * kernel bench: a throw-away Jupyter environment with the kiln kernelspec installed, child processes
 * with hard time limits, and process-tree checks.
 *
 * Isolation: `jupyterEnv()` installs the kernelspec with `kiln kernel install --prefix TMP` and
 * points JUPYTER_PATH at TMP/share/jupyter; JUPYTER_CONFIG_DIR, JUPYTER_DATA_DIR,
 * JUPYTER_RUNTIME_DIR and IPYTHONDIR go to the same temp folder, so the tests never read or write
 * the user's real Jupyter or IPython configuration (connection files and console history included);
 * KILN_KERNEL_HISTORY keeps the kernel's history file there as well.
 *
 * Processes: every child is spawned in its own process group and remembered; `run()` kills the group
 * with SIGKILL when its limit passes, and `killEverything()` (called from each test file's `after`
 * hook) kills whatever the tests started that is still alive, kernels launched by the Python
 * clients included (the drivers report their kernel pids, which go through `track()`). Process trees
 * are read from /proc (the parent pid is field 4 of /proc/PID/stat), so a check that "nothing is
 * left" sees grandchildren such as esbuild's service process too. A zombie counts as gone.
 *
 * The Debian clients run on /usr/bin/python3 (another python3 may come first on PATH).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The folder of this harness (the Python drivers live here). */
export const HERE = path.join(REPO_ROOT, 'test', 'kernel-jupyter');
/** Debian's Python, on which jupyter_client, jupyter_console, nbconvert and jupyter_kernel_test are installed. */
export const PYTHON = '/usr/bin/python3';
/** The kiln command-line entry. */
export const KILN = path.join(REPO_ROOT, 'bin', 'kiln.mjs');

/** A kernelspec as written by `kiln kernel install`. */
export interface KernelSpec {
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode?: string;
  env?: Record<string, string>;
  metadata?: Record<string, unknown>;
}

/** A temporary Jupyter environment with the kiln kernelspec installed. */
export interface JupyterEnv {
  /** The temp folder holding everything. */
  readonly root: string;
  /** The `--prefix` the kernelspec went into. */
  readonly prefix: string;
  /** The kernel name (`kiln`). */
  readonly kernelName: string;
  /** The installed kernel.json. */
  readonly spec: KernelSpec;
  /** The folder holding kernel.json. */
  readonly specDir: string;
  /** process.env plus the JUPYTER_* / IPYTHONDIR variables pointing into `root`. */
  readonly env: NodeJS.ProcessEnv;
  /** Removes the temp folder. */
  dispose(): void;
}

/** Result of one finished child process. */
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  pid: number;
}

/** Options of `run`. */
export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Text written to stdin, which is then closed. */
  input?: string;
  /** Hard limit; the process group gets SIGKILL after it. */
  timeoutMs: number;
}

const tracked = new Set<number>();
const trackedRoots = new Set<string>();

/** Remembers a pid (and, at cleanup, its descendants) to kill in `killEverything()`. */
export function track(pid: number): void {
  if (Number.isInteger(pid) && pid > 0) tracked.add(pid);
}

/** Parent pid and state of a process, or undefined when it does not exist. */
function stat(pid: number): { ppid: number; state: string } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ..." where comm may contain spaces and parentheses: split after the last ')'
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0], ppid: Number(rest[1]) };
}

/** True when the process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  const s = stat(pid);
  return s !== undefined && s.state !== 'Z' && s.state !== 'X';
}

/** The live descendants of `pid` (children, grandchildren, ...), found from /proc. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(Number(name));
    if (!s || s.state === 'Z') continue;
    const list = children.get(s.ppid) ?? [];
    list.push(Number(name));
    children.set(s.ppid, list);
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** The command line of a process (NUL-separated argv joined by spaces), '' when gone. */
export function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** Waits until none of `pids` is alive; returns those still alive after `timeoutMs`. */
export async function waitGone(pids: readonly number[], timeoutMs: number): Promise<number[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const alive = pids.filter(isAlive);
    if (alive.length === 0 || Date.now() >= end) return alive;
    await sleep(50);
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Spawns a child in its own process group and tracks it. */
export function start(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ChildProcess {
  const child = spawn(cmd, args, { cwd: opts.cwd ?? REPO_ROOT, env: opts.env ?? process.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  if (child.pid) track(child.pid);
  return child;
}

/** Kills a process group, ignoring a group that is already gone. */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

/** Runs a command to completion with a hard time limit; never rejects. */
export function run(cmd: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = start(cmd, args, opts);
    let stdout = '', stderr = '', timedOut = false;
    child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stdin!.on('error', () => { /* the child may exit before reading all input */ });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid!, 'SIGKILL');
    }, opts.timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, pid: child.pid! });
    });
  });
}

/**
 * Live processes (other than this one) whose command line mentions `text`: the kernels started with a
 * connection file under a temp Jupyter folder, whoever launched them (jupyter_client starts kernels in
 * a session of their own, so killing a client's process group does not reach its kernel).
 */
export function processesMentioning(text: string): number[] {
  return fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number)
    .filter((pid) => pid !== process.pid && isAlive(pid) && cmdline(pid).includes(text));
}

/**
 * Kills every tracked process, its group and its descendants, and every process whose command line
 * mentions the folder of a `jupyterEnv()` (test cleanup).
 */
export async function killEverything(): Promise<void> {
  for (const root of trackedRoots) for (const pid of processesMentioning(root)) tracked.add(pid);
  const all = new Set<number>();
  for (const pid of tracked) {
    if (isAlive(pid)) all.add(pid);
    for (const d of descendants(pid)) all.add(d);
  }
  for (const pid of tracked) killGroup(pid, 'SIGKILL');
  for (const pid of all) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  tracked.clear();
  trackedRoots.clear();
  await waitGone([...all], 2000);
}

/** Creates a temp Jupyter environment and installs the kiln kernelspec into it (`--prefix`). */
export async function jupyterEnv(kernelName = 'kiln'): Promise<JupyterEnv> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-jupyter-'));
  const prefix = path.join(root, 'prefix');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JUPYTER_PATH: path.join(prefix, 'share', 'jupyter'),
    JUPYTER_CONFIG_DIR: path.join(root, 'config'),
    JUPYTER_DATA_DIR: path.join(root, 'data'),
    JUPYTER_RUNTIME_DIR: path.join(root, 'runtime'),
    IPYTHONDIR: path.join(root, 'ipython'),
    // the kernel's input history file (kernel/history.ts) stays in the temp folder too
    KILN_KERNEL_HISTORY: path.join(root, 'kiln-kernel-history.jsonl'),
    JUPYTER_PLATFORM_DIRS: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    PYDEVD_DISABLE_FILE_VALIDATION: '1',
  };
  delete env.JUPYTER_PREFER_ENV_PATH;
  const args = [KILN, 'kernel', 'install', '--prefix', prefix, '--name', kernelName];
  const r = await run(process.execPath, args, { env, timeoutMs: 30_000 });
  if (r.code !== 0) {
    fs.rmSync(root, { recursive: true, force: true });
    throw new Error(`kiln kernel install failed (${r.code}): ${r.stderr}${r.stdout}`);
  }
  trackedRoots.add(root);
  const specDir = path.join(prefix, 'share', 'jupyter', 'kernels', kernelName);
  const spec = JSON.parse(fs.readFileSync(path.join(specDir, 'kernel.json'), 'utf8')) as KernelSpec;
  return {
    root, prefix, kernelName, spec, specDir, env,
    dispose: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

/** Runs a Python driver script from this folder: `/usr/bin/python3 HERE/script args...`. */
export function python(args: readonly string[], opts: RunOptions): Promise<RunResult> {
  return run(PYTHON, args, opts);
}

/** Parses the JSON lines a driver printed (other lines are ignored). */
export function jsonLines(stdout: string): Record<string, any>[] {
  const out: Record<string, any>[] = [];
  for (const line of stdout.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      out.push(JSON.parse(t));
    } catch {
      /* not ours */
    }
  }
  return out;
}

/** Strips ANSI colour and cursor sequences. */
export function plain(text: string): string {
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\x1b\][^\x07]*\x07/g, '');
}
