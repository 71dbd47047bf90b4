/**
 * The WGSL descriptor on hand-built kernels: each is rendered with renderKernelModule(wgsl({ f16 }), k),
 * compiled by Dawn (no compilation errors allowed), run over real buffers and its results checked: a
 * loop nest with a guard, accumulators of every combine, constant tables (scalar and index), a private
 * array, a launched kernel (grid/block loops, a shared buffer and barriers: a workgroup tree sum),
 * i64 buffers (arithmetic, a gather through i64 indices), bool/u8 buffers (widened storage, wrapping),
 * vec4 lanes and f16 (where the adapter has shader-f16). Rendering alone checks the refusals (f64,
 * lanes > 4, f16 without shader-f16) and the header (no helpers a kernel does not use).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { DType } from '../../compiler/ir/dtype.ts';
import {
  type BufferDecl, type Index, type Kernel, type Scalar, type Stmt, binary, broadcast, cast, iadd, ic, imul, iv, lit, load, loop, ref, select, vload,
} from '../../compiler/codegen/kir.ts';
import { wgsl, wgslVectorParams } from '../../compiler/codegen/lang/wgsl.ts';
import { renderKernelModule, renderProgram } from '../../compiler/codegen/render.ts';
import { narrowFloatCodec } from '../../compiler/ir/floatbits.ts';
import { compileWgsl, runWgsl, testGpu } from './wgsl-run.ts';
import '../../compiler/ops/all.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { PassManager } from '../../compiler/passes/manager.ts';
import { lowerGraph } from '../../compiler/codegen/lower/index.ts';
import { goldenCases, runStages } from './golden.ts';

const buf = (name: string, dtype: DType, count: number, role: BufferDecl['role']): BufferDecl => ({ name, dtype, count, role });
const kernel = (name: string, params: BufferDecl[], body: Stmt[], extra: Partial<Kernel> = {}): Kernel =>
  ({ name, params, shared: [], body, nodes: ['n0'], loc: ['test'], ...extra });
const store = (buffer: string, index: Index, value: Scalar): Stmt => ({ k: 'store', buffer, index, value });

/** Renders, compiles and runs `k` on `data` (one typed array per param), returning the buffers after (undefined: no device). */
async function run(k: Kernel, data: ArrayBufferView[], f16 = false, groups: [number, number, number] = [1, 1, 1]): Promise<ArrayBuffer[] | undefined> {
  const gpu = await testGpu(k.name);
  if (!gpu) return undefined;
  const code = renderKernelModule(wgsl({ f16 }), k);
  return runWgsl(gpu.device, code, k.name, data, groups);
}

test('a loop nest with a guard (a shifted copy, zero at the edge)', async () => {
  const body = [loop('i', 3, [loop('j', 4, [{ k: 'guard', bounds: [{ index: iadd(iv('j'), ic(-1)), extent: 4 }], body: [
    store('y', iadd(imul(iv('i'), ic(4)), iv('j')), binary('mul', load('x', iadd(imul(iv('i'), ic(4)), iadd(iv('j'), ic(-1))), 'f32'), lit(2, 'f32'))),
  ] } as Stmt])])];
  const k = kernel('shift', [buf('x', 'f32', 12, 'input'), buf('y', 'f32', 12, 'output')], body);
  const code = renderKernelModule(wgsl({ f16: false }), k);
  assert.match(code, 'for (var i: i32 = 0; i < 3; i++) {');
  assert.match(code, 'if (j - 1 >= 0 && j - 1 < 4) {');
  assert.not.match(code, 'kiln_'); // no helper is used, none is written
  const out = await run(k, [Float32Array.from({ length: 12 }, (_, i) => i), new Float32Array(12)]);
  if (!out) return;
  assert.equal([...new Float32Array(out[1])], [0, 0, 2, 4, 0, 8, 10, 12, 0, 16, 18, 20]);
});

test('accumulators of every combine (NaN propagates through max/min)', async () => {
  const combines = ['add', 'mul', 'max', 'min'] as const;
  const init = { add: 0, mul: 1, max: -Infinity, min: Infinity };
  const body: Stmt[] = [loop('r', 2, combines.flatMap((c, q): Stmt[] => [
    { k: 'acc', name: `a${q}`, dtype: 'f32', combine: c, init: lit(init[c], 'f32') },
    loop('j', 4, [{ k: 'accum', name: `a${q}`, value: load('x', iadd(imul(iv('r'), ic(4)), iv('j')), 'f32') }]),
    store('y', iadd(imul(iv('r'), ic(4)), ic(q)), ref(`a${q}`, 'f32')),
  ]))];
  const k = kernel('accs', [buf('x', 'f32', 8, 'input'), buf('y', 'f32', 8, 'output')], body);
  const out = await run(k, [Float32Array.from([1, -2, 3, 0.5, 2, NaN, -1, 4]), new Float32Array(8)]);
  if (!out) return;
  const y = [...new Float32Array(out[1])];
  assert.equal(y.slice(0, 4), [2.5, -3, 3, -2]);
  assert.ok(y.slice(4).every(Number.isNaN), `row with NaN: ${y.slice(4)}`);
});

test('constant tables: a scalar table and an index table (module-scope const arrays), NaN/-0/Inf (a function)', async () => {
  const ti = { k: 'table' as const, values: [2, 0, 1], index: iv('i') };
  const special = { k: 'table' as const, dtype: 'f32' as const, values: [NaN, -0, -Infinity], index: iv('i') };
  const body = [loop('i', 3, [store('y', iv('i'), binary('add', { k: 'table', dtype: 'f32', values: [1.5, 2.5, -3], index: iv('i') }, load('x', ti, 'f32'))),
    store('z', iv('i'), special)])];
  const k = kernel('tables', [buf('x', 'f32', 3, 'input'), buf('y', 'f32', 3, 'output'), buf('z', 'f32', 3, 'output')], body);
  const code = renderKernelModule(wgsl({ f16: false }), k);
  assert.match(code, 'const kiln_t0 = array<f32, 3>(1.5f, 2.5f, (-3.0f));');
  assert.match(code, 'const kiln_t1 = array<i32, 3>(2i, 0i, 1i);');
  assert.match(code, 'fn kiln_t2(i: i32) -> f32 { var t = array<f32, 3>(kiln_f32_bits(0x7fc00000u)');
  const out = await run(k, [Float32Array.from([10, 20, 30]), new Float32Array(3), new Float32Array(3)]);
  if (!out) return;
  assert.equal([...new Float32Array(out[1])], [31.5, 12.5, 17]);
  const z = [...new Float32Array(out[2])];
  assert.ok(Number.isNaN(z[0]) && Object.is(z[1], -0) && z[2] === -Infinity, `special table: ${z}`);
});

test('a private array (local): filled, then read reversed', async () => {
  const body: Stmt[] = [{ k: 'local', name: 'tmp', dtype: 'f32', count: 4 },
    loop('j', 4, [store('tmp', iv('j'), binary('mul', load('x', iv('j'), 'f32'), { k: 'index', dtype: 'f32', index: iv('j') }))]),
    loop('j', 4, [store('y', iv('j'), load('tmp', iadd(imul(iv('j'), ic(-1)), ic(3)), 'f32'))])];
  const k = kernel('local', [buf('x', 'f32', 4, 'input'), buf('y', 'f32', 4, 'output')], body);
  assert.match(renderKernelModule(wgsl({ f16: false }), k), 'var tmp: array<f32, 4>;');
  const out = await run(k, [Float32Array.from([1, 2, 3, 4]), new Float32Array(4)]);
  if (!out) return;
  assert.equal([...new Float32Array(out[1])], [12, 6, 2, 0]);
});

test('a launched kernel: workgroup tree sum over grid/block loops, shared memory and barriers', async () => {
  const G = 4, B = 64;
  const steps: Stmt[] = [];
  for (let s = B / 2; s >= 1; s /= 2) {
    steps.push({ k: 'guard', bounds: [{ index: iv('t'), extent: s }], body: [
      store('sh', iv('t'), binary('add', load('sh', iv('t'), 'f32'), load('sh', iadd(iv('t'), ic(s)), 'f32'))),
    ] }, { k: 'barrier' });
  }
  const body = [loop('g', G, [loop('t', B, [
    store('sh', iv('t'), load('x', iadd(imul(iv('g'), ic(B)), iv('t')), 'f32')), { k: 'barrier' }, ...steps,
    { k: 'guard', bounds: [{ index: iv('t'), extent: 1 }], body: [store('y', iv('g'), load('sh', ic(0), 'f32'))] },
  ], [{ kind: 'block', axis: 0 }])], [{ kind: 'grid', axis: 0 }])];
  const k = kernel('treesum', [buf('x', 'f32', G * B, 'input'), buf('y', 'f32', G, 'output')], body,
    { shared: [buf('sh', 'f32', B, 'shared')], launch: { grid: [G, 1, 1], block: [B, 1, 1] } });
  const code = renderKernelModule(wgsl({ f16: false }), k);
  assert.match(code, '@compute @workgroup_size(64, 1, 1)');
  assert.match(code, 'var<workgroup> sh: array<f32, 64>;');
  assert.match(code, '{ let g: i32 = i32(wid.x);');
  assert.match(code, 'workgroupBarrier();');
  const x = Float32Array.from({ length: G * B }, (_, i) => (i % 7) - 2);
  const out = await run(k, [x, new Float32Array(G)], false, [G, 1, 1]);
  if (!out) return;
  const want = Array.from({ length: G }, (_, g) => x.slice(g * B, (g + 1) * B).reduce((a, b) => a + b, 0));
  assert.equal([...new Float32Array(out[1])], want);
});

test('i64 buffers: 64-bit arithmetic and a gather through i64 indices', async () => {
  const body = [loop('i', 4, [
    store('y', iv('i'), binary('add', binary('mul', load('a', iv('i'), 'i64'), lit(3, 'i64')), lit(-5, 'i64'))),
    store('q', iv('i'), binary('div', load('a', iv('i'), 'i64'), lit(-7, 'i64'))),
    store('g', iv('i'), load('d', { k: 'load', buffer: 'idx', index: iv('i') }, 'f32')),
  ])];
  const k = kernel('i64', [buf('a', 'i64', 4, 'input'), buf('idx', 'i64', 4, 'input'), buf('d', 'f32', 4, 'input'),
    buf('y', 'i64', 4, 'output'), buf('q', 'i64', 4, 'output'), buf('g', 'f32', 4, 'output')], body);
  const code = renderKernelModule(wgsl({ f16: false }), k);
  assert.match(code, 'var<storage, read_write> a: array<vec2<u32>>;');
  assert.match(code, 'bitcast<i32>(idx[i].x)');
  const a = BigInt64Array.from([1n, -(2n ** 40n) - 3n, 2n ** 61n + 12345n, -1n]);
  const out = await run(k, [a, BigInt64Array.from([3n, 0n, 2n, 1n]), Float32Array.from([10, 11, 12, 13]),
    new BigInt64Array(4), new BigInt64Array(4), new Float32Array(4)]);
  if (!out) return;
  assert.equal([...new BigInt64Array(out[3])], [...a].map((v) => BigInt.asIntN(64, v * 3n - 5n)));
  assert.equal([...new BigInt64Array(out[4])], [...a].map((v) => v / -7n));
  assert.equal([...new Float32Array(out[5])], [13, 10, 12, 11]);
});

test('bool and u8 buffers: widened storage, wrapping u8 arithmetic, bool stores', async () => {
  const sum = binary('add', load('u', iv('i'), 'u8'), load('v', iv('i'), 'u8'));
  const body = [loop('i', 4, [
    store('y', iv('i'), select(load('m', iv('i'), 'bool'), sum, lit(7, 'u8'))),
    store('b', iv('i'), binary('gt', sum, lit(100, 'u8'))),
    store('s', iv('i'), cast(cast(load('u', iv('i'), 'u8'), 'i32'), 'i8')),
  ])];
  const k = kernel('narrow', [buf('m', 'bool', 4, 'input'), buf('u', 'u8', 4, 'input'), buf('v', 'u8', 4, 'input'),
    buf('y', 'u8', 4, 'output'), buf('b', 'bool', 4, 'output'), buf('s', 'i8', 4, 'output')], body);
  const code = renderKernelModule(wgsl({ f16: false }), k);
  assert.match(code, '(m[i] != 0u)');
  assert.match(code, 'b[i] = select(0u, 1u, ');
  const out = await run(k, [Uint32Array.from([1, 0, 1, 1]), Uint32Array.from([200, 1, 50, 255]), Uint32Array.from([100, 2, 60, 1]),
    new Uint32Array(4), new Uint32Array(4), new Int32Array(4)]);
  if (!out) return;
  assert.equal([...new Uint32Array(out[3])], [44, 7, 110, 0]);
  assert.equal([...new Uint32Array(out[4])], [0, 0, 1, 0]);
  assert.equal([...new Int32Array(out[5])], [-56, 1, 50, -1]);
});

test('vec4 lanes: unaligned vector loads, broadcast, lanewise arithmetic, vector stores', async () => {
  const v = binary('add', binary('mul', vload('x', iadd(imul(iv('i'), ic(4)), ic(1)), 'f32', 4), broadcast(lit(2, 'f32'), 4)), broadcast(load('x', ic(0), 'f32'), 4));
  const k = kernel('vec', [buf('x', 'f32', 9, 'input'), buf('y', 'f32', 8, 'output')], [loop('i', 2, [store('y', imul(iv('i'), ic(4)), v)])]);
  assert.match(renderKernelModule(wgsl({ f16: false }), k), 'vec4<f32>(x[i * 4 + 1], x[(i * 4 + 1) + 1]');
  const out = await run(k, [Float32Array.from([100, 1, 2, 3, 4, 5, 6, 7, 8]), new Float32Array(8)]);
  if (!out) return;
  assert.equal([...new Float32Array(out[1])], [102, 104, 106, 108, 110, 112, 114, 116]);
});

test('aligned vector loads: a param read by them is an array of vec4 (scalar reads take a component); one not a whole number of vectors, or stored, reads lane by lane', async () => {
  // y[4i + l] = x[4i + l] + x[0] + z[4i + l]: x (8 elements) is a vector param, z (9) is not
  const v = binary('add', vload('x', imul(iv('i'), ic(4)), 'f32', 4, true), broadcast(load('x', ic(0), 'f32'), 4));
  const w = binary('add', v, vload('z', imul(iv('i'), ic(4)), 'f32', 4, true));
  const k = kernel('vecparams', [buf('x', 'f32', 8, 'input'), buf('z', 'f32', 9, 'input'), buf('y', 'f32', 8, 'output')], [loop('i', 2, [store('y', imul(iv('i'), ic(4)), w)])]);
  assert.equal([...wgslVectorParams(k)], [['x', 4]]);
  const code = renderKernelModule(wgsl({ f16: false }), k);
  assert.match(code, 'var<storage, read_write> x: array<vec4<f32>>;');
  assert.match(code, 'var<storage, read_write> z: array<f32>;');
  assert.match(code, 'x[(i * 4) / 4]');
  assert.match(code, 'x[(0) / 4][(0) % 4]');
  assert.match(code, 'vec4<f32>(z[i * 4], z[(i * 4) + 1]');
  const out = await run(k, [Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), Float32Array.from([10, 20, 30, 40, 50, 60, 70, 80, 90]), new Float32Array(8)]);
  if (!out) return;
  assert.equal([...new Float32Array(out[2])], [12, 23, 34, 45, 56, 67, 78, 89]);
  // a param the kernel stores keeps scalar storage (a component write could touch its neighbours)
  const inPlace = kernel('inplace', [buf('x', 'f32', 8, 'output')], [loop('i', 2, [store('x', imul(iv('i'), ic(4)), vload('x', imul(iv('i'), ic(4)), 'f32', 4, true))])]);
  assert.equal([...wgslVectorParams(inPlace)], []);
});

test('f16 buffers with shader-f16: computed in f32, stored rounded, overflow to inf', async () => {
  const gpu = await testGpu('f16');
  if (!gpu) return;
  if (!gpu.f16) { console.log('  (f16 kernel skipped: the adapter has no shader-f16)'); return; }
  const F16 = narrowFloatCodec('f16');
  const body = [loop('i', 4, [store('y', iv('i'), cast(binary('mul', cast(load('x', iv('i'), 'f16'), 'f32'), lit(1000, 'f32')), 'f16'))])];
  const k = kernel('half', [buf('x', 'f16', 4, 'input'), buf('y', 'f16', 4, 'output')], body);
  const code = renderKernelModule(wgsl({ f16: true }), k);
  assert.match(code, 'enable f16;');
  const x = [0.1, -2.5, 70, 1e-3];
  const out = await run(k, [Uint16Array.from(x.map((v) => F16.encode(v, false))), new Uint16Array(4)], true);
  if (!out) return;
  const want = x.map((v) => F16.decode(F16.encode(Math.fround(F16.decode(F16.encode(v, false)) * 1000), false)));
  assert.equal([...new Uint16Array(out[1])].map((c) => F16.decode(c)), want);
});

test('f16 arithmetic without widening: native ops, math through f32, NaN-propagating max, sign of -0, casts', async () => {
  const gpu = await testGpu('f16 ops');
  if (!gpu) return;
  if (!gpu.f16) { console.log('  (f16 ops skipped: the adapter has no shader-f16)'); return; }
  const F16 = narrowFloatCodec('f16');
  const r16 = (v: number) => F16.decode(F16.encode(v, false));
  const x = [-2.5, 0.5, NaN, -0, 3, 60000];
  const X = load('x', iv('i'), 'f16');
  const exprs: [string, ReturnType<typeof lit>, (v: number) => number][] = [
    ['add', binary('add', X, X), (v) => v + v],
    ['max', binary('max', lit(1, 'f16'), X), (v) => (v > 1 || Number.isNaN(v) ? v : 1)],
    ['sign', { k: 'unary', dtype: 'f16', op: 'sign', a: X }, (v) => (v > 0 ? 1 : v < 0 ? -1 : v)],
    ['exp', { k: 'unary', dtype: 'f16', op: 'exp', a: X }, Math.exp],
    ['fmod', binary('fmod', X, lit(2, 'f16')), (v) => v % 2],
    ['pow', binary('pow', X, lit(2, 'f16')), (v) => v * v],
    ['i32', cast(cast(X, 'i32'), 'f16'), (v) => (Number.isFinite(v) && Math.abs(v) < 2 ** 31 ? Math.trunc(v) || 0 : -(2 ** 31))],
  ];
  const k = kernel('halfops', [buf('x', 'f16', x.length, 'input'), ...exprs.map(([n]) => buf(`y_${n}`, 'f16', x.length, 'output'))],
    [loop('i', x.length, exprs.map(([n, e]) => store(`y_${n}`, iv('i'), e)))]);
  const code = renderKernelModule(wgsl({ f16: true }), k);
  assert.match(code, 'fn kiln_max_f16(');
  const out = await run(k, [Uint16Array.from(x.map((v) => F16.encode(v, false))), ...exprs.map(() => new Uint16Array(x.length))], true);
  if (!out) return;
  exprs.forEach(([n, , want], q) => {
    const got = [...new Uint16Array(out[q + 1])].map((c) => F16.decode(c));
    x.forEach((v, i) => {
      const w = r16(want(r16(v)));
      const ok = Number.isNaN(w) ? Number.isNaN(got[i]) : w === 0 || !Number.isFinite(w) ? Object.is(got[i], w) : Math.abs(got[i] - w) <= 2e-3 * Math.abs(w);
      assert.ok(ok, `${n}(${v}): got ${got[i]}, want ${w}`);
    });
  });
});

test('literals at the edges compile and keep their values (subnormals, extremes, -0, non-finite, 64-bit)', async () => {
  const F32 = [1e-45, -1e-45, 1.1754942e-38, 3.4028234663852886e38, -3.4028234663852886e38, -0, NaN, Infinity, -Infinity, 0.1, 1e39];
  const I32 = [-2147483648, 2147483647, -1, 0];
  const U32 = [4294967295, 0, 2147483648];
  const I64 = [-(2 ** 63), 2 ** 63, 2 ** 53 + 2, -1];
  const U64 = [2 ** 64, 2 ** 40, -1];
  const st = (b: string, values: number[], d: DType) => values.map((v, i) => store(b, ic(i), lit(v, d)));
  const k = kernel('lits', [buf('f', 'f32', F32.length, 'output'), buf('i', 'i32', 4, 'output'), buf('u', 'u32', 3, 'output'),
    buf('l', 'i64', 4, 'output'), buf('m', 'u64', 3, 'output')],
  [...st('f', F32, 'f32'), ...st('i', I32, 'i32'), ...st('u', U32, 'u32'), ...st('l', I64, 'i64'), ...st('m', U64, 'u64')]);
  const out = await run(k, [new Float32Array(F32.length), new Int32Array(4), new Uint32Array(3), new BigInt64Array(4), new BigUint64Array(3)]);
  if (!out) return;
  const f = [...new Float32Array(out[0])];
  F32.forEach((v, i) => assert.ok(Object.is(f[i], Math.fround(v)), `f32 literal ${v}: got ${f[i]}`));
  assert.equal([...new Int32Array(out[1])], I32);
  assert.equal([...new Uint32Array(out[2])], U32);
  assert.equal([...new BigInt64Array(out[3])], [-(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n + 2n, -1n]); // 2^63 saturates to INT64_MAX
  assert.equal([...new BigUint64Array(out[4])], [2n ** 64n - 1n, 2n ** 40n, 2n ** 64n - 1n]);
});

test('refusals: f64, more than 4 lanes, f16 without shader-f16, storage-only dtypes, reserved names', () => {
  const f64 = kernel('f64', [buf('x', 'f64', 4, 'input'), buf('y', 'f64', 4, 'output')], [loop('i', 4, [store('y', iv('i'), load('x', iv('i'), 'f64'))])]);
  assert.throws(() => renderKernelModule(wgsl({ f16: true }), f64), /WGSL has no f64/);
  const wide = kernel('wide', [buf('x', 'f32', 8, 'input'), buf('y', 'f32', 8, 'output')], [store('y', ic(0), vload('x', ic(0), 'f32', 8))]);
  assert.throws(() => renderKernelModule(wgsl({ f16: true }), wide), /8-lane/);
  const half = kernel('half', [buf('x', 'f16', 4, 'input'), buf('y', 'f16', 4, 'output')], [loop('i', 4, [store('y', iv('i'), load('x', iv('i'), 'f16'))])]);
  assert.throws(() => renderKernelModule(wgsl({ f16: false }), half), /the adapter has no shader-f16/);
  const named = kernel('k', [buf('exp', 'f32', 1, 'output')], [store('exp', ic(0), lit(1, 'f32'))]);
  assert.throws(() => renderKernelModule(wgsl({ f16: false }), named), /cannot name a kernel or buffer 'exp'/);
  const keyword = kernel('k', [buf('y', 'f32', 1, 'output')], [loop('ref', 1, [store('y', iv('ref'), lit(1, 'f32'))])]);
  assert.throws(() => renderKernelModule(wgsl({ f16: false }), keyword), /'ref'/);
  for (const d of ['bf16', 'f8e4m3fn', 'i4'] as const) {
    const k = kernel('n', [buf('x', d, 1, 'input'), buf('y', 'f32', 1, 'output')], [store('y', ic(0), cast(load('x', ic(0), d), 'f32'))]);
    assert.throws(() => renderKernelModule(wgsl({ f16: true }), k), new RegExp(`WGSL has no ${d}`));
  }
});

test('a program: helpers only where used, the entry as comments', () => {
  const a = kernel('ka', [buf('x', 'i64', 2, 'input'), buf('y', 'i64', 2, 'output')], [loop('i', 2, [store('y', iv('i'), binary('mul', load('x', iv('i'), 'i64'), load('x', iv('i'), 'i64')))])]);
  const b = kernel('kb', [buf('x', 'f32', 2, 'input'), buf('y', 'f32', 2, 'output')], [loop('i', 2, [store('y', iv('i'), binary('max', load('x', iv('i'), 'f32'), lit(0, 'f32')))])]);
  const text = renderProgram(wgsl({ f16: false }), { name: 'p', buffers: [], kernels: [a, b], calls: [{ kernel: 'ka', args: ['u', 'v'] }, { kernel: 'kb', args: ['w', 'z'] }] });
  assert.match(text, 'fn kiln_mul64(');
  assert.match(text, 'fn kiln_mul32w(');
  assert.match(text, 'fn kiln_max_f32(');
  assert.not.match(text, 'fn kiln_div_i64(');
  assert.not.match(text, 'enable f16;');
  assert.match(text, '//   ka(%u, %v)');
  const onlyB = renderKernelModule(wgsl({ f16: false }), b);
  assert.not.match(onlyB, 'kiln_mul64');
});

test('every kernel of the codegen goldens renders to WGSL Dawn compiles, or is refused for a stated reason', async () => {
  const gpu = await testGpu('goldens: rendered, not compiled');
  const lang = wgsl({ f16: gpu?.f16 ?? true });
  let compiled = 0;
  const refused: string[] = [];
  for (const c of goldenCases('test/codegen')) {
    const { pipeline, vectorBits } = runStages(c.pipeline, c.name);
    let graph = parseGraph(c.text, { file: c.file });
    if (pipeline) {
      const results = new PassManager({ target: c.target, verify: true, numericCheck: false }).run(graph, pipeline);
      if (results.length) graph = results[results.length - 1].graph;
    }
    for (const k of lowerGraph(graph, { target: { vectorBits } }).program.kernels) {
      let code: string;
      try { code = renderKernelModule(lang, k); } catch (e) {
        const m = (e as Error).message;
        // f64 and the storage-only dtypes have no WGSL type; CPU lowerings for AVX2/AVX-512 use 8 or 16 lanes
        assert.match(m, /^WGSL has no (f64|bf16|f8\w+|[iu][24]|(8|16)-lane vectors)/, `${c.name} ${k.name}`);
        refused.push(`${c.name} ${k.name}: ${m}`);
        continue;
      }
      if (gpu) { await compileWgsl(gpu.device, code); compiled++; }
    }
  }
  console.log(`  ${compiled} golden kernels compiled, ${refused.length} refused (f64, storage-only dtypes, > 4 lanes)`);
  assert.ok(!gpu || compiled > 80, `only ${compiled} compiled`);
});

test.run();
