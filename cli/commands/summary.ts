/** `kiln summary MODEL`: op counts, parameters and FLOPs (what `npm start` shows until the REPL lands). */
import { parseCommand } from '../args.ts';
import { loadModel } from '../../compiler/load.ts';
import { summarizeGraph, formatSummary } from '../../compiler/zoo/summary.ts';

export async function summaryCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, { 'repl-note': { type: 'boolean', default: false } }, [1, 1]);
  const graph = loadModel(positionals[0]);
  console.log(formatSummary(summarizeGraph(graph), positionals[0]));
  if (values['repl-note']) {
    console.log('\nThe interactive REPL is coming; meanwhile try `npx kiln --help`, `npx kiln ir zoo:mlp`, `npx kiln run zoo:resnet50 --json`.');
  }
  return 0;
}
