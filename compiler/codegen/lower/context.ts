/**
 * What every lowering shares: the registry (op name → lowering function, one file per op family
 * registers its ops from lower/all.ts), the view of one node a lowering works on (operands with
 * static shapes, attributes, constant values) and the loop-nest helpers (strides, broadcast indexing,
 * annotated loop nests). Target specifics never appear here: annotations are schedule hints each
 * language descriptor realises (or ignores).
 *
 * A lowering returns the body of one kernel over params named `in<k>` (node input k, omitted optional
 * inputs skipped but keeping the numbering) and `out<k>` (node output k); `view` for ops that only
 * reinterpret their input's storage (Reshape and friends: no kernel). It throws LowerUnsupported with
 * a plain reason for a node it cannot lower (an attribute value, a dtype, a runtime-only value).
 */
import type { Attrs, Node } from '../../ir/graph.ts';
import type { DType, TensorData } from '../../ir/dtype.ts';
import type { Tensor } from '../../ir/tensor.ts';
import { readInts } from '../../ir/tensor.ts';
import { AttrReader, findOp, readAttrs } from '../../ops/registry.ts';
import { type Annotation, type BufferDecl, type Index, type KernelTolerance, type Launch, type Stmt, ic, iadd, imul, iv, loop } from '../kir.ts';

/** A node input or output as a lowering sees it. */
export interface Operand {
  /** Kernel param name (`in0`, `out0`). */
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Element count. */
  readonly count: number;
  /** The compile-time value when the operand is a graph constant (what a lowering may pack). */
  readonly value?: Tensor;
  /**
   * A value known before running that is not a graph constant: a small node output type inference
   * folds (shape arithmetic: Slice starts, Pad pads). For reading like an attribute (`knownValue`),
   * never for packing (the node still runs and writes its own buffer).
   */
  readonly folded?: Tensor;
}

/**
 * What a lowering targets: the vector width of the machine (a CPU's widest float registers: 512 for
 * AVX-512, 256 for AVX2, 128 for SSE/NEON; a GPU descriptor's vec4). 0 means no vector templates: the
 * plain loop nests every target runs.
 */
export interface LowerTarget {
  readonly vectorBits: number;
  /**
   * A GPU target (WGSL, CUDA): matrix products and group-1 convolutions lower to the workgroup-tiled
   * template (gemm-gpu.ts), a kernel with its own launch; everything else stays plain loop nests for
   * the GPU mapping (codegen/gpu/map.ts).
   */
  readonly gpu?: boolean;
  /**
   * The GPU has tensor cores (CUDA, sm_80+): f16 products lower to the tensor-core template
   * (gemm-mma.ts), and f32 products too when `tf32` allows rounding their operands to tf32.
   */
  readonly mma?: { readonly tf32: boolean };
}

/** The target of a lowering without one: plain loop nests. */
export const PLAIN_TARGET: LowerTarget = { vectorBits: 0 };

/** A GPU target (WebGPU, CUDA): plain loop nests for the GPU mapping plus the GPU templates. */
export const GPU_TARGET: LowerTarget = { vectorBits: 0, gpu: true };

/** The node being lowered. */
export interface LowerNode {
  readonly node: Node;
  /** What the kernel is lowered for (templates read the vector width from it). */
  readonly target: LowerTarget;
  /** Inputs by position; undefined for an omitted optional input. */
  readonly inputs: readonly (Operand | undefined)[];
  readonly outputs: readonly Operand[];
  /** Typed access to raw attributes (defaults as in the op). */
  readonly attrs: AttrReader;
  /** The op's own parsed attributes (its parseAttrs), for ops whose attributes need validation logic. */
  parsed<A>(): A;
  /** A fresh loop variable name (`i0`, `i1`, ...). */
  fresh(prefix?: string): string;
  /**
   * A schedule choice among `candidates` (tile sizes, a variant) for the template `template` at
   * problem `key` (its shape, e.g. `M=128,N=768,K=768`): the tuned choice when the tuner measured
   * this (template, key) before (LowerOptions.choices), else `candidates[0]` (the lowering's default;
   * put the heuristic's best first). Every call is recorded as a Tunable of the lowered program.
   */
  choose<T extends TuningParams>(template: string, key: string, candidates: readonly T[]): T;
}

/** The parameters of one tuning candidate: named integers (`{ mr: 6, nr: 32, kc: 256 }`). */
export type TuningParams = Readonly<Record<string, number>>;

/** A choice a lowering made through `choose`, for the tuner to measure and the user to see. */
export interface Tunable {
  /** The IR node id being lowered. */
  readonly node: string;
  readonly template: string;
  readonly key: string;
  readonly candidates: readonly TuningParams[];
  /** Index of the candidate used. */
  readonly chosen: number;
  /** True when the choice came from a tuning result, false for the default. */
  readonly tuned: boolean;
}

/** Where choose() looks up tuned choices: `${template}|${key}` → candidate index. */
export type TuningChoices = ReadonlyMap<string, number>;

/**
 * A constant computed at lowering time from a constant operand (weights packed into panels, filters
 * Winograd-transformed): a kernel param with role `constant` whose data the backend copies in once.
 */
export interface PackedConstant {
  /** Param name (`pk0`...; unique in the kernel, not `in<k>`/`out<k>`). */
  readonly name: string;
  readonly dtype: DType;
  /** The elements (length = element count). */
  readonly data: TensorData;
  /** The node input it was computed from. */
  readonly from: number;
  /** What the packing is, in words. */
  readonly what: string;
}

/** Per-call scratch memory of a kernel (im2col columns, packed A panels, Winograd tiles). */
export interface ScratchDecl {
  /** Param name (`sc0`...). */
  readonly name: string;
  readonly dtype: DType;
  readonly count: number;
  readonly what: string;
}

/**
 * The result of lowering one node: a kernel body over `in<k>`/`out<k>` plus any packed constants and
 * scratch params it reads, or `view`.
 */
export type Lowered =
  | {
    readonly kind: 'kernel'; readonly body: readonly Stmt[];
    readonly packed?: readonly PackedConstant[]; readonly scratch?: readonly ScratchDecl[];
    /** The kernel's documented error bound when its arithmetic differs from the reference by design. */
    readonly tolerance?: KernelTolerance;
    /** GPU templates: the launch and workgroup memory of a kernel already mapped to a GPU. */
    readonly launch?: Launch;
    readonly shared?: readonly BufferDecl[];
  }
  | { readonly kind: 'view' };

/** A lowering function. */
export type Lowering = (n: LowerNode) => Lowered;

/** Thrown by a lowering for a node it cannot lower; the reason is reported as Unsupported. */
export class LowerUnsupported extends Error {}

const registry = new Map<string, Lowering>();

/** Registers lowerings by op name; a duplicate throws. */
export function registerLowerings(entries: Readonly<Record<string, Lowering>>): void {
  for (const [op, fn] of Object.entries(entries)) {
    if (registry.has(op)) throw new Error(`lowering for '${op}' is already registered`);
    registry.set(op, fn);
  }
}

/** The lowering of an op, or undefined. */
export function findLowering(op: string): Lowering | undefined {
  return registry.get(op);
}

/** Every op with a lowering, sorted. */
export function loweredOps(): string[] {
  return [...registry.keys()].sort();
}

/** Builds the LowerNode view of a node; `tuning` gives tuned choices and collects the Tunables made. */
export function lowerNode(node: Node, inputs: readonly (Operand | undefined)[], outputs: readonly Operand[],
  tuning: { readonly choices?: TuningChoices; readonly made?: Tunable[] } = {}, target: LowerTarget = PLAIN_TARGET): LowerNode {
  let n = 0;
  let parsed: unknown;
  let done = false;
  return {
    node, inputs, outputs, target, attrs: new AttrReader(node.attrs),
    parsed<A>(): A {
      if (!done) {
        const def = findOp(node.op);
        if (!def) throw new LowerUnsupported(`op ${node.op} is not registered`);
        parsed = readAttrs(def, node.attrs as Attrs);
        done = true;
      }
      return parsed as A;
    },
    fresh: (prefix = 'i') => `${prefix}${n++}`,
    choose<T extends TuningParams>(template: string, key: string, candidates: readonly T[]): T {
      if (!candidates.length) throw new Error(`choose(${template}): no candidates`);
      const found = tuning.choices?.get(`${template}|${key}`);
      const tuned = found !== undefined && found >= 0 && found < candidates.length;
      const chosen = tuned ? found : 0;
      tuning.made?.push({ node: node.outputs[0] ?? '', template, key, candidates, chosen, tuned });
      return candidates[chosen];
    },
  };
}

/** Row-major strides of a shape. */
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
  return s;
}

/** The flat index of position `idx` (one index per dim) in a row-major shape. */
export function flatIndex(shape: readonly number[], idx: readonly Index[]): Index {
  const st = strides(shape);
  let e: Index = ic(0);
  idx.forEach((x, d) => { if (shape[d] !== 1) e = iadd(e, imul(x, ic(st[d]))); });
  return e;
}

/**
 * The flat index into an operand of shape `shape` broadcast (numpy rules: aligned at the right, size-1
 * dims repeat) to an iteration over `outShape` at position `idx`.
 */
export function broadcastIndex(shape: readonly number[], outShape: readonly number[], idx: readonly Index[]): Index {
  const off = outShape.length - shape.length;
  return flatIndex(shape, shape.map((_, d) => idx[d + off]));
}

/**
 * A loop nest over `shape` whose innermost body is `body(idx)` (no loop for a dim of extent 1). The
 * outermost loop is `parallel` (every store of an elementwise body indexes with it), the innermost loop is
 * vectorized 8 wide (with a tail when 8 does not divide it) when it runs at least 8 times.
 */
export function loopNest(n: LowerNode, shape: readonly number[], body: (idx: Index[]) => Stmt[], opts: { parallel?: boolean } = {}): Stmt[] {
  // dims of extent 1 get no loop: their index is the constant 0
  const vars = shape.map((d) => (d === 1 ? undefined : n.fresh()));
  const looped = shape.map((_, d) => d).filter((d) => vars[d] !== undefined);
  const parallelAt = opts.parallel === false ? -1 : looped.find((d) => shape[d] > 1) ?? -1;
  const innermost = looped[looped.length - 1];
  let stmts = body(vars.map((v) => (v === undefined ? ic(0) : iv(v))));
  for (let i = looped.length - 1; i >= 0; i--) {
    const d = looped[i];
    const ann: Annotation[] = [];
    if (d === parallelAt) ann.push({ kind: 'parallel' });
    if (d === innermost && shape[d] >= 8) ann.push(shape[d] % 8 === 0 ? { kind: 'vectorize', width: 8 } : { kind: 'vectorize', width: 8, tail: true });
    stmts = [loop(vars[d]!, shape[d], stmts, ann)];
  }
  return stmts;
}

/**
 * The float type of an accumulation the CPU lowerings widen to f64 to track the reference executor
 * (Resize's weights, InstanceNormalization's sums): f32 on a GPU target, which has no f64 (WGSL) or
 * runs it slowly (CUDA); their results then differ from the reference by f32 rounding only.
 */
export function wideFloat(n: LowerNode): DType {
  return n.target.gpu ? 'f32' : 'f64';
}

/** The required operand k (throws LowerUnsupported if omitted). */
export function input(n: LowerNode, k: number): Operand {
  const x = n.inputs[k];
  if (!x) throw new LowerUnsupported(`input ${k} is omitted`);
  return x;
}

/** The value of an operand known before running (a graph constant or a folded value), or undefined. */
export const knownValue = (x: Operand): Tensor | undefined => x.value ?? x.folded;

/** The integer values of a constant operand (axes, starts, perm...), or LowerUnsupported naming it. */
export function constInts(n: LowerNode, k: number, what: string): number[] | undefined {
  const x = n.inputs[k];
  if (!x) return undefined;
  const v = knownValue(x);
  if (!v) throw new LowerUnsupported(`${what} (input ${k}) is known only at run time`);
  return readInts(v);
}

/** Normalises a possibly negative axis. */
export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new LowerUnsupported(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}
