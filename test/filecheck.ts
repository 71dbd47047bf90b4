/**
 * FileCheck for kiln's golden tests: checks text (printed IR) against `// CHECK...` lines, after
 * LLVM's FileCheck.
 *
 * Directives (PREFIX is `CHECK` unless given; anything before it on the line is ignored):
 * - `PREFIX: p`        p matches somewhere after the previous match (possibly on the same line);
 * - `PREFIX-NEXT: p`   p matches on the line right after the previous match's line;
 * - `PREFIX-SAME: p`   p matches on the same line as the previous match, after it;
 * - `PREFIX-NOT: p`    p does not occur between the previous match and the next match (or the end of
 *                      the block);
 * - `PREFIX-DAG: p`    consecutive DAG lines match in any order (not overlapping) after the previous match;
 * - `PREFIX-LABEL: p`  matched first, in order, over the whole input; they cut the input into blocks
 *                      and the directives between two labels must match inside that block;
 * - `PREFIX-EMPTY:`    the line after the previous match is empty.
 * Patterns: literal text, except `{{regex}}` (a JavaScript regex), `[[NAME:regex]]` (match regex and
 * capture it as NAME), `[[NAME]]` (the text NAME captured earlier, literally; on the line that defines
 * it, a back-reference). Whitespace is tolerant as in LLVM: leading and trailing blanks of a pattern are
 * ignored and a run of blanks inside it matches any non-empty run of blanks in the input.
 *
 * Algorithm: the check text is parsed into directives, each pattern compiled lazily into a RegExp once
 * the variables it uses are known. Labels are matched first to fix the blocks; then each block's
 * directives are matched in order against the input lines with a cursor (line, column); a CHECK-NOT is
 * held until the next positive match fixes the range it must not occur in. A failure throws a
 * FileCheckError whose message shows the check line, the input position where scanning started with
 * a few lines of context, and the closest-looking input line as a probable intended match.
 */

/** Kinds of directive. */
export type CheckKind = 'CHECK' | 'NEXT' | 'SAME' | 'NOT' | 'DAG' | 'LABEL' | 'EMPTY';

/** One parsed check line. */
export interface CheckDirective {
  readonly kind: CheckKind;
  /** The pattern text, trimmed. */
  readonly pattern: string;
  /** 1-based line in the check text. */
  readonly line: number;
  /** The directive as written, e.g. `CHECK-NEXT: %0 = Relu`. */
  readonly source: string;
}

/** Options of `fileCheck`. */
export interface FileCheckOptions {
  /** Directive prefix; default `CHECK`. */
  prefix?: string;
  /** Name of the check file in messages; default `<check>`. */
  checkFile?: string;
  /** Name of the input in messages; default `<input>`. */
  inputName?: string;
}

/** A failed check: the message shows the check line and the input around where matching stopped. */
export class FileCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FileCheckError';
  }
}

const SUFFIXES: Record<string, CheckKind> = {
  '': 'CHECK', '-NEXT': 'NEXT', '-SAME': 'SAME', '-NOT': 'NOT', '-DAG': 'DAG', '-LABEL': 'LABEL', '-EMPTY': 'EMPTY',
};

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\\/]/g, '\\$&');

/** Parses the directives with `prefix` out of `text` (throws on a misspelled directive). */
export function parseChecks(text: string, prefix = 'CHECK', checkFile = '<check>'): CheckDirective[] {
  const out: CheckDirective[] = [];
  const re = new RegExp(`(?<![A-Za-z0-9_-])${escapeRegex(prefix)}(-[A-Z]+)?:(.*)$`);
  text.split('\n').forEach((raw, i) => {
    const m = re.exec(raw);
    if (!m) return;
    const suffix = m[1] ?? '';
    const kind = SUFFIXES[suffix];
    const line = i + 1;
    if (!kind) throw new FileCheckError(`${checkFile}:${line}: error: unknown directive '${prefix}${suffix}:' (use -NEXT, -SAME, -NOT, -DAG, -LABEL or -EMPTY)`);
    const pattern = m[2].trim();
    const source = `${prefix}${suffix}: ${pattern}`.trimEnd();
    if (kind === 'EMPTY' && pattern) throw new FileCheckError(`${checkFile}:${line}: error: ${prefix}-EMPTY takes no pattern`);
    if (kind !== 'EMPTY' && !pattern) throw new FileCheckError(`${checkFile}:${line}: error: found empty check string with prefix '${prefix}${suffix}:'`);
    if ((kind === 'NEXT' || kind === 'SAME' || kind === 'EMPTY') && (!out.length || out[out.length - 1].kind === 'NOT' && out.every((d) => d.kind === 'NOT'))) {
      throw new FileCheckError(`${checkFile}:${line}: error: '${prefix}${suffix}' cannot be the first check`);
    }
    if (kind === 'LABEL' && /\[\[/.test(pattern)) throw new FileCheckError(`${checkFile}:${line}: error: ${prefix}-LABEL cannot use variables`);
    out.push({ kind, pattern, line, source });
  });
  return out;
}

/** A position in the input: 0-based line and column. */
interface Pos { line: number; col: number }
/** A match: its line, start and end columns. */
interface Match { line: number; start: number; end: number }

const before = (a: Pos, b: Pos) => a.line < b.line || (a.line === b.line && a.col < b.col);

/**
 * Checks `input` against the directives in `checkText`; throws a FileCheckError at the first failure.
 * Returns the captured variables.
 */
export function fileCheck(checkText: string, input: string, opts: FileCheckOptions = {}): Map<string, string> {
  const prefix = opts.prefix ?? 'CHECK';
  const checkFile = opts.checkFile ?? '<check>';
  const directives = parseChecks(checkText, prefix, checkFile);
  if (!directives.length) throw new FileCheckError(`${checkFile}: error: no check strings found with prefix '${prefix}:'`);
  return new Checker(directives, input.split('\n'), prefix, checkFile, opts.inputName ?? '<input>').run();
}

/** The matching state. */
class Checker {
  private readonly vars = new Map<string, string>();

  constructor(private readonly ds: CheckDirective[], private readonly lines: string[], private readonly prefix: string,
    private readonly checkFile: string, private readonly inputName: string) {}

  run(): Map<string, string> {
    const end: Pos = { line: this.lines.length - 1, col: this.lines[this.lines.length - 1].length };
    // Labels first: they fix the blocks.
    const labels: { index: number; m: Match }[] = [];
    let cursor: Pos = { line: 0, col: 0 };
    this.ds.forEach((d, index) => {
      if (d.kind !== 'LABEL') return;
      const m = this.search(d, cursor, end);
      if (!m) this.notFound(d, cursor, end);
      labels.push({ index, m });
      cursor = { line: m.line, col: m.end };
    });
    const starts = [0, ...labels.map((l) => l.index + 1)];
    const stops = [...labels.map((l) => l.index), this.ds.length];
    starts.forEach((s, b) => {
      const from: Pos = b === 0 ? { line: 0, col: 0 } : { line: labels[b - 1].m.line, col: labels[b - 1].m.end };
      const to: Pos = b < labels.length ? { line: labels[b].m.line, col: labels[b].m.start } : end;
      this.block(this.ds.slice(s, stops[b]), from, to);
    });
    return this.vars;
  }

  /** Matches a block's directives in order within [from, to). */
  private block(ds: CheckDirective[], from: Pos, to: Pos): void {
    let pos = from;
    let nots: CheckDirective[] = [];
    let notFrom = from;
    const flushNots = (until: Pos) => {
      for (const n of nots) {
        const m = this.search(n, notFrom, until);
        if (m) this.fail(n, `${this.prefix}-NOT: excluded string found in input`, { line: m.line, col: m.start }, m);
      }
      nots = [];
    };
    for (let i = 0; i < ds.length; i++) {
      const d = ds[i];
      if (d.kind === 'NOT') {
        if (!nots.length) notFrom = pos;
        nots.push(d);
        continue;
      }
      if (d.kind === 'DAG') {
        const group: CheckDirective[] = [];
        while (i < ds.length && ds[i].kind === 'DAG') group.push(ds[i++]);
        i--;
        const found: Match[] = [];
        for (const g of group) {
          let at = pos;
          let m = this.search(g, at, to);
          while (m && found.some((f) => f.line === m!.line && m!.start < f.end && f.start < m!.end)) {
            at = { line: m.line, col: m.start + 1 };
            m = this.search(g, at, to);
          }
          if (!m) this.notFound(g, pos, to);
          found.push(m);
        }
        const first = found.reduce((a, b) => (before({ line: b.line, col: b.start }, { line: a.line, col: a.start }) ? b : a));
        flushNots({ line: first.line, col: first.start });
        const last = found.reduce((a, b) => (before({ line: a.line, col: a.end }, { line: b.line, col: b.end }) ? b : a));
        pos = { line: last.line, col: last.end };
        continue;
      }
      let m: Match | undefined;
      if (d.kind === 'EMPTY') {
        const next = pos.line + 1;
        if (next > to.line || this.lines[next] !== '') this.fail(d, `${this.prefix}-EMPTY: the line after the previous match is not empty`, { line: Math.min(next, this.lines.length - 1), col: 0 });
        m = { line: next, start: 0, end: 0 };
      } else if (d.kind === 'SAME') {
        const lineEnd: Pos = pos.line === to.line ? to : { line: pos.line, col: this.lines[pos.line].length };
        m = this.search(d, pos, lineEnd);
        if (!m) this.notFound(d, pos, lineEnd, `${this.prefix}-SAME: expected string not found on the line of the previous match`);
      } else if (d.kind === 'NEXT') {
        const start: Pos = { line: pos.line + 1, col: 0 };
        m = start.line <= to.line ? this.search(d, start, to) : undefined;
        if (!m) this.notFound(d, start.line <= to.line ? start : pos, to);
        if (m.line !== pos.line + 1) {
          this.fail(d, `${this.prefix}-NEXT: is not on the line after the previous match (found on line ${m.line + 1}, expected line ${pos.line + 2})`, start, m);
        }
      } else {
        m = this.search(d, pos, to);
        if (!m) this.notFound(d, pos, to);
      }
      flushNots({ line: m.line, col: m.start });
      pos = { line: m.line, col: m.end };
    }
    flushNots(to);
  }

  /** First match of d's pattern in [from, to), capturing its variables; undefined when none. */
  private search(d: CheckDirective, from: Pos, to: Pos): Match | undefined {
    const { regex, defs } = this.compile(d);
    for (let l = from.line; l <= to.line && l < this.lines.length; l++) {
      const text = l === to.line ? this.lines[l].slice(0, to.col) : this.lines[l];
      regex.lastIndex = l === from.line ? from.col : 0;
      if (regex.lastIndex > text.length) continue;
      const m = regex.exec(text);
      if (!m) continue;
      if (d.kind !== 'NOT') for (const [name, group] of defs) this.vars.set(name, m.groups![group]);
      return { line: l, start: m.index, end: m.index + m[0].length };
    }
    return undefined;
  }

  /** The RegExp of a pattern with the current variable values substituted; the groups of its definitions. */
  private compile(d: CheckDirective): { regex: RegExp; defs: [string, string][] } {
    const p = d.pattern;
    let src = '';
    const defs: [string, string][] = [];
    const literal = (s: string) => s.split(/[ \t]+/).map(escapeRegex).join('[ \\t]+');
    let i = 0;
    while (i < p.length) {
      if (p.startsWith('{{', i)) {
        const close = p.indexOf('}}', i + 2);
        if (close < 0) this.fail(d, `unterminated '{{' in pattern`);
        src += `(?:${p.slice(i + 2, close)})`;
        i = close + 2;
      } else if (p.startsWith('[[', i)) {
        const m = /^\[\[(\$?[A-Za-z_][A-Za-z0-9_]*)(:|\]\])/.exec(p.slice(i));
        if (!m) this.fail(d, `bad variable syntax at '${p.slice(i, i + 12)}' (use [[NAME]] or [[NAME:regex]])`);
        const name = m[1];
        if (m[2] === ']]') {
          const local = defs.find(([n]) => n === name);
          if (local) src += `\\k<${local[1]}>`;
          else {
            const v = this.vars.get(name);
            if (v === undefined) this.fail(d, `undefined variable '${name}' (define it with [[${name}:regex]] in an earlier check)`);
            src += escapeRegex(v);
          }
          i += m[0].length;
        } else {
          let j = i + m[0].length, depth = 0;
          for (; j < p.length; j++) {
            const c = p[j];
            if (c === '\\') j++;
            else if (c === '[') depth++;
            else if (c === ']') {
              if (depth > 0) depth--;
              else if (p[j + 1] === ']') break;
            }
          }
          if (j >= p.length) this.fail(d, `unterminated '[[${name}:' in pattern`);
          const group = `v${defs.length}_${name.replace(/\W/g, '_')}`;
          defs.push([name, group]);
          src += `(?<${group}>${p.slice(i + m[0].length, j)})`;
          i = j + 2;
        }
      } else {
        let j = i;
        while (j < p.length && !p.startsWith('{{', j) && !p.startsWith('[[', j)) j++;
        src += literal(p.slice(i, j));
        i = j;
      }
    }
    try {
      return { regex: new RegExp(src, 'g'), defs };
    } catch (e) {
      return this.fail(d, `invalid regex in pattern: ${(e as Error).message}`);
    }
  }

  private notFound(d: CheckDirective, from: Pos, to: Pos, what?: string): never {
    const near = this.nearestLine(d, from, to);
    this.fail(d, what ?? `${d.kind === 'CHECK' ? this.prefix : `${this.prefix}-${d.kind}`}: expected string not found in input`, from, undefined, near);
  }

  /** The input line in [from, to) that looks most like the pattern's literal text (a probable intended match). */
  private nearestLine(d: CheckDirective, from: Pos, to: Pos): number | undefined {
    const want = d.pattern.replace(/\{\{.*?\}\}|\[\[.*?\]\]/g, '').replace(/\s+/g, ' ').trim().slice(0, 120);
    if (!want) return undefined;
    let best: number | undefined, bestScore = Infinity;
    for (let l = from.line; l <= Math.min(to.line, from.line + 400); l++) {
      const score = distance(want, this.lines[l].replace(/\s+/g, ' ').trim().slice(0, 160));
      if (score < bestScore) { bestScore = score; best = l; }
    }
    return best !== undefined && bestScore < want.length * 0.75 ? best : undefined;
  }

  /** Throws a FileCheckError showing the check line, the input near `at`, and notes. */
  private fail(d: CheckDirective, what: string, at?: Pos, found?: Match, near?: number): never {
    const lines = [`${this.checkFile}:${d.line}: error: ${what}`, d.source];
    const usedVars = [...d.pattern.matchAll(/\[\[(\$?[A-Za-z_][A-Za-z0-9_]*)\]\]/g)].map((m) => m[1]);
    for (const v of new Set(usedVars)) if (this.vars.has(v)) lines.push(`  with "${v}" equal to "${this.vars.get(v)}"`);
    if (at) {
      lines.push(`${this.inputName}:${at.line + 1}:${at.col + 1}: note: ${found ? 'found here' : 'scanning from here'}`);
      const first = Math.max(0, at.line - 2), last = Math.min(this.lines.length - 1, at.line + 6);
      for (let l = first; l <= last; l++) {
        const mark = l === at.line ? '>' : found && l === found.line ? '!' : near === l ? '?' : ' ';
        lines.push(`${mark}${String(l + 1).padStart(5)}: ${this.lines[l]}`);
      }
      if (near !== undefined) lines.push(`${this.inputName}:${near + 1}: note: possible intended match: ${this.lines[near].trim()}`);
    }
    throw new FileCheckError(lines.join('\n'));
  }
}

/** Levenshtein distance (for the "possible intended match" note). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
