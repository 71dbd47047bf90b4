/**
 * `kiln ir MODEL | FILE.kir [--shape INPUT=SIZES]... [--dim NAME=SIZE]...`: prints a model's IR text (a
 * .kir file is parsed, verified and re-printed). Symbolic dims print as symbols unless bound.
 */
import { SHAPE_OPTIONS, parseCommand, shapeBindings } from '../args.ts';
import { loadModel } from '../../compiler/load.ts';
import { printGraph } from '../../compiler/ir/print.ts';

export async function irCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, { ...SHAPE_OPTIONS }, [1, 1], ['MODEL']);
  process.stdout.write(printGraph(loadModel(positionals[0], await shapeBindings(values))));
  return 0;
}
