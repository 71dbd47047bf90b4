/**
 * Tests of the FileCheck implementation (test/filecheck.ts): every directive both passing and failing,
 * captures and uses, inline regexes, whitespace tolerance, labels, and the failure message (check line
 * and input context). A FileCheck that cannot fail would make every golden test pass, so most cases
 * here assert a failure.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FileCheckError, fileCheck, parseChecks } from './filecheck.ts';

const IR = [
  'kiln.graph @g(%x: f32[4]) -> (%2: f32[4]) {',
  '  %c = const f32[] dense<1.0>',
  '  %0 = Relu(%x) : f32[4] loc("/relu")',
  '  %1 = Add(%0, %c) : f32[4] loc("/add")',
  '  %2 = Mul(%1, %1) : f32[4] loc("/mul")',
  '  return %2',
  '}',
  '',
].join('\n');

/** Asserts that the check fails, and that the message contains each of `parts`. */
function fails(checks: string, input: string, ...parts: (string | RegExp)[]): string {
  try {
    fileCheck(checks, input, { checkFile: 't.kir', inputName: 'out' });
  } catch (e) {
    assert.instance(e, FileCheckError);
    const msg = (e as Error).message;
    for (const p of parts) assert.match(msg, p, `message lacks ${p}:\n${msg}`);
    return msg;
  }
  assert.unreachable(`expected the check to fail:\n${checks}`);
  return '';
}

const passes = (checks: string, input = IR) => fileCheck(checks, input);

test('parseChecks: kinds, line numbers, comment prefix ignored, misspelled directive rejected', () => {
  const ds = parseChecks('// CHECK: a\n\n// CHECK-NEXT: b\n# CHECK-NOT: c\nCHECK-SAME:d\n');
  assert.equal(ds.map((d) => [d.kind, d.pattern, d.line]), [['CHECK', 'a', 1], ['NEXT', 'b', 3], ['NOT', 'c', 4], ['SAME', 'd', 5]]);
  assert.equal(parseChecks('MYCHECK: x\nXCHECK: y', 'CHECK'), [], 'prefix must start a word');
  assert.throws(() => parseChecks('// CHECK-NXT: b'), /unknown directive 'CHECK-NXT:'/);
  assert.throws(() => parseChecks('// CHECK:'), /empty check string/);
  assert.throws(() => parseChecks('// CHECK-NEXT: a'), /cannot be the first check/);
  assert.throws(() => fileCheck('no checks here', 'x'), /no check strings found/);
});

test('CHECK matches in order; out of order fails', () => {
  passes('// CHECK: Relu\n// CHECK: Add\n// CHECK: Mul');
  passes('// CHECK: %0 = Relu\n// CHECK: loc("/relu")'); // two matches on one line
  fails('// CHECK: Mul\n// CHECK: Relu', IR, 't.kir:2: error: CHECK: expected string not found', 'CHECK: Relu', /out:5:\d+: note: scanning from here/);
  fails('// CHECK: Sigmoid', IR, 'expected string not found');
});

test('literal text: regex characters are literal, whitespace runs are tolerant', () => {
  passes('// CHECK: %1 = Add(%0, %c) : f32[4]');
  passes('// CHECK:    %1   =   Add(%0,   %c)   ');
  fails('// CHECK: %1 = Add(%0,%c)', IR, 'expected string not found'); // a blank is required where the pattern has one... 
  fails('// CHECK: f32[.]', IR, 'expected string not found'); // '.' and '[' are literal
  passes('// CHECK: a b', 'a \t  b');
});

test('CHECK-NEXT: must be on the very next line', () => {
  passes('// CHECK: Relu\n// CHECK-NEXT: Add\n// CHECK-NEXT: Mul\n// CHECK-NEXT: return %2');
  const msg = fails('// CHECK: Relu\n// CHECK-NEXT: Mul', IR, 'CHECK-NEXT: is not on the line after the previous match', 'found on line 5, expected line 4');
  assert.match(msg, '!    5:   %2 = Mul');
  fails('// CHECK: return\n// CHECK-NEXT: Relu', IR, 'CHECK-NEXT: expected string not found');
});

test('CHECK-SAME: same line, after the previous match', () => {
  passes('// CHECK: %0 = Relu\n// CHECK-SAME: f32[4]\n// CHECK-SAME: loc("/relu")');
  fails('// CHECK: %0 = Relu\n// CHECK-SAME: Add', IR, 'CHECK-SAME: expected string not found on the line of the previous match');
  fails('// CHECK: loc("/relu")\n// CHECK-SAME: Relu', IR, 'CHECK-SAME'); // before the match does not count
});

test('CHECK-NOT: between matches, and to the end', () => {
  passes('// CHECK: Relu\n// CHECK-NOT: Relu\n// CHECK: return');
  passes('// CHECK-NOT: Sigmoid');
  passes('// CHECK: Add\n// CHECK-NOT: Relu'); // Relu is before the Add
  const msg = fails('// CHECK: Relu\n// CHECK-NOT: Add\n// CHECK: Mul', IR, 't.kir:2: error: CHECK-NOT: excluded string found in input', 'CHECK-NOT: Add');
  assert.match(msg, /out:4:\d+: note: found here/);
  fails('// CHECK: Add\n// CHECK-NOT: Mul', IR, 'excluded string found');
});

test('CHECK-DAG: any order, no overlap', () => {
  passes('// CHECK-DAG: Mul\n// CHECK-DAG: Relu\n// CHECK: return');
  passes('// CHECK-DAG: %1\n// CHECK-DAG: %1', 'x = %1 + %1');
  fails('// CHECK-DAG: %1\n// CHECK-DAG: %1', 'x = %1 + 2', 'CHECK-DAG: expected string not found');
  fails('// CHECK-DAG: Mul\n// CHECK-DAG: Relu\n// CHECK: Add', IR, 'CHECK: expected string not found'); // Add is before Mul
});

test('captures [[NAME:regex]] and uses [[NAME]]', () => {
  const vars = passes('// CHECK: [[R:%[0-9]+]] = Relu\n// CHECK: Add([[R]], %c)');
  assert.is(vars.get('R'), '%0');
  fails('// CHECK: [[R:%[0-9]+]] = Relu\n// CHECK: Mul([[R]], [[R]])', IR, 'expected string not found', 'with "R" equal to "%0"');
  passes('// CHECK: Mul([[A:%[0-9]+]], [[A]])'); // back-reference on the defining line
  fails('// CHECK: Add([[A:%[0-9]+]], [[A]])', IR, 'expected string not found');
  fails('// CHECK: Add([[NOPE]]', IR, "undefined variable 'NOPE'");
  passes('// CHECK: dense<[[V:[0-9.]+]]>\n// CHECK-NOT: [[V]]1'); // brackets inside the capture regex
});

test('inline regex {{...}}', () => {
  passes('// CHECK: %{{[0-9]+}} = Relu(%x) : f32[{{.*}}]');
  fails('// CHECK: %{{[a-z]+}} = Relu', IR, 'expected string not found');
  fails('// CHECK: {{(}}', IR, 'invalid regex');
});

test('CHECK-LABEL: confines checks to blocks', () => {
  const two = 'func @a\n  Relu\nfunc @b\n  Mul\n';
  passes('// CHECK-LABEL: func @a\n// CHECK: Relu\n// CHECK-LABEL: func @b\n// CHECK: Mul', two);
  // Mul exists, but only in @b's block: a check in @a's block must not find it there.
  fails('// CHECK-LABEL: func @a\n// CHECK: Mul\n// CHECK-LABEL: func @b', two, 'CHECK: expected string not found');
  fails('// CHECK-LABEL: func @c', two, 'CHECK-LABEL: expected string not found');
  passes('// CHECK-LABEL: func @a\n// CHECK-NEXT: Relu', two);
});

test('CHECK-EMPTY', () => {
  passes('// CHECK: a\n// CHECK-EMPTY:\n// CHECK-NEXT: b', 'a\n\nb');
  fails('// CHECK: a\n// CHECK-EMPTY:', 'a\nb', 'CHECK-EMPTY: the line after the previous match is not empty');
});

test('custom prefix and the probable intended match note', () => {
  assert.throws(() => passes('// STATS: folded = 3', 'folded = 3'), /no check strings found with prefix 'CHECK:'/);
  fileCheck('// STATS: folded = 3', 'folded = 3', { prefix: 'STATS' });
  const msg = fails('// CHECK: %1 = Add(%0, %d) : f32[4]', IR, 'possible intended match: %1 = Add(%0, %c)');
  assert.match(msg, /\?\s+4:/);
});

test.run();
