/**
 * A small JavaScript/TypeScript tokenizer for the kernel: enough lexical structure to find top-level
 * statements in esbuild's output (kernel/transform.ts), to tell whether a cell is complete (brackets,
 * strings, templates and comments closed) and to find the word under the cursor for completion.
 *
 * It is not a parser. It knows strings, template literals (with nested `${...}` substitutions, as
 * `templateOpen` / `templateClose` tokens that act as brackets), comments (skipped, but a newline in a
 * comment still counts as a line break), numbers, identifiers and punctuators. A `/` starts a regular
 * expression when the previous significant token cannot end an expression (an operator, an opening
 * bracket, `return`-like keywords, or nothing) — the usual heuristic, exact for esbuild's output.
 * Problems do not throw: the result says what was left open (`unclosed`) or was wrong (`error`).
 */

/** Token kinds. `templateOpen` is a template start up to `${`; `templateClose` resumes after `}`. */
export type TokenKind = 'ident' | 'punct' | 'string' | 'template' | 'templateOpen' | 'templateClose' | 'number' | 'regex' | 'private';

/** One token: kind, text, offsets into the source and whether a line break precedes it. */
export interface Token {
  readonly kind: TokenKind;
  readonly value: string;
  readonly start: number;
  readonly end: number;
  /** A line break (possibly inside a comment) between the previous token and this one. */
  readonly newlineBefore: boolean;
}

/** The tokens of a source text plus what was left open or went wrong. */
export interface TokenizeResult {
  readonly tokens: Token[];
  /** Open brackets / templates at the end, innermost last (`(`, `[`, `{`, '`'); or a string or comment left open. */
  readonly unclosed: string[];
  /** A lexical error that more input cannot fix (mismatched bracket, newline in a string), with its offset. */
  readonly error?: { readonly message: string; readonly offset: number };
}

const PUNCTUATORS = [
  '>>>=', '...', '===', '!==', '**=', '<<=', '>>=', '>>>', '&&=', '||=', '??=',
  '=>', '==', '!=', '<=', '>=', '&&', '||', '??', '?.', '++', '--', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '**', '<<', '>>',
];
const REGEX_AFTER_KEYWORDS = new Set(['return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await']);
const ID_START = /[\p{ID_Start}$_\\]/u;
const ID_PART = /[\p{ID_Continue}$\u200c\u200d\\]/u;
const CLOSERS: Record<string, string> = { ')': '(', ']': '[', '}': '{' };

/** Whether a `/` after `prev` starts a regular expression rather than a division. */
function regexAllowed(prev: Token | undefined): boolean {
  if (!prev) return true;
  switch (prev.kind) {
    case 'number': case 'string': case 'template': case 'templateClose': case 'regex': case 'private': return false;
    case 'ident': return REGEX_AFTER_KEYWORDS.has(prev.value);
    case 'templateOpen': return true;
    case 'punct': return !(prev.value === ')' || prev.value === ']' || prev.value === '}' || prev.value === '++' || prev.value === '--');
  }
}

/** Tokenizes `src`; never throws. */
export function tokenize(src: string): TokenizeResult {
  const tokens: Token[] = [];
  // bracket stack: '(', '[', '{' and '`' for an open template substitution
  const stack: string[] = [];
  let i = 0;
  let newline = false;
  const n = src.length;
  const push = (kind: TokenKind, start: number, end: number) => {
    tokens.push({ kind, value: src.slice(start, end), start, end, newlineBefore: newline });
    newline = false;
  };
  const fail = (message: string, offset: number): TokenizeResult => ({ tokens, unclosed: stack.slice(), error: { message, offset } });
  /** Scans template text from `i` (just after '`' or '}'); returns the kind to push, or undefined at EOF. */
  const scanTemplate = (start: number): 'template' | 'templateOpen' | 'open' => {
    while (i < n) {
      const c = src[i];
      if (c === '\\') { i += 2; continue; }
      if (c === '`') { i++; return 'template'; }
      if (c === '$' && src[i + 1] === '{') { i += 2; return 'templateOpen'; }
      i++;
    }
    void start;
    return 'open';
  };

  while (i < n) {
    const c = src[i];
    if (c === '\n' || c === '\r' || c === '\u2028' || c === '\u2029') { newline = true; i++; continue; }
    if (c === ' ' || c === '\t' || c === '\f' || c === '\v' || c === '\ufeff' || c === '\u00a0') { i++; continue; }
    if (c === '/' && src[i + 1] === '/') {
      while (i < n && src[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) return { tokens, unclosed: [...stack, '/*'] };
      if (/[\n\r\u2028\u2029]/.test(src.slice(i, end))) newline = true;
      i = end + 2;
      continue;
    }
    const start = i;
    if (c === '"' || c === "'") {
      i++;
      while (i < n && src[i] !== c) {
        if (src[i] === '\\') { i += src[i + 1] === '\r' && src[i + 2] === '\n' ? 3 : 2; continue; }
        if (src[i] === '\n') return fail('unterminated string literal', start);
        i++;
      }
      if (i >= n) return { tokens, unclosed: [...stack, c] };
      i++;
      push('string', start, i);
      continue;
    }
    if (c === '`') {
      i++;
      const k = scanTemplate(start);
      if (k === 'open') return { tokens, unclosed: [...stack, '`'] };
      push(k, start, i);
      if (k === 'templateOpen') stack.push('`');
      continue;
    }
    if (c === '}' && stack[stack.length - 1] === '`') {
      stack.pop();
      i++;
      const k = scanTemplate(start);
      if (k === 'open') return { tokens, unclosed: [...stack, '`'] };
      push(k === 'template' ? 'templateClose' : 'templateOpen', start, i);
      if (k === 'templateOpen') stack.push('`');
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(src[i + 1] ?? ''))) {
      i++;
      while (i < n && /[0-9a-zA-Z_.]/.test(src[i])) {
        if ((src[i] === 'e' || src[i] === 'E') && (src[i + 1] === '+' || src[i + 1] === '-') && !/^0[xX]/.test(src.slice(start, i))) i++;
        i++;
      }
      push('number', start, i);
      continue;
    }
    if (ID_START.test(c) || c === '#') {
      i++;
      while (i < n && ID_PART.test(src[i])) i++;
      push(c === '#' ? 'private' : 'ident', start, i);
      continue;
    }
    if (c === '/' && regexAllowed(tokens[tokens.length - 1])) {
      i++;
      let inClass = false;
      while (i < n) {
        const d = src[i];
        if (d === '\n') return fail('unterminated regular expression', start);
        if (d === '\\') { i += 2; continue; }
        if (d === '[') inClass = true;
        else if (d === ']') inClass = false;
        else if (d === '/' && !inClass) break;
        i++;
      }
      if (i >= n) return fail('unterminated regular expression', start);
      i++;
      while (i < n && ID_PART.test(src[i])) i++;
      push('regex', start, i);
      continue;
    }
    const p = PUNCTUATORS.find((q) => src.startsWith(q, i)) ?? c;
    if (p === '?.' && /[0-9]/.test(src[i + 2] ?? '')) {
      i++;
      push('punct', start, i);
      continue;
    }
    if (c === '(' || c === '[' || c === '{') stack.push(c);
    else if (c === ')' || c === ']' || c === '}') {
      const open = stack.pop();
      if (open !== CLOSERS[c]) return fail(open === undefined ? `unexpected '${c}'` : `'${c}' does not match '${open === '`' ? '${' : open}'`, start);
    }
    i += p.length;
    push('punct', start, i);
  }
  return { tokens, unclosed: stack.slice() };
}

/** Bracket depth change of a token: +1 for openers (incl. `${`), -1 for closers. */
export function depthDelta(t: Token): number {
  if (t.kind === 'punct') {
    if (t.value === '(' || t.value === '[' || t.value === '{') return 1;
    if (t.value === ')' || t.value === ']' || t.value === '}') return -1;
    return 0;
  }
  if (t.kind === 'templateOpen' && t.value.startsWith('`')) return 1;
  if (t.kind === 'templateClose') return -1;
  return 0; // a templateOpen that starts with '}' closes one substitution and opens another
}
