/**
 * Generated source code (SourceView: C now; CUDA and WGSL from the next backends; kernel IR text) for
 * notebooks and terminals. HTML is a <pre> block with syntax colouring for the C family; terminals get
 * numbered lines, coloured only when the terminal takes colour, cut to the width before colouring.
 *
 * The C highlighter is a one-pass tokenizer per line, trying in order: a `//` comment, a `/* … *\/`
 * comment on one line (a comment spanning lines is carried to the next line as state), a string or
 * character literal, a preprocessor line (`#include`, `#pragma omp …`), a keyword or type, a number,
 * a function name (a word directly before `(`); anything else passes through. Kernel IR (`kir`) lines
 * use the graph IR's highlighter (display/ir.ts); other languages are shown plain.
 */
import { COLORS, type AnsiColor, type MimeBundle, type TerminalOptions, block, escapeHTML, fitLine, headingHTML, limitLines, paint, preBlock, span } from './style.ts';
import { highlightIRAnsi, highlightIRHTML } from './ir.ts';
import type { SourceView } from './views.ts';

/** Kinds of C tokens. */
export type CToken = 'comment' | 'string' | 'preprocessor' | 'keyword' | 'number' | 'function' | 'text';

const C_KEYWORDS = 'auto|break|case|char|const|continue|default|do|double|else|enum|extern|float|for|goto|if|inline|int|long|'
  + 'register|restrict|return|short|signed|sizeof|static|struct|switch|typedef|union|unsigned|void|volatile|while|_Bool|'
  + 'bool|int8_t|int16_t|int32_t|int64_t|uint8_t|uint16_t|uint32_t|uint64_t|size_t|ptrdiff_t|__restrict__|__attribute__';
const C_TOKEN = new RegExp([
  String.raw`(?<comment>//.*$|/\*.*?\*/)`,
  String.raw`(?<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')`,
  String.raw`(?<preprocessor>^\s*#.*$)`,
  `(?<keyword>\\b(?:${C_KEYWORDS})\\b)`,
  String.raw`(?<number>\b(?:0x[0-9a-fA-F]+|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)[uUlLfF]*\b)`,
  String.raw`(?<function>\b[A-Za-z_]\w*(?=\s*\())`,
].join('|'), 'gy');

/**
 * Splits C text into lines of tokens (concatenated, each line's tokens give the line back); a block
 * comment that spans lines is one comment token on each of them.
 */
export function tokenizeC(text: string): { kind: CToken; text: string }[][] {
  let inComment = false;
  return text.replace(/\n$/, '').split('\n').map((line) => {
    const out: { kind: CToken; text: string }[] = [];
    let i = 0, plain = '';
    const flush = () => { if (plain) { out.push({ kind: 'text', text: plain }); plain = ''; } };
    if (inComment) {
      const end = line.indexOf('*/');
      if (end < 0) return [{ kind: 'comment' as const, text: line }];
      out.push({ kind: 'comment', text: line.slice(0, end + 2) });
      i = end + 2;
      inComment = false;
    }
    while (i < line.length) {
      if (line.startsWith('/*', i) && line.indexOf('*/', i + 2) < 0) {
        flush();
        out.push({ kind: 'comment', text: line.slice(i) });
        inComment = true;
        break;
      }
      C_TOKEN.lastIndex = i;
      const m = C_TOKEN.exec(line);
      if (!m || m[0] === '') { plain += line[i++]; continue; }
      flush();
      const kind = (Object.keys(m.groups!) as CToken[]).find((k) => m.groups![k] !== undefined) ?? 'text';
      out.push({ kind, text: m[0] });
      i += m[0].length;
    }
    flush();
    return out;
  });
}

const ANSI_OF: Record<CToken, AnsiColor | undefined> = {
  comment: 'gray', string: 'green', preprocessor: 'magenta', keyword: 'magenta', number: 'yellow', function: 'blue', text: undefined,
};

const HTML_OF: Record<CToken, string | undefined> = {
  comment: COLORS.muted, string: COLORS.string, preprocessor: COLORS.keyword, keyword: COLORS.keyword, number: COLORS.type,
  function: COLORS.op, text: undefined,
};

const isC = (language: string) => ['c', 'cuda', 'cpp', 'c++', 'h'].includes(language.toLowerCase());

/** The lines of `v.code` as highlighted HTML (escaped; plain for a language without a highlighter). */
function htmlLines(code: string, language: string): string[] {
  if (isC(language)) return tokenizeC(code).map((l) => l.map((t) => (HTML_OF[t.kind] ? span(t.text, HTML_OF[t.kind]) : escapeHTML(t.text))).join(''));
  const lines = code.replace(/\n$/, '').split('\n');
  return language === 'kir' ? lines.map(highlightIRHTML) : lines.map(escapeHTML);
}

/** Options of `sourceHTML`. */
export interface SourceHTMLOptions {
  /** Lines shown before the rest is left out with a note (default: all). */
  readonly maxLines?: number;
  /** Where the whole source is, for the note (`sources/cpu/model.c`). */
  readonly hint?: string;
}

/** A highlighted `<pre>` block of generated source, at most `maxLines` lines (a note says how many more). */
export function sourceHTML(v: SourceView, opts: SourceHTMLOptions = {}): string {
  const all = v.code.replace(/\n$/, '').split('\n');
  const shown = limitLines(all, opts.maxLines, opts.hint);
  const cut = shown.length < all.length; // the last line is then the note
  const body = htmlLines((cut ? shown.slice(0, -1) : shown).join('\n'), v.language);
  return preBlock([...body, ...(cut ? [span(shown[shown.length - 1], COLORS.muted)] : [])].join('\n'), 600);
}

/** Generated source: plain text and a highlighted <pre> block under its title. */
export function sourceBundle(v: SourceView): MimeBundle {
  const title = v.title ?? `${v.language} source`;
  return {
    'text/plain': `${title}\n${v.code}`,
    'text/html': block([headingHTML(title), sourceHTML(v)]),
  };
}

/** Tokens painted with ANSI colours, stopping after `max` characters. */
function paintTokens(tokens: readonly { kind: CToken; text: string }[], max: number): string {
  let out = '', left = max;
  for (const t of tokens) {
    if (left <= 0) break;
    const text = t.text.slice(0, left);
    out += paint(text, ANSI_OF[t.kind], true);
    left -= text.length;
  }
  return out;
}

/** Generated source for a terminal: numbered lines cut to the width, coloured when colour is on. */
export function sourceTerminal(v: SourceView, opts: TerminalOptions): string {
  const src = v.code.replace(/\n$/, '').split('\n');
  const w = String(src.length).length;
  const numbered = src.map((l, i) => `${String(i + 1).padStart(w)}  ${l}`);
  const tokens = opts.color && isC(v.language) ? tokenizeC(v.code) : undefined;
  const body = limitLines(numbered, opts.maxLines).map((line, i) => {
    const cut = fitLine(line, opts.width);
    if (!opts.color || line !== numbered[i]) return cut; // the "more lines" hint stays plain
    const prefix = cut.slice(0, w + 2), rest = cut.slice(w + 2);
    const ellipsis = cut.length < line.length ? rest.slice(-1) : '';
    const visible = rest.length - ellipsis.length;
    if (tokens) return prefix + paintTokens(tokens[i], visible) + ellipsis;
    if (v.language === 'kir') return prefix + highlightIRAnsi(rest);
    return cut;
  });
  return [paint(fitLine(v.title ?? `${v.language} source`, opts.width), 'bold', opts.color), ...body].join('\n') + '\n';
}
