/**
 * `kiln summary MODEL [--shape INPUT=SIZES]... [--dim NAME=SIZE]... [--json]`: op counts, parameters,
 * constant bytes and FLOPs of a model. With symbolic input dims left unbound, FLOPs are a formula in
 * the symbols (never a figure at a made-up size); `--json` prints `flops` (a number, or null when it
 * depends on symbols) and `flopsFormula` (always the exact formula text).
 */
import { SHAPE_OPTIONS, parseCommand, shapeBindings } from '../args.ts';
import { loadModel } from '../../compiler/load.ts';
import { summarizeGraph, formatSummary, summaryJson } from '../../compiler/zoo/summary.ts';

export async function summaryCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, { json: { type: 'boolean', default: false }, ...SHAPE_OPTIONS }, [1, 1], ['MODEL']);
  const graph = loadModel(positionals[0], await shapeBindings(values));
  const s = summarizeGraph(graph);
  console.log(values.json ? JSON.stringify({ model: positionals[0], ...summaryJson(s) }, null, 2) : formatSummary(s, positionals[0]));
  return 0;
}
