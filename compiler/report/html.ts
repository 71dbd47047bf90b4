/**
 * report.html: one self-contained page made from a `ReportData` (model.ts).
 *
 * Self-contained means the page works from a folder with no network: one inline <style> block, no
 * script at all (long parts collapse with <details>, which browsers open and close by themselves), no
 * external font, image or stylesheet; charts are inline SVG from the display renderers. The only links
 * are relative ones to files of the report folder (the Arrow file of each table, the IR after each
 * step, each generated source, manifest.json) and `#` anchors within the page.
 *
 * Sections, in order: headline (before/after), model summary, pass pipeline (a table, then one
 * collapsed entry per step with its numeric check and IR diff), fusion map (decisions and fused nodes
 * with their ONNX sources), memory (summary, arena chart, timeline table), timings per backend (run-time
 * spread, chart by op, roofline under the measured peak and bandwidth, op, kernel and node tables), generated sources (one collapsed entry per file),
 * machine and manifest facts. Everything shown is rendered by compiler/display (tableHTML, diffHTML,
 * sourceHTML, memorySvg, timingChartSVG, rooflineSVG, escapeHTML); this module only lays the page out. Long text
 * is cut with a note and a link to the whole file: diffs past `DIFF_LINES` lines, sources past
 * `SOURCE_LINES`, tables past `TABLE_ROWS` rows (the Arrow file has every row).
 */
import { escapeHTML } from '../display/style.ts';
import { tableHTML } from '../display/table.ts';
import { diffHTML } from '../display/diff.ts';
import { sourceHTML } from '../display/source.ts';
import { SourceView } from '../display/views.ts';
import { memorySvg } from '../display/memory-svg.ts';
import { timingChartSVG } from '../display/timing.ts';
import { rooflinePoints, rooflineSVG } from '../display/roofline.ts';
import { formatMemorySummary } from '../results/memory.ts';
import type { ResultTable } from '../results/table.ts';
import { formatSummary } from '../zoo/summary.ts';
import type { ReportData, ReportSource } from './model.ts';
import type { MachineFacts } from './machine.ts';
import { reportPaths } from './manifest.ts';

/** Diff lines shown per step before the rest is left to the IR files. */
export const DIFF_LINES = 300;
/** Source lines shown per file. */
export const SOURCE_LINES = 150;
/** Table rows shown before the rest is left to the Arrow file. */
export const TABLE_ROWS = 300;

/** The section ids of the page, in order (tests look for each). */
export const SECTIONS = ['headline', 'model', 'passes', 'fusions', 'memory', 'timings', 'sources', 'machine'] as const;

/** What the page needs besides the data: the file each step's IR was written to, and the machine. */
export interface PageInput {
  readonly data: ReportData;
  readonly irFiles: readonly string[];
  readonly machine: MachineFacts;
  /** When the report was made (ISO text). */
  readonly createdAt: string;
  /** A section shown first, before the headline, with its id and nav label (a replay's comparison, replay-html.ts). */
  readonly lead?: { readonly id: string; readonly html: string };
}

const CSS = `
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#24292f;background:#fff}
main{max-width:1200px;margin:0 auto;padding:1em 2em 4em}
h1{font-size:1.6em;margin:.4em 0 .1em}h2{border-bottom:1px solid #d0d7de;padding-bottom:.2em;margin-top:2em}
nav{position:sticky;top:0;background:#f6f8fa;border-bottom:1px solid #d0d7de;padding:.4em 2em;font-size:.9em;z-index:1}
nav a{margin-right:1em;color:#0969da;text-decoration:none}
.sub{color:#6e7781;font-size:.9em}.ok{color:#1a7f37}.bad{color:#cf222e}
details{margin:.3em 0;border:1px solid #d0d7de;border-radius:4px;padding:.2em .6em}
details>summary{cursor:pointer;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em}
.files{font-size:.8em;color:#6e7781}.files a{color:#0969da}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:bold}dd{margin:0;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em;word-break:break-all}
.scroll{overflow-x:auto}
`;

const link = (file: string, text = file) => `<a href="${escapeHTML(encodeURI(file))}">${escapeHTML(text)}</a>`;
const esc = escapeHTML;
const fmtMs = (x: number) => `${x < 10 ? x.toFixed(3) : x.toFixed(1)} ms`;

/** A table with a link to its Arrow file; collapsed when it has more than `open` rows; an empty one is a line saying so. */
function table(name: string, t: ResultTable, open = 40): string {
  if (t.numRows === 0) return `<p class="sub">${esc(t.title)}: none.</p><div class="files">Arrow: ${link(reportPaths.table(name))}</div>`;
  const body = `<div class="scroll">${tableHTML(t, { maxRows: TABLE_ROWS })}</div><div class="files">Arrow: ${link(reportPaths.table(name))}</div>`;
  if (t.numRows <= open) return body;
  return `<details><summary>${esc(t.title)} (${t.numRows} rows)</summary>${body}</details>`;
}

/** The page's link and table helpers, for a lead section made elsewhere (replay-html.ts). */
export { link as reportLink, table as reportTable };

function section(id: (typeof SECTIONS)[number], title: string, parts: readonly string[]): string {
  return `<section id="${id}"><h2>${esc(title)}</h2>\n${parts.filter(Boolean).join('\n')}\n</section>`;
}

const languageOf = (file: string) => {
  const ext = file.slice(file.lastIndexOf('.') + 1).toLowerCase();
  return ext === 'c' || ext === 'h' ? 'c' : ext === 'cu' ? 'cuda' : ext === 'kir' ? 'kir' : ext;
};

/** The whole page (see the module header). */
export function reportHTML(p: PageInput): string {
  const d = p.data;
  const t = (name: string) => d.tables.get(name)!;
  const sections = [
    section('headline', 'Before and after', [
      `<p class="sub">“Before” is the reference executor on the model as loaded (step 0); “after” is each backend on the graph after the pipeline, on the same seeded inputs (seed ${d.options.seed}), median of ${d.options.repeat} run${d.options.repeat === 1 ? '' : 's'} after ${d.options.warmup} warm-up.</p>`,
      table('headline', t('headline')),
    ]),
    section('model', 'Model', [
      `<pre>${esc(formatSummary(d.summary, d.source).trimEnd())}</pre>`,
      table('model_ops', t('model_ops'), 15),
    ]),
    section('passes', 'Pass pipeline', [
      `<p class="sub">pipeline <code>${esc(d.pipeline || '(empty)')}</code>, target ${esc(d.target)}; numeric check against step 0: `
        + (d.checkSkipped ? `skipped (${esc(d.checkSkipped)})` : `rtol ${d.tolerance.rtol}, atol ${d.tolerance.atol}, inputs seed ${d.tolerance.seed}`) + '</p>',
      table('passes', t('passes'), 1000),
      ...d.steps.map((st, k) => stepEntry(d, k, p.irFiles[k], st.index === 0)),
    ]),
    section('fusions', 'Fusion map', [
      '<p class="sub">Every fused node of the final graph with the ONNX nodes it came from, and every fusion decision the passes recorded.</p>',
      table('fusions', t('fusions'), 100),
      table('decisions', t('decisions'), 20),
    ]),
    section('memory', 'Memory plan of the final graph', [
      `<pre>${esc(formatMemorySummary(d.memory.plan).trimEnd())}</pre>`,
      `<div class="scroll">${memorySvg(d.memory.plan, { graph: d.final, title: `arena of ${d.source} after the pipeline` })}</div>`,
      table('memory_timeline', t('memory_timeline'), 0),
    ]),
    section('timings', 'Timings', [
      table('backends', t('backends')),
      table('runs', t('runs'), 0),
      ...d.backends.map((b) => {
        const key = b.asked.replace(/[^A-Za-z0-9_.-]/g, '_');
        const kernels = d.tables.get(`timings_${key}_kernels`);
        return [
          `<h3 id="timings-${esc(key)}">${esc(b.backend)}${b.backend !== b.asked ? ` (asked: ${esc(b.asked)})` : ''}</h3>`,
          `<p class="sub">median ${fmtMs(b.timings.totalMs)} over ${b.timings.repeat} runs (min ${fmtMs(Math.min(...b.timings.runMs))}, max ${fmtMs(Math.max(...b.timings.runMs))}); `
            + `prepared in ${fmtMs(b.prepareMs)}; outputs vs the reference: max rel error ${b.maxRelError === 0 ? '0' : b.maxRelError.toExponential(2)}`
            + (b.fallbacks.length ? `; ${b.fallbacks.length} node${b.fallbacks.length === 1 ? '' : 's'} on reference kernels` : '') + '</p>',
          `<div class="scroll">${timingChartSVG(b.timings)}</div>`,
          `<div class="scroll">${rooflineSVG(rooflinePoints(b.timings, b.backend), { peakGflops: p.machine.peakGflops, bandwidthGBs: p.machine.bandwidthGBs }, { title: `roofline of ${b.backend}: achieved GFLOP/s against arithmetic intensity (FLOPs per byte)` })}</div>`,
          '<p class="sub">Each point is a kernel: its FLOPs and compulsory bytes (distinct inputs and outputs) over its median time. '
            + "The roofs are this machine's measured FP32 peak and main-memory bandwidth (STREAM triad); a point above the bandwidth "
            + 'roof is served from cache (its operands stay cached between runs), one far below both roofs is bound by something else '
            + '(latency, launch overhead, a poor schedule).</p>',
          table(`timings_${key}_ops`, t(`timings_${key}_ops`), 20),
          kernels ? table(`timings_${key}_kernels`, kernels, 0) : '',
          table(`timings_${key}_nodes`, t(`timings_${key}_nodes`), 0),
        ].join('\n');
      }),
    ]),
    section('sources', 'Generated sources', d.backends.map((b) => [
      `<h3>${esc(b.backend)}</h3>`,
      b.sources.length ? b.sources.map(sourceEntry).join('\n') : '<p class="sub">This backend generates no source: it runs the reference kernels.</p>',
    ].join('\n'))),
    section('machine', 'Machine and manifest', [
      '<dl>',
      ...[...p.machine.lines, ['created', p.createdAt] as const, ['command', d.options.argv ? `kiln ${d.options.argv.join(' ')}` : '(from the API)'] as const,
        ['model', d.source] as const, ['pipeline', d.pipeline || '(empty)'] as const, ['target', d.target] as const,
        ['inputs', `seeded random, seed ${d.options.seed}; runs: ${d.options.warmup} warm-up + ${d.options.repeat} timed per backend`] as const,
        ['backends', d.options.backends.join(', ')] as const,
        ['threads', d.options.threads === undefined ? 'all cores' : String(d.options.threads)] as const,
        ['tuning', d.options.tuning ?? 'the backend\'s default'] as const]
        .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`),
      '</dl>',
      `<p>Everything above, with the sha256 of every file: ${link('manifest.json')}. Tables: ${[...d.tables.keys()].map((n) => link(reportPaths.table(n), n)).join(', ')}.</p>`,
    ]),
  ];
  const nav = [...(p.lead ? [p.lead.id] : []), ...SECTIONS].map((id) => `<a href="#${id}">${id}</a>`).join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>kiln report: ${esc(d.source)}</title>
<style>${CSS}</style></head>
<body><nav>${nav}</nav><main>
<h1>kiln report: ${esc(d.source)}</h1>
<p class="sub">target ${esc(d.target)} · ${d.steps.length - 1} pipeline steps · backends ${esc(d.backends.map((b) => b.backend).join(', '))} · ${esc(p.createdAt)}</p>
${p.lead ? p.lead.html + '\n' : ''}${sections.join('\n')}
</main></body></html>
`;
}

/** One step: a collapsed entry with its numeric check and diff from the step before. */
function stepEntry(d: ReportData, k: number, irFile: string, first: boolean): string {
  const st = d.steps[k];
  const check = st.check
    ? `<span class="${st.check.ok ? 'ok' : 'bad'}">${st.check.ok ? 'within tolerance' : 'BEYOND TOLERANCE'}</span> (max abs error ${st.check.maxAbsError.toExponential(2)}, max rel error ${st.check.maxRelError.toExponential(2)}${st.check.firstDivergent ? `, first divergent node %${esc(st.check.firstDivergent)}` : ''})`
    : 'no numeric check';
  const verdict = first || !st.check ? '' : st.check.ok ? ', numeric check ok' : ', NUMERIC CHECK BEYOND TOLERANCE';
  const head = `step ${st.index} ${st.pass}: ${st.nodesBefore} → ${st.nodesAfter} nodes, ${fmtMs(st.ms)}${st.changed || first ? '' : ', unchanged'}${verdict}`;
  const body = first
    ? '<p class="sub">The model as loaded.</p>'
    : diffHTML(st.diff!, { maxLines: DIFF_LINES, hint: `the whole IR after this step is ${irFile}` });
  return `<details id="step-${st.index}"><summary>${esc(head)}</summary><p>numeric check: ${check}</p>${body}<div class="files">IR: ${link(irFile)}</div></details>`;
}

/** One generated file, collapsed, cut at SOURCE_LINES with a link to the whole file. */
function sourceEntry(src: ReportSource): string {
  const lines = src.content.split('\n').length;
  const name = src.path.slice(src.path.lastIndexOf('/') + 1);
  const nodes = src.nodes?.length ? ` — ${src.nodes.length} node${src.nodes.length === 1 ? '' : 's'}: ${src.nodes.slice(0, 6).join(', ')}${src.nodes.length > 6 ? ', …' : ''}` : '';
  return `<details><summary>${esc(`${name} (${src.kind}, ${lines} lines)${nodes}`)}</summary>`
    + sourceHTML(new SourceView(src.content, languageOf(name)), { maxLines: SOURCE_LINES, hint: `the whole file is ${src.path}` })
    + `<div class="files">${link(src.path)}</div></details>`;
}
