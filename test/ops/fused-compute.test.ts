/**
 * Tests of the fused compute ops kiln.conv / kiln.gemm / kiln.matmul and their epilogues: each step's
 * semantics on hand-picked values (NaN, -0, bounds, saturation), step order, bias and residual, agreement
 * with the unfused ops run one after the other, f16 storage, inputs left untouched, and the shape rules'
 * and attribute parser's errors.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AttrValue } from '../../compiler/ir/graph.ts';
import type { Tensor } from '../../compiler/ir/tensor.ts';
import { type Attrs, attrErrorLike, close, infer, parse, rand, run1, t, throwsLike, ty, vals } from './compute-helpers.ts';

const strs = (...value: string[]): AttrValue => ({ kind: 'strings', value });
const f = (value: number): AttrValue => ({ kind: 'float', value });

/** kiln.matmul([[1]], [v]) with `epilogue`: applies the epilogue to the values v. */
function epi(v: number[], steps: string[], extra: Attrs = {}, residual?: number[]): Tensor {
  const inputs: (Tensor | undefined)[] = [t('f32', [1, 1], [1]), t('f32', [1, v.length], v)];
  if (residual) inputs.push(undefined, t('f32', [1, v.length], residual));
  return run1('kiln.matmul', inputs, { epilogue: strs(...steps), ...extra });
}

test('relu: negatives and -0 become +0, NaN stays NaN', () => {
  const y = epi([-2, -0, 0, 3, NaN], ['relu']);
  close(y, 'f32', [1, 5], [0, 0, 0, 3, NaN]);
  assert.ok(Object.is(vals(y)[1], 0), '-0 becomes +0');
});

test('clip: bounds from clip_min/clip_max, NaN stays, lo > hi gives hi, omitted bounds do not clip', () => {
  close(epi([-1, 3, 7, NaN], ['clip'], { clip_min: f(0), clip_max: f(6) }), 'f32', [1, 4], [0, 3, 6, NaN]);
  close(epi([-1, 3, 7], ['clip'], { clip_min: f(5), clip_max: f(1) }), 'f32', [1, 3], [1, 1, 1]);
  close(epi([-100, 100], ['clip'], { clip_max: f(6) }), 'f32', [1, 2], [-100, 6]);
});

test('sigmoid, hardswish, gelu and gelu_tanh on hand values (no overflow at ±1000)', () => {
  close(epi([0, 2, -2, -1000, 1000], ['sigmoid']), 'f32', [1, 5], [0.5, 0.8807971, 0.1192029, 0, 1], 1e-6);
  close(epi([-4, -1, 0, 1, 4], ['hardswish']), 'f32', [1, 5], [0, -1 / 3, 0, 2 / 3, 4], 1e-6);
  close(epi([0, 1, -1, 3], ['gelu']), 'f32', [1, 4], [0, 0.8413447, -0.1586553, 2.9959502], 1e-6);
  close(epi([1, -1], ['gelu_tanh']), 'f32', [1, 2], [0.8411920, -0.1588080], 1e-6);
});

test('steps run in order: add then relu differs from relu then add', () => {
  close(epi([-2, 5], ['add', 'relu'], {}, [1, -10]), 'f32', [1, 2], [0, 0]);
  close(epi([-2, 5], ['relu', 'add'], {}, [1, -10]), 'f32', [1, 2], [1, -5]);
  close(epi([-2, 8], ['relu', 'clip', 'add'], { clip_max: f(6) }, [0.5, 0.5]), 'f32', [1, 2], [0.5, 6.5]);
});

test('kiln.matmul bias along the last axis: [N], [1,1,N] and a single value, before the steps', () => {
  const a = t('f32', [1, 2, 2], [1, 2, 3, 4]);
  const b = t('f32', [2, 2], [1, 0, 0, 1]);
  close(run1('kiln.matmul', [a, b, t('f32', [2], [10, -20])]), 'f32', [1, 2, 2], [11, -18, 13, -16]);
  close(run1('kiln.matmul', [a, b, t('f32', [1, 1, 2], [10, -20])], { epilogue: strs('relu') }), 'f32', [1, 2, 2], [11, 0, 13, 0]);
  close(run1('kiln.matmul', [a, b, t('f32', [1], [-2.5])], { epilogue: strs('relu') }), 'f32', [1, 2, 2], [0, 0, 0.5, 1.5]);
});

test('kiln.conv = Conv then Add(residual) then Relu, on a grouped strided padded conv with bias', () => {
  const x = rand('f32', [2, 4, 5, 5], 3), w = rand('f32', [6, 2, 3, 3], 4), b = rand('f32', [6], 5);
  const attrs: Attrs = { group: 2, pads: [1, 0, 1, 2], strides: [2, 1] };
  const ref = run1('Conv', [x, w, b], attrs);
  const r = rand('f32', [...ref.shape], 6);
  const expected = run1('Relu', [run1('Add', [ref, r])]);
  const rBefore = vals(r), xBefore = vals(x);
  const y = run1('kiln.conv', [x, w, b, r], { ...attrs, epilogue: strs('add', 'relu') });
  close(y, 'f32', [...expected.shape], vals(expected), 1e-6);
  assert.equal(vals(r), rBefore, 'residual untouched');
  assert.equal(vals(x), xBefore, 'input untouched');
});

test('kiln.conv on f16 storage matches Conv then Relu in f16; depthwise and 1x1 paths too', () => {
  for (const [cin, group, k] of [[3, 1, 3], [4, 4, 3], [3, 1, 1]] as const) {
    const x = rand('f16', [1, cin, 4, 4], 7), w = rand('f16', [cin === 4 ? 4 : 2, cin / group, k, k], 8);
    const expected = run1('Relu', [run1('Conv', [x, w], { group })]);
    const y = run1('kiln.conv', [x, w], { group, epilogue: strs('relu') });
    close(y, 'f16', [...expected.shape], vals(expected), 0);
  }
});

test('kiln.gemm = Gemm (transB, alpha, beta, broadcast C) then Sigmoid', () => {
  const a = rand('f32', [3, 4], 1), b = rand('f32', [5, 4], 2), c = rand('f32', [1, 5], 3);
  const attrs: Attrs = { transB: 1, alpha: 0.5, beta: 2.0 };
  const expected = run1('Sigmoid', [run1('Gemm', [a, b, c], attrs)]);
  close(run1('kiln.gemm', [a, b, c], { ...attrs, epilogue: strs('sigmoid') }), 'f32', [3, 5], vals(expected), 1e-6);
});

test('f64 tensors stay f64 through the epilogue', () => {
  const y = run1('kiln.matmul', [t('f64', [1, 1], [1]), t('f64', [1, 2], [-1e-300, 2])], { epilogue: strs('relu') });
  assert.is(y.dtype, 'f64');
  assert.equal(vals(y), [0, 2]);
});

test('shape rules: the base op rule, then the residual type and bias shape', () => {
  assert.equal(infer('kiln.conv', [ty('f32', ['N', 3, 8, 8]), ty('f32', [4, 3, 3, 3]), undefined, ty('f32', ['N', 4, 6, 6])],
    { epilogue: strs('add', 'relu') }), [ty('f32', ['N', 4, 6, 6])]);
  assert.equal(infer('kiln.matmul', [ty('f32', [2, 'S', 8]), ty('f32', [8, 16]), ty('f32', [16])], { epilogue: strs('gelu') }),
    [ty('f32', [2, 'S', 16])]);
  assert.equal(infer('kiln.gemm', [ty('f32', [2, 8]), ty('f32', [16, 8]), ty('f32', [16])], { transB: 1, epilogue: strs('relu') }),
    [ty('f32', [2, 16])]);
  throwsLike(() => infer('kiln.conv', [ty('f32', [1, 3, 8, 8]), ty('f32', [4, 3, 3, 3]), undefined, ty('f32', [1, 4, 1, 1])],
    { epilogue: strs('add') }), /residual f32\[1,4,1,1\] must have the output's type f32\[1,4,6,6\]/);
  throwsLike(() => infer('kiln.conv', [ty('f32', [1, 3, 8, 8]), ty('f32', [4, 3, 3, 3])], { epilogue: strs('add') }),
    /'add' step but the residual input \(input 3\) is omitted/);
  throwsLike(() => infer('kiln.gemm', [ty('f32', [2, 8]), ty('f32', [8, 4]), undefined, ty('f32', [2, 4])], { epilogue: strs('relu') }),
    /residual input \(input 3\) is given but the epilogue has no 'add' step/);
  throwsLike(() => infer('kiln.matmul', [ty('f32', [2, 8]), ty('f32', [8, 4]), ty('f32', [2, 1])]),
    /bias \[2,1\] must broadcast along the last axis of the output \[2,4\]/);
  throwsLike(() => infer('kiln.matmul', [ty('i32', [2, 8]), ty('i32', [8, 4])]), /dtype i32/);
  throwsLike(() => infer('kiln.conv', [ty('f32', [1, 3, 8, 8]), ty('f32', [4, 2, 3, 3])]), /Conv: X has 3 channels/);
});

test('epilogue attribute errors name the attribute', () => {
  attrErrorLike(() => parse('kiln.conv', { epilogue: strs('swish') }), 'epilogue', /unknown step 'swish'/);
  attrErrorLike(() => parse('kiln.matmul', { epilogue: strs('add', 'relu', 'add') }), 'epilogue', /at most one 'add'/);
  attrErrorLike(() => parse('kiln.gemm', { epilogue: strs('clip'), clip_min: f(NaN) }), 'clip_min', /NaN/);
});

test('no epilogue: the plain op result (kiln.matmul with bias only)', () => {
  const y = run1('kiln.matmul', [t('f32', [2], [1, 2]), t('f32', [2, 3], [1, 2, 3, 4, 5, 6]), t('f32', [3], [1, 1, 1])]);
  close(y, 'f32', [3], [10, 13, 16]);
});

test.run();
