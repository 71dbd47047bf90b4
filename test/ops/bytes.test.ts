/**
 * Bytes per node (ops/flops.ts `nodeBytes`), the denominator of arithmetic intensity, on hand-built
 * graphs: Conv with its constant weights and bias, MatMul, an elementwise op reading one value twice,
 * a fused region (only its boundary counts), non-f32 storage sizes, and symbolic or unknown sizes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { type Graph, nodeId, valueTypes } from '../../compiler/ir/graph.ts';
import { nodeBytes, nodeBytesFormula } from '../../compiler/ops/flops.ts';

const G = parseGraph(`kiln.graph @g(%x: f32[1,3,8,8], %a: f32[2,5,7], %b: f16[7,3], %n: f32[N,16]) -> (%y: f32[1,4,6,6], %m: f32[2,5,3], %sq: f32[1,4,6,6], %f: f32[1,4,6,6], %s: f32[N,16], %i: i8[N,16]) {
  %w = const f32[4,3,3,3] #0123456789abcdef
  %bias = const f32[4] #fedcba9876543210
  %y = Conv(%x, %w, %bias) : f32[1,4,6,6] loc("conv")
  %m = MatMul(%a, %b) : f32[2,5,3] loc("matmul")
  %sq = Mul(%y, %y) : f32[1,4,6,6] loc("sq")
  %f = kiln.fused(%y, %bias) {body=["t0 = Add(in0, in1)", "t1 = Relu(t0)", "t2 = Mul(t1, t1)"], results=["t2"]} : f32[1,4,6,6] loc("add")
  %s = Relu(%n) : f32[N,16] loc("relu2")
  %i = Cast(%n) {to=3} : i8[N,16] loc("cast")
  return %y, %m, %sq, %f, %s, %i
}`);

/** `nodeBytes` of the node `id` of `g`, with the graph's own types. */
function bytesOf(g: Graph, id: string): number | null {
  const types = valueTypes(g);
  const n = g.nodes.find((x) => nodeId(x) === id)!;
  return nodeBytes(n, n.inputs.map((v) => (v ? types.get(v) : undefined)));
}

test('Conv: input, constant weights and bias, output (f32: 4 bytes each)', () => {
  assert.is(bytesOf(G, 'y'), 4 * (3 * 8 * 8 + 4 * 3 * 3 * 3 + 4 + 4 * 6 * 6));
});

test('MatMul: each input at its own dtype size (f16 weights: 2 bytes)', () => {
  assert.is(bytesOf(G, 'm'), 4 * 2 * 5 * 7 + 2 * 7 * 3 + 4 * 2 * 5 * 3);
});

test('elementwise reading one value twice counts it once', () => {
  assert.is(bytesOf(G, 'sq'), 4 * 144 + 4 * 144);
});

test('a fused region counts its boundary only: external inputs and outputs, not the body\'s intermediates', () => {
  assert.is(bytesOf(G, 'f'), 4 * (144 + 4) + 4 * 144, 'three body lines, still one read of y and bias and one write');
});

test('symbolic dims: a polynomial, null as a number; bound sizes give the number', () => {
  assert.is(bytesOf(G, 's'), null);
  const types = valueTypes(G);
  const relu = G.nodes.find((x) => nodeId(x) === 's')!;
  const formula = nodeBytesFormula(relu, [types.get('n')])!;
  assert.is(formula.evaluate({ N: 3 }), 2 * 4 * 3 * 16);
  const cast = G.nodes.find((x) => nodeId(x) === 'i')!;
  assert.is(nodeBytesFormula(cast, [types.get('n')])!.evaluate({ N: 2 }), 4 * 32 + 32, 'i8 output: one byte per element');
});

test('unknown: a missing input type, a sequence, a string tensor', () => {
  const relu = G.nodes.find((x) => nodeId(x) === 'sq')!;
  assert.is(nodeBytes(relu, [undefined, undefined]), null, 'no type for the input');
  assert.is(nodeBytes(relu, [{ dtype: 'f32', shape: [2], container: 'seq' }, undefined]), null);
  assert.is(nodeBytes(relu, [{ dtype: 'str', shape: [2] }, undefined]), null);
  assert.is(nodeBytes({ ...relu, inputs: ['', 'y'] }, [undefined, { dtype: 'f32', shape: [144] }]), 2 * 4 * 144, "'' (an omitted input) is skipped");
});

test.run();
