/**
 * Terminal rendering: every kiln object fits the width it is given (visible columns, ANSI codes not
 * counted), colour adds escapes without changing the text, tables cut text but never numbers and
 * drop columns with a note when they cannot fit, long blocks stop at maxLines, strings wrap instead of
 * being cut, and the IR tokenizer classifies each piece of a line.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../../compiler/commands/all.ts';
import { runLine } from '../../compiler/commands/line.ts';
import { toTerminal, stripAnsi, tokenizeIR, textBars, IRView, DiffView, HelpView } from '../../compiler/display/index.ts';
import { buildTable } from '../../compiler/results/table.ts';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { Session } from '../../compiler/session.ts';
import { fakeContext } from '../commands/fake-context.ts';

const ctx = fakeContext();
const results = new Map<string, unknown>();

test('setup: results of every command on zoo:mlp', async () => {
  for (const line of ['load zoo:mlp', 'pipeline', 'step 7', 'ir', 'diff 0', 'history', 'runall', 'run', 'timings', 'check', 'passes',
    'passes fuse-elementwise', 'nodes', 'decisions', 'fusions', 'help', 'help load', 'back 3', 'tables']) {
    results.set(line, await runLine(line, ctx));
  }
  try { results.set('mem', await runLine('mem', ctx)); } catch { /* memory planning not in this tree */ }
  results.set('tensor', Tensor.fromNumbers('f32', [3], [1, -2, 0.5]));
  results.set('string', 'x'.repeat(250));
  results.set('object', { a: 1, list: [1, 2, 3] });
});

for (const width of [40, 80, 132]) {
  test(`every result fits ${width} columns, with or without colour`, () => {
    for (const [line, r] of results) {
      const plain = toTerminal(r, { color: false, width });
      const colored = toTerminal(r, { color: true, width });
      assert.ok(plain.endsWith('\n'), `${line} ends with a newline`);
      assert.not.match(plain, /\x1b\[/, `${line}: no escapes without colour`);
      for (const l of stripAnsi(colored).split('\n')) assert.ok(l.length <= width, `${line} @${width}: '${l}' is ${l.length} wide`);
      if (line !== 'object') assert.is(stripAnsi(colored), plain, `${line}: colour changes nothing but escapes`);
    }
  });
}

test('colour: diff lines red and green, IR tokens coloured, table header bold', () => {
  const diff = toTerminal(results.get('diff 0'), { color: true, width: 200 });
  assert.match(diff, /\x1b\[31m-  %0 = Gemm\(/);
  assert.match(diff, /\x1b\[32m\+  %1 = kiln\.gemm\(/);
  assert.match(diff, /\x1b\[36m@@ -5,10 \+5,8 @@\x1b\[0m/);
  const ir = toTerminal(results.get('ir'), { color: true, width: 200 });
  assert.match(ir, /\x1b\[34mkiln\.gemm\x1b\[0m\(\x1b\[36m%input\x1b\[0m/);
  const table = toTerminal(results.get('nodes'), { color: true, width: 200 });
  assert.match(table.split('\n')[1], /^\x1b\[1mstep  node/);
});

test('tables: text cut with …, numbers intact, columns dropped with a note', () => {
  const t = buildTable('t', [
    { name: 'name', type: 'utf8', values: ['a-rather-long-name-that-will-not-fit', 'short'] },
    { name: 'count', type: 'i32', values: [123456789, 7] },
    { name: 'note', type: 'utf8', values: ['x'.repeat(40), 'y'] },
  ]);
  const at40 = toTerminal(t, { color: false, width: 40 }).split('\n');
  assert.equal(at40.slice(1, 6), [
    'name                  count',
    '----------------  ---------',
    'a-rather-long-n…  123456789',
    'short                     7',
    '1 column not shown: note',
  ], 'note would need 16 columns more: dropped rather than cut to nothing');
  const at60 = toTerminal(t, { color: false, width: 60 }).split('\n');
  assert.equal(at60.slice(3, 5), ['a-rather-long-name-tha…  123456789  xxxxxxxxxxxxxxxxxxxxxxx…', 'short                            7  y'],
    'both text columns shrink, the widest first');
  const at20 = toTerminal(t, { color: false, width: 20 }).split('\n');
  assert.is(at20[3], 'a-rather-long-n…');
  assert.is(at20.at(-2), '2 columns not shown…', 'the note itself is cut to the width');
  const many = buildTable('rows', [{ name: 'i', type: 'i32', values: Array.from({ length: 100 }, (_, i) => i) }]);
  const lines = toTerminal(many, { color: false, width: 40, maxLines: 5 }).trimEnd().split('\n');
  assert.is(lines.length, 1 + 2 + 5 + 1);
  assert.is(lines.at(-1), '… 95 more rows (100 in all)');
});

test('long blocks stop at maxLines with a note; strings wrap', () => {
  const s = Session.load('zoo:resnet50', { numericCheck: false });
  const ir = toTerminal(new IRView(s.ir()), { color: false, width: 80, maxLines: 10 }).trimEnd().split('\n');
  assert.is(ir.length, 10);
  assert.match(ir[9], /^… \d+ more lines/);
  s.stepTo('fold-conv-bn');
  const d = toTerminal(new DiffView(s.diff(0)), { color: false, width: 80, maxLines: 12 }).trimEnd().split('\n');
  assert.is(d.length, 1 + 12);
  assert.match(d[0], /^0 added, 53 removed, 53 changed, 69 unchanged nodes/);
  assert.equal(toTerminal('abcdefghij', { color: false, width: 4 }), 'abcdefghij\n', 'width is at least 10');
  assert.equal(toTerminal('abcdefghijklmno', { color: false, width: 10 }), 'abcdefghij\nklmno\n');
});

test('help fits narrow terminals by wrapping summaries, not cutting them', () => {
  const h = new HelpView([{ name: 'run', usage: '[--repeat N]', summary: 'run the graph on the reference executor and time it', examples: ['run --repeat 3'] }]);
  assert.is(toTerminal(h, { color: false, width: 40 }).split('\n').slice(1).join('\n'),
    '  run [--repeat N]\n      run the graph on the reference\n      executor and time it\n      e.g. run --repeat 3\n');
});

test('IR tokenizer', () => {
  const toks = tokenizeIR('  %1 = kiln.gemm(%input, %w) {alpha=1.0, epilogue=["relu"]} : f32[1,N] loc(fused["/a", "/b"]) // note');
  const kinds = toks.filter((t) => t.kind !== 'text').map((t) => `${t.kind}:${t.text}`);
  assert.equal(kinds, [
    'value:%1', 'op:kiln.gemm', 'value:%input', 'value:%w', 'number:1.0', 'string:"relu"', 'type:f32[1,N]', 'keyword:loc',
    'keyword:fused', 'string:"/a"', 'string:"/b"', 'comment:// note',
  ]);
  assert.is(toks.map((t) => t.text).join(''), '  %1 = kiln.gemm(%input, %w) {alpha=1.0, epilogue=["relu"]} : f32[1,N] loc(fused["/a", "/b"]) // note');
  assert.equal(tokenizeIR('  %c = const f32[2] #3f2a9c0e12ab45cd').filter((t) => t.kind !== 'text').map((t) => t.kind), ['value', 'keyword', 'type', 'hash']);
});

test('text bars scale to the largest value and fit the width', () => {
  const lines = textBars([{ label: 'Conv', value: 8, note: '80%' }, { label: 'Relu', value: 2, note: '20%' }], 30, { unit: 'ms' });
  // 30 columns: label 4 + space + bar room 16 + space + value 8; Relu is a quarter of Conv
  assert.equal(lines, ['Conv ████████████████ 8 ms 80%', 'Relu ████             2 ms 20%']);
  const half = textBars([{ label: 'a', value: 2 }, { label: 'b', value: 1.0625 }], 15);
  assert.equal(half, ['a ████████ 2', 'b ████▎    1.06'], 'eighths of a cell');
});

test.run();
