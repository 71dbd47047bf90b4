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
import { type Annotation, type BinaryOp, type Combine, type Index, type Kernel, type Program, type Scalar, type Stmt, type UnaryOp, lanesOf, localLayout } from './kir.ts';

/** Where a loop sits, for descriptors that annotate differently inside a parallel region. */
export interface LoopContext {
  /** True when an enclosing loop is already parallel (nested parallelism is not requested). */
  readonly insideParallel: boolean;
  /** The combine of every accumulator of the kernel (for reduction clauses). */
  readonly combines: ReadonlyMap<string, Combine>;
  /** The byte offset of every private buffer of the kernel (localLayout). */
  readonly locals: ReadonlyMap<string, number>;
}

/** The spelling of one target language. Every method returns text; the renderer joins and indents. */
export interface Language {
  /** Short name (`c`, `wgsl`, `cuda`). */
  readonly name: string;
  /** File extension of a rendered program (`c`). */
  readonly extension: string;
  /** The type of loop variables and index arithmetic. */
  readonly indexType: string;
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
  /** `lanes` consecutive elements of `buffer` from `index` (no alignment assumed). */
  vectorLoad(buffer: string, index: string, dtype: DType, lanes: number): string;
  /** Stores a vector at `index` of `buffer` (no alignment assumed). */
  vectorStore(buffer: string, index: string, value: string, dtype: DType, lanes: number): string;
  /** A vector of `lanes` copies of the scalar `a`. */
  broadcast(a: string, dtype: DType, lanes: number): string;
  /** Element `index` of the vector `a`. */
  lane(a: string, index: string): string;
  /** An element of a buffer read as an index (a gather's indices). */
  indexLoad(buffer: string, index: string): string;
  /** Element `index` of a constant table of `dtype` values (an operand: parenthesised). */
  table(values: readonly number[], dtype: DType, index: string): string;
  /** Lines before the kernels: includes, helpers. */
  fileHeader(p: Program): string[];
  /** The kernel's opening line(s), ending with the body's opening brace. */
  kernelOpen(k: Kernel): string[];
  /** Lines that open a loop (pragmas, then the header ending with `{`). */
  loopOpen(v: string, extent: number, annotations: readonly Annotation[], ctx: LoopContext): string[];
  /** An immutable local (a vector when lanes > 1). */
  letDecl(name: string, dtype: DType, value: string, lanes: number): string;
  /** An accumulator (a vector when lanes > 1). */
  accDecl(name: string, dtype: DType, init: string, lanes: number): string;
  /** acc = combine(acc, value). */
  accumulate(name: string, combine: Combine, value: string, dtype: DType): string;
  store(buffer: string, index: string, value: string): string;
  /** Opens a block that runs only where 0 <= index < extent for every bound (ends with `{`). */
  guardOpen(bounds: readonly { index: string; extent: number }[]): string;
  barrier(): string;
  /** Declares private buffer `name` (a `local` statement) at `offset` bytes of the thread's local arena. */
  localDecl(name: string, dtype: DType, offset: number): string;
  /** Lines after the kernels: the entry that runs every call in order over the buffers. */
  entry(p: Program): string[];
}

const PREC: Record<string, number> = { add: 1, mul: 2, div: 2, mod: 2 };
const SYMBOL: Record<string, string> = { add: '+', mul: '*', div: '/', mod: '%' };

/** Renders an index expression (parentheses only where precedence needs them). */
export function renderIndex(lang: Language, e: Index, outer = 0): string {
  switch (e.k) {
    case 'const': return e.value < 0 ? `(${e.value})` : String(e.value);
    case 'var': return e.name;
    case 'load': return lang.indexLoad(e.buffer, renderIndex(lang, e.index));
    case 'table': return lang.table(e.values, 'i64', renderIndex(lang, e.index));
    default: {
      const p = PREC[e.k];
      if (e.k === 'add' && e.b.k === 'const' && e.b.value < 0) {
        const text = `${renderIndex(lang, e.a, p)} - ${-e.b.value}`;
        return p < outer ? `(${text})` : text;
      }
      const text = `${renderIndex(lang, e.a, p)} ${SYMBOL[e.k]} ${renderIndex(lang, e.b, (e.k === 'add' || e.k === 'mul') && e.b.k === e.k ? p : p + 1)}`;
      return p < outer ? `(${text})` : text;
    }
  }
}

/** Renders a scalar expression. */
export function renderScalar(lang: Language, e: Scalar): string {
  switch (e.k) {
    case 'lit': return lang.literal(e.value, e.dtype);
    case 'load': return e.lanes && e.lanes > 1 ? lang.vectorLoad(e.buffer, renderIndex(lang, e.index), e.dtype, e.lanes) : `${e.buffer}[${renderIndex(lang, e.index)}]`;
    case 'ref': return e.name;
    case 'broadcast': return lang.broadcast(renderScalar(lang, e.a), e.dtype, e.lanes);
    case 'lane': return lang.lane(renderScalar(lang, e.a), renderIndex(lang, e.index));
    case 'index': return lang.cast(renderIndex(lang, e.index, 3), 'i64', e.dtype); // parenthesised: it is an operand
    case 'table': return lang.table(e.values, e.dtype, renderIndex(lang, e.index));
    case 'unary': return lang.unary(e.op, renderScalar(lang, e.a), e.a.dtype);
    case 'binary': return lang.binary(e.op, renderScalar(lang, e.a), renderScalar(lang, e.b), e.a.dtype);
    case 'select': return lang.select(renderScalar(lang, e.cond), renderScalar(lang, e.a), renderScalar(lang, e.b), e.dtype);
    case 'cast': return lang.cast(renderScalar(lang, e.a), e.a.dtype, e.dtype);
  }
}

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
        const lanes = lanesOf(s.value), index = renderIndex(lang, s.index), value = renderScalar(lang, s.value);
        out.push(pad + (lanes > 1 ? lang.vectorStore(s.buffer, index, value, s.value.dtype, lanes) : lang.store(s.buffer, index, value)));
        break;
      }
      case 'let': out.push(pad + lang.letDecl(s.name, s.value.dtype, renderScalar(lang, s.value), lanesOf(s.value))); break;
      case 'acc': out.push(pad + lang.accDecl(s.name, s.dtype, renderScalar(lang, s.init), s.lanes ?? 1)); break;
      case 'accum': {
        const a = accs.get(s.name)!;
        out.push(pad + lang.accumulate(s.name, a.combine, renderScalar(lang, s.value), a.dtype));
        break;
      }
      case 'guard': {
        out.push(pad + lang.guardOpen(s.bounds.map((b) => ({ index: renderIndex(lang, b.index), extent: b.extent }))));
        out.push(...renderStmts(lang, s.body, indent + 1, ctx, accs), `${pad}}`);
        break;
      }
      case 'barrier': out.push(pad + lang.barrier()); break;
      case 'local': out.push(pad + lang.localDecl(s.name, s.dtype, ctx.locals.get(s.name)!)); break;
    }
  }
  return out;
}

/** Renders one kernel as a function. */
export function renderKernel(lang: Language, k: Kernel): string[] {
  const accs = new Map<string, { dtype: DType; combine: Combine }>();
  accDTypes(k.body, accs);
  const locals = new Map(localLayout(k).map((l) => [l.name, l.offset]));
  return [...lang.kernelOpen(k), ...renderStmts(lang, k.body, 1, { insideParallel: false, combines: new Map([...accs].map(([n, a]) => [n, a.combine])), locals }, accs), '}'];
}

/** Renders a whole program: header, one function per kernel, the entry. */
export function renderProgram(lang: Language, p: Program): string {
  const parts = [...lang.fileHeader(p), ''];
  for (const k of p.kernels) parts.push(...renderKernel(lang, k), '');
  parts.push(...lang.entry(p));
  return parts.join('\n') + '\n';
}
