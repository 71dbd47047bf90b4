/**
 * simplify: algebraic and structural clean-ups driven by the rule table of simplify-rules.ts
 * (Identity/Dropout removal, no-op Reshape/Transpose/Cast, Reshape/Transpose/Cast chains, x*1, x+0,
 * x-0, x/1), applied to a fixed point.
 *
 * Algorithm: a worklist over node indices on a mutable working copy (node slots, producer map, reader
 * sets). A node is popped, each rule for its op is tried in table order, and the first that fires is
 * applied and counted under its name; the nodes it affects (readers of changed values, the rewritten
 * node) go back on the worklist, so chains collapse in one run (Transpose∘Transpose∘Transpose, x*1
 * exposing a Reshape chain, ...). A step limit guards against rules that undo each other.
 *
 * Graph outputs keep their names. When a forwarded node's output is a graph output, the forwarded
 * value is renamed to the output name instead (its producer now defines the output name, and its
 * readers follow), which is possible when that value is a node output that is not itself a graph
 * output. Otherwise (the value is a graph input, a constant or another graph output) the node is
 * replaced by `Identity(value)` carrying the node's loc, and the identity rule leaves such an
 * Identity alone, since removing it would need a second name for one value.
 *
 * Producers and constants that a rewrite leaves unread (the first Reshape of a merged chain, the
 * ones constant of `x * 1`) are removed and counted in `dead-nodes`; pre-existing dead code is left
 * for dce. Types stay exact: forwarding requires identical types, and a replacement node keeps the
 * outputs and types of the node it replaces (it computes the same values).
 *
 * Regions: each region body is simplified too (its results are its outputs), seeing the types and
 * constants of the enclosing scopes; a node owning a region reads what the region reads from outside
 * (so such a value's producer is never collected), and redirecting a value redirects its reads inside
 * regions too (graph-edit.ts `renameInputs`).
 */
import type { Constant, Graph, Node, TensorType } from '../ir/graph.ts';
import { readsOf, regionsOf } from '../ir/graph.ts';
import type { Tensor } from '../ir/tensor.ts';
import { dropOrphanedConstants, mapNodeRegions, renameInputs } from './graph-edit.ts';
import type { Pass, PassContext } from './pass.ts';
import { type Rewrite, SIMPLIFY_RULES, type SimplifyRule, type SimplifyView } from './simplify-rules.ts';

/** Rules by op name. */
const RULES_BY_OP = new Map<string, SimplifyRule[]>();
for (const r of SIMPLIFY_RULES) for (const op of r.ops) RULES_BY_OP.set(op, [...(RULES_BY_OP.get(op) ?? []), r]);

/** The mutable working copy of a graph the driver rewrites. */
class Work implements SimplifyView {
  readonly nodes: (Node | undefined)[];
  private readonly producerOf = new Map<string, number>();
  private readonly readers = new Map<string, Map<number, number>>();
  private readonly types = new Map<string, TensorType>();
  private readonly constants = new Map<string, Tensor>();
  readonly outputs: ReadonlySet<string>;
  /** Node indices to (re)visit. */
  private readonly queue: number[] = [];
  private head = 0;
  private readonly queued = new Set<number>();
  dead = 0;

  constructor(graph: Graph, outer?: { types: ReadonlyMap<string, TensorType>; constants: ReadonlyMap<string, Tensor> }) {
    this.nodes = [...graph.nodes];
    this.outputs = new Set(graph.outputs);
    for (const [k, t] of outer?.types ?? []) this.types.set(k, t);
    for (const [k, t] of outer?.constants ?? []) this.constants.set(k, t);
    for (const i of graph.inputs) this.types.set(i.name, i.type);
    for (const c of graph.constants) {
      this.types.set(c.name, c.type);
      if (c.data) this.constants.set(c.name, c.data);
    }
    this.nodes.forEach((n, i) => {
      this.link(i, n!);
      n!.outputs.forEach((o, k) => { if (o) { this.producerOf.set(o, i); this.types.set(o, n!.types[k]); } });
      this.push(i);
    });
  }

  // ---- SimplifyView ----
  type(v: string) { return this.types.get(v); }
  constant(v: string) { return this.constants.get(v); }
  producer(v: string) { const i = this.producerOf.get(v); return i === undefined ? undefined : this.nodes[i]; }
  uses(v: string) {
    let n = this.outputs.has(v) ? 1 : 0;
    for (const c of this.readers.get(v)?.values() ?? []) n += c;
    return n;
  }

  push(i: number): void {
    if (!this.queued.has(i)) { this.queued.add(i); this.queue.push(i); }
  }
  pop(): number | undefined {
    if (this.head === this.queue.length) return undefined;
    const i = this.queue[this.head++];
    this.queued.delete(i);
    return i;
  }

  /** The types and constants visible here, for the regions of this scope. */
  scope() { return { types: this.types as ReadonlyMap<string, TensorType>, constants: this.constants as ReadonlyMap<string, Tensor> }; }

  /** Records node i's input reads (and, once, each value its regions read from outside). */
  private link(i: number, n: Node, sign = 1): void {
    const extra = regionsOf(n).length ? readsOf(n).filter((v) => !n.inputs.includes(v)) : [];
    for (const v of [...n.inputs, ...extra]) {
      if (!v) continue;
      let m = this.readers.get(v);
      if (!m) this.readers.set(v, (m = new Map()));
      const c = (m.get(i) ?? 0) + sign;
      if (c > 0) m.set(i, c); else m.delete(i);
    }
  }

  /**
   * Puts `n` in slot i (or empties it), keeping the maps right; requeues readers of its outputs.
   * With `collect`, producers that the old node was the last reader of are removed.
   */
  set(i: number, n: Node | undefined, collect = true): void {
    const old = this.nodes[i];
    if (!old && !n) return;
    if (old) this.link(i, old, -1);
    if (old && !n) for (const o of old.outputs) if (o && this.producerOf.get(o) === i) this.producerOf.delete(o);
    this.nodes[i] = n;
    if (n) {
      this.link(i, n);
      n.outputs.forEach((o, k) => { if (o) { this.producerOf.set(o, i); this.types.set(o, n.types[k]); } });
      this.push(i);
    }
    for (const o of (n ?? old)!.outputs) for (const r of this.readers.get(o)?.keys() ?? []) this.push(r);
    if (old && collect) this.collect(old.inputs);
  }

  /** Replaces every read of value `from` by `to`. */
  redirect(from: string, to: string): void {
    for (const r of [...(this.readers.get(from)?.keys() ?? [])]) {
      this.set(r, renameInputs(this.nodes[r]!, (v) => (v === from ? to : v)));
    }
  }

  /** Removes producers of these values whose outputs nobody reads any more (recursively). */
  collect(values: readonly string[]): void {
    for (const v of values) {
      if (!v) continue;
      const i = this.producerOf.get(v);
      const n = i === undefined ? undefined : this.nodes[i];
      if (!n || n.outputs.some((o) => o && this.uses(o) > 0)) continue;
      this.dead++;
      this.set(i!, undefined);
    }
  }

  /** Renames value `from` (a node output) to `to` at its producer and all its readers. */
  rename(from: string, to: string): void {
    const i = this.producerOf.get(from)!;
    const p = this.nodes[i]!;
    this.producerOf.delete(from);
    this.redirect(from, to);
    this.set(i, { ...p, outputs: p.outputs.map((o) => (o === from ? to : o)) });
  }
}

/** Applies one rewrite of node i; returns false when it cannot be applied (nothing changed). */
function apply(work: Work, i: number, node: Node, rw: Rewrite): boolean {
  if ('replace' in rw) {
    work.set(i, rw.replace);
    return true;
  }
  const out = node.outputs[0];
  const value = rw.forward;
  if (!work.outputs.has(out)) {
    work.set(i, undefined, false);
    work.redirect(out, value);
    work.collect(node.inputs);
    return true;
  }
  // the output name must survive: rename the forwarded value to it, or keep an Identity
  const p = work.producer(value);
  if (p && !work.outputs.has(value)) {
    work.set(i, undefined, false); // not collected yet: `value` lives on under the output's name
    work.rename(value, out);
    work.collect(node.inputs);
    return true;
  }
  if (node.op === 'Identity') return false;
  work.set(i, { op: 'Identity', inputs: [value], outputs: [out], types: [node.types[0]], attrs: {}, loc: node.loc });
  return true;
}

/** Runs the rule table to a fixed point; returns the same graph when no rule fires. */
export function simplifyGraph(graph: Graph, ctx: PassContext): Graph {
  return simplifyScope(graph, ctx);
}

/** Simplifies one scope (a graph or a region) and, first, its regions. */
function simplifyScope(scope: Graph, ctx: PassContext, outer?: ConstructorParameters<typeof Work>[1]): Graph {
  const work = new Work(scope, outer);
  let regionsChanged = false;
  work.nodes.forEach((n, i) => {
    const m = mapNodeRegions(n!, (r) => simplifyScope(r, ctx, work.scope()));
    if (m !== n) { work.set(i, m, false); regionsChanged = true; }
  });
  const graph = regionsChanged ? { ...scope, nodes: work.nodes.filter((n): n is Node => n !== undefined) } : scope;
  let fired = 0;
  const limit = 50 * (graph.nodes.length + 10);
  for (let steps = 0; ; steps++) {
    const i = work.pop();
    if (i === undefined) break;
    if (steps > limit) throw new Error(`simplify did not reach a fixed point after ${limit} steps (rules undo each other)`);
    const node = work.nodes[i];
    if (!node) continue;
    for (const rule of RULES_BY_OP.get(node.op) ?? []) {
      const rw = rule.rewrite(node, work);
      if (rw && apply(work, i, node, rw)) {
        ctx.stats.add(rule.name);
        fired++;
        break;
      }
    }
  }
  if (!fired) return graph;
  ctx.stats.add('dead-nodes', work.dead);
  const nodes = work.nodes.filter((n): n is Node => n !== undefined);
  const constants: readonly Constant[] = dropOrphanedConstants(graph, nodes, graph.constants);
  ctx.stats.add('removed-constants', graph.constants.length - constants.length);
  return { ...graph, nodes, constants };
}

/** The simplify pass. */
export const simplifyPass: Pass = {
  name: 'simplify',
  summary: 'Identity/Dropout removal, no-op Reshape/Transpose/Cast, chains, x*1, x+0, x-0, x/1',
  description:
    'Applies these rules to a fixed point:\n'
    + SIMPLIFY_RULES.map((r) => `  ${r.name}: ${r.label}`).join('\n')
    + '\nGraph output names never change (the forwarded value is renamed, or an Identity stays). '
    + 'Nodes and constants left unread by a rewrite are removed.',
  options: [],
  statistics: [
    ...SIMPLIFY_RULES.map((r) => ({ name: r.name, help: r.label })),
    { name: 'dead-nodes', help: 'producers left unread by a rewrite and removed' },
    { name: 'removed-constants', help: 'constants left unread by a rewrite and removed' },
  ],
  run: simplifyGraph,
};
