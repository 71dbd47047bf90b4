/**
 * The data model of an optimization report (compiler/report): what `collectReport` gathers from a
 * Session and its runs, as plain records and result tables, before anything is rendered or written.
 * The HTML page (html.ts), the Arrow tables, the IR files and manifest.json (write.ts, manifest.ts)
 * are all made from one `ReportData`, so they show the same numbers.
 *
 * Nothing below compiler/report imports this folder: the report is a consumer of the Session, the
 * results tables and the display renderers, beside the shells.
 */
import type { Graph } from '../ir/graph.ts';
import type { GraphDiff } from '../ir/diff.ts';
import type { Value } from '../ir/value.ts';
import type { ResultTable } from '../results/table.ts';
import type { MemoryPlan } from '../schedule/plan.ts';
import type { MemorySummary } from '../results/memory.ts';
import type { NodeTimings } from '../runtime/timings.ts';
import type { Artifact, Unsupported } from '../runtime/backend.ts';
import type { TuningMode } from '../runtime/tune/tuner.ts';
import type { GraphSummary } from '../zoo/summary.ts';

/** Backends a report times when none are named. */
export const DEFAULT_REPORT_BACKENDS: readonly string[] = ['ref', 'cpu'];

/** Options of a report (`kiln report`, `Session.report`, `%report`). */
export interface ReportOptions {
  /** Backends to time the final step on, in order (default `ref` and `cpu`); each at most once. */
  readonly backends?: readonly string[];
  /** Timed runs per backend (default 3); run times are medians over them. */
  readonly repeat?: number;
  /** Untimed runs first (default 1). */
  readonly warmup?: number;
  /** Seed of the random inputs every run gets (default 0). */
  readonly seed?: number;
  /** Threads of a CPU backend (default: all cores). */
  readonly threads?: number;
  /** Schedule tuning of a compiled backend (default: the backend's). */
  readonly tuning?: TuningMode;
  /** The command line as given, for the manifest (default: none recorded). */
  readonly argv?: readonly string[];
  /** Progress of each phase: a label and a fraction in [0, 1] when known. */
  readonly onProgress?: (label: string, fraction?: number) => void;
  /** Called between phases and runs; a shell yields to its event loop here so an interrupt is seen. */
  readonly yield?: () => void | Promise<void>;
  /** Aborts a long run (the shells' interrupt). */
  readonly signal?: AbortSignal;
  /** Notes for the user (a backend that cannot run here replaced by the reference one). */
  readonly onWarning?: (message: string) => void;
}

/** One pipeline step as the report shows it. */
export interface ReportStep {
  readonly index: number;
  readonly pass: string;
  readonly ms: number;
  readonly nodesBefore: number;
  readonly nodesAfter: number;
  readonly changed: boolean;
  /** The canonical IR text after the step (`Session.ir(k)`). */
  readonly ir: string;
  /** The diff from the previous step (undefined for step 0). */
  readonly diff?: GraphDiff;
  /** The numeric check against step 0; undefined when it did not run (`checkSkipped` says why). */
  readonly check?: { readonly maxAbsError: number; readonly maxRelError: number; readonly ok: boolean; readonly firstDivergent?: string };
}

/** A file a backend generated for its program (Program.artifacts), as written under sources/. */
export interface ReportSource {
  /** Path inside the report folder: `sources/<backend>/<name>`. */
  readonly path: string;
  readonly kind: Artifact['kind'];
  readonly content: string;
  /** IR node ids the file belongs to (per-kernel sources). */
  readonly nodes?: readonly string[];
}

/** One backend's timing of the final step. */
export interface ReportBackend {
  /** The backend asked for. */
  readonly asked: string;
  /** The backend that ran (the reference one when the one asked cannot run here). */
  readonly backend: string;
  readonly timings: NodeTimings;
  readonly prepareMs: number;
  /** Its outputs on the seeded inputs, in graph output order. */
  readonly outputs: readonly Value[];
  /** Largest norm-relative error of its outputs against the reference executor on step 0. */
  readonly maxRelError: number;
  readonly sources: readonly ReportSource[];
  readonly fallbacks: readonly Unsupported[];
}

/** The reference executor on the loaded model (step 0): the "before" of the headline. */
export interface ReportBaseline {
  readonly backend: string;
  readonly runMs: readonly number[];
  readonly medianMs: number;
  readonly inputs: ReadonlyMap<string, Value>;
  readonly outputs: readonly Value[];
}

/** Everything a report shows, gathered once (collect.ts). */
export interface ReportData {
  readonly source: string;
  readonly target: string;
  readonly pipeline: string;
  /** The options the report ran with, defaults filled in. */
  readonly options: Required<Pick<ReportOptions, 'backends' | 'repeat' | 'warmup' | 'seed'>> & Pick<ReportOptions, 'threads' | 'tuning' | 'argv'>;
  readonly graph0: Graph;
  readonly final: Graph;
  readonly summary: GraphSummary;
  readonly steps: readonly ReportStep[];
  /** Why steps have no numeric check (numeric check off, or symbolic inputs), when they have none. */
  readonly checkSkipped?: string;
  readonly tolerance: { readonly rtol: number; readonly atol: number; readonly seed: number };
  readonly memory: { readonly plan: MemoryPlan; readonly summary: MemorySummary };
  readonly baseline: ReportBaseline;
  readonly backends: readonly ReportBackend[];
  /** Every table the page shows, by file name (without `.arrow`), in page order. */
  readonly tables: ReadonlyMap<string, ResultTable>;
  /** The headline before/after table (also in `tables` as `headline`). */
  readonly headline: ResultTable;
}
