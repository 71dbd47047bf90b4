/**
 * The operator registry: one OpDef per op name, registered explicitly from all.ts.
 *
 * An OpDef holds, side by side, everything kiln knows about an op: how to read and validate its
 * attributes, how many inputs/outputs it takes, its type/shape rule, and its reference kernel (the
 * TypeScript oracle every later backend is checked against). Registering a name twice throws.
 *
 * An op's attributes are the names its `parseAttrs` reads: the AttrReader records every name asked
 * about (present or not), and `readAttrs` refuses a node whose attributes include one its op never
 * asked about, naming it and listing the ones the op defines (onnxruntime refuses these too). So the
 * typed readers in each op file are the single declaration of its attributes; a `parseAttrs` must
 * therefore ask about every attribute it accepts on every call, not only in some branches.
 *
 * Traits: an OpDef also declares, in its own family file, the properties passes, the memory planner
 * and the cost model ask about (`elementwise`, `view`, `reduction`, `movement`, `inPlace`, `flops`;
 * see OpTraits). Code that needs "is this op elementwise?" asks the op (`opTraits`), never a list of op
 * names of its own. The plan validator (schedule/validate.ts) is the one deliberate exception: it checks
 * the planner, so it keeps independent rules. test/ops/traits.test.ts checks every declared trait
 * against the reference kernels.
 */
import type { AttrValue, Attrs, Dim, Graph, TensorType } from '../ir/graph.ts';
import type { Value } from '../ir/value.ts';
import type { DType } from '../ir/dtype.ts';
import type { Tensor } from '../ir/tensor.ts';
import type { DimPoly } from '../ir/dim-poly.ts';
import { KilnError } from '../errors.ts';

/** What a shape rule may ask about its inputs beyond their types. */
export interface ShapeContext {
  /** The value of input i when it is known before running (a constant or folded shape math). */
  value(i: number): Tensor | undefined;
  /** A fresh symbolic dim, for sizes known only at run time (e.g. Reshape to a computed shape). */
  freshDim(): Dim;
  /**
   * Infers a region (a graph attribute of the node) given its arguments' types and returns its
   * results' types; the driver keeps the region re-typed this way (the last call per region wins).
   * Absent where only the node's own types are asked about: control-flow rules then read the
   * region's declared result types (`regionResultTypes`).
   */
  region?(region: Graph, args: readonly TensorType[]): TensorType[];
  /** The value of a region's result k when its last inference (`region`) knew it before running. */
  regionValue?(region: Graph, k: number): Tensor | undefined;
  /** Declares output k's value known before running (an If whose condition is known passes its branch's on). */
  produce?(k: number, value: Tensor): void;
}

/** What a value kernel (`OpDef.runValues`) may ask of the executor. */
export interface RunContext {
  /**
   * Runs a region of the node with its arguments bound to `args`; values of the enclosing scopes stay
   * visible. Returns the region's results in order.
   */
  runRegion(region: Graph, args: readonly Value[]): Value[];
}

/**
 * Where a reduction's reduced axes come from: the (constant) int64 input `input` (ONNX Reduce* since
 * opset 18), the ints/int attribute `attribute` (older Reduce* forms, ArgMax/ArgMin `axis`), or
 * both (the input, when given, wins). At least one is set.
 */
export interface ReductionAxes {
  readonly input?: number;
  readonly attribute?: string;
}

/** The `reduction` trait. */
export interface ReductionTrait {
  readonly axes: ReductionAxes;
  /**
   * What the reduced elements become: 'value' (a sum, mean, max, ... in the input's dtype family; such
   * a reduction may end a kiln.fused region) or 'index' (the position of the extreme, ArgMax/ArgMin).
   */
  readonly result: 'value' | 'index';
}

/**
 * A FLOPs rule: the arithmetic operations one node of the op performs, from its input types (undefined
 * for omitted optional inputs), the types of its present outputs, and its parsed attributes. A number,
 * a polynomial in the symbolic dims (ir/dim-poly.ts), or undefined when it cannot be counted (a missing
 * type, a size no polynomial expresses). Helpers and the shared rules are in ops/flops.ts.
 */
export type FlopsRule<A = unknown> = (inputs: readonly (TensorType | undefined)[], outputs: readonly TensorType[], attrs: A) => number | DimPoly | undefined;

/**
 * The properties of an op that compiler stages ask about, declared by the op itself. Every trait is
 * optional and absent means "no"; test/ops/traits.test.ts checks each declared trait against the
 * reference kernel on random data, so a trait is a promise, not a hint.
 */
export interface OpTraits<A = unknown> {
  /**
   * Pointwise with ONNX (multidirectional) broadcasting: output element i is a function of element i
   * of each input broadcast to the output's shape, and of nothing else (no axis semantics; scalar
   * parameters like Clip's bounds are inputs broadcast like any other). One output. These are the ops a
   * kiln.fused region body may hold (fused-region.ts) and the layout pass lets follow any layout.
   */
  readonly elementwise?: boolean;
  /**
   * The output is input 0's bytes read under another shape (same element order, same dtype): a
   * backend may alias the output to the input's storage without a copy (schedule/op-kinds.ts). The
   * output always has input 0's element count.
   */
  readonly view?: boolean;
  /** Folds the elements along some axes of input 0 into one (ReduceSum, ArgMax, ...); see ReductionTrait. */
  readonly reduction?: ReductionTrait;
  /**
   * Pure data movement: every output element is a copy of some input element (or a constant fill,
   * for Pad and Trilu), chosen by indices, with no arithmetic on values (Transpose, Slice, Gather,
   * Concat, Pad, Tile, Expand, ...). Movement ops have zero FLOPs by default and keep their data
   * input's dtype. Views are not listed as movement (they move nothing).
   */
  readonly movement?: boolean;
  /**
   * The inputs whose buffer the output may overwrite when that input dies at this node and has the
   * output's layout (same shape, same element width): 'all' or a list of input indices. Only sound for
   * ops where output element i is computed from input elements at index i alone (elementwise ops), so
   * the planner (schedule/op-kinds.ts) may write the output over the input as it goes.
   */
  readonly inPlace?: 'all' | readonly number[];
  /**
   * The FLOPs of one node (see FlopsRule). Absent: zero for views and movement ops, one per output
   * element for every other op (ops/flops.ts `opFlops`).
   */
  readonly flops?: FlopsRule<A>;
  /**
   * Slot for the op family's lowering to the kernel IR, registered by compiler/codegen (which owns its
   * type); the ops layer never reads it. Typed loosely on purpose so ops/ does not import codegen/.
   */
  lower?: unknown;
}

/** Everything kiln knows about one operator. */
export interface OpDef<A = unknown> extends OpTraits<A> {
  readonly name: string;
  /** Inputs accepted: [min, max] (max Infinity for variadic ops). Omitted optional inputs count. */
  readonly inputs: readonly [number, number];
  /** Outputs produced: [min, max]. */
  readonly outputs: readonly [number, number];
  /**
   * Reads and validates attributes through the reader (which records the names it is asked about:
   * those are the op's attributes); throws an AttrError naming the attribute.
   */
  parseAttrs(attrs: AttrReader): A;
  /**
   * The type rule: output types from input types (undefined for an omitted optional input).
   * `outputCount` is how many outputs the node declares. Throws an Error describing the mismatch.
   */
  inferTypes(inputs: readonly (TensorType | undefined)[], attrs: A, ctx: ShapeContext, outputCount: number): TensorType[];
  /**
   * The reference kernel: computes outputs (fresh tensors, never aliasing mutable state) from
   * inputs (undefined for omitted optional inputs). Returns `outputCount` tensors.
   */
  run(inputs: readonly (Tensor | undefined)[], attrs: A, outputCount: number): Tensor[];
  /**
   * The kernel of an op whose inputs or outputs may be sequences or optionals (ir/value.ts), or that
   * runs regions (If, Loop, Scan, SequenceMap): the executor calls it instead of `run`, which such an
   * op leaves as `valueKernelOnly`. Inputs are undefined where omitted; returns `outputCount` values.
   */
  runValues?(inputs: readonly (Value | undefined)[], attrs: A, outputCount: number, ctx: RunContext): Value[];
  /** Dtypes this op's reference kernel does not handle (reported as "unsupported", not as a failure). */
  readonly unsupportedDTypes?: readonly DType[];
}

/** The `run` of an op that has only a value kernel (`runValues`): callers of `run` get a clear error. */
export function valueKernelOnly(name: string): () => never {
  return () => { throw new KilnError(`op ${name} runs on values (sequences, optionals or regions): call its runValues through the reference executor`); };
}

const registry = new Map<string, OpDef<any>>();

/** Registers ops; a duplicate name throws. */
export function registerOps(defs: readonly OpDef<any>[]): void {
  for (const d of defs) {
    if (registry.has(d.name)) throw new Error(`op '${d.name}' is already registered`);
    registry.set(d.name, d);
  }
}

/** The OpDef for `name`, or undefined. */
export function findOp(name: string): OpDef<any> | undefined {
  return registry.get(name);
}

/** The OpDef for `name`; throws a KilnError if unknown. */
export function getOp(name: string): OpDef<any> {
  const d = registry.get(name);
  if (!d) throw new KilnError(`unknown op '${name}'`, { op: name });
  return d;
}

/** The traits of `op` (an empty object for an unregistered op: it has none of them). */
export function opTraits(op: string): OpTraits<any> {
  return registry.get(op) ?? NO_TRAITS;
}
const NO_TRAITS: OpTraits = Object.freeze({});

/** Every registered op name, sorted. */
export function opNames(): string[] {
  return [...registry.keys()].sort();
}

/** Thrown when an attribute is missing, mistyped or out of range. */
export class AttrError extends Error {
  constructor(readonly attribute: string, message: string) {
    super(message);
  }
}

/** Typed access to a node's attributes with defaults; errors name the attribute. Records the names asked about. */
export class AttrReader {
  private readonly asked = new Set<string>();

  constructor(readonly attrs: Attrs) {}

  has(name: string): boolean {
    this.asked.add(name);
    return Object.prototype.hasOwnProperty.call(this.attrs, name);
  }

  /** The attribute as stored, whatever its kind (for attributes that accept several kinds). */
  raw(name: string): AttrValue | undefined {
    return this.has(name) ? this.attrs[name] : undefined;
  }

  /** Every name asked about so far, in order: the attributes the op defines. */
  askedNames(): string[] {
    return [...this.asked];
  }

  /** The attributes present that were never asked about. */
  unknownNames(): string[] {
    return Object.keys(this.attrs).filter((n) => !this.asked.has(n));
  }

  private get(name: string, kind: AttrValue['kind']): AttrValue | undefined {
    const a = this.raw(name);
    if (a === undefined) return undefined;
    if (a.kind !== kind) {
      // ONNX writers sometimes store an integral float attr as int and vice versa; accept the safe cases.
      if (kind === 'float' && a.kind === 'int') return { kind: 'float', value: a.value };
      if (kind === 'floats' && a.kind === 'ints') return { kind: 'floats', value: a.value };
      throw new AttrError(name, `expected ${kind}, got ${a.kind}`);
    }
    return a;
  }

  int(name: string, dflt?: number): number {
    const a = this.get(name, 'int');
    if (a) return a.value as number;
    if (dflt === undefined) throw new AttrError(name, 'required attribute is missing');
    return dflt;
  }
  float(name: string, dflt?: number): number {
    const a = this.get(name, 'float');
    if (a) return a.value as number;
    if (dflt === undefined) throw new AttrError(name, 'required attribute is missing');
    return dflt;
  }
  string(name: string, dflt?: string): string {
    const a = this.get(name, 'string');
    if (a) return a.value as string;
    if (dflt === undefined) throw new AttrError(name, 'required attribute is missing');
    return dflt;
  }
  /** A graph attribute (a region), required. */
  graph(name: string): Graph {
    const a = this.get(name, 'graph');
    if (!a) throw new AttrError(name, 'required attribute (a region) is missing');
    return a.value as Graph;
  }
  ints(name: string, dflt?: readonly number[]): readonly number[] {
    const a = this.get(name, 'ints');
    if (a) return a.value as readonly number[];
    if (dflt === undefined) throw new AttrError(name, 'required attribute is missing');
    return dflt;
  }
  /** Like ints, but undefined when absent (for attrs whose absence means "derive it"). */
  maybeInts(name: string): readonly number[] | undefined {
    return this.get(name, 'ints')?.value as readonly number[] | undefined;
  }
  floats(name: string, dflt?: readonly number[]): readonly number[] {
    const a = this.get(name, 'floats');
    if (a) return a.value as readonly number[];
    if (dflt === undefined) throw new AttrError(name, 'required attribute is missing');
    return dflt;
  }
  strings(name: string, dflt?: readonly string[]): readonly string[] {
    const a = this.get(name, 'strings');
    if (a) return a.value as readonly string[];
    if (dflt === undefined) throw new AttrError(name, 'required attribute is missing');
    return dflt;
  }
  tensor(name: string): Tensor | undefined {
    return this.get(name, 'tensor')?.value as Tensor | undefined;
  }
  /** Checks a value is one of the allowed choices. */
  oneOf<T extends string | number>(name: string, value: T, allowed: readonly T[]): T {
    if (!allowed.includes(value)) throw new AttrError(name, `must be one of ${allowed.join(', ')}, got ${value}`);
    return value;
  }
}

/**
 * Parses attributes through the op and refuses any the op does not define (an AttrError naming the
 * first one and listing the op's attributes).
 */
export function readAttrs<A>(def: OpDef<A>, attrs: Attrs): A {
  const reader = new AttrReader(attrs);
  const parsed = def.parseAttrs(reader);
  const [unknown] = reader.unknownNames();
  if (unknown !== undefined) {
    const known = reader.askedNames();
    throw new AttrError(unknown, `${def.name} has no attribute '${unknown}' (${known.length ? `its attributes: ${known.join(', ')}` : 'it takes no attributes'})`);
  }
  return parsed;
}

/** Parses a node's attributes through its op (`readAttrs`), turning AttrErrors into KilnErrors naming node and op. */
export function parseNodeAttrs<A>(def: OpDef<A>, attrs: Attrs, node: string): A {
  try {
    return readAttrs(def, attrs);
  } catch (e) {
    if (e instanceof AttrError) throw new KilnError(e.message, { node, op: def.name, attribute: e.attribute });
    throw e;
  }
}
