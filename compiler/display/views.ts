/**
 * Display objects: small immutable wrappers that say what a value is, so the display layer
 * (mime.ts, terminal.ts) knows how to render it. A string of IR text and a string of generated C look
 * alike; wrapped in `IRView` or `SourceView` they render with the right highlighting. Commands return
 * these; notebook users can construct them too (`new IRView(session.ir())`).
 *
 * Nothing here renders; the renderers live beside each other in compiler/display/*.ts.
 */
import type { GraphDiff } from '../ir/diff.ts';
import type { Graph } from '../ir/graph.ts';
import type { NumericResult } from '../passes/numeric-check.ts';
import type { MemoryPlan } from '../schedule/plan.ts';
import type { Step } from '../session.ts';
import type { RunTiming } from '../runtime/timings.ts';
import type { ResultTable } from '../results/table.ts';

/** Printed IR text (`printGraph`), rendered with syntax colouring. */
export class IRView {
  constructor(readonly text: string, readonly title?: string) {}
}

/** Generated source code of a backend (C, CUDA, WGSL, ...). */
export class SourceView {
  constructor(readonly code: string, readonly language: string, readonly title?: string) {}
}

/** Plain text with an optional title (notes, pass descriptions). */
export class TextView {
  constructor(readonly text: string, readonly title?: string) {}
}

/** Options of a diff view. */
export interface DiffViewOptions {
  /** `---`/`+++` labels (default `a/<graph>`, `b/<graph>`). */
  readonly labels?: readonly [string, string];
  /** Unchanged lines around each change (default 3). */
  readonly context?: number;
  readonly title?: string;
}

/** A graph diff with its labels and context. */
export class DiffView {
  constructor(readonly diff: GraphDiff, readonly options: DiffViewOptions = {}) {}
}

/** One or more steps just taken (or moved to), with the diff they made. */
export class StepView {
  constructor(
    /** The steps moved through, in order (the last is where the session now is). */
    readonly steps: readonly Step[],
    /** The pipeline's length (last step index). */
    readonly total: number,
    /** The change from the step before the first to the last (absent when moving back). */
    readonly diff?: GraphDiff,
    /** A line said before the steps (e.g. `back 2:`). */
    readonly note?: string,
  ) {}

  /** The step the session is at now. */
  get step(): Step {
    return this.steps[this.steps.length - 1];
  }
}

/** One pipeline entry as shown. */
export interface PipelineItem {
  /** Step index this entry produces (1-based). */
  readonly step: number;
  readonly pass: string;
  /** The entry as pipeline text (`fuse-elementwise{max-ops=8}`). */
  readonly text: string;
}

/** A session's pipeline, its cursor and how far it has been computed. */
export class PipelineView {
  constructor(
    readonly items: readonly PipelineItem[],
    /** The current step. */
    readonly current: number,
    /** The last computed step. */
    readonly computed: number,
    readonly target: string,
    /** Canonical pipeline text. */
    readonly text: string,
  ) {}
}

/** A numeric check of one step against step 0. */
export class CheckView {
  constructor(readonly step: number, readonly pass: string, readonly result: NumericResult,
    readonly rtol: number, readonly atol: number) {}
}

/** A timed run of one step's graph on a backend. */
export class RunView {
  constructor(
    /** What ran, e.g. `zoo:mlp at step 9 (dce)`. */
    readonly label: string,
    readonly run: RunTiming,
    /** Output statistics as a table. */
    readonly outputs: ResultTable,
    readonly seed: number,
    /** Inputs as `name: dtype[shape]`. */
    readonly inputs: readonly string[],
    /** The backend that ran it. */
    readonly backend: string,
    /** Milliseconds the backend took to prepare (compile) the graph. */
    readonly prepareMs: number,
    /** The backend's one-line summary (`the reference executor (...)`). */
    readonly backendSummary = '',
    /** Lines after the inputs: the numeric check against the reference, when asked. */
    readonly notes: readonly string[] = [],
  ) {}
}

/** A memory plan with the graph it plans (for op names and colours). */
export class MemoryView {
  constructor(readonly plan: MemoryPlan, readonly graph?: Graph, readonly title?: string) {}
}

/** What `help` shows: every command, or one in detail. */
export interface HelpEntry {
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
  readonly examples?: readonly string[];
  readonly details?: string;
}

/** The help of the command table. */
export class HelpView {
  constructor(readonly entries: readonly HelpEntry[], readonly detailed = false) {}
}
