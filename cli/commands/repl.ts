/**
 * `kiln repl [MODEL] [--plain] [--width N]`: the interactive REPL on MODEL (default zoo:resnet50), or,
 * when stdin is not a terminal (or with --plain), the same commands read line by line from stdin with
 * plain-text output: `kiln repl zoo:mlp < script`. Exit code of the piped mode: 1 when any line failed
 * (each failure prints `error: ...` on stderr and the script goes on). --width sets the columns
 * results are laid out for (default: the terminal's, piped $COLUMNS or 120).
 */
import { SHAPE_OPTIONS, type NumberSpec, numberOption, parseCommand, shapeBindings } from '../args.ts';

/** The model the REPL opens when none is named. */
export const DEFAULT_MODEL = 'zoo:resnet50';

/** Columns results are laid out for: narrow enough to be readable, wide enough for any screen. */
const WIDTH: NumberSpec = { integer: true, min: 20, max: 1000 };

export async function replCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, {
    plain: { type: 'boolean', default: false },
    width: { type: 'string' },
    ...SHAPE_OPTIONS,
  }, [0, 1], ['MODEL']);
  const width = values.width === undefined ? undefined : numberOption(values.width, 'width', 0, WIDTH);
  const { startRepl } = await import('../../repl/index.ts');
  return startRepl({ model: positionals[0] ?? DEFAULT_MODEL, plain: values.plain, width, bindings: await shapeBindings(values) });
}
