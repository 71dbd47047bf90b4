/**
 * The shared vocabulary of kiln's renderings: the MIME bundle and terminal option types, ANSI colours
 * for terminals, inline-styled HTML pieces for notebooks, and fitting text to a terminal width.
 *
 * HTML is self-contained: every element carries its style inline (no <style> block, which would leak
 * into a notebook page, and no classes that need a stylesheet) and every text is escaped. Colours are
 * chosen to read on both light and dark notebook themes. Terminal text is plain unless `color` is on;
 * widths count UTF-16 code units, which matches the terminal for the characters kiln prints.
 */
import { escapeHTML } from '../ir/diff.ts';

export { escapeHTML } from '../ir/diff.ts';

/** MIME type → content (text, HTML, SVG, or base64 for binary types). */
export type MimeBundle = Record<string, string>;

/** Options of terminal rendering. */
export interface TerminalOptions {
  /** Use ANSI colours. */
  readonly color: boolean;
  /** Columns available; lines longer are cut with `…`. */
  readonly width: number;
  /** Most lines of a long block (a diff, IR) before the rest is summarised (default: no limit). */
  readonly maxLines?: number;
}

/** The ANSI colour names kiln uses. */
export type AnsiColor = 'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'blue' | 'magenta' | 'cyan' | 'gray';

const ANSI: Record<AnsiColor, string> = {
  bold: '\x1b[1m', dim: '\x1b[2m', red: '\x1b[31m', green: '\x1b[32m', yellow: '\x1b[33m', blue: '\x1b[34m',
  magenta: '\x1b[35m', cyan: '\x1b[36m', gray: '\x1b[90m',
};

/** `text` in an ANSI colour when `on` (text unchanged otherwise or when empty). */
export function paint(text: string, color: AnsiColor | undefined, on: boolean): string {
  return on && color && text ? `${ANSI[color]}${text}\x1b[0m` : text;
}

/** Text without ANSI escape sequences. */
export function stripAnsi(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, '');
}

/** Cuts one line of plain text to `width` columns, ending in `…` when cut. */
export function fitLine(line: string, width: number): string {
  const w = Math.max(1, Math.floor(width));
  return line.length > w ? line.slice(0, w - 1) + '…' : line;
}

/** Cuts every line of plain text to `width`. */
export function fitLines(text: string, width: number): string {
  return text.split('\n').map((l) => fitLine(l, width)).join('\n');
}

/**
 * Keeps at most `maxLines` lines of a block (all when undefined), adding a note of how many were left
 * out; `hint` says how to see them all.
 */
export function limitLines(lines: readonly string[], maxLines: number | undefined, hint = ''): string[] {
  if (maxLines === undefined || lines.length <= maxLines) return [...lines];
  const keep = Math.max(1, maxLines - 1);
  return [...lines.slice(0, keep), `… ${lines.length - keep} more lines${hint ? ` (${hint})` : ''}`];
}

/** Colours of the HTML renderings. */
export const COLORS = {
  text: '#24292f', muted: '#6e7781', border: '#d0d7de', headBg: '#f6f8fa', add: '#1a7f37', addBg: '#e6ffec',
  del: '#cf222e', delBg: '#ffebe9', hunk: '#0969da', op: '#8250df', value: '#0550ae', type: '#953800',
  string: '#0a3069', keyword: '#cf222e', bar: '#4c78a8', ok: '#1a7f37', bad: '#cf222e',
} as const;

/** Monospace font stack of code blocks and tables. */
export const MONO = "ui-monospace,SFMono-Regular,Menlo,Consolas,'Liberation Mono',monospace";

/** A `style="..."` attribute from property pairs. */
export function style(props: Readonly<Record<string, string | number>>): string {
  const body = Object.entries(props).map(([k, v]) => `${k}:${v}`).join(';');
  return ` style="${escapeHTML(body)}"`;
}

/** A `<pre>` block of already escaped HTML, scrolling when long. */
export function preBlock(innerHTML: string, maxHeight?: number): string {
  return `<pre${style({
    'font-family': MONO, 'font-size': '12px', 'line-height': '1.4', margin: '0.25em 0', padding: '0.5em',
    'white-space': 'pre', 'overflow-x': 'auto', ...(maxHeight ? { 'max-height': `${maxHeight}px`, 'overflow-y': 'auto' } : {}),
    border: `1px solid ${COLORS.border}`, 'border-radius': '4px',
  })}>${innerHTML}</pre>`;
}

/** A `<span>` of escaped text in a colour (and optional background or weight). */
export function span(text: string, color?: string, extra: Readonly<Record<string, string>> = {}): string {
  const props = { ...(color ? { color } : {}), ...extra };
  return Object.keys(props).length ? `<span${style(props)}>${escapeHTML(text)}</span>` : escapeHTML(text);
}

/** A heading line (bold) of escaped text. */
export function headingHTML(text: string): string {
  return `<div${style({ 'font-weight': 'bold', margin: '0.4em 0 0.2em', 'font-family': 'sans-serif' })}>${escapeHTML(text)}</div>`;
}

/** A paragraph of escaped text lines. */
export function linesHTML(lines: readonly string[]): string {
  return `<div${style({ 'font-family': MONO, 'font-size': '12px', 'white-space': 'pre-wrap' })}>${lines.map(escapeHTML).join('<br/>')}</div>`;
}

/** Wraps parts in one `<div>` so the bundle's HTML is a single element. */
export function block(parts: readonly string[]): string {
  return `<div class="kiln-output">${parts.filter(Boolean).join('\n')}</div>`;
}
