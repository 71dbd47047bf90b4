/**
 * The GPU simulator (compiler/codegen/gpu/simulate.ts) runs GPU kernel IR on the host as a GPU would.
 * Graph level: small graphs compiled for CUDA (compileCudaSource) through each mapping mode (the SIMT
 * GEMM and implicit-GEMM convolution templates with shared memory and barriers, workgroup reductions,
 * vector and scalar thread-per-element kernels) and through the tensor-core template (f16, tf32), all
 * launches simulated, match the reference executor. `mma`: hand-built one- and two-warp kernels whose
 * fragments follow index formulas written here from the PTX ISA's fragment tables (not from
 * mma-layout.ts, so the layout is not tested against itself) give A·B + C of a plain JS matmul,
 * including tf32's round-to-nearest-ties-away. Errors: an out-of-bounds read and a warp where one
 * thread skips the mma are errors naming the kernel and what went wrong; a barrier is what makes a
 * shared-memory exchange correct (without it the simulator reads uninitialised, NaN, memory).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../../compiler/ops/all.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { PassManager } from '../../compiler/passes/manager.ts';
import { defaultPipeline } from '../../compiler/passes/index.ts';
import { zooModel } from '../../compiler/zoo/index.ts';
import '../../compiler/passes/all.ts';
import { type Tensor, readNumbers } from '../../compiler/ir/tensor.ts';
import { f16BitsToF32, f32ToF16Bits } from '../../compiler/ir/floatbits.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { randomInputs } from '../../compiler/runtime/inputs.ts';
import { type CudaSourceOptions, compileCudaSource } from '../../compiler/runtime/cuda/compile.ts';
import {
  type BufferDecl, type Index, type Kernel, type Scalar, type Stmt,
  binary, broadcast, cast, iadd, ic, idiv, imod, imul, iv, lane, lit, load, loop, unary, vload, vref,
} from '../../compiler/codegen/kir.ts';
import { verifyKernel } from '../../compiler/codegen/verify.ts';
import { roundTf32, simulateKernel, simulateProgram } from '../../compiler/codegen/gpu/simulate.ts';

/** max |got − want| / max |want| over every output (any float dtype, decoded). */
function relErr(got: readonly Tensor[], want: readonly Tensor[]): number {
  let err = 0, max = 0;
  want.forEach((w, k) => {
    const a = readNumbers(w), b = readNumbers(got[k]);
    assert.is(b.length, a.length);
    for (let i = 0; i < a.length; i++) { max = Math.max(max, Math.abs(a[i])); err = Math.max(err, Math.abs(a[i] - b[i])); }
  });
  return err / (max || 1);
}

/**
 * Compiles `text` (after `pipeline`, when given) for CUDA, checks a launch has `mode`, simulates every
 * launch; the error against the reference.
 */
function simulated(text: string, mode: string, opts: CudaSourceOptions = {}, pipeline?: string): { rel: number; got: Tensor[]; inputs: Map<string, Tensor>; shapes: string[]; tiled: Kernel[] } {
  const parsed = parseGraph(text);
  const g = pipeline ? new PassManager({ target: 'webgpu' }).run(parsed, pipeline).at(-1)!.graph : parsed;
  const c = compileCudaSource(g, opts);
  assert.equal(c.fallbacks, []);
  assert.ok(c.launches.some((l) => l.mode === mode), `a '${mode}' launch; got ${c.launches.map((l) => l.mode).join(', ')}`);
  const inputs = randomInputs(g, 7);
  const got = simulateProgram(g, c, inputs);
  const shapes = c.launches.flatMap((l) => [...new Set([...JSON.stringify(l.kernel.body).matchAll(/"shape":"(m16n8k\d+\.\w+)"/g)].map((m) => m[1]))]);
  const tiled = c.launches.filter((l) => l.mode === 'tiled (workgroup memory)').map((l) => l.kernel);
  return { rel: relErr(got, runReference(g, inputs)), got, inputs, shapes, tiled };
}

const GRAPHS: readonly [string, string, string][] = [
  ['MatMul 40×37 · 37×70 (SIMT template: tails in M, N and K)', 'tiled (workgroup memory)', `kiln.graph @mm(%a: f32[40,37], %b: f32[37,70]) -> (%y: f32[40,70]) {
  %y = MatMul(%a, %b) : f32[40,70]
  return %y
}`],
  ['Conv 3 → 16 channels, 3×3, padded, with bias (implicit GEMM template)', 'tiled (workgroup memory)', `kiln.graph @cv(%x: f32[1,3,10,10], %w: f32[16,3,3,3], %b: f32[16]) -> (%y: f32[1,16,10,10]) {
  %y = Conv(%x, %w, %b) {pads=[1, 1, 1, 1]} : f32[1,16,10,10]
  return %y
}`],
  ['Softmax over rows of 300 (workgroup reductions, barriers)', 'workgroup per element', `kiln.graph @sm(%x: f32[3,300]) -> (%y: f32[3,300]) {
  %y = Softmax(%x) {axis=-1} : f32[3,300]
  return %y
}`],
  ['ReduceMax to one value (a single workgroup)', 'workgroup per element', `kiln.graph @rm(%x: f32[7,61]) -> (%y: f32[1,1]) {
  %axes = const i64[2] dense<[0, 1]>
  %y = ReduceMax(%x, %axes) {keepdims=1} : f32[1,1]
  return %y
}`],
  ['broadcast Mul and Add (vector loads)', 'thread per 4 elements (vector loads)', `kiln.graph @ew(%x: f32[6,100], %s: f32[6,1], %b: f32[100]) -> (%y: f32[6,100]) {
  %m = Mul(%x, %s) : f32[6,100]
  %y = Add(%m, %b) : f32[6,100]
  return %y
}`],
  ['broadcast Sub and Sigmoid over an odd shape (thread per element, guarded tail)', 'thread per element', `kiln.graph @sg(%x: f32[5,7,3], %c: f32[7,1]) -> (%y: f32[5,7,3]) {
  %d = Sub(%x, %c) : f32[5,7,3]
  %y = Sigmoid(%d) : f32[5,7,3]
  return %y
}`],
];

for (const [what, mode, text] of GRAPHS) {
  test(`graph: ${what} matches the reference`, () => {
    const { rel } = simulated(text, mode);
    assert.ok(rel <= 1e-5, `relative error ${rel}`);
  });
}

test('graph: f16 MatMul on the tensor cores (m16n8k16.f16) matches the reference within f16 rounding', () => {
  const { rel, shapes } = simulated(`kiln.graph @h(%a: f16[40,37], %b: f16[37,70]) -> (%y: f16[40,70]) {
  %y = MatMul(%a, %b) : f16[40,70]
  return %y
}`, 'tiled (workgroup memory)');
  assert.equal(shapes, ['m16n8k16.f16']);
  assert.ok(rel <= 2e-3, `relative error ${rel}`);
});

/** Tensor-core template cases: what each exercises, the graph, the pipeline run first, tf32, the bound. */
const MMA_GRAPHS: readonly { what: string; text: string; pipeline?: string; tf32?: boolean; shape: string; tol: number; threads: number; copies: { async: boolean; vectorLoads: boolean } }[] = [
  {
    what: 'f16 Gemm 130×72 · (136×72)ᵀ + bias, then Relu fused: the 128×128 tile (8 warps), cp.async copies of 4 halves along k of A and of transposed B (zero-filled past M and N), 3 K steps through the two stages',
    shape: 'm16n8k16.f16', tol: 2e-3, pipeline: 'fuse-elementwise', threads: 256, copies: { async: true, vectorLoads: false },
    text: `kiln.graph @g(%a: f16[130,72], %w: f16[136,72], %c: f16[136]) -> (%y: f16[130,136]) {
  %h = Gemm(%a, %w, %c) {transB=1} : f16[130,136]
  %y = Relu(%h) : f16[130,136]
  return %y
}`,
  },
  {
    what: 'batched f16 MatMul [3,20,24]·[3,24,40] (the grid\'s z axis; one K step: nothing prefetched; A by cp.async, row-major B by vector loads and four stores)',
    shape: 'm16n8k16.f16', tol: 2e-3, threads: 128, copies: { async: true, vectorLoads: true },
    text: `kiln.graph @bm(%a: f16[3,20,24], %b: f16[3,24,40]) -> (%y: f16[3,20,40]) {
  %y = MatMul(%a, %b) : f16[3,20,40]
  return %y
}`,
  },
  {
    what: 'f16 Conv 8 → 24 channels 3×3 padded + Relu, channels-last after the layout pass (implicit GEMM: cp.async of 4-channel runs of the input, zero-filled in the padding, and of the weights)',
    shape: 'm16n8k16.f16', tol: 2e-3, pipeline: 'shape-infer,fuse-conv-act,layout', threads: 128, copies: { async: true, vectorLoads: false },
    text: `kiln.graph @cv(%x: f16[1,8,12,12], %w: f16[24,8,3,3]) -> (%y: f16[1,24,12,12]) {
  %h = Conv(%x, %w) {pads=[1, 1, 1, 1]} : f16[1,24,12,12]
  %y = Relu(%h) : f16[1,24,12,12]
  return %y
}`,
  },
  {
    what: 'bf16 Gemm 96×40 · 40×72 + bias, Relu fused (m16n8k16.bf16: ldmatrix fragments of bf16, row-major B by vector loads)',
    shape: 'm16n8k16.bf16', tol: 1.6e-2, pipeline: 'fuse-elementwise', threads: 128, copies: { async: true, vectorLoads: true },
    text: `kiln.graph @gb(%a: bf16[96,40], %w: bf16[40,72], %c: bf16[72]) -> (%y: bf16[96,72]) {
  %h = Gemm(%a, %w, %c) : bf16[96,72]
  %y = Relu(%h) : bf16[96,72]
  return %y
}`,
  },
  {
    what: 'tf32 Conv 5 → 16 channels 3×3 stride 2 with bias, NCHW (im2col computed as it is loaded, padding as bounds)',
    shape: 'm16n8k8.tf32', tol: 5e-3, tf32: true, threads: 128, copies: { async: false, vectorLoads: false },
    text: `kiln.graph @ct(%x: f32[2,5,9,9], %w: f32[16,5,3,3], %b: f32[16]) -> (%y: f32[2,16,5,5]) {
  %y = Conv(%x, %w, %b) {pads=[1, 1, 1, 1], strides=[2, 2]} : f32[2,16,5,5]
  return %y
}`,
  },
];

for (const c of MMA_GRAPHS) {
  test(`graph, tensor cores: ${c.what}`, () => {
    const { rel, shapes, tiled } = simulated(c.text, 'tiled (workgroup memory)', { tf32: c.tf32 ?? false }, c.pipeline);
    assert.equal(shapes, [c.shape]);
    assert.equal(tiled.map((k) => k.launch!.block[0]), [c.threads], 'threads per block');
    const body = JSON.stringify(tiled[0].body);
    assert.equal({ async: body.includes('"k":"copy_async"'), vectorLoads: body.includes('"lanes":4,"aligned":true') }, c.copies, 'how the tiles are copied');
    assert.ok(rel <= c.tol, `relative error ${rel}`);
  });
}

test('graph: f32 MatMul with tf32 allowed (m16n8k8.tf32) is A·B of the tf32-rounded operands', () => {
  const text = `kiln.graph @t(%a: f32[40,37], %b: f32[37,70]) -> (%y: f32[40,70]) {
  %y = MatMul(%a, %b) : f32[40,70]
  return %y
}`;
  const c = compileCudaSource(parseGraph(text), { tf32: true });
  assert.ok(c.launches.some((l) => JSON.stringify(l.kernel.body).includes('m16n8k8.tf32')), 'an mma<m16n8k8.tf32> kernel');
  const { rel, got, inputs } = simulated(text, 'tiled (workgroup memory)', { tf32: true });
  assert.ok(rel > 1e-6 && rel <= 5e-3, `tf32 against exact f32: relative error ${rel}`);
  const a = readNumbers(inputs.get('a')!), b = readNumbers(inputs.get('b')!), y = readNumbers(got[0]);
  let err = 0, max = 0;
  for (let i = 0; i < 40; i++) {
    for (let j = 0; j < 70; j++) {
      let s = 0;
      for (let k = 0; k < 37; k++) s += tf32(a[i * 37 + k]) * tf32(b[k * 70 + j]);
      err = Math.max(err, Math.abs(s - y[i * 70 + j])); max = Math.max(max, Math.abs(s));
    }
  }
  assert.ok(err / max <= 1e-5, `against tf32 operands: ${err / max}`);
});

// ---- mma on hand-built kernels: fragments from the PTX ISA's tables, written out here ----

/** tf32 as the PTX ISA defines cvt.rna: the nearest value with 11 significant bits, ties away from zero. */
function tf32(v: number): number {
  if (v === 0 || !Number.isFinite(v)) return v;
  const q = 2 ** (Math.floor(Math.log2(Math.abs(v))) - 10);
  return Math.sign(v) * Math.floor(Math.abs(v) / q + 0.5) * q;
}

const T = iv('tx'), W = iv('ty'), B = iv('bx');
const gid = idiv(T, ic(4)), tq = imod(T, ic(4)); // PTX: groupID = laneid >> 2, threadID_in_group = laneid % 4
const at = (base: Index, row: Index, col: Index, cols: number) => iadd(base, iadd(imul(row, ic(cols)), col));
const buf = (name: string, dtype: BufferDecl['dtype'], count: number, role: BufferDecl['role']): BufferDecl => ({ name, dtype, count, role });

/**
 * One mma kernel: grid [2], block [32, 2] (threadIdx.y is the warp); block b's warp w multiplies
 * tile p = 2b + w of A (m×k, row-major) and B (k×n) and adds C (m×n), fragments by the given places.
 */
function mmaKernel(shape: 'm16n8k16.f16' | 'm16n8k8.tf32', m: number, n: number, k: number, opd: 'f16' | 'f32',
  aFrag: (base: Index) => Scalar[], bFrag: (base: Index) => Scalar[]): Kernel {
  const p = iadd(imul(B, ic(2)), W);
  const cPlace = (i: number) => ({ row: iadd(gid, ic(i >= 2 ? 8 : 0)), col: iadd(imul(tq, ic(2)), ic(i & 1)) }); // PTX: C row g (+8 for 2, 3), col 2t + (i & 1)
  const cBase = imul(p, ic(m * n));
  const cInit = [0, 1, 2, 3].map((i) => load('C', at(cBase, cPlace(i).row, cPlace(i).col, n), 'f32'));
  const body: Stmt[] = [
    { k: 'let', name: 'c4', value: binary('add', broadcast(lit(0, 'f32'), 4), broadcast(lit(0, 'f32'), 4)) },
    { k: 'acc', name: 'acc', dtype: 'f32', combine: 'add', init: vref('c4', 'f32', 4), lanes: 4 },
    // C enters through the accumulator: acc += (c0, c1, c2, c3) built lane by lane from broadcasts
    ...cInit.map((c, i): Stmt => ({ k: 'accum', name: 'acc', value: binary('mul', broadcast(c, 4), { k: 'load', dtype: 'f32', buffer: 'E', index: ic(4 * i), lanes: 4 }) })),
    { k: 'mma', shape, acc: 'acc', a: aFrag(imul(p, ic(m * k))), b: bFrag(imul(p, ic(k * n))) },
    ...[0, 1, 2, 3].map((i): Stmt => ({ k: 'store', buffer: 'D', index: at(cBase, cPlace(i).row, cPlace(i).col, n), value: lane(vref('acc', 'f32', 4), ic(i)) })),
  ];
  return {
    name: `mma_${opd}`, nodes: ['0'], loc: [], shared: [],
    params: [buf('A', opd, 4 * m * k, 'input'), buf('B', opd, 4 * k * n, 'input'), buf('C', 'f32', 4 * m * n, 'input'), buf('E', 'f32', 16, 'constant'), buf('D', 'f32', 4 * m * n, 'output')],
    body: [loop('bx', 2, [loop('ty', 2, [loop('tx', 32, body, [{ kind: 'block', axis: 0 }])], [{ kind: 'block', axis: 1 }])], [{ kind: 'grid', axis: 0 }])],
    launch: { grid: [2, 1, 1], block: [32, 2, 1] },
  };
}

/** A seeded uniform [0, 1) generator (a 32-bit LCG): the mma tests are the same on every run. */
function seeded(seed: number): () => number {
  let x = seed >>> 0;
  return () => { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; return x / 2 ** 32; };
}
const random = seeded(12345);

/** The 4×4 identity, rows as 4-lane vectors (E[4i..4i+3] = e_i): acc += c_i · e_i sets lane i. */
const IDENTITY = new Float32Array(16).map((_, i) => (i % 5 === 0 ? 1 : 0));

/** Runs a kernel of mmaKernel over random tiles; returns the output and the JS D = A·B + C of each tile. */
function runMma(k: Kernel, m: number, n: number, kk: number, value: () => number, encode: (v: number) => number, decode: (v: number) => number,
  round: (v: number) => number, arrays: { A: Float32Array | Uint16Array; B: Float32Array | Uint16Array }): { got: Float32Array; want: Float64Array } {
  const { A, B } = arrays;
  for (let i = 0; i < A.length; i++) A[i] = encode(value());
  for (let i = 0; i < B.length; i++) B[i] = encode(value());
  const C = Float32Array.from({ length: 4 * m * n }, () => Math.round(random() * 64 - 32) / 8);
  const D = new Float32Array(4 * m * n);
  simulateKernel(k, { A, B, C, E: IDENTITY, D });
  const want = new Float64Array(4 * m * n);
  for (let p = 0; p < 4; p++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = C[p * m * n + i * n + j];
        for (let x = 0; x < kk; x++) s += round(decode(A[p * m * kk + i * kk + x])) * round(decode(B[p * kk * n + x * n + j]));
        want[p * m * n + i * n + j] = Math.fround(s);
      }
    }
  }
  return { got: D, want };
}

test('mma m16n8k16.f16: fragments by the PTX ISA table give D = A·B + C in each warp of each block', () => {
  // A element i: row g (+8 for i in {2, 3, 6, 7}), col 2t + (i & 1) (+8 for i >= 4); elements 2j, 2j+1 are
  // adjacent along k: one 2-lane load each. B element i: row 2t + (i & 1) (+8 for i >= 2), col g: scalars.
  const aFrag = (base: Index) => [0, 2, 4, 6].map((i) => vload('A', at(base, iadd(gid, ic([2, 3, 6, 7].includes(i) ? 8 : 0)), iadd(imul(tq, ic(2)), ic(i >= 4 ? 8 : 0)), 16), 'f16', 2));
  const bFrag = (base: Index) => [0, 1, 2, 3].map((i) => load('B', at(base, iadd(imul(tq, ic(2)), ic((i & 1) + (i >= 2 ? 8 : 0))), gid, 8), 'f16'));
  const k = mmaKernel('m16n8k16.f16', 16, 8, 16, 'f16', aFrag, bFrag);
  verifyKernel(k);
  const { got, want } = runMma(k, 16, 8, 16, () => Math.round(random() * 32 - 16) / 4, f32ToF16Bits, f16BitsToF32, (v) => v,
    { A: new Uint16Array(4 * 16 * 16), B: new Uint16Array(4 * 16 * 8) });
  assert.equal(Array.from(got), Array.from(want));
});

test('mma m16n8k8.tf32: fragments by the PTX ISA table; operands rounded to tf32, ties away from zero', () => {
  // A element i: row g (+8 for i = 1, 3), col t (+4 for i = 2, 3); B element i: row t (+4 for i = 1), col g
  const aFrag = (base: Index) => [0, 1, 2, 3].map((i) => load('A', at(base, iadd(gid, ic(i & 1 ? 8 : 0)), iadd(tq, ic(i >= 2 ? 4 : 0)), 8), 'f32'));
  const bFrag = (base: Index) => [0, 1].map((i) => load('B', at(base, iadd(tq, ic(i ? 4 : 0)), gid, 8), 'f32'));
  const k = mmaKernel('m16n8k8.tf32', 16, 8, 8, 'f32', aFrag, bFrag);
  verifyKernel(k);
  // values with mantissa bits below tf32's: 1 + 2^-11 is a tie (rounds away to 1 + 2^-10), others round either way
  const pick = [1 + 2 ** -11, -(1 + 2 ** -11), 1 + 3 * 2 ** -13, 1.2345678, -0.3333333, 2 + 2 ** -9 + 2 ** -20];
  const value = () => Math.fround(pick[Math.floor(random() * pick.length)] * 2 ** Math.floor(random() * 4 - 2));
  const arrays = { A: new Float32Array(4 * 16 * 8), B: new Float32Array(4 * 8 * 8) };
  const { got, want } = runMma(k, 16, 8, 8, value, (v) => v, (v) => v, tf32, arrays);
  assert.equal(Array.from(got), Array.from(want));
  // the rounding happened: the exact f32 product differs
  const exact = runMma(k, 16, 8, 8, value, (v) => v, (v) => v, (v) => v, arrays);
  assert.ok(exact.got.some((v, i) => v !== exact.want[i]), 'tf32 results differ from the unrounded product');
  assert.is(roundTf32(1 + 2 ** -11), 1 + 2 ** -10);
  assert.is(roundTf32(-(1 + 2 ** -11)), -(1 + 2 ** -10));
  assert.is(roundTf32(1 + 2 ** -12), 1);
  for (const v of pick) assert.is(roundTf32(Math.fround(v)), tf32(Math.fround(v)), `tf32(${v})`);
});

// ---- scalar semantics, barriers, errors ----

const one = (name: string, params: BufferDecl[], body: Stmt[], block = 1, shared: BufferDecl[] = []): Kernel => ({
  name, nodes: ['0'], loc: [], params, shared,
  body: block > 1 ? [loop('t', block, body, [{ kind: 'block', axis: 0 }])] : body,
  launch: { grid: [1, 1, 1], block: [block, 1, 1] },
});

test('scalar semantics: integer division truncates, fmod is C\'s, max propagates NaN, round is half even, sign keeps -0, casts wrap', () => {
  const i32 = (v: number) => lit(v, 'i32'), f32 = (v: number) => lit(v, 'f32');
  const values: Scalar[] = [
    cast(binary('div', i32(-7), i32(2)), 'f32'), // -3
    cast(binary('fmod', i32(-7), i32(2)), 'f32'), // -1
    binary('fmod', f32(-7.5), f32(2)), // -1.5
    binary('max', f32(NaN), f32(1)), binary('max', f32(1), f32(NaN)), binary('min', f32(2), f32(-1)),
    unary('round', f32(2.5)), unary('round', f32(-3.5)), unary('sign', f32(-0)), unary('sign', f32(NaN)),
    cast(binary('add', i32(2 ** 31 - 1), i32(1)), 'f32'), // wraps to -2^31
    cast(cast(f32(3.7), 'i32'), 'f32'), cast(cast(f32(-1), 'u8'), 'f32'), // 3, 255
    unary('round_f16', f32(1 + 2 ** -12)), binary('div', f32(1), f32(3)), // 1, fround(1/3)
    { k: 'select', dtype: 'f32', cond: unary('isnan', f32(NaN), 'bool'), a: f32(1), b: f32(0) },
  ];
  const k = one('scalars', [buf('out', 'f32', values.length, 'output')], values.map((v, i) => ({ k: 'store', buffer: 'out', index: ic(i), value: v })));
  const out = new Float32Array(values.length);
  simulateKernel(k, { out });
  assert.equal(Array.from(out), [-3, -1, -1.5, NaN, NaN, -1, 2, -4, -0, NaN, -(2 ** 31), 3, 255, 1, Math.fround(1 / 3), 1]);
  assert.ok(Object.is(out[8], -0));
});

test('f16 buffers are stored as bits: loads decode, stores round to f16', () => {
  const k = one('half', [buf('x', 'f16', 4, 'input'), buf('y', 'f16', 4, 'output')], [
    { k: 'store', buffer: 'y', index: iv('t'), value: cast(binary('mul', cast(load('x', iv('t'), 'f16'), 'f32'), lit(1 + 2 ** -12, 'f32')), 'f16') },
  ], 4);
  const x = Uint16Array.from([1, 2, -0.5, 1000].map(f32ToF16Bits)), y = new Uint16Array(4);
  simulateKernel(k, { x, y });
  assert.equal(Array.from(y).map(f16BitsToF32), [1, 2, -0.5, 1000]);
});

/** Reverses 64 elements through shared memory; with or without the barrier between store and load. */
function reverse(withBarrier: boolean): Float32Array {
  const k = one('rev', [buf('x', 'f32', 64, 'input'), buf('y', 'f32', 64, 'output')], [
    { k: 'store', buffer: 's', index: iv('t'), value: load('x', iv('t'), 'f32') },
    ...(withBarrier ? [{ k: 'barrier' } as Stmt] : []),
    { k: 'store', buffer: 'y', index: iv('t'), value: load('s', iadd(ic(63), imul(iv('t'), ic(-1))), 'f32') },
  ], 64, [buf('s', 'f32', 64, 'shared')]);
  const x = Float32Array.from({ length: 64 }, (_, i) => i), y = new Float32Array(64);
  simulateKernel(k, { x, y });
  return y;
}

test('a barrier orders shared memory: with it the exchange is right, without it threads read unwritten (NaN) memory', () => {
  assert.equal(Array.from(reverse(true)), Array.from({ length: 64 }, (_, i) => 63 - i));
  assert.ok(reverse(false).some(Number.isNaN));
});

test('an out-of-bounds load is an error naming the kernel, the thread, the buffer and the index', () => {
  const k = one('oob', [buf('x', 'f32', 8, 'input'), buf('y', 'f32', 8, 'output')], [
    { k: 'store', buffer: 'y', index: iv('t'), value: load('x', iadd(iv('t'), ic(1)), 'f32') },
  ], 8);
  assert.throws(() => simulateKernel(k, { x: new Float32Array(8), y: new Float32Array(8) }),
    (e: Error) => /kernel @oob \(block \[0,0,0\], thread \[7,0,0\]\): load of 'x' at index 8, outside \[0, 8\)/.test(e.message));
});

test('a warp where one thread skips the mma (or waits at a barrier instead) deadlocks with a clear error', () => {
  const frag = (name: string, n: number): Scalar[] => Array.from({ length: n }, () => load(name, ic(0), 'f32'));
  const mma: Stmt = { k: 'mma', shape: 'm16n8k8.tf32', acc: 'acc', a: frag('A', 4), b: frag('A', 2) };
  const kernel = (other: Stmt[]) => one('skip', [buf('A', 'f32', 1, 'input')], [
    { k: 'acc', name: 'acc', dtype: 'f32', combine: 'add', init: broadcast(lit(0, 'f32'), 4), lanes: 4 },
    { k: 'guard', bounds: [{ index: iv('t'), extent: 31 }], body: [mma] },
    { k: 'guard', bounds: [{ index: iadd(iv('t'), ic(-31)), extent: 1 }], body: other },
  ], 32);
  assert.throws(() => simulateKernel(kernel([]), { A: new Float32Array(1) }),
    (e: Error) => /kernel @skip \(block \[0,0,0\]\): deadlock: threads 0-30 wait at acc \+= mma<m16n8k8\.tf32> #0; thread 31 finished/.test(e.message));
  assert.throws(() => simulateKernel(kernel([{ k: 'barrier' }]), { A: new Float32Array(1) }),
    (e: Error) => /deadlock: threads 0-30 wait at acc \+= mma<m16n8k8\.tf32> #0; thread 31 waits at barrier #0/.test(e.message));
});

test('ref and vector accumulators: a 4-lane accumulator sums vector loads', () => {
  const k = one('vsum', [buf('x', 'f32', 32, 'input'), buf('y', 'f32', 4, 'output')], [
    { k: 'acc', name: 's', dtype: 'f32', combine: 'add', init: broadcast(lit(0, 'f32'), 4), lanes: 4 },
    loop('i', 8, [{ k: 'accum', name: 's', value: vload('x', imul(iv('i'), ic(4)), 'f32', 4, true) }], [{ kind: 'unroll', factor: 2 }]),
    { k: 'store', buffer: 'y', index: ic(0), value: vref('s', 'f32', 4) },
  ]);
  const x = Float32Array.from({ length: 32 }, (_, i) => i), y = new Float32Array(4);
  simulateKernel(k, { x, y });
  assert.equal(Array.from(y), [112, 120, 128, 136]);
});

test('a grid or block loop whose extent is not the launch size is an error', () => {
  const k = one('bad', [buf('y', 'f32', 8, 'output')], [{ k: 'store', buffer: 'y', index: iv('t'), value: lit(1, 'f32') }], 8);
  assert.throws(() => simulateKernel({ ...k, launch: { grid: [1, 1, 1], block: [16, 1, 1] } }, { y: new Float32Array(8) }),
    /kernel @bad: block loop t over 8 but the launch's block is 16 on axis 0/);
});

test('zoo:bert in f16 as the cuda backend compiles it (every launch, the products on tensor cores): the whole program, simulated, is within 1e-2 of the reference', () => {
  const g = new PassManager({ target: 'cuda' }).run(zooModel('bert'), defaultPipeline('cuda')).at(-1)!.graph;
  const c = compileCudaSource(g);
  assert.equal(c.fallbacks, []);
  const mma = c.launches.filter((l) => JSON.stringify(l.kernel.body).includes('"k":"mma"')).length;
  assert.ok(mma >= 24, `${mma} launches on tensor cores`);
  const inputs = randomInputs(g, 11);
  const rel = relErr(simulateProgram(g, c, inputs), runReference(g, inputs));
  assert.ok(rel <= 1e-2, `relative error ${rel}`);
});

test.run();
