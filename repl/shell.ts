/**
 * The REPL's engine, independent of any screen: it classifies an input line, runs commands from the
 * shared command table (compiler/commands, the same table the Jupyter kernel's `%` magics use) or
 * evaluates TypeScript through the kernel's cell evaluator, renders each result as terminal text
 * through the display layer, and computes tab completions. The ink app (repl/app.tsx) and the plain
 * piped mode (repl/plain.ts) both drive one `ReplShell`.
 *
 * Classifying a line. After trimming, an empty line or a `#` comment does nothing. A line whose first
 * word (an optional leading `%` stripped, as in a notebook) is a registered command name and is
 * followed by nothing or by whitespace is that command with the rest as its argument text (`step`,
 * `%diff 0 3`); REPL-only words (`exit`, `quit`) come next; anything else is TypeScript
 * (`session.current`, `load('zoo:mlp')`, `1 + 2`). So `step.length` is code but `step = 3` is the
 * command `step` with the arguments `= 3`. A `%name args` line is recognised by the kernel's own
 * splitCell (kernel/cell-source.ts). A line that fails as TypeScript is reported as the kernel
 * reports it — a syntax error with its line and column (`let y = ; 1`) — unless it reads like a
 * mistyped command: an undefined name alone (`stpe`) is an unknown command with the nearest names; a
 * word followed by a word, a number or an option (`stpe 3`, `frob --x`; see `looksLikeCode`) is
 * reported as neither a command (nearest names) nor valid TypeScript (the syntax error and where).
 * REPL-only words: `exit`, `quit`, `clear` and `more` (the screen acts on the last two).
 *
 * Completion. The word being typed is completed: the first word against command names (and the
 * REPL-only words) and, through the evaluator, TypeScript names; later text through the command's
 * own `complete(argText)`, whose candidates replace the last word of the argument text (the contract
 * of compiler/commands/command.ts); text of a TypeScript line through the evaluator (globals, the
 * properties of live objects along a dotted chain).
 *
 * Context. The shell is the commands' CommandContext: it holds the current Session (`load` replaces
 * it), forwards `progress` and `print` to listeners the screen installs, gives each line an
 * AbortSignal that `interrupt()` (Ctrl-C while busy) aborts, and hands the same context to the
 * evaluator so a TypeScript line sees what the commands did.
 */
import { inspect } from 'node:util';
import type { Command, CommandContext } from '../compiler/commands/command.ts';
import type { Session } from '../compiler/session.ts';
import { KilnError } from '../compiler/errors.ts';
import { tokenize } from '../kernel/tokens.ts';
import { splitCell } from '../kernel/cell-source.ts';

/** Options of terminal rendering (those of compiler/display's `toTerminal`). */
export interface RenderOptions {
  readonly color: boolean;
  readonly width: number;
}

/** What the shell needs from the rest of kiln; repl/deps.ts wires the real ones, tests pass fakes. */
export interface ReplDeps {
  /** The command named `name` from the shared table. */
  findCommand(name: string): Command | undefined;
  /** Every command of the shared table, sorted by name. */
  allCommands(): Command[];
  /** Terminal text of a result (kiln objects, tables, plain values). */
  render(obj: unknown, opts: RenderOptions): string;
  /**
   * Evaluates TypeScript with the kiln API preloaded; `shell` is the context, so the code sees the
   * current session and can show objects (`shell.show`). Undefined: TypeScript input is refused.
   */
  evaluate?(code: string, shell: ReplShell): Promise<unknown>;
  /** Where the current session lives when the evaluator keeps it (so `load()` in code and `load` agree). */
  readonly sessions?: { get(): Session | undefined; set(s: Session): void };
  /** Stops a running evaluation (called by `interrupt`). */
  interruptEvaluation?(): void;
  /** Completions of TypeScript text (globals, properties of live objects). */
  completeCode?(code: string, shell: ReplShell): Completion;
  /** Whether TypeScript text is complete, or needs more lines (an open bracket, string or template). */
  isComplete?(code: string): Promise<'complete' | 'incomplete' | 'invalid'>;
}

/** REPL-only words that are not in the shared command table. */
export const REPL_WORDS: Readonly<Record<string, string>> = {
  exit: 'leave the REPL (also Ctrl-D)',
  quit: 'leave the REPL',
  clear: 'clear the screen (also Ctrl-L)',
  more: 'show the next page of a long output that was folded; `more all` shows the rest at once',
};

/** The TypeScript examples the REPL's help gives, with what each gives (a test runs them). */
export const CODE_EXAMPLES: readonly { readonly code: string; readonly gives: string }[] = [
  { code: 'session.graph()', gives: "the current step's graph" },
  { code: 'session.current', gives: 'its step number' },
  { code: 'session.nodesTable()', gives: 'its nodes as a table' },
];

/** What a REPL word asks of the screen (the terminal app acts on it; piped mode has nothing to do). */
export type ScreenAction = 'clear' | 'more' | 'more all';

/** A classified input line. */
export type ParsedLine =
  | { readonly kind: 'empty' }
  | { readonly kind: 'command'; readonly name: string; readonly args: string }
  | { readonly kind: 'repl'; readonly name: string; readonly args: string }
  | { readonly kind: 'code'; readonly code: string }
  | { readonly kind: 'unknown'; readonly name: string };

/** One piece of output of an executed line. */
export interface OutputItem {
  /** `result`: the rendered value; `print`: a command's note; `error`: what failed. */
  readonly kind: 'result' | 'print' | 'error';
  readonly text: string;
}

/** The outcome of one line. */
export interface ExecResult {
  readonly ok: boolean;
  /** What the line was read as (for headers and tests). */
  readonly parsed: ParsedLine;
  readonly output: OutputItem[];
  /** Set when the line asks the REPL to end (`exit`, `quit`). */
  readonly exit?: boolean;
  /** Set when the line asks the screen to act (`clear`, `more`, `more all`). */
  readonly screen?: ScreenAction;
}

/** A completion: replace `line.slice(start)` by one of `candidates`. */
export interface Completion {
  readonly start: number;
  readonly candidates: string[];
  /** TypeScript completions: no space is added after a single candidate. */
  readonly code?: boolean;
}

/** Listeners the screen installs to see progress and notes while a line runs. */
export interface ShellListeners {
  progress?(label: string, fraction?: number): void;
  print?(text: string): void;
}

/** A first word that may name a command (the `%` form is recognised by the kernel's splitCell). */
const WORD = /^([A-Za-z_][\w-]*)(?=\s|$)/;

/** The REPL engine over one command table, evaluator and renderer. */
export class ReplShell implements CommandContext {
  private current: Session | undefined;
  /** Output collected for the line now running. */
  private pending: OutputItem[] | undefined;
  /** Aborts the line now running. */
  private controller: AbortController | undefined;
  /** Render options of the line now running. */
  private lineOptions: RenderOptions;
  listeners: ShellListeners = {};

  constructor(readonly deps: ReplDeps, session?: Session, readonly renderOptions: RenderOptions = { color: false, width: 100 }) {
    this.current = session;
    this.lineOptions = renderOptions;
  }

  // ---- CommandContext ---------------------------------------------------------------------------

  get session(): Session | undefined {
    return this.deps.sessions ? this.deps.sessions.get() : this.current;
  }

  setSession(session: Session): void {
    if (this.deps.sessions) this.deps.sessions.set(session);
    else this.current = session;
  }

  progress(label: string, fraction?: number): void {
    this.listeners.progress?.(label, fraction);
  }

  /** The running line's abort signal (commands check it between steps). */
  get signal(): AbortSignal | undefined {
    return this.controller?.signal;
  }

  /** Asks the running line to stop (commands stop at their next check with 'interrupted'). */
  interrupt(): boolean {
    if (!this.controller || this.controller.signal.aborted) return false;
    this.controller.abort();
    this.deps.interruptEvaluation?.();
    return true;
  }

  /** Shows an object now, before the line's result (the evaluator's `display(obj)`). */
  show(obj: unknown): void {
    if (obj === undefined) return;
    const text = this.deps.render(obj, this.lineOptions).replace(/\n+$/, '');
    this.pending?.push({ kind: 'result', text });
    if (!this.pending) this.listeners.print?.(text);
  }

  print(text: string): void {
    const t = text.replace(/\n$/, '');
    if (this.pending) this.pending.push({ kind: 'print', text: t });
    else this.listeners.print?.(t);
  }

  // ---- lines ------------------------------------------------------------------------------------

  /** How a line will be read (see the module header). */
  parse(line: string): ParsedLine {
    const text = line.trim();
    if (text === '' || text.startsWith('#')) return { kind: 'empty' };
    const parts = splitCell(text); // `%name args` is a magic line, as the kernel reads a cell
    const magic = parts.length === 1 && parts[0].kind === 'magic' ? parts[0] : undefined;
    const m = magic ? undefined : WORD.exec(text);
    const name = magic?.name ?? m?.[1];
    if (name !== undefined) {
      const args = magic ? magic.args : text.slice(m![0].length).trim();
      if (this.deps.findCommand(name)) return { kind: 'command', name, args };
      if (Object.hasOwn(REPL_WORDS, name)) return { kind: 'repl', name, args };
      if (magic) return { kind: 'unknown', name };
    }
    return { kind: 'code', code: text };
  }

  /** Runs one input line; never throws (failures come back as `error` output with ok false). */
  async execute(line: string, renderOptions: RenderOptions = this.renderOptions): Promise<ExecResult> {
    const parsed = this.parse(line);
    const output: OutputItem[] = [];
    this.pending = output;
    this.lineOptions = renderOptions;
    this.controller = new AbortController();
    try {
      switch (parsed.kind) {
        case 'empty':
          return { ok: true, parsed, output };
        case 'unknown':
          output.push({ kind: 'error', text: `error: unknown command '${parsed.name}'${this.suggest(parsed.name)}; type help for the list` });
          return { ok: false, parsed, output };
        case 'repl':
          return this.replWord(parsed, output);
        case 'command': {
          const cmd = this.deps.findCommand(parsed.name)!;
          this.push(output, await cmd.run(parsed.args, this), renderOptions);
          if (parsed.name === 'help' && parsed.args === '') output.push({ kind: 'print', text: this.replHelp(renderOptions.width) });
          return { ok: true, parsed, output };
        }
        case 'code': {
          if (!this.deps.evaluate) {
            output.push({ kind: 'error', text: `'${firstWord(parsed.code)}' is not a command and TypeScript evaluation is not available; type help for the commands` });
            return { ok: false, parsed, output };
          }
          try {
            this.push(output, await this.deps.evaluate(parsed.code, this), renderOptions);
          } catch (e) {
            output.push({ kind: 'error', text: this.notACommand(parsed.code, e) ?? errorText(e) });
            return { ok: false, parsed, output };
          }
          return { ok: true, parsed, output };
        }
        default:
          throw new Error(`unhandled line kind ${(parsed as ParsedLine).kind}`);
      }
    } catch (e) {
      output.push({ kind: 'error', text: errorText(e) });
      return { ok: false, parsed, output };
    } finally {
      // an interrupted line may end after the next one started: leave the next one's state alone
      if (this.pending === output) this.abandonLine();
    }
  }

  /** Forgets the running line (it was interrupted): later notes go to the listeners. */
  abandonLine(): void {
    this.pending = undefined;
    this.controller = undefined;
  }

  private push(output: OutputItem[], value: unknown, opts: RenderOptions): void {
    if (value === undefined) return;
    const text = this.deps.render(value, opts);
    if (text !== '') output.push({ kind: 'result', text: text.replace(/\n+$/, '') });
  }

  private replWord(parsed: ParsedLine & { kind: 'repl' }, output: OutputItem[]): ExecResult {
    switch (parsed.name) {
      case 'clear':
        return { ok: true, parsed, output, screen: 'clear' };
      case 'more':
        if (parsed.args !== '' && parsed.args !== 'all') {
          output.push({ kind: 'error', text: `error: more: expected nothing or 'all', got '${parsed.args}' (usage: more [all])` });
          return { ok: false, parsed, output };
        }
        return { ok: true, parsed, output, screen: parsed.args === 'all' ? 'more all' : 'more' };
      default:
        return { ok: true, parsed, output, exit: true }; // exit, quit
    }
  }

  /** The lines the REPL adds after `help`: its own words, keys and TypeScript input, wrapped to `width`. */
  replHelp(width = this.lineOptions.width): string {
    const text = 'In the REPL: type a command (a leading % is accepted, as in a notebook) or TypeScript with the kiln '
      + `API preloaded: session, load, zoo, display and the result tables, e.g. ${CODE_EXAMPLES.map((e) => `${e.code} (${e.gives})`).join(', ')}. `
      + 'Tab completes commands, pass names, models and TypeScript names; Up/Down walk '
      + 'the history. Ctrl-C stops a running line, busy code included, and keeps the session and its steps; '
      + 'at the prompt it clears the line. clear or Ctrl-L clears the screen; a long output is folded to a '
      + 'screenful: more shows the next page, more all the rest. exit, quit or Ctrl-D leave.';
    return `\n${wrapWords(text, Math.max(20, width))}`;
  }

  /**
   * What to say when a line that is not a command fails as TypeScript. An undefined name alone
   * (`stpe`) was most likely meant as a command: say so, with the nearest command names. A syntax
   * error is reported as one, at its line and column, when the line is plausible code (it starts with
   * a keyword or its first word is followed by an operator or bracket: `let y = ; 1`, `a +`); a word
   * followed by another word or a number (`frob 3`, `stpe 3`) reads as a mistyped command, so the
   * message names both readings: not a command (with the nearest names), nor valid TypeScript (the
   * syntax error and where). Anything else: undefined, and the caller shows the error as it is.
   */
  private notACommand(code: string, e: unknown): string | undefined {
    const m = /^([A-Za-z_][\w-]*)(\s+\S.*)?$/s.exec(code);
    if (!m || !(e instanceof Error)) return undefined;
    const undefinedName = e.name === 'ReferenceError' && m[2] === undefined && e.message === `${m[1]} is not defined`;
    if (undefinedName) return `error: '${m[1]}' is not a command${this.suggest(m[1])} nor defined in TypeScript; type help for the commands`;
    if (e.name !== 'SyntaxError' || m[2] === undefined || looksLikeCode(code)) return undefined;
    return `error: '${m[1]}' is not a command${this.suggest(m[1])} nor valid TypeScript (${errorText(e).replace(/^error: /, '')}); type help for the commands`;
  }

  private suggest(name: string): string {
    const names = this.deps.allCommands().map((c) => c.name);
    const close = names.filter((n) => n.startsWith(name.slice(0, 2)) || editDistance(n, name) <= 2);
    return close.length ? ` (did you mean ${close.slice(0, 3).join(', ')}?)` : '';
  }

  // ---- completion -------------------------------------------------------------------------------

  /** Completions for the text left of the cursor. */
  complete(line: string): Completion {
    const lead = line.length - line.trimStart().length;
    const rest = line.slice(lead);
    const percent = rest.startsWith('%') ? 1 : 0;
    const space = rest.search(/\s/);
    if (space < 0) {
      const partial = rest.slice(percent);
      if (!/^[A-Za-z_][\w-]*$|^$/.test(partial)) return percent ? { start: line.length, candidates: [] } : this.completeCode(line);
      const names = [...this.deps.allCommands().map((c) => c.name), ...(percent ? [] : Object.keys(REPL_WORDS))];
      const own = [...new Set(names)].filter((n) => n.startsWith(partial)).sort();
      if (percent || !this.deps.completeCode) return { start: lead + percent, candidates: own };
      const code = this.completeCode(line);
      if (own.length === 0 && code.candidates.length) return code;
      return code.start === lead && code.candidates.length
        ? { start: lead, candidates: [...new Set([...own, ...code.candidates])].sort() }
        : { start: lead + percent, candidates: own };
    }
    const name = rest.slice(percent, space);
    const cmd = this.deps.findCommand(name);
    if (!cmd) return percent ? { start: line.length, candidates: [] } : this.completeCode(line);
    const argStart = lead + space + (rest.slice(space).length - rest.slice(space).trimStart().length);
    const argText = line.slice(argStart);
    if (!cmd?.complete) return this.completeCode(line, name);
    let candidates: string[];
    try {
      candidates = [...new Set(cmd.complete(argText, this))];
    } catch {
      candidates = [];
    }
    return { start: line.length - (/\S*$/.exec(argText)?.[0].length ?? 0), candidates };
  }

  /** TypeScript completions of a line (none without an evaluator, or for a command without complete()). */
  private completeCode(line: string, commandName?: string): Completion {
    if (commandName !== undefined || !this.deps.completeCode) return { start: line.length, candidates: [] };
    try {
      return { ...this.deps.completeCode(line, this), code: true };
    } catch {
      return { start: line.length, candidates: [] };
    }
  }

  /** Whether `text` is TypeScript that needs more lines (an open bracket, string or template). */
  async needsMore(text: string): Promise<boolean> {
    if (this.parse(text).kind !== 'code' || !this.deps.isComplete) return false;
    try {
      return (await this.deps.isComplete(text)) === 'incomplete';
    } catch {
      return false;
    }
  }
}

/** The longest common prefix of the strings ('' for none). */
export function commonPrefix(list: readonly string[]): string {
  if (list.length === 0) return '';
  let p = list[0];
  for (const s of list) while (!s.startsWith(p)) p = p.slice(0, -1);
  return p;
}

/** The message of a failure as the REPL shows it: `error: ...` for user errors, more for bugs. */
export function errorText(e: unknown): string {
  if (e instanceof KilnError || (e instanceof Error && e.name === 'KilnError')) return `error: ${e.message}`;
  const cell = (e as { cellError?: { ename: string; line?: number; column?: number } } | undefined)?.cellError;
  if (e instanceof Error && cell?.ename === 'SyntaxError' && cell.line !== undefined) {
    return `error: SyntaxError: ${e.message} (line ${cell.line}${cell.column !== undefined ? `, column ${cell.column}` : ''})`;
  }
  if (e instanceof Error) {
    const debug = process.env.KILN_DEBUG && e.stack ? `\n${e.stack}` : '';
    return `error: ${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message}${debug}`;
  }
  return `error: ${typeof e === 'string' ? e : inspect(e)}`;
}

/** Words that start a statement or an expression: a line starting with one is code, never a command. */
const CODE_WORDS = new Set(['if', 'for', 'while', 'do', 'switch', 'try', 'throw', 'return', 'break', 'continue', 'with', 'debugger',
  'var', 'let', 'const', 'function', 'class', 'export', 'import', 'else', 'case', 'default', 'using', 'new', 'typeof', 'void', 'delete',
  'await', 'yield', 'async', 'type', 'interface', 'enum', 'namespace', 'declare', 'abstract', 'this', 'super', 'true', 'false', 'null']);
/** Words that may follow an identifier in an expression (`a in b`, `x as T`). */
const OPERATOR_WORDS = new Set(['in', 'instanceof', 'as', 'satisfies', 'of']);

/**
 * Whether a line whose first word is not a command reads as code rather than as a mistyped command:
 * it starts with a keyword, or its first word is followed by an operator, a bracket or a string
 * (tokens from the kernel's tokenizer, kernel/tokens.ts). `frob 3`, `stpe all` and `frob --x` do not.
 */
export function looksLikeCode(code: string): boolean {
  const [first, second] = tokenize(code).tokens;
  if (!first || first.kind !== 'ident' || CODE_WORDS.has(first.value)) return true;
  if (!second) return true;
  if (/^\S+\s+--?[A-Za-z]/.test(code)) return false; // a word and an option: `frob --x`
  if (second.kind === 'ident') return OPERATOR_WORDS.has(second.value);
  return second.kind !== 'number';
}

/** `text` broken at spaces into lines of at most `width` characters (a longer word gets its own line). */
export function wrapWords(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines.join('\n');
}

function firstWord(code: string): string {
  return /^\S+/.exec(code)?.[0] ?? code;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length];
}
