/**
 * A small ONNX model with symbolic input dims, shaped like the front of an exported detector, for the
 * shape-binding tests: x f32[N,3,H,W] → Conv 3×3 (8 filters, pads 1, bias) → Relu, then the shape
 * arithmetic exporters write (Shape → Slice → Concat → Reshape to [N,8,H·W]; Shape → Slice → Mul →
 * Concat → Resize to twice the size; Expand, ConstantOfShape and Range fed by the computed shape).
 * `handFlops` is the FLOP count of the rules in compiler/zoo/summary.ts worked out by hand.
 */
import { attr, floatTensor, int64Tensor, modelBytes, node, value } from '../import/onnx-build.ts';

/** The model's bytes. */
export function symbolicDetectorBytes(): Uint8Array {
  const w = floatTensor('w', [8, 3, 3, 3], Array.from({ length: 216 }, (_, i) => ((i * 37) % 17 - 8) / 20));
  const b = floatTensor('b', [8], [0.1, -0.2, 0.3, 0, 0.05, -0.1, 0.2, -0.3]);
  return modelBytes({
    opset: 17,
    inputs: [value('x', 1, ['N', 3, 'H', 'W'])],
    outputs: [value('flat', 1, null), value('up', 1, null), value('grown', 1, null), value('cols', 7, null)],
    initializers: [w, b, int64Tensor('i0', [1], [0]), int64Tensor('i2', [1], [2]), int64Tensor('i4', [1], [4]),
      int64Tensor('minus1', [1], [-1]), int64Tensor('two', [1], [2]), int64Tensor('zero', [], [0]), int64Tensor('one', [], [1]),
      int64Tensor('three', [], [3])],
    nodes: [
      node('Conv', ['x', 'w', 'b'], ['c'], [attr.ints('kernel_shape', [3, 3]), attr.ints('pads', [1, 1, 1, 1])], 'conv'),
      node('Relu', ['c'], ['r'], [], 'relu'),
      node('Shape', ['r'], ['sh'], [], 'shape'),
      node('Slice', ['sh', 'i0', 'i2'], ['nc'], [], 'slice_nc'),
      node('Concat', ['nc', 'minus1'], ['flat_shape'], [attr.int('axis', 0)], 'concat_flat'),
      node('Reshape', ['r', 'flat_shape'], ['flat'], [], 'reshape'),
      node('Slice', ['sh', 'i2', 'i4'], ['hw'], [], 'slice_hw'),
      node('Mul', ['hw', 'two'], ['hw2'], [], 'double_hw'),
      node('Concat', ['nc', 'hw2'], ['sizes'], [attr.int('axis', 0)], 'concat_sizes'),
      node('Resize', ['r', '', '', 'sizes'], ['up'], [attr.str('mode', 'nearest')], 'resize'),
      node('ConstantOfShape', ['sh'], ['zeros'], [], 'zeros'),
      node('Expand', ['zeros', 'sh'], ['grown0'], [], 'expand'),
      node('Add', ['grown0', 'r'], ['grown'], [], 'add'),
      node('Gather', ['sh', 'three'], ['width'], [attr.int('axis', 0)], 'gather_w'),
      node('Range', ['zero', 'width', 'one'], ['cols'], [], 'range'),
    ],
  });
}

/**
 * FLOPs at batch n, height h, width w by the summary's rules: Conv 2·out·Cin·kh·kw = 2·(n·8·h·w)·27,
 * Relu and Add one per element (n·8·h·w each), Resize one per output element (n·8·2h·2w), Mul one per
 * element of the 2-element shape vector; Shape, Slice, Concat, Reshape, ConstantOfShape, Expand,
 * Gather and Range move data and count 0.
 */
export function handFlops(n: number, h: number, w: number): number {
  const pixels = n * 8 * h * w;
  return 2 * pixels * 27 + pixels + pixels + n * 8 * (2 * h) * (2 * w) + 2;
}
