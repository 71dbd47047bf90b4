/**
 * What this machine's CPU can do, detected once per process at run time: the model name, the feature
 * flags (`avx2`, `fma`, `avx512f`, ... from /proc/cpuinfo on Linux; the `Features` line on Arm), the
 * number of cores kiln may use, and the widest float32 vector the generated C can rely on.
 *
 * Native code compiled with `-march=native` is only valid on the CPU it was built for, so the object
 * cache (`build.ts`) and the FP32 peak cache (`peak.ts`) both key their entries by `cpuKey()`: the
 * model, the sorted flags and the core count. Where /proc/cpuinfo does not exist (macOS) the model comes
 * from `os.cpus()` and the flag set is empty, which only makes the vector width fall back to 4 lanes.
 */
import fs from 'node:fs';
import os from 'node:os';
import { createHash } from 'node:crypto';

/** The float32 vector instruction family the generated code targets. */
export type VectorIsa = 'avx512' | 'avx2' | 'avx' | 'sse' | 'neon' | 'scalar';

/** The CPU as the native backend sees it. */
export interface CpuInfo {
  /** `model name` from /proc/cpuinfo (or `os.cpus()[0].model`); `unknown CPU` when neither says. */
  readonly model: string;
  /** Node's architecture name (`x64`, `arm64`, ...). */
  readonly arch: string;
  /** Feature flags, lower case (`avx2`, `fma`, `avx512f`, `asimd`, ...). */
  readonly flags: ReadonlySet<string>;
  /** Cores kiln may run threads on (`os.availableParallelism()`). */
  readonly cores: number;
  /** The widest float32 vector family available. */
  readonly isa: VectorIsa;
  /** float32 lanes in one vector register of that family (16 for AVX-512, 8 for AVX/AVX2, 4 for SSE/NEON, 1 otherwise). */
  readonly f32Lanes: number;
  /** True when fused multiply-add instructions exist (`fma` on x86, always on arm64). */
  readonly fma: boolean;
}

/** Reads the first value of `key` (`model name`, `flags`, `Features`) from /proc/cpuinfo text. */
function cpuinfoField(text: string, key: string): string | undefined {
  const re = new RegExp(`^${key}\\s*:\\s*(.*)$`, 'm');
  return re.exec(text)?.[1]?.trim();
}

/** The vector family and its float32 lane count for a flag set and architecture. */
export function vectorIsaOf(flags: ReadonlySet<string>, arch: string): { isa: VectorIsa; f32Lanes: number } {
  if (flags.has('avx512f')) return { isa: 'avx512', f32Lanes: 16 };
  if (flags.has('avx2')) return { isa: 'avx2', f32Lanes: 8 };
  if (flags.has('avx')) return { isa: 'avx', f32Lanes: 8 };
  if (flags.has('sse') || flags.has('sse2') || arch === 'x64') return { isa: 'sse', f32Lanes: 4 };
  if (flags.has('asimd') || flags.has('neon') || arch === 'arm64') return { isa: 'neon', f32Lanes: 4 };
  return { isa: 'scalar', f32Lanes: 1 };
}

/** Builds a CpuInfo from /proc/cpuinfo text (empty when unavailable); exported for tests. */
export function parseCpuInfo(cpuinfo: string, arch: string = process.arch, cores: number = os.availableParallelism()): CpuInfo {
  const flagText = cpuinfoField(cpuinfo, 'flags') ?? cpuinfoField(cpuinfo, 'Features') ?? '';
  const flags = new Set(flagText.split(/\s+/).filter(Boolean).map((f) => f.toLowerCase()));
  const model = cpuinfoField(cpuinfo, 'model name') ?? cpuinfoField(cpuinfo, 'Hardware') ?? os.cpus()[0]?.model ?? 'unknown CPU';
  const { isa, f32Lanes } = vectorIsaOf(flags, arch);
  return { model, arch, flags, cores: Math.max(1, cores), isa, f32Lanes, fma: flags.has('fma') || arch === 'arm64' };
}

let detected: CpuInfo | undefined;

/** This machine's CPU, read once per process. */
export function cpuInfo(): CpuInfo {
  if (!detected) {
    let text = '';
    try { text = fs.readFileSync('/proc/cpuinfo', 'utf8'); } catch { /* not Linux: model from os.cpus(), no flags */ }
    detected = parseCpuInfo(text);
  }
  return detected;
}

/** A short stable hash of what makes native code and its speed specific to this CPU: model, flags, cores. */
export function cpuKey(cpu: CpuInfo = cpuInfo()): string {
  const text = JSON.stringify({ model: cpu.model, arch: cpu.arch, flags: [...cpu.flags].sort(), cores: cpu.cores });
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}
