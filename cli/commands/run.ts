/**
 * `kiln run MODEL [--backend NAME] [--pipeline P [--target T]] [--inputs DIR] [--outputs DIR] [--seed N]
 *  [--repeat N] [--rtol R] [--atol A] [--no-fallback] [--tuning measure|cached|off] [--threads N] [--tf32] [--check] [--json]`
 *
 * Loads the model (import, type inference and verification: `importMs`), binds inputs from
 * input_<k>.pb files or seeded random values (compiler/runtime/inputs.ts `bindInputs`; the graph takes
 * the sizes of the tensors given), runs the pass pipeline when one is given (`passesMs`; the passes
 * see target T, default cpu, as in `kiln opt`), prepares it on the backend (any registered one,
 * compiler/runtime/backends.ts; `compileMs` is the program's own `prepareMs`), runs once as warm-up and
 * then `repeat` timed runs (default 1; compiler/runtime/timings.ts `timeProgram`), and reports the
 * median and minimum run time (`--tuning`: the compiled backends' schedule tuning, PrepareOptions.tuning;
 * the JSON then says how many candidates were measured; `--tf32`: f32 matrix products may round to
 * tf32 on tensor cores, PrepareOptions.tf32, the cuda backend). While a backend prepares, its progress is drawn on stderr when that is a
 * terminal (cli/progress.ts; --quiet turns it off). A backend that cannot run here (no compiler, no device) is an error
 * naming its reason — except that a compiled backend that cannot run here (no C compiler) says so on
 * stderr and runs on the reference backend instead (backends.ts `useBackend`). Nodes a compiled
 * backend cannot compile run on the reference kernels inside its program: the report lists them
 * (`fallbacks` in --json); --no-fallback refuses such a model instead. When the --inputs folder also holds
 * expected outputs (output_<k>.pb, as in an ONNX test data set), each result is compared with its
 * file (compiler/runtime/compare.ts, the conformance runner's rule and default tolerances): the
 * report gives, per output, the largest absolute and relative error, and the command exits 1 when
 * any output is past --rtol/--atol. Outputs are written as output_<k>.pb
 * TensorProto files when --outputs is given (all written before any is moved into place, through
 * compiler/files.ts, so a failure never leaves a half-written folder or a stray temporary).
 *
 * Sequences and optionals. A graph input or output may be a sequence of tensors or an optional
 * (ir/value.ts). Such an input comes from its input_<k>.pb file (a SequenceProto or OptionalProto;
 * random inputs are tensors only, and a sequence input without --inputs is an error naming it). Such
 * an output is reported with its declared type, its length and element shapes (`seq of 3: [2,3]×2,
 * [1,3]`, runtime/timings.ts `valueShape`) and statistics over all its elements, or `none`; --json
 * gives it `type`, `dtype`, `length` and `shapes` (or `none: true`) instead of `shape`. --outputs
 * writes it as a SequenceProto or OptionalProto (tensor-proto.ts `encodeValue`), an expected file is
 * read as the output's type says and compared element by element (compare.ts `diffValues`), and
 * --check compares it with the reference executor's element by element (check.ts).
 */
import { REPEAT, SEED, SHAPE_OPTIONS, TOLERANCE, UsageError, choiceOption, numberOption, parseCommand, pipelineOption, shapeBindings } from '../args.ts';
import { loadModel } from '../../compiler/load.ts';
import { PassManager } from '../../compiler/passes/manager.ts';
import { TARGETS } from '../../compiler/passes/all.ts';
import { bindInputs, valueStats } from '../../compiler/runtime/inputs.ts';
import { DEFAULT_BACKEND, backendNames, requireSupported, useBackend } from '../../compiler/runtime/backends.ts';
import { timeProgram, valueDtype, valueShape } from '../../compiler/runtime/timings.ts';
import {
  DEFAULT_TOLERANCE, type ExpectedValue, type OutputCheck, checkOutputs, readExpectedValues,
} from '../../compiler/runtime/conformance.ts';
import { requireStaticShapes } from '../../compiler/ops/bind-shapes.ts';
import { encodeValue } from '../../compiler/import/onnx/tensor-proto.ts';
import { writeFilesAtomic } from '../../compiler/files.ts';
import { KilnError } from '../../compiler/errors.ts';
import { type Graph, type TensorType, formatType, valueTypes } from '../../compiler/ir/graph.ts';
import { Tensor } from '../../compiler/ir/tensor.ts';
import type { Value } from '../../compiler/ir/value.ts';
import { TUNING_MODES } from '../../compiler/runtime/tune/tuner.ts';
import { terminalProgress } from '../progress.ts';
import { checkAgainstReference, formatCheck } from '../../compiler/runtime/check.ts';

export async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, {
    backend: { type: 'string' },
    pipeline: { type: 'string' },
    target: { type: 'string' },
    inputs: { type: 'string' },
    outputs: { type: 'string' },
    seed: { type: 'string' },
    repeat: { type: 'string' },
    rtol: { type: 'string' },
    atol: { type: 'string' },
    json: { type: 'boolean', default: false },
    tuning: { type: 'string' },
    threads: { type: 'string' },
    check: { type: 'boolean', default: false },
    'no-fallback': { type: 'boolean', default: false },
    tf32: { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
    ...SHAPE_OPTIONS,
  }, [1, 1], ['MODEL']);
  const backendName = choiceOption(values.backend, 'backend', backendNames(), DEFAULT_BACKEND);
  const seed = numberOption(values.seed, 'seed', 0, SEED);
  const repeat = numberOption(values.repeat, 'repeat', 1, REPEAT);
  const tol = {
    rtol: numberOption(values.rtol, 'rtol', DEFAULT_TOLERANCE.rtol, TOLERANCE),
    atol: numberOption(values.atol, 'atol', DEFAULT_TOLERANCE.atol, TOLERANCE),
  };
  if (values.target !== undefined && values.pipeline === undefined) throw new UsageError('--target needs --pipeline (the target the passes see)');
  const target = choiceOption(values.target, 'target', TARGETS, 'cpu');
  const pipeline = values.pipeline === undefined ? undefined : pipelineOption(values.pipeline);
  const tuning = values.tuning === undefined ? undefined : choiceOption(values.tuning, 'tuning', TUNING_MODES, 'measure');
  const threads = values.threads === undefined ? undefined : numberOption(values.threads, 'threads', 1, { integer: true, min: 1, max: 4096 });
  const backend = await useBackend(backendName, { onWarning: (m) => console.error(`note: ${m}`) });

  const t0 = performance.now();
  const loaded = loadModel(positionals[0], await shapeBindings(values));
  if (!values.inputs) requireStaticShapes(loaded, 'kiln run'); // random inputs need every size bound
  const bound = bindInputs(loaded, values.inputs ? { dir: values.inputs } : { random: { seed } }, { file: positionals[0] });
  const inputs = bound.inputs; // tensors, and from files sequences and optionals too
  requireStaticShapes(bound.graph, 'kiln run');
  const importMs = performance.now() - t0;
  let graph = bound.graph, passesMs: number | undefined;
  if (pipeline) {
    const p0 = performance.now();
    graph = new PassManager({ target }).run(graph, pipeline).at(-1)?.graph ?? graph;
    passesMs = performance.now() - p0;
  }
  const expected = values.inputs ? expectedOutputs(values.inputs, graph) : [];

  requireSupported(backend, graph, 'this model', positionals[0]);
  const progress = values.quiet ? undefined : terminalProgress(process.stderr); // a compile's progress, on a terminal only
  let program;
  try {
    program = await backend.prepare(graph, undefined, { onProgress: progress?.update, ...(values['no-fallback'] ? { fallback: false } : {}), ...(tuning ? { tuning } : {}), ...(threads ? { threads } : {}), ...(values.tf32 ? { tf32: true } : {}) });
  } finally {
    progress?.done();
  }
  const fallbacks = program.fallbacks ?? [];
  let timing;
  try {
    timing = await timeProgram(program, inputs, { warmup: 1, repeat });
  } finally {
    await program.dispose();
  }
  const { outputs } = timing;
  // --check: the reference executor on the same inputs, against the kernels' declared bounds (check.ts)
  const numeric = values.check ? await checkAgainstReference(graph, program, inputs, outputs) : undefined;
  const compileMs = program.prepareMs, ms = timing.medianMs, msMin = timing.minMs;

  const types = valueTypes(graph);
  const outputTypes = graph.outputs.map((o) => types.get(o));
  if (values.outputs) writeOutputs(values.outputs, graph.outputs, outputTypes, outputs);

  const checks = checkOutputs(outputs, expected.map((e) => e.value), graph.outputs, tol);
  const described = outputs.map((v, k) => ({
    name: graph.outputs[k], ...valueJson(v, outputTypes[k]), ...(v === null ? {} : valueStats(v)),
    ...(checks[k] ? { expected: expectedJson(expected[k].file, checks[k]) } : {}),
  }));
  if (values.json) {
    console.log(JSON.stringify({
      model: positionals[0],
      backend: backend.name,
      ...(program.device ? { device: program.device } : {}),
      ...('threads' in program && typeof program.threads === 'number' ? { threads: program.threads } : {}),
      inputs: [...inputs].map(([name, v]) => ({ name, ...valueJson(v, graph.inputs.find((i) => i.name === name)?.type) })),
      outputs: described,
      ...(fallbacks.length ? { fallbacks: fallbacks.map((u) => ({ node: u.node, op: u.op, reason: u.reason })) } : {}),
      importMs: round(importMs), ...(passesMs !== undefined ? { passesMs: round(passesMs) } : {}), compileMs: round(compileMs),
      ...(program.tuning ? { tuning: { mode: program.tuning.mode, measured: program.tuning.measurements, ms: round(program.tuning.ms) } } : {}), ms: round(ms), msMin: round(msMin), repeat,
      ...(checks.length ? { tolerance: tol, matchesExpected: checks.every((c) => !c.diff.reason) } : {}),
      ...(numeric ? { check: { ok: numeric.ok, maxRelError: numeric.maxRelError, rtol: numeric.rtol, atol: numeric.atol, declared: numeric.declared, outputs: numeric.outputs } } : {}),
    }));
  } else {
    console.log(`${positionals[0]} on ${backend.name}: import ${importMs.toFixed(1)} ms, `
      + `${passesMs !== undefined ? `passes ${passesMs.toFixed(1)} ms, ` : ''}compile ${compileMs.toFixed(1)} ms, `
      + `run ${ms.toFixed(2)} ms (median of ${repeat}, min ${msMin.toFixed(2)} ms)`);
    if (program.device) console.log(`  device: ${program.device.name}`);
    if (fallbacks.length) {
      console.log(`  ${fallbacks.length} node(s) ran on the reference kernels (not compiled): `
        + fallbacks.map((u) => `%${u.node} ${u.op}`).join(', '));
    }
    outputs.forEach((v, k) => {
      const t = outputTypes[k], s = valueStats(v);
      const what = v instanceof Tensor && !t?.container ? `${v.dtype}[${v.shape.join(',')}]` : `${t ? formatType(t) : valueDtype(v)} = ${valueShape(v, t)}`;
      console.log(`  ${graph.outputs[k]}: ${what}${v === null ? '' : ` mean=${fmt(s.mean)} std=${fmt(s.std)} min=${fmt(s.min)} max=${fmt(s.max)}`}`);
    });
    if (numeric) console.log(`  ${formatCheck(numeric)}`);
    if (values.outputs) console.log(`  wrote ${outputs.length} output file(s) to ${values.outputs}`);
    if (checks.length) {
      console.log(`  compared with ${checks.length} expected output file(s) in ${values.inputs} (rtol ${tol.rtol}, atol ${tol.atol}):`);
      for (const c of checks) {
        console.log(`    ${c.name}: max abs error ${fmtErr(c.diff.maxAbsError)}, max rel error ${fmtErr(c.diff.maxRelError)}`
          + `  ${c.diff.reason ? `MISMATCH: ${c.diff.reason}` : 'ok'}`);
      }
    }
  }
  if (numeric && !numeric.ok) {
    console.error(`error: ${backend.name} differs from the reference executor beyond tolerance: ${formatCheck(numeric)}`);
    return 1;
  }
  const bad = checks.filter((c) => c.diff.reason);
  if (bad.length) {
    console.error(`error: ${bad.map((c) => `'${c.name}'`).join(', ')} differ${bad.length === 1 ? 's' : ''} from the expected output`
      + `${bad.length === 1 ? '' : 's'} in ${values.inputs} beyond tolerance (rtol ${tol.rtol}, atol ${tol.atol})`);
    return 1;
  }
  return 0;
}

/**
 * The expected outputs in an inputs folder (none is fine: then nothing is compared), each read as its
 * output's type says (a SequenceProto or OptionalProto for a sequence or optional); more files than
 * the graph has outputs is an error naming the folder.
 */
function expectedOutputs(dir: string, graph: Graph): ExpectedValue[] {
  const names = graph.outputs, types = valueTypes(graph);
  const expected = readExpectedValues(dir, names.map((o) => types.get(o)));
  if (expected.length > names.length) {
    throw new KilnError(`found ${expected.length} expected output files (output_<k>.pb) but the graph has ${names.length} output${names.length === 1 ? '' : 's'}`, { file: dir });
  }
  return expected;
}

/** An output's comparison in `--json` (JSON has no Infinity: an infinite error is null). */
function expectedJson(file: string, c: OutputCheck) {
  const finite = (x: number) => (Number.isFinite(x) ? x : null);
  return {
    file, maxAbsError: finite(c.diff.maxAbsError), maxRelError: finite(c.diff.maxRelError), mismatched: c.diff.mismatched,
    withinTolerance: !c.diff.reason, ...(c.diff.reason ? { reason: c.diff.reason } : {}),
  };
}

/**
 * Writes output_<k>.pb files into `dir` as one set (compiler/files.ts; the parent folder must exist):
 * TensorProtos, and SequenceProtos or OptionalProtos for sequence and optional outputs.
 */
function writeOutputs(dir: string, names: readonly string[], types: readonly (TensorType | undefined)[], outputs: readonly Value[]): void {
  writeFilesAtomic(dir, outputs.map((v, k) => [`output_${k}.pb`, encodeValue(v, types[k], names[k])] as const), { what: 'outputs' });
}

/**
 * A value in `--json`: a tensor's dtype and shape; a sequence's or optional's declared `type`, and
 * then `dtype`, `length` and element `shapes` of a sequence, `dtype` and `shape` of an optional's
 * tensor, or `none: true`.
 */
function valueJson(v: Value, type?: TensorType) {
  const declared = type?.container ? { type: formatType(type) } : {};
  if (v === null) return { ...declared, none: true };
  if (v instanceof Tensor) return { ...declared, dtype: v.dtype, shape: [...v.shape] };
  return { ...declared, dtype: valueDtype(v, type), length: v.length, shapes: v.map((t) => [...t.shape]) };
}

const round = (x: number) => Math.round(x * 1000) / 1000;
const fmt = (x: number) => (Number.isFinite(x) ? x.toPrecision(5) : String(x));
const fmtErr = (x: number) => (x === 0 ? '0' : Number.isFinite(x) ? x.toExponential(2) : String(x));
