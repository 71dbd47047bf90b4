import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { F4E2M1, F8E4M3FN, F8E4M3FNUZ, F8E5M2, F8E5M2FNUZ, decodeE8M0, encodeE8M0 } from '../../compiler/ir/float8.ts';
import { narrowFloatCodec } from '../../compiler/ir/floatbits.ts';
import { castTensor } from '../../compiler/ops/cast.ts';
import { formatFloat, parseNumber } from '../../compiler/ops/cast-text.ts';
import { big, f32, infer, raw, run1, t, ty, vals } from './elementwise-helpers.ts';

const ONNX = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, STRING: 8, BOOL: 9, FLOAT16: 10, DOUBLE: 11, BFLOAT16: 16,
  F8E4M3FN: 17, F8E4M3FNUZ: 18, F8E5M2: 19, F8E5M2FNUZ: 20, UINT4: 21, INT4: 22, F4E2M1: 23, F8E8M0: 24, UINT2: 25, INT2: 26 };

// ---- float8 / float4 codecs ----

test('f8e4m3fn: code table (max 448, NaN 0x7f/0xff, subnormals, -0)', () => {
  const d = F8E4M3FN.decode;
  assert.is(d(0x7e), 448);
  assert.is(d(0xfe), -448);
  assert.ok(Number.isNaN(d(0x7f)) && Number.isNaN(d(0xff)));
  assert.is(d(0x38), 1);
  assert.is(d(0x01), 2 ** -9);
  assert.is(d(0x08), 2 ** -6);
  assert.ok(Object.is(d(0x80), -0));
  const e = F8E4M3FN.encode;
  assert.is(e(1, true), 0x38);
  assert.is(e(448, false), 0x7e);
  assert.is(e(464, false), 0x7e); // halfway to the (NaN) next code: ties to even
  assert.is(e(465, false), 0x7f);
  assert.is(e(465, true), 0x7e);
  assert.is(e(Infinity, true), 0x7e);
  assert.is(e(-Infinity, true), 0xfe);
  assert.is(e(Infinity, false), 0x7f);
  assert.is(e(-1e6, false), 0xff);
  assert.is(e(NaN, true), 0x7f);
  assert.is(e(-0, true), 0x80);
  assert.is(e(-1e-7, true), 0x80);
  assert.is(e(2 ** -10, true), 0x00); // half the smallest subnormal: ties to even (0)
  assert.is(e(3 * 2 ** -10, true), 0x02); // 1.5 subnormal steps: ties to even (2)
  assert.is(e(0.4789254665374756, true), 0x2f);
});

test('f8e4m3fnuz: max 240, NaN 0x80, no negative zero', () => {
  const { decode: d, encode: e } = F8E4M3FNUZ;
  assert.is(d(0x7f), 240);
  assert.is(d(0xff), -240);
  assert.ok(Number.isNaN(d(0x80)));
  assert.is(d(0x40), 1);
  assert.is(d(0x01), 2 ** -10);
  assert.is(e(-0, true), 0x00);
  assert.is(e(-1e-9, false), 0x00);
  assert.is(e(241, false), 0x7f);
  assert.is(e(250, false), 0x80);
  assert.is(e(250, true), 0x7f);
  assert.is(e(-Infinity, true), 0xff);
  assert.is(e(Infinity, false), 0x80);
  assert.is(e(NaN, true), 0x80);
});

test('f8e5m2: max 57344, inf 0x7c, NaN 0x7e', () => {
  const { decode: d, encode: e } = F8E5M2;
  assert.is(d(0x7b), 57344);
  assert.is(d(0x7c), Infinity);
  assert.is(d(0xfc), -Infinity);
  assert.ok(Number.isNaN(d(0x7d)) && Number.isNaN(d(0x7e)) && Number.isNaN(d(0xff)));
  assert.is(d(0x3c), 1);
  assert.is(d(0x01), 2 ** -16);
  assert.is(e(Infinity, false), 0x7c);
  assert.is(e(Infinity, true), 0x7b);
  assert.is(e(-Infinity, false), 0xfc);
  assert.is(e(60000, false), 0x7b);
  assert.is(e(61440, false), 0x7c); // tie between 57344 (odd mantissa) and the inf code: to even
  assert.is(e(1e6, true), 0x7b);
  assert.is(e(NaN, false), 0x7e);
  assert.is(e(-1e-7, true), 0x80);
});

test('f8e5m2fnuz: max 57344, NaN 0x80', () => {
  const { decode: d, encode: e } = F8E5M2FNUZ;
  assert.is(d(0x7f), 57344);
  assert.ok(Number.isNaN(d(0x80)));
  assert.is(d(0x40), 1);
  assert.is(d(0x01), 2 ** -17);
  assert.is(e(1e6, false), 0x80);
  assert.is(e(1e6, true), 0x7f);
  assert.is(e(-1e-7, true), 0x00);
});

test('float8 round trips: every non-NaN code decodes and re-encodes to itself', () => {
  for (const [name, codec] of [['e4m3fn', F8E4M3FN], ['e4m3fnuz', F8E4M3FNUZ], ['e5m2', F8E5M2], ['e5m2fnuz', F8E5M2FNUZ]] as const) {
    for (let c = 0; c < 256; c++) {
      const v = codec.decode(c);
      if (Number.isNaN(v) || (c === 0x80 && name.endsWith('fnuz'))) continue;
      assert.is(codec.encode(v, false), c, `${name} code 0x${c.toString(16)} (${v})`);
    }
  }
  // and a value between two codes rounds to the nearer one
  assert.is(F8E4M3FN.encode(1 + 1 / 16 + 1e-9, true), 0x39);
  assert.is(F8E4M3FN.encode(1 + 1 / 16, true), 0x38);
});

test('f4e2m1: table and ONNX cast behaviour (always saturates, ties to even, NaN 0x8)', () => {
  const table = Array.from({ length: 16 }, (_, c) => F4E2M1.decode(c));
  assert.equal(table.slice(0, 8), [0, 0.5, 1, 1.5, 2, 3, 4, 6]);
  assert.equal(table.slice(9), [-0.5, -1, -1.5, -2, -3, -4, -6]);
  const x = [0.48, 0.25, 1.05, -3.5, -8, 9, 1e6, 1e-7, NaN, Infinity, -Infinity, -4, 0.01, -0, 1.25, 2.5, 5];
  assert.equal(x.map((v) => F4E2M1.encode(v, false)), [1, 0, 2, 0xe, 0xf, 7, 7, 0, 8, 7, 0xf, 0xe, 0, 8, 2, 4, 6]);
});

test('f8e8m0: powers of two with round modes and saturation', () => {
  assert.is(decodeE8M0(0x7f), 1);
  assert.is(decodeE8M0(0), 2 ** -127);
  assert.is(decodeE8M0(0xfe), 2 ** 127);
  assert.ok(Number.isNaN(decodeE8M0(0xff)));
  assert.equal([0, 0.124, 0.25, 0.5, 1.1, 2, 4, 8].map((v) => encodeE8M0(v, true, 'up')), [0, 0x7c, 0x7d, 0x7e, 0x80, 0x80, 0x81, 0x82]);
  assert.equal([1.9, 3, 0.3].map((v) => encodeE8M0(v, true, 'down')), [0x7f, 0x80, 0x7d]);
  assert.equal([1.49, 1.5, 3, 2.9].map((v) => encodeE8M0(v, true, 'nearest')), [0x7f, 0x80, 0x81, 0x80]);
  assert.is(encodeE8M0(-4, true), 0x81); // sign ignored
  assert.is(encodeE8M0(1.5 * 2 ** 127, true, 'up'), 0xfe);
  assert.is(encodeE8M0(1.5 * 2 ** 127, false, 'up'), 0xff);
  assert.is(encodeE8M0(Infinity, true), 0xff);
  assert.is(narrowFloatCodec('f8e8m0').encode(1.1, true), 0x80);
});

// ---- Cast between numeric types ----

test('float -> integer truncates toward zero and wraps', () => {
  assert.equal(vals(run1('Cast', [f32(1.5, -2.7, 300)], { to: ONNX.INT8 })), [1, -2, 44]);
  assert.equal(vals(run1('Cast', [f32(-1, 256.9)], { to: ONNX.UINT8 })), [255, 0]);
  assert.equal(vals(run1('Cast', [t('f64', [5], [-2147483648.5, 2147483647.9, 3e9, NaN, -Infinity])], { to: ONNX.INT32 })),
    [-2147483648, 2147483647, -2147483648, -2147483648, -2147483648]);
  assert.equal(raw(run1('Cast', [t('f64', [3], [1e10, -3.9, NaN])], { to: ONNX.INT64 })), [10000000000n, -3n, -(2n ** 63n)]);
});

test('64-bit integer casts are exact', () => {
  assert.equal(vals(run1('Cast', [big('i64', [2], [2n ** 32n + 5n, -1n])], { to: ONNX.INT32 })), [5, -1]);
  assert.equal(raw(run1('Cast', [big('i64', [1], [-1n])], { to: 13 })), [2n ** 64n - 1n]);
  assert.equal(raw(run1('Cast', [big('u64', [1], [2n ** 64n - 1n])], { to: ONNX.INT64 })), [-1n]);
  assert.equal(vals(run1('Cast', [big('i64', [1], [2n ** 53n + 1n])], { to: ONNX.DOUBLE })), [2 ** 53]);
  assert.equal(vals(run1('Cast', [big('i64', [2], [0n, 5n])], { to: ONNX.BOOL })), [0, 1]);
  assert.equal(raw(run1('Cast', [t('i32', [2], [-7, 2147483647])], { to: ONNX.INT64 })), [-7n, 2147483647n]);
});

test('bool casts: value != 0 (NaN is true), and back to 0/1', () => {
  assert.equal(vals(run1('Cast', [f32(0, -0, 0.1, NaN)], { to: ONNX.BOOL })), [0, 0, 1, 1]);
  assert.equal(vals(run1('Cast', [t('bool', [2], [1, 0])], { to: ONNX.FLOAT })), [1, 0]);
  assert.equal(raw(run1('Cast', [t('bool', [2], [1, 0])], { to: ONNX.F8E4M3FN })), [0x38, 0]);
});

test('f16 and bf16 round to nearest even', () => {
  assert.equal(raw(run1('Cast', [f32(65520, 1 / 3, NaN, -Infinity)], { to: ONNX.FLOAT16 })), [0x7c00, 0x3555, 0x7e00, 0xfc00]);
  assert.equal(vals(run1('Cast', [new Tensor('f16', [1], Uint16Array.of(0x3555))], { to: ONNX.FLOAT })), [0.333251953125]);
  assert.equal(raw(run1('Cast', [f32(1 / 3, NaN)], { to: ONNX.BFLOAT16 })), [0x3eab, 0x7fc0]);
  assert.equal(vals(run1('Cast', [new Tensor('bf16', [1], Uint16Array.of(0x3eab))], { to: ONNX.DOUBLE })), [0.333984375]);
});

test('Cast to float8 honours saturate', () => {
  const x = f32(0.5, 1000, -Infinity, NaN);
  assert.equal(raw(run1('Cast', [x], { to: ONNX.F8E4M3FN })), [0x30, 0x7e, 0xfe, 0x7f]);
  assert.equal(raw(run1('Cast', [x], { to: ONNX.F8E4M3FN, saturate: 0 })), [0x30, 0x7f, 0xff, 0x7f]);
  assert.equal(raw(run1('Cast', [x], { to: ONNX.F8E5M2, saturate: 0 })), [0x38, 0x64, 0xfc, 0x7e]); // 1000 rounds to 1024
  assert.equal(raw(run1('Cast', [x], { to: ONNX.F8E5M2 })), [0x38, 0x64, 0xfb, 0x7e]);
  assert.equal(raw(run1('Cast', [x], { to: ONNX.F8E4M3FNUZ, saturate: 0 })), [0x38, 0x80, 0x80, 0x80]);
  assert.equal(raw(run1('Cast', [x], { to: ONNX.F8E5M2FNUZ })), [0x3c, 0x68, 0xff, 0x80]);
  // float8 -> float8 and float8 -> f16 go through the exact value
  const q = run1('Cast', [new Tensor('f8e4m3fn', [2], Uint8Array.of(0x7e, 0x01))], { to: ONNX.F8E5M2 });
  assert.equal(raw(q), [0x5f, 0x18]); // 448 = 1.75 * 2^8; 2^-9 (an e4m3fn subnormal) is normal in e5m2
  const h = run1('Cast', [new Tensor('f8e5m2', [2], Uint8Array.of(0x7c, 0x01))], { to: ONNX.FLOAT16 });
  assert.equal(raw(h), [0x7c00, 0x0100]); // inf; 2^-16 is an f16 subnormal (256 * 2^-24)
});

test('Cast to f8e8m0 uses round_mode', () => {
  const x = f32(1.1, 1.6, 3);
  assert.equal(raw(run1('Cast', [x], { to: ONNX.F8E8M0 })), [0x80, 0x80, 0x81]);
  assert.equal(raw(run1('Cast', [x], { to: ONNX.F8E8M0, round_mode: 'down' })), [0x7f, 0x7f, 0x80]);
  assert.equal(raw(run1('Cast', [x], { to: ONNX.F8E8M0, round_mode: 'nearest' })), [0x7f, 0x80, 0x81]);
  assert.throws(() => run1('Cast', [x], { to: ONNX.F8E8M0, round_mode: 'zero' }), /must be one of up, down, nearest/);
});

test('int4/uint4/int2/uint2 wrap modulo 2^bits (ONNX data)', () => {
  const x = t('f32', [5, 5], Array.from({ length: 25 }, (_, i) => i - 9));
  assert.equal(vals(run1('Cast', [x], { to: ONNX.INT4 })),
    [7, -8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, -8, -7, -6, -5, -4, -3, -2, -1]);
  assert.equal(vals(run1('Cast', [x], { to: ONNX.UINT4 })),
    [7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  const y = f32(-3, -2, -1, 0, 1, 2, 3);
  assert.equal(vals(run1('Cast', [y], { to: ONNX.INT2 })), [1, -2, -1, 0, 1, -2, -1]);
  assert.equal(vals(run1('Cast', [y], { to: ONNX.UINT2 })), [1, 2, 3, 0, 1, 2, 3]);
  const i4 = run1('Cast', [x], { to: ONNX.INT4 });
  assert.equal(vals(run1('Cast', [i4], { to: ONNX.INT8 })).slice(0, 3), [7, -8, -7]);
  assert.equal(raw(run1('Cast', [i4], { to: ONNX.FLOAT16 })).slice(0, 2), [0x4700, 0xc800]); // 7, -8
  assert.equal(vals(run1('Cast', [big('i64', [2], [17n, -(2n ** 40n) - 1n])], { to: ONNX.INT4 })), [1, -1]);
});

// ---- strings ----

test('numbers -> strings like numpy', () => {
  const s = run1('Cast', [f32(1, 0.1, 1e-5, 1e6, 999999, -2.5, NaN, Infinity, -Infinity, 123456.7, 1 / 3)], { to: ONNX.STRING });
  assert.equal(s.data, ['1.0', '0.1', '1e-05', '1e+06', '999999.0', '-2.5', 'nan', 'inf', '-inf', '123456.7', '0.33333334']);
  const d = run1('Cast', [t('f64', [4], [0.1, 1 / 3, 1e16, 1e15])], { to: ONNX.STRING });
  assert.equal(d.data, ['0.1', '0.3333333333333333', '1e+16', '1000000000000000.0']);
  assert.equal(run1('Cast', [t('f16', [3], [0.1, 999, -1000])], { to: ONNX.STRING }).data, ['0.1', '999.0', '-1e+03']);
  assert.equal(run1('Cast', [t('i32', [2], [-5, 12])], { to: ONNX.STRING }).data, ['-5', '12']);
  assert.equal(run1('Cast', [big('i64', [1], [-(2n ** 63n)])], { to: ONNX.STRING }).data, ['-9223372036854775808']);
  assert.equal(run1('Cast', [t('bool', [2], [1, 0])], { to: ONNX.STRING }).data, ['True', 'False']);
  assert.is(formatFloat(-0), '-0.0');
  assert.is(formatFloat(0.0001), '0.0001');
  assert.is(formatFloat(1.5e-7), '1.5e-07');
  assert.is(formatFloat(1.5e300), '1.5e+300');
});

test('strings -> numbers (plain, scientific, INF/NaN case-insensitive)', () => {
  const s = new Tensor('str', [8], ['3.14', '-INF', 'nan', '1e-5', '+inf', '  42 ', 'Infinity', '1E8']);
  const y = run1('Cast', [s], { to: ONNX.FLOAT });
  assert.equal(vals(y).slice(0, 2), [Math.fround(3.14), -Infinity]);
  assert.ok(Number.isNaN(vals(y)[2]));
  assert.equal(vals(y).slice(3), [Math.fround(1e-5), Infinity, 42, Infinity, 1e8]);
  const i = run1('Cast', [new Tensor('str', [3], ['9223372036854775807', '-12', '100.5'])], { to: ONNX.INT64 });
  assert.equal(raw(i), [2n ** 63n - 1n, -12n, 100n]);
  assert.equal(vals(run1('Cast', [new Tensor('str', [1], ['100.5'])], { to: ONNX.INT32 })), [100]);
  assert.equal(vals(run1('Cast', [new Tensor('str', [4], ['0', '1', 'True', 'false'])], { to: ONNX.BOOL })), [0, 1, 1, 0]);
  assert.equal(raw(run1('Cast', [new Tensor('str', [2], ['448', '1000'])], { to: ONNX.F8E4M3FN })), [0x7e, 0x7e]);
  assert.ok(Number.isNaN(parseNumber('Hello')));
  assert.is(parseNumber('2.5abc'), 2.5);
});

// ---- attributes, CastLike, type rules ----

test('Cast attribute to: ONNX codes or dtype names; unsupported codes named', () => {
  assert.is(run1('Cast', [f32(1)], { to: 'f16' }).dtype, 'f16');
  assert.throws(() => run1('Cast', [f32(1)], { to: 14 }), /COMPLEX64 is not supported/);
  assert.throws(() => run1('Cast', [f32(1)], { to: 99 }), /data type 99 is not supported/);
  assert.throws(() => run1('Cast', [f32(1)], { to: 'float' }), /expected an ONNX data type code or a dtype name/);
  assert.throws(() => run1('Cast', [f32(1)]), /required attribute is missing/);
});

test('Cast to the same dtype copies', () => {
  const x = f32(1, 2);
  const y = run1('Cast', [x], { to: ONNX.FLOAT });
  assert.equal(vals(y), [1, 2]);
  assert.ok(y.data !== x.data);
});

test('CastLike: target dtype from the second input, same attributes', () => {
  const like = Tensor.zeros('f8e4m3fn', [0]);
  assert.equal(raw(run1('CastLike', [f32(1000), like])), [0x7e]);
  assert.equal(raw(run1('CastLike', [f32(1000), like], { saturate: 0 })), [0x7f]);
  assert.equal(raw(run1('CastLike', [f32(1.1), Tensor.zeros('f8e8m0', [])], { round_mode: 'down' })), [0x7f]);
  assert.equal(infer('CastLike', [ty('f32', ['N', 2]), ty('f16', [])]), [ty('f16', ['N', 2])]);
});

test('Cast type rule keeps the (symbolic) shape', () => {
  assert.equal(infer('Cast', [ty('f32', ['N', 3])], { to: ONNX.INT64 }), [ty('i64', ['N', 3])]);
  assert.equal(infer('Cast', [ty('str', [])], { to: ONNX.UINT4 }), [ty('u4', [])]);
  assert.equal(castTensor(f32(2.5), 'i2').dtype, 'i2');
});

test.run();
