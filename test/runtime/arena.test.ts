/**
 * The arena executor runs the memory plan as a contract, so the plan's choices are observable:
 * valid plans (views of inputs and constants, in-place results, scratch, alignment 1 with mixed element
 * sizes, bound symbolic dims) give the reference executor's bits, and each way of corrupting a plan —
 * two live buffers overlapping, an unsafe in-place result, a fake view, scratch over a live value, a
 * graph output overwritten before the end, a misaligned offset — is refused by the validator AND, forced
 * through the arena anyway, changes the outputs (or fails), so these tests can fail.
 */
import { test } from 'uvu';
import { expectTensors } from '../../compiler/ir/value.ts';
import * as assert from 'uvu/assert';
import type { Graph } from '../../compiler/ir/graph.ts';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { KilnError } from '../../compiler/errors.ts';
import '../../compiler/ops/all.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { randomInputs } from '../../compiler/runtime/inputs.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { arenaBackend, arenaUnsupported, prepareArena } from '../../compiler/runtime/arena.ts';
import { findBackend, registerBackend } from '../../compiler/runtime/backend.ts';
import { type MemoryPlan, type PlannedTensor, type PlannedScratch, planMemory, validatePlan } from '../../compiler/schedule/index.ts';
import { sameBits } from './arena-support.ts';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
const rules = (g: Graph, p: MemoryPlan) => [...new Set(validatePlan(g, p).map((e) => e.slice(0, e.indexOf(':'))))];
/** `plan` with tensor `name` changed by `edit`. */
function edit(plan: MemoryPlan, name: string, change: Partial<Mutable<PlannedTensor>>): MemoryPlan {
  assert.ok(plan.tensors.some((t) => t.name === name), `no tensor '${name}'`);
  return { ...plan, tensors: plan.tensors.map((t) => (t.name === name ? { ...t, ...change } : t)) };
}
const tensor = (p: MemoryPlan, name: string) => p.tensors.find((t) => t.name === name)!;

/** Runs `g` on the reference and on the arena with `plan` (validation off) and tells whether they agree. */
async function agrees(g: Graph, plan: MemoryPlan, seed = 3): Promise<boolean> {
  const inputs = randomInputs(g, seed, plan.dims ?? {});
  const want = runReference(g, inputs);
  const got = expectTensors(await prepareArena(g, plan, { validate: false }).run(inputs));
  return want.every((w, k) => sameBits(w, got[k]));
}

/** a and b both live until y reads them; y may be written over either. */
const pair = (): Graph => parseGraph(`kiln.graph @pair(%x: f32[64]) -> (%y: f32[64]) {
  %a = Neg(%x) : f32[64]
  %b = Exp(%x) : f32[64]
  %y = Sub(%a, %b) : f32[64]
  return %y
}`);

test('valid plans on a hand graph match the reference; every planner, both orders, in-place on and off', async () => {
  const g = pair();
  for (const planner of ['naive', 'greedy-size', 'greedy-breadth', 'best']) {
    for (const inplace of [true, false]) {
      const p = planMemory(g, { planner, inplace, order: 'graph' });
      assert.equal(validatePlan(g, p), []);
      assert.ok(await agrees(g, p), `${planner} inplace=${inplace}`);
    }
  }
  const p = planMemory(g, { order: 'graph' });
  assert.is(tensor(p, 'y').aliasKind, 'inplace', 'the planner writes y over a dying input');
});

test('mutation: two simultaneously live buffers at one offset are refused and change the result', async () => {
  const g = pair(), p = planMemory(g, { order: 'graph', inplace: false });
  const bad = edit(p, 'b', { offset: tensor(p, 'a').offset });
  assert.ok(rules(g, bad).includes('overlap'));
  assert.not.ok(await agrees(g, bad), 'b written over a must corrupt y = a - b');
  assert.ok(await agrees(g, p), 'the unmutated plan agrees');
});

test('mutation: an unsafe in-place result is refused and changes the result', async () => {
  // b = Exp(a) written over a, but y still reads a afterwards
  const g = parseGraph(`kiln.graph @unsafe(%x: f32[64]) -> (%y: f32[64]) {
  %a = Neg(%x) : f32[64]
  %b = Exp(%a) : f32[64]
  %y = Sub(%a, %b) : f32[64]
  return %y
}`);
  const p = planMemory(g, { order: 'graph' });
  assert.is(tensor(p, 'b').aliasOf, undefined, 'the planner does not write b over a');
  const a = tensor(p, 'a');
  let bad = edit(p, 'b', { aliasOf: 'a', aliasKind: 'inplace', bytes: 0, offset: a.offset });
  bad = edit(bad, 'a', { last: 2 });
  assert.ok(rules(g, bad).includes('overwrite'), rules(g, bad).join());
  assert.not.ok(await agrees(g, bad));
});

test('mutation: a fake view (a Transpose marked as a view) is refused and changes the result', async () => {
  const g = parseGraph(`kiln.graph @transpose(%x: f32[8,8]) -> (%y: f32[8,8]) {
  %a = Neg(%x) : f32[8,8]
  %t = Transpose(%a) {perm = [1, 0]} : f32[8,8]
  %y = Relu(%t) : f32[8,8]
  return %y
}`);
  const p = planMemory(g, { order: 'graph' });
  assert.ok(await agrees(g, p));
  const bad = edit(p, 't', { aliasOf: 'a', aliasKind: 'view', bytes: 0, offset: tensor(p, 'a').offset });
  assert.ok(rules(g, bad).includes('alias'));
  assert.not.ok(await agrees(g, bad));
});

test('mutation: a graph output overwritten by a later buffer is refused and changes the output', async () => {
  const g = parseGraph(`kiln.graph @early(%x: f32[64]) -> (%o: f32[64], %y: f32[64]) {
  %o = Neg(%x) : f32[64]
  %a = Exp(%x) : f32[64]
  %y = Sin(%a) : f32[64]
  return %o, %y
}`);
  const p = planMemory(g, { order: 'graph', inplace: false });
  const bad = edit(p, 'a', { offset: tensor(p, 'o').offset });
  assert.ok(rules(g, bad).includes('overlap'));
  const inputs = randomInputs(g, 5);
  const [o] = expectTensors(await prepareArena(g, bad, { validate: false }).run(inputs));
  assert.not.ok(sameBits(o, runReference(g, inputs)[0]), 'output o must be corrupted');
  // the planner's own plan keeps o and writes nothing over it
  assert.ok(await agrees(g, p) && await agrees(g, planMemory(g, { order: 'graph' })));
});

test('prepare validates: the Backend refuses an invalid plan with the rule it breaks', async () => {
  const g = pair(), p = planMemory(g, { order: 'graph', inplace: false });
  const bad = edit(p, 'b', { offset: tensor(p, 'a').offset });
  try {
    await arenaBackend.prepare(g, bad);
    assert.unreachable('an invalid plan must be refused');
  } catch (e) {
    assert.instance(e, KilnError);
    assert.match((e as Error).message, /invalid: .*share bytes/);
  }
  // registered here until the backend list registers it (then this finds that same object)
  if (!findBackend('arena')) registerBackend(arenaBackend);
  assert.is(findBackend('arena'), arenaBackend);
  assert.equal(await arenaBackend.available(), { ok: true });
  const prog = await findBackend('arena')!.prepare(g, undefined);
  assert.is(prog.backend, 'arena');
  const kernels: string[] = [];
  expectTensors(await prog.run(randomInputs(g, 1), { onKernel: (k) => kernels.push(k.kernel) }));
  assert.equal(kernels, (prog as unknown as { plan: MemoryPlan }).plan.order);
});

test('scratch: placed apart from every value live at its step, in the bounds, poisoned by the arena without harm', async () => {
  const g = pair();
  const scratchBytes = (n: { op: string }) => (n.op === 'Exp' ? 1000 : n.op === 'Sub' ? 64 : 0);
  for (const planner of ['naive', 'greedy-size', 'best']) {
    const p = planMemory(g, { planner, order: 'graph', scratchBytes });
    assert.equal(validatePlan(g, p, { scratchBytes }), [], planner);
    assert.equal(p.scratch.map((s) => [s.node, s.step, s.bytes]), [['b', 1, 1000], ['y', 2, 64]]);
    for (const s of p.scratch) {
      assert.is(s.offset % s.alignment, 0);
      for (const t of p.tensors) {
        if (t.aliasOf !== undefined || t.bytes === 0 || t.first > s.step || t.last < s.step) continue;
        assert.ok(s.offset >= t.offset + t.bytes || t.offset >= s.offset + s.bytes, `${planner}: scratch of ${s.node} overlaps ${t.name}`);
      }
      assert.ok(p.breadth[s.step] >= s.bytes && p.peakBytes >= s.offset + s.bytes);
    }
    assert.ok(await agrees(g, p), planner);
  }
  // a node whose scratch dwarfs every value sets the lower bound
  const big = planMemory(g, { scratchBytes: (n) => (n.op === 'Neg' ? 1 << 20 : 0) });
  assert.ok(big.lowerBoundBytes >= 1 << 20 && big.peakBytes >= 1 << 20);
  // the validator knows what each kernel needs when told
  const none = planMemory(g, { order: 'graph' });
  assert.ok(rules(g, none).length === 0 && validatePlan(g, none, { scratchBytes }).some((e) => /node 'b' needs 1000 scratch bytes/.test(e)));
  assert.throws(() => planMemory(g, { scratchBytes: () => -1 }), /scratchBytes must be a non-negative integer/);
});

test('mutation: scratch moved over a live value is refused and corrupts the result', async () => {
  const g = pair();
  const p = planMemory(g, { order: 'graph', inplace: false, scratchBytes: (n) => (n.op === 'Exp' ? 256 : 0) });
  assert.ok(await agrees(g, p));
  const s = p.scratch[0];
  const bad: MemoryPlan = { ...p, scratch: [{ ...s, offset: tensor(p, 'a').offset } as PlannedScratch] };
  assert.ok(rules(g, bad).includes('overlap'));
  assert.not.ok(await agrees(g, bad), 'poisoned scratch over a must corrupt y');
  const misaligned: MemoryPlan = { ...p, scratch: [{ ...s, offset: s.offset + 4 }] };
  assert.ok(rules(g, misaligned).includes('alignment'));
});

const mixed = (): Graph => parseGraph(`kiln.graph @mixed(%x: f32[3], %k: i64[3]) -> (%y: f64[3], %z: i64[3], %m: bool[3]) {
  %b = Greater(%x, %x) : bool[3]
  %d = Cast(%x) {to = 11} : f64[3]
  %c = Not(%b) : bool[3]
  %e = Add(%k, %k) : i64[3]
  %n = Cast(%d) {to = 7} : i64[3]
  %y = Mul(%d, %d) : f64[3]
  %z = Add(%e, %n) : i64[3]
  %m = Xor(%c, %b) : bool[3]
  return %y, %z, %m
}`);

test('alignment: with alignment 1 every offset is still a multiple of its element size, and runs bit-exact', async () => {
  const g = mixed();
  const p = planMemory(g, { alignment: 1, order: 'graph', inplace: false });
  assert.equal(validatePlan(g, p), []);
  const want: Record<string, number> = { f32: 4, f64: 8, i64: 8, bool: 1 };
  for (const t of [...p.tensors, ...p.externals]) {
    assert.is(t.alignment, want[t.dtype], `${t.name} ${t.dtype}`);
    assert.is(t.offset % t.alignment, 0, `${t.name} at ${t.offset}`);
  }
  assert.ok(p.tensors.some((t) => t.dtype === 'bool' && t.offset % 8 !== 0) || p.peakBytes < 64, 'bytes are packed tighter than 8');
  assert.ok(await agrees(g, p));
  const d = tensor(p, 'd');
  const bad = edit(p, 'd', { offset: d.offset + 4 });
  assert.ok(rules(g, bad).includes('alignment'));
  let threw = false;
  try { await agrees(g, bad); } catch (e) { threw = e instanceof RangeError; }
  assert.ok(threw, 'a misaligned Float64Array view cannot be made');
  // the default alignment is 64 for every buffer, and alignment below an element size is raised to it
  for (const t of planMemory(g).tensors) assert.is(t.alignment, 64);
  assert.is(rules(g, edit(p, 'd', { alignment: 4 }))[0], 'layout');
});

test('inputs and constants: own regions, views of them read in place, outputs that are views copied out', async () => {
  const g = parseGraph(`kiln.graph @regions(%x: f32[4,4], %u: f32[16]) -> (%r: f32[16], %w2: f32[4,4], %y: f32[4,4]) {
  %s = const i64[2] dense<[4, 4]>
  %w = const f32[16] dense<[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]>
  %f = const i64[1] dense<[16]>
  %r = Reshape(%x, %f) : f32[16]
  %w2 = Reshape(%w, %s) : f32[4,4]
  %a = Add(%r, %u) : f32[16]
  %b = Reshape(%a, %s) : f32[4,4]
  %y = MatMul(%b, %w2) : f32[4,4]
  return %r, %w2, %y
}`);
  const p = planMemory(g, { order: 'graph' });
  assert.equal(validatePlan(g, p), []);
  assert.equal(p.externals.map((e) => [e.name, e.region, e.offset, e.bytes]),
    [['x', 'input', 0, 64], ['u', 'input', 64, 64], ['s', 'constant', 0, 16], ['w', 'constant', 64, 64], ['f', 'constant', 128, 8]]);
  assert.is(p.inputRegionBytes, 128);
  assert.is(p.constantRegionBytes, 136);
  assert.equal([tensor(p, 'r').region, tensor(p, 'r').offset, tensor(p, 'r').aliasKind], ['input', 0, 'view']);
  assert.equal([tensor(p, 'w2').region, tensor(p, 'w2').offset], ['constant', 64]);
  assert.equal([tensor(p, 'b').region, tensor(p, 'b').aliasOf], ['arena', 'a']);
  assert.ok(await agrees(g, p));
  // the caller's input is never written: run twice on the same tensors, same results
  const inputs = randomInputs(g, 9), before = inputs.get('x')!.data.slice();
  const prog = prepareArena(g, p);
  const first = expectTensors(await prog.run(inputs)), second = expectTensors(await prog.run(inputs));
  assert.equal(inputs.get('x')!.data, before);
  first.forEach((t, k) => assert.ok(sameBits(t, second[k])));
  // a view of a constant moved off the constant's place is refused and reads other bytes
  const bad = edit(p, 'w2', { region: 'input', offset: 64 });
  assert.ok(rules(g, bad).includes('layout'));
  assert.not.ok(await agrees(g, bad));
});

test('symbolic dims: bound at prepare time through the plan, never guessed; other sizes refused at run', async () => {
  const g = parseGraph(`kiln.graph @sym(%x: f32[N,4]) -> (%y: f32[N,4]) {
  %a = Relu(%x) : f32[N,4]
  %y = Neg(%a) : f32[N,4]
  return %y
}`);
  assert.throws(() => prepareArena(g), (e: Error) => e instanceof KilnError && /symbolic dim.*N.*--dim N=/.test(e.message));
  const p = planMemory(g, { dims: { N: 3 } });
  assert.equal(tensor(p, 'a').shape, [3, 4]);
  assert.is(tensor(p, 'a').elements, 12);
  assert.ok(await agrees(g, p));
  const prog = prepareArena(g, p);
  try {
    expectTensors(await prog.run(new Map([['x', Tensor.zeros('f32', [5, 4])]])));
    assert.unreachable('a different size must be refused');
  } catch (e) {
    assert.match((e as Error).message, /prepared for f32\[3,4\]/);
  }
});

test('packed sub-byte values take the planned packed bytes and round-trip through them', async () => {
  const g = parseGraph(`kiln.graph @packed(%x: f32[5]) -> (%y: f32[5], %q: i4[5]) {
  %q = Cast(%x) {to = 22} : i4[5]
  %u = Cast(%x) {to = 21} : u4[5]
  %t = Cast(%x) {to = 26} : i2[5]
  %a = Cast(%q) {to = 1} : f32[5]
  %b = Cast(%u) {to = 1} : f32[5]
  %c = Cast(%t) {to = 1} : f32[5]
  %s = Add(%a, %b) : f32[5]
  %y = Add(%s, %c) : f32[5]
  return %y, %q
}`);
  const p = planMemory(g, { order: 'graph', alignment: 1, inplace: false });
  assert.equal(validatePlan(g, p), []);
  assert.equal([tensor(p, 'q').bytes, tensor(p, 't').bytes], [3, 2]);
  const x = Tensor.fromNumbers('f32', [5], [-8, -3, 0, 5, 7]);
  const inputs = new Map([['x', x]]);
  const want = runReference(g, inputs), got = expectTensors(await prepareArena(g, p).run(inputs));
  want.forEach((w, k) => assert.ok(sameBits(w, got[k]), `output ${k}`));
  assert.equal(Array.from(got[1].data as Int8Array), [-8, -3, 0, 5, 7]);
  // the i2 value t moved onto q's packed bytes (q is an output, live to the end) corrupts q
  const bad = edit(p, 't', { offset: tensor(p, 'q').offset });
  assert.ok(rules(g, bad).includes('overlap'));
  assert.not.ok(sameBits(want[1], (expectTensors(await prepareArena(g, bad, { validate: false }).run(inputs)))[1]));
});

test('unsupported: strings are reported with reasons; a value sized only at run time is host-held, not refused', async () => {
  const g = parseGraph(`kiln.graph @odd(%s: str[2], %q: i4[4], %x: f32[4]) -> (%n: i64[1,N]) {
  %n = NonZero(%x) : i64[1,N]
  return %n
}`);
  const reasons = arenaUnsupported(g).map((u) => u.reason).join('\n');
  assert.match(reasons, /'s': str values cannot live in an ArrayBuffer/);
  assert.not.match(reasons, /'q'/);
  assert.not.match(reasons, /known only at run time/);
  assert.throws(() => prepareArena(g), /arena executor cannot run this graph/);
  assert.equal(arenaUnsupported(pair()), []);
  // NonZero's output size is the data's: the plan holds it on the host and the arena runs it
  const nz = parseGraph(`kiln.graph @nz(%x: f32[4]) -> (%n: i64[1,N]) {
  %n = NonZero(%x) : i64[1,N]
  return %n
}`);
  const p = planMemory(nz);
  assert.equal(validatePlan(nz, p), []);
  assert.is(tensor(p, 'n').region, 'host');
  assert.is(p.peakBytes, 0);
  const inputs = new Map([['x', Tensor.fromNumbers('f32', [4], [0, 2, 0, -1])]]);
  const got = expectTensors(await prepareArena(nz, p).run(inputs))[0];
  assert.equal(got.shape, [1, 2]);
  assert.equal(Array.from(got.data as BigInt64Array, Number), [1, 3]);
});

test.run();
