/**
 * A three-layer perceptron for MNIST-sized inputs: input f32[batch,784] → Linear 512 → ReLU →
 * Linear 256 → ReLU → Linear 10 → `logits`. Linears are exported as Gemm (transB = 1); the ReLUs are
 * functional calls, so their nodes sit at the top scope (`/Relu`, `/Relu_1`). 535,818 parameters.
 */
import type { Graph } from '../ir/graph.ts';
import { linearGemm, newContext, relu, type ZooOptions } from './layers.ts';

/** Builds the MLP: input `input` f32[batch,784], output `logits` f32[batch,10]. */
export function mlp(opts: ZooOptions = {}): Graph {
  const c = newContext(opts);
  let x = c.b.input('input', 'f32', [opts.batch ?? 1, 784]);
  x = relu(c, linearGemm(c, x, 'fc1', 784, 512, 2), '');
  x = relu(c, linearGemm(c, x, 'fc2', 512, 256, 2), '');
  x = linearGemm(c, x, 'fc3', 256, 10, 1, ['logits']);
  c.b.output(x);
  return c.b.build('mlp', { inferTypes: opts.inferTypes });
}
