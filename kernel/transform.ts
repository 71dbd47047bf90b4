/**
 * Turns a TypeScript cell into a script that runs in the kernel's one persistent context, with
 * top-level await and declarations that later cells can see.
 *
 * Approach. esbuild's `transform` (loader ts, format esm, target es2022) strips the types and gives a
 * source map. Its output is regular: every statement ends in `;` or a block `}`, so kernel/tokens.ts
 * finds the top-level statements by bracket depth. Each one is then rewritten and the whole is wrapped
 * in `(async () => { ... })()` so that `await` works anywhere:
 *   - `const|let|var a = 1, {b} = o;` becomes the assignment `(a = 1, {b} = o);` — the wrapper runs in
 *     sloppy mode, so assigning an undeclared name creates a global: the next cell sees it, and a closure
 *     made in this cell reads the same global binding later. `let x;` becomes `x = void 0`; a `var`
 *     without initializer keeps the old value; `var` names are predeclared (`if (!("E" in globalThis))`)
 *     because esbuild's enums and namespaces read the name in their own initializer.
 *   - `function f() {}` becomes `f = function f() {};`, moved to the top of the wrapper (hoisting);
 *     `class C {}` becomes `C = class C {};` in place.
 *   - `import d, {a as b} from "m"` becomes `var t = await __kiln.import("m"); d = __kiln.defaultOf(t);
 *     ({a: b} = t);` and `import(x)` becomes `__kiln.import(x)`; `__kiln.import` resolves against the
 *     working directory (the notebook's folder). esbuild's trailing `export {...}` is dropped.
 *   - the last statement, when it is an expression, becomes `return (expr);` — the cell's value. It is
 *     marked in the TypeScript source first (`__kiln.value(expr)`, see `markLastExpression`), because
 *     esbuild drops constant expression statements such as `'a' + 'b'`.
 * Redeclaring a name in a later cell (re-running a cell) is therefore allowed, and `const` is not
 * enforced across cells; `var` inside blocks stays local to the cell.
 *
 * Positions. The script is built from slices of esbuild's output with per-line anchors, so a script
 * line/column maps to esbuild's output and then, through its source map, to the cell's own line and
 * column (plus `lineOffset` when the code is a part of a larger cell).
 */
import { SourceMap } from 'node:module';
import { tokenize, depthDelta, type Token } from './tokens.ts';
import { VALUE_MARK, markLastExpression } from './cell-source.ts';

export { splitCell, markLastExpression, type CellPart } from './cell-source.ts';

/** A cell turned into a runnable script. */
export interface CompiledCell {
  /** The script: evaluating it gives a Promise of the cell's value (undefined when it ends in a statement). */
  readonly script: string;
  /** The filename the script runs under (stack traces name it). */
  readonly filename: string;
  /** The cell's own 1-based line and column of a 1-based script position; undefined in wrapper code. */
  position(line: number, column: number): { line: number; column: number } | undefined;
}

/** A syntax error in a cell, at the cell's own 1-based line and column. */
export class CellSyntaxError extends Error {
  constructor(message: string, readonly line: number, readonly column: number, readonly lineText: string) {
    super(message);
    this.name = 'SyntaxError';
  }
}

/** Options of `compileCell`. */
export interface CompileOptions {
  /** Script filename for stack traces, e.g. `kiln-cell-3`. */
  readonly filename: string;
  /** Lines before this code in its cell (when the code follows magic lines). */
  readonly lineOffset?: number;
  /** Strips the types (default `esbuildTransform`; the cell worker passes one that asks the main thread). */
  readonly transform?: TsTransform;
}

/**
 * Turns one TypeScript source into JavaScript and its source map (JSON text); throws esbuild's error,
 * whose `errors[0]` (text, location) a syntax error is reported from.
 */
export type TsTransform = (source: string, filename: string) => Promise<{ code: string; map: string }>;

type EsbuildModule = typeof import('esbuild');
let esbuildPromise: Promise<EsbuildModule> | undefined;
/** esbuild, loaded on first use (its service process starts then). */
export function loadEsbuild(): Promise<EsbuildModule> {
  esbuildPromise ??= import('esbuild');
  return esbuildPromise;
}

/** esbuild's transform of a cell's source: ESM, ES2022, `import.meta` → `__kiln.meta`, external source map. */
export const esbuildTransform: TsTransform = async (source, filename) => {
  const esbuild = await loadEsbuild();
  const r = await esbuild.transform(source, {
    loader: 'ts', format: 'esm', target: 'es2022', sourcemap: 'external', sourcefile: filename,
    define: { 'import.meta': '__kiln.meta' }, logLevel: 'silent',
    tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true, useDefineForClassFields: true } },
  });
  return { code: r.code, map: r.map };
};

/** Compiles one TypeScript cell; throws CellSyntaxError for code esbuild rejects. */
export async function compileCell(code: string, opts: CompileOptions): Promise<CompiledCell> {
  const lineOffset = opts.lineOffset ?? 0;
  const transform = (source: string) => (opts.transform ?? esbuildTransform)(source, opts.filename);
  // The last expression is marked in the source (esbuild drops some constant expression statements,
  // e.g. 'a' + 'b'); if the marked source does not parse, the unmarked one decides (and reports).
  const marked = markLastExpression(code);
  let result;
  let shift: { line: number; column: number } | undefined;
  try {
    if (!marked) throw new Error('no mark');
    result = await transform(marked.code);
    shift = marked.at;
  } catch {
    try {
      result = await transform(code);
    } catch (e) {
      const err = (e as { errors?: { text: string; location?: { line: number; column: number; lineText: string } }[] }).errors?.[0];
      if (!err) throw e;
      const loc = err.location;
      throw new CellSyntaxError(err.text, (loc?.line ?? 1) + lineOffset, (loc?.column ?? 0) + 1, loc?.lineText ?? '');
    }
  }
  const js = result.code;
  const mapText = result.map;
  let parsedMap: SourceMap | undefined; // parsed on the first error that needs it
  const sourceMap = () => (parsedMap ??= new SourceMap(JSON.parse(mapText)));
  const built = rewrite(js);
  const lineStarts = [0];
  for (let i = 0; i < js.length; i++) if (js[i] === '\n') lineStarts.push(i + 1);
  return {
    script: built.text,
    filename: opts.filename,
    position(line, column) {
      const off = built.sourceOffset(line - 1, column - 1);
      if (off === undefined) return undefined;
      let l = 0;
      while (l + 1 < lineStarts.length && lineStarts[l + 1] <= off) l++;
      const c = off - lineStarts[l];
      const e = sourceMap().findEntry(l, c) as { generatedLine?: number; generatedColumn?: number; originalLine?: number; originalColumn?: number };
      if (e.originalLine === undefined || e.originalColumn === undefined) return undefined;
      // esbuild maps an indented statement from column 0 of its line: skip that indentation
      const gap = e.generatedLine === l ? js.slice(lineStarts[l] + (e.generatedColumn ?? c), lineStarts[l] + c) : '';
      const delta = gap.trimStart().length;
      let col = e.originalColumn + 1 + delta;
      // columns after the value mark on its line move back by the mark's length
      if (shift && e.originalLine === shift.line && e.originalColumn >= shift.column + VALUE_MARK.length) col -= VALUE_MARK.length;
      return { line: e.originalLine + 1 + lineOffset, column: col };
    },
  };
}

/** Output text with anchors back to offsets of the source it was built from. */
class Builder {
  private readonly parts: string[] = [];
  private line = 0;
  private col = 0;
  /** Per output line: (output column, source offset) anchors in column order. */
  private readonly anchors: { col: number; src: number }[][] = [[]];

  constructor(private readonly src: string) {}

  /** Appends synthetic text (no source position). */
  emit(text: string): void {
    this.parts.push(text);
    for (const ch of text) this.advance(ch);
  }

  /** Appends `src[start, end)`, with `patches` (sorted, inside the range) replacing their spans. */
  copy(start: number, end: number, patches: readonly Patch[] = []): void {
    let at = start;
    for (const p of patches) {
      if (p.start < at || p.end > end) continue;
      this.copyPlain(at, p.start);
      this.emit(p.text);
      at = p.end;
    }
    this.copyPlain(at, end);
  }

  private copyPlain(start: number, end: number): void {
    if (end <= start) return;
    this.parts.push(this.src.slice(start, end));
    this.anchors[this.line].push({ col: this.col, src: start });
    for (let i = start; i < end; i++) {
      this.advance(this.src[i]);
      if (this.src[i] === '\n') this.anchors[this.line].push({ col: 0, src: i + 1 });
    }
  }

  private advance(ch: string): void {
    if (ch === '\n') {
      this.line++;
      this.col = 0;
      this.anchors.push([]);
    } else this.col += ch.length;
  }

  get text(): string {
    return this.parts.join('');
  }

  /** The source offset of 0-based output (line, col), or undefined where only synthetic text is. */
  sourceOffset(line: number, col: number): number | undefined {
    const list = this.anchors[line];
    if (!list) return undefined;
    let best: { col: number; src: number } | undefined;
    for (const a of list) if (a.col <= col) best = a;
    return best ? best.src + (col - best.col) : undefined;
  }
}

/** A replacement of `[start, end)` of esbuild's output. */
interface Patch {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** One top-level statement: its token range and source span (without a trailing `;`). */
interface Statement {
  readonly tokens: Token[];
  readonly start: number;
  /** End of the statement text, before its `;` if any. */
  readonly end: number;
}

/** Splits esbuild's output into top-level statements by bracket depth. */
export function topLevelStatements(js: string, tokens: Token[] = tokenize(js).tokens): Statement[] {
  const out: Statement[] = [];
  let depth = 0;
  let first = 0;
  const close = (last: number, withSemicolon: boolean) => {
    const toks = tokens.slice(first, last + 1);
    const body = withSemicolon ? toks.slice(0, -1) : toks;
    if (body.length) out.push({ tokens: body, start: body[0].start, end: body[body.length - 1].end });
    first = last + 1;
  };
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    depth += depthDelta(t);
    if (depth !== 0) continue;
    if (t.kind === 'punct' && t.value === ';') close(k, true);
    else if (t.kind === 'punct' && t.value === '}' && (k + 1 === tokens.length || tokens[k + 1].newlineBefore)) close(k, false);
  }
  if (first < tokens.length) close(tokens.length - 1, false);
  return out;
}

const STATEMENT_KEYWORDS = new Set(['if', 'for', 'while', 'do', 'switch', 'try', 'throw', 'return', 'break', 'continue', 'with', 'debugger', 'var', 'let', 'const', 'function', 'class', 'import', 'export']);

/** Rewrites esbuild's output into the wrapped script (see the module comment). */
function rewrite(js: string): { text: string; sourceOffset(line: number, col: number): number | undefined } {
  const { tokens } = tokenize(js);
  const statements = topLevelStatements(js, tokens).filter((s) => !(isWord(s.tokens[0], 'export') && s.tokens[1]?.value === '{'));
  const b = new Builder(js);
  const predeclared: string[] = [];
  const hoisted: Token[][] = [];
  const body: (() => void)[] = [];
  let temp = 0;
  // dynamic import() anywhere → __kiln.import()
  const patches: Patch[] = [];
  for (let k = 0; k + 1 < tokens.length; k++) {
    if (isWord(tokens[k], 'import') && tokens[k + 1].value === '(' && tokens[k - 1]?.value !== '.') patches.push({ start: tokens[k].start, end: tokens[k].end, text: '__kiln.import' });
  }
  const copy = (from: Token, to: Token) => b.copy(from.start, to.end, patches.filter((p) => p.start >= from.start && p.end <= to.end));

  statements.forEach((st, index) => {
    let toks = st.tokens;
    if (isWord(toks[0], 'export')) toks = toks.slice(1); // esbuild leaves few; `export default` → expression
    if (isWord(toks[0], 'default')) toks = toks.slice(1);
    if (!toks.length) return;
    const t0 = toks[0];
    const last = toks[toks.length - 1];
    const isDecl = (isWord(t0, 'const') || isWord(t0, 'let') || isWord(t0, 'var')) && (toks[1]?.kind === 'ident' || toks[1]?.value === '{' || toks[1]?.value === '[');
    if (isWord(t0, 'import') && toks[1]?.value !== '(' && toks[1]?.value !== '.') {
      const name = `__kiln_import_${temp++}`;
      body.push(() => emitImport(b, js, toks, name));
    } else if (isDecl) {
      const declarators = splitTopLevel(toks.slice(1));
      const pieces: (() => void)[] = [];
      for (const d of declarators) {
        const hasInit = d.some((t) => t.kind === 'punct' && t.value === '=');
        if (t0.value === 'var' && d[0].kind === 'ident') predeclared.push(d[0].value);
        if (!hasInit && d.length === 1 && d[0].kind === 'ident') {
          if (t0.value !== 'var') pieces.push(() => b.emit(`${d[0].value} = void 0`));
          continue;
        }
        pieces.push(() => copy(d[0], d[d.length - 1]));
      }
      body.push(() => {
        if (!pieces.length) return;
        b.emit('(');
        pieces.forEach((p, i) => { if (i) b.emit(', '); p(); });
        b.emit(');\n');
      });
    } else if (isWord(t0, 'function') || (isWord(t0, 'async') && isWord(toks[1], 'function'))) {
      hoisted.push(toks);
    } else if (isWord(t0, 'class') && toks[1]?.kind === 'ident' && !isWord(toks[1], 'extends')) {
      body.push(() => { b.emit(`${toks[1].value} = `); copy(t0, last); b.emit(';\n'); });
    } else if (index === statements.length - 1 && isExpression(toks)) {
      body.push(() => { b.emit('return ('); copy(t0, last); b.emit(');\n'); });
    } else {
      body.push(() => { copy(t0, last); b.emit(';\n'); });
    }
  });

  b.emit('(async () => {\n');
  for (const toks of hoisted) {
    const nameTok = toks.find((t, i) => i > 0 && t.kind === 'ident' && t.value !== 'function');
    if (nameTok) b.emit(`${nameTok.value} = `);
    copy(toks[0], toks[toks.length - 1]);
    b.emit(';\n');
  }
  for (const run of body) run();
  b.emit('})()');
  // `var` names are predeclared on the wrapper's first line (synthetic), so no anchored line moves.
  const pre = predeclared.map((v) => `if (!(${JSON.stringify(v)} in globalThis)) globalThis[${JSON.stringify(v)}] = void 0;`).join(' ');
  const text = pre ? b.text.replace('(async () => {\n', `(async () => { ${pre}\n`) : b.text;
  return { text, sourceOffset: (line, col) => b.sourceOffset(line, col) };
}

function isWord(t: Token | undefined, w: string): boolean {
  return t !== undefined && t.kind === 'ident' && t.value === w;
}

/** Whether a statement is an expression statement (not a declaration, control statement, block or label). */
function isExpression(toks: Token[]): boolean {
  const t = toks[0];
  if (t.kind === 'punct' && (t.value === '{' || t.value === ';')) return false;
  if (t.kind === 'ident' && STATEMENT_KEYWORDS.has(t.value)) return false;
  if (isWord(t, 'async') && isWord(toks[1], 'function')) return false;
  if (t.kind === 'ident' && toks[1]?.value === ':') return false; // label
  return true;
}

/** Splits tokens at commas of bracket depth 0. */
function splitTopLevel(toks: Token[]): Token[][] {
  const out: Token[][] = [[]];
  let depth = 0;
  for (const t of toks) {
    depth += depthDelta(t);
    if (depth === 0 && t.kind === 'punct' && t.value === ',') out.push([]);
    else out[out.length - 1].push(t);
  }
  return out.filter((d) => d.length);
}

/** Emits the rewrite of one static import statement (tokens start at `import`). */
function emitImport(b: Builder, js: string, toks: Token[], temp: string): void {
  const fromAt = toks.findIndex((t) => t.kind === 'string');
  const spec = toks[fromAt];
  const attrs = toks.slice(fromAt + 1);
  const withOpts = attrs.length && isWord(attrs[0], 'with') ? `, { with: ${js.slice(attrs[1].start, attrs[attrs.length - 1].end)} }` : '';
  b.emit(`var ${temp} = await __kiln.import(`);
  b.copy(spec.start, spec.end);
  b.emit(`${withOpts}); `);
  const clause = toks.slice(1, Math.max(1, fromAt - 1)); // between `import` and `from`
  let k = 0;
  while (k < clause.length) {
    const t = clause[k];
    if (t.value === ',') { k++; continue; }
    if (t.value === '*') { // * as ns
      b.emit(`${clause[k + 2].value} = ${temp}; `);
      k += 3;
    } else if (t.value === '{') {
      const end = clause.findIndex((x, i) => i > k && x.value === '}');
      const specs = splitTopLevel(clause.slice(k + 1, end));
      const props = specs.map((s) => (s.length === 3 && isWord(s[1], 'as') ? `${s[0].value}: ${s[2].value}` : s[0].value));
      if (props.length) b.emit(`({ ${props.join(', ')} } = ${temp}); `);
      k = end + 1;
    } else { // default binding
      b.emit(`${t.value} = __kiln.defaultOf(${temp}); `);
      k++;
    }
  }
  b.emit('\n');
}
