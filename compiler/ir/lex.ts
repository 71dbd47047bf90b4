/**
 * The tokenizer of the `.kir` text (see print.ts for the form).
 *
 * One left-to-right scan turns the source into tokens that carry their 1-based line and column:
 * value names (`%x`, `%"odd"`), global names (`@g`), hashes (`#3f2a`), strings (JSON syntax, decoded),
 * numbers (`12`, `-3`, `1.5e-3`, `0x7fc00001`, `-inf`), words (`Conv`, `f32`, `kiln.graph`, `inf`) and
 * punctuation (`( ) [ ] { } < > , : = ? * ->`). Whitespace and `//` comments are skipped. Every scan step
 * consumes at least one character, so lexing always terminates; bad input throws a KilnError with the
 * position.
 */
import { KilnError } from '../errors.ts';

/** Token kinds. */
export type TokenKind = 'value' | 'global' | 'hash' | 'string' | 'number' | 'word' | 'punct' | 'eof';

/** One token. */
export interface Token {
  readonly kind: TokenKind;
  /** The source text of the token. */
  readonly text: string;
  /** Decoded content: the name for value/global (unquoted), the string, the lowercase hex of a hash. */
  readonly value: string;
  readonly line: number;
  readonly column: number;
}

const NAME_CHAR = /[A-Za-z0-9_.$-]/;
const WORD_START = /[A-Za-z_]/;
const WORD_CHAR = /[A-Za-z0-9_.]/;
const NUMBER = /-?(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)/y;
const PUNCT = '()[]{}<>,:=?*';

/** Splits `.kir` source into tokens (the last one is 'eof'). */
export function lex(src: string, file?: string): Token[] {
  const toks: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const fail = (msg: string, at: number): never => {
    throw new KilnError(msg, { file, line, column: at - lineStart + 1 });
  };
  const push = (kind: TokenKind, start: number, end: number, value: string) => {
    toks.push({ kind, text: src.slice(start, end), value, line, column: start - lineStart + 1 });
  };
  /** Scans a JSON string starting at the quote at `start`; returns [end, decoded]. */
  const scanString = (start: number): [number, string] => {
    let j = start + 1;
    for (;;) {
      const c = src[j];
      if (c === undefined || c === '\n' || c === '\r') return fail('unterminated string', start);
      if (c === '\\') j += 2;
      else if (c === '"') break;
      else j++;
    }
    const raw = src.slice(start, j + 1);
    try {
      return [j + 1, JSON.parse(raw) as string];
    } catch {
      return fail(`invalid string literal ${raw.length > 40 ? raw.slice(0, 40) + '...' : raw}`, start);
    }
  };
  while (i < src.length) {
    const c = src[i];
    if (c === '\n') {
      i++;
      line++;
      lineStart = i;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '/' && src[i + 1] === '/') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '%' || c === '@') {
      const kind = c === '%' ? 'value' : 'global';
      let j = i + 1;
      let name: string;
      if (src[j] === '"') [j, name] = scanString(j);
      else {
        while (j < src.length && NAME_CHAR.test(src[j])) j++;
        name = src.slice(i + 1, j);
        if (!name) fail(`expected a name after '${c}'`, i);
      }
      push(kind, i, j, name);
      i = j;
    } else if (c === '#') {
      let j = i + 1;
      while (j < src.length && /[0-9a-fA-F]/.test(src[j])) j++;
      if (j === i + 1) fail("expected hex digits after '#'", i);
      push('hash', i, j, src.slice(i + 1, j).toLowerCase());
      i = j;
    } else if (c === '"') {
      const [j, s] = scanString(i);
      push('string', i, j, s);
      i = j;
    } else if (c === '-' && src[i + 1] === '>') {
      push('punct', i, i + 2, '->');
      i += 2;
    } else if (c === '-' && src.startsWith('inf', i + 1) && !WORD_CHAR.test(src[i + 4] ?? ' ')) {
      push('number', i, i + 4, '-inf');
      i += 4;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(src);
      if (!m) return fail(`unexpected character '${c}'`, i);
      const j = i + m[0].length;
      if (j < src.length && WORD_CHAR.test(src[j])) fail(`malformed number '${src.slice(i, j + 1)}'`, i);
      push('number', i, j, m[0]);
      i = j;
    } else if (WORD_START.test(c)) {
      let j = i + 1;
      while (j < src.length && WORD_CHAR.test(src[j])) j++;
      push('word', i, j, src.slice(i, j));
      i = j;
    } else if (PUNCT.includes(c)) {
      push('punct', i, i + 1, c);
      i++;
    } else {
      const cp = src.codePointAt(i)!;
      fail(`unexpected character ${cp < 32 || cp > 126 ? `U+${cp.toString(16).padStart(4, '0')}` : `'${c}'`}`, i);
    }
  }
  toks.push({ kind: 'eof', text: '', value: '', line, column: i - lineStart + 1 });
  return toks;
}
