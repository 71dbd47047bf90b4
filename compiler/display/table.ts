/**
 * Rendering result tables (compiler/results ResultTable): an inline-styled HTML table, terminal text
 * fitted to a width, and the Arrow IPC *stream* format in base64 for `application/vnd.apache.arrow.stream`.
 *
 * Fitting a table to the terminal. Each column starts at its natural width (the widest of its header
 * and cells). While the row is wider than the terminal, the widest text column that is still above its
 * floor (its header's length, and at least 16) loses one column, and its cells are cut with
 * `…`; numbers are never cut, because a cut number reads as a different number. If the text columns
 * reach their floors and the row is still too wide, columns are dropped from the right and a note
 * names them. Rows past `maxRows` are summarised in a closing line.
 */
import { DataType, tableToIPC } from 'apache-arrow';
import { type ResultTable, type Cell, formatCell } from '../results/table.ts';
import { COLORS, MONO, escapeHTML, paint, style, type MimeBundle, type TerminalOptions, fitLine } from './style.ts';

/** Options of table rendering. */
export interface TableRenderOptions {
  /** Rows shown (default 200 in HTML, 50 in a terminal). */
  readonly maxRows?: number;
  /** A title to show instead of the table's own. */
  readonly title?: string;
}

/** The table in the Arrow IPC stream format, base64-encoded. */
export function arrowStreamBase64(t: ResultTable): string {
  return Buffer.from(tableToIPC(t.table, 'stream')).toString('base64');
}

function numericColumns(t: ResultTable): boolean[] {
  return t.table.schema.fields.map((f) => DataType.isInt(f.type) || DataType.isFloat(f.type));
}

/** An HTML table with inline styles: caption, header, right-aligned numbers, escaped text. */
export function tableHTML(t: ResultTable, opts: TableRenderOptions = {}): string {
  const maxRows = opts.maxRows ?? 200;
  const names = t.columnNames;
  const numeric = numericColumns(t);
  const shown = Math.min(t.numRows, Math.max(0, maxRows));
  const cols = names.map((n) => t.column(n).slice(0, shown));
  const cell = { padding: '2px 8px', 'border-bottom': `1px solid ${COLORS.border}`, 'white-space': 'nowrap' };
  const title = opts.title ?? t.title;
  const out = [`<table${style({ 'border-collapse': 'collapse', 'font-family': MONO, 'font-size': '12px', margin: '0.25em 0' })}>`];
  if (title) out.push(`<caption${style({ 'text-align': 'left', 'font-weight': 'bold', padding: '2px 0', 'font-family': 'sans-serif' })}>${escapeHTML(title)}</caption>`);
  out.push('<thead><tr>' + names.map((n, k) => `<th${style({ ...cell, background: COLORS.headBg, 'text-align': numeric[k] ? 'right' : 'left' })}>${escapeHTML(n)}</th>`).join('') + '</tr></thead>');
  out.push('<tbody>');
  for (let i = 0; i < shown; i++) {
    out.push('<tr>' + cols.map((c, k) => {
      const v: Cell = c[i];
      return `<td${style({ ...cell, 'text-align': numeric[k] ? 'right' : 'left', ...(v === null ? { color: COLORS.muted } : {}) })}>${escapeHTML(formatCell(v))}</td>`;
    }).join('') + '</tr>');
  }
  out.push('</tbody>');
  if (shown < t.numRows) {
    out.push(`<tfoot><tr><td colspan="${names.length}"${style({ ...cell, color: COLORS.muted })}>… ${t.numRows - shown} more rows (${t.numRows} in all)</td></tr></tfoot>`);
  }
  out.push('</table>');
  return out.join('\n');
}

/** The table as aligned terminal text fitted to `opts.width` (see the module header). */
export function tableTerminal(t: ResultTable, opts: TerminalOptions, ropts: TableRenderOptions = {}): string {
  const maxRows = ropts.maxRows ?? 50;
  const width = Math.max(10, Math.floor(opts.width));
  const names = t.columnNames;
  const numeric = numericColumns(t);
  const shown = Math.min(t.numRows, Math.max(0, maxRows));
  const cells = names.map((n) => t.column(n).slice(0, shown).map(formatCell));
  const natural = names.map((n, k) => Math.max(n.length, ...cells[k].map((c) => c.length)));
  const widths = [...natural];
  const floor = names.map((n, k) => (numeric[k] ? natural[k] : Math.min(natural[k], Math.max(n.length, 16))));
  let count = names.length;
  const total = () => widths.slice(0, count).reduce((a, b) => a + b, 0) + 2 * Math.max(0, count - 1);
  while (total() > width) {
    let widest = -1;
    for (let k = 0; k < count; k++) if (!numeric[k] && widths[k] > floor[k] && (widest < 0 || widths[k] > widths[widest])) widest = k;
    if (widest >= 0) { widths[widest]--; continue; }
    if (count <= 1) break;
    count--;
  }
  const cut = (s: string, w: number) => (s.length > w ? s.slice(0, Math.max(1, w - 1)) + '…' : s);
  const line = (vals: string[]) => vals.slice(0, count).map((v, k) => {
    const c = cut(v, widths[k]);
    return numeric[k] ? c.padStart(widths[k]) : c.padEnd(widths[k]);
  }).join('  ').trimEnd();
  const out: string[] = [];
  const title = ropts.title ?? t.title;
  if (title) out.push(paint(fitLine(title, width), 'bold', opts.color));
  out.push(paint(line(names), 'bold', opts.color));
  out.push(paint(widths.slice(0, count).map((w) => '-'.repeat(w)).join('  '), 'dim', opts.color));
  for (let i = 0; i < shown; i++) out.push(fitLine(line(cells.map((c) => c[i])), width));
  const notes: string[] = [];
  if (shown < t.numRows) notes.push(`… ${t.numRows - shown} more rows (${t.numRows} in all)`);
  if (count < names.length) notes.push(`${names.length - count} column${names.length - count > 1 ? 's' : ''} not shown: ${names.slice(count).join(', ')}`);
  for (const n of notes) out.push(paint(fitLine(n, width), 'dim', opts.color));
  return out.join('\n') + '\n';
}

/** The MIME bundle of a table: text, styled HTML and the Arrow stream. */
export function tableBundle(t: ResultTable, opts: TableRenderOptions = {}): MimeBundle {
  return {
    'text/plain': t.toText({ maxRows: opts.maxRows ?? 50 }),
    'text/html': tableHTML(t, opts),
    'application/vnd.apache.arrow.stream': arrowStreamBase64(t),
  };
}
