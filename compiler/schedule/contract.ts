/**
 * The parts of the memory plan that make it executable (plan.ts header has the contract): each
 * buffer's layout (dtype, concrete shape, element count, required alignment, region), the placement
 * of graph inputs and constants in their own regions, and per-kernel scratch.
 *
 * - Required alignment of a buffer: max(plan alignment, the natural size of one stored element), so a
 *   typed view at the offset is legal even with `alignment: 1` (a Float64Array needs 8).
 * - Inputs and constants are stacked in graph order, each region from 0, each offset aligned.
 * - Scratch: `scratchBytes(node)` is asked once per node; a positive answer becomes a buffer live during
 *   the node's step only, placed by the same strategy as the tensors (so it never overlaps a value live
 *   at that step), and counted in that step's breadth (so the lower bound covers it). A node that owns
 *   regions adds the bytes of its largest region body (bodies.ts) to its scratch.
 * - A sequence or optional (a graph input, an intermediate) is `host`: no bytes, no offset.
 */
import type { Node, TensorType } from '../ir/graph.ts';
import { nodeId } from '../ir/graph.ts';
import { type DType, dtypeInfo } from '../ir/dtype.ts';
import { KilnError } from '../errors.ts';
import type { GraphFacts } from './facts.ts';
import type { Liveness, LiveBuffer } from './liveness.ts';
import type { PlannedExternal, PlannedLayout, PlanRegion } from './plan.ts';
import { elementCount, isHostHeld, resolveDim, typeBytes } from './op-kinds.ts';
import { alignUp } from './placement.ts';

/** Bytes of one stored element (its typed array's element size): the alignment a typed view needs. */
export function naturalAlignment(dtype: DType): number {
  const bits = dtypeInfo(dtype).bits;
  if (bits === 0) return 8; // str: not storable in bytes; a runtime refuses it (plan sizes it as 8 bytes)
  return Math.max(1, Math.ceil(bits / 8));
}

/** The required alignment of a buffer of `dtype` in a plan aligned to `align`. */
export function requiredAlignment(dtype: DType, align: number): number {
  return Math.max(align, naturalAlignment(dtype));
}

/** Alignment of scratch: any typed view (up to 8-byte elements) must be legal on it. */
export function scratchAlignment(align: number): number {
  return Math.max(align, 8);
}

/** The layout facts of a value of type `t`. */
export function layoutOf(t: TensorType, dims: Readonly<Record<string, number>>, align: number, region: PlanRegion): PlannedLayout {
  // a sequence or optional, or a tensor sized only at run time: held by the host, no shape of its own (op-kinds.ts isHostHeld)
  if (isHostHeld(t, dims)) return { dtype: t.dtype, shape: [], elements: 0, alignment: requiredAlignment(t.dtype, align), region: 'host' };
  return {
    dtype: t.dtype, shape: t.shape.map((d) => resolveDim(d, dims)), elements: elementCount(t, dims),
    alignment: requiredAlignment(t.dtype, align), region,
  };
}

/** Inputs and constants placed in their regions (see the module header). */
export interface ExternalPlacement {
  readonly externals: PlannedExternal[];
  readonly inputRegionBytes: number;
  readonly constantRegionBytes: number;
}

/** Stacks the graph inputs in region `input` and the constants in region `constant`, in graph order. */
export function placeExternals(facts: GraphFacts, align: number): ExternalPlacement {
  const { graph, dims } = facts;
  const externals: PlannedExternal[] = [];
  const stack = (values: readonly { name: string; type: TensorType }[], region: 'input' | 'constant'): number => {
    let top = 0;
    for (const v of values) {
      const layout = layoutOf(v.type, dims, align, region);
      if (layout.region === 'host') { externals.push({ name: v.name, ...layout, region: 'host', bytes: 0, offset: 0 }); continue; }
      const offset = alignUp(top, layout.alignment);
      const bytes = typeBytes(v.type, dims);
      externals.push({ name: v.name, ...layout, region, bytes, offset });
      top = offset + bytes;
    }
    return top;
  };
  const inputRegionBytes = stack(graph.inputs, 'input');
  const constantRegionBytes = stack(graph.constants, 'constant');
  return { externals, inputRegionBytes, constantRegionBytes };
}

/**
 * Scratch bytes per node index (only nodes that asked for some, or hold region bodies: `bodies`, by
 * node index); a bad answer is a KilnError.
 */
export function scratchRequests(facts: GraphFacts, scratchBytes?: (node: Node) => number,
  bodies: ReadonlyMap<number, { readonly bytes: number }> = new Map()): Map<number, number> {
  const out = new Map<number, number>();
  for (const [k, b] of bodies) if (b.bytes > 0) out.set(k, b.bytes);
  if (!scratchBytes) return out;
  facts.graph.nodes.forEach((node, k) => {
    const bytes = scratchBytes(node) + (out.get(k) ?? 0);
    if (!Number.isSafeInteger(bytes) || bytes < 0) {
      throw new KilnError(`scratchBytes must be a non-negative integer, got ${bytes}`, { node: nodeId(node), op: node.op, attribute: 'scratchBytes' });
    }
    if (bytes > 0) out.set(k, bytes);
  });
  return out;
}

/**
 * `live` with each buffer's required alignment set and one scratch buffer per requesting node added
 * (live at that node's step only); breadth and lower bound include the scratch.
 */
export function withContract(live: Liveness, facts: GraphFacts, align: number, scratch: ReadonlyMap<number, number>): Liveness {
  const buffers: LiveBuffer[] = live.buffers.map((b) => ({ ...b, align: requiredAlignment(facts.types.get(live.tensors[b.tensor].name)!.dtype, align) }));
  const breadth = [...live.breadth];
  live.order.forEach((k, s) => {
    const bytes = scratch.get(k);
    if (bytes === undefined) return;
    buffers.push({ tensor: -1, size: bytes, first: s, last: s, align: scratchAlignment(align), scratchOf: k });
    breadth[s] += bytes;
  });
  const lowerBound = breadth.reduce((m, x) => Math.max(m, x), 0);
  return { ...live, buffers, breadth, lowerBound };
}
