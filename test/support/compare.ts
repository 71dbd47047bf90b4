/** Comparing compiled results with the reference in tests. */
import * as assert from 'uvu/assert';
import type { Tensor } from '../../compiler/ir/tensor.ts';

/** max |got - want| / max |want| over all outputs (f32 tensors of equal lengths). */
export function relativeError(got: readonly Tensor[], want: readonly Tensor[]): number {
  let err = 0, max = 0;
  want.forEach((w, k) => {
    const a = w.data as Float32Array, b = got[k].data as Float32Array;
    assert.is(b.length, a.length);
    for (let i = 0; i < a.length; i++) { max = Math.max(max, Math.abs(a[i])); err = Math.max(err, Math.abs(a[i] - b[i])); }
  });
  return err / (max || 1);
}
