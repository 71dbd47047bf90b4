/**
 * The display entry points: `toMimeBundle(obj)` for notebooks and `toTerminal(obj, {color, width})`
 * for the REPL, over every kiln object.
 *
 * Dispatch is an ordered list of renderers, each a type test plus its two renderings; the first whose
 * test accepts the object renders it. Kiln's own classes are tested with `instanceof`; records that are
 * plain objects (a Session step, a GraphDiff, a MemoryPlan, a Graph) and the Session itself (so this
 * module need not load the compiler) by their distinctive fields. An
 * object that knows how to show itself — it has `toMimeBundle()` and `toTerminal(opts)` methods, as a
 * backend's generated-source object may — is asked first. Anything else is shown as Node's REPL would.
 *
 * Every bundle has text/plain and text/html; tables, timings and memory plans add
 * `application/vnd.apache.arrow.stream` (base64 of the Arrow IPC stream), charts add `image/svg+xml`.
 * `undefined` renders as the text `undefined`; shells decide whether to show it at all.
 */
import { printGraph } from '../ir/print.ts';
import type { Graph } from '../ir/graph.ts';
import type { GraphDiff } from '../ir/diff.ts';
import { Tensor } from '../ir/tensor.ts';
import { ResultTable } from '../results/table.ts';
import { NodeTimings } from '../runtime/timings.ts';
import type { Session, Comparison } from '../session.ts';
import type { MimeBundle, TerminalOptions } from './style.ts';
import { tableBundle, tableTerminal } from './table.ts';
import { irBundle, irTerminal } from './ir.ts';
import { sourceBundle, sourceTerminal } from './source.ts';
import { diffBundle, diffTerminal } from './diff.ts';
import {
  checkBundle, checkTerminal, comparisonBundle, comparisonTerminal, isStep, pipelineBundle, pipelineTerminal,
  sessionBundle, sessionTerminal, stepBundle, stepLine, stepViewBundle, stepViewTerminal,
} from './session.ts';
import { runBundle, runTerminal, timingBundle, timingTerminal } from './timing.ts';
import { isMemoryPlan, memoryBundle, memoryTerminal } from './memory.ts';
import {
  errorBundle, helpBundle, helpTerminal, stringBundle, tensorBundle, tensorTerminal, textBundle, textTerminal,
  valueBundle, valueTerminal, wrapLines,
} from './misc.ts';
import { CheckView, DiffView, HelpView, IRView, MemoryView, PipelineView, RunView, SourceView, StepView, TextView } from './views.ts';
import { fitLine } from './style.ts';

/** An object that renders itself. */
export interface SelfDisplaying {
  toMimeBundle(): MimeBundle;
  toTerminal(opts: TerminalOptions): string;
}

/** One entry of the dispatch list. */
interface Renderer {
  test(x: unknown): boolean;
  mime(x: never): MimeBundle;
  terminal(x: never, opts: TerminalOptions): string;
}

function isSelfDisplaying(x: unknown): x is SelfDisplaying {
  return typeof x === 'object' && x !== null && typeof (x as SelfDisplaying).toMimeBundle === 'function'
    && typeof (x as SelfDisplaying).toTerminal === 'function';
}

/** Is `x` a GraphDiff (compiler/ir/diff.ts)? */
export function isGraphDiff(x: unknown): x is GraphDiff {
  const d = x as GraphDiff;
  return typeof x === 'object' && x !== null && Array.isArray(d.nodes) && Array.isArray(d.constants)
    && typeof d.counts === 'object' && typeof d.a === 'object' && typeof d.b === 'object';
}

/**
 * Is `x` a Session? Tested by its members rather than `instanceof`, so the display layer does not load
 * the whole compiler (a kernel can render before any model is loaded).
 */
export function isSession(x: unknown): x is Session {
  const s = x as Session;
  return typeof x === 'object' && x !== null && typeof s.summary === 'function' && typeof s.passesTable === 'function'
    && typeof s.pipelineText === 'string' && typeof s.current === 'number';
}

/** Is `x` a Comparison of two sessions? */
export function isComparison(x: unknown): x is Comparison {
  const c = x as Comparison;
  return typeof x === 'object' && x !== null && isSession(c.left) && isSession(c.right) && isGraphDiff(c.diff) && typeof c.toText === 'function';
}

/** Is `x` a Graph (compiler/ir/graph.ts)? */
export function isGraph(x: unknown): x is Graph {
  const g = x as Graph;
  return typeof x === 'object' && x !== null && typeof g.name === 'string' && Array.isArray(g.nodes)
    && Array.isArray(g.constants) && Array.isArray(g.inputs) && Array.isArray(g.outputs);
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
const is = (cls: Function) => (x: unknown): boolean => x instanceof cls;
const graphView = (g: Graph) => new IRView(printGraph(g), `IR of @${g.name}`);

const RENDERERS: readonly Renderer[] = [
  { test: isSelfDisplaying, mime: (x: SelfDisplaying) => x.toMimeBundle(), terminal: (x: SelfDisplaying, o) => x.toTerminal(o) },
  { test: (x) => typeof x === 'string', mime: stringBundle, terminal: (x: string, o) => wrapLines(x, o.width) + (x.endsWith('\n') ? '' : '\n') },
  { test: is(IRView), mime: irBundle, terminal: irTerminal },
  { test: is(SourceView), mime: sourceBundle, terminal: sourceTerminal },
  { test: is(TextView), mime: textBundle, terminal: textTerminal },
  { test: is(DiffView), mime: diffBundle, terminal: diffTerminal },
  { test: is(StepView), mime: stepViewBundle, terminal: stepViewTerminal },
  { test: is(PipelineView), mime: pipelineBundle, terminal: pipelineTerminal },
  { test: is(CheckView), mime: checkBundle, terminal: checkTerminal },
  { test: is(RunView), mime: runBundle, terminal: runTerminal },
  { test: is(MemoryView), mime: memoryBundle, terminal: memoryTerminal },
  { test: is(HelpView), mime: helpBundle, terminal: helpTerminal },
  { test: is(ResultTable), mime: (t: ResultTable) => tableBundle(t), terminal: (t: ResultTable, o) => tableTerminal(t, o, { maxRows: o.maxLines }) },
  { test: is(NodeTimings), mime: timingBundle, terminal: timingTerminal },
  { test: isSession, mime: sessionBundle, terminal: sessionTerminal },
  { test: isComparison, mime: comparisonBundle, terminal: comparisonTerminal },
  { test: is(Tensor), mime: tensorBundle, terminal: tensorTerminal },
  { test: isStep, mime: stepBundle, terminal: (s: Parameters<typeof stepLine>[0], o) => fitLine(stepLine(s), o.width) + '\n' },
  { test: isGraphDiff, mime: diffBundle, terminal: diffTerminal },
  { test: isMemoryPlan, mime: memoryBundle, terminal: memoryTerminal },
  { test: isGraph, mime: (g: Graph) => irBundle(graphView(g)), terminal: (g: Graph, o) => irTerminal(graphView(g), o) },
  { test: (x) => x instanceof Error, mime: errorBundle, terminal: (e: Error) => `${errorBundle(e)['text/plain']}\n` },
];

function pick(x: unknown): Renderer | undefined {
  return RENDERERS.find((r) => r.test(x));
}

/**
 * The MIME bundle of any value: text/plain and text/html always, plus Arrow and SVG for tables,
 * timings and memory plans (see the module header).
 */
export function toMimeBundle(obj: unknown): MimeBundle {
  const r = pick(obj);
  return r ? r.mime(obj as never) : valueBundle(obj);
}

/** Terminal text of any value, fitted to `opts.width` and coloured when `opts.color`; ends with a newline. */
export function toTerminal(obj: unknown, opts: TerminalOptions): string {
  const o: TerminalOptions = { ...opts, width: Math.max(10, Math.floor(opts.width || 80)) };
  const r = pick(obj);
  return r ? r.terminal(obj as never, o) : valueTerminal(obj, o);
}
