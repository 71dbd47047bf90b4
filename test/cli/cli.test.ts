/**
 * The `kiln` command-line contract, driven as a user drives it (a child process per command):
 * usage errors exit 2 with usage text, bad files exit 1 with a message naming the file and no stack
 * trace, `run --json` fields, input/output TensorProto folders, `ir` round trips, zoo export and
 * what `npm start` (the REPL, here piped) prints.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type CliResult, runKiln } from '../support/cli.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { conformanceCase } from '../support/paths.ts';
import { readTensorFile, writeTensorFile } from '../../compiler/import/onnx/tensor-proto.ts';
import { importOnnx } from '../../compiler/import/onnx/import.ts';
import { zooModel } from '../../compiler/zoo/index.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { randomInputs, tensorStats } from '../../compiler/runtime/inputs.ts';
import { Tensor, readNumbers } from '../../compiler/ir/tensor.ts';

type Result = CliResult;

const kiln = (...args: string[]): Result => runKiln(args);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-cli-'));
const noStack = (r: Result) => assert.not.match(r.err, /\n\s+at /, `stack trace printed:\n${r.err}`);

test('--help and unknown commands', () => {
  const help = kiln('--help');
  assert.is(help.code, 0);
  for (const c of ['kiln run MODEL', 'kiln ir MODEL', 'kiln conformance DIR', 'kiln zoo']) assert.match(help.out, c);
  const bad = kiln('frobnicate');
  assert.is(bad.code, 2);
  assert.match(bad.err, "unknown command 'frobnicate'");
  assert.match(bad.err, 'usage:');
});

test('bad arguments print usage and exit 2', () => {
  for (const args of [['run'], ['run', 'zoo:mlp', '--repeat', 'abc'], ['run', 'zoo:mlp', '--frob'], ['run', 'zoo:mlp', '--backend', 'tpu'],
    ['ir'], ['ir', 'a', 'b'], ['zoo', 'export', 'mlp'], ['conformance']]) {
    const r = kiln(...args);
    assert.is(r.code, 2, `${args.join(' ')} -> ${r.code}: ${r.err}`);
    assert.match(r.err, 'usage: kiln', args.join(' '));
    noStack(r);
  }
});

test('bad files exit 1 with an error naming the file', () => {
  const missing = kiln('run', path.join(tmp, 'nope.onnx'));
  assert.is(missing.code, 1);
  assert.match(missing.err, /^error: .*nope\.onnx/);
  noStack(missing);

  const truncated = path.join(tmp, 'truncated.onnx');
  const bytes = fs.readFileSync(path.join(conformanceCase('test_conv_with_strides_padding'), 'model.onnx'));
  fs.writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const t = kiln('run', truncated);
  assert.is(t.code, 1);
  assert.match(t.err, /^error: .*truncated\.onnx/);
  noStack(t);

  const kir = path.join(tmp, 'bad.kir');
  fs.writeFileSync(kir, 'kiln.graph @g(%x: f32[2]) -> (%y: f32[2]) {\n  %y = Relu(%x : f32[2]\n  return %y\n}\n');
  const k = kiln('ir', kir);
  assert.is(k.code, 1);
  assert.match(k.err, /^error: .*bad\.kir:2:\d+/);
  noStack(k);

  assert.is(kiln('run', 'zoo:nosuchmodel').code, 1);
  assert.match(kiln('run', 'zoo:nosuchmodel').err, 'available: resnet50');
});

test('run --json reports inputs, output statistics and timings that match an in-process run', () => {
  const r = kiln('run', 'zoo:mlp', '--json', '--repeat', '3', '--seed', '7');
  assert.is(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.inputs, [{ name: 'input', dtype: 'f32', shape: [1, 784] }]);
  assert.is(j.outputs.length, 1);
  for (const k of ['compileMs', 'ms', 'msMin']) assert.ok(typeof j[k] === 'number' && j[k] >= 0, k);
  assert.ok(j.msMin <= j.ms);
  const g = zooModel('mlp');
  const expected = tensorStats(runReference(g, randomInputs(g, 7))[0]);
  const o = j.outputs[0];
  assert.is(o.dtype, 'f32');
  assert.equal(o.shape, [1, 10]);
  for (const k of ['mean', 'std', 'min', 'max'] as const) assert.ok(Math.abs(o[k] - expected[k]) < 1e-9, `${k}: ${o[k]} vs ${expected[k]}`);
  const other = JSON.parse(kiln('run', 'zoo:mlp', '--json', '--seed', '8').out);
  assert.not.equal(other.outputs[0].mean, o.mean, 'a different seed gives different inputs');
});

test('run --inputs/--outputs reads and writes TensorProto files', () => {
  const c = conformanceCase('test_add_bcast');
  const outDir = path.join(tmp, 'add-out');
  const r = kiln('run', path.join(c, 'model.onnx'), '--inputs', path.join(c, 'test_data_set_0'), '--outputs', outDir);
  assert.is(r.code, 0, r.err);
  const got = readTensorFile(path.join(outDir, 'output_0.pb'));
  const want = readTensorFile(path.join(c, 'test_data_set_0', 'output_0.pb'));
  assert.equal([...got.shape], [...want.shape]);
  const a = readNumbers(got), b = readNumbers(want);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-6, `element ${i}`);
});

test('run rejects inputs of the wrong shape or dtype, and missing inputs, naming the input', () => {
  const c = conformanceCase('test_add_bcast');
  const model = path.join(c, 'model.onnx');
  const wrongShape = path.join(tmp, 'wrong-shape');
  fs.mkdirSync(wrongShape);
  writeTensorFile(path.join(wrongShape, 'input_0.pb'), Tensor.zeros('f32', [3, 4]), 'x');
  writeTensorFile(path.join(wrongShape, 'input_1.pb'), Tensor.zeros('f32', [5]), 'y');
  const s = kiln('run', model, '--inputs', wrongShape);
  assert.is(s.code, 1);
  assert.match(s.err, /error: .*input_0\.pb.*'x' is f32\[3,4,5\]/);
  noStack(s);

  const wrongType = path.join(tmp, 'wrong-type');
  fs.mkdirSync(wrongType);
  writeTensorFile(path.join(wrongType, 'input_0.pb'), Tensor.zeros('i32', [3, 4, 5]), 'x');
  writeTensorFile(path.join(wrongType, 'input_1.pb'), Tensor.zeros('f32', [5]), 'y');
  const d = kiln('run', model, '--inputs', wrongType);
  assert.is(d.code, 1);
  assert.match(d.err, /error: .*'x'.*(dtype|i32)/);

  const missing = path.join(tmp, 'missing-input');
  fs.mkdirSync(missing);
  writeTensorFile(path.join(missing, 'input_0.pb'), Tensor.zeros('f32', [3, 4, 5]), 'x');
  const m = kiln('run', model, '--inputs', missing);
  assert.is(m.code, 1);
  assert.match(m.err, /error: .*(input_1|'y')/);
});

test('ir prints the canonical text; a .kir file re-prints identically', () => {
  const r = kiln('ir', 'zoo:mlp');
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /^kiln\.graph @mlp\(%input: f32\[1,784\]\)/);
  assert.match(r.out, /Gemm\(/);
  const file = path.join(tmp, 'mlp.kir');
  fs.writeFileSync(file, r.out);
  const again = kiln('ir', file);
  assert.is(again.code, 0, again.err);
  assert.is(again.out, r.out);
});

test('zoo export writes an ONNX file that imports back and computes the same outputs', () => {
  const file = path.join(tmp, 'mlp.onnx');
  const r = kiln('zoo', 'export', 'mlp', file);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, 'wrote');
  const g = importOnnx(fs.readFileSync(file), { file });
  const ref = zooModel('mlp');
  const a = readNumbers(runReference(g, randomInputs(g, 1))[0]);
  const b = readNumbers(runReference(ref, randomInputs(ref, 1))[0]);
  assert.equal([...a], [...b]);
  const list = kiln('zoo', 'list');
  for (const n of ['resnet50', 'mobilenetv2', 'bert', 'bert-decomposed', 'mlp', 'decoder']) assert.match(list.out, n);
});

test('no arguments (npm start) opens the REPL on zoo:resnet50; piped stdin gives plain text', () => {
  const r = runKiln([], { input: 'help\nir\n', env: { ...process.env, KILN_HISTORY_FILE: path.join(tmp, 'history') } });
  assert.is(r.code, 0, r.err);
  assert.is(r.err, '');
  assert.match(r.out, /^kiln commands/, 'help comes first: the model loads silently');
  for (const c of ['step [N]', 'diff [A [B]]', 'back [N]', 'mem [STEP]', 'run [']) assert.match(r.out, c);
  assert.match(r.out, /\nkiln\.graph @resnet50\(%input: f32\[1,3,224,224\]\)/, 'the IR of zoo:resnet50');
  assert.match(r.out, '= Conv(');
  assert.not.match(r.out, /\x1b\[/, 'no ANSI escapes when piped');
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
