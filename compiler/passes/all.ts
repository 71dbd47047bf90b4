/**
 * The explicit list of pass modules: importing this file registers every pass, and it defines the
 * default pipeline of each target.
 *
 * Each pass lives in `compiler/passes/<name>.ts` and exports its Pass (or a list of them); one import
 * line per module below and one entry in ALL_PASSES. The default pipelines are written as the full
 * intended pass order and filtered to the passes that are registered, so a pipeline never names a
 * pass that does not exist.
 */
import type { Pass } from './pass.ts';
import { findPass, registerPasses } from './pass.ts';
// ---- pass modules (one line each) ----
import { fuseElementwisePasses } from './fuse-elementwise.ts';
import { shapeInferPass } from './shape-infer.ts';
import { foldConstantsPass } from './fold-constants.ts';
import { dcePass } from './dce.ts';
import { csePass } from './cse.ts';
import { simplifyPass } from './simplify.ts';

/** Every pass kiln ships, registered on import. */
export const ALL_PASSES: readonly Pass[] = [
  ...fuseElementwisePasses,
  shapeInferPass,
  foldConstantsPass,
  dcePass,
  csePass,
  simplifyPass,
];

registerPasses(ALL_PASSES);

/** Targets a default pipeline exists for. */
export const TARGETS = ['ref', 'cpu', 'cuda', 'webgpu'] as const;
export type Target = (typeof TARGETS)[number];

/** Canonicalisation shared by every target: shapes, simplification, constants, BN folding, CSE. */
const CANONICAL = ['shape-infer', 'simplify', 'fold-constants', 'cse', 'fold-conv-bn', 'fold-constants'];
/** Fusion for compiled targets. */
const FUSION = ['fuse-conv-act', 'fuse-elementwise'];

/** The intended pass order per target, before filtering to registered passes. */
const INTENDED: Readonly<Record<Target, readonly string[]>> = {
  ref: [...CANONICAL, 'dce'],
  cpu: [...CANONICAL, ...FUSION, 'dce'],
  cuda: [...CANONICAL, ...FUSION, 'mixed-precision', 'dce'],
  webgpu: [...CANONICAL, ...FUSION, 'mixed-precision', 'dce'],
};

/** True if `t` names a target. */
export function isTarget(t: string): t is Target {
  return (TARGETS as readonly string[]).includes(t);
}

/**
 * The default pipeline text of a target: canonicalisation (shape inference, simplification, constant
 * folding, CSE, Conv+BatchNormalization folding), then for compiled targets Conv/Gemm/MatMul epilogue
 * fusion and elementwise fusion, mixed precision for the GPU targets, and DCE last. Only registered
 * passes appear.
 */
export function defaultPipeline(target: Target): string {
  return INTENDED[target].filter((name) => findPass(name) !== undefined).join(',');
}
