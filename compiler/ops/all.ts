/**
 * The explicit list of op families. Importing this module registers every op exactly once; a
 * duplicate name throws at start-up. To add an op, add it to its family file's exported list.
 */
import { registerOps } from './registry.ts';
import { unaryOps } from './unary.ts';
import { activationOps } from './activation.ts';
import { activationExtOps } from './activation-ext.ts';
import { trigOps } from './trig.ts';
import { bitwiseOps } from './bitwise.ts';
import { binaryOps } from './binary.ts';
import { compareOps } from './compare.ts';
import { variadicOps } from './variadic.ts';
import { castOps } from './cast.ts';
import { shapeOps } from './shape.ts';
import { layoutOps } from './layout.ts';
import { padOps } from './pad.ts';
import { gatherOps } from './gather.ts';
import { resizeOps } from './resize.ts';
import { convOps } from './conv.ts';
import { convTransposeOps } from './conv-transpose.ts';
import { poolOps } from './pool.ts';
import { matmulOps } from './matmul.ts';
import { einsumOps } from './einsum.ts';
import { normOps } from './norm.ts';
import { normExtOps } from './norm-ext.ts';
import { rotaryOps } from './rotary.ts';
import { softmaxOps } from './softmax.ts';
import { lossOps } from './loss.ts';
import { reduceOps } from './reduce.ts';
import { fusedRegionOps } from './fused-region.ts';
import { fusedComputeOps } from './fused-compute.ts';
import { nhwcOps } from './nhwc.ts';
import { quantizeOps } from './quantize.ts';
import { qlinearOps } from './qlinear.ts';
import { attentionOps } from './attention.ts';
import { linearAttentionOps } from './linear-attention.ts';
import { signalOps } from './signal.ts';
import { visionOps } from './vision.ts';
import { detectionOps } from './detection.ts';
import { rnnOps } from './rnn.ts';
import { scatterOps } from './scatter.ts';
import { cumulativeOps } from './cumulative.ts';
import { rearrangeOps } from './rearrange.ts';
import { selectOps } from './select.ts';
import { controlFlowOps } from './control-flow.ts';
import { sequenceOps } from './sequence.ts';
import { optionalOps } from './optional.ts';

let registered = false;

/** Registers every op family (idempotent). */
export function registerAllOps(): void {
  if (registered) return;
  registered = true;
  for (const family of [
    unaryOps, activationOps, activationExtOps, trigOps, bitwiseOps, binaryOps, compareOps, variadicOps,
    castOps, shapeOps, layoutOps, padOps, gatherOps, resizeOps, convOps, convTransposeOps, poolOps,
    matmulOps, einsumOps, normOps, softmaxOps, reduceOps, fusedRegionOps, fusedComputeOps, nhwcOps,
    quantizeOps, qlinearOps, attentionOps, linearAttentionOps, signalOps, visionOps, detectionOps, lossOps,
    rnnOps, scatterOps, cumulativeOps, rearrangeOps, selectOps, normExtOps, rotaryOps, controlFlowOps,
    sequenceOps, optionalOps,
  ]) {
    registerOps(family);
  }
}

registerAllOps();
