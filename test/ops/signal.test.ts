/**
 * The signal family (signal.ts): window functions, MelWeightMatrix, DFT (forward, inverse, onesided,
 * irfft, dft_length, axis) and STFT on hand-computed cases; shape rules with known and unknown size
 * inputs; attribute errors naming node, op and attribute.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KilnError } from '../../compiler/errors.ts';
import { getOp, parseNodeAttrs } from '../../compiler/ops/registry.ts';
import { attrErrorLike, close, i64, infer, parse, run1, t, throwsLike, ty } from './compute-helpers.ts';

const size = (n: number) => i64([], [n]);

test('Hann, Hamming and Blackman windows, periodic and symmetric', () => {
  close(run1('HannWindow', [size(4)]), 'f32', [4], [0, 0.5, 1, 0.5]);
  close(run1('HannWindow', [size(3)], { periodic: 0 }), 'f32', [3], [0, 1, 0]);
  close(run1('HammingWindow', [size(2)]), 'f32', [2], [4 / 46, 1]);
  // Blackman symmetric of 3: 0.42 - 0.5 cos(πn) + 0.08 cos(2πn)
  close(run1('BlackmanWindow', [size(3)], { periodic: 0, output_datatype: 11 }), 'f64', [3], [0, 1, 0], 1e-12);
  assert.equal(infer('HannWindow', [ty('i64', [])], {}, 1, [size(7)])[0], ty('f32', [7]));
  assert.equal(infer('HannWindow', [ty('i32', [])])[0], ty('f32', ['?0']));
});

test('MelWeightMatrix: triangles between mel-spaced FFT bins', () => {
  // 1 mel bin, dft_length 8 (5 rows), sample_rate 8, 0..4 Hz: the reference spaces mel+2 points by
  // (high - low)/(mel+2), so they sit at 0, 1/3 and 2/3 of the mel range and map to bins 0, 1, 2
  const y = run1('MelWeightMatrix', [size(1), size(8), size(8), t('f32', [], [0]), t('f32', [], [4])]);
  assert.equal([...y.shape], [5, 1]);
  const toMel = (f: number) => 2595 * Math.log10(1 + f / 700);
  const bins = [0, 1, 2].map((i) => Math.floor((9 * 700 * (10 ** ((i * toMel(4)) / 3 / 2595) - 1)) / 8));
  assert.equal(bins, [0, 1, 2]);
  close(y, 'f32', [5, 1], [0, 1, 0, 0, 0]);
  // 2 mel bins over 0..4000 Hz at 16 kHz, dft_length 16: rising and falling edges
  const z = run1('MelWeightMatrix', [size(2), size(16), size(16000), t('f32', [], [0]), t('f32', [], [4000])]);
  assert.equal([...z.shape], [9, 2]);
});

test('DFT forward, onesided, inverse, irfft and dft_length', () => {
  const x = t('f32', [4, 1], [1, 2, 3, 4]);
  // X[k] = Σ x[t] e^{-iπkt/2}: [10, -2+2i, -2, -2-2i]
  close(run1('DFT', [x, undefined, i64([], [0])]), 'f32', [4, 2], [10, 0, -2, 2, -2, 0, -2, -2]);
  close(run1('DFT', [x, undefined, i64([], [0])], { onesided: 1 }), 'f32', [3, 2], [10, 0, -2, 2, -2, 0]);
  // inverse of the full spectrum gives the signal back (complex, zero imaginary part)
  const spec = t('f32', [4, 2], [10, 0, -2, 2, -2, 0, -2, -2]);
  close(run1('DFT', [spec, undefined, i64([], [0])], { inverse: 1 }), 'f32', [4, 2], [1, 0, 2, 0, 3, 0, 4, 0]);
  // irfft: the half spectrum [10, -2+2i, -2] rebuilds the real signal of length 2·(3-1) = 4
  close(run1('DFT', [t('f32', [3, 2], [10, 0, -2, 2, -2, 0]), undefined, i64([], [0])], { inverse: 1, onesided: 1 }), 'f32', [4, 1], [1, 2, 3, 4]);
  // dft_length 2 truncates to [1, 2]: [3, -1]; the default axis is -2
  close(run1('DFT', [x, i64([], [2])]), 'f32', [2, 2], [3, 0, -1, 0]);
  // batch of 2 along axis 1
  close(run1('DFT', [t('f64', [1, 2, 2, 1], [1, 1, 1, -1]), undefined, i64([], [2])]), 'f64', [1, 2, 2, 2], [2, 0, 0, 0, 0, 0, 2, 0]);
});

test('DFT shape rule and errors', () => {
  assert.equal(infer('DFT', [ty('f32', [1, 10, 10, 1])])[0], ty('f32', [1, 10, 10, 2]));
  assert.equal(infer('DFT', [ty('f32', [1, 10, 10, 1]), undefined, ty('i64', [])], { onesided: 1 }, 1, [undefined, undefined, i64([], [1])])[0], ty('f32', [1, 6, 10, 2]));
  assert.equal(infer('DFT', [ty('f32', [1, 6, 10, 2]), undefined, ty('i64', [])], { onesided: 1, inverse: 1 }, 1, [undefined, undefined, i64([], [1])])[0], ty('f32', [1, 10, 10, 1]));
  // axis known only at run time: the signal axes become symbolic when the length may change
  assert.equal(infer('DFT', [ty('f32', [2, 8, 1]), undefined, ty('i64', [])], { onesided: 1 })[0], ty('f32', ['?0', '?1', 2]));
  throwsLike(() => run1('DFT', [t('f32', [4, 1], [1, 2, 3, 4]), undefined, i64([], [1])]), /complex axis/);
  throwsLike(() => run1('DFT', [t('f32', [2, 2], [1, 2, 3, 4]), undefined, i64([], [0])], { onesided: 1 }), /needs a real input/);
  attrErrorLike(() => parse('DFT', { onesided: 2 }), 'onesided', /one of 0, 1/);
});

test('STFT: frames, window and onesided bins', () => {
  // signal 1..6, frame_length 4, step 2: frames [1..4], [3..6]; DFT bin 0 is the sum, bin 2 alternates
  const x = t('f32', [1, 6, 1], [1, 2, 3, 4, 5, 6]);
  close(run1('STFT', [x, i64([], [2]), undefined, i64([], [4])]), 'f32', [1, 2, 3, 2],
    [10, 0, -2, 2, -2, 0, 18, 0, -2, 2, -2, 0]);
  // a window of [1, 0, 0, 0] keeps the first sample of each frame in every bin
  const w = t('f32', [4], [1, 0, 0, 0]);
  close(run1('STFT', [x, i64([], [2]), w], { onesided: 0 }), 'f32', [1, 2, 4, 2], [1, 0, 1, 0, 1, 0, 1, 0, 3, 0, 3, 0, 3, 0, 3, 0]);
  assert.equal(infer('STFT', [ty('f32', [1, 128, 1]), ty('i64', []), ty('f32', [16])], {}, 1, [undefined, i64([], [8])])[0], ty('f32', [1, 15, 9, 2]));
  throwsLike(() => run1('STFT', [x, i64([], [2]), w, i64([], [3])]), /window length 4 differs/);
});

test('attribute errors name node, op and attribute', () => {
  for (const [op, attrs, attr] of [
    ['HannWindow', { periodic: { kind: 'int', value: 3 } }, 'periodic'],
    ['MelWeightMatrix', { output_datatype: { kind: 'int', value: 8 } }, 'output_datatype'],
    ['STFT', { frame_step: { kind: 'int', value: 3 } }, 'frame_step'],
  ] as const) {
    try {
      parseNodeAttrs(getOp(op), attrs, 'n1');
      assert.unreachable(`${op}: expected an error`);
    } catch (e) {
      assert.instance(e, KilnError);
      const place = (e as KilnError).place;
      assert.equal([place.node, place.op, place.attribute], ['n1', op, attr]);
    }
  }
});

test.run();
