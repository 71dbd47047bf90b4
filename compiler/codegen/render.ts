/**
 * The one renderer: kernel IR Program → source text of one target, driven by a small Language
 * descriptor (lang/c.ts now; WGSL and CUDA are further descriptors, after tinygrad's
 * renderer/cstyle.py). The renderer owns the structure every C-like target shares — statement
 * nesting and indentation, expression recursion, the order of the file (header, one function per
 * kernel, the entry that calls them in order) — and asks the descriptor for every spelling: types,
 * literals, operators and math functions, casts, loop headers with their annotation pragmas, kernel
 * signatures, locals, barriers, and the entry.
 *
 * Expressions are rendered fully parenthesised by the descriptor's operator templates, so no target
 * precedence table is needed. Index arithmetic is rendered in the descriptor's index type; loop
 * variables and indices are never negative (the verifier's bounds rule), so `/` and `%` of the target
 * are floor division and modulo there.
 */
import type { DType } from '../ir/dtype.ts';
import { type Annotation, type BinaryOp, type Combine, type Index, type Kernel, type MmaShape, type Program, type Scalar, type Stmt, type UnaryOp, lanesOf, localLayout } from './kir.ts';

/** One element group of an mma operand fragment: its rendered value, lanes and dtype. */
export interface MmaFragment {
  readonly text: string;
  readonly lanes: number;
  readonly dtype: DType;
}

/** Where a loop sits, for descriptors that annotate differently inside a parallel region. */
export interface LoopContext {
  /** True when an enclosing loop is already parallel (nested parallelism is not requested). */
  readonly insideParallel: boolean;
  /** The combine of every accumulator of the kernel (for reduction clauses). */
  readonly combines: ReadonlyMap<string, Combine>;
  /** The byte offset of every private buffer of the kernel (localLayout). */
  readonly locals: ReadonlyMap<string, number>;
  /** The dtype of every buffer of the kernel. */
  readonly dtypes: BufferDTypes;
}

/** The spelling of one target language. Every method returns text; the renderer joins and indents. */
export interface Language {
  /** Short name (`c`, `wgsl`, `cuda`). */
  readonly name: string;
  /** File extension of a rendered program (`c`). */
  readonly extension: string;
  /** The type of loop variables and index arithmetic. */
  readonly indexType: string;
  /** The dtype of index arithmetic (`i64` in C, `i32` in WGSL): what an `index` value is cast from. */
  readonly indexDType: DType;
  /** The storage/compute type of a dtype (throws for a dtype the target lacks). */
  type(dtype: DType): string;
  literal(value: number | boolean, dtype: DType): string;
  /** `op(a)`; `dtype` is the operand's. */
  unary(op: UnaryOp, a: string, dtype: DType): string;
  /** `a op b`; `dtype` is the operands' (comparisons give bool). */
  binary(op: BinaryOp, a: string, b: string, dtype: DType): string;
  select(cond: string, a: string, b: string, dtype: DType): string;
  cast(a: string, from: DType, to: DType): string;
  /** The type of a vector of `lanes` elements of `dtype` (lanes > 1). */
  vectorType(dtype: DType, lanes: number): string;
  /**
   * `lanes` consecutive elements of `buffer` from `index`: no alignment assumed, unless `aligned`
   * (index is a multiple of lanes and the buffer starts aligned: one aligned vector load).
   */
  vectorLoad(buffer: string, index: string, dtype: DType, lanes: number, aligned: boolean): string;
  /** Stores a vector at `index` of `buffer` (no alignment assumed). */
  vectorStore(buffer: string, index: string, value: string, dtype: DType, lanes: number): string;
  /** A vector of `lanes` copies of the scalar `a`. */
  broadcast(a: string, dtype: DType, lanes: number): string;
  /** Element `index` of the vector `a`. */
  lane(a: string, index: string): string;
  /** Element `index` of `buffer` (a scalar load; `dtype` is the buffer's). */
  load(buffer: string, index: string, dtype: DType): string;
  /** An element of an integer buffer of `dtype` read as an index (a gather's indices). */
  indexLoad(buffer: string, index: string, dtype: DType): string;
  /** Element `index` of a constant table of `dtype` values (an operand: parenthesised). */
  table(values: readonly number[], dtype: DType, index: string): string;
  /** Called before a kernel's body renders: a descriptor may look at the whole kernel first. */
  beginKernel?(k: Kernel): void;
  /** Lines before the kernels: includes, helpers. */
  fileHeader(p: Program): string[];
  /**
   * The kernel's opening line(s), ending with the body's opening brace (module-scope declarations a
   * target needs, such as bindings, go first). Called after the kernel's body was rendered, so a
   * descriptor may declare here what rendering the body collected (WGSL's constant tables).
   */
  kernelOpen(k: Kernel): string[];
  /** Lines that open a loop (pragmas, then the header ending with `{`). */
  loopOpen(v: string, extent: number, annotations: readonly Annotation[], ctx: LoopContext): string[];
  /** An immutable local (a vector when lanes > 1). */
  letDecl(name: string, dtype: DType, value: string, lanes: number): string;
  /** An accumulator (a vector when lanes > 1). */
  accDecl(name: string, dtype: DType, init: string, lanes: number): string;
  /** acc = combine(acc, value). */
  accumulate(name: string, combine: Combine, value: string, dtype: DType): string;
  /** Writes a scalar `value` of `dtype` (the buffer's) at `index`. */
  store(buffer: string, index: string, value: string, dtype: DType): string;
  /** Opens a block that runs only where 0 <= index < extent for every bound (ends with `{`). */
  guardOpen(bounds: readonly { index: string; extent: number }[]): string;
  barrier(): string;
  /**
   * Declares private buffer `name` of `count` elements (a `local` statement), at `offset` bytes of the
   * thread's local arena for targets that slice one (C).
   */
  localDecl(name: string, dtype: DType, offset: number, count: number): string;
  /**
   * A warp's tensor-core multiply-accumulate (kernel IR `mma`): `acc` (an f32 vector of 4) += A·B,
   * each operand given as this thread's fragment elements in order (rendered values with their
   * lanes). Absent on targets without tensor cores (the renderer refuses the statement there).
   */
  mma?(shape: MmaShape, acc: string, a: readonly MmaFragment[], b: readonly MmaFragment[]): string[];
  /**
   * An asynchronous global → shared copy of `lanes` elements (kernel IR copy_async): zeros where a
   * bound fails. With asyncCommit and asyncWait; absent on targets without them.
   */
  copyAsync?(to: string, toIndex: string, from: string, fromIndex: string, dtype: DType, lanes: number, bounds: readonly { index: string; extent: number }[]): string;
  asyncCommit?(): string;
  /** A warp's load of 8×8 matrices of 16-bit elements (kernel IR ldmatrix), binding `names` as 2-lane vectors. */
  ldmatrix?(names: readonly string[], buffer: string, index: string, dtype: DType): string[];
  asyncWait?(pending: number): string;
  /** Lines after the kernels: the entry that runs every call in order over the buffers. */
  entry(p: Program): string[];
}

const PREC: Record<string, number> = { add: 1, mul: 2, div: 2, mod: 2 };
const SYMBOL: Record<string, string> = { add: '+', mul: '*', div: '/', mod: '%' };

/**
 * Renders an index expression (parentheses only where precedence needs them). `dtypes` gives the
 * dtype of a buffer an indirect index reads.
 */
export function renderIndex(lang: Language, e: Index, outer = 0, dtypes?: BufferDTypes): string {
  switch (e.k) {
    case 'const': return e.value < 0 ? `(${e.value})` : String(e.value);
    case 'var': return e.name;
    case 'load': return lang.indexLoad(e.buffer, renderIndex(lang, e.index, 0, dtypes), dtypes?.get(e.buffer) ?? 'i64');
    case 'table': return lang.table(e.values, lang.indexDType, renderIndex(lang, e.index, 0, dtypes));
    default: {
      const p = PREC[e.k];
      if (e.k === 'add' && e.b.k === 'const' && e.b.value < 0) {
        const text = `${renderIndex(lang, e.a, p, dtypes)} - ${-e.b.value}`;
        return p < outer ? `(${text})` : text;
      }
      const text = `${renderIndex(lang, e.a, p, dtypes)} ${SYMBOL[e.k]} ${renderIndex(lang, e.b, (e.k === 'add' || e.k === 'mul') && e.b.k === e.k ? p : p + 1, dtypes)}`;
      return p < outer ? `(${text})` : text;
    }
  }
}

/** Renders a scalar expression (`dtypes`: the kernel's buffers, for indirect indices). */
export function renderScalar(lang: Language, e: Scalar, dtypes?: BufferDTypes): string {
  const ix = (i: Index, outer = 0) => renderIndex(lang, i, outer, dtypes);
  const sc = (x: Scalar) => renderScalar(lang, x, dtypes);
  switch (e.k) {
    case 'lit': return lang.literal(e.value, e.dtype);
    case 'load': return e.lanes && e.lanes > 1 ? lang.vectorLoad(e.buffer, ix(e.index), e.dtype, e.lanes, e.aligned ?? false) : lang.load(e.buffer, ix(e.index), e.dtype);
    case 'ref': return e.name;
    case 'broadcast': return lang.broadcast(sc(e.a), e.dtype, e.lanes);
    case 'lane': return lang.lane(sc(e.a), ix(e.index));
    case 'index': return lang.cast(ix(e.index, 3), lang.indexDType, e.dtype); // parenthesised: it is an operand
    case 'table': return lang.table(e.values, e.dtype, ix(e.index));
    case 'unary': return lang.unary(e.op, sc(e.a), e.a.dtype);
    case 'binary': return lang.binary(e.op, sc(e.a), sc(e.b), e.a.dtype);
    case 'select': return lang.select(sc(e.cond), sc(e.a), sc(e.b), e.dtype);
    case 'cast': return lang.cast(sc(e.a), e.a.dtype, e.dtype);
  }
}

/** The dtype of every buffer a kernel names (params, shared and local buffers). */
export type BufferDTypes = ReadonlyMap<string, DType>;

/** Accumulator dtypes of a statement list (nested), for rendering `accum`. */
function accDTypes(stmts: readonly Stmt[], out: Map<string, { dtype: DType; combine: Combine }>): void {
  for (const s of stmts) {
    if (s.k === 'acc') out.set(s.name, { dtype: s.dtype, combine: s.combine });
    else if (s.k === 'loop' || s.k === 'guard') accDTypes(s.body, out);
  }
}

function renderStmts(lang: Language, stmts: readonly Stmt[], indent: number, ctx: LoopContext,
  accs: ReadonlyMap<string, { dtype: DType; combine: Combine }>): string[] {
  const pad = '  '.repeat(indent);
  const out: string[] = [];
  for (const s of stmts) {
    switch (s.k) {
      case 'loop': {
        out.push(...lang.loopOpen(s.var, s.extent, s.annotations, ctx).map((l) => (l.startsWith('#') ? l : pad + l)));
        const inner = { ...ctx, insideParallel: ctx.insideParallel || s.annotations.some((a) => a.kind === 'parallel') };
        out.push(...renderStmts(lang, s.body, indent + 1, inner, accs), `${pad}}`);
        break;
      }
      case 'store': {
        const lanes = lanesOf(s.value), index = renderIndex(lang, s.index, 0, ctx.dtypes), value = renderScalar(lang, s.value, ctx.dtypes);
        out.push(pad + (lanes > 1 ? lang.vectorStore(s.buffer, index, value, s.value.dtype, lanes) : lang.store(s.buffer, index, value, s.value.dtype)));
        break;
      }
      case 'let': out.push(pad + lang.letDecl(s.name, s.value.dtype, renderScalar(lang, s.value, ctx.dtypes), lanesOf(s.value))); break;
      case 'acc': out.push(pad + lang.accDecl(s.name, s.dtype, renderScalar(lang, s.init, ctx.dtypes), s.lanes ?? 1)); break;
      case 'accum': {
        const a = accs.get(s.name)!;
        out.push(pad + lang.accumulate(s.name, a.combine, renderScalar(lang, s.value, ctx.dtypes), a.dtype));
        break;
      }
      case 'guard': {
        out.push(pad + lang.guardOpen(s.bounds.map((b) => ({ index: renderIndex(lang, b.index, 0, ctx.dtypes), extent: b.extent }))));
        out.push(...renderStmts(lang, s.body, indent + 1, ctx, accs), `${pad}}`);
        break;
      }
      case 'barrier': out.push(pad + lang.barrier()); break;
      case 'local': out.push(pad + lang.localDecl(s.name, s.dtype, ctx.locals.get(s.name)!, s.count)); break;
      case 'copy_async': {
        if (!lang.copyAsync) throw new Error(`the ${lang.name} target has no asynchronous copies (kernel IR copy_async)`);
        const ix = (i: Index) => renderIndex(lang, i, 0, ctx.dtypes);
        out.push(pad + lang.copyAsync(s.to, ix(s.toIndex), s.from, ix(s.fromIndex), s.dtype, s.lanes, s.bounds.map((b) => ({ index: ix(b.index), extent: b.extent }))));
        break;
      }
      case 'ldmatrix':
        if (!lang.ldmatrix) throw new Error(`the ${lang.name} target has no warp matrix loads (kernel IR ldmatrix)`);
        out.push(...lang.ldmatrix(s.names, s.buffer, renderIndex(lang, s.index, 0, ctx.dtypes), s.dtype).map((l) => pad + l));
        break;
      case 'async_commit': case 'async_wait':
        if (!lang.asyncCommit || !lang.asyncWait) throw new Error(`the ${lang.name} target has no asynchronous copies (kernel IR ${s.k})`);
        out.push(pad + (s.k === 'async_commit' ? lang.asyncCommit() : lang.asyncWait(s.pending)));
        break;
      case 'mma': {
        if (!lang.mma) throw new Error(`the ${lang.name} target has no tensor-core mma (kernel IR mma<${s.shape}>)`);
        const frag = (x: Scalar) => ({ text: renderScalar(lang, x, ctx.dtypes), lanes: lanesOf(x), dtype: x.dtype });
        out.push(...lang.mma(s.shape, s.acc, s.a.map(frag), s.b.map(frag)).map((l) => pad + l));
        break;
      }
    }
  }
  return out;
}

/** The dtype of every buffer a kernel names: params, shared buffers and `local` statements. */
function bufferDTypes(k: Kernel): Map<string, DType> {
  const out = new Map<string, DType>([...k.params, ...k.shared].map((b) => [b.name, b.dtype]));
  const walk = (stmts: readonly Stmt[]): void => {
    for (const s of stmts) {
      if (s.k === 'local') out.set(s.name, s.dtype);
      else if (s.k === 'loop' || s.k === 'guard') walk(s.body);
    }
  };
  walk(k.body);
  return out;
}

/** Renders one kernel as a function (the body first, then its opening: see Language.kernelOpen). */
export function renderKernel(lang: Language, k: Kernel): string[] {
  const accs = new Map<string, { dtype: DType; combine: Combine }>();
  accDTypes(k.body, accs);
  const locals = new Map(localLayout(k).map((l) => [l.name, l.offset]));
  const ctx: LoopContext = { insideParallel: false, combines: new Map([...accs].map(([n, a]) => [n, a.combine])), locals, dtypes: bufferDTypes(k) };
  lang.beginKernel?.(k);
  const body = renderStmts(lang, k.body, 1, ctx, accs);
  return [...lang.kernelOpen(k), ...body, '}'];
}

/**
 * Renders one kernel as a file of its own: the descriptor's header for a program of just this kernel,
 * then the kernel (a WGSL or CUDA module per kernel; the entry is not rendered).
 */
export function renderKernelModule(lang: Language, k: Kernel): string {
  const header = lang.fileHeader({ name: k.name, buffers: [], kernels: [k], calls: [] });
  return [...header, '', ...renderKernel(lang, k)].join('\n') + '\n';
}

/** Renders a whole program: header, one function per kernel, the entry. */
export function renderProgram(lang: Language, p: Program): string {
  const parts = [...lang.fileHeader(p), ''];
  for (const k of p.kernels) parts.push(...renderKernel(lang, k), '');
  parts.push(...lang.entry(p));
  return parts.join('\n') + '\n';
}
