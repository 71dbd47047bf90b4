/**
 * fold-constants: evaluates, at compile time, every node whose inputs are all constants, with the
 * ops' reference kernels, and replaces it by constants holding its results.
 *
 * Algorithm: one forward walk in graph order with a map of known values (the constants with data,
 * growing as nodes fold, so whole constant subgraphs fold in one run). A node folds when it has at
 * least one input, every present input is known, it is deterministic (random ops and a Dropout that
 * may be in training mode never fold), and its outputs are small enough (below). `Shape` and `Size`
 * also fold when the dims they return are static in their input's type. Each result becomes a constant under the
 * node's own output name, so no consumer is rewired and graph output names never change; its hash is
 * `hashOf(data)`. A kernel that throws leaves the node in place (the run-time error stays the
 * executor's to report).
 *
 * Size cap (`max-elements`): an output with more elements than the cap is folded only when it is no
 * larger than the node's largest constant input, so folding never grows the weights past the cap
 * (Expand/Tile/ConstantOfShape of a big shape stay nodes) while weight transforms such as
 * `W * scale` of a large conv still fold. An output beyond the memory budget (ir/sizes.ts) is never
 * folded nor allocated (counted as too-large); running the graph then refuses it with the size error.
 *
 * Constants that only folded nodes read are removed afterwards, including intermediate results of
 * a folded chain. When a folded output's type was less precise than its value's (symbolic dims), the
 * graph's types are recomputed with inferTypes so consumers see the static dims.
 *
 * Regions: the walk folds each region body (If branches, Loop/Scan bodies) when it reaches the owning
 * node, seeing the values known so far in the enclosing scopes (a body node reading only outer
 * constants folds into a constant of the body). A node owning regions never folds itself (control
 * flow with a known condition is simplify-control-flow's). A constant read only inside a region is
 * still read (by the owning node).
 */
import type { Constant, Dim, Graph, Node } from '../ir/graph.ts';
import { isStaticShape, readsOf, regionsOf, staticSize } from '../ir/graph.ts';
import { byteSize } from '../ir/dtype.ts';
import { Tensor, i64Tensor } from '../ir/tensor.ts';
import { hashOf } from '../ir/weights.ts';
import { SizeError, checkTensorSize } from '../ir/sizes.ts';
import { findOp } from '../ops/registry.ts';
import { inferTypes, nodeAttrs } from '../ops/infer.ts';
import { dropOrphanedConstants, intOption, isNondeterministic, mapNodeRegions, sameType } from './graph-edit.ts';
import type { Pass, PassContext } from './pass.ts';

const NAME = 'fold-constants';

/** Default cap on folded output size, in elements. */
export const DEFAULT_MAX_ELEMENTS = 1 << 20;

/**
 * Shape/Size of a value from its type alone: Size when the whole shape is static, Shape when the
 * dims it returns (after `start`/`end`) are static, so `Shape(x: f32[N,3]) {start=1}` folds too.
 */
function foldShapeOf(node: Node, shape: readonly Dim[] | undefined): Tensor | undefined {
  if (!shape) return undefined;
  if (node.op === 'Size') {
    const n = staticSize(shape);
    return n === undefined ? undefined : new Tensor('i64', [], BigInt64Array.of(BigInt(n)));
  }
  const rank = shape.length;
  const attr = (n: string, d: number) => { const a = node.attrs[n]; return a && a.kind === 'int' ? a.value : d; };
  const clamp = (v: number) => Math.min(rank, Math.max(0, v < 0 ? v + rank : v));
  const dims = shape.slice(clamp(attr('start', 0)), clamp(attr('end', rank)));
  return isStaticShape(dims) ? i64Tensor(dims) : undefined;
}

/**
 * Folds one scope (a graph or a region) given the values and shapes known in the enclosing scopes;
 * `state.refine` asks for inferTypes on the whole graph.
 */
function foldScope(graph: Graph, ctx: PassContext, maxElements: number, outerKnown: ReadonlyMap<string, Tensor>,
  outerShapes: ReadonlyMap<string, readonly Dim[]>, state: { refine: boolean }): Graph {
  const known = new Map<string, Tensor>(outerKnown);
  for (const c of graph.constants) if (c.data) known.set(c.name, c.data);
  const shapes = new Map<string, readonly Dim[]>(outerShapes);
  for (const i of graph.inputs) shapes.set(i.name, i.type.shape);
  for (const c of graph.constants) shapes.set(c.name, c.type.shape);
  const value = (v: string) => known.get(v);

  const nodes: Node[] = [];
  const created: Constant[] = [];
  let folded = 0, changedRegions = false;
  for (const original of graph.nodes) {
    const node = mapNodeRegions(original, (r) => foldScope(r, ctx, maxElements, known, shapes, state));
    if (node !== original) changedRegions = true;
    node.outputs.forEach((o, k) => { if (o) shapes.set(o, node.types[k].shape); });
    const outs = evaluate(node);
    if (!outs) { nodes.push(node); continue; }
    folded++;
    node.outputs.forEach((o, k) => {
      if (!o) return;
      const data = outs[k];
      const type = { dtype: data.dtype, shape: data.shape };
      if (!sameType(type, node.types[k])) state.refine = true;
      known.set(o, data);
      shapes.set(o, data.shape);
      created.push({ name: o, type, hash: hashOf(data), data });
    });
  }
  if (!folded) {
    if (!changedRegions) return graph;
    const kept = dropOrphanedConstants(graph, nodes, graph.constants);
    ctx.stats.add('removed-constants', graph.constants.length - kept.length);
    return { ...graph, constants: kept, nodes };
  }

  /** The node's outputs when it folds, else undefined. */
  function evaluate(node: Node): Tensor[] | undefined {
    if ((node.op === 'Shape' || node.op === 'Size') && node.inputs[0] && !known.has(node.inputs[0])) {
      const t = foldShapeOf(node, shapes.get(node.inputs[0]));
      return t ? [t] : undefined;
    }
    if (node.inputs.length === 0 || !node.inputs.every((v) => !v || known.has(v))) return undefined;
    if (regionsOf(node).length) return undefined;
    if (isNondeterministic(node, value)) return undefined;
    const def = findOp(node.op);
    if (!def) return undefined;
    let largestInput = 0;
    for (const v of node.inputs) if (v) largestInput = Math.max(largestInput, known.get(v)!.size);
    const fits = (n: number) => n <= maxElements || n <= largestInput;
    const declared = node.types.map((t) => staticSize(t.shape));
    if (declared.some((n) => n !== undefined && !fits(n))) { ctx.stats.add('too-large'); return undefined; }
    let outs: Tensor[];
    try {
      // within the memory budget (ir/sizes.ts) or not folded: the check throws before allocating
      node.types.forEach((t, k) => {
        if (node.outputs[k] && isStaticShape(t.shape)) checkTensorSize({ value: node.outputs[k] }, t.dtype, t.shape);
      });
      outs = def.run(node.inputs.map((v) => (v ? known.get(v) : undefined)), nodeAttrs(def, node), node.outputs.length);
    } catch (e) {
      if (e instanceof SizeError) ctx.stats.add('too-large');
      return undefined; // not foldable here; running the graph reports the real error
    }
    for (let k = 0; k < node.outputs.length; k++) {
      if (!node.outputs[k]) continue;
      const t = outs[k];
      if (!t || t.dtype !== node.types[k].dtype || t.shape.length !== node.types[k].shape.length) return undefined;
      if (!fits(t.size)) { ctx.stats.add('too-large'); return undefined; }
    }
    return outs;
  }

  const kept = dropOrphanedConstants(graph, nodes, graph.constants);
  const live = new Set<string>(graph.outputs);
  for (const n of nodes) for (const v of readsOf(n)) live.add(v);
  const fresh = created.filter((c) => live.has(c.name));
  ctx.stats.add('folded-nodes', folded);
  ctx.stats.add('removed-constants', graph.constants.length - kept.length);
  ctx.stats.add('new-constant-bytes', fresh.reduce((s, c) => s + byteSize(c.type.dtype, c.data!.size), 0));
  return { ...graph, constants: [...kept, ...fresh], nodes };
}

/** The fold-constants pass. */
export const foldConstantsPass: Pass = {
  name: NAME,
  summary: 'evaluate nodes whose inputs are all constants (reference kernels) into new constants',
  description:
    'A node whose inputs are all constants is run through its reference kernel and replaced by '
    + 'constants named like its outputs; chains fold in one run. Shape and Size fold when their '
    + 'input has a static shape. Random ops never fold. Outputs larger than max-elements fold only '
    + 'when not larger than the node\'s largest input, so folding never grows the weights past the '
    + 'cap. Constants left unread by folding are removed.',
  options: [
    { name: 'max-elements', type: 'int', default: DEFAULT_MAX_ELEMENTS, help: 'largest output (elements) folded when folding would grow the constants' },
  ],
  statistics: [
    { name: 'folded-nodes', help: 'nodes replaced by constants' },
    { name: 'new-constant-bytes', help: 'bytes of the new constants left in the graph' },
    { name: 'removed-constants', help: 'constants no longer read after folding' },
    { name: 'too-large', help: 'nodes not folded because of max-elements or the memory budget' },
  ],
  run(graph, ctx) {
    const maxElements = intOption(NAME, ctx.options, 'max-elements', DEFAULT_MAX_ELEMENTS);
    const state = { refine: false };
    const out = foldScope(graph, ctx, maxElements, new Map(), new Map(), state);
    return state.refine && out !== graph ? inferTypes(out) : out;
  },
};
