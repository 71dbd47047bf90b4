/**
 * Rendering memory plans (compiler/schedule/plan.ts MemoryPlan): summary text, the arena chart as SVG
 * (memory-svg.ts) and as terminal text (memory-text.ts), and the per-tensor timeline table (HTML and
 * Arrow stream, compiler/results/memory.ts).
 *
 * Those modules belong to the memory-planning work and pull in compiler/schedule; they are loaded
 * once, when this module loads, with dynamic imports that may fail (while the planner is not in the
 * tree). When they are missing, a plan still renders from its own figures: a few summary lines and the
 * largest tensors, without charts.
 */
import type { Graph } from '../ir/graph.ts';
import type { MemoryPlan } from '../schedule/plan.ts';
import type { ResultTable } from '../results/table.ts';
import { type MimeBundle, type TerminalOptions, block, escapeHTML, fitLine, headingHTML, paint, preBlock } from './style.ts';
import { arrowStreamBase64, tableHTML } from './table.ts';
import { MemoryView } from './views.ts';

interface SvgModule { memorySvg(plan: MemoryPlan, opts?: { graph?: Graph; title?: string }): string }
interface TextModule { memoryText(plan: MemoryPlan, opts?: { width?: number; color?: boolean; graph?: Graph }): string }
interface ResultsModule {
  formatMemorySummary(plan: MemoryPlan): string;
  memoryTimelineTable(plan: MemoryPlan, title?: string): ResultTable;
}

async function optional<T>(specifier: string, check: (m: T) => boolean): Promise<T | undefined> {
  try {
    const m = (await import(specifier)) as T;
    return check(m) ? m : undefined;
  } catch {
    return undefined;
  }
}

// Variables keep the type checker from requiring the modules; they resolve relative to this file.
const SVG_MODULE = './memory-svg.ts', TEXT_MODULE = './memory-text.ts', RESULTS_MODULE = '../results/memory.ts';
const [svgModule, textModule, resultsModule] = await Promise.all([
  optional<SvgModule>(SVG_MODULE, (m) => typeof m.memorySvg === 'function'),
  optional<TextModule>(TEXT_MODULE, (m) => typeof m.memoryText === 'function'),
  optional<ResultsModule>(RESULTS_MODULE, (m) => typeof m.formatMemorySummary === 'function' && typeof m.memoryTimelineTable === 'function'),
]);

/** Whether the memory chart renderers were found (false: plans render as summary text only). */
export const memoryRenderersLoaded = svgModule !== undefined && textModule !== undefined && resultsModule !== undefined;

/** Is `x` a MemoryPlan? */
export function isMemoryPlan(x: unknown): x is MemoryPlan {
  const p = x as MemoryPlan;
  return typeof x === 'object' && x !== null && typeof p.planner === 'string' && Array.isArray(p.order)
    && Array.isArray(p.tensors) && typeof p.peakBytes === 'number';
}

const asView = (x: MemoryView | MemoryPlan) => (x instanceof MemoryView ? x : new MemoryView(x));

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let u = 0, v = n;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return u === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[u]}`;
}

/** Summary lines of a plan (memory-planning's own wording when loaded). */
export function memorySummaryText(plan: MemoryPlan): string {
  if (resultsModule) return resultsModule.formatMemorySummary(plan);
  const ratio = plan.lowerBoundBytes > 0 ? (plan.peakBytes / plan.lowerBoundBytes).toFixed(3) : '1';
  const largest = [...plan.tensors].filter((t) => !t.aliasOf).sort((a, b) => b.bytes - a.bytes).slice(0, 5);
  return [
    `memory plan (${plan.planner}): ${plan.order.length} steps, ${plan.tensors.length} tensors`,
    `  peak ${bytes(plan.peakBytes)} = ${ratio} x lower bound ${bytes(plan.lowerBoundBytes)}; naive ${bytes(plan.naiveBytes)}`,
    `  weights ${bytes(plan.weightsBytes)}, inputs ${bytes(plan.inputBytes)} (outside the arena)`,
    `  largest: ${largest.map((t) => `%${t.name} ${bytes(t.bytes)}`).join(', ')}`,
  ].join('\n') + '\n';
}

/** The MIME bundle of a plan: summary, SVG chart and timeline table, Arrow stream of the table. */
export function memoryBundle(x: MemoryView | MemoryPlan): MimeBundle {
  const v = asView(x);
  const summary = memorySummaryText(v.plan);
  const text = (v.title ? `${v.title}\n` : '') + (textModule ? textModule.memoryText(v.plan, { width: 100, graph: v.graph }) : summary);
  const svg = svgModule?.memorySvg(v.plan, { graph: v.graph, ...(v.title ? { title: v.title } : {}) });
  const table = resultsModule?.memoryTimelineTable(v.plan);
  const bundle: MimeBundle = {
    'text/plain': text,
    'text/html': block([v.title ? headingHTML(v.title) : '', preBlock(escapeHTML(summary.trimEnd())), svg ?? '', table ? tableHTML(table, { maxRows: 100 }) : '']),
  };
  if (svg) bundle['image/svg+xml'] = svg;
  if (table) bundle['application/vnd.apache.arrow.stream'] = arrowStreamBase64(table);
  return bundle;
}

/** A plan for a terminal: summary and arena chart fitted to the width. */
export function memoryTerminal(x: MemoryView | MemoryPlan, opts: TerminalOptions): string {
  const v = asView(x);
  const body = textModule
    ? textModule.memoryText(v.plan, { width: opts.width, color: opts.color, graph: v.graph })
    : memorySummaryText(v.plan).split('\n').map((l) => fitLine(l, opts.width)).join('\n');
  return (v.title ? paint(fitLine(v.title, opts.width), 'bold', opts.color) + '\n' : '') + body;
}
