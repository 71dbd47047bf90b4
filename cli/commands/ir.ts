/** `kiln ir MODEL | FILE.kir`: prints a model's IR text (a .kir file is parsed, verified and re-printed). */
import { parseCommand } from '../args.ts';
import { loadModel } from '../../compiler/load.ts';
import { printGraph } from '../../compiler/ir/print.ts';

export async function irCommand(argv: string[]): Promise<number> {
  const { positionals } = parseCommand(argv, {}, [1, 1], ['MODEL']);
  process.stdout.write(printGraph(loadModel(positionals[0])));
  return 0;
}
