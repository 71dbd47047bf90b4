/**
 * ONNX import and sizes: negative and huge dims of graph inputs and tensors, initializers (dense,
 * sparse, raw) beyond the memory budget, duplicated initializers and values declared twice with
 * another type — each one KilnError naming file, value and what is wrong, before any allocation —
 * plus the regression of the fuzz test's first find (a STRING attribute without its bytes).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KilnError } from '../../compiler/errors.ts';
import { SizeError, setMemoryBudget } from '../../compiler/ir/sizes.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { importOnnx, loadOnnxFile } from '../../compiler/import/onnx/import.ts';
import { decodeTensor, encodeTensor } from '../../compiler/import/onnx/tensor-proto.ts';
import { AttrType, decodeModelProto, encodeModelProto, encodeTensorProto } from '../../compiler/import/onnx/schema.ts';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { floatTensor, modelBytes, node, value, type ModelSpec } from './onnx-build.ts';

/** The error importing `spec` throws (failing the test when it imports). */
function importError(spec: ModelSpec): KilnError {
  try {
    importOnnx(modelBytes(spec), { file: 'm.onnx' });
  } catch (e) {
    assert.instance(e, KilnError, String(e));
    return e as KilnError;
  }
  assert.unreachable('expected the import to fail');
  throw new Error('unreachable');
}

const relu = (x: ReturnType<typeof value>, extra: Partial<ModelSpec> = {}): ModelSpec =>
  ({ nodes: [node('Relu', ['x'], ['y'])], inputs: [x], outputs: [value('y', 1, null)], ...extra });

test('a graph input with a negative or huge dim is an import error naming file, value and dim', () => {
  assert.is(importError(relu(value('x', 1, [7, -1]))).message,
    "m.onnx: cannot import this model; 1 unsupported item:\n  value 'x': dim -1 is negative (dim 1 of [7,-1])");
  assert.match(importError(relu(value('x', 1, [2 ** 60]))).message, /value 'x': dim 1152921504606847000 is larger than 2\^53-1 \(dim 0 of/);
});

test('a declared output or value_info dim that is invalid is only a hint: inference decides', () => {
  const g = importOnnx(modelBytes({ nodes: [node('Relu', ['x'], ['y'])], inputs: [value('x', 1, [2, 3])], outputs: [value('y', 1, [2, -1])] }));
  assert.equal(g.nodes[0].types[0], { dtype: 'f32', shape: [2, 3] });
});

test('a tensor with a negative dim, or whose element count overflows, is refused naming it', () => {
  const neg = importError(relu(value('x', 1, [2]), { nodes: [node('Add', ['x', 'w'], ['y'])], initializers: [{ name: 'w', dims: [-3], data_type: 1, raw_data: new Uint8Array(0) }] }));
  assert.is(neg.message, "m.onnx: 'w' (f32[-3]): dim -3 is negative (dim 0 of [-3])");
  const big = importError(relu(value('x', 1, [2]), { nodes: [node('Add', ['x', 'w'], ['y'])], initializers: [{ name: 'w', dims: [2 ** 40, 2 ** 40], data_type: 1, raw_data: new Uint8Array(4) }] }));
  assert.match(big.message, /^m\.onnx: 'w' \(f32\[1099511627776,1099511627776\]\) has more than 2\^53 elements/);
});

test('an initializer, sparse initializer or .pb tensor beyond the budget is refused before its data is read', () => {
  const prev = setMemoryBudget(1 << 20);
  try {
    const dense = importError(relu(value('x', 1, [2]), {
      nodes: [node('Add', ['x', 'w'], ['y'])], initializers: [{ name: 'w', dims: [100000, 100000, 100], data_type: 1, raw_data: new Uint8Array(8) }],
    }));
    assert.instance(dense, SizeError);
    assert.is(dense.message, "m.onnx: 'w' (f32[100000,100000,100]) needs 3.64 TiB (4000000000000 bytes), more than the memory budget of 1.00 MiB (set it with --max-memory SIZE)");
    const spec = relu(value('x', 1, [2]), { nodes: [node('Add', ['x', 's'], ['y'])] });
    const model = modelBytes(spec);
    // a sparse initializer of absurd dense size, built by hand
    const sparse = { values: { name: 's', dims: [1], data_type: 1, float_data: [1] }, indices: { dims: [1], data_type: 7, int64_data: [0] }, dims: [1 << 20, 1 << 20] };
    const m = decodeModelProto(model);
    m.graph!.sparse_initializer = [sparse];
    let err: unknown;
    try { importOnnx(encodeModelProto(m), { file: 'm.onnx' }); } catch (e) { err = e; }
    assert.instance(err, SizeError);
    assert.match((err as Error).message, /^m\.onnx: 's' \(f32\[1048576,1048576\]\) needs 4\.00 TiB/);
    // a .pb file declaring a huge tensor
    const pb = encodeTensorProto({ name: 'x', dims: [1 << 30, 1 << 10], data_type: 1, raw_data: new Uint8Array(4) });
    assert.throws(() => decodeTensor(pb, 'input_0.pb'), (e: Error) => e instanceof SizeError && /^input_0\.pb: 'x' \(f32\[1073741824,1024\]\) needs 4\.00 TiB/.test(e.message));
  } finally {
    setMemoryBudget(prev);
  }
  // the round trip of an ordinary tensor is untouched
  assert.equal(Array.from(decodeTensor(encodeTensor(Tensor.fromNumbers('f32', [2], [1, 2]))).tensor.data as Float32Array), [1, 2]);
});

test('external data whose length disagrees with the tensor type, or a huge external tensor, is refused before reading', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-ext-size-'));
  try {
    fs.writeFileSync(path.join(dir, 'w.bin'), new Uint8Array(64));
    const file = path.join(dir, 'model.onnx');
    const write = (dims: number[], extra: { key: string; value: string }[] = []) => fs.writeFileSync(file, modelBytes(relu(value('x', 1, [2]), {
      nodes: [node('Add', ['x', 'w'], ['y'])],
      initializers: [{ name: 'w', dims, data_type: 1, data_location: 1, external_data: [{ key: 'location', value: 'w.bin' }, ...extra] }],
    })));
    write([2]); // the whole 64-byte file for 8 bytes of data
    assert.throws(() => loadOnnxFile(file), (e: Error) => e instanceof KilnError
      && e.message.endsWith("tensor 'w': external data location 'w.bin': raw data has 64 bytes, expected 8 for 2 f32 elements"));
    write([2], [{ key: 'offset', value: '8' }, { key: 'length', value: '8' }]);
    assert.equal(Array.from(loadOnnxFile(file).constants[0].data!.data as Float32Array), [0, 0]);
    write([1 << 20, 1 << 20]);
    assert.throws(() => loadOnnxFile(file), (e: Error) => e instanceof SizeError && /'w' \(f32\[1048576,1048576\]\) needs 4\.00 TiB/.test(e.message));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a duplicated initializer, a graph input declared twice, or an initializer of another type than its input is an error', () => {
  const dup = importError(relu(value('x', 1, [2]), {
    nodes: [node('Add', ['x', 'w'], ['y'])],
    initializers: [floatTensor('w', [2], [1, 2]), { name: 'w', dims: [3], data_type: 7, int64_data: [1, 2, 3] }],
  }));
  assert.is(dup.message, "m.onnx: initializer 'w' is given more than once (f32[2] and i64[3])");
  const twice = importError({ nodes: [node('Add', ['x', 'x'], ['y'])], inputs: [value('x', 1, [2]), value('x', 7, [2])], outputs: [value('y', 1, null)] });
  assert.is(twice.message, "m.onnx: graph input 'x' is declared more than once");
  const typed = importError({ nodes: [node('Add', ['x', 'w'], ['y'])], inputs: [value('x', 1, [2]), value('w', 7, [2])], outputs: [value('y', 1, null)], initializers: [floatTensor('w', [2], [1, 2])] });
  assert.is(typed.message, "m.onnx: graph input 'w' is declared i64[2] but its initializer is f32[2]");
  const declared = importError(relu(value('x', 1, [2]), { valueInfo: [value('y', 7, [2])], outputs: [value('y', 1, [2])] }));
  assert.is(declared.message, "m.onnx: value 'y' is declared twice with different types (f32[2] and i64[2])");
});

test('fuzz regression: a STRING attribute without its bytes reads as the empty string, not a TypeError', () => {
  const spec: ModelSpec = {
    nodes: [node('Relu', ['x'], ['y'], [{ name: 'note', type: AttrType.STRING }])],
    inputs: [value('x', 1, [2])], outputs: [value('y', 1, [2])],
  };
  // the attribute is read (as '') and then refused as unknown to Relu: a KilnError naming it, not a TypeError
  try {
    importOnnx(modelBytes(spec), { file: 'm.onnx' });
    assert.unreachable('Relu has no attribute note');
  } catch (e) {
    assert.instance(e, KilnError);
    assert.match((e as Error).message, "attribute 'note': Relu has no attribute 'note'");
  }
});

test.run();
