/**
 * The validator's rules for the executable parts of a plan (plan.ts header), independent of the
 * planner's code (it recomputes each fact from the graph and the dtype's storage class):
 *   layout     each intermediate's dtype, concrete shape and element count are its type's (symbols from
 *              `plan.dims`; one with a symbol `plan.dims` does not give is sized only at run time and,
 *              like a sequence or optional, lives in region `host` with no elements); its required alignment is at least the plan's and the element's storage size
 *              (the typed array a runtime views it with); a root lives in the arena; a view of a graph
 *              input or constant has that value's region and offset; an in-place result is in the arena;
 *   externals  every graph input and constant is placed exactly once, in region `input` or `constant`
 *              with its layout and bytes, at an offset aligned to its alignment, inside its region's
 *              bytes, sharing no byte with another value of its region (they all live the whole run);
 *   scratch    each scratch region belongs to a node at its step, has positive bytes, an offset aligned
 *              to its alignment (at least the plan's); a kernel's required scratch (when the caller passes
 *              `scratchBytes`) is planned with at least those bytes. Overlap with values live at that step
 *              and the peak are checked with the other buffers (validate.ts).
 */
import type { Graph, Node, TensorType } from '../ir/graph.ts';
import { nodeId } from '../ir/graph.ts';
import { type DType, byteSize, dtypeInfo } from '../ir/dtype.ts';
import type { MemoryPlan } from './plan.ts';

/** Reports one violation of `rule`. */
export type Fail = (rule: string, msg: string) => void;

const storageSizes = new Map<DType, number | undefined>();
/** Bytes per element of the dtype's storage array (undefined for `str`, which has none). */
export function storageElementBytes(dtype: DType): number | undefined {
  if (!storageSizes.has(dtype)) {
    const data = dtypeInfo(dtype).alloc(0) as { BYTES_PER_ELEMENT?: number };
    storageSizes.set(dtype, data.BYTES_PER_ELEMENT);
  }
  return storageSizes.get(dtype);
}

function concrete(t: TensorType, dims: Readonly<Record<string, number>>): number[] | undefined {
  const shape: number[] = [];
  for (const d of t.shape) {
    const v = typeof d === 'number' ? d : Object.prototype.hasOwnProperty.call(dims, d) ? dims[d] : undefined;
    if (v === undefined) return undefined;
    shape.push(v);
  }
  return shape;
}

interface Layoutish {
  readonly dtype: DType; readonly shape: readonly number[]; readonly elements: number; readonly alignment: number;
}

/** Checks `v`'s layout against type `t`; `what` names it in messages. */
function checkLayout(rule: string, what: string, v: Layoutish & { region?: string }, t: TensorType, plan: MemoryPlan, fail: Fail): void {
  if (t.container !== undefined) {
    // a sequence or optional: held by the host, no bytes (plan.ts PlanRegion `host`)
    if (v.region !== 'host' || v.elements !== 0) fail(rule, `${what} is a sequence or optional, planned in '${v.region}' with ${v.elements} elements; it is host-held`);
    return;
  }
  const dims = plan.dims ?? {};
  const shape = concrete(t, dims);
  if (!shape && rule === 'layout') {
    // an intermediate sized only at run time (a dim neither the inputs nor `dims` give): host-held too
    if (v.region !== 'host' || v.elements !== 0) fail(rule, `${what} is sized only at run time (a symbolic dim the plan's dims do not bind), planned in '${v.region}' with ${v.elements} elements; it is host-held`);
    return;
  }
  if (!shape) return fail(rule, `${what} has a symbolic dim the plan's dims do not bind`);
  if (v.dtype !== t.dtype) fail(rule, `${what} is planned as ${v.dtype}, its type is ${t.dtype}`);
  if (!Array.isArray(v.shape) || v.shape.length !== shape.length || v.shape.some((d, i) => d !== shape[i])) {
    fail(rule, `${what} is planned with shape [${v.shape}], its type has [${shape}]`);
  }
  const n = shape.reduce((a, b) => a * b, 1);
  if (v.elements !== n) fail(rule, `${what} is planned with ${v.elements} elements, its type has ${n}`);
  const need = Math.max(plan.alignment ?? 64, storageElementBytes(t.dtype) ?? 1);
  if (!Number.isInteger(v.alignment) || v.alignment < need) fail(rule, `${what} has alignment ${v.alignment}, it needs at least ${need}`);
}

/** Layout, externals and scratch rules; `types` holds the type of every value of the graph. */
export function checkContract(graph: Graph, plan: MemoryPlan, types: ReadonlyMap<string, TensorType>, fail: Fail,
  scratchBytes?: (node: Node) => number): void {
  const external = new Map<string, 'input' | 'constant'>([
    ...graph.inputs.map((i) => [i.name, 'input'] as const), ...graph.constants.map((c) => [c.name, 'constant'] as const)]);
  // ---- externals ----
  const placed = new Map<string, MemoryPlan['externals'][number]>();
  for (const e of plan.externals ?? []) {
    const kind = external.get(e.name);
    if (!kind) { fail('externals', `'${e.name}' is placed as ${e.region} but is not a graph input or constant`); continue; }
    if (placed.has(e.name)) { fail('externals', `'${e.name}' is placed twice`); continue; }
    placed.set(e.name, e);
    const t = types.get(e.name)!;
    checkLayout('externals', `'${e.name}'`, e, t, plan, fail);
    if (t.container !== undefined) continue; // host-held: no bytes anywhere
    if (e.region !== kind) fail('externals', `'${e.name}' is a graph ${kind} placed in region '${e.region}'`);
    const shape = concrete(t, plan.dims ?? {});
    const need = shape ? byteSize(t.dtype, shape.reduce((a, b) => a * b, 1)) : e.bytes;
    if (e.bytes !== need) fail('externals', `'${e.name}' has ${e.bytes} bytes, its type needs ${need}`);
    if (!Number.isInteger(e.offset) || e.offset < 0 || e.offset % e.alignment !== 0) fail('externals', `'${e.name}' is at offset ${e.offset}, not a multiple of ${e.alignment}`);
    const size = e.region === 'input' ? plan.inputRegionBytes : plan.constantRegionBytes;
    if (e.offset + e.bytes > size) fail('externals', `'${e.name}' ends at ${e.offset + e.bytes}, past its region's ${size} bytes`);
  }
  for (const [name, kind] of external) if (!placed.has(name)) fail('externals', `graph ${kind} '${name}' is not placed`);
  for (const region of ['input', 'constant'] as const) {
    const list = [...placed.values()].filter((e) => e.region === region && e.bytes > 0).sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < list.length; i++) {
      if (list[i].offset < list[i - 1].offset + list[i - 1].bytes) fail('externals', `'${list[i - 1].name}' and '${list[i].name}' share bytes of the ${region} region`);
    }
  }
  // ---- layout of intermediates ----
  const byName = new Map(plan.tensors.map((t) => [t.name, t]));
  for (const t of plan.tensors) {
    checkLayout('layout', `'${t.name}'`, t, types.get(t.name)!, plan, fail);
    const outside = t.aliasOf !== undefined ? placed.get(t.aliasOf) : undefined;
    if (outside) {
      if (t.region !== outside.region || t.offset !== outside.offset) {
        fail('layout', `view '${t.name}' of '${outside.name}' is planned at ${t.region}+${t.offset}, '${outside.name}' is at ${outside.region}+${outside.offset}`);
      }
      continue;
    }
    if (types.get(t.name)!.container !== undefined || !concrete(types.get(t.name)!, plan.dims ?? {})) continue; // host-held (checkLayout)
    if (t.region !== 'arena') fail('layout', `'${t.name}' is planned in region '${t.region}', an intermediate's buffer is in the arena`);
    const root = t.aliasOf !== undefined ? byName.get(t.aliasOf) : t;
    if (root && root.bytes > 0 && (!Number.isInteger(t.offset) || t.offset % t.alignment !== 0)) {
      fail('alignment', `'${t.name}' is at offset ${t.offset}, not a multiple of its required ${t.alignment}`);
    }
  }
  // ---- scratch ----
  const nodes = new Map(graph.nodes.map((n) => [nodeId(n), n]));
  const seen = new Set<string>();
  for (const s of plan.scratch ?? []) {
    const where = `scratch of '${s.node}'`;
    if (!nodes.has(s.node)) { fail('scratch', `${where}: no such node`); continue; }
    if (seen.has(s.node)) fail('scratch', `${where} is planned twice`);
    seen.add(s.node);
    if (plan.order[s.step] !== s.node) fail('scratch', `${where} is at step ${s.step}, the node runs at step ${plan.order.indexOf(s.node)}`);
    if (!Number.isSafeInteger(s.bytes) || s.bytes <= 0) fail('scratch', `${where} has ${s.bytes} bytes`);
    if (!Number.isInteger(s.alignment) || s.alignment < (plan.alignment ?? 64)) fail('scratch', `${where} has alignment ${s.alignment}, below the plan's ${plan.alignment ?? 64}`);
    if (!Number.isInteger(s.offset) || s.offset < 0 || s.offset % s.alignment !== 0) fail('alignment', `${where} is at offset ${s.offset}, not a multiple of ${s.alignment}`);
  }
  if (scratchBytes) {
    const planned = new Map((plan.scratch ?? []).map((s) => [s.node, s.bytes]));
    for (const [id, node] of nodes) {
      const need = scratchBytes(node);
      if (need > 0 && (planned.get(id) ?? 0) < need) fail('scratch', `node '${id}' needs ${need} scratch bytes, the plan gives ${planned.get(id) ?? 0}`);
    }
  }
}
