/**
 * The vision and detection families (vision.ts, detection.ts): GridSample (modes and padding),
 * AffineGrid, DeformConv (against Conv, with offsets and mask), Col2Im, MaxUnpool, RoiAlign,
 * MaxRoiPool and NonMaxSuppression (its run-time row count) on hand-computed cases; shape rules and
 * errors naming node, op and attribute.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KilnError } from '../../compiler/errors.ts';
import { getOp, parseNodeAttrs } from '../../compiler/ops/registry.ts';
import { attrErrorLike, close, i64, infer, parse, rand, run, run1, t, throwsLike, ty, vals } from './compute-helpers.ts';

const x22 = () => t('f32', [1, 1, 2, 2], [1, 2, 3, 4]);
const grid = (...xy: number[]) => t('f32', [1, 1, xy.length / 2, 2], xy);

test('GridSample: linear, nearest, cubic and the three padding modes', () => {
  // centre of the image (align_corners 0: pixel 0.5, 0.5) averages all four
  close(run1('GridSample', [x22(), grid(0, 0)]), 'f32', [1, 1, 1, 1], [2.5]);
  // align_corners 1: (-1,-1) is pixel (0,0), (1,-1) is pixel (0,1)
  close(run1('GridSample', [x22(), grid(-1, -1, 1, -1)], { align_corners: 1, mode: 'nearest' }), 'f32', [1, 1, 1, 2], [1, 2]);
  close(run1('GridSample', [x22(), grid(-1, -1)], { align_corners: 1, mode: 'cubic' }), 'f32', [1, 1, 1, 1], [1]);
  // x = 3 is pixel column 2 (outside), y = 0 is row 0.5
  close(run1('GridSample', [x22(), grid(3, 0)], { align_corners: 1, padding_mode: 'border' }), 'f32', [1, 1, 1, 1], [3]);
  close(run1('GridSample', [x22(), grid(3, 0)], { align_corners: 1 }), 'f32', [1, 1, 1, 1], [0]);
  close(run1('GridSample', [x22(), grid(3, 0)], { align_corners: 1, padding_mode: 'reflection' }), 'f32', [1, 1, 1, 1], [2]);
  // opset-16 names
  close(run1('GridSample', [x22(), grid(0, 0)], { mode: 'bilinear' }), 'f32', [1, 1, 1, 1], [2.5]);
  assert.equal(infer('GridSample', [ty('f32', ['N', 3, 8, 8]), ty('f32', ['N', 5, 6, 2])])[0], ty('f32', ['N', 3, 5, 6]));
  throwsLike(() => infer('GridSample', [ty('f32', [1, 3, 8, 8]), ty('f32', [1, 5, 6, 3])]), /grid \[1,5,6,3\] must be/);
  attrErrorLike(() => parse('GridSample', { mode: 'area' }), 'mode', /linear, nearest, cubic/);
});

test('AffineGrid: identity theta gives the base grid, which GridSample maps back onto X', () => {
  const theta = t('f32', [1, 2, 3], [1, 0, 0, 0, 1, 0]);
  const g = run1('AffineGrid', [theta, i64([4], [1, 1, 2, 2])]);
  close(g, 'f32', [1, 2, 2, 2], [-0.5, -0.5, 0.5, -0.5, -0.5, 0.5, 0.5, 0.5]);
  close(run1('GridSample', [x22(), g]), 'f32', [1, 1, 2, 2], [1, 2, 3, 4]);
  close(run1('AffineGrid', [theta, i64([4], [1, 1, 2, 2])], { align_corners: 1 }), 'f32', [1, 2, 2, 2], [-1, -1, 1, -1, -1, 1, 1, 1]);
  // a translation by +1 in x
  close(run1('AffineGrid', [t('f32', [1, 2, 3], [1, 0, 1, 0, 1, 0]), i64([4], [1, 1, 1, 1])]), 'f32', [1, 1, 1, 2], [1, 0]);
  assert.equal(infer('AffineGrid', [ty('f32', [2, 3, 4]), ty('i64', [5])], {}, 1, [undefined, i64([5], [2, 1, 3, 4, 5])])[0], ty('f32', [2, 3, 4, 5, 3]));
  assert.equal(infer('AffineGrid', [ty('f32', [2, 2, 3]), ty('i64', [4])])[0], ty('f32', [2, '?0', '?1', 2]));
});

test('DeformConv: zero offsets equal Conv; offsets sample between pixels; mask scales', () => {
  const x = rand('f32', [1, 4, 5, 5], 3), w = rand('f32', [6, 2, 3, 3], 4), b = rand('f32', [6], 5);
  const attrs = { group: 2, pads: [1, 1, 1, 1], strides: [2, 2] };
  const offset = t('f32', [1, 18, 3, 3], new Array(18 * 9).fill(0));
  close(run1('DeformConv', [x, w, offset, b], attrs), 'f32', [1, 6, 3, 3], vals(run1('Conv', [x, w, b], attrs)), 1e-5);
  // one 1x1 tap shifted half a pixel right: 1 and 3 average to 2; past the edge the zero tap halves 3
  const x12 = t('f32', [1, 1, 1, 2], [1, 3]), w1 = t('f32', [1, 1, 1, 1], [1]);
  const off = t('f32', [1, 2, 1, 2], [0, 0, 0.5, 0.5]);
  close(run1('DeformConv', [x12, w1, off]), 'f32', [1, 1, 1, 2], [2, 1.5]);
  close(run1('DeformConv', [x12, w1, off, undefined, t('f32', [1, 1, 1, 2], [0.5, 2])]), 'f32', [1, 1, 1, 2], [1, 3]);
  assert.equal(infer('DeformConv', [ty('f32', [1, 4, 5, 5]), ty('f32', [6, 2, 3, 3]), ty('f32', [1, 18, 3, 3])], attrs)[0], ty('f32', [1, 6, 3, 3]));
  throwsLike(() => infer('DeformConv', [ty('f32', [1, 4, 5, 5]), ty('f32', [6, 2, 3, 3]), ty('f32', [1, 9, 3, 3])], attrs), /offset .* must have 18 channels/);
  attrErrorLike(() => parse('DeformConv', { offset_group: 0 }), 'offset_group', />= 1/);
});

test('Col2Im adds overlapping blocks; MaxUnpool scatters at the indices', () => {
  // 2x2 blocks of ones over a 3x3 image: each pixel counts the blocks covering it
  const cols = t('f32', [1, 4, 4], new Array(16).fill(1));
  close(run1('Col2Im', [cols, i64([2], [3, 3]), i64([2], [2, 2])]), 'f32', [1, 1, 3, 3], [1, 2, 1, 2, 4, 2, 1, 2, 1]);
  throwsLike(() => run1('Col2Im', [t('f32', [1, 4, 3], new Array(12).fill(1)), i64([2], [3, 3]), i64([2], [2, 2])]), /has 3 blocks/);
  assert.equal(infer('Col2Im', [ty('f32', [1, 12, 4]), ty('i64', [2]), ty('i64', [2])], {}, 1, [undefined, i64([2], [3, 3]), i64([2], [2, 2])])[0], ty('f32', [1, 3, 3, 3]));
  // MaxPool's Indices round-trip
  const x = t('f32', [1, 1, 4, 4], [1, 9, 2, 3, 4, 5, 8, 6, 7, 1, 1, 1, 1, 1, 1, 9]);
  const [y, idx] = run('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] }, 2);
  close(run1('MaxUnpool', [y, idx], { kernel_shape: [2, 2], strides: [2, 2] }), 'f32', [1, 1, 4, 4],
    [0, 9, 0, 0, 0, 0, 8, 0, 7, 0, 0, 0, 0, 0, 0, 9]);
  // with output_shape the unpooled 2x2 lands at the origin of the 3x3
  close(run1('MaxUnpool', [t('f32', [1, 1, 1, 1], [5]), i64([1, 1, 1, 1], [3]), i64([4], [1, 1, 3, 3])], { kernel_shape: [2, 2] }),
    'f32', [1, 1, 3, 3], [0, 0, 0, 0, 5, 0, 0, 0, 0]);
  assert.equal(infer('MaxUnpool', [ty('f32', [1, 1, 2, 2]), ty('i64', [1, 1, 2, 2])], { kernel_shape: [2, 2], strides: [2, 2] })[0], ty('f32', [1, 1, 4, 4]));
  attrErrorLike(() => parse('MaxUnpool', {}), 'kernel_shape', /required/);
});

test('RoiAlign avg/max and half_pixel; MaxRoiPool bins', () => {
  // X[h, w] = w: a bilinear sample reads its column position
  const x = t('f32', [1, 1, 4, 4], [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]);
  const rois = t('f32', [1, 4], [0, 0, 3, 3]), bi = i64([1], [0]);
  close(run1('RoiAlign', [x, rois, bi], { sampling_ratio: 1, coordinate_transformation_mode: 'output_half_pixel' }), 'f32', [1, 1, 1, 1], [1.5]);
  close(run1('RoiAlign', [x, rois, bi], { sampling_ratio: 1 }), 'f32', [1, 1, 1, 1], [1]);
  // max: the largest weighted corner, 0.25·2 at (1.5, 1.5)
  close(run1('RoiAlign', [x, rois, bi], { sampling_ratio: 1, mode: 'max', coordinate_transformation_mode: 'output_half_pixel' }), 'f32', [1, 1, 1, 1], [0.5]);
  assert.equal(infer('RoiAlign', [ty('f32', [2, 3, 8, 8]), ty('f32', ['R', 4]), ty('i64', ['R'])], { output_height: 2, output_width: 3 })[0], ty('f32', ['R', 3, 2, 3]));
  attrErrorLike(() => parse('RoiAlign', { mode: 'sum' }), 'mode', /avg, max/);
  const iota = t('f32', [1, 1, 4, 4], Array.from({ length: 16 }, (_, i) => i + 1));
  close(run1('MaxRoiPool', [iota, t('f32', [1, 5], [0, 0, 0, 3, 3])], { pooled_shape: [2, 2] }), 'f32', [1, 1, 2, 2], [6, 8, 14, 16]);
  close(run1('MaxRoiPool', [iota, t('f32', [1, 5], [0, 0, 0, 2, 2])], { pooled_shape: [1, 1], spatial_scale: 0.5 }), 'f32', [1, 1, 1, 1], [6]);
  attrErrorLike(() => parse('MaxRoiPool', { pooled_shape: [2] }), 'pooled_shape', /2 values/);
});

test('NonMaxSuppression: IoU suppression, score threshold, per-class limit; rows known at run time', () => {
  const boxes = t('f32', [1, 3, 4], [0, 0, 1, 1, 0, 0.1, 1, 1.1, 0, 10, 1, 11]);
  const scores = t('f32', [1, 1, 3], [0.8, 0.9, 0.7]);
  const nms = (...extra: (ReturnType<typeof t> | undefined)[]) => run1('NonMaxSuppression', [boxes, scores, ...extra]);
  const y = nms(i64([1], [3]), t('f32', [1], [0.5]));
  assert.is(y.dtype, 'i64');
  assert.equal([...y.shape], [2, 3]);
  assert.equal(vals(y), [0, 0, 1, 0, 0, 2]);
  assert.equal(vals(nms(i64([1], [3]), t('f32', [1], [0.5]), t('f32', [1], [0.75]))), [0, 0, 1]);
  assert.equal(vals(nms(i64([1], [1]), t('f32', [1], [0.9]))), [0, 0, 1]);
  assert.equal([...nms().shape], [0, 3]);
  // center_point_box 1: the same boxes as centres and sizes
  const centers = t('f32', [1, 3, 4], [0.5, 0.5, 1, 1, 0.6, 0.5, 1, 1, 10.5, 0.5, 1, 1]);
  assert.equal(vals(run1('NonMaxSuppression', [centers, scores, i64([1], [3]), t('f32', [1], [0.5])], { center_point_box: 1 })), [0, 0, 1, 0, 0, 2]);
  assert.equal(infer('NonMaxSuppression', [ty('f32', [1, 3, 4]), ty('f32', [1, 1, 3])])[0], ty('i64', ['?0', 3]));
  attrErrorLike(() => parse('NonMaxSuppression', { center_point_box: 2 }), 'center_point_box', /one of 0, 1/);
});

test('attribute errors name node, op and attribute', () => {
  for (const [op, attrs, attr] of [
    ['GridSample', { padding_mode: { kind: 'string', value: 'wrap' } }, 'padding_mode'],
    ['Col2Im', { kernel_shape: { kind: 'ints', value: [2, 2] } }, 'kernel_shape'],
    ['DeformConv', { pads: { kind: 'ints', value: [1, 1, 1] } }, 'pads'],
    ['RoiAlign', { output_height: { kind: 'int', value: 0 } }, 'output_height'],
  ] as const) {
    try {
      parseNodeAttrs(getOp(op), attrs, 'n7');
      assert.unreachable(`${op}: expected an error`);
    } catch (e) {
      assert.instance(e, KilnError);
      const place = (e as KilnError).place;
      assert.equal([place.node, place.op, place.attribute], ['n7', op, attr]);
    }
  }
});

test.run();
