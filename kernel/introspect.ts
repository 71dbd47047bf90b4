/**
 * Completion, inspection and completeness of cell code (complete_request, inspect_request,
 * is_complete_request).
 *
 * Completion looks at the text before the cursor. On a magic line it completes the command name
 * (`%st` → `%step`) or the command's argument through `Command.complete(argText)`, whose candidates
 * replace the last word of the argument text (the command table's contract). In
 * TypeScript it completes a dotted chain `a.b.c` by walking the live objects from the global scope
 * (property reads only, never calls) and a bare word from the global names, the identifiers of the
 * cell, keywords and the magics. Inspection shows the documentation of kiln API names, Session methods
 * and commands, else a summary of the live value. Completeness uses the tokenizer: open brackets,
 * strings, templates or comments mean `incomplete` (with an indent), a mismatched bracket or other
 * error `invalid`, then esbuild's parse decides (an error at the end of input means `incomplete`).
 * Offsets here are UTF-16 indices; the handler converts the protocol's code points.
 */
import { inspect } from 'node:util';
import { allCommands, findCommand, type CommandContext } from '../compiler/commands/command.ts';
import { tokenize } from './tokens.ts';
import { loadEsbuild, splitCell } from './transform.ts';
import { API_DOCS, SESSION_DOCS } from './docs.ts';

/** Completion matches replacing `code.slice(start, end)`. */
export interface Completion {
  matches: string[];
  start: number;
  end: number;
}

const KEYWORDS = ['await', 'async', 'break', 'case', 'catch', 'class', 'const', 'continue', 'default', 'delete', 'do', 'else', 'export', 'extends',
  'false', 'finally', 'for', 'function', 'if', 'import', 'in', 'instanceof', 'let', 'new', 'null', 'return', 'switch', 'this', 'throw', 'true',
  'try', 'typeof', 'undefined', 'var', 'void', 'while', 'yield', 'interface', 'type', 'enum', 'as', 'satisfies'];

/** Completions at `cursor` of `code`, against the live global scope and the command table. */
export function complete(code: string, cursor: number, ctx: CommandContext, scope: object = globalThis): Completion {
  const before = code.slice(0, cursor);
  const lineStart = before.lastIndexOf('\n') + 1;
  const line = before.slice(lineStart);
  const magicName = /^(\s*)%([\w-]*)$/.exec(line);
  if (magicName) {
    const prefix = magicName[2];
    const matches = allCommands().map((c) => c.name).filter((n) => n.startsWith(prefix)).map((n) => `%${n}`);
    return { matches, start: lineStart + magicName[1].length, end: cursor };
  }
  const magicArgs = /^\s*%([\w-]+)\s+(.*)$/.exec(line);
  if (magicArgs) {
    const cmd = findCommand(magicArgs[1]);
    const argText = magicArgs[2];
    const candidates = cmd?.complete?.(argText, ctx) ?? [];
    // the command table's contract: each candidate replaces the last word of the argument text
    const lastWord = /\S*$/.exec(argText)![0];
    return { matches: candidates, start: cursor - lastWord.length, end: cursor };
  }
  const m = /((?:[A-Za-z_$][\w$]*\s*\??\.\s*)*)([A-Za-z_$][\w$]*)?$/.exec(before);
  const chain = (m?.[1] ?? '').replace(/\s+/g, '');
  const prefix = m?.[2] ?? '';
  const start = cursor - prefix.length;
  let names: string[];
  if (chain) {
    const target = resolveChain(chain.replace(/\??\.$/, '').split(/\??\./), scope);
    if (target === undefined || target === null) return { matches: [], start, end: cursor };
    names = propertyNames(target);
  } else {
    const local = tokenize(code).tokens.filter((t) => t.kind === 'ident').map((t) => t.value);
    names = [...propertyNames(scope), ...KEYWORDS, ...local];
    if (/^\s*$/.test(line.slice(0, line.length - prefix.length))) names.push(...allCommands().map((c) => `%${c.name}`));
  }
  const matches = [...new Set(names)].filter((n) => n.startsWith(prefix) && n !== prefix && !n.startsWith('__')).sort(byRelevance);
  return { matches, start, end: cursor };
}

/** Own and inherited property names of a value (Object.prototype's left out). */
function propertyNames(v: unknown): string[] {
  const out: string[] = [];
  let o: unknown = typeof v === 'object' || typeof v === 'function' ? v : Object(v);
  while (o && o !== Object.prototype && o !== Function.prototype) {
    for (const k of Object.getOwnPropertyNames(o)) if (k !== 'constructor' && /^[A-Za-z_$][\w$]*$/.test(k)) out.push(k);
    o = Object.getPrototypeOf(o);
  }
  return out;
}

function byRelevance(a: string, b: string): number {
  const pa = a.startsWith('_') ? 1 : 0, pb = b.startsWith('_') ? 1 : 0;
  return pa - pb || a.localeCompare(b);
}

/** Walks `a.b.c` from the scope by property reads; undefined when a link is missing. */
function resolveChain(names: string[], scope: object): unknown {
  let v: unknown = scope;
  for (const n of names) {
    if (v === undefined || v === null) return undefined;
    try {
      v = (v as Record<string, unknown>)[n];
    } catch {
      return undefined;
    }
  }
  return v;
}

/** Documentation of the name at `cursor`: kiln API, Session methods, commands, else the live value. */
export function inspectAt(code: string, cursor: number, detail: number, scope: object = globalThis): string | undefined {
  const line = code.slice(code.lastIndexOf('\n', cursor - 1) + 1);
  const magic = /^\s*%([\w-]+)/.exec(line);
  if (magic) {
    const cmd = findCommand(magic[1]);
    return cmd ? `%${cmd.name} ${cmd.usage}\n\n${cmd.summary}` : undefined;
  }
  const left = /((?:[A-Za-z_$][\w$]*\s*\??\.\s*)*[A-Za-z_$][\w$]*)$/.exec(code.slice(0, cursor))?.[1] ?? '';
  const right = /^[\w$]*/.exec(code.slice(cursor))![0];
  const expr = (left + right).replace(/\s+/g, '');
  if (!expr) return undefined;
  const parts = expr.split(/\??\./);
  const last = parts[parts.length - 1];
  const apiDoc = docOf(API_DOCS, last), sessionDoc = docOf(SESSION_DOCS, last);
  if (parts.length === 1 && apiDoc) return apiDoc;
  const value = resolveChain(parts, scope);
  const owner = parts.length > 1 ? resolveChain(parts.slice(0, -1), scope) : undefined;
  if (owner && typeof owner === 'object' && owner.constructor?.name === 'Session' && sessionDoc) return `Session.${last}: ${sessionDoc}`;
  if (parts.length === 2 && parts[0] === 'Session' && sessionDoc) return `Session.${last}: ${sessionDoc}`;
  if (value === undefined && !(parts.length === 1 ? last in scope : owner !== undefined && owner !== null && last in Object(owner))) return undefined;
  return describe(expr, value, detail);
}

/** The entry `name` of a docs table, own entries only (`constructor` or `toString` are not docs). */
function docOf(table: Readonly<Record<string, string>>, name: string): string | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

function describe(expr: string, value: unknown, detail: number): string {
  if (typeof value === 'function') {
    const src = Function.prototype.toString.call(value);
    const sig = src.slice(0, src.indexOf('{') > 0 ? src.indexOf('{') : 80).trim();
    return `${expr}: ${/^class\b/.test(src) ? 'class' : 'function'}\n${sig}${detail > 0 ? `\n\n${src}` : ''}`;
  }
  const type = value === null ? 'null' : typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value;
  return `${expr}: ${type}\n${inspect(value, { depth: detail > 0 ? 4 : 1, colors: false, maxArrayLength: detail > 0 ? 100 : 10, breakLength: 100 })}`;
}

/** is_complete status of a cell. */
export async function isComplete(code: string): Promise<{ status: 'complete' | 'incomplete' | 'invalid'; indent?: string }> {
  const parts = splitCell(code);
  const tsParts = parts.filter((p) => p.kind === 'code');
  if (!tsParts.length) return { status: 'complete' };
  const lastCode = tsParts.map((p) => (p.kind === 'code' ? p.code : '')).join('\n');
  const { unclosed, error } = tokenize(lastCode);
  if (error) return { status: 'invalid' };
  if (unclosed.length) {
    const brackets = unclosed.filter((u) => u === '(' || u === '[' || u === '{').length;
    return { status: 'incomplete', indent: '  '.repeat(brackets) };
  }
  if (/[\\]$/.test(lastCode.trimEnd())) return { status: 'incomplete', indent: '' };
  const esbuild = await loadEsbuild();
  try {
    await esbuild.transform(lastCode, { loader: 'ts', format: 'esm', target: 'es2022', logLevel: 'silent' });
    return { status: 'complete' };
  } catch (e) {
    const errs = (e as { errors?: { text: string; location?: { line: number; column: number } }[] }).errors ?? [];
    const lines = lastCode.split('\n');
    const atEnd = errs.some((x) => /end of file/i.test(x.text) || (x.location && x.location.line >= lines.length && x.location.column >= lines[lines.length - 1].length));
    return atEnd ? { status: 'incomplete', indent: '' } : { status: 'invalid' };
  }
}
