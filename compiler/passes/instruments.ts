/**
 * Pass instruments: hooks the PassManager calls around every pass, so passes themselves never time,
 * print, dump, verify or check anything.
 *
 * An instrument may implement `begin(graph)` (once, with the step-0 graph), `shouldRun(info)` (false
 * skips the pass), `before(info)` and `after(info, result)`. The manager calls `before` hooks in list
 * order and `after` hooks in reverse order, so instruments nest like brackets around the pass; an
 * `after` hook may fill in fields of the step result (timing sets `ms`, the numeric check its errors).
 *
 * The standard instruments:
 * - `timingInstrument()`        wall time of the pass alone (the manager puts it innermost);
 * - `printIrInstrument(mode, sink)` IR text after every pass (`all`) or after passes that changed the
 *                               graph (`change`), to a callback (never stdout), with a header line
 *                               `// ----- after <pass> (step N) -----`;
 * - `dumpDirInstrument(dir)`    writes `000_input.kir`, `001_<pass>.kir`, ... (stale dumps removed first);
 * - `verifierInstrument()`      structural + op-aware verification of each changed graph (op-aware
 *                               rules only for the nodes the pass touched); errors name the pass,
 *                               the node and the rule;
 * - `numericCheckInstrument(o)` reference run on seeded inputs vs step 0 (numeric-check.ts).
 */
import path from 'node:path';
import type { Constant, Graph, Node } from '../ir/graph.ts';
import { valueTypes } from '../ir/graph.ts';
import { printGraph } from '../ir/print.ts';
import { hashOf } from '../ir/weights.ts';
import { collectTypeErrors, verifyAll } from '../ops/verify-types.ts';
import { collectGraphErrors } from '../ir/verify.ts';
import { KilnError, withPlace } from '../errors.ts';
import { ensureFolder, removeMatching, writeFileAtomic } from '../files.ts';
import type { Decision, OptionValue, Pass } from './pass.ts';
import type { PipelineEntry } from './pipeline.ts';
import { NumericChecker, type NumericCheckOptions } from './numeric-check.ts';

/** What an instrument knows about the step about to run (or just run). */
export interface StepInfo {
  /** Step number: 1 for the first pass (step 0 is the input graph). */
  readonly step: number;
  readonly pass: Pass;
  /** The pipeline entry, options resolved (defaults filled in). */
  readonly entry: PipelineEntry;
  /** The graph before the pass. */
  readonly graph: Graph;
}

/** The record of one step. Instruments fill `ms` and the numeric fields in their `after` hooks. */
export interface StepResult {
  readonly step: number;
  readonly pass: string;
  /** Every option of the pass, defaults filled in. */
  readonly options: Readonly<Record<string, OptionValue>>;
  /** The graph after the pass (the input object itself when nothing changed). */
  readonly graph: Graph;
  /** False when the pass returned its input graph object (or was skipped). */
  readonly changed: boolean;
  /** True when an instrument's `shouldRun` skipped the pass. */
  readonly skipped?: boolean;
  /** Wall time of the pass in milliseconds (set by the timing instrument). */
  ms: number;
  /** The pass's statistics counters. */
  readonly stats: Readonly<Record<string, number>>;
  /** Fusion (and other) decisions the pass recorded. */
  readonly decisions: readonly Decision[];
  readonly nodesBefore: number;
  readonly nodesAfter: number;
  /** Numeric check: max abs error of the outputs against step 0. */
  maxAbsError?: number;
  /** Numeric check: max abs error relative to the largest |ref| of the output. */
  maxRelError?: number;
  /** Numeric check: whether every output is within tolerance. */
  withinTolerance?: boolean;
  /** Numeric check past tolerance: the first node whose value differs from step 0. */
  firstDivergent?: string;
}

/** Hooks around each pass. */
export interface PassInstrument {
  readonly name: string;
  /** Called once with the step-0 graph before any pass runs. */
  begin?(graph: Graph): void;
  /** Returning false skips the pass (the step is recorded as skipped and unchanged). */
  shouldRun?(info: StepInfo): boolean;
  before?(info: StepInfo): void;
  after?(info: StepInfo, result: StepResult): void;
}

/** Measures the wall time of each pass into `result.ms`. */
export function timingInstrument(): PassInstrument {
  let t0 = 0;
  return {
    name: 'timing',
    before() { t0 = performance.now(); },
    after(_info, result) { if (!result.skipped) result.ms = performance.now() - t0; },
  };
}

/** The header line printed before a step's IR: `// ----- after <pass> (step N) -----`. */
export function stepHeader(result: Pick<StepResult, 'pass' | 'step'>): string {
  return `// ----- after ${result.pass} (step ${result.step}) -----`;
}

/** Receives IR text: the header line, the printed graph (ending in a newline) and the step. */
export type IrSink = (header: string, text: string, result: StepResult) => void;

/** Prints the IR after every pass (`all`) or only after passes that changed the graph (`change`). */
export function printIrInstrument(mode: 'all' | 'change', sink: IrSink): PassInstrument {
  return {
    name: `print-ir-after-${mode}`,
    after(_info, result) {
      if (mode === 'change' && !result.changed) return;
      sink(stepHeader(result), printGraph(result.graph), result);
    },
  };
}

/** A file name for a dump: `001_fold-constants.kir` (characters outside [A-Za-z0-9_.-] become `_`). */
export function dumpFileName(step: number, pass: string): string {
  return `${String(step).padStart(3, '0')}_${pass.replace(/[^A-Za-z0-9_.-]/g, '_')}.kir`;
}

/** Writes the input and every step's IR into `dir` (created if missing; old `NNN_*.kir` dumps removed). */
export function dumpDirInstrument(dir: string): PassInstrument {
  const write = (name: string, g: Graph) => writeFileAtomic(path.join(dir, name), printGraph(g), { what: 'IR dump' });
  return {
    name: 'dump-dir',
    begin(graph) {
      ensureFolder(dir, { what: 'the dump folder', makeParents: true });
      removeMatching(dir, /^\d{3,}_.*\.kir$/, 'the dump folder');
      write(dumpFileName(0, 'input'), graph);
    },
    after(_info, result) { write(dumpFileName(result.step, result.pass), result.graph); },
  };
}

/**
 * The nodes of `after` whose op-aware verification can differ from `before`'s: nodes that are new
 * objects, and nodes reading a value whose definition (graph input, constant or producing node object)
 * changed. Every other node has the same attributes, the same input types and the same constant input
 * values as a node that already verified, so its type rule gives the same answer.
 */
export function nodesToReverify(before: Graph, after: Graph): Node[] {
  const defs = (g: Graph) => {
    const m = new Map<string, object>();
    for (const i of g.inputs) m.set(i.name, i);
    for (const c of g.constants) m.set(c.name, c);
    for (const n of g.nodes) for (const o of n.outputs) if (o) m.set(o, n);
    return m;
  };
  const oldNodes = new Set(before.nodes);
  const oldDefs = defs(before), newDefs = defs(after);
  return after.nodes.filter((n) => !oldNodes.has(n) || n.inputs.some((i) => i !== '' && oldDefs.get(i) !== newDefs.get(i)));
}

/** True for a constant whose hash is computed on first read (a lazy constant, ir/lazy-weights.ts). */
function hasLazyHash(c: Constant): boolean {
  return typeof Object.getOwnPropertyDescriptor(c, 'hash')?.get === 'function';
}

/**
 * Verifies each changed graph; the KilnError names the pass, the node, the op and the rule. The
 * structural rules (ir/verify.ts) run on the whole graph; the op-aware rules (ops/verify-types.ts) on
 * the nodes `nodesToReverify` picks, through a graph of just those nodes whose other values become
 * graph inputs of the same types (an unchanged node needs no second look, and re-running every type
 * rule after every pass dominated the pipeline time on large models). Constants: the structural rules
 * see unchanged constant objects (checked when they were made) and lazy constants (whose hash is by
 * construction the hash of their data, computed on first read) by name and type only, so verifying never
 * forces a lazy weight; the other new constants are checked whole, hash included. The step-0 graph is
 * verified whole in `begin`, without hash checks.
 */
export function verifierInstrument(): PassInstrument {
  return {
    name: 'verifier',
    begin(graph) {
      try {
        verifyAll(graph, { checkHashes: false });
      } catch (e) {
        if (e instanceof KilnError) throw withPlace(e, {}, 'the input graph does not verify: ');
        throw e;
      }
    },
    after(info, result) {
      if (!result.changed) return;
      const pass = info.pass.name;
      const graph = result.graph;
      const old = new Set(info.graph.constants);
      const fresh = graph.constants.filter((c) => !old.has(c) && !hasLazyHash(c));
      const freshSet = new Set(fresh);
      const constants = graph.constants.map((c): Constant => (freshSet.has(c) ? c : { name: c.name, type: c.type, hash: '0' }));
      const structural = collectGraphErrors({ ...graph, constants }, { pass, checkHashes: false });
      if (structural.length) throw structural[0];
      const nodes = nodesToReverify(info.graph, graph);
      const checked = new Set(nodes);
      const types = valueTypes(graph);
      const inputs = [...graph.inputs];
      for (const n of graph.nodes) if (!checked.has(n)) for (const o of n.outputs) if (o) inputs.push({ name: o, type: types.get(o)! });
      const typeErrors = collectTypeErrors({ ...graph, inputs, nodes }, { pass });
      if (typeErrors.length) throw typeErrors[0];
      for (const c of fresh) {
        if (!c.data) continue;
        const h = hashOf(c.data);
        if (!h.startsWith(c.hash)) {
          throw new KilnError(`constant '${c.name}' hash ${c.hash.slice(0, 16)} does not match its data (${h.slice(0, 16)})`,
            { pass, rule: 'const.hash', node: c.name });
        }
      }
    },
  };
}

/** The numeric-check instrument; `checker()` gives the NumericChecker once `begin` has run. */
export interface NumericCheckInstrument extends PassInstrument {
  checker(): NumericChecker | undefined;
}

/** Runs the numeric check after each step and records its errors in the step result. */
export function numericCheckInstrument(opts: NumericCheckOptions = {}): NumericCheckInstrument {
  let checker: NumericChecker | undefined;
  return {
    name: 'numeric-check',
    checker: () => checker,
    begin(graph) { checker = new NumericChecker(graph, opts); },
    after(info, result) {
      if (!checker) checker = new NumericChecker(info.graph, opts);
      const r = checker.check(result.graph);
      result.maxAbsError = r.maxAbsError;
      result.maxRelError = r.maxRelError;
      result.withinTolerance = r.withinTolerance;
      if (r.firstDivergent !== undefined) result.firstDivergent = r.firstDivergent;
    },
  };
}
