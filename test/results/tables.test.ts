/**
 * Result table tests: the nodes, passes, diff, decisions and fusions tables (schema names and Arrow
 * types, values against hand-computed numbers), the text rendering (alignment, truncation, cut cells),
 * HTML (escaping, classes), and Arrow IPC files read back with apache-arrow's `tableFromIPC`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromIPC, type Table } from 'apache-arrow';
import { zooModel } from '../../compiler/zoo/index.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { diffGraphs } from '../../compiler/ir/diff.ts';
import { KilnError } from '../../compiler/errors.ts';
import { Session } from '../../compiler/session.ts';
import {
  ResultTable, buildTable, decisionsTable, diffTable, formatCell, fusionsTable, nodesTable, passesTable,
} from '../../compiler/results/index.ts';
import { registerTestPasses } from '../session/test-passes.ts';

registerTestPasses();

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-results-'));
const schemaOf = (t: Table) => t.schema.fields.map((f) => `${f.name}:${f.type}`);
/** Writes the table as an IPC file and reads it back with apache-arrow's reader. */
function roundTrip(t: ResultTable, name: string): Table {
  const file = path.join(tmp, name);
  t.writeIPC(file);
  return tableFromIPC(fs.readFileSync(file));
}
const cell = (t: Table, col: string, row: number): unknown => {
  const v = t.getChild(col)!.get(row);
  return v && typeof v === 'object' && 'toArray' in v ? [...(v as { toArray(): string[] }).toArray()] : v;
};

test('nodes table of zoo:mlp: schema and values (FLOPs and bytes by hand)', () => {
  const back = roundTrip(nodesTable(zooModel('mlp')), 'nodes.arrow');
  assert.equal(schemaOf(back), [
    'step:Int32', 'node:Utf8', 'op:Utf8', 'inputs:List<Utf8>', 'outputs:List<Utf8>', 'dtype:Utf8', 'shape:Utf8',
    'flops:Float64', 'bytes:Float64', 'provenance:List<Utf8>',
  ]);
  assert.is(back.schema.metadata.get('kiln.title'), 'nodes of mlp at step 0');
  assert.is(back.numRows, 5);
  assert.equal([0, 1, 2, 3, 4].map((r) => cell(back, 'node', r)), ['0', '1', '2', '3', 'logits']);
  assert.equal(cell(back, 'op', 0), 'Gemm');
  assert.equal(cell(back, 'inputs', 0), ['input', 'fc1.weight', 'fc1.bias']);
  assert.equal(cell(back, 'outputs', 4), ['logits']);
  assert.equal(cell(back, 'dtype', 0), 'f32');
  assert.equal(cell(back, 'shape', 0), '[1,512]');
  assert.is(cell(back, 'flops', 0), 2 * 512 * 784 + 512); // Gemm 2·M·N·K + M·N bias
  assert.is(cell(back, 'flops', 1), 512); // Relu: one per element
  assert.is(cell(back, 'bytes', 0), 512 * 4);
  assert.is(cell(back, 'bytes', 4), 10 * 4);
  assert.equal(cell(back, 'provenance', 3), ['/Relu_1']);
  assert.is(cell(back, 'step', 2), 0);
});

test('nodes table: symbolic shapes, multiple outputs, and a session step', () => {
  const g = parseGraph(`kiln.graph @s(%x: f32[N,6]) -> (%a: f32[N,2], %b: f32[N,4]) {
  %sp = const i64[2] dense<[2, 4]>
  %a, %b = Split(%x, %sp) {axis=1} : f32[N,2], f32[N,4] loc("/split")
  return %a, %b
}
`);
  const t = nodesTable(g);
  assert.equal(t.rows(), [{
    step: 0, node: 'a', op: 'Split', inputs: ['x', 'sp'], outputs: ['a', 'b'], dtype: 'f32, f32',
    shape: '[N,2], [N,4]', flops: 0, bytes: null, provenance: ['/split'],
  }]);
  const s = Session.load('zoo:mlp', { pipeline: 'e-test.fuse-relu', numericCheck: false });
  s.step();
  const n1 = nodesTable(s, 1);
  assert.equal(n1.column('step'), [1, 1, 1]);
  assert.equal(n1.column('provenance')[0], ['/fc1/Gemm', '/Relu']);
  assert.equal(nodesTable(s, 0).column('step'), [0, 0, 0, 0, 0]);
  assert.equal(nodesTable(s).column('op'), ['e_test.WithRelu', 'e_test.WithRelu', 'Gemm'], 'default: the current step');
});

test('passes table: schema, values, nulls where the numeric check was off', () => {
  const s = Session.load('zoo:mlp', { pipeline: 'e-test.noop,e-test.fuse-relu,e-test.scale-first{factor=3}' });
  s.run();
  const back = roundTrip(passesTable(s.history), 'passes.arrow');
  assert.equal(schemaOf(back), [
    'step:Int32', 'pass:Utf8', 'options:Utf8', 'ms:Float64', 'nodes_before:Int32', 'nodes_after:Int32', 'changed:Bool',
    'max_abs_error:Float64', 'max_rel_error:Float64', 'first_divergent:Utf8',
  ]);
  const col = (c: string) => [0, 1, 2, 3].map((r) => cell(back, c, r));
  assert.equal(col('step'), [0, 1, 2, 3]);
  assert.equal(col('pass'), ['load', 'e-test.noop', 'e-test.fuse-relu', 'e-test.scale-first']);
  assert.equal(col('options'), ['', '', '', 'factor=3']);
  assert.equal(col('nodes_before'), [5, 5, 5, 3]);
  assert.equal(col('nodes_after'), [5, 5, 3, 3]);
  assert.equal(col('changed'), [false, false, true, true]);
  assert.equal(col('max_abs_error').slice(0, 3), [0, 0, 0]);
  assert.ok((cell(back, 'max_rel_error', 3) as number) > 0.1);
  assert.equal(col('first_divergent'), [null, null, null, '1']);
  assert.ok(col('ms').every((v) => typeof v === 'number' && v >= 0));
  const hand = passesTable([{ step: 1, pass: 'not-registered', options: { b: true, a: ['x', 'y z'], n: 8 }, ms: 1.5,
    nodesBefore: 4, nodesAfter: 2, changed: true }]);
  assert.equal(hand.column('options'), ['a=[x,"y z"],b=true,n=8'], 'canonical pipeline spelling, sorted');
  const off = Session.load('zoo:mlp', { pipeline: 'e-test.noop', numericCheck: false });
  off.run();
  assert.equal(off.passesTable().column('max_abs_error'), [null, null]);
});

test('diff table of a fusion', () => {
  const s = Session.load('zoo:mlp', { pipeline: 'e-test.fuse-relu,e-test.scale-first', numericCheck: false });
  s.run();
  const back = roundTrip(diffTable(diffGraphs(s.graph(0), s.graph(2))), 'diff.arrow');
  assert.equal(schemaOf(back), ['node:Utf8', 'what:Utf8', 'kind:Utf8', 'before:Utf8', 'after:Utf8', 'fields:List<Utf8>', 'replaced_by:Utf8', 'region_diff:Utf8']);
  const rows = ResultTable.fromArrow(back).rows();
  assert.equal(rows.map((r) => [r.node, r.what, r.kind, r.replaced_by]), [
    ['0', 'node', 'removed', '1'], ['1', 'node', 'changed', null], ['2', 'node', 'removed', '3'], ['3', 'node', 'changed', null],
    ['logits', 'node', 'unchanged', null], ['fc1.weight', 'constant', 'changed', null],
  ]);
  assert.is(rows[0].after, null);
  assert.is(rows[1].before, '%1 = Relu(%0) : f32[1,512] loc("/Relu")');
  assert.equal(rows[1].fields, ['op', 'inputs', 'attrs', 'loc']);
  assert.equal(diffTable(s.diff(0, 2), { changesOnly: true }).column('node'), ['0', '1', '2', '3', 'fc1.weight']);
});

test('decisions and fusions tables, including a rejected fusion', () => {
  const g = parseGraph(`kiln.graph @r(%x: f32[4]) -> (%y: f32[4], %z: f32[4]) {
  %a = Add(%x, %x) : f32[4] loc("/add")
  %y = Relu(%a) : f32[4] loc("/relu")
  %b = Add(%y, %x) : f32[4] loc("/add2")
  %z = Relu(%b) : f32[4] loc("/relu2")
  return %a, %z
}
`.replace('-> (%y: f32[4], %z: f32[4])', '-> (%a: f32[4], %z: f32[4])'));
  const s = Session.load(g, { pipeline: 'e-test.fuse-relu', numericCheck: false });
  s.step();
  const back = roundTrip(s.decisionsTable(), 'decisions.arrow');
  assert.equal(schemaOf(back), ['step:Int32', 'pass:Utf8', 'kind:Utf8', 'nodes:List<Utf8>', 'loc:List<Utf8>', 'reason:Utf8', 'result:Utf8']);
  assert.equal(ResultTable.fromArrow(back).rows(), [
    { step: 1, pass: 'e-test.fuse-relu', kind: 'rejected', nodes: ['a', 'y'], loc: ['/add', '/relu'], reason: 'producer has other readers', result: null },
    { step: 1, pass: 'e-test.fuse-relu', kind: 'fused', nodes: ['b', 'z'], loc: ['/add2', '/relu2'], reason: 'Add+Relu', result: 'z' },
  ]);
  assert.equal(decisionsTable(s.history).rows(), ResultTable.fromArrow(back).rows(), 'from steps: the same rows');
  const f = roundTrip(fusionsTable(s.graph()), 'fusions.arrow');
  assert.equal(schemaOf(f), ['node:Utf8', 'op:Utf8', 'sources:List<Utf8>', 'count:Int32']);
  assert.equal(ResultTable.fromArrow(f).rows(), [{ node: 'z', op: 'e_test.WithRelu', sources: ['/add2', '/relu2'], count: 2 }]);
});

const demo = () => buildTable('demo', [
  { name: 'name', type: 'utf8', values: ['a', 'bbbbbb', 'c'] },
  { name: 'n', type: 'i32', values: [1, 100, null] },
  { name: 'x', type: 'f64', values: [0.5, 1234.5678, 2e-7] },
  { name: 'ok', type: 'bool', values: [true, false, null] },
  { name: 'tags', type: 'list<utf8>', values: [['p', 'q'], [], null] },
]);

test('text rendering: aligned columns, numbers right-aligned, truncation note, cut cells', () => {
  assert.is(demo().toText(), [
    'demo',
    'name      n     x  ok     tags',
    '------  ---  ----  -----  ----',
    'a         1   0.5  true   p, q',
    'bbbbbb  100  1235  false',
    'c            2e-7',
    '',
  ].join('\n'));
  assert.is(demo().toText({ maxRows: 1, maxWidth: 4 }), [
    'demo',
    'name  n    x  ok    tags',
    '----  -  ---  ----  ----',
    'a     1  0.5  true  p, q',
    '… 2 more rows (3 in all)',
    '',
  ].join('\n'));
  assert.match(demo().toText({ maxWidth: 4 }), /^bbb… /m);
  assert.equal([formatCell(3), formatCell(-0.000123456), formatCell(1 / 3), formatCell(Infinity), formatCell(null), formatCell(['a'])],
    ['3', '-1.235e-4', '0.3333', 'Infinity', '', 'a']);
});

test('HTML rendering escapes everything and classes cells', () => {
  const t = buildTable('<T & "q">', [
    { name: 'a<b', type: 'utf8', values: [`<script>alert('x')</script>`, null] },
    { name: 'n', type: 'f64', values: [1.5, 2] },
  ]);
  const html = t.toHTML();
  assert.is(html, [
    '<table class="kiln-table">',
    '<caption>&lt;T &amp; &quot;q&quot;&gt;</caption>',
    '<thead><tr><th>a&lt;b</th><th>n</th></tr></thead>',
    '<tbody>',
    '<tr><td>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</td><td class="num">1.5</td></tr>',
    '<tr><td class="null"></td><td class="num">2</td></tr>',
    '</tbody>',
    '</table>',
  ].join('\n'));
  assert.match(t.toHTML({ maxRows: 1 }), '<tfoot><tr><td colspan="2">… 1 more rows (2 in all)</td></tr></tfoot>');
});

test('IPC: bytes and file agree, atomic write leaves no temporary files, overwrite, errors', () => {
  const t = demo();
  const bytes = t.toIPC();
  assert.equal([...bytes.slice(0, 6)], [...Buffer.from('ARROW1')], 'the IPC file format magic');
  const dir = path.join(tmp, 'nested', 'deeper');
  const file = path.join(dir, 'demo.arrow');
  t.writeIPC(file);
  assert.equal(fs.readdirSync(dir), ['demo.arrow']);
  assert.equal([...fs.readFileSync(file)], [...bytes]);
  buildTable('other', [{ name: 'v', type: 'i32', values: [7] }]).writeIPC(file);
  const back = tableFromIPC(fs.readFileSync(file));
  assert.equal(schemaOf(back), ['v:Int32']);
  assert.is(back.getChild('v')!.get(0), 7);
  assert.equal(fs.readdirSync(dir), ['demo.arrow']);
  const full = ResultTable.fromArrow(tableFromIPC(bytes));
  assert.is(full.title, 'demo');
  assert.equal(full.rows()[0], { name: 'a', n: 1, x: 0.5, ok: true, tags: ['p', 'q'] });
  assert.equal(full.rows()[2], { name: 'c', n: null, x: 2e-7, ok: null, tags: null });
  const blocked = path.join(file, 'under-a-file.arrow');
  try {
    t.writeIPC(blocked);
    assert.unreachable('writing under a file must fail');
  } catch (e) {
    assert.instance(e, KilnError);
    assert.match((e as Error).message, `${blocked}: cannot write Arrow file`);
  }
  assert.throws(() => t.column('nope'), /table 'demo' has no column 'nope'; columns: name, n, x, ok, tags/);
});

test('empty tables keep their schema', () => {
  const g = parseGraph('kiln.graph @e(%x: f32[2]) -> (%x: f32[2]) {\n  return %x\n}\n');
  const back = roundTrip(nodesTable(g), 'empty.arrow');
  assert.is(back.numRows, 0);
  assert.is(back.schema.fields.length, 10);
  assert.is(String(back.schema.fields[3].type), 'List<Utf8>');
  assert.is(nodesTable(g).toText(), 'nodes of e at step 0\nstep  node  op  inputs  outputs  dtype  shape  flops  bytes  provenance\n----  ----  --  ------  -------  -----  -----  -----  -----  ----------\n');
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
