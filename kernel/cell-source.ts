/**
 * Source-level analysis of a cell, before any compiling: splitting it into `%` magic lines and runs of
 * TypeScript (`splitCell`), and marking the last top-level statement, when it is an expression, as
 * the cell's value (`markLastExpression`). Both work on the raw text with kernel/tokens.ts.
 */
import { tokenize, depthDelta, type Token } from './tokens.ts';

/** The call wrapped around the last expression; `__kiln.value` is the identity. */
export const VALUE_MARK = '__kiln.value(';

const DECLARATION_STARTS = new Set(['if', 'for', 'while', 'do', 'switch', 'try', 'throw', 'return', 'break', 'continue', 'with', 'debugger',
  'var', 'let', 'const', 'function', 'class', 'export', 'else', 'case', 'default', 'using']);
const TS_DECLARATIONS = new Set(['type', 'interface', 'enum', 'namespace', 'module', 'declare', 'abstract']);
const CONTINUES = new Set(['.', '?.', '(', '[', ',', '=', '=>', '+', '-', '*', '/', '%', '**', '==', '!=', '===', '!==', '<', '>', '<=', '>=',
  '&&', '||', '??', '&', '|', '^', '<<', '>>', '>>>', '?', ':', '+=', '-=', '*=', '/=', '%=', '**=', '<<=', '>>=', '>>>=', '&=', '|=', '^=',
  '&&=', '||=', '??=']);
const CONTINUE_WORDS = new Set(['in', 'instanceof', 'as', 'satisfies', 'of']);
const EXPECTS_MORE_WORDS = new Set(['new', 'typeof', 'void', 'delete', 'await', 'yield', 'in', 'of', 'instanceof', 'as', 'satisfies', 'else', 'do', 'return', 'throw', 'case']);

/**
 * Wraps the cell's last top-level statement in `__kiln.value(...)` when it is an expression, so its
 * value survives esbuild and becomes the cell's value. Statements are found on the TypeScript source
 * with automatic semicolon insertion approximated: a boundary is a `;` at depth 0, or a line break at
 * depth 0 where the previous token can end an expression and the next cannot continue it. Returns
 * undefined when the last statement is not an expression; a wrong guess only costs the value (the
 * caller recompiles the unmarked source when the marked one does not parse).
 */
export function markLastExpression(code: string): { code: string; at: { line: number; column: number } } | undefined {
  const { tokens, unclosed, error } = tokenize(code);
  if (error || unclosed.length || !tokens.length) return undefined;
  let end = tokens.length;
  while (end > 0 && tokens[end - 1].kind === 'punct' && tokens[end - 1].value === ';') end--;
  let depth = 0;
  let start = 0;
  for (let k = 0; k < end; k++) {
    const t = tokens[k];
    if (depth === 0 && k > 0 && t.newlineBefore && start < k && isBoundary(tokens[k - 1], t)) start = k;
    depth += depthDelta(t);
    if (depth === 0 && t.kind === 'punct' && t.value === ';') start = k + 1;
  }
  if (end <= start) return undefined;
  const first = tokens[start], second = tokens[start + 1];
  if (first.kind === 'punct' && (first.value === '{' || first.value === '}' || first.value === '@' || first.value === ';')) return undefined;
  if (first.kind === 'ident') {
    if (DECLARATION_STARTS.has(first.value)) return undefined;
    if (first.value === 'import' && !(second?.value === '(' || second?.value === '.')) return undefined;
    if (first.value === 'async' && second?.kind === 'ident' && second.value === 'function') return undefined;
    if (TS_DECLARATIONS.has(first.value) && second?.kind === 'ident') return undefined;
    if (second?.kind === 'punct' && second.value === ':') return undefined; // a label
  }
  const a = first.start, b = tokens[end - 1].end;
  const before = code.slice(0, a);
  const line = before.split('\n').length - 1;
  const column = a - (before.lastIndexOf('\n') + 1);
  return { code: `${before}${VALUE_MARK}${code.slice(a, b)})${code.slice(b)}`, at: { line, column } };
}

/** Whether a line break between `prev` and `next` (at depth 0) ends a statement. */
function isBoundary(prev: Token, next: Token): boolean {
  if (next.kind === 'punct' && (next.value === '++' || next.value === '--')) return true; // restricted production
  if (next.kind === 'punct' && CONTINUES.has(next.value)) return false;
  if (next.kind === 'template' || next.kind === 'templateOpen') return false; // tagged template
  if (next.kind === 'ident' && CONTINUE_WORDS.has(next.value)) return false;
  if (prev.kind === 'punct' && !(prev.value === ')' || prev.value === ']' || prev.value === '}' || prev.value === '++' || prev.value === '--')) return false;
  if (prev.kind === 'ident' && EXPECTS_MORE_WORDS.has(prev.value)) return false;
  return true;
}

/** One part of a cell: a line magic (`%step 3`) or a run of TypeScript lines. */
export type CellPart =
  | { readonly kind: 'magic'; readonly name: string; readonly args: string; readonly line: number }
  | { readonly kind: 'code'; readonly code: string; readonly line: number };

const MAGIC = /^\s*%([A-Za-z_][\w-]*)(?:\s+(.*))?\s*$/;

/**
 * Splits a cell into magic lines and TypeScript runs, in order. A magic is a line whose first
 * non-blank character is `%` followed by a name; `line` is the 1-based line where a part starts.
 * Blank-only code runs are dropped.
 */
export function splitCell(code: string): CellPart[] {
  const lines = code.split('\n');
  const parts: CellPart[] = [];
  let run: string[] = [];
  let runStart = 1;
  const flush = () => {
    if (run.some((l) => l.trim() !== '')) parts.push({ kind: 'code', code: run.join('\n'), line: runStart });
    run = [];
  };
  lines.forEach((text, i) => {
    const m = MAGIC.exec(text.replace(/\r$/, ''));
    if (m) {
      flush();
      parts.push({ kind: 'magic', name: m[1], args: (m[2] ?? '').trim(), line: i + 1 });
      runStart = i + 2;
    } else {
      if (!run.length) runStart = i + 1;
      run.push(text);
    }
  });
  flush();
  return parts;
}
