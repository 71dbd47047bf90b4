/** The simplify pass: each rule on a small graph (result text, statistics, values), graph outputs, zoo models. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Graph } from '../../compiler/ir/graph.ts';
import { Tensor, readNumbers } from '../../compiler/ir/tensor.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { randomInputs } from '../../compiler/runtime/inputs.ts';
import { simplifyPass } from '../../compiler/passes/simplify.ts';
import { SIMPLIFY_RULES, losslessCast } from '../../compiler/passes/simplify-rules.ts';
import { ZOO_MODELS, assertUnchanged, checkZoo, nodeLines, parseKir, runPass } from './canonical-helpers.ts';

const run = (g: Graph) => runPass(simplifyPass, g);

/** Asserts both graphs compute the same outputs (bit for bit) on seeded inputs. */
function sameValues(a: Graph, b: Graph): void {
  const inputs = randomInputs(a, 7);
  const x = runReference(a, inputs), y = runReference(b, inputs);
  x.forEach((t, k) => assert.equal(Array.from(readNumbers(y[k])), Array.from(readNumbers(t)), `output ${k}`));
}

test('every rule has a name, a one-line label and a statistic', () => {
  for (const r of SIMPLIFY_RULES) {
    assert.ok(/^[a-z-]+$/.test(r.name) && r.label.length > 5 && !r.label.includes('\n'), r.name);
    assert.ok(simplifyPass.statistics.some((s) => s.name === r.name), r.name);
  }
});

test('Identity is removed and its reader reads the input', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[4]) -> (%1: f32[4]) {',
    '  %0 = Identity(%x) : f32[4] loc("/id")',
    '  %1 = Relu(%0) : f32[4] loc("/relu")',
    '  return %1',
    '}',
  ]);
  const r = run(g);
  assert.equal(nodeLines(r.graph), ['%1 = Relu(%x) : f32[4] loc("/relu")']);
  assert.is(r.stats.identity, 1);
  sameValues(g, r.graph);
});

test('a removed node that produced a graph output: its input value is renamed to the output name', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[4]) -> (%1: f32[4], %y: f32[4]) {',
    '  %0 = Relu(%x) : f32[4] loc("/relu")',
    '  %1 = Sigmoid(%0) : f32[4] loc("/sig")',
    '  %y = Identity(%0) : f32[4] loc("/id")',
    '  return %1, %y',
    '}',
  ]);
  const r = run(g);
  assert.equal(r.graph.outputs, ['1', 'y']);
  assert.equal(nodeLines(r.graph), ['%y = Relu(%x) : f32[4] loc("/relu")', '%1 = Sigmoid(%y) : f32[4] loc("/sig")']);
  sameValues(g, r.graph);
});

test('an Identity from a graph input to a graph output stays (nothing changes)', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[4]) -> (%y: f32[4]) {',
    '  %y = Identity(%x) : f32[4] loc("/id")',
    '  return %y',
    '}',
  ]);
  assertUnchanged(simplifyPass, g);
});

test('x * 1 producing a graph output from a graph input becomes Identity(x) with its loc', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[2]) -> (%y: f32[2]) {',
    '  %one = const f32[] dense<1.0>',
    '  %y = Mul(%x, %one) : f32[2] loc("/mul")',
    '  return %y',
    '}',
  ]);
  const r = run(g);
  assert.equal(nodeLines(r.graph), ['%y = Identity(%x) : f32[2] loc("/mul")']);
  assert.equal(r.graph.constants, []);
  assert.is(r.stats['mul-one'], 1);
  assert.is(r.stats['removed-constants'], 1);
});

test('Dropout: removed in inference mode; kept in training mode or when its mask is read', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[4]) -> (%3: f32[4], %m: bool[4]) {',
    '  %no = const bool[] dense<false>',
    '  %yes = const bool[] dense<true>',
    '  %r = const f32[] dense<0.5>',
    '  %0 = Dropout(%x, %r) : f32[4] loc("/d0")',
    '  %1 = Dropout(%0, %r, %no) : f32[4] loc("/d1")',
    '  %2 = Dropout(%1, %r, %yes) : f32[4] loc("/d2")',
    '  %3, %m = Dropout(%2) : f32[4], bool[4] loc("/d3")',
    '  return %3, %m',
    '}',
  ]);
  const r = run(g);
  assert.equal(nodeLines(r.graph), [
    '%2 = Dropout(%x, %r, %yes) : f32[4] loc("/d2")',
    '%3, %m = Dropout(%2) : f32[4], bool[4] loc("/d3")',
  ]);
  assert.is(r.stats.dropout, 2);
  assert.equal(r.graph.constants.map((c) => c.name), ['yes', 'r']);
});

test('no-op Reshape goes (and its shape constant); a real Reshape stays', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[2,3]) -> (%1: f32[3,2]) {',
    '  %same = const i64[2] dense<[2, -1]>',
    '  %other = const i64[2] dense<[3, 2]>',
    '  %0 = Reshape(%x, %same) : f32[2,3] loc("/r0")',
    '  %1 = Reshape(%0, %other) : f32[3,2] loc("/r1")',
    '  return %1',
    '}',
  ]);
  const r = run(g);
  assert.equal(nodeLines(r.graph), ['%1 = Reshape(%x, %other) : f32[3,2] loc("/r1")']);
  assert.equal(r.graph.constants.map((c) => c.name), ['other']);
  assert.is(r.stats['reshape-noop'], 1);
  assert.is(r.stats['reshape-chain'], 0);
  sameValues(g, r.graph);
});

test('a Reshape whose result keeps the symbolic dims of its input is a no-op', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[N,4]) -> (%1: f32[N,4]) {',
    '  %s = const i64[2] dense<[-1, 4]>',
    '  %0 = Reshape(%x, %s) : f32[N,4] loc("/r")',
    '  %1 = Relu(%0) : f32[N,4] loc("/relu")',
    '  return %1',
    '}',
  ]);
  assert.equal(nodeLines(run(g).graph), ['%1 = Relu(%x) : f32[N,4] loc("/relu")']);
});

test('Reshape chains collapse to one Reshape with both locs; a 0 in the outer shape blocks it', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[2,6]) -> (%1: f32[4,3], %3: f32[3,2,2]) {',
    '  %s1 = const i64[2] dense<[3, 4]>',
    '  %s2 = const i64[2] dense<[4, -1]>',
    '  %z = const i64[3] dense<[0, 2, 2]>',
    '  %0 = Reshape(%x, %s1) : f32[3,4] loc("/a")',
    '  %1 = Reshape(%0, %s2) : f32[4,3] loc("/b")',
    '  %2 = Reshape(%x, %s1) : f32[3,4] loc("/c")',
    '  %3 = Reshape(%2, %z) : f32[3,2,2] loc("/d")',
    '  return %1, %3',
    '}',
  ]);
  const r = run(g);
  assert.equal(nodeLines(r.graph), [
    '%1 = Reshape(%x, %s2) : f32[4,3] loc(fused["/a", "/b"])',
    '%2 = Reshape(%x, %s1) : f32[3,4] loc("/c")',
    '%3 = Reshape(%2, %z) : f32[3,2,2] loc("/d")',
  ]);
  assert.is(r.stats['reshape-chain'], 1);
  assert.is(r.stats['dead-nodes'], 1);
  sameValues(g, r.graph);
});

test('Transpose: identity perm removed, chains composed, inverse pairs vanish', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[2,3,4]) -> (%2: f32[3,2,4], %5: f32[2,3,4]) {',
    '  %0 = Transpose(%x) {perm=[0, 2, 1]} : f32[2,4,3] loc("/t0")',
    '  %1 = Transpose(%0) {perm=[2, 0, 1]} : f32[3,2,4] loc("/t1")',
    '  %2 = Transpose(%1) {perm=[0, 1, 2]} : f32[3,2,4] loc("/t2")',
    '  %3 = Transpose(%x) : f32[4,3,2] loc("/t3")',
    '  %4 = Transpose(%3) : f32[2,3,4] loc("/t4")',
    '  %5 = Relu(%4) : f32[2,3,4] loc("/relu")',
    '  return %2, %5',
    '}',
  ]);
  const r = run(g);
  // p1 = [0,2,1], p2 = [2,0,1] compose to p1[p2[i]] = [1,0,2]; the identity Transpose t2 goes
  assert.equal(nodeLines(r.graph), [
    '%2 = Transpose(%x) {perm=[1, 0, 2]} : f32[3,2,4] loc(fused["/t0", "/t1"])',
    '%5 = Relu(%x) : f32[2,3,4] loc("/relu")',
  ]);
  assert.is(r.stats['transpose-noop'], 2);
  assert.is(r.stats['transpose-chain'], 2);
  sameValues(g, r.graph);
});

test('x*1, 1*x, x+0, 0+x, x-0, x/1 go; 0-x, 1/x, x*2 and broadcasting neutrals stay', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[4]) -> (%r: f32[4], %k0: f32[4], %k1: f32[4], %k2: f32[4], %k3: f32[1,4]) {',
    '  %one = const f32[] dense<1.0>',
    '  %ones = const f32[4] dense<[1.0, 1.0, 1.0, 1.0]>',
    '  %zero = const f32[] dense<0.0>',
    '  %nzero = const f32[1] dense<-0.0>',
    '  %two = const f32[] dense<2.0>',
    '  %wide = const f32[1,4] dense<[1.0, 1.0, 1.0, 1.0]>',
    '  %0 = Mul(%x, %one) : f32[4] loc("/m0")',
    '  %1 = Mul(%ones, %0) : f32[4] loc("/m1")',
    '  %2 = Add(%1, %zero) : f32[4] loc("/a0")',
    '  %3 = Add(%nzero, %2) : f32[4] loc("/a1")',
    '  %4 = Sub(%3, %zero) : f32[4] loc("/s0")',
    '  %5 = Div(%4, %ones) : f32[4] loc("/d0")',
    '  %r = Relu(%5) : f32[4] loc("/relu")',
    '  %k0 = Sub(%zero, %x) : f32[4] loc("/k0")',
    '  %k1 = Div(%one, %x) : f32[4] loc("/k1")',
    '  %k2 = Mul(%x, %two) : f32[4] loc("/k2")',
    '  %k3 = Mul(%x, %wide) : f32[1,4] loc("/k3")',
    '  return %r, %k0, %k1, %k2, %k3',
    '}',
  ]);
  const r = run(g);
  assert.equal(nodeLines(r.graph), [
    '%r = Relu(%x) : f32[4] loc("/relu")',
    '%k0 = Sub(%zero, %x) : f32[4] loc("/k0")',
    '%k1 = Div(%one, %x) : f32[4] loc("/k1")',
    '%k2 = Mul(%x, %two) : f32[4] loc("/k2")',
    '%k3 = Mul(%x, %wide) : f32[1,4] loc("/k3")',
  ]);
  assert.equal({ m: r.stats['mul-one'], a: r.stats['add-zero'], s: r.stats['sub-zero'], d: r.stats['div-one'] }, { m: 2, a: 2, s: 1, d: 1 });
  assert.equal(r.graph.constants.map((c) => c.name), ['one', 'zero', 'two', 'wide']);
  sameValues(g, r.graph);
});

test('integer neutrals: i64 x + 0 and x * 1 go', () => {
  const g = parseKir([
    'kiln.graph @t(%x: i64[3]) -> (%2: i64[3]) {',
    '  %z = const i64[] dense<0>',
    '  %o = const i64[3] dense<[1, 1, 1]>',
    '  %0 = Add(%z, %x) : i64[3] loc("/a")',
    '  %1 = Mul(%0, %o) : i64[3] loc("/m")',
    '  %2 = Neg(%1) : i64[3] loc("/n")',
    '  return %2',
    '}',
  ]);
  assert.equal(nodeLines(run(g).graph), ['%2 = Neg(%x) : i64[3] loc("/n")']);
});

test('Cast to the same dtype goes; lossless middle casts are skipped; lossy ones stay', () => {
  const g = parseKir([
    'kiln.graph @t(%h: f16[3], %f: f32[3]) -> (%2: f64[3], %5: f32[3], %6: f32[3]) {',
    '  %0 = Cast(%h) {to="f32"} : f32[3] loc("/c0")',
    '  %1 = Cast(%0) {to="f32"} : f32[3] loc("/same")',
    '  %2 = Cast(%1) {to="f64"} : f64[3] loc("/c1")',
    '  %3 = Cast(%f) {to="i32"} : i32[3] loc("/c2")',
    '  %4 = Cast(%3) {to="f32"} : f32[3] loc("/c3")',
    '  %5 = Relu(%4) : f32[3] loc("/relu")',
    '  %6 = CastLike(%f, %5) : f32[3] loc("/like")',
    '  return %2, %5, %6',
    '}',
  ]);
  const r = run(g);
  assert.equal(nodeLines(r.graph), [
    '%2 = Cast(%h) {to="f64"} : f64[3] loc(fused["/c0", "/c1"])',
    '%3 = Cast(%f) {to="i32"} : i32[3] loc("/c2")',
    '%4 = Cast(%3) {to="f32"} : f32[3] loc("/c3")',
    '%5 = Relu(%4) : f32[3] loc("/relu")',
    '%6 = Identity(%f) : f32[3] loc("/like")',
  ]);
  assert.is(r.stats['cast-noop'], 2);
  assert.is(r.stats['cast-chain'], 1);
  sameValues(g, r.graph);
});

test('a cast chain whose middle value has another reader keeps the middle cast', () => {
  const g = parseKir([
    'kiln.graph @t(%h: f16[2]) -> (%1: f64[2], %2: f32[2]) {',
    '  %0 = Cast(%h) {to="f32"} : f32[2] loc("/c0")',
    '  %1 = Cast(%0) {to="f64"} : f64[2] loc("/c1")',
    '  %2 = Relu(%0) : f32[2] loc("/relu")',
    '  return %1, %2',
    '}',
  ]);
  const r = run(g);
  assert.equal(nodeLines(r.graph), [
    '%0 = Cast(%h) {to="f32"} : f32[2] loc("/c0")',
    '%1 = Cast(%h) {to="f64"} : f64[2] loc(fused["/c0", "/c1"])',
    '%2 = Relu(%0) : f32[2] loc("/relu")',
  ]);
  assert.is(r.stats['dead-nodes'], 0);
});

test('losslessCast: widening floats and ints, small ints into floats; never narrowing or str', () => {
  const yes: [string, string][] = [['f16', 'f32'], ['bf16', 'f64'], ['f32', 'f64'], ['f8e4m3fn', 'f16'], ['f8e5m2', 'bf16'],
    ['f8e8m0', 'f32'], ['i8', 'i32'], ['u8', 'i16'], ['u16', 'u64'], ['i16', 'f32'], ['u8', 'bf16'], ['i32', 'f64'], ['bool', 'i8'], ['bool', 'f16']];
  const no: [string, string][] = [['f32', 'f16'], ['f16', 'bf16'], ['bf16', 'f16'], ['f32', 'i32'], ['i8', 'u16'], ['u8', 'i8'],
    ['i16', 'f16'], ['i32', 'f32'], ['i64', 'f64'], ['f8e8m0', 'f16'], ['i8', 'bool'], ['f32', 'str'], ['str', 'str'], ['i8', 'f8e4m3fn']];
  for (const [a, b] of yes) assert.ok(losslessCast(a as never, b as never), `${a} -> ${b}`);
  for (const [a, b] of no) if (a !== b) assert.not.ok(losslessCast(a as never, b as never), `${a} -> ${b}`);
});

test('lossless-cast chains give the same values as the original graph (i8 -> i32 -> f32)', () => {
  const g = parseKir([
    'kiln.graph @t(%x: i8[4]) -> (%1: f32[4]) {',
    '  %0 = Cast(%x) {to="i32"} : i32[4] loc("/c0")',
    '  %1 = Cast(%0) {to="f32"} : f32[4] loc("/c1")',
    '  return %1',
    '}',
  ]);
  const r = run(g);
  assert.equal(nodeLines(r.graph), ['%1 = Cast(%x) {to="f32"} : f32[4] loc(fused["/c0", "/c1"])']);
  const x = new Tensor('i8', [4], Int8Array.of(-128, -1, 0, 127));
  assert.equal(Array.from(readNumbers(runReference(r.graph, { x })[0])), [-128, -1, 0, 127]);
});

test('rules cascade to a fixed point in one run', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[2,3]) -> (%5: f32[2,3]) {',
    '  %one = const f32[] dense<1.0>',
    '  %s = const i64[2] dense<[2, 3]>',
    '  %0 = Identity(%x) : f32[2,3] loc("/id")',
    '  %1 = Transpose(%0) {perm=[1, 0]} : f32[3,2] loc("/t0")',
    '  %2 = Mul(%1, %one) : f32[3,2] loc("/m")',
    '  %3 = Transpose(%2) {perm=[1, 0]} : f32[2,3] loc("/t1")',
    '  %4 = Reshape(%3, %s) : f32[2,3] loc("/r")',
    '  %5 = Exp(%4) : f32[2,3] loc("/exp")',
    '  return %5',
    '}',
  ]);
  const r = run(g);
  assert.equal(nodeLines(r.graph), ['%5 = Exp(%x) : f32[2,3] loc("/exp")']);
  assert.equal(r.graph.constants, []);
  assert.equal(
    { id: r.stats.identity, m: r.stats['mul-one'], tc: r.stats['transpose-chain'], tn: r.stats['transpose-noop'], rn: r.stats['reshape-noop'] },
    { id: 1, m: 1, tc: 1, tn: 1, rn: 1 });
  sameValues(g, r.graph);
});

test('nothing to simplify: the same graph object comes back', () => {
  const g = parseKir([
    'kiln.graph @t(%x: f32[2,3]) -> (%2: f16[3,2], %3: f16[3,2]) {',
    '  %two = const f32[] dense<2.0>',
    '  %0 = Mul(%x, %two) : f32[2,3] loc("/m")',
    '  %1 = Transpose(%0) {perm=[1, 0]} : f32[3,2] loc("/t")',
    '  %2 = Cast(%1) {to="f16"} : f16[3,2] loc("/c")',
    '  %3 = Identity(%2) : f16[3,2] loc("/id")',
    '  return %2, %3',
    '}',
  ]);
  assertUnchanged(simplifyPass, g);
});

for (const name of ZOO_MODELS) {
  test(`zoo ${name}: outputs unchanged within 1e-5`, () => {
    const r = checkZoo(simplifyPass, name);
    assert.ok(r.after <= r.before);
  });
}

test.run();
