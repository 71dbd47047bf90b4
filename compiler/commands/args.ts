/**
 * Argument parsing and small helpers shared by the kiln commands (compiler/commands/*.ts).
 *
 * A command gets its argument text as typed (`--repeat 3 --seed=7`, `0 4`). `splitArgs` cuts it into
 * words the way a shell would for the simple cases: whitespace separates, single or double quotes keep
 * spaces inside one word, and a backslash escapes the next character. `parseArgs` then separates
 * options (`--name value`, `--name=value`, `--flag`, `--no-flag` for a flag) from positional words,
 * checks them against the command's declared options and positional count, and converts numbers.
 * Every problem is a KilnError whose message starts with the command's name and names the argument
 * and what was expected, ending with the usage line.
 */
import { KilnError } from '../errors.ts';
import type { CommandContext } from './command.ts';
import type { Session } from '../session.ts';

/** One option a command accepts. */
export interface OptionSpec {
  /** Name without dashes: `repeat` for `--repeat`. */
  readonly name: string;
  /** `flag` takes no value (`--no-NAME` turns it off); the others take one. */
  readonly type: 'flag' | 'int' | 'number' | 'string';
  /** Value placeholder for help (`N`, `FILE`). */
  readonly value?: string;
  readonly help: string;
  /** Smallest allowed value of an int or number option. */
  readonly min?: number;
  /** Completion candidates for the option's value. */
  readonly values?: (ctx: CommandContext) => readonly string[];
  /** A `string` option that may be given several times; its value is the list (`--shape a=1 --shape b=2`). */
  readonly repeatable?: boolean;
}

/** What `parseArgs` returns. */
export interface ParsedArgs {
  readonly positionals: string[];
  /** Option values; a `repeatable` option's value is the list of its texts in order. */
  readonly options: ReadonlyMap<string, string | number | boolean | readonly string[]>;
}

/** The declaration `parseArgs` checks against. */
export interface ArgSpec {
  readonly command: string;
  readonly usage: string;
  readonly options?: readonly OptionSpec[];
  /** Allowed number of positional words [min, max] (default [0, 0]). */
  readonly positionals?: readonly [number, number];
}

/** A KilnError for `command`: `name: message (usage: name USAGE)`. */
export function commandError(command: string, message: string, usage?: string): KilnError {
  return new KilnError(`${command}: ${message}${usage !== undefined ? ` (usage: ${command}${usage ? ` ${usage}` : ''})` : ''}`);
}

/** Splits argument text into words (whitespace separated; quotes and backslashes as in a shell). */
export function splitArgs(text: string, command = 'command'): string[] {
  const out: string[] = [];
  let word = '', inWord = false, quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length) word += text[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw commandError(command, `unclosed ${quote === '"' ? 'double' : 'single'} quote in '${text}'`);
  if (inWord) out.push(word);
  return out;
}

/** Parses argument text against a spec; see the module header. */
export function parseArgs(text: string, spec: ArgSpec): ParsedArgs {
  const { command, usage } = spec;
  const words = splitArgs(text, command);
  const declared = spec.options ?? [];
  const options = new Map<string, string | number | boolean | string[]>();
  const positionals: string[] = [];
  const known = () => (declared.length ? `; options: ${declared.map((o) => `--${o.name}`).join(', ')}` : '; it takes no options');
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w === '--') { positionals.push(...words.slice(i + 1)); break; }
    if (!w.startsWith('--') || w.length === 2) { positionals.push(w); continue; }
    const eq = w.indexOf('=');
    let name = eq < 0 ? w.slice(2) : w.slice(2, eq);
    let negated = false;
    let opt = declared.find((o) => o.name === name);
    if (!opt && name.startsWith('no-')) {
      opt = declared.find((o) => o.name === name.slice(3) && o.type === 'flag');
      if (opt) { negated = true; name = opt.name; }
    }
    if (!opt) throw commandError(command, `unknown option '--${name}'${known()}`, usage);
    if (opt.type === 'flag') {
      if (eq >= 0) throw commandError(command, `option --${name} takes no value (got '${w}')`, usage);
      options.set(name, !negated);
      continue;
    }
    let raw: string;
    if (eq >= 0) raw = w.slice(eq + 1);
    else if (i + 1 < words.length) raw = words[++i];
    else throw commandError(command, `option --${name} needs a value ${opt.value ?? ''}`.trimEnd(), usage);
    if (opt.repeatable) options.set(name, [...((options.get(name) as string[] | undefined) ?? []), raw]);
    else options.set(name, convertOption(command, opt, raw, usage));
  }
  const [min, max] = spec.positionals ?? [0, 0];
  if (positionals.length > max) {
    const extra = positionals.slice(max).map((p) => `'${p}'`).join(' ');
    throw commandError(command, max === 0 ? `takes no arguments, got ${extra}` : `unexpected argument${positionals.length - max > 1 ? 's' : ''} ${extra}`, usage);
  }
  if (positionals.length < min) throw commandError(command, `missing argument (${usage})`, usage);
  return { positionals, options };
}

function convertOption(command: string, opt: OptionSpec, raw: string, usage: string): string | number {
  if (opt.type === 'string') return raw;
  const n = Number(raw);
  const whole = opt.type === 'int';
  if (raw.trim() === '' || !Number.isFinite(n) || (whole && !Number.isInteger(n))) {
    throw commandError(command, `option --${opt.name} needs ${whole ? 'a whole number' : 'a number'}, got '${raw}'`, usage);
  }
  if (opt.min !== undefined && n < opt.min) throw commandError(command, `option --${opt.name} must be at least ${opt.min}, got ${raw}`, usage);
  return n;
}

/** A positional whole number in [min, max]; `what` names it in the error (`STEP`, `N`). */
export function parseIntArg(command: string, what: string, raw: string, min: number, max: number, usage?: string): number {
  const n = Number(raw);
  if (!/^[+-]?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n)) {
    throw commandError(command, `${what} must be a whole number, got '${raw}'`, usage);
  }
  if (n < min || n > max) {
    throw commandError(command, `${what} ${n} is out of range; it must be ${max === Infinity ? `at least ${min}` : `from ${min} to ${max}`}`, usage);
  }
  return n;
}

/** A step index of the session: 0 (the loaded model) to the pipeline's length. */
export function parseStepArg(command: string, raw: string, session: Session, usage?: string, what = 'STEP'): number {
  return parseIntArg(command, what, raw, 0, session.length, usage);
}

/** The session of the context, or a KilnError telling the user to load a model first. */
export function needSession(ctx: CommandContext, command: string): Session {
  const s = ctx.session;
  if (!s) throw commandError(command, 'no model is loaded; load one first, e.g. `load zoo:mlp` (see `help load`)');
  return s;
}

/** Gets an option value of a known type from parsed args. */
export function opt<T extends string | number | boolean>(args: ParsedArgs, name: string, fallback: T): T {
  const v = args.options.get(name);
  return (v === undefined ? fallback : v) as T;
}

/** Lets the shell draw progress and handle an interrupt; throws when the context's signal is aborted. */
export async function yieldToShell(ctx: CommandContext, command: string): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (ctx.signal?.aborted) throw commandError(command, 'interrupted');
}

/**
 * A progress reporter that forwards at most one update per `intervalMs` (the first and the last always
 * go through), so a per-node hook does not flood a notebook with messages.
 */
export function throttledProgress(ctx: CommandContext, intervalMs = 100): (label: string, fraction?: number) => void {
  let last = -Infinity;
  return (label, fraction) => {
    const now = performance.now();
    if (fraction === undefined || fraction <= 0 || fraction >= 1 || now - last >= intervalMs) {
      last = now;
      ctx.progress(label, fraction);
    }
  };
}
