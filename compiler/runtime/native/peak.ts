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
 * The build, load, run and cache plumbing is probe.ts's, shared with the bandwidth probe.
 */
import { cpuInfo, type CpuInfo } from './cpu-features.ts';
import type { BuiltObject } from './object-cache.ts';
import { cachedProbe, runProbe } from './probe.ts';

/** Options of the peak probe. */
export interface PeakOptions {
  /** Threads the peak is for (default: all cores). */
  readonly threads?: number;
  /** The cache folder (default `cacheDir()`). */
  readonly cacheDir?: string;
  /** Measure again even when this thread count is cached (and replace the cached number). */
  readonly refresh?: boolean;
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
async function measure(cpu: CpuInfo, threadCounts: readonly number[], dir: string): Promise<{ values: Map<number, number>; build: BuiltObject }> {
  const { value, build } = await runProbe(peakSource(cpu.f32Lanes), 'fp32-peak', dir, (lib) => {
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
      out.set(threads, best);
    }
    return out;
  });
  return { values: value, build };
}

/** The FP32 peak with its provenance: from the cache, or measured now (and then cached). */
export async function probeFp32Peak(opts: PeakOptions = {}): Promise<PeakResult> {
  const cpu = cpuInfo();
  const r = await cachedProbe({
    kind: 'peak', field: 'gflops', what: 'the FP32 peak', threads: opts.threads ?? cpu.cores, cacheDir: opts.cacheDir,
    refresh: opts.refresh, firstAlso: [1, cpu.cores], extra: (c) => ({ lanes: c.f32Lanes }), measure: (counts, dir) => measure(cpu, counts, dir),
  });
  return { gflops: r.value, threads: r.threads, fromCache: r.fromCache, ...(r.build ? { build: r.build } : {}), cacheFile: r.cacheFile };
}

/** This machine's measured FP32 peak in GFLOP/s with `threads` threads (default: all cores); probed once per CPU. */
export async function fp32PeakGflops(opts: PeakOptions = {}): Promise<number> {
  return (await probeFp32Peak(opts)).gflops;
}
