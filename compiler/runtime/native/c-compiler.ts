/**
 * The system C compiler, as the native backend drives it.
 *
 * Discovery (`findCCompiler`): `$CC` when set (split on spaces, so `CC="ccache gcc"` works), else the
 * first of `cc`, `gcc`, `clang` that answers `--version`. The answer's first line is the compiler's
 * version; it is part of every object's cache key, so upgrading the compiler never reuses an object it
 * did not build. Discovery runs once per process and value of `$CC`.
 *
 * Flags (`sharedObjectFlags`): `-O3 -march=native -fPIC -shared`, plus `-fopenmp -Wl,-z,nodelete` for
 * OpenMP code. The `nodelete` is not optional: a shared object that links libgomp and is unloaded
 * (koffi's `unload`, or Node's exit) leaves libgomp's worker threads running code that is gone, and
 * Node crashes at exit. With `-z nodelete` the object, and libgomp with it, stays mapped until the
 * process ends.
 *
 * Compiling (`compileSharedObject`) runs the compiler asynchronously (a long compile never blocks the
 * event loop, so a spinner or progress bar keeps moving), captures stdout and stderr, and on failure
 * throws a KilnError with the compiler's first error lines and the exact command to reproduce it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { KilnError } from '../../errors.ts';

/** A C compiler found on this machine. */
export interface CCompiler {
  /** The program and any leading arguments from `$CC` (`['gcc']`, `['ccache', 'gcc']`). */
  readonly argv: readonly string[];
  /** The first line of `--version` (`cc (Debian 12.2.0-14) 12.2.0`). */
  readonly version: string;
  /** True for clang (its OpenMP runtime is libomp, and some flags differ). */
  readonly isClang: boolean;
}

/** What a compile produced. */
export interface CompileOutcome {
  /** The command line, shell-quoted, that reproduces this compile when pasted into a shell. */
  readonly command: string;
  /** The compiler's stdout and stderr, interleaved in arrival order. */
  readonly log: string;
  /** Wall-clock milliseconds the compiler ran. */
  readonly ms: number;
}

/** Options shared by the compile flags. */
export interface FlagOptions {
  /** Compile and link with OpenMP (`-fopenmp -Wl,-z,nodelete`). */
  readonly openmp?: boolean;
  /** Extra flags after the defaults (`-DTILE=8`, `-ffast-math`, ...). */
  readonly extraFlags?: readonly string[];
}

const CANDIDATES = ['cc', 'gcc', 'clang'];
const found = new Map<string, CCompiler | null>();

/** Asks `argv --version`; the compiler, or undefined when it does not run. */
function probe(argv: readonly string[]): CCompiler | undefined {
  const r = spawnSync(argv[0], [...argv.slice(1), '--version'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error || r.status !== 0) return undefined;
  const version = (r.stdout || r.stderr).split('\n')[0].trim() || argv.join(' ');
  return { argv, version, isClang: /clang/i.test(r.stdout) };
}

/** The system C compiler (`$CC`, else cc, gcc, clang), or undefined when none runs. Probed once. */
export function findCCompiler(env: NodeJS.ProcessEnv = process.env): CCompiler | undefined {
  const cc = env.CC?.trim() ?? '';
  if (!found.has(cc)) {
    const tries = cc ? [cc.split(/\s+/)] : CANDIDATES.map((c) => [c]);
    let hit: CCompiler | undefined;
    for (const argv of tries) if ((hit = probe(argv))) break;
    found.set(cc, hit ?? null);
  }
  return found.get(cc) ?? undefined;
}

/** The system C compiler, or a KilnError saying none was found and what to do. */
export function requireCCompiler(env: NodeJS.ProcessEnv = process.env): CCompiler {
  const c = findCCompiler(env);
  if (c) return c;
  const tried = env.CC?.trim() ? `$CC (${env.CC.trim()})` : CANDIDATES.join(', ');
  throw new KilnError(`no C compiler found (tried ${tried}): the native CPU backend compiles generated C; `
    + 'install gcc or clang or set CC to one, or run on the reference backend (--backend ref)', { rule: 'no-c-compiler' });
}

/** The flags that build a shared object from one C file. */
export function sharedObjectFlags(opts: FlagOptions = {}): string[] {
  return ['-O3', '-march=native', '-fPIC', '-shared',
    ...(opts.openmp ? ['-fopenmp', '-Wl,-z,nodelete'] : []), ...(opts.extraFlags ?? [])];
}

/** `arg` quoted for a POSIX shell when it needs it. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The first `max` lines of a compiler log that say `error` (all of the log's head when none do). */
export function firstErrors(log: string, max = 12): string {
  const lines = log.split('\n').filter((l) => l.trim());
  const errorAt = lines.findIndex((l) => /\berror\b/i.test(l));
  return lines.slice(Math.max(0, errorAt - 1), Math.max(0, errorAt - 1) + max).join('\n');
}

/**
 * Compiles the C file `sourcePath` into the shared object `outPath` with `flags`; resolves with the
 * command, log and time, or rejects with a KilnError carrying the first errors and the command. The
 * command shown names `shownOutPath` (the final object when `outPath` is a temporary file).
 */
export function compileSharedObject(cc: CCompiler, sourcePath: string, outPath: string, flags: readonly string[],
  shownOutPath: string = outPath): Promise<CompileOutcome> {
  const argsFor = (out: string) => [...cc.argv.slice(1), ...flags, '-o', out, sourcePath, '-lm'];
  const args = argsFor(outPath);
  // the command users see names the final object, not the temporary file the compiler writes first
  const command = [cc.argv[0], ...argsFor(shownOutPath)].map(shellQuote).join(' ');
  const started = performance.now();
  return new Promise((resolve, reject) => {
    let log = '';
    const child = spawn(cc.argv[0], args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => { log += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { log += d.toString(); });
    child.on('error', (e) => reject(new KilnError(`cannot run the C compiler ${cc.argv[0]}: ${e.message}\n  command: ${command}`,
      { file: sourcePath, rule: 'c-compile' })));
    child.on('close', (code, signal) => {
      const ms = performance.now() - started;
      if (code === 0) return resolve({ command, log, ms });
      const how = signal ? `was killed by ${signal}` : `failed with exit code ${code}`;
      reject(new CompileError(`the C compiler ${how}:\n${indent(firstErrors(log) || '(no output)')}\n  reproduce with: ${command}`,
        sourcePath, { command, log, ms }));
    });
  });
}

const indent = (text: string) => text.split('\n').map((l) => `  ${l}`).join('\n');

/** A failed compile: a KilnError that also carries the full log and command for artifacts. */
export class CompileError extends KilnError {
  constructor(message: string, file: string, readonly outcome: CompileOutcome) {
    super(message, { file, rule: 'c-compile' });
  }
}
