/**
 * The ONNX conformance runner: runs ONNX backend node-test cases on a kiln backend and compares the
 * results with the expected outputs.
 *
 * A case is a folder with `model.onnx` and one or more `test_data_set_*` folders holding
 * `input_<k>.pb` (the k-th graph input that is not an initializer) and `output_<j>.pb` (the j-th
 * graph output) as serialized TensorProtos. Each case ends as pass, fail (import error, run error,
 * bad test data, dtype/shape mismatch, or numeric mismatch with the error sizes and first bad index)
 * or skip — only when the backend declares an op or dtype of the graph unsupported. A case that runs
 * also reports its worst errors (largest absolute and relative error over its outputs and data sets,
 * as compare.ts measures them). `loadInputsDir`, `readExpectedOutputs` and `checkOutputs` are shared
 * with `kiln run --inputs`: they bind input files to graph inputs and check them, read the expected
 * `output_<k>.pb` files, and compare results with them.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Graph } from '../ir/graph.ts';
import type { DType } from '../ir/dtype.ts';
import { formatType, nodeId } from '../ir/graph.ts';
import type { Tensor } from '../ir/tensor.ts';
import { KilnError } from '../errors.ts';
import { findOp } from '../ops/registry.ts';
import { loadOnnxFile } from '../import/onnx/import.ts';
import { readTensorFile } from '../import/onnx/tensor-proto.ts';
import { runReference } from './reference.ts';
import { type TensorDiff, type Tolerance, diffTensors } from './compare.ts';

/** A backend the runner can check. */
export interface ConformanceBackend {
  readonly name: string;
  /** Why the backend cannot run this graph (an op or dtype it declares unsupported), or undefined. */
  unsupported(graph: Graph): string | undefined;
  run(graph: Graph, inputs: Map<string, Tensor>): Tensor[];
}

/** The reference backend: the ops' TypeScript kernels; unsupported = an op's `unsupportedDTypes`. */
const refBackend: ConformanceBackend = {
  name: 'ref',
  unsupported(graph) {
    const dtypes = new Map<string, DType>();
    for (const i of graph.inputs) dtypes.set(i.name, i.type.dtype);
    for (const c of graph.constants) dtypes.set(c.name, c.type.dtype);
    for (const n of graph.nodes) n.outputs.forEach((o, k) => { if (o && n.types[k]) dtypes.set(o, n.types[k].dtype); });
    for (const node of graph.nodes) {
      const bad = findOp(node.op)?.unsupportedDTypes;
      if (!bad?.length) continue;
      const used = [...node.inputs, ...node.outputs].filter(Boolean).map((v) => dtypes.get(v));
      const hit = used.find((d) => d !== undefined && bad.includes(d));
      if (hit) return `op ${node.op} does not support ${hit} (node '${node.loc[0] ?? nodeId(node)}')`;
    }
    return undefined;
  },
  run: (graph, inputs) => runReference(graph, inputs),
};

/** Backends by name. */
export const CONFORMANCE_BACKENDS: Readonly<Record<string, ConformanceBackend>> = { ref: refBackend };

/** The tolerance the runner (and `kiln run --inputs` against expected outputs) uses by default. */
export const DEFAULT_TOLERANCE: Readonly<Tolerance> = { rtol: 1e-3, atol: 1e-5 };

/** Options of a conformance run. */
export interface ConformanceOptions {
  backend?: string;
  /** Only cases whose folder name matches. */
  filter?: RegExp;
  rtol?: number;
  atol?: number;
  /** Called after each case (for progress output). */
  onCase?: (result: CaseResult) => void;
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
}

/** All results and the counts. */
export interface ConformanceReport {
  results: CaseResult[];
  passed: number;
  failed: number;
  skipped: number;
}

/** Runs every case under `dir` (or `dir` itself when it is a case folder). */
export function runConformance(dir: string, opts: ConformanceOptions = {}): ConformanceReport {
  const backend = CONFORMANCE_BACKENDS[opts.backend ?? 'ref'];
  if (!backend) throw new KilnError(`unknown backend '${opts.backend}' (available: ${Object.keys(CONFORMANCE_BACKENDS).join(', ')})`);
  const tol = { rtol: opts.rtol ?? DEFAULT_TOLERANCE.rtol, atol: opts.atol ?? DEFAULT_TOLERANCE.atol };
  const results: CaseResult[] = [];
  for (const caseDir of caseFolders(dir)) {
    const name = path.basename(caseDir);
    if (opts.filter && !opts.filter.test(name)) continue;
    const t0 = performance.now();
    const outcome = runCase(caseDir, backend, tol);
    const result: CaseResult = { name, ...outcome, ms: performance.now() - t0 };
    results.push(result);
    opts.onCase?.(result);
  }
  const count = (s: CaseResult['status']) => results.filter((r) => r.status === s).length;
  return { results, passed: count('pass'), failed: count('fail'), skipped: count('skip') };
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

type CaseOutcome = Pick<CaseResult, 'status' | 'reason' | 'maxAbsError' | 'maxRelError'>;

function runCase(dir: string, backend: ConformanceBackend, tol: Tolerance): CaseOutcome {
  const fail = (reason: string, worst?: Worst): CaseOutcome => ({ status: 'fail' as const, reason, ...worst });
  let graph: Graph;
  try {
    graph = loadOnnxFile(path.join(dir, 'model.onnx'));
  } catch (e) {
    return fail(`import error: ${message(e, dir)}`);
  }
  const why = backend.unsupported(graph);
  if (why) return { status: 'skip', reason: why };
  const sets = fs.readdirSync(dir).filter((d) => d.startsWith('test_data_set_')).sort();
  if (!sets.length) return fail('bad test data: no test_data_set_* folder');
  let worst: Worst | undefined;
  for (const set of sets) {
    const setDir = path.join(dir, set);
    let inputs: Map<string, Tensor>;
    let expected: Tensor[];
    try {
      inputs = loadInputsDir(setDir, graph);
      expected = readExpectedOutputs(setDir).map((o) => o.tensor);
    } catch (e) {
      return fail(`bad test data in ${set}: ${message(e, dir)}`, worst);
    }
    if (expected.length !== graph.outputs.length) {
      return fail(`bad test data in ${set}: ${expected.length} output files for ${graph.outputs.length} graph outputs`, worst);
    }
    let got: Tensor[];
    try {
      got = backend.run(graph, inputs);
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
  return { status: 'pass', ...worst };
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

/** Compares each result with the expected tensor of the same position (`names` are the graph outputs). */
export function checkOutputs(got: readonly Tensor[], expected: readonly Tensor[], names: readonly string[], tol: Tolerance): OutputCheck[] {
  return expected.map((want, index) => {
    const diff: TensorDiff = got[index] ? diffTensors(got[index], want, tol)
      : { maxAbsError: Infinity, maxRelError: Infinity, mismatched: want.size, reason: `no result (the run produced ${got.length} outputs)` };
    return { index, name: names[index] ?? `#${index}`, diff };
  });
}

/** An error's message with the case folder prefix removed (the case name is printed already). */
function message(e: unknown, dir: string): string {
  const m = e instanceof Error ? e.message : String(e);
  const text = e instanceof KilnError ? m : `${(e as Error)?.name ?? 'Error'}: ${m}`;
  return text.split(dir + path.sep).join('');
}

/** One expected output read from a folder. */
export interface ExpectedOutput {
  /** The file's path. */
  readonly file: string;
  readonly tensor: Tensor;
}

/**
 * The `output_<k>.pb` files of a folder, in k order (none: an empty list); throws a KilnError naming
 * the folder when the numbering has a gap, or naming the file when one cannot be read.
 */
export function readExpectedOutputs(dir: string): ExpectedOutput[] {
  return numberedFiles(dir, 'output').map((f) => ({ file: path.join(dir, f), tensor: readTensorFile(path.join(dir, f)) }));
}

/** `<prefix>_<k>.pb` files of a folder, in k order; throws unless k runs 0..n-1. */
function numberedFiles(dir: string, prefix: string): string[] {
  const re = new RegExp(`^${prefix}_(\\d+)\\.pb$`);
  const found = new Map<number, string>();
  for (const f of fs.readdirSync(dir)) {
    const m = re.exec(f);
    if (m) found.set(Number(m[1]), f);
  }
  const files: string[] = [];
  for (let k = 0; k < found.size; k++) {
    const f = found.get(k);
    if (!f) throw new KilnError(`${prefix}_${k}.pb is missing (found ${[...found.values()].sort().join(', ')})`, { file: dir });
    files.push(f);
  }
  return files;
}

/**
 * Reads `input_<k>.pb` files for the graph's inputs (k-th file = k-th graph input) and checks each
 * tensor's dtype and shape against the input's type, binding symbolic dims consistently.
 */
export function loadInputsDir(dir: string, graph: Graph): Map<string, Tensor> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new KilnError('inputs folder does not exist', { file: dir });
  const files = numberedFiles(dir, 'input');
  if (files.length !== graph.inputs.length) {
    const want = graph.inputs.map((i, k) => `input_${k}.pb for '${i.name}'`).join(', ');
    throw new KilnError(`found ${files.length} input file${files.length === 1 ? '' : 's'} but the graph takes ${graph.inputs.length} input${graph.inputs.length === 1 ? '' : 's'}${want ? ` (${want})` : ''}`, { file: dir });
  }
  const symbols = new Map<string, { size: number; where: string }>();
  const out = new Map<string, Tensor>();
  graph.inputs.forEach((input, k) => {
    const file = path.join(dir, files[k]);
    const t = readTensorFile(file);
    const want = formatType(input.type);
    const got = `${t.dtype}[${t.shape.join(',')}]`;
    const bad = (why: string) => new KilnError(`tensor is ${got} but graph input '${input.name}' is ${want}: ${why}`, { file });
    if (t.dtype !== input.type.dtype) throw bad('dtype differs');
    if (t.shape.length !== input.type.shape.length) throw bad('rank differs');
    input.type.shape.forEach((d, i) => {
      const size = t.shape[i];
      if (typeof d === 'number') {
        if (d !== size) throw bad(`dim ${i} differs`);
        return;
      }
      const prev = symbols.get(d);
      if (prev && prev.size !== size) throw bad(`dim ${i} (${d}) is ${size} here but ${prev.size} in ${prev.where}`);
      symbols.set(d, { size, where: files[k] });
    });
    out.set(input.name, t);
  });
  return out;
}
