/**
 * This machine's measured FP32 peak, the denominator of "% of peak" in the timing table.
 *
 * The probe is a generated C microbenchmark: each thread runs `CHAINS` independent multiply-add chains
 * `acc_i = acc_i * a + b` on float vectors as wide as the CPU's widest registers (GCC/Clang vector
 * extensions: 16 floats for AVX-512, 8 for AVX/AVX2, 4 for SSE/NEON). Independent chains hide the
 * latency of the fused multiply-add, so the loop runs at the FMA units' throughput, which is the peak
 * any kernel can reach; `a` and `b` come from a run-time argument and the result is stored, so the
 * compiler can neither fold nor drop the work (no `-ffast-math`: the chains cannot be reassociated).
 * The chain count fits the register file (16 of the 32 AVX-512 registers, 12 of 16 otherwise).
 *
 * It is compiled once through the object cache, with OpenMP, and run in-process: first a short
 * calibration sizes the loop to about 40 ms, then the best of five runs is taken, for one thread and for
 * all cores (and for any other thread count asked for). FLOPs count 2 per lane per multiply-add. The
 * result is cached on disk as JSON per CPU (`<cache>/peak/<cpuKey>.json`: model, flags and core count
 * hashed), so the probe runs once per machine; a thread count not yet measured is probed and added.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../../errors.ts';
import { writeFileAtomic, ensureFolder } from '../../files.ts';
import { cpuInfo, cpuKey, type CpuInfo } from './cpu-features.ts';
import { buildSharedObject, cacheDir, type BuiltObject } from './object-cache.ts';
import { loadLibrary } from './library.ts';

/** Options of the peak probe. */
export interface PeakOptions {
  /** Threads the peak is for (default: all cores). */
  readonly threads?: number;
  /** The cache folder (default `cacheDir()`). */
  readonly cacheDir?: string;
}

/** A peak and where it came from. */
export interface PeakResult {
  /** Measured FP32 GFLOP/s with `threads` threads (all threads together). */
  readonly gflops: number;
  readonly threads: number;
  /** True when read from the on-disk cache, with nothing compiled or run. */
  readonly fromCache: boolean;
  /** The probe's build, when it was measured now (a cache hit or miss of the object cache). */
  readonly build?: BuiltObject;
  /** The JSON file the peak is cached in. */
  readonly cacheFile: string;
}

/** `<cache>/peak/<cpuKey>.json`. */
interface PeakRecord {
  readonly cpu: string;
  readonly cores: number;
  readonly isa: string;
  readonly lanes: number;
  /** GFLOP/s by thread count. */
  readonly gflops: Readonly<Record<string, number>>;
}

/** Independent multiply-add chains per thread: enough to hide FMA latency, few enough to stay in registers. */
const chainsFor = (lanes: number) => (lanes >= 16 ? 16 : lanes > 1 ? 12 : 8);

/** The C source of the probe for `lanes`-wide float vectors. */
export function peakSource(lanes: number): string {
  const chains = chainsFor(lanes);
  const ids = Array.from({ length: chains }, (_, i) => i);
  return `/* kiln FP32 peak probe: ${chains} independent multiply-add chains on ${lanes}-float vectors per thread */
#include <time.h>
#include <omp.h>
typedef float vf __attribute__((vector_size(${lanes * 4})));
#define CHAINS ${chains}
#define LANES ${lanes}

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

static float chains(long long iters, float seed) {
  vf zero = {0};
  vf a = zero + (1.0f - 1e-7f * seed), b = zero + 1e-3f * seed;
${ids.map((i) => `  vf acc${i} = zero + (seed + ${i}.0f);`).join('\n')}
  for (long long i = 0; i < iters; i++) {
${ids.map((i) => `    acc${i} = acc${i} * a + b;`).join('\n')}
  }
  vf s = ${ids.map((i) => `acc${i}`).join(' + ')};
  float r = 0.0f;
  for (int l = 0; l < LANES; l++) r += s[l];
  return r;
}

/* Runs \`iters\` iterations on \`threads\` threads; returns GFLOP/s of all threads together. */
double kiln_fp32_peak(int threads, long long iters, float seed, float *sink) {
  double t0 = now();
  #pragma omp parallel num_threads(threads)
  {
    int t = omp_get_thread_num();
    sink[t] = chains(iters, seed + (float)t);
  }
  double seconds = now() - t0;
  return (double)threads * (double)iters * CHAINS * LANES * 2.0 / seconds / 1e9;
}
`;
}

const RUNS = 5;
const TARGET_SECONDS = 0.04;

/** Runs the probe and returns the best GFLOP/s for each thread count. */
async function measure(cpu: CpuInfo, threadCounts: readonly number[], dir: string): Promise<{ gflops: Map<number, number>; build: BuiltObject }> {
  const build = await buildSharedObject(peakSource(cpu.f32Lanes), { name: 'fp32-peak', openmp: true, cacheDir: dir });
  const lib = loadLibrary(build.objectPath);
  try {
    const run = lib.func<number>('kiln_fp32_peak', 'double (int threads, long long iters, float seed, float *sink)');
    const flopsPerIter = chainsFor(cpu.f32Lanes) * cpu.f32Lanes * 2;
    const out = new Map<number, number>();
    for (const threads of threadCounts) {
      const sink = new Float32Array(threads);
      // calibrate: size the loop so one run takes about TARGET_SECONDS
      const probeIters = 100_000;
      const rough = run(threads, probeIters, 1, sink);
      const iters = Math.max(probeIters, Math.round((rough * 1e9 * TARGET_SECONDS) / (threads * flopsPerIter)));
      let best = 0;
      for (let r = 0; r < RUNS; r++) best = Math.max(best, run(threads, iters, 1 + r, sink));
      if (!(best > 0) || !Number.isFinite(best)) {
        throw new KilnError(`the FP32 peak probe measured ${best} GFLOP/s with ${threads} threads`, { file: build.objectPath });
      }
      out.set(threads, best);
    }
    return { gflops: out, build };
  } finally {
    lib.dispose();
  }
}

function readPeakRecord(file: string): PeakRecord | undefined {
  try {
    const r = JSON.parse(fs.readFileSync(file, 'utf8')) as PeakRecord;
    return r && typeof r.gflops === 'object' ? r : undefined;
  } catch {
    return undefined;
  }
}

/** The FP32 peak with its provenance: from the cache, or measured now (and then cached). */
export async function probeFp32Peak(opts: PeakOptions = {}): Promise<PeakResult> {
  const cpu = cpuInfo();
  const threads = opts.threads ?? cpu.cores;
  if (!Number.isInteger(threads) || threads < 1 || threads > 4096) {
    throw new KilnError(`bad thread count ${threads} for the FP32 peak: use a whole number from 1 to 4096`);
  }
  const dir = opts.cacheDir ?? cacheDir();
  const cacheFile = path.join(dir, 'peak', `${cpuKey(cpu)}.json`);
  const known = readPeakRecord(cacheFile);
  const cached = known?.gflops[String(threads)];
  if (typeof cached === 'number' && cached > 0) return { gflops: cached, threads, fromCache: true, cacheFile };

  // the first probe on a machine measures one thread and all cores too: the two the table needs most
  const counts = [...new Set([threads, ...(known ? [] : [1, cpu.cores])])];
  const { gflops, build } = await measure(cpu, counts, dir);
  const record: PeakRecord = {
    cpu: cpu.model, cores: cpu.cores, isa: cpu.isa, lanes: cpu.f32Lanes,
    gflops: { ...(known?.gflops ?? {}), ...Object.fromEntries([...gflops].map(([t, g]) => [String(t), g])) },
  };
  ensureFolder(path.dirname(cacheFile), { what: 'the FP32 peak cache', makeParents: true });
  writeFileAtomic(cacheFile, JSON.stringify(record, null, 2) + '\n', { what: 'the FP32 peak cache' });
  return { gflops: gflops.get(threads)!, threads, fromCache: false, build, cacheFile };
}

/** This machine's measured FP32 peak in GFLOP/s with `threads` threads (default: all cores); probed once per CPU. */
export async function fp32PeakGflops(opts: PeakOptions = {}): Promise<number> {
  return (await probeFp32Peak(opts)).gflops;
}
