/**
 * simplify-control-flow: removes control flow whose course is known at compile time.
 *
 * - An `If` whose condition is known (a constant of this or an enclosing scope, e.g. one that
 *   fold-constants computed) is replaced by the taken branch: the branch's constants and nodes move
 *   into the enclosing graph, and the other (dead) branch is dropped. An `If` whose two branches are
 *   the same up to their value names is inlined likewise (then_branch), whatever its condition.
 * - A `Loop` whose trip count M is a constant no larger than `max-trips`, whose condition input is
 *   omitted or a constant, and whose body's condition result is its condition argument passed
 *   through (directly or through Identity nodes) or a constant is unrolled: the body is cloned once
 *   per iteration with fresh value names, its iteration number becomes an i64 constant and its
 *   condition argument the constant true, the carried values are threaded from one copy to the next,
 *   and each scan output is the copies' values stacked along a new axis 0 (Unsqueeze each, then one
 *   Concat). A false condition input means no iteration (the carried outputs are the initial values);
 *   a constant false body condition means one iteration at most.
 * - Every other If and Loop is kept, with the reason recorded (condition unknown, trip count over the
 *   limit or unknown, a data-dependent stop, zero iterations with scan outputs).
 * Every If and Loop gets one decision (`inlined`, `unrolled` or `kept`, and why) in the decisions table.
 *
 * Algorithm: one walk per scope in graph order, regions first (an If nested in a body is decided
 * before the body is unrolled, with the constants of all enclosing scopes known). Names stay unique
 * across the graph and its regions: inlined branches keep theirs (they were unique already), region
 * results take the names of the owning node's outputs (the producing node is renamed; an Identity is
 * added when the result is an outer value or a repeated one), and unrolled copies get fresh names
 * `name.itK` (graph-edit.ts `renameAll`, which reaches nested regions). Constants of a body are moved
 * out once under their own names. Provenance: an inlined node keeps its loc and gains the If's; an
 * unrolled copy gains the Loop's loc with the iteration appended (`/loop@iter2`). When anything
 * changed the graph's types are recomputed (the taken branch is often more precise than the join).
 */
import type { Constant, Graph, Node, TensorType } from '../ir/graph.ts';
import { formatType, nodeId, producers, readsOf } from '../ir/graph.ts';
import { attrsEqual } from '../ir/equal.ts';
import { Tensor, i64Tensor } from '../ir/tensor.ts';
import { hashOf } from '../ir/weights.ts';
import { inferTypes } from '../ops/infer.ts';
import { definedNames, intOption, mapNodeRegions, renameAll, unionLoc } from './graph-edit.ts';
import type { Pass, PassContext } from './pass.ts';

const NAME = 'simplify-control-flow';

/** Default largest trip count unrolled. */
export const DEFAULT_MAX_TRIPS = 16;

/** The nodes and constants that replace one control-flow node. */
interface Replacement { nodes: Node[]; constants: Constant[] }

/** What one run shares across scopes: options, fresh names, the context. */
interface Run {
  readonly ctx: PassContext;
  readonly maxTrips: number;
  fresh(base: string, suffix: string): string;
}

const constant = (name: string, data: Tensor): Constant => ({ name, type: { dtype: data.dtype, shape: data.shape }, hash: hashOf(data), data });
const boolScalar = (v: boolean) => new Tensor('bool', [], Uint8Array.of(v ? 1 : 0));
const truth = (t: Tensor) => t.size === 1 && Boolean(Number(t.data[0] as number | bigint));
const sameTypes = (a: TensorType, b: TensorType) => formatType(a) === formatType(b);

/**
 * True if two graphs are the same up to the names they define: same constants (by content), nodes
 * (op, attributes, types, regions alike) and results, reading the same outer values. `map` pairs
 * names of `a` with names of `b` as they are matched.
 */
export function sameUpToNames(a: Graph, b: Graph, map = new Map<string, string>()): boolean {
  if (a.inputs.length !== b.inputs.length || a.constants.length !== b.constants.length
    || a.nodes.length !== b.nodes.length || a.outputs.length !== b.outputs.length) return false;
  const reads = (x: string, y: string) => (map.has(x) ? map.get(x) === y : x === y);
  for (let k = 0; k < a.inputs.length; k++) {
    if (!sameTypes(a.inputs[k].type, b.inputs[k].type)) return false;
    map.set(a.inputs[k].name, b.inputs[k].name);
  }
  for (let k = 0; k < a.constants.length; k++) {
    const x = a.constants[k], y = b.constants[k];
    if (x.hash !== y.hash || !sameTypes(x.type, y.type)) return false;
    map.set(x.name, y.name);
  }
  for (let k = 0; k < a.nodes.length; k++) {
    const x = a.nodes[k], y = b.nodes[k];
    if (x.op !== y.op || x.inputs.length !== y.inputs.length || x.outputs.length !== y.outputs.length) return false;
    if (!x.inputs.every((v, i) => reads(v, y.inputs[i]))) return false;
    if (!x.types.every((t, i) => !x.outputs[i] || sameTypes(t, y.types[i]))) return false;
    const keys = Object.keys(x.attrs).sort();
    if (keys.join() !== Object.keys(y.attrs).sort().join()) return false;
    for (const key of keys) {
      const p = x.attrs[key], q = y.attrs[key];
      if (p.kind === 'graph' ? q.kind !== 'graph' || !sameUpToNames(p.value, q.value, map) : !attrsEqual(p, q)) return false;
    }
    for (let i = 0; i < x.outputs.length; i++) {
      if (!x.outputs[i] !== !y.outputs[i]) return false;
      if (x.outputs[i]) map.set(x.outputs[i], y.outputs[i]);
    }
  }
  return a.outputs.every((v, k) => reads(v, b.outputs[k]));
}

/**
 * Names for a region's results as the owning node's outputs: each result defined in the region by a
 * node or constant is renamed to the output name (first occurrence only); the others (outer values,
 * block arguments, repeated results) are copied by an Identity. Returns the renaming and the
 * Identity nodes (which read the renamed values; run them after the region's nodes).
 */
function bindResults(results: readonly string[], outputs: readonly string[], types: readonly TensorType[],
  definedHere: ReadonlySet<string>, rename: Map<string, string>, loc: readonly string[]): Node[] {
  const copies: Node[] = [];
  results.forEach((r, k) => {
    const o = outputs[k];
    if (!o) return;
    if (definedHere.has(r) && !rename.has(r)) { rename.set(r, o); return; }
    copies.push({ op: 'Identity', inputs: [r], outputs: [o], types: [types[k]], attrs: {}, loc });
  });
  return copies;
}

/** Applies a renaming to copies made by bindResults (their inputs name region values). */
const renameCopies = (copies: Node[], rename: ReadonlyMap<string, string>) =>
  copies.map((n) => ({ ...n, inputs: n.inputs.map((v) => rename.get(v) ?? v) }));

/** Inlines the branch `taken` of If `node`. */
function inlineBranch(node: Node, taken: Graph): Replacement {
  const here = new Set([...taken.constants.map((c) => c.name), ...taken.nodes.flatMap((n) => n.outputs.filter(Boolean))]);
  const rename = new Map<string, string>();
  const copies = bindResults(taken.outputs, node.outputs, node.types, here, rename, node.loc);
  const g = renameAll(taken, (v) => rename.get(v) ?? v);
  return {
    constants: [...g.constants],
    nodes: [...g.nodes.map((n) => ({ ...n, loc: unionLoc(n.loc, node.loc) })), ...renameCopies(copies, rename)],
  };
}

/** Decides an If: the replacement when inlined, undefined when kept. */
function simplifyIf(node: Node, known: ReadonlyMap<string, Tensor>, run: Run): Replacement | undefined {
  const thenB = node.attrs.then_branch, elseB = node.attrs.else_branch;
  if (thenB?.kind !== 'graph' || elseB?.kind !== 'graph') return undefined;
  const cond = node.inputs[0];
  const c = cond ? known.get(cond) : undefined;
  const decide = (kind: 'inlined' | 'kept', reason: string) => run.ctx.decide({ kind, nodes: [nodeId(node)], loc: node.loc, reason });
  if (c && c.size === 1) {
    const value = truth(c);
    decide('inlined', `condition %${cond} is constant ${value}: ${value ? 'then' : 'else'}_branch inlined, ${value ? 'else' : 'then'}_branch dropped`);
    run.ctx.stats.add('inlined-ifs');
    return inlineBranch(node, value ? thenB.value : elseB.value);
  }
  if (sameUpToNames(thenB.value, elseB.value)) {
    decide('inlined', 'both branches compute the same: then_branch inlined');
    run.ctx.stats.add('inlined-ifs');
    return inlineBranch(node, thenB.value);
  }
  decide('kept', `condition %${cond} is not known at compile time`);
  run.ctx.stats.add('kept');
  return undefined;
}

/** Why a Loop cannot be unrolled, or its iteration count. */
function loopTrips(node: Node, body: Graph, known: ReadonlyMap<string, Tensor>, maxTrips: number): string | number {
  const [m, cond] = node.inputs;
  if (!m) return 'no trip count (M omitted): the loop runs until its condition stops it';
  const mt = known.get(m);
  if (!mt || mt.size !== 1) return `trip count %${m} is not known at compile time`;
  let trips = Math.max(0, Number(mt.data[0] as number | bigint));
  if (cond) {
    const ct = known.get(cond);
    if (!ct || ct.size !== 1) return `condition %${cond} is not known at compile time`;
    if (!truth(ct)) trips = 0;
  }
  // the body's condition result: the condition argument passed through, or a constant
  const prod = producers(body);
  let r = body.outputs[0];
  for (let p = prod.get(r); p && p.op === 'Identity'; p = prod.get(r)) r = p.inputs[0];
  const bodyConsts = new Map(body.constants.map((c) => [c.name, c.data]));
  const rc = bodyConsts.get(r) ?? known.get(r);
  if (r !== body.inputs[1]?.name && !(rc && rc.size === 1)) {
    return `data-dependent stop: the body computes its condition %${body.outputs[0]}`;
  }
  if (rc && !truth(rc)) trips = Math.min(trips, 1);
  if (trips > maxTrips) return `trip count ${trips} > limit ${maxTrips}`;
  const scans = node.outputs.length - (node.inputs.length - 2);
  if (trips === 0 && scans > 0) return 'no iteration runs, and its empty scan outputs are left to the loop';
  return trips;
}

/** Unrolls Loop `node` (body `body`) `trips` times. */
function unroll(node: Node, body: Graph, trips: number, run: Run): Replacement {
  const n = node.inputs.length - 2;
  const nodes: Node[] = [];
  const iterLoc = (i: number) => node.loc.map((l) => `${l}@iter${i}`);
  const [iterArg, condArg, ...carriedArgs] = body.inputs.map((a) => a.name);
  // only the nodes the carried and scan results need are copied (the condition's are not)
  const live = neededNodes(body, body.outputs.slice(1));
  const bodyReads = new Set<string>(trips ? [...live.flatMap(readsOf), ...body.outputs.slice(1)] : []);
  // the body's constants that the copies read move out once, under their own names
  const constants: Constant[] = body.constants.filter((c) => bodyReads.has(c.name));
  let condTrue: string | undefined;
  if (bodyReads.has(condArg)) {
    condTrue = run.fresh(condArg, 'true');
    constants.push(constant(condTrue, boolScalar(true)));
  }
  // every name the copied nodes define gets a fresh name per copy
  const local = definedNames({ ...body, inputs: [], constants: [], nodes: live });
  let carried = node.inputs.slice(2);
  const scanValues: string[][] = Array.from({ length: node.outputs.length - n }, () => []);
  for (let i = 0; i < trips; i++) {
    const rename = new Map<string, string>();
    carriedArgs.forEach((a, k) => rename.set(a, carried[k]));
    if (condTrue) rename.set(condArg, condTrue);
    if (bodyReads.has(iterArg)) {
      const it = run.fresh(iterArg, `it${i}`);
      constants.push(constant(it, i64Tensor([i], [])));
      rename.set(iterArg, it);
    }
    let copies: Node[] = [];
    if (i === trips - 1) {
      // the last copy defines the loop's carried outputs under their names
      const finals = new Map<string, string>();
      const here = new Set([...local].filter((v) => !rename.has(v)));
      copies = bindResults(body.outputs.slice(1, 1 + n), node.outputs.slice(0, n), node.types, here, finals, node.loc);
      for (const [k, v] of finals) rename.set(k, v);
    }
    for (const v of local) if (!rename.has(v)) rename.set(v, run.fresh(v, `it${i}`));
    const g = renameAll({ ...body, constants: [], nodes: live }, (v) => rename.get(v) ?? v);
    for (const c of g.nodes) nodes.push({ ...c, loc: unionLoc(c.loc, iterLoc(i)) });
    nodes.push(...renameCopies(copies, rename));
    carried = g.outputs.slice(1, 1 + n);
    g.outputs.slice(1 + n).forEach((v, j) => scanValues[j].push(v));
  }
  if (trips === 0) {
    node.outputs.slice(0, n).forEach((o, k) => {
      if (o) nodes.push({ op: 'Identity', inputs: [carried[k]], outputs: [o], types: [node.types[k]], attrs: {}, loc: node.loc });
    });
  }
  if (scanValues.length) {
    const axes = run.fresh(node.outputs[n] || nodeId(node), 'axis0');
    constants.push(constant(axes, i64Tensor([0])));
    scanValues.forEach((list, j) => {
      const out = node.outputs[n + j];
      if (!out) return;
      const t = regionType(body, 1 + n + j);
      const slice: TensorType = { dtype: t.dtype, shape: [1, ...t.shape] };
      const parts = list.map((v, i) => {
        const name = trips === 1 ? out : run.fresh(out, `it${i}`);
        nodes.push({ op: 'Unsqueeze', inputs: [v, axes], outputs: [name], types: [trips === 1 ? node.types[n + j] : slice], attrs: {}, loc: iterLoc(i) });
        return name;
      });
      if (trips > 1) {
        nodes.push({
          op: 'Concat', inputs: parts, outputs: [out], types: [node.types[n + j]],
          attrs: { axis: { kind: 'int', value: 0 } }, loc: node.loc,
        });
      }
    });
  }
  return { nodes, constants };
}

/** The nodes of `g` that the values `wanted` depend on, in graph order. */
function neededNodes(g: Graph, wanted: readonly string[]): Node[] {
  const needed = new Set(wanted);
  const keep: Node[] = [];
  for (let k = g.nodes.length - 1; k >= 0; k--) {
    const m = g.nodes[k];
    if (!m.outputs.some((o) => o && needed.has(o))) continue;
    keep.push(m);
    for (const v of readsOf(m)) needed.add(v);
  }
  return keep.reverse();
}

/** The declared type of a region's k-th result. */
function regionType(g: Graph, k: number): TensorType {
  const v = g.outputs[k];
  for (const n of g.nodes) { const i = n.outputs.indexOf(v); if (i >= 0) return n.types[i]; }
  // an outer value: its type is not at hand here, and inferTypes recomputes every type after the pass
  return g.constants.find((c) => c.name === v)?.type ?? g.inputs.find((a) => a.name === v)?.type ?? { dtype: 'f32', shape: [] };
}

/** Decides a Loop: the replacement when unrolled, undefined when kept. */
function simplifyLoop(node: Node, known: ReadonlyMap<string, Tensor>, run: Run): Replacement | undefined {
  const body = node.attrs.body;
  if (body?.kind !== 'graph') return undefined;
  const trips = loopTrips(node, body.value, known, run.maxTrips);
  if (typeof trips === 'string') {
    run.ctx.decide({ kind: 'kept', nodes: [nodeId(node)], loc: node.loc, reason: trips });
    run.ctx.stats.add('kept');
    return undefined;
  }
  run.ctx.decide({
    kind: 'unrolled', nodes: [nodeId(node)], loc: node.loc,
    reason: trips === 0 ? 'no iteration runs: the carried outputs are the initial values' : `trip count ${trips}, condition always true: body unrolled ${trips} times`,
  });
  run.ctx.stats.add('unrolled-loops');
  run.ctx.stats.add('unrolled-iterations', trips);
  return unroll(node, body.value, trips, run);
}

/** Simplifies one scope (a graph or a region), its regions first. */
function simplifyScope(graph: Graph, outer: ReadonlyMap<string, Tensor>, run: Run): Graph {
  const known = new Map(outer);
  for (const c of graph.constants) if (c.data) known.set(c.name, c.data);
  const nodes: Node[] = [];
  const constants: Constant[] = [...graph.constants];
  let changed = false;
  for (const original of graph.nodes) {
    const node = mapNodeRegions(original, (r) => simplifyScope(r, known, run));
    if (node !== original) changed = true;
    const rep = node.op === 'If' ? simplifyIf(node, known, run) : node.op === 'Loop' ? simplifyLoop(node, known, run) : undefined;
    if (!rep) { nodes.push(node); continue; }
    changed = true;
    nodes.push(...rep.nodes);
    constants.push(...rep.constants);
    for (const c of rep.constants) if (c.data) known.set(c.name, c.data);
  }
  return changed ? { ...graph, constants, nodes } : graph;
}

/** The simplify-control-flow pass. */
export const simplifyControlFlowPass: Pass = {
  name: NAME,
  summary: 'inline an If whose condition is known, unroll a Loop with a small constant trip count',
  description:
    'An If whose condition is a constant (or whose branches are the same) is replaced by the taken '
    + 'branch\'s nodes and constants; the dead branch is dropped. A Loop whose trip count is a constant '
    + 'no larger than max-trips, with an omitted or constant condition and a body that passes its '
    + 'condition through (or returns a constant), is unrolled: one copy of the body per iteration with '
    + 'fresh names, the iteration number a constant, carried values threaded, scan outputs stacked by '
    + 'Unsqueeze and Concat. Every If and Loop is recorded as inlined, unrolled or kept, with the reason.',
  options: [
    { name: 'max-trips', type: 'int', default: DEFAULT_MAX_TRIPS, help: 'largest constant trip count unrolled' },
  ],
  statistics: [
    { name: 'inlined-ifs', help: 'If nodes replaced by their taken branch' },
    { name: 'unrolled-loops', help: 'Loop nodes unrolled' },
    { name: 'unrolled-iterations', help: 'body copies made by unrolling' },
    { name: 'kept', help: 'If and Loop nodes left as they are (each recorded with its reason)' },
  ],
  run(graph, ctx) {
    const taken = definedNames(graph);
    const run: Run = {
      ctx,
      maxTrips: intOption(NAME, ctx.options, 'max-trips', DEFAULT_MAX_TRIPS),
      fresh(base, suffix) {
        let name = `${base}.${suffix}`;
        for (let k = 1; taken.has(name); k++) name = `${base}.${suffix}.${k}`;
        taken.add(name);
        return name;
      },
    };
    const out = simplifyScope(graph, new Map(), run);
    return out === graph ? graph : inferTypes(out);
  },
};
