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
 */
import { REPEAT, SEED, SHAPE_OPTIONS, TOLERANCE, UsageError, choiceOption, numberOption, parseCommand, pipelineOption, shapeBindings } from '../args.ts';
import { loadModel } from '../../compiler/load.ts';
import { PassManager } from '../../compiler/passes/manager.ts';
import { TARGETS } from '../../compiler/passes/all.ts';
import { bindInputs, tensorInputs, tensorStats } from '../../compiler/runtime/inputs.ts';
import { DEFAULT_BACKEND, backendNames, requireSupported, useBackend } from '../../compiler/runtime/backends.ts';
import { timeProgram } from '../../compiler/runtime/timings.ts';
import {
  DEFAULT_TOLERANCE, type ExpectedOutput, type OutputCheck, checkOutputs, readExpectedOutputs,
} from '../../compiler/runtime/conformance.ts';
import { requireStaticShapes } from '../../compiler/ops/bind-shapes.ts';
import { encodeTensor } from '../../compiler/import/onnx/tensor-proto.ts';
import { writeFilesAtomic } from '../../compiler/files.ts';
import { KilnError } from '../../compiler/errors.ts';
import type { Tensor } from '../../compiler/ir/tensor.ts';
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
  const inputs = tensorInputs(bound.inputs); // kiln run runs tensor inputs (a sequence input is an error naming it)
  requireStaticShapes(bound.graph, 'kiln run');
  const importMs = performance.now() - t0;
  let graph = bound.graph, passesMs: number | undefined;
  if (pipeline) {
    const p0 = performance.now();
    graph = new PassManager({ target }).run(graph, pipeline).at(-1)?.graph ?? graph;
    passesMs = performance.now() - p0;
  }
  const expected = values.inputs ? expectedOutputs(values.inputs, graph.outputs) : [];

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

  if (values.outputs) writeOutputs(values.outputs, graph.outputs, outputs);

  const checks = checkOutputs(outputs, expected.map((e) => e.tensor), graph.outputs, tol);
  const described = outputs.map((t, k) => ({
    name: graph.outputs[k], dtype: t.dtype, shape: [...t.shape], ...tensorStats(t),
    ...(checks[k] ? { expected: expectedJson(expected[k].file, checks[k]) } : {}),
  }));
  if (values.json) {
    console.log(JSON.stringify({
      model: positionals[0],
      backend: backend.name,
      ...(program.device ? { device: program.device } : {}),
      ...('threads' in program && typeof program.threads === 'number' ? { threads: program.threads } : {}),
      inputs: [...inputs].map(([name, t]) => ({ name, dtype: t.dtype, shape: [...t.shape] })),
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
    for (const o of described) {
      console.log(`  ${o.name}: ${o.dtype}[${o.shape.join(',')}] mean=${fmt(o.mean)} std=${fmt(o.std)} min=${fmt(o.min)} max=${fmt(o.max)}`);
    }
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
 * The expected outputs in an inputs folder (none is fine: then nothing is compared); more files than
 * the graph has outputs is an error naming the folder.
 */
function expectedOutputs(dir: string, names: readonly string[]): ExpectedOutput[] {
  const expected = readExpectedOutputs(dir);
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

/** Writes output_<k>.pb files into `dir` as one set (compiler/files.ts; the parent folder must exist). */
function writeOutputs(dir: string, names: readonly string[], outputs: readonly Tensor[]): void {
  writeFilesAtomic(dir, outputs.map((t, k) => [`output_${k}.pb`, encodeTensor(t, names[k])] as const), { what: 'outputs' });
}

const round = (x: number) => Math.round(x * 1000) / 1000;
const fmt = (x: number) => (Number.isFinite(x) ? x.toPrecision(5) : String(x));
const fmtErr = (x: number) => (x === 0 ? '0' : Number.isFinite(x) ? x.toExponential(2) : String(x));
