/**
 * Sizes and the memory budget (compiler/ir/sizes.ts): size parsing, the one size check, dims in .kir
 * text and the verifier, random inputs of a huge declared input, the kernels whose output size
 * depends on data, and a fold that would exceed the budget.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KilnError } from '../../compiler/errors.ts';
import { SizeError, checkTensorSize, memoryBudget, parseMemorySize, setMemoryBudget } from '../../compiler/ir/sizes.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { collectGraphErrors } from '../../compiler/ir/verify.ts';
import type { Graph } from '../../compiler/ir/graph.ts';
import { Tensor, i64Tensor } from '../../compiler/ir/tensor.ts';
import { randomInputs } from '../../compiler/runtime/inputs.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { foldConstantsPass } from '../../compiler/passes/fold-constants.ts';
import { runPass } from '../passes/canonical-helpers.ts';

const MiB = 1 << 20;

/** Runs `f` with the memory budget set to `bytes`, restoring the previous setting after. */
function withBudget<T>(bytes: number, f: () => T): T {
  const prev = setMemoryBudget(bytes);
  try { return f(); } finally { setMemoryBudget(prev); }
}

/** The error `f` throws (failing the test when it throws none). */
function thrown(f: () => unknown): Error {
  try { f(); } catch (e) { return e as Error; }
  assert.unreachable('expected an error, none was thrown');
  throw new Error('unreachable');
}

test('parseMemorySize reads bytes and binary units; refuses anything else', () => {
  assert.is(parseMemorySize('1048576'), 1048576);
  assert.is(parseMemorySize('512M'), 512 * MiB);
  assert.is(parseMemorySize('8G'), 8 * 1024 * MiB);
  assert.is(parseMemorySize('8GiB'), 8 * 1024 * MiB);
  assert.is(parseMemorySize('8gb'), 8 * 1024 * MiB);
  assert.is(parseMemorySize('1.5K'), 1536);
  for (const bad of ['', '0', '-1', '8X', 'G', '1e9', '5iB', 'lots', '99999999999P']) assert.is(parseMemorySize(bad), undefined, bad);
});

test('the budget defaults to a share of the machine, and the setter refuses nonsense', () => {
  assert.ok(memoryBudget() > 0);
  withBudget(MiB, () => assert.is(memoryBudget(), MiB));
  assert.instance(thrown(() => setMemoryBudget(-5)), KilnError);
  assert.instance(thrown(() => setMemoryBudget(1.5)), KilnError);
});

test('checkTensorSize names the value, its type and its size against the budget', () => {
  withBudget(MiB, () => {
    assert.is(checkTensorSize({ value: 'w' }, 'f32', [256, 1024]), 262144);
    const e = thrown(() => checkTensorSize({ value: 'w', node: 'n', op: 'Tile' }, 'f32', [100000, 100000, 100]));
    assert.instance(e, SizeError);
    assert.is(e.message, "node 'n', op Tile: 'w' (f32[100000,100000,100]) needs 3.64 TiB (4000000000000 bytes), "
      + 'more than the memory budget of 1.00 MiB (set it with --max-memory SIZE)');
  });
  assert.match(thrown(() => checkTensorSize({ value: 'x' }, 'f32', [2 ** 40, 2 ** 40])).message, /'x' \(f32\[1099511627776,1099511627776\]\) has more than 2\^53 elements/);
  assert.match(thrown(() => checkTensorSize({ value: 'x' }, 'u8', [7, -1])).message, /'x' \(u8\[7,-1\]\): dim -1 is negative \(dim 1 of \[7,-1\]\)/);
  // within a large budget but past what one typed array can hold
  withBudget(2 ** 50, () => assert.match(thrown(() => checkTensorSize({ value: 'x' }, 'u8', [2 ** 33])).message, /more than one array can hold/));
});

test('storage allocation checks too: an absurd size is a KilnError, never "Invalid typed array length"', () => {
  const e = thrown(() => Tensor.zeros('f32', [2 ** 31, 4]));
  assert.instance(e, SizeError);
  assert.match(e.message, /f32\[2147483648,4\] needs 32\.0 GiB/);
});

test('.kir: a negative, huge or fractional dim is a parse error naming file, value and dim', () => {
  const kir = (dims: string) => `kiln.graph @g(%x: f32[${dims}]) -> (%y: f32[${dims}]) {\n  %y = Relu(%x) : f32[${dims}]\n  return %y\n}\n`;
  const err = (dims: string) => thrown(() => parseGraph(kir(dims), { file: 'm.kir' })).message;
  assert.is(err('7,-1'), "m.kir:1:25: '%x' in input list: dim 1 is -1; it is negative (dims are integers 0 to 2^53-1, or symbol names)");
  assert.match(err('99999999999999999999'), /^m\.kir:1:23: '%x' in input list: dim 0 is 99999999999999999999; it is larger than 2\^53-1/);
  assert.match(err('9007199254740992'), /dim 0 is 9007199254740992; it is larger than 2\^53-1/);
  assert.match(err('2.5'), /^m\.kir:1:23: expected a dim/);
  // a node's output type names the node's output
  const text = 'kiln.graph @g(%x: f32[2]) -> (%y: f32[2]) {\n  %y = Relu(%x) : f32[-2]\n  return %y\n}\n';
  assert.match(thrown(() => parseGraph(text, { file: 'n.kir' })).message, /^n\.kir:2:23: '%y' in output types: dim 0 is -2/);
});

test('verifier: a dim beyond 2^53 or a value defined twice with another type is an error', () => {
  const g: Graph = {
    name: 'g', inputs: [{ name: 'x', type: { dtype: 'f32', shape: [2 ** 53] } }], outputs: ['x'], constants: [], nodes: [],
  };
  assert.equal(collectGraphErrors(g).map((e) => e.message), ["rule type.malformed: graph input 'x': bad dim '9007199254740992' (dims are integers 0 to 2^53-1, or symbol names)"]);
  const twice = parseGraph('kiln.graph @g(%x: f32[2]) -> (%y: i64[2]) {\n  %y = Relu(%x) : f32[2]\n  %y = Cast(%x) {to = 7} : i64[2]\n  return %y\n}\n');
  assert.match(collectGraphErrors(twice).map((e) => e.message).join('\n'), /rule ssa.single-def: value 'y' is defined more than once \(again by node 1\)/);
});

test('random inputs for a huge declared input are refused before allocation', () => {
  const g = parseGraph('kiln.graph @g(%x: f32[100000,100000,100]) -> (%x: f32[100000,100000,100]) {\n  return %x\n}\n');
  const e = thrown(() => randomInputs(g, 0));
  assert.instance(e, SizeError);
  assert.match(e.message, /^'x' \(f32\[100000,100000,100\]\) needs 3\.64 TiB \(4000000000000 bytes\), more than the memory budget of/);
});

/** A one-node graph whose output size depends on input values (a symbolic output type). */
function dataDependent(op: string, inputs: [string, string][], attrs = ''): Graph {
  const sig = inputs.map(([n, t]) => `%${n}: ${t}`).join(', ');
  const args = inputs.map(([n]) => `%${n}`).join(', ');
  return parseGraph(`kiln.graph @g(${sig}) -> (%y: f32[A,B,C,D]) {\n  %y = ${op}(${args})${attrs} : f32[A,B,C,D]\n  return %y\n}\n`);
}

test('Tile, Expand, ConstantOfShape, Pad, Resize and Range refuse a too-large output with one error at their node', () => {
  const x = Tensor.fromNumbers('f32', [1, 1, 2, 2], [1, 2, 3, 4]);
  const cases: [string, Graph, Record<string, Tensor>, RegExp][] = [
    ['Tile', dataDependent('Tile', [['x', 'f32[1,1,2,2]'], ['r', 'i64[4]']]), { x, r: i64Tensor([1, 1, 100000, 100000]) },
      /node 'y', op Tile: output f32\[1,1,200000,200000\] needs 149 GiB/],
    ['Expand', dataDependent('Expand', [['x', 'f32[1,1,2,2]'], ['s', 'i64[4]']]), { x, s: i64Tensor([100000, 100000, 2, 2]) },
      /node 'y', op Expand: output f32\[100000,100000,2,2\] needs 149 GiB/],
    ['ConstantOfShape', dataDependent('ConstantOfShape', [['s', 'i64[4]']]), { s: i64Tensor([100000, 100000, 100, 1]) },
      /node 'y', op ConstantOfShape: output f32\[100000,100000,100,1\] needs 3\.64 TiB/],
    ['Pad', dataDependent('Pad', [['x', 'f32[1,1,2,2]'], ['p', 'i64[8]']]), { x, p: i64Tensor([0, 0, 0, 0, 0, 0, 1e6, 1e6]) },
      /node 'y', op Pad: output f32\[1,1,1000002,1000002\] needs 3\.64 TiB/],
    ['Resize', dataDependent('Resize', [['x', 'f32[1,1,2,2]'], ['roi', 'f32[0]'], ['sc', 'f32[4]']]),
      { x, roi: Tensor.zeros('f32', [0]), sc: Tensor.fromNumbers('f32', [4], [1, 1, 1e5, 1e5]) },
      /node 'y', op Resize: output f32\[1,1,200000,200000\] needs 149 GiB/],
  ];
  for (const [op, g, inputs, want] of cases) {
    const e = withBudget(64 * MiB, () => thrown(() => runReference(g, inputs)));
    assert.instance(e, SizeError, `${op}: ${e.message}`);
    assert.match(e.message, want, op);
  }
  const range = parseGraph('kiln.graph @g(%a: f32[], %b: f32[], %c: f32[]) -> (%y: f32[N]) {\n  %y = Range(%a, %b, %c) : f32[N]\n  return %y\n}\n');
  const s = (v: number) => Tensor.scalar('f32', v);
  const e = withBudget(64 * MiB, () => thrown(() => runReference(range, { a: s(0), b: s(2 ** 40), c: s(1) })));
  assert.match(e.message, /node 'y', op Range: output f32\[1099511627776\] needs 4\.00 TiB/, e.message);
});

test('the reference executor refuses a static output beyond the budget before its kernel runs', () => {
  const g = parseGraph('kiln.graph @g(%x: f32[N,1024]) -> (%y: f32[N,1024]) {\n  %y = Relu(%x) : f32[N,1024]\n  return %y\n}\n');
  const x = Tensor.zeros('f32', [512, 1024]); // 2 MiB
  const e = withBudget(4 * MiB, () => { runReference(g, { x }); return withBudget(MiB, () => thrown(() => runReference(g, { x }))); });
  assert.is(e.message, "node 'y', op Relu: 'y' (f32[512,1024]) needs 2.00 MiB (2097152 bytes), more than the memory budget of 1.00 MiB (set it with --max-memory SIZE)");
});

test('the reference executor counts the tensors it holds: their sum stays within the budget too', () => {
  const g = parseGraph('kiln.graph @g(%x: f32[256,1024]) -> (%z: f32[256,1024]) {\n  %y = Relu(%x) : f32[256,1024]\n  %z = Add(%x, %y) : f32[256,1024]\n  return %z\n}\n');
  const x = Tensor.zeros('f32', [256, 1024]); // 1 MiB
  withBudget(3 * MiB, () => runReference(g, { x }));
  const e = withBudget(2.5 * MiB, () => thrown(() => runReference(g, { x })));
  assert.is(e.message, "node 'z', op Add: 'z' (f32[256,1024]) needs 1.00 MiB (1048576 bytes); with the 2.00 MiB already held that is "
    + 'more than the memory budget of 2.50 MiB (set it with --max-memory SIZE)');
});

test('a fold that would exceed the budget is not made (and counted as too-large)', () => {
  const g = parseGraph([
    'kiln.graph @g(%x: f32[4096,1024]) -> (%y: f32[4096,1024]) {',
    '  %w = const f32[4,1] dense<[1.0, 2.0, 3.0, 4.0]>',
    '  %r = const i64[2] dense<[1024, 1024]>',
    '  %t = Tile(%w, %r) : f32[4096,1024]',
    '  %y = Add(%t, %x) : f32[4096,1024]',
    '  return %y',
    '}',
  ].join('\n'));
  const r = withBudget(MiB, () => runPass(foldConstantsPass, g, { 'max-elements': 1 << 30 }));
  assert.equal(r.graph.nodes.map((n) => n.op), ['Tile', 'Add']);
  assert.is(r.stats['too-large'], 1);
  assert.is(r.stats['folded-nodes'], 0);
  // with room for it, the same fold is made
  const ok = withBudget(64 * MiB, () => runPass(foldConstantsPass, g, { 'max-elements': 1 << 30 }));
  assert.equal(ok.graph.nodes.map((n) => n.op), ['Add']);
});

test.run();
