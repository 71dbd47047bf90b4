/**
 * The operands of the GEMM template (gemm.ts): what a lowering hands it for one matrix product (the
 * spec: sizes, A, B as a constant, a per-call packing or an in-place buffer, the output and its
 * finish), and how a runtime B's packing writes into the template's panels.
 */
import type { DType } from '../../ir/dtype.ts';
import type { Index, Scalar, Stmt } from '../kir.ts';
import type { ScratchDecl } from './context.ts';

/** What the template stores for C[b, i, j] = acc: the statements and value of the finish, and where. */
export interface GemmFinish {
  readonly lets: readonly Stmt[];
  readonly value: Scalar;
}

/** The B operand: a constant packed at lowering time, packed per call from a load, or read in place. */
export type GemmB =
  | GemmBInPlace
  | {
    readonly kind: 'constant';
    /** The node input it comes from (for the packed constant's provenance). */
    readonly from: number;
    /** B[k, j] of flat batch `b` (always 0 unless `perBatch`). */
    readonly at: (k: number, j: number, b: number) => number;
    /** One B per batch (channels-last Winograd's 36 transformed filter sets) instead of one for all. */
    readonly perBatch?: boolean;
    /** The packing in words (`B panels`, `B^T panels`). */
    readonly what: string;
  }
  | {
    readonly kind: 'runtime';
    /**
     * k = o·rows + r: the packing runs in parallel over o < outer (an input channel of a convolution,
     * a row of a matrix), each iteration writing the rows r < rows of k.
     */
    readonly outer: number;
    readonly rows: number;
    /** The statements that write B[b, k, j] for the rows of `o` (see PackWriter), in the loop order that reads B best. */
    readonly pack: (batch: readonly Index[], o: Index, w: PackWriter) => Stmt[];
    readonly what: string;
    /**
     * `panels` (default): panel p holds B[k, p·NR + c] at p·K·NR + k·NR + c, every row of a panel
     * contiguous; `rows`: B row-major with rows padded to whole panels, B[k, j] at k·NP·NR + j, for an
     * operand whose natural writes run along j (im2col rows): the micro-kernel then steps rows of NP·NR.
     */
    readonly layout?: 'panels' | 'rows';
    /** Scratch the packing uses besides the panels (a padded copy of a convolution's input; not `sc0`). */
    readonly scratch?: readonly ScratchDecl[];
    /**
     * Statements run before the packing of a batch (a convolution's zero-padded input planes, with
     * their own parallel loop), so the packing itself can run in parallel over finer rows.
     */
    readonly prepare?: (batch: readonly Index[]) => Stmt[];
    /**
     * The packing by column blocks (gemm-blocked.ts) where B's columns come in runs of `unit` (an
     * output row of a convolution): the statements writing row k of `units` runs from run `first`,
     * `write(c, value)` at column c of the block.
     */
    readonly blocks?: {
      readonly unit: number;
      readonly pack: (batch: readonly Index[], k: Index, first: Index, units: number, write: (c: Index, value: Scalar) => Stmt) => Stmt[];
    };
  };

/**
 * A B that is already row-major in a buffer the kernel reads (a pointwise convolution's input: B =
 * X[img] as [Cin, H·W]): the full panels are read in place (rows `kStride` apart), only the last,
 * partial panel is copied into scratch (zero past N), so there is no per-call packing of the rest.
 */
export interface GemmBInPlace {
  readonly kind: 'inPlace';
  /** The kernel param (`in0`). */
  readonly buffer: string;
  /** Elements between rows k and k + 1 (>= N). */
  readonly kStride: number;
  /** Index of B[b, 0, 0]. */
  readonly base: (batch: readonly Index[]) => Index;
  readonly what: string;
}

/** A column j of B as the panel loops of PackWriter.columns see it: j = panel·NR + c. */
export interface PackColumn {
  readonly j: Index;
  readonly panel: Index;
  readonly c: Index;
}

/**
 * How a runtime operand writes its B into the panels: every B[b, k, j] (j < N; zero where B is zero,
 * e.g. a convolution's padding) once, by `write` at any (k, j), or by `writeColumn` inside the loops
 * of `columns` (by panel, then column in the panel: contiguous stores the C compiler vectorises).
 */
export interface PackWriter {
  write(k: Index, j: Index, value: Scalar): Stmt;
  /** Loops over every column j < N, panel by panel, around `body`. */
  columns(body: (col: PackColumn) => Stmt[]): Stmt[];
  writeColumn(k: Index, col: PackColumn, value: Scalar): Stmt;
}

/** One matrix product for the template. */
export interface GemmSpec {
  readonly M: number;
  readonly N: number;
  readonly K: number;
  readonly dtype: DType;
  /** Batch dims (outer loops, run one after another); [] for one product. */
  readonly batch: readonly number[];
  /** A[b, i, k] (a scalar load). */
  readonly a: (batch: readonly Index[], i: Index, k: Index) => Scalar;
  /**
   * A constant A (a convolution's weights, the same for every batch): A[i, k], packed at lowering time
   * into row blocks of MR (block b holds A[b·MR + r, k] at b·K·MR + k·MR + r, the last block mt rows
   * wide) so the micro-kernel's broadcasts read one contiguous stream; `from` is its node input.
   */
  readonly aConstant?: {
    readonly from: number;
    /** A[i, k] of flat batch `b` (row-major over the batch dims; always 0 unless `perBatch`). */
    readonly at: (i: number, k: number, b: number) => number;
    /** One A per batch (Winograd's 36 transformed filter sets) instead of one for all. */
    readonly perBatch?: boolean;
    /** The packing in words (default `A blocks`). */
    readonly what?: string;
  };
  readonly b: GemmB;
  /** The output buffer and the flat index of C[b, i, j] (j must have stride 1). */
  readonly out: string;
  readonly outIndex: (batch: readonly Index[], i: Index, j: Index) => Index;
  /** The finish of one element (bias, epilogue); absent: store the accumulator as is. */
  readonly finish?: (batch: readonly Index[], i: Index, j: Index, acc: Scalar) => GemmFinish;
}

