/**
 * The Reduce* family: hand-computed values for every reduction, axes as an input (negative, unsorted,
 * absent, empty with noop_with_empty_axes), keepdims, empty-set identities, integer and i64 (bigint)
 * arithmetic, bool Max/Min, NaN propagation, shape rules with known and unknown axes, and a
 * cross-check against a direct loop on random data.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { close, i64, infer, rand, run1, t, throwsLike, ty, vals } from './compute-helpers.ts';

const x23 = () => t('f32', [2, 3], [1, -2, 3, 4, 5, -6]);
const axes = (...a: number[]) => i64([a.length], a);

test('each reduction over axis 1, keepdims default', () => {
  const cases: [string, number[]][] = [
    ['ReduceSum', [2, 3]],
    ['ReduceMean', [2 / 3, 1]],
    ['ReduceMax', [3, 5]],
    ['ReduceMin', [-2, -6]],
    ['ReduceProd', [-6, -120]],
    ['ReduceL1', [6, 15]],
    ['ReduceL2', [Math.sqrt(14), Math.sqrt(77)]],
    ['ReduceSumSquare', [14, 77]],
    ['ReduceLogSum', [Math.log(2), Math.log(3)]],
    ['ReduceLogSumExp', [Math.log(Math.exp(1) + Math.exp(-2) + Math.exp(3)), Math.log(Math.exp(4) + Math.exp(5) + Math.exp(-6))]],
  ];
  for (const [op, exp] of cases) close(run1(op, [x23(), axes(1)]), 'f32', [2, 1], exp, 1e-6);
});

test('axes absent reduces all; keepdims=0; negative and unsorted axes', () => {
  close(run1('ReduceSum', [x23()]), 'f32', [1, 1], [5]);
  close(run1('ReduceSum', [x23()], { keepdims: 0 }), 'f32', [], [5]);
  close(run1('ReduceMax', [x23(), axes(-2)], { keepdims: 0 }), 'f32', [3], [4, 5, 3]);
  const x = rand('f32', [2, 3, 4], 5);
  const a = run1('ReduceSum', [x, axes(2, 0)], { keepdims: 0 });
  const xv = vals(x);
  const exp = [0, 1, 2].map((j) => [0, 1].reduce((s, i) => s + [0, 1, 2, 3].reduce((u, k) => u + xv[i * 12 + j * 4 + k], 0), 0));
  close(a, 'f32', [3], exp, 1e-6);
});

test('empty axes: reduce everything, or identity with noop_with_empty_axes', () => {
  close(run1('ReduceSum', [x23(), axes()]), 'f32', [1, 1], [5]);
  const y = run1('ReduceSum', [x23(), axes()], { noop_with_empty_axes: 1 });
  close(y, 'f32', [2, 3], [1, -2, 3, 4, 5, -6]);
  assert.is.not(y.data, x23().data);
});

test('empty-set reductions give the identity', () => {
  const e = t('f32', [2, 0, 3], []);
  const cases: [string, number][] = [
    ['ReduceSum', 0], ['ReduceProd', 1], ['ReduceMax', -Infinity], ['ReduceMin', Infinity], ['ReduceMean', NaN],
    ['ReduceL1', 0], ['ReduceL2', 0], ['ReduceSumSquare', 0], ['ReduceLogSum', -Infinity], ['ReduceLogSumExp', -Infinity],
  ];
  for (const [op, v] of cases) close(run1(op, [e, axes(1)], { keepdims: 1 }), 'f32', [2, 1, 3], new Array(6).fill(v));
  close(run1('ReduceMax', [t('i32', [0], []), axes(0)], { keepdims: 0 }), 'i32', [], [-2147483648]);
  close(run1('ReduceMin', [t('u8', [0], []), axes(0)], { keepdims: 0 }), 'u8', [], [255]);
  const big = run1('ReduceMax', [i64([0], []), axes(0)], { keepdims: 0 });
  assert.equal(Array.from(big.data as BigInt64Array), [-(2n ** 63n)]);
  // a zero-size kept axis gives an empty output
  close(run1('ReduceSum', [t('f32', [0, 3], []), axes(1)]), 'f32', [0, 1], []);
});

test('i64 reductions are exact in BigInt (and wrap)', () => {
  const big = 2n ** 60n;
  const x = new Tensor('i64', [3], BigInt64Array.of(big, big, 7n));
  const s = run1('ReduceSum', [x], { keepdims: 0 });
  assert.equal(Array.from(s.data as BigInt64Array), [BigInt.asIntN(64, 2n * big + 7n)]);
  const m = run1('ReduceMax', [new Tensor('i64', [3], BigInt64Array.of(big + 1n, big + 3n, big + 2n))], { keepdims: 0 });
  assert.equal(Array.from(m.data as BigInt64Array), [big + 3n]);
  const p = run1('ReduceProd', [i64([2, 2], [3, -4, 5, 6]), axes(0)], { keepdims: 0 });
  assert.equal(Array.from(p.data as BigInt64Array), [15n, -24n]);
  const mean = run1('ReduceMean', [i64([3], [1, 2, 4])], { keepdims: 0 });
  assert.equal(Array.from(mean.data as BigInt64Array), [2n]);
  const ss = run1('ReduceSumSquare', [i64([2], [3, -4])], { keepdims: 0 });
  assert.equal(Array.from(ss.data as BigInt64Array), [25n]);
  const l2 = run1('ReduceL2', [i64([2], [3, -4])], { keepdims: 0 });
  assert.equal(Array.from(l2.data as BigInt64Array), [5n]);
});

test('32-bit integer reductions wrap like C; mean truncates', () => {
  close(run1('ReduceProd', [t('i32', [3], [65536, 65536, 3])], { keepdims: 0 }), 'i32', [], [0]);
  close(run1('ReduceProd', [t('i32', [2], [-3, 5])], { keepdims: 0 }), 'i32', [], [-15]);
  close(run1('ReduceSum', [t('i32', [2], [2147483647, 1])], { keepdims: 0 }), 'i32', [], [-2147483648]);
  close(run1('ReduceMean', [t('i32', [2], [-3, 0])], { keepdims: 0 }), 'i32', [], [-1]);
  close(run1('ReduceSum', [t('u8', [2], [200, 100])], { keepdims: 0 }), 'u8', [], [44]);
});

test('bool Max/Min, NaN propagation, f16 and f64', () => {
  close(run1('ReduceMax', [t('bool', [2, 2], [0, 1, 0, 0]), axes(1)], { keepdims: 0 }), 'bool', [2], [1, 0]);
  close(run1('ReduceMin', [t('bool', [2, 2], [1, 1, 0, 1]), axes(1)], { keepdims: 0 }), 'bool', [2], [1, 0]);
  close(run1('ReduceMax', [t('f32', [3], [1, NaN, 2])], { keepdims: 0 }), 'f32', [], [NaN]);
  close(run1('ReduceMin', [t('f32', [3], [NaN, 1, 2])], { keepdims: 0 }), 'f32', [], [NaN]);
  close(run1('ReduceLogSumExp', [t('f32', [2], [1000, 1000])], { keepdims: 0 }), 'f32', [], [1000 + Math.log(2)]);
  close(run1('ReduceMean', [t('f16', [4], [1, 2, 3, 4])], { keepdims: 0 }), 'f16', [], [2.5]);
  const d = run1('ReduceSum', [t('f64', [2], [1, 1e-17])], { keepdims: 0 });
  assert.ok(d.data instanceof Float64Array);
  assert.is(vals(d)[0], 1 + 1e-17);
});

test('axes given as an attribute (older exports) are honoured', () => {
  close(run1('ReduceMean', [x23()], { axes: [0], keepdims: 0 }), 'f32', [3], [2.5, 1.5, -1.5]);
});

test('shape rules: known axes, unknown axes, symbolic dims, errors', () => {
  assert.equal(infer('ReduceMean', [ty('f32', ['N', 128, 256]), ty('i64', [1])], {}, 1, [undefined, axes(-1)])[0].shape, ['N', 128, 1]);
  assert.equal(infer('ReduceSum', [ty('f32', ['N', 3, 4]), ty('i64', [2])], { keepdims: 0 }, 1, [undefined, axes(0, 2)])[0].shape, [3]);
  assert.equal(infer('ReduceSum', [ty('f32', ['N', 3])])[0].shape, [1, 1]);
  assert.equal(infer('ReduceSum', [ty('f32', ['N', 3]), ty('i64', [0])], { noop_with_empty_axes: 1 }, 1, [undefined, axes()])[0].shape, ['N', 3]);
  // axes known only at run time
  assert.equal(infer('ReduceSum', [ty('f32', [2, 3, 4]), ty('i64', [2])], { keepdims: 0 })[0].shape, ['?0']);
  assert.equal(infer('ReduceSum', [ty('f32', [2, 3, 4]), ty('i64', [1])])[0].shape, ['?0', '?1', '?2']);
  throwsLike(() => infer('ReduceSum', [ty('f32', [2, 3]), ty('i64', [1])], {}, 1, [undefined, axes(2)]), /axes value 2 is out of range for rank 2/);
  throwsLike(() => infer('ReduceSum', [ty('f32', [2, 3]), ty('i64', [2])], {}, 1, [undefined, axes(1, -1)]), /repeat an axis/);
  throwsLike(() => infer('ReduceSum', [ty('f32', [2, 3]), ty('i32', [1])]), /axes must be i64/);
  throwsLike(() => infer('ReduceSum', [ty('bool', [2, 3])]), /dtype bool/);
  throwsLike(() => infer('ReduceSum', [ty('f32', [2, 3]), ty('i64', ['K'])], { keepdims: 0 }), /static length/);
});

test('random 4-D reductions match a direct loop for every axis subset', () => {
  const shape = [2, 3, 4, 5];
  const x = rand('f32', shape, 9);
  const xv = vals(x);
  for (let mask = 1; mask < 16; mask++) {
    const ax = [0, 1, 2, 3].filter((i) => mask & (1 << i));
    const outShape = shape.map((d, i) => (ax.includes(i) ? 1 : d));
    const exp = new Array(outShape.reduce((a, b) => a * b, 1)).fill(-Infinity);
    for (let f = 0; f < 120; f++) {
      const idx = [Math.floor(f / 60), Math.floor(f / 20) % 3, Math.floor(f / 5) % 4, f % 5];
      const o = idx.reduce((acc, v, i) => acc * outShape[i] + (ax.includes(i) ? 0 : v), 0);
      exp[o] = Math.max(exp[o], xv[f]);
    }
    close(run1('ReduceMax', [x, axes(...ax)]), 'f32', outShape, exp);
  }
});

test.run();
