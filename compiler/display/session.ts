/**
 * Rendering the Session and its pieces: the session summary (header lines and the passes table), a
 * step (one line: pass, node counts, time, numeric check), steps just taken with their diff, the
 * pipeline with the cursor, a numeric check, and a comparison of two sessions.
 *
 * The session header is the part of `Session.summary()` before its table (so the wording lives in one
 * place); the table is rendered from `passesTable()` here, so it fits the terminal or becomes HTML.
 */
import type { Session, Comparison, Step } from '../session.ts';
import { formatOptions } from '../results/passes.ts';
import { COLORS, type MimeBundle, type TerminalOptions, block, escapeHTML, fitLine, headingHTML, linesHTML, paint, preBlock, style } from './style.ts';
import { tableBundle, tableTerminal } from './table.ts';
import { diffBundle, diffTerminal } from './diff.ts';
import { CheckView, DiffView, PipelineView, StepView } from './views.ts';
import type { NumericResult } from '../passes/numeric-check.ts';

const exp = (x: number) => (x === 0 ? '0' : Number.isFinite(x) ? x.toExponential(2) : String(x));

/** A step has been numerically checked and what the check said: 'ok', 'bad' or 'none'. */
function verdict(s: Pick<Step, 'maxRelError' | 'withinTolerance'>): 'ok' | 'bad' | 'none' {
  if (s.maxRelError === undefined || s.withinTolerance === undefined) return 'none';
  return s.withinTolerance ? 'ok' : 'bad';
}

/** One line about a step: `step 7/9 fuse-conv-act: 5 → 3 nodes, 0.33 ms; numerics ok (max rel error 0)`. */
export function stepLine(s: Step, total?: number): string {
  const of = total === undefined ? '' : `/${total}`;
  if (s.index === 0) return `step 0${of} load: ${s.nodesAfter} nodes (the loaded model)`;
  const opts = formatOptions(s.pass, s.options);
  const change = s.changed ? `${s.nodesBefore} → ${s.nodesAfter} nodes` : `unchanged (${s.nodesAfter} nodes)`;
  const v = verdict(s);
  const check = v === 'none' ? 'not checked'
    : v === 'ok' ? `numerics ok (max abs error ${exp(s.maxAbsError!)}, max rel error ${exp(s.maxRelError!)})`
      : `NUMERICS DIFFER (max rel error ${exp(s.maxRelError!)})${s.firstDivergent ? `, first divergent node %${s.firstDivergent}` : ''}`;
  return `step ${s.index}${of} ${s.pass}${opts ? `{${opts}}` : ''}: ${change}, ${s.ms.toFixed(2)} ms; ${check}`;
}

const stepColor = (s: Step) => ({ ok: undefined, bad: 'red' as const, none: undefined })[verdict(s)];

/** Is `x` a Session step record (as `session.at()` returns)? */
export function isStep(x: unknown): x is Step {
  const s = x as Step;
  return typeof x === 'object' && x !== null && typeof s.index === 'number' && typeof s.pass === 'string'
    && typeof s.nodesAfter === 'number' && typeof s.graph === 'object' && s.graph !== null && Array.isArray(s.graph.nodes);
}

// ---- Session ------------------------------------------------------------------------------------

function sessionParts(s: Session): { head: string[]; next?: string } {
  const lines = s.summary().replace(/\n$/, '').split('\n');
  const blank = lines.indexOf('');
  const head = blank < 0 ? lines : lines.slice(0, blank);
  const next = lines.find((l) => l.startsWith('next: '));
  return { head, next };
}

/** The session summary: header lines, the passes table (HTML and Arrow), what comes next. */
export function sessionBundle(s: Session): MimeBundle {
  const { head, next } = sessionParts(s);
  const table = tableBundle(s.passesTable());
  return {
    'text/plain': s.summary(),
    'text/html': block([headingHTML(head[0]), linesHTML(head.slice(1)), table['text/html'], next ? linesHTML([next]) : '']),
    'application/vnd.apache.arrow.stream': table['application/vnd.apache.arrow.stream'],
  };
}

/** The session summary for a terminal. */
export function sessionTerminal(s: Session, opts: TerminalOptions): string {
  const { head, next } = sessionParts(s);
  const out = [paint(fitLine(head[0], opts.width), 'bold', opts.color), ...head.slice(1).map((l) => fitLine(l, opts.width)), ''];
  out.push(tableTerminal(s.passesTable(), opts).trimEnd());
  if (next) out.push(fitLine(next, opts.width));
  return out.join('\n') + '\n';
}

// ---- steps --------------------------------------------------------------------------------------

/** A single step record. */
export function stepBundle(s: Step): MimeBundle {
  const line = stepLine(s);
  return { 'text/plain': line + '\n', 'text/html': block([linesHTML([line])]) };
}

/** Steps just taken, with the diff they made (diff shown at most 60 lines in a terminal by default). */
export function stepViewBundle(v: StepView): MimeBundle {
  const lines = [...(v.note ? [v.note] : []), ...v.steps.map((s) => stepLine(s, v.total))];
  const html = lines.map((l, i) => {
    const s = v.steps[i - (v.note ? 1 : 0)];
    const color = s && verdict(s) === 'bad' ? COLORS.bad : COLORS.text;
    return `<div${style({ 'font-family': 'monospace', 'font-size': '12px', color })}>${escapeHTML(l)}</div>`;
  });
  const diff = v.diff && v.steps.some((s) => s.changed) ? diffBundle(new DiffView(v.diff, { labels: labels(v) })) : undefined;
  return {
    'text/plain': lines.join('\n') + '\n' + (diff ? diff['text/plain'] : ''),
    'text/html': block([...html, diff ? diff['text/html'] : '']),
  };
}

function labels(v: StepView): [string, string] {
  const first = v.steps[0].index - 1;
  return [`step ${first}`, `step ${v.step.index} (${v.step.pass})`];
}

/** Steps just taken, for a terminal. */
export function stepViewTerminal(v: StepView, opts: TerminalOptions): string {
  const out: string[] = [];
  if (v.note) out.push(fitLine(v.note, opts.width));
  for (const s of v.steps) out.push(paint(fitLine(stepLine(s, v.total), opts.width), stepColor(s) ?? 'bold', opts.color));
  if (v.diff && v.steps.some((s) => s.changed)) {
    out.push(diffTerminal(new DiffView(v.diff, { labels: labels(v) }), { ...opts, maxLines: opts.maxLines ?? 60 }).trimEnd());
  }
  return out.join('\n') + '\n';
}

// ---- pipeline -----------------------------------------------------------------------------------

function pipelineLines(v: PipelineView): string[] {
  const w = String(v.items.length).length;
  const mark = (k: number) => (k === v.current ? '▶' : k <= v.current ? '✓' : k <= v.computed ? '·' : ' ');
  return [
    `pipeline for target ${v.target}: at step ${v.current} of ${v.items.length} (computed to ${v.computed}); ▶ current, ✓ done, · computed ahead`,
    `  ${mark(0)} ${'0'.padStart(w)}  load`,
    ...v.items.map((it) => `  ${mark(it.step)} ${String(it.step).padStart(w)}  ${it.text}`),
    `text: ${v.text || '(empty)'}`,
  ];
}

/** The pipeline with the cursor. */
export function pipelineBundle(v: PipelineView): MimeBundle {
  const lines = pipelineLines(v);
  return {
    'text/plain': lines.join('\n') + '\n',
    'text/html': block([headingHTML(lines[0]), preBlock(lines.slice(1, -1).map(escapeHTML).join('\n')), linesHTML(lines.slice(-1))]),
  };
}

/** The pipeline for a terminal; the current entry is bold. */
export function pipelineTerminal(v: PipelineView, opts: TerminalOptions): string {
  return pipelineLines(v).map((l, i) => paint(fitLine(l, opts.width), i === 0 || i === v.current + 1 ? 'bold' : undefined, opts.color)).join('\n') + '\n';
}

// ---- numeric check and comparison ---------------------------------------------------------------

function checkLines(v: CheckView): string[] {
  const r: NumericResult = v.result;
  const head = `step ${v.step} (${v.pass}) against step 0: max abs error ${exp(r.maxAbsError)}, max rel error ${exp(r.maxRelError)}`;
  const tail = r.withinTolerance
    ? `within tolerance (rtol ${v.rtol}, atol ${v.atol})`
    : `OUT OF TOLERANCE (rtol ${v.rtol}, atol ${v.atol})${r.firstDivergent ? `; first divergent node %${r.firstDivergent}` : ''}`;
  return [head, tail];
}

/** A numeric check. */
export function checkBundle(v: CheckView): MimeBundle {
  const lines = checkLines(v);
  const color = v.result.withinTolerance ? COLORS.ok : COLORS.bad;
  return {
    'text/plain': lines.join('\n') + '\n',
    'text/html': block([linesHTML([lines[0]]), `<div${style({ color, 'font-weight': 'bold', 'font-family': 'monospace', 'font-size': '12px' })}>${escapeHTML(lines[1])}</div>`]),
  };
}

/** A numeric check for a terminal. */
export function checkTerminal(v: CheckView, opts: TerminalOptions): string {
  const [a, b] = checkLines(v);
  return `${fitLine(a, opts.width)}\n${paint(fitLine(b, opts.width), v.result.withinTolerance ? 'green' : 'red', opts.color)}\n`;
}

/** Two sessions side by side with the diff between their current graphs. */
export function comparisonBundle(c: Comparison): MimeBundle {
  const text = c.toText();
  const diff = diffBundle(new DiffView(c.diff, { labels: ['a', 'b'] }));
  return { 'text/plain': text + diff['text/plain'], 'text/html': block([linesHTML(text.trimEnd().split('\n')), diff['text/html']]) };
}

/** A comparison for a terminal. */
export function comparisonTerminal(c: Comparison, opts: TerminalOptions): string {
  const text = c.toText().trimEnd().split('\n').map((l) => fitLine(l, opts.width)).join('\n');
  return `${text}\n${diffTerminal(new DiffView(c.diff, { labels: ['a', 'b'] }), { ...opts, maxLines: opts.maxLines ?? 60 })}`;
}

