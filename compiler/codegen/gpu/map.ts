/**
 * GPU mapping: a kernel of plain loop nests (lowered for PLAIN_TARGET) becomes one or more GPU
 * kernels — a `launch` (grid of workgroups × threads per workgroup) and a body whose outer loops are
 * annotated `grid(axis)` / `block(axis)`, which a GPU descriptor (WGSL now, CUDA next) binds to the
 * workgroup and thread indices instead of looping. Target independent: the descriptors only spell it.
 *
 * 1. **Dispatches.** A kernel's top-level statements run one after another; each independent group
 *    becomes its own dispatch (WebGPU and CUDA order dispatches of one queue, so a later dispatch sees
 *    what an earlier one wrote). Statements stay together when one reads an accumulator or private
 *    buffer another declares; top-level `let`s are copied into every dispatch that reads them.
 * 2. **The parallel nest.** A dispatch whose statement is a loop annotated `parallel` (the lowering's
 *    claim that its iterations are independent) maps that loop to threads, and with it every loop
 *    nested perfectly inside whose independence this module proves: every store of the nest (and every
 *    load of a buffer the nest stores) has an affine index whose coefficients on the nest variables
 *    separate the iterations (mixed radix: each coefficient exceeds the span of everything below it),
 *    so no two iterations touch the same element. N = the product of the nest's extents.
 * 3. **One thread per nest iteration** (the default): workgroups of 256 threads; the flat position
 *    `(wy·GX + wx)·256 + t` (a second grid axis past 65535 workgroups) is guarded `< N` and unflattened
 *    into the nest's variables, which are substituted into the body. A straight-line body whose loads
 *    run along the innermost loop runs 4 iterations per thread with aligned vector loads instead
 *    (vectorize.ts; N/4 threads).
 * 4. **One workgroup per nest iteration** when the per-iteration body is long (≥ 128 inner iterations)
 *    and N is small (≤ 16384, e.g. a softmax row, a reduction to few values): the body's top-level
 *    loops are strided over the workgroup's threads. An accumulator is combined across the workgroup
 *    after the last loop that updates it (each thread's partial into workgroup memory, a tree of
 *    halvings with barriers), and the combined value is what later statements read. A loop that
 *    stores is strided only when its stores are proven independent; a top-level store runs on thread
 *    0; a barrier follows every statement that stores, so later statements see what it wrote. A
 *    body this cannot split (a loop updating an accumulator that later loops also read before the
 *    last update, a sequential store loop, a private buffer shared by its statements) uses mode 3.
 * A dispatch that is no parallel loop runs as one workgroup (mode 4 over an empty nest: a reduction to
 * one value), or, when its body cannot be split (a scan) or is short, as one thread.
 * A kernel a GPU template lowered with its own launch (lower/gemm-gpu.ts) is kept as it is.
 */
import type { BufferDecl, Combine, Index, Kernel, Scalar, Stmt } from '../kir.ts';
import { binary, iadd, ic, imul, iv, load, loop, ref } from '../kir.ts';
import { verifyKernel } from '../verify.ts';
import { type Access, accesses, affine, boundNames, namesUsed, substStmts, unflatten } from './rewrite.ts';
import { LANES, vectorizeNest } from './vectorize.ts';

/** Threads per workgroup in the thread-per-iteration mode. */
export const THREADS_PER_GROUP = 256;
/** Workgroups per grid axis (WebGPU's default maxComputeWorkgroupsPerDimension; CUDA's y and z). */
export const MAX_GROUPS_PER_AXIS = 65535;

/** How a dispatch was mapped, in words for the timing table and the kernel's printout. */
export type MappingMode = 'thread per element' | `thread per ${typeof LANES} elements (vector loads)` | 'workgroup per element' | 'single thread'
  | 'tiled (workgroup memory)';

/** One GPU kernel made from a kernel IR kernel. */
export interface GpuKernel {
  /** The GPU kernel (launch set, grid/block loops); params: the original kernel's params it uses. */
  readonly kernel: Kernel;
  /** The kernel it came from (its name: call bindings are by param name). */
  readonly from: string;
  readonly mode: MappingMode;
  /** Iterations of the mapped nest (threads or workgroups doing useful work). */
  readonly elements: number;
}

type NestLoop = { readonly var: string; readonly extent: number };

/** Maps one kernel (see the module header); throws when a mapped kernel fails verification (a bug). */
export function mapKernelToGpu(k: Kernel): GpuKernel[] {
  // a GPU template (lower/gemm-gpu.ts) made its own launch
  if (k.launch) return [{ kernel: k, from: k.name, mode: 'tiled (workgroup memory)', elements: k.launch.grid.reduce((a, b) => a * b, 1) }];
  const parts = splitDispatches(k.body);
  return parts.map((part, i) => {
    const name = parts.length === 1 ? k.name : `${k.name}_${i}`;
    const mapped = mapDispatch(part, k);
    const used = new Set(accesses(mapped.body).map((a) => a.buffer));
    const kernel: Kernel = {
      name, params: k.params.filter((p) => used.has(p.name)), shared: mapped.shared, body: mapped.body,
      nodes: k.nodes, loc: k.loc, launch: mapped.launch, ...(k.tolerance ? { tolerance: k.tolerance } : {}),
    };
    verifyKernel(kernel);
    return { kernel, from: k.name, mode: mapped.mode, elements: mapped.elements };
  });
}

// ---- 1. dispatches ----

/**
 * Splits top-level statements into independent groups. A top-level `let` that reads only constants,
 * buffers no statement writes and other such lets is copied into every group that reads it; any other
 * let, accumulator or private buffer keeps the statements that use it in its group.
 */
export function splitDispatches(body: readonly Stmt[]): Stmt[][] {
  const written = new Set(accesses(body).filter((a) => a.store).map((a) => a.buffer));
  const binder = new Map<string, number>(); // acc / local / let name → statement index
  body.forEach((s, i) => { if (s.k === 'acc' || s.k === 'local' || s.k === 'let') binder.set(s.name, i); });
  const needs = body.map((s) => new Set([...namesUsed([s]), ...accesses([s]).map((a) => a.buffer)]));
  // copyable lets, in program order (a let only reads names bound before it)
  const copyable = new Set<number>();
  body.forEach((s, i) => {
    if (s.k !== 'let') return;
    const ok = [...needs[i]].every((n) => { const b = binder.get(n); return b === undefined ? !written.has(n) : copyable.has(b); });
    if (ok) copyable.add(i);
  });
  const group = body.map((_, i) => i);
  const find = (i: number): number => (group[i] === i ? i : (group[i] = find(group[i])));
  const join = (a: number, b: number) => { group[find(a)] = find(b); };
  const copies = new Map<number, Set<number>>();
  body.forEach((_, i) => {
    for (const n of needs[i]) {
      const b = binder.get(n);
      if (b === undefined || b === i) continue;
      if (copyable.has(b)) (copies.get(i) ?? copies.set(i, new Set()).get(i)!).add(b);
      else join(i, b);
    }
  });
  // groups are contiguous runs (statements between two of a group run in order with it)
  const kept = body.map((_, i) => i).filter((i) => !copyable.has(i));
  for (let changed = true; changed;) {
    changed = false;
    for (let x = 0; x < kept.length; x++) {
      for (let y = x + 1; y < kept.length; y++) {
        if (find(kept[x]) !== find(kept[y])) continue;
        for (let m = x + 1; m < y; m++) if (find(kept[m]) !== find(kept[x])) { join(kept[m], kept[x]); changed = true; }
      }
    }
  }
  const parts: number[][] = [];
  let current = -1;
  for (const i of kept) {
    if (find(i) !== current || !parts.length) { parts.push([]); current = find(i); }
    parts.at(-1)!.push(i);
  }
  // prefix each part with the copyable lets it reads (transitively), in program order
  const letsOf = (i: number, into: Set<number>): void => {
    for (const b of copies.get(i) ?? []) if (!into.has(b)) { letsOf(b, into); into.add(b); }
  };
  return parts.map((idx) => {
    const need = new Set<number>();
    for (const i of idx) letsOf(i, need);
    return [...[...need].sort((a, b) => a - b), ...idx].map((i) => body[i]);
  });
}

// ---- 2. the parallel nest ----

/** The loops of `stmts` mapped to threads (outermost first) and the body inside them. */
function parallelNest(stmts: readonly Stmt[]): { nest: NestLoop[]; body: readonly Stmt[]; prefix: readonly Stmt[] } {
  const prefix = stmts.filter((s) => s.k === 'let');
  const rest = stmts.filter((s) => s.k !== 'let');
  const [first] = rest;
  if (rest.length !== 1 || first.k !== 'loop' || !first.annotations.some((a) => a.kind === 'parallel' && !(a.reductions ?? []).length)) {
    return { nest: [], body: stmts, prefix: [] };
  }
  const nest: NestLoop[] = [{ var: first.var, extent: first.extent }];
  let body = first.body;
  while (body.length === 1 && body[0].k === 'loop') {
    const inner = body[0];
    const candidate = [...nest, { var: inner.var, extent: inner.extent }];
    if (!independent(candidate, inner.body)) break;
    nest.push({ var: inner.var, extent: inner.extent });
    body = inner.body;
  }
  return { nest, body, prefix };
}

/**
 * True when distinct iterations of `nest` (vars → extents) touch disjoint elements of every buffer
 * `body` stores (see the module header, 2); locals declared in `body` are private and skipped.
 */
export function independent(nest: readonly NestLoop[], body: readonly Stmt[]): boolean {
  const all = accesses(body);
  const privateBufs = new Set([...boundNames(body)]);
  const stored = new Set(all.filter((a) => a.store && !privateBufs.has(a.buffer)).map((a) => a.buffer));
  const extent = new Map(nest.map((l) => [l.var, l.extent]));
  for (const b of stored) {
    const acc = all.filter((a) => a.buffer === b);
    let coefs: Map<string, number> | undefined;
    for (const a of acc) {
      const form = region(a, extent);
      if (!form) return false;
      if (!coefs) coefs = form.coefs;
      else if (!sameCoefs(coefs, form.coefs)) return false;
      if (!separates(form, nest)) return false;
    }
  }
  return true;
}

/** An access's nest coefficients and the [lo, hi] span of everything else (inner loops, constant, lanes). */
function region(a: Access, nest: ReadonlyMap<string, number>): { coefs: Map<string, number>; lo: number; hi: number } | undefined {
  const f = affine(a.index);
  if (!f) return undefined;
  const inner = new Map(a.loops.map((l) => [l.var, l.extent]));
  const coefs = new Map<string, number>();
  let lo = f.constant, hi = f.constant + a.lanes - 1;
  for (const [v, c] of f.terms) {
    if (c === 0) continue;
    if (nest.has(v)) { if (nest.get(v)! > 1) coefs.set(v, c); continue; }
    const e = inner.get(v);
    if (e === undefined) continue; // bound outside the nest: fixed while the nest's iterations run
    if (c > 0) hi += c * (e - 1); else lo += c * (e - 1);
  }
  return { coefs, lo, hi };
}

function sameCoefs(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  return a.size === b.size && [...a].every(([v, c]) => b.get(v) === c);
}

/** Mixed radix: every nest variable has a positive coefficient larger than the span below it. */
function separates(r: { coefs: ReadonlyMap<string, number>; lo: number; hi: number }, nest: readonly NestLoop[]): boolean {
  const vars = nest.filter((l) => l.extent > 1);
  if (vars.some((l) => !r.coefs.has(l.var))) return false;
  const sorted = vars.map((l) => ({ c: r.coefs.get(l.var)!, e: l.extent })).sort((x, y) => x.c - y.c);
  if (sorted.some((x) => x.c <= 0)) return false;
  let span = r.hi - r.lo; // the elements one iteration touches lie within [base + lo, base + hi]
  for (const { c, e } of sorted) {
    if (c <= span) return false;
    span += c * (e - 1);
  }
  return true;
}

// ---- 3 and 4: launch shapes ----

interface Mapped {
  readonly body: Stmt[];
  readonly shared: BufferDecl[];
  readonly launch: { grid: [number, number, number]; block: [number, number, number] };
  readonly mode: MappingMode;
  readonly elements: number;
}

const product = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

/** Inner iterations of a statement list (the work of one nest iteration). */
function work(stmts: readonly Stmt[]): number {
  let n = 0;
  for (const s of stmts) n += s.k === 'loop' ? s.extent * Math.max(1, work(s.body)) : s.k === 'guard' ? work(s.body) : 0;
  return n;
}

/** The grid of `groups` workgroups: [x, y] with x ≤ 65535. */
function gridOf(groups: number): [number, number] {
  if (groups <= MAX_GROUPS_PER_AXIS) return [groups, 1];
  const y = Math.ceil(groups / MAX_GROUPS_PER_AXIS);
  return [Math.ceil(groups / y), y];
}

/** Wraps `inner` (which reads g_t and the flat workgroup index) in the grid and block loops. */
function launchLoops(gx: number, gy: number, threads: number, inner: (group: Index, t: Index) => Stmt[]): Stmt[] {
  const group = gy > 1 ? iadd(imul(iv('g_y'), ic(gx)), iv('g_x')) : gx > 1 ? iv('g_x') : ic(0);
  const t = threads > 1 ? iv('g_t') : ic(0);
  let body = inner(group, t);
  if (threads > 1) body = [loop('g_t', threads, body, [{ kind: 'block', axis: 0 }])];
  if (gx > 1 || gy > 1) body = [loop('g_x', gx, body, [{ kind: 'grid', axis: 0 }])];
  if (gy > 1) body = [loop('g_y', gy, body, [{ kind: 'grid', axis: 1 }])];
  return body;
}

function mapDispatch(stmts: readonly Stmt[], k: Kernel): Mapped {
  const { nest, body, prefix } = parallelNest(stmts);
  const n = product(nest.map((l) => l.extent));
  if (n <= 16384 && work(body) >= 128) {
    const coop = cooperative(prefix, body, nest, n, k);
    if (coop) return coop;
  }
  if (!nest.length) {
    return { body: [...stmts], shared: [], launch: { grid: [1, 1, 1], block: [1, 1, 1] }, mode: 'single thread', elements: 1 };
  }
  const vec = vectorizeNest(nest, body, freshNames(k));
  const [nest1, body1, n1] = vec ? [vec.nest, vec.body, n / LANES] : [nest, body, n];
  const threads = Math.min(THREADS_PER_GROUP, n1);
  const [gx, gy] = gridOf(Math.ceil(n1 / threads));
  const loops = launchLoops(gx, gy, threads, (group, t) => {
    const flat = iadd(imul(group, ic(threads)), t);
    const inner = substStmts([...prefix, ...body1], unflatten(flat, nest1));
    return gx * gy * threads === n1 ? inner : [{ k: 'guard', bounds: [{ index: flat, extent: n1 }], body: inner }];
  });
  return {
    body: loops, shared: [], launch: { grid: [gx, gy, 1], block: [threads, 1, 1] },
    mode: vec ? `thread per ${LANES} elements (vector loads)` : 'thread per element', elements: n1,
  };
}

/** Mode 4, or undefined when the body cannot be split over a workgroup. */
function cooperative(prefix: readonly Stmt[], body: readonly Stmt[], nest: readonly NestLoop[], n: number, k: Kernel): Mapped | undefined {
  const longest = Math.max(...body.map((s) => (s.k === 'loop' ? s.extent : 1)));
  const threads = Math.min(THREADS_PER_GROUP, Math.max(32, 2 ** Math.ceil(Math.log2(longest))));
  // a private buffer is per thread: statements split over the workgroup could not share it
  if (body.some((s) => s.k === 'local')) return undefined;
  const accs = new Map(body.flatMap((s) => (s.k === 'acc' ? [[s.name, s] as const] : [])));
  // where each accumulator is last updated and first read
  const lastUpdate = new Map<string, number>(), firstRead = new Map<string, number>();
  body.forEach((s, i) => {
    if (s.k === 'acc') return;
    const updated = new Set<string>();
    const walkAccum = (ss: readonly Stmt[]) => { for (const x of ss) { if (x.k === 'accum') updated.add(x.name); else if (x.k === 'loop' || x.k === 'guard') walkAccum(x.body); } };
    walkAccum([s]);
    for (const a of updated) if (accs.has(a)) lastUpdate.set(a, i);
    const reads = namesUsed([s]);
    for (const a of updated) reads.delete(a);
    // a read in the same statement as an update (`acc = max(acc, x)` reads acc) is the update itself
    for (const a of reads) if (accs.has(a) && !firstRead.has(a)) firstRead.set(a, i);
  });
  for (const [a, i] of lastUpdate) if ((firstRead.get(a) ?? Infinity) <= i) return undefined;
  const fresh = freshNames(k);
  const shared: BufferDecl[] = [];
  const renamed = new Map<string, string>();
  const t = iv('g_t');
  const out: Stmt[] = [];
  let ok = true;
  const barrier: Stmt = { k: 'barrier' };
  body.forEach((s0, i) => {
    const s = substStmts([s0], new Map(), renamed)[0];
    if (s.k === 'let' || s.k === 'acc' || s.k === 'local') { out.push(s); return; }
    const stores = accesses([s]).some((a) => a.store);
    if (s.k === 'loop') {
      const nestVar = [{ var: s.var, extent: s.extent }];
      if (stores && !independent(nestVar, s.body)) { ok = false; return; }
      const o = fresh(`${s.var}_o`);
      const pos = iadd(imul(iv(o), ic(threads)), t);
      const inner = substStmts(s.body, new Map([[s.var, pos]]));
      const trips = Math.ceil(s.extent / threads);
      const guarded: Stmt[] = trips * threads === s.extent ? inner : [{ k: 'guard', bounds: [{ index: pos, extent: s.extent }], body: inner }];
      out.push(...(trips === 1 ? substStmts(guarded, new Map([[o, ic(0)]])) : [loop(o, trips, guarded)]));
    } else {
      // a top-level store (or guard): thread 0
      out.push({ k: 'guard', bounds: [{ index: t, extent: 1 }], body: [s] });
    }
    if (stores) out.push(barrier);
    // combine every accumulator whose last update this was
    for (const [a, at] of lastUpdate) {
      if (at !== i) continue;
      const decl = accs.get(a)!;
      if ((decl.lanes ?? 1) > 1) { ok = false; return; }
      const red = fresh(`${a}_wg`);
      shared.push({ name: red, dtype: decl.dtype, count: threads, role: 'shared' });
      out.push({ k: 'store', buffer: red, index: t, value: ref(a, decl.dtype) }, barrier);
      for (let half = threads / 2; half >= 1; half /= 2) {
        const combined = combine(decl.combine, load(red, t, decl.dtype), load(red, iadd(t, ic(half)), decl.dtype));
        out.push({ k: 'guard', bounds: [{ index: t, extent: half }], body: [{ k: 'store', buffer: red, index: t, value: combined }] }, barrier);
      }
      const all = fresh(`${a}_all`);
      out.push({ k: 'let', name: all, value: load(red, ic(0), decl.dtype) });
      renamed.set(a, all);
    }
  });
  if (!ok) return undefined;
  const [gx, gy] = gridOf(n);
  const loops = launchLoops(gx, gy, threads, (group) => substStmts([...prefix, ...out], unflatten(group, nest)));
  const guardedLoops = gx * gy === n ? loops : undefined;
  if (!guardedLoops) return undefined; // a partial grid would put barriers under a guard
  return { body: guardedLoops, shared, launch: { grid: [gx, gy, 1], block: [threads, 1, 1] }, mode: 'workgroup per element', elements: n };
}

/** Makes names no statement of `k` binds (`base`, else `base1`, `base2`, ...), each once. */
function freshNames(k: Kernel): (base: string) => string {
  const taken = boundNames(k.body);
  return (base) => { let s = base, j = 0; while (taken.has(s)) s = `${base}${++j}`; taken.add(s); return s; };
}

function combine(c: Combine, a: Scalar, b: Scalar): Scalar {
  return binary(c, a, b);
}
