/**
 * MobileNetV2 in the torchvision layout (width 1.0), exported with batch norms unfused.
 *
 * features.0: 3x3/2 conv 3→32 + BN + ReLU6 (Clip 0..6). Then inverted-residual blocks from the
 * table (t expansion, c channels, n repeats, s first stride): 1x1 expand conv + BN + ReLU6 (skipped
 * when t = 1), 3x3 depthwise conv (group = channels) + BN + ReLU6, 1x1 linear projection + BN, and a
 * residual Add when the stride is 1 and channels are unchanged. features.18: 1x1 conv 320→1280 + BN
 * + ReLU6. Head: GlobalAveragePool → Flatten → Gemm 1280→1000 (classifier.1; Dropout vanishes at
 * export). 3,504,872 parameters. Residual branches end in a BN with gamma ≈ 0.2.
 */
import type { Graph } from '../ir/graph.ts';
import { batchNorm, conv2d, linearGemm, newContext, poolFlatten, relu6, torchScope, type ZooContext, type ZooOptions } from './layers.ts';

/** torchvision's inverted residual setting: [t, c, n, s]. */
const SETTING: readonly (readonly [number, number, number, number])[] = [
  [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1],
];

const RESIDUAL_GAMMA = 0.2;

/** Builds MobileNetV2: input `input` f32[batch,3,224,224], output `output` f32[batch,1000]. */
export function mobilenetv2(opts: ZooOptions = {}): Graph {
  const c = newContext(opts);
  let x = c.b.input('input', 'f32', [opts.batch ?? 1, 3, 224, 224]);
  x = convBnAct(c, x, 'features.0', 3, 32, 3, 2, 1);
  let cin = 32, index = 1;
  for (const [t, cout, n, s] of SETTING) {
    for (let i = 0; i < n; i++) {
      x = invertedResidual(c, x, `features.${index++}`, cin, cout, i === 0 ? s : 1, t);
      cin = cout;
    }
  }
  x = convBnAct(c, x, `features.${index}`, cin, 1280, 1, 1, 1);
  x = poolFlatten(c, x, '');
  x = linearGemm(c, x, 'classifier.1', 1280, 1000, 1, ['output']);
  c.b.output(x);
  return c.b.build('mobilenetv2', { inferTypes: opts.inferTypes });
}

/** Conv2dNormActivation: conv (`path.0`) + BN (`path.1`) + ReLU6 (`path.2`). */
function convBnAct(c: ZooContext, x: string, path: string, cin: number, cout: number, kernel: number,
  stride: number, group: number): string {
  const y = conv2d(c, x, `${path}.0`, { cin, cout, kernel, stride, group });
  return relu6(c, batchNorm(c, y, `${path}.1`, cout), torchScope(`${path}.2`));
}

/** One InvertedResidual block at `path` (its layers live under `path.conv`). */
function invertedResidual(c: ZooContext, x: string, path: string, cin: number, cout: number, stride: number,
  expand: number): string {
  const hidden = cin * expand;
  const residual = stride === 1 && cin === cout;
  let k = 0;
  let y = x;
  if (expand !== 1) y = convBnAct(c, y, `${path}.conv.${k++}`, cin, hidden, 1, 1, 1);
  y = convBnAct(c, y, `${path}.conv.${k++}`, hidden, hidden, 3, stride, hidden);
  y = conv2d(c, y, `${path}.conv.${k++}`, { cin: hidden, cout, kernel: 1 });
  y = batchNorm(c, y, `${path}.conv.${k++}`, cout, residual ? RESIDUAL_GAMMA : 1);
  if (!residual) return y;
  return c.b.op('Add', [x, y], {}, { name: c.b.nodeName(torchScope(path), 'Add') });
}
