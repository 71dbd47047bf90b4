/**
 * Graph diff tests: node-by-node diff keyed by node id (kinds, changed fields, replacement links),
 * constants and signature, the Myers line diff (minimal, against a brute-force LCS), hunk headers, and
 * the unified, ANSI and HTML renderings of a fusion.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Graph, Node } from '../../compiler/ir/graph.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { zooModel } from '../../compiler/zoo/index.ts';
import { Statistics, findPass, type Decision } from '../../compiler/passes/pass.ts';
import {
  diffGraphs, diffLines, escapeHTML, formatDiff, formatDiffAnsi, formatDiffHTML, formatDiffSummary, hunks, nodeFieldChanges,
} from '../../compiler/ir/diff.ts';
import { registerTestPasses } from './test-passes.ts';

registerTestPasses();

/** Runs a test pass directly (no manager), returning the graph and its decisions. */
function apply(name: string, g: Graph, options: Record<string, number> = {}): { graph: Graph; decisions: Decision[] } {
  const pass = findPass(name)!;
  const decisions: Decision[] = [];
  const graph = pass.run(g, {
    options: { ...Object.fromEntries(pass.options.map((o) => [o.name, o.default])), ...options },
    stats: new Statistics(pass.statistics), target: 'ref',
    decide: (d) => { decisions.push({ ...d, pass: name }); },
  });
  return { graph, decisions };
}

const mlp = zooModel('mlp');

test('identical graphs: every node unchanged, empty text diff', () => {
  const d = diffGraphs(mlp, mlp);
  assert.equal(d.counts, { added: 0, removed: 0, changed: 0, unchanged: 5 });
  assert.equal(d.nodes.map((n) => n.node), ['0', '1', '2', '3', 'logits']);
  assert.equal(d.constants, []);
  assert.is(d.signatureChanged, false);
  assert.is(formatDiff(d), '');
  assert.is(formatDiffAnsi(d), '');
  assert.match(formatDiffHTML(d), 'no changes');
  assert.is(formatDiffSummary(d), '0 added, 0 removed, 0 changed, 5 unchanged nodes');
});

test('a fusion: producers removed into the fused node, which lists their locs', () => {
  const fused = apply('e-test.fuse-relu', mlp).graph;
  const d = diffGraphs(mlp, fused);
  assert.equal(d.nodes.map((n) => [n.node, n.kind]), [
    ['0', 'removed'], ['1', 'changed'], ['2', 'removed'], ['3', 'changed'], ['logits', 'unchanged'],
  ]);
  assert.is(d.nodes[0].replacedBy, '1');
  assert.is(d.nodes[2].replacedBy, '3');
  assert.equal(d.nodes[1].fields, ['op', 'inputs', 'attrs', 'loc']);
  assert.is(d.nodes[0].before, '%0 = Gemm(%input, %fc1.weight, %fc1.bias) {alpha=1.0, beta=1.0, transB=1} : f32[1,512] loc("/fc1/Gemm")');
  assert.is(d.nodes[0].after, undefined);
  assert.is(d.nodes[1].after,
    '%1 = e_test.WithRelu(%input, %fc1.weight, %fc1.bias) {alpha=1.0, beta=1.0, inner="Gemm", transB=1} : f32[1,512] loc(fused["/fc1/Gemm", "/Relu"])');
  assert.equal(d.counts, { added: 0, removed: 2, changed: 2, unchanged: 1 });
  assert.is(formatDiffSummary(d), '0 added, 2 removed, 2 changed, 1 unchanged nodes');

  const text = formatDiff(d, { labels: ['step 0', 'step 1'] });
  const lines = text.trimEnd().split('\n');
  assert.is(lines[0], '--- step 0');
  assert.is(lines[1], '+++ step 1');
  assert.is(lines[2], '@@ -5,10 +5,8 @@'); // 3 context lines (constants 4..6 are lines 5..7), 4 removed, 2 added, 3 after
  assert.equal(lines.filter((l) => l.startsWith('-') && !l.startsWith('---')).map((l) => l.slice(3, 7)), ['%0 =', '%1 =', '%2 =', '%3 =']);
  const added = lines.filter((l) => l.startsWith('+') && !l.startsWith('+++'));
  assert.is(added.length, 2);
  assert.ok(added[0].endsWith('loc(fused["/fc1/Gemm", "/Relu"])'));
  assert.ok(added[1].endsWith('loc(fused["/fc2/Gemm", "/Relu_1"])'));
  assert.is(lines.filter((l) => l.startsWith(' ')).length, 6);
  assert.is(lines.length, 3 + 4 + 2 + 6);
});

test('ANSI and HTML renderings of the same diff', () => {
  const d = diffGraphs(mlp, apply('e-test.fuse-relu', mlp).graph);
  const ansi = formatDiffAnsi(d);
  assert.ok(ansi.includes('\x1b[31m-  %0 = Gemm('));
  assert.ok(ansi.includes('\x1b[32m+  %1 = e_test.WithRelu('));
  assert.ok(ansi.includes('\x1b[36m@@ -5,10 +5,8 @@\x1b[0m'));
  assert.is(ansi.replace(/\x1b\[[0-9;]*m/g, ''), formatDiff(d));
  const html = formatDiffHTML(d);
  assert.ok(html.startsWith('<pre class="kiln-diff"><span class="kiln-diff-file">--- a/mlp</span>'));
  assert.ok(html.includes('<span class="kiln-diff-add">+  %1 = e_test.WithRelu(%input, %fc1.weight, %fc1.bias) {alpha=1.0, beta=1.0, inner=&quot;Gemm&quot;'));
  assert.ok(html.includes('loc(fused[&quot;/fc1/Gemm&quot;, &quot;/Relu&quot;])</span>'));
  assert.is((html.match(/class="kiln-diff-del"/g) ?? []).length, 4);
  assert.ok(!/<(?!\/?(pre|span)\b)/.test(html), 'no tags besides pre and span');
});

const small = (body: string, sig = '(%x: f32[4]) -> (%y: f32[4])') => parseGraph(`kiln.graph @g${sig} {\n${body}\n}\n`);

test('added, changed fields, constants and signature', () => {
  const a = small(`  %c = const f32[4] dense<[1.0, 2.0, 3.0, 4.0]>
  %a = Add(%x, %c) : f32[4] loc("/add")
  %y = Relu(%a) : f32[4] loc("/relu")
  return %y`);
  const b = small(`  %c = const f32[4] dense<[1.0, 2.0, 3.0, 5.0]>
  %k = const f32[] dense<2.0>
  %a = Add(%x, %c) : f32[4] loc("/add", "/x")
  %m = Mul(%a, %k) : f32[4] loc("/mul")
  %y = Relu(%m) : f32[4] loc("/relu")
  return %y`.replace('loc("/add", "/x")', 'loc(fused["/add", "/x"])'));
  const d = diffGraphs(a, b);
  assert.equal(d.nodes.map((n) => [n.node, n.kind, n.fields.join(',')]), [
    ['a', 'changed', 'loc'], ['m', 'added', ''], ['y', 'changed', 'inputs'],
  ]);
  assert.equal(d.constants.map((c) => [c.name, c.kind]), [['c', 'changed'], ['k', 'added']]);
  assert.is(d.constants[0].after, '%c = const f32[4] dense<[1.0, 2.0, 3.0, 5.0]>');
  assert.is(d.signatureChanged, false);
  assert.is(formatDiffSummary(d), '1 added, 0 removed, 2 changed, 0 unchanged nodes; constants 1 added, 1 changed');
  const e = small('  %y = Relu(%x) : f32[4]\n  return %y', '(%x: f32[4]) -> (%y: f32[4])');
  const f = small('  %y = Relu(%x) : f32[4]\n  return %y', '(%x: f32[4], %z: f32[4]) -> (%y: f32[4])');
  assert.is(diffGraphs(e, f).signatureChanged, true);
  assert.equal(diffGraphs(e, f).counts.unchanged, 1);
});

test('a moved node is matched by id; types and attrs are compared by value', () => {
  const a = small(`  %p = Relu(%x) : f32[4]
  %q = Sigmoid(%x) : f32[4]
  %y = Add(%p, %q) : f32[4]
  return %y`);
  const b = small(`  %q = Sigmoid(%x) : f32[4]
  %p = Relu(%x) : f32[4]
  %y = Add(%p, %q) : f32[4]
  return %y`);
  const d = diffGraphs(a, b);
  assert.equal(d.nodes.map((n) => [n.node, n.kind]), [['q', 'unchanged'], ['p', 'unchanged'], ['y', 'unchanged']]);
  const n: Node = a.nodes[0];
  assert.equal(nodeFieldChanges(n, { ...n, types: [{ dtype: 'f32', shape: [4] }] }), []);
  assert.equal(nodeFieldChanges(n, { ...n, types: [{ dtype: 'f16', shape: [4] }] }), ['types']);
  assert.equal(nodeFieldChanges(n, { ...n, attrs: { axis: { kind: 'int', value: 1 } } }), ['attrs']);
  assert.equal(nodeFieldChanges({ ...n, attrs: { axis: { kind: 'int', value: 1 } } }, { ...n, attrs: { axis: { kind: 'int', value: 1 } } }), []);
  assert.equal(nodeFieldChanges(n, { ...n, outputs: ['p', 'extra'], types: [...n.types, n.types[0]] }), ['outputs', 'types']);
});

test('diffLines is a minimal edit script (random cases against an LCS table)', () => {
  let seed = 7;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const lcs = (a: string[], b: string[]) => {
    const t = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
    for (let i = 1; i <= a.length; i++) for (let j = 1; j <= b.length; j++) {
      t[i][j] = a[i - 1] === b[j - 1] ? t[i - 1][j - 1] + 1 : Math.max(t[i - 1][j], t[i][j - 1]);
    }
    return t[a.length][b.length];
  };
  for (let k = 0; k < 500; k++) {
    const a = Array.from({ length: Math.floor(rnd() * 14) }, () => 'abcd'[Math.floor(rnd() * 4)]);
    const b = Array.from({ length: Math.floor(rnd() * 14) }, () => 'abcd'[Math.floor(rnd() * 4)]);
    const d = diffLines(a, b);
    assert.equal(d.filter((l) => l.tag !== '+').map((l) => l.text), a);
    assert.equal(d.filter((l) => l.tag !== '-').map((l) => l.text), b);
    assert.is(d.filter((l) => l.tag === ' ').length, lcs(a, b), `${a.join('')} → ${b.join('')}`);
  }
});

test('hunks: context, merging of nearby changes, 1-based headers', () => {
  const a = 'abcdefghijklmnop'.split('');
  const b = [...a];
  b[4] = 'E'; // line 5
  b[7] = 'H'; // line 8: within 2*context of line 5, so one hunk
  const h1 = hunks(diffLines(a, b), 1);
  assert.is(h1.length, 1);
  assert.equal([h1[0].aStart, h1[0].aLength, h1[0].bStart, h1[0].bLength], [4, 6, 4, 6]);
  assert.equal(h1[0].lines.map((l) => l.tag + l.text), [' d', '-e', '+E', ' f', ' g', '-h', '+H', ' i']);
  b[14] = 'O';
  const h2 = hunks(diffLines(a, b), 1);
  assert.is(h2.length, 2);
  assert.equal([h2[1].aStart, h2[1].aLength], [14, 3]);
  // a pure insertion at the top and a pure deletion
  assert.equal(hunks(diffLines([], ['x']), 3).map((h) => [h.aStart, h.aLength, h.bStart, h.bLength]), [[0, 0, 1, 1]]);
  assert.equal(hunks(diffLines(['x'], []), 3).map((h) => [h.aStart, h.aLength, h.bStart, h.bLength]), [[1, 1, 0, 0]]);
  // whole-file context
  assert.is(hunks(diffLines(a, b), Infinity)[0].lines.length, a.length + 3);
});

test('escapeHTML escapes the five specials', () => {
  assert.is(escapeHTML(`<a href="x">&'</a>`), '&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;');
});

test('resnet50: removing every Relu', () => {
  const g = zooModel('resnet50');
  const dropped = apply('e-test.drop-relu', g).graph;
  const d = diffGraphs(g, dropped);
  const text = formatDiff(d);
  assert.is(d.counts.removed, 49);
  assert.is(d.counts.added, 0);
  assert.is(d.counts.removed + d.counts.changed + d.counts.unchanged, 175);
  assert.is(text.split('\n').filter((l) => /^-  %\S+ = Relu\(/.test(l)).length, 49);
});

test.run();
