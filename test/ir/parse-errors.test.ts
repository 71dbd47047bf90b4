/** Parser errors: KilnErrors with file:line:column and what was expected; a mutation fuzzer. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { printGraph } from '../../compiler/ir/print.ts';
import { graphDiff } from '../../compiler/ir/equal.ts';
import { KilnError } from '../../compiler/errors.ts';

/** The KilnError message parseGraph gives for `text` (as file model.kir). */
function errorOf(text: string): string {
  try {
    parseGraph(text, { file: 'model.kir' });
  } catch (e) {
    assert.instance(e, KilnError);
    return (e as KilnError).message;
  }
  return assert.unreachable('parsed without error') as never;
}

const GOOD = [
  'kiln.graph @g(%x: f32[2], %n: i64[N]) -> (%y: f32[2]) {',
  '  %c = const f32[2] dense<[1.0, 2.0]>',
  '  %y = Add(%x, %c) {axis=-1} : f32[2] loc("/add")',
  '  return %y',
  '}',
  '',
].join('\n');

test('the reference text parses', () => {
  assert.is(printGraph(parseGraph(GOOD)), GOOD);
});

test('errors say line:column, what was expected and what was found', () => {
  assert.is(errorOf('kiln.graph @g(%x: f32[2] %y: f32[2]) -> () {\n  return\n}'),
    "model.kir:1:26: expected ',' or ')' in input list, found '%y'");
  assert.is(errorOf(GOOD.replace('Add(%x, %c)', 'Add(%x %c)')),
    "model.kir:3:15: expected ',' or ')' in input list, found '%c'");
  assert.is(errorOf(GOOD.replace('f32[2] loc', 'loc')),
    "model.kir:3:32: expected a type like f32[1,3] in output types, found 'loc'");
  assert.is(errorOf(GOOD.replace('  return %y\n', '')),
    "model.kir:4:1: expected a statement or 'return' in graph body, found '}'");
  assert.is(errorOf(GOOD.replace('}\n', '')), "model.kir:5:1: expected ',' or '}' in return list, found end of input");
  assert.is(errorOf(GOOD + 'x'), "model.kir:6:1: expected end of input in graph, found 'x'");
  assert.is(errorOf('graph @g() -> () {}'), "model.kir:1:1: expected 'kiln.graph' in graph header, found 'graph'");
  assert.is(errorOf(GOOD.replace('i64[N]', 'q32[N]')), "model.kir:1:31: unknown dtype 'q32' in input list");
  assert.is(errorOf(GOOD.replace('i64[N]', 'i64[1.5]')),
    "model.kir:1:35: expected a dim (an integer or a symbol) in shape of input list, found '1.5'");
  assert.is(errorOf(GOOD.replace('{axis=-1}', '{axis=-1, axis=2}')), "model.kir:3:30: duplicate attribute 'axis'");
  assert.is(errorOf(GOOD.replace('{axis=-1}', '{axis=}')), "model.kir:3:26: expected an attribute value in attribute list, found '}'");
  assert.is(errorOf(GOOD.replace('{axis=-1}', '{axis=[]}')),
    'model.kir:3:26: an empty list needs its kind: write ints[], floats[] or strings[]');
  assert.is(errorOf(GOOD.replace('{axis=-1}', '{axis=[1, 2.0]}')), "model.kir:3:30: list mixes ints with floats element '2.0'");
  assert.is(errorOf(GOOD.replace('{axis=-1}', '{axis=0x10}')), "model.kir:3:26: hex literal '0x10' is not an attribute value");
  assert.is(errorOf(GOOD.replace('dense<[1.0, 2.0]>', 'dense<[1.0]>')), 'model.kir:2:14: f32[2] needs 2 elements, found 1');
  assert.is(errorOf(GOOD.replace('dense<[1.0, 2.0]>', 'dense<[1.0, true]>')),
    "model.kir:2:33: expected a number element of f32, found 'true'");
  assert.is(errorOf(GOOD.replace('f32[2] dense<[1.0, 2.0]>', 'i8[2] dense<[1, 300]>')),
    "model.kir:2:30: value out of range for i8, found '300'");
  assert.is(errorOf(GOOD.replace('f32[2] dense<[1.0, 2.0]>', 'i64[N] dense<[1]>')),
    'model.kir:2:14: inline data needs a static shape, got i64[N]');
  assert.is(errorOf(GOOD.replace('dense<[1.0, 2.0]>', 'sparse<[1.0, 2.0]>')),
    "model.kir:2:21: expected '#hash' or 'dense<...>' in constant, found 'sparse'");
  assert.is(errorOf(GOOD.replace('loc("/add")', 'loc(/add)')), "model.kir:3:43: unexpected character '/'");
  assert.is(errorOf(GOOD.replace('loc("/add")', 'loc("/add)')), 'model.kir:3:43: unterminated string');
  assert.is(errorOf(GOOD.replace('loc("/add")', 'loc("\\q")')), 'model.kir:3:43: invalid string literal "\\q"');
  assert.is(errorOf(GOOD.replace('%c = const', '% = const')), "model.kir:2:3: expected a name after '%'");
  assert.is(errorOf(GOOD.replace('(%y: f32[2])', '(%y: f32[3])')),
    "model.kir:1:43: signature declares output 'y' as f32[3] but it is defined as f32[2]");
  assert.is(errorOf(GOOD.replace('return %y', 'return %x')),
    "model.kir:4:3: return list ['x'] does not match the signature's outputs ['y']");
  assert.is(errorOf(GOOD.replace('{axis=-1}', '{axis=12abc}')), "model.kir:3:26: malformed number '12a'");
  assert.is(errorOf(GOOD.replace('{axis=-1}', '{axis=1}\u00a0')), 'model.kir:3:28: unexpected character U+00a0');
});

test('errors without a file name say line and column', () => {
  assert.throws(() => parseGraph('kiln.graph @g(%x: f32[1]'), (e: Error) => e instanceof KilnError &&
    e.message === "line 1:25: expected ',' or ')' in input list, found end of input" || (console.log(e.message), false));
});

/** A rich valid text for the fuzzer to mutate. */
const RICH = [
  'kiln.graph @"fuzz me"(%x: f32[N,4], %m: bool[4]) -> (%y: f32[N,4], %s: i64[]) {',
  '  %w = const f32[4,4] #0123456789abcdef',
  '  %b = const f16[4] dense<[0.1, -0.0, inf, 0x7e01]>',
  '  %s = const i64[] dense<-9223372036854775808>',
  '  %t = const str[2] dense<["a", "b\\n"]>',
  '  %0 = MatMul(%x, %w) : f32[N,4] loc("/mm")',
  '  %1, _ = Split(%0, _) {axis=1, eps=1e-5, f=[1.0, nan], k="v", l=ints[], s=["p", "q"], ' +
    't=dense<u8[2] [1, 2]>} : f32[N,2], f32[N,2] loc(fused["/a", "/b"])',
  '  %y = "odd op"(%1, %b, %m) {"a b"=-inf} : f32[N,4]',
  '  return %y, %s',
  '}',
  '',
].join('\n');

test('fuzz: every mutation of a valid text parses or throws a KilnError', () => {
  assert.is(printGraph(parseGraph(RICH)), RICH);
  let seed = 2024;
  const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
  const alphabet = ['%', '@', '#', '"', '\\', '(', ')', '[', ']', '{', '}', '<', '>', ',', ':', '=', '?', '-', '_', '.',
    '0', '7', 'e', 'x', ' ', '\n', '//', 'f32', 'i64', 'dense', 'const', 'loc', 'fused', 'inf', 'nan', 'return', '->',
    'ints[]', '0x7f', '1.5', '"s"', '%z', '\u00e9', '\t', 'kiln.graph', '__proto__', '9999999999999999999999'];
  let parsed = 0, rejected = 0;
  for (let i = 0; i < 4000; i++) {
    let t = RICH;
    const edits = 1 + rnd(3);
    for (let k = 0; k < edits; k++) {
      const a = rnd(t.length + 1), b = Math.min(t.length, a + rnd(12));
      switch (rnd(5)) {
        case 0: t = t.slice(0, a) + t.slice(b); break; // delete
        case 1: t = t.slice(0, a) + alphabet[rnd(alphabet.length)] + t.slice(a); break; // insert
        case 2: t = t.slice(0, a) + alphabet[rnd(alphabet.length)] + t.slice(b); break; // replace
        case 3: t = t.slice(0, a) + t.slice(a, b) + t.slice(a); break; // duplicate
        default: { const c = rnd(t.length + 1); t = t.slice(0, a) + t.slice(c, c + (b - a)) + t.slice(b); } // copy over
      }
    }
    let g;
    try {
      g = parseGraph(t);
    } catch (e) {
      if (!(e instanceof KilnError)) assert.unreachable(`non-KilnError ${String(e)} for:\n${t}`);
      rejected++;
      continue;
    }
    parsed++;
    const printed = printGraph(g);
    const back = parseGraph(printed);
    assert.is(printGraph(back), printed, t);
    assert.is(graphDiff(g, back), undefined, t);
  }
  assert.ok(parsed > 100 && rejected > 1000, `parsed ${parsed}, rejected ${rejected}`);
});

test.run();
