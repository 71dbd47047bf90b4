/**
 * Pipeline text: the list of passes (with options) that the PassManager runs, as a user writes it
 * on the command line or in a test's `// RUN:` line.
 *
 * Syntax (whitespace between tokens is ignored):
 * ```
 * pipeline := '' | entry (',' entry)*
 * entry    := pass-name ('{' option (',' option)* '}')?
 * option   := name '=' value | name            (a bare name sets a bool option to true)
 * value    := word | "json string" | '[' (word|string) (',' (word|string))* ']' | '[]'
 * ```
 * e.g. `shape-infer,fold-constants{max-elements=4096},fuse-elementwise{allow=[Add,Mul],max-ops=8}`.
 * Pass and option names are `[A-Za-z0-9_.-]+`; a bare word is `[A-Za-z0-9_.+:/-]+`.
 *
 * Parsing is a small hand-written scanner with one cursor. Each pass name and option is checked
 * against the registry (`findPass`) while parsing, so an error points at the offending character and,
 * for a typo, suggests the nearest known name and lists the alternatives. Option values are typed by
 * the option's declared type (int, float, bool, string, strings) and defaults are filled in
 * (`resolveOptions`), so a parsed entry always carries every option of its pass.
 *
 * Printing is canonical: entries joined by `,` with no spaces; options that differ from their default
 * sorted by name (`{defaults: true}` prints all of them); ints and floats in JavaScript's shortest
 * round-trip spelling, booleans `true`/`false`, strings bare when they are words and JSON-quoted
 * otherwise, lists `[a,b]`. So `printPipeline(parsePipeline(t)) === t` for every canonical t, and
 * `parsePipeline(printPipeline(p))` equals p for every parsed p.
 */
import { KilnError } from '../errors.ts';
import { type OptionValue, type Pass, type PassOptionSpec, allPasses, findPass } from './pass.ts';

/** One pass of a pipeline with its options (after parsing: every option, defaults filled in). */
export interface PipelineEntry {
  readonly pass: string;
  readonly options: Readonly<Record<string, OptionValue>>;
}

/** An ordered list of passes to run. */
export interface Pipeline {
  readonly entries: readonly PipelineEntry[];
}

const NAME = /[A-Za-z0-9_.-]/;
const WORD = /[A-Za-z0-9_.+:/-]/;
const BARE_VALUE = /^[A-Za-z0-9_.+:/-]+$/;

/** Parses pipeline text (see the module header); throws a KilnError pointing at the bad character. */
export function parsePipeline(text: string): Pipeline {
  return new PipelineParser(text).pipeline();
}

/** Options of `printPipeline`. */
export interface PrintPipelineOptions {
  /** Print every option, defaults included (default: only options that differ from the default). */
  defaults?: boolean;
}

/** Prints a pipeline in canonical form (see the module header). */
export function printPipeline(p: Pipeline, opts: PrintPipelineOptions = {}): string {
  return p.entries.map((e) => printEntry(e, opts)).join(',');
}

/** One entry: `name` or `name{opt=value,...}`. */
export function printEntry(e: PipelineEntry, opts: PrintPipelineOptions = {}): string {
  const pass = findPass(e.pass);
  const names = Object.keys(e.options).sort();
  const shown = names.filter((n) => {
    if (opts.defaults || !pass) return true;
    const spec = pass.options.find((o) => o.name === n);
    return !spec || !sameValue(spec.default, e.options[n]);
  });
  if (!shown.length) return e.pass;
  return `${e.pass}{${shown.map((n) => `${n}=${printOptionValue(e.options[n])}`).join(',')}}`;
}

/** The canonical spelling of one option value. */
export function printOptionValue(v: OptionValue): string {
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return v === Infinity ? 'inf' : v === -Infinity ? '-inf' : String(v);
  if (typeof v === 'string') return printString(v);
  return `[${v.map(printString).join(',')}]`;
}

function printString(s: string): string {
  return BARE_VALUE.test(s) && s !== 'true' && s !== 'false' ? s : JSON.stringify(s);
}

/** True if two option values are equal (lists element by element). */
export function sameValue(a: OptionValue, b: OptionValue): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => x === b[i]);
  return Object.is(a, b);
}

/**
 * The full option record of `pass`: `given` checked against the declared options (names and types)
 * with every missing option set to its default. Throws a KilnError naming the pass and option.
 */
export function resolveOptions(pass: Pass, given: Readonly<Record<string, OptionValue>> = {}): Record<string, OptionValue> {
  const out: Record<string, OptionValue> = {};
  for (const name of Object.keys(given)) {
    const spec = pass.options.find((o) => o.name === name);
    if (!spec) throw new KilnError(unknownOptionMessage(pass, name), { pass: pass.name });
    const problem = typeProblem(spec, given[name]);
    if (problem) throw new KilnError(`option '${name}' ${problem}`, { pass: pass.name });
  }
  for (const spec of pass.options) out[spec.name] = Object.prototype.hasOwnProperty.call(given, spec.name) ? given[spec.name] : spec.default;
  return out;
}

/** Why `v` does not fit the option's type, or undefined. */
function typeProblem(spec: PassOptionSpec, v: OptionValue): string | undefined {
  switch (spec.type) {
    case 'int': return typeof v === 'number' && Number.isInteger(v) ? undefined : `expects an integer, got ${show(v)}`;
    case 'float': return typeof v === 'number' ? undefined : `expects a number, got ${show(v)}`;
    case 'bool': return typeof v === 'boolean' ? undefined : `expects true or false, got ${show(v)}`;
    case 'string': return typeof v === 'string' ? undefined : `expects a string, got ${show(v)}`;
    case 'strings': return Array.isArray(v) && v.every((x) => typeof x === 'string') ? undefined : `expects a list like [a,b], got ${show(v)}`;
  }
}

const show = (v: OptionValue) => (Array.isArray(v) ? `[${v.join(',')}]` : JSON.stringify(v));

function unknownOptionMessage(pass: Pass, name: string): string {
  const known = pass.options.map((o) => o.name);
  if (!known.length) return `pass '${pass.name}' has no options (got '${name}')`;
  const near = nearest(name, known);
  return `unknown option '${name}' of pass '${pass.name}'${near ? ` (did you mean '${near}'?)` : ''}; its options: ${known.join(', ')}`;
}

/** The closest name by edit distance when it is close enough to be a typo, else undefined. */
export function nearest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestD) { bestD = d; best = c; }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** A raw option value before typing: a word, a quoted string, or a list of those. */
type RawValue = { kind: 'word' | 'string'; text: string } | { kind: 'list'; items: string[] };

/** The scanner/parser state: the text and a cursor. */
class PipelineParser {
  private pos = 0;
  constructor(private readonly text: string) {}

  pipeline(): Pipeline {
    const entries: PipelineEntry[] = [];
    this.skipSpace();
    if (this.pos >= this.text.length) return { entries };
    for (;;) {
      entries.push(this.entry());
      this.skipSpace();
      if (this.pos >= this.text.length) break;
      if (this.text[this.pos] !== ',') this.fail(`expected ',' between passes, found '${this.text[this.pos]}'`);
      this.pos++;
      this.skipSpace();
    }
    return { entries };
  }

  private entry(): PipelineEntry {
    const at = this.pos;
    const name = this.name('a pass name');
    const pass = findPass(name);
    if (!pass) {
      const known = allPasses().map((p) => p.name);
      const near = nearest(name, known);
      this.fail(`unknown pass '${name}'${near ? ` (did you mean '${near}'?)` : ''}; known passes: ${known.join(', ') || '(none registered)'}`, at);
    }
    const given: Record<string, OptionValue> = {};
    this.skipSpace();
    if (this.text[this.pos] === '{') {
      this.pos++;
      this.skipSpace();
      if (this.text[this.pos] === '}') this.pos++;
      else {
        for (;;) {
          const optAt = this.pos;
          const opt = this.name('an option name');
          const spec = pass.options.find((o) => o.name === opt);
          if (!spec) this.fail(unknownOptionMessage(pass, opt), optAt);
          if (Object.prototype.hasOwnProperty.call(given, opt)) this.fail(`option '${opt}' is given twice`, optAt);
          this.skipSpace();
          if (this.text[this.pos] === '=') {
            this.pos++;
            this.skipSpace();
            const valueAt = this.pos;
            given[opt] = this.typed(spec, this.value(), valueAt, pass.name);
          } else if (spec.type === 'bool') given[opt] = true;
          else this.fail(`expected '=' and a value after option '${opt}'`);
          this.skipSpace();
          const c = this.text[this.pos];
          if (c === '}') { this.pos++; break; }
          if (c !== ',') this.fail(`expected ',' or '}' in the options of '${name}', found ${this.found()}`);
          this.pos++;
          this.skipSpace();
        }
      }
    }
    return { pass: name, options: resolveOptions(pass, given) };
  }

  /** Converts a raw value to the option's declared type. */
  private typed(spec: PassOptionSpec, raw: RawValue, at: number, pass: string): OptionValue {
    const bad = (what: string): never => this.fail(`option '${spec.name}' of pass '${pass}' expects ${what}`, at);
    if (spec.type === 'strings') return raw.kind === 'list' ? raw.items : [raw.text];
    if (raw.kind === 'list') return bad(spec.type === 'string' ? 'a string' : `one ${spec.type} value, not a list`);
    switch (spec.type) {
      case 'string': return raw.text;
      case 'bool':
        if (raw.kind === 'word' && (raw.text === 'true' || raw.text === 'false')) return raw.text === 'true';
        return bad(`true or false, got '${raw.text}'`);
      case 'int': {
        if (raw.kind === 'word' && /^[+-]?\d+$/.test(raw.text)) return Number(raw.text);
        return bad(`an integer, got '${raw.text}'`);
      }
      case 'float': {
        const t = raw.text.toLowerCase();
        if (raw.kind === 'word' && (t === 'inf' || t === '+inf' || t === '-inf')) return t === '-inf' ? -Infinity : Infinity;
        if (raw.kind === 'word' && /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(raw.text)) return Number(raw.text);
        return bad(`a number, got '${raw.text}'`);
      }
    }
  }

  private value(): RawValue {
    if (this.text[this.pos] === '[') {
      this.pos++;
      const items: string[] = [];
      this.skipSpace();
      if (this.text[this.pos] === ']') { this.pos++; return { kind: 'list', items }; }
      for (;;) {
        this.skipSpace();
        items.push(this.scalar().text);
        this.skipSpace();
        const c = this.text[this.pos];
        if (c === ']') { this.pos++; return { kind: 'list', items }; }
        if (c !== ',') this.fail(`expected ',' or ']' in a list, found ${this.found()}`);
        this.pos++;
      }
    }
    return this.scalar();
  }

  private scalar(): { kind: 'word' | 'string'; text: string } {
    if (this.text[this.pos] === '"') return { kind: 'string', text: this.quoted() };
    const start = this.pos;
    while (this.pos < this.text.length && WORD.test(this.text[this.pos])) this.pos++;
    if (this.pos === start) this.fail(`expected a value, found ${this.found()}`);
    return { kind: 'word', text: this.text.slice(start, this.pos) };
  }

  /** A JSON string literal starting at the cursor. */
  private quoted(): string {
    const start = this.pos;
    this.pos++;
    while (this.pos < this.text.length && this.text[this.pos] !== '"') this.pos += this.text[this.pos] === '\\' ? 2 : 1;
    if (this.pos >= this.text.length) this.fail('unterminated string', start);
    this.pos++;
    try {
      return JSON.parse(this.text.slice(start, this.pos)) as string;
    } catch {
      return this.fail('bad escape in string', start);
    }
  }

  private name(what: string): string {
    const start = this.pos;
    while (this.pos < this.text.length && NAME.test(this.text[this.pos])) this.pos++;
    if (this.pos === start) this.fail(`expected ${what}, found ${this.found()}`);
    return this.text.slice(start, this.pos);
  }

  private found(): string {
    return this.pos >= this.text.length ? 'end of pipeline' : `'${this.text[this.pos]}'`;
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos])) this.pos++;
  }

  /** Throws a KilnError at character `at` (1-based column), showing the text with a caret under it. */
  private fail(message: string, at = this.pos): never {
    const oneLine = this.text.replace(/\s/g, ' ');
    throw new KilnError(`pipeline position ${at + 1}: ${message}\n  ${oneLine}\n  ${' '.repeat(at)}^`, { column: at + 1 });
  }
}
