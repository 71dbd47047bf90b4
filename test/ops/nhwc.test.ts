/**
 * Tests of the channels-last ops (compiler/ops/nhwc.ts): each kiln.*_nhwc op computes, on NHWC data,
 * exactly what its NCHW op computes (checked against the NCHW kernel on transposed data, and against
 * hand values for a tiny Conv), with the permuted shape rule and a required layout attribute.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../../compiler/ops/all.ts';
import type { AttrValue, Attrs } from '../../compiler/ir/graph.ts';
import { Tensor, readNumbers } from '../../compiler/ir/tensor.ts';
import { AttrError, AttrReader, getOp } from '../../compiler/ops/registry.ts';
import { transposeTensor } from '../../compiler/ops/layout.ts';
import { NHWC_VARIANT, TO_NCHW, TO_NHWC } from '../../compiler/ops/nhwc.ts';

const layout: Attrs = { layout: { kind: 'string', value: 'NHWC' } };
const ints = (value: number[]): AttrValue => ({ kind: 'ints', value });
const ctx = { value: () => undefined, freshDim: () => 'd' };
const seq = (shape: number[], scale = 0.1) => {
  const n = shape.reduce((a, b) => a * b, 1);
  return Tensor.fromNumbers('f32', shape, Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) * scale * (i % 7 + 1)));
};

/** Runs NCHW op `base` and its NHWC variant on the same data; asserts identical results and shapes. */
function sameAsNchw(base: string, attrs: Attrs, inputs: (Tensor | undefined)[]): Tensor {
  const nchw = getOp(base);
  const nhwc = getOp(NHWC_VARIANT[base].name);
  const acts = NHWC_VARIANT[base].activations;
  const want = nchw.run(inputs, nchw.parseAttrs(new AttrReader(attrs)), 1)[0];
  const a = nhwc.parseAttrs(new AttrReader({ ...attrs, ...layout }));
  const nhwcInputs = inputs.map((t, i) => (t && acts.includes(i) ? transposeTensor(t, TO_NHWC) : t));
  const got = nhwc.run(nhwcInputs, a, 1)[0];
  assert.equal(got.shape, TO_NHWC.map((d) => want.shape[d]));
  assert.equal(transposeTensor(got, TO_NCHW).data, want.data);
  const [type] = nhwc.inferTypes(nhwcInputs.map((t) => (t ? { dtype: t.dtype, shape: t.shape } : undefined)), a, ctx, 1);
  assert.equal(type, { dtype: got.dtype, shape: got.shape });
  return got;
}

test('kiln.conv_nhwc: a 1x1 conv by hand on NHWC data', () => {
  // X [1,1,2,2] as NHWC: pixel (0,0)=[1,2], (0,1)=[3,4]; W [2 out, 2 in]: out0 = x0 + x1, out1 = 2*x0 - x1
  const x = Tensor.fromNumbers('f32', [1, 1, 2, 2], [1, 2, 3, 4]);
  const w = Tensor.fromNumbers('f32', [2, 2, 1, 1], [1, 1, 2, -1]);
  const b = Tensor.fromNumbers('f32', [2], [10, 20]);
  const op = getOp('kiln.conv_nhwc');
  const [y] = op.run([x, w, b], op.parseAttrs(new AttrReader({ ...layout, kernel_shape: ints([1, 1]) })), 1);
  assert.equal(y.shape, [1, 1, 2, 2]);
  assert.equal([...readNumbers(y)], [13, 20, 17, 22]);
});

test('kiln.conv_nhwc equals Conv: strided, padded, grouped, dilated', () => {
  sameAsNchw('Conv', { pads: ints([1, 1, 1, 1]), strides: ints([2, 2]) }, [seq([2, 4, 5, 6]), seq([6, 4, 3, 3]), seq([6])]);
  sameAsNchw('Conv', { group: { kind: 'int', value: 2 }, dilations: ints([2, 1]) }, [seq([1, 4, 7, 5]), seq([4, 2, 2, 2]), undefined]);
  sameAsNchw('Conv', { group: { kind: 'int', value: 4 }, pads: ints([1, 1, 1, 1]) }, [seq([1, 4, 5, 5]), seq([4, 1, 3, 3]), seq([4])]);
});

test('pool and batch-norm variants equal their NCHW ops', () => {
  sameAsNchw('MaxPool', { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) }, [seq([1, 3, 7, 7])]);
  sameAsNchw('AveragePool', { kernel_shape: ints([2, 2]), strides: ints([2, 2]) }, [seq([2, 3, 4, 6])]);
  sameAsNchw('GlobalAveragePool', {}, [seq([2, 5, 3, 3])]);
  sameAsNchw('GlobalMaxPool', {}, [seq([1, 5, 3, 2])]);
  const c = 3;
  const pos = (v: number[]) => Tensor.fromNumbers('f32', [c], v);
  sameAsNchw('BatchNormalization', { epsilon: { kind: 'float', value: Math.fround(1e-3) } },
    [seq([2, c, 3, 4]), pos([1, 2, 0.5]), pos([0, 0.1, -0.2]), pos([0.3, -0.1, 0]), pos([1, 0.5, 2])]);
});

test('shape rule permutes around the NCHW rule; 4-D inputs and the layout attribute are required', () => {
  const op = getOp('kiln.maxpool_nhwc');
  const a = op.parseAttrs(new AttrReader({ ...layout, kernel_shape: ints([2, 2]), strides: ints([2, 2]) }));
  assert.equal(op.inferTypes([{ dtype: 'f32', shape: ['N', 8, 6, 16] }], a, ctx, 1), [{ dtype: 'f32', shape: ['N', 4, 3, 16] }]);
  assert.throws(() => op.inferTypes([{ dtype: 'f32', shape: [8, 6, 16] }], a, ctx, 1), /input 0 must be 4-D \[N,H,W,C\]/);
  try {
    op.parseAttrs(new AttrReader({ layout: { kind: 'string', value: 'NCHW' }, kernel_shape: ints([2, 2]) }));
    assert.unreachable('layout NCHW must be refused');
  } catch (e) {
    assert.instance(e, AttrError);
    assert.is((e as AttrError).attribute, 'layout');
  }
  assert.throws(() => op.parseAttrs(new AttrReader({ kernel_shape: ints([2, 2]) })), /required attribute is missing/);
});

test.run();
