/**
 * Op family 'loss': NegativeLogLikelihoodLoss (opsets 12, 13, 22) and SoftmaxCrossEntropyLoss
 * (opsets 12, 13), every reduction ('none', 'sum', 'mean'), optional class weights, optional
 * `ignore_index` (any integer, negative ones included) and inputs of rank 2 and up.
 *
 * Layout: the input (log-probabilities, or scores for SoftmaxCrossEntropyLoss) is [N, C, d1..dk]
 * and the target [N, d1..dk] holds class indices in [0, C). The tensor is viewed as [N, C, D] with
 * D = d1·…·dk, so the log-probability of class c at (n, d) sits at n·C·D + c·D + d.
 *
 * Algorithm (NLL): for every target element t = target[n, d], the element loss is
 * -input[n, t, d] · w[t] (w = 1 without weights) and its weight is w[t]; an element whose target
 * equals `ignore_index` has loss 0 and weight 0 (its target need not be a valid class). 'none' returns
 * the element losses shaped like the target; 'sum' their sum; 'mean' their sum divided by the sum of
 * the element weights (the count of non-ignored elements without weights; 0/0 gives NaN as in ONNX's
 * reference). Sums accumulate in f64; results are stored in the input's dtype.
 *
 * SoftmaxCrossEntropyLoss is LogSoftmax along axis 1 (softmax.ts, stored in the input dtype as the
 * optional second output `log_prob`) followed by the NLL above on that stored tensor, so it agrees
 * with ONNX's own expansion of the op into LogSoftmax + NegativeLogLikelihoodLoss.
 */
import type { TensorType } from '../ir/graph.ts';
import { readInts, type Tensor } from '../ir/tensor.ts';
import type { AttrReader, OpDef } from './registry.ts';
import { elems, plus, times } from './flops.ts';
import type { FlopsRule } from './registry.ts';
import { FLOAT_TYPES, expectDType, required } from './support.ts';
import { allocFloat, floatData, floatTensor } from './float-io.ts';
import { softmax } from './softmax.ts';

/** How element losses are combined. */
export type LossReduction = 'none' | 'sum' | 'mean';

/** Attributes shared by both losses. */
export interface LossAttrs {
  readonly reduction: LossReduction;
  /** Target value whose elements are skipped; undefined when the attribute is absent. */
  readonly ignoreIndex: number | undefined;
}

function parseLossAttrs(r: AttrReader): LossAttrs {
  const reduction = r.oneOf('reduction', r.string('reduction', 'mean') as LossReduction, ['none', 'sum', 'mean']);
  const ignoreIndex = r.has('ignore_index') ? r.int('ignore_index') : undefined;
  return { reduction, ignoreIndex };
}

/** The type rule of both losses: checks input/target/weight agree; returns the loss type. */
function lossType(inputs: readonly (TensorType | undefined)[], a: LossAttrs, names: readonly [string, string, string]): TensorType {
  const x = required(inputs, 0, names[0]);
  const target = required(inputs, 1, names[1]);
  const w = inputs[2];
  expectDType(x.dtype, FLOAT_TYPES, names[0]);
  if (target.dtype !== 'i32' && target.dtype !== 'i64') throw new Error(`${names[1]} must be i32 or i64, got ${target.dtype}`);
  if (x.shape.length < 2) throw new Error(`${names[0]} must have rank 2 or more ([N, C, d1..dk]), got rank ${x.shape.length}`);
  const expected = [x.shape[0], ...x.shape.slice(2)];
  const mismatch = () => new Error(`${names[1]} shape [${target.shape.join(',')}] does not match ${names[0]} shape [${x.shape.join(',')}] without its class axis`);
  if (target.shape.length !== expected.length) throw mismatch();
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i], t = target.shape[i];
    if (typeof e === 'number' && typeof t === 'number' && e !== t) throw mismatch();
  }
  if (w) {
    if (w.dtype !== x.dtype) throw new Error(`${names[2]} has dtype ${w.dtype} but ${names[0]} has ${x.dtype}`);
    const c = x.shape[1];
    if (w.shape.length !== 1 || (typeof c === 'number' && typeof w.shape[0] === 'number' && w.shape[0] !== c)) {
      throw new Error(`${names[2]} must have shape [C] = [${c}], got [${w.shape.join(',')}]`);
    }
  }
  return { dtype: x.dtype, shape: a.reduction === 'none' ? target.shape : [] };
}

/** The NLL loss of concrete log-probabilities `x` [N, C, d..] against `target` [N, d..] (see the header). */
export function nllLoss(x: Tensor, target: Tensor, weight: Tensor | undefined, a: LossAttrs): Tensor {
  const [n, c] = x.shape;
  const d = n * c === 0 ? 0 : x.size / (n * c);
  if (target.size !== n * d) throw new Error(`target has ${target.size} elements; expected N·d1·…·dk = ${n * d}`);
  if (weight && weight.size !== c) throw new Error(`weight has ${weight.size} elements; expected C = ${c}`);
  const xs = floatData(x);
  const ws = weight ? floatData(weight) : undefined;
  const ts = readInts(target);
  const losses = a.reduction === 'none' ? allocFloat(x.dtype, ts.length) : undefined;
  let lossSum = 0, weightSum = 0;
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i];
    if (t === a.ignoreIndex) continue; // loss and weight 0 (allocFloat is zero-filled)
    if (t < 0 || t >= c) throw new Error(`target value ${t} at element ${i} is out of range for ${c} classes`);
    const nIdx = Math.floor(i / d), dIdx = i - nIdx * d;
    const w = ws ? ws[t] : 1;
    const loss = -xs[(nIdx * c + t) * d + dIdx] * w;
    if (losses) losses[i] = loss;
    lossSum += loss;
    weightSum += w;
  }
  if (losses) return floatTensor(x.dtype, target.shape, losses);
  const v = a.reduction === 'sum' ? lossSum : lossSum / weightSum;
  return floatTensor(x.dtype, [], Float64Array.of(v));
}

/** Two per target element (weight product and sum). */
const nllFlops: FlopsRule<LossAttrs> = (inputs) => times(2, elems(inputs[1]?.shape));

const NegativeLogLikelihoodLoss: OpDef<LossAttrs> = {
  name: 'NegativeLogLikelihoodLoss',
  inputs: [2, 3],
  outputs: [1, 1],
  flops: nllFlops,
  parseAttrs: parseLossAttrs,
  inferTypes: (inputs, a) => [lossType(inputs, a, ['input', 'target', 'weight'])],
  run: ([x, target, weight], a) => [nllLoss(x!, target!, weight, a)],
};

const SoftmaxCrossEntropyLoss: OpDef<LossAttrs> = {
  name: 'SoftmaxCrossEntropyLoss',
  inputs: [2, 3],
  outputs: [1, 2],
  flops: (inputs, outs, a) => plus(times(4, elems(inputs[0]?.shape)), nllFlops(inputs, outs, a)),
  parseAttrs: parseLossAttrs,
  inferTypes(inputs, a, _ctx, outputCount) {
    const loss = lossType(inputs, a, ['scores', 'labels', 'weights']);
    const x = inputs[0]!;
    return outputCount > 1 ? [loss, { dtype: x.dtype, shape: x.shape }] : [loss];
  },
  run([x, labels, weights], a, outputCount) {
    const logProb = softmax(x!, 1, true);
    const loss = nllLoss(logProb, labels!, weights, a);
    return outputCount > 1 ? [loss, logProb] : [loss];
  },
};

export const lossOps: OpDef<any>[] = [NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss];
