/**
 * Whole command lines for shells: `runLine('%step 3', ctx)` finds the command and runs it with the
 * rest of the line; `completeLine('%diff 0 ', ctx)` completes the command name or its arguments and
 * says where the candidates apply (the Jupyter kernel's complete_reply needs cursor_start; the REPL
 * replaces the same range). A leading `%` is accepted, as notebooks type magics.
 */
import { nearest } from '../passes/pipeline.ts';
import { allCommands, findCommand, type CommandContext } from './command.ts';
import { commandError } from './args.ts';
import { lastWord } from './complete.ts';

/** Completion of a line: replace `line.slice(start, end)` with one of `candidates`. */
export interface LineCompletion {
  readonly start: number;
  readonly end: number;
  readonly candidates: string[];
}

const HEAD = /^(\s*%?)([A-Za-z_][\w-]*)?/;

/** Splits a line into command name and argument text (undefined name when there is none). */
export function splitLine(line: string): { name?: string; args: string } {
  const m = HEAD.exec(line)!;
  return { name: m[2], args: line.slice(m[0].length).trim() };
}

/** Runs a command line; an unknown command is a KilnError with a suggestion. */
export async function runLine(line: string, ctx: CommandContext): Promise<unknown> {
  const { name, args } = splitLine(line);
  if (!name) throw commandError('kiln', `expected a command name, got '${line.trim()}'; type help for the list`);
  const cmd = findCommand(name);
  if (!cmd) {
    const near = nearest(name, allCommands().map((c) => c.name));
    throw commandError(name, `unknown command${near ? ` (did you mean '${near}'?)` : ''}; type help for the list`);
  }
  return cmd.run(args, ctx);
}

/** Completions for the text left of the cursor (the whole `line`). */
export function completeLine(line: string, ctx: CommandContext): LineCompletion {
  const end = line.length;
  const m = HEAD.exec(line)!;
  const rest = line.slice(m[0].length);
  if (rest === '' ) {
    const partial = m[2] ?? '';
    return { start: m[1].length, end, candidates: allCommands().map((c) => c.name).filter((n) => n.startsWith(partial)) };
  }
  if (!m[2] || !/^\s/.test(rest)) return { start: end, end, candidates: [] };
  const cmd = findCommand(m[2]);
  const argText = rest.replace(/^\s+/, '');
  if (!cmd?.complete) return { start: end, end, candidates: [] };
  let candidates: string[];
  try {
    candidates = cmd.complete(argText, ctx);
  } catch {
    candidates = [];
  }
  return { start: end - lastWord(argText).length, end, candidates };
}
