/**
 * TensorProto codec: every ONNX data type from raw_data and from its typed field, sub-byte packing
 * (low bits first, sign extension), strings, zero-size tensors, external data files, the errors,
 * and encode -> decode round trips.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KilnError } from '../../compiler/errors.ts';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { DTYPES } from '../../compiler/ir/dtype.ts';
import { decodeTensorProto, encodeTensorProto, type TensorProto } from '../../compiler/import/onnx/schema.ts';
import { decodeTensor, dtypeFromOnnx, encodeTensor, onnxDataType, readNamedTensorFile, readTensorFile, tensorFromProto,
  writeTensorFile } from '../../compiler/import/onnx/tensor-proto.ts';
import { importOnnx, loadOnnxFile } from '../../compiler/import/onnx/import.ts';
import { encodeModelProto } from '../../compiler/import/onnx/schema.ts';
import { modelProto, node, value } from './onnx-build.ts';

/** Decodes a TensorProto after a real wire round trip (so Long/packed handling is exercised). */
const decode = (p: TensorProto) => tensorFromProto(decodeTensorProto(encodeTensorProto(p)));
const bytes = (n: number, fill: (v: DataView) => void) => { const b = new Uint8Array(n); fill(new DataView(b.buffer)); return b; };
const list = (t: Tensor) => Array.from(t.data as ArrayLike<number | bigint | string>);

test('data type codes match onnx.proto (1..26, no complex)', () => {
  const expected: Record<number, string> = {
    1: 'f32', 2: 'u8', 3: 'i8', 4: 'u16', 5: 'i16', 6: 'i32', 7: 'i64', 8: 'str', 9: 'bool', 10: 'f16', 11: 'f64', 12: 'u32',
    13: 'u64', 16: 'bf16', 17: 'f8e4m3fn', 18: 'f8e4m3fnuz', 19: 'f8e5m2', 20: 'f8e5m2fnuz', 21: 'u4', 22: 'i4',
    23: 'f4e2m1', 24: 'f8e8m0', 25: 'u2', 26: 'i2',
  };
  for (let code = 0; code <= 27; code++) assert.is(dtypeFromOnnx(code), expected[code], `code ${code}`);
  for (const d of DTYPES) assert.is(dtypeFromOnnx(onnxDataType(d)), d);
});

test('raw_data: little-endian fixed-width elements for every byte-sized type', () => {
  const f32 = decode({ dims: [2], data_type: 1, raw_data: bytes(8, (v) => { v.setFloat32(0, 1.5, true); v.setFloat32(4, -2, true); }) });
  assert.is(f32.dtype, 'f32'); assert.equal(list(f32), [1.5, -2]);
  const f64 = decode({ dims: [1], data_type: 11, raw_data: bytes(8, (v) => v.setFloat64(0, Math.PI, true)) });
  assert.equal(list(f64), [Math.PI]);
  assert.equal(list(decode({ dims: [2], data_type: 3, raw_data: Uint8Array.of(0xff, 0x7f) })), [-1, 127]);
  assert.equal(list(decode({ dims: [2], data_type: 2, raw_data: Uint8Array.of(0xff, 0x7f) })), [255, 127]);
  assert.equal(list(decode({ dims: [1], data_type: 5, raw_data: Uint8Array.of(0x00, 0x80) })), [-32768]);
  assert.equal(list(decode({ dims: [1], data_type: 4, raw_data: Uint8Array.of(0x34, 0x12) })), [0x1234]);
  assert.equal(list(decode({ dims: [1], data_type: 6, raw_data: Uint8Array.of(0xfe, 0xff, 0xff, 0xff) })), [-2]);
  assert.equal(list(decode({ dims: [1], data_type: 12, raw_data: Uint8Array.of(0xfe, 0xff, 0xff, 0xff) })), [4294967294]);
  const i64 = decode({ dims: [2], data_type: 7, raw_data: bytes(16, (v) => { v.setBigInt64(0, -(2n ** 62n) - 3n, true); v.setBigInt64(8, 7n, true); }) });
  assert.equal(list(i64), [-(2n ** 62n) - 3n, 7n]);
  const u64 = decode({ dims: [1], data_type: 13, raw_data: bytes(8, (v) => v.setBigUint64(0, 2n ** 64n - 1n, true)) });
  assert.equal(list(u64), [2n ** 64n - 1n]);
  assert.equal(list(decode({ dims: [3], data_type: 9, raw_data: Uint8Array.of(1, 0, 1) })), [1, 0, 1]);
  // f16 1.0 = 0x3c00, bf16 -2.0 = 0xc000: stored as bit patterns
  assert.equal(list(decode({ dims: [1], data_type: 10, raw_data: Uint8Array.of(0x00, 0x3c) })), [0x3c00]);
  assert.equal(list(decode({ dims: [1], data_type: 16, raw_data: Uint8Array.of(0x00, 0xc0) })), [0xc000]);
  for (const code of [17, 18, 19, 20, 24]) {
    const t = decode({ dims: [2], data_type: code, raw_data: Uint8Array.of(0x38, 0xff) });
    assert.is(t.dtype, dtypeFromOnnx(code));
    assert.equal(list(t), [0x38, 0xff], `codes of ${t.dtype}`);
  }
});

test('raw_data: sub-byte types are packed from the low bits; signed ones sign-extend', () => {
  // 0x21 0x43 0x05 -> 4-bit elements 1,2,3,4,5 (odd count: high nibble of the last byte unused)
  assert.equal(list(decode({ dims: [5], data_type: 21, raw_data: Uint8Array.of(0x21, 0x43, 0x05) })), [1, 2, 3, 4, 5]);
  // int4: 0xF8 -> low nibble 8 = -8, high nibble F = -1; 0x07 -> 7
  assert.equal(list(decode({ dims: [3], data_type: 22, raw_data: Uint8Array.of(0xf8, 0x07) })), [-8, -1, 7]);
  assert.equal(list(decode({ dims: [2], data_type: 23, raw_data: Uint8Array.of(0x9a) })), [0xa, 0x9]);
  // 2-bit: 0b11_10_01_00 = 0xE4 -> 0,1,2,3 ; int2 -> 0,1,-2,-1
  assert.equal(list(decode({ dims: [4], data_type: 25, raw_data: Uint8Array.of(0xe4) })), [0, 1, 2, 3]);
  assert.equal(list(decode({ dims: [6], data_type: 26, raw_data: Uint8Array.of(0xe4, 0x0e) })), [0, 1, -2, -1, -2, -1]);
});

test('typed fields: float/double/int32/int64/uint64/string data', () => {
  assert.equal(list(decode({ dims: [2], data_type: 1, float_data: [0.5, -3] })), [0.5, -3]);
  assert.equal(list(decode({ dims: [2], data_type: 11, double_data: [0.1, 1e300] })), [0.1, 1e300]);
  assert.equal(list(decode({ dims: [3], data_type: 3, int32_data: [-128, 0, 127] })), [-128, 0, 127]);
  assert.equal(list(decode({ dims: [2], data_type: 2, int32_data: [255, 1] })), [255, 1]);
  assert.equal(list(decode({ dims: [2], data_type: 5, int32_data: [-300, 300] })), [-300, 300]);
  assert.equal(list(decode({ dims: [1], data_type: 4, int32_data: [65535] })), [65535]);
  assert.equal(list(decode({ dims: [2], data_type: 6, int32_data: [-2147483648, 5] })), [-2147483648, 5]);
  assert.equal(list(decode({ dims: [3], data_type: 9, int32_data: [1, 0, 1] })), [1, 0, 1]);
  assert.equal(list(decode({ dims: [1], data_type: 10, int32_data: [0x3c00] })), [0x3c00]);
  assert.equal(list(decode({ dims: [1], data_type: 16, int32_data: [0xc000] })), [0xc000]);
  assert.equal(list(decode({ dims: [2], data_type: 17, int32_data: [0x38, 0x7e] })), [0x38, 0x7e]);
  // sub-byte types in int32_data: one packed byte per entry
  assert.equal(list(decode({ dims: [3], data_type: 22, int32_data: [0xf8, 0x07] })), [-8, -1, 7]);
  assert.equal(list(decode({ dims: [4], data_type: 25, int32_data: [0xe4] })), [0, 1, 2, 3]);
  const i64 = decode({ dims: [2], data_type: 7, int64_data: ['9007199254740993', -5] as unknown as number[] });
  assert.equal(list(i64), [9007199254740993n, -5n]);
  const u64 = decode({ dims: [1], data_type: 13, uint64_data: ['18446744073709551615'] as unknown as number[] });
  assert.equal(list(u64), [18446744073709551615n]);
  assert.equal(list(decode({ dims: [2], data_type: 12, uint64_data: [4294967295, 3] })), [4294967295, 3]);
  const s = decode({ dims: [2], data_type: 8, string_data: [new TextEncoder().encode('héllo'), new Uint8Array()] });
  assert.is(s.dtype, 'str'); assert.equal(list(s), ['héllo', '']);
});

test('scalars and zero-size tensors', () => {
  const scalar = decode({ dims: [], data_type: 1, float_data: [4] });
  assert.equal(scalar.shape, []); assert.equal(list(scalar), [4]);
  const empty = decode({ dims: [0, 3], data_type: 7 });
  assert.equal(empty.shape, [0, 3]); assert.is(empty.size, 0); assert.is(empty.dtype, 'i64');
});

test('errors name the tensor: wrong length, missing data, complex types, segments', () => {
  const err = (p: TensorProto) => { try { decode(p); } catch (e) { assert.instance(e, KilnError); return (e as Error).message; } return assert.unreachable() as never; };
  assert.match(err({ name: 'w', dims: [3], data_type: 1, raw_data: new Uint8Array(8) }), "tensor 'w': raw data has 8 bytes, expected 12 for 3 f32 elements");
  assert.match(err({ name: 'w', dims: [2], data_type: 1 }), "tensor 'w': no data");
  assert.match(err({ name: 'c', dims: [1], data_type: 14, float_data: [1, 2] }), "tensor 'c': element type COMPLEX64 is not supported");
  assert.match(err({ name: 'w', dims: [2], data_type: 1, float_data: [1, 2, 3] }), 'data field has 3 elements, expected 2');
  assert.match(err({ name: 's', dims: [2], data_type: 1, float_data: [1, 2], segment: { begin: 0, end: 1 } }), 'segmented');
  assert.throws(() => decodeTensor(Uint8Array.of(0x0a, 0xff), 'bad.pb'), (e: Error) => e instanceof KilnError && /^bad\.pb: not a valid TensorProto/.test(e.message));
});

test('encode -> decode round-trips every dtype (raw_data; strings in string_data)', () => {
  const samples: Record<string, number[]> = {
    f32: [1.25, -0, Infinity], f64: [1e-300, -2], i8: [-128, 127], u8: [0, 255], i16: [-32768, 7], u16: [65535, 1],
    i32: [-2147483648, 2147483647], u32: [4294967295, 0], i64: [-9007199254740991, 3], u64: [9007199254740991, 0],
    bool: [1, 0, 1], f16: [1, -65504], bf16: [3, -0.5], f8e4m3fn: [0.5, -448], f8e4m3fnuz: [1, 2], f8e5m2: [4, -1],
    f8e5m2fnuz: [0.25, 8], f8e8m0: [1, 2], f4e2m1: [0.5, 6, -1], i4: [-8, 7, -1], u4: [15, 0, 9], i2: [-2, 1, -1, 0, 1], u2: [3, 2, 1, 0, 3],
  };
  for (const d of DTYPES) {
    if (d === 'str') continue;
    let t: Tensor;
    const vals = samples[d];
    if (d.startsWith('f8') || d === 'f4e2m1') t = new Tensor(d, [vals.length], Uint8Array.from(vals, (_, i) => (i * 37 + 5) & (d === 'f4e2m1' ? 15 : 255)));
    else t = Tensor.fromNumbers(d, [vals.length], vals);
    const back = decodeTensor(encodeTensor(t, 'x')).tensor;
    assert.is(back.dtype, d);
    assert.equal(back.shape, t.shape);
    assert.equal(list(back), list(t), `round trip of ${d}`);
  }
  const s = new Tensor('str', [2, 1], ['a', 'ü']);
  assert.equal(list(decodeTensor(encodeTensor(s)).tensor), ['a', 'ü']);
  // 4-bit packing on the wire: elements 1,2,3 -> bytes 0x21, 0x03
  assert.equal(Array.from(decodeTensorProto(encodeTensor(Tensor.fromNumbers('u4', [3], [1, 2, 3]))).raw_data!), [0x21, 0x03]);
});

test('readTensorFile / writeTensorFile keep name, dtype, shape and data', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-pb-'));
  const file = path.join(dir, 't.pb');
  writeTensorFile(file, Tensor.fromNumbers('f32', [2, 2], [1, 2, 3, 4]), 'input');
  const { name, tensor } = readNamedTensorFile(file);
  assert.is(name, 'input');
  assert.equal(tensor.shape, [2, 2]);
  assert.equal(list(readTensorFile(file)), [1, 2, 3, 4]);
  assert.throws(() => readTensorFile(path.join(dir, 'nope.pb')), (e: Error) => e instanceof KilnError && /nope\.pb: cannot read tensor file: no such file/.test(e.message));
});

test('external data: location/offset/length relative to the model folder; missing file is named', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-ext-'));
  const weights = new Float32Array([9, 9, 1.5, 2.5, 3.5, 9]);
  fs.mkdirSync(path.join(dir, 'data'));
  fs.writeFileSync(path.join(dir, 'data', 'w.bin'), new Uint8Array(weights.buffer));
  const ext = (location: string, extra: Record<string, string> = {}): TensorProto => ({
    name: 'w', dims: [3], data_type: 1, data_location: 1,
    external_data: [{ key: 'location', value: location }, ...Object.entries(extra).map(([key, value]) => ({ key, value }))],
  });
  const spec = (w: TensorProto) => modelProto({
    nodes: [node('Add', ['x', 'w'], ['y'])],
    inputs: [value('x', 1, [3])], outputs: [value('y', 1, [3])], initializers: [w],
  });
  const file = path.join(dir, 'model.onnx');
  fs.writeFileSync(file, encodeModelProto(spec(ext('data/w.bin', { offset: '8', length: '12' }))));
  const g = loadOnnxFile(file);
  assert.equal(list(g.constants.find((c) => c.name === 'w')!.data!), [1.5, 2.5, 3.5]);

  fs.writeFileSync(file, encodeModelProto(spec(ext('data/missing.bin'))));
  assert.throws(() => loadOnnxFile(file), (e: Error) => e instanceof KilnError
    && e.message.includes("tensor 'w': external data location 'data/missing.bin': no such file"));
  fs.writeFileSync(file, encodeModelProto(spec(ext('data/w.bin', { offset: '16', length: '12' }))));
  assert.throws(() => loadOnnxFile(file), /runs past its end/);
  fs.writeFileSync(file, encodeModelProto(spec(ext('../w.bin'))));
  assert.throws(() => loadOnnxFile(file), /must be a relative path inside the model's folder/);
  // bytes without a path cannot resolve external data
  assert.throws(() => importOnnx(encodeModelProto(spec(ext('data/w.bin')))), /without a file path/);
});

test.run();
