/**
 * The WGSL rendering of the scalar-op table against the table's JS evaluator, on the WebGPU device
 * (Dawn; lavapipe here): for every table entry, every dtype WGSL computes on (f32, f16 where the adapter
 * has shader-f16, i8..u32, i64, u64, bool) and a few attribute variants, the entry's kernel IR scalar
 * (lower/scalar.ts over loads of the operands, shared subtrees bound to `let`s as the lowering binds
 * them; f16 widened to f32 as widen.ts does) is stored into an output buffer for rows of edge values.
 * The cases are batched into a few kernels (BATCH cases each: one shader module per batch, one workgroup
 * per row through a grid-annotated loop, so nothing is const-evaluated and nothing unrolled), rendered with renderKernelModule(wgsl(...)), run, read back,
 * and each result must match `evaluateOp` within the table's tolerance for the output dtype (integers
 * and bool exactly; an f16 result is compared with the evaluator's value rounded to f16).
 *
 * Unlike the C test, float -> integer casts get every edge value, NaN, ±Inf and out-of-range ones
 * included: the WGSL descriptor implements the table's conversions (INT32_MIN, wrapping, INT64_MIN)
 * itself rather than leaving them to the target. Where WGSL differs unavoidably:
 *   - f64 does not exist in WGSL. The table computes three kinds of case in f64 (Pow with an exponent
 *     of another dtype, Erf of an integer, Cast/CastLike of an integer or bool to f16); rendering them
 *     throws `WGSL has no f64`, and the test asserts that exactly these cases (F64_CASES) throw so.
 *   - Transcendental functions are the implementation's (lavapipe: LLVM polynomials, not correctly
 *     rounded). sin and cos lose all precision beyond |x| ~ 1e4 (argument reduction in f32), so Sin, Cos
 *     of |x| > SIN_RANGE are held only to |result| <= 1 (TRIG_WIDE); everything else within the table's
 *     f32 tolerance (rtol 1e-5).
 * A second test sweeps the helpers with 1024 pseudo-random values each (exp, expm1, log, log1p, tanh,
 * erf, sin/cos below |x| = 100, sqrt, pow, fmod, i64/u64 -> f32; 64-bit add, mul, div, rem signed and
 * unsigned, comparisons, f32 -> i64) against JS (BigInt for the 64-bit ones, exactly).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../../compiler/ops/all.ts';
import type { DType } from '../../compiler/ir/dtype.ts';
import type { Attrs } from '../../compiler/ir/graph.ts';
import { narrowFloatCodec } from '../../compiler/ir/floatbits.ts';
import { findOp, readAttrs } from '../../compiler/ops/registry.ts';
import { type ScalarOp, evaluateOp, outputDType, scalarOp as tableEntry, scalarOpNames, withinTolerance } from '../../compiler/ops/scalar-ops.ts';
import { LowerUnsupported } from '../../compiler/codegen/lower/context.ts';
import { scalarOp } from '../../compiler/codegen/lower/scalar.ts';
import { widenHalf } from '../../compiler/codegen/lower/widen.ts';
import { type BufferDecl, type Kernel, type Scalar, type Stmt, type UnaryOp, binary, cast, iadd, ic, iv, lit, load, loop, ref, unary } from '../../compiler/codegen/kir.ts';
import { erf } from '../../compiler/ops/unary.ts';
import { cPow } from '../../compiler/ops/binary.ts';
import { wgsl, wgslStorage } from '../../compiler/codegen/lang/wgsl.ts';
import { renderKernelModule } from '../../compiler/codegen/render.ts';
import { runWgsl, testGpu } from './wgsl-run.ts';

const F16 = narrowFloatCodec('f16');
const roundF16 = (v: number) => F16.decode(F16.encode(v, false));
const FLOATS = [0, -0, 1, -1, 0.5, -2.5, 2.5, 3.7, -3.7, 100, 1e-3, 88, -88, Infinity, -Infinity, NaN, 1e30, -1e-30];
const INTS: Readonly<Record<string, readonly (number | bigint)[]>> = {
  i8: [0, 1, -1, 7, -7, 127, -128, 3, -3, 100], u8: [0, 1, 2, 7, 255, 128, 3, 100, 200, 9],
  i16: [0, 1, -1, 7, -7, 32767, -32768, 3, -3, 1000], u16: [0, 1, 2, 7, 65535, 32768, 3, 1000, 40000, 9],
  i32: [0, 1, 100000, 7, -7, 2147483647, -2147483648, 3, -3, -1], u32: [0, 1, 2, 7, 4294967295, 2147483648, 3, 100000, 9, 65536],
  i64: [0n, 1n, 2n ** 40n + 1n, 7n, -7n, 2n ** 63n - 1n, -(2n ** 63n), 3n, -3n, -1n],
  u64: [0n, 1n, 2n, 7n, 2n ** 64n - 1n, 2n ** 63n, 3n, 2n ** 40n + 1n, 9n, 100n],
  bool: [0, 1, 1, 0, 1, 0, 0, 1, 1, 0],
};
/** Rows per case; operand k of row r is list[(r + 3k) mod n] (floats: + 5k), so row 6 pairs MIN with -1. */
const ROWS = 18;
/** Cases per shader module. */
const BATCH = 60;
/** Sin/Cos beyond this magnitude are only held to |result| <= 1 (see the header). */
const SIN_RANGE = 1e4;
/** Ops the table computes in f64 for some operand dtypes: rendering those cases throws `WGSL has no f64`. */
const F64_CASES = new Set(['Pow', 'Erf', 'Cast', 'CastLike']);

const f = (value: number) => ({ kind: 'float' as const, value: Math.fround(value) });
const s = (value: string) => ({ kind: 'string' as const, value });
const i = (value: number) => ({ kind: 'int' as const, value });

interface Case { readonly id: number; readonly op: string; readonly attrs: unknown; readonly dtypes: DType[]; readonly out: DType; readonly expr: Scalar; readonly lets: Stmt[]; readonly rows: (number | bigint)[][] }

function value(d: DType, r: number, k: number): number | bigint {
  if (d === 'f32' || d === 'f16') {
    const v = FLOATS[(r + 5 * k) % FLOATS.length];
    return d === 'f32' ? Math.fround(v) : roundF16(v);
  }
  const list = INTS[d];
  return list[(r + 3 * k) % list.length];
}

/** A typed array of `values` in the device storage of dtype d. */
function upload(d: DType, values: readonly (number | bigint)[]): ArrayBufferView {
  if (d === 'i64' || d === 'u64') return BigInt64Array.from(values.map((v) => BigInt.asIntN(64, BigInt(v))));
  if (d === 'f16') return Uint16Array.from(values.map((v) => F16.encode(Number(v), false)));
  if (d === 'f32') return Float32Array.from(values.map(Number));
  return wgslStorage(d)!.type === 'i32' ? Int32Array.from(values.map(Number)) : Uint32Array.from(values.map(Number));
}

/** The values of a downloaded buffer of dtype d. */
function download(d: DType, bytes: ArrayBuffer): (number | bigint)[] {
  if (d === 'i64') return [...new BigInt64Array(bytes)];
  if (d === 'u64') return [...new BigUint64Array(bytes)];
  if (d === 'f16') return [...new Uint16Array(bytes)].map((c) => F16.decode(c));
  if (d === 'f32') return [...new Float32Array(bytes)];
  return wgslStorage(d)!.type === 'i32' ? [...new Int32Array(bytes)] : [...new Uint32Array(bytes)];
}

test('every table entry renders to WGSL that agrees with the JS evaluator', async () => {
  // without a device every case is still rendered (with f16), only not run
  const gpu = await testGpu('scalar-wgsl: the cases are rendered, not run');
  const f16 = gpu?.f16 ?? true;
  const types: DType[] = ['f32', ...(f16 ? ['f16' as const] : []), 'i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', 'u64', 'bool'];
  if (!f16) console.log('  (f16 cases skipped: the adapter has no shader-f16)');
  const lang = wgsl({ f16 });
  const variants: Readonly<Record<string, Attrs[]>> = {
    LeakyRelu: [{}, { alpha: f(0.3) }], Elu: [{}, { alpha: f(0.5) }], HardSigmoid: [{}, { alpha: f(0.25), beta: f(0.4) }],
    Gelu: [{}, { approximate: s('tanh') }], Mod: [{ fmod: i(0) }, { fmod: i(1) }], Cast: types.map((to) => ({ to: s(to) })),
  };
  const operandTypes = (e: ScalarOp, d: DType): DType[][] => {
    switch (e.rule) {
      case 'where': return [['bool', d, d]];
      case 'pow': return [[d, d], [d, 'i32']];
      case 'cast': return [[d]];
      case 'cast-like': return types.map((to) => [d, to]);
      default: break;
    }
    return [Array.from({ length: Math.max(e.arity[0], Math.min(e.arity[1], 2)) }, () => d)];
  };
  const cases: Case[] = [];
  const noF64: string[] = [];
  const unsupported: string[] = [];
  for (const op of scalarOpNames()) {
    const e = tableEntry(op)!;
    for (const raw of variants[op] ?? [{}]) {
      const attrs = readAttrs(findOp(op)!, raw);
      for (const d of types) {
        for (const dtypes of operandTypes(e, d)) {
          const result = outputDType(e, dtypes, attrs);
          if (!types.includes(result as DType)) continue;
          const out = result as DType;
          const n = cases.length;
          const args = dtypes.map((t, k) => load(`in_${t}`, iadd(ic(n * 4 * ROWS + k * ROWS), iv('r')), t));
          const lets: Stmt[] = [];
          const bind = (v: Scalar): Scalar => { const name = `s${n}_${lets.length}`; lets.push({ k: 'let', name, value: v }); return ref(name, v.dtype); };
          let expr: Scalar;
          try { expr = scalarOp(op, args, attrs, out, bind); } catch (err) {
            if (err instanceof LowerUnsupported) { unsupported.push(`${op}(${dtypes.join(',')}): ${err.message}`); continue; }
            throw err;
          }
          const c: Case = { id: n, op, attrs, dtypes, out, expr, lets, rows: Array.from({ length: ROWS }, (_, r) => dtypes.map((t, k) => value(t, r, k))) };
          // render alone first: the f64 cases throw here
          try { renderKernelModule(lang, kernelOf([c])); } catch (err) {
            if (/WGSL has no f64/.test((err as Error).message) && F64_CASES.has(op)) { noF64.push(`${op}(${dtypes.join(',')})->${out}`); continue; }
            throw err;
          }
          cases.push(c);
        }
      }
    }
  }
  // batches of one output dtype and few operand dtypes (at most 16 storage buffers per module)
  cases.sort((x, y) => (x.out + x.dtypes.join()).localeCompare(y.out + y.dtypes.join()));
  const bad: string[] = [];
  let compared = 0, trigWide = 0;
  for (let b = 0; b < cases.length; b += BATCH) {
    const batch = cases.slice(b, b + BATCH);
    const ids = batch.map((c) => c.id);
    const k = kernelOf(batch);
    const t0 = performance.now();
    const code = renderKernelModule(lang, k);
    if (!gpu) continue;
    // inputs: in_<dtype>[case * 4 * ROWS + operand * ROWS + row]; outputs: out_<dtype>[case * ROWS + row]
    const data = k.params.map((p) => {
      const values: (number | bigint)[] = new Array(p.count).fill(0);
      if (p.role === 'input') {
        const t = p.name.slice(3) as DType;
        batch.forEach((c, j) => c.dtypes.forEach((d, q) => { if (d === t) for (let r = 0; r < ROWS; r++) values[ids[j] * 4 * ROWS + q * ROWS + r] = c.rows[r][q]; }));
      }
      return upload(p.dtype, values);
    });
    const got = await runWgsl(gpu.device, code, k.name, data, [ROWS, 1, 1]);
    if (process.env.KILN_TIMES) console.log(`  batch ${b}: ${batch[0].out} ${(performance.now() - t0).toFixed(0)} ms, ${code.length} chars`);
    const outs = new Map(k.params.map((p, q) => [p.name, p.role === 'output' ? download(p.dtype, got[q]) : []]));
    batch.forEach((c, j) => {
      for (let r = 0; r < ROWS; r++) {
        const g = outs.get(`out_${c.out}`)![ids[j] * ROWS + r];
        let want = evaluateOp(c.op, c.attrs, c.dtypes, c.rows[r]);
        if (c.out === 'f16') want = roundF16(Number(want));
        let ok: boolean;
        if ((c.op === 'Sin' || c.op === 'Cos') && Math.abs(Number(c.rows[r][0])) > SIN_RANGE && Number.isFinite(Number(c.rows[r][0]))) {
          ok = Math.abs(Number(g)) <= 1; trigWide++;
        } else ok = c.out === 'bool' ? Number(g) === Number(want) : withinTolerance(c.out, g, want);
        compared++;
        if (!ok) bad.push(`${c.op}(${c.dtypes.join(',')}) -> ${c.out} ${JSON.stringify(c.attrs)} at (${c.rows[r].map(String).join(', ')}): WGSL ${String(g)}, table ${String(want)}`);
      }
    });
  }
  assert.ok(cases.length > 150, `only ${cases.length} cases`);
  if (!gpu) return;
  console.log(`  ${cases.length} cases, ${compared} results in ${Math.ceil(cases.length / BATCH)} modules; ${noF64.length} f64 cases refused; ${trigWide} wide sin/cos held to |y| <= 1`);
  assert.equal(bad.slice(0, 30), [], `${bad.length} mismatches`);
  assert.equal(unsupported, [], 'table entries the adapter could not lower');
  assert.ok(noF64.every((x) => /^(Pow\(f(32|16),i32\)|Erf\([iu]\d+\)|Cast(Like)?\((i|u)\d+.*\)->f16|Cast(Like)?\(bool.*\)->f16)/.test(x)), `unexpected f64 cases: ${noF64.join(' ')}`);
});

/** A deterministic pseudo-random sequence in [0, 1). */
function* lcg(seed: number): Generator<number> {
  let x = seed >>> 0;
  for (;;) { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; yield x / 2 ** 32; }
}

test('the f32 math helpers and the 64-bit helpers over sweeps of random values', async () => {
  const gpu = await testGpu('math sweep');
  if (!gpu) return;
  const N = 1024;
  const rnd = lcg(7);
  // floats: magnitudes 1e-6 .. 1e3 of both signs (sin/cos: |x| < 100), a second operand for pow/fmod
  const mag = (lo: number, hi: number) => { const r = rnd.next().value!; const s = rnd.next().value! < 0.5 ? -1 : 1; return Math.fround(s * 10 ** (lo + (hi - lo) * r)); };
  const x = Float32Array.from({ length: N }, () => mag(-6, 2.9));
  const t = Float32Array.from({ length: N }, () => mag(-3, 2));
  const e = Float32Array.from({ length: N }, (_, i) => (i % 3 === 0 ? Math.round(mag(-1, 1.2)) : mag(-2, 1)));
  const big = (): bigint => BigInt.asIntN(64, (BigInt(Math.floor(rnd.next().value! * 2 ** 32)) << 32n) | BigInt(Math.floor(rnd.next().value! * 2 ** 32))
    >> BigInt(Math.floor(rnd.next().value! * 62)));
  const a = BigInt64Array.from({ length: N }, big), b = BigInt64Array.from({ length: N }, (_, i) => (i % 17 === 0 ? -1n : big()));
  const X = load('x', iv('i'), 'f32'), T = load('t', iv('i'), 'f32'), E = load('e', iv('i'), 'f32');
  const A = load('a', iv('i'), 'i64'), B = load('b', iv('i'), 'i64');
  const au = cast(A, 'u64'), bu = cast(B, 'u64');
  const u = (op: UnaryOp, v: Scalar) => unary(op, v);
  const f32s: [string, Scalar, (i: number) => number][] = [
    ['exp', u('exp', binary('div', X, lit(10, 'f32'))), (i) => Math.exp(x[i] / 10)], ['expm1', u('expm1', X), (i) => Math.expm1(x[i])],
    ['log1p', u('log1p', u('abs', X)), (i) => Math.log1p(Math.abs(x[i]))], ['log', u('log', u('abs', X)), (i) => Math.log(Math.abs(x[i]))],
    ['tanh', u('tanh', X), (i) => Math.tanh(x[i])], ['erf', u('erf', X), (i) => erf(x[i])],
    ['sin', u('sin', T), (i) => Math.sin(t[i])], ['cos', u('cos', T), (i) => Math.cos(t[i])], ['sqrt', u('sqrt', u('abs', X)), (i) => Math.sqrt(Math.abs(x[i]))],
    ['pow', binary('pow', T, E), (i) => cPow(t[i], e[i])], ['fmod', binary('fmod', X, T), (i) => x[i] % t[i]],
    ['i64_f32', cast(A, 'f32'), (i) => Number(a[i])], ['u64_f32', cast(au, 'f32'), (i) => Number(BigInt.asUintN(64, a[i]))],
  ];
  const i64s: [string, Scalar, (i: number) => bigint][] = [
    ['mul', binary('mul', A, B), (i) => BigInt.asIntN(64, a[i] * b[i])], ['add', binary('add', A, B), (i) => BigInt.asIntN(64, a[i] + b[i])],
    ['div', binary('div', A, B), (i) => BigInt.asIntN(64, a[i] / b[i])], ['rem', binary('fmod', A, B), (i) => a[i] % b[i]],
    ['udiv', cast(binary('div', au, bu), 'i64'), (i) => BigInt.asIntN(64, BigInt.asUintN(64, a[i]) / BigInt.asUintN(64, b[i]))],
    ['urem', cast(binary('fmod', au, bu), 'i64'), (i) => BigInt.asIntN(64, BigInt.asUintN(64, a[i]) % BigInt.asUintN(64, b[i]))],
    ['lt', cast(binary('lt', A, B), 'i64'), (i) => (a[i] < b[i] ? 1n : 0n)], ['ult', cast(binary('lt', au, bu), 'i64'), (i) => (BigInt.asUintN(64, a[i]) < BigInt.asUintN(64, b[i]) ? 1n : 0n)],
    ['f32_i64', cast(binary('mul', X, lit(1e12, 'f32')), 'i64'), (i) => BigInt(Math.trunc(Math.fround(x[i] * Math.fround(1e12))))],
  ];
  const params: BufferDecl[] = [buf('x', 'f32', N, 'input'), buf('t', 'f32', N, 'input'), buf('e', 'f32', N, 'input'), buf('a', 'i64', N, 'input'), buf('b', 'i64', N, 'input'),
    ...f32s.map(([n]) => buf(`y_${n}`, 'f32', N, 'output')), ...i64s.map(([n]) => buf(`y_${n}`, 'i64', N, 'output'))];
  for (const group of [f32s.slice(0, 7), f32s.slice(7), i64s] as typeof f32s[]) {
    const names = new Set(group.map(([n]) => `y_${n}`));
    const ps = params.filter((p) => p.role === 'input' || names.has(p.name));
    const k: Kernel = { name: 'sweep', params: ps, shared: [], nodes: [], loc: [], launch: { grid: [N, 1, 1], block: [1, 1, 1] },
      body: [loop('i', N, group.map(([n, v]) => ({ k: 'store' as const, buffer: `y_${n}`, index: iv('i'), value: v })), [{ kind: 'grid', axis: 0 }])] };
    const data: ArrayBufferView[] = ps.map((p) => ({ x, t, e, a, b } as Record<string, ArrayBufferView>)[p.name] ?? (p.dtype === 'f32' ? new Float32Array(N) : new BigInt64Array(N)));
    const got = await runWgsl(gpu.device, renderKernelModule(wgsl({ f16: false }), k), 'sweep', data, [N, 1, 1]);
    const bad: string[] = [];
    group.forEach(([n, , want]) => {
      const q = ps.findIndex((p) => p.name === `y_${n}`);
      const g = p64(ps[q].dtype, got[q]);
      for (let i = 0; i < N; i++) {
        const w = want(i);
        const ok = typeof w === 'bigint' ? g[i] === w : withinTolerance('f32', g[i], Math.fround(w));
        if (!ok) bad.push(`${n} at ${i} (x ${x[i]}, t ${t[i]}, e ${e[i]}, a ${a[i]}, b ${b[i]}): WGSL ${g[i]}, want ${w}`);
      }
    });
    assert.equal(bad.slice(0, 10), [], `${bad.length} mismatches`);
  }
});

const p64 = (d: DType, bytes: ArrayBuffer): (number | bigint)[] => (d === 'i64' ? [...new BigInt64Array(bytes)] : [...new Float32Array(bytes)]);
const buf = (name: string, dtype: DType, count: number, role: BufferDecl['role']): BufferDecl => ({ name, dtype, count, role });

/** One kernel computing `batch` (case ids `ids`) over the rows. */
function kernelOf(batch: readonly Case[]): Kernel {
  const ids = batch.map((c) => c.id);
  const count = (Math.max(...ids) + 1) * 4 * ROWS;
  const ins = [...new Set(batch.flatMap((c) => c.dtypes))].sort();
  const outs = [...new Set(batch.map((c) => c.out))].sort();
  const params: BufferDecl[] = [
    ...ins.map((d) => ({ name: `in_${d}`, dtype: d, count, role: 'input' as const })),
    ...outs.map((d) => ({ name: `out_${d}`, dtype: d, count: (Math.max(...ids) + 1) * ROWS, role: 'output' as const })),
  ];
  const body: Stmt[] = batch.flatMap((c, j) => [...c.lets, { k: 'store' as const, buffer: `out_${c.out}`, index: iadd(ic(ids[j] * ROWS), iv('r')), value: c.out === c.expr.dtype ? c.expr : cast(c.expr, c.out) }]);
  const dtypeOf = (b: string) => params.find((p) => p.name === b)?.dtype;
  return { name: `scalar_${ids[0]}`, params, shared: [], body: [loop('r', ROWS, widenHalf(body, dtypeOf), [{ kind: 'grid', axis: 0 }])], nodes: [], loc: [], launch: { grid: [ROWS, 1, 1], block: [1, 1, 1] } };
}

test.run();
