/**
 * The tuner: schedule choices (tile sizes, variants) picked per problem by measuring every candidate
 * once on this machine, cached on disk (cache.ts) so the second compile measures nothing.
 *
 * A lowering offers candidates through `LowerNode.choose(template, key, candidates)`, heuristic
 * default first (codegen/lower/context.ts). `tuneGraph`:
 * 1. lowers the graph once with the defaults to find every Tunable; each (template, key) with more
 *    than one candidate is a problem (variants.ts `problemsOf`);
 * 2. looks each problem up in the cache (mode `cached` stops here: the rest keep their defaults);
 * 3. for the rest (mode `measure`) cuts the asking node out, lowers it once per candidate and renders
 *    them into C files — one per core at most, each holding every candidate of its problems (a
 *    compiler run per candidate would spend its time starting up; one file for all would leave the
 *    other cores idle) — built at once by the caller's `build` (the backend's flags, through the
 *    object cache) and loaded;
 * 4. runs every variant on the same seeded inputs (floats normal, integers and bools 0, so an index
 *    input is always in range): one warm-up call each, then interleaved rounds (each candidate timed
 *    once per round, so a noisy neighbour slows all of them alike) up to `samples` rounds or until
 *    the problem's `budgetMs` is spent (but at least 3 rounds, unless one round alone takes the whole
 *    budget: the total stays bounded by about problems x budget). A candidate's time is its median;
 *    the winner is the candidate with the fastest single call (noise only ever adds time, so the
 *    minimum is the cost least disturbed by a loaded machine);
 * 5. checks the candidates agree: every variant's outputs are compared with the default candidate's
 *    (floats within 1e-4 of the largest |value|: another tile order only reassociates sums; integers
 *    exactly). When any disagrees, the reference executor on the cut-out node decides, and every
 *    candidate that disagrees with it is excluded with the reason: a wrong variant never wins;
 * 6. picks the fastest candidate not excluded (by its minimum), stores the problem (winner and every
 *    measurement) in the cache and returns the choices map for `lowerGraph`. A problem whose every
 *    candidate is excluded keeps its default and is not stored.
 * Mode `off` measures nothing and reads no cache: every lowering uses its default.
 *
 * A tuning build that fails to compile (a candidate's C the compiler rejects) is warned about and the
 * problems of that file keep their defaults, uncached; it never fails the model's compile.
 */
import type { Graph } from '../../ir/graph.ts';
import { nodeId, valueTypes } from '../../ir/graph.ts';
import { Tensor, readNumbers } from '../../ir/tensor.ts';
import { type DType, type TensorData, dtypeInfo } from '../../ir/dtype.ts';
import { KilnError } from '../../errors.ts';
import { type LowerOptions, lowerGraph } from '../../codegen/lower/index.ts';
import type { Tunable, TuningChoices, TuningParams } from '../../codegen/lower/context.ts';
import { nodeFlops } from '../../zoo/summary.ts';
import { loadLibrary, type NativeLibrary } from '../native/library.ts';
import { cpuInfo } from '../native/cpu-features.ts';
import { randomInputs } from '../inputs.ts';
import { runReference } from '../reference.ts';
import { diffTensors } from '../compare.ts';
import { median } from '../timings.ts';
import { layoutBuffers } from '../buffer-layout.ts';
import { TuningCache } from './cache.ts';
import { type Problem, type ProblemVariants, lowerVariants, problemsOf, tuningSource } from './variants.ts';

/** How a compile treats tunable choices: measure what is not cached, use only the cache, or neither. */
export type TuningMode = 'measure' | 'cached' | 'off';
export const TUNING_MODES: readonly TuningMode[] = ['measure', 'cached', 'off'];

/**
 * The mode a compile uses: the one asked for, else `KILN_TUNING` (tests and CI set `cached` or `off`
 * where compile time matters), else `measure`. A bad KILN_TUNING value is a KilnError naming it.
 */
export function tuningMode(asked?: TuningMode, env: NodeJS.ProcessEnv = process.env): TuningMode {
  if (asked !== undefined) return asked;
  const v = env.KILN_TUNING?.trim();
  if (!v) return 'measure';
  if (!(TUNING_MODES as readonly string[]).includes(v)) throw new KilnError(`KILN_TUNING is '${v}'; use one of ${TUNING_MODES.join(', ')}`);
  return v as TuningMode;
}

/** Where a problem's choice came from. */
export type ChoiceSource = 'measured' | 'cache' | 'default';

/** One candidate of a problem. */
export interface CandidateResult {
  readonly params: TuningParams;
  /** Median milliseconds of one call; null when not timed. */
  readonly ms: number | null;
  /** The fastest call in milliseconds (what the winner is picked by); null when not timed. */
  readonly minMs: number | null;
  /** Why it may not win; absent when it may. */
  readonly excluded?: string;
}

/** The outcome for one problem. */
export interface ProblemResult {
  readonly template: string;
  readonly key: string;
  readonly chosen: number;
  readonly source: ChoiceSource;
  readonly candidates: readonly CandidateResult[];
}

/** What `tuneGraph` decided. */
export interface TuningOutcome {
  readonly mode: TuningMode;
  /** `${template}|${key}` → candidate index, for `lowerGraph`. */
  readonly choices: TuningChoices;
  /** Every problem (more than one candidate) by `${template}|${key}`. */
  readonly problems: ReadonlyMap<string, ProblemResult>;
  /** Candidates timed in this call (0 when everything came from the cache). */
  readonly measurements: number;
  /** Milliseconds spent tuning (lowering variants, compiling, measuring). */
  readonly ms: number;
}

/** Options of `tuneGraph`. */
export interface TuneOptions {
  readonly mode: TuningMode;
  /** Threads the kernels run with (part of the cache key). */
  readonly threads: number;
  /** The cache (its machine fingerprint names CPU, compiler and threads). */
  readonly cache: TuningCache;
  /** Builds one C file into a shared object (the backend's compiler and flags, cached by content). */
  build(source: string, name: string): Promise<{ readonly objectPath: string }>;
  /**
   * The backend's lowering options (execution order, target), as it lowers the model: the discovery
   * lowering uses all of them, each candidate's one-node lowering all but the order.
   */
  readonly lowerOptions?: Omit<LowerOptions, 'choices'>;
  /** C files compiled at once (default: the cores; never more than the problems). */
  readonly parallelBuilds?: number;
  /** Timed rounds at most (default 7). */
  readonly samples?: number;
  /** Timing budget in ms per problem (default 1000; see MIN_ROUNDS for what may exceed it). */
  readonly budgetMs?: number;
  /** Seed of the inputs (default 0). */
  readonly seed?: number;
  readonly onProgress?: (fraction: number) => void;
  readonly signal?: AbortSignal;
  /** Where a failed tuning build is reported (default console.warn). */
  readonly warn?: (message: string) => void;
}

/** Timed rounds a problem gets even past its budget, unless one round alone takes the whole budget. */
const MIN_ROUNDS = 3;

/** Relative tolerance of candidates against each other (of the largest |value|). */
const AGREEMENT = 1e-4;

/** Picks the schedule choices of `graph` (see the module header). */
export async function tuneGraph(graph: Graph, opts: TuneOptions): Promise<TuningOutcome> {
  const t0 = performance.now();
  const choices = new Map<string, number>();
  const problems = new Map<string, ProblemResult>();
  const done = (measurements: number): TuningOutcome => ({ mode: opts.mode, choices, problems, measurements, ms: performance.now() - t0 });
  if (opts.mode === 'off') return done(0);
  // the order names the whole graph's nodes: a cut-out node is lowered without it
  const { order: _wholeGraphOnly, ...variantOptions } = opts.lowerOptions ?? {};
  const all = problemsOf(lowerGraph(graph, opts.lowerOptions ?? {}).tunables.filter((t) => t.candidates.length > 1));
  const todo: Problem[] = [];
  for (const p of all) {
    const hit = opts.cache.get(p.template, p.key, p.candidates);
    if (hit) {
      choices.set(p.id, hit.chosen);
      problems.set(p.id, { template: p.template, key: p.key, chosen: hit.chosen, source: 'cache', candidates: hit.candidates });
    } else if (opts.mode === 'cached') {
      problems.set(p.id, defaultResult(p));
    } else todo.push(p);
  }
  if (!todo.length) return done(0);
  const progress = opts.onProgress ?? (() => {});
  const cancelled = () => { if (opts.signal?.aborted) throw new KilnError('the preparation was cancelled'); };

  progress(0);
  const lowered = todo.map((p, i) => lowerVariants(graph, p, choices, i, variantOptions));
  // one C file per group, the groups compiled at once (the compiler is single-threaded)
  const count = Math.max(1, Math.min(opts.parallelBuilds ?? cpuInfo().cores, lowered.length));
  const groups = Array.from({ length: count }, (_, j) => lowered.filter((_, i) => i % count === j));
  const built = await Promise.allSettled(groups.map((g, j) => opts.build(tuningSource(g), `tuning_${j}`)));
  const libs: { group: readonly ProblemVariants[]; lib: NativeLibrary }[] = [];
  let measurements = 0, finished = 0;
  try {
    for (const [j, b] of built.entries()) {
      if (b.status === 'fulfilled') { libs.push({ group: groups[j], lib: loadLibrary(b.value.objectPath) }); continue; }
      const e = b.reason as unknown;
      if (!(e instanceof KilnError) || opts.signal?.aborted) throw e;
      (opts.warn ?? ((m) => console.warn(`kiln: ${m}`)))(`tuning ${groups[j].length} problem(s) of @${graph.name} failed to build; their defaults are used:\n${e.message}`);
      for (const pv of groups[j]) problems.set(pv.problem.id, defaultResult(pv.problem, `the tuning build failed: ${e.message.split('\n')[0]}`));
    }
    cancelled();
    progress(0.5);
    for (const { group, lib } of libs) {
      lib.func('kiln_tune_set_threads', 'void (int n)')(opts.threads);
      for (const pv of group) {
        const result = measureProblem(pv, lib, opts.seed ?? 0, Math.max(1, opts.samples ?? 7), opts.budgetMs ?? 1000);
        measurements += result.candidates.filter((c) => c.ms !== null).length;
        problems.set(pv.problem.id, result);
        if (result.source === 'measured') choices.set(pv.problem.id, result.chosen);
        if (result.source === 'measured') opts.cache.put({ template: result.template, key: result.key, chosen: result.chosen, candidates: result.candidates, measuredAt: new Date().toISOString() }, pv.problem.candidates);
        progress(0.5 + (0.5 * ++finished) / lowered.length);
        // measuring is synchronous: let the event loop run (progress drawn, an interrupt delivered)
        await new Promise<void>((resolve) => setImmediate(resolve));
        cancelled();
      }
    }
  } finally {
    for (const { lib } of libs) lib.dispose();
  }
  return done(measurements);
}

function defaultResult(p: Problem, excluded?: string): ProblemResult {
  return {
    template: p.template, key: p.key, chosen: 0, source: 'default',
    candidates: p.candidates.map((params) => ({ params, ms: null, minMs: null, ...(excluded ? { excluded } : {}) })),
  };
}

const bytesOf = (d: TensorData): Uint8Array => {
  const v = d as Uint8Array;
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
};

/** One runnable variant: its kernel calls bound to its own buffer, and its outputs. */
interface Runner { readonly candidate: number; call(): void; outputs(): Tensor[] }

function runnerOf(pv: ProblemVariants, program: ProblemVariants['variants'][number] & { ok: true }, lib: NativeLibrary,
  inputs: ReadonlyMap<string, Tensor>): Runner {
  const p = program.program;
  const layout = layoutBuffers(p);
  const buffer = new ArrayBuffer(layout.totalBytes);
  const slot = (v: string) => { const s = layout.slots[layout.slotOf.get(v)!]; return new Uint8Array(buffer, s.offset, s.bytes); };
  for (const c of pv.graph.constants) {
    if (!layout.slotOf.has(c.name)) continue;
    if (!c.data) throw new KilnError(`constant '%${c.name}' has no data (IR text parsed without its weights)`, { node: c.name });
    slot(c.name).set(bytesOf(c.data.data));
  }
  for (const b of p.buffers) if (b.packed) slot(b.value).set(bytesOf(b.packed.data));
  for (const [name, t] of inputs) if (layout.slotOf.has(name)) slot(name).set(bytesOf(t.data));
  const calls = p.calls.map((c) => {
    const k = p.kernels.find((x) => x.name === c.kernel)!;
    return { fn: lib.func(k.name, `void (${k.params.map(() => 'void *').join(', ') || 'void'})`), args: c.args.map(slot) };
  });
  const types = valueTypes(pv.graph);
  return {
    candidate: program.candidate,
    call: () => { for (const c of calls) c.fn(...c.args); },
    outputs: () => pv.graph.outputs.map((o) => {
      const t = types.get(o)!, shape = t.shape as number[];
      const data = dtypeInfo(t.dtype as DType).alloc(shape.reduce((a, b) => a * b, 1));
      bytesOf(data).set(slot(o));
      return new Tensor(t.dtype, shape, data);
    }),
  };
}

/** Inputs of a cut-out node: floats seeded normal, integers and bools 0 (an index is always in range). */
function tuningInputs(graph: Graph, seed: number): Map<string, Tensor> {
  const out = randomInputs(graph, seed);
  for (const [name, t] of out) if (!dtypeInfo(t.dtype).isFloat) out.set(name, Tensor.zeros(t.dtype, [...t.shape]));
  return out;
}

/** Why `got` disagrees with `want` (floats within AGREEMENT of the largest |want|); undefined when it agrees. */
function disagreement(got: readonly Tensor[], want: readonly Tensor[]): string | undefined {
  for (const [k, w] of want.entries()) {
    let scale = 0;
    if (dtypeInfo(w.dtype).isFloat) for (const x of readNumbers(w)) if (Number.isFinite(x)) scale = Math.max(scale, Math.abs(x));
    const reason = diffTensors(got[k], w, { rtol: AGREEMENT, atol: AGREEMENT * scale }).reason;
    if (reason) return `output ${k}: ${reason}`;
  }
  return undefined;
}

/** Runs, checks and times every variant of one problem (see the module header, steps 4 to 6). */
function measureProblem(pv: ProblemVariants, lib: NativeLibrary, seed: number, samples: number, budgetMs: number): ProblemResult {
  const { problem } = pv;
  const inputs = tuningInputs(pv.graph, seed);
  const excluded = new Map<number, string>();
  const runners: Runner[] = [];
  for (const v of pv.variants) {
    if (v.ok) runners.push(runnerOf(pv, v, lib, inputs));
    else excluded.set(v.candidate, v.excluded);
  }
  // warm-up call, whose outputs are checked
  const outputs = new Map(runners.map((r) => { r.call(); return [r.candidate, r.outputs()] as const; }));
  const base = outputs.get(0);
  const disagree = base ? runners.filter((r) => disagreement(outputs.get(r.candidate)!, base) !== undefined) : runners;
  if (disagree.length) {
    const want = runReference(pv.graph, inputs);
    for (const r of runners) {
      const why = disagreement(outputs.get(r.candidate)!, want);
      if (why) excluded.set(r.candidate, `its results disagree with the reference executor: ${why}`);
    }
  }
  const live = runners.filter((r) => !excluded.has(r.candidate));
  const times = new Map<number, number[]>(live.map((r) => [r.candidate, []]));
  // at least MIN_ROUNDS rounds (a single sample is at the mercy of one stall) unless a round alone
  // takes longer than the whole budget; then more while the budget lasts
  const started = performance.now(), deadline = started + budgetMs;
  for (let round = 0; round < samples; round++) {
    const now = performance.now();
    if (round > 0 && now >= deadline && (round >= MIN_ROUNDS || now - started >= budgetMs * round)) break;
    for (const r of live) {
      const t = performance.now();
      r.call();
      times.get(r.candidate)!.push(performance.now() - t);
    }
  }
  const ms = (i: number) => (times.has(i) ? median(times.get(i)!) : null);
  const minMs = (i: number) => (times.has(i) ? Math.min(...times.get(i)!) : null);
  // the winner has the smallest fastest call: noise on a loaded machine (a descheduled thread, another
  // process's cache traffic) only ever adds time, so the minimum is the cost least disturbed by it
  let chosen = 0, best = Infinity;
  for (const r of live) if (minMs(r.candidate)! < best) { best = minMs(r.candidate)!; chosen = r.candidate; }
  return {
    template: problem.template, key: problem.key, chosen, source: live.length ? 'measured' : 'default',
    candidates: problem.candidates.map((params, i) => ({
      params, ms: ms(i), minMs: minMs(i), ...(excluded.has(i) ? { excluded: excluded.get(i) } : {}),
    })),
  };
}

/** One row of the tuning table: a candidate of a tunable choice one node's lowering made. */
export interface TuningRow {
  readonly node: string;
  readonly template: string;
  readonly key: string;
  readonly candidate: number;
  readonly params: TuningParams;
  /** Median ms of one call of this candidate's kernel; null when not measured. */
  readonly ms: number | null;
  /** Its fastest call in ms (the winner has the smallest); null when not measured. */
  readonly minMs: number | null;
  /** The node's FLOPs over `ms`; null when either is unknown. */
  readonly gflops: number | null;
  /** True for the candidate the program runs. */
  readonly chosen: boolean;
  readonly source: ChoiceSource;
  readonly excluded: string | null;
}

/** A program's tuning: how it was tuned and one row per (node, template, key, candidate). */
export interface TuningReport {
  readonly mode: TuningMode;
  readonly measurements: number;
  readonly ms: number;
  readonly rows: readonly TuningRow[];
}

/** The report of a program lowered with `outcome.choices`, whose lowering made `tunables`. */
export function tuningReport(graph: Graph, tunables: readonly Tunable[], outcome: TuningOutcome): TuningReport {
  const types = valueTypes(graph);
  const nodes = new Map(graph.nodes.map((n) => [nodeId(n), n]));
  const rows = tunables.flatMap((t): TuningRow[] => {
    const r = outcome.problems.get(`${t.template}|${t.key}`);
    const n = nodes.get(t.node);
    const flops = n ? nodeFlops(n, n.inputs.map((v) => (v ? types.get(v) : undefined))) : null;
    return t.candidates.map((params, i) => {
      const ms = r?.candidates[i]?.ms ?? null;
      return {
        node: t.node, template: t.template, key: t.key, candidate: i, params, ms, minMs: r?.candidates[i]?.minMs ?? null,
        gflops: flops !== null && flops > 0 && ms !== null && ms > 0 ? flops / (ms * 1e6) : null,
        chosen: i === t.chosen, source: r?.source ?? 'default', excluded: r?.candidates[i]?.excluded ?? null,
      };
    });
  });
  return { mode: outcome.mode, measurements: outcome.measurements, ms: outcome.ms, rows };
}
