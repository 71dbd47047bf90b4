/**
 * The PassManager: runs pipeline entries one step at a time with instruments around each pass.
 *
 * A step looks the pass up in the registry, resolves its options (defaults filled in), creates fresh
 * statistics counters from the pass's declared specs and a decision list, then:
 *   1. asks every instrument's `shouldRun` (any false: the step is recorded as skipped, unchanged);
 *   2. calls `before` hooks in instrument order;
 *   3. runs the pass; anything it throws becomes a KilnError naming the pass (and the node, when the
 *      pass threw a KilnError that named one);
 *   4. builds the StepResult (changed = the pass returned a different Graph object) and calls the
 *      `after` hooks in reverse order.
 * The instrument list is [numeric check, verifier, ...the caller's instruments, timing], so timing
 * measures the pass alone, the caller's printers and dumps see a graph before the verifier can reject
 * it (a broken graph is still printed or dumped), and the numeric check runs only on verified graphs.
 *
 * `begin(graph)` announces step 0 (the dump writes `000_input.kir`, the numeric check computes its
 * reference, the verifier checks the input). `run` calls it; callers that drive `runEntry` one step at a
 * time (the Session) call it once with the step-0 graph — otherwise the first `runEntry` does, with the
 * graph it was given. Going back to an earlier step and running again needs no new `begin`: the
 * reference belongs to step 0.
 */
import type { Graph } from '../ir/graph.ts';
import { KilnError, withPlace } from '../errors.ts';
import { type Decision, type Pass, type PassContext, Statistics, findPass, allPasses } from './pass.ts';
import { type Pipeline, type PipelineEntry, nearest, parsePipeline, resolveOptions } from './pipeline.ts';
import {
  type NumericCheckInstrument, type PassInstrument, type StepInfo, type StepResult,
  numericCheckInstrument, timingInstrument, verifierInstrument,
} from './instruments.ts';
import type { NumericCheckOptions, NumericResult } from './numeric-check.ts';

export type { PassInstrument, StepInfo, StepResult } from './instruments.ts';

/** Settings of a PassManager. */
export interface PassManagerOptions {
  /** The compilation target passes see in their context: `ref` (default), `cpu`, `cuda`, `webgpu`. */
  target?: string;
  /** Extra instruments (IR printing, dumps, ...), outermost first. */
  instruments?: readonly PassInstrument[];
  /** Verify the graph after every pass that changed it. Default true. */
  verify?: boolean;
  /** Numeric check after every step against step 0, or false (the default) to switch it off. */
  numericCheck?: NumericCheckOptions | false;
}

/** Runs passes with instruments; one manager per pipeline run (or per Session). */
export class PassManager {
  readonly target: string;
  private readonly instruments: PassInstrument[];
  private readonly numeric?: NumericCheckInstrument;
  private begun = false;

  constructor(opts: PassManagerOptions = {}) {
    this.target = opts.target ?? 'ref';
    const list: PassInstrument[] = [];
    if (opts.numericCheck) list.push((this.numeric = numericCheckInstrument(opts.numericCheck)));
    if (opts.verify !== false) list.push(verifierInstrument());
    list.push(...(opts.instruments ?? []), timingInstrument());
    this.instruments = list;
  }

  /** Announces the step-0 graph to every instrument. */
  begin(graph: Graph): void {
    this.begun = true;
    for (const i of this.instruments) i.begin?.(graph);
  }

  /** The numeric check's result for any graph (cached per graph), when the check is on and has begun. */
  numericResult(graph: Graph): NumericResult | undefined {
    return this.numeric?.checker()?.check(graph);
  }

  /** Runs one pipeline entry on `graph` as step number `step` (1 = the first pass). */
  runEntry(graph: Graph, entry: PipelineEntry, step: number): StepResult {
    if (!this.begun) this.begin(graph);
    const pass = lookupPass(entry.pass);
    const options = resolveOptions(pass, entry.options);
    const info: StepInfo = { step, pass, entry: { pass: pass.name, options }, graph };
    const stats = new Statistics(pass.statistics);
    const decisions: Decision[] = [];
    const skip = this.instruments.some((i) => i.shouldRun && !i.shouldRun(info));
    let out = graph;
    if (!skip) {
      for (const i of this.instruments) i.before?.(info);
      const ctx: PassContext = {
        options,
        stats,
        target: this.target,
        decide: (d) => { decisions.push({ ...d, pass: pass.name }); },
      };
      out = runPass(pass, graph, ctx);
    }
    const result: StepResult = {
      step, pass: pass.name, options, graph: out, changed: out !== graph, ms: 0,
      stats: stats.toJSON(), decisions, nodesBefore: graph.nodes.length, nodesAfter: out.nodes.length,
      ...(skip ? { skipped: true } : {}),
    };
    for (let k = this.instruments.length - 1; k >= 0; k--) this.instruments[k].after?.(info, result);
    return result;
  }

  /** Runs a whole pipeline (text or parsed) from step 0; returns one result per entry (steps 1..n). */
  run(graph: Graph, pipeline: Pipeline | string): StepResult[] {
    const p = typeof pipeline === 'string' ? parsePipeline(pipeline) : pipeline;
    this.begin(graph);
    const results: StepResult[] = [];
    let g = graph;
    p.entries.forEach((entry, k) => {
      const r = this.runEntry(g, entry, k + 1);
      results.push(r);
      g = r.graph;
    });
    return results;
  }
}

/** The registered pass `name`; a KilnError listing the known passes otherwise. */
export function lookupPass(name: string): Pass {
  const pass = findPass(name);
  if (pass) return pass;
  const known = allPasses().map((p) => p.name);
  const near = nearest(name, known);
  throw new KilnError(`unknown pass '${name}'${near ? ` (did you mean '${near}'?)` : ''}; known passes: ${known.join(', ') || '(none registered)'}`);
}

/** Runs the pass, turning whatever it throws into a KilnError that names the pass. */
function runPass(pass: Pass, graph: Graph, ctx: PassContext): Graph {
  let out: Graph;
  try {
    out = pass.run(graph, ctx);
  } catch (e) {
    if (e instanceof KilnError) throw withPlace(e, { pass: pass.name });
    const err = new KilnError(`pass failed: ${e instanceof Error ? e.message : String(e)}`, { pass: pass.name });
    if (e instanceof Error) err.stack = `${err.message}\ncaused by: ${e.stack}`;
    throw err;
  }
  if (!out || typeof out !== 'object' || !Array.isArray(out.nodes)) {
    throw new KilnError('pass returned something that is not a Graph', { pass: pass.name });
  }
  return out;
}
