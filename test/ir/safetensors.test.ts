/**
 * The safetensors codec (compiler/ir/safetensors.ts): a round trip for every dtype it maps (bit-exact,
 * extreme values included), the layout the format fixes (u64 header length, 8-byte aligned header,
 * offsets covering the buffer), a foreign file with an unaligned buffer, and every decode error, each
 * a KilnError naming the file and, where there is one, the tensor.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KilnError } from '../../compiler/errors.ts';
import { DTYPES, type DType, dtypeInfo } from '../../compiler/ir/dtype.ts';
import { decodeSafetensors, encodeSafetensors, safetensorsHolds } from '../../compiler/ir/safetensors.ts';
import { Tensor } from '../../compiler/ir/tensor.ts';

const FILE = 'w.safetensors';
const HELD: DType[] = ['f64', 'f32', 'f16', 'bf16', 'i64', 'i32', 'i16', 'i8', 'u64', 'u32', 'u16', 'u8', 'bool', 'f8e4m3fn', 'f8e5m2', 'f8e8m0'];

/** A tensor of `dtype` whose storage holds varied bit patterns (every byte value for 8-bit types). */
function sample(dtype: DType, shape = [3, 7]): Tensor {
  const t = Tensor.zeros(dtype, shape);
  const d = t.data as Exclude<Tensor['data'], string[]>;
  for (let i = 0; i < t.size; i++) {
    if (d instanceof BigInt64Array) d[i] = i === 0 ? -(2n ** 63n) : BigInt(i) * 1_000_000_007n * (i % 2 ? -1n : 1n);
    else if (d instanceof BigUint64Array) d[i] = i === 0 ? 2n ** 64n - 1n : BigInt(i) * 123_456_789_123n;
    else if (dtype === 'bool') (d as Uint8Array)[i] = i % 3 === 0 ? 1 : 0;
    else if (d instanceof Float32Array || d instanceof Float64Array) d[i] = i === 0 ? -0 : i === 1 ? Infinity : (i - 10) * 0.37;
    else (d as Uint8Array)[i] = i * 37 + 11; // wraps: every pattern kind, NaN codes of the narrow floats included
  }
  return t;
}

const bytesOf = (t: Tensor) => {
  const d = t.data as Exclude<Tensor['data'], string[]>;
  return [...new Uint8Array(d.buffer, d.byteOffset, d.byteLength)];
};

/** Builds a file from a header object (or raw header text) and a buffer. */
function file(header: unknown, buffer: number[] = [], raw?: string): Uint8Array {
  const json = Buffer.from(raw ?? JSON.stringify(header), 'utf8');
  const out = new Uint8Array(8 + json.length + buffer.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(buffer, 8 + json.length);
  return out;
}

/** Asserts decoding fails with a KilnError naming the file and matching `pattern`. */
function fails(bytes: Uint8Array, pattern: RegExp): void {
  try {
    decodeSafetensors(bytes, FILE);
  } catch (e) {
    assert.instance(e, KilnError);
    assert.match((e as Error).message, /^w\.safetensors: safetensors: /);
    assert.match((e as Error).message, pattern);
    return;
  }
  assert.unreachable(`decoding should fail with ${pattern}`);
}

test('every mapped dtype round-trips bit for bit; the others are refused by name', () => {
  assert.equal(DTYPES.filter(safetensorsHolds).sort(), [...HELD].sort());
  const tensors = new Map(HELD.map((d) => [`t.${d}`, sample(d)]));
  tensors.set('scalar', sample('f32', []));
  tensors.set('empty', sample('i32', [0, 4]));
  const bytes = encodeSafetensors(tensors, { format: 'kiln', note: 'ü' });
  const back = decodeSafetensors(bytes, FILE);
  assert.equal(back.metadata, { format: 'kiln', note: 'ü' });
  assert.equal([...back.tensors.keys()].sort(), [...tensors.keys()].sort());
  for (const [name, t] of tensors) {
    const b = back.tensors.get(name)!;
    assert.is(b.dtype, t.dtype, name);
    assert.equal(b.shape, t.shape, name);
    assert.equal(bytesOf(b), bytesOf(t), name);
  }
  for (const d of DTYPES.filter((x) => !safetensorsHolds(x))) {
    assert.throws(() => encodeSafetensors(new Map([['x', Tensor.zeros(d, [2])]])), new RegExp(`tensor 'x' is ${d}, which safetensors cannot hold`));
  }
});

test('the layout: u64 header length, header padded to 8 bytes, tensors aligned and covering the buffer', () => {
  const bytes = encodeSafetensors(new Map([['a', sample('u8', [3])], ['b', sample('f64', [2])], ['c', sample('f16', [5])]]));
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.is(n % 8, 0);
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8'));
  // largest element first, so each tensor starts at a multiple of its element size
  assert.equal(header.b, { dtype: 'F64', shape: [2], data_offsets: [0, 16] });
  assert.equal(header.c, { dtype: 'F16', shape: [5], data_offsets: [16, 26] });
  assert.equal(header.a, { dtype: 'U8', shape: [3], data_offsets: [26, 29] });
  assert.is(bytes.length, 8 + n + 29);
  const empty = encodeSafetensors(new Map());
  assert.is(decodeSafetensors(empty, FILE).tensors.size, 0);
});

test('a foreign file with an unpadded header decodes (unaligned data is copied)', () => {
  const t = sample('f32', [2, 2]);
  const bytes = file({ x: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } }, bytesOf(t)); // header length not a multiple of 4
  assert.ok((8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))) % 4 !== 0);
  assert.equal(bytesOf(decodeSafetensors(bytes, FILE).tensors.get('x')!), bytesOf(t));
});

test('decode errors name the file and the tensor', () => {
  const f32 = (offsets: number[], shape = [2]) => ({ dtype: 'F32', shape, data_offsets: offsets });
  const eight = [0, 0, 128, 63, 0, 0, 0, 64];
  fails(new Uint8Array(5), /the file is 5 bytes, too short/);
  const long = file({}, []);
  new DataView(long.buffer).setBigUint64(0, 1000n, true);
  fails(long, /header length 1000 runs past the end of the file \(10 bytes\)/);
  new DataView(long.buffer).setBigUint64(0, 2n ** 62n, true);
  fails(long, /header length 4611686018427387904 is absurd/);
  fails(file(null, [], '{"x": '), /header is not valid JSON/);
  const badUtf8 = file(null, [], '{"?": 1}');
  badUtf8[10] = 0xff;
  fails(badUtf8, /header is not valid UTF-8 JSON/);
  fails(file([1, 2]), /header is not a JSON object/);
  fails(file(null, eight, '{"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}'),
    /tensor 'x' is named twice/);
  fails(file({ x: { dtype: 'Q7', shape: [2], data_offsets: [0, 8] } }, eight), /tensor 'x': unknown dtype "Q7" \(kiln reads F64, F32/);
  fails(file({ x: { dtype: 'F4', shape: [2], data_offsets: [0, 8] } }, eight), /tensor 'x': unknown dtype "F4"/);
  fails(file({ x: f32([0, 8], [2, -1]) }, eight), /tensor 'x': shape \[2,-1\] is not a list of non-negative integers/);
  fails(file({ x: f32([0, 8], [2.5]) }, eight), /tensor 'x': shape \[2.5\]/);
  fails(file({ x: f32([8, 0]) }, eight), /tensor 'x': data_offsets \[8,0\] is not \[begin, end\]/);
  fails(file({ x: f32([0, 16]) }, eight), /tensor 'x': data_offsets \[0, 16\] run past the end of the buffer \(8 bytes\)/);
  fails(file({ x: f32([0, 8], [3]) }, eight), /tensor 'x': data_offsets \[0, 8\] hold 8 bytes but F32\[3\] needs 12/);
  fails(file({ x: f32([0, 8]), y: f32([4, 12]) }, [...eight, ...eight.slice(0, 4)]), /tensor 'y' \(bytes 4 to 12\) overlaps the tensor before it/);
  fails(file({ x: f32([0, 4], [1]), y: f32([8, 12], [1]) }, [...eight, ...eight.slice(0, 4)]), /bytes 4 to 8 of the buffer belong to no tensor \(before tensor 'y'\)/);
  fails(file({ x: f32([0, 4], [1]) }, eight), /bytes 4 to 8 of the buffer belong to no tensor$/);
  fails(file({ b: { dtype: 'BOOL', shape: [3], data_offsets: [0, 3] } }, [1, 0, 2]), /tensor 'b': BOOL element 2 is 2, not 0 or 1/);
  fails(file({ __metadata__: { a: 1 } }), /__metadata__ entry 'a' is not a string/);
  fails(file({ __metadata__: [] }), /__metadata__ is not an object of strings/);
  fails(file({ x: 3 }), /tensor 'x': its entry is not an object/);
});

test('element widths agree with dtype.ts for every mapped dtype', () => {
  for (const d of HELD) {
    const t = sample(d, [4]);
    const bytes = encodeSafetensors(new Map([['t', t]]));
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.is(bytes.length - 8 - n, 4 * dtypeInfo(d).bits / 8, d);
  }
});

test.run();
