/**
 * fuse-elementwise: greedy fusion of connected chains and DAGs of elementwise and broadcasting ops
 * (unary math, activations, binary arithmetic, comparisons, Where, Clip, Cast, ...), optionally ending
 * in one reduction over the last axes, into `kiln.fused` region nodes (compiler/ops/fused-region.ts).
 *
 * Algorithm: one walk in graph order. A fusible node either joins the region of one of its producers
 * or starts a new region. The candidate regions are those of its inputs' producers, tried in input
 * order; the node joins the first that passes every rule below, each failing candidate is recorded
 * as a rejection with its reason, and the remaining candidates are recorded as "already fused into the
 * region of %x" (regions are never merged with each other). A non-fusible node that reads a region's
 * value is recorded as a rejected candidate too ("op Softmax is not elementwise"). Regions of two or
 * more ops become one `kiln.fused` node each; a region of one op is left as it was.
 *
 * Rules for node n joining region R (the reason strings are what the fusion table shows):
 * - fusible ops: the ops a region body may hold (ops/fused-region.ts: the `elementwise` trait, and
 *   reductions to values) with one output and no tensor attribute, filtered by
 *   the `allow` (when non-empty) and `deny` lists ("op Conv is not elementwise", "op Add is on the deny
 *   list", "op Div is not on the allow list");
 * - a reduction must have constant axes covering the last axes of its input ("reduction over axes [1]
 *   is not over the last axes") and it closes its region: nothing joins after it ("reduction not last:
 *   ReduceMean %5 already ends the region");
 * - size: at most `max-ops` ops per region ("would exceed max-ops=8");
 * - shapes: the region iterates over its domain, the broadcast of its values' shapes; every value must
 *   broadcast to it, dim by dim equal or 1 (a symbolic dim matches only itself or 1), and a reduction's
 *   input must be the whole domain ("shape [4] of %7 does not broadcast with region shape [3,1]",
 *   "reduction input [1,128,1] does not cover region shape [1,128,256]");
 * - no cycle: no external input of n may depend on R, counting every region as the single node it
 *   becomes ("would create a cycle through %9").
 * Intermediates used outside their region, or returned by the graph, become extra outputs of the
 * region (the region keeps their names), so fusion never stops at a shared value and never recomputes
 * one. Output value names are kept: a region outputs its results under the original names, so its
 * consumers are unchanged; its inputs are the external operands in order of first use, constants
 * (reduction axes, Pow exponents, biases) included. The fused node sits where its last op was; when
 * an extra output is read between its first and last op, the readers move after it (a stable
 * topological sort). Provenance: the region's loc is the union of its ops' loc lists in graph order.
 *
 * Control-flow regions (If branches, Loop/Scan bodies) are fused the same way, each body on its own
 * (values of enclosing scopes are external operands), before the enclosing graph; a value read inside
 * a control-flow region counts as read by the node owning it (ir/graph.ts `readsOf`), so it stays an
 * output of its fused region.
 */
import type { Dim, Graph, Node } from '../ir/graph.ts';
import { nodeId, producers, readsOf } from '../ir/graph.ts';
import { readInts } from '../ir/tensor.ts';
import { printBodyLine, type BodyOperand } from '../ops/fused-body.ts';
import { FUSED_OP, fusedAttrs, isBodyElementwise, isBodyReduction } from '../ops/fused-region.ts';
import { opTraits } from '../ops/registry.ts';
import { mapRegions } from './graph-edit.ts';
import type { Pass, PassContext } from './pass.ts';
import { mergeLoc, opMatcher, option, topologicalOrder } from './rewrite-kit.ts';

const NAME = 'fuse-elementwise';

/** A region being grown. */
interface Region {
  readonly members: Node[];
  readonly memberSet: Set<Node>;
  /** The iteration shape: every member's values broadcast to it. */
  domain: readonly Dim[];
  /** Set once a reduction joined: the region is closed. */
  reduced: boolean;
  readonly minIndex: number;
  maxIndex: number;
}

const fmt = (s: readonly Dim[]) => `[${s.join(',')}]`;

/** Broadcast of two shapes where each dim pair is equal or has a 1; undefined otherwise. */
export function unifyShapes(a: readonly Dim[], b: readonly Dim[]): Dim[] | undefined {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
    const db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else return undefined;
  }
  return out;
}

const sameShape = (a: readonly Dim[], b: readonly Dim[]) => a.length === b.length && a.every((d, i) => d === b[i]);

function run(graph: Graph, ctx: PassContext): Graph {
  return runScope(graph, ctx, new Map());
}

/** Fuses one scope (a graph or a region body), its regions first; `outerTypes`: shapes of enclosing scopes' values. */
function runScope(scope: Graph, ctx: PassContext, outerTypes: ReadonlyMap<string, readonly Dim[]>): Graph {
  const types = new Map<string, readonly Dim[]>(outerTypes);
  for (const i of scope.inputs) types.set(i.name, i.type.shape);
  for (const c of scope.constants) types.set(c.name, c.type.shape);
  for (const n of scope.nodes) n.outputs.forEach((o, k) => { if (o) types.set(o, n.types[k].shape); });
  const graph = mapRegions(scope, (r) => runScope(r, ctx, types));
  const maxOps = option(NAME, ctx, 'max-ops', 8);
  const allowList = option<readonly string[]>(NAME, ctx, 'allow', []);
  const allowed = opMatcher(allowList);
  const denied = opMatcher(option<readonly string[]>(NAME, ctx, 'deny', []));
  const constants = new Map(graph.constants.map((c) => [c.name, c]));
  const producerOf = producers(graph);
  const index = new Map(graph.nodes.map((n, i) => [n, i]));
  const regionOf = new Map<Node, Region>();
  const regions: Region[] = [];

  const reject = (n: Node, from: Node, reason: string) => {
    ctx.stats.add('rejected');
    ctx.decide({ kind: 'rejected', nodes: [nodeId(n), nodeId(from)], loc: mergeLoc([n.loc, from.loc]), reason });
  };

  /** Why `n` cannot be in a region at all, or undefined. */
  const unfusible = (n: Node): string | undefined => {
    const isReduce = isBodyReduction(n.op);
    if (!isBodyElementwise(n.op) && !isReduce) return `op ${n.op} is not elementwise`;
    if (denied(n.op)) return `op ${n.op} is on the deny list`;
    if (allowList.length && !allowed(n.op)) return `op ${n.op} is not on the allow list`;
    if (n.outputs.length !== 1 || !n.outputs[0]) return `op ${n.op} has ${n.outputs.length} outputs`;
    if (Object.values(n.attrs).some((a) => a.kind === 'tensor')) return `op ${n.op} has a tensor attribute`;
    if (!isReduce) return undefined;
    return reductionProblem(n);
  };

  /** Reductions fuse when their axes are constant and are the trailing axes of the input. */
  const reductionProblem = (n: Node): string | undefined => {
    const rank = n.types.length ? producedRank(n) : 0;
    let axes: number[] | undefined;
    const from = opTraits(n.op).reduction!.axes; // where the op takes its axes from
    const axesName = from.input !== undefined ? n.inputs[from.input] : undefined;
    const axesAttr = from.attribute !== undefined ? n.attrs[from.attribute] : undefined;
    if (axesName) {
      const c = constants.get(axesName);
      if (!c?.data) return `reduction axes %${axesName} are not a constant`;
      axes = readInts(c.data);
    } else if (axesAttr?.kind === 'ints') axes = [...axesAttr.value];
    const noop = n.attrs.noop_with_empty_axes?.kind === 'int' && n.attrs.noop_with_empty_axes.value !== 0;
    if (!axes || axes.length === 0) return noop ? `reduction ${n.op} with empty axes is a no-op` : undefined;
    const norm = axes.map((a) => (a < 0 ? a + rank : a)).sort((x, y) => x - y);
    const trailing = norm.every((a, i) => a === rank - norm.length + i);
    return trailing ? undefined : `reduction over axes [${axes.join(',')}] is not over the last axes`;
  };

  /** Rank of a reduction's data input. */
  const producedRank = (n: Node): number => inputShape(n, 0)?.length ?? 0;

  const inputShape = (n: Node, k: number) => (n.inputs[k] ? types.get(n.inputs[k]) : undefined);

  /** Lowest node index from which a path (regions contracted) could reach region R (see reaches). */
  const horizon = (r: Region): number => {
    let low = r.minIndex;
    for (let changed = true; changed;) {
      changed = false;
      for (const s of regions) if (s.maxIndex >= low && s.minIndex < low) { low = s.minIndex; changed = true; }
    }
    return low;
  };

  /** True if node `start` depends on region R, treating each region as one node. */
  const reaches = (start: Node, r: Region): boolean => {
    const low = horizon(r);
    const seen = new Set<Node>();
    const stack = [start];
    while (stack.length) {
      const m = stack.pop()!;
      if (seen.has(m)) continue;
      seen.add(m);
      if (r.memberSet.has(m)) return true;
      if (index.get(m)! < low) continue; // nothing before the horizon leads into R
      const s = regionOf.get(m);
      const group = s ? s.members : [m];
      for (const g of group) {
        if (g !== m) stack.push(g);
        for (const v of readsOf(g)) {
          const p = producerOf.get(v);
          if (p) stack.push(p);
        }
      }
    }
    return false;
  };

  /** Why n cannot join R, or the region's new domain. */
  const tryJoin = (n: Node, r: Region): string | Dim[] => {
    if (r.reduced) {
      const last = r.members[r.members.length - 1];
      return `reduction not last: ${last.op} %${nodeId(last)} already ends the region`;
    }
    if (r.members.length + 1 > maxOps) return `would exceed max-ops=${maxOps}`;
    let domain: Dim[] | undefined;
    if (isBodyReduction(n.op)) {
      const data = inputShape(n, 0) ?? [];
      domain = unifyShapes(r.domain, data);
      if (!domain || !sameShape(domain, data)) return `reduction input ${fmt(data)} does not cover region shape ${fmt(r.domain)}`;
    } else {
      const out = n.types[0].shape;
      domain = unifyShapes(r.domain, out);
      if (!domain) return `shape ${fmt(out)} of %${nodeId(n)} does not broadcast with region shape ${fmt(r.domain)}`;
    }
    for (const v of n.inputs) {
      const p = v ? producerOf.get(v) : undefined;
      if (p && !r.memberSet.has(p) && reaches(p, r)) return `would create a cycle through %${v}`;
    }
    return domain;
  };

  graph.nodes.forEach((n, i) => {
    const candidates: [Region, Node][] = [];
    for (const v of n.inputs) {
      const p = v ? producerOf.get(v) : undefined;
      const r = p ? regionOf.get(p) : undefined;
      if (r && p && !candidates.some(([c]) => c === r)) candidates.push([r, p]);
    }
    const why = unfusible(n);
    if (why) {
      for (const [, p] of candidates) reject(n, p, why);
      return;
    }
    let joined: Region | undefined;
    let via: Node | undefined;
    for (const [r, p] of candidates) {
      if (joined) {
        reject(n, p, `already fused into the region of %${nodeId(via!)} (regions are not merged)`);
        continue;
      }
      const result = tryJoin(n, r);
      if (typeof result === 'string') reject(n, p, result);
      else {
        r.members.push(n);
        r.memberSet.add(n);
        r.domain = result;
        r.reduced = isBodyReduction(n.op);
        r.maxIndex = i;
        regionOf.set(n, r);
        joined = r;
        via = p;
      }
    }
    if (!joined) {
      const domain = isBodyReduction(n.op) ? inputShape(n, 0) ?? [] : n.types[0].shape;
      const r: Region = { members: [n], memberSet: new Set([n]), domain, reduced: isBodyReduction(n.op), minIndex: i, maxIndex: i };
      regions.push(r);
      regionOf.set(n, r);
    }
  });

  const fused = regions.filter((r) => r.members.length >= 2);
  if (fused.length === 0) return graph;
  const readers = new Map<string, Node[]>();
  for (const n of graph.nodes) for (const v of readsOf(n)) (readers.get(v) ?? readers.set(v, []).get(v)!).push(n);
  const graphOutputs = new Set(graph.outputs);
  const replacement = new Map<Node, Node | null>();
  for (const r of fused) {
    const node = buildRegion(r, readers, graphOutputs);
    r.members.forEach((m, k) => replacement.set(m, k === r.members.length - 1 ? node : null));
    ctx.stats.add('regions');
    ctx.stats.add('ops-fused', r.members.length);
    const ops = r.members.map((m) => m.op).join(', ');
    ctx.decide({
      kind: 'fused', nodes: r.members.map(nodeId), loc: node.loc, result: nodeId(node),
      reason: `${r.members.length} ops into ${FUSED_OP}: ${ops}`,
    });
  }
  const nodes: Node[] = [];
  for (const n of graph.nodes) {
    const rep = replacement.get(n);
    if (rep === undefined) nodes.push(n);
    else if (rep) nodes.push(rep);
  }
  return { ...graph, nodes: topologicalOrder(nodes) };
}

/** Builds the kiln.fused node of a region (members in graph order). */
function buildRegion(r: Region, readers: Map<string, Node[]>, graphOutputs: Set<string>): Node {
  const local = new Map<string, number>();
  r.members.forEach((m, j) => local.set(m.outputs[0], j));
  const inputs: string[] = [];
  const inputIndex = new Map<string, number>();
  const body = r.members.map((m, j) => {
    const operands = m.inputs.map((v): BodyOperand => {
      if (!v) return { kind: 'omitted' };
      const t = local.get(v);
      if (t !== undefined) return { kind: 'value', index: t };
      let k = inputIndex.get(v);
      if (k === undefined) {
        k = inputs.length;
        inputs.push(v);
        inputIndex.set(v, k);
      }
      return { kind: 'input', index: k };
    });
    return printBodyLine({ index: j, op: m.op, operands, attrs: m.attrs });
  });
  const results: number[] = [];
  r.members.forEach((m, j) => {
    const v = m.outputs[0];
    const usedOutside = (readers.get(v) ?? []).some((u) => !r.memberSet.has(u));
    if (usedOutside || graphOutputs.has(v)) results.push(j);
  });
  if (results.length === 0) results.push(r.members.length - 1); // a dead region still defines its last value
  return {
    op: FUSED_OP,
    inputs,
    outputs: results.map((j) => r.members[j].outputs[0]),
    types: results.map((j) => r.members[j].types[0]),
    attrs: fusedAttrs(body, results),
    loc: mergeLoc(r.members.map((m) => m.loc)),
  };
}

/** The fuse-elementwise pass. */
export const fuseElementwise: Pass = {
  name: NAME,
  summary: 'fuse chains of elementwise/broadcast ops (and a trailing reduction) into kiln.fused regions',
  description: 'Greedily grows regions of elementwise and broadcasting ops along the data flow, ending at most in one '
    + 'reduction over the last axes, and replaces each region of two or more ops by one kiln.fused node whose body '
    + 'attribute lists the ops. Values used outside a region become extra outputs. Every rejected candidate is '
    + 'recorded with its reason (not elementwise, deny/allow list, max-ops, reduction not last, shape, cycle).',
  options: [
    { name: 'max-ops', type: 'int', default: 8, help: 'largest number of ops in one region' },
    { name: 'allow', type: 'strings', default: [], help: 'only these ops fuse (empty: every elementwise op and reduction); `X*` globs' },
    { name: 'deny', type: 'strings', default: [], help: 'these ops never fuse; `X*` globs' },
  ],
  statistics: [
    { name: 'regions', help: 'kiln.fused regions formed' },
    { name: 'ops-fused', help: 'ops moved into regions' },
    { name: 'rejected', help: 'fusion candidates rejected (each recorded with its reason)' },
  ],
  run,
};

export const fuseElementwisePasses: Pass[] = [fuseElementwise];
