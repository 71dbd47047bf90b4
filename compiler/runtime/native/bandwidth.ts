/**
 * This machine's measured memory bandwidth, the slope of the roofline (display/roofline.ts): the rate
 * at which a kernel that does little arithmetic per byte can at best stream data from main memory.
 *
 * The probe is STREAM's triad, `a[i] = b[i] + s * c[i]` on three arrays of doubles, in a generated C
 * file built with OpenMP and run in-process (probe.ts: built once through the object cache, loaded,
 * run). Bytes are counted as STREAM counts them: 24 per element and triad (read b and c, write a: 3 ×
 * 8 bytes), with no extra read for the cache line the write allocates, so the number is comparable to
 * published STREAM triad results (and, like them, below the hardware's peak when stores allocate).
 * Each array is 4 × the last-level cache of the machine (STREAM's rule: the data cannot stay cached),
 * at least 32 MiB and at most 256 MiB (a machine with a larger cache gets 256 MiB: still far beyond any
 * one core's share of it). The arrays are allocated in C and first touched by the same threads, in
 * the same static schedule, as the timed loop (pages land on the memory node of the thread that uses
 * them). One untimed triad warms up, then the fastest of five timed triads is taken; a checksum of
 * the result is handed back, so the compiler cannot drop the stores. On the 2-core development VM a
 * probe took 0.8 s (plus 0.3 s to compile), most of it the first touch of the 3 × 128 MiB arrays.
 *
 * The result is cached on disk per CPU (`<cache>/bandwidth/<cpuKey>.json`, by thread count), like the
 * FP32 peak, so the probe runs once per machine; `refresh` measures again.
 */
import fs from 'node:fs';
import { KilnError } from '../../errors.ts';
import { cpuInfo } from './cpu-features.ts';
import type { BuiltObject } from './object-cache.ts';
import { cachedProbe, runProbe } from './probe.ts';

/** Options of `memoryBandwidth`. */
export interface BandwidthOptions {
  /** Threads the bandwidth is for (default: all cores). */
  readonly threads?: number;
  /** The cache folder (default `cacheDir()`). */
  readonly cacheDir?: string;
  /** Measure again even when this thread count is cached (and replace the cached number). */
  readonly refresh?: boolean;
}

/** A bandwidth and where it came from. */
export interface BandwidthResult {
  /** STREAM triad GB/s (10^9 bytes per second) with `threads` threads together. */
  readonly gbPerS: number;
  /** `cache`: read from the cache file, nothing run; `measured`: probed now. */
  readonly source: 'cache' | 'measured';
  /** The JSON file the number is cached in. */
  readonly file: string;
  readonly threads: number;
  /** Bytes of each of the three arrays the probe streams. */
  readonly arrayBytes: number;
  /** The probe's build, when it was measured now. */
  readonly build?: BuiltObject;
}

/** The C source of the triad probe (module header). */
export const BANDWIDTH_SOURCE = `/* kiln memory bandwidth probe: STREAM triad a[i] = b[i] + s*c[i] on doubles, OpenMP static schedule.
   Bytes counted as STREAM counts them: 3 x 8 per element and triad (no write-allocate traffic). */
#include <stdlib.h>
#include <time.h>
#include <omp.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

/* The best GB/s of \`trials\` timed triads over n-element arrays on \`threads\` threads (after one untimed
   triad); *checksum gets a sample sum of the result. Returns -1 when the arrays cannot be allocated. */
double kiln_triad_bandwidth(int threads, long long n, int trials, double *checksum) {
  double *a = aligned_alloc(64, (size_t)n * 8), *b = aligned_alloc(64, (size_t)n * 8), *c = aligned_alloc(64, (size_t)n * 8);
  if (!a || !b || !c) { free(a); free(b); free(c); return -1.0; }
  #pragma omp parallel for schedule(static) num_threads(threads)
  for (long long i = 0; i < n; i++) { a[i] = 0.0; b[i] = 1.0 + (double)(i & 7); c[i] = 2.0; }
  const double s = 3.0;
  double best = 1e30;
  for (int t = 0; t <= trials; t++) {
    double t0 = now();
    #pragma omp parallel for schedule(static) num_threads(threads)
    for (long long i = 0; i < n; i++) a[i] = b[i] + s * c[i];
    double dt = now() - t0;
    if (t > 0 && dt < best) best = dt;
  }
  double sum = 0.0;
  for (long long i = 0; i < n; i += 4099) sum += a[i];
  *checksum = sum;
  free(a); free(b); free(c);
  return 3.0 * 8.0 * (double)n / best / 1e9;
}
`;

const TRIALS = 5;
const MIB = 1024 * 1024;

/**
 * Bytes of the last-level cache of the whole machine, from Linux's sysfs (cpu0's highest-level cache
 * times the number of such caches the cores share out); undefined where sysfs does not say.
 */
export function lastLevelCacheBytes(cores: number = cpuInfo().cores): number | undefined {
  const base = '/sys/devices/system/cpu/cpu0/cache';
  let best: { level: number; bytes: number; sharedBy: number } | undefined;
  try {
    for (const entry of fs.readdirSync(base)) {
      if (!/^index\d+$/.test(entry)) continue;
      const read = (f: string) => fs.readFileSync(`${base}/${entry}/${f}`, 'utf8').trim();
      const level = Number(read('level'));
      const m = /^(\d+)([KMG]?)$/.exec(read('size'));
      if (!m || read('type') === 'Instruction') continue;
      const bytes = Number(m[1]) * ({ '': 1, K: 1024, M: MIB, G: 1024 * MIB } as Record<string, number>)[m[2]];
      let sharedBy = 1;
      try { sharedBy = cpuListSize(read('shared_cpu_list')); } catch { /* not said: one core */ }
      if (!best || level > best.level) best = { level, bytes, sharedBy };
    }
  } catch {
    return undefined;
  }
  return best ? best.bytes * Math.max(1, Math.ceil(cores / Math.max(1, best.sharedBy))) : undefined;
}

/** How many CPUs a sysfs list like `0-3,8-11` names. */
function cpuListSize(list: string): number {
  let n = 0;
  for (const part of list.split(',').filter(Boolean)) {
    const [lo, hi] = part.split('-').map(Number);
    n += hi === undefined ? 1 : hi - lo + 1;
  }
  return n;
}

/** Bytes of each probe array: 4 × the last-level cache, from 32 MiB to 256 MiB (64 MiB when the cache is unknown). */
export function triadArrayBytes(llc: number | undefined): number {
  const want = llc === undefined ? 64 * MIB : 4 * llc;
  return Math.min(256 * MIB, Math.max(32 * MIB, Math.ceil(want / MIB) * MIB));
}

/** Runs the triad for each thread count; the best GB/s of each. */
async function measure(threadCounts: readonly number[], arrayBytes: number, dir: string): Promise<{ values: Map<number, number>; build: BuiltObject }> {
  const { value, build } = await runProbe(BANDWIDTH_SOURCE, 'triad-bandwidth', dir, (lib) => {
    const run = lib.func<number>('kiln_triad_bandwidth', 'double (int threads, long long n, int trials, _Out_ double *checksum)');
    const out = new Map<number, number>();
    const n = arrayBytes / 8;
    for (const threads of threadCounts) {
      const checksum = [0];
      const gbPerS = run(threads, n, TRIALS, checksum);
      if (gbPerS < 0) throw new KilnError(`the memory bandwidth probe could not allocate 3 arrays of ${arrayBytes / MIB} MiB`);
      // every 4099th element of b + 3c: (1 + (i & 7)) + 6
      let expected = 0;
      for (let i = 0; i < n; i += 4099) expected += 7 + (i & 7);
      if (checksum[0] !== expected) {
        throw new KilnError(`the memory bandwidth probe computed a wrong triad (checksum ${checksum[0]}, expected ${expected})`);
      }
      out.set(threads, gbPerS);
    }
    return out;
  });
  return { values: value, build };
}

/** This machine's STREAM-triad memory bandwidth with its provenance (module header). */
export async function memoryBandwidth(opts: BandwidthOptions = {}): Promise<BandwidthResult> {
  const arrayBytes = triadArrayBytes(lastLevelCacheBytes());
  const r = await cachedProbe({
    kind: 'bandwidth', field: 'gbPerS', what: 'the memory bandwidth', threads: opts.threads ?? cpuInfo().cores,
    cacheDir: opts.cacheDir, refresh: opts.refresh, extra: () => ({ arrayBytes, method: 'STREAM triad, 24 bytes per element' }),
    measure: (counts, dir) => measure(counts, arrayBytes, dir),
  });
  return {
    gbPerS: r.value, source: r.fromCache ? 'cache' : 'measured', file: r.cacheFile, threads: r.threads, arrayBytes,
    ...(r.build ? { build: r.build } : {}),
  };
}
