/**
 * MaxPool (with Indices and storage_order), AveragePool (count_include_pad, ceil_mode, dilations),
 * LpPool (p, pads, and only its own attributes), GlobalAveragePool and GlobalMaxPool: hand-computed cases, shape rules, and cross-checks against a
 * naive window loop on random inputs.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Tensor } from '../../compiler/ir/tensor.ts';
import { getOp, readAttrs } from '../../compiler/ops/registry.ts';
import { attrErrorLike, close, infer, parse, rand, run, run1, t, throwsLike, ty, vals } from './compute-helpers.ts';

const iota1 = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

test('MaxPool 2x2 stride 2 and 3x3 ceil_mode', () => {
  const x = t('f32', [1, 1, 4, 4], iota1(16));
  close(run1('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] }), 'f32', [1, 1, 2, 2], [6, 8, 14, 16]);
  close(run1('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }), 'f32', [1, 1, 2, 2], [11, 12, 15, 16]);
  close(run1('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2] }), 'f32', [1, 1, 1, 1], [11]);
});

test('MaxPool pads never win, Indices row-major (storage_order 0)', () => {
  const x = t('f32', [1, 1, 5, 5], iota1(25));
  const [y, idx] = run('MaxPool', [x], { kernel_shape: [5, 5], pads: [2, 2, 2, 2] }, 2);
  close(y, 'f32', [1, 1, 5, 5], [13, 14, 15, 15, 15, 18, 19, 20, 20, 20, 23, 24, 25, 25, 25, 23, 24, 25, 25, 25, 23, 24, 25, 25, 25]);
  assert.is(idx.dtype, 'i64');
  assert.equal(vals(idx), [12, 13, 14, 14, 14, 17, 18, 19, 19, 19, 22, 23, 24, 24, 24, 22, 23, 24, 24, 24, 22, 23, 24, 24, 24]);
  // all-negative input: the zero padding must not be chosen
  close(run1('MaxPool', [t('f32', [1, 1, 2, 2], [-1, -2, -3, -4])], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
    'f32', [1, 1, 2, 2], [-1, -1, -1, -1]);
});

test('MaxPool Indices column-major (storage_order 1) count the batch and channel offset', () => {
  const x = t('f32', [1, 2, 5, 5], [...iota1(25), ...iota1(25).map((v) => -v)]);
  const [y, idx] = run('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2], storage_order: 1 }, 2);
  close(y, 'f32', [1, 2, 2, 2], [7, 9, 17, 19, -1, -3, -11, -13]);
  // channel 0: (1,1)->1+1*5=6, (1,3)->16, (3,1)->8, (3,3)->18; channel 1 adds 25
  assert.equal(vals(idx), [6, 16, 8, 18, 25, 35, 27, 37]);
  const [, idx0] = run('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] }, 2);
  assert.equal(vals(idx0), [6, 8, 16, 18, 25, 27, 35, 37]);
});

test('MaxPool on uint8 and 1-D with dilation', () => {
  close(run1('MaxPool', [t('u8', [1, 1, 2, 3], [1, 250, 3, 4, 5, 6])], { kernel_shape: [2, 2] }), 'u8', [1, 1, 1, 2], [250, 250]);
  // taps i, i+2: max(x0,x2), max(x1,x3), max(x2,x4)
  close(run1('MaxPool', [t('f32', [1, 1, 5], [5, 1, 2, 7, 3])], { kernel_shape: [2], dilations: [2] }), 'f32', [1, 1, 3], [5, 7, 3]);
});

test('AveragePool count_include_pad and pads', () => {
  const x = t('f32', [1, 1, 3, 3], iota1(9));
  // corner window covers 1,2,4,5
  close(run1('AveragePool', [x], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }), 'f32', [1, 1, 3, 3],
    [3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7]);
  close(run1('AveragePool', [x], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], count_include_pad: 1 }), 'f32', [1, 1, 3, 3],
    [12 / 9, 21 / 9, 16 / 9, 27 / 9, 45 / 9, 33 / 9, 24 / 9, 39 / 9, 28 / 9]);
});

test('AveragePool ceil_mode: an overhanging window divides by the taps inside the padded input', () => {
  const x = t('f32', [1, 1, 1, 4], [1, 2, 3, 4]);
  // windows [1,2,3] and [3,4,(past end)] -> 2 and 3.5
  close(run1('AveragePool', [x], { kernel_shape: [1, 3], strides: [1, 2], ceil_mode: 1 }), 'f32', [1, 1, 1, 2], [2, 3.5]);
  close(run1('AveragePool', [x], { kernel_shape: [1, 3], strides: [1, 2], ceil_mode: 1, count_include_pad: 1 }), 'f32', [1, 1, 1, 2], [2, 3.5]);
  // with an end pad of 1 the last window counts the pad but not the overhang
  close(run1('AveragePool', [x], { kernel_shape: [1, 3], strides: [1, 2], pads: [0, 0, 0, 1], ceil_mode: 1, count_include_pad: 1 }),
    'f32', [1, 1, 1, 2], [2, 7 / 3]);
  // a last window starting in the end padding is dropped
  assert.equal(infer('AveragePool', [ty('f32', [1, 1, 1, 4])], { kernel_shape: [1, 2], strides: [1, 2], pads: [0, 0, 0, 2], ceil_mode: 1 })[0].shape,
    [1, 1, 1, 2]);
  assert.equal(infer('AveragePool', [ty('f32', [1, 1, 1, 5])], { kernel_shape: [1, 2], strides: [1, 3], pads: [0, 0, 0, 2], ceil_mode: 1 })[0].shape,
    [1, 1, 1, 2]);
});

/** Naive pooling over any spatial rank (ORT semantics). */
function naivePool(x: Tensor, kind: 'max' | 'avg', k: number[], s: number[], d: number[], pads: number[], out: number[], includePad: boolean): number[] {
  const [N, C, ...inS] = x.shape;
  const r = inS.length;
  const xv = vals(x);
  const inSize = inS.reduce((a, b) => a * b, 1);
  const res: number[] = [];
  const outTotal = out.reduce((a, b) => a * b, 1), kTotal = k.reduce((a, b) => a * b, 1);
  for (let p = 0; p < N * C; p++) {
    for (let o = 0; o < outTotal; o++) {
      const oi: number[] = []; let rem = o;
      for (let j = r - 1; j >= 0; j--) { oi[j] = rem % out[j]; rem = Math.floor(rem / out[j]); }
      let best = -Infinity, sum = 0, cnt = 0, cntPad = 0;
      for (let kk = 0; kk < kTotal; kk++) {
        const ki: number[] = []; let rk = kk;
        for (let j = r - 1; j >= 0; j--) { ki[j] = rk % k[j]; rk = Math.floor(rk / k[j]); }
        const ii = oi.map((v, j) => v * s[j] + ki[j] * d[j] - pads[j]);
        if (ii.every((v, j) => v < inS[j] + pads[r + j])) cntPad++;
        if (ii.some((v, j) => v < 0 || v >= inS[j])) continue;
        const flat = ii.reduce((acc, v, j) => acc * inS[j] + v, 0);
        const v = xv[p * inSize + flat];
        best = Math.max(best, v); sum += v; cnt++;
      }
      res.push(kind === 'max' ? best : sum / (includePad ? cntPad : cnt));
    }
  }
  return res;
}

const poolCases = [
  { name: '2-D dilated strided padded', x: [2, 3, 9, 8], k: [3, 2], s: [2, 1], d: [2, 3], pads: [2, 1, 1, 2], ceil: 0 },
  { name: '2-D ceil', x: [1, 2, 8, 7], k: [3, 3], s: [2, 2], d: [1, 1], pads: [1, 0, 0, 1], ceil: 1 },
  { name: '3-D', x: [1, 2, 5, 6, 7], k: [2, 3, 2], s: [1, 2, 2], d: [2, 1, 1], pads: [1, 1, 0, 0, 1, 1], ceil: 0 },
  { name: '1-D ceil dilated', x: [2, 2, 13], k: [3], s: [3], d: [2], pads: [1, 1], ceil: 1 },
];

for (const c of poolCases) {
  test(`MaxPool / AveragePool ${c.name} match a naive window loop`, () => {
    const x = rand('f32', c.x, 31);
    const attrs = { kernel_shape: c.k, strides: c.s, dilations: c.d, pads: c.pads, ceil_mode: c.ceil };
    const out = infer('MaxPool', [ty('f32', c.x)], attrs)[0].shape as number[];
    const spatialOut = out.slice(2);
    const maxRef = naivePool(x, 'max', c.k, c.s, c.d, c.pads, spatialOut, false);
    close(run1('MaxPool', [x], attrs), 'f32', out, maxRef);
    // the Indices path computes window by window: same maxima, and each index points at its maximum
    const [y2, idx] = run('MaxPool', [x], attrs, 2);
    close(y2, 'f32', out, maxRef);
    const xv = vals(x);
    assert.equal(vals(idx).map((i) => xv[i]), vals(y2));
    close(run1('AveragePool', [x], attrs), 'f32', out, naivePool(x, 'avg', c.k, c.s, c.d, c.pads, spatialOut, false));
    close(run1('AveragePool', [x], { ...attrs, count_include_pad: 1 }), 'f32', out, naivePool(x, 'avg', c.k, c.s, c.d, c.pads, spatialOut, true));
  });
}

test('pool auto_pad SAME_UPPER / SAME_LOWER', () => {
  const x = t('f32', [1, 1, 4], [1, 5, 2, 4]);
  close(run1('MaxPool', [x], { kernel_shape: [2], auto_pad: 'SAME_UPPER' }), 'f32', [1, 1, 4], [5, 5, 4, 4]);
  close(run1('MaxPool', [x], { kernel_shape: [2], auto_pad: 'SAME_LOWER' }), 'f32', [1, 1, 4], [1, 5, 5, 4]);
  close(run1('AveragePool', [x], { kernel_shape: [2], auto_pad: 'SAME_UPPER' }), 'f32', [1, 1, 4], [3, 3.5, 3, 4]);
  close(run1('AveragePool', [x], { kernel_shape: [3], strides: [2], auto_pad: 'SAME_UPPER', count_include_pad: 1 }),
    'f32', [1, 1, 2], [8 / 3, 2]);
});

test('Global pools reduce every spatial axis', () => {
  const x = t('f32', [1, 2, 2, 2], [1, 2, 3, 4, -5, -6, -7, -8]);
  close(run1('GlobalAveragePool', [x]), 'f32', [1, 2, 1, 1], [2.5, -6.5]);
  close(run1('GlobalMaxPool', [x]), 'f32', [1, 2, 1, 1], [4, -5]);
  close(run1('GlobalAveragePool', [t('f16', [1, 1, 3], [1, 2, 6])]), 'f16', [1, 1, 1], [3]);
  assert.equal(infer('GlobalAveragePool', [ty('f32', ['N', 2048, 7, 7])])[0].shape, ['N', 2048, 1, 1]);
  assert.equal(infer('GlobalMaxPool', [ty('f32', ['N', 8, 'H', 'W', 3])])[0].shape, ['N', 8, 1, 1, 1]);
});

test('pool shape rules: symbolic batch, Indices type, errors', () => {
  const ts = infer('MaxPool', [ty('f32', ['N', 64, 112, 112])], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, 2);
  assert.equal(ts, [ty('f32', ['N', 64, 56, 56]), ty('i64', ['N', 64, 56, 56])]);
  assert.equal(infer('AveragePool', [ty('f32', ['N', 3, 'H', 10])], { kernel_shape: [2, 2], strides: [2, 2] })[0].shape, ['N', 3, '?0', 5]);
  attrErrorLike(() => parse('MaxPool', {}), 'kernel_shape', /required/);
  throwsLike(() => infer('MaxPool', [ty('f32', [1, 3, 8, 8])], { kernel_shape: [3] }), /kernel_shape has 1 values/);
  throwsLike(() => infer('AveragePool', [ty('i8', [1, 3, 8, 8])], { kernel_shape: [3, 3] }), /dtype i8/);
  attrErrorLike(() => parse('MaxPool', { kernel_shape: [2, 2], storage_order: 2 }), 'storage_order', /0 or 1/);
  attrErrorLike(() => parse('MaxPool', { kernel_shape: [2, 2], auto_pad: 'SAME' }), 'auto_pad', /must be one of/);
});

test('LpPool: (Σ |x|^p)^(1/p) over the taps inside X (padding adds 0)', () => {
  const x = t('f32', [1, 1, 1, 3], [3, 4, -12]);
  close(run1('LpPool', [x], { kernel_shape: [1, 2] }), 'f32', [1, 1, 1, 2], [5, Math.sqrt(160)], 1e-6);
  close(run1('LpPool', [x], { kernel_shape: [1, 2], p: 1 }), 'f32', [1, 1, 1, 2], [7, 16], 1e-6);
  close(run1('LpPool', [x], { kernel_shape: [1, 2], p: 3 }), 'f32', [1, 1, 1, 2], [91 ** (1 / 3), 1792 ** (1 / 3)], 1e-6);
  close(run1('LpPool', [x], { kernel_shape: [1, 2], pads: [0, 1, 0, 1] }), 'f32', [1, 1, 1, 4], [3, 5, Math.sqrt(160), 12], 1e-6);
  // strides, dilations and SAME padding come from the shared window geometry
  close(run1('LpPool', [t('f32', [1, 1, 4], [1, 2, 3, 4])], { kernel_shape: [2], dilations: [2], strides: [2], p: 1 }),
    'f32', [1, 1, 1], [4]);
  close(run1('LpPool', [t('f32', [1, 1, 3], [1, 2, 3])], { kernel_shape: [2], auto_pad: 'SAME_UPPER', p: 1 }), 'f32', [1, 1, 3], [3, 5, 3]);
  assert.equal(infer('LpPool', [ty('f32', ['N', 3, 32, 32])], { kernel_shape: [2, 2], strides: [2, 2] })[0].shape, ['N', 3, 16, 16]);
  attrErrorLike(() => parse('LpPool', { kernel_shape: [2], p: 0 }), 'p', /must be >= 1/);
  attrErrorLike(() => parse('LpPool', { p: 2 }), 'kernel_shape', /required/);
  // storage_order and count_include_pad belong to MaxPool / AveragePool only
  const ints = (value: number[]) => ({ kind: 'ints' as const, value });
  attrErrorLike(() => readAttrs(getOp('LpPool'), { kernel_shape: ints([2]), storage_order: { kind: 'int', value: 0 } }), 'storage_order',
    /LpPool has no attribute 'storage_order'/);
});

test.run();
