/**
 * `kiln run` on graphs with sequence and optional outputs and inputs (cli/commands/run.ts), as a user
 * runs it (a child process per command): the text and --json reports describe a sequence (declared
 * type, length, element shapes, statistics over all elements) and an optional's none; --outputs writes
 * SequenceProto/OptionalProto files that read back equal; expected output files in the --inputs folder
 * are compared element by element (a changed element is a mismatch naming it); --check compares with
 * the reference executor; a sequence input comes from its SequenceProto file, and without --inputs it
 * is refused naming it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runKiln } from '../support/cli.ts';
import { SEQ_IN_TEXT, SEQ_OUT_TEXT, SEQ_OUT_X, kirFileOf } from '../support/sequence-graphs.ts';
import { encodeValue, readValueFile, writeTensorFile } from '../../compiler/import/onnx/tensor-proto.ts';
import { Tensor, readNumbers } from '../../compiler/ir/tensor.ts';
import type { TensorType } from '../../compiler/ir/graph.ts';
import type { Value } from '../../compiler/ir/value.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-seq-run-'));
const model = kirFileOf(SEQ_OUT_TEXT, 'seqout');
const inputs = path.join(tmp, 'inputs');
fs.mkdirSync(inputs);
writeTensorFile(path.join(inputs, 'input_0.pb'), SEQ_OUT_X, 'x');

const seqType: TensorType = { dtype: 'f32', shape: ['S', 3], container: 'seq' };
const plain = (v: Value): unknown => (v === null ? null : v instanceof Tensor ? { dtype: v.dtype, shape: [...v.shape], data: Array.from(readNumbers(v)) } : v.map(plain));

test('run --json --outputs: a sequence output is described and written as a SequenceProto that reads back equal; none as an OptionalProto', () => {
  const out = path.join(tmp, 'out');
  const r = runKiln(['run', model, '--inputs', inputs, '--outputs', out, '--json']);
  assert.is(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.inputs, [{ name: 'x', dtype: 'f32', shape: [3, 3] }]);
  assert.equal(j.outputs.map((o: { name: string }) => o.name), ['parts', 'n', 'o', 'none']);
  const [parts, n, o, none] = j.outputs;
  assert.equal({ ...parts, std: undefined }, { name: 'parts', type: 'seq<f32[S,3]>', dtype: 'f32', length: 2, shapes: [[2, 3], [1, 3]], mean: 5, std: undefined, min: 1, max: 9 });
  assert.ok(Math.abs(parts.std - Math.sqrt(60 / 9)) < 1e-12, String(parts.std));
  assert.equal(n, { name: 'n', dtype: 'i64', shape: [], mean: 2, std: 0, min: 2, max: 2 });
  assert.equal([o.type, o.dtype, o.shape, o.mean], ['opt<f32[3,3]>', 'f32', [3, 3], 5]);
  assert.equal(none, { name: 'none', type: 'opt<f32[2]>', none: true });
  assert.equal(fs.readdirSync(out).sort(), ['output_0.pb', 'output_1.pb', 'output_2.pb', 'output_3.pb'], 'no stray temporaries');
  assert.equal(plain(readValueFile(path.join(out, 'output_0.pb'), seqType)), [
    { dtype: 'f32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }, { dtype: 'f32', shape: [1, 3], data: [7, 8, 9] },
  ]);
  assert.equal(plain(readValueFile(path.join(out, 'output_1.pb'))), { dtype: 'i64', shape: [], data: [2] });
  assert.equal(plain(readValueFile(path.join(out, 'output_2.pb'), { dtype: 'f32', shape: [3, 3], container: 'opt' })), plain(SEQ_OUT_X));
  assert.is(readValueFile(path.join(out, 'output_3.pb'), { dtype: 'f32', shape: [2], container: 'opt' }), null);
});

test('run prints a sequence row and none; expected sequence files compare element by element; a changed element is a mismatch naming it', () => {
  const withExpected = path.join(tmp, 'expected');
  fs.mkdirSync(withExpected);
  fs.copyFileSync(path.join(inputs, 'input_0.pb'), path.join(withExpected, 'input_0.pb'));
  const r0 = runKiln(['run', model, '--inputs', withExpected, '--outputs', withExpected]);
  assert.is(r0.code, 0, r0.err);
  assert.match(r0.out, /\n  parts: seq<f32\[S,3\]> = seq of 2: \[2,3\], \[1,3\] mean=5\.0000 std=2\.5820 min=1\.0000 max=9\.0000\n/);
  assert.match(r0.out, /\n  none: opt<f32\[2\]> = none\n/);
  assert.match(r0.out, /\n  o: opt<f32\[3,3\]> = opt \[3,3\] mean=5\.0000/);
  const same = runKiln(['run', model, '--inputs', withExpected, '--json']);
  assert.is(same.code, 0, same.err);
  const j = JSON.parse(same.out);
  assert.is(j.matchesExpected, true);
  assert.equal(j.outputs[0].expected.withinTolerance, true);
  assert.equal(j.outputs[3].expected.withinTolerance, true, 'none matches none');
  // element 1 of the expected sequence changed: the mismatch names it, and the command fails
  const changed = [
    Tensor.fromNumbers('f32', [2, 3], [1, 2, 3, 4, 5, 6]), Tensor.fromNumbers('f32', [1, 3], [7, 8, 10]),
  ];
  fs.writeFileSync(path.join(withExpected, 'output_0.pb'), encodeValue(changed, seqType, 'parts'));
  const bad = runKiln(['run', model, '--inputs', withExpected]);
  assert.is(bad.code, 1, bad.out);
  assert.match(bad.out, /parts: max abs error 1\.00e\+0, .*MISMATCH: sequence element 1: 1 of 3 elements differ/);
  assert.match(bad.err, /error: 'parts' differs from the expected output/);
  // a shorter expected sequence: the lengths differ
  fs.writeFileSync(path.join(withExpected, 'output_0.pb'), encodeValue([Tensor.fromNumbers('f32', [2, 3], [1, 2, 3, 4, 5, 6])], seqType, 'parts'));
  assert.match(runKiln(['run', model, '--inputs', withExpected]).out, /MISMATCH: got a sequence of 2 tensors, expected 1/);
});

test('run --check compares sequence outputs with the reference executor element by element', () => {
  const r = runKiln(['run', model, '--check', '--json']);
  assert.is(r.code, 0, r.err);
  const c = JSON.parse(r.out).check;
  assert.is(c.ok, true);
  assert.equal(c.outputs.map((o: { name: string; ok: boolean }) => [o.name, o.ok]), [['parts', true], ['n', true], ['o', true], ['none', true]]);
});

test('a sequence input comes from its SequenceProto file; without --inputs it is refused naming it', () => {
  const m = kirFileOf(SEQ_IN_TEXT, 'seqin');
  const dir = path.join(tmp, 'seq-inputs');
  fs.mkdirSync(dir);
  const xs = [Tensor.fromNumbers('f32', [2], [1, 2]), Tensor.fromNumbers('f32', [3], [3, 4, 5])];
  fs.writeFileSync(path.join(dir, 'input_0.pb'), encodeValue(xs, { dtype: 'f32', shape: ['N'], container: 'seq' }, 'xs'));
  writeTensorFile(path.join(dir, 'input_1.pb'), Tensor.fromNumbers('f32', [2], [7, 8]), 't');
  const r = runKiln(['run', m, '--inputs', dir, '--json', '--check']);
  assert.is(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.inputs, [{ name: 'xs', type: 'seq<f32[N]>', dtype: 'f32', length: 2, shapes: [[2], [3]] }, { name: 't', dtype: 'f32', shape: [2] }]);
  assert.equal([j.outputs[0].shape, j.outputs[0].mean, j.outputs[0].max], [[5], 3, 5]);
  assert.equal([j.outputs[1].length, j.outputs[1].shapes, j.outputs[1].max], [3, [[2], [3], [2]], 8]);
  assert.is(j.check.ok, true);
  const random = runKiln(['run', m]);
  assert.is(random.code, 1);
  assert.match(random.err, /error: cannot make random values for seq<f32\[N\]> input 'xs': random inputs are tensors/);
  assert.not.match(random.err, /\n\s+at /);
});

test.run();
