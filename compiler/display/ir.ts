/**
 * IR text with syntax colouring, for terminals (ANSI) and notebooks (inline-styled HTML spans)
 * (generated source code: display/source.ts).
 *
 * The highlighter is a one-pass tokenizer over each line of `.kir` text (compiler/ir/print.ts): at each
 * position it tries, in order, a `//` comment, a string, a value name `%x` or `%"odd"`, the graph name
 * `@g`, a weight hash `#3f2a…`, a type `f32[1,64,N]`, a keyword (`kiln.graph`, `const`, `return`,
 * `loc`, `fused`, `dense`), an op name (a word directly before `(`), a number; anything else passes
 * through. Each token kind has one colour. Lines are cut to the terminal width before colouring, so a
 * cut never splits an escape sequence.
 */
import { COLORS, type AnsiColor, type MimeBundle, type TerminalOptions, block, escapeHTML, fitLine, headingHTML, limitLines, paint, preBlock, span } from './style.ts';
import type { IRView } from './views.ts';

/** Kinds of IR tokens. */
export type IRToken = 'comment' | 'string' | 'value' | 'graph' | 'hash' | 'type' | 'keyword' | 'op' | 'number' | 'text';

const DTYPES = 'f8e4m3fnuz|f8e4m3fn|f8e5m2fnuz|f8e5m2|f8e8m0|f4e2m1|bf16|f16|f32|f64|i8|u8|i16|u16|i32|u32|i64|u64|i4|u4|i2|u2|bool|str';
const QUOTED = String.raw`"(?:[^"\\]|\\.)*"`;
const TOKEN = new RegExp([
  String.raw`(?<comment>//.*$)`,
  `(?<string>${QUOTED})`,
  String.raw`(?<value>%(?:${QUOTED}|[A-Za-z0-9_.$-]+))`,
  String.raw`(?<graph>@(?:${QUOTED}|[A-Za-z0-9_.$-]+))`,
  String.raw`(?<hash>#[0-9a-f]{4,})`,
  String.raw`(?<type>\b(?:${DTYPES})\[[^\]]*\])`,
  String.raw`(?<keyword>\b(?:kiln\.graph|const|return|loc|fused|dense)\b)`,
  String.raw`(?<op>\b[A-Za-z_][A-Za-z0-9_.]*(?=\())`,
  String.raw`(?<number>-?\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b)`,
].join('|'), 'gy');

/** Splits one line of IR text into tokens (concatenated, they give the line back). */
export function tokenizeIR(line: string): { kind: IRToken; text: string }[] {
  const out: { kind: IRToken; text: string }[] = [];
  let plain = '';
  let i = 0;
  while (i < line.length) {
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(line);
    if (!m || m[0] === '') { plain += line[i++]; continue; }
    if (plain) { out.push({ kind: 'text', text: plain }); plain = ''; }
    const kind = (Object.keys(m.groups!) as IRToken[]).find((k) => m.groups![k] !== undefined) ?? 'text';
    out.push({ kind, text: m[0] });
    i += m[0].length;
  }
  if (plain) out.push({ kind: 'text', text: plain });
  return out;
}

const ANSI_OF: Record<IRToken, AnsiColor | undefined> = {
  comment: 'gray', string: 'green', value: 'cyan', graph: 'bold', hash: 'dim', type: 'yellow', keyword: 'magenta',
  op: 'blue', number: undefined, text: undefined,
};

const HTML_OF: Record<IRToken, string | undefined> = {
  comment: COLORS.muted, string: COLORS.string, value: COLORS.value, graph: COLORS.text, hash: COLORS.muted,
  type: COLORS.type, keyword: COLORS.keyword, op: COLORS.op, number: undefined, text: undefined,
};

/** One IR line with ANSI colours. */
export function highlightIRAnsi(line: string): string {
  return tokenizeIR(line).map((t) => paint(t.text, ANSI_OF[t.kind], true)).join('');
}

/** One IR line as escaped HTML with coloured spans. */
export function highlightIRHTML(line: string): string {
  return tokenizeIR(line).map((t) => (HTML_OF[t.kind] || t.kind === 'graph'
    ? span(t.text, HTML_OF[t.kind], t.kind === 'op' || t.kind === 'graph' ? { 'font-weight': 'bold' } : {})
    : escapeHTML(t.text))).join('');
}

const lines = (text: string) => text.replace(/\n$/, '').split('\n');

/** The MIME bundle of IR text: plain text and highlighted HTML. */
export function irBundle(v: IRView): MimeBundle {
  const body = lines(v.text).map(highlightIRHTML).join('\n');
  return {
    'text/plain': (v.title ? `${v.title}\n` : '') + v.text,
    'text/html': block([v.title ? headingHTML(v.title) : '', preBlock(body, 600)]),
  };
}

/** IR text for a terminal: cut to the width, coloured when asked, at most `maxLines` lines. */
export function irTerminal(v: IRView, opts: TerminalOptions): string {
  const body = limitLines(lines(v.text), opts.maxLines, 'use `ir` with a smaller graph or a notebook for all of it')
    .map((l) => fitLine(l, opts.width))
    .map((l) => (opts.color ? highlightIRAnsi(l) : l));
  const head = v.title ? [paint(fitLine(v.title, opts.width), 'bold', opts.color)] : [];
  return [...head, ...body].join('\n') + '\n';
}
