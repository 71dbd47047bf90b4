/**
 * The packing copies of the GEMM template (gemm.ts): a constant B into panels NR wide and a constant A
 * into row blocks of MR at lowering time (data), and per call the statements that pack a runtime B
 * into panel or row-major scratch, or copy an in-place B's partial last panel. Each writes at a
 * scratch base `sbase`, so batches folded into one tile loop keep a copy each.
 */
import type { DType, TensorData } from '../../ir/dtype.ts';
import { type Index, type Stmt, iadd, ic, idiv, imod, imul, iv, lit, load, loop } from '../kir.ts';
import type { LowerNode } from './context.ts';
import type { GemmB, GemmBInPlace } from './gemm-spec.ts';

/**
 * Elements below which a packing copy runs on the calling thread: starting the other threads costs
 * tens of microseconds (more where they wait passively), more than copying this much.
 */
export const PARALLEL_COPY = 1 << 15;

/** Copies the last, partial panel of an in-place B into scratch `bp` at `sbase` (K rows of NR, zero past N), in parallel over k. */
export function packLastPanel(n: LowerNode, b: GemmBInPlace, batch: readonly Index[], bp: string, sbase: Index, t: DType, N: number, NR: number, K: number): Stmt[] {
  const NPf = Math.floor(N / NR), nt = N % NR;
  const k = n.fresh('q'), c = n.fresh('j'), z = n.fresh('z');
  const row = iadd(sbase, imul(iv(k), ic(NR)));
  return [loop(k, K, [
    loop(c, nt, [{ k: 'store', buffer: bp, index: iadd(row, iv(c)), value: load(b.buffer, iadd(iadd(b.base(batch), imul(iv(k), ic(b.kStride))), iadd(ic(NPf * NR), iv(c))), t) }]),
    loop(z, NR - nt, [{ k: 'store', buffer: bp, index: iadd(iadd(row, ic(nt)), iv(z)), value: lit(0, t) }]),
  ], K > 1 && K * NR >= PARALLEL_COPY ? [{ kind: 'parallel' }] : [])];
}

/** A constant A packed into row blocks of MR (the last block as wide as the rows left), for each of `batches`. */
export function packRows(at: (i: number, k: number, b: number) => number, M: number, K: number, MR: number, batches: number): Float32Array {
  const data = new Float32Array(batches * M * K);
  for (let b = 0; b < batches; b++) {
    for (let i0 = 0; i0 < M; i0 += MR) {
      const rows = Math.min(MR, M - i0);
      for (let k = 0; k < K; k++) for (let r = 0; r < rows; r++) data[b * M * K + i0 * K + k * rows + r] = at(i0 + r, k, b);
    }
  }
  return data;
}

/** A constant B packed into panels NR wide (zero past N); `batches` sets one after another (B of batch b at b·NP·K·NR). */
export function packConstant(at: (k: number, j: number, b: number) => number, N: number, K: number, NR: number, t: DType, batches = 1): TensorData {
  const NP = Math.ceil(N / NR);
  if (t !== 'f32') throw new Error(`gemm: packing ${t} constants is not implemented`);
  const data = new Float32Array(batches * NP * K * NR);
  for (let b = 0; b < batches; b++) {
    for (let p = 0; p < NP; p++) {
      for (let k = 0; k < K; k++) {
        const row = (b * NP + p) * K * NR + k * NR;
        for (let c = 0; c < NR && p * NR + c < N; c++) data[row + c] = at(k, p * NR + c, b);
      }
    }
  }
  return data;
}

/**
 * Packs a runtime B into scratch `bp` (B[k, p·NR + c] at p·panel + k·kStride + c), in parallel over the
 * operand's outer k dim: its loops write every B[k, j], then the columns of the last panel past N are
 * zeroed for the same rows (the micro-kernel reads whole vectors there; those lanes are never stored,
 * zero keeps them finite).
 */
export function packRuntime(n: LowerNode, b: Extract<GemmB, { kind: 'runtime' }>, batch: readonly Index[], bp: string, sbase: Index, t: DType,
  N: number, NR: number, panel: number, kStride: number): Stmt[] {
  const at = (k: Index, p: Index, c: Index) => iadd(iadd(iadd(sbase, imul(p, ic(panel))), imul(k, ic(kStride))), c);
  const rowMajor = b.layout === 'rows';
  const o = n.fresh('o');
  const NPf = Math.floor(N / NR), nt = N % NR;
  const body = b.pack(batch, iv(o), {
    write: (k, j, value) => ({ k: 'store', buffer: bp, index: rowMajor ? iadd(iadd(sbase, imul(k, ic(kStride))), j) : at(k, idiv(j, ic(NR)), imod(j, ic(NR))), value }),
    writeColumn: (k, col, value) => ({ k: 'store', buffer: bp, index: at(k, col.panel, col.c), value }),
    columns: (inner) => {
      const out: Stmt[] = [];
      if (NPf > 0) {
        const p = n.fresh('p'), c = n.fresh('j');
        out.push(loop(p, NPf, [loop(c, NR, inner({ j: iadd(imul(iv(p), ic(NR)), iv(c)), panel: iv(p), c: iv(c) }))]));
      }
      if (nt > 0) {
        const c = n.fresh('j');
        out.push(loop(c, nt, inner({ j: iadd(ic(NPf * NR), iv(c)), panel: ic(NPf), c: iv(c) })));
      }
      return out;
    },
  });
  if (nt > 0) {
    const rv = n.fresh('q'), zv = n.fresh('z');
    const row = iadd(imul(iv(o), ic(b.rows)), iv(rv));
    body.push(loop(rv, b.rows, [loop(zv, NR - nt, [{ k: 'store', buffer: bp, index: at(row, ic(NPf), iadd(ic(nt), iv(zv))), value: lit(0, t) }])]));
  }
  const elements = Math.ceil(N / NR) * NR * b.outer * b.rows; // B's K·N, padded
  return [loop(o, b.outer, body, b.outer > 1 && elements >= PARALLEL_COPY ? [{ kind: 'parallel' }] : [])];
}
