/**
 * cse: common subexpression elimination. Merges nodes that compute the same thing (same op, same
 * inputs, same attributes, same output count) and constants with the same content (same hash and
 * type).
 *
 * Algorithm: constants first, keyed by `hash|type`; then one forward walk over the nodes in graph
 * order. Each node's inputs are first mapped to their surviving values, then the node is keyed by
 * op, inputs, output count and a canonical spelling of its attributes (tensor attributes by content
 * hash, floats bit-exact: -0 and 0 differ, NaN equals NaN). A node whose key was seen merges into the
 * earlier node: its outputs become aliases of the earlier node's outputs and its provenance is
 * appended to the earlier node's loc. Random ops and possibly-training Dropout never merge.
 *
 * Graph output names never change: when a merged value is a graph output, the surviving value takes
 * that name instead (the survivor is renamed everywhere). A merge that would need two graph output
 * names on one value is skipped. When merged nodes declared different types (fresh symbolic dims from
 * two shape computations), the graph's types are recomputed with inferTypes.
 *
 * Regions: CSE runs per scope. Each region body (If branches, Loop/Scan bodies) is cleaned on its
 * own, with its own tables, before its owning node is keyed; a node inside a region never merges
 * with an outer one (sound, and simple), and nodes owning regions never merge (their bodies define
 * different names). Merging an outer value renames its reads inside regions too (graph-edit.ts
 * `renameInputs`). Types are recomputed once, on the whole graph, when any scope needs it.
 */
import type { AttrValue, Constant, Graph, Node } from '../ir/graph.ts';
import { regionsOf } from '../ir/graph.ts';
import { hashOf } from '../ir/weights.ts';
import { isMaterialized } from '../ir/lazy-weights.ts';
import { inferTypes } from '../ops/infer.ts';
import { printGraph } from '../ir/print.ts';
import { isNondeterministic, mapNodeRegions, renameInputs, sameType, unionLoc } from './graph-edit.ts';
import type { Pass, PassContext } from './pass.ts';

/** A number spelled so that distinct bit patterns of interest stay distinct (-0 vs 0, NaN). */
const num = (x: number) => (Object.is(x, -0) ? '-0' : String(x));

/** A canonical string for one attribute value. */
function attrKey(a: AttrValue): string {
  switch (a.kind) {
    case 'int': case 'float': return `${a.kind}:${num(a.value)}`;
    case 'string': return `string:${JSON.stringify(a.value)}`;
    case 'ints': case 'floats': return `${a.kind}:[${a.value.map(num).join(',')}]`;
    case 'strings': return `strings:${JSON.stringify(a.value)}`;
    case 'tensor': return `tensor:${hashOf(a.value)}`;
    case 'graph': return `graph:${printGraph(a.value)}`;
  }
}

/** The merge key of a node whose inputs are already canonical. */
function nodeKey(n: Node): string {
  const attrs = Object.keys(n.attrs).sort().map((k) => `${JSON.stringify(k)}=${attrKey(n.attrs[k])}`);
  return `${n.op}(${n.inputs.map((v) => JSON.stringify(v)).join(',')})#${n.outputs.length}{${attrs.join(',')}}`;
}

const typeKey = (c: Constant) => `${c.hash}|${c.type.dtype}[${c.type.shape.join(',')}]`;

/**
 * A cheap key that equal constants always share: type plus 64 bytes sampled across the data. Only
 * constants that share it are hashed and compared by full hash, so a pipeline does not hash every
 * weight of a model (≈80 ms on ResNet-50) just to find that none are equal. A lazy constant whose data
 * was never computed gets a key of its own (not merging is always safe; computing it here is not cheap).
 */
function fingerprint(c: Constant): string {
  const type = `${c.type.dtype}[${c.type.shape.join(',')}]`;
  const t = c.data;
  if (!t) return `${type}#${c.hash}`;
  if (!isMaterialized(t)) return `${type}@${c.name}`;
  const d = t.data;
  if (Array.isArray(d)) return `${type}#${c.hash}`;
  const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  const n = bytes.length, samples = Math.min(64, n);
  let key = `${type}:${n}:`;
  for (let i = 0; i < samples; i++) key += bytes[Math.floor((i * (n - 1)) / Math.max(1, samples - 1))].toString(16).padStart(2, '0');
  return key;
}

/** CSE of one scope (a graph or a region), its regions first; `state.retype` asks for inferTypes. */
function cseScope(graph: Graph, ctx: PassContext, state: { retype: boolean }): Graph {
  const isOutput = new Set(graph.outputs);
  /** merged value -> the value that replaces it */
  const alias = new Map<string, string>();
  /** surviving value -> the graph output name it must take */
  const exposeAs = new Map<string, string>();
  const canon = (v: string) => alias.get(v) ?? v;

  /** Records that `dups` merge into `keeps` (parallel lists) if no output name conflicts; returns success. */
  const merge = (dups: readonly string[], keeps: readonly string[]): boolean => {
    const expose = new Map<string, string>();
    for (let k = 0; k < dups.length; k++) {
      const d = dups[k], p = keeps[k];
      if (!d) continue;
      if (!p) return false; // the survivor does not produce this output
      if (!isOutput.has(d)) continue;
      if (isOutput.has(p) || exposeAs.has(p) || expose.has(p)) return false;
      expose.set(p, d);
    }
    for (const [p, d] of expose) exposeAs.set(p, d);
    dups.forEach((d, k) => { if (d) alias.set(d, keeps[k]); });
    return true;
  };

  const constantsByPrint = new Map<string, Constant[]>();
  const constants: Constant[] = [];
  let mergedConstants = 0;
  for (const c of graph.constants) {
    const print = fingerprint(c);
    const seen = constantsByPrint.get(print);
    if (!seen) { constantsByPrint.set(print, [c]); constants.push(c); continue; }
    const key = typeKey(c);
    const first = seen.find((s) => typeKey(s) === key);
    if (first && merge([c.name], [first.name])) { mergedConstants++; continue; }
    if (!first) seen.push(c);
    constants.push(c);
  }

  const constData = new Map(graph.constants.map((c) => [c.name, c.data]));
  const nodeByKey = new Map<string, number>();
  const nodes: Node[] = [];
  const extraLoc = new Map<number, (readonly string[])[]>();
  let mergedNodes = 0, changedRegions = false;
  for (const original of graph.nodes) {
    const node = renameInputs(mapNodeRegions(original, (r) => cseScope(r, ctx, state)), canon);
    if (node !== original) changedRegions = true;
    if (!regionsOf(node).length && !isNondeterministic(node, (v) => constData.get(v))) {
      const key = nodeKey(node);
      const at = nodeByKey.get(key);
      if (at !== undefined && merge(node.outputs, nodes[at].outputs)) {
        mergedNodes++;
        if (!node.types.every((t, k) => !node.outputs[k] || sameType(t, nodes[at].types[k]))) state.retype = true;
        const list = extraLoc.get(at) ?? [];
        list.push(node.loc);
        extraLoc.set(at, list);
        continue;
      }
      if (at === undefined) nodeByKey.set(key, nodes.length);
    }
    nodes.push(node);
  }
  if (!mergedNodes && !mergedConstants) return changedRegions ? { ...graph, nodes } : graph;

  const finalName = (v: string) => exposeAs.get(canon(v)) ?? canon(v);
  const renamed = nodes.map((n, i) => {
    let out = renameInputs(n, finalName);
    if (n.outputs.some((o) => exposeAs.has(o))) out = { ...out, outputs: n.outputs.map((o) => exposeAs.get(o) ?? o) };
    const extra = extraLoc.get(i);
    if (extra) out = { ...out, loc: unionLoc(n.loc, ...extra) };
    return out;
  });
  const finalConstants = constants.map((c) => (exposeAs.has(c.name) ? { ...c, name: exposeAs.get(c.name)! } : c));
  ctx.stats.add('merged-nodes', mergedNodes);
  ctx.stats.add('merged-constants', mergedConstants);
  return { ...graph, constants: finalConstants, nodes: renamed };
}

/** The cse pass. */
export const csePass: Pass = {
  name: 'cse',
  summary: 'merge nodes with the same op, inputs and attributes, and constants with the same content',
  description:
    'Two nodes with the same op, the same (merged) inputs and equal attributes compute the same '
    + 'values: the later one is removed and its uses read the earlier one, whose loc gains the '
    + 'removed node\'s loc. Constants with the same hash and type merge likewise. Random ops are '
    + 'never merged. Graph output names are kept by renaming the surviving value.',
  options: [],
  statistics: [
    { name: 'merged-nodes', help: 'nodes merged into an earlier identical node' },
    { name: 'merged-constants', help: 'constants merged into an earlier identical constant' },
  ],
  run(graph, ctx) {
    const state = { retype: false };
    const result = cseScope(graph, ctx, state);
    return state.retype && result !== graph ? inferTypes(result) : result;
  },
};
