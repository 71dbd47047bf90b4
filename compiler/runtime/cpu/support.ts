/**
 * What the cpu backend can run, with reference fallback (segments.ts) in mind.
 *
 * `cpuUnsupported` (the backend's `unsupported`): what no cpu program can run — graph-wide problems of
 * lowering (sizes that are not concrete: bind them first; shapes known only at run time) and nodes
 * that neither lower nor have a reference kernel able to run them (a missing kernel, an unsupported
 * dtype). Empty means a cpu program can run the whole graph, natively or with fallback.
 *
 * `cpuFallbacks`: the nodes that would run on their reference kernels (do not lower), with reasons —
 * what `prepare` with `fallback: false` refuses.
 */
import type { Graph } from '../../ir/graph.ts';
import { loweringUnsupported } from '../../codegen/lower/index.ts';
import type { Unsupported } from '../backend.ts';
import { referenceUnsupported } from '../ref-backend.ts';

/** What the cpu backend cannot run in `graph`, even with reference fallback (module header). */
export function cpuUnsupported(graph: Graph): Unsupported[] {
  const lowering = loweringUnsupported(graph);
  const graphWide = lowering.filter((u) => u.node === undefined);
  return graphWide.length ? graphWide : referenceGaps(graph, lowering);
}

/** Of the nodes that do not lower (`fallbacks`), those the reference kernels cannot run either. */
export function referenceGaps(graph: Graph, fallbacks: readonly Unsupported[]): Unsupported[] {
  if (!fallbacks.length) return [];
  const byReference = new Map<string, Unsupported>();
  for (const u of referenceUnsupported(graph)) if (u.node !== undefined && !byReference.has(u.node)) byReference.set(u.node, u);
  return fallbacks.flatMap((u) => {
    const ref = byReference.get(u.node!);
    return ref ? [{ ...ref, reason: `${u.reason}, and ${ref.reason}` }] : [];
  });
}

/** The nodes of `graph` that would run on their reference kernels on cpu (empty: fully compiled). */
export function cpuFallbacks(graph: Graph): Unsupported[] {
  const lowering = loweringUnsupported(graph);
  return lowering.some((u) => u.node === undefined) ? [] : lowering;
}
