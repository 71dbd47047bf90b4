/**
 * MIME bundles of every kiln object: the types each carries, that every HTML and SVG is well-formed
 * XML with its text escaped (hostile names with <, &, quotes), no <style> or <script>, inline styles
 * only, and that the Arrow stream decodes with apache-arrow's `tableFromIPC` to the same columns,
 * values and title.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { tableFromIPC } from 'apache-arrow';
import { toMimeBundle, IRView, SourceView, TextView, DiffView, HelpView, MemoryView, isGraph } from '../../compiler/display/index.ts';
import { Session } from '../../compiler/session.ts';
import { buildTable } from '../../compiler/results/table.ts';
import { diffGraphs } from '../../compiler/ir/diff.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { nodeTimings, timeProgram } from '../../compiler/runtime/timings.ts';
import { refBackend } from '../../compiler/runtime/ref-backend.ts';
import { randomInputs } from '../../compiler/runtime/inputs.ts';
import type { MemoryPlan } from '../../compiler/schedule/plan.ts';
import { checkXml } from '../results/xml-check.ts';

const s = Session.load('zoo:mlp');
s.run();

/** Checks the bundle's basics and returns it. */
function bundle(x: unknown, extra: string[] = []): Record<string, string> {
  const b = toMimeBundle(x);
  assert.type(b['text/plain'], 'string');
  assert.type(b['text/html'], 'string');
  for (const t of extra) assert.type(b[t], 'string', t);
  const html = b['text/html'];
  assert.not.match(html, /<style|<script|class="kiln-diff-|<link/i);
  checkXml(`<root>${html}</root>`);
  if (b['image/svg+xml']) checkXml(b['image/svg+xml']);
  return b;
}

const decode = (b64: string) => tableFromIPC(Buffer.from(b64, 'base64'));

test('ResultTable: text, styled HTML, Arrow stream that decodes to the same table', () => {
  const t = buildTable('hostile <title> & "quotes"', [
    { name: 'name', type: 'utf8', values: ['<b>bold</b>', "a&b'c", null] },
    { name: 'n', type: 'i32', values: [1, 2, 3] },
    { name: 'x', type: 'f64', values: [0.5, null, -2] },
    { name: 'tags', type: 'list<utf8>', values: [['a', 'b'], [], ['<']] },
  ]);
  const b = bundle(t, ['application/vnd.apache.arrow.stream']);
  assert.match(b['text/html'], /&lt;b&gt;bold&lt;\/b&gt;/);
  assert.match(b['text/html'], /a&amp;b&#39;c/);
  assert.match(b['text/html'], /hostile &lt;title&gt; &amp; &quot;quotes&quot;/);
  assert.match(b['text/html'], /<td style="[^"]*text-align:right[^"]*">0\.5<\/td>/);
  assert.is(b['text/plain'], t.toText());
  const back = decode(b['application/vnd.apache.arrow.stream']);
  assert.equal(back.schema.fields.map((f) => f.name), ['name', 'n', 'x', 'tags']);
  assert.equal(back.getChild('name')!.toArray(), ['<b>bold</b>', "a&b'c", null]);
  assert.equal(Array.from(back.getChild('n')!.toArray() as Int32Array), [1, 2, 3]);
  assert.equal([back.getChild('x')!.get(0), back.getChild('x')!.get(1), back.getChild('x')!.get(2)], [0.5, null, -2]);
  assert.equal(Array.from(back.getChild('tags')!.get(2)!.toArray() as string[]), ['<']);
  assert.is(back.schema.metadata.get('kiln.title'), 'hostile <title> & "quotes"');
});

test('Session: summary text, passes table in HTML and Arrow', () => {
  const b = bundle(s, ['application/vnd.apache.arrow.stream']);
  assert.is(b['text/plain'], s.summary());
  assert.match(b['text/html'], /session zoo:mlp \(graph mlp\), target cpu, at step 10 of 10/);
  const back = decode(b['application/vnd.apache.arrow.stream']);
  assert.is(back.numRows, 11);
  assert.equal(back.getChild('pass')!.get(7), 'fuse-conv-act');
});

test('a raw Step, a StepView-less step record', () => {
  const b = bundle(s.at(7));
  assert.match(b['text/plain'], /^step 7 fuse-conv-act: 5 → 3 nodes, [\d.]+ ms; numerics ok \(max abs error 0, max rel error 0\)\n$/);
});

test('IR: highlighted HTML spans; hostile names escaped', () => {
  const b = bundle(new IRView(s.ir(), 'IR <of> mlp'));
  assert.is(b['text/plain'], `IR <of> mlp\n${s.ir()}`);
  assert.match(b['text/html'], /<span style="color:#8250df;font-weight:bold">kiln\.gemm<\/span>/);
  assert.match(b['text/html'], /IR &lt;of&gt; mlp/);
  const g = parseGraph('kiln.graph @g(%"<x>&": f32[2]) -> (%"y\'s": f32[2]) {\n  %"y\'s" = Relu(%"<x>&") : f32[2] loc("/a<b>&c")\n  return %"y\'s"\n}\n');
  const h = bundle(g)['text/html'];
  assert.ok(isGraph(g));
  assert.match(h, /%&quot;&lt;x&gt;&amp;&quot;/);
  assert.match(h, /&quot;\/a&lt;b&gt;&amp;c&quot;/);
});

test('GraphDiff and DiffView: summary, coloured lines, inline styles', () => {
  const d = s.diff(0, 9);
  const raw = bundle(d);
  assert.match(raw['text/plain'], /^0 added, 2 removed, 2 changed, 1 unchanged nodes\n--- a\/mlp\n\+\+\+ b\/mlp\n@@/);
  assert.match(raw['text/html'], /<span style="color:#cf222e;background:#ffebe9">-  %0 = Gemm\(/);
  assert.match(raw['text/html'], /<span style="color:#1a7f37;background:#e6ffec">\+  %1 = kiln\.gemm\(/);
  const v = bundle(new DiffView(d, { labels: ['step <0>', 'step 9'], context: 0, title: 'the diff' }));
  assert.match(v['text/plain'], /^the diff\n0 added.*\n--- step <0>\n\+\+\+ step 9\n/);
  assert.match(v['text/html'], /--- step &lt;0&gt;/);
  const same = bundle(diffGraphs(s.graph(1), s.graph(2)));
  assert.match(same['text/plain'], /\(no changes\)/);
});

test('timings: HTML with the SVG chart and tables, SVG, Arrow of the node table', async () => {
  const g = s.graph();
  const inputs = randomInputs(g, 0);
  const t = nodeTimings(g, inputs, await timeProgram(await refBackend.prepare(g, undefined), inputs, { repeat: 2, perKernel: true }), 'mlp <fused>');
  const b = bundle(t, ['image/svg+xml', 'application/vnd.apache.arrow.stream']);
  assert.match(b['text/html'], /<svg /);
  assert.match(b['image/svg+xml'], /mlp &lt;fused&gt;/);
  const elements = checkXml(b['image/svg+xml']);
  assert.is(elements.filter((e) => e.name === 'rect').length, 1 + 2, 'background and one bar per op');
  const back = decode(b['application/vnd.apache.arrow.stream']);
  assert.equal(back.getChild('node')!.toArray(), ['1', '3', 'logits']);
  assert.match(b['text/plain'], /^mlp <fused>: 3 nodes, median run [\d.]+ ms over 2 runs/);
});

test('memory plan: summary and chart text, HTML with the SVG chart, SVG, Arrow timeline', () => {
  const f32x16 = { dtype: 'f32', shape: [16], elements: 16, alignment: 64, region: 'arena' } as const;
  const plan: MemoryPlan = {
    planner: 'hand', order: ['a', 'b'], ms: 0.5, weightsBytes: 1024, inputBytes: 64, naiveBytes: 192, peakBytes: 128, lowerBoundBytes: 128,
    breadth: [128, 128], highWater: [128, 128],
    tensors: [
      { name: 'a<', bytes: 64, first: 0, last: 1, producer: 'a', consumers: ['b'], offset: 0, ...f32x16 },
      { name: 'b&', bytes: 64, first: 1, last: 1, producer: 'b', consumers: [], offset: 64, ...f32x16 },
    ],
    externals: [], inputRegionBytes: 0, constantRegionBytes: 0, scratch: [],
  };
  const b = bundle(plan, ['image/svg+xml', 'application/vnd.apache.arrow.stream']);
  assert.match(b['text/plain'], /^memory plan \(hand\): 2 steps, 2 tensors/);
  const v = bundle(new MemoryView(plan, undefined, 'plan <title>'), ['image/svg+xml', 'application/vnd.apache.arrow.stream']);
  assert.match(v['text/plain'], /^plan <title>\nmemory plan \(hand\)/);
  assert.match(v['text/html'], /plan &lt;title&gt;/);
  assert.match(v['text/html'], /<svg/);
  assert.match(v['image/svg+xml'], /a&lt;/);
  assert.equal(decode(v['application/vnd.apache.arrow.stream']).getChild('tensor')!.toArray(), ['a<', 'b&']);
});

test('views, source, help, tensors, errors, plain values', () => {
  const src = bundle(new SourceView('int main() { return a < b && c; }\n', 'c'));
  assert.match(src['text/html'].replace(/<[^>]*>/g, ''), /return a &lt; b &amp;&amp; c;/); // escaped, under the highlighting spans
  assert.match(src['text/html'], /<span style="[^"]*">return<\/span>/);
  assert.match(src['text/plain'], /^c source\n/);
  const txt = bundle(new TextView('line <1>\nline 2', 'Title'));
  assert.match(txt['text/html'], /line &lt;1&gt;<br\/>line 2/);
  const help = bundle(new HelpView([{ name: 'step', usage: '[N]', summary: 'run <next>', examples: ['step 3'] }]));
  assert.match(help['text/html'], /<code[^>]*>%step \[N\]<\/code>/);
  assert.match(help['text/html'], /run &lt;next&gt;/);
  const tensor = bundle(Tensor.fromNumbers('f32', [2, 2], [1, 2, 3, 4]));
  assert.is(tensor['text/plain'], 'Tensor f32[2,2] (4 elements)\nmean 2.5000, std 1.1180, min 1.0000, max 4.0000\n[1, 2, 3, 4]\n');
  const err = bundle(new Error('bad <thing>'));
  assert.is(err['text/plain'], 'error: bad <thing>');
  assert.equal(bundle('a <b>'), { 'text/plain': 'a <b>', 'text/html': bundle('a <b>')['text/html'] });
  assert.match(bundle('a <b>')['text/html'], /a &lt;b&gt;/);
  assert.is(bundle(42)['text/plain'], '42');
  assert.is(bundle({ a: [1, 2], b: 'x' })['text/plain'], "{ a: [ 1, 2 ], b: 'x' }");
  assert.is(bundle(undefined)['text/plain'], 'undefined');
});

test('objects that display themselves, and a comparison of two sessions', () => {
  const own = { toMimeBundle: () => ({ 'text/plain': 'mine', 'text/html': '<b>mine</b>' }), toTerminal: () => 'mine\n' };
  assert.equal(toMimeBundle(own), { 'text/plain': 'mine', 'text/html': '<b>mine</b>' });
  const b = s.branch('dce');
  const c = bundle(s.compare(b));
  assert.match(c['text/plain'], /^a: step 10, 3 nodes/);
});

test.run();
