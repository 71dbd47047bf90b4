/**
 * Region bodies of a cpu program's control-flow host steps, compiled. A node with regions (If, Loop,
 * Scan) runs on the host (runtime/fallback.ts); each of its region bodies is prepared here as a cpu
 * program of its own (fallback.ts `regionGraph`: the body's arguments and the values it captures are
 * the program's inputs), so the kernels inside run natively while the control stays on the host: the
 * op's value kernel calls the compiled body once per branch taken or iteration. Nested regions are
 * compiled the same way by the body's own preparation.
 *
 * A body stays on the reference executor when no cpu program can run it (sizes known only at run
 * time, sequences crossing its boundary: `compiledUnsupported`), when none of its nodes would lower
 * (nothing to gain), or when preparing it fails with a KilnError; `regions.txt` says which and why.
 */
import type { Graph } from '../../ir/graph.ts';
import { regionsOf, valueTypes } from '../../ir/graph.ts';
import { KilnError } from '../../errors.ts';
import type { Value } from '../../ir/value.ts';
import type { MemoryPlan } from '../../schedule/plan.ts';
import type { PrepareOptions, Program } from '../backend.ts';
import { type CompiledRegion, type ProgramStep, compiledUnsupported, regionGraph } from '../fallback.ts';
import { loweringUnsupported } from '../../codegen/lower/index.ts';

/** A cpu program that can also run synchronously (inside a host step). */
export interface SyncProgram extends Program {
  runSync(inputs: ReadonlyMap<string, Value>): Value[];
}

/** The compiled bodies, by region, with one line per body for `regions.txt`. */
export interface CompiledRegions {
  readonly programs: Map<Graph, SyncProgram>;
  readonly lines: string[];
}

/** Compiles the region bodies of `steps`' control-flow nodes with `prepare` (module header). */
export async function compileRegions(graph: Graph, steps: readonly ProgramStep[], opts: PrepareOptions,
  prepare: (g: Graph, plan: MemoryPlan | undefined, o: PrepareOptions) => Promise<SyncProgram>): Promise<CompiledRegions> {
  const programs = new Map<Graph, SyncProgram>();
  const lines: string[] = [];
  let types: ReturnType<typeof valueTypes> | undefined;
  for (const step of steps) {
    if (step.kind !== 'fallback') continue;
    for (const [attr, region] of regionsOf(step.node)) {
      types ??= valueTypes(graph);
      const where = `%${step.id} ${step.node.op} ${attr}`;
      const g = regionGraph(region, types, `${graph.name}_${step.id}_${attr}`.replace(/[^A-Za-z0-9_]/g, '_'));
      const refused = compiledUnsupported(g);
      if (refused.length) { lines.push(`${where}: reference executor (${refused[0].reason})`); continue; }
      if (!g.nodes.length) { lines.push(`${where}: reference executor (no nodes: it returns constants or outer values)`); continue; }
      const lowering = loweringUnsupported(g);
      if (lowering.length >= g.nodes.length) { lines.push(`${where}: reference executor (none of its ${g.nodes.length} node(s) lowers)`); continue; }
      try {
        const p = await prepare(g, undefined, { ...opts, onProgress: undefined });
        programs.set(region, p);
        lines.push(`${where}: compiled (${g.nodes.length - lowering.length} of ${g.nodes.length} node(s) native)`);
      } catch (e) {
        if (!(e instanceof KilnError)) throw e;
        lines.push(`${where}: reference executor (${e.reason})`);
      }
    }
  }
  return { programs, lines };
}

/** The compiled bodies as the host steps call them. */
export function regionRunners(compiled: CompiledRegions): Map<Graph, CompiledRegion> {
  return new Map([...compiled.programs].map(([region, p]) => [region, (inputs: ReadonlyMap<string, Value>) => p.runSync(inputs)]));
}
