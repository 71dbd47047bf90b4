/**
 * The tuning cache on disk: one JSON file per tuned problem, so a model's second compile measures
 * nothing.
 *
 * A problem is one (template, key) a lowering offered candidates for (codegen/lower/context.ts
 * `LowerNode.choose`). What it was measured on is part of its identity, and all of it goes into the
 * file's name (a SHA-256): the template and key, a hash of the candidates' content (a lowering that
 * changes its candidate list gets a fresh entry, never an index into the old list), and the machine
 * fingerprint — the CPU (cpu-features.ts `cpuKey`: model, architecture, feature flags, cores), the C
 * compiler (its command and `--version` line), the thread count the kernels run with, and FORMAT
 * (bumped when what is measured or stored changes meaning).
 *
 * Files live in `<cache>/tuning/<hash>.json` (`cacheDir()` of the object cache: KILN_CACHE_DIR, else
 * `$XDG_CACHE_HOME/kiln`, else `~/.cache/kiln`), one per problem so two processes tuning different
 * models never lose each other's results; each is written with `writeFileAtomic` (a reader sees the
 * old file or the new one, never half of one). A file that cannot be parsed, or whose contents do not
 * describe the problem asked for (a torn write from an older kiln, a hand edit), is ignored with a
 * warning and rewritten once the problem is measured again.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { ensureFolder, writeFileAtomic } from '../../files.ts';
import type { TuningParams } from '../../codegen/lower/context.ts';
import { cacheDir } from '../native/object-cache.ts';
import { cpuKey } from '../native/cpu-features.ts';
import { requireCCompiler } from '../native/c-compiler.ts';

/** Bumped when the meaning of a stored result changes (what is timed, how a winner is picked). */
const FORMAT = 2;

/** What tuning results are specific to, besides the problem itself. */
export interface MachineFingerprint {
  /** `cpuKey()`: CPU model, architecture, flags and cores, hashed. */
  readonly cpu: string;
  /** The compiler's command and version line (`gcc (Debian 12.2.0-14) 12.2.0`). */
  readonly compiler: string;
  /** Threads the kernels run with. */
  readonly threads: number;
}

/** This machine's fingerprint for kernels run with `threads` threads (a KilnError without a C compiler). */
export function machineFingerprint(threads: number): MachineFingerprint {
  const cc = requireCCompiler();
  return { cpu: cpuKey(), compiler: `${cc.argv.join(' ')}: ${cc.version}`, threads };
}

/** One candidate's measurement as stored. */
export interface StoredCandidate {
  readonly params: TuningParams;
  /** Median milliseconds; null when it was not timed (excluded before running). */
  readonly ms: number | null;
  /** The fastest call in milliseconds; null when it was not timed. */
  readonly minMs: number | null;
  /** Why it may not win (its results disagree, it did not lower); absent when it may. */
  readonly excluded?: string;
}

/** A cache entry: the problem's winner and every candidate's measurement. */
export interface TuningEntry {
  readonly format: number;
  readonly template: string;
  readonly key: string;
  readonly candidatesHash: string;
  readonly machine: MachineFingerprint;
  /** Index of the winning candidate. */
  readonly chosen: number;
  readonly candidates: readonly StoredCandidate[];
  /** ISO time of the measurement. */
  readonly measuredAt: string;
}

/** A hash of a candidate list's content (order included: choices are indices). */
export function candidatesHash(candidates: readonly TuningParams[]): string {
  const canon = candidates.map((c) => Object.keys(c).sort().map((k) => [k, c[k]]));
  return createHash('sha256').update(JSON.stringify(canon)).digest('hex').slice(0, 16);
}

/** The tuning cache of one machine fingerprint. */
export class TuningCache {
  /** Problems whose file was unreadable, with the warning given (each warned once). */
  private readonly warned = new Set<string>();

  constructor(
    readonly machine: MachineFingerprint,
    /** The folder of the entries (default `<cacheDir()>/tuning`). */
    readonly dir: string = path.join(cacheDir(), 'tuning'),
    /** Where warnings about unreadable entries go. */
    private readonly warn: (message: string) => void = (m) => console.warn(`kiln: ${m}`),
  ) {}

  /** The file of a problem's entry. */
  file(template: string, key: string, hash: string): string {
    const id = JSON.stringify({ format: FORMAT, template, key, hash, machine: this.machine });
    return path.join(this.dir, `${createHash('sha256').update(id).digest('hex').slice(0, 40)}.json`);
  }

  /** The stored result for a problem, or undefined (no entry, or an unreadable one: warned, ignored). */
  get(template: string, key: string, candidates: readonly TuningParams[]): TuningEntry | undefined {
    const hash = candidatesHash(candidates);
    const file = this.file(template, key, hash);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return undefined; // not tuned yet
    }
    const problem = entryProblem(text, template, key, hash, candidates.length, this.machine);
    if (problem === undefined) return JSON.parse(text) as TuningEntry;
    if (!this.warned.has(file)) {
      this.warned.add(file);
      this.warn(`ignoring the tuning cache file ${file} (${problem}); it is measured again and rewritten`);
    }
    return undefined;
  }

  /** Stores a problem's result (atomically; replaces an older or unreadable file). */
  put(entry: Omit<TuningEntry, 'format' | 'machine' | 'candidatesHash'>, candidates: readonly TuningParams[]): TuningEntry {
    const full: TuningEntry = { format: FORMAT, machine: this.machine, candidatesHash: candidatesHash(candidates), ...entry };
    ensureFolder(this.dir, { what: 'the tuning cache', makeParents: true });
    writeFileAtomic(this.file(entry.template, entry.key, full.candidatesHash), JSON.stringify(full, null, 2) + '\n', { what: 'a tuning cache entry' });
    return full;
  }
}

/** Why `text` is not a valid entry for the problem; undefined when it is. */
function entryProblem(text: string, template: string, key: string, hash: string, count: number, machine: MachineFingerprint): string | undefined {
  let e: Partial<TuningEntry>;
  try {
    e = JSON.parse(text) as Partial<TuningEntry>;
  } catch (err) {
    return `not JSON: ${(err as Error).message}`;
  }
  if (typeof e !== 'object' || e === null) return 'not a JSON object';
  if (e.format !== FORMAT) return `format ${String(e.format)}, expected ${FORMAT}`;
  if (e.template !== template || e.key !== key || e.candidatesHash !== hash) return 'it describes another problem';
  if (JSON.stringify(e.machine) !== JSON.stringify(machine)) return 'it was measured on another machine fingerprint';
  if (!Number.isInteger(e.chosen) || e.chosen! < 0 || e.chosen! >= count) return `chosen ${String(e.chosen)} is not a candidate index below ${count}`;
  if (!Array.isArray(e.candidates) || e.candidates.length !== count) return `it lists ${Array.isArray(e.candidates) ? e.candidates.length : 'no'} candidates, expected ${count}`;
  return undefined;
}
