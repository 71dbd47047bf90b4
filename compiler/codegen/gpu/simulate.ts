/**
 * A host simulator of GPU kernels: runs the kernel IR of the GPU targets (after codegen/gpu/map.ts or a
 * template with its own launch) as a GPU would, slowly, so kernels are tested without a GPU. Expressions
 * and buffer accesses are simulate-eval.ts's (the scalar semantics, rounding and bounds checks).
 *
 * 1. **Compile.** The kernel body becomes JS closures once per launch. A statement that can suspend
 *    its thread (a `barrier` or an `mma`, or anything containing one) becomes a generator function,
 *    everything else a plain closure, so straight-line work costs no generator overhead.
 * 2. **Threads.** Every thread runs the whole body in its own environment, as the CUDA rendering
 *    does: a loop annotated grid(axis) / block(axis) is no loop but binds its variable to the block /
 *    thread index on that axis (its extent must equal the launch's size there), so statements outside
 *    the block loops run once per thread (redundantly, as on the GPU). Linear thread id = x + y·bx +
 *    z·bx·by; warp = id / 32 (mma-layout.ts WARP), lane = id mod 32. Blocks run one after another,
 *    each with fresh shared buffers (`kernel.shared`); a `local` is a fresh array per thread. Shared
 *    and local memory start as NaN (floats): a read before any write shows up in the results.
 *    Other annotations (parallel, vectorize, unroll, tile) are ordinary sequential loops.
 * 3. **Scheduler** (per block, only for kernels that suspend): advance every ready thread until it
 *    suspends or finishes; then every warp whose 32 threads all wait at the same `mma` (the same
 *    statement, the same number of mma passed) computes it and resumes; if none, and every thread
 *    waits at the same barrier (same statement, same number of barriers passed), all are released.
 *    Anything else is a deadlock: an Error naming the kernel, the block and what each group of
 *    threads waits at (or that it finished).
 * 4. **mma and ldmatrix.** An ldmatrix gives each lane its 2 elements of each 8×8 matrix (row
 *    lane / 4, columns 2·(lane mod 4) and + 1) from the row addresses of lanes 8i..8i+7 (PTX's rule,
 *    kept here apart from mma-layout.ts, so a template that pairs it with mma is checked). For an
 *    mma, each lane's A and B fragments (vector elements flattened in order) are placed in the
 *    m×k and k×n tiles by the layout of mma-layout.ts (`a(lane, i)`, `b(lane, i)`), every tile element
 *    covered exactly once; tf32 operands are first rounded to tf32 (cvt.rna: 10 mantissa bits,
 *    nearest, ties away from zero). D = A·B + C in f64, rounded once to f32, where C and D are each
 *    lane's 4-lane accumulator at positions `c(lane, i)`. (Tensor cores accumulate with their own
 *    internal precision; exact products summed in f64 are the ideal they approximate.)
 * 5. **Async copies.** A `copy_async` evaluates its indices and bounds when issued and lands (reads
 *    its source, writes its destination, or zeros) only at the `async_wait` that covers its group,
 *    the latest moment the target allows: a kernel that reads the destination earlier (or, in
 *    another thread, without a barrier after the wait) reads stale or NaN data.
 * 6. **Programs.** simulateProgram runs a compiled CUDA program's launches in order over buffers made
 *    from the graph: inputs and constants (packed constants from their data) copied in, every other
 *    buffer NaN-filled (device memory is not zeroed), views sharing their root's array.
 */
import { type TensorData, dtypeInfo } from '../../ir/dtype.ts';
import { type Graph, valueTypes } from '../../ir/graph.ts';
import { Tensor } from '../../ir/tensor.ts';
import type { Combine, Kernel, MmaShape, Program, Stmt } from '../kir.ts';
import { lanesOf } from '../kir.ts';
import { MMA_LAYOUTS, WARP } from '../mma-layout.ts';
import {
  type BufferSlot, BLOCK_SLOT, type Env, type EvalScope, FIRST_SLOT, THREAD_SLOT, type Value,
  binaryFn, checked, compileIndex, compileScalar, compileStore, poisoned, reader, roundTo, writer,
} from './simulate-eval.ts';

/** A buffer passed to a simulated kernel: the typed array its dtype is stored in (ir/dtype.ts). */
export type SimBuffer = Exclude<TensorData, string[]>;

/** A compiled GPU program to simulate (what compileCudaSource returns, or any launch list over a program). */
export interface SimProgram {
  /** The kernel IR program: its buffers (graph values) are what launches bind. */
  readonly program: Program;
  /** The launches in order: a GPU kernel and the program values bound to its params. */
  readonly launches: readonly { readonly kernel: Kernel; readonly args: readonly string[] }[];
  /** Nodes not compiled (their values would be missing): simulateProgram refuses a program with any. */
  readonly fallbacks?: readonly { readonly node?: string; readonly reason: string }[];
}

type MmaStmt = Extract<Stmt, { k: 'mma' }>;
/** Where a suspended thread waits. */
type Wait =
  | { readonly k: 'barrier'; readonly label: string; readonly stmt: Stmt }
  | { readonly k: 'mma'; readonly label: string; readonly stmt: MmaStmt; readonly a: number[]; readonly b: number[]; readonly env: Env; readonly slot: number }
  | { readonly k: 'ldmatrix'; readonly label: string; readonly stmt: Stmt; readonly at: number; readonly env: Env; readonly slots: readonly number[]; readonly buf: BufferSlot };
type Gen = Generator<Wait, void, void>;
/** A compiled statement: a plain closure, or a generator function where it can suspend. */
type Code = { readonly gen: false; readonly run: (env: Env) => void } | { readonly gen: true; readonly run: (env: Env) => Gen };

const suspends = (s: Stmt): boolean => s.k === 'barrier' || s.k === 'mma' || s.k === 'ldmatrix' || ((s.k === 'loop' || s.k === 'guard') && s.body.some(suspends));

/** Compiles a kernel's body (module header, 1). */
class Compiler {
  private slots = FIRST_SLOT;
  private counts = { barrier: 0, mma: 0, ldmatrix: 0 };
  readonly buffers = new Map<string, BufferSlot>();
  /** accumulator slot → its combine */
  private readonly combines = new Map<number, Combine>();
  /** The slot of a thread's queue of async copies (AsyncQueue). */
  readonly asyncSlot: number;
  constructor(private readonly k: Kernel) {
    for (const b of [...k.params, ...k.shared]) this.buffers.set(b.name, { name: b.name, slot: this.slots++, dtype: b.dtype, count: b.count });
    this.asyncSlot = this.slots++;
  }
  get slotCount(): number { return this.slots; }

  private scope(names: ReadonlyMap<string, number>): EvalScope {
    const k = this.k, buffers = this.buffers;
    return {
      kernel: k.name,
      slot(name) { const s = names.get(name); if (s === undefined) throw new Error(`kernel @${k.name}: '${name}' is not bound here`); return s; },
      buffer(name) { const b = buffers.get(name); if (!b) throw new Error(`kernel @${k.name}: no buffer '${name}'`); return b; },
    };
  }

  list(stmts: readonly Stmt[], outer: ReadonlyMap<string, number>): Code {
    const names = new Map(outer);
    const items = stmts.map((s) => this.stmt(s, names));
    if (!items.some((c) => c.gen)) {
      const fns = items.map((c) => c.run);
      return { gen: false, run: fns.length === 1 ? fns[0] : (env) => { for (const f of fns) f(env); } };
    }
    return { gen: true, run: function* (env) { for (const c of items) { if (c.gen) yield* c.run(env); else c.run(env); } } };
  }

  /** Compiles one statement; a binding it makes is added to `names` (for the statements after it). */
  private stmt(s: Stmt, names: Map<string, number>): Code {
    const sc = this.scope(names), kname = this.k.name;
    const plain = (run: (env: Env) => void): Code => ({ gen: false, run });
    const bind = (name: string) => { const slot = this.slots++; names.set(name, slot); return slot; };
    switch (s.k) {
      case 'loop': {
        const inner = new Map(names), v = this.slots++;
        inner.set(s.var, v);
        const body = this.list(s.body, inner), n = s.extent;
        const gpu = s.annotations.find((a) => a.kind === 'grid' || a.kind === 'block');
        if (gpu && (gpu.kind === 'grid' || gpu.kind === 'block')) {
          const from = (gpu.kind === 'grid' ? BLOCK_SLOT : THREAD_SLOT) + gpu.axis;
          return body.gen ? { gen: true, run: function* (env) { env[v] = env[from]; yield* body.run(env); } }
            : plain((env) => { env[v] = env[from]; body.run(env); });
        }
        return body.gen ? { gen: true, run: function* (env) { for (let i = 0; i < n; i++) { env[v] = i; yield* body.run(env); } } }
          : plain((env) => { for (let i = 0; i < n; i++) { env[v] = i; body.run(env); } });
      }
      case 'guard': {
        const bounds = s.bounds.map((b) => ({ i: compileIndex(b.index, sc), n: b.extent }));
        const holds = (env: Env) => bounds.every((b) => { const x = b.i(env); return x >= 0 && x < b.n; });
        const body = this.list(s.body, names);
        return body.gen ? { gen: true, run: function* (env) { if (holds(env)) yield* body.run(env); } } : plain((env) => { if (holds(env)) body.run(env); });
      }
      case 'store': {
        const v = compileScalar(s.value, sc), st = compileStore(sc.buffer(s.buffer), s.index, lanesOf(s.value), sc);
        return plain((env) => st(env, v(env)));
      }
      case 'let': { const v = compileScalar(s.value, sc), slot = bind(s.name); return plain((env) => { env[slot] = v(env); }); }
      case 'acc': {
        const v = compileScalar(s.init, sc), slot = bind(s.name);
        this.combines.set(slot, s.combine);
        return plain((env) => { env[slot] = v(env); });
      }
      case 'accum': {
        const slot = sc.slot(s.name), v = compileScalar(s.value, sc), c = this.combines.get(slot);
        if (!c) throw new Error(`kernel @${kname}: accum into '${s.name}', which is no accumulator`);
        const f = combiner(c, s.value.dtype);
        if (lanesOf(s.value) === 1) return plain((env) => { env[slot] = f(env[slot] as number, v(env) as number); });
        return plain((env) => { const x = v(env) as readonly number[]; env[slot] = (env[slot] as readonly number[]).map((a, l) => f(a, x[l])); });
      }
      case 'local': {
        const b: BufferSlot = { name: s.name, slot: this.slots++, dtype: s.dtype, count: s.count };
        this.buffers.set(s.name, b);
        return plain((env) => { env[b.slot] = poisoned(s.dtype, s.count); });
      }
      case 'barrier': {
        const wait: Wait = { k: 'barrier', label: `barrier #${this.counts.barrier++}`, stmt: s };
        return { gen: true, run: function* () { yield wait; } };
      }
      case 'copy_async': {
        // issued now (indices and bounds as they are), landing at the async_wait that covers its group
        const to = sc.buffer(s.to), from = sc.buffer(s.from), lanes = s.lanes, q = this.asyncSlot;
        const ti = compileIndex(s.toIndex, sc), fi = compileIndex(s.fromIndex, sc);
        const bounds = s.bounds.map((b) => ({ i: compileIndex(b.index, sc), n: b.extent }));
        const rd = reader(s.dtype), wr = writer(s.dtype);
        return plain((env) => {
          const at = checked(sc, env, to, ti(env), lanes, 'async copy into');
          const ok = bounds.every((b) => { const x = b.i(env); return x >= 0 && x < b.n; });
          const src = ok ? checked(sc, env, from, fi(env), lanes, 'async copy from') : 0;
          const dst = env[to.slot] as TensorData, data = env[from.slot] as TensorData;
          asyncQueue(env, q).open.push(() => { for (let l = 0; l < lanes; l++) wr(dst, at + l, ok ? rd(data, src + l) : 0); });
        });
      }
      case 'async_commit': { const q = this.asyncSlot; return plain((env) => { const a = asyncQueue(env, q); a.groups.push(a.open); a.open = []; }); }
      case 'async_wait': {
        const q = this.asyncSlot, n = s.pending;
        return plain((env) => { const a = asyncQueue(env, q); while (a.groups.length > n) for (const land of a.groups.shift()!) land(); });
      }
      case 'ldmatrix': {
        const label = `ldmatrix<${s.names.length}> #${this.counts.ldmatrix++}`, buf = sc.buffer(s.buffer), i = compileIndex(s.index, sc);
        const slots = s.names.map(bind);
        return { gen: true, run: function* (env) { yield { k: 'ldmatrix', label, stmt: s, at: checked(sc, env, buf, i(env), 8, 'ldmatrix row of'), env, slots, buf }; } };
      }
      case 'mma': {
        const label = `${s.acc} += mma<${s.shape}> #${this.counts.mma++}`, slot = sc.slot(s.acc);
        const a = s.a.map((x) => compileScalar(x, sc)), b = s.b.map((x) => compileScalar(x, sc));
        const flat = (fs: typeof a, env: Env) => fs.flatMap((f) => f(env));
        if (!MMA_LAYOUTS[s.shape]) throw new Error(`kernel @${kname}: unknown mma shape ${s.shape}`);
        return { gen: true, run: function* (env) { yield { k: 'mma', label, stmt: s, a: flat(a, env), b: flat(b, env), env, slot }; } };
      }
    }
  }
}

/** A thread's async copies: those issued since the last commit, and the committed groups in order. */
interface AsyncQueue { open: (() => void)[]; groups: (() => void)[][] }

const asyncQueue = (env: Env, slot: number): AsyncQueue => (env[slot] ??= { open: [], groups: [] }) as AsyncQueue;

/** acc = combine(acc, x), rounded to the dtype (max/min keep NaN and `a` on ties). */
function combiner(c: Combine, d: Parameters<typeof roundTo>[0]): (a: number, x: number) => number {
  const f = binaryFn(c, d), r = roundTo(d);
  return (a, x) => r(f(a, x));
}

/** Checks every grid/block loop's extent against the launch. */
function checkLaunch(k: Kernel, grid: readonly number[], block: readonly number[]): void {
  const walk = (stmts: readonly Stmt[]): void => {
    for (const s of stmts) {
      if (s.k !== 'loop' && s.k !== 'guard') continue;
      if (s.k === 'loop') {
        for (const a of s.annotations) {
          if (a.kind !== 'grid' && a.kind !== 'block') continue;
          const size = (a.kind === 'grid' ? grid : block)[a.axis];
          if (s.extent !== size) throw new Error(`kernel @${k.name}: ${a.kind} loop ${s.var} over ${s.extent} but the launch's ${a.kind} is ${size} on axis ${a.axis}`);
        }
      }
      walk(s.body);
    }
  };
  walk(k.body);
}

/** Runs one GPU kernel (its launch; none: one thread) over `buffers` (param name → typed array), in place. */
export function simulateKernel(k: Kernel, buffers: ReadonlyMap<string, SimBuffer> | Readonly<Record<string, SimBuffer>>): void {
  const get = (n: string) => (buffers instanceof Map ? buffers.get(n) : (buffers as Record<string, SimBuffer>)[n]);
  const grid = k.launch?.grid ?? [1, 1, 1], block = k.launch?.block ?? [1, 1, 1];
  checkLaunch(k, grid, block);
  const c = new Compiler(k);
  const body = c.list(k.body, new Map());
  const base: Env = new Array(c.slotCount);
  for (const p of k.params) {
    const a = get(p.name);
    const want = dtypeInfo(p.dtype).alloc(0).constructor;
    if (!a) throw new Error(`kernel @${k.name}: no buffer passed for param '${p.name}'`);
    if (a.constructor !== want || a.length < p.count) {
      throw new Error(`kernel @${k.name}: param '${p.name}' (${p.dtype}[${p.count}]) is passed a ${a.constructor.name} of ${a.length}`);
    }
    base[c.buffers.get(p.name)!.slot] = a;
  }
  const threads = block[0] * block[1] * block[2];
  for (let bz = 0; bz < grid[2]; bz++) for (let by = 0; by < grid[1]; by++) for (let bx = 0; bx < grid[0]; bx++) {
    for (const s of k.shared) base[c.buffers.get(s.name)!.slot] = poisoned(s.dtype, s.count);
    const envs: Env[] = [];
    for (let t = 0; t < threads; t++) {
      const env = base.slice();
      env[BLOCK_SLOT] = bx; env[BLOCK_SLOT + 1] = by; env[BLOCK_SLOT + 2] = bz;
      env[THREAD_SLOT] = t % block[0]; env[THREAD_SLOT + 1] = Math.floor(t / block[0]) % block[1]; env[THREAD_SLOT + 2] = Math.floor(t / (block[0] * block[1]));
      envs.push(env);
    }
    if (!body.gen) for (const env of envs) body.run(env);
    else schedule(k, [bx, by, bz], envs.map((env) => body.run(env)));
  }
}

interface Thread { readonly gen: Gen; wait?: Wait; done: boolean; barriers: number; mmas: number }

/** Runs one block's threads to completion (module header, 3). */
function schedule(k: Kernel, at: readonly number[], gens: Gen[]): void {
  const threads: Thread[] = gens.map((gen) => ({ gen, done: false, barriers: 0, mmas: 0 }));
  const fail = (what: string) => new Error(`kernel @${k.name} (block [${at.join(',')}]): ${what}`);
  let ready = threads;
  for (;;) {
    for (const t of ready) {
      const r = t.gen.next();
      if (r.done) { t.done = true; t.wait = undefined; } else t.wait = r.value;
    }
    ready = [];
    for (let w = 0; w * WARP < threads.length; w++) {
      const warp = threads.slice(w * WARP, (w + 1) * WARP), first = warp[0].wait;
      if (warp.length !== WARP || (first?.k !== 'mma' && first?.k !== 'ldmatrix') || !warp.every((t) => t.wait?.stmt === first.stmt)) continue;
      if (!warp.every((t) => t.mmas === warp[0].mmas)) throw fail(`warp ${w} meets ${first.label} after different numbers of warp-collective statements per thread`);
      if (first.k === 'mma') runMma(k, warp.map((t) => t.wait as Extract<Wait, { k: 'mma' }>));
      else runLdmatrix(warp.map((t) => t.wait as Extract<Wait, { k: 'ldmatrix' }>));
      for (const t of warp) { t.mmas++; ready.push(t); }
    }
    if (ready.length) continue;
    if (threads.every((t) => t.done)) return;
    const first = threads[0].wait;
    if (first?.k === 'barrier' && threads.every((t) => t.wait?.stmt === first.stmt)) {
      if (!threads.every((t) => t.barriers === threads[0].barriers)) throw fail(`threads meet ${first.label} after different numbers of barriers`);
      for (const t of threads) t.barriers++;
      ready = threads;
      continue;
    }
    throw fail(`deadlock: ${describe(threads)}`);
  }
}

/** What each group of threads waits at, e.g. `threads 0-30 wait at acc += mma<...> #0; thread 31 finished`. */
function describe(threads: readonly Thread[]): string {
  const groups = new Map<string, number[]>();
  threads.forEach((t, i) => {
    const what = t.done ? 'finished' : `wait at ${t.wait!.label}`;
    (groups.get(what) ?? groups.set(what, []).get(what)!).push(i);
  });
  const ranges = (ids: number[]) => {
    const out: string[] = [];
    for (let i = 0; i < ids.length;) {
      let j = i;
      while (j + 1 < ids.length && ids[j + 1] === ids[j] + 1) j++;
      out.push(i === j ? `${ids[i]}` : `${ids[i]}-${ids[j]}`);
      i = j + 1;
    }
    return out.join(', ');
  };
  const partial = threads.length % WARP ? ` (the last warp has ${threads.length % WARP} of ${WARP} threads)` : '';
  return [...groups].map(([what, ids]) => `thread${ids.length > 1 ? 's' : ''} ${ranges(ids)} ${what.replace(/^wait/, ids.length > 1 ? 'wait' : 'waits')}`).join('; ') + partial;
}

const tf32Bits = new Float32Array(1), tf32Word = new Uint32Array(tf32Bits.buffer);
/** An f32 rounded to tf32 as cvt.rna.tf32.f32 does: 10 mantissa bits, nearest, ties away from zero. */
export function roundTf32(v: number): number {
  tf32Bits[0] = v;
  const x = tf32Word[0];
  if ((x & 0x7f800000) === 0x7f800000) return tf32Bits[0];
  tf32Word[0] = (x & 0x80000000) | (((x & 0x7fffffff) + 0x1000) & 0x7fffe000);
  return tf32Bits[0];
}

/**
 * One warp's ldmatrix (PTX ldmatrix.m8n8): row r of matrix i starts where lane 8i + r points; lane l
 * binds, for each matrix, its elements at row l / 4, columns 2·(l mod 4) and + 1.
 */
function runLdmatrix(lanes: readonly Extract<Wait, { k: 'ldmatrix' }>[]): void {
  const { buf } = lanes[0], rd = reader(buf.dtype), data = lanes[0].env[buf.slot] as TensorData;
  lanes.forEach((w, l) => {
    w.slots.forEach((slot, i) => {
      const row = lanes[8 * i + (l >> 2)].at, col = 2 * (l % 4);
      w.env[slot] = [rd(data, row + col), rd(data, row + col + 1)];
    });
  });
}

/** One warp's mma (module header, 4); each lane's accumulator is replaced by its part of D. */
function runMma(k: Kernel, lanes: readonly Extract<Wait, { k: 'mma' }>[]): void {
  const shape: MmaShape = lanes[0].stmt.shape, L = MMA_LAYOUTS[shape], { m, n } = L, kk = L.k;
  const fail = (what: string) => new Error(`kernel @${k.name}: ${lanes[0].label}: ${what}`);
  const A = new Float64Array(m * kk), B = new Float64Array(kk * n), C = new Float64Array(m * n);
  const seen = { A: new Uint8Array(m * kk), B: new Uint8Array(kk * n), C: new Uint8Array(m * n) };
  const round = shape === 'm16n8k8.tf32' ? roundTf32 : (v: number) => v;
  const place = (what: 'A' | 'B' | 'C', tile: Float64Array, cols: number, rows: number, p: { row: number; col: number }, v: number) => {
    if (!(p.row >= 0 && p.row < rows && p.col >= 0 && p.col < cols)) throw fail(`${what} position (${p.row}, ${p.col}) is outside the ${rows}×${cols} tile`);
    tile[p.row * cols + p.col] = v;
    seen[what][p.row * cols + p.col]++;
  };
  lanes.forEach((w, lane) => {
    const acc = w.env[w.slot] as Value;
    if (w.a.length !== L.aElems || w.b.length !== L.bElems) throw fail(`lane ${lane} passes ${w.a.length} A and ${w.b.length} B elements; the shape takes ${L.aElems} and ${L.bElems}`);
    if (!Array.isArray(acc) || acc.length !== 4) throw fail(`lane ${lane}'s accumulator is not 4 f32 lanes`);
    w.a.forEach((v, i) => place('A', A, kk, m, L.a(lane, i), round(v)));
    w.b.forEach((v, i) => place('B', B, n, kk, L.b(lane, i), round(v)));
    (acc as number[]).forEach((v, i) => place('C', C, n, m, L.c(lane, i), v));
  });
  for (const [what, s] of Object.entries(seen)) {
    const bad = s.findIndex((x) => x !== 1);
    if (bad >= 0) throw fail(`${what} element ${bad} of the tile is held by ${s[bad]} fragment positions, not 1`);
  }
  const D = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = C[i * n + j];
      for (let x = 0; x < kk; x++) sum += A[i * kk + x] * B[x * n + j];
      D[i * n + j] = Math.fround(sum);
    }
  }
  lanes.forEach((w, lane) => { w.env[w.slot] = [0, 1, 2, 3].map((i) => { const p = L.c(lane, i); return D[p.row * n + p.col]; }); });
}

/**
 * Runs a compiled program's launches in order over buffers made from `graph`'s inputs and constants
 * (module header, 5); returns the graph's outputs.
 */
export function simulateProgram(graph: Graph, compiled: SimProgram, inputs: ReadonlyMap<string, Tensor>): Tensor[] {
  if (compiled.fallbacks?.length) throw new Error(`simulateProgram: ${compiled.fallbacks.length} node(s) were not compiled: ${compiled.fallbacks.map((f) => `%${f.node ?? '?'}: ${f.reason}`).join('; ')}`);
  const constants = new Map(graph.constants.map((c) => [c.name, c.data]));
  const data = new Map<string, SimBuffer>();
  for (const b of compiled.program.buffers) {
    if (b.aliasOf !== undefined) continue;
    const from = b.packed?.data ?? (b.kind === 'input' ? inputs.get(b.value)?.data : b.kind === 'constant' ? constants.get(b.value)?.data : undefined);
    if ((b.kind === 'input' || b.kind === 'constant') && !from) throw new Error(`simulateProgram: no data for ${b.kind} %${b.value}`);
    const a = poisoned(b.dtype, b.count) as SimBuffer;
    if (from) {
      if (from.constructor !== a.constructor || from.length !== b.count) throw new Error(`simulateProgram: %${b.value} is ${b.dtype}[${b.count}], given ${from.constructor.name} of ${from.length}`);
      (a as Float32Array).set(from as Float32Array);
    }
    data.set(b.value, a);
  }
  const byValue = new Map(compiled.program.buffers.map((b) => [b.value, b]));
  const root = (v: string): string => { const a = byValue.get(v)?.aliasOf; return a === undefined ? v : root(a); };
  const array = (v: string): SimBuffer => {
    const a = data.get(root(v));
    if (!a) throw new Error(`simulateProgram: %${v} is no program buffer`);
    return a;
  };
  for (const l of compiled.launches) simulateKernel(l.kernel, new Map(l.kernel.params.map((p, i) => [p.name, array(l.args[i])])));
  const types = valueTypes(graph);
  return graph.outputs.map((o) => {
    const t = types.get(o)!, n = t.shape.reduce((x: number, y) => x * (y as number), 1);
    return new Tensor(t.dtype, t.shape as number[], array(o).slice(0, n));
  });
}
