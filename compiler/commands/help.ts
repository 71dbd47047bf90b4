/**
 * `help [COMMAND]`: every command of the table with its usage, summary and an example, or one command
 * in detail (usage, options, examples). It reads the live registry, so commands added later (compiled
 * backends) appear without changes here.
 */
import { HelpView, type HelpEntry } from '../display/views.ts';
import { nearest } from '../passes/pipeline.ts';
import { allCommands, findCommand, type Command } from './command.ts';
import { commandError } from './args.ts';
import { defineCommand } from './define.ts';

const entry = (c: Command): HelpEntry => ({ name: c.name, usage: c.usage, summary: c.summary, examples: c.examples, details: c.details });

export const helpCommand = defineCommand({
  name: 'help',
  usage: '[COMMAND]',
  summary: 'list the commands with an example each, or explain one command',
  examples: ['help', 'help step'],
  positionals: [0, 1],
  completePositional: (i) => (i === 0 ? allCommands().map((c) => c.name) : []),
  async run(args) {
    const name = args.positionals[0]?.replace(/^%/, '');
    if (name === undefined) return new HelpView(allCommands().map(entry));
    const c = findCommand(name);
    if (!c) {
      const near = nearest(name, allCommands().map((x) => x.name));
      throw commandError('help', `unknown command '${name}'${near ? ` (did you mean '${near}'?)` : ''}; commands: ${allCommands().map((x) => x.name).join(', ')}`);
    }
    return new HelpView([entry(c)], true);
  },
});
