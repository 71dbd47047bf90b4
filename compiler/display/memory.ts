/**
 * Rendering memory plans (compiler/schedule/plan.ts MemoryPlan): summary text, the arena chart as SVG
 * (memory-svg.ts) and as terminal text (memory-text.ts), and the per-tensor timeline table (HTML and
 * Arrow stream, compiler/results/memory.ts). Those renderings belong to the memory-planning work; this
 * module only puts them into a bundle and a terminal block with a title.
 */
import type { MemoryPlan } from '../schedule/plan.ts';
import { formatMemorySummary, memoryTimelineTable } from '../results/memory.ts';
import { memorySvg } from './memory-svg.ts';
import { memoryText } from './memory-text.ts';
import { type MimeBundle, type TerminalOptions, block, escapeHTML, fitLine, headingHTML, paint, preBlock } from './style.ts';
import { arrowStreamBase64, tableHTML } from './table.ts';
import { MemoryView } from './views.ts';

/** Is `x` a MemoryPlan? */
export function isMemoryPlan(x: unknown): x is MemoryPlan {
  const p = x as MemoryPlan;
  return typeof x === 'object' && x !== null && typeof p.planner === 'string' && Array.isArray(p.order)
    && Array.isArray(p.tensors) && typeof p.peakBytes === 'number';
}

const asView = (x: MemoryView | MemoryPlan) => (x instanceof MemoryView ? x : new MemoryView(x));

/** The MIME bundle of a plan: summary and arena chart as text, HTML with the SVG chart and timeline table, SVG, Arrow stream of the table. */
export function memoryBundle(x: MemoryView | MemoryPlan): MimeBundle {
  const v = asView(x);
  const svg = memorySvg(v.plan, { graph: v.graph, ...(v.title ? { title: v.title } : {}) });
  const table = memoryTimelineTable(v.plan);
  return {
    'text/plain': (v.title ? `${v.title}\n` : '') + memoryText(v.plan, { width: 100, graph: v.graph }),
    'text/html': block([v.title ? headingHTML(v.title) : '', preBlock(escapeHTML(formatMemorySummary(v.plan).trimEnd())), svg, tableHTML(table, { maxRows: 100 })]),
    'image/svg+xml': svg,
    'application/vnd.apache.arrow.stream': arrowStreamBase64(table),
  };
}

/** A plan for a terminal: summary and arena chart fitted to the width. */
export function memoryTerminal(x: MemoryView | MemoryPlan, opts: TerminalOptions): string {
  const v = asView(x);
  const body = memoryText(v.plan, { width: opts.width, color: opts.color, graph: v.graph });
  return (v.title ? paint(fitLine(v.title, opts.width), 'bold', opts.color) + '\n' : '') + body;
}
