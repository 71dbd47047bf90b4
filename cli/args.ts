/**
 * Argument parsing shared by the CLI commands: node:util parseArgs in strict mode, turning every
 * mistake into a UsageError (the CLI prints the command's usage text and exits 2).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { KilnError } from '../compiler/errors.ts';
import type { ShapeBindings } from '../compiler/ops/bind-shapes.ts';

/** A bad command line: the CLI prints the message and the usage text, then exits 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses argv against `options`; `positionals` is [min, max] positional count. */
export function parseCommand<O extends Options>(argv: string[], options: O, positionals: [number, number]) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const n = parsed.positionals.length;
  if (n < positionals[0]) throw new UsageError('missing argument');
  if (n > positionals[1]) throw new UsageError(`unexpected argument '${parsed.positionals[positionals[1]]}'`);
  return parsed;
}

/** Reads a numeric option; UsageError when it is not a number (or not an integer when `integer`). */
export function numberOption(value: string | undefined, name: string, dflt: number, integer = false): number {
  if (value === undefined) return dflt;
  const v = Number(value);
  if (!Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    throw new UsageError(`--${name} expects ${integer ? 'an integer' : 'a number'}, got '${value}'`);
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
