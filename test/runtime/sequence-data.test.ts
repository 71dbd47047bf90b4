/**
 * Sequence and optional test data (the ONNX test format's SequenceProto and OptionalProto `.pb`
 * files): reading them by the graph value's type (import/onnx/tensor-proto.ts `readValueFile`),
 * binding them as graph inputs (runtime/inputs.ts), and the conformance runner comparing sequence
 * and optional outputs (runtime/compare.ts `diffValues`), with reasons that name the element; and
 * writing values back (`encodeValue`) so that `readValueFile` of the same type reads them again.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TensorType } from '../../compiler/ir/graph.ts';
import { Tensor } from '../../compiler/ir/tensor.ts';
import type { Value } from '../../compiler/ir/value.ts';
import { KilnError } from '../../compiler/errors.ts';
import { type OptionalProto, type SequenceProto, type TypeProto, type ValueInfoProto, ValueElemType, decodeSequenceProto, encodeOptionalProto, encodeSequenceProto } from '../../compiler/import/onnx/schema.ts';
import { encodeValue, readValueFile, sequenceToProto, tensorToProto, writeTensorFile } from '../../compiler/import/onnx/tensor-proto.ts';
import { checkOutputs, runConformance } from '../../compiler/runtime/conformance.ts';
import { bindInputs } from '../../compiler/runtime/inputs.ts';
import { loadOnnxFile } from '../../compiler/import/onnx/import.ts';
import { modelBytes, node, value } from '../import/onnx-build.ts';

const tol = { rtol: 1e-3, atol: 1e-5 };
const f32 = (v: number[], shape = [v.length]) => Tensor.fromNumbers('f32', shape, v);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-seqdata-'));
const seqT = (shape: TensorType['shape']): TensorType => ({ dtype: 'f32', shape, container: 'seq' });

const seqProto = (ts: Tensor[], name = 'xs'): SequenceProto => sequenceToProto(ts, name);
function writeSeq(file: string, ts: Tensor[]): void { fs.writeFileSync(file, encodeSequenceProto(seqProto(ts))); }
function writeOpt(file: string, p: OptionalProto): void { fs.writeFileSync(file, encodeOptionalProto(p)); }
const numsOf = (v: Value) => (v as Tensor[]).map((t) => [...t.shape, ...Array.from(t.data as Float32Array)]);

test('readValueFile: a SequenceProto of tensors, an empty one, and an OptionalProto holding none, a tensor or a sequence', () => {
  const f = path.join(root, 'v.pb');
  writeSeq(f, [f32([1, 2]), f32([3], [1])]);
  assert.equal(numsOf(readValueFile(f, seqT(['N']))), [[2, 1, 2], [1, 3]]);
  fs.writeFileSync(f, encodeSequenceProto({ name: 'empty', elem_type: ValueElemType.UNDEFINED }));
  assert.equal(readValueFile(f, seqT(['N'])), []);
  writeOpt(f, { name: 'o', elem_type: ValueElemType.UNDEFINED });
  assert.is(readValueFile(f, { dtype: 'f32', shape: [2], container: 'opt' }), null);
  writeOpt(f, { name: 'o', elem_type: ValueElemType.TENSOR, tensor_value: tensorToProto(f32([4, 5])) });
  assert.equal(Array.from((readValueFile(f, { dtype: 'f32', shape: [2], container: 'opt' }) as Tensor).data as Float32Array), [4, 5]);
  writeOpt(f, { name: 'o', elem_type: ValueElemType.SEQUENCE, sequence_value: seqProto([f32([6])]) });
  assert.equal(numsOf(readValueFile(f, { dtype: 'f32', shape: [1], container: 'opt-seq' })), [[1, 6]]);
  // what does not fit the type is an error naming the file
  const err = (type: TensorType) => {
    try { readValueFile(f, type); } catch (e) { assert.instance(e, KilnError); assert.is((e as KilnError).place.file, f); return (e as Error).message; }
    return assert.unreachable('expected an error') as never;
  };
  assert.match(err({ dtype: 'f32', shape: [1], container: 'opt' }), /optional 'o': holds a SEQUENCE where a tensor is expected/);
  fs.writeFileSync(f, encodeSequenceProto({ name: 'm', elem_type: ValueElemType.MAP }));
  assert.match(err(seqT([1])), /sequence 'm': holds MAP elements; kiln's sequences hold tensors/);
  fs.writeFileSync(f, Uint8Array.of(0x0a, 0xff));
  assert.match(err(seqT([1])), /not a valid SequenceProto/);
});

test('encodeValue: sequences, empty ones, optionals holding a tensor, a sequence or none read back equal by their type', () => {
  const f = path.join(root, 'w.pb');
  const cases: [Value, TensorType][] = [
    [[f32([1, 2]), f32([3], [1])], seqT(['N'])],
    [[], seqT([2])],
    [null, { dtype: 'f32', shape: [2], container: 'opt' }],
    [null, { dtype: 'f32', shape: [2], container: 'opt-seq' }],
    [f32([4, 5]), { dtype: 'f32', shape: [2], container: 'opt' }],
    [[f32([6]), f32([7, 8])], { dtype: 'f32', shape: ['N'], container: 'opt-seq' }],
    [f32([9]), { dtype: 'f32', shape: [1] }],
  ];
  for (const [v, type] of cases) {
    fs.writeFileSync(f, encodeValue(v, type, 'v'));
    const back = readValueFile(f, type);
    if (v === null || v instanceof Tensor) assert.equal(back === null ? null : Array.from((back as Tensor).data as Float32Array), v === null ? null : Array.from(v.data as Float32Array));
    else assert.equal(numsOf(back), numsOf(v));
  }
  // a sequence's file is a SequenceProto of TENSOR elements, named
  const p = decodeSequenceProto(encodeValue([f32([1])], seqT([1]), 'parts'));
  assert.equal([p.name, p.elem_type, p.tensor_values?.length], ['parts', ValueElemType.TENSOR, 1]);
});

const seqInfo = (name: string, dims: (number | string)[]): ValueInfoProto => {
  const elem = value(name, 1, dims).type as TypeProto;
  return { name, type: { sequence_type: { elem_type: elem } } };
};

/** A case folder: SequenceInsert(xs, t) and its length; expected outputs as given. */
function writeCase(name: string, xs: Tensor[], t: Tensor, want: Tensor[], length: number): string {
  const dir = path.join(root, 'cases', name);
  const set = path.join(dir, 'test_data_set_0');
  fs.mkdirSync(set, { recursive: true });
  fs.writeFileSync(path.join(dir, 'model.onnx'), modelBytes({
    nodes: [node('SequenceInsert', ['xs', 't'], ['ys']), node('SequenceLength', ['ys'], ['n'])],
    inputs: [seqInfo('xs', ['N']), value('t', 1, ['M'])],
    outputs: [seqInfo('ys', ['K']), value('n', 7, [])],
  }));
  writeSeq(path.join(set, 'input_0.pb'), xs);
  writeTensorFile(path.join(set, 'input_1.pb'), t);
  writeSeq(path.join(set, 'output_0.pb'), want);
  writeTensorFile(path.join(set, 'output_1.pb'), new Tensor('i64', [], BigInt64Array.of(BigInt(length))));
  return dir;
}

test('conformance: sequence inputs and outputs; a mismatch names the output and the element', async () => {
  const xs = [f32([1, 2]), f32([3])];
  const good = writeCase('test_seq_ok', xs, f32([4, 5, 6]), [...xs, f32([4, 5, 6])], 3);
  const ok = await runConformance(good);
  assert.equal(ok.results.map((r) => [r.status, r.reason]), [['pass', undefined]]);
  const bad = writeCase('test_seq_bad', xs, f32([4, 5, 6]), [xs[0], f32([3.5]), f32([4, 5, 6])], 3);
  const r = (await runConformance(bad)).results[0];
  assert.is(r.status, 'fail');
  assert.match(r.reason!, /^output 0 'ys': sequence element 1: 1 of 1 elements differ .*got 3, expected 3\.5/);
  const short = writeCase('test_seq_short', xs, f32([4]), xs, 3);
  assert.match((await runConformance(short)).results[0].reason!, /output 0 'ys': got a sequence of 3 tensors, expected 2/);
  // the sequence input binds no symbol; the tensor input binds M, and the sequence's type keeps its container
  const g = loadOnnxFile(path.join(good, 'model.onnx'));
  const bound = bindInputs(g, { dir: path.join(good, 'test_data_set_0') });
  assert.equal(bound.graph.inputs.map((i) => i.type), [seqT(['N']), { dtype: 'f32', shape: [3] }]);
  assert.equal(numsOf(bound.inputs.get('xs')!), [[2, 1, 2], [1, 3]]);
  assert.throws(() => bindInputs(g, { random: {} }), /cannot make random values for seq<f32\[N\]> input 'xs': random inputs are tensors/);
  // an element of the wrong dtype is refused, naming the input and the file
  writeSeq(path.join(good, 'test_data_set_0', 'input_0.pb'), [Tensor.fromNumbers('i64', [1], [1])]);
  try {
    bindInputs(g, { dir: path.join(good, 'test_data_set_0') });
    assert.unreachable('expected an error');
  } catch (e) {
    assert.instance(e, KilnError);
    assert.match((e as Error).message, /graph input 'xs' \(seq<f32\[N\]>\) element holds i64\[1\] where seq<f32\[N\]> is declared/);
    assert.match((e as KilnError).place.file!, /input_0\.pb$/);
  }
});

test('checkOutputs: optionals compare by presence, then by value', () => {
  const reasons = (got: Value[], want: Value[]) => checkOutputs(got, want, ['o'], tol).map((c) => c.diff.reason);
  assert.equal(reasons([null], [null]), [undefined]);
  assert.equal(reasons([f32([1])], [null]), ['got f32[1], expected none']);
  assert.equal(reasons([null], [f32([1])]), ['got none, expected a tensor f32[1]']);
  assert.equal(reasons([f32([1])], [f32([1.0001])]), [undefined]);
  assert.equal(reasons([[f32([1])]], [f32([1])]), ['got a sequence of 1 tensor, expected a tensor f32[1]']);
  assert.equal(reasons([], [null]), ['no result (the run produced 0 outputs)']);
});

test.run();
