/**
 * The Session: the one object the Jupyter kernel, the REPL and reports drive to step through the
 * compiler one pass at a time, go back, branch, compare, and see numerically that nothing broke.
 *
 * Model. A session holds a pipeline (a list of entries, compiler/passes/pipeline.ts), a timeline of
 * computed steps and a cursor. Step 0 is the loaded graph; step k is the graph after the first k
 * entries. `step()` moves the cursor one step forward, running the entry through the PassManager
 * (compiler/passes/manager.ts `runEntry`: option defaults, statistics, decisions, verifier, timing)
 * unless that step is already on the timeline; `back`/`goto` only move the cursor, so going forward
 * again reuses the computed snapshots (passes are pure). Changing the pipeline keeps the steps whose
 * entries are unchanged (the common prefix) and drops the rest. `branch()` starts a new session that
 * shares the steps up to the cursor (the same objects) and continues with another pipeline, so the two
 * can be compared.
 *
 * Snapshots. Every step record is frozen and holds the graph the pass returned; passes share unchanged
 * nodes and constants, and the session never copies anything, so a weight tensor exists once however
 * many steps there are (`history[0].graph.constants[i] === history[5].graph.constants[j]`).
 *
 * Numeric check. After each new step (when on, the default) the graph runs through the reference
 * executor on fixed seeded inputs and is compared with step 0 (compiler/passes/numeric-check.ts: max
 * abs error and norm-relative error; past tolerance, the first divergent node). The checker is built
 * lazily from step 0 and shared with branches; its results are cached per graph object. The check
 * needs concrete sizes: when a graph input of step 0 keeps a symbolic dim (nothing bound it with
 * `shapes`/`dims`), steps are not checked and `numericCheckSkipped` (and the summary) says why and
 * how to bind them; `check()` then throws that reason. No number is ever computed at a made-up size.
 * Likewise a sequence or optional graph input (random inputs are tensors): the reason names it.
 */
import { type Graph, formatType } from './ir/graph.ts';
import { printGraph } from './ir/print.ts';
import { diffGraphs, type GraphDiff } from './ir/diff.ts';
import { Comparison } from './session-compare.ts';
import { KilnError } from './errors.ts';
import { loadModel, type LoadOptions } from './load.ts';
import type { Decision, OptionValue } from './passes/pass.ts';
import { type PipelineEntry, parsePipeline, printPipeline, sameValue } from './passes/pipeline.ts';
import { PassManager, lookupPass, type PassInstrument, type StepResult } from './passes/manager.ts';
import { NumericChecker, type NumericResult } from './passes/numeric-check.ts';
import { TARGETS, defaultPipeline, isTarget } from './passes/all.ts';
import { bindShapes, requireStaticShapes, unboundDims } from './ops/bind-shapes.ts';
import type { ResultTable } from './results/table.ts';
import { nodesTable } from './results/nodes.ts';
import { passesTable, decisionsTable, fusionsTable, fusionMapOf, type StepDecision } from './results/passes.ts';
import { diffTable } from './results/diff.ts';
import type { MemoryPlan } from './schedule/plan.ts';
import { planMemoryCached, type MemoryOptions } from './results/memory.ts';
import type { NodeTimings } from './runtime/timings.ts';
import { type ExecuteOptions, type SessionRun, ProgramCache, executeStep, timeStep } from './session-run.ts';
import { SnapshotArtifacts } from './session-artifacts.ts';
import { sessionSummary } from './session-summary.ts';
import type { ReportOptions } from './report/model.ts';
import type { WrittenReport } from './report/index.ts';

export { Comparison } from './session-compare.ts';
export type { ExecuteOptions, SessionRun, PreparedStep } from './session-run.ts';
export { SnapshotArtifacts, STAGES, type Stage, type StageText, type NodeKernel } from './session-artifacts.ts';

/** Options of `Session.load`. */
export interface SessionOptions extends LoadOptions {
  /** Compilation target passes see (`ref`, `cpu`, `cuda`, `webgpu`). Default `cpu`. */
  readonly target?: string;
  /** Pipeline text; default: the target's default pipeline. */
  readonly pipeline?: string;
  /** Numeric check after each step (default true). */
  readonly numericCheck?: boolean;
  /** Relative tolerance of the numeric check (default 1e-4). */
  readonly rtol?: number;
  /** Absolute tolerance of the numeric check (default 1e-6). */
  readonly atol?: number;
  /** Seed of the numeric check's inputs (default 0). */
  readonly seed?: number;
  /** Verify each changed graph (default true). */
  readonly verify?: boolean;
  /** Extra PassManager instruments (IR printing, dumps). */
  readonly instruments?: readonly PassInstrument[];
}

/** One step of a session: a frozen PassManager StepResult plus its index. Step 0 is the load. */
export interface Step extends Readonly<Omit<StepResult, 'ms'>> {
  /** Same as `step`: 0 for the loaded graph, k after k pipeline entries. */
  readonly index: number;
  readonly ms: number;
}

/** The state branches share: the model's step 0 and its numeric checker. */
interface Shared {
  readonly source: string;
  /** Numeric checkers by `rtol,atol` (each runs step 0 once, lazily). */
  readonly checkers: Map<string, NumericChecker>;
  /** Whether the PassManager has seen step 0 (`begin`). */
  begun: boolean;
}

const NUMERIC_DEFAULTS = { rtol: 1e-4, atol: 1e-6, seed: 0 };

/** A stepping session over one model. */
export class Session {
  private steps: Step[];
  private entries: PipelineEntry[];
  private cursor: number;
  private checkOn: boolean;
  private rtol: number;
  private atol: number;
  /** Programs prepared for this session's steps (session-run.ts); disposed by `close()`. */
  readonly programs = new ProgramCache();

  private constructor(private readonly shared: Shared, first: Step[], entries: PipelineEntry[], cursor: number,
    private readonly opts: SessionOptions, private readonly manager: PassManager) {
    this.steps = first;
    this.entries = entries;
    this.cursor = cursor;
    this.checkOn = opts.numericCheck ?? true;
    this.rtol = opts.rtol ?? NUMERIC_DEFAULTS.rtol;
    this.atol = opts.atol ?? NUMERIC_DEFAULTS.atol;
  }

  /**
   * Loads `zoo:NAME`, a .onnx or .kir file, or takes a Graph, binds `shapes`/`dims` (symbolic input
   * dims → sizes, ops/bind-shapes.ts) and sets the pipeline.
   */
  static load(model: string | Graph, opts: SessionOptions = {}): Session {
    const t0 = performance.now();
    const graph = typeof model === 'string' ? loadModel(model, opts) : bindShapes(model, opts);
    const ms = performance.now() - t0;
    const target = opts.target ?? 'cpu';
    if (!isTarget(target)) throw new KilnError(`unknown target '${target}'; targets: ${TARGETS.join(', ')}`);
    const manager = new PassManager({ target, verify: opts.verify, instruments: opts.instruments });
    const n = graph.nodes.length;
    const exact = (opts.numericCheck ?? true) && numericCheckBlocked(graph) === undefined ? { maxAbsError: 0, maxRelError: 0, withinTolerance: true } : {};
    const step0: Step = Object.freeze({
      step: 0, index: 0, pass: 'load', options: Object.freeze({}), graph, changed: false, ms,
      stats: Object.freeze({}), decisions: Object.freeze([]), nodesBefore: n, nodesAfter: n, ...exact,
    });
    const shared: Shared = { source: typeof model === 'string' ? model : graph.name, checkers: new Map(), begun: false };
    const s = new Session(shared, [step0], [], 0, { ...opts, target }, manager);
    return s.pipeline(opts.pipeline ?? defaultPipeline(target, graph));
  }

  /** The model reference the session was loaded from (or the graph's name). */
  get source(): string {
    return this.shared.source;
  }

  /** The options the session was loaded with (shape bindings, zoo seed, numeric check settings). */
  get options(): Readonly<SessionOptions> {
    return Object.freeze({ ...this.opts });
  }

  /** The target passes see. */
  get target(): string {
    return this.manager.target;
  }

  /** Index of the current step (0 = the loaded graph). */
  get current(): number {
    return this.cursor;
  }

  /** Every computed step, in order (may run past `current` after `back`/`goto`). */
  get history(): readonly Step[] {
    return Object.freeze(this.steps.slice());
  }

  /** The step record at `step` (default: current). */
  at(step = this.cursor): Step {
    this.checkIndex(step, 'at');
    if (step >= this.steps.length) {
      throw new KilnError(`step ${step} has not been computed yet (steps 0..${this.steps.length - 1} exist); use goto(${step}) to run to it`);
    }
    return this.steps[step];
  }

  /** Number of steps in the pipeline (the last step index). */
  get length(): number {
    return this.entries.length;
  }

  // ---- pipeline ---------------------------------------------------------------------------------

  /**
   * Sets the pipeline. Computed steps whose entries are unchanged are kept (so are their snapshots);
   * the rest of the timeline is dropped and the cursor moves back if it was past the kept part.
   */
  pipeline(text: string): this {
    const entries = [...parsePipeline(text).entries];
    let keep = 0;
    while (keep < entries.length && keep < this.entries.length && sameEntry(entries[keep], this.entries[keep])) keep++;
    this.entries = entries;
    this.steps = this.steps.slice(0, Math.min(this.steps.length, keep + 1));
    this.cursor = Math.min(this.cursor, this.steps.length - 1);
    void this.programs.retain(this.steps.map((st) => st.graph)); // programs of dropped snapshots are disposed
    return this;
  }

  /** The pipeline's entries (every option resolved). */
  get pipelineEntries(): readonly PipelineEntry[] {
    return Object.freeze(this.entries.slice());
  }

  /** The pipeline as canonical text. */
  get pipelineText(): string {
    return printPipeline({ entries: this.entries });
  }

  // ---- moving -----------------------------------------------------------------------------------

  /** Runs (or reuses) the next step and moves there. */
  step(): Step {
    if (this.cursor >= this.entries.length) {
      throw new KilnError(this.entries.length === 0
        ? 'the pipeline is empty: set one with pipeline(text)'
        : `already at the last step (${this.cursor}) of the pipeline '${this.pipelineText}'`);
    }
    return this.advanceTo(this.cursor + 1);
  }

  /**
   * Runs forward through the next occurrence of pass `name` after the current step, or forward to step
   * index `target`.
   */
  stepTo(target: string | number): Step {
    if (typeof target === 'number') {
      this.checkIndex(target, 'stepTo');
      if (target < this.cursor) throw new KilnError(`stepTo(${target}) would go backwards from step ${this.cursor}; use back() or goto()`);
      return this.advanceTo(target);
    }
    lookupPass(target); // unknown pass names: the registry's error with suggestions
    const k = this.entries.findIndex((e, i) => i >= this.cursor && e.pass === target);
    if (k < 0) {
      const done = this.entries.slice(0, this.cursor).some((e) => e.pass === target);
      throw new KilnError(`pass '${target}' does not occur after step ${this.cursor} of the pipeline '${this.pipelineText}'`
        + (done ? ' (it ran already; use goto() to go back)' : ''));
    }
    return this.advanceTo(k + 1);
  }

  /** Runs the rest of the pipeline; returns the last step. */
  run(): Step {
    return this.advanceTo(this.entries.length);
  }

  /** Moves the cursor back n steps (default 1); nothing is recomputed. */
  back(n = 1): Step {
    if (!Number.isInteger(n) || n < 0) throw new KilnError(`back(n) needs a whole number of steps >= 0, got ${n}`);
    if (n > this.cursor) throw new KilnError(`cannot go back ${n} step${n === 1 ? '' : 's'} from step ${this.cursor}; step 0 is the loaded model`);
    this.cursor -= n;
    return this.steps[this.cursor];
  }

  /** Moves to step index `step`, running forward when it has not been computed. */
  goto(step: number): Step {
    this.checkIndex(step, 'goto');
    if (step < this.steps.length) {
      this.cursor = step;
      return this.steps[step];
    }
    return this.advanceTo(step);
  }

  /**
   * A new session sharing the steps up to the current one (the same snapshot objects). With pipeline
   * text, the branch continues with those passes after the current step; without, with the same rest.
   */
  branch(pipelineText?: string): Session {
    const done = this.entries.slice(0, this.cursor);
    const rest = pipelineText === undefined ? this.entries.slice(this.cursor) : [...parsePipeline(pipelineText).entries];
    const s = new Session(this.shared, this.steps.slice(0, this.cursor + 1), [...done, ...rest], this.cursor,
      this.opts, this.manager);
    s.checkOn = this.checkOn;
    s.rtol = this.rtol;
    s.atol = this.atol;
    return s;
  }

  private advanceTo(target: number): Step {
    while (this.cursor < target) {
      const next = this.cursor + 1;
      if (next >= this.steps.length) this.steps.push(this.runStep(next));
      this.cursor = next;
    }
    return this.steps[this.cursor];
  }

  private runStep(index: number): Step {
    const before = this.steps[index - 1];
    if (index === 1) this.ensureBegun();
    const r = this.manager.runEntry(before.graph, this.entries[index - 1], index);
    const step: Step = Object.freeze({
      ...r, index, options: Object.freeze({ ...r.options }), stats: Object.freeze({ ...r.stats }), decisions: Object.freeze([...r.decisions]),
    });
    return this.checkOn && this.numericCheckSkipped === undefined ? this.withNumbers(step) : step;
  }

  /** Lets the manager's instruments see step 0 (verifier, dumps) once per session and its branches. */
  private ensureBegun(): void {
    if (this.shared.begun) return;
    this.manager.begin(this.steps[0].graph);
    this.shared.begun = true;
  }

  // ---- numeric check ----------------------------------------------------------------------------

  /** Whether new steps are checked numerically against step 0. */
  get numericCheck(): boolean {
    return this.checkOn;
  }
  set numericCheck(on: boolean) {
    this.checkOn = on;
  }

  /**
   * Why steps are not checked although the check is on: step 0 has symbolic input dims (the reason
   * names them and the options that bind them). Undefined when the check can run.
   */
  get numericCheckSkipped(): string | undefined {
    return numericCheckBlocked(this.steps[0].graph);
  }

  /** Relative tolerance of the numeric check. */
  get tolerance(): number {
    return this.rtol;
  }
  set tolerance(rtol: number) {
    this.setTolerance(rtol);
  }

  /** Absolute tolerance of the numeric check (set with `setTolerance`). */
  get absTolerance(): number {
    return this.atol;
  }

  /** Sets the tolerances (the reference outputs are recomputed on the next check). */
  setTolerance(rtol: number, atol = this.atol): this {
    if (!(rtol >= 0) || !(atol >= 0)) throw new KilnError(`tolerances must be numbers >= 0, got rtol ${rtol}, atol ${atol}`);
    this.rtol = rtol;
    this.atol = atol;
    return this;
  }

  /** Checks any computed step against step 0 now, whether the check is on or not. */
  check(step = this.cursor): NumericResult {
    return this.checker().check(this.at(step).graph);
  }

  private checker(): NumericChecker {
    requireStaticShapes(this.steps[0].graph, 'the numeric check');
    const key = `${this.rtol},${this.atol}`;
    let c = this.shared.checkers.get(key);
    if (!c) {
      c = new NumericChecker(this.steps[0].graph, { rtol: this.rtol, atol: this.atol, seed: this.opts.seed ?? NUMERIC_DEFAULTS.seed });
      this.shared.checkers.set(key, c);
    }
    return c;
  }

  private withNumbers(step: Step): Step {
    const r = this.checker().check(step.graph);
    return Object.freeze({
      ...step, maxAbsError: r.maxAbsError, maxRelError: r.maxRelError, withinTolerance: r.withinTolerance,
      ...(r.firstDivergent !== undefined ? { firstDivergent: r.firstDivergent } : {}),
    });
  }

  // ---- looking ----------------------------------------------------------------------------------

  /** The graph at `step` (default: current). */
  graph(step = this.cursor): Graph {
    return this.at(step).graph;
  }

  /** The printed IR at `step` (default: current). */
  ir(step = this.cursor): string {
    return printGraph(this.graph(step));
  }

  /** The diff from step `a` to step `b` (default: the previous step to the current one). */
  diff(a = Math.max(0, this.cursor - 1), b = this.cursor): GraphDiff {
    return diffGraphs(this.graph(a), this.graph(b));
  }

  /** Compares this session's current graph with another session's (e.g. a branch). */
  compare(other: Session): Comparison {
    return new Comparison(this, other);
  }

  /** Every decision of steps 1..current (or up to `step`), tagged with its step. */
  decisions(step = this.cursor): StepDecision[] {
    this.at(step);
    const out: StepDecision[] = [];
    for (const s of this.steps.slice(1, step + 1)) for (const d of s.decisions) out.push({ ...(d as Decision), step: s.index });
    return out;
  }

  /** Every fused node of the graph at `step` (default current) → the original ONNX node names. */
  fusionMap(step = this.cursor): Map<string, readonly string[]> {
    return fusionMapOf(this.graph(step));
  }

  /**
   * The memory plan of the graph at `step` (default current; options alone may come first): execution
   * order, live intervals, arena offsets, peak against lower bound and naive (compiler/schedule).
   * Computed once per step graph and options, so stepping back and forth costs nothing.
   */
  memory(step: number | MemoryOptions = this.cursor, opts: MemoryOptions = {}): MemoryPlan {
    if (typeof step === 'object') return planMemoryCached(this.graph(), step);
    return planMemoryCached(this.graph(step), opts);
  }

  // ---- running --------------------------------------------------------------------------------

  /**
   * Runs the graph of a step (default current) on a backend (default the reference executor), on
   * seeded random inputs or the inputs given, `repeat` times: outputs and run times
   * (compiler/session-run.ts; the program is prepared once per step graph and backend).
   */
  execute(opts: ExecuteOptions = {}): Promise<SessionRun> {
    return executeStep(this, opts);
  }

  /** Per-node timings of a step on a backend: medians over `repeat` runs, joined to IR node ids. */
  timings(opts: ExecuteOptions = {}): Promise<NodeTimings> {
    return timeStep(this, opts);
  }

  /**
   * Every stage of a step's snapshot (default current) as an artifact: IR text, memory plan, kernel IR,
   * C source, and what a backend built for it (compiler/session-artifacts.ts).
   */
  artifacts(step = this.cursor): SnapshotArtifacts {
    return new SnapshotArtifacts(this, step);
  }

  /**
   * Disposes every program this session prepared but keeps the session usable: a later run prepares
   * again (a warm object cache makes that a load, not a compile). The shells call it on the session a
   * `load` replaces, which a notebook variable may still hold.
   */
  releasePrograms(): Promise<void> {
    return this.programs.retain([]);
  }

  /** Disposes every program this session prepared (loaded libraries, device memory); idempotent. */
  close(): Promise<void> {
    return this.programs.close();
  }

  /**
   * Writes an optimization report of this session into folder `dir` (new or empty): report.html,
   * an Arrow file per table, the IR after each step, each backend's sources and outputs, and
   * manifest.json (compiler/report). The whole pipeline runs; the cursor stays where it is. Returns
   * what was written and the headline before/after table.
   */
  async report(dir: string, opts: ReportOptions = {}): Promise<WrittenReport> {
    // loaded on demand: the report sits above the Session and nothing below compiler/report imports it
    const { writeReport } = await import('./report/index.ts');
    return writeReport(this, dir, opts);
  }

  // ---- tables and summary -----------------------------------------------------------------------

  /** The nodes table at `step` (default current). */
  nodesTable(step = this.cursor): ResultTable {
    this.at(step);
    return nodesTable(this, step);
  }

  /** The passes table of steps 0..current (or of every computed step with `all`). */
  passesTable(all = false): ResultTable {
    return passesTable(all ? this.steps : this.steps.slice(0, this.cursor + 1), `passes of ${this.source}`);
  }

  /** The diff table from step a to step b (defaults as `diff`). */
  diffTable(a?: number, b?: number): ResultTable {
    return diffTable(this.diff(a, b));
  }

  /** The fusion decisions of steps 1..current. */
  decisionsTable(): ResultTable {
    return decisionsTable(this.decisions());
  }

  /** The fused nodes at `step` (default current) with their ONNX sources. */
  fusionsTable(step = this.cursor): ResultTable {
    return fusionsTable(this.graph(step));
  }

  /** A text report: the model, pipeline, the passes table up to the current step, and the current graph. */
  summary(): string {
    return sessionSummary(this);
  }

  private checkIndex(step: number, what: string): void {
    if (!Number.isInteger(step) || step < 0 || step > this.entries.length) {
      throw new KilnError(`${what}(${step}): no such step; steps run from 0 (the loaded model) to ${this.entries.length} (the end of the pipeline)`);
    }
  }
}

function sameEntry(a: PipelineEntry, b: PipelineEntry): boolean {
  if (a.pass !== b.pass) return false;
  const ka = Object.keys(a.options), kb = Object.keys(b.options);
  return ka.length === kb.length && ka.every((k) => k in b.options && sameValue(a.options[k] as OptionValue, b.options[k] as OptionValue));
}

/**
 * Why the numeric check cannot run on a step-0 graph, or undefined when it can: a symbolic input dim
 * (named, with the options that bind it), or a sequence or optional input (its random inputs are tensors).
 */
function numericCheckBlocked(graph: Graph): string | undefined {
  const unbound = unboundDims(graph);
  if (unbound.length) {
    return `symbolic input dim${unbound.length === 1 ? '' : 's'} ${unbound.map((u) => `${u.symbol} (in ${u.inputs.join(', ')})`).join(', ')}; `
      + 'bind them when loading: --shape INPUT=SIZES or --dim NAME=SIZE';
  }
  const container = graph.inputs.find((i) => i.type.container);
  return container ? `${formatType(container.type)} input '${container.name}': the check runs on random inputs, which are tensors` : undefined;
}
