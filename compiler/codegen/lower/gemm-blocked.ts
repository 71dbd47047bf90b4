/**
 * Column blocks for the GEMM template (gemm.ts), after BLIS's outer `jc` loop: when B is the large
 * operand (a pointwise convolution over a big image, the im2col of a stem convolution), the parallel
 * loop runs over blocks of BC columns of B, and each iteration
 *   1. packs its block (K rows × BC columns, row-major, rows BC apart) into a buffer private to the
 *      thread (`local` lc0), reading the source along its rows: runs of BC contiguous elements (a pointwise
 *      convolution's X) or whole output rows of the im2col, streams the prefetcher follows; then
 *   2. runs every tile of the block against that packed block while it is in L2: row blocks of A
 *      outer, the block's panels of NR columns inner (the MR × K strip of A stays in L1).
 * Without blocks, the micro-kernel walks each panel down K rows of the whole source or of a
 * whole-image im2col, one cache line per row and rows kilobytes apart: every line a miss the
 * prefetcher does not cover, so a kernel whose operands come from L3 or memory (every kernel in a
 * real run) was 2-3x slower than the same kernel with its data in cache.
 * BC is a multiple of the source's unit (an output row of a convolution) and of NR (or, where such a
 * block would not fit, of the vector width L: every block's last panel then has fewer vectors), sized
 * so a packed block fits about BLOCK_BYTES; the last block may be shorter (its last vector partial,
 * zero past N). The packed block is private to the thread running the iteration, so a thread packs
 * every block it runs into the same memory, still in its cache from the block before.
 */
import type { DType } from '../../ir/dtype.ts';
import { type Index, type Scalar, type Stmt, iadd, ic, imul, iv, lit, loop } from '../kir.ts';
import type { LowerNode } from './context.ts';

/** Bytes a packed block of B should stay within (half of a 512 KiB L2, the rest for A and C). */
const BLOCK_BYTES = 160 << 10;
/** Fewest blocks worth the scheme (each is one iteration of the parallel loop). */
const MIN_BLOCKS = 8;

/** How the columns of B are blocked: `columns` per block, `count` blocks, the last one `last` wide. */
export interface ColumnBlocks {
  readonly columns: number;
  readonly count: number;
  readonly last: number;
}

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);

/**
 * Column blocks for an M × K by K × N product with panels NR wide whose source comes in runs of
 * `unit` columns, or undefined where they do not pay: B not at least twice A (A would be swept once
 * per block), or too few blocks of a size that fits.
 */
export function chooseColumnBlocks(M: number, N: number, K: number, NR: number, L: number, unit: number): ColumnBlocks | undefined {
  if (N < 2 * M) return undefined;
  const lcm = (a: number, b: number) => (a / gcd(a, b)) * b;
  const fits = (cols: number) => cols * K * 4 <= 2 * BLOCK_BYTES && Math.ceil(N / cols) >= MIN_BLOCKS;
  // whole panels per block where they fit, else whole vectors (each block's last panel then narrower:
  // resnet50's 28-wide rows by 1152 im2col rows, a block of 56 columns, 3.5 panels of 16)
  const base = fits(lcm(unit, NR)) ? lcm(unit, NR) : lcm(unit, L);
  if (!fits(base)) return undefined;
  // as many blocks as it takes to keep each within BLOCK_BYTES, at least MIN_BLOCKS, rounded up to a
  // multiple of MIN_BLOCKS and then equal in size: the parallel loop splits its iterations evenly
  // among the threads, so 8 blocks of 1568 columns, not 7 of 1776 and one of 112 (mobilenetv2's
  // 16 -> 96 pointwise conv: one thread ran 4 full blocks, the other 3)
  const wanted = Math.ceil(Math.max(MIN_BLOCKS, Math.ceil((N * K * 4) / BLOCK_BYTES)) / MIN_BLOCKS) * MIN_BLOCKS;
  const columns = Math.max(1, Math.round(N / wanted / base)) * base, count = Math.ceil(N / columns);
  if (columns * K * 4 > 2 * BLOCK_BYTES || count < MIN_BLOCKS) return undefined;
  return { columns, count, last: N - (count - 1) * columns };
}

/** What the blocked loop needs from the template. */
export interface BlockedGemm {
  readonly M: number;
  readonly K: number;
  readonly MR: number;
  readonly NV: number;
  /** Vector lanes; NR = NV·L. */
  readonly L: number;
  readonly dtype: DType;
  readonly blocks: ColumnBlocks;

  /**
   * The template's micro-kernel for an mr × (nv vectors) tile at rows i0.. (row block `block`;
   * undefined: the last rows), reading B at `base` + k·`kStride` of `buffer`, writing columns j0..j0+ncols.
   */
  readonly micro: (i0: Index, block: Index | undefined, b: { buffer: string; base: Index; kStride: number }, j0: Index, mr: number, nv: number, ncols: number) => Stmt[];
  /** Statements writing row k of the block starting at column j0 (block `block`), `count` columns: write(c, B[k, j0 + c]). */
  readonly packRow: (k: Index, j0: Index, block: Index, count: number, write: (c: Index, value: Scalar) => Stmt) => Stmt[];
  /** Statements before the parallel loop (a convolution's zero-padded planes). */
  readonly prepare: Stmt[];
}

/** The blocked product: prepare, then one parallel loop over the column blocks (see the module header). */
export function blockedGemm(n: LowerNode, g: BlockedGemm): Stmt[] {
  const { M, K, MR, NV, L, blocks } = g;
  const NR = NV * L, BC = blocks.columns;
  const MB = Math.floor(M / MR), mt = M % MR;
  const jb = n.fresh('jb');
  const lc = 'lc0';
  const block = (count: number): Stmt[] => {
    const j0 = imul(iv(jb), ic(BC));
    const padded = Math.ceil(count / L) * L; // the micro-kernel reads whole vectors
    const k = n.fresh('k'), z = n.fresh('z');
    const write = (c: Index, value: Scalar): Stmt => ({ k: 'store', buffer: lc, index: iadd(imul(iv(k), ic(BC)), c), value });
    const rowBody = g.packRow(iv(k), j0, iv(jb), count, write);
    if (padded > count) rowBody.push(loop(z, padded - count, [write(iadd(ic(count), iv(z)), lit(0, g.dtype))]));
    const out: Stmt[] = [loop(k, K, rowBody)];
    const Qf = Math.floor(count / NR), qt = count % NR;
    const src = (q: Index) => ({ buffer: lc, base: imul(q, ic(NR)), kStride: BC });
    const col = (q: Index) => iadd(j0, imul(q, ic(NR)));
    const last = ic(Qf);
    if (MB > 0) {
      const ib = n.fresh('ib'), q = n.fresh('q');
      const rows = imul(iv(ib), ic(MR));
      out.push(loop(ib, MB, [
        ...(Qf > 0 ? [loop(q, Qf, g.micro(rows, iv(ib), src(iv(q)), col(iv(q)), MR, NV, NR))] : []),
        ...(qt > 0 ? g.micro(rows, iv(ib), src(last), col(last), MR, Math.ceil(qt / L), qt) : []),
      ]));
    }
    if (mt > 0) {
      const q = n.fresh('q');
      if (Qf > 0) out.push(loop(q, Qf, g.micro(ic(MB * MR), undefined, src(iv(q)), col(iv(q)), mt, NV, NR)));
      if (qt > 0) out.push(...g.micro(ic(MB * MR), undefined, src(last), col(last), mt, Math.ceil(qt / L), qt));
    }
    return out;
  };
  const full = blocks.last === BC ? blocks.count : blocks.count - 1;
  const body: Stmt[] = full === blocks.count ? block(BC) : [
    ...(full > 0 ? [{ k: 'guard', bounds: [{ index: iv(jb), extent: full }], body: block(BC) } as Stmt] : []),
    { k: 'guard', bounds: [{ index: iadd(iv(jb), ic(-full)), extent: 1 }], body: block(blocks.last) },
  ];
  return [...g.prepare, loop(jb, blocks.count, [{ k: 'local', name: lc, dtype: g.dtype, count: K * BC }, ...body], [{ kind: 'parallel' }])];
}
