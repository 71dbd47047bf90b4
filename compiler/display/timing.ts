/**
 * Rendering timings of a backend run (compiler/runtime/timings.ts): per-node timings as a
 * headline, a bar chart of the slowest ops (SVG in notebooks, block characters in terminals), the
 * by-op table and the node table (every node in graph order in HTML; the slowest nodes in a terminal),
 * the kernel table (one row per compiled kernel with its IR nodes, ONNX nodes and, on a GPU, dispatch
 * size), plus the node table as an Arrow stream; and timed runs (`run`) as a headline with the inputs and a
 * table of output statistics.
 */
import type { NodeTimings } from '../runtime/timings.ts';
import { barChartSVG, formatValue, textBars, type Bar } from './svg.ts';
import { type MimeBundle, type TerminalOptions, block, fitLine, headingHTML, linesHTML, paint } from './style.ts';
import { arrowStreamBase64, tableHTML, tableTerminal } from './table.ts';
import type { RunView } from './views.ts';

const ms = (x: number) => `${formatValue(x)} ms`;

/** The headline of a timing: what ran, how long a run took, how many runs. */
export function timingHeadline(t: NodeTimings): string {
  return `${t.label}: ${t.nodes.length} nodes, median run ${ms(t.totalMs)} over ${t.repeat} run${t.repeat === 1 ? '' : 's'}`
    + ` (kernels ${ms(t.nodeMs)})`;
}

/** Bars of the `top` slowest ops (time summed over the op's nodes, with its share). */
export function opBars(t: NodeTimings, top = 10): Bar[] {
  return t.byOp().slice(0, top).map((o) => ({
    label: o.op, value: o.ms, note: `${t.share(o.ms).toFixed(1)}%`,
    tooltip: `${o.op}: ${o.count} node${o.count === 1 ? '' : 's'}, ${ms(o.ms)}, ${t.share(o.ms).toFixed(1)}% of kernel time`,
  }));
}

/** The SVG bar chart of the slowest ops. */
export function timingChartSVG(t: NodeTimings, top = 10): string {
  return barChartSVG(opBars(t, top), { title: `time by op (top ${Math.min(top, t.byOp().length)}) — ${t.label}`, unit: 'ms' });
}

/** The MIME bundle of per-node timings: text, HTML with chart and tables, SVG chart, Arrow stream. */
export function timingBundle(t: NodeTimings): MimeBundle {
  const nodes = t.table();
  const svg = timingChartSVG(t);
  const slowest = t.table(t.top(15), `slowest nodes of ${t.label}`);
  // the kernel table when the backend reports kernels of its own (a compiled program): dispatch sizes on a GPU
  const kernels = t.kernels.length ? [t.kernelTable()] : [];
  return {
    'text/plain': [timingHeadline(t), '', t.opTable().toText({ maxRows: 20 }), slowest.toText({ maxRows: 15 }), ...kernels.map((k) => k.toText({ maxRows: 30 }))].join('\n'),
    'text/html': block([headingHTML(timingHeadline(t)), svg, tableHTML(t.opTable()), tableHTML(nodes, { maxRows: 500 }), ...kernels.map((k) => tableHTML(k, { maxRows: 500 }))]),
    'image/svg+xml': svg,
    'application/vnd.apache.arrow.stream': arrowStreamBase64(nodes),
  };
}

/** Per-node timings for a terminal: headline, op bars, slowest nodes. */
export function timingTerminal(t: NodeTimings, opts: TerminalOptions): string {
  const out = [paint(fitLine(timingHeadline(t), opts.width), 'bold', opts.color), '', 'time by op:'];
  out.push(...textBars(opBars(t, 10), opts.width, { unit: 'ms' }).map((l) => paint(l, undefined, opts.color)));
  out.push('');
  const slowest = t.table(t.top(15), `slowest nodes (of ${t.nodes.length}; \`tables timings\` has them all)`);
  out.push(tableTerminal(slowest, opts).trimEnd());
  return out.join('\n') + '\n';
}

function runLines(v: RunView): string[] {
  const r = v.run;
  const n = r.times.length;
  return [
    `${v.label}: ${n > 1 ? `median ${ms(r.medianMs)}, min ${ms(r.minMs)} over ${n} runs` : `${ms(r.medianMs)}`} on `
      + `${v.backendSummary || v.backend} (backend ${v.backend}, prepared in ${ms(v.prepareMs)})`,
    `inputs (seed ${v.seed}): ${v.inputs.join(', ') || '(none)'}`,
    ...v.notes,
  ];
}

/** The MIME bundle of a timed run: headline, inputs and the outputs table. */
export function runBundle(v: RunView): MimeBundle {
  const lines = runLines(v);
  return {
    'text/plain': [...lines, '', v.outputs.toText()].join('\n'),
    'text/html': block([headingHTML(lines[0]), linesHTML(lines.slice(1)), tableHTML(v.outputs)]),
    'application/vnd.apache.arrow.stream': arrowStreamBase64(v.outputs),
  };
}

/** A timed run for a terminal. */
export function runTerminal(v: RunView, opts: TerminalOptions): string {
  const [head, ...rest] = runLines(v);
  return [paint(fitLine(head, opts.width), 'bold', opts.color), ...rest.map((l) => fitLine(l, opts.width)), '',
    tableTerminal(v.outputs, opts).trimEnd()].join('\n') + '\n';
}
