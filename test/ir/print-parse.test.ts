/** Round trips of the `.kir` text: print∘parse is the identity on printed text, parse∘print on graphs. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { printAttr, printGraph, printNode, printType } from '../../compiler/ir/print.ts';
import { graphDiff } from '../../compiler/ir/equal.ts';
import { Tensor, i64Tensor, tensorHash } from '../../compiler/ir/tensor.ts';
import { weightsOf } from '../../compiler/ir/weights.ts';
import type { AttrValue, Graph } from '../../compiler/ir/graph.ts';

/** Asserts the text is canonical (prints back identically) and returns its graph. */
function roundTrip(text: string): Graph {
  const g = parseGraph(text);
  assert.is(printGraph(g), text);
  const again = parseGraph(printGraph(g));
  assert.is(graphDiff(g, again), undefined);
  return g;
}

const kir = (lines: string[]) => lines.join('\n') + '\n';

test('the brief example round-trips', () => {
  const text = kir([
    'kiln.graph @resnet50(%input: f32[1,3,224,224], %mask: i64[N,128]) -> (%4: f32[1,32,112,112]) {',
    '  %conv1.weight = const f32[64,3,7,7] #3f2a9c0e12ab45cd',
    '  %shape0 = const i64[2] dense<[1, -1]>',
    '  %0 = Conv(%input, %conv1.weight) {dilations=[1, 1], group=1, kernel_shape=[7, 7], pads=[3, 3, 3, 3], strides=[2, 2]} : f32[1,64,112,112] loc("/conv1/Conv")',
    '  %1, %2 = Split(%0, %shape0) {axis=1} : f32[1,32,112,112], f32[1,32,112,112] loc("/split")',
    '  %3 = Clip(%1, _, %2) : f32[1,32,112,112] loc("/clip")',
    '  %4 = kiln.fused(%3) : f32[1,32,112,112] loc(fused["/a/Conv", "/a/Relu"])',
    '  return %4',
    '}',
  ]);
  const g = roundTrip(text);
  assert.is(g.name, 'resnet50');
  assert.equal(g.inputs[1], { name: 'mask', type: { dtype: 'i64', shape: ['N', 128] } });
  assert.equal(g.outputs, ['4']);
  const w = g.constants[0];
  assert.is(w.hash, '3f2a9c0e12ab45cd');
  assert.is(w.data, undefined);
  assert.not.ok('data' in w);
  assert.equal(Array.from(g.constants[1].data!.data as BigInt64Array), [1n, -1n]);
  assert.is(g.constants[1].hash, tensorHash(i64Tensor([1, -1])));
  const [conv, split, clip, fused] = g.nodes;
  assert.equal(conv.attrs.strides, { kind: 'ints', value: [2, 2] });
  assert.equal(conv.attrs.group, { kind: 'int', value: 1 });
  assert.equal(conv.loc, ['/conv1/Conv']);
  assert.equal(split.outputs, ['1', '2']);
  assert.is(split.types.length, 2);
  assert.equal(clip.inputs, ['1', '', '2']);
  assert.equal(fused.loc, ['/a/Conv', '/a/Relu']);
  assert.is(fused.op, 'kiln.fused');
});

test('every attribute kind round-trips with its kind', () => {
  const text = kir([
    'kiln.graph @attrs(%x: f32[2]) -> (%y: f32[2]) {',
    '  %y = test.Attrs(%x) {a_int=3, b_neg=-7, c_big=9223372036854775808, d_float=1.0, e_eps=1e-5, f_pi=3.1415927, ' +
      'g_inf=inf, h_ninf=-inf, i_nan=nan, j_nzero=-0.0, k_max=3.4028235e38, l_tiny=1e-45, m_str="a \\"q\\"\\n\\u0001 é", ' +
      'n_ints=[1, -2, 3], o_floats=[1.0, 2.5, -0.1], p_strs=["a", "", "c d"], q_ei=ints[], r_ef=floats[], s_es=strings[], ' +
      't_ten=dense<f32[2] [1.0, 2.0]>, u_sc=dense<i64[] 5>, v_str=dense<str[2] ["x", "y"]>, w_bool=dense<bool[1,2] [true, false]>, ' +
      '"x odd"=0, y_emptystr="", z_hundred=100.0} : f32[2]',
    '  return %y',
    '}',
  ]);
  const a = roundTrip(text).nodes[0].attrs;
  const want: Record<string, AttrValue> = {
    a_int: { kind: 'int', value: 3 },
    b_neg: { kind: 'int', value: -7 },
    c_big: { kind: 'int', value: 2 ** 63 },
    d_float: { kind: 'float', value: 1 },
    e_eps: { kind: 'float', value: Math.fround(1e-5) },
    f_pi: { kind: 'float', value: Math.fround(Math.PI) },
    g_inf: { kind: 'float', value: Infinity },
    h_ninf: { kind: 'float', value: -Infinity },
    k_max: { kind: 'float', value: 3.4028234663852886e38 },
    l_tiny: { kind: 'float', value: 2 ** -149 },
    m_str: { kind: 'string', value: 'a "q"\n\u0001 é' },
    n_ints: { kind: 'ints', value: [1, -2, 3] },
    o_floats: { kind: 'floats', value: [1, 2.5, Math.fround(-0.1)] },
    p_strs: { kind: 'strings', value: ['a', '', 'c d'] },
    q_ei: { kind: 'ints', value: [] },
    r_ef: { kind: 'floats', value: [] },
    s_es: { kind: 'strings', value: [] },
    'x odd': { kind: 'int', value: 0 },
    y_emptystr: { kind: 'string', value: '' },
    z_hundred: { kind: 'float', value: 100 },
  };
  for (const [k, v] of Object.entries(want)) assert.equal(a[k], v, k);
  assert.ok(Number.isNaN(a.i_nan.value as number) && a.i_nan.kind === 'float');
  assert.ok(Object.is(a.j_nzero.value, -0));
  const t = a.t_ten.value as Tensor;
  assert.equal([t.dtype, t.shape, Array.from(t.data as Float32Array)], ['f32', [2], [1, 2]]);
  const sc = a.u_sc.value as Tensor;
  assert.equal([sc.dtype, sc.shape, Array.from(sc.data as BigInt64Array)], ['i64', [], [5n]]);
  assert.equal((a.v_str.value as Tensor).data, ['x', 'y']);
  assert.equal(Array.from((a.w_bool.value as Tensor).data as Uint8Array), [1, 0]);
});

test('printAttr spells floats shortest and never like ints', () => {
  assert.is(printAttr({ kind: 'float', value: 0.1 }), '0.1');
  assert.is(printAttr({ kind: 'float', value: Math.fround(0.1) }), '0.1');
  assert.is(printAttr({ kind: 'float', value: 2 }), '2.0');
  assert.is(printAttr({ kind: 'float', value: 1e20 }), '1e20');
  assert.is(printAttr({ kind: 'float', value: 0.0001 }), '0.0001');
  assert.is(printAttr({ kind: 'float', value: 123456.5 }), '123456.5');
  assert.is(printAttr({ kind: 'float', value: 16777216 }), '16777216.0');
  assert.is(printAttr({ kind: 'float', value: 1e16 }), '1e16');
  assert.is(printAttr({ kind: 'floats', value: [0.5, -0] }), '[0.5, -0.0]');
  assert.is(printAttr({ kind: 'int', value: -4 }), '-4');
  assert.is(printAttr({ kind: 'ints', value: [] }), 'ints[]');
  assert.is(printAttr({ kind: 'tensor', value: Tensor.scalar('f32', 0.25) }), 'dense<f32[] 0.25>');
});

test('random f32 float attributes round-trip exactly', () => {
  const bits = new Uint32Array(1);
  const f = new Float32Array(bits.buffer);
  let seed = 12345;
  for (let i = 0; i < 3000; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    bits[0] = seed ^ (seed << 7);
    const v = f[0];
    const g: Graph = {
      name: 'g', inputs: [], outputs: ['y'], constants: [],
      nodes: [{ op: 'A', inputs: [], outputs: ['y'], types: [{ dtype: 'f32', shape: [] }], attrs: { v: { kind: 'float', value: v } }, loc: [] }],
    };
    const back = parseGraph(printGraph(g)).nodes[0].attrs.v;
    assert.ok(Object.is(back.value, v), `${v} printed ${printAttr(g.nodes[0].attrs.v)}`);
  }
});

test('constants of every dtype round-trip inline with exact values', () => {
  const text = kir([
    'kiln.graph @consts() -> () {',
    '  %f32 = const f32[6] dense<[1.0, -0.0, 0.1, inf, nan, 0xffc00000]>',
    '  %f16 = const f16[5] dense<[0.1, 65500.0, -inf, 6e-8, 0x7e01]>',
    '  %bf16 = const bf16[3] dense<[0.1, 3.39e38, nan]>',
    '  %f64 = const f64[4] dense<[0.1, 1e-300, 1.7976931348623157e308, 0x7ff8000000000001]>',
    '  %i8 = const i8[2] dense<[-128, 127]>',
    '  %u8 = const u8[2] dense<[0, 255]>',
    '  %i16 = const i16[2] dense<[-32768, 32767]>',
    '  %u16 = const u16[1] dense<[65535]>',
    '  %i32 = const i32[2] dense<[-2147483648, 2147483647]>',
    '  %u32 = const u32[1] dense<[4294967295]>',
    '  %i64 = const i64[3] dense<[-9223372036854775808, 9223372036854775807, 0]>',
    '  %u64 = const u64[1] dense<[18446744073709551615]>',
    '  %bool = const bool[2,1] dense<[true, false]>',
    '  %str = const str[3] dense<["", "a\\tb", "\\"x\\""]>',
    '  %i4 = const i4[2] dense<[-8, 7]>',
    '  %u4 = const u4[2] dense<[0, 15]>',
    '  %i2 = const i2[2] dense<[-2, 1]>',
    '  %u2 = const u2[2] dense<[0, 3]>',
    '  %scalar = const f32[] dense<2.5>',
    '  %empty = const i64[0,3] dense<[]>',
    '  %one = const i32[1] dense<[7]>',
    '  return',
    '}',
  ]);
  const g = roundTrip(text);
  const data = (name: string) => g.constants.find((c) => c.name === name)!.data!.data;
  const f32 = data('f32') as Float32Array;
  assert.equal(Array.from(f32.slice(0, 4)), [1, -0, Math.fround(0.1), Infinity]);
  assert.ok(Object.is(f32[1], -0) && Number.isNaN(f32[4]));
  assert.is(new Uint32Array(f32.buffer)[5], 0xffc00000);
  assert.equal(Array.from(data('f16') as Uint16Array), [0x2e66, 0x7bff, 0xfc00, 0x0001, 0x7e01]);
  assert.equal(Array.from(data('bf16') as Uint16Array).slice(0, 2), [0x3dcd, 0x7f7f]);
  const f64 = data('f64') as Float64Array;
  assert.equal(Array.from(f64.slice(0, 3)), [0.1, 1e-300, Number.MAX_VALUE]);
  assert.is(new BigUint64Array(f64.buffer)[3], 0x7ff8000000000001n);
  assert.equal(Array.from(data('i64') as BigInt64Array), [-(2n ** 63n), 2n ** 63n - 1n, 0n]);
  assert.equal(Array.from(data('u64') as BigUint64Array), [2n ** 64n - 1n]);
  assert.equal(Array.from(data('bool') as Uint8Array), [1, 0]);
  assert.equal(data('str'), ['', 'a\tb', '"x"']);
  assert.equal(Array.from(data('i4') as Int8Array), [-8, 7]);
  assert.equal(Array.from(data('u2') as Uint8Array), [0, 3]);
  const scalar = g.constants.find((c) => c.name === 'scalar')!;
  assert.equal(scalar.data!.shape, []);
  assert.equal(g.constants.find((c) => c.name === 'empty')!.data!.shape, [0, 3]);
  for (const c of g.constants) assert.is(c.hash, tensorHash(c.data!), c.name);
});

test('float8 and float4 constants round-trip (decoded when a codec exists, hex codes otherwise)', () => {
  for (const dtype of ['f8e4m3fn', 'f8e4m3fnuz', 'f8e5m2', 'f8e5m2fnuz', 'f8e8m0', 'f4e2m1'] as const) {
    const n = dtype === 'f4e2m1' ? 16 : 256;
    for (let start = 0; start < n; start += 16) {
      const codes = Uint8Array.from({ length: 16 }, (_, i) => start + i);
      const c = { name: 'c', type: { dtype, shape: [16] }, data: new Tensor(dtype, [16], codes) };
      const g: Graph = { name: 'g', inputs: [], outputs: [], nodes: [], constants: [{ ...c, hash: tensorHash(c.data) }] };
      const text = printGraph(g);
      assert.is(graphDiff(g, parseGraph(text)), undefined, `${dtype} ${text}`);
      assert.is(printGraph(parseGraph(text)), text);
    }
  }
});

test('every f16 and bf16 code round-trips through its printed value', () => {
  for (const dtype of ['f16', 'bf16'] as const) {
    for (let start = 0; start < 65536; start += 16) {
      const codes = Uint16Array.from({ length: 16 }, (_, i) => start + i);
      const data = new Tensor(dtype, [16], codes);
      const g: Graph = { name: 'g', inputs: [], outputs: [], nodes: [], constants: [{ name: 'c', type: { dtype, shape: [16] }, hash: tensorHash(data), data }] };
      const back = parseGraph(printGraph(g)).constants[0].data!.data as Uint16Array;
      for (let i = 0; i < 16; i++) if (back[i] !== codes[i]) assert.unreachable(`${dtype} code ${codes[i]} came back as ${back[i]}`);
    }
  }
  const g = parseGraph('kiln.graph @g() -> () {\n  %h = const f16[2] dense<[0x3c00, 0x7e00]>\n  return\n}\n');
  assert.match(printGraph(g), 'dense<[1.0, nan]>');
});

test('random f32 and f64 bit patterns in constants round-trip bit-exactly', () => {
  let seed = 99;
  const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0);
  for (let k = 0; k < 200; k++) {
    const f = new Float32Array(16);
    new Uint32Array(f.buffer).forEach((_, i, a) => { a[i] = rnd(); });
    const d = new Float64Array(16);
    new Uint32Array(d.buffer).forEach((_, i, a) => { a[i] = rnd(); });
    const t32 = new Tensor('f32', [4, 4], f), t64 = new Tensor('f64', [2, 8], d);
    const g: Graph = {
      name: 'g', inputs: [], outputs: [], nodes: [],
      constants: [{ name: 'a', type: { dtype: 'f32', shape: [4, 4] }, hash: tensorHash(t32), data: t32 },
        { name: 'b', type: { dtype: 'f64', shape: [2, 8] }, hash: tensorHash(t64), data: t64 }],
    };
    const text = printGraph(g);
    assert.is(graphDiff(g, parseGraph(text)), undefined, text);
  }
});

test('large constants and tensor attributes print by hash and come back from weights', () => {
  const big = Tensor.fromNumbers('f32', [4, 5], Array.from({ length: 20 }, (_, i) => i / 3));
  const bigAttr = Tensor.fromNumbers('i32', [17], Array.from({ length: 17 }, (_, i) => i));
  const g: Graph = {
    name: 'weights', inputs: [{ name: 'x', type: { dtype: 'f32', shape: [4, 5] } }], outputs: ['y'],
    constants: [{ name: 'w', type: { dtype: 'f32', shape: [4, 5] }, hash: tensorHash(big), data: big }],
    nodes: [{ op: 'Add', inputs: ['x', 'w'], outputs: ['y'], types: [{ dtype: 'f32', shape: [4, 5] }], attrs: { t: { kind: 'tensor', value: bigAttr } }, loc: [] }],
  };
  const text = printGraph(g);
  assert.match(text, `%w = const f32[4,5] #${tensorHash(big).slice(0, 16)}\n`);
  assert.match(text, `{t=dense<i32[17] #${tensorHash(bigAttr).slice(0, 16)}>}`);
  const full = parseGraph(text, { weights: weightsOf(g) });
  assert.is(graphDiff(g, full), undefined);
  assert.is(full.constants[0].data, big);
  // keys may also be 16-hex prefixes
  const short = new Map([...weightsOf(g)].map(([k, t]) => [k.slice(0, 16), t]));
  assert.is(graphDiff(g, parseGraph(text, { weights: short })), undefined);
  // without weights: the constant keeps the short hash and no data; the attribute cannot exist
  const noAttr: Graph = { ...g, nodes: [{ ...g.nodes[0], attrs: {} }] };
  const bare = parseGraph(printGraph(noAttr));
  assert.is(bare.constants[0].hash, tensorHash(big).slice(0, 16));
  assert.is(bare.constants[0].data, undefined);
  assert.is(printGraph(bare), printGraph(noAttr));
  assert.throws(() => parseGraph(text), /tensor attribute #[0-9a-f]{16} is not in the weights/);
});

test('quoted names, symbolic dims, omitted outputs, zero-output nodes and comments', () => {
  const text = kir([
    'kiln.graph @"my model/v2"(%"in put:0": f32[N,"batch size",3], %a.b$c-d: i64[]) -> (%"out/0": f32[N,"batch size",3], %a.b$c-d: i64[]) {',
    '  %"odd \\"c\\"" = const str[] dense<"s">',
    '  %"out/0", _, %"m:1" = "const"(%"in put:0", _, _) {"attr name"=1} : f32[N,"batch size",3], f32[1], bool[_dim,x.y,"3"] loc("")',
    '  () = Print(%"m:1") : ()',
    '  return %"out/0", %a.b$c-d',
    '}',
  ]);
  const g = roundTrip(text);
  assert.is(g.name, 'my model/v2');
  assert.equal(g.inputs[0].type.shape, ['N', 'batch size', 3]);
  assert.is(g.constants[0].name, 'odd "c"');
  const n = g.nodes[0];
  assert.is(n.op, 'const');
  assert.equal(n.outputs, ['out/0', '', 'm:1']);
  assert.equal(n.inputs, ['in put:0', '', '']);
  assert.equal(n.types[2].shape, ['_dim', 'x.y', '3']);
  assert.equal(n.loc, ['']);
  assert.equal(Object.keys(n.attrs), ['attr name']);
  assert.equal(g.nodes[1].outputs, []);
  assert.equal(g.nodes[1].types, []);

  const commented = kir([
    '// a comment line',
    'kiln.graph @c(%x: f32[2]) -> (%y: f32[2]) { // trailing',
    '  %y = Relu(%x) {s="not // a comment"} : f32[2]   // note',
    '  return %y',
    '}',
  ]);
  const c = parseGraph(commented);
  assert.equal(c.nodes[0].attrs.s, { kind: 'string', value: 'not // a comment' });
  assert.is(printGraph(c), kir(['kiln.graph @c(%x: f32[2]) -> (%y: f32[2]) {', '  %y = Relu(%x) {s="not // a comment"} : f32[2]', '  return %y', '}']));
});

test('printNode and printType', () => {
  assert.is(printType({ dtype: 'f32', shape: [] }), 'f32[]');
  assert.is(printType({ dtype: 'bf16', shape: ['N', 4, 'seq len'] }), 'bf16[N,4,"seq len"]');
  assert.is(printNode({ op: 'Relu', inputs: ['x'], outputs: ['0'], types: [{ dtype: 'f32', shape: [2] }], attrs: {}, loc: ['/r'] }),
    '%0 = Relu(%x) : f32[2] loc("/r")');
  assert.is(printNode({ op: 'A', inputs: [], outputs: ['y'], types: [{ dtype: 'f32', shape: [] }], attrs: { b: { kind: 'int', value: 1 }, a: { kind: 'string', value: 'z' } }, loc: ['p', 'q'] }),
    '%y = A() {a="z", b=1} : f32[] loc(fused["p", "q"])');
});

test('hand-written text normalises to the canonical form', () => {
  const g = parseGraph('kiln.graph @g(%x:f32[ 2 ])->(%y:f32[2]){%y=Mul(%x,%x){b=[1,2],a=0.50,c=1E+2}:f32[2] loc(fused["p"]) return %y}');
  assert.is(printGraph(g), kir(['kiln.graph @g(%x: f32[2]) -> (%y: f32[2]) {', '  %y = Mul(%x, %x) {a=0.5, b=[1, 2], c=100.0} : f32[2] loc("p")', '  return %y', '}']));
});

test.run();
