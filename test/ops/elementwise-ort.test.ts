/**
 * Cross-checks the elementwise kernels against onnxruntime on seeded random data for every dtype
 * both support: the one-node cases of a test are exported together as one graph with `exportOnnx`,
 * run in onnxruntime-node and in the reference executor. Integers and bools must match exactly;
 * floats within 1e-5 relative (+1e-7 absolute), f16 within about one f16 step. Inputs avoid behaviour ONNX leaves undefined (integer division by zero,
 * casting NaN or out-of-range floats to integers, overflowing integer Pow).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import type { DType } from '../../compiler/ir/dtype.ts';
import { Tensor, readNumbers } from '../../compiler/ir/tensor.ts';
import { GraphBuilder, type AttrInput } from '../../compiler/zoo/builder.ts';
import { exportOnnx } from '../../compiler/import/onnx/export.ts';
import { runReference } from '../../compiler/runtime/reference.ts';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');

const ORT_TYPE: Partial<Record<DType, string>> = {
  f32: 'float32', f64: 'float64', f16: 'float16', i8: 'int8', u8: 'uint8', i16: 'int16', u16: 'uint16',
  i32: 'int32', u32: 'uint32', i64: 'int64', u64: 'uint64', bool: 'bool',
};
const ONNX_CODE: Partial<Record<DType, number>> = {
  f32: 1, u8: 2, i8: 3, u16: 4, i16: 5, i32: 6, i64: 7, bool: 9, f16: 10, f64: 11, u32: 12, u64: 13,
};
const INTS: DType[] = ['i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', 'u64'];
const FLOATS: DType[] = ['f32', 'f64', 'f16'];
const RANGE: Partial<Record<DType, [number, number]>> = {
  i8: [-128, 127], u8: [0, 255], i16: [-32768, 32767], u16: [0, 65535], i32: [-2147483648, 2147483647], u32: [0, 4294967295],
};

let seed = 20240601;
const rand = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };

interface SampleOpts { nonZero?: boolean; small?: boolean; finite?: boolean }

/** n seeded values of `dtype`: a mix of small and full-range values; floats include specials unless finite. */
function sample(dtype: DType, n: number, o: SampleOpts = {}): Tensor {
  if (dtype === 'i64' || dtype === 'u64') {
    const data = dtype === 'i64' ? new BigInt64Array(n) : new BigUint64Array(n);
    for (let i = 0; i < n; i++) {
      let v = o.small || rand() < 0.5 ? BigInt(Math.floor(rand() * 21) - 10) : BigInt(Math.floor(rand() * 2 ** 32)) * BigInt(Math.floor(rand() * 2 ** 32));
      if (o.nonZero && v === 0n) v = 3n;
      data[i] = dtype === 'u64' ? BigInt.asUintN(64, v < 0n && o.small ? -v : v) : BigInt.asIntN(64, v);
    }
    return new Tensor(dtype, [n], data);
  }
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    let v: number;
    if (dtype === 'bool') v = rand() < 0.5 ? 1 : 0;
    else if (RANGE[dtype]) {
      const [lo, hi] = RANGE[dtype]!;
      v = o.small || rand() < 0.5 ? Math.max(lo, Math.floor(rand() * 21) - 10) : Math.floor(lo + rand() * (hi - lo + 1));
      if (o.nonZero && v === 0) v = 3;
    } else if (!o.finite && rand() < 0.1) v = [0, -0, Infinity, -Infinity, NaN, 0.5, -2.5, 1.5][Math.floor(rand() * 8)];
    else v = (rand() - 0.5) * (o.small ? 20 : rand() < 0.5 ? 10 : 1e4);
    values.push(v);
  }
  return Tensor.fromNumbers(dtype, [n], values);
}

function toOrt(t: Tensor) {
  return new ort.Tensor(ORT_TYPE[t.dtype] as 'float32', t.data as Float32Array, [...t.shape]);
}

/** Element values of an onnxruntime output as numbers/bigints, f16 decoded. */
function ortValues(r: { type: string; data: unknown; dims: readonly number[] }): unknown[] {
  if (r.type === 'float16') {
    const bits = r.data as Uint16Array;
    return Array.from(readNumbers(new Tensor('f16', [bits.length], new Uint16Array(bits.buffer, bits.byteOffset, bits.length))));
  }
  return Array.from(r.data as ArrayLike<unknown>, (v) => (typeof v === 'boolean' ? Number(v) : v));
}

function matches(got: unknown, want: unknown, dtype: DType): boolean {
  if (typeof got === 'number' && typeof want === 'number') {
    if (Number.isNaN(got) && Number.isNaN(want)) return true;
    if (got === want) return true;
    // relative 1e-5 plus a small absolute term for cancellation (e.g. HardSigmoid near 0, computed
    // by onnxruntime in f32 and by kiln in f64); f16 within about one f16 step
    if (dtype === 'f16') return Math.abs(got - want) <= 1e-3 * Math.max(Math.abs(want), 1);
    if (dtype === 'f32' || dtype === 'f64') return Math.abs(got - want) <= 1e-5 * Math.abs(want) + 1e-7;
    return false;
  }
  return got === want;
}

/** One node to check: op, inputs and attributes. */
interface Case { op: string; inputs: Tensor[]; attrs?: Record<string, AttrInput> }

/**
 * Runs many one-node cases as one graph (one onnxruntime session) in onnxruntime and in kiln; returns
 * a description of each mismatching element (at most three per case).
 */
async function compare(cases: readonly Case[]): Promise<string[]> {
  const b = new GraphBuilder();
  const feeds: Record<string, ReturnType<typeof toOrt>> = {};
  const given = new Map<string, Tensor>();
  cases.forEach((c, k) => {
    const names = c.inputs.map((t, i) => {
      const name = b.input(`x${k}_${i}`, t.dtype, t.shape);
      feeds[name] = toOrt(t);
      given.set(name, t);
      return name;
    });
    b.node(c.op, names, c.attrs ?? {}, { outputs: [`y${k}`] });
    b.output(`y${k}`);
  });
  const graph = b.build('cases');
  const session = await ort.InferenceSession.create(exportOnnx(graph), { graphOptimizationLevel: 'disabled' });
  const results = await session.run(feeds);
  const ours = runReference(graph, given);
  const bad: string[] = [];
  cases.forEach((c, k) => {
    const want = ortValues(results[`y${k}`] as never);
    const y = ours[k];
    const got = y.dtype === 'f16' ? Array.from(readNumbers(y)) : Array.from(y.data as ArrayLike<unknown>);
    let shown = 0;
    got.forEach((g, i) => {
      if (matches(g, want[i], y.dtype) || shown++ >= 3) return;
      const args = c.inputs.map((t) => `${t.dtype} ${String((t.data as ArrayLike<unknown>)[i])}`).join(', ');
      bad.push(`${c.op}${c.attrs ? JSON.stringify(c.attrs) : ''}(${args}) = ${y.dtype} ${String(g)}, onnxruntime ${String(want[i])}`);
    });
  });
  return bad;
}

const N = 48;

async function expectSame(cases: readonly Case[]): Promise<void> {
  assert.equal(await compare(cases), []);
}

test('Add, Sub, Mul, Div on every integer and float dtype', async () => {
  const cases: Case[] = [];
  for (const op of ['Add', 'Sub', 'Mul', 'Div']) {
    for (const d of [...INTS, ...FLOATS]) cases.push({ op, inputs: [sample(d, N), sample(d, N, { nonZero: op === 'Div' })] });
  }
  await expectSame(cases);
});

test('Mod (fmod 0 and 1) on integers, fmod on floats', async () => {
  const cases: Case[] = [];
  for (const d of INTS) {
    cases.push({ op: 'Mod', inputs: [sample(d, N), sample(d, N, { nonZero: true })] });
    // onnxruntime computes 64-bit fmod through doubles, so only small 64-bit values agree exactly
    const small = d === 'i64' || d === 'u64';
    cases.push({ op: 'Mod', inputs: [sample(d, N, { small }), sample(d, N, { nonZero: true, small })], attrs: { fmod: 1 } });
  }
  for (const d of FLOATS) cases.push({ op: 'Mod', inputs: [sample(d, N), sample(d, N)], attrs: { fmod: 1 } });
  await expectSame(cases);
});

test('Max, Min and comparisons', async () => {
  const cases: Case[] = [];
  for (const d of [...INTS, ...FLOATS]) {
    if (d !== 'i16' && d !== 'u16') { // onnxruntime has no 16-bit Max/Min kernels
      cases.push({ op: 'Max', inputs: [sample(d, N), sample(d, N)] }, { op: 'Min', inputs: [sample(d, N), sample(d, N)] });
    }
    for (const op of ['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual']) cases.push({ op, inputs: [sample(d, N), sample(d, N)] });
  }
  await expectSame(cases);
});

test('unary math and activations', async () => {
  const cases: Case[] = [];
  // Sign(NaN) is NaN in numpy (the ONNX reference) but 0 in onnxruntime's f16 kernel: finite inputs only
  for (const d of [...INTS, ...FLOATS]) cases.push({ op: 'Abs', inputs: [sample(d, N)] }, { op: 'Sign', inputs: [sample(d, N, { finite: true })] });
  for (const d of ['i8', 'i16', 'i32', 'i64', ...FLOATS] as DType[]) cases.push({ op: 'Neg', inputs: [sample(d, N)] });
  for (const d of ['i8', 'i32', ...FLOATS] as DType[]) cases.push({ op: 'Relu', inputs: [sample(d, N)] });
  for (const op of ['Exp', 'Log', 'Sqrt', 'Reciprocal', 'Ceil', 'Floor', 'Round', 'Sin', 'Cos', 'Tanh', 'Sigmoid']) {
    for (const d of FLOATS) cases.push({ op, inputs: [sample(d, N)] });
  }
  for (const op of ['Erf', 'Softplus', 'HardSwish', 'HardSigmoid', 'Elu', 'LeakyRelu']) cases.push({ op, inputs: [sample('f32', N)] });
  await expectSame(cases);
});

test('Pow with mixed base and exponent dtypes', async () => {
  const cases: Case[] = [];
  const pairs: [DType, DType][] = [['f32', 'f32'], ['f64', 'f64'], ['f32', 'i32'], ['f32', 'i64'], ['i32', 'i32'], ['i64', 'i64'], ['i64', 'f32']];
  for (const [base, exp] of pairs) {
    const intBase = base === 'i32' || base === 'i64';
    // integer exponents 0..4 keep integer powers in range
    const e = exp === 'f32' || exp === 'f64' ? sample(exp, N, { small: intBase })
      : Tensor.fromNumbers(exp, [N], Array.from({ length: N }, () => Math.floor(rand() * 5)));
    cases.push({ op: 'Pow', inputs: [sample(base, N, { small: intBase }), e] });
  }
  await expectSame(cases);
});

test('Cast between every pair of numeric and bool dtypes', async () => {
  const all: DType[] = [...INTS, ...FLOATS, 'bool'];
  const cases: Case[] = [];
  for (const from of all) {
    for (const to of all) {
      if (from === to) continue;
      // float -> integer is only defined for finite in-range values: use small finite ones there
      const toInt = to !== 'bool' && !FLOATS.includes(to);
      cases.push({ op: 'Cast', inputs: [sample(from, N, { small: toInt, finite: toInt })], attrs: { to: ONNX_CODE[to]! } });
    }
  }
  await expectSame(cases);
});

test.run();
