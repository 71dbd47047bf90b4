/**
 * Error reports of cells: turns whatever a cell threw into the protocol's ename / evalue / traceback,
 * with positions in the cell's own lines and columns.
 *
 * Every compiled cell part is registered under its script filename with the cell's source and a label
 * (`In [3]`). A stack frame in such a script is mapped back through the cell's position map
 * (kernel/transform.ts), so a function defined in cell 3 and failing when called from cell 5 still
 * points into cell 3. The traceback is: `Name: message`, then a code frame (the failing line with two
 * lines of context and a caret under the column) for the innermost cell frame, then the stack with
 * cell frames rewritten (`at f (In [3]:2:7)`) and the kernel's own frames dropped. A KilnError (a
 * user-caused error with its place in the message) gets no JavaScript stack, only the cell position.
 */
import { inspect } from 'node:util';
import type { CompiledCell } from './transform.ts';
import { CellSyntaxError } from './transform.ts';

/** A cell failure as the protocol reports it, plus the cell position found. */
export interface CellError {
  ename: string;
  evalue: string;
  traceback: string[];
  /** Label of the cell the error points into (`In [3]`). */
  label?: string;
  /** 1-based line and column in that cell. */
  line?: number;
  column?: number;
}

interface Registered {
  readonly label: string;
  readonly source: string;
  readonly compiled?: CompiledCell;
}

const RED = '\x1b[31m', BOLD_RED = '\x1b[1;31m', GREEN = '\x1b[32m', CYAN = '\x1b[36m', DIM = '\x1b[2m', RESET = '\x1b[0m';

/** Script filenames of compiled cells and their sources. */
export class CellRegistry {
  private readonly cells = new Map<string, Registered>();

  /** Records a compiled part (or, without `compiled`, a cell only for code frames). */
  add(filename: string, label: string, source: string, compiled?: CompiledCell): void {
    this.cells.set(filename, { label, source, compiled });
  }

  /** Formats a thrown value; `where` is the cell and line to blame when no frame points into a cell. */
  format(err: unknown, where?: { label: string; source: string; line: number }): CellError {
    if (err instanceof CellSyntaxError || (isErrorLike(err) && err.name === 'SyntaxError' && 'lineText' in err)) {
      const e = err as CellSyntaxError;
      const label = where?.label ?? '<cell>';
      return {
        ename: 'SyntaxError', evalue: e.message, label, line: e.line, column: e.column,
        traceback: [`${BOLD_RED}SyntaxError${RESET}: ${e.message}`, ...codeFrame(label, where?.source ?? e.lineText, where ? e.line : 1, e.column)],
      };
    }
    if (!isErrorLike(err)) {
      const evalue = inspect(err, { depth: 2 });
      const tb = [`${BOLD_RED}Uncaught${RESET}: ${evalue}`];
      if (where) tb.push(...codeFrame(where.label, where.source, where.line, undefined));
      return { ename: 'Uncaught', evalue, traceback: tb, label: where?.label, line: where?.line };
    }
    const ename = err.name || err.constructor?.name || 'Error';
    const evalue = err.message ?? '';
    const frames = parseStack(err.stack ?? '');
    const shown: string[] = [];
    let first: { label: string; source: string; line: number; column: number } | undefined;
    for (const f of frames) {
      const cell = f.file ? this.cells.get(f.file) : undefined;
      if (cell?.compiled) {
        const pos = cell.compiled.position(f.line, f.column);
        if (!pos) continue;
        first ??= { label: cell.label, source: cell.source, ...pos };
        shown.push(`    at ${f.fn && !f.fn.startsWith('__kiln') ? `${f.fn} (${cell.label}:${pos.line}:${pos.column})` : `${cell.label}:${pos.line}:${pos.column}`}`);
      } else if (f.file && !isKernelFrame(f.file)) {
        shown.push(`    ${DIM}${f.raw.trim()}${RESET}`);
      }
    }
    const isKiln = ename === 'KilnError';
    const tb = [`${BOLD_RED}${ename}${RESET}: ${evalue}`];
    const place = first ?? (where ? { ...where, column: undefined } : undefined);
    if (place) tb.push(...codeFrame(place.label, place.source, place.line, place.column));
    if (!isKiln && shown.length) tb.push(...shown);
    return { ename, evalue, traceback: tb, label: place?.label, line: place?.line, column: place?.column };
  }
}

interface Frame {
  readonly fn?: string;
  readonly file?: string;
  readonly line: number;
  readonly column: number;
  readonly raw: string;
}

/** Parses V8 stack lines `at fn (file:line:col)` / `at file:line:col`. */
function parseStack(stack: string): Frame[] {
  const out: Frame[] = [];
  for (const raw of stack.split('\n')) {
    const m = /^\s*at (?:(.*?) \()?(.*?):(\d+):(\d+)\)?$/.exec(raw);
    if (m) out.push({ fn: m[1]?.replace(/^async /, ''), file: m[2].replace(/^async /, ''), line: Number(m[3]), column: Number(m[4]), raw });
    else if (/^\s*at /.test(raw)) out.push({ line: 0, column: 0, raw });
  }
  return out;
}

/** The kernel's own code and Node internals, left out of tracebacks. */
function isKernelFrame(file: string): boolean {
  return file.startsWith('node:') || /[/\\]kernel[/\\][^/\\]+\.ts$/.test(file) || file.includes('node_modules/tsx/') || file === 'evalmachine.<anonymous>';
}

function isErrorLike(e: unknown): e is Error {
  return typeof e === 'object' && e !== null && typeof (e as Error).message === 'string' && typeof (e as Error).name === 'string';
}

/** A code frame: header, up to two lines before, the line marked, and a caret under the column. */
export function codeFrame(label: string, source: string, line: number, column: number | undefined): string[] {
  const lines = source.split('\n');
  const out = [`${GREEN}${label}${RESET}, line ${line}${column !== undefined ? `, column ${column}` : ''}:`];
  const from = Math.max(1, line - 2), to = Math.min(lines.length, line);
  const width = String(to).length;
  for (let l = from; l <= to; l++) {
    const text = (lines[l - 1] ?? '').replace(/\r$/, '');
    const mark = l === line ? `${RED}>${RESET}` : ' ';
    out.push(`${mark} ${CYAN}${String(l).padStart(width)}${RESET} | ${text}`);
    if (l === line && column !== undefined) out.push(`  ${' '.repeat(width)} | ${' '.repeat(Math.max(0, column - 1))}${RED}^${RESET}`);
  }
  return out;
}

/** Strips ANSI colour codes (tests and plain-text consumers). */
export function stripAnsi(s: string): string {
  return s.replace(/\x1b\[[0-9;]*m/g, '');
}
