/**
 * Rendering graph diffs (compiler/ir/diff.ts): a summary sentence ("2 added, 5 removed, ...") and
 * the unified diff of the printed IR, coloured — removed lines red, added green, hunk headers blue —
 * as ANSI for terminals and as inline-styled HTML (with tinted backgrounds) for notebooks.
 *
 * The unified text comes from `formatDiff`; each line's kind is read back from its position and
 * first character (the two file lines, then `@@` hunks, `-`, `+` and ` ` lines), so colouring works on
 * lines already cut to the terminal width.
 */
import { formatDiff, formatDiffSummary, type GraphDiff } from '../ir/diff.ts';
import { COLORS, type AnsiColor, type MimeBundle, type TerminalOptions, block, escapeHTML, fitLine, headingHTML, limitLines, paint, preBlock, span, style } from './style.ts';
import { DiffView } from './views.ts';

type LineKind = 'file' | 'hunk' | 'del' | 'add' | 'ctx' | 'note';

function kindOf(line: string, index: number): LineKind {
  if (index < 2 && (line.startsWith('--- ') || line.startsWith('+++ '))) return 'file';
  if (line.startsWith('@@')) return 'hunk';
  if (line.startsWith('-')) return 'del';
  if (line.startsWith('+')) return 'add';
  if (line.startsWith('…')) return 'note';
  return 'ctx';
}

const ANSI_OF: Record<LineKind, AnsiColor | undefined> = { file: 'bold', hunk: 'cyan', del: 'red', add: 'green', ctx: undefined, note: 'dim' };

/** The unified diff lines of a view ('' list when nothing changed). */
export function diffTextLines(v: DiffView): string[] {
  const text = formatDiff(v.diff, { context: v.options.context ?? 3, labels: v.options.labels });
  return text ? text.replace(/\n$/, '').split('\n') : [];
}

const asView = (d: DiffView | GraphDiff) => (d instanceof DiffView ? d : new DiffView(d));

/** Options of `diffHTML`. */
export interface DiffHTMLOptions {
  /** Lines shown before the rest is left out with a note (default: all). */
  readonly maxLines?: number;
  /** Where the whole diff is, for the note (`ir/003_dce.kir`). */
  readonly hint?: string;
}

/** The coloured HTML of a diff: title, summary sentence and the unified diff (removed red, added green). */
export function diffHTML(d: DiffView | GraphDiff, opts: DiffHTMLOptions = {}): string {
  const v = asView(d);
  const summary = formatDiffSummary(v.diff);
  const all = diffTextLines(v);
  const lines = limitLines(all, opts.maxLines, opts.hint);
  const cut = lines.length < all.length; // the last line is then the note
  const htmlLines = lines.map((l, i) => {
    if (cut && i === lines.length - 1) return span(l, COLORS.muted);
    switch (kindOf(l, i)) {
      case 'file': return span(l, COLORS.text, { 'font-weight': 'bold' });
      case 'hunk': return span(l, COLORS.hunk);
      case 'del': return span(l, COLORS.del, { background: COLORS.delBg });
      case 'add': return span(l, COLORS.add, { background: COLORS.addBg });
      default: return escapeHTML(l);
    }
  });
  const title = v.options.title;
  return block([
    title ? headingHTML(title) : '',
    `<div${style({ 'font-family': 'sans-serif', 'font-size': '12px', margin: '0.2em 0' })}>${escapeHTML(summary)}</div>`,
    preBlock(lines.length ? htmlLines.join('\n') : span('(no changes)', COLORS.muted), 600),
  ]);
}

/** The MIME bundle of a diff: summary and unified diff as text, coloured HTML. */
export function diffBundle(d: DiffView | GraphDiff): MimeBundle {
  const v = asView(d);
  const summary = formatDiffSummary(v.diff);
  const lines = diffTextLines(v);
  const title = v.options.title;
  return {
    'text/plain': [title, summary, ...(lines.length ? lines : ['(no changes)'])].filter((x) => x !== undefined).join('\n') + '\n',
    'text/html': diffHTML(v),
  };
}

/** The diff for a terminal: summary, then coloured lines cut to the width (at most `maxLines`). */
export function diffTerminal(d: DiffView | GraphDiff, opts: TerminalOptions): string {
  const v = asView(d);
  const lines = diffTextLines(v);
  const shown = limitLines(lines, opts.maxLines, 'diff A B in a notebook, or `tables diff`, shows everything');
  const out: string[] = [];
  if (v.options.title) out.push(paint(fitLine(v.options.title, opts.width), 'bold', opts.color));
  out.push(fitLine(formatDiffSummary(v.diff), opts.width));
  if (!lines.length) out.push(paint('(no changes)', 'dim', opts.color));
  shown.forEach((l, i) => out.push(paint(fitLine(l, opts.width), ANSI_OF[kindOf(l, i)], opts.color)));
  return out.join('\n') + '\n';
}
