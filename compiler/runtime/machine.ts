/**
 * The machine fingerprint: every fact about where kiln ran that a result depends on, in one place, for
 * report manifests and `kiln build`'s manifest (which uses `cpuFacts` and `compilerFacts`, so both
 * describe a machine the same way).
 *
 * - OS: Node's platform, kernel release and architecture, and the distribution's PRETTY_NAME from
 *   /etc/os-release where that file exists.
 * - Node's version; kiln's version and git commit (compiler/version.ts: null when kiln is not a git
 *   checkout; `dirty` when tracked files differ from the commit).
 * - CPU: model, cores, vector ISA, float lanes, FMA and the feature flags (native/cpu-features.ts).
 * - The measured FP32 peak (native/peak.ts) and STREAM-triad memory bandwidth (native/bandwidth.ts) for
 *   the thread count given (default all cores), each with its source: `cache` (read from the per-CPU
 *   cache, nothing run) or `measured` (probed now, then cached). With `measure: false` nothing is run:
 *   a cached number or null. A probe that cannot run (no C compiler) gives null and a note saying why.
 * - The C compiler the native backend would use (argv and `--version` line), or null.
 * - GPUs: every CUDA device the NVIDIA driver lists (name, architecture, memory, driver version;
 *   cuda/driver.ts `listCudaDevices`, which creates no context), none without the driver. The WebGPU
 *   adapter only with `webgpu: true`: naming it means starting Dawn and opening the process's device
 *   (webgpu/device.ts), which takes seconds on a software adapter and is not needed unless the run
 *   used the webgpu backend.
 *
 * Nothing here throws for a missing piece: what cannot be found is null or absent, and `notes` says why.
 */
import fs from 'node:fs';
import os from 'node:os';
import { cpuInfo, type CpuInfo } from './native/cpu-features.ts';
import { findCCompiler } from './native/c-compiler.ts';
import { probeFp32Peak } from './native/peak.ts';
import { memoryBandwidth } from './native/bandwidth.ts';
import { probeCacheFile, readProbeRecord } from './native/probe.ts';
import { listCudaDevices } from './cuda/driver.ts';
import { kilnCommit, packageVersion } from '../version.ts';

/** The CPU as manifests record it. */
export interface CpuFacts {
  readonly model: string;
  readonly arch: string;
  readonly cores: number;
  readonly isa: string;
  readonly f32Lanes: number;
  readonly fma: boolean;
  /** The feature flags, sorted, space-separated. */
  readonly flags: string;
}

/** A measured machine limit and where the number came from. */
export interface MeasuredLimit {
  readonly value: number;
  readonly threads: number;
  readonly source: 'cache' | 'measured';
}

/** One GPU. */
export type GpuFacts =
  | { readonly api: 'cuda'; readonly index: number; readonly name: string; readonly arch: string; readonly memoryBytes: number; readonly driver: string }
  | { readonly api: 'webgpu'; readonly name: string; readonly vendor: string; readonly architecture: string; readonly description: string; readonly software: boolean };

/** Everything `machineInfo` reports (module header). */
export interface MachineInfo {
  readonly os: { readonly platform: string; readonly release: string; readonly arch: string; readonly distro: string | null };
  readonly node: string;
  readonly kiln: { readonly version: string; readonly commit: string | null; readonly dirty: boolean | null };
  readonly cpu: CpuFacts;
  /** FP32 GFLOP/s. */
  readonly peakGflops: MeasuredLimit | null;
  /** STREAM triad GB/s. */
  readonly bandwidthGBs: MeasuredLimit | null;
  readonly compiler: { readonly argv: readonly string[]; readonly version: string } | null;
  readonly gpus: readonly GpuFacts[];
  /** Why a piece is missing (`FP32 peak: no C compiler found ...`). */
  readonly notes: readonly string[];
}

/** Options of `machineInfo`. */
export interface MachineOptions {
  /** Run the peak and bandwidth probes when their numbers are not cached (default true). */
  readonly measure?: boolean;
  /** Threads the peak and bandwidth are for (default all cores). */
  readonly threads?: number;
  /** Start Dawn to name the WebGPU adapter (default false: see the module header). */
  readonly webgpu?: boolean;
  /** The cache folder of the probes (default `cacheDir()`). */
  readonly cacheDir?: string;
}

/** The CPU block of a manifest. */
export function cpuFacts(cpu: CpuInfo = cpuInfo()): CpuFacts {
  return { model: cpu.model, arch: cpu.arch, cores: cpu.cores, isa: cpu.isa, f32Lanes: cpu.f32Lanes, fma: cpu.fma, flags: [...cpu.flags].sort().join(' ') };
}

/** The C compiler the native backend uses (argv and `--version` line), or null when there is none. */
export function compilerFacts(): { argv: readonly string[]; version: string } | null {
  const cc = findCCompiler();
  return cc ? { argv: cc.argv, version: cc.version } : null;
}

/** PRETTY_NAME (else NAME VERSION) of /etc/os-release; null where the file does not exist or says neither. */
export function osDistro(text?: string): string | null {
  if (text === undefined) {
    try { text = fs.readFileSync('/etc/os-release', 'utf8'); } catch { return null; }
  }
  const field = (k: string) => {
    const m = new RegExp(`^${k}=(.*)$`, 'm').exec(text!);
    return m ? m[1].trim().replace(/^(["'])(.*)\1$/, '$2') : undefined;
  };
  return field('PRETTY_NAME') || [field('NAME'), field('VERSION')].filter(Boolean).join(' ') || null;
}

/** The CUDA driver version as people write it: 12040 → `12.4`. */
const cudaVersion = (v: number) => `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}`;

/** The GPUs (module header); `notes` gets why the WebGPU adapter is not named when asked for. */
async function gpuFacts(webgpu: boolean, notes: string[]): Promise<GpuFacts[]> {
  const gpus: GpuFacts[] = [];
  const cuda = listCudaDevices();
  if (cuda.ok) {
    for (const d of cuda.devices) gpus.push({ api: 'cuda', index: d.index, name: d.name, arch: d.arch, memoryBytes: d.totalBytes, driver: cudaVersion(cuda.driverVersion) });
  }
  if (webgpu) {
    const { webgpuDevice } = await import('./webgpu/device.ts'); // Dawn loads only when asked for
    const r = await webgpuDevice();
    if (r.ok) {
      const i = r.gpu.info;
      gpus.push({ api: 'webgpu', name: i.description || i.device || i.vendor, vendor: i.vendor, architecture: i.architecture, description: i.description, software: i.software });
    } else notes.push(`WebGPU: ${r.reason}`);
  }
  return gpus;
}

/** A limit from a probe, or from its cache only (no run) when `measure` is false; null and a note when it cannot be had. */
async function limit(what: string, kind: string, field: string, threads: number, opts: MachineOptions, notes: string[],
  probe: () => Promise<{ value: number; source: 'cache' | 'measured' }>): Promise<MeasuredLimit | null> {
  if (opts.measure === false) {
    const cached = readProbeRecord(probeCacheFile(kind, opts.cacheDir), field)?.values[String(threads)];
    if (typeof cached === 'number' && cached > 0) return { value: cached, threads, source: 'cache' };
    notes.push(`${what}: not measured on this machine yet (measure: false)`);
    return null;
  }
  try {
    const r = await probe();
    return { value: r.value, threads, source: r.source };
  } catch (e) {
    notes.push(`${what}: ${(e as Error).message.split('\n')[0]}`);
    return null;
  }
}

/** This machine's fingerprint (module header). */
export async function machineInfo(opts: MachineOptions = {}): Promise<MachineInfo> {
  const cpu = cpuInfo();
  const threads = opts.threads ?? cpu.cores;
  const notes: string[] = [];
  const commit = kilnCommit();
  const peakGflops = await limit('FP32 peak', 'peak', 'gflops', threads, opts, notes, async () => {
    const p = await probeFp32Peak({ threads, cacheDir: opts.cacheDir });
    return { value: p.gflops, source: p.fromCache ? 'cache' : 'measured' };
  });
  const bandwidthGBs = await limit('memory bandwidth', 'bandwidth', 'gbPerS', threads, opts, notes, async () => {
    const b = await memoryBandwidth({ threads, cacheDir: opts.cacheDir });
    return { value: b.gbPerS, source: b.source };
  });
  return {
    os: { platform: process.platform, release: os.release(), arch: process.arch, distro: osDistro() },
    node: process.version,
    kiln: { version: packageVersion(), commit: commit?.commit ?? null, dirty: commit?.dirty ?? null },
    cpu: cpuFacts(cpu),
    peakGflops, bandwidthGBs,
    compiler: compilerFacts(),
    gpus: await gpuFacts(opts.webgpu ?? false, notes),
    notes,
  };
}
