/**
 * Seeded random inputs (compiler/runtime/inputs.ts): deterministic per seed, in the documented ranges
 * for every kind of dtype, drawn a chunk at a time into the tensor's own storage (the inputs here are
 * larger than one chunk, so a chunk boundary is crossed), and the same stream whatever the dtype;
 * integer and bool inputs named as masks are 0/1 padding masks (a prefix of ones per row). The
 * one input binder: random, folder and given tensors; the one check of given tensors (missing, extra,
 * dtype, rank, static dims, consistent symbols) and the graph bound to the sizes given.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseGraph } from '../../compiler/ir/parse.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bindInputs, checkInputs, isMaskName, randomInputs, seededRandom } from '../../compiler/runtime/inputs.ts';
import { Tensor, readNumbers } from '../../compiler/ir/tensor.ts';
import { writeTensorFile } from '../../compiler/import/onnx/tensor-proto.ts';
import { KilnError } from '../../compiler/errors.ts';

const N = 200_000; // > 65,536: several chunks
const graph = parseGraph(`kiln.graph @g(%a: f32[${N}], %b: u8[${N}], %c: i64[${N}], %d: bool[${N}], %e: f16[${N}]) -> (%a: f32[${N}]) {
  return %a
}`);

test('the same seed gives the same values; another seed other values', () => {
  const x = randomInputs(graph, 3), y = randomInputs(graph, 3), z = randomInputs(graph, 4);
  for (const name of ['a', 'b', 'c', 'd', 'e']) {
    assert.equal(readNumbers(x.get(name)!), readNumbers(y.get(name)!), name);
  }
  assert.not.equal(readNumbers(x.get('a')!), readNumbers(z.get('a')!));
});

test('ranges: floats ~ N(0,1), integers in [0,10), bools 0/1, across chunk boundaries', () => {
  const inputs = randomInputs(graph, 9);
  const a = readNumbers(inputs.get('a')!);
  let sum = 0, sq = 0;
  for (const v of a) { sum += v; sq += v * v; }
  const mean = sum / N, std = Math.sqrt(sq / N - mean * mean);
  assert.ok(Math.abs(mean) < 0.02 && Math.abs(std - 1) < 0.02, `mean ${mean} std ${std}`);
  for (const name of ['b', 'c']) {
    const v = readNumbers(inputs.get(name)!);
    const seen = new Set(v);
    assert.equal([...seen].sort((p, q) => p - q), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], `${name} takes every value in [0,10)`);
    assert.ok(v.slice(65_530, 65_545).some((x) => x !== 0), `${name}: values past the first chunk are drawn`);
  }
  const d = readNumbers(inputs.get('d')!);
  let ones = 0;
  for (const x of d) ones += x;
  assert.ok(d.every((x) => x === 0 || x === 1) && Math.abs(ones / N - 0.5) < 0.01, `bool ones ${ones}`);
  const e = readNumbers(inputs.get('e')!);
  assert.ok(e.every(Number.isFinite), 'f16 values are finite');
});

test('masks: integer and bool inputs named as masks are padding masks, 1 for a prefix of each row (at least one) and 0 after', () => {
  for (const name of ['attention_mask', 'input_mask', 'mask', 'padding-mask', 'encoder.attention_mask', 'attentionMask']) assert.ok(isMaskName(name), name);
  for (const name of ['input_ids', 'masks', 'unmask', 'masked_input', 'Mask_count']) assert.not.ok(isMaskName(name), name);
  const rows = 700, seq = 128; // 89,600 values: rows straddle a chunk boundary
  const g = parseGraph(`kiln.graph @m(%attention_mask: i64[${rows},${seq}], %key_mask: bool[${rows},${seq}], %ids: i64[${rows},${seq}], %x: f32[4]) -> (%x: f32[4]) {
  return %x
}`);
  const inputs = randomInputs(g, 2);
  for (const name of ['attention_mask', 'key_mask']) {
    const v = readNumbers(inputs.get(name)!);
    const lengths = new Set<number>();
    for (let r = 0; r < rows; r++) {
      const row = Array.from(v.subarray(r * seq, (r + 1) * seq));
      const ones = row.filter((x) => x === 1).length;
      assert.ok(ones >= 1 && row.every((x, i) => x === (i < ones ? 1 : 0)), `${name} row ${r}: ${row.join('')}`);
      lengths.add(ones);
    }
    assert.ok(lengths.size > 60 && lengths.has(seq), `${name}: ${lengths.size} prefix lengths`);
  }
  assert.ok(readNumbers(inputs.get('ids')!).some((x) => x > 1), 'other integer inputs keep [0,10)');
});

test('the stream does not depend on the storage: the first float equals the Box–Muller draw of the seed', () => {
  const rand = seededRandom(5);
  const first = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const only = parseGraph('kiln.graph @g(%a: f64[3]) -> (%a: f64[3]) {\n  return %a\n}');
  assert.is(readNumbers(randomInputs(only, 5).get('a')!)[0], first);
});

const sym = parseGraph(`kiln.graph @s(%a: f32[N,2], %b: f32[N,2]) -> (%y: f32[N,2]) {
  %y = Add(%a, %b) : f32[N,2]
  return %y
}`);
const f32 = (shape: number[]) => Tensor.zeros('f32', shape);
const messageOf = (fn: () => unknown) => { try { fn(); } catch (e) { assert.instance(e, KilnError); return (e as Error).message; } return assert.unreachable() as never; };

test('checkInputs: every input given and no other, dtype, rank, static dims and one size per symbol', () => {
  const check = (given: Record<string, Tensor>) => messageOf(() => checkInputs(sym, new Map(Object.entries(given))));
  assert.is(check({ a: f32([1, 2]) }), "missing graph input 'b'");
  assert.is(check({ a: f32([1, 2]), b: f32([1, 2]), c: f32([1]) }), "unknown graph input 'c'; the graph takes 'a', 'b'");
  assert.is(check({ a: Tensor.zeros('f64', [1, 2]), b: f32([1, 2]) }), "tensor is f64[1,2] but graph input 'a' is f32[N,2]: dtype differs");
  assert.is(check({ a: f32([2]), b: f32([1, 2]) }), "tensor is f32[2] but graph input 'a' is f32[N,2]: rank differs");
  assert.is(check({ a: f32([1, 3]), b: f32([1, 2]) }), "tensor is f32[1,3] but graph input 'a' is f32[N,2]: dim 1 differs");
  assert.is(check({ a: f32([1, 2]), b: f32([4, 2]) }), "tensor is f32[4,2] but graph input 'b' is f32[N,2]: dim 0 (N) is 4 here but 1 in input 'a'");
  assert.equal(checkInputs(sym, new Map([['a', f32([4, 2])], ['b', f32([4, 2])]])), new Map([['N', 4]]));
});

test('bindInputs: given tensors and input files bind the graph to their sizes; random inputs need bound dims', () => {
  const given = bindInputs(sym, { tensors: { a: f32([3, 2]), b: f32([3, 2]) } });
  assert.equal(given.graph.nodes[0].types[0].shape, [3, 2]);
  assert.equal([...given.inputs.keys()], ['a', 'b']);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-inputs-'));
  writeTensorFile(path.join(dir, 'input_0.pb'), f32([5, 2]));
  writeTensorFile(path.join(dir, 'input_1.pb'), f32([5, 2]));
  assert.equal(bindInputs(sym, { dir }).graph.nodes[0].types[0].shape, [5, 2]);
  writeTensorFile(path.join(dir, 'input_1.pb'), f32([6, 2]));
  assert.is(messageOf(() => bindInputs(sym, { dir })), `${path.join(dir, 'input_1.pb')}: tensor is f32[6,2] but graph input 'b' is f32[N,2]: dim 0 (N) is 6 here but 5 in input_0.pb`);
  assert.match(messageOf(() => bindInputs(sym, { random: { seed: 1 } })), /making random inputs needs concrete sizes.*N \(in a, b\)/);
  assert.is(bindInputs(sym, { tensors: { a: f32([0, 2]), b: f32([0, 2]) } }).graph, sym, 'a symbol of size 0 cannot be bound: the graph stays symbolic');
  const fixed = bindInputs(graph, { random: { seed: 3 } });
  assert.is(fixed.graph, graph, 'a static graph comes back as it is');
  assert.equal(readNumbers(fixed.inputs.get('a')!), readNumbers(randomInputs(graph, 3).get('a')!));
});

test.run();
