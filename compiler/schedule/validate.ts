/**
 * The memory plan validator: an independent check that a MemoryPlan is safe for its graph.
 *
 * It trusts nothing the planner computed except the choices a plan is made of (the order, which tensor
 * aliases which, and the offsets). From the graph and `plan.order` it recomputes every intermediate's
 * bytes and its own live interval (producing step to last reading step; graph outputs to the end), then
 * walks the order tracking, for every buffer, the *version* of its contents: a root's output is
 * version 0, a view has its source's version, and an in-place result writes a new version. Rules (each
 * message starts with the rule's name):
 *   order      the order is a permutation of the graph's nodes in which every value is produced before
 *              it is read;
 *   tensors    every intermediate is planned exactly once, and nothing else is;
 *   bytes      a root has its type's bytes, an alias none; an alias fits in its root's buffer;
 *   alias      a view is produced by a view op and aliases its source's root; an in-place result by an
 *              elementwise op and aliases the root of an input of the same layout; aliases point at roots
 *              and carry their offset; one node does not write two outputs over one buffer;
 *   overwrite  no node reads a value whose buffer has since been overwritten in place (a view aliases a
 *              live buffer), and no graph output is overwritten;
 *   interval   a tensor's first/last in the plan match the recomputed ones (a root's covering its aliases);
 *   alignment  offsets are non-negative multiples of the plan's alignment (64 when absent);
 *   overlap    no two distinct buffers whose lifetimes overlap share arena bytes (a kernel's scratch is
 *              a buffer live at its node's step only: it must not touch any value live then);
 *   peak       peakBytes is max(offset + bytes) over buffers and scratch; breadth (scratch included),
 *              lowerBoundBytes, highWater and naiveBytes (tensors only) match;
 *   layout, externals, scratch, and alignment to each buffer's own required alignment: the executable
 *              contract (validate-contract.ts);
 *   bodies     each region body is planned once, validly, and held in its node's scratch (checkBodies).
 * A node reads its inputs and what its regions capture (facts.ts `nodeReads`): a captured value is live
 * until the owning node runs. A sequence or optional is `host`-held: a root with no bytes.
 *
 * What it shares with the planner is only the op facts (op-kinds.ts: which ops are views, which may
 * write over which input), read from the ops' own `view`/`inPlace` traits. Those facts are not taken
 * on trust either: test/ops/traits.test.ts checks every declared trait against the op's reference
 * kernel, and the arena executor (runtime/arena.ts) runs plans at their offsets, so a wrong fact
 * changes results there. Everything else here (versions, intervals, overlaps, bounds) is recomputed.
 */
import type { Graph, Node, TensorType } from '../ir/graph.ts';
import { nodeId, regionsOf } from '../ir/graph.ts';
import { nodeReads } from './facts.ts';
import { KilnError } from '../errors.ts';
import type { MemoryPlan, PlannedTensor } from './plan.ts';
import { inplaceCandidates, isElementwiseNode, isViewNode, typeBytes } from './op-kinds.ts';
import { checkContract } from './validate-contract.ts';

/** Options of validatePlan. */
export interface ValidateOptions {
  /** The backend's scratch rule: each node's kernel must get at least this many scratch bytes. */
  readonly scratchBytes?: (node: Node) => number;
  /** For a region body's plan: the types of the enclosing scopes' values (set when bodies are checked). */
  readonly outer?: ReadonlyMap<string, TensorType>;
}

const MAX_ERRORS = 50;

/** Checks `plan` against `graph`; returns one message per violation (empty when the plan is valid). */
export function validatePlan(graph: Graph, plan: MemoryPlan, opts: ValidateOptions = {}): string[] {
  const errors: string[] = [];
  const fail = (rule: string, msg: string) => { if (errors.length < MAX_ERRORS) errors.push(`${rule}: ${msg}`); };
  const dims = plan.dims ?? {};
  // ---- order ----
  const nodeById = new Map<string, Node>();
  for (const n of graph.nodes) nodeById.set(nodeId(n), n);
  const readsOf = new Map(graph.nodes.map((n) => [n, nodeReads(n)]));
  const external = new Set<string>([...graph.inputs.map((i) => i.name), ...graph.constants.map((c) => c.name)]);
  const types = new Map([...graph.inputs.map((i) => [i.name, i.type] as const), ...graph.constants.map((c) => [c.name, c.type] as const)]);
  // a region body reads values of the enclosing scopes: they live outside its plan
  for (const names of readsOf.values()) {
    for (const v of names) if (!types.has(v) && opts.outer?.has(v)) { external.add(v); types.set(v, opts.outer.get(v)!); }
  }
  if (plan.order.length !== graph.nodes.length) fail('order', `${plan.order.length} steps for ${graph.nodes.length} nodes`);
  const defined = new Set(external);
  const stepOf = new Map<string, number>();
  plan.order.forEach((id, s) => {
    const node = nodeById.get(id);
    if (!node) return fail('order', `step ${s} names unknown node '${id}'`);
    if (stepOf.has(id)) return fail('order', `node '${id}' appears at steps ${stepOf.get(id)} and ${s}`);
    stepOf.set(id, s);
    for (const i of readsOf.get(node)!) if (!defined.has(i)) fail('order', `node '${id}' at step ${s} reads '${i}' before it is produced`);
    node.outputs.forEach((o, k) => { if (o) { defined.add(o); types.set(o, node.types[k]); } });
  });
  if (errors.length) return errors;
  const n = plan.order.length;
  // ---- own intervals ----
  const outputs = new Set(graph.outputs);
  const own = new Map<string, { first: number; last: number; need: number; node: Node; k: number }>();
  plan.order.forEach((id, s) => {
    const node = nodeById.get(id)!;
    node.outputs.forEach((o, k) => { if (o) own.set(o, { first: s, last: outputs.has(o) ? n - 1 : s, need: typeBytes(node.types[k], dims), node, k }); });
  });
  plan.order.forEach((id, s) => {
    for (const i of readsOf.get(nodeById.get(id)!)!) { const v = own.get(i); if (v) v.last = Math.max(v.last, s); }
  });
  // ---- tensors ----
  const planned = new Map<string, PlannedTensor>();
  for (const t of plan.tensors) {
    if (planned.has(t.name)) fail('tensors', `'${t.name}' is planned twice`);
    else if (!own.has(t.name)) fail('tensors', `'${t.name}' is not an intermediate of the graph`);
    planned.set(t.name, t);
  }
  for (const name of own.keys()) if (!planned.has(name)) fail('tensors', `intermediate '${name}' is not planned`);
  if (errors.length) return errors;
  checkContract(graph, plan, types, fail, opts.scratchBytes);
  checkBodies(graph, plan, types, opts, fail);
  // ---- aliases and versions, walking the order ----
  const rootOf = (name: string): string => (external.has(name) ? name : planned.get(name)!.aliasOf ?? name);
  const version = new Map<string, number>();
  const current = new Map<string, number>();
  const members = new Map<string, string[]>();
  plan.order.forEach((id, s) => {
    const node = nodeById.get(id)!;
    for (const i of readsOf.get(node)!) {
      if (external.has(i) || external.has(rootOf(i))) continue;
      const r = rootOf(i);
      if (version.get(i) !== current.get(r)) fail('overwrite', `node '${id}' at step ${s} reads '${i}' after its buffer '${r}' was overwritten in place`);
    }
    const taken = new Set<string>();
    node.outputs.forEach((o, k) => {
      if (!o) return;
      const t = planned.get(o)!, me = own.get(o)!;
      if (t.producer !== id) fail('tensors', `'${o}' names producer '${t.producer}', produced by '${id}'`);
      if ((t.aliasOf === undefined) !== (t.aliasKind === undefined)) return fail('alias', `'${o}' has aliasOf without aliasKind or the reverse`);
      if (t.aliasOf === undefined) {
        if (t.bytes !== me.need) fail('bytes', `'${o}' has ${t.bytes} bytes, its type needs ${me.need}`);
        version.set(o, 0); current.set(o, 0); members.set(o, [o]);
        return;
      }
      if (t.bytes !== 0) fail('bytes', `alias '${o}' has ${t.bytes} bytes of its own`);
      const root = planned.get(t.aliasOf);
      if (!external.has(t.aliasOf) && (!root || root.aliasOf !== undefined)) return fail('alias', `'${o}' aliases '${t.aliasOf}', which is not a root buffer`);
      if (t.aliasKind === 'view') {
        const src = node.inputs[0];
        if (!isViewNode(node, types, dims)) return fail('alias', `'${o}' is marked a view but ${node.op} node '${id}' is not a view`);
        if (rootOf(src) !== t.aliasOf) return fail('alias', `view '${o}' aliases '${t.aliasOf}', its source '${src}' lives in '${rootOf(src)}'`);
        if (!external.has(t.aliasOf)) {
          const list = members.get(t.aliasOf);
          if (!list) return fail('alias', `view '${o}' aliases '${t.aliasOf}', which holds no buffer at step ${s}`);
          version.set(o, version.get(src)!); list.push(o);
        }
      } else {
        const ok = isElementwiseNode(node, dims) && inplaceCandidates(node, k, types, dims).some((i) => rootOf(node.inputs[i]) === t.aliasOf);
        if (!ok) return fail('alias', `'${o}' (${node.op} '${id}') is not an elementwise result with an input of its layout in '${t.aliasOf}'`);
        if (external.has(t.aliasOf)) return fail('alias', `'${o}' writes in place over graph input or constant '${t.aliasOf}'`);
        if (taken.has(t.aliasOf)) fail('alias', `node '${id}' writes two outputs over '${t.aliasOf}'`);
        taken.add(t.aliasOf);
        const list = members.get(t.aliasOf);
        if (!list) return fail('alias', `'${o}' aliases '${t.aliasOf}', which holds no buffer at step ${s}`);
        for (const m of list) {
          if (own.get(m)!.last > s) fail('overwrite', `'${o}' overwrites '${t.aliasOf}' at step ${s} but '${m}' sharing it is read until step ${own.get(m)!.last}`);
        }
        const v = current.get(t.aliasOf)! + 1;
        current.set(t.aliasOf, v); version.set(o, v); list.push(o);
      }
      if (!external.has(t.aliasOf)) {
        const rootT = planned.get(t.aliasOf)!;
        if (me.need > rootT.bytes) fail('bytes', `alias '${o}' needs ${me.need} bytes, its root '${t.aliasOf}' has ${rootT.bytes}`);
        if (t.offset !== rootT.offset) fail('alias', `alias '${o}' has offset ${t.offset}, its root '${t.aliasOf}' ${rootT.offset}`);
      }
    });
  });
  for (const o of outputs) {
    if (!own.has(o) || external.has(rootOf(o))) continue;
    if (version.get(o) !== current.get(rootOf(o))) fail('overwrite', `graph output '${o}' is overwritten in place`);
  }
  // ---- intervals of buffers ----
  const extent = new Map<string, { first: number; last: number; bytes: number; offset: number }>();
  for (const [root, list] of members) {
    const r = planned.get(root)!;
    extent.set(root, { first: own.get(root)!.first, last: Math.max(...list.map((m) => own.get(m)!.last)), bytes: r.bytes, offset: r.offset });
  }
  for (const t of plan.tensors) {
    const want = extent.get(t.name) ?? own.get(t.name)!;
    if (t.first !== want.first || t.last !== want.last) fail('interval', `'${t.name}' is planned live [${t.first}, ${t.last}], it is live [${want.first}, ${want.last}]`);
  }
  // ---- alignment, overlap, peak ----
  const align = plan.alignment ?? 64;
  const buffers = [...extent.entries()].filter(([, b]) => b.bytes > 0);
  for (const [name, b] of buffers) {
    if (!Number.isInteger(b.offset) || b.offset < 0 || b.offset % align !== 0) fail('alignment', `'${name}' is at offset ${b.offset}, not a multiple of ${align}`);
  }
  for (const sc of plan.scratch ?? []) {
    if (sc.bytes > 0) buffers.push([`scratch of '${sc.node}'`, { first: sc.step, last: sc.step, bytes: sc.bytes, offset: sc.offset }]);
  }
  buffers.sort((x, y) => x[1].offset - y[1].offset);
  for (let i = 0; i < buffers.length; i++) {
    const [a, ba] = buffers[i];
    for (let j = i + 1; j < buffers.length && buffers[j][1].offset < ba.offset + ba.bytes; j++) {
      const [b, bb] = buffers[j];
      if (ba.first <= bb.last && bb.first <= ba.last) {
        fail('overlap', `'${a}' [${ba.offset}, ${ba.offset + ba.bytes}) live [${ba.first}, ${ba.last}] and '${b}' [${bb.offset}, ${bb.offset + bb.bytes}) live [${bb.first}, ${bb.last}] share bytes`);
      }
    }
  }
  const peak = buffers.reduce((m, [, b]) => Math.max(m, b.offset + b.bytes), 0);
  if (plan.peakBytes !== peak) fail('peak', `peakBytes is ${plan.peakBytes}, the buffers reach ${peak}`);
  let naive = 0;
  // a view of a value the body captures gets its own buffer (facts.ts): it is not a view here either
  const capturedSource = (node: Node) => !own.has(node.inputs[0]) && opts.outer?.has(node.inputs[0]) === true;
  for (const v of own.values()) if (!(v.k === 0 && isViewNode(v.node, types, dims) && !capturedSource(v.node))) naive += v.need;
  checkBounds(plan, buffers.map(([, b]) => b), naive, fail);
  return errors;
}

/**
 * The `bodies` rule: every region of every node has exactly one body entry at its node's step; a
 * planned body's plan is valid for its region (checked recursively, the enclosing values visible) and
 * holds `bytes` = its arena peak + input region + constant region; the node's scratch holds at least
 * its largest body (plus its kernel's own scratch when the caller gives the rule).
 */
function checkBodies(graph: Graph, plan: MemoryPlan, types: ReadonlyMap<string, TensorType>, opts: ValidateOptions,
  fail: (rule: string, msg: string) => void): void {
  const entries = new Map((plan.bodies ?? []).map((b) => [`${b.node}.${b.attribute}`, b]));
  if (entries.size !== (plan.bodies ?? []).length) fail('bodies', 'a region body is planned twice');
  const scratch = new Map((plan.scratch ?? []).map((x) => [x.node, x.bytes]));
  let outer: Map<string, TensorType> | undefined;
  const seen = new Set<string>();
  for (const node of graph.nodes) {
    const id = nodeId(node);
    let largest = 0;
    for (const [attribute, region] of regionsOf(node)) {
      const key = `${id}.${attribute}`;
      seen.add(key);
      const b = entries.get(key);
      if (!b) { fail('bodies', `region '${attribute}' of node '${id}' has no body entry`); continue; }
      if (b.step !== plan.order.indexOf(id)) fail('bodies', `body ${key} is at step ${b.step}, its node runs at step ${plan.order.indexOf(id)}`);
      if (!b.plan) {
        if (!b.unplanned) fail('bodies', `body ${key} has neither a plan nor a reason`);
        if (b.bytes !== 0) fail('bodies', `unplanned body ${key} holds ${b.bytes} bytes`);
        continue;
      }
      outer ??= new Map([...(opts.outer ?? []), ...types]);
      for (const e of validatePlan(region, b.plan, { scratchBytes: opts.scratchBytes, outer })) fail('bodies', `body ${key}: ${e}`);
      const need = b.plan.peakBytes + b.plan.inputRegionBytes + b.plan.constantRegionBytes;
      if (b.bytes !== need) fail('bodies', `body ${key} holds ${b.bytes} bytes, its plan needs ${need}`);
      largest = Math.max(largest, b.bytes);
    }
    const want = largest + (opts.scratchBytes?.(node) ?? 0);
    if (largest > 0 && (scratch.get(id) ?? 0) < want) fail('bodies', `node '${id}' holds ${scratch.get(id) ?? 0} scratch bytes, its region bodies need ${want}`);
  }
  for (const key of entries.keys()) if (!seen.has(key)) fail('bodies', `body ${key} names no region of the graph`);
}

/** Breadth, lower bound, high-water marks and naive bytes recomputed from the buffers. */
function checkBounds(plan: MemoryPlan, buffers: { first: number; last: number; bytes: number; offset: number }[],
  naive: number, fail: (rule: string, msg: string) => void): void {
  const n = plan.order.length;
  const breadth = new Array<number>(n).fill(0), top = new Array<number>(n).fill(0);
  for (const b of buffers) {
    for (let s = b.first; s <= b.last; s++) breadth[s] += b.bytes;
    top[b.first] = Math.max(top[b.first], b.offset + b.bytes);
  }
  const bad = breadth.findIndex((x, s) => x !== plan.breadth[s]);
  if (plan.breadth.length !== n || bad >= 0) fail('peak', `breadth differs from the recomputed one${bad >= 0 ? ` at step ${bad} (${plan.breadth[bad]} vs ${breadth[bad]})` : ''}`);
  const lb = breadth.reduce((m, x) => Math.max(m, x), 0);
  if (plan.lowerBoundBytes !== lb) fail('peak', `lowerBoundBytes is ${plan.lowerBoundBytes}, the max breadth is ${lb}`);
  let hw = 0;
  for (let s = 0; s < n; s++) {
    hw = Math.max(hw, top[s]);
    if (plan.highWater[s] !== hw) { fail('peak', `highWater at step ${s} is ${plan.highWater[s]}, recomputed ${hw}`); break; }
  }
  if (plan.naiveBytes !== naive) fail('peak', `naiveBytes is ${plan.naiveBytes}, the tensors that are not views need ${naive}`);
}

/** Throws a KilnError naming the first violated rule when `plan` is not valid for `graph`. */
export function assertValidPlan(graph: Graph, plan: MemoryPlan, opts: ValidateOptions = {}): void {
  const errors = validatePlan(graph, plan, opts);
  if (!errors.length) return;
  const rule = errors[0].slice(0, errors[0].indexOf(':'));
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  throw new KilnError(`memory plan '${plan.planner}' of graph '${graph.name}' is invalid: ${errors[0].slice(rule.length + 2)}${more}`, { rule: `memory-plan/${rule}` });
}
