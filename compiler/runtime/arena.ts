/**
 * The arena executor (backend `arena`): the reference kernels running at the memory plan's offsets in
 * one ArrayBuffer. It executes the plan as a contract (schedule/plan.ts) and re-derives nothing, so a
 * wrong plan changes results: a value overwritten while still needed, a view that is not one, or
 * scratch over a live value corrupts what later kernels read.
 *
 * Layout of the one ArrayBuffer: [constant region | input region | arena (peakBytes)], each region
 * starting at a multiple of the largest alignment in the plan, so every planned offset keeps its
 * alignment. Constants are copied in once at prepare time; each run copies the caller's inputs into the
 * input region, then walks `plan.order`: every value a kernel reads is a typed-array view at its planned
 * region and offset (built once at prepare; no copy); the kernel (OpDef.run) computes fresh tensors,
 * whose data is copied into the output's planned view — except for a planned **view**, whose kernel
 * result is dropped (the view aliases its source's bytes; if the planner was wrong, readers see the
 * wrong bytes). Before a kernel with scratch runs, its scratch bytes are filled with 0xFF (NaN in every
 * float type), standing in for a kernel that uses them: scratch over a live value corrupts it. After the
 * last step the graph outputs are copied out of their views into fresh tensors.
 *
 * Sub-byte types (i4, u4, i2, u2, f4e2m1) take the plan's packed bytes (two or four codes a byte, lowest
 * bits first); the reference kernels store one code per element, so those values are unpacked into a
 * fresh tensor when read and packed when written — still at their planned bytes, so still corruptible.
 *
 * Control flow: a node with a value kernel (If, Loop, Scan, sequence ops) runs it; its regions run on
 * the reference executor (not at the region bodies' planned offsets: the body's bytes are the node's
 * scratch, filled with 0xFF before it runs like any scratch), reading the values they capture from
 * their planned places. Sequences, optionals and tensors sized only at run time (the plan's `host`
 * region) are held as values.
 *
 * What it cannot run (`unsupported`): `str` values (no bytes) and dtypes an op's reference kernel
 * declares unsupported. A value whose size is known only at run time (NonZero's output, a Loop's
 * stacked scan outputs) is in the plan's `host` region like a sequence, and held as it is. `prepare` validates the plan (schedule/validate.ts) and refuses an invalid one;
 * `prepareArena(..., {validate: false})` runs it anyway (tests use it to show a bad plan changes results).
 */
import type { Graph } from '../ir/graph.ts';
import { nodeId } from '../ir/graph.ts';
import { Tensor } from '../ir/tensor.ts';
import { type DType, type TensorData, dtypeInfo } from '../ir/dtype.ts';
import { KilnError } from '../errors.ts';
import { getOp } from '../ops/registry.ts';
import { nodeAttrs } from '../ops/infer.ts';
import type { MemoryPlan, PlannedLayout, PlanOptions } from '../schedule/plan.ts';
import { assertValidPlan, planMemory } from '../schedule/index.ts';
import type { Backend, Program, RunOptions, Unsupported } from './backend.ts';
import { checkInputs } from './inputs.ts';
import { referenceRegionContext } from './reference.ts';
import { type Value, valueProblem } from '../ir/value.ts';
import { referenceUnsupported } from './ref-backend.ts';

/** Sub-byte dtypes, packed in the plan's bytes: their width in bits. */
const PACKED_BITS: Partial<Record<DType, number>> = { i4: 4, u4: 4, f4e2m1: 4, i2: 2, u2: 2 };

/** Options of `prepareArena`. */
export interface ArenaOptions {
  /** Validate the plan first (default true); false runs even an invalid plan. */
  readonly validate?: boolean;
  /** Options for the plan made when none is given (dims, scratchBytes, planner...). */
  readonly plan?: PlanOptions & { readonly planner?: string };
}

/** An arena program, with its buffer exposed for tests and tools. */
export interface ArenaProgram extends Program {
  readonly plan: MemoryPlan;
  /** The one buffer every value lives in. */
  readonly buffer: ArrayBuffer;
  /** Byte offset of each region in `buffer`. */
  readonly bases: Readonly<Record<PlannedLayout['region'], number>>;
}

/** What the arena executor cannot run in `graph`, node by node where it can tell. */
export function arenaUnsupported(graph: Graph): Unsupported[] {
  const out: Unsupported[] = [];
  const dtypeProblem = (d: DType): string | undefined => (d === 'str' ? 'str values cannot live in an ArrayBuffer' : undefined);
  for (const v of [...graph.inputs, ...graph.constants]) {
    const why = dtypeProblem(v.type.dtype);
    if (why) out.push({ reason: `'${v.name}': ${why}` });
  }
  // the arena runs the reference kernels: what they cannot run, it cannot either (one reason per node)
  const byReference = new Map<string, Unsupported>();
  for (const u of referenceUnsupported(graph)) if (u.node !== undefined && !byReference.has(u.node)) byReference.set(u.node, u);
  for (const node of graph.nodes) {
    const id = nodeId(node);
    const place = { node: id, op: node.op };
    const bad = node.outputs.map((o, k) => (o ? node.types[k] : undefined)).find((t) => t && dtypeProblem(t.dtype));
    if (bad) { out.push({ ...place, reason: dtypeProblem(bad.dtype)! }); continue; }
    const ref = byReference.get(id);
    if (ref) out.push(ref);
  }
  return out;
}

/** A typed array of `layout`'s dtype over `buffer` at byte `at`. */
function viewAt(buffer: ArrayBuffer, at: number, layout: PlannedLayout): TensorData {
  const ctor = (dtypeInfo(layout.dtype).alloc(0) as unknown as { constructor: new (b: ArrayBuffer, o: number, n: number) => TensorData }).constructor;
  return new ctor(buffer, at, layout.elements);
}

/** Where a value lives in the buffer: read it as a tensor, write a kernel's result into it. */
interface Slot {
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** The value (a view for byte-addressed types; unpacked afresh for packed sub-byte types). */
  read(): Tensor;
  /** Stores `t`'s elements (same dtype and shape, checked by the caller). */
  write(t: Tensor): void;
}

/** A value the plan leaves to the host (region `host`: a sequence or optional), held as it is. */
class HostSlot {
  private value: Value | undefined;
  constructor(readonly name: string) {}
  read(): Value {
    if (this.value === undefined) throw new KilnError(`value '%${this.name}' has not been computed`, { node: this.name });
    return this.value;
  }
  write(v: Value): void { this.value = v; }
}

/** A slot for a byte-addressed dtype: one typed-array view, read without a copy. */
function viewSlot(buffer: ArrayBuffer, at: number, layout: PlannedLayout): Slot {
  const view = new Tensor(layout.dtype, layout.shape, viewAt(buffer, at, layout));
  return {
    dtype: layout.dtype, shape: layout.shape, read: () => view,
    write: (t) => {
      if (t.data.constructor !== view.data.constructor) throw new Error(`storage ${t.data.constructor.name}, expected ${view.data.constructor.name}`);
      (view.data as Uint8Array).set(t.data as Uint8Array);
    },
  };
}

/**
 * A slot for a packed sub-byte dtype: `bits`-wide codes, lowest bits first within each byte (the ONNX
 * wire packing), so the value takes exactly the planned ceil(n·bits/8) bytes; reading unpacks into a
 * fresh tensor (sign-extending signed integers), writing packs.
 */
function packedSlot(bytes: Uint8Array, at: number, layout: PlannedLayout, bits: number): Slot {
  const n = layout.elements, per = 8 / bits, mask = (1 << bits) - 1;
  const info = dtypeInfo(layout.dtype);
  const signed = info.isInt && info.signed;
  return {
    dtype: layout.dtype, shape: layout.shape,
    read: () => {
      const out = info.alloc(n) as Int8Array | Uint8Array;
      for (let i = 0; i < n; i++) {
        const v = (bytes[at + Math.floor(i / per)] >> ((i % per) * bits)) & mask;
        out[i] = signed && v & (1 << (bits - 1)) ? v - (1 << bits) : v;
      }
      return new Tensor(layout.dtype, layout.shape, out);
    },
    write: (t) => {
      const src = t.data as Int8Array | Uint8Array;
      for (let b = 0; b < Math.ceil(n / per); b++) {
        let v = 0;
        for (let j = 0; j < per && b * per + j < n; j++) v |= (src[b * per + j] & mask) << (j * bits);
        bytes[at + b] = v;
      }
    },
  };
}

/** Prepares `graph` on the arena with `plan` (planned here from `opts.plan` when absent). */
export function prepareArena(graph: Graph, plan?: MemoryPlan, opts: ArenaOptions = {}): ArenaProgram {
  const t0 = performance.now();
  const problems = arenaUnsupported(graph);
  if (problems.length) {
    const p = problems[0];
    throw new KilnError(`the arena executor cannot run this graph: ${p.reason}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`, p.node ? { node: p.node, op: p.op } : {});
  }
  const thePlan = plan ?? planMemory(graph, opts.plan ?? {});
  if (opts.validate ?? true) assertValidPlan(graph, thePlan);
  const maxAlign = [...thePlan.tensors, ...thePlan.externals, ...thePlan.scratch]
    .reduce((m, x) => Math.max(m, x.alignment), thePlan.alignment ?? 64);
  const up = (x: number) => Math.ceil(x / maxAlign) * maxAlign;
  const bases = { constant: 0, input: up(thePlan.constantRegionBytes), arena: 0, host: 0 };
  bases.arena = up(bases.input + thePlan.inputRegionBytes);
  const buffer = new ArrayBuffer(bases.arena + thePlan.peakBytes);
  const bytes = new Uint8Array(buffer);
  // Every value's slot at its planned place, built once; a host-held value's slot holds it as it is.
  const values = new Map<string, Slot>();
  const host = new Map<string, HostSlot>();
  const slot = (l: PlannedLayout & { name: string }, offset: number): void => {
    if (l.region === 'host') { host.set(l.name, new HostSlot(l.name)); return; }
    const at = bases[l.region] + offset, bits = PACKED_BITS[l.dtype];
    values.set(l.name, bits ? packedSlot(bytes, at, l, bits) : viewSlot(buffer, at, l));
  };
  for (const e of thePlan.externals) slot(e, e.offset);
  for (const t of thePlan.tensors) slot(t, t.offset);
  const readValue = (name: string): Value | undefined => (host.has(name) ? host.get(name)!.read() : values.get(name)?.read());
  for (const c of graph.constants) {
    if (!c.data) throw new KilnError(`constant '%${c.name}' has no data (IR text parsed without its weights)`, { node: c.name });
    values.get(c.name)!.write(c.data);
  }
  const nodes = new Map(graph.nodes.map((n) => [nodeId(n), n]));
  const planned = new Map(thePlan.tensors.map((t) => [t.name, t]));
  const scratchOf = new Map(thePlan.scratch.map((s) => [s.node, s]));
  const steps = thePlan.order.map((id) => {
    const node = nodes.get(id);
    if (!node) throw new KilnError(`the plan names node '${id}', which is not in the graph`);
    const def = getOp(node.op);
    return { id, node, def, attrs: nodeAttrs(def, node), scratch: scratchOf.get(id) };
  });
  const prepareMs = performance.now() - t0;

  const bindInputs = (inputs: ReadonlyMap<string, Value>): void => {
    checkInputs(graph, inputs); // the graph's input types (inputs.ts); then the sizes this program was planned for
    for (const input of graph.inputs) {
      const hostHeld = host.get(input.name);
      if (hostHeld) { hostHeld.write(inputs.get(input.name)!); continue; }
      const given = inputs.get(input.name)! as Tensor; // a tensor-typed input (checkInputs)
      const place = values.get(input.name)!;
      if (given.shape.some((d, i) => d !== place.shape[i])) {
        throw new KilnError(`input '${input.name}' is ${given.dtype}[${given.shape.join(',')}] but the program was prepared for ${place.dtype}[${place.shape.join(',')}] (bind other sizes with --shape/--dim and prepare again)`);
      }
      place.write(given);
    }
  };

  const runStep = (step: (typeof steps)[number]): void => {
    const { id, node, def, attrs, scratch } = step;
    if (scratch) bytes.fill(0xff, bases.arena + scratch.offset, bases.arena + scratch.offset + scratch.bytes);
    const args = node.inputs.map((name) => (name ? readValue(name) : undefined));
    let outs: Value[];
    try {
      // a value kernel (If/Loop/Scan, sequence ops): its regions run on the reference executor, reading
      // the values they capture at their planned places
      if (def.runValues) outs = def.runValues(args, attrs, node.outputs.length, referenceRegionContext(readValue));
      else outs = def.run(args as (Tensor | undefined)[], attrs, node.outputs.length); // tensor inputs (the verifier's types)
    } catch (e) {
      if (e instanceof KilnError) throw e;
      throw Object.assign(new KilnError(`kernel failed: ${(e as Error).message}`, { node: id, op: node.op }), { cause: e });
    }
    node.outputs.forEach((o, k) => {
      if (!o) return;
      const t = planned.get(o)!;
      if (t.aliasKind === 'view') return; // the view reads its source's bytes: no copy
      const hostHeld = host.get(o);
      if (hostHeld) {
        const problem = valueProblem(outs[k], node.types[k]);
        if (problem) throw new KilnError(`kernel output ${k} ${problem}`, { node: id, op: node.op });
        hostHeld.write(outs[k]);
        return;
      }
      const got = outs[k] as Tensor | undefined;
      const place = values.get(o)!;
      const bad = (why: string) => new KilnError(`kernel output ${k} is ${got ? `${got.dtype}[${got.shape.join(',')}]` : 'missing'} but the plan has ${place.dtype}[${place.shape.join(',')}]${why}`, { node: id, op: node.op });
      if (!(got instanceof Tensor) || got.dtype !== place.dtype || got.shape.length !== place.shape.length || got.shape.some((d, i) => d !== place.shape[i])) throw bad('');
      try { place.write(got); } catch (e) { throw bad(`: ${(e as Error).message}`); }
    });
  };

  return {
    backend: 'arena', prepareMs, plan: thePlan, buffer, bases,
    artifacts: [{ name: 'plan.json', kind: 'plan', content: JSON.stringify(thePlan) }],
    async run(inputs: ReadonlyMap<string, Value>, ropts: RunOptions = {}): Promise<Value[]> {
      bindInputs(inputs);
      for (const step of steps) {
        if (ropts.signal?.aborted) throw new KilnError('the run was cancelled');
        const onKernel = ropts.onKernel;
        if (!onKernel) { runStep(step); continue; }
        const t = performance.now();
        runStep(step);
        onKernel({ kernel: step.id, nodes: [step.id], ms: performance.now() - t });
      }
      return graph.outputs.map((name): Value => {
        if (host.has(name)) return host.get(name)!.read();
        const v = values.get(name)?.read();
        if (!v) throw new KilnError(`graph output '%${name}' has no planned buffer`, { node: name });
        return new Tensor(v.dtype, v.shape, (v.data as Uint8Array).slice() as TensorData);
      });
    },
    async dispose() { /* nothing native to release */ },
  };
}

/** The arena executor as a Backend (registered in backends.ts). */
export const arenaBackend: Backend = {
  name: 'arena',
  summary: 'reference kernels at the memory plan\'s offsets in one ArrayBuffer (checks the plan by running it)',
  available: async () => ({ ok: true }),
  unsupported: arenaUnsupported,
  prepare: async (graph: Graph, plan: MemoryPlan | undefined) => prepareArena(graph, plan),
};
