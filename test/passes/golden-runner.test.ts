/**
 * The golden-test runner itself (test/passes/golden.ts), on in-memory files and the test passes:
 * RUN header, case splitting with file line numbers, per-case directives, and cases that must fail —
 * a wrong CHECK, a broken pass caught by the verifier, a numerically wrong pass, an UNCHANGED case that
 * changes, a case that checks nothing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseGoldenFile, runGoldenCase } from './golden.ts';
import { registerTestPasses } from './test-passes.ts';

registerTestPasses();

const GRAPH = `kiln.graph @g(%x: f32[4]) -> (%1: f32[4]) {
  %c = const f32[] dense<2.0>
  %0 = Relu(%x) : f32[4] loc("/relu")
  %1 = Mul(%0, %c) : f32[4] loc("/mul")
  return %1
}`;

const FILE = `// RUN: test-noop,test-count
// TARGET: cpu

${GRAPH}
// CHECK-LABEL: kiln.graph @g
// CHECK: [[R:%[0-9]+]] = Relu(%x)
// CHECK-NEXT: Mul([[R]], %c)
// STATS: test-count.nodes = 2
// STATS-NEXT: test-count.relus = 1
// DECISION: test-count: rejected 0: test pass never fuses

// -----
// RUN: test-relu-to-sigmoid
// NUMERIC: off
${GRAPH}
// CHECK: Sigmoid
// CHECK-NOT: Relu

// -----
// UNCHANGED
${GRAPH}
`;

/** Runs case `n` (1-based) of `text`, expecting failure; returns the message. */
function failure(text: string, n = 1): string {
  const c = parseGoldenFile(text, 'test/passes/x.kir')[n - 1];
  try {
    runGoldenCase(c);
  } catch (e) {
    return (e as Error).message;
  }
  assert.unreachable(`${c.name} passed`);
  return '';
}

test('cases, names, line numbers and directives', () => {
  const cs = parseGoldenFile(FILE, 'test/passes/x.kir');
  assert.equal(cs.map((c) => [c.name, c.line, c.pipeline, c.target, c.unchanged, c.numeric]), [
    ['x.kir#1', 1, 'test-noop,test-count', 'cpu', false, undefined],
    ['x.kir#2', 18, 'test-relu-to-sigmoid', 'cpu', false, false],
    ['x.kir#3', 30, 'test-noop,test-count', 'cpu', true, undefined],
  ]);
  assert.is(cs[1].text.split('\n')[18], '// NUMERIC: off', 'case text keeps file line numbers');
  for (const c of cs) runGoldenCase(c);
  assert.throws(() => parseGoldenFile(GRAPH, 'y.kir'), /y\.kir:1: a golden file starts with '\/\/ RUN: <pipeline>'/);
  assert.throws(() => parseGoldenFile('// RUN: dce\n// NUMERIC: maybe\n' + GRAPH, 'y.kir'), /write 'off' or 'rtol=R atol=A'/);
});

test('a wrong CHECK fails with the file line and the output', () => {
  const m = failure(FILE.replace('// CHECK-NEXT: Mul([[R]], %c)', '// CHECK-NEXT: Add([[R]], %c)'));
  assert.match(m, 'test/passes/x.kir:12: error: CHECK-NEXT: expected string not found in input');
  assert.match(m, 'full output of x.kir#1');
  assert.match(m, '%1 = Mul(%0, %c)');
  assert.match(failure(FILE.replace('relus = 1', 'relus = 2')), 'x.kir:14: error: STATS-NEXT: expected string not found');
  assert.match(failure(FILE.replace('// CHECK-NOT: Relu', '// CHECK-NOT: Mul'), 2), 'x.kir:27: error: CHECK-NOT: excluded string found');
});

test('the verifier catches a broken pass in a golden case, naming pass, node and rule', () => {
  const m = failure(`// RUN: test-broken-drop-input\n${GRAPH}\n// CHECK: Mul`);
  assert.match(m, "x.kir:1: x.kir#1: pipeline 'test-broken-drop-input' failed: pass 'test-broken-drop-input', node '1', op Mul, rule op.arity: Mul takes 2 inputs, node has 1");
});

test('the numeric check fails a numerically wrong pass when the constants have data', () => {
  const m = failure(`// RUN: test-relu-to-sigmoid\n${GRAPH}\n// CHECK: Sigmoid`);
  assert.match(m, "numeric check failed after 'test-relu-to-sigmoid' (step 1)");
  assert.match(m, "first divergent node '0'");
  // The same with loose tolerances passes.
  runGoldenCase(parseGoldenFile(`// RUN: test-relu-to-sigmoid\n// NUMERIC: rtol=10 atol=10\n${GRAPH}\n// CHECK: Sigmoid`, 'x.kir')[0]);
});

test('UNCHANGED, EXPECT-ERROR, and cases that check nothing', () => {
  assert.match(failure(`// RUN: test-relu-to-sigmoid\n// NUMERIC: off\n// UNCHANGED\n${GRAPH}`),
    "marked UNCHANGED but 'test-relu-to-sigmoid' (step 1) changed the graph");
  runGoldenCase(parseGoldenFile(`// RUN: test-throws\n// EXPECT-ERROR: index out of range\n${GRAPH}`, 'x.kir')[0]);
  assert.match(failure(`// RUN: test-noop\n// EXPECT-ERROR: boom\n${GRAPH}`), "expected an error containing 'boom'");
  assert.match(failure(`// RUN: test-noop\n${GRAPH}`), 'the case checks nothing');
  assert.match(failure(`// RUN: test-nop\n${GRAPH}\n// CHECK: Relu`), "unknown pass 'test-nop' (did you mean 'test-noop'?)");
});

test.run();
