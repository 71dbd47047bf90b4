/**
 * The GEMM template: C[b, i, j] = sum_k A[b, i, k] · B[b, k, j] for every matrix product the cpu
 * backend runs (MatMul, Gemm, kiln.matmul, kiln.gemm, and convolutions with group 1 as implicit GEMM,
 * conv.ts), as a register-blocked micro-kernel over packed panels of B (after BLIS / GotoBLAS). What a
 * lowering hands it for one product (GemmSpec) is declared in gemm-spec.ts.
 *
 * Vectors run along j (the output's contiguous axis), L lanes wide (the target's vector width / 32):
 *   - B is packed into panels NR = nv·L columns wide: panel p holds B[k, p·NR + c] at
 *     p·K·NR + k·NR + c (zero past N), so the micro-kernel reads one contiguous row of NR per k. A
 *     constant B (weights) is packed ONCE at lowering time (a packed constant the backend copies in);
 *     a B already row-major in an input (a pointwise convolution's X) is read in place, only its last
 *     partial panel copied; any other B (activations, or im2col of a convolution's input: each
 *     element a window position, zero in the padding) is packed per call into scratch, in parallel
 *     (im2col row-major instead, rows padded to whole panels, since its copies run along j);
 *   - the micro-kernel keeps an MR × NR tile of C in MR·nv vector accumulators; per k it loads nv
 *     vectors of the B panel, broadcasts MR elements of A and does MR·nv multiply-adds (one FMA each
 *     where the target contracts). A constant A (convolution weights) is packed once at lowering
 *     time into blocks of MR rows, k-major, so those broadcasts read one stream; any other A is read
 *     in place (its rows are contiguous in k);
 *   - the accumulators are stored as whole vectors; the finish (bias, alpha/beta, the fused epilogue:
 *     epilogue.ts) then runs in place over the tile's rows while they are in L1, as a plain loop the C
 *     compiler vectorises (reading a vector's lanes one by one would not be); the columns of a
 *     partial last vector are stored lane by lane, finished on the way;
 *   - tiles: one parallel loop runs the full MR × NR tiles by (panel, row block), the last rows
 *     (M mod MR) by panel and the last panel (N mod NR, its last vector partly stored) by row block,
 *     each region a guarded range of the loop; their corner runs after it. When A is the larger
 *     operand (M > N) the loop runs by row block instead, each iteration one block of A against every
 *     panel (the partial one too; the last rows after the loop, as the corner), so A streams once,
 *     and k runs in chunks when B then does not stay in L2 (kChunks). Edge tiles are the same
 *     micro-kernel with smaller static sizes, so every edge is exact and nothing is masked;
 *   - B much larger than A and read in place or packed per call: by column blocks (gemm-blocked.ts);
 *   - batches (a batched MatMul, Winograd's 36 products): when every batch's B scratch fits
 *     FOLD_SCRATCH together, all batches are packed first (in parallel over batches, each into its
 *     own copy) and ONE parallel loop runs batches × tiles, the corner one more range of each batch:
 *     one fork/join instead of one per batch, and the threads stay busy when a single product has
 *     few tiles. Otherwise the batches run one after another. A constant A may differ per batch
 *     (`aConstant.perBatch`: one packed set of row blocks per batch).
 * The tile shape (MR, nv) is a schedule choice (LowerNode.choose, template `gemm`): the heuristic's
 * pick first, then the alternatives a tuner may measure. Every size is static (shapes are concrete).
 */
import type { DType } from '../../ir/dtype.ts';
import {
  type Annotation, type Index, type Scalar, type Stmt, binary, broadcast, iadd, ic, idiv, imod, imul, iv, lane,
  lit, load, loop, vload, vref,
} from '../kir.ts';
import type { LowerNode, Lowered, PackedConstant, ScratchDecl, TuningParams } from './context.ts';
import { packConstant, packLastPanel, packRows, packRuntime } from './gemm-pack.ts';
import { blockedGemm, chooseColumnBlocks } from './gemm-blocked.ts';
import type { GemmB, GemmSpec } from './gemm-spec.ts';

/** A tile shape: MR rows × nv vectors of L lanes. */
export interface GemmTile extends TuningParams {
  readonly mr: number;
  readonly nv: number;
}

/** The f32 lanes of a target (0 when it has no vectors worth a template). */
export function gemmLanes(n: LowerNode, dtype: DType): number {
  if (dtype !== 'f32') return 0;
  const lanes = Math.floor(n.target.vectorBits / 32);
  return lanes >= 4 ? lanes : 0;
}

/**
 * Tile candidates for L lanes, the heuristic's pick first: about 12-16 accumulators of the 16 (AVX2,
 * SSE) or 32 (AVX-512) vector registers, wide NR for wide N, tall MR when N is narrow, few rows when
 * M is tiny.
 */
export function gemmTiles(L: number, M: number, N: number): GemmTile[] {
  const regs = L >= 16 ? 32 : 16;
  const all: GemmTile[] = regs === 32
    ? [{ mr: 6, nv: 2 }, { mr: 8, nv: 2 }, { mr: 4, nv: 3 }, { mr: 12, nv: 1 }, { mr: 4, nv: 4 }]
    : [{ mr: 6, nv: 2 }, { mr: 4, nv: 3 }, { mr: 3, nv: 4 }, { mr: 12, nv: 1 }, { mr: 4, nv: 2 }];
  // a narrow N wastes most of a wide panel: one vector per row, more rows; with 32 registers, 8 rows
  // when they divide M (no tail tiles; measured ~10% faster than 6 rows on a 64-channel 3x3 conv)
  const first = N <= L ? all.find((t) => t.nv === 1)!
    : M < 4 ? all.find((t) => t.mr <= 4)!
      : regs === 32 && M % 8 === 0 ? all.find((t) => t.mr === 8)! : all[0];
  return [first, ...all.filter((t) => t !== first)];
}

/** Lowers one matrix product with the template (see the module header). */
export function lowerGemm(n: LowerNode, spec: GemmSpec, L: number): Extract<Lowered, { kind: 'kernel' }> {
  const { M, N, K, dtype: t } = spec;
  const key = `M=${M},N=${N},K=${K},L=${L}`;
  const { mr: MR, nv: NV } = n.choose<GemmTile>('gemm', key, gemmTiles(L, M, N));
  const NR = NV * L;
  const NP = Math.ceil(N / NR), NPf = Math.floor(N / NR), nt = N % NR;
  const MB = Math.floor(M / MR), mt = M % MR;
  const rows = spec.b.kind === 'runtime' && spec.b.layout === 'rows';
  /** B[k, p·NR + c] is at p·panel + k·kStride + c. */
  const panel = rows ? NR : K * NR, kStride = rows ? NP * NR : NR;
  const packed: PackedConstant[] = [];
  const scratch: ScratchDecl[] = [];
  const batches = spec.batch.reduce((p, d) => p * d, 1);
  /** Scratch elements of B per batch: the packed panels, or an in-place B's last panel. */
  const bPerBatch = spec.b.kind === 'runtime' ? NP * K * NR : spec.b.kind === 'inPlace' && nt > 0 ? K * NR : 0;
  // a large B read in place or packed per call runs by column blocks (gemm-blocked.ts)
  const blockUnit = spec.b.kind === 'inPlace' ? 1 : spec.b.kind === 'runtime' ? spec.b.blocks?.unit : undefined;
  const blocks = blockUnit !== undefined ? chooseColumnBlocks(M, N, K, NR, L, blockUnit) : undefined;
  // batches fold into the one parallel tile loop (one fork/join for all of them, threads busy even
  // when one product has few tiles) when each batch's B scratch can be kept until the tiles run
  // (not when the packing has scratch of its own: one copy of it serves one batch at a time)
  const fold = !blocks && batches > 1 && batches * bPerBatch <= FOLD_SCRATCH && !(spec.b.kind === 'runtime' && spec.b.scratch?.length);
  const bCopies = fold ? batches : 1;
  let bp: string;
  if (blocks) {
    bp = 'lc0'; // private to each thread (gemm-blocked.ts)
    scratch.push(...(spec.b.kind === 'runtime' ? spec.b.scratch ?? [] : []));
  } else if (spec.b.kind === 'constant') {
    bp = 'pk0';
    const sets = spec.b.perBatch ? batches : 1;
    packed.push({ name: bp, dtype: t, data: packConstant(spec.b.at, N, K, NR, t, sets), from: spec.b.from, what: `${spec.b.what} ${NR} wide${sets > 1 ? `, ×${sets} batches` : ''}` });
  } else if (spec.b.kind === 'inPlace') {
    bp = 'sc0';
    if (nt > 0) scratch.push({ name: bp, dtype: t, count: bCopies * K * NR, what: `last ${spec.b.what} panel ${NR} wide${bCopies > 1 ? `, ×${bCopies} batches` : ''}` });
  } else {
    bp = 'sc0';
    scratch.push({ name: bp, dtype: t, count: bCopies * NP * K * NR, what: `${spec.b.what} ${NR} wide${rows ? ', row-major' : ''}${bCopies > 1 ? `, ×${bCopies} batches` : ''}` }, ...(spec.b.scratch ?? []));
  }

  // the tile order keeps the larger operand streaming once: by panel (each B panel read once, A swept
  // per panel) when B is the larger, by row block (each A block read once against every panel of B)
  // when A is, as for the weights of a late convolution (512 x 4608 of A against 49 columns of B)
  const aOuter = M > N;
  // k in chunks where B is too large to stay in L2 while every row block of A passes over it
  const chunks = aOuter && !fold && !blocks && MB > 1 ? kChunks(K, NP * NR) : 1;
  if (chunks > 1) scratch.push({ name: 'scp', dtype: t, count: M * NP * NR, what: `partial sums of ${chunks} chunks of k` });
  const aConst = spec.aConstant;
  if (aConst) {
    packed.push({ name: 'pk1', dtype: t, data: packRows(aConst.at, M, K, MR, aConst.perBatch ? batches : 1), from: aConst.from, what: `${aConst.what ?? 'A blocks'} ${MR} rows${aConst.perBatch ? `, ×${batches} batches` : ''}` });
  }
  /** A[i0 + r, k] for the tile at rows i0 (row block `block`, or the last rows when undefined) of flat batch fb. */
  const aAt = (batch: readonly Index[], fb: Index, i0: Index, block: Index | undefined, r: number, k: Index): Scalar => {
    if (!aConst) return spec.a(batch, iadd(i0, ic(r)), k);
    const at = block !== undefined ? iadd(iadd(imul(block, ic(K * MR)), imul(k, ic(MR))), ic(r)) : iadd(iadd(ic(MB * K * MR), imul(k, ic(mt))), ic(r));
    return load('pk1', aConst.perBatch ? iadd(imul(fb, ic(M * K)), at) : at, t);
  };

  /**
   * The micro-kernel for an mr × (nv vectors) tile at rows i0.. (row block `block`; undefined: the last
   * rows), panel base, columns j0..j0+ncols; with `part`, only k in [part.k0, part.k0 + part.kn), the
   * sums carried between chunks in whole vectors of scratch `scp` (rows NP·NR apart).
   */
  const micro = (batch: readonly Index[], fb: Index, i0: Index, block: Index | undefined, b: BSource, j0: Index, mr: number, nv: number, ncols: number, part?: KChunk): Stmt[] => {
    const acc = Array.from({ length: mr }, () => Array.from({ length: nv }, () => n.fresh('c')));
    const kk = n.fresh('k');
    const kAt = part && part.k0 ? iadd(iv(kk), ic(part.k0)) : iv(kk);
    const body: Stmt[] = [];
    const bvs = Array.from({ length: nv }, (_, v) => {
      const name = n.fresh('b');
      body.push({ k: 'let', name, value: vload(b.buffer, iadd(iadd(b.base, imul(kAt, ic(b.kStride))), ic(v * L)), t, L) });
      return vref(name, t, L);
    });
    for (let r = 0; r < mr; r++) {
      const an = n.fresh('a');
      body.push({ k: 'let', name: an, value: broadcast(aAt(batch, fb, i0, block, r, kAt), L) });
      for (let v = 0; v < nv; v++) body.push({ k: 'accum', name: acc[r][v], value: binary('mul', vref(an, t, L), bvs[v]) });
    }
    const carried = (r: number, v: number) => iadd(iadd(imul(iadd(i0, ic(r)), ic(NP * NR)), j0), ic(v * L));
    const stmts: Stmt[] = acc.flatMap((row, r) => row.map((name, v): Stmt => ({
      k: 'acc', name, dtype: t, combine: 'add', lanes: L, init: part && !part.first ? vload('scp', carried(r, v), t, L) : broadcast(lit(0, t), L),
    })));
    stmts.push(loop(kk, part ? part.kn : K, body));
    if (part && !part.last) {
      for (let r = 0; r < mr; r++) for (let v = 0; v < nv; v++) stmts.push({ k: 'store', buffer: 'scp', index: carried(r, v), value: vref(acc[r][v], t, L) });
      return stmts;
    }
    // whole vectors are stored as they are; the finish then runs over those columns of each row in
    // place (a plain loop over memory the compiler vectorises), and on the lanes of a partial vector
    const full = Math.min(nv, Math.floor(ncols / L));
    for (let r = 0; r < mr; r++) {
      for (let v = 0; v < full; v++) {
        stmts.push({ k: 'store', buffer: spec.out, index: spec.outIndex(batch, iadd(i0, ic(r)), iadd(j0, ic(v * L))), value: vref(acc[r][v], t, L) });
      }
    }
    if (spec.finish && full > 0) {
      const rv = n.fresh('r'), l = n.fresh('l');
      const i = iadd(i0, iv(rv)), j = iadd(j0, iv(l));
      const at = spec.outIndex(batch, i, j);
      const f = spec.finish(batch, i, j, load(spec.out, at, t));
      const vec: Annotation[] = full * L >= 8 ? [{ kind: 'vectorize', width: 8, tail: (full * L) % 8 !== 0 }] : [];
      stmts.push(loop(rv, mr, [loop(l, full * L, [...f.lets, { k: 'store', buffer: spec.out, index: at, value: f.value }], vec)]));
    }
    if (full < nv) {
      const width = ncols - full * L;
      for (let r = 0; r < mr; r++) {
        const i = iadd(i0, ic(r)), l = n.fresh('l');
        const j = iadd(iadd(j0, ic(full * L)), iv(l));
        const c = lane(vref(acc[r][full], t, L), iv(l));
        const f = spec.finish ? spec.finish(batch, i, j, c) : { lets: [], value: c };
        stmts.push(loop(l, width, [...f.lets, { k: 'store', buffer: spec.out, index: spec.outIndex(batch, i, j), value: f.value }]));
      }
    }
    return stmts;
  };

  /** The packing of one batch's B (into its copy of the scratch at `sbase`). */
  const packOne = (batch: readonly Index[], sbase: Index): Stmt[] => (spec.b.kind === 'runtime' ? [...(spec.b.prepare?.(batch) ?? []), ...packRuntime(n, spec.b, batch, bp, sbase, t, N, NR, panel, kStride)]
    : spec.b.kind === 'inPlace' && nt > 0 ? packLastPanel(n, spec.b, batch, bp, sbase, t, N, NR, K) : []);

  /** The tiles of one batch as guarded ranges of the parallel loop, and the corner tile. */
  const tilesOf = (batch: readonly Index[], fb: Index, sbase: Index, part?: KChunk) => {
    const inPlace = spec.b.kind === 'inPlace' ? spec.b : undefined;
    // a constant B with one packed set per batch: batch fb's panels start at fb·NP·K·NR
    if (spec.b.kind === 'constant' && spec.b.perBatch) sbase = imul(fb, ic(NP * K * NR));
    /** Where the micro-kernel reads panel p (the last panel of an in-place B is the scratch copy). */
    const full = (p: Index): BSource => (inPlace
      ? { buffer: inPlace.buffer, base: iadd(inPlace.base(batch), imul(p, ic(NR))), kStride: inPlace.kStride }
      : { buffer: bp, base: iadd(sbase, imul(p, ic(panel))), kStride });
    const last: BSource = inPlace ? { buffer: bp, base: sbase, kStride: NR } : { buffer: bp, base: iadd(sbase, ic(NPf * panel)), kStride };
    const nvT = Math.ceil(nt / L);
    const regions: { count: number; tiles: (x: Index) => Stmt[] }[] = [];
    if (aOuter) {
      // by row block: each iteration runs one block of A against every panel, the partial one too,
      // so A is read once (the last rows against every panel: the corner)
      const rowsAcross = (i0: Index, block: Index | undefined, mr: number): Stmt[] => {
        const p = n.fresh('p');
        return [
          ...(NPf > 0 ? [loop(p, NPf, micro(batch, fb, i0, block, full(iv(p)), imul(iv(p), ic(NR)), mr, NV, NR, part))] : []),
          ...(nt > 0 ? micro(batch, fb, i0, block, last, ic(NPf * NR), mr, nvT, nt, part) : []),
        ];
      };
      if (MB > 0) regions.push({ count: MB, tiles: (ip) => rowsAcross(imul(ip, ic(MR)), ip, MR) });
      return { regions, corner: mt > 0 ? () => rowsAcross(ic(MB * MR), undefined, mt) : undefined };
    }
    if (NPf > 0 && MB > 0) {
      regions.push({ count: NPf * MB, tiles: (x) => {
        const p = idiv(x, ic(MB)), ip = imod(x, ic(MB));
        return micro(batch, fb, imul(ip, ic(MR)), ip, full(p), imul(p, ic(NR)), MR, NV, NR);
      } });
    }
    if (NPf > 0 && mt > 0) regions.push({ count: NPf, tiles: (p) => micro(batch, fb, ic(MB * MR), undefined, full(p), imul(p, ic(NR)), mt, NV, NR) });
    if (nt > 0 && MB > 0) regions.push({ count: MB, tiles: (ip) => micro(batch, fb, imul(ip, ic(MR)), ip, last, ic(NPf * NR), MR, nvT, nt) });
    const corner = nt > 0 && mt > 0 ? () => micro(batch, fb, ic(MB * MR), undefined, last, ic(NPf * NR), mt, nvT, nt) : undefined;
    return { regions, corner };
  };

  /** One parallel loop `tv` over every tile (one fork/join): each region a guarded range of it. */
  const tileLoop = (tv: string, count: number, perTile: (x: Index) => Stmt[]): Stmt[] => (count <= 0 ? []
    : [loop(tv, count, perTile(iv(tv)), count > 1 ? [{ kind: 'parallel' }, { kind: 'tile', sizes: [MR, NR] }] : [{ kind: 'tile', sizes: [MR, NR] }])]);
  const rangesOf = (regions: { count: number; tiles: (x: Index) => Stmt[] }[], x0: Index): Stmt[] => {
    let off = 0;
    const body: Stmt[] = [];
    for (const r of regions) {
      const x = off ? iadd(x0, ic(-off)) : x0;
      body.push(...(regions.length === 1 ? r.tiles(x) : [{ k: 'guard', bounds: [{ index: x, extent: r.count }], body: r.tiles(x) } as Stmt]));
      off += r.count;
    }
    return body;
  };

  /** One batch's product by column blocks (gemm-blocked.ts). */
  const blockedOne = (batch: readonly Index[], fb: Index, bl: NonNullable<typeof blocks>): Stmt[] => {
    const b = spec.b;
    const packRow = b.kind === 'inPlace'
      ? (k: Index, j0: Index, _block: Index, count: number, write: (c: Index, value: Scalar) => Stmt) => {
        const c = n.fresh('j');
        return [loop(c, count, [write(iv(c), load(b.buffer, iadd(iadd(b.base(batch), imul(k, ic(b.kStride))), iadd(j0, iv(c))), t))])];
      }
      : (k: Index, _j0: Index, block: Index, count: number, write: (c: Index, value: Scalar) => Stmt) => {
        const runs = (b as Extract<GemmB, { kind: 'runtime' }>).blocks!;
        return runs.pack(batch, k, imul(block, ic(bl.columns / runs.unit)), count / runs.unit, write);
      };
    return blockedGemm(n, {
      M, K, MR, NV, L, dtype: t, blocks: bl, packRow,
      prepare: b.kind === 'runtime' ? b.prepare?.(batch) ?? [] : [],
      micro: (i0, block, src, j0, mr, nv, ncols) => micro(batch, fb, i0, block, src, j0, mr, nv, ncols),
    });
  };

  let body: Stmt[];
  if (fold) {
    // every batch's B packed first (in parallel over batches), then one loop over batches × tiles,
    // the corner tile one more region of each batch
    const batchOf = (fb: Index): Index[] => {
      let stride = batches;
      return spec.batch.map((d) => {
        stride /= d;
        return d === 1 ? ic(0) : imod(idiv(fb, ic(stride)), ic(d));
      });
    };
    const pb = n.fresh('nb');
    const pack = packOne(batchOf(iv(pb)), imul(iv(pb), ic(bPerBatch)));
    body = pack.length ? [loop(pb, batches, pack, [{ kind: 'parallel' }])] : [];
    const probe = tilesOf(spec.batch.map(() => ic(0)), ic(0), ic(0));
    const perBatchCount = probe.regions.reduce((a, r) => a + r.count, 0) + (probe.corner ? 1 : 0);
    body.push(...tileLoop(n.fresh('t'), batches * perBatchCount, (tv) => {
      const fb = idiv(tv, ic(perBatchCount)), x = imod(tv, ic(perBatchCount));
      const { regions, corner } = tilesOf(batchOf(fb), fb, imul(fb, ic(bPerBatch)));
      if (corner) regions.push({ count: 1, tiles: corner });
      return rangesOf(regions, x);
    }));
  } else {
    // batches one after another (one batch, or B scratch too large to keep for all): pack, the tile
    // loop, then the corner tile on one thread
    const perBatch = (batch: readonly Index[], fb: Index): Stmt[] => {
      if (blocks) return blockedOne(batch, fb, blocks);
      const pack = packOne(batch, ic(0));
      if (chunks > 1) {
        // by chunks of k, each one parallel loop by row block (see kChunks)
        const KC = Math.ceil(K / chunks);
        return [...pack, ...Array.from({ length: chunks }, (_, c): Stmt[] => {
          const part: KChunk = { k0: c * KC, kn: Math.min(KC, K - c * KC), first: c === 0, last: c === chunks - 1 };
          const { regions, corner } = tilesOf(batch, fb, ic(0), part);
          return [...tileLoop(n.fresh('t'), regions.reduce((a, r) => a + r.count, 0), (x) => rangesOf(regions, x)), ...(corner ? corner() : [])];
        }).flat()];
      }
      const tv = n.fresh('t');
      const { regions, corner } = tilesOf(batch, fb, ic(0));
      const tiles = tileLoop(tv, regions.reduce((a, r) => a + r.count, 0), (x) => rangesOf(regions, x));
      return [...pack, ...tiles, ...(corner ? corner() : [])];
    };
    const bvars = spec.batch.map((d) => (d === 1 ? undefined : n.fresh('n')));
    const flat = bvars.reduce<Index>((f, v, d) => (v === undefined ? f : iadd(imul(f, ic(spec.batch[d])), iv(v))), ic(0));
    body = perBatch(bvars.map((v) => (v === undefined ? ic(0) : iv(v))), flat);
    for (let d = spec.batch.length - 1; d >= 0; d--) if (bvars[d]) body = [loop(bvars[d]!, spec.batch[d], body)];
  }
  return { kind: 'kernel', body, ...(packed.length ? { packed } : {}), ...(scratch.length ? { scratch } : {}) };
}

/** One chunk of k of a product run by chunks: k in [k0, k0 + kn), the first and the last chunk. */
interface KChunk {
  readonly k0: number;
  readonly kn: number;
  readonly first: boolean;
  readonly last: boolean;
}

/** Bytes of B one chunk of k keeps (with A's row block and C's tile, within a 512 KiB L2). */
const CHUNK_BYTES = 192 << 10;

/**
 * Chunks of k for a product run by row block whose B (K rows of `width` columns) is larger than
 * CHUNK_BYTES: every row block of A passes over all of B, so a B that does not stay in L2 is read from
 * L3 once per row block (resnet50's 1024 -> 256 pointwise convolution at 14x14: 43 passes over 800
 * KB). In chunks, each chunk's rows of B stay in L2 for every row block, A is still read once, and
 * the partial sums (M x NP·NR) go through scratch between chunks.
 */
function kChunks(K: number, width: number): number {
  return Math.min(K, Math.ceil((K * width * 4) / CHUNK_BYTES));
}

/** Most scratch elements (all batches' B together) with which batches fold into one tile loop. */
const FOLD_SCRATCH = 1 << 22;

/** Where the micro-kernel reads B: B[k, c] of its panel at base + k·kStride + c of `buffer`. */
interface BSource {
  readonly buffer: string;
  readonly base: Index;
  readonly kStride: number;
}
