/**
 * The explicit list of kiln's shell commands: importing this file registers every command in the
 * shared table (command.ts) that the Jupyter kernel's `%` magics and the REPL both read. One line per
 * module below; a backend that adds commands registers its own list the same way.
 *
 * Commands: load, pipeline, step, stepto, runall, back, goto, branch, history (session-commands.ts);
 * ir, diff, passes, nodes, tables, decisions, fusions, check (view-commands.ts); run, timings, mem
 * (run-commands.ts); source, kir (source-commands.ts); tuning (tune-commands.ts); report
 * (report-commands.ts); help (help.ts).
 */
import { registerCommands, findCommand, type Command } from './command.ts';
import { sessionCommands } from './session-commands.ts';
import { viewCommands } from './view-commands.ts';
import { runCommands } from './run-commands.ts';
import { sourceCommands } from './source-commands.ts';
import { tuneCommands } from './tune-commands.ts';
import { reportCommands } from './report-commands.ts';
import { helpCommand } from './help.ts';

export { allCommands, findCommand, registerCommands, type Command, type CommandContext } from './command.ts';
export { completeLine, runLine, type LineCompletion } from './line.ts';

/** Every command kiln ships. */
export const KILN_COMMANDS: readonly Command[] = [...sessionCommands, ...viewCommands, ...runCommands, ...sourceCommands, ...tuneCommands, ...reportCommands, helpCommand];

// Registered once, even if this module is reached through two specifiers (tests, bundles); a name
// registered before (a shell's own command) keeps its first registration.
registerCommands(KILN_COMMANDS.filter((c) => !findCommand(c.name)));
