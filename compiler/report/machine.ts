/**
 * The machine facts a report records (manifest.json `machine`, `kilnVersion`, `gitCommit`, and the
 * last section of report.html): OS, Node version, CPU model and vector ISA, the measured FP32 peak.
 *
 * CALL SITE (roof): compiler/runtime/machine.ts `machineInfo()` (OS, Node, kiln version + git commit,
 * CPU, measured peak and memory bandwidth, C compiler, GPUs) replaces the body of `machineFacts` once
 * it is on main; until then the facts come from cpuInfo, the peak the cpu backend's timings measured,
 * package.json and `git rev-parse`.
 */
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpuInfo } from '../runtime/native/cpu-features.ts';
import { packageVersion } from '../../cli/version.ts';

/** The facts, as the manifest stores them and as lines for the page. */
export interface MachineFacts {
  readonly kilnVersion: string;
  readonly gitCommit: string | null;
  readonly manifest: Record<string, unknown>;
  /** `label: value` pairs for the page, in order. */
  readonly lines: readonly (readonly [string, string])[];
}

/** The commit of the kiln checkout this code runs from, or null (not a git checkout, no git). */
function gitCommit(): string | null {
  try {
    const dir = fileURLToPath(new URL('.', import.meta.url));
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).trim() || null;
  } catch {
    return null;
  }
}

/** This machine's facts; `peakGflops` is the FP32 peak a timing measured (null when none did). */
export function machineFacts(peakGflops: number | null): MachineFacts {
  const cpu = cpuInfo();
  const kilnVersion = packageVersion(), commit = gitCommit();
  const osText = `${os.type()} ${os.release()} (${os.platform()} ${os.arch()})`;
  return {
    kilnVersion, gitCommit: commit,
    manifest: {
      os: osText, node: process.version,
      cpu: { model: cpu.model, arch: cpu.arch, cores: cpu.cores, isa: cpu.isa, f32Lanes: cpu.f32Lanes, fma: cpu.fma },
      peakGflops,
    },
    lines: [
      ['kiln', `${kilnVersion}${commit ? ` (commit ${commit.slice(0, 12)})` : ''}`],
      ['OS', osText], ['Node', process.version],
      ['CPU', `${cpu.model}, ${cpu.cores} cores, ${cpu.isa} (${cpu.f32Lanes} f32 lanes${cpu.fma ? ', FMA' : ''})`],
      ['measured FP32 peak', peakGflops !== null ? `${peakGflops.toFixed(1)} GFLOP/s` : 'not measured (no compiled CPU backend timed)'],
    ],
  };
}
