/**
 * Argument parsing shared by the CLI commands. Every mistake on a command line becomes a UsageError
 * with kiln's own one-line wording; the CLI prints `kiln CMD: <message>` and the command's usage, then
 * exits 2. Commands never check option values by hand: they go through the readers below.
 *
 * - `parseCommand` tokenizes with node:util parseArgs (non-strict, with tokens) and checks the tokens
 *   itself, so the messages are kiln's: an unknown option (with the nearest known one, or the list),
 *   an option missing its value, a value given to a flag, an option given twice (unless declared
 *   `multiple`), too few or too many positionals. A value that looks like a negative number
 *   (`--seed -1`) is taken as the option's value, so the bounds check, not the tokenizer, reports it.
 * - `numberOption` reads a number within bounds (`NumberSpec`: integer or not, inclusive min/max):
 *   decimal or exponent notation only (no hex, no empty string, no Infinity), and an absurd value
 *   (`--repeat 1e9`, `--seed 1e300`) is refused with the bounds in the message.
 * - `choiceOption` reads one of a fixed set of names (backends, planners, targets, orders) and names
 *   the nearest one and the alternatives when the value is not among them.
 * - `pipelineOption` parses a pass pipeline; an unknown pass or a bad pass option is a usage error
 *   that points at `kiln passes`.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { KilnError } from '../compiler/errors.ts';
import type { ShapeBindings } from '../compiler/ops/bind-shapes.ts';
import { type Pipeline, nearest, parsePipeline } from '../compiler/passes/pipeline.ts';

/** A bad command line: the CLI prints the message and the usage text, then exits 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/** A token that is a number, so `--seed -1` passes -1 to --seed rather than reading an option `-1`. */
const NEGATIVE_NUMBER = /^-(\d|\.\d|inf)/i;

/**
 * Parses argv against `options`; `positionals` is the [min, max] positional count, and `names` (when
 * given) names the positionals in order for the "missing" message (`missing MODEL`).
 */
export function parseCommand<O extends Options>(argv: string[], options: O, positionals: [number, number], names: string[] = []) {
  const parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: false, tokens: true });
  const optionNames = Object.keys(options);
  const seen = new Set<string>();
  for (const t of parsed.tokens) {
    if (t.kind !== 'option') continue;
    const spec = Object.prototype.hasOwnProperty.call(options, t.name) ? options[t.name] : undefined;
    if (!spec) {
      const near = nearest(t.name, optionNames);
      const known = optionNames.map((n) => (options[n].short ? `--${n} (-${options[n].short})` : `--${n}`)).join(', ');
      throw new UsageError(`unknown option '${t.rawName}'${near ? ` (did you mean --${near}?)` : known ? ` (options: ${known})` : ' (this command takes no options)'}`);
    }
    if (seen.has(t.name) && !spec.multiple) throw new UsageError(`option '--${t.name}' is given twice`);
    seen.add(t.name);
    if (spec.type === 'boolean' && t.inlineValue) throw new UsageError(`option '${t.rawName}' takes no value`);
    if (spec.type === 'string') {
      const v = t.value;
      if (v === undefined || (!t.inlineValue && v.startsWith('-') && v !== '-' && !NEGATIVE_NUMBER.test(v))) {
        throw new UsageError(`option '${t.rawName}' needs a value`);
      }
    }
  }
  const n = parsed.positionals.length;
  if (n < positionals[0]) {
    const missing = names.slice(n, positionals[0]);
    throw new UsageError(missing.length ? `missing ${missing.join(' and ')}` : 'missing argument');
  }
  if (n > positionals[1]) throw new UsageError(`unexpected argument '${parsed.positionals[positionals[1]]}'`);
  return parsed as unknown as ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>>;
}

/** What a numeric option accepts: an integer or any number, within inclusive bounds. */
export interface NumberSpec {
  readonly integer?: boolean;
  readonly min?: number;
  readonly max?: number;
}

/** A seed: an unsigned 32-bit integer, as the seeded generators use. */
export const SEED: NumberSpec = { integer: true, min: 0, max: 2 ** 32 - 1 };
/** A relative or absolute tolerance: any number >= 0. */
export const TOLERANCE: NumberSpec = { min: 0 };
/** A repeat count: at least 1, and few enough to finish. */
export const REPEAT: NumberSpec = { integer: true, min: 1, max: 10_000 };

/** Decimal or exponent notation; Number() alone would also take '', ' ', '0x10' and 'Infinity'. */
const NUMBER_SYNTAX = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** Reads a numeric option (`dflt` when absent); UsageError naming the option and the bounds otherwise. */
export function numberOption(value: string | undefined, name: string, dflt: number, spec: NumberSpec = {}): number {
  if (value === undefined) return dflt;
  const what = spec.integer ? 'an integer' : 'a number';
  const v = Number(value);
  if (!NUMBER_SYNTAX.test(value.trim()) || !Number.isFinite(v)) {
    throw new UsageError(`--${name} expects ${what}${rangeText(spec)}, got '${value}'`);
  }
  if ((spec.integer && !Number.isInteger(v)) || (spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max)) {
    throw new UsageError(`--${name} must be ${what}${rangeText(spec)}, got ${value}`);
  }
  return v;
}

/**
 * `--shape INPUT=1x3x640x640` and `--dim NAME=8` (both repeatable): the options of every command that
 * loads a model; spread into the command's parseCommand options and read with `shapeBindings`.
 */
export const SHAPE_OPTIONS = {
  shape: { type: 'string', multiple: true },
  dim: { type: 'string', multiple: true },
} as const satisfies Options;

/** The usage text of SHAPE_OPTIONS. */
export const SHAPE_USAGE = '[--shape INPUT=SIZES]... [--dim NAME=SIZE]...';

/**
 * The bindings of parsed SHAPE_OPTIONS; malformed text is a UsageError (exit 2). Async so that the
 * compiler (ops/bind-shapes.ts pulls in every op) loads only when a command runs, not for `--help`.
 */
export async function shapeBindings(values: { shape?: string[]; dim?: string[] }): Promise<ShapeBindings> {
  const { parseShapeOptions } = await import('../compiler/ops/bind-shapes.ts');
  try {
    return parseShapeOptions(values.shape ?? [], values.dim ?? []);
  } catch (e) {
    if (e instanceof KilnError) throw new UsageError(e.message);
    throw e;
  }
}

/** ` in [1, 10000]`, ` >= 0`, ` in [0, 2^32)`: the bounds as a reader sees them. */
function rangeText(spec: NumberSpec): string {
  const { min, max, integer } = spec;
  if (max === undefined) return min === undefined ? '' : ` >= ${min}`;
  const power = integer ? Math.log2(max + 1) : NaN;
  const hi = Number.isInteger(power) && power >= 16 ? `2^${power})` : `${max}]`;
  return min === undefined ? ` <= ${max}` : ` in [${min}, ${hi}`;
}

/**
 * Reads an option whose value is one of `choices` (`dflt` when absent). `what` names the kind of
 * thing in the message: "unknown planner 'gredy' (did you mean 'greedy-size'?); available: ...".
 */
export function choiceOption<T extends string>(value: string | undefined, what: string, choices: readonly T[], dflt: T): T {
  if (value === undefined) return dflt;
  if ((choices as readonly string[]).includes(value)) return value as T;
  const near = nearest(value, choices);
  throw new UsageError(`unknown ${what} '${value}'${near ? ` (did you mean '${near}'?)` : ''}; available: ${choices.join(', ')}`);
}

/** Parses `--pipeline` text; an unknown pass or bad pass option is a UsageError pointing at `kiln passes`. */
export function pipelineOption(text: string): Pipeline {
  try {
    return parsePipeline(text);
  } catch (e) {
    if (!(e instanceof KilnError)) throw e;
    // the parser's message is "pipeline position N: why" plus the text and a caret: keep the first line
    throw new UsageError(`bad --pipeline: ${e.message.split('\n')[0]} (see \`kiln passes\`)`);
  }
}
