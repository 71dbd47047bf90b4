/**
 * Tests of the kiln.fused region op (compiler/ops/fused-region.ts) and its body text
 * (compiler/ops/fused-body.ts): line syntax and canonical form, validation errors naming the attribute
 * and line, the shape rule (body rules, constant axes seen through the region's inputs), the reference
 * interpreter on hand-computed values, and print∘parse identity of a graph holding a region.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../../compiler/ops/all.ts';
import type { AttrValue, TensorType } from '../../compiler/ir/graph.ts';
import { Tensor, i64Tensor, readNumbers } from '../../compiler/ir/tensor.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { printGraph } from '../../compiler/ir/print.ts';
import { AttrError, AttrReader, getOp } from '../../compiler/ops/registry.ts';
import { verifyAll } from '../../compiler/ops/verify-types.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { BodyError, parseBodyLine, printBodyLine } from '../../compiler/ops/fused-body.ts';
import { type FusedAttrs, fusedAttrs } from '../../compiler/ops/fused-region.ts';

const op = getOp('kiln.fused');
const strs = (value: string[]): AttrValue => ({ kind: 'strings', value });
const attrsOf = (body: string[], results: string[]) => op.parseAttrs(new AttrReader({ body: strs(body), results: strs(results) })) as FusedAttrs;
const noCtx = { value: () => undefined, freshDim: () => 'd' };
const f32 = (shape: number[], values: number[]) => Tensor.fromNumbers('f32', shape, values);
const attrError = (fn: () => unknown, attribute: string, text: string) => {
  try {
    fn();
  } catch (e) {
    assert.instance(e, AttrError);
    assert.is((e as AttrError).attribute, attribute);
    assert.ok((e as Error).message.includes(text), `'${(e as Error).message}' should mention '${text}'`);
    return;
  }
  assert.unreachable(`expected an error about ${attribute}: ${text}`);
};

test('body lines parse into op, operands and attributes and print back identically', () => {
  const text = 't2 = LeakyRelu(t0, in3, _) {alpha=0.1, name="x"}';
  const line = parseBodyLine(text, 2);
  assert.is(line.op, 'LeakyRelu');
  assert.equal(line.operands, [{ kind: 'value', index: 0 }, { kind: 'input', index: 3 }, { kind: 'omitted' }]);
  assert.equal(line.attrs.alpha, { kind: 'float', value: Math.fround(0.1) });
  assert.equal(line.attrs.name, { kind: 'string', value: 'x' });
  assert.is(printBodyLine(line), text);
  for (const t of ['t0 = ReduceMean(in0, in1) {keepdims=1}', 't0 = Clip(in0, _, in1)', 't0 = Foo(in0) {a=ints[], b=[1, -2], c=[0.5, 2.0], d=["p"]}', 't0 = Identity()']) {
    assert.is(printBodyLine(parseBodyLine(t, 0)), t);
  }
});

test('non-canonical or malformed body lines are rejected with the canonical spelling or the reason', () => {
  const fails = (text: string, index: number, msg: string) => {
    try {
      parseBodyLine(text, index);
    } catch (e) {
      assert.instance(e, BodyError);
      assert.ok((e as Error).message.includes(msg), `'${(e as Error).message}' should mention '${msg}'`);
      return;
    }
    assert.unreachable(`'${text}' should not parse`);
  };
  fails('t0 = Add(in0,in1)', 0, "write it as 't0 = Add(in0, in1)'");
  fails('t0 = Add(in0, in1) {b=1, a=2}', 0, "write it as 't0 = Add(in0, in1) {a=2, b=1}'");
  fails('t1 = Add(in0, in1)', 0, 'must define t0');
  fails('t0 = Add(x, in1)', 0, "operand 'x' is not in<k>, t<i> or _");
  fails('t0 = Add(in0, in1', 0, "expected ',' or ')'");
  fails('t0 = Relu(in0) {value=dense<f32[1] [1.0]>}', 0, 'tensor attributes are not allowed');
  fails('t0 = Relu(in01)', 0, "operand 'in01'");
});

test('parseAttrs validates ops, order, operands and results, naming the attribute and line', () => {
  attrError(() => attrsOf(['t0 = Conv(in0, in1)'], ['t0']), 'body', 'op Conv is not an elementwise op or a reduction');
  attrError(() => attrsOf(['t0 = ReduceSum(in0)', 't1 = Neg(t0)'], ['t1']), 'body', 'line 0');
  attrError(() => attrsOf(['t0 = ReduceSum(in0)', 't1 = Neg(t0)'], ['t1']), 'body', 'must be the last body line');
  attrError(() => attrsOf(['t0 = Neg(t0)'], ['t0']), 'body', 't0 is used before it is defined');
  attrError(() => attrsOf(['t0 = Add(in0)'], ['t0']), 'body', 'Add takes 2 inputs, the line has 1');
  attrError(() => attrsOf(['t0 = LeakyRelu(in0) {alpha="big"}'], ['t0']), 'body', "attribute 'alpha'");
  attrError(() => attrsOf(['t0 = Neg(in0)'], ['t1']), 'results', "'t1' is not a body value t0..t0");
  attrError(() => attrsOf(['t0 = Neg(in0)', 't1 = Abs(t0)'], ['t1', 't1']), 'results', 'names a value twice');
  attrError(() => attrsOf([], ['t0']), 'body', 'at least one body line');
  attrError(() => op.parseAttrs(new AttrReader({ body: strs(['t0 = Neg(in0)']) })), 'results', 'required attribute is missing');
});

test('shape rule runs the body rules: broadcasting, dtype changes, and constant reduction axes', () => {
  const a = attrsOf(['t0 = Mul(in0, in1)', 't1 = Greater(t0, in2)', 't2 = Cast(t1) {to=1}', 't3 = ReduceSum(t2, in3) {keepdims=0}'], ['t0', 't3']);
  const inputs: TensorType[] = [
    { dtype: 'f32', shape: ['N', 3, 4] }, { dtype: 'f32', shape: [4] }, { dtype: 'f32', shape: [] }, { dtype: 'i64', shape: [1] },
  ];
  const axes = i64Tensor([-1]);
  const out = op.inferTypes(inputs, a, { value: (i) => (i === 3 ? axes : undefined), freshDim: () => 'd' }, 2);
  assert.equal(out, [{ dtype: 'f32', shape: ['N', 3, 4] }, { dtype: 'f32', shape: ['N', 3] }]);
  assert.throws(() => op.inferTypes(inputs, a, noCtx, 1), /results names 2 values but the node has 1 outputs/);
  const bad = attrsOf(['t0 = Add(in0, in1)'], ['t0']);
  assert.throws(() => op.inferTypes([{ dtype: 'f32', shape: [2] }, { dtype: 'f32', shape: [3] }], bad, noCtx, 1), /body line 0 \(Add\): .*broadcast/);
  assert.throws(() => op.inferTypes([{ dtype: 'f32', shape: [2] }], bad, noCtx, 1), /reads in1 but the node has 1 inputs/);
});

test('reference kernel interprets the body: hand-computed LayerNorm-style statistics', () => {
  // t0 = x - m; t1 = t0^2; t2 = mean(t1, last axis)
  const a = attrsOf(['t0 = Sub(in0, in1)', 't1 = Pow(t0, in2)', 't2 = ReduceMean(t1, in3) {keepdims=1}'], ['t0', 't2']);
  const x = f32([2, 3], [1, 2, 3, 2, 4, 9]);
  const m = f32([2, 1], [2, 5]);
  const [d, v] = op.run([x, m, Tensor.scalar('f32', 2), i64Tensor([-1])], a, 2);
  assert.equal([...readNumbers(d)], [-1, 0, 1, -3, -1, 4]);
  assert.equal(d.shape, [2, 3]);
  assert.equal([...readNumbers(v)], [2 / 3, 26 / 3].map(Math.fround));
  assert.equal(v.shape, [2, 1]);
});

test('reference kernel: omitted operands, Clip bounds as inputs, and results equal to the unfused ops bit for bit', () => {
  const a = attrsOf(['t0 = Clip(in0, _, in1)', 't1 = Erf(t0)', 't2 = Mul(t1, in0)'], ['t2']);
  const x = f32([4], [-2, 0.25, 1, 3]);
  const hi = Tensor.scalar('f32', 1);
  const [y] = op.run([x, hi], a, 1);
  const clip = getOp('Clip').run([x, undefined, hi], {}, 1)[0];
  const erf = getOp('Erf').run([clip], {}, 1)[0];
  const want = getOp('Mul').run([erf, x], {}, 1)[0];
  assert.equal(y.data, want.data);
  assert.ok(Math.abs(readNumbers(y)[3] - 3 * 0.8427007929) < 1e-6);
});

test('a graph with a region verifies, runs, and prints/parses back to the same text', () => {
  const text = [
    'kiln.graph @g(%x: f32[2,3], %y: f32[3]) -> (%0: f32[2,3], %1: f32[2,1]) {',
    '  %axes = const i64[1] dense<[-1]>',
    '  %0, %1 = kiln.fused(%x, %y, %axes) {body=["t0 = Add(in0, in1)", "t1 = ReduceMax(t0, in2) {keepdims=1}"], results=["t0", "t1"]} : f32[2,3], f32[2,1] loc(fused["/add", "/max"])',
    '  return %0, %1',
    '}',
    '',
  ].join('\n');
  const g = parseGraph(text);
  verifyAll(g);
  assert.is(printGraph(g), text);
  assert.is(printGraph(parseGraph(printGraph(g))), text);
  const [sum, max] = runReference(g, { x: f32([2, 3], [1, 5, 2, -1, -4, 0]), y: f32([3], [0, -1, 10]) });
  assert.equal([...readNumbers(sum)], [1, 4, 12, -1, -5, 10]);
  assert.equal([...readNumbers(max)], [12, 10]);
});

test('the verifier reports a malformed region body with the node and attribute', () => {
  const text = [
    'kiln.graph @g(%x: f32[2]) -> (%0: f32[2]) {',
    '  %0 = kiln.fused(%x) {body=["t0 = Neg(in0)", "t1 = Softmax(t0)"], results=["t1"]} : f32[2]',
    '  return %0',
    '}',
  ].join('\n');
  assert.throws(() => verifyAll(parseGraph(text)), /node '0'.*attribute 'body'.*op Softmax is not an elementwise op or a reduction/);
});

test('fusedAttrs builds the attributes the op parses', () => {
  const attrs = fusedAttrs(['t0 = Neg(in0)', 't1 = Abs(t0)'], [1]);
  assert.equal(attrs.results, { kind: 'strings', value: ['t1'] });
  const a = op.parseAttrs(new AttrReader(attrs)) as FusedAttrs;
  assert.equal(a.results, [1]);
  assert.equal([...readNumbers(op.run([f32([2], [3, -4])], a, 1)[0])], [3, 4]);
});

test.run();
