/**
 * The one input binder: graph inputs for a run, from seeded random values, from a folder of
 * `input_<k>.pb` files, or from tensors (or sequences and optionals: `values`) the caller gives, and
 * the one check of given values against the graph's input types. `kiln run`, `kiln conformance`, the Session's run and timings, the
 * reference executor and the benchmarks all bind through here.
 *
 * Checking (`checkInputs`). Every graph input must be given and nothing else; each tensor must have
 * the input's dtype and rank, equal its static dims, and bind each symbolic dim to one size across
 * all inputs. Errors name the input, both types and the dim, and the file a tensor came from.
 *
 * Files (`loadInputsDir`) hold a TensorProto, or for a sequence or optional graph input a
 * SequenceProto or OptionalProto (the input's type says which); sequences and optionals are checked
 * for container, dtypes and ranks (ir/value.ts `valueProblem`) and bind no symbols.
 *
 * Binding (`bindInputs`). Given tensors (or files) are checked, then the graph is specialised to their
 * sizes (ops/bind-shapes.ts `bindShapes` over `shapesOf` of the tensor inputs with symbolic dims), so FLOPs,
 * plans and compiled programs see concrete dims. The one exception: a symbol given size 0 (an empty
 * tensor) cannot be bound, since bindShapes takes sizes >= 1; that graph stays symbolic. When sizes
 * still depend on the *values* of small inputs (shape arguments such as Reshape's shape or a
 * reduction's axes given as graph inputs), the graph is specialised to those values too
 * (ops/bind-values.ts): they become constants and leave the graph inputs and the returned map.
 * Random inputs need every input dim bound already.
 *
 * Random inputs are deterministic for a seed (splitmix32 + Box–Muller): floats ~ N(0, 1), integers
 * uniform in [0, 10) (valid token ids / indices for the zoo models), bools fair coins. An integer or
 * bool input named as a mask (`attention_mask`, `input_mask`, `mask`, `attentionMask`: see `isMaskName`)
 * is a padding mask instead, as such a mask's values are defined to be 0/1: along the last axis each row
 * is 1 for a random-length prefix (at least one position) and 0 after. Drawn from [0, 10), a BERT
 * `attention_mask` becomes the additive mask (1 - m) * -10000 with values up to +80000, where f32 keeps
 * only 2^-7 of each attention score, so every f32 evaluation (the reference executor included) is
 * ~7e-4 off the f64 result. Every symbolic
 * input dim needs a size (from `dims`, or bound in the graph: ops/bind-shapes.ts); an unbound one is a
 * KilnError naming it and the options that bind it, never a made-up size.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Dim, Graph } from '../ir/graph.ts';
import { formatType } from '../ir/graph.ts';
import { dtypeInfo } from '../ir/dtype.ts';
import { Tensor, readNumbers, writeNumbers } from '../ir/tensor.ts';
import { type Value, expectTensors, valueProblem } from '../ir/value.ts';
import { checkTensorSize } from '../ir/sizes.ts';
import { KilnError } from '../errors.ts';
import { bindShapes, requireStaticShapes, shapesOf } from '../ops/bind-shapes.ts';
import { bindValues } from '../ops/bind-values.ts';
import { readValueFile } from '../import/onnx/tensor-proto.ts';

/** Where a run's tensor inputs come from: seeded random values, or tensors the caller gives. */
export type TensorInputSource =
  /** Seeded random values (every input dim must be bound already). */
  | { readonly random: { readonly seed?: number } }
  /** Tensors by graph input name. */
  | { readonly tensors: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>> };

/** Where a run's inputs come from. */
export type InputSource =
  | TensorInputSource
  /** `input_<k>.pb` files: the k-th file is the k-th graph input (a sequence or optional input's file holds a SequenceProto or OptionalProto). */
  | { readonly dir: string }
  /** Values by graph input name: tensors, and for sequence or optional inputs arrays of tensors or `null` (none). */
  | { readonly values: ReadonlyMap<string, Value> | Readonly<Record<string, Value>> };

/** Inputs bound to a graph: tensors (`V` = Tensor), or, from files, any values (sequences and optionals too). */
export interface BoundInputs<V extends Value = Tensor> {
  /** The graph specialised to the sizes of the inputs (the same graph when nothing was symbolic). */
  readonly graph: Graph;
  /** Values by graph input name, in graph input order. */
  readonly inputs: Map<string, V>;
  /** Graph inputs bound to their values (now constants of `graph`, absent from `inputs`); usually none. */
  readonly valuesBound?: readonly string[];
}

/** Options of `bindInputs`. */
export interface BindInputsOptions {
  /** File the graph came from, for errors of the size binding. */
  readonly file?: string;
}

/**
 * Makes, reads or checks the graph's inputs and binds the graph to their sizes (module header).
 * Symbols bind from tensor inputs only: a sequence's elements may differ in size, so sequence and
 * optional inputs pass through as they are (their types take the sizes the tensors bind).
 */
export function bindInputs(graph: Graph, source: TensorInputSource, opts?: BindInputsOptions): BoundInputs<Tensor>;
export function bindInputs(graph: Graph, source: InputSource, opts?: BindInputsOptions): BoundInputs<Value>;
export function bindInputs(graph: Graph, source: InputSource, opts: BindInputsOptions = {}): BoundInputs<Value> {
  if ('random' in source) return { graph, inputs: randomInputs(graph, source.random.seed ?? 0) };
  const inputs: Map<string, Value> = 'dir' in source ? loadInputsDir(source.dir, graph)
    : 'values' in source ? new Map(source.values instanceof Map ? source.values : Object.entries(source.values)) : inputMap(source.tensors);
  if (!('dir' in source)) checkInputs(graph, inputs);
  const tensors = new Map<string, Tensor>();
  for (const [name, v] of inputs) if (v instanceof Tensor) tensors.set(name, v);
  // only tensor inputs with symbolic dims bind anything; a symbol given size 0 (an empty tensor)
  // cannot be bound (bindShapes takes sizes >= 1), so such a graph stays symbolic and runs as it is
  const symbolic = graph.inputs.filter((i) => !i.type.container && i.type.shape.some((d) => typeof d === 'string'));
  const empty = symbolic.some((i) => i.type.shape.some((d, k) => typeof d === 'string' && tensors.get(i.name)!.shape[k] === 0));
  if (empty) return { graph, inputs };
  const sized = symbolic.length ? bindShapes(graph, shapesOf(new Map(symbolic.map((i) => [i.name, tensors.get(i.name)!]))), opts) : graph;
  // sizes that depend on the values of shape arguments (Reshape's shape, axes, K...): bind those too
  const valued = bindValues(sized, tensors, opts);
  for (const name of valued.bound) inputs.delete(name);
  return { graph: valued.graph, inputs, ...(valued.bound.length ? { valuesBound: valued.bound } : {}) };
}

/** The inputs as tensors, for callers that run tensors only: a sequence or optional is a KilnError naming its input. */
export function tensorInputs(inputs: ReadonlyMap<string, Value>): Map<string, Tensor> {
  const names = [...inputs.keys()];
  const tensors = expectTensors([...inputs.values()], names);
  return new Map(names.map((n, k) => [n, tensors[k]]));
}

/** A map of tensors by name from a map or a record. */
export function inputMap(tensors: ReadonlyMap<string, Tensor> | Readonly<Record<string, Tensor>>): Map<string, Tensor> {
  return new Map(tensors instanceof Map ? tensors : Object.entries(tensors));
}

/**
 * Checks tensors against the graph's inputs (module header) and returns the binding of every symbolic
 * input dim. `fileOf(name)` names the file a tensor came from, for the error's place.
 */
export function checkInputs(graph: Graph, given: ReadonlyMap<string, Value>, fileOf?: (input: string) => string | undefined): Map<Dim, number> {
  const missing = graph.inputs.filter((i) => !given.has(i.name)).map((i) => `'${i.name}'`);
  if (missing.length) throw new KilnError(`missing graph input${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  const known = new Set(graph.inputs.map((i) => i.name));
  const extra = [...given.keys()].filter((k) => !known.has(k));
  if (extra.length) throw new KilnError(`unknown graph input${extra.length > 1 ? 's' : ''} ${extra.map((e) => `'${e}'`).join(', ')}; the graph takes ${graph.inputs.map((i) => `'${i.name}'`).join(', ')}`);
  const symbols = new Map<Dim, { size: number; where: string }>();
  for (const input of graph.inputs) {
    const v = given.get(input.name)!;
    const file = fileOf?.(input.name);
    if (input.type.container || !(v instanceof Tensor)) {
      // sequences and optionals: container, dtypes and ranks (their elements' sizes bind nothing)
      const p = valueProblem(v, input.type);
      if (p) throw new KilnError(`graph input '${input.name}' (${formatType(input.type)}) ${p}`, file ? { file } : {});
      continue;
    }
    const t = v;
    const bad = (why: string) => new KilnError(`tensor is ${t.dtype}[${t.shape.join(',')}] but graph input '${input.name}' is ${formatType(input.type)}: ${why}`, file ? { file } : {});
    if (t.dtype !== input.type.dtype) throw bad('dtype differs');
    if (t.shape.length !== input.type.shape.length) throw bad('rank differs');
    input.type.shape.forEach((d, i) => {
      const size = t.shape[i];
      if (typeof d === 'number') {
        if (d !== size) throw bad(`dim ${i} differs`);
        return;
      }
      const prev = symbols.get(d);
      if (prev && prev.size !== size) throw bad(`dim ${i} (${d}) is ${size} here but ${prev.size} in ${prev.where}`);
      if (!prev) symbols.set(d, { size, where: file ? path.basename(file) : `input '${input.name}'` });
    });
  }
  return new Map([...symbols].map(([d, s]) => [d, s.size]));
}

/**
 * Reads `input_<k>.pb` files for the graph's inputs (k-th file = k-th graph input; the input's type
 * says which message the file holds: import/onnx/tensor-proto.ts `readValueFile`) and checks them
 * (`checkInputs`; errors name the file).
 */
export function loadInputsDir(dir: string, graph: Graph): Map<string, Value> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new KilnError('inputs folder does not exist', { file: dir });
  const files = numberedFiles(dir, 'input');
  if (files.length !== graph.inputs.length) {
    const want = graph.inputs.map((i, k) => `input_${k}.pb for '${i.name}'`).join(', ');
    throw new KilnError(`found ${files.length} input file${files.length === 1 ? '' : 's'} but the graph takes ${graph.inputs.length} input${graph.inputs.length === 1 ? '' : 's'}${want ? ` (${want})` : ''}`, { file: dir });
  }
  const fileOf = new Map(graph.inputs.map((input, k) => [input.name, path.join(dir, files[k])]));
  const out = new Map(graph.inputs.map((input) => [input.name, readValueFile(fileOf.get(input.name)!, input.type)]));
  checkInputs(graph, out, (name) => fileOf.get(name));
  return out;
}

/** `<prefix>_<k>.pb` files of a folder, in k order; throws unless k runs 0..n-1. */
export function numberedFiles(dir: string, prefix: string): string[] {
  const re = new RegExp(`^${prefix}_(\\d+)\\.pb$`);
  const found = new Map<number, string>();
  for (const f of fs.readdirSync(dir)) {
    const m = re.exec(f);
    if (m) found.set(Number(m[1]), f);
  }
  const files: string[] = [];
  for (let k = 0; k < found.size; k++) {
    const f = found.get(k);
    if (!f) throw new KilnError(`${prefix}_${k}.pb is missing (found ${[...found.values()].sort().join(', ')})`, { file: dir });
    files.push(f);
  }
  return files;
}

/** A deterministic PRNG returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

/** Seeded random tensors for every graph input. */
export function randomInputs(graph: Graph, seed = 0, dims: Readonly<Record<string, number>> = {}): Map<string, Tensor> {
  const container = graph.inputs.find((i) => i.type.container);
  if (container) throw new KilnError(`cannot make random values for ${formatType(container.type)} input '${container.name}': random inputs are tensors (give the inputs as files)`);
  requireStaticShapes(graph, 'making random inputs', { dims });
  const rand = seededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const out = new Map<string, Tensor>();
  for (const input of graph.inputs) {
    const { dtype } = input.type;
    const shape = input.type.shape.map((d) => (typeof d === 'number' ? d : dims[d]));
    checkTensorSize({ value: input.name, what: 'graph input' }, dtype, shape);
    if (dtype === 'str') throw new KilnError(`cannot make random values for string input '${input.name}'`);
    const info = dtypeInfo(dtype);
    const row = shape.length ? shape[shape.length - 1] : 1;
    let index = 0, valid = 0; // padding masks: the position in the row, the row's prefix of ones
    const mask = () => {
      if (index % row === 0) valid = 1 + Math.floor(rand() * row);
      return index++ % row < valid ? 1 : 0;
    };
    const draw = info.isFloat ? normal : isMaskName(input.name) ? mask
      : dtype === 'bool' ? () => (rand() < 0.5 ? 0 : 1) : () => Math.floor(rand() * 10);
    const t = Tensor.zeros(dtype, shape);
    // values are drawn a chunk at a time into the tensor's own storage, so a u8 input near the memory
    // budget never needs an f64 copy eight times its size
    const chunk = new Float64Array(Math.min(t.size, 1 << 16));
    const data = t.data as Exclude<Tensor['data'], string[]>;
    for (let off = 0; off < t.size; off += chunk.length) {
      const len = Math.min(chunk.length, t.size - off);
      for (let i = 0; i < len; i++) chunk[i] = draw();
      writeNumbers(new Tensor(dtype, [len], data.subarray(off, off + len)), chunk);
    }
    out.set(input.name, t);
  }
  return out;
}

/**
 * True for an input name that names a mask (`mask`, `attention_mask`, `input_mask`, `padding-mask`,
 * `attentionMask`): random non-float values for it are a 0/1 padding mask (`randomInputs`).
 */
export function isMaskName(name: string): boolean {
  return /(^|[^A-Za-z])mask$/i.test(name) || /[a-z0-9]Mask$/.test(name);
}

/** Summary statistics of a tensor (NaN when empty or non-numeric). */
export interface TensorStats {
  mean: number;
  std: number;
  min: number;
  max: number;
}

/** Mean, standard deviation, min and max of a numeric tensor. */
export function tensorStats(t: Tensor): TensorStats {
  return statsOver([t]);
}

/**
 * Statistics of a run-time value (ir/value.ts): a tensor's, a sequence's over all the elements of all
 * its tensors, and NaN for none or an empty sequence.
 */
export function valueStats(v: Value): TensorStats {
  return statsOver(v === null ? [] : v instanceof Tensor ? [v] : v);
}

/** Mean, standard deviation, min and max over the elements of numeric tensors (NaN when none or strings). */
function statsOver(ts: readonly Tensor[]): TensorStats {
  if (ts.some((t) => t.dtype === 'str')) return { mean: NaN, std: NaN, min: NaN, max: NaN };
  const vs = ts.filter((t) => t.size > 0).map(readNumbers);
  const n = vs.reduce((k, v) => k + v.length, 0);
  if (n === 0) return { mean: NaN, std: NaN, min: NaN, max: NaN };
  let sum = 0, min = Infinity, max = -Infinity;
  for (const v of vs) {
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      sum += x;
      if (x < min) min = x;
      if (x > max) max = x;
    }
  }
  const mean = sum / n;
  let sq = 0;
  for (const v of vs) for (let i = 0; i < v.length; i++) sq += (v[i] - mean) ** 2;
  return { mean, std: Math.sqrt(sq / n), min, max };
}
