/**
 * The machine facts a report records (manifest.json `machine`, `kilnVersion`, `gitCommit`, and the
 * last section of report.html), from compiler/runtime/machine.ts `machineInfo`: OS, Node, kiln version
 * and git commit, CPU, the measured FP32 peak and memory bandwidth (the roofs of the roofline chart),
 * the C compiler and GPUs. The WebGPU adapter is named only when the report runs the webgpu backend
 * (naming it starts Dawn).
 */
import { type MachineInfo, machineInfo } from '../runtime/machine.ts';

/** The facts, as the manifest stores them and as lines for the page. */
export interface MachineFacts {
  readonly kilnVersion: string;
  readonly gitCommit: string | null;
  /** The whole fingerprint (manifest.json `machine`). */
  readonly manifest: MachineInfo;
  /** The roofs of the roofline chart (null where not measured). */
  readonly peakGflops: number | null;
  readonly bandwidthGBs: number | null;
  /** `label: value` pairs for the page, in order. */
  readonly lines: readonly (readonly [string, string])[];
}

/** This machine's facts for a report timed with `threads` (default all cores) on `backends`. */
export async function machineFacts(threads: number | undefined, backends: readonly string[]): Promise<MachineFacts> {
  const m = await machineInfo({ ...(threads ? { threads } : {}), webgpu: backends.includes('webgpu') });
  const limit = (x: MachineInfo['peakGflops'], unit: string) => (x ? `${x.value.toFixed(1)} ${unit} (${x.threads} threads, ${x.source})` : 'not measured');
  const cpu = m.cpu;
  return {
    kilnVersion: m.kiln.version, gitCommit: m.kiln.commit, manifest: m,
    peakGflops: m.peakGflops?.value ?? null, bandwidthGBs: m.bandwidthGBs?.value ?? null,
    lines: [
      ['kiln', `${m.kiln.version}${m.kiln.commit ? ` (commit ${m.kiln.commit.slice(0, 12)}${m.kiln.dirty ? ', with local changes' : ''})` : ''}`],
      ['OS', `${m.os.distro ?? m.os.platform} (${m.os.platform} ${m.os.release}, ${m.os.arch})`], ['Node', m.node],
      ['CPU', `${cpu.model}, ${cpu.cores} cores, ${cpu.isa} (${cpu.f32Lanes} f32 lanes${cpu.fma ? ', FMA' : ''})`],
      ['measured FP32 peak', limit(m.peakGflops, 'GFLOP/s')],
      ['measured memory bandwidth', limit(m.bandwidthGBs, 'GB/s')],
      ['C compiler', m.compiler ? m.compiler.version : 'none found'],
      ...m.gpus.map((g, i) => [`GPU ${i}`, g.api === 'cuda' ? `${g.name} (${g.arch}, ${(g.memoryBytes / 2 ** 30).toFixed(1)} GiB, driver ${g.driver})` : `${g.name} (WebGPU, ${g.vendor} ${g.architecture}${g.software ? ', software' : ''})`] as const),
      ...m.notes.map((n) => ['note', n] as const),
    ],
  };
}
