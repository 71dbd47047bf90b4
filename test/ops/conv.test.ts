/**
 * Conv and ConvTranspose: hand-computed cases, shape rules (symbolic batch, auto_pad, channel/group
 * errors), and cross-checks of the fast paths (im2col + GEMM, 1×1 direct, depthwise) against naive
 * direct loops on seeded random inputs.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Tensor } from '../../compiler/ir/tensor.ts';
import { close, infer, rand, run1, t, throwsLike, ty, vals } from './compute-helpers.ts';

const iota = (n: number) => Array.from({ length: n }, (_, i) => i);
const prod = (v: number[]) => v.reduce((a, b) => a * b, 1);

/** Unravels a flat index over `dims` (row-major). */
function unravel(i: number, dims: number[]): number[] {
  const out = new Array(dims.length);
  for (let d = dims.length - 1; d >= 0; d--) { out[d] = i % dims[d]; i = Math.floor(i / dims[d]); }
  return out;
}
function ravel(idx: number[], dims: number[]): number {
  return idx.reduce((acc, v, d) => acc * dims[d] + v, 0);
}

interface Geo { strides: number[]; dilations: number[]; pads: number[] }

/** Output spatial size by the ONNX formula with explicit pads. */
function outSize(inS: number[], k: number[], g: Geo): number[] {
  const r = inS.length;
  return inS.map((d, i) => Math.floor((d + g.pads[i] + g.pads[r + i] - (k[i] - 1) * g.dilations[i] - 1) / g.strides[i]) + 1);
}

/** The textbook 7-loop convolution (any spatial rank), in f64. */
function naiveConv(x: Tensor, w: Tensor, b: Tensor | undefined, g: Geo, group: number): { shape: number[]; data: number[] } {
  const [N, C, ...inS] = x.shape;
  const [M, Cg, ...k] = w.shape;
  const out = outSize(inS, k, g);
  const Mg = M / group, r = inS.length;
  const xv = vals(x), wv = vals(w), bv = b ? vals(b) : undefined;
  const data: number[] = [];
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      const grp = Math.floor(m / Mg);
      for (let o = 0; o < prod(out); o++) {
        const oi = unravel(o, out);
        let s = bv ? bv[m] : 0;
        for (let ci = 0; ci < Cg; ci++) {
          const c = grp * Cg + ci;
          for (let kk = 0; kk < prod(k); kk++) {
            const ki = unravel(kk, k);
            const ii = oi.map((ov, d) => ov * g.strides[d] + ki[d] * g.dilations[d] - g.pads[d]);
            if (ii.some((v, d) => v < 0 || v >= inS[d])) continue;
            s += xv[(n * C + c) * prod(inS) + ravel(ii, inS)] * wv[(m * Cg + ci) * prod(k) + kk];
          }
        }
        data.push(s);
      }
    }
  }
  void r;
  return { shape: [N, M, ...out], data };
}

test('Conv 3x3 of 0..24 with ones, with and without padding (ONNX example values)', () => {
  const x = t('f32', [1, 1, 5, 5], iota(25));
  const w = t('f32', [1, 1, 3, 3], new Array(9).fill(1));
  close(run1('Conv', [x, w], { pads: [1, 1, 1, 1] }), 'f32', [1, 1, 5, 5], [
    12, 21, 27, 33, 24, 33, 54, 63, 72, 51, 63, 99, 108, 117, 81, 93, 144, 153, 162, 111, 72, 111, 117, 123, 84]);
  close(run1('Conv', [x, w]), 'f32', [1, 1, 3, 3], [54, 63, 72, 99, 108, 117, 144, 153, 162]);
  // stride 2, pad 1: every other output of the padded result
  close(run1('Conv', [x, w], { pads: [1, 1, 1, 1], strides: [2, 2] }), 'f32', [1, 1, 3, 3], [12, 27, 24, 63, 108, 81, 72, 117, 84]);
});

test('Conv with bias, two output channels, 1-D', () => {
  const x = t('f32', [1, 1, 4], [1, 2, 3, 4]);
  const w = t('f32', [2, 1, 2], [1, 1, 1, -1]);
  const b = t('f32', [2], [10, 20]);
  // channel 0: pairwise sums + 10, channel 1: pairwise differences + 20
  close(run1('Conv', [x, w, b]), 'f32', [1, 2, 3], [13, 15, 17, 19, 19, 19]);
});

test('Conv auto_pad SAME_UPPER / SAME_LOWER / VALID shapes and values', () => {
  const x = t('f32', [1, 1, 4], [1, 2, 3, 4]);
  const w = t('f32', [1, 1, 2], [1, 10]);
  // SAME_UPPER, k=2: total pad 1 at the end -> [1+20, 2+30, 3+40, 4+0]
  close(run1('Conv', [x, w], { auto_pad: 'SAME_UPPER' }), 'f32', [1, 1, 4], [21, 32, 43, 4]);
  // SAME_LOWER puts it at the beginning -> [0+10, 1+20, 2+30, 3+40]
  close(run1('Conv', [x, w], { auto_pad: 'SAME_LOWER' }), 'f32', [1, 1, 4], [10, 21, 32, 43]);
  close(run1('Conv', [x, w], { auto_pad: 'VALID', pads: [5, 5] }), 'f32', [1, 1, 3], [21, 32, 43]);
  assert.equal(infer('Conv', [ty('f32', [1, 3, 7, 7]), ty('f32', [8, 3, 3, 3])], { auto_pad: 'SAME_UPPER', strides: [2, 2] })[0].shape,
    [1, 8, 4, 4]);
});

test('Conv shape rule: symbolic batch propagates, spatial symbols pass through only when size-preserving', () => {
  const [y] = infer('Conv', [ty('f32', ['N', 3, 224, 224]), ty('f32', [64, 3, 7, 7]), ty('f32', [64])],
    { pads: [3, 3, 3, 3], strides: [2, 2] });
  assert.equal(y, ty('f32', ['N', 64, 112, 112]));
  assert.equal(infer('Conv', [ty('f32', ['N', 8, 'H', 'W']), ty('f32', [4, 8, 1, 1])])[0].shape, ['N', 4, 'H', 'W']);
  assert.equal(infer('Conv', [ty('f32', ['N', 8, 'H', 'W']), ty('f32', [4, 8, 3, 3])], { auto_pad: 'SAME_LOWER' })[0].shape,
    ['N', 4, 'H', 'W']);
  assert.equal(infer('Conv', [ty('f32', ['N', 8, 'H', 8]), ty('f32', [4, 8, 3, 3])])[0].shape, ['N', 4, '?0', 6]);
});

test('Conv shape rule errors name the sizes', () => {
  throwsLike(() => infer('Conv', [ty('f32', [1, 3, 8, 8]), ty('f32', [8, 4, 3, 3])]), /3 channels.*4 per group × group 1 = 4/);
  throwsLike(() => infer('Conv', [ty('f32', [1, 4, 8, 8]), ty('f32', [6, 1, 3, 3])], { group: 4 }), /6 output channels, not divisible by group 4/);
  throwsLike(() => infer('Conv', [ty('f32', [1, 3, 8, 8]), ty('f32', [8, 3, 3, 3]), ty('f32', [7])]), /bias B \[7\].*size 8/);
  throwsLike(() => infer('Conv', [ty('f32', [1, 3, 2, 2]), ty('f32', [8, 3, 3, 3])]), /too small for kernel 3/);
  throwsLike(() => infer('Conv', [ty('i32', [1, 3, 8, 8]), ty('i32', [8, 3, 3, 3])]), /dtype i32/);
  throwsLike(() => infer('Conv', [ty('f32', [1, 3, 8, 8]), ty('f32', [8, 3, 3, 3])], { strides: [1] }), /strides has 1 values/);
  throwsLike(() => run1('Conv', [rand('f32', [1, 3, 5, 5]), rand('f32', [2, 2, 3, 3])]), /3 channels/);
});

/** Random Conv cases checked against the naive loop. */
const cases: { name: string; x: number[]; w: number[]; group?: number; strides?: number[]; dilations?: number[]; pads?: number[]; bias?: boolean }[] = [
  { name: 'plain 3x3', x: [2, 3, 9, 8], w: [5, 3, 3, 3], bias: true },
  { name: 'strides+pads+dilation', x: [1, 4, 11, 10], w: [6, 4, 3, 2], strides: [2, 3], dilations: [2, 1], pads: [1, 0, 2, 1], bias: true },
  { name: 'groups 2', x: [2, 6, 7, 7], w: [4, 3, 3, 3], group: 2, pads: [1, 1, 1, 1] },
  { name: 'depthwise', x: [2, 5, 9, 7], w: [5, 1, 3, 3], group: 5, pads: [1, 2, 1, 0], strides: [2, 1], bias: true },
  { name: 'depthwise multiplier 2 dilated', x: [1, 3, 10, 10], w: [6, 1, 3, 3], group: 3, dilations: [2, 3], pads: [2, 2, 2, 2] },
  { name: '1x1 pointwise', x: [2, 7, 6, 5], w: [9, 7, 1, 1], bias: true },
  { name: '1x1 strided', x: [1, 4, 7, 7], w: [3, 4, 1, 1], strides: [2, 2] },
  { name: '1-D', x: [2, 3, 17], w: [4, 3, 5], strides: [2], pads: [2, 1], dilations: [2] },
  { name: '3-D', x: [1, 2, 5, 6, 4], w: [3, 2, 3, 2, 3], pads: [1, 0, 1, 1, 1, 0], strides: [1, 2, 1], bias: true },
  { name: 'many channels (K > one GEMM slice, odd M/N)', x: [1, 37, 9, 11], w: [13, 37, 3, 3], pads: [1, 1, 1, 1] },
];

for (const c of cases) {
  test(`Conv ${c.name} matches the naive 7-loop convolution`, () => {
    const rank = c.x.length - 2;
    const geo: Geo = {
      strides: c.strides ?? new Array(rank).fill(1),
      dilations: c.dilations ?? new Array(rank).fill(1),
      pads: c.pads ?? new Array(2 * rank).fill(0),
    };
    const x = rand('f32', c.x, 3), w = rand('f32', c.w, 4), b = c.bias ? rand('f32', [c.w[0]], 5) : undefined;
    const attrs: Record<string, number | number[]> = { group: c.group ?? 1 };
    if (c.strides) attrs.strides = c.strides;
    if (c.dilations) attrs.dilations = c.dilations;
    if (c.pads) attrs.pads = c.pads;
    const ref = naiveConv(x, w, b, geo, c.group ?? 1);
    const y = run1('Conv', [x, w, b], attrs);
    close(y, 'f32', ref.shape, ref.data, 1e-5);
    assert.equal(infer('Conv', [ty('f32', c.x), ty('f32', c.w)], attrs)[0].shape, ref.shape);
  });
}

test('Conv f64 and f16 compute in their precisions', () => {
  const x = rand('f64', [1, 2, 6, 6], 7), w = rand('f64', [3, 2, 3, 3], 8);
  const ref = naiveConv(x, w, undefined, { strides: [1, 1], dilations: [1, 1], pads: [1, 1, 1, 1] }, 1);
  const y = run1('Conv', [x, w], { pads: [1, 1, 1, 1] });
  assert.ok(y.data instanceof Float64Array);
  close(y, 'f64', ref.shape, ref.data, 1e-12);
  const xh = t('f16', [1, 1, 3], [1, 2, 3]), wh = t('f16', [1, 1, 2], [0.5, 0.25]);
  close(run1('Conv', [xh, wh]), 'f16', [1, 1, 2], [1, 1.75]);
});

test('Conv with a zero-size batch gives an empty output', () => {
  const y = run1('Conv', [t('f32', [0, 2, 4, 4], []), rand('f32', [3, 2, 3, 3])]);
  assert.equal([...y.shape], [0, 3, 2, 2]);
});

/** Naive ConvTranspose: scatter every input sample through the kernel (explicit pads). */
function naiveConvTranspose(x: Tensor, w: Tensor, g: Geo, group: number, outPad: number[], out?: number[]) {
  const [N, C, ...inS] = x.shape;
  const [, Mg, ...k] = w.shape;
  const r = inS.length, M = Mg * group, Cg = C / group;
  const outS = out ?? inS.map((d, i) => g.strides[i] * (d - 1) + outPad[i] + (k[i] - 1) * g.dilations[i] + 1 - g.pads[i] - g.pads[r + i]);
  const data = new Array(N * M * prod(outS)).fill(0);
  const xv = vals(x), wv = vals(w);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
    const grp = Math.floor(c / Cg);
    for (let i = 0; i < prod(inS); i++) {
      const ii = unravel(i, inS);
      for (let mo = 0; mo < Mg; mo++) for (let kk = 0; kk < prod(k); kk++) {
        const ki = unravel(kk, k);
        const oi = ii.map((v, d) => v * g.strides[d] + ki[d] * g.dilations[d] - g.pads[d]);
        if (oi.some((v, d) => v < 0 || v >= outS[d])) continue;
        const m = grp * Mg + mo;
        data[(n * M + m) * prod(outS) + ravel(oi, outS)] += xv[(n * C + c) * prod(inS) + i] * wv[(c * Mg + mo) * prod(k) + kk];
      }
    }
  }
  return { shape: [N, M, ...outS], data };
}

test('ConvTranspose hand-computed 1-D: stride 2 scatters the kernel', () => {
  const x = t('f32', [1, 1, 3], [1, 2, 3]);
  const w = t('f32', [1, 1, 3], [1, 10, 100]);
  // out[i*2 + k] += x[i]*w[k], length 2*(3-1)+3 = 7
  close(run1('ConvTranspose', [x, w], { strides: [2] }), 'f32', [1, 1, 7], [1, 10, 102, 20, 203, 30, 300]);
  // pads crop; output_padding adds a bias-only tail; bias adds everywhere
  close(run1('ConvTranspose', [x, w, t('f32', [1], [0.5])], { strides: [2], pads: [1, 2], output_padding: [1] }),
    'f32', [1, 1, 5], [10.5, 102.5, 20.5, 203.5, 30.5]);
});

test('ConvTranspose output_shape and SAME_UPPER derive the pads', () => {
  const x = rand('f32', [1, 2, 3, 3], 11), w = rand('f32', [2, 3, 3, 3], 12);
  // output_shape 10x8 with strides 3x2: full output 9x7, total padding -1 -> one extra zero row/col at the end
  const y = run1('ConvTranspose', [x, w], { strides: [3, 2], output_shape: [10, 8] });
  const ref = naiveConvTranspose(x, w, { strides: [3, 2], dilations: [1, 1], pads: [0, 0, -1, -1] }, 1, [0, 0], [10, 8]);
  close(y, 'f32', [1, 3, 10, 8], ref.data);
  // SAME_UPPER, stride 2: output = 2*in, total pad = 2*(3-1)+3-6 = 1 -> 0 at the beginning, 1 at the end
  const s = run1('ConvTranspose', [x, w], { strides: [2, 2], auto_pad: 'SAME_UPPER' });
  const refS = naiveConvTranspose(x, w, { strides: [2, 2], dilations: [1, 1], pads: [0, 0, 1, 1] }, 1, [0, 0]);
  close(s, 'f32', [1, 3, 6, 6], refS.data);
  assert.equal(infer('ConvTranspose', [ty('f32', ['N', 2, 3, 3]), ty('f32', [2, 3, 3, 3])], { strides: [2, 2], auto_pad: 'SAME_UPPER' })[0].shape,
    ['N', 3, 6, 6]);
});

test('ConvTranspose groups, dilations, pads, output_padding vs naive scatter (2-D and 3-D)', () => {
  const x = rand('f32', [2, 4, 5, 4], 21), w = rand('f32', [4, 3, 3, 2], 22);
  const attrs = { group: 2, strides: [2, 3], dilations: [2, 1], pads: [1, 0, 2, 1], output_padding: [1, 2] };
  const ref = naiveConvTranspose(x, w, { strides: [2, 3], dilations: [2, 1], pads: [1, 0, 2, 1] }, 2, [1, 2]);
  close(run1('ConvTranspose', [x, w], attrs), 'f32', ref.shape, ref.data);
  assert.equal(infer('ConvTranspose', [ty('f32', [2, 4, 5, 4]), ty('f32', [4, 3, 3, 2])], attrs)[0].shape, ref.shape);
  const x3 = rand('f32', [1, 2, 3, 2, 3], 23), w3 = rand('f32', [2, 2, 2, 3, 2], 24);
  const ref3 = naiveConvTranspose(x3, w3, { strides: [2, 1, 2], dilations: [1, 1, 1], pads: [0, 1, 0, 1, 0, 0] }, 1, [0, 0, 0]);
  close(run1('ConvTranspose', [x3, w3], { strides: [2, 1, 2], pads: [0, 1, 0, 1, 0, 0] }), 'f32', ref3.shape, ref3.data);
});

test('ConvTranspose shape errors name the channel counts', () => {
  throwsLike(() => infer('ConvTranspose', [ty('f32', [1, 3, 4, 4]), ty('f32', [4, 2, 3, 3])]), /3 channels but W \[4,2,3,3\] has 4/);
  throwsLike(() => infer('ConvTranspose', [ty('f32', [1, 3, 4, 4]), ty('f32', [3, 2, 3, 3])], { group: 2 }), /not divisible by group 2/);
});

test.run();
