/**
 * What the cpu backend can run, with reference fallback (segments.ts) in mind.
 *
 * `cpuUnsupported` (the backend's `unsupported`): what no cpu program can run — graph-wide problems of
 * lowering (input sizes that are not concrete: bind them first) and nodes
 * that neither lower nor have a reference kernel able to run them (a missing kernel, an unsupported
 * dtype). Empty means a cpu program can run the whole graph, natively or with fallback.
 *
 * `cpuFallbacks`: the nodes that would run on their reference kernels (do not lower), with reasons —
 * what `prepare` with `fallback: false` refuses.
 */
import type { Graph } from '../../ir/graph.ts';
import { loweringUnsupported } from '../../codegen/lower/index.ts';
import type { Unsupported } from '../backend.ts';
import { compiledUnsupported, referenceGaps } from '../fallback.ts';

export { referenceGaps };

/** What the cpu backend cannot run in `graph`, even with reference fallback (module header). */
export const cpuUnsupported: (graph: Graph) => Unsupported[] = compiledUnsupported;

/** The nodes of `graph` that would run on their reference kernels on cpu (empty: fully compiled). */
export function cpuFallbacks(graph: Graph): Unsupported[] {
  const lowering = loweringUnsupported(graph);
  return lowering.some((u) => u.node === undefined) ? [] : lowering;
}
