/**
 * Regions in the graph IR (If's branches, Loop's and Scan's bodies as graph attributes) and sequence
 * and optional types: the text form round-trips, the verifier checks scoping and names the region,
 * inference types regions through their op's rule, and the reference executor runs them.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { printGraph } from '../../compiler/ir/print.ts';
import { graphDiff } from '../../compiler/ir/equal.ts';
import { collectGraphErrors } from '../../compiler/ir/verify.ts';
import { capturedValues, regionsOf } from '../../compiler/ir/graph.ts';
import { inferTypes } from '../../compiler/ops/infer.ts';
import { collectTypeErrors } from '../../compiler/ops/verify-types.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { Tensor, readNumbers } from '../../compiler/ir/tensor.ts';
import { KilnError } from '../../compiler/errors.ts';

const kir = (lines: string[]) => lines.join('\n') + '\n';

/** A Loop summing x[i] into a carried value, stopping early once the sum exceeds a limit. */
const LOOP = kir([
  'kiln.graph @loop(%m: i64[], %x: f32[5], %limit: f32[]) -> (%sum: f32[1], %trace: f32[_d0,1]) {',
  '  %start = const f32[1] dense<[0.0]>',
  '  %go = const bool[] dense<true>',
  '  %sum, %trace = Loop(%m, %go, %start) : f32[1], f32[_d0,1] loc("/loop") {',
  '    body @body(%i: i64[], %c: bool[], %acc: f32[1]) -> (%more: bool[1], %next: f32[1], %seen: f32[1]) {',
  '      %one = const i64[] dense<1>',
  '      %axes = const i64[1] dense<[0]>',
  '      %end = Add(%i, %one) : i64[] loc("/end")',
  '      %lo = Unsqueeze(%i, %axes) : i64[1] loc("/lo")',
  '      %hi = Unsqueeze(%end, %axes) : i64[1] loc("/hi")',
  '      %xi = Slice(%x, %lo, %hi) : f32[1] loc("/slice")',
  '      %next = Add(%acc, %xi) : f32[1] loc("/add")',
  '      %seen = Identity(%next) : f32[1] loc("/seen")',
  '      %more = LessOrEqual(%next, %limit) : bool[1] loc("/cmp")',
  '      return %more, %next, %seen',
  '    }',
  '  }',
  '  return %sum, %trace',
  '}',
]);

test('a graph with a Loop region prints, parses back equal and prints the same text', () => {
  const g = parseGraph(LOOP);
  assert.is(printGraph(g), LOOP);
  assert.is(graphDiff(g, parseGraph(printGraph(g))), undefined);
  const [[name, body]] = regionsOf(g.nodes[0]);
  assert.is(name, 'body');
  assert.equal(capturedValues(body), ['x', 'limit'], 'the body reads %x and %limit from the enclosing graph');
});

test('sequence and optional types print and parse; nested sequences are not a kiln type', () => {
  const text = kir([
    'kiln.graph @types(%s: seq<f32[N,3]>, %o: opt<i64[]>, %os: opt<seq<f32[*]>>) -> (%s: seq<f32[N,3]>) {',
    '  return %s',
    '}',
  ]);
  const g = parseGraph(text);
  assert.equal(g.inputs.map((i) => [i.type.container, i.type.unranked ?? false]), [['seq', false], ['opt', false], ['opt-seq', true]]);
  assert.is(printGraph(g), text);
  assert.throws(() => parseGraph(text.replace('seq<f32[N,3]>)', 'seq<seq<f32[2]>>)')), /seq<seq<f32\[2\]>> is not a type/);
});

test('the verifier checks regions in scope: a use before the owning node, a shadowed name, an undefined result, an unranked tensor', () => {
  assert.equal(collectGraphErrors(parseGraph(LOOP)).map((e) => e.message), [], 'reading %x and %limit from inside the body is in scope');
  // the body reads %later, which the enclosing graph defines only after the Loop
  const useBeforeDef = parseGraph(LOOP.replace('%next = Add(%acc, %xi)', '%next = Add(%later, %xi)')
    .replace('  return %sum, %trace', '  %later = Identity(%sum) : f32[1]\n  return %sum, %trace'));
  const [e1] = collectGraphErrors(useBeforeDef);
  assert.is(e1.place.rule, 'ssa.undefined');
  assert.match(e1.message, "region 'body' of node 'sum': input 'later' is not defined");
  // the body defines %x again: names are unique across scopes
  const shadow = parseGraph(LOOP.replace('%seen = Identity(%next)', '%x = Identity(%next) : f32[1]\n      %seen = Identity(%next)'));
  const e2 = collectGraphErrors(shadow).find((e) => e.place.rule === 'ssa.single-def');
  assert.ok(e2, 'redefining an outer name inside a region is an error');
  assert.match(e2!.message, "region 'body' of node 'sum': value 'x' is defined more than once");
  // a region result that nothing defines
  const noResult = parseGraph(LOOP.replace('return %more, %next, %seen', 'return %more, %next, %nowhere').replace('%seen: f32[1]) {', '%nowhere: ?) {'));
  assert.ok(collectGraphErrors(noResult).some((e) => e.place.rule === 'graph.output' && e.message.includes("region result 'nowhere' is not defined")));
  // a plain tensor cannot be unranked
  const unranked = parseGraph(kir(['kiln.graph @u(%x: f32[2]) -> (%y: ?) {', '  %y = Neg(%x) : f32[*]', '  return %y', '}']).replace('-> (%y: ?)', '-> (%y: f32[*])'));
  assert.ok(collectGraphErrors(unranked).some((e) => e.place.rule === 'type.malformed' && /unranked/.test(e.message)));
});

test('inference types a Loop body through the op rule and the executor runs it with an early exit', () => {
  const g = inferTypes(parseGraph(LOOP));
  const x = Tensor.fromNumbers('f32', [5], [1, 2, 3, 4, 5]);
  const run = (m: number, limit: number) => runReference(g, { m: new Tensor('i64', [], BigInt64Array.of(BigInt(m))), x, limit: Tensor.scalar('f32', limit) });
  // stops after the sum passes 5: 1, 3, 6
  const [sum, trace] = run(5, 5);
  assert.equal([...readNumbers(sum)], [6]);
  assert.equal(trace.shape, [3, 1]);
  assert.equal([...readNumbers(trace)], [1, 3, 6]);
  // the trip count ends it first
  const [sum2, trace2] = run(2, 100);
  assert.equal([...readNumbers(sum2)], [3]);
  assert.equal(trace2.shape, [2, 1]);
  // zero iterations: the initial value and an empty scan output
  const [sum0, trace0] = run(0, 100);
  assert.equal([...readNumbers(sum0)], [0]);
  assert.is(trace0.shape.length, 2);
  assert.is(trace0.size, 0, 'an empty stack of the per-iteration values');
});

test('If: the branches are joined when the condition is unknown, the taken one decides when it is known', () => {
  const text = (cond: string) => kir([
    `kiln.graph @branch(%x: f32[3]${cond ? '' : ', %c: bool[]'}) -> (%y: f32[3]) {`,
    ...(cond ? [`  %c = const bool[] dense<${cond}>`] : []),
    '  %y = If(%c) : f32[3] {',
    '    else_branch @no() -> (%b: f32[3]) {',
    '      %b = Neg(%x) : f32[3]',
    '      return %b',
    '    }',
    '    then_branch @yes() -> (%a: f32[2]) {',
    '      %two = const i64[1] dense<[2]>',
    '      %zero = const i64[1] dense<[0]>',
    '      %a = Slice(%x, %zero, %two) : f32[2]',
    '      return %a',
    '    }',
    '  }',
    '  return %y',
    '}',
  ]);
  const x = Tensor.fromNumbers('f32', [3], [1, 2, 3]);
  const unknown = inferTypes(parseGraph(text('')));
  assert.equal(unknown.nodes[0].types[0].shape.length, 1);
  assert.type(unknown.nodes[0].types[0].shape[0], 'string', 'f32[2] joined with f32[3] has a symbolic dim');
  assert.equal([...readNumbers(runReference(unknown, { x, c: new Tensor('bool', [], Uint8Array.of(0)) })[0])], [-1, -2, -3]);
  assert.equal([...readNumbers(runReference(unknown, { x, c: new Tensor('bool', [], Uint8Array.of(1)) })[0])], [1, 2]);
  const known = inferTypes(parseGraph(text('true')));
  assert.equal(known.nodes[0].types[0].shape, [2], 'a known condition types the If as its taken branch');
});

test('Scan runs its body over slices, in reverse where asked, and stacks the outputs', () => {
  const g = inferTypes(parseGraph(kir([
    'kiln.graph @scan(%init: f32[2], %xs: f32[3,2]) -> (%last: f32[2], %all: f32[3,2]) {',
    '  %last, %all = Scan(%init, %xs) {num_scan_inputs=1, scan_input_directions=[1]} : f32[2], f32[3,2] {',
    '    body @step(%s: f32[2], %row: f32[2]) -> (%t: f32[2], %out: f32[2]) {',
    '      %t = Add(%s, %row) : f32[2]',
    '      %out = Identity(%t) : f32[2]',
    '      return %t, %out',
    '    }',
    '  }',
    '  return %last, %all',
    '}',
  ])));
  const [last, all] = runReference(g, { init: Tensor.fromNumbers('f32', [2], [0, 0]), xs: Tensor.fromNumbers('f32', [3, 2], [1, 2, 3, 4, 5, 6]) });
  assert.equal([...readNumbers(last)], [9, 12]);
  assert.equal([...readNumbers(all)], [5, 6, 8, 10, 9, 12], 'rows taken from the last: 5,6 then +3,4 then +1,2');
});

test("a region's rule errors name the node and the region", () => {
  const bad = parseGraph(LOOP.replace('return %more, %next, %seen', 'return %next, %next, %seen').replace('(%more: bool[1], %next', '(%next: f32[1], %next'));
  try {
    inferTypes(bad);
    assert.unreachable('a body whose first result is not a condition must be refused');
  } catch (e) {
    assert.instance(e, KilnError);
    assert.match((e as Error).message, "node 'sum', op Loop");
    assert.match((e as Error).message, /region 'body' result 0 \(the condition\) must be a one-element bool tensor, got f32\[/);
  }
});

test('the type verifier checks region bodies, naming the region, and accepts a region returning an outer value', () => {
  const text = kir([
    'kiln.graph @o(%x: f32[3], %c: bool[]) -> (%y: f32[3]) {',
    '  %n = Neg(%x) : f32[3]',
    '  %y = If(%c) : f32[3] {',
    '    else_branch @no() -> (%x: ?) {',
    '      return %x',
    '    }',
    '    then_branch @yes() -> (%t: f32[3]) {',
    '      %t = Abs(%n) : f32[3]',
    '      return %t',
    '    }',
    '  }',
    '  return %y',
    '}',
  ]);
  assert.equal(collectTypeErrors(parseGraph(text)).map((e) => e.message), []);
  const [bad] = collectTypeErrors(parseGraph(text.replace('%t = Abs(%n) : f32[3]', '%t = Abs(%n) : i64[3]').replace('(%t: f32[3])', '(%t: i64[3])')));
  assert.is(bad.place.rule, 'type.mismatch');
  assert.match(bad.message, "region 'then_branch' of node 'y': output 't' is declared i64[3] but Abs infers f32[3]");
});

test.run();
