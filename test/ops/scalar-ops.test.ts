/**
 * The scalar-op table (compiler/ops/scalar-ops.ts) against the reference kernels: for every entry,
 * every dtype it accepts and a set of attribute variants, seeded random operands mixed with edge
 * values (0, -0, +-inf, NaN, huge, tiny, subnormal, negatives for Log/Sqrt, integer extremes, zero
 * divisors) are computed by the op's OpDef.run on a small tensor and by the table's evaluator
 * element by element, stored to the output dtype, and compared within the table's tolerance for that
 * dtype (NaN equals NaN). Also: every pointwise op family member has an entry or a stated reason, the
 * region loop follows the precision contract (f16 intermediates in f32), and the trees are
 * language-neutral nodes with typed operands.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../../compiler/ops/all.ts';
import type { DType } from '../../compiler/ir/dtype.ts';
import type { Attrs } from '../../compiler/ir/graph.ts';
import { Tensor, readNumbers } from '../../compiler/ir/tensor.ts';
import { findOp, opNames, readAttrs } from '../../compiler/ops/registry.ts';
import { unaryOps } from '../../compiler/ops/unary.ts';
import { activationOps } from '../../compiler/ops/activation.ts';
import { binaryOps } from '../../compiler/ops/binary.ts';
import { compareOps } from '../../compiler/ops/compare.ts';
import { variadicOps } from '../../compiler/ops/variadic.ts';
import { castOps } from '../../compiler/ops/cast.ts';
import { fusedAttrs, fusedRegion, isBodyElementwise } from '../../compiler/ops/fused-region.ts';
import {
  NOT_LOWERABLE, type ScalarOp, compileOp, evaluateOp, opExpr, outputDType, scalarOp, scalarOpNames, withinTolerance,
} from '../../compiler/ops/scalar-ops.ts';
import { type Expr, SCALAR_FNS, computeType, printExpr } from '../../compiler/ops/scalar-expr.ts';
import { rng } from './compute-helpers.ts';

const N = 96;
const FLOAT_EDGES = [0, -0, 1, -1, Infinity, -Infinity, NaN, 1e30, -1e30, 3.4e38, -3.4e38, 1e-30, -1e-42, 0.5, -0.5,
  2.5, -2.5, 65504, 1e-8, 700, -700, 89, -89, 1e300];
const INT_RANGE: Readonly<Record<string, [number, number]>> = {
  i8: [-128, 127], u8: [0, 255], i16: [-32768, 32767], u16: [0, 65535], i32: [-2147483648, 2147483647], u32: [0, 4294967295],
};
const BIG_EDGES = [0n, 1n, -1n, 2n, -(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n + 1n, -(2n ** 40n)];

/** N seeded operand values of `dtype`, the first ones edge values. */
function operand(dtype: DType, seed: number, positive = false): Tensor {
  const r = rng(seed);
  if (dtype === 'bool') return new Tensor('bool', [N], Uint8Array.from({ length: N }, () => (r() > 0 ? 1 : 0)));
  if (dtype === 'i64' || dtype === 'u64') {
    const vals = Array.from({ length: N }, (_, i) => (i < BIG_EDGES.length ? BIG_EDGES[i] : BigInt(Math.round(r() * 1e6)))
      * (i % 3 === 0 && i >= BIG_EDGES.length ? 1234567n : 1n));
    return dtype === 'i64' ? new Tensor('i64', [N], BigInt64Array.from(vals)) : new Tensor('u64', [N], BigUint64Array.from(vals, (v) => BigInt.asUintN(64, v)));
  }
  const range = INT_RANGE[dtype];
  if (range) {
    const [lo, hi] = range;
    const edges = [0, 1, -1, 2, -2, lo, hi, lo + 1, hi - 1, 7, -7].filter((v) => v >= lo && v <= hi);
    const vals = Array.from({ length: N }, (_, i) => (i < edges.length ? edges[(i + seed) % edges.length]
      : i % 2 ? Math.round(r() * 100) : Math.floor(lo + (r() + 1) / 2 * (hi - lo))));
    return Tensor.fromNumbers(dtype, [N], vals);
  }
  const vals = Array.from({ length: N }, (_, i) => {
    const v = i < FLOAT_EDGES.length ? FLOAT_EDGES[(i + seed) % FLOAT_EDGES.length] : i % 3 === 0 ? r() * 100 : r() * 4;
    return positive ? Math.abs(v) : v;
  });
  return Tensor.fromNumbers(dtype, [N], vals);
}

/** Element i of `t` as the evaluator takes it (compute-type value; 0 for a single element's broadcast). */
function elementOf(t: Tensor, i: number): number | bigint {
  const k = t.size === 1 ? 0 : i;
  if (t.data instanceof BigInt64Array || t.data instanceof BigUint64Array) return t.data[k];
  return readNumbers(t)[k];
}

/** Runs one case: reference kernel vs table evaluator; returns the first mismatch, if any. */
function check(entry: ScalarOp, attrs: Attrs, inputs: (Tensor | undefined)[]): string | undefined {
  const def = findOp(entry.op)!;
  const parsed = readAttrs(def, attrs);
  const dtypes = inputs.map((t) => t?.dtype);
  const out = outputDType(entry, dtypes, parsed);
  if (!computeType(out as DType)) return `not lowered: ${out}`;
  const want = def.run(inputs, parsed, 1)[0];
  const f = compileOp(entry.op, parsed, dtypes);
  const vals = Array.from({ length: N }, (_, i) => f(...inputs.map((t) => (t ? elementOf(t, i) : 0))));
  const got = out === 'i64' ? new Tensor('i64', [N], BigInt64Array.from(vals as bigint[]))
    : out === 'u64' ? new Tensor('u64', [N], BigUint64Array.from(vals as bigint[]))
      : Tensor.fromNumbers(out as DType, [N], vals as number[]);
  assert.is(want.dtype, out, `${entry.op} output dtype`);
  for (let i = 0; i < N; i++) {
    const [g, w] = [elementOf(got, i), elementOf(want, i)];
    if (!withinTolerance(out as DType, g, w)) {
      return `${entry.op}(${inputs.map((t) => (t ? `${t.dtype} ${elementOf(t, i)}` : '_')).join(', ')}) ${JSON.stringify(attrs)}: `
        + `table ${g}, kernel ${w}`;
    }
  }
  return undefined;
}

const f = (value: number) => ({ kind: 'float' as const, value: Math.fround(value) });
const s = (value: string) => ({ kind: 'string' as const, value });
const i = (value: number) => ({ kind: 'int' as const, value });
const DTYPE_CODES: Readonly<Record<string, number>> = {
  f32: 1, u8: 2, i8: 3, u16: 4, i16: 5, i32: 6, i64: 7, bool: 9, f16: 10, f64: 11, u32: 12, u64: 13, bf16: 16,
};
const ALL: DType[] = ['f32', 'f16', 'bf16', 'f64', 'i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', 'u64', 'bool'];

/** Attribute variants per op (the default is the op's defaults). */
const VARIANTS: Readonly<Record<string, Attrs[]>> = {
  LeakyRelu: [{}, { alpha: f(0.3) }],
  Elu: [{}, { alpha: f(0.5) }],
  HardSigmoid: [{}, { alpha: f(0.25), beta: f(0.4) }],
  Gelu: [{}, { approximate: s('tanh') }],
  Selu: [{}, { alpha: f(2), gamma: f(0.5) }],
  Celu: [{}, { alpha: f(2) }],
  Swish: [{}, { alpha: f(1.702) }],
  Shrink: [{}, { lambd: f(1.5), bias: f(0.25) }],
  ThresholdedRelu: [{}, { alpha: f(0.5) }],
  Mod: [{ fmod: i(0) }, { fmod: i(1) }],
  Cast: ALL.map((to) => ({ to: i(DTYPE_CODES[to]) })),
};

/** The operand lists to try for an entry on dtype `d`. */
function operandSets(entry: ScalarOp, d: DType): (Tensor | undefined)[][] {
  const positive = entry.op === 'Log' || entry.op === 'Sqrt';
  const x = operand(d, 1, false), y = operand(d, 2), z = operand(d, 3);
  switch (entry.rule) {
    case 'where': return [[operand('bool', 4), x, y]];
    case 'pow': return [[x, y], [x, operand('i32', 5)], [x, operand('i64', 6)], [x, operand('f32', 7)]];
    case 'cast': return [[x]];
    case 'cast-like': return ALL.map((to) => [x, operand(to, 8)]);
    default: break;
  }
  if (entry.op === 'Clip') {
    const lo = Tensor.fromNumbers(d, [], [d.startsWith('u') ? 3 : -3]), hi = Tensor.fromNumbers(d, [], [5]);
    return [[x, lo, hi], [x, undefined, hi], [x, lo]];
  }
  if (entry.arity[1] === Infinity) return [[x], [x, y, z]];
  if (entry.arity[0] === 2) return [[x, y], [y, x]];
  return [[positive ? operand(d, 1, true) : x], [x]];
}

for (const name of scalarOpNames()) {
  test(`${name}: the table matches the reference kernel on every accepted dtype`, () => {
    const entry = scalarOp(name)!;
    let cases = 0;
    for (const d of entry.types) {
      for (const attrs of VARIANTS[name] ?? [{}]) {
        for (const inputs of operandSets(entry, d)) {
          const parsed = readAttrs(findOp(name)!, attrs);
          if (name === 'Mod' && !parsed.fmod && ['f32', 'f16', 'bf16', 'f64'].includes(d)) continue; // ONNX: fmod=0 is for integers
          const problem = check(entry, attrs, inputs);
          assert.is(problem, undefined, problem);
          cases++;
        }
      }
    }
    assert.ok(cases > 0, `${name} was checked on at least one case`);
  });
}

test('every op of the pointwise families and every elementwise op has a table entry or a stated reason', () => {
  const families = [unaryOps, activationOps, binaryOps, compareOps, variadicOps, castOps].flat().map((d) => d.name);
  // every op whose traits say elementwise (ops other test files register for their own checks, named
  // kiln.test_*, are not kiln's)
  const elementwise = opNames().filter((op) => isBodyElementwise(op) && !op.startsWith('kiln.test_'));
  assert.ok(elementwise.length > 40, `${elementwise.length} elementwise ops`);
  for (const op of [...families, ...elementwise]) {
    assert.ok(scalarOp(op) || NOT_LOWERABLE[op], `${op} has no scalar-op entry and no reason in NOT_LOWERABLE`);
    assert.ok(!(scalarOp(op) && NOT_LOWERABLE[op]), `${op} is both in the table and in NOT_LOWERABLE`);
  }
  for (const op of scalarOpNames()) assert.ok(findOp(op), `table entry ${op} names a registered op`);
  for (const reason of Object.values(NOT_LOWERABLE)) assert.ok(reason.length > 10);
});

test('trees are typed, language-neutral nodes ending in the rounding to the compute type', () => {
  const tree = opExpr(scalarOp('HardSigmoid')!, ['f16'], { alpha: 0.25, beta: 0.5 }) as Expr;
  assert.is(tree.kind, 'convert');
  assert.is(tree.type, 'f32'); // f16 computes in f32
  const seen = new Set<string>();
  const walk = (e: Expr): void => {
    if (e.kind === 'op') { assert.ok(e.fn in SCALAR_FNS); seen.add(e.fn); e.args.forEach(walk); } else if (e.kind === 'convert') walk(e.arg);
    else if (e.kind === 'const' && e.attr) seen.add(`attr:${e.attr}`);
  };
  walk(tree);
  assert.equal([...seen].sort(), ['add', 'attr:alpha', 'attr:beta', 'gt', 'lt', 'mul', 'select']);
  assert.is(printExpr(opExpr(scalarOp('LeakyRelu')!, ['f64'], { alpha: 0.5 }) as Expr),
    'convert<f64>(select(lt(x0:f64, 0:f64), mul(x0:f64, 0.5:f64@alpha), x0:f64))');
  assert.is(printExpr(opExpr(scalarOp('Where')!, ['bool', 'i64', 'i64'], {}) as Expr), 'convert<i64>(select(x0:bool, x1:i64, x2:i64))');
  assert.is((opExpr(scalarOp('Mod')!, ['f32', 'f32'], { fmod: false }) as Expr).type, 'f32'); // Mod-28: floor modulo on floats
  assert.match(String(opExpr(scalarOp('Add')!, ['f32', 'i32'], {})), /mix f32 and i32/);
  assert.is((opExpr(scalarOp('Less')!, ['i64', 'i64'], {}) as Expr).type, 'bool');
});

test('evaluator edge semantics: integer wrap and zero divisors, Python Mod (integers and floats), Relu of -0 and NaN, Max NaN', () => {
  assert.is(evaluateOp('Add', {}, ['i8', 'i8'], [127, 1]), -128);
  assert.is(evaluateOp('Mul', {}, ['i32', 'i32'], [65536, 65537]), 65536);
  assert.is(evaluateOp('Div', {}, ['i32', 'i32'], [-2147483648, -1]), -2147483648);
  assert.is(evaluateOp('Div', {}, ['u8', 'u8'], [9, 0]), 0);
  assert.is(evaluateOp('Mod', { fmod: false }, ['i32', 'i32'], [-7, 3]), 2);
  assert.is(evaluateOp('Mod', { fmod: true }, ['i32', 'i32'], [-7, 3]), -1);
  // floats with fmod=0 (Mod-28) as Python's %: the divisor's sign, zeros and infinite divisors included
  assert.is(evaluateOp('Mod', { fmod: false }, ['f32', 'f32'], [-4.5, 2]), 1.5);
  assert.is(evaluateOp('Mod', { fmod: false }, ['f64', 'f64'], [7, -3]), -2);
  assert.ok(Object.is(evaluateOp('Mod', { fmod: false }, ['f32', 'f32'], [4, -2]), -0));
  assert.ok(Object.is(evaluateOp('Mod', { fmod: false }, ['f32', 'f32'], [-6, 3]), 0));
  assert.is(evaluateOp('Mod', { fmod: false }, ['f32', 'f32'], [-5, Infinity]), Infinity);
  assert.is(evaluateOp('Mod', { fmod: true }, ['f32', 'f32'], [-7.5, 2]), -1.5);
  assert.is(evaluateOp('Sub', {}, ['i64', 'i64'], [-(2n ** 63n), 1n]), 2n ** 63n - 1n);
  assert.ok(Object.is(evaluateOp('Relu', {}, ['f32'], [-0]), 0));
  assert.ok(Number.isNaN(evaluateOp('Relu', {}, ['f32'], [NaN]) as number));
  assert.ok(Number.isNaN(evaluateOp('Max', {}, ['f32', 'f32'], [1, NaN]) as number));
  assert.is(evaluateOp('Cast', { to: 'i32' }, ['f32'], [NaN]), -2147483648);
  assert.is(evaluateOp('Cast', { to: 'f16' }, ['f32'], [0.1]), 0.0999755859375);
  assert.is(evaluateOp('Sigmoid', {}, ['f32'], [0.3]), Math.fround(1 / (1 + Math.exp(-0.3))));
});

test('regions follow the contract: f16 intermediates stay in f32 and round once at the store', () => {
  const parse = (body: string[]) => readAttrs(fusedRegion, fusedAttrs(body, [body.length - 1]));
  const a = parse(['t0 = Add(in0, in1)', 't1 = Sub(t0, in0)']);
  const one = Tensor.fromNumbers('f16', [1], [1]), tiny = Tensor.fromNumbers('f16', [1], [2 ** -11]);
  // unfused: 1 + 2^-11 rounds to 1 in f16, so the difference is 0; fused keeps 1 + 2^-11 in f32
  const unfused = findOp('Sub')!.run([findOp('Add')!.run([one, tiny], {}, 1)[0], one], {}, 1)[0];
  assert.equal([...readNumbers(unfused)], [0]);
  const [y] = fusedRegion.run([one, tiny], a, 1);
  assert.is(y.dtype, 'f16');
  assert.equal([...readNumbers(y)], [2 ** -11]);
  // f32 regions equal the unfused ops bit for bit, with broadcasting and a bool intermediate
  const b = parse(['t0 = Greater(in0, in1)', 't1 = Sigmoid(in0)', 't2 = Where(t0, t1, in1)']);
  const x = operand('f32', 9), t = Tensor.fromNumbers('f32', [], [0.25]);
  const [z] = fusedRegion.run([x, t], b, 1);
  const want = findOp('Where')!.run([findOp('Greater')!.run([x, t], {}, 1)[0], findOp('Sigmoid')!.run([x], {}, 1)[0], t], {}, 1)[0];
  assert.equal(z.data, want.data);
});

test('a region the table cannot lower (integer Pow) is interpreted with the reference kernels', () => {
  assert.is(typeof outputDType(scalarOp('Pow')!, ['i32', 'i32'], {}), 'string');
  const a = readAttrs(fusedRegion, fusedAttrs(['t0 = Pow(in0, in1)', 't1 = Add(t0, in0)'], [1]));
  const x = Tensor.fromNumbers('i32', [3], [2, -3, 7]), e = Tensor.fromNumbers('i32', [3], [31, 3, 0]);
  const [y] = fusedRegion.run([x, e], a, 1);
  assert.equal(Array.from(y.data as Int32Array), [-2147483648 + 2, -27 - 3, 1 + 7]);
});

test.run();
