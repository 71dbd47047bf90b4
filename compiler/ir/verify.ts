/**
 * The structural IR verifier: the rules every Graph must keep, whatever its ops (op-aware rules live in
 * ops/verify-types.ts). Passes run it after each step; a failure names the rule, the node and the pass.
 *
 * One walk in graph order: graph inputs and constants are defined first (constants are graph-wide,
 * like inputs), then each node's inputs must be defined already and its outputs are defined in turn;
 * a name used before its node or never defined is told apart by a precomputed map of node outputs.
 * A node's regions (graph attributes) are walked the same way, before the node's outputs are defined,
 * seeing every value of the enclosing scopes defined so far (ONNX's outer-scope rule); a region's
 * result may be such an outer value. Names are unique across the graph and all its regions, so a
 * region may not redefine (shadow) a visible name, and nothing after it may reuse one of its names.
 * Errors inside a region say where: "region 'body' of node '5': input 'x' is not defined".
 * Types, attributes and constant data are checked where they appear. Rules (each error carries one):
 *
 * - `value.name`      graph inputs and constants have non-empty names
 * - `ssa.single-def`  every name is defined once among inputs, constants and node outputs
 * - `ssa.use-before-def` a node reads a value that a later node defines (nodes not topological)
 * - `ssa.undefined`   a node reads a value that nothing defines
 * - `graph.output`    every graph output is a defined, non-empty name
 * - `type.malformed`  a type has an unknown dtype or a dim that is not an integer 0..2^53-1 or a
 *                     non-empty symbol, an unknown container, or is unranked without being the
 *                     element type of a sequence or optional; a constant is a tensor
 * - `node.op`         a node has an op name
 * - `node.outputs`    a node defines at least one (non-omitted) output
 * - `node.types`      a node has exactly one type per output
 * - `attr.kind`       an attribute's value fits its kind (int: integer, float/floats: f32 values,
 *                     tensor: a Tensor...)
 * - `const.type`      a constant's type is static
 * - `const.data`      a constant's data has its dtype, shape and storage class (bool elements 0/1)
 * - `const.hash`      a constant's hash is lowercase hex, and is (a prefix of) `hashOf(data)` when data is present
 */
import { KilnError } from '../errors.ts';
import { dtypeInfo, isDType } from './dtype.ts';
import type { AttrValue, Constant, Graph, Node, TensorType } from './graph.ts';
import { regionsOf } from './graph.ts';
import { Tensor } from './tensor.ts';
import { hashOf } from './weights.ts';
import { dimProblem } from './sizes.ts';
import { hasDerivedHash } from './lazy-weights.ts';

/** Options of the verifiers. */
export interface VerifyOptions {
  /** The pass that produced the graph, named in errors. */
  pass?: string;
  /** Check constant hashes against their data (sha256 of every weight, cached per tensor). Default true. */
  checkHashes?: boolean;
}

/** A readable id for a node in errors: its first non-empty output, else `#index op`. */
export function nodeLabel(node: Node, index: number): string {
  return node.outputs.find((o) => o !== '') ?? `#${index} ${node.op}`;
}

/** Why a type is malformed, or undefined when it is well-formed. */
export function typeProblem(t: TensorType | undefined): string | undefined {
  if (!t || typeof t !== 'object') return 'type is missing';
  if (typeof t.dtype !== 'string' || !isDType(t.dtype)) return `unknown dtype '${String(t.dtype)}'`;
  if (!Array.isArray(t.shape)) return 'shape is not a list';
  if (t.container !== undefined && !['seq', 'opt', 'opt-seq'].includes(t.container)) return `unknown container '${String(t.container)}'`;
  if (t.unranked && (t.container === undefined || t.shape.length)) return 'only the elements of a sequence or optional may be unranked (with shape [])';
  for (const d of t.shape) {
    if (typeof d === 'number' ? dimProblem(d) !== undefined : typeof d !== 'string' || d === '') {
      return `bad dim '${String(d)}' (dims are integers 0 to 2^53-1, or symbol names)`;
    }
  }
  return undefined;
}

/** Float attributes hold f32 values (as ONNX stores them); the text prints them as f32. */
const isF32 = (x: number) => Number.isNaN(x) || Object.is(Math.fround(x), x);
const isNumberList = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'number');

/** Why an attribute value does not fit its kind, or undefined. */
function attrProblem(a: AttrValue): string | undefined {
  const v: unknown = a?.value;
  switch (a?.kind) {
    case 'int': return Number.isInteger(v) ? undefined : `int attribute holds ${String(v)}`;
    case 'float': return typeof v !== 'number' ? 'float attribute holds a non-number'
      : isF32(v) ? undefined : `float attribute ${v} is not an f32 value (round it with Math.fround)`;
    case 'string': return typeof v === 'string' ? undefined : 'string attribute holds a non-string';
    case 'ints': return isNumberList(v) && (v as number[]).every(Number.isInteger) ? undefined : 'ints attribute holds a non-integer';
    case 'floats': return !isNumberList(v) ? 'floats attribute holds a non-number'
      : (v as number[]).every(isF32) ? undefined : 'floats attribute holds a value that is not an f32 value (round it with Math.fround)';
    case 'strings': return Array.isArray(v) && v.every((x) => typeof x === 'string') ? undefined : 'strings attribute holds a non-string';
    case 'tensor': return v instanceof Tensor ? undefined : 'tensor attribute holds no Tensor';
    case 'graph': {
      const g = v as Graph | undefined;
      return g && typeof g === 'object' && Array.isArray(g.inputs) && Array.isArray(g.outputs) && Array.isArray(g.constants) && Array.isArray(g.nodes)
        ? undefined : 'graph attribute holds no Graph';
    }
    default: return `unknown attribute kind '${String((a as { kind?: unknown } | undefined)?.kind)}'`;
  }
}

/** Why a constant's data does not match its type, or undefined. */
function dataProblem(c: Constant, data: Tensor): string | undefined {
  const want = c.type;
  if (data.dtype !== want.dtype) return `data is ${data.dtype} but the type is ${want.dtype}`;
  if (data.shape.length !== want.shape.length || data.shape.some((d, i) => d !== want.shape[i])) {
    return `data shape [${data.shape.join(',')}] differs from type shape [${want.shape.join(',')}]`;
  }
  const proto = dtypeInfo(want.dtype).alloc(0);
  if (Object.getPrototypeOf(data.data) !== Object.getPrototypeOf(proto)) return `data storage is not the ${want.dtype} storage class`;
  if (want.dtype === 'bool' && (data.data as Uint8Array).some((x) => x > 1)) return 'bool data holds values other than 0 and 1';
  return undefined;
}

/** Every structural error of the graph (empty when it is well-formed), its regions included. */
export function collectGraphErrors(graph: Graph, opts: VerifyOptions = {}): KilnError[] {
  const errors: KilnError[] = [];
  checkScope(graph, new Set(), '', opts, errors);
  return errors;
}

/**
 * Checks one graph or region. `outer` holds the values visible from enclosing scopes at the owning
 * node; `where` prefixes messages inside regions ("region 'body' of node '5': ").
 */
function checkScope(graph: Graph, outer: ReadonlySet<string>, where: string, opts: VerifyOptions, errors: KilnError[]): void {
  const { pass } = opts;
  const report = (rule: string, message: string, node?: string, op?: string) => {
    errors.push(new KilnError(where + message, { pass, rule, node, op }));
  };
  const defined = new Set<string>();
  const visible = (name: string) => defined.has(name) || outer.has(name);
  const define = (name: string, what: string, node?: string, op?: string) => {
    if (visible(name)) report('ssa.single-def', `value '${name}' is defined more than once (again by ${what})`, node, op);
    defined.add(name);
  };
  for (const input of graph.inputs) {
    if (!input.name) report('value.name', `a ${where ? 'region argument' : 'graph input'} has an empty name`);
    const p = typeProblem(input.type);
    if (p) report('type.malformed', `graph input '${input.name}': ${p}`);
    define(input.name, where ? 'a region argument' : 'a graph input');
  }
  for (const c of graph.constants) {
    if (!c.name) report('value.name', 'a constant has an empty name');
    const p = typeProblem(c.type) ?? (c.type.container ? 'a constant is a tensor' : undefined);
    if (p) report('type.malformed', `constant '${c.name}': ${p}`);
    else if (!c.type.shape.every((d) => typeof d === 'number')) report('const.type', `constant '${c.name}' has a symbolic shape`);
    // a lazily hashed constant's hash is by construction hashOf(data): reading it would only compute
    // (~80 ms over ResNet-50's weights) a value compared with itself
    const derived = hasDerivedHash(c);
    const hexHash = derived || (typeof c.hash === 'string' && /^[0-9a-f]+$/.test(c.hash));
    if (!hexHash) report('const.hash', `constant '${c.name}' hash '${String(c.hash)}' is not lowercase hex`);
    if (c.data !== undefined) {
      const d = c.data instanceof Tensor ? (p ? undefined : dataProblem(c, c.data)) : 'data is not a Tensor';
      if (d) report('const.data', `constant '${c.name}': ${d}`);
      else if (opts.checkHashes !== false && !derived && !p && hexHash && !hashOf(c.data).startsWith(c.hash)) {
        report('const.hash', `constant '${c.name}' hash ${c.hash.slice(0, 16)} does not match its data (${hashOf(c.data).slice(0, 16)})`);
      }
    }
    define(c.name, 'a constant');
  }
  const definedAt = new Map<string, number>();
  graph.nodes.forEach((n, i) => n.outputs.forEach((o) => { if (o && !definedAt.has(o)) definedAt.set(o, i); }));
  graph.nodes.forEach((n, i) => {
    const id = nodeLabel(n, i);
    const op = n.op || undefined;
    if (!n.op) report('node.op', 'node has no op name', id);
    for (const input of n.inputs) {
      if (input === '' || visible(input)) continue;
      const later = definedAt.get(input);
      if (later !== undefined) report('ssa.use-before-def', `input '${input}' is used before node ${later} defines it`, id, op);
      else report('ssa.undefined', `input '${input}' is not defined`, id, op);
    }
    if (!n.outputs.some((o) => o !== '')) report('node.outputs', 'node defines no output', id, op);
    if (n.types.length !== n.outputs.length) {
      report('node.types', `node has ${n.outputs.length} outputs but ${n.types.length} types`, id, op);
    }
    n.types.forEach((t, k) => {
      const p = typeProblem(t);
      if (p) report('type.malformed', `output ${k}: ${p}`, id, op);
    });
    for (const [name, a] of Object.entries(n.attrs)) {
      const p = attrProblem(a);
      if (p) errors.push(new KilnError(where + p, { pass, rule: 'attr.kind', node: id, op, attribute: name }));
    }
    const regions = regionsOf(n).filter(([, g]) => !attrProblem({ kind: 'graph', value: g }));
    if (regions.length) {
      // a region sees what is visible here, before the node's own outputs
      const scope = new Set([...outer, ...defined]);
      for (const [name, g] of regions) checkScope(g, scope, `${where}region '${name}' of node '${id}': `, opts, errors);
      for (const [, g] of regions) for (const v of innerNames(g)) defined.add(v);
    }
    for (const o of n.outputs) if (o) define(o, `node ${i}`, id, op);
  });
  for (const o of graph.outputs) {
    if (!o) report('graph.output', `a ${where ? 'region result' : 'graph output'} is omitted (empty name)`);
    else if (!visible(o)) report('graph.output', `${where ? 'region result' : 'graph output'} '${o}' is not defined`);
  }
}

/** Every name a region (and its nested regions) defines: they may not be defined again anywhere. */
function innerNames(g: Graph): string[] {
  const out = [...g.inputs.map((i) => i.name), ...g.constants.map((c) => c.name)];
  for (const n of g.nodes) {
    out.push(...n.outputs.filter(Boolean));
    for (const [, r] of regionsOf(n)) out.push(...innerNames(r));
  }
  return out;
}

/** Throws the first structural error (a KilnError naming rule, node and pass), if any. */
export function verifyGraph(graph: Graph, opts: VerifyOptions = {}): void {
  const errors = collectGraphErrors(graph, opts);
  if (errors.length) throw errors[0];
}
