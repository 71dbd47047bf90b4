/**
 * Binding symbolic dims to sizes: the one place where `--shape INPUT=1x3x640x640`, `--dim N=8`,
 * `load MODEL --shape ...`, `Session.load(ref, {shapes, dims})`, the `shape-infer{bind=[...]}` pass and
 * `kiln run --inputs DIR` turn a graph with symbolic input dims into one at a concrete size — and the
 * one place that says so, naming the dims and the options, when a command needs sizes that are not
 * bound. Nothing in kiln binds a symbol to a made-up size (such as 1) behind the user's back.
 *
 * Algorithm of `bindShapes`. Every binding is checked first: a size is a whole number >= 1; a shape
 * names a graph input and has its rank; a static dim of the model must equal the size given for it;
 * a symbol may be bound several times (by shapes of several inputs and by `dims`) only to one size;
 * a `dims` symbol must occur in some graph input. The symbol → size map then replaces the symbols in
 * the graph input types, and ops/infer.ts `inferTypes` recomputes every node type. inferTypes evaluates
 * small values it can know before running (Shape of a now-static value, Slice/Gather/Concat/Mul of
 * known values, ...) and feeds them to the shape rules, so sizes computed by Shape → Slice → Concat →
 * Reshape chains (and the sizes of Resize, Expand, ConstantOfShape, Range, ...) come out static too.
 * Dims inferTypes cannot know before running (NonZero's count, shapes computed from input data) stay
 * symbolic (fresh `_d0`, `_d1`, ...).
 */
import type { Dim, Graph, GraphInput, TensorType } from '../ir/graph.ts';
import { formatType, valueTypes } from '../ir/graph.ts';
import { KilnError, type ErrorPlace } from '../errors.ts';
import { inferTypes } from './infer.ts';

/** Sizes to bind: whole input shapes by input name, and single symbols by name. */
export interface ShapeBindings {
  /** Input name → its full shape (`{ x: [1, 3, 640, 640] }`); static dims must match the model's. */
  readonly shapes?: Readonly<Record<string, readonly number[]>>;
  /** Symbol → size (`{ N: 8 }`), applied wherever the symbol occurs in the graph inputs. */
  readonly dims?: Readonly<Record<string, number>>;
}

/** Options of `bindShapes`. */
export interface BindOptions {
  /** File the graph came from, for error messages. */
  readonly file?: string;
}

/** True when no shape and no dim is given. */
export function isEmptyBinding(b: ShapeBindings | undefined): boolean {
  return !b || (Object.keys(b.shapes ?? {}).length === 0 && Object.keys(b.dims ?? {}).length === 0);
}

/** `1x3x640x640` (or `1,3,640,640`) → sizes; throws a KilnError naming `what` when malformed. */
function parseSizes(text: string, what: string): number[] {
  const parts = text.split(/[x,]/);
  if (text.trim() === '' || parts.some((p) => !/^\s*\d+\s*$/.test(p))) {
    throw new KilnError(`${what}: '${text}' is not a list of sizes like 1x3x640x640`);
  }
  return parts.map((p) => checkSize(Number(p), what));
}

function checkSize(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new KilnError(`${what}: a size must be a whole number >= 1, got ${n}`);
  return n;
}

/**
 * Parses the texts of repeated `--shape INPUT=1x3x640x640` and `--dim NAME=8` options (the input name
 * is everything before the last `=`). Throws a KilnError naming the option and the bad text; the CLI
 * turns it into a usage error.
 */
export function parseShapeOptions(shapeTexts: readonly string[] = [], dimTexts: readonly string[] = []): ShapeBindings {
  const shapes: Record<string, number[]> = {};
  const dims: Record<string, number> = {};
  for (const t of shapeTexts) {
    const eq = t.lastIndexOf('=');
    if (eq <= 0) throw new KilnError(`--shape expects INPUT=SIZES such as x=1x3x640x640, got '${t}'`);
    const name = t.slice(0, eq);
    if (has(shapes, name)) throw new KilnError(`--shape is given twice for input '${name}'`);
    shapes[name] = parseSizes(t.slice(eq + 1), `--shape ${name}`);
  }
  for (const t of dimTexts) {
    const m = /^([^=\s]+)=(.*)$/.exec(t);
    if (!m || !/^\s*\d+\s*$/.test(m[2])) throw new KilnError(`--dim expects NAME=SIZE such as N=8, got '${t}'`);
    const [, sym, size] = m;
    const n = checkSize(Number(size), `--dim ${sym}`);
    if (has(dims, sym) && dims[sym] !== n) throw new KilnError(`--dim binds '${sym}' twice (${dims[sym]} and ${n})`);
    dims[sym] = n;
  }
  return { shapes, dims };
}

/** The symbol → size map a binding implies for `graph`, every rule of the module header checked. */
export function resolveBindings(graph: Graph, b: ShapeBindings, place: ErrorPlace = {}): Map<string, number> {
  const bound = new Map<string, { size: number; by: string }>();
  const bind = (sym: string, size: number, by: string) => {
    const prev = bound.get(sym);
    if (prev && prev.size !== size) {
      throw new KilnError(`symbol '${sym}' is bound to ${prev.size} by ${prev.by} and to ${size} by ${by}`, place);
    }
    if (!prev) bound.set(sym, { size, by });
  };
  const byName = new Map(graph.inputs.map((i) => [i.name, i]));
  for (const [name, shape] of Object.entries(b.shapes ?? {})) {
    const input = byName.get(name);
    if (!input) {
      throw new KilnError(`there is no graph input '${name}' to give a shape to (graph inputs: ${listInputs(graph)})`, place);
    }
    const what = `the shape of '${name}'`;
    const want = input.type.shape;
    if (shape.length !== want.length) {
      throw new KilnError(`${what} is given with ${shape.length} dim${shape.length === 1 ? '' : 's'} (${shape.join('x')}) but '${name}' has rank ${want.length} (${formatType(input.type)})`, place);
    }
    shape.forEach((size, k) => {
      checkSizeAt(size, `${what}, dim ${k}`, place);
      const d = want[k];
      if (typeof d === 'number') {
        if (d !== size) throw new KilnError(`${what} is given as ${shape.join('x')}, but dim ${k} of '${name}' is ${d} in the model (${formatType(input.type)})`, place);
      } else {
        bind(d, size, `${what} (${shape.join('x')})`);
      }
    });
  }
  const present = inputSymbols(graph);
  for (const [sym, size] of Object.entries(b.dims ?? {})) {
    checkSizeAt(size, `dim '${sym}'`, place);
    if (!present.has(sym)) {
      throw new KilnError(`symbol '${sym}' does not occur in the graph inputs`
        + (present.size ? ` (they use ${[...present.keys()].join(', ')})` : ' (they are all static)'), place);
    }
    bind(sym, size, `dim ${sym}=${size}`);
  }
  return new Map([...bound].map(([k, v]) => [k, v.size]));
}

function checkSizeAt(n: number, what: string, place: ErrorPlace): void {
  if (!Number.isSafeInteger(n) || n < 1) throw new KilnError(`${what}: a size must be a whole number >= 1, got ${n}`, place);
}

/** The graph input types with bound symbols replaced (the same input objects where nothing changes). */
export function bindInputTypes(graph: Graph, bind: ReadonlyMap<string, number>): readonly GraphInput[] {
  return graph.inputs.map((i) => {
    if (!i.type.shape.some((d) => typeof d === 'string' && bind.has(d))) return i;
    // a sequence or optional input keeps its container: its elements take the bound sizes too
    const type: TensorType = { ...i.type, shape: i.type.shape.map((d): Dim => (typeof d === 'string' ? bind.get(d) ?? d : d)) };
    return { name: i.name, type };
  });
}

/**
 * The graph specialised to the bound sizes: input symbols replaced, every node type re-inferred (see
 * the module header). The same graph comes back when the binding is empty.
 */
export function bindShapes(graph: Graph, b: ShapeBindings, opts: BindOptions = {}): Graph {
  if (isEmptyBinding(b)) return graph;
  const place: ErrorPlace = opts.file ? { file: opts.file } : {};
  const bind = resolveBindings(graph, b, place);
  const inputs = bindInputTypes(graph, bind);
  if (inputs.every((i, k) => i === graph.inputs[k])) return graph;
  return inferTypes({ ...graph, inputs }, { file: opts.file });
}

/** The binding that gives every graph input the shape of the tensor given for it. */
export function shapesOf(tensors: ReadonlyMap<string, { readonly shape: readonly number[] }>): ShapeBindings {
  return { shapes: Object.fromEntries([...tensors].map(([name, t]) => [name, [...t.shape]])) };
}

/** A symbolic dim of the graph inputs and the inputs that carry it. */
export interface UnboundDim {
  readonly symbol: string;
  /** Names of the graph inputs with this symbol in their type. */
  readonly inputs: readonly string[];
}

/**
 * Symbol → tensor inputs carrying it, in order of first appearance. A sequence or optional input's
 * dims are not counted: its elements are sized per value (inputs.ts binds symbols from tensors only),
 * so no size binding could fix them.
 */
function inputSymbols(graph: Graph): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const i of graph.inputs) {
    if (i.type.container) continue;
    for (const d of i.type.shape) {
      if (typeof d !== 'string') continue;
      let list = m.get(d);
      if (!list) m.set(d, (list = []));
      if (!list.includes(i.name)) list.push(i.name);
    }
  }
  return m;
}

/** The symbolic dims of the graph inputs (those a binding must give), in order of first appearance. */
export function unboundDims(graph: Graph, dims: Readonly<Record<string, number>> = {}): UnboundDim[] {
  return [...inputSymbols(graph)].filter(([s]) => !has(dims, s)).map(([symbol, inputs]) => ({ symbol, inputs }));
}

const has = (o: object, key: string) => Object.prototype.hasOwnProperty.call(o, key);

/** Options of `requireStaticShapes`. */
export interface RequireOptions {
  /** Symbols the caller resolves itself (a planner's `dims`): they count as bound. */
  readonly dims?: Readonly<Record<string, number>>;
  /**
   * Also require every intermediate value to be static (true); or `'host'`: allow intermediates whose
   * size is known only at run time (`runTimeSized`), which the caller holds on the host (host steps
   * make and read them: the memory plan's `host` region, a compiled backend's fallback steps).
   */
  readonly values?: boolean | 'host';
}

/** `x=<N>x3x<H>x<W>`: an example `--shape` for an input, unbound symbols left as placeholders. */
function shapeExample(i: GraphInput, dims: Readonly<Record<string, number>>): string {
  return `${i.name}=${i.type.shape.map((d) => (typeof d === 'number' ? String(d) : has(dims, d) ? String(dims[d]) : `<${d}>`)).join('x')}`;
}

function listInputs(graph: Graph): string {
  return graph.inputs.length ? graph.inputs.map((i) => `${i.name} ${formatType(i.type)}`).join(', ') : 'none';
}

/**
 * Throws a KilnError when `what` (e.g. "kiln plan", "the numeric check") cannot have numbers: a graph
 * input has a symbolic dim (the message names the dims, the inputs carrying them, and the options that
 * bind them: `--shape INPUT=...` / `--dim NAME=...`, `load MODEL --shape ...`, `Session.load(ref, {shapes,
 * dims})`) or, with `values`, an intermediate's size is known only at run time.
 */
export function requireStaticShapes(graph: Graph, what: string, opts: RequireOptions = {}): void {
  const dims = opts.dims ?? {};
  const unbound = unboundDims(graph, dims);
  if (unbound.length) {
    const carried = unbound.map((u) => `${u.symbol} (in ${u.inputs.join(', ')})`).join(', ');
    const examples = graph.inputs.filter((i) => i.type.shape.some((d) => typeof d === 'string' && !has(dims, d)));
    const byShape = examples.map((i) => `--shape ${shapeExample(i, dims)}`).join(' ');
    const byDim = unbound.map((u) => `--dim ${u.symbol}=<size>`).join(' ');
    throw new KilnError(`${what} needs concrete sizes, but the graph inputs have symbolic dim${unbound.length === 1 ? '' : 's'} ${carried}; `
      + `bind them with ${byShape} or ${byDim} `
      + '(in the REPL or a notebook: load MODEL --shape ... --dim ...; in code: Session.load(model, {shapes, dims}))');
  }
  if (opts.values !== true) return;
  for (const [name, sym] of runTimeSized(graph, dims)) {
    throw new KilnError(`${what} needs concrete sizes, but value '${name}' (${formatType(valueTypes(graph).get(name)!)}) has symbolic dim '${sym}', which the graph input sizes do not determine (its size is known only when the graph runs)`);
  }
}

/**
 * The tensor values of `graph` (not sequences or optionals: those have no static size) with a symbolic
 * dim that `dims` does not give, each with that dim. With the graph inputs bound, such a dim is one only
 * the data decides (a Loop's stacked scan outputs, ConcatFromSequence, NonZero): the value's size is
 * known only when the graph runs.
 */
export function runTimeSized(graph: Graph, dims: Readonly<Record<string, number>> = {}): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, t] of valueTypes(graph)) {
    if (t.container) continue; // a sequence or optional has no static size: its elements are sized when made
    const sym = t.shape.find((d) => typeof d === 'string' && !has(dims, d));
    if (typeof sym === 'string') out.set(name, sym);
  }
  return out;
}
