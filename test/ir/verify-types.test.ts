/** The op-aware verifier: a fake op registered here exercises every rule; real ops once they exist. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { collectTypeErrors, typesAgree, verifyAll, verifyTypes } from '../../compiler/ops/verify-types.ts';
import { type OpDef, findOp, registerOps } from '../../compiler/ops/registry.ts';
import { readInts } from '../../compiler/ir/tensor.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { KilnError } from '../../compiler/errors.ts';
import type { Graph } from '../../compiler/ir/graph.ts';

/**
 * `test.Fake(x, [n]) {mode}`: 1–2 inputs, 1–2 outputs. Output 0 has x's type with its last dim
 * replaced by the value of input n when it is a known constant (a fresh symbol otherwise); output 1 is
 * i64[]. `mode` must be "a" or "b"; the rule rejects bool inputs.
 */
const fake: OpDef<{ mode: string }> = {
  name: 'test.Fake', inputs: [1, 2], outputs: [1, 2],
  parseAttrs: (r) => ({ mode: r.oneOf('mode', r.string('mode', 'a'), ['a', 'b']) }),
  inferTypes: (inputs, _attrs, ctx) => {
    const x = inputs[0]!;
    if (x.dtype === 'bool') throw new Error('bool input is not supported');
    const n = ctx.value(1);
    const last = n ? readInts(n)[0] : ctx.freshDim();
    return [{ dtype: x.dtype, shape: [...x.shape.slice(0, -1), last] }, { dtype: 'i64', shape: [] }];
  },
  run: () => { throw new Error('not used'); },
};
if (!findOp('test.Fake')) registerOps([fake]);

const text = (body: string[], sig = '(%x: f32[N,4], %b: bool[2]) -> ()') =>
  [`kiln.graph @t${sig} {`, '  %n = const i64[1] dense<[7]>', ...body.map((l) => '  ' + l), '  return', '}'].join('\n');

const rules = (g: Graph) => collectTypeErrors(g, { pass: 'p' }).map((e) => [e.place.rule, e.place.node, e.message]);

test('a graph whose declared types agree passes', () => {
  const g = parseGraph(text([
    '%a = test.Fake(%x) : f32[N,4]',
    '%b1, %c = test.Fake(%a, %n) {mode="b"} : f32[N,7], i64[]',
    '%d = test.Fake(%b1) : f32[3,5]', // the inferred last dim is a fresh symbol; N matches 3
  ]));
  assert.equal(rules(g), []);
  verifyTypes(g);
  verifyAll(g);
});

test('op.unknown, op.arity, op.attrs', () => {
  const g = parseGraph(text([
    '%a = test.Nope(%x) : f32[N,4]',
    '%b = test.Fake() : f32[N,4]',
    '%c = test.Fake(%x, %n, %n) : f32[N,4]',
    '%d, %e, %f = test.Fake(%x) : f32[N,4], i64[], i64[]',
    '%g = test.Fake(%x) {mode="z"} : f32[N,4]',
    '%h = test.Fake(%x) {mode=1} : f32[N,4]',
  ]));
  assert.equal(rules(g), [
    ['op.unknown', 'a', "pass 'p', node 'a', op test.Nope, rule op.unknown: unknown op 'test.Nope'"],
    ['op.arity', 'b', "pass 'p', node 'b', op test.Fake, rule op.arity: test.Fake takes 1 to 2 inputs, node has 0"],
    ['op.arity', 'c', "pass 'p', node 'c', op test.Fake, rule op.arity: test.Fake takes 1 to 2 inputs, node has 3"],
    ['op.arity', 'd', "pass 'p', node 'd', op test.Fake, rule op.arity: test.Fake produces 1 to 2 outputs, node has 3"],
    ['op.attrs', 'g', "pass 'p', node 'g', op test.Fake, attribute 'mode', rule op.attrs: must be one of a, b, got z"],
    ['op.attrs', 'h', "pass 'p', node 'h', op test.Fake, attribute 'mode', rule op.attrs: expected string, got int"],
  ]);
});

test('type.infer and type.mismatch (dtype, rank, static dims; symbols match anything)', () => {
  const g = parseGraph(text([
    '%a = test.Fake(%b) : bool[2]',
    '%c = test.Fake(%x) : f16[N,4]',
    '%d = test.Fake(%x) : f32[4]',
    '%e = test.Fake(%x, %n) : f32[N,8]',
    '%f = test.Fake(%x, %n) : f32[M,7]',
    '_, %g = test.Fake(%x, %n) : f32[1,1], i64[1]',
  ]));
  assert.equal(rules(g).map((r) => [r[0], r[1], r[2]!.replace(/^.*?rule [a-z.]+: /, '')]), [
    ['type.infer', 'a', 'type rule failed: bool input is not supported'],
    ['type.mismatch', 'c', "output 'c' is declared f16[N,4] but test.Fake infers f32[N,_v0]"],
    ['type.mismatch', 'd', "output 'd' is declared f32[4] but test.Fake infers f32[N,_v1]"],
    ['type.mismatch', 'e', "output 'e' is declared f32[N,8] but test.Fake infers f32[N,7]"],
    ['type.mismatch', 'g', "output 'g' is declared i64[1] but test.Fake infers i64[]"],
  ]);
  assert.throws(() => verifyTypes(g, { pass: 'fold' }), (e: unknown) =>
    e instanceof KilnError && e.place.rule === 'type.infer' && e.place.pass === 'fold' && e.place.node === 'a');
});

test('typesAgree', () => {
  assert.ok(typesAgree({ dtype: 'f32', shape: ['N', 3] }, { dtype: 'f32', shape: [2, 'M'] }));
  assert.not.ok(typesAgree({ dtype: 'f32', shape: [2, 3] }, { dtype: 'f32', shape: [2, 4] }));
  assert.not.ok(typesAgree({ dtype: 'f32', shape: [] }, { dtype: 'f32', shape: [1] }));
});

test('undefined inputs are left to the structural verifier; verifyAll reports them first', () => {
  const g = parseGraph(text(['%a = test.Fake(%ghost) : f32[N,4]']));
  assert.equal(rules(g), []);
  assert.throws(() => verifyAll(g), (e: unknown) => e instanceof KilnError && e.place.rule === 'ssa.undefined');
});

test('real ops: Relu, Add, Reshape with a constant shape', () => {
  if (!findOp('Relu') || !findOp('Add') || !findOp('Reshape')) return; // ops not landed yet
  const g = parseGraph([
    'kiln.graph @real(%x: f32[2,3], %y: f32[3]) -> (%r: f32[3,2]) {',
    '  %s = const i64[2] dense<[3, -1]>',
    '  %a = Add(%x, %y) : f32[2,3]',
    '  %b = Relu(%a) : f32[2,3]',
    '  %r = Reshape(%b, %s) : f32[3,2]',
    '  %bad = Add(%x, %y) : f32[3,3]',
    '  %bad2 = Reshape(%b, %s) : f32[2,3]',
    '  return %r',
    '}',
  ].join('\n'));
  assert.equal(rules(g).map((r) => [r[0], r[1]]), [['type.mismatch', 'bad'], ['type.mismatch', 'bad2']]);
});

test.run();
