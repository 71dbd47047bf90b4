/**
 * What the machine probes share (the FP32 peak, peak.ts; the memory bandwidth, bandwidth.ts): a C
 * microbenchmark compiled once through the object cache with OpenMP, loaded in-process and run, and
 * its result cached on disk per CPU so it runs once per machine.
 *
 * Running (`runProbe`): `buildSharedObject` (OpenMP objects are linked `-z nodelete`, so unloading
 * them cannot crash Node at exit: c-compiler.ts), `loadLibrary`, the caller's measurement, `dispose`.
 *
 * Caching (`cachedProbe`): one JSON file per probe kind and CPU, `<cache>/<kind>/<cpuKey>.json`
 * (cpu-features.ts `cpuKey`: model, flags and core count hashed), holding the CPU's description and one
 * measured number per thread count under the probe's field (`gflops`, `gbPerS`). A thread count found
 * there (a positive number) is served with nothing compiled or run; otherwise it is measured (the first
 * probe on a machine may measure more counts: the peak measures one thread and all cores too).
 * `refresh` measures again and replaces the count's entry. A missing, torn or foreign file reads as no
 * record; the file is written atomically with the new numbers merged into the old.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../../errors.ts';
import { writeFileAtomic } from '../../files.ts';
import { cpuInfo, cpuKey, type CpuInfo } from './cpu-features.ts';
import { buildSharedObject, cacheDir, type BuiltObject } from './object-cache.ts';
import { loadLibrary, type NativeLibrary } from './library.ts';

/** Builds `source` (with OpenMP) as `<name>.so` in `dir`'s object cache, loads it, runs `use`, unloads it. */
export async function runProbe<T>(source: string, name: string, dir: string, use: (lib: NativeLibrary, build: BuiltObject) => T):
  Promise<{ value: T; build: BuiltObject }> {
  const build = await buildSharedObject(source, { name, openmp: true, cacheDir: dir });
  const lib = loadLibrary(build.objectPath);
  try {
    return { value: use(lib, build), build };
  } finally {
    lib.dispose();
  }
}

/** A cached probe's record: the CPU it ran on plus `{ [field]: { [threads]: number } }`. */
export type ProbeRecord = Readonly<Record<string, unknown>>;

/** What `cachedProbe` needs to know about one probe. */
export interface CachedProbeSpec {
  /** The cache subfolder (`peak`, `bandwidth`). */
  readonly kind: string;
  /** The record field holding the numbers by thread count (`gflops`, `gbPerS`). */
  readonly field: string;
  /** What is measured, for messages (`the FP32 peak`). */
  readonly what: string;
  /** Threads the number is for. */
  readonly threads: number;
  /** The cache folder (default `cacheDir()`). */
  readonly cacheDir?: string;
  /** More thread counts to measure on a CPU's first probe (the peak adds 1 and all cores). */
  readonly firstAlso?: readonly number[];
  /** Measure again even when cached. */
  readonly refresh?: boolean;
  /** More of the CPU's description to record (the vector width, the array size). */
  readonly extra?: (cpu: CpuInfo) => Record<string, unknown>;
  /** Measures every thread count asked for, in the cache folder given (where the object is built). */
  readonly measure: (threadCounts: readonly number[], dir: string) => Promise<{ values: ReadonlyMap<number, number>; build: BuiltObject }>;
}

/** A cached probe's answer. */
export interface CachedProbeResult {
  readonly value: number;
  readonly threads: number;
  /** True when read from the cache file, with nothing compiled or run. */
  readonly fromCache: boolean;
  /** The probe's build when it was measured now. */
  readonly build?: BuiltObject;
  /** The JSON file the number is cached in. */
  readonly cacheFile: string;
}

/** `<dir>/<kind>/<cpuKey>.json`. */
export function probeCacheFile(kind: string, dir: string = cacheDir(), cpu: CpuInfo = cpuInfo()): string {
  return path.join(dir, kind, `${cpuKey(cpu)}.json`);
}

/** The numbers by thread count of a probe's cache file; undefined when missing, torn or not such a record. */
export function readProbeRecord(file: string, field: string): { record: ProbeRecord; values: Readonly<Record<string, number>> } | undefined {
  try {
    const record = JSON.parse(fs.readFileSync(file, 'utf8')) as ProbeRecord;
    const values = record?.[field];
    return values && typeof values === 'object' && !Array.isArray(values) ? { record, values: values as Record<string, number> } : undefined;
  } catch {
    return undefined;
  }
}

/** Checks a thread count (a KilnError naming `what` when it is not a whole number from 1 to 4096). */
export function checkThreads(threads: number, what: string): void {
  if (!Number.isInteger(threads) || threads < 1 || threads > 4096) {
    throw new KilnError(`bad thread count ${threads} for ${what}: use a whole number from 1 to 4096`);
  }
}

/** A probe's number for `spec.threads`: from the cache, or measured now and cached (module header). */
export async function cachedProbe(spec: CachedProbeSpec): Promise<CachedProbeResult> {
  const cpu = cpuInfo();
  const { threads, field } = spec;
  checkThreads(threads, spec.what);
  const dir = spec.cacheDir ?? cacheDir();
  const cacheFile = probeCacheFile(spec.kind, dir, cpu);
  const known = readProbeRecord(cacheFile, field);
  const cached = known?.values[String(threads)];
  if (!spec.refresh && typeof cached === 'number' && cached > 0) return { value: cached, threads, fromCache: true, cacheFile };

  const counts = [...new Set([threads, ...(known ? [] : spec.firstAlso ?? [])])];
  const { values, build } = await spec.measure(counts, dir);
  for (const [t, v] of values) {
    if (!(v > 0) || !Number.isFinite(v)) throw new KilnError(`${spec.what} probe measured ${v} with ${t} threads`, { file: build.objectPath });
  }
  const record = {
    cpu: cpu.model, cores: cpu.cores, isa: cpu.isa, ...(spec.extra?.(cpu) ?? {}),
    [field]: { ...(known?.values ?? {}), ...Object.fromEntries([...values].map(([t, v]) => [String(t), v])) },
  };
  writeFileAtomic(cacheFile, JSON.stringify(record, null, 2) + '\n', { what: `${spec.what} cache`, makeParents: true });
  return { value: values.get(threads)!, threads, fromCache: false, build, cacheFile };
}
