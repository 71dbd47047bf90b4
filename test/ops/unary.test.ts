import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { erf, roundHalfEven } from '../../compiler/ops/unary.ts';
import { big, close, f32, infer, raw, run, run1, t, ty, vals } from './elementwise-helpers.ts';

// ---- math ----

test('Abs: floats, wrapping int8, exact i64, unsigned', () => {
  close(run1('Abs', [f32(-1.5, 0, 2)]), 'f32', [3], [1.5, 0, 2]);
  assert.equal(vals(run1('Abs', [t('i8', [3], [-128, -3, 5])])), [-128, 3, 5]); // |-128| wraps as in C
  assert.equal(raw(run1('Abs', [big('i64', [2], [-9007199254740993n, 5n])])), [9007199254740993n, 5n]);
  assert.equal(vals(run1('Abs', [t('u8', [1], [200])])), [200]);
});

test('Neg: signed types only; i64 exact', () => {
  assert.equal(vals(run1('Neg', [t('i32', [2], [5, -7])])), [-5, 7]);
  assert.equal(raw(run1('Neg', [big('i64', [1], [2n ** 62n + 1n])])), [-(2n ** 62n) - 1n]);
  close(run1('Neg', [f32(0.25, -3)]), 'f32', [2], [-0.25, 3]);
  assert.throws(() => run1('Neg', [t('u8', [1], [1])]), /Neg input has dtype u8/);
  assert.throws(() => infer('Neg', [ty('u32', [2])]), /dtype u32/);
});

test('Exp, Log, Sqrt, Reciprocal incl. special values', () => {
  close(run1('Exp', [f32(0, 1, -1)]), 'f32', [3], [1, Math.E, 1 / Math.E]);
  close(run1('Log', [f32(1, Math.E, 0, -1)]), 'f32', [4], [0, 1, -Infinity, NaN]);
  close(run1('Sqrt', [f32(4, 2, -1)]), 'f32', [3], [2, Math.SQRT2, NaN]);
  close(run1('Reciprocal', [f32(2, -4, 0)]), 'f32', [3], [0.5, -0.25, Infinity]);
});

test('Ceil, Floor', () => {
  close(run1('Ceil', [f32(-1.5, 1.2, 2)]), 'f32', [3], [-1, 2, 2]);
  close(run1('Floor', [f32(-1.5, 1.2, 2)]), 'f32', [3], [-2, 1, 2]);
});

test('Round: half to even (ONNX example)', () => {
  const x = f32(0.1, 0.5, 0.9, 1.2, 1.5, 1.8, 2.3, 2.5, 2.7, -1.1, -1.5, -1.9, -2.2, -2.5, -2.8);
  close(run1('Round', [x]), 'f32', [15], [0, 0, 1, 1, 2, 2, 2, 2, 3, -1, -2, -2, -2, -2, -3]);
  assert.ok(Object.is(roundHalfEven(-0.5), -0));
  assert.is(roundHalfEven(4503599627370497), 4503599627370497);
});

test('Sign: floats (NaN stays NaN) and integers', () => {
  close(run1('Sign', [f32(-2, 0, 3, NaN)]), 'f32', [4], [-1, 0, 1, NaN]);
  assert.equal(raw(run1('Sign', [big('i64', [3], [-5n, 0n, 7n])])), [-1n, 0n, 1n]);
  assert.equal(vals(run1('Sign', [t('i16', [2], [-300, 300])])), [-1, 1]);
});

test('Sin, Cos, Tanh', () => {
  close(run1('Sin', [f32(0, Math.PI / 2)]), 'f32', [2], [0, 1]);
  close(run1('Cos', [f32(0, Math.PI)]), 'f32', [2], [1, -1]);
  close(run1('Tanh', [f32(0, 1, -1000)]), 'f32', [3], [0, 0.7615941559557649, -1]);
});

test('Erf: accurate to ~1e-7 against tabulated values', () => {
  const table: [number, number][] = [
    [0.1, 0.1124629160182849], [0.3, 0.3286267594591112], [0.5, 0.5204998778130465],
    [1, 0.8427007929497149], [1.5, 0.9661051464753108], [2, 0.9953222650189527], [3, 0.9999779095030014],
    [-0.7, -0.6778011938374184], [6, 1], [Infinity, 1],
  ];
  for (const [x, want] of table) assert.ok(Math.abs(erf(x) - want) < 2e-7, `erf(${x}) = ${erf(x)}`);
  assert.ok(Math.abs(erf(1e-8) / 1.1283791670955126e-8 - 1) < 1e-9, 'relative accuracy near 0');
  assert.ok(Number.isNaN(erf(NaN)));
  const y = run1('Erf', [t('f64', [2], [0.5, -2])]);
  close(y, 'f64', [2], [0.5204998778130465, -0.9953222650189527], 2e-7);
});

test('Not: bool only', () => {
  assert.equal(vals(run1('Not', [t('bool', [3], [1, 0, 1])])), [0, 1, 0]);
  assert.throws(() => run1('Not', [f32(1)]), /Not input has dtype f32; expected one of bool/);
});

test('Identity: any dtype, fresh storage', () => {
  const s = new Tensor('str', [2], ['a', 'b']);
  const y = run1('Identity', [s]);
  assert.equal(y.data, ['a', 'b']);
  assert.ok(y.data !== s.data);
  const b = big('u64', [1], [2n ** 64n - 1n]);
  assert.equal(raw(run1('Identity', [b])), [2n ** 64n - 1n]);
  const q = new Tensor('f8e4m3fn', [2], Uint8Array.of(0x7e, 0x80));
  assert.equal(raw(run1('Identity', [q])), [0x7e, 0x80]);
});

// ---- f16 / bf16 and type rules ----

test('f16 and bf16 compute through f32 and round once', () => {
  const y = run1('Exp', [t('f16', [2], [0, 1])]);
  assert.is(y.dtype, 'f16');
  assert.equal(raw(y), [0x3c00, 0x4170]); // 1.0 and 2.71875 (nearest f16 to e)
  const r = run1('Relu', [t('bf16', [2], [-1, 2.5])]);
  assert.equal(raw(r), [0x0000, 0x4020]);
});

test('type rule: same dtype and shape, symbolic dims kept, dtype errors', () => {
  assert.equal(infer('Sqrt', [ty('f32', ['N', 3])]), [ty('f32', ['N', 3])]);
  assert.equal(infer('Abs', [ty('i64', [])]), [ty('i64', [])]);
  assert.throws(() => infer('Exp', [ty('i32', [2])]), /Exp input has dtype i32; expected one of f32, f16, bf16, f64/);
  assert.throws(() => infer('Log', [ty('str', [2])]), /dtype str/);
});

test('zero-size tensors', () => {
  const y = run1('Exp', [Tensor.zeros('f32', [0, 3])]);
  assert.equal(y.shape, [0, 3]);
  assert.is(y.size, 0);
});

// ---- activations ----

test('Relu: floats (NaN kept), int32, int64', () => {
  close(run1('Relu', [f32(-1, 0, 2, NaN)]), 'f32', [4], [0, 0, 2, NaN]);
  assert.equal(vals(run1('Relu', [t('i32', [2], [-5, 5])])), [0, 5]);
  assert.equal(raw(run1('Relu', [big('i64', [2], [-(2n ** 60n), 2n ** 60n])])), [0n, 2n ** 60n]);
});

test('Relu, LeakyRelu: infinities, -0 and NaN through the branch-free loops', () => {
  const y = run1('Relu', [f32(-Infinity, Infinity, -0, NaN, -1e-30)]);
  close(y, 'f32', [5], [0, Infinity, 0, NaN, 0]);
  assert.ok(Object.is(vals(y)[2], 0) && Object.is(vals(y)[4], 0), 'Relu gives +0, not -0');
  close(run1('LeakyRelu', [f32(-Infinity, Infinity, NaN, -2)], { alpha: 0.5 }), 'f32', [4], [-Infinity, Infinity, NaN, -1]);
  const sg = run1('Sigmoid', [f32(-Infinity, Infinity, NaN, -30)]);
  close(sg, 'f32', [4], [0, 1, NaN, 9.357622968840175e-14]);
  assert.ok(Math.abs(vals(sg)[3] / 9.357622968840175e-14 - 1) < 1e-7, 'relative accuracy in the lower tail');
});

test('LeakyRelu, Elu with default and given alpha', () => {
  close(run1('LeakyRelu', [f32(-1, 2)]), 'f32', [2], [-0.01, 2]);
  close(run1('LeakyRelu', [f32(-1, 0, 1)], { alpha: 0.1 }), 'f32', [3], [-0.1, 0, 1]);
  close(run1('Elu', [f32(-1, 0, 1)], { alpha: 2 }), 'f32', [3], [-1.2642411176571153, 0, 1]);
  close(run1('Elu', [f32(-1)]), 'f32', [1], [Math.exp(-1) - 1]);
});

test('Sigmoid: stable at both tails', () => {
  close(run1('Sigmoid', [f32(0, 1, -1000, 1000)]), 'f32', [4], [0.5, 0.7310585786300049, 0, 1]);
});

test('HardSigmoid and HardSwish', () => {
  close(run1('HardSigmoid', [f32(-1, 0, 1)], { alpha: 0.5, beta: 0.6 }), 'f32', [3], [0.1, 0.6, 1]);
  close(run1('HardSigmoid', [f32(-3, 0, 3)]), 'f32', [3], [0, 0.5, 1]);
  close(run1('HardSwish', [f32(-4, -1, 0, 1, 4)]), 'f32', [5], [0, -1 / 3, 0, 2 / 3, 4]);
});

test('Softplus: log(1+e^x) without overflow', () => {
  close(run1('Softplus', [f32(-1, 0, 1, 100)]), 'f32', [4], [0.31326168751822286, Math.LN2, 1.3132616875182228, 100]);
});

test('Gelu: exact and tanh approximation', () => {
  close(run1('Gelu', [f32(-1, 0, 1)]), 'f32', [3], [-0.15865525393145707, 0, 0.8413447460685429], 1e-6);
  close(run1('Gelu', [f32(-1, 0.5, 1)], { approximate: 'tanh' }), 'f32', [3],
    [-0.15880800939172324, 0.34571400982514394, 0.8411919906082768], 1e-6);
  assert.throws(() => run1('Gelu', [f32(1)], { approximate: 'erf' }), /must be one of none, tanh/);
});

test('Dropout: inference identity with an all-true mask', () => {
  const x = f32(1, -2, 3);
  const [y, mask] = run('Dropout', [x, f32(0.5)], {}, 2);
  assert.equal(vals(y), [1, -2, 3]);
  assert.ok(y.data !== x.data);
  assert.is(mask.dtype, 'bool');
  assert.equal(vals(mask), [1, 1, 1]);
  assert.equal(infer('Dropout', [ty('f32', ['N']), undefined, ty('bool', [])], {}, 2), [ty('f32', ['N']), ty('bool', ['N'])]);
});

test('Dropout: training mode with a non-zero ratio is rejected; ratio 0 is the identity', () => {
  const yes = t('bool', [], [1]);
  assert.throws(() => run('Dropout', [f32(1, 2), t('f32', [], [0.5]), yes]), /training mode is not supported/);
  assert.throws(() => run('Dropout', [f32(1, 2), undefined, yes]), /training mode is not supported/);
  const [y, m] = run('Dropout', [f32(1, 2), t('f32', [], [0]), yes], {}, 2);
  assert.equal(vals(y), [1, 2]);
  assert.equal(vals(m), [1, 1]);
  assert.equal(vals(run1('Dropout', [f32(4), t('f32', [], [0.3]), t('bool', [], [0])])), [4]);
});

test.run();
