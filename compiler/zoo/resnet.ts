/**
 * ResNet-50 in the exact torchvision layout (v1.5: the stride of a downsampling bottleneck sits on
 * its 3x3 conv), exported as `torch.onnx.export` writes it with batch norms left unfused.
 *
 * Stem: conv1 7x7/2 → bn1 → relu → maxpool 3x3/2 pad 1. Then four stages of bottleneck blocks
 * [3, 4, 6, 3] with widths 64/128/256/512 and expansion 4: 1x1 reduce → 3x3 → 1x1 expand, each with
 * a BN, ReLU after the first two, the first block of each stage adding a 1x1 conv + BN downsample
 * on the identity path, then residual Add and ReLU. Head: GlobalAveragePool → Flatten → Gemm
 * 2048→1000. 53 Conv, 53 BatchNormalization, 49 Relu, 16 Add; 25,557,032 parameters.
 * The last BN of each residual branch has gamma ≈ 0.2 so the residual stream stays O(1) with random
 * weights.
 */
import type { Graph } from '../ir/graph.ts';
import { batchNorm, conv2d, linearGemm, newContext, poolFlatten, relu, torchScope, type ZooContext, type ZooOptions } from './layers.ts';

/** Gamma scale of the last BN of each residual branch. */
const RESIDUAL_GAMMA = 0.2;

/** Builds ResNet-50: input `input` f32[batch,3,224,224], output `output` f32[batch,1000]. */
export function resnet50(opts: ZooOptions = {}): Graph {
  const c = newContext(opts);
  let x = c.b.input('input', 'f32', [opts.batch ?? 1, 3, 224, 224]);
  x = conv2d(c, x, 'conv1', { cin: 3, cout: 64, kernel: 7, stride: 2, pad: 3 });
  x = batchNorm(c, x, 'bn1', 64);
  x = relu(c, x, '/relu');
  x = c.b.op('MaxPool', [x], { ceil_mode: 0, dilations: [1, 1], kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] },
    { name: c.b.nodeName('/maxpool', 'MaxPool') });
  let channels = 64;
  const stages: [blocks: number, width: number, stride: number][] = [[3, 64, 1], [4, 128, 2], [6, 256, 2], [3, 512, 2]];
  stages.forEach(([blocks, width, stride], s) => {
    for (let j = 0; j < blocks; j++) {
      x = bottleneck(c, x, `layer${s + 1}.${j}`, channels, width, j === 0 ? stride : 1, j === 0);
      channels = width * 4;
    }
  });
  x = poolFlatten(c, x, '/avgpool');
  x = linearGemm(c, x, 'fc', 2048, 1000, 1, ['output']);
  c.b.output(x);
  return c.b.build('resnet50', { inferTypes: opts.inferTypes });
}

/** One bottleneck block (torchvision `Bottleneck`); ReLU module reuse gives relu, relu_1, relu_2. */
function bottleneck(c: ZooContext, x: string, path: string, cin: number, width: number, stride: number,
  downsample: boolean): string {
  const scope = torchScope(path);
  let y = conv2d(c, x, `${path}.conv1`, { cin, cout: width, kernel: 1 });
  y = relu(c, batchNorm(c, y, `${path}.bn1`, width), `${scope}/relu`);
  y = conv2d(c, y, `${path}.conv2`, { cin: width, cout: width, kernel: 3, stride });
  y = relu(c, batchNorm(c, y, `${path}.bn2`, width), `${scope}/relu_1`);
  y = conv2d(c, y, `${path}.conv3`, { cin: width, cout: width * 4, kernel: 1 });
  y = batchNorm(c, y, `${path}.bn3`, width * 4, RESIDUAL_GAMMA);
  let identity = x;
  if (downsample) {
    identity = conv2d(c, x, `${path}.downsample.0`, { cin, cout: width * 4, kernel: 1, stride, gain: 1 });
    identity = batchNorm(c, identity, `${path}.downsample.1`, width * 4);
  }
  const sum = c.b.op('Add', [y, identity], {}, { name: c.b.nodeName(scope, 'Add') });
  return relu(c, sum, `${scope}/relu_2`);
}
