/** `kiln summary MODEL`: op counts, parameters, constant bytes and FLOPs of a model. */
import { parseCommand } from '../args.ts';
import { loadModel } from '../../compiler/load.ts';
import { summarizeGraph, formatSummary } from '../../compiler/zoo/summary.ts';

export async function summaryCommand(argv: string[]): Promise<number> {
  const { positionals } = parseCommand(argv, {}, [1, 1], ['MODEL']);
  const graph = loadModel(positionals[0]);
  console.log(formatSummary(summarizeGraph(graph), positionals[0]));
  return 0;
}
