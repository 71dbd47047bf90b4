/**
 * RotaryEmbedding: hand-rotated pairs (halves and interleaved), partial rotation, caches indexed by
 * position_ids, 3-D input split by num_heads, and the attribute / shape errors.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { attrErrorLike, close, i64, infer, parse, run1, t, throwsLike, ty } from './compute-helpers.ts';

// pair 0 turns by 90° (cos 0, sin 1): (a, b) -> (-b, a); pair 1 stays (cos 1, sin 0)
const cos = t('f32', [1, 1, 2], [0, 1]), sin = t('f32', [1, 1, 2], [1, 0]);
const x = t('f32', [1, 1, 1, 4], [1, 2, 3, 4]);

test('pairs are the two halves (x[i], x[i + R/2]) or, interleaved, (x[2i], x[2i+1])', () => {
  close(run1('RotaryEmbedding', [x, cos, sin]), 'f32', [1, 1, 1, 4], [-3, 2, 1, 4]);
  close(run1('RotaryEmbedding', [x, cos, sin], { interleaved: 1 }), 'f32', [1, 1, 1, 4], [-2, 1, 3, 4]);
});

test('rotary_embedding_dim rotates only the leading channels of each head', () => {
  const c1 = t('f32', [1, 1, 1], [0]), s1 = t('f32', [1, 1, 1], [1]);
  close(run1('RotaryEmbedding', [x, c1, s1], { rotary_embedding_dim: 2 }), 'f32', [1, 1, 1, 4], [-2, 1, 3, 4]);
});

test('position_ids index the caches; a 3-D input is split into num_heads heads', () => {
  // caches of 2 positions, half-width 1: position 0 is the identity, position 1 turns by 90°
  const pc = t('f32', [2, 1], [1, 0]), ps = t('f32', [2, 1], [0, 1]);
  const x3 = t('f32', [1, 2, 4], [1, 2, 3, 4, 5, 6, 7, 8]);
  const y = run1('RotaryEmbedding', [x3, pc, ps, i64([1, 2], [0, 1])], { num_heads: 2 });
  close(y, 'f32', [1, 2, 4], [1, 2, 3, 4, -6, 5, -8, 7]);
  // the same rotation of a 4-D [batch, heads, seq, head] input
  const x4 = t('f32', [1, 2, 2, 2], [1, 2, 5, 6, 3, 4, 7, 8]);
  close(run1('RotaryEmbedding', [x4, pc, ps, i64([1, 2], [0, 1])]), 'f32', [1, 2, 2, 2], [1, 2, -6, 5, 3, 4, -8, 7]);
  throwsLike(() => run1('RotaryEmbedding', [x4, pc, ps, i64([1, 2], [0, 2])]), /position id 2 is out of range for caches of 2 positions/);
});

test('shape rule and errors', () => {
  assert.equal(infer('RotaryEmbedding', [ty('f16', ['B', 8, 'S', 64]), ty('f16', [4096, 32]), ty('f16', [4096, 32]), ty('i64', ['B', 'S'])])[0],
    ty('f16', ['B', 8, 'S', 64]));
  attrErrorLike(() => parse('RotaryEmbedding', { rotary_embedding_dim: 3 }), 'rotary_embedding_dim', /must be even/);
  attrErrorLike(() => parse('RotaryEmbedding', { num_heads: -1 }), 'num_heads', /must be >= 0/);
  throwsLike(() => infer('RotaryEmbedding', [ty('f32', [1, 3, 32]), ty('f32', [1, 3, 16]), ty('f32', [1, 3, 16])]),
    /num_heads is required for a 3-D X/);
  throwsLike(() => infer('RotaryEmbedding', [ty('f32', [1, 3, 30]), ty('f32', [1, 3, 4]), ty('f32', [1, 3, 4])], { num_heads: 4 }),
    /num_heads 4 does not divide the hidden size 30/);
  throwsLike(() => infer('RotaryEmbedding', [ty('f32', [1, 2, 3, 8]), ty('f32', [1, 3, 4]), ty('f32', [1, 3, 4])], { rotary_embedding_dim: 10 }),
    /rotary_embedding_dim 10 must be even and at most head_size 8/);
  throwsLike(() => infer('RotaryEmbedding', [ty('f32', [1, 2, 3, 8]), ty('f32', [50, 2]), ty('f32', [50, 4]), ty('i64', [1, 3])]),
    /cos_cache \[50,2\] must be \[max_position, rotary_dim\/2\] with rotary_dim 8/);
  throwsLike(() => infer('RotaryEmbedding', [ty('f32', [1, 2, 3, 8]), ty('f32', [2, 3, 4]), ty('f32', [2, 3, 4])]),
    /cos_cache \[2,3,4\] must be \[batch, seq, rotary_dim\/2\]/);
  throwsLike(() => infer('RotaryEmbedding', [ty('f32', [1, 2, 3, 8]), ty('f32', [50, 4]), ty('f32', [50, 4]), ty('i32', [1, 3])]),
    /position_ids must be i64/);
});

test.run();
