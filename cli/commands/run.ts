/**
 * `kiln run MODEL [--backend ref] [--inputs DIR] [--outputs DIR] [--seed N] [--repeat N] [--json]`
 *
 * Loads the model ("compile" time: import, type inference and verification), binds inputs from
 * input_<k>.pb files or seeded random values, runs once as warm-up and then `repeat` timed runs
 * (default 1), and reports the median and minimum run time. Outputs are written as output_<k>.pb
 * TensorProto files when --outputs is given (all written before any is moved into place, through
 * compiler/files.ts, so a failure never leaves a half-written folder or a stray temporary).
 */
import { SHAPE_OPTIONS, parseCommand, numberOption, shapeBindings, UsageError } from '../args.ts';
import { loadModel } from '../../compiler/load.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { randomInputs, tensorStats } from '../../compiler/runtime/inputs.ts';
import { loadInputsDir } from '../../compiler/runtime/conformance.ts';
import { bindShapes, requireStaticShapes, shapesOf } from '../../compiler/ops/bind-shapes.ts';
import { encodeTensor } from '../../compiler/import/onnx/tensor-proto.ts';
import { writeFilesAtomic } from '../../compiler/files.ts';
import type { Tensor } from '../../compiler/ir/tensor.ts';

/** Backends `kiln run` accepts today. */
export const RUN_BACKENDS = ['ref'];

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, {
    backend: { type: 'string', default: 'ref' },
    inputs: { type: 'string' },
    outputs: { type: 'string' },
    seed: { type: 'string' },
    repeat: { type: 'string' },
    json: { type: 'boolean', default: false },
    ...SHAPE_OPTIONS,
  }, [1, 1]);
  if (!RUN_BACKENDS.includes(values.backend!)) throw new UsageError(`unknown backend '${values.backend}' (available: ${RUN_BACKENDS.join(', ')})`);
  const seed = numberOption(values.seed, 'seed', 0, true);
  const repeat = numberOption(values.repeat, 'repeat', 1, true);
  if (repeat < 1) throw new UsageError('--repeat must be at least 1');

  const t0 = performance.now();
  let graph = loadModel(positionals[0], await shapeBindings(values));
  const given = values.inputs ? loadInputsDir(values.inputs, graph) : undefined;
  if (given) graph = bindShapes(graph, shapesOf(given), { file: positionals[0] }); // the sizes of the tensors given
  requireStaticShapes(graph, 'kiln run');
  const compileMs = performance.now() - t0;
  const inputs: Map<string, Tensor> = given ?? randomInputs(graph, seed);

  let outputs = runReference(graph, inputs); // warm-up
  const times: number[] = [];
  for (let r = 0; r < repeat; r++) {
    const s = performance.now();
    outputs = runReference(graph, inputs);
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  const ms = times.length % 2 ? times[(times.length - 1) / 2] : (times[times.length / 2 - 1] + times[times.length / 2]) / 2;

  if (values.outputs) writeOutputs(values.outputs, graph.outputs, outputs);

  const described = outputs.map((t, k) => ({ name: graph.outputs[k], dtype: t.dtype, shape: [...t.shape], ...tensorStats(t) }));
  if (values.json) {
    console.log(JSON.stringify({
      model: positionals[0],
      backend: values.backend,
      inputs: [...inputs].map(([name, t]) => ({ name, dtype: t.dtype, shape: [...t.shape] })),
      outputs: described,
      compileMs: round(compileMs), ms: round(ms), msMin: round(times[0]), repeat,
    }));
  } else {
    console.log(`${positionals[0]} on ${values.backend}: compile ${compileMs.toFixed(1)} ms, run ${ms.toFixed(2)} ms (median of ${repeat}, min ${times[0].toFixed(2)} ms)`);
    for (const o of described) {
      console.log(`  ${o.name}: ${o.dtype}[${o.shape.join(',')}] mean=${fmt(o.mean)} std=${fmt(o.std)} min=${fmt(o.min)} max=${fmt(o.max)}`);
    }
    if (values.outputs) console.log(`  wrote ${outputs.length} output file(s) to ${values.outputs}`);
  }
  return 0;
}

/** Writes output_<k>.pb files into `dir` as one set (compiler/files.ts; the parent folder must exist). */
function writeOutputs(dir: string, names: readonly string[], outputs: Tensor[]): void {
  writeFilesAtomic(dir, outputs.map((t, k) => [`output_${k}.pb`, encodeTensor(t, names[k])] as const), { what: 'outputs' });
}

const round = (x: number) => Math.round(x * 1000) / 1000;
const fmt = (x: number) => (Number.isFinite(x) ? x.toPrecision(5) : String(x));
