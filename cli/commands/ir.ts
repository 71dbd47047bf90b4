/**
 * `kiln ir MODEL | FILE.kir [--out FILE.kir [--weights FILE.safetensors]] [--shape INPUT=SIZES]... [--dim NAME=SIZE]...`:
 * prints a model's IR text (a .kir file is parsed, verified and re-printed). Symbolic dims print as
 * symbols unless bound.
 *
 * With --out, writes the IR to FILE.kir instead, with its weights in a safetensors sidecar (--weights,
 * default FILE.safetensors next to it) that the .kir names by relative path and sha256 (its
 * `kiln.weights` line, compiler/ir/kir-file.ts); both files are written at once (nothing half-written),
 * and one line says what was written.
 */
import path from 'node:path';
import { SHAPE_OPTIONS, UsageError, parseCommand, shapeBindings } from '../args.ts';
import { loadModel } from '../../compiler/load.ts';
import { printGraph } from '../../compiler/ir/print.ts';
import { writeKir } from '../../compiler/ir/kir-file.ts';

export async function irCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, { ...SHAPE_OPTIONS, out: { type: 'string' }, weights: { type: 'string' } }, [1, 1], ['MODEL']);
  if (values.weights !== undefined && values.out === undefined) throw new UsageError('--weights names the sidecar of --out FILE.kir; give --out too');
  if (values.out !== undefined && path.extname(values.out).toLowerCase() !== '.kir') throw new UsageError(`--out '${values.out}' must name a .kir file`);
  const graph = loadModel(positionals[0], await shapeBindings(values));
  if (values.out === undefined) {
    process.stdout.write(printGraph(graph));
    return 0;
  }
  const w = writeKir(values.out, graph, values.weights);
  const mb = (w.sidecarBytes / 2 ** 20).toFixed(1);
  console.log(`wrote ${values.out} and its weights ${w.sidecarPath} (${w.tensors} tensors, ${w.sidecarBytes} bytes, ${mb} MiB)`);
  return 0;
}
