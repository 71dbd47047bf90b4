/**
 * The f32 matrix-multiply core shared by Conv (im2col), MatMul, Gemm and Einsum.
 *
 * Computes C = alpha * A·B + (accumulate ? C : 0) for an M×K matrix A and a K×N matrix B given as
 * strided views into Float32Arrays (any row/column stride, so transposed operands cost nothing), and a
 * row-major C block with leading dimension ldc.
 *
 * Algorithm (the BLIS/Goto scheme, sized for a scalar JS engine):
 *   - the K dimension is cut into KC-deep slices and N into NC-wide slices; each B slice is packed into
 *     a reusable buffer as NR-wide column panels, k-major (NR values per k, contiguous);
 *   - M is cut into MC-row blocks; each A block is packed as MR-tall row panels, k-major;
 *   - the micro-kernel multiplies one MR×KC A panel by one KC×NR B panel, keeping the MR×NR = 4×4
 *     partial sums in 16 local variables (registers) and reading both panels strictly sequentially;
 *     it then adds the tile into C. Panels are zero-padded to full MR/NR so the kernel never branches;
 *     edge tiles run the same kernel into a scratch tile and add only its valid part.
 * Packing buffers are module-level and grow on demand, so steady-state calls allocate nothing.
 * Accumulation is in f64 registers (JS numbers) and rounded to f32 once per KC slice.
 *
 * `dgemm` is the f64 twin for double-precision tensors (and exact integer products below 2^53): a plain
 * i-k-j loop, since f64 models are rare and correctness matters more than speed there.
 */

/** Rows of A per micro-tile. */
export const MR = 4;
/** Columns of B per micro-tile. */
export const NR = 4;
/** Depth of one packed K slice (A panel 4×256 + B panel 256×4 floats stay in L1). */
export const KC = 256;
/** Rows of A packed at once. */
export const MC = 64;
/** Columns of B packed at once (B slice KC×NC floats = 256 KiB, in L2). */
export const NC = 256;

let packA = new Float32Array(MC * KC);
let packB = new Float32Array(KC * NC);

/** A strided matrix view: element (r, c) is data[offset + r*rowStride + c*colStride]. */
export interface MatView<T extends Float32Array | Float64Array = Float32Array> {
  readonly data: T;
  readonly offset: number;
  readonly rowStride: number;
  readonly colStride: number;
}

/** A row-major view of a dense matrix with `cols` columns (optionally transposed). */
export function dense<T extends Float32Array | Float64Array>(data: T, offset: number, cols: number, transposed = false): MatView<T> {
  return transposed ? { data, offset, rowStride: 1, colStride: cols } : { data, offset, rowStride: cols, colStride: 1 };
}

/**
 * C[cOff + i*ldc + j] = alpha * Σ_k A(i,k)·B(k,j) + (accumulate ? C[...] : 0), for i<M, j<N.
 * C must not overlap A or B.
 */
export function sgemm(
  M: number, N: number, K: number, alpha: number,
  A: MatView, B: MatView,
  C: Float32Array, cOff: number, ldc: number, accumulate: boolean,
): void {
  if (M <= 0 || N <= 0) return;
  if (!accumulate) {
    for (let i = 0; i < M; i++) C.fill(0, cOff + i * ldc, cOff + i * ldc + N);
  }
  if (K <= 0) return;
  if (M === 1) {
    gemvRow(N, K, alpha, A, B, C, cOff);
    return;
  }
  // K slices of (nearly) equal depth, so a K just above KC does not leave a very thin last slice
  const kStep = Math.ceil(K / Math.ceil(K / KC));
  const ncCap = Math.min(NC, roundUp(N, NR));
  if (packB.length < kStep * ncCap) packB = new Float32Array(kStep * ncCap);
  if (packA.length < MC * kStep) packA = new Float32Array(MC * kStep);
  for (let j0 = 0; j0 < N; j0 += NC) {
    const nc = Math.min(NC, N - j0);
    for (let k0 = 0; k0 < K; k0 += kStep) {
      const kc = Math.min(kStep, K - k0);
      packPanelsB(B, k0, kc, j0, nc, packB);
      for (let i0 = 0; i0 < M; i0 += MC) {
        const mc = Math.min(MC, M - i0);
        packPanelsA(A, i0, mc, k0, kc, alpha, packA);
        for (let jp = 0; jp < nc; jp += NR) {
          const nr = Math.min(NR, nc - jp);
          const bo = jp * kc;
          for (let ip = 0; ip < mc; ip += MR) {
            const mr = Math.min(MR, mc - ip);
            const co = cOff + (i0 + ip) * ldc + j0 + jp;
            if (mr === MR && nr === NR) kernel4x4(packA, ip * kc, packB, bo, kc, C, co, ldc);
            else kernelEdge(packA, ip * kc, packB, bo, kc, C, co, ldc, mr, nr);
          }
        }
      }
    }
  }
}

function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/** Packs rows [i0, i0+mc) × cols [k0, k0+kc) of alpha·A as MR-row panels, k-major, zero-padded. */
function packPanelsA(A: MatView, i0: number, mc: number, k0: number, kc: number, alpha: number, dst: Float32Array): void {
  const { data, offset, rowStride, colStride } = A;
  let q = 0;
  for (let ip = 0; ip < mc; ip += MR) {
    const rows = Math.min(MR, mc - ip);
    const base = offset + (i0 + ip) * rowStride + k0 * colStride;
    if (rows === MR) {
      const r1 = base + rowStride, r2 = r1 + rowStride, r3 = r2 + rowStride;
      if (alpha === 1) {
        for (let k = 0; k < kc; k++) {
          const c = k * colStride;
          dst[q] = data[base + c]; dst[q + 1] = data[r1 + c]; dst[q + 2] = data[r2 + c]; dst[q + 3] = data[r3 + c];
          q += 4;
        }
      } else {
        for (let k = 0; k < kc; k++) {
          const c = k * colStride;
          dst[q] = alpha * data[base + c]; dst[q + 1] = alpha * data[r1 + c];
          dst[q + 2] = alpha * data[r2 + c]; dst[q + 3] = alpha * data[r3 + c];
          q += 4;
        }
      }
    } else {
      for (let k = 0; k < kc; k++) {
        for (let r = 0; r < MR; r++) dst[q + r] = r < rows ? alpha * data[base + r * rowStride + k * colStride] : 0;
        q += MR;
      }
    }
  }
}

/** Packs rows [k0, k0+kc) × cols [j0, j0+nc) of B as NR-column panels, k-major, zero-padded. */
function packPanelsB(B: MatView, k0: number, kc: number, j0: number, nc: number, dst: Float32Array): void {
  const { data, offset, rowStride, colStride } = B;
  let q = 0;
  for (let jp = 0; jp < nc; jp += NR) {
    const cols = Math.min(NR, nc - jp);
    const base = offset + k0 * rowStride + (j0 + jp) * colStride;
    if (cols === NR) {
      const c1 = colStride, c2 = 2 * colStride, c3 = 3 * colStride;
      for (let k = 0; k < kc; k++) {
        const r = base + k * rowStride;
        dst[q] = data[r]; dst[q + 1] = data[r + c1]; dst[q + 2] = data[r + c2]; dst[q + 3] = data[r + c3];
        q += 4;
      }
    } else {
      for (let k = 0; k < kc; k++) {
        const r = base + k * rowStride;
        for (let c = 0; c < NR; c++) dst[q + c] = c < cols ? data[r + c * colStride] : 0;
        q += NR;
      }
    }
  }
}

/** The 4×4 micro-kernel: C[co..] += Apanel(4×kc) · Bpanel(kc×4), sums held in locals. */
function kernel4x4(pa: Float32Array, ao: number, pb: Float32Array, bo: number, kc: number,
  C: Float32Array, co: number, ldc: number): void {
  let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
  let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
  let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
  let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
  const end = ao + 4 * kc;
  for (; ao < end; ao += 4, bo += 4) {
    const a0 = pa[ao], a1 = pa[ao + 1], a2 = pa[ao + 2], a3 = pa[ao + 3];
    const b0 = pb[bo], b1 = pb[bo + 1], b2 = pb[bo + 2], b3 = pb[bo + 3];
    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
  }
  C[co] += c00; C[co + 1] += c01; C[co + 2] += c02; C[co + 3] += c03;
  co += ldc;
  C[co] += c10; C[co + 1] += c11; C[co + 2] += c12; C[co + 3] += c13;
  co += ldc;
  C[co] += c20; C[co + 1] += c21; C[co + 2] += c22; C[co + 3] += c23;
  co += ldc;
  C[co] += c30; C[co + 1] += c31; C[co + 2] += c32; C[co + 3] += c33;
}

const edgeTile = new Float32Array(MR * NR);

/** Edge tiles (mr < 4 or nr < 4): the full kernel on the zero-padded panels into a scratch tile, then a bounded add. */
function kernelEdge(pa: Float32Array, ao: number, pb: Float32Array, bo: number, kc: number,
  C: Float32Array, co: number, ldc: number, mr: number, nr: number): void {
  edgeTile.fill(0);
  kernel4x4(pa, ao, pb, bo, kc, edgeTile, 0, NR);
  for (let r = 0; r < mr; r++) {
    for (let c = 0; c < nr; c++) C[co + r * ldc + c] += edgeTile[r * NR + c];
  }
}

/** M = 1 (a row vector times a matrix): i-k-j order streaming rows of B, no packing. */
function gemvRow(N: number, K: number, alpha: number, A: MatView, B: MatView, C: Float32Array, cOff: number): void {
  const { data: b, offset: bOff, rowStride: bRs, colStride: bCs } = B;
  const a = A.data;
  if (bCs === 1) {
    for (let k = 0; k < K; k++) {
      const av = alpha * a[A.offset + k * A.colStride];
      const r = bOff + k * bRs;
      for (let j = 0; j < N; j++) C[cOff + j] += av * b[r + j];
    }
  } else {
    // B transposed: each output is a dot product along a contiguous stretch of B's storage
    const aOff = A.offset, aCs = A.colStride;
    for (let j = 0; j < N; j++) {
      const r = bOff + j * bCs;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, k = 0;
      for (; k + 4 <= K; k += 4) {
        s0 += a[aOff + k * aCs] * b[r + k * bRs];
        s1 += a[aOff + (k + 1) * aCs] * b[r + (k + 1) * bRs];
        s2 += a[aOff + (k + 2) * aCs] * b[r + (k + 2) * bRs];
        s3 += a[aOff + (k + 3) * aCs] * b[r + (k + 3) * bRs];
      }
      for (; k < K; k++) s0 += a[aOff + k * aCs] * b[r + k * bRs];
      C[cOff + j] += alpha * (s0 + s1 + s2 + s3);
    }
  }
}

/** The f64 GEMM: same contract as sgemm on Float64Arrays; i-k-j order, inner loop along B's rows. */
export function dgemm(
  M: number, N: number, K: number, alpha: number,
  A: MatView<Float64Array>, B: MatView<Float64Array>,
  C: Float64Array, cOff: number, ldc: number, accumulate: boolean,
): void {
  const { data: a, offset: aOff, rowStride: aRs, colStride: aCs } = A;
  const { data: b, offset: bOff, rowStride: bRs, colStride: bCs } = B;
  for (let i = 0; i < M; i++) {
    const co = cOff + i * ldc;
    if (!accumulate) C.fill(0, co, co + N);
    for (let k = 0; k < K; k++) {
      const av = alpha * a[aOff + i * aRs + k * aCs];
      const r = bOff + k * bRs;
      if (bCs === 1) for (let j = 0; j < N; j++) C[co + j] += av * b[r + j];
      else for (let j = 0; j < N; j++) C[co + j] += av * b[r + j * bCs];
    }
  }
}
