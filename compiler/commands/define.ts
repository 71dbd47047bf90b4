/**
 * `defineCommand`: builds a Command (command.ts) from a declaration — usage, summary, examples,
 * options and positional count — so every kiln command parses its arguments, reports errors (always
 * starting with the command's name) and completes options the same way. The command's own `run` receives the parsed arguments; its `details`
 * (shown by `help NAME`) are generated from the option list when not written by hand.
 */
import { KilnError } from '../errors.ts';
import type { Command, CommandContext } from './command.ts';
import { type OptionSpec, type ParsedArgs, parseArgs } from './args.ts';
import { type PositionalCompleter, completeArgs } from './complete.ts';

/** The declaration of one command. */
export interface CommandSpec {
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
  readonly examples?: readonly string[];
  /** Extra help lines before the generated option list. */
  readonly details?: string;
  readonly options?: readonly OptionSpec[];
  /** Allowed number of positional words (default [0, 0]). */
  readonly positionals?: readonly [number, number];
  /** Candidates for the k-th positional word. */
  readonly completePositional?: PositionalCompleter;
  /** Runs with parsed arguments; `raw` is the argument text as typed. */
  run(args: ParsedArgs, ctx: CommandContext, raw: string): unknown;
}

/** A Command with its option list (help and tests read it). */
export interface KilnCommand extends Command {
  readonly options: readonly OptionSpec[];
}

/** The help lines of an option list: `  --repeat N   runs to time (default 1)`. */
export function optionLines(options: readonly OptionSpec[]): string[] {
  const heads = options.map((o) => `--${o.name}${o.type === 'flag' ? '' : ` ${o.value ?? o.type.toUpperCase()}`}`);
  const w = Math.max(0, ...heads.map((h) => h.length));
  return heads.map((h, i) => `  ${h.padEnd(w)}  ${options[i].help}`);
}

/**
 * Runs `work`; a KilnError it throws (from the session, a pass, the loader) gets the command's name in
 * front of its message, so every failure says which command it came from, and the Session's hints
 * (`use goto(8)`) are worded as commands (`use goto 8`). The error object itself is kept (its class,
 * place and stack).
 */
export async function naming<T>(command: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof KilnError) {
      // the Session words its hints as API calls (`use goto(8)`); a shell user types commands
      const msg = e.message.replace(/\bgoto\((\d*)\)/g, (_, n: string) => (n ? `goto ${n}` : 'goto'))
        .replace(/\bback\(\)/g, 'back').replace(/\bpipeline\(text\)/g, 'pipeline TEXT');
      e.message = msg.startsWith(`${command}: `) ? msg : `${command}: ${msg}`;
    }
    throw e;
  }
}

/** Builds a Command from its declaration. */
export function defineCommand(spec: CommandSpec): KilnCommand {
  const options = spec.options ?? [];
  const details = [spec.details, options.length ? ['options:', ...optionLines(options)].join('\n') : undefined]
    .filter((x): x is string => !!x).join('\n');
  return {
    name: spec.name,
    usage: spec.usage,
    summary: spec.summary,
    examples: spec.examples,
    details: details || undefined,
    options,
    complete: (argText, ctx) => completeArgs(argText, ctx, options, spec.completePositional),
    run: (argText, ctx) => naming(spec.name, async () => {
      const args = parseArgs(argText, { command: spec.name, usage: spec.usage, options, positionals: spec.positionals ?? [0, 0] });
      return spec.run(args, ctx, argText);
    }),
  };
}
