/**
 * The command table shared by the Jupyter kernel (`%step` line magics) and the terminal REPL
 * (`step`): one definition per command, so both shells offer exactly the same commands.
 *
 * A command parses its own argument text, drives the Session, and returns a kiln object (an IR view,
 * a diff, a ResultTable, a memory plan, a timing table, plain text...). It never prints or formats:
 * the shells turn the result into a MIME bundle (notebook) or terminal text (REPL) through
 * compiler/display. Long work reports progress through the context so each shell can draw it.
 */
import type { Session } from '../session.ts';

/** What a command sees of the shell it runs in. */
export interface CommandContext {
  /** The session commands act on; undefined until a model is loaded. */
  readonly session: Session | undefined;
  /** Replaces the current session (used by `load`). */
  setSession(session: Session): void;
  /** Progress of long work: fraction in [0, 1] when known. The shell renders a bar or spinner. */
  progress(label: string, fraction?: number): void;
  /** Plain text output that is not the command's result (notes, warnings). */
  print(text: string): void;
  /**
   * Optional: aborted when the user interrupts. Long commands (runall, run, timings) check it between
   * steps and runs, where they also yield to the event loop, and stop with a KilnError 'interrupted'.
   */
  readonly signal?: AbortSignal;
}

/** One command. */
export interface Command {
  /** Name without prefix: `step` (typed `%step` in a notebook, `step` in the REPL). */
  readonly name: string;
  /** Argument synopsis, e.g. `[N | PASS]`. */
  readonly usage: string;
  /** One line for help listings. */
  readonly summary: string;
  /** Worked examples for help listings (`step 3`, `diff 0 4`). */
  readonly examples?: readonly string[];
  /** Longer help: arguments and options, one per line. */
  readonly details?: string;
  /**
   * Completion candidates for the partial argument text (pass names, model paths, zoo refs...). The
   * kiln commands return candidates for the last word of `argText` (the text after its last space),
   * each a full replacement of that word.
   */
  complete?(argText: string, ctx: CommandContext): string[];
  /** Runs the command; returns the object to display (undefined for nothing). Errors are KilnErrors. */
  run(argText: string, ctx: CommandContext): Promise<unknown>;
}

const commands = new Map<string, Command>();

/** Registers commands; a duplicate name throws. */
export function registerCommands(list: readonly Command[]): void {
  for (const c of list) {
    if (commands.has(c.name)) throw new Error(`command '${c.name}' is already registered`);
    commands.set(c.name, c);
  }
}

/** The command named `name`, or undefined. */
export function findCommand(name: string): Command | undefined {
  return commands.get(name);
}

/** All commands, sorted by name. */
export function allCommands(): Command[] {
  return [...commands.values()].sort((a, b) => a.name.localeCompare(b.name));
}
