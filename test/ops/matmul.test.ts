/**
 * MatMul, Gemm, Einsum and the GEMM core: hand-computed products, numpy broadcasting and 1-D rules,
 * integer wrap-around, the shape rules, and cross-checks of sgemm/dgemm (odd sizes, edge tiles,
 * several K/N/M blocks, transposed views) and of Einsum against explicit loops.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { dense, dgemm, sgemm, KC, MC, NC } from '../../compiler/ops/gemm-core.ts';
import { attrErrorLike, close, i64, infer, parse, rand, rng, run1, t, throwsLike, ty, vals } from './compute-helpers.ts';

/** Naive batched matmul over flattened batch index maps. */
function naiveMatmul(a: number[], b: number[], M: number, K: number, N: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += a[i * K + k] * b[k * N + j];
    out.push(s);
  }
  return out;
}

test('MatMul 2-D by hand', () => {
  const a = t('f32', [2, 3], [1, 2, 3, 4, 5, 6]);
  const b = t('f32', [3, 2], [7, 8, 9, 10, 11, 12]);
  close(run1('MatMul', [a, b]), 'f32', [2, 2], [58, 64, 139, 154]);
});

test('MatMul 1-D operands: vector·vector, vector·matrix, matrix·vector, batched', () => {
  const v = t('f32', [3], [1, 2, 3]);
  const m = t('f32', [3, 2], [1, 0, 0, 1, 1, 1]);
  close(run1('MatMul', [v, v]), 'f32', [], [14]);
  close(run1('MatMul', [v, m]), 'f32', [2], [4, 5]);
  close(run1('MatMul', [t('f32', [2, 3], [1, 2, 3, 4, 5, 6]), v]), 'f32', [2], [14, 32]);
  // [2,3,2]^T-ish: 1-D left operand against a batch
  const batch = t('f32', [2, 3, 2], [1, 0, 0, 1, 1, 1, 2, 0, 0, 2, 2, 2]);
  close(run1('MatMul', [v, batch]), 'f32', [2, 2], [4, 5, 8, 10]);
  assert.equal(infer('MatMul', [ty('f32', [3]), ty('f32', ['B', 3, 2])])[0].shape, ['B', 2]);
  assert.equal(infer('MatMul', [ty('f32', [3]), ty('f32', [3])])[0].shape, []);
});

test('MatMul broadcasts batch dims (numpy rules) and matches a naive loop', () => {
  const a = rand('f32', [2, 1, 5, 7], 1), b = rand('f32', [3, 7, 4], 2);
  const y = run1('MatMul', [a, b]);
  const av = vals(a), bv = vals(b), exp: number[] = [];
  for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) {
    exp.push(...naiveMatmul(av.slice(i * 35, i * 35 + 35), bv.slice(j * 28, j * 28 + 28), 5, 7, 4));
  }
  close(y, 'f32', [2, 3, 5, 4], exp, 1e-5);
  // shared weights: A's batch folds into M
  const x = rand('f32', [3, 6, 9], 3), w = rand('f32', [9, 5], 4);
  close(run1('MatMul', [x, w]), 'f32', [3, 6, 5], naiveMatmul(vals(x), vals(w), 18, 9, 5), 1e-5);
  // weights with a leading 1 batch dim broadcast too
  close(run1('MatMul', [x, t('f32', [1, 9, 5], vals(w))]), 'f32', [3, 6, 5], naiveMatmul(vals(x), vals(w), 18, 9, 5), 1e-5);
});

test('MatMul shape rule: symbolic dims propagate, K mismatch names both shapes', () => {
  assert.equal(infer('MatMul', [ty('f32', ['N', 128, 256]), ty('f32', [256, 1024])])[0], ty('f32', ['N', 128, 1024]));
  assert.equal(infer('MatMul', [ty('f32', ['N', 4, 'S', 64]), ty('f32', ['N', 4, 64, 'S'])])[0].shape, ['N', 4, 'S', 'S']);
  assert.equal(infer('MatMul', [ty('f32', [1, 'S', 8]), ty('f32', [5, 8, 2])])[0].shape, [5, 'S', 2]);
  throwsLike(() => infer('MatMul', [ty('f32', [2, 3]), ty('f32', [4, 5])]), /A \[2,3\] has K=3, B \[4,5\] has K=4/);
  throwsLike(() => infer('MatMul', [ty('f32', [2, 2, 3]), ty('f32', [3, 3, 5])]), /do not broadcast/);
  throwsLike(() => infer('MatMul', [ty('f32', []), ty('f32', [3])]), /rank >= 1/);
  throwsLike(() => infer('MatMul', [ty('f32', [2, 3]), ty('f64', [3, 5])]), /dtypes differ/);
  throwsLike(() => infer('MatMul', [ty('i8', [2, 3]), ty('i8', [3, 5])]), /dtype i8/);
});

test('MatMul integer types: exact, wrapping like C', () => {
  close(run1('MatMul', [t('i32', [1, 2], [3, -4]), t('i32', [2, 1], [5, 6])]), 'i32', [1, 1], [-9]);
  // 65536 * 65536 wraps to 0 in 32 bits; + 3*1
  close(run1('MatMul', [t('i32', [1, 2], [65536, 3]), t('i32', [2, 1], [65536, 1])]), 'i32', [1, 1], [3]);
  close(run1('MatMul', [t('u32', [1, 1], [4294967295]), t('u32', [1, 1], [2])]), 'u32', [1, 1], [4294967294]);
  const big = 2n ** 40n;
  const y = run1('MatMul', [new Tensor('i64', [1, 2], BigInt64Array.of(big, 1n)), new Tensor('i64', [2, 1], BigInt64Array.of(big, 7n))]);
  assert.equal(Array.from(y.data as BigInt64Array), [BigInt.asIntN(64, big * big + 7n)]);
  const y2 = run1('MatMul', [i64([2, 2], [1, 2, 3, 4]), i64([2], [5, 6])]);
  assert.equal(Array.from(y2.data as BigInt64Array), [17n, 39n]);
});

test('MatMul f16/bf16 through f32, f64 in f64', () => {
  close(run1('MatMul', [t('f16', [1, 2], [0.5, 2]), t('f16', [2, 1], [3, 0.25])]), 'f16', [1, 1], [2]);
  close(run1('MatMul', [t('bf16', [1, 2], [1, 2]), t('bf16', [2, 1], [3, 4])]), 'bf16', [1, 1], [11]);
  const y = run1('MatMul', [t('f64', [1, 2], [1e-17, 1]), t('f64', [2, 1], [1, 1])]);
  assert.is(vals(y)[0], 1 + 1e-17);
  assert.ok(y.data instanceof Float64Array);
});

test('MatMul with zero-size dims', () => {
  close(run1('MatMul', [t('f32', [2, 0], []), t('f32', [0, 3], [])]), 'f32', [2, 3], [0, 0, 0, 0, 0, 0]);
  close(run1('MatMul', [t('f32', [0, 4], []), rand('f32', [4, 3])]), 'f32', [0, 3], []);
});

test('sgemm / dgemm match a naive loop across block edges and strided (transposed) views', () => {
  const r = rng(9);
  for (const [M, N, K] of [[1, 7, 5], [5, 3, 2], [MC + 3, NC + 5, KC + 7], [9, 2 * NC + 1, 3 * KC], [2, 1, 1], [4, 4, 4 * KC + 1]]) {
    for (const transA of [false, true]) for (const transB of [false, true]) {
      const a = Float32Array.from({ length: M * K }, r), b = Float32Array.from({ length: K * N }, r);
      // a is stored as [M,K] or [K,M], b as [K,N] or [N,K]
      const A = (i: number, k: number) => (transA ? a[k * M + i] : a[i * K + k]);
      const B = (k: number, j: number) => (transB ? b[j * K + k] : b[k * N + j]);
      const c = new Float32Array(M * N).fill(0.5), c64 = new Float64Array(M * N).fill(0.5);
      sgemm(M, N, K, 2, dense(a, 0, transA ? M : K, transA), dense(b, 0, transB ? K : N, transB), c, 0, N, true);
      dgemm(M, N, K, 2, dense(Float64Array.from(a), 0, transA ? M : K, transA), dense(Float64Array.from(b), 0, transB ? K : N, transB),
        c64, 0, N, true);
      for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += A(i, k) * B(k, j);
        const exp = 0.5 + 2 * s;
        if (Math.abs(c[i * N + j] - exp) > 1e-4 * Math.max(1, Math.abs(exp)) || Math.abs(c64[i * N + j] - exp) > 1e-9) {
          assert.unreachable(`M=${M} N=${N} K=${K} tA=${transA} tB=${transB} (${i},${j}): ${c[i * N + j]} / ${c64[i * N + j]} vs ${exp}`);
        }
      }
    }
  }
});

test('sgemm writes only its C block (ldc > N, offset) and propagates NaN', () => {
  const a = Float32Array.of(1, 2, 3, 4), b = Float32Array.of(1, 0, 0, 1);
  const c = new Float32Array(12).fill(9);
  sgemm(2, 2, 2, 1, dense(a, 0, 2), dense(b, 0, 2), c, 1, 5, false);
  assert.equal(Array.from(c), [9, 1, 2, 9, 9, 9, 3, 4, 9, 9, 9, 9]);
  const n = new Float32Array(4);
  sgemm(2, 2, 2, 1, dense(Float32Array.of(NaN, 0, 0, 0), 0, 2), dense(Float32Array.of(0, 0, 0, 0), 0, 2), n, 0, 2, false);
  assert.ok(Number.isNaN(n[0]) && Number.isNaN(n[1]) && n[2] === 0);
});

test('Gemm: transA, transB, alpha, beta and every C broadcast', () => {
  const a = t('f32', [3, 2], [1, 4, 2, 5, 3, 6]); // Aᵀ = [[1,2,3],[4,5,6]]
  const b = t('f32', [2, 3], [7, 9, 11, 8, 10, 12]); // Bᵀ = [[7,8],[9,10],[11,12]]
  const ab = [58, 64, 139, 154];
  close(run1('Gemm', [a, b], { transA: 1, transB: 1 }), 'f32', [2, 2], ab);
  close(run1('Gemm', [a, b, t('f32', [], [1])], { transA: 1, transB: 1, alpha: 0.5, beta: 2 }), 'f32', [2, 2], ab.map((v) => v / 2 + 2));
  close(run1('Gemm', [a, b, t('f32', [2], [1, 2])], { transA: 1, transB: 1 }), 'f32', [2, 2], [59, 66, 140, 156]);
  close(run1('Gemm', [a, b, t('f32', [2, 1], [1, 2])], { transA: 1, transB: 1 }), 'f32', [2, 2], [59, 65, 141, 156]);
  close(run1('Gemm', [a, b, t('f32', [2, 2], [1, 2, 3, 4])], { transA: 1, transB: 1, beta: 0 }), 'f32', [2, 2], ab);
  close(run1('Gemm', [t('f32', [1, 2], [1, 2]), t('f32', [2, 1], [3, 4])]), 'f32', [1, 1], [11]);
  close(run1('Gemm', [t('i32', [1, 2], [1, 2]), t('i32', [2, 1], [3, 4]), t('i32', [1], [5])], { alpha: 2.0, beta: 3.0 }), 'i32', [1, 1], [37]);
  const g = run1('Gemm', [i64([1, 1], [3]), i64([1, 1], [4]), i64([1], [1])]);
  assert.equal(Array.from(g.data as BigInt64Array), [13n]);
});

test('Gemm M=1 row times transposed weights (the classifier head) matches a naive loop', () => {
  const x = rand('f32', [1, 300], 5), w = rand('f32', [37, 300], 6), bias = rand('f32', [37], 7);
  const xv = vals(x), wv = vals(w), bv = vals(bias);
  const exp = bv.map((bb, j) => bb + xv.reduce((s, v, k) => s + v * wv[j * 300 + k], 0));
  close(run1('Gemm', [x, w, bias], { transB: 1 }), 'f32', [1, 37], exp, 1e-5);
});

test('Gemm shape rule', () => {
  assert.equal(infer('Gemm', [ty('f32', ['N', 2048]), ty('f32', [1000, 2048]), ty('f32', [1000])], { transB: 1 })[0].shape, ['N', 1000]);
  throwsLike(() => infer('Gemm', [ty('f32', [2, 3]), ty('f32', [4, 5])]), /inner dims differ: A has K=3, B has K=4/);
  throwsLike(() => infer('Gemm', [ty('f32', [2, 3]), ty('f32', [3, 5]), ty('f32', [3])]), /C \[3\] does not broadcast to \[2,5\]/);
  throwsLike(() => infer('Gemm', [ty('f32', [2, 3, 1]), ty('f32', [3, 5])]), /must be 2-D/);
});

/** Einsum by explicit loops over every label assignment (small sizes only). */
function naiveEinsum(eq: string, ops: { shape: number[]; v: number[] }[]): { shape: number[]; v: number[] } {
  const [lhs, rhs] = eq.split('->');
  const terms = lhs.split(',');
  const size = new Map<string, number>();
  terms.forEach((tm, i) => [...tm].forEach((ch, k) => size.set(ch, ops[i].shape[k])));
  const letters = [...size.keys()];
  const outL = [...rhs];
  const outShape = outL.map((l) => size.get(l)!);
  const out = new Array(outShape.reduce((a, b) => a * b, 1)).fill(0);
  const total = letters.reduce((a, l) => a * size.get(l)!, 1);
  for (let f = 0; f < total; f++) {
    const val = new Map<string, number>();
    let rem = f;
    for (const l of letters) { val.set(l, rem % size.get(l)!); rem = Math.floor(rem / size.get(l)!); }
    let p = 1;
    terms.forEach((tm, i) => {
      const idx = [...tm].reduce((acc, ch, k) => acc * ops[i].shape[k] + val.get(ch)!, 0);
      p *= ops[i].v[idx];
    });
    out[outL.reduce((acc, l, k) => acc * outShape[k] + val.get(l)!, 0)] += p;
  }
  return { shape: outShape, v: out };
}

const einsumCases: { eq: string; shapes: number[][]; explicit?: string }[] = [
  { eq: 'ij,jk->ik', shapes: [[3, 4], [4, 5]] },
  { eq: 'ij->ji', shapes: [[3, 4]] },
  { eq: 'ii->i', shapes: [[4, 4]] },
  { eq: 'ii->', shapes: [[4, 4]] },
  { eq: 'bij,bjk->bik', shapes: [[2, 3, 4], [2, 4, 5]] },
  { eq: 'bii->bi', shapes: [[3, 4, 4]] },
  { eq: 'i,i->', shapes: [[5], [5]] },
  { eq: 'i,j->ij', shapes: [[3], [4]] },
  { eq: 'bhqd,bhkd->bhqk', shapes: [[1, 2, 3, 4], [1, 2, 5, 4]] },
  { eq: 'ij,jk,kl->il', shapes: [[2, 3], [3, 4], [4, 2]] },
  { eq: 'iij,jk->ik', shapes: [[3, 3, 2], [2, 4]] },
  { eq: 'ijk->kij', shapes: [[2, 3, 4]] },
  { eq: 'ij,ij->i', shapes: [[3, 5], [3, 5]] },
  { eq: 'abc,cd->abd', shapes: [[2, 3, 4], [4, 2]] },
  { eq: 'ij,kj->', shapes: [[2, 3], [4, 3]] },
];

for (const c of einsumCases) {
  test(`Einsum '${c.eq}' matches explicit loops`, () => {
    const tensors = c.shapes.map((s, i) => rand('f64', s, 40 + i));
    const ref = naiveEinsum(c.eq, tensors.map((x) => ({ shape: [...x.shape], v: vals(x) })));
    const y = run1('Einsum', tensors, { equation: c.eq });
    close(y, 'f64', ref.shape, ref.v, 1e-12);
    const yf = run1('Einsum', c.shapes.map((s, i) => rand('f32', s, 40 + i)), { equation: c.eq });
    close(yf, 'f32', ref.shape, ref.v, 1e-5);
  });
}

test('Einsum implicit output, ellipsis, scalars, spaces, integers', () => {
  const a = rand('f64', [3, 4], 1), b = rand('f64', [4, 2], 2);
  const ref = naiveEinsum('ij,jk->ik', [{ shape: [3, 4], v: vals(a) }, { shape: [4, 2], v: vals(b) }]);
  close(run1('Einsum', [a, b], { equation: 'ij,jk' }), 'f64', [3, 2], ref.v, 1e-12);
  // implicit: letters used once, alphabetical -> 'ba' transposes
  close(run1('Einsum', [t('f32', [2, 3], [1, 2, 3, 4, 5, 6])], { equation: 'ba' }), 'f32', [3, 2], [1, 4, 2, 5, 3, 6]);
  // ellipsis batch matmul with broadcasting of the batch
  const x = rand('f64', [2, 1, 3, 4], 3), w = rand('f64', [5, 4, 2], 4);
  const y = run1('Einsum', [x, w], { equation: '...ij,...jk->...ik' });
  assert.equal([...y.shape], [2, 5, 3, 2]);
  const mm = run1('MatMul', [x, w]);
  close(y, 'f64', [2, 5, 3, 2], vals(mm), 1e-12);
  close(run1('Einsum', [x, w], { equation: '...ij,...jk' }), 'f64', [2, 5, 3, 2], vals(mm), 1e-12);
  // scalar operands
  close(run1('Einsum', [t('f32', [], [3]), t('f32', [2], [1, 2])], { equation: ',i->i' }), 'f32', [2], [3, 6]);
  close(run1('Einsum', [t('f32', [], [3])], { equation: '->' }), 'f32', [], [3]);
  close(run1('Einsum', [t('f32', [2, 2], [1, 2, 3, 4])], { equation: ' i i -> ' }), 'f32', [], [5]);
  close(run1('Einsum', [t('i32', [2, 2], [1, 2, 3, 4]), t('i32', [2], [10, 100])], { equation: 'ij,j->i' }), 'i32', [2], [210, 430]);
  const yi = run1('Einsum', [i64([3], [1, 2, 3])], { equation: 'i->' });
  assert.equal(Array.from(yi.data as BigInt64Array), [6n]);
});

test('Einsum shape rule and errors', () => {
  assert.equal(infer('Einsum', [ty('f32', ['B', 3, 4]), ty('f32', ['B', 4, 'K'])], { equation: 'bij,bjk->bik' })[0].shape, ['B', 3, 'K']);
  assert.equal(infer('Einsum', [ty('f32', [7, 2, 3])], { equation: '...ij->...ji' })[0].shape, [7, 3, 2]);
  assert.equal(infer('Einsum', [ty('f32', [7, 2, 3])], { equation: '...ij' })[0].shape, [7, 2, 3]);
  throwsLike(() => infer('Einsum', [ty('f32', [2, 3]), ty('f32', [4, 5])], { equation: 'ij,jk->ik' }), /label 'j'.*sizes 3 and 4/);
  throwsLike(() => infer('Einsum', [ty('f32', [2, 3])], { equation: 'ijk->i' }), /rank 2 but its term/);
  throwsLike(() => infer('Einsum', [ty('f32', [2, 3])], { equation: 'ij->ik' }), /output label 'k'/);
  throwsLike(() => infer('Einsum', [ty('f32', [2, 3])], { equation: 'ij,jk->ik' }), /2 operands but the node has 1/);
  attrErrorLike(() => parse('Einsum', { equation: 'i1->i' }), 'equation', /invalid character '1'/);
  attrErrorLike(() => parse('Einsum', { equation: 'ij->ii' }), 'equation', /repeats a letter/);
});

test.run();
