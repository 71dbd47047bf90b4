/**
 * The kernel IR: loop nests over flat buffers, the level between the graph IR (one node = one op on
 * tensors) and target source (C, WGSL, CUDA). Every backend shares it: lowering (lower/*.ts) turns graph
 * nodes into kernels, the verifier (verify.ts) checks them, the printer (print.ts) gives the canonical
 * text the golden tests compare, and one renderer (render.ts) with a small language descriptor per
 * target (lang/c.ts) writes source. Nothing here is target specific.
 *
 * Shape of a kernel:
 *   - params: flat buffers (dtype, element count, role), addressed by one linear index each;
 *   - body: statements; a `loop` binds a variable over [0, extent) and carries annotations
 *     (parallel, vectorize, unroll, tile; the GPU mappings grid/block for later targets);
 *   - index expressions (`Index`): affine arithmetic over loop variables and constants with floor
 *     div/mod, plus an indirect `load` for gathers (not statically bounded) and a constant `table`
 *     made at lowering time (Resize's source positions; its range is its values' range);
 *   - scalar expressions (`Scalar`): literals, loads, locals, arithmetic, comparisons, select, math
 *     calls, casts; every node carries its dtype so a renderer never infers types;
 *   - guards: a block that runs only where some index expressions lie in [0, extent) (a window's
 *     padding, a GPU thread past the end); inside it those expressions count as in range;
 *   - reductions: an accumulator (`acc`, with its combine and initial value) updated by `accum`
 *     inside loops and read after them; a parallel loop may only carry the accumulators it declares;
 *   - vector lanes (tinygrad's dtype.vec(n)): a load, local, accumulator or add/sub/mul/div may carry
 *     `lanes` > 1 (one value of `lanes` elements of its dtype, e.g. 16 f32 = one AVX-512 register, 8 =
 *     AVX2, 4 = a WGSL vec4 / CUDA float4). A vector load reads `lanes` consecutive elements from
 *     its index and a store of a vector value writes them (no alignment is assumed: the index need
 *     not be a multiple of lanes); `broadcast` makes a vector of one scalar and `lane` reads one
 *     element of a vector. Lanewise arithmetic is add/sub/mul/div; a multiply feeding an add is
 *     fused (one rounding) where the target contracts (C: GCC/Clang's default -ffp-contract=fast in
 *     GNU mode), so `acc += mul(bcast(a), b)` is the FMA of a register-blocked micro-kernel. No
 *     lowering names an instruction set: the lane count comes from the target (LowerOptions.target).
 *     An `aligned` vector load promises more: its index is a multiple of its lanes (the verifier
 *     proves it with knownMultiple), so, buffers starting aligned, a GPU target reads the lanes as one
 *     naturally aligned vector (one 16-byte load of a WGSL array<vec4<f32>> view, a CUDA float4) where
 *     the unaligned form is `lanes` scalar loads. The GPU lowering makes them (gpu/vectorize.ts, the
 *     GEMM template's tile copies).
 *   - warp and copy engines of NVIDIA GPUs (the CUDA target's templates, lower/gemm-mma.ts): `mma`, a
 *     warp's tensor-core multiply-accumulate over register fragments laid out as the PTX ISA says
 *     (mma-layout.ts), `ldmatrix`, a warp's load of such fragments from shared memory, and
 *     `copy_async` / `async_commit` / `async_wait`, global → shared copies that
 *     land by the wait covering their group (PTX cp.async). Targets without them refuse these
 *     statements (the renderer names the statement); gpu/simulate.ts runs them on the host.
 * The scalar operators are a closed list (SCALAR_UNARY/SCALAR_BINARY) so a language descriptor can map
 * every one; pointwise ops get them from the scalar-op table of compiler/ops (lower/scalar.ts).
 *
 * A Program is the kernels of a graph in execution order with buffer bindings: every program buffer is
 * a graph value (input, output, constant, intermediate) and each call passes program buffers to a
 * kernel's params in order. Views (Reshape and friends) produce no kernel: their value is bound to the
 * buffer of their source (`aliasOf`).
 */
import { type DType, type TensorData, dtypeInfo } from '../ir/dtype.ts';

/** An index expression (i32/i64 arithmetic on element positions). */
export type Index =
  | { readonly k: 'const'; readonly value: number }
  | { readonly k: 'var'; readonly name: string }
  | { readonly k: 'add' | 'mul' | 'div' | 'mod'; readonly a: Index; readonly b: Index }
  /** An indirect index: the (integer) element of a buffer, e.g. Gather's indices. */
  | { readonly k: 'load'; readonly buffer: string; readonly index: Index }
  /** An element of a constant integer table made at lowering time (Resize's source positions). */
  | { readonly k: 'table'; readonly values: readonly number[]; readonly index: Index };

/**
 * Unary scalar operators, with the semantics of the scalar-op table's functions (compiler/ops/scalar-expr.ts):
 * `round` is round half to even, `sign` keeps NaN and -0, `round_f16` rounds a float to f16 precision
 * and keeps its type, `isnan` gives bool (its node's dtype), `not` is on bool.
 */
export const SCALAR_UNARY = [
  'neg', 'abs', 'not', 'exp', 'expm1', 'log', 'log1p', 'sqrt', 'tanh', 'erf', 'sin', 'cos', 'floor', 'ceil', 'round',
  'round_f16', 'sign', 'isnan',
] as const;
export type UnaryOp = (typeof SCALAR_UNARY)[number];

/**
 * Binary scalar operators (comparisons give bool): integer `div` truncates, `fmod` is C's remainder (the
 * sign of the dividend, on floats and ints), `max`/`min` propagate NaN and keep `a` on ties
 * (max(a, b) = b > a || b != b ? b : a), as the table's functions and the reference reductions.
 */
export const SCALAR_BINARY = [
  'add', 'sub', 'mul', 'div', 'max', 'min', 'pow', 'fmod',
  'lt', 'le', 'gt', 'ge', 'eq', 'ne', 'and', 'or', 'xor',
] as const;
export type BinaryOp = (typeof SCALAR_BINARY)[number];

/** Binary operators whose result is bool. */
export const COMPARISONS: ReadonlySet<BinaryOp> = new Set(['lt', 'le', 'gt', 'ge', 'eq', 'ne']);

/** A scalar expression; `dtype` is the type of its value. */
export type Scalar =
  | { readonly k: 'lit'; readonly dtype: DType; readonly value: number | boolean }
  /**
   * `lanes` > 1: the `lanes` consecutive elements from `index` (unaligned, unless `aligned`: then
   * `index` is a multiple of `lanes` and a target may read them as one aligned vector).
   */
  | { readonly k: 'load'; readonly dtype: DType; readonly buffer: string; readonly index: Index; readonly lanes?: number; readonly aligned?: boolean }
  /** A local (`let`) or an accumulator, by name (`lanes` as declared). */
  | { readonly k: 'ref'; readonly dtype: DType; readonly name: string; readonly lanes?: number }
  /** A vector of `lanes` copies of the scalar `a`. */
  | { readonly k: 'broadcast'; readonly dtype: DType; readonly lanes: number; readonly a: Scalar }
  /** Element `index` (0 <= index < lanes of `a`) of the vector `a`. */
  | { readonly k: 'lane'; readonly dtype: DType; readonly a: Scalar; readonly index: Index }
  /** An index value used as a number (e.g. Range, an iota). */
  | { readonly k: 'index'; readonly dtype: DType; readonly index: Index }
  /** An element of a constant table of `dtype` numbers made at lowering time (Resize's weights). */
  | { readonly k: 'table'; readonly dtype: DType; readonly values: readonly number[]; readonly index: Index }
  | { readonly k: 'unary'; readonly dtype: DType; readonly op: UnaryOp; readonly a: Scalar }
  /** Lanewise when `lanes` > 1 (add, sub, mul, div only; both operands have the same lanes). */
  | { readonly k: 'binary'; readonly dtype: DType; readonly op: BinaryOp; readonly a: Scalar; readonly b: Scalar; readonly lanes?: number }
  | { readonly k: 'select'; readonly dtype: DType; readonly cond: Scalar; readonly a: Scalar; readonly b: Scalar }
  | { readonly k: 'cast'; readonly dtype: DType; readonly a: Scalar };

/** How an accumulator combines values. */
export type Combine = 'add' | 'mul' | 'max' | 'min';

/** A loop annotation (a schedule decision a renderer carries out or ignores). */
export type Annotation =
  /** Iterations may run on several threads; `reductions` are the accumulators it may carry. */
  | { readonly kind: 'parallel'; readonly reductions?: readonly string[] }
  /** SIMD over `width` lanes; the trip count must be a multiple of width unless `tail` is set. */
  | { readonly kind: 'vectorize'; readonly width: number; readonly tail?: boolean }
  | { readonly kind: 'unroll'; readonly factor: number }
  /** The loop was (or should be) tiled with these tile sizes, outermost first. */
  | { readonly kind: 'tile'; readonly sizes: readonly number[] }
  /** GPU: the loop variable is the grid (CUDA blockIdx / WGSL workgroup_id) index on axis 0..2. */
  | { readonly kind: 'grid'; readonly axis: number }
  /** GPU: the loop variable is the block (CUDA threadIdx / WGSL local_invocation_id) index on axis 0..2. */
  | { readonly kind: 'block'; readonly axis: number };

/** A statement. */
export type Stmt =
  | {
    readonly k: 'loop'; readonly var: string; readonly extent: number;
    readonly annotations: readonly Annotation[]; readonly body: readonly Stmt[];
  }
  /** Writes `value` at `index`; a vector value writes its lanes at index, index + 1, ... (unaligned). */
  | { readonly k: 'store'; readonly buffer: string; readonly index: Index; readonly value: Scalar }
  /** An immutable local. */
  | { readonly k: 'let'; readonly name: string; readonly value: Scalar }
  /** Declares an accumulator with its combine and initial value. */
  | { readonly k: 'acc'; readonly name: string; readonly dtype: DType; readonly combine: Combine; readonly init: Scalar; readonly lanes?: number }
  /** acc = combine(acc, value). */
  | { readonly k: 'accum'; readonly name: string; readonly value: Scalar }
  /** Runs `body` only where every bound holds (0 <= index < extent): window edges (padding), GPU tails. */
  | { readonly k: 'guard'; readonly bounds: readonly GuardBound[]; readonly body: readonly Stmt[] }
  /** GPU: all threads of a block wait here (shared memory is consistent after it). */
  | { readonly k: 'barrier' }
  /**
   * Declares buffer `name` of `count` elements private to its scope: each thread running the
   * enclosing loops has its own (per iteration of an enclosing parallel loop, reused by the iterations
   * one thread runs), contents undefined at the declaration. Scratch that one iteration fills and
   * reads (a zero-padded plane, a packed block of B) stays in that thread's cache instead of a fresh
   * slice of a buffer per iteration. C: a slice of one thread-local arena (localLayout).
   */
  | { readonly k: 'local'; readonly name: string; readonly dtype: DType; readonly count: number }
  /**
   * GPU, warp-collective: the 32 threads of a warp (consecutive linear thread ids from a multiple of
   * 32) multiply one `shape.m`×`shape.k` tile A by one `shape.k`×`shape.n` tile B on the tensor cores
   * and add the product to the `m`×`n` tile whose fragment each thread holds in `acc` (an f32
   * accumulator of 4 lanes, combine add). Each thread passes its fragment of A and B: `a` and `b`
   * list its elements in the shape's order (scalars or small vectors of the operand dtype, lanes
   * adding up to the fragment's size); which element of the tile each one is, per lane of the warp,
   * is the PTX ISA's fragment layout (codegen/mma-layout.ts, the one home of it). Every thread of
   * the warp must reach it together: never under a guard.
   */
  | { readonly k: 'mma'; readonly shape: MmaShape; readonly acc: string; readonly a: readonly Scalar[]; readonly b: readonly Scalar[] }
  /**
   * GPU: an asynchronous copy (PTX cp.async) of `lanes` consecutive elements of global buffer `from`
   * at `fromIndex` into shared buffer `to` at `toIndex` — or of `lanes` zeros where a bound does not
   * hold (the source is then not read). Both indices are multiples of `lanes`, and lanes · size is
   * 4, 8 or 16 bytes. The copy lands at some point before the `async_wait` that covers its group:
   * nothing may read the destination before that wait (and a barrier, for other threads).
   */
  | { readonly k: 'copy_async'; readonly dtype: DType; readonly to: string; readonly toIndex: Index; readonly from: string; readonly fromIndex: Index; readonly lanes: number; readonly bounds: readonly GuardBound[] }
  /**
   * GPU, warp-collective (PTX ldmatrix.m8n8): loads `names.length` (1, 2 or 4) 8×8 matrices of a
   * 16-bit dtype from shared buffer `buffer`. Lanes 8i..8i+7 give, at `index`, the first of the 8
   * consecutive elements of rows 0..7 of matrix i (a multiple of 8: 16-byte aligned); every lane l
   * then binds names[i] to the 2 elements of matrix i at row l / 4, columns 2·(l mod 4) and +1 (a
   * 2-lane vector: one mma fragment register). Never under a guard.
   */
  | { readonly k: 'ldmatrix'; readonly names: readonly string[]; readonly dtype: DType; readonly buffer: string; readonly index: Index }
  /** GPU: closes this thread's current group of async copies (cp.async.commit_group). */
  | { readonly k: 'async_commit' }
  /** GPU: waits until at most `pending` of this thread's committed groups are still in flight (cp.async.wait_group). */
  | { readonly k: 'async_wait'; readonly pending: number };

/**
 * Tensor-core shapes (PTX `mma.sync.aligned`): `m16n8k16.f16`/`.bf16` (8 A and 4 B elements per
 * thread), `m16n8k8.tf32` (f32 operands rounded to tf32: 4 A and 2 B elements per thread); all
 * accumulate in f32 (4 per thread).
 */
export type MmaShape = 'm16n8k16.f16' | 'm16n8k16.bf16' | 'm16n8k8.tf32';

/** One bound of a guard: 0 <= index < extent. */
export interface GuardBound {
  readonly index: Index;
  readonly extent: number;
}

/** What a buffer is to its kernel or program. */
export type BufferRole = 'input' | 'output' | 'scratch' | 'constant' | 'shared' | 'local';

/** A flat buffer: kernel parameter, per-kernel scratch, or GPU shared memory. */
export interface BufferDecl {
  readonly name: string;
  readonly dtype: DType;
  /** Element count (static). */
  readonly count: number;
  readonly role: BufferRole;
}

/** GPU launch shape (unused by CPU targets). */
export interface Launch {
  readonly grid: readonly [number, number, number];
  readonly block: readonly [number, number, number];
}

/** One kernel: a function over its params. */
export interface Kernel {
  /** Identifier (unique in its program). */
  readonly name: string;
  /** Parameters in call order: input/constant buffers read, output buffers written, scratch. */
  readonly params: readonly BufferDecl[];
  /** GPU shared memory buffers (role `shared`); empty on CPU. */
  readonly shared: readonly BufferDecl[];
  readonly body: readonly Stmt[];
  /** The graph IR node ids this kernel computes. */
  readonly nodes: readonly string[];
  /** ONNX provenance of those nodes. */
  readonly loc: readonly string[];
  readonly launch?: Launch;
  /** Set when the kernel's arithmetic differs from the reference by design (Winograd): its bound. */
  readonly tolerance?: KernelTolerance;
}

/**
 * How far a kernel's output may be from the reference executor's: max |got − want| ≤ rel · max |want|
 * over the output (norm-relative, as the numeric check measures), and why.
 */
export interface KernelTolerance {
  readonly rel: number;
  readonly what: string;
}

/**
 * What a program buffer holds: a graph input, output, constant or intermediate value, or a kernel's
 * `scratch` (im2col columns, packed panels, Winograd tiles; contents dead between calls).
 */
export type ProgramBufferKind = 'input' | 'output' | 'constant' | 'intermediate' | 'scratch';

/** A buffer of a whole program: one graph value (or a view of another). */
export interface ProgramBuffer {
  /** The graph value name. */
  readonly value: string;
  readonly dtype: DType;
  readonly count: number;
  readonly kind: ProgramBufferKind;
  /** For a view (Reshape...): the value whose storage this one is. */
  readonly aliasOf?: string;
  /**
   * A constant made at lowering time from a graph constant (weights packed into panels, Winograd-
   * transformed filters): its data, which a backend copies in once at prepare time.
   */
  readonly packed?: PackedData;
}

/** The data of a packed constant and where it came from. */
export interface PackedData {
  /** The graph constant it was computed from. */
  readonly from: string;
  /** What the packing is, in words (`B panels 16 wide`, `Winograd U = G g G^T`). */
  readonly what: string;
  /** The elements, of the buffer's dtype. */
  readonly data: TensorData;
}

/** One kernel invocation: program buffers (by value name) bound to the kernel's params in order. */
export interface Call {
  readonly kernel: string;
  readonly args: readonly string[];
}

/** The kernels of a graph, in execution order, with their bindings. */
export interface Program {
  readonly name: string;
  readonly buffers: readonly ProgramBuffer[];
  readonly kernels: readonly Kernel[];
  readonly calls: readonly Call[];
  /** What the kernels were lowered for (absent: plain loop nests for any target). */
  readonly target?: { readonly vectorBits: number; readonly gpu?: boolean };
}

// ---- builders (used by lowering and tests) ----

export const ic = (value: number): Index => ({ k: 'const', value });
export const iv = (name: string): Index => ({ k: 'var', name });

/** a + b with constant folding (0 + x = x). */
export function iadd(a: Index, b: Index): Index {
  if (a.k === 'const' && b.k === 'const') return ic(a.value + b.value);
  if (a.k === 'const' && a.value === 0) return b;
  if (b.k === 'const' && b.value === 0) return a;
  return { k: 'add', a, b };
}

/** a * b with constant folding (1 * x = x, 0 * x = 0). */
export function imul(a: Index, b: Index): Index {
  if (a.k === 'const' && b.k === 'const') return ic(a.value * b.value);
  if ((a.k === 'const' && a.value === 0) || (b.k === 'const' && b.value === 0)) return ic(0);
  if (a.k === 'const' && a.value === 1) return b;
  if (b.k === 'const' && b.value === 1) return a;
  return { k: 'mul', a, b };
}

/** floor(a / b) for b > 0 (x / 1 = x). */
export function idiv(a: Index, b: Index): Index {
  if (a.k === 'const' && b.k === 'const') return ic(Math.floor(a.value / b.value));
  if (b.k === 'const' && b.value === 1) return a;
  return { k: 'div', a, b };
}

/** a mod b for b > 0 (x mod 1 = 0). */
export function imod(a: Index, b: Index): Index {
  if (a.k === 'const' && b.k === 'const') return ic(((a.value % b.value) + b.value) % b.value);
  if (b.k === 'const' && b.value === 1) return ic(0);
  return { k: 'mod', a, b };
}

/** A loop with annotations. */
export function loop(v: string, extent: number, body: readonly Stmt[], annotations: readonly Annotation[] = []): Stmt {
  return { k: 'loop', var: v, extent, annotations, body };
}

export const lit = (value: number | boolean, dtype: DType): Scalar => ({ k: 'lit', dtype, value });
export const load = (buffer: string, index: Index, dtype: DType): Scalar => ({ k: 'load', dtype, buffer, index });
export const ref = (name: string, dtype: DType): Scalar => ({ k: 'ref', dtype, name });
export const unary = (op: UnaryOp, a: Scalar, dtype: DType = a.dtype): Scalar => ({ k: 'unary', dtype, op, a });
/** op(a, b); lanewise when the operands are vectors. */
export const binary = (op: BinaryOp, a: Scalar, b: Scalar): Scalar => {
  const lanes = lanesOf(a);
  return lanes > 1
    ? { k: 'binary', dtype: a.dtype, op, a, b, lanes }
    : { k: 'binary', dtype: COMPARISONS.has(op) ? 'bool' : a.dtype, op, a, b };
};
/** A vector load of `lanes` consecutive elements from `index` (`aligned`: index is a multiple of lanes). */
export const vload = (buffer: string, index: Index, dtype: DType, lanes: number, aligned = false): Scalar =>
  (lanes === 1 ? load(buffer, index, dtype) : { k: 'load', dtype, buffer, index, lanes, ...(aligned ? { aligned } : {}) });
/** A reference to a vector local or accumulator. */
export const vref = (name: string, dtype: DType, lanes: number): Scalar => (lanes === 1 ? ref(name, dtype) : { k: 'ref', dtype, name, lanes });
/** `lanes` copies of a scalar. */
export const broadcast = (a: Scalar, lanes: number): Scalar => (lanes === 1 ? a : { k: 'broadcast', dtype: a.dtype, lanes, a });
/** Element `index` of a vector. */
export const lane = (a: Scalar, index: Index): Scalar => ({ k: 'lane', dtype: a.dtype, a, index });
/** The lane count of a scalar expression (1 for a scalar). */
export function lanesOf(e: Scalar): number {
  return e.k === 'load' || e.k === 'ref' || e.k === 'binary' || e.k === 'broadcast' ? e.lanes ?? 1 : 1;
}
export const select = (cond: Scalar, a: Scalar, b: Scalar): Scalar => ({ k: 'select', dtype: a.dtype, cond, a, b });
export const cast = (a: Scalar, dtype: DType): Scalar => (a.dtype === dtype ? a : { k: 'cast', dtype, a });

/**
 * A number every value of `e` is a multiple of (1 when nothing is known; 0 for the constant 0, a
 * multiple of everything): constants, products (of the factors' multiples), sums (their gcd) and
 * `x mod m` (gcd of x's and m's). What the verifier checks an aligned vector load's index against.
 */
export function knownMultiple(e: Index): number {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  switch (e.k) {
    case 'const': return Math.abs(e.value);
    case 'add': return gcd(knownMultiple(e.a), knownMultiple(e.b));
    case 'mul': return knownMultiple(e.a) * knownMultiple(e.b);
    case 'mod': return e.b.k === 'const' ? gcd(knownMultiple(e.a), Math.abs(e.b.value)) : 1;
    default: return 1;
  }
}

/** The loop variables an index reads. */
export function indexVars(e: Index, out: Set<string> = new Set()): Set<string> {
  if (e.k === 'var') out.add(e.name);
  else if (e.k === 'load' || e.k === 'table') indexVars(e.index, out);
  else if (e.k !== 'const') { indexVars(e.a, out); indexVars(e.b, out); }
  return out;
}

/** A kernel's private buffers (`local` statements) in order, each at a byte offset aligned to 64. */
export function localLayout(k: Kernel): { name: string; dtype: DType; count: number; offset: number }[] {
  const out: { name: string; dtype: DType; count: number; offset: number }[] = [];
  let at = 0;
  const walk = (stmts: readonly Stmt[]): void => {
    for (const s of stmts) {
      if (s.k === 'local') {
        out.push({ name: s.name, dtype: s.dtype, count: s.count, offset: at });
        at += Math.ceil((s.count * Math.ceil(dtypeInfo(s.dtype).bits / 8)) / 64) * 64;
      } else if (s.k === 'loop' || s.k === 'guard') walk(s.body);
    }
  };
  walk(k.body);
  return out;
}

/** Bytes of the largest kernel's private buffers (the size of a thread's local arena). */
export function localBytes(p: Program): number {
  return Math.max(0, ...p.kernels.map((k) => {
    const l = localLayout(k).at(-1);
    return l ? l.offset + l.count * Math.ceil(dtypeInfo(l.dtype).bits / 8) : 0;
  }));
}

/** Every vector type (dtype, lanes > 1) a program's kernels use, for a renderer's declarations; sorted. */
export function vectorTypes(p: Program): { dtype: DType; lanes: number }[] {
  const seen = new Map<string, { dtype: DType; lanes: number }>();
  const note = (dtype: DType, lanes: number | undefined) => { if (lanes && lanes > 1) seen.set(`${dtype}x${lanes}`, { dtype, lanes }); };
  const sc = (e: Scalar): void => {
    note(e.dtype, lanesOf(e));
    if (e.k === 'unary' || e.k === 'cast' || e.k === 'broadcast' || e.k === 'lane') sc(e.a);
    else if (e.k === 'binary') { sc(e.a); sc(e.b); } else if (e.k === 'select') { sc(e.cond); sc(e.a); sc(e.b); }
  };
  const walk = (stmts: readonly Stmt[]): void => {
    for (const s of stmts) {
      if (s.k === 'loop' || s.k === 'guard') walk(s.body);
      else if (s.k === 'store' || s.k === 'let' || s.k === 'accum') sc(s.value);
      else if (s.k === 'acc') { note(s.dtype, s.lanes); sc(s.init); } else if (s.k === 'mma') [...s.a, ...s.b].forEach(sc);
      else if (s.k === 'ldmatrix') note(s.dtype, 2);
    }
  };
  for (const k of p.kernels) walk(k.body);
  return [...seen.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, t]) => t);
}
