/**
 * The ONNX conformance runner: runs ONNX backend node-test cases on a kiln backend and compares the
 * results with the expected outputs.
 *
 * A case is a folder with `model.onnx` and one or more `test_data_set_*` folders holding
 * `input_<k>.pb` (the k-th graph input that is not an initializer) and `output_<j>.pb` (the j-th
 * graph output) as serialized TensorProtos, or SequenceProtos / OptionalProtos where the graph input or
 * output is a sequence or optional (its type says which: import/onnx/tensor-proto.ts `readValueFile`).
 * Sequence outputs compare by length and then element by element, optionals by presence and then by
 * value (compare.ts `diffValues`); a mismatch's reason names the element. Each case ends as pass, fail (import error, run error,
 * bad test data, dtype/shape mismatch, or numeric mismatch with the error sizes and first bad index)
 * or skip — only when the backend declares the graph unsupported (`Backend.unsupported`), asked
 * about the graph bound to the first data set.
 * Any registered backend (backends.ts) can be checked: each case's graph is prepared once per distinct
 * bound graph (inputs.ts `bindInputs` binds it to the sizes of the data set's tensors and, where sizes
 * depend on input values — a Slice's starts, a Resize's sizes, a reduction's axes given as graph
 * inputs — to those values: ops/bind-values.ts) and the program runs every data set; a case records
 * the inputs bound to their values (`specialized`). A case that runs also reports its worst errors
 * (largest absolute and relative error over its outputs and data sets, as compare.ts measures them). On a compiled backend
 * whose programs report the nodes they run on the reference kernels (`Program.fallbacks`), each case
 * records the ops that fell back (`fallback`, empty when it ran fully compiled) and the report counts
 * the passing cases that ran fully compiled and those that needed fallback; `fallback: false`
 * (strict) prepares without fallback, so such cases fail naming their nodes. A backend that cannot run
 * here is replaced by the reference backend (backends.ts `useBackend`, message through `onWarning`);
 * compiled backends prepare without tuning (their lowerings' default schedules, `tuning: 'off'`);
 * the report names the backend that ran. `readExpectedValues`
 * and `checkOutputs` are shared with `kiln run --inputs`: they read the expected `output_<k>.pb` files
 * and compare results with them.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Graph, TensorType } from '../ir/graph.ts';
import { nodeId, valueTypes } from '../ir/graph.ts';
import { Tensor } from '../ir/tensor.ts';
import type { Value } from '../ir/value.ts';
import { KilnError } from '../errors.ts';
import { loadOnnxFile } from '../import/onnx/import.ts';
import { readValueFile } from '../import/onnx/tensor-proto.ts';
import type { Backend, PrepareOptions, Program, Unsupported } from './backend.ts';
import { DEFAULT_BACKEND, useBackend } from './backends.ts';
import { bindInputs, numberedFiles } from './inputs.ts';
import { type TensorDiff, type Tolerance, diffValues } from './compare.ts';

/** The tolerance the runner (and `kiln run --inputs` against expected outputs) uses by default. */
export const DEFAULT_TOLERANCE: Readonly<Tolerance> = { rtol: 1e-3, atol: 1e-5 };

/** Options of a conformance run. */
export interface ConformanceOptions {
  /** A registered backend's name (default: the reference executor). */
  backend?: string;
  /** Only cases whose folder name matches. */
  filter?: RegExp;
  rtol?: number;
  atol?: number;
  /** Called after each case (for progress output). */
  onCase?: (result: CaseResult) => void;
  /** False: nodes a compiled backend cannot compile fail the case instead of falling back (default true). */
  fallback?: boolean;
  /** Receives the message when the backend cannot run here and the reference backend runs instead. */
  onWarning?: (message: string) => void;
}

/** The result of one case. */
export interface CaseResult {
  name: string;
  status: 'pass' | 'fail' | 'skip';
  /** Why it failed or was skipped. */
  reason?: string;
  ms: number;
  /** The largest absolute error over the outputs of every data set (absent when nothing ran to compare). */
  maxAbsError?: number;
  /** The largest relative error, likewise. */
  maxRelError?: number;
  /**
   * Ops (sorted, distinct) of the nodes that ran on the reference kernels inside the compiled program:
   * empty when it ran fully compiled; absent when the backend does not compile (or nothing was prepared).
   */
  fallback?: string[];
  /** Inputs bound to their data set's values (as constants) so that every size is known before running. */
  specialized?: string[];
}

/** All results and the counts. */
export interface ConformanceReport {
  /** The backend that ran (the reference backend when the one asked for cannot run here). */
  backend: string;
  results: CaseResult[];
  passed: number;
  failed: number;
  skipped: number;
  /**
   * On a backend that reports fallback: passing cases that ran fully compiled, and passing cases that
   * needed reference fallback for some node.
   */
  compiled?: { fully: number; withFallback: number };
}

/** Runs every case under `dir` (or `dir` itself when it is a case folder). */
export async function runConformance(dir: string, opts: ConformanceOptions = {}): Promise<ConformanceReport> {
  const backend = await useBackend(opts.backend ?? DEFAULT_BACKEND, { onWarning: opts.onWarning });
  // the lowerings' default schedules: tuning each case's tiny, one-off shapes would cost a compile per
  // case, and a tuned candidate is checked against the reference executor whenever it is measured
  const prepare: PrepareOptions = { ...(opts.fallback === false ? { fallback: false } : {}), tuning: 'off' };
  const tol = { rtol: opts.rtol ?? DEFAULT_TOLERANCE.rtol, atol: opts.atol ?? DEFAULT_TOLERANCE.atol };
  const results: CaseResult[] = [];
  for (const caseDir of caseFolders(dir)) {
    const name = path.basename(caseDir);
    if (opts.filter && !opts.filter.test(name)) continue;
    const t0 = performance.now();
    const outcome = await runCase(caseDir, backend, tol, prepare);
    const result: CaseResult = { name, ...outcome, ms: performance.now() - t0 };
    results.push(result);
    opts.onCase?.(result);
  }
  const count = (s: CaseResult['status']) => results.filter((r) => r.status === s).length;
  const passing = results.filter((r) => r.status === 'pass' && r.fallback !== undefined);
  const compiled = results.some((r) => r.fallback !== undefined)
    ? { fully: passing.filter((r) => !r.fallback!.length).length, withFallback: passing.filter((r) => r.fallback!.length).length } : undefined;
  return { backend: backend.name, results, passed: count('pass'), failed: count('fail'), skipped: count('skip'), ...(compiled ? { compiled } : {}) };
}

function caseFolders(dir: string): string[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new KilnError('conformance folder does not exist', { file: dir });
  if (fs.existsSync(path.join(dir, 'model.onnx'))) return [dir];
  const cases = fs.readdirSync(dir).sort()
    .map((d) => path.join(dir, d))
    .filter((d) => fs.existsSync(path.join(d, 'model.onnx')));
  if (!cases.length) throw new KilnError('no test cases here (expected folders with model.onnx)', { file: dir });
  return cases;
}

type CaseOutcome = Pick<CaseResult, 'status' | 'reason' | 'maxAbsError' | 'maxRelError' | 'fallback' | 'specialized'>;

async function runCase(dir: string, backend: Backend, tol: Tolerance, prepare: PrepareOptions): Promise<CaseOutcome> {
  const fail = (reason: string, worst?: Worst): CaseOutcome => ({ status: 'fail' as const, reason, ...worst });
  let graph: Graph;
  try {
    graph = loadOnnxFile(path.join(dir, 'model.onnx'));
  } catch (e) {
    return fail(`import error: ${message(e, dir)}`);
  }
  const sets = fs.readdirSync(dir).filter((d) => d.startsWith('test_data_set_')).sort();
  if (!sets.length) return fail('bad test data: no test_data_set_* folder');
  // the backend judges the graph bound to the first data set (sizes and shape arguments: inputs.ts);
  // bad data is reported by runSets
  let first = graph;
  try { first = bindInputs(graph, { dir: path.join(dir, sets[0]) }).graph; } catch { /* reported below */ }
  let unsupported;
  try {
    unsupported = backend.unsupported(first);
  } catch (e) {
    // a bug in the backend's own judgement (a lowering that crashed) fails this case, not the run
    return fail(`internal error while the backend judged the graph: ${message(e, dir)}`);
  }
  if (unsupported.length) return { status: 'skip', reason: skipReason(first, unsupported) };
  // one program per graph the data sets bind to (one in the usual case: every set has the same sizes)
  const programs = new Map<Graph, Program>();
  try {
    const outcome = await runSets(dir, sets, graph, backend, programs, tol, prepare);
    const fallback = fallbackOps([...programs.values()]);
    return fallback ? { ...outcome, fallback } : outcome;
  } finally {
    for (const p of programs.values()) await p.dispose();
  }
}

/** The ops that fell back in any of `programs` (sorted, distinct); undefined when none reports fallback. */
function fallbackOps(programs: readonly Program[]): string[] | undefined {
  const reporting = programs.filter((p) => p.fallbacks !== undefined);
  if (!reporting.length) return undefined;
  return [...new Set(reporting.flatMap((p) => p.fallbacks!.map((u) => u.op ?? '?')))].sort();
}

async function runSets(dir: string, sets: string[], graph: Graph, backend: Backend, programs: Map<Graph, Program>, tol: Tolerance,
  prepare: PrepareOptions): Promise<CaseOutcome> {
  const specialized = new Set<string>();
  const fail = (reason: string, worst?: Worst): CaseOutcome => ({ status: 'fail' as const, reason, ...worst });
  let worst: Worst | undefined;
  for (const set of sets) {
    const setDir = path.join(dir, set);
    let bound: Graph;
    let inputs: Map<string, Value>;
    let expected: Value[];
    try {
      const b = bindInputs(graph, { dir: setDir });
      ({ graph: bound, inputs } = b);
      for (const v of b.valuesBound ?? []) specialized.add(v);
      expected = readExpectedValues(setDir, outputTypes(graph)).map((o) => o.value);
    } catch (e) {
      return fail(`bad test data in ${set}: ${message(e, dir)}`, worst);
    }
    if (expected.length !== graph.outputs.length) {
      return fail(`bad test data in ${set}: ${expected.length} output files for ${graph.outputs.length} graph outputs`, worst);
    }
    let got: Value[];
    try {
      let program = programs.get(bound);
      if (!program) programs.set(bound, (program = await backend.prepare(bound, undefined, prepare)));
      got = await program.run(inputs);
    } catch (e) {
      return fail(`run error: ${message(e, dir)}`, worst);
    }
    const checks = checkOutputs(got, expected, graph.outputs, tol);
    for (const c of checks) {
      worst = {
        maxAbsError: Math.max(worst?.maxAbsError ?? 0, c.diff.maxAbsError),
        maxRelError: Math.max(worst?.maxRelError ?? 0, c.diff.maxRelError),
      };
    }
    const bad = checks.find((c) => c.diff.reason);
    if (bad) return fail(`${sets.length > 1 ? `${set}: ` : ''}output ${bad.index} '${bad.name}': ${bad.diff.reason}`, worst);
  }
  return { status: 'pass', ...worst, ...(specialized.size ? { specialized: [...specialized] } : {}) };
}

/** `op X does not support f16 (node 'onnx_name')`, and how many more nodes the backend cannot run. */
function skipReason(graph: Graph, unsupported: readonly Unsupported[]): string {
  const first = unsupported[0];
  const node = first.node === undefined ? undefined : graph.nodes.find((n) => nodeId(n) === first.node);
  const where = node ? ` (node '${node.loc[0] ?? first.node}')` : '';
  const more = unsupported.length > 1 ? `; ${unsupported.length - 1} more node${unsupported.length > 2 ? 's' : ''} unsupported` : '';
  return `${first.reason}${where}${more}`;
}

/** The worst errors of a case so far. */
type Worst = Required<Pick<CaseResult, 'maxAbsError' | 'maxRelError'>>;

/** One graph output compared with its expected tensor. */
export interface OutputCheck {
  /** The output's position among the graph outputs. */
  readonly index: number;
  readonly name: string;
  readonly diff: TensorDiff;
}

/**
 * Compares each result with the expected value of the same position (`names` are the graph outputs):
 * tensors elementwise, sequences element by element, optionals by presence and value (compare.ts
 * `diffValues`).
 */
export function checkOutputs(got: readonly Value[], expected: readonly Value[], names: readonly string[], tol: Tolerance): OutputCheck[] {
  return expected.map((want, index) => {
    const diff: TensorDiff = index < got.length ? diffValues(got[index], want, tol)
      : { maxAbsError: Infinity, maxRelError: Infinity, mismatched: want instanceof Tensor ? want.size : 1, reason: `no result (the run produced ${got.length} outputs)` };
    return { index, name: names[index] ?? `#${index}`, diff };
  });
}

/** An error's message with the case folder prefix removed (the case name is printed already). */
function message(e: unknown, dir: string): string {
  const m = e instanceof Error ? e.message : String(e);
  const text = e instanceof KilnError ? m : `${(e as Error)?.name ?? 'Error'}: ${m}`;
  return text.split(dir + path.sep).join('');
}

/** One expected output value (a tensor, sequence or optional) read from a folder. */
export interface ExpectedValue {
  /** The file's path. */
  readonly file: string;
  readonly value: Value;
}

/**
 * The `output_<k>.pb` files of a folder, in k order (none: an empty list), each read as a value of
 * `types[k]` (the k-th graph output's type: a TensorProto, or a SequenceProto or OptionalProto for a
 * sequence or optional; a tensor where no type is given); throws a KilnError naming the folder when the
 * numbering has a gap, or naming the file when one cannot be read.
 */
export function readExpectedValues(dir: string, types: readonly (TensorType | undefined)[]): ExpectedValue[] {
  return numberedFiles(dir, 'output').map((f, k) => ({ file: path.join(dir, f), value: readValueFile(path.join(dir, f), types[k]) }));
}

/** The types of a graph's outputs, in order. */
function outputTypes(graph: Graph): (TensorType | undefined)[] {
  const types = valueTypes(graph);
  return graph.outputs.map((o) => types.get(o));
}
