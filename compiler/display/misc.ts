/**
 * Rendering the smaller things: help listings, text notes, plain strings, tensors, errors and any
 * other JavaScript value (through `util.inspect`, as Node's REPL shows it).
 *
 * Terminal text of strings and notes wraps long lines at the width (nothing a user wrote is cut);
 * help lists each command as its usage and summary on one line and its first example on the next.
 */
import { inspect } from 'node:util';
import type { Tensor } from '../ir/tensor.ts';
import { readNumbers } from '../ir/tensor.ts';
import { tensorStats } from '../runtime/inputs.ts';
import { COLORS, MONO, type MimeBundle, type TerminalOptions, block, escapeHTML, fitLine, headingHTML, linesHTML, paint, preBlock, style } from './style.ts';
import type { HelpView, TextView } from './views.ts';

/** Hard-wraps each line of plain text at `width` columns. */
export function wrapLines(text: string, width: number): string {
  const w = Math.max(1, Math.floor(width));
  return text.split('\n').map((l) => {
    if (l.length <= w) return l;
    const parts: string[] = [];
    for (let i = 0; i < l.length; i += w) parts.push(l.slice(i, i + w));
    return parts.join('\n');
  }).join('\n');
}

/** A plain string: as text, and as an escaped <pre> block. */
export function stringBundle(s: string): MimeBundle {
  return { 'text/plain': s, 'text/html': preBlock(escapeHTML(s.replace(/\n$/, ''))) };
}

/** A titled note. */
export function textBundle(v: TextView): MimeBundle {
  return {
    'text/plain': (v.title ? `${v.title}\n` : '') + v.text,
    'text/html': block([v.title ? headingHTML(v.title) : '', linesHTML(v.text.replace(/\n$/, '').split('\n'))]),
  };
}

/** A titled note for a terminal (wrapped at the width). */
export function textTerminal(v: TextView, opts: TerminalOptions): string {
  const body = wrapLines(v.text.replace(/\n$/, ''), opts.width);
  return (v.title ? paint(fitLine(v.title, opts.width), 'bold', opts.color) + '\n' : '') + body + '\n';
}

// ---- help ---------------------------------------------------------------------------------------

const INTRO = 'kiln commands (`help NAME` shows one in detail; in a notebook, type them as %NAME line magics):';

/** Word-wraps one paragraph at `width` columns, each line starting with `indent`. */
export function wordWrap(text: string, width: number, indent = ''): string[] {
  const room = Math.max(10, width - indent.length);
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > room) { out.push(indent + line); line = ''; }
    line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(indent + line);
  return out;
}

/** Help lines: per command its usage, its summary wrapped under it, and its first example. */
function helpLines(v: HelpView, width: number): string[] {
  if (v.detailed && v.entries.length === 1) {
    const e = v.entries[0];
    return [
      `${e.name} ${e.usage}`.trimEnd(), ...wordWrap(e.summary, width, '  '),
      ...(e.details ? ['', ...e.details.split('\n')] : []),
      ...(e.examples?.length ? ['', 'examples:', ...e.examples.map((x) => `  ${x}`)] : []),
    ];
  }
  const out = [INTRO];
  for (const e of v.entries) {
    out.push(`  ${e.name} ${e.usage}`.trimEnd(), ...wordWrap(e.summary, width, '      '));
    if (e.examples?.length) out.push(...wordWrap(`e.g. ${e.examples.slice(0, 2).join('  ·  ')}`, width, '      '));
  }
  return out;
}

/** Help as text and as an HTML table (command, summary, example). */
export function helpBundle(v: HelpView): MimeBundle {
  const lines = helpLines(v, 100);
  if (v.detailed && v.entries.length === 1) {
    return { 'text/plain': lines.join('\n') + '\n', 'text/html': block([headingHTML(lines[0]), preBlock(escapeHTML(lines.slice(1).join('\n')))]) };
  }
  const cell = style({ padding: '2px 8px', 'text-align': 'left', 'vertical-align': 'top', 'border-bottom': `1px solid ${COLORS.border}` });
  const code = (s: string) => `<code${style({ 'font-family': MONO })}>${escapeHTML(s)}</code>`;
  const rows = v.entries.map((e) => `<tr><td${cell}>${code(`%${e.name} ${e.usage}`.trimEnd())}</td><td${cell}>${escapeHTML(e.summary)}</td>`
    + `<td${cell}>${(e.examples ?? []).slice(0, 2).map((x) => code(`%${x}`)).join('<br/>')}</td></tr>`);
  return {
    'text/plain': lines.join('\n') + '\n',
    'text/html': block([headingHTML(INTRO), `<table${style({ 'border-collapse': 'collapse', 'font-size': '12px' })}><thead><tr><th${cell}>command</th><th${cell}>what it does</th><th${cell}>example</th></tr></thead><tbody>${rows.join('')}</tbody></table>`]),
  };
}

/** Help for a terminal: command names bold, lines cut to the width. */
export function helpTerminal(v: HelpView, opts: TerminalOptions): string {
  const names = new Set(v.entries.map((e) => e.name));
  return helpLines(v, opts.width).map((l, i) => {
    const fitted = fitLine(l, opts.width);
    if (!opts.color) return fitted;
    if (i === 0) return paint(fitted, 'bold', true);
    const m = /^( {0,2})(\S+)(.*)$/.exec(fitted);
    return m && names.has(m[2]) ? `${m[1]}${paint(m[2], 'bold', true)}${m[3]}` : fitted;
  }).join('\n') + '\n';
}

// ---- tensors, errors, anything ------------------------------------------------------------------

function tensorLines(t: Tensor): string[] {
  const head = `Tensor ${t.dtype}[${t.shape.join(',')}] (${t.size} element${t.size === 1 ? '' : 's'})`;
  if (t.dtype === 'str') return [head, `[${(t.data as string[]).slice(0, 10).map((s) => JSON.stringify(s)).join(', ')}${t.size > 10 ? ', …' : ''}]`];
  if (t.size === 0) return [head];
  const s = tensorStats(t);
  const v = readNumbers(t);
  const shown = Array.from(v.subarray(0, 10), (x) => String(Number(x.toPrecision(6))));
  return [head, `mean ${s.mean.toPrecision(5)}, std ${s.std.toPrecision(5)}, min ${s.min.toPrecision(5)}, max ${s.max.toPrecision(5)}`,
    `[${shown.join(', ')}${t.size > 10 ? ', …' : ''}]`];
}

/** A tensor: dtype, shape, statistics and its first values. */
export function tensorBundle(t: Tensor): MimeBundle {
  const lines = tensorLines(t);
  return { 'text/plain': lines.join('\n') + '\n', 'text/html': block([linesHTML(lines)]) };
}

/** A tensor for a terminal. */
export function tensorTerminal(t: Tensor, opts: TerminalOptions): string {
  return tensorLines(t).map((l) => fitLine(l, opts.width)).join('\n') + '\n';
}

/** An error: its name and message (no stack). */
export function errorBundle(e: Error): MimeBundle {
  const text = `${e.name && e.name !== 'Error' ? `${e.name}: ` : 'error: '}${e.message}`;
  return { 'text/plain': text, 'text/html': `<pre${style({ color: COLORS.bad, 'font-family': MONO, 'font-size': '12px', 'white-space': 'pre-wrap' })}>${escapeHTML(text)}</pre>` };
}

/** Any other value as Node's REPL shows it. */
export function valueBundle(x: unknown): MimeBundle {
  const text = inspect(x, { depth: 4, maxArrayLength: 50, breakLength: 100 });
  return { 'text/plain': text, 'text/html': preBlock(escapeHTML(text)) };
}

/** Any other value for a terminal (coloured by `util.inspect` when asked). */
export function valueTerminal(x: unknown, opts: TerminalOptions): string {
  return inspect(x, { depth: 4, maxArrayLength: 50, colors: opts.color, breakLength: Math.max(20, opts.width) }) + '\n';
}
