/**
 * Seeded random inputs (compiler/runtime/inputs.ts): deterministic per seed, in the documented ranges
 * for every kind of dtype, drawn a chunk at a time into the tensor's own storage (the inputs here are
 * larger than one chunk, so a chunk boundary is crossed), and the same stream whatever the dtype.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { randomInputs, seededRandom } from '../../compiler/runtime/inputs.ts';
import { readNumbers } from '../../compiler/ir/tensor.ts';

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

test('the stream does not depend on the storage: the first float equals the Box–Muller draw of the seed', () => {
  const rand = seededRandom(5);
  const first = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const only = parseGraph('kiln.graph @g(%a: f64[3]) -> (%a: f64[3]) {\n  return %a\n}');
  assert.is(readNumbers(randomInputs(only, 5).get('a')!)[0], first);
});

test.run();
