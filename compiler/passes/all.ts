/**
 * The explicit list of pass modules: importing this file registers every pass, and it defines the
 * default pipeline of each target.
 *
 * Each pass lives in `compiler/passes/<name>.ts` and exports its Pass (or a list of them); one import
 * line per module below and one entry in ALL_PASSES. The default pipelines are written as the full
 * intended pass order and filtered to the passes that are registered, so a pipeline never names a
 * pass that does not exist.
 */
import type { Graph } from '../ir/graph.ts';
import { hasRegions } from '../ir/graph.ts';
import type { Pass } from './pass.ts';
import { findPass, registerPasses } from './pass.ts';
// ---- pass modules (one line each) ----
import { fuseElementwisePasses } from './fuse-elementwise.ts';
import { layoutPasses } from './layout.ts';
import { mixedPrecisionPasses } from './mixed-precision.ts';
import { shapeInferPass } from './shape-infer.ts';
import { foldConstantsPass } from './fold-constants.ts';
import { dcePass } from './dce.ts';
import { csePass } from './cse.ts';
import { simplifyPass } from './simplify.ts';
import { simplifyControlFlowPass } from './simplify-control-flow.ts';
import { foldConvBnPass } from './fold-conv-bn.ts';
import { fuseConvActPass } from './fuse-conv-act.ts';

/** Every pass kiln ships, registered on import. */
export const ALL_PASSES: readonly Pass[] = [
  ...fuseElementwisePasses,
  ...layoutPasses,
  ...mixedPrecisionPasses,
  shapeInferPass,
  foldConstantsPass,
  dcePass,
  csePass,
  simplifyPass,
  simplifyControlFlowPass,
  foldConvBnPass,
  fuseConvActPass,
];

registerPasses(ALL_PASSES);

/** Targets a default pipeline exists for. */
export const TARGETS = ['ref', 'cpu', 'cuda', 'webgpu'] as const;
export type Target = (typeof TARGETS)[number];

/**
 * A step of an intended pipeline: a pass name, or a group `[anchor, ...followers]` whose followers run
 * only when the anchor exists (fold-constants after fold-conv-bn finishes its arithmetic).
 */
type Intended = string | readonly string[];

/**
 * Canonicalisation shared by every target: shapes, simplification, constants, control flow with a
 * known course (after fold-constants, which computes conditions and trip counts), CSE, BN folding.
 */
const CANONICAL: Intended[] = ['shape-infer', 'simplify', 'fold-constants', 'simplify-control-flow', 'cse', ['fold-conv-bn', 'fold-constants']];

/** The intended pass order per target, before filtering to registered passes. */
const INTENDED: Readonly<Record<Target, readonly Intended[]>> = {
  ref: [...CANONICAL, 'dce'],
  // convolutions run channels-last on the cpu backend (layout.ts; lower/conv-nhwc.ts says why)
  cpu: [...CANONICAL, 'fuse-conv-act', 'layout', 'fuse-elementwise', 'dce'],
  // convolutions channels-last on the GPU targets: the tiled implicit GEMM reads contiguous channel
  // runs (vector loads; on CUDA cp.async copies straight into the tensor-core tiles)
  cuda: [...CANONICAL, 'fuse-conv-act', 'layout', 'fuse-elementwise', 'mixed-precision', 'dce'],
  webgpu: [...CANONICAL, 'fuse-conv-act', 'layout', 'fuse-elementwise', 'mixed-precision', 'dce'],
};

/**
 * Passes that act only on control flow (If/Loop regions): the default pipeline for a graph without
 * any leaves them out, so a model without control flow gets no step that can never change it.
 */
const CONTROL_FLOW_ONLY: ReadonlySet<string> = new Set(['simplify-control-flow']);

/** True if `t` names a target. */
export function isTarget(t: string): t is Target {
  return (TARGETS as readonly string[]).includes(t);
}

/**
 * The default pipeline text of a target: canonicalisation (shape inference, simplification, constant
 * folding, control-flow simplification, CSE, Conv+BatchNormalization folding), then for compiled
 * targets Conv/Gemm/MatMul epilogue fusion and elementwise fusion, mixed precision for the GPU
 * targets, and DCE last. Only registered passes appear; a pass that only finishes another's work
 * (fold-constants after fold-conv-bn) appears only with it. Given the graph, passes that act only on
 * control flow (simplify-control-flow) appear only when it has some (an If, Loop or Scan).
 */
export function defaultPipeline(target: Target, graph?: Graph): string {
  const names = INTENDED[target].flatMap((item) => {
    const group = typeof item === 'string' ? [item] : item;
    return findPass(group[0]) ? group.filter((name) => findPass(name) !== undefined) : [];
  }).filter((name) => !graph || !CONTROL_FLOW_ONLY.has(name) || hasRegions(graph));
  return names.join(',');
}
