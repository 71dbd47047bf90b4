/**
 * The conformance runner: tensor comparison rules, pass/fail/skip of hand-made case folders with
 * their reasons, loadInputsDir's checks (compiler/runtime/inputs.ts), and the `kiln conformance` command's output and exit codes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { KilnError } from '../../compiler/errors.ts';
import { registerOps } from '../../compiler/ops/registry.ts';
import { compareTensors } from '../../compiler/runtime/compare.ts';
import { runConformance } from '../../compiler/runtime/conformance.ts';
import { loadInputsDir } from '../../compiler/runtime/inputs.ts';
import { writeTensorFile } from '../../compiler/import/onnx/tensor-proto.ts';
import { importOnnx } from '../../compiler/import/onnx/import.ts';
import { conformanceCommand } from '../../cli/commands/conformance.ts';
import { modelBytes, node, value, type ModelSpec } from '../import/onnx-build.ts';

const tol = { rtol: 1e-3, atol: 1e-5 };
const f32 = (v: number[], shape = [v.length]) => Tensor.fromNumbers('f32', shape, v);

// a test-only op whose reference kernel declares f16 unsupported
registerOps([{
  name: 'TestOnlyNoF16', inputs: [1, 1], outputs: [1, 1], parseAttrs: () => ({}), unsupportedDTypes: ['f16'],
  inferTypes: (ins) => [ins[0]!], run: (ins) => [ins[0]!],
}]);

test('compare: float tolerance |a-b| <= atol + rtol*|b|, NaN == NaN, infinities by sign', () => {
  assert.is(compareTensors(f32([1, 100, 0]), f32([1.0009, 100.09, 0.000009]), tol), undefined);
  assert.is(compareTensors(f32([NaN, Infinity, -Infinity]), f32([NaN, Infinity, -Infinity]), tol), undefined);
  assert.is(compareTensors(f32([1, 2, 3, 5]), f32([1, 2.5, 3, 4]), tol),
    '2 of 4 elements differ (rtol 0.001, atol 0.00001); max abs error 1, max rel error 0.25; first at index 1: got 2, expected 2.5');
  assert.match(compareTensors(f32([Infinity]), f32([-Infinity]), tol)!, '1 of 1 elements differ');
  assert.match(compareTensors(f32([NaN]), f32([1]), tol)!, 'first at index 0: got NaN, expected 1');
  assert.match(compareTensors(f32([1]), f32([NaN]), tol)!, '1 of 1 elements differ');
  // f16 compares decoded values
  assert.is(compareTensors(Tensor.fromNumbers('f16', [1], [0.1]), Tensor.fromNumbers('f16', [1], [0.1]), tol), undefined);
});

test('compare: ints, bools and strings exactly; dtype and shape first', () => {
  const i64 = (v: bigint[]) => new Tensor('i64', [v.length], BigInt64Array.from(v));
  assert.is(compareTensors(i64([2n ** 60n + 1n]), i64([2n ** 60n + 1n]), tol), undefined);
  assert.is(compareTensors(i64([2n ** 60n + 1n, 0n]), i64([2n ** 60n, 0n]), tol),
    '1 of 2 elements differ (exact match required for i64); first at index 0: got 1152921504606846977, expected 1152921504606846976');
  assert.match(compareTensors(Tensor.fromNumbers('bool', [2], [1, 0]), Tensor.fromNumbers('bool', [2], [1, 1]), tol)!, 'first at index 1: got 0, expected 1');
  assert.match(compareTensors(new Tensor('str', [1], ['a']), new Tensor('str', [1], ['b']), tol)!, '1 of 1 strings differ; first at index 0: got "a", expected "b"');
  assert.is(compareTensors(f32([1]), Tensor.fromNumbers('f64', [1], [1]), tol), 'dtype mismatch: got f32, expected f64');
  assert.is(compareTensors(f32([1, 2]), f32([1, 2], [2, 1]), tol), 'shape mismatch: got f32[2], expected f32[2,1]');
});

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-conf-'));
/** Writes a case folder: model, inputs, expected outputs. */
function writeCase(name: string, spec: ModelSpec, inputs: Tensor[], outputs: Tensor[]): string {
  const dir = path.join(root, 'cases', name);
  fs.mkdirSync(path.join(dir, 'test_data_set_0'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'model.onnx'), modelBytes(spec));
  inputs.forEach((t, k) => writeTensorFile(path.join(dir, 'test_data_set_0', `input_${k}.pb`), t));
  outputs.forEach((t, k) => writeTensorFile(path.join(dir, 'test_data_set_0', `output_${k}.pb`), t));
  return dir;
}
const addSpec: ModelSpec = { nodes: [node('Add', ['a', 'b'], ['y'])], inputs: [value('a', 1, [2]), value('b', 1, [2])], outputs: [value('y', 1, [2])] };
writeCase('test_add_ok', addSpec, [f32([1, 2]), f32([10, 20])], [f32([11, 22])]);
writeCase('test_add_wrong', addSpec, [f32([1, 2]), f32([10, 20])], [f32([11, 23])]);
writeCase('test_add_shape', addSpec, [f32([1, 2]), f32([10, 20])], [f32([11, 22], [2, 1])]);
writeCase('test_unknown_op', { nodes: [node('NoSuchOp', ['a'], ['y'])], inputs: [value('a', 1, [2])], outputs: [value('y', 1, [2])] }, [f32([1, 2])], [f32([1, 2])]);
writeCase('test_f16_unsupported', { nodes: [node('TestOnlyNoF16', ['a'], ['y'])], inputs: [value('a', 10, [1])], outputs: [value('y', 10, [1])] },
  [Tensor.fromNumbers('f16', [1], [1])], [Tensor.fromNumbers('f16', [1], [1])]);
writeCase('test_bad_input', addSpec, [f32([1, 2]), Tensor.fromNumbers('f64', [2], [1, 2])], [f32([2, 4])]);

test('runConformance: pass, fail with reasons, skip only for declared-unsupported dtypes', async () => {
  const report = await runConformance(path.join(root, 'cases'));
  const by = new Map(report.results.map((r) => [r.name, r]));
  assert.equal([report.passed, report.failed, report.skipped], [1, 4, 1]);
  assert.is(by.get('test_add_ok')!.status, 'pass');
  assert.is(by.get('test_add_wrong')!.reason,
    "output 0 'y': 1 of 2 elements differ (rtol 0.001, atol 0.00001); max abs error 1, max rel error 0.0434783; first at index 1: got 22, expected 23");
  assert.is(by.get('test_add_shape')!.reason, "output 0 'y': shape mismatch: got f32[2], expected f32[2,1]");
  assert.match(by.get('test_unknown_op')!.reason!, "import error: model.onnx: cannot import this model; 1 unsupported item:\n  node 'NoSuchOp_0' (op NoSuchOp");
  assert.equal([by.get('test_f16_unsupported')!.status, by.get('test_f16_unsupported')!.reason], ['skip', "op TestOnlyNoF16 does not support f16 (node 'TestOnlyNoF16_0')"]);
  assert.match(by.get('test_bad_input')!.reason!, "bad test data in test_data_set_0: test_data_set_0/input_1.pb: tensor is f64[2] but graph input 'b' is f32[2]: dtype differs");
  const filtered = await runConformance(path.join(root, 'cases'), { filter: /add_(ok|wrong)/, rtol: 0.1 });
  assert.equal(filtered.results.map((r) => [r.name, r.status]), [['test_add_ok', 'pass'], ['test_add_wrong', 'pass']]);
  assert.equal((await runConformance(path.join(root, 'cases', 'test_add_ok'))).passed, 1, 'a single case folder works too');
});

test('loadInputsDir: binds input_<k>.pb to graph inputs and checks count, dtype, rank, dims and symbols', () => {
  const g = importOnnx(modelBytes({ nodes: [node('Add', ['a', 'b'], ['y'])], inputs: [value('a', 1, ['N', 2]), value('b', 1, ['N', 2])], outputs: [value('y', 1, ['N', 2])] }));
  const dir = fs.mkdtempSync(path.join(root, 'in-'));
  const errorOf = () => { try { loadInputsDir(dir, g); } catch (e) { assert.instance(e, KilnError); return (e as Error).message; } return assert.unreachable() as never; };
  writeTensorFile(path.join(dir, 'input_0.pb'), f32([1, 2, 3, 4], [2, 2]));
  assert.is(errorOf(), `${dir}: found 1 input file but the graph takes 2 inputs (input_0.pb for 'a', input_1.pb for 'b')`);
  writeTensorFile(path.join(dir, 'input_2.pb'), f32([1, 2], [1, 2]));
  assert.match(errorOf(), 'input_1.pb is missing (found input_0.pb, input_2.pb)');
  fs.renameSync(path.join(dir, 'input_2.pb'), path.join(dir, 'input_1.pb'));
  assert.match(errorOf(), "input_1.pb: tensor is f32[1,2] but graph input 'b' is f32[N,2]: dim 0 (N) is 1 here but 2 in input_0.pb");
  writeTensorFile(path.join(dir, 'input_1.pb'), f32([1, 2, 3, 4, 5, 6], [2, 3]));
  assert.match(errorOf(), 'dim 1 differs');
  writeTensorFile(path.join(dir, 'input_1.pb'), f32([1, 2], [2]));
  assert.match(errorOf(), 'rank differs');
  writeTensorFile(path.join(dir, 'input_1.pb'), f32([5, 6, 7, 8], [2, 2]));
  const m = loadInputsDir(dir, g);
  assert.equal([...m.keys()], ['a', 'b']);
  assert.equal(Array.from((m.get('b') as Tensor).data as Float32Array), [5, 6, 7, 8]);
  assert.throws(() => loadInputsDir(path.join(root, 'nope'), g), /inputs folder does not exist/);
});

/** Runs the command with console output captured. */
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const log = console.log, error = console.error;
  let out = '', err = '';
  console.log = (...a: unknown[]) => { out += a.join(' ') + '\n'; };
  console.error = (...a: unknown[]) => { err += a.join(' ') + '\n'; };
  try {
    return { code: await conformanceCommand(args), out, err };
  } finally {
    console.log = log;
    console.error = error;
  }
}

test('kiln conformance: one line per failing/skipped case, summary, exit 1 on failures, 0 when clean', async () => {
  const all = await cli([path.join(root, 'cases')]);
  assert.is(all.code, 1);
  const lines = all.out.trim().split('\n');
  assert.is(lines.length, 6);
  assert.ok(lines.includes("FAIL test_add_shape: output 0 'y': shape mismatch: got f32[2], expected f32[2,1]"), all.out);
  assert.ok(lines.includes("SKIP test_f16_unsupported: op TestOnlyNoF16 does not support f16 (node 'TestOnlyNoF16_0')"), all.out);
  assert.ok(lines.some((l) => l.startsWith("FAIL test_unknown_op: import error: model.onnx: cannot import this model; 1 unsupported item:; node 'NoSuchOp_0'")), all.out);
  assert.is(lines[lines.length - 1], '1 passed, 4 failed, 1 skipped');
  const ok = await cli([path.join(root, 'cases'), '--filter', 'ok$|wrong', '--rtol', '0.1', '--atol', '0', '--backend', 'ref']);
  assert.equal([ok.code, ok.out], [0, '2 passed, 0 failed, 0 skipped\n']);
});

test('kiln conformance --verbose: one line per case with its time and worst errors, failing ones with their reason', async () => {
  const r = await cli([path.join(root, 'cases'), '--verbose']);
  assert.is(r.code, 1);
  const lines = r.out.trim().split('\n');
  assert.is(lines.length, 7, r.out);
  assert.match(lines.find((l) => l.startsWith('PASS test_add_ok'))!, /^PASS test_add_ok  \d+\.\d ms  max abs 0, max rel 0$/);
  // 22 vs 23: abs error 1, rel error 1/23
  assert.match(lines.find((l) => l.startsWith('FAIL test_add_wrong'))!,
    /^FAIL test_add_wrong  \d+\.\d ms  max abs 1\.00e\+0, max rel 4\.35e-2: output 0 'y': 1 of 2 elements differ/);
  assert.match(lines.find((l) => l.startsWith('FAIL test_add_shape'))!, /^FAIL test_add_shape  \d+\.\d ms  max abs Infinity, max rel Infinity: output 0 'y': shape mismatch/);
  assert.match(lines.find((l) => l.startsWith('FAIL test_unknown_op'))!, /^FAIL test_unknown_op  \d+\.\d ms: import error: /);
  assert.match(lines.find((l) => l.startsWith('SKIP test_f16_unsupported'))!, /^SKIP test_f16_unsupported  \d+\.\d ms: op TestOnlyNoF16 does not support f16/);
  assert.is(lines[lines.length - 1], '1 passed, 4 failed, 1 skipped');
  const report = await runConformance(path.join(root, 'cases'), { filter: /add_ok/ });
  assert.equal([report.results[0].maxAbsError, report.results[0].maxRelError], [0, 0]);
});

test.run();
