/**
 * Builds a shared object from C source text, through a content-addressed cache on disk.
 *
 * The key is the SHA-256 of everything that decides the bytes of the object: the source text, the
 * flags, the compiler (its command and `--version` line) and the CPU (model, architecture and feature
 * flags, because `-march=native` code is only valid where it was built). A changed source, flag,
 * compiler or CPU therefore gets a new key and never reuses a stale object; the same source built
 * again is a hit and costs no compile.
 *
 * Each entry is one folder `<cache>/objects/<key>/` holding, next to the object, the artifacts a user
 * can open: `<name>.c` (the source), `<name>.so`, `command.txt` (the exact command that built it, which
 * works when pasted), `build.log` (the compiler's output) and `build.json`, written last: an entry is
 * complete, and a hit, only when `build.json` and the object both exist. The source and the small files
 * are written with `writeFileAtomic`; the compiler writes the object to a temporary name that is
 * renamed into place, so a process loading the object never sees a half-written file, and two
 * processes building the same key at once both end with a whole object. A failed compile keeps the
 * source and the log in the entry (no `build.json`), so the command in its error works when pasted.
 *
 * The cache folder: `KILN_CACHE_DIR`, else `$XDG_CACHE_HOME/kiln`, else `~/.cache/kiln`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { ensureFolder, writeFileAtomic } from '../../files.ts';
import { KilnError } from '../../errors.ts';
import { cpuInfo, type CpuInfo } from './cpu-features.ts';
import {
  compileSharedObject, CompileError, requireCCompiler, sharedObjectFlags, type CCompiler, type FlagOptions,
} from './c-compiler.ts';

/** Options of `buildSharedObject`. */
export interface BuildOptions extends FlagOptions {
  /** File stem of the artifacts (`model` gives model.c and model.so); letters, digits, `-`, `_` (default `kernel`). */
  readonly name?: string;
  /** The cache folder (default `cacheDir()`). */
  readonly cacheDir?: string;
  /** The compiler (default: the system one; a KilnError when there is none). */
  readonly compiler?: CCompiler;
  /** The CPU the object is for (default: this machine's). */
  readonly cpu?: CpuInfo;
}

/** A built shared object and the artifacts next to it. */
export interface BuiltObject {
  /** The content hash the entry is stored under. */
  readonly key: string;
  /** True when the object came from the cache and nothing was compiled. */
  readonly hit: boolean;
  /** Milliseconds the compiler ran in this call: 0 on a hit. */
  readonly compileMs: number;
  /** The shared object to load. */
  readonly objectPath: string;
  /** The C source it was built from. */
  readonly sourcePath: string;
  /** `command.txt`: the command that built it. */
  readonly commandPath: string;
  /** `build.log`: the compiler's output. */
  readonly logPath: string;
  /** The command line itself. */
  readonly command: string;
}

/** `build.json`: what an entry records about its build. */
interface BuildRecord {
  readonly key: string;
  readonly command: string;
  readonly compiler: string;
  readonly flags: readonly string[];
  readonly compileMs: number;
  readonly cpu: string;
}

/** kiln's cache folder: `KILN_CACHE_DIR`, else `$XDG_CACHE_HOME/kiln`, else `~/.cache/kiln`. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KILN_CACHE_DIR) return path.resolve(env.KILN_CACHE_DIR);
  const base = env.XDG_CACHE_HOME ? path.resolve(env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache');
  return path.join(base, 'kiln');
}

/** The cache key of one build: SHA-256 over source, flags, compiler and CPU identity. */
export function objectKey(source: string, flags: readonly string[], compiler: CCompiler, cpu: CpuInfo): string {
  const h = createHash('sha256');
  const part = (s: string) => { h.update(`${s.length}:`); h.update(s); };
  part(source);
  part(JSON.stringify(flags));
  part(JSON.stringify({ argv: compiler.argv, version: compiler.version }));
  part(JSON.stringify({ model: cpu.model, arch: cpu.arch, flags: [...cpu.flags].sort() }));
  return h.digest('hex').slice(0, 40);
}

function readRecord(file: string): BuildRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as BuildRecord;
  } catch {
    return undefined; // missing or torn: not a complete entry
  }
}

/**
 * Compiles `source` to a shared object, or finds it in the cache. Rejects with a KilnError when there
 * is no C compiler, when the cache folder cannot be written, or when the compile fails (its first
 * errors and the command to reproduce it in the message).
 */
export async function buildSharedObject(source: string, opts: BuildOptions = {}): Promise<BuiltObject> {
  const name = opts.name ?? 'kernel';
  if (!/^[\w-]{1,64}$/.test(name)) throw new KilnError(`bad artifact name '${name}': use letters, digits, '-' and '_'`);
  const compiler = opts.compiler ?? requireCCompiler();
  const cpu = opts.cpu ?? cpuInfo();
  const flags = sharedObjectFlags(opts);
  const key = objectKey(source, flags, compiler, cpu);
  const dir = path.join(opts.cacheDir ?? cacheDir(), 'objects', key);
  const paths = {
    objectPath: path.join(dir, `${name}.so`), sourcePath: path.join(dir, `${name}.c`),
    commandPath: path.join(dir, 'command.txt'), logPath: path.join(dir, 'build.log'),
  };
  const recordPath = path.join(dir, 'build.json');
  const record = readRecord(recordPath);
  if (record && record.key === key && fs.existsSync(paths.objectPath)) {
    return { key, hit: true, compileMs: 0, command: record.command, ...paths };
  }
  ensureFolder(dir, { what: 'the native object cache', makeParents: true });
  const what = 'a native build artifact';
  writeFileAtomic(paths.sourcePath, source, { what });
  const tmp = `${paths.objectPath}.${process.pid}-${Math.random().toString(36).slice(2, 8)}.tmp`;
  try {
    const outcome = await compileSharedObject(compiler, paths.sourcePath, tmp, flags, paths.objectPath);
    fs.renameSync(tmp, paths.objectPath);
    writeFileAtomic(paths.commandPath, outcome.command + '\n', { what });
    writeFileAtomic(paths.logPath, outcome.log, { what });
    const rec: BuildRecord = {
      key, command: outcome.command, compiler: compiler.version, flags, compileMs: outcome.ms, cpu: cpu.model,
    };
    writeFileAtomic(recordPath, JSON.stringify(rec, null, 2) + '\n', { what });
    return { key, hit: false, compileMs: outcome.ms, command: outcome.command, ...paths };
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    if (e instanceof CompileError) {
      writeFileAtomic(paths.commandPath, e.outcome.command + '\n', { what });
      writeFileAtomic(paths.logPath, e.outcome.log, { what });
    }
    throw e;
  }
}
