/**
 * Memory plan outputs on a hand-made plan (so every figure is known): the timeline and per-step
 * Arrow tables (schemas, values read back from IPC files with apache-arrow's `tableFromIPC`), the
 * summary figures and text, the SVG chart (well-formed XML, one rectangle per buffer at the right
 * place, stable colours per op, escaped names, no external references) and the terminal renderings
 * (line widths, shading, the lower-bound marker, grouping of bars).
 *
 * The plan: five steps; `a` (1024 B at 0) lives 0..4 because the in-place `c` (Add over `a`) and the
 * view `d` (Reshape of `c`) use its buffer; `b` (512 B at 1024) lives 1..2; `e` (256 B) reuses `b`'s
 * bytes at step 4. Breadth 1024, 1536, 1536, 1024, 1280; lower bound = peak = 1536; naive 1792.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromIPC, type Table } from 'apache-arrow';
import type { Graph, Node } from '../../compiler/ir/graph.ts';
import type { MemoryPlan, PlannedTensor } from '../../compiler/schedule/plan.ts';
import {
  formatBytes, formatMemorySummary, memoryStepsTable, memorySummary, memoryTimelineTable,
} from '../../compiler/results/memory.ts';
import { escapeXML, memorySvg, niceTicks, opColor } from '../../compiler/display/memory-svg.ts';
import { memoryBarLines, memoryChartLines, memoryText, visibleLength } from '../../compiler/display/memory-text.ts';
import { checkXml } from './xml-check.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-memory-'));
const schemaOf = (t: Table) => t.schema.fields.map((f) => `${f.name}:${f.type}`);
const cell = (t: Table, col: string, row: number): unknown => {
  const v = t.getChild(col)!.get(row);
  return v && typeof v === 'object' && 'toArray' in v ? [...(v as { toArray(): string[] }).toArray()] : v;
};
const column = (t: Table, col: string) => Array.from({ length: t.numRows }, (_, r) => cell(t, col, r));

const T = (name: string, bytes: number, first: number, last: number, offset: number, producer: string,
  consumers: string[], alias?: { of: string; kind: 'view' | 'inplace' }): PlannedTensor => ({
  name, bytes, first, last, offset, producer, consumers, ...(alias ? { aliasOf: alias.of, aliasKind: alias.kind } : {}),
  dtype: 'u8', shape: [bytes], elements: bytes, alignment: 64, region: 'arena',
});

function handPlan(names: Partial<Record<'a' | 'b', string>> = {}): MemoryPlan {
  const a = names.a ?? 'a', b = names.b ?? 'b';
  return {
    planner: 'greedy-size',
    order: [a, b, 'c', 'd', 'e'],
    tensors: [
      T(a, 1024, 0, 4, 0, a, [b, 'c']),
      T(b, 512, 1, 2, 1024, b, ['c']),
      T('c', 0, 2, 3, 0, 'c', ['d'], { of: a, kind: 'inplace' }),
      T('d', 0, 3, 4, 0, 'd', ['e'], { of: a, kind: 'view' }),
      T('e', 256, 4, 4, 1024, 'e', []),
    ],
    peakBytes: 1536, lowerBoundBytes: 1536, naiveBytes: 1792, weightsBytes: 4096, inputBytes: 300,
    breadth: [1024, 1536, 1536, 1024, 1280], highWater: [1024, 1536, 1536, 1536, 1536], ms: 0.25,
    externals: [], inputRegionBytes: 0, constantRegionBytes: 0, scratch: [],
  };
}

/** The graph the hand plan stands for (only ops and names matter to the renderings). */
function handGraph(names: Partial<Record<'a' | 'b', string>> = {}): Graph {
  const a = names.a ?? 'a', b = names.b ?? 'b';
  const node = (op: string, inputs: string[], out: string): Node => ({ op, inputs, outputs: [out], types: [{ dtype: 'f32', shape: [1] }], attrs: {}, loc: [] });
  return {
    name: 'hand', inputs: [{ name: 'x', type: { dtype: 'f32', shape: [75] } }] as Graph['inputs'], outputs: ['e'], constants: [],
    nodes: [node('Conv', ['x'], a), node('Conv', [a], b), node('Add', [a, b], 'c'), node('Reshape', ['c'], 'd'), node('Relu', ['d'], 'e')],
  };
}

test('timeline table: schema and values read back from the IPC file', () => {
  const file = path.join(tmp, 'timeline.arrow');
  memoryTimelineTable(handPlan()).writeIPC(file);
  const t = tableFromIPC(fs.readFileSync(file));
  assert.equal(schemaOf(t), [
    'tensor:Utf8', 'bytes:Float64', 'first_step:Int32', 'last_step:Int32', 'offset:Float64', 'producer:Utf8',
    'consumers:List<Utf8>', 'alias_of:Utf8', 'alias_kind:Utf8', 'storage:Utf8', 'body:Utf8',
  ]);
  assert.is(t.schema.metadata.get('kiln.title'), 'memory timeline (greedy-size)');
  assert.is(t.numRows, 5);
  assert.equal(column(t, 'tensor'), ['a', 'b', 'c', 'd', 'e']);
  assert.equal(column(t, 'bytes'), [1024, 512, 0, 0, 256]);
  assert.equal(column(t, 'first_step'), [0, 1, 2, 3, 4]);
  assert.equal(column(t, 'last_step'), [4, 2, 3, 4, 4]);
  assert.equal(column(t, 'offset'), [0, 1024, 0, 0, 1024]);
  assert.equal(column(t, 'producer'), ['a', 'b', 'c', 'd', 'e']);
  assert.equal(cell(t, 'consumers', 0), ['b', 'c']);
  assert.equal(cell(t, 'consumers', 4), []);
  assert.equal(column(t, 'alias_of'), [null, null, 'a', 'a', null]);
  assert.equal(column(t, 'alias_kind'), [null, null, 'inplace', 'view', null]);
});

test('timeline table: offsets and bytes past 2 GiB stay exact', () => {
  const big = { ...handPlan(), tensors: [T('huge', 3 * 2 ** 30, 0, 0, 5 * 2 ** 30 + 64, 'n', [])] };
  const t = tableFromIPC(memoryTimelineTable(big).toIPC());
  assert.is(cell(t, 'bytes', 0), 3 * 2 ** 30);
  assert.is(cell(t, 'offset', 0), 5 * 2 ** 30 + 64);
});

test('steps table: schema and values read back from the IPC file', () => {
  const file = path.join(tmp, 'steps.arrow');
  memoryStepsTable(handPlan(), 'steps of hand').writeIPC(file);
  const t = tableFromIPC(fs.readFileSync(file));
  assert.equal(schemaOf(t), ['step:Int32', 'node:Utf8', 'live_bytes:Float64', 'high_water:Float64', 'live_tensors:Int32', 'body_bytes:Float64']);
  assert.is(t.schema.metadata.get('kiln.title'), 'steps of hand');
  assert.equal(column(t, 'step'), [0, 1, 2, 3, 4]);
  assert.equal(column(t, 'node'), ['a', 'b', 'c', 'd', 'e']);
  assert.equal(column(t, 'live_bytes'), [1024, 1536, 1536, 1024, 1280]);
  assert.equal(column(t, 'high_water'), [1024, 1536, 1536, 1536, 1536]);
  assert.equal(column(t, 'live_tensors'), [1, 2, 2, 1, 2]); // aliases do not count
});

test('summary figures, ratios and text', () => {
  const s = memorySummary(handPlan());
  assert.equal(s, {
    planner: 'greedy-size', peakBytes: 1536, lowerBoundBytes: 1536, naiveBytes: 1792, weightsBytes: 4096, inputBytes: 300,
    steps: 5, tensors: 5, aliases: 2, ms: 0.25, peakOverLowerBound: 1, reductionVsNaive: 1 - 1536 / 1792,
  });
  const text = formatMemorySummary(handPlan());
  assert.match(text, 'memory plan (greedy-size): 5 steps, 5 tensors (2 aliases)');
  assert.match(text, /peak\s+1\.50 KiB\s+= 1\.000 x lower bound/);
  assert.match(text, /naive\s+1\.75 KiB\s+\(no reuse; the plan saves 14\.3%\)/);
  assert.match(text, /weights\s+4\.00 KiB\s+inputs 300 B/);
  const empty = memorySummary({ ...handPlan(), peakBytes: 0, lowerBoundBytes: 0, naiveBytes: 0, tensors: [], order: [] });
  assert.is(empty.peakOverLowerBound, 1);
  assert.is(empty.reductionVsNaive, 0);
});

test('formatBytes and nice ticks', () => {
  assert.equal([0, 512, 1023, 1024, 1536, 10 * 1024 * 1024 + 1, 1.5 * 2 ** 30, 123.4 * 2 ** 20].map(formatBytes),
    ['0 B', '512 B', '1023 B', '1.00 KiB', '1.50 KiB', '10.0 MiB', '1.50 GiB', '123 MiB']);
  assert.equal(niceTicks(1536, 6), [0, 500, 1000, 1500]);
  assert.equal(niceTicks(10, 12), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(niceTicks(3 * 2 ** 20, 3, 2 ** 20), [0, 2 ** 20, 2 * 2 ** 20, 3 * 2 ** 20]);
});

test('SVG: well-formed, one rectangle per buffer at its place, tooltips, lines and axes', () => {
  const svg = memorySvg(handPlan(), { graph: handGraph(), width: 800, height: 400 });
  const els = checkXml(svg);
  assert.is(els[0].name, 'svg');
  assert.is(els[0].attrs.xmlns, 'http://www.w3.org/2000/svg');
  const tensorRects = els.filter((e) => e.name === 'rect' && els.some((t) => t.name === 'title' && t.parent === e));
  assert.is(tensorRects.length, 3); // a, b, e: the in-place c and the view d share a's rectangle
  const tip = (r: (typeof els)[number]) => els.find((t) => t.name === 'title' && t.parent === r)!.text;
  const [ra, rb, re] = tensorRects;
  assert.match(tip(ra), /^a: 1\.00 KiB \(1024 B\) at offset 0\nsteps 0–4\nproducer a \(Conv\)\nconsumers b, c\nshared by c \(inplace\), d \(view\)$/);
  assert.match(tip(rb), 'steps 1–2');
  assert.match(tip(re), 'producer e (Relu)');
  // Geometry: plot x from 78 to 800-170 = 630 over 5 steps; y from 34 to 400-44 = 356 over 1536*1.04 bytes.
  const px = (s: number) => 78 + (s / 5) * 552, py = (b: number) => 34 + 322 - (b / (1536 * 1.04)) * 322;
  const num = (r: (typeof els)[number], k: string) => Number(r.attrs[k]);
  assert.ok(Math.abs(num(ra, 'x') - px(0)) < 0.01 && Math.abs(num(ra, 'width') - (px(5) - px(0))) < 0.01);
  assert.ok(Math.abs(num(rb, 'x') - px(1)) < 0.01 && Math.abs(num(rb, 'width') - (px(3) - px(1))) < 0.01);
  assert.ok(Math.abs(num(rb, 'y') - py(1536)) < 0.01 && Math.abs(num(rb, 'height') - (py(1024) - py(1536))) < 0.01);
  assert.ok(Math.abs(num(ra, 'y') + num(ra, 'height') - py(0)) < 0.01);
  // Colours by op: both Conv outputs the same, Relu another; stable across charts.
  assert.is(ra.attrs.fill, opColor('Conv'));
  assert.is(rb.attrs.fill, opColor('Conv'));
  assert.is(re.attrs.fill, opColor('Relu'));
  assert.is.not(opColor('Conv'), opColor('Relu'));
  assert.match(opColor('Conv'), /^#[0-9a-f]{6}$/);
  // Lower bound line, breadth path, axis labels in bytes.
  const lbLine = els.find((e) => e.name === 'line' && e.attrs.stroke === '#d62728' && e.parent?.name === 'svg')!;
  assert.ok(Math.abs(Number(lbLine.attrs.y1) - py(1536)) < 0.01);
  const pathEl = els.find((e) => e.name === 'path')!;
  assert.match(pathEl.attrs.d, /^M78 [\d.]+ H188\.4 V[\d.]+ H298\.8 V/);
  const texts = els.filter((e) => e.name === 'text').map((e) => e.text);
  assert.ok(['0', '0.5 KiB', '1 KiB', '1.5 KiB'].every((t) => texts.includes(t)), texts.join('|')); // ticks every 512 B
  assert.ok(texts.includes('step (execution order)') && texts.includes('arena offset'));
  assert.ok(texts.includes('Conv') && texts.includes('Relu'), 'legend names the ops');
  // Self-contained: no style element, script, or external reference.
  assert.not.match(svg, /<style|<script|href=|url\(|@import/);
});

test('SVG: names are escaped; without a graph the producer stands for the op', () => {
  const nasty = { a: '<a&b>"x"', b: "it's]]>" };
  const svg = memorySvg(handPlan(nasty), { title: 'plan of <model> & co' });
  const els = checkXml(svg);
  const titles = els.filter((e) => e.name === 'title').map((e) => e.text);
  assert.ok(titles.includes('plan of <model> & co'));
  assert.ok(titles.some((t) => t.startsWith('<a&b>"x": 1.00 KiB')), titles.join('\n'));
  assert.ok(titles.some((t) => t.startsWith("it's]]>: 512 B")));
  assert.not.match(svg, '<a&b>');
  const rects = els.filter((e) => e.name === 'rect' && els.some((t) => t.name === 'title' && t.parent === e));
  assert.is(rects[0].attrs.fill, opColor(nasty.a));
  assert.is(escapeXML('a\u0001b<'), 'ab&lt;');
});

test('SVG: an empty plan and a plan with thousands of tensors still draw', () => {
  const empty: MemoryPlan = { ...handPlan(), order: [], tensors: [], breadth: [], highWater: [], peakBytes: 0, lowerBoundBytes: 0, naiveBytes: 0 };
  checkXml(memorySvg(empty));
  const n = 3000;
  const many: MemoryPlan = {
    ...handPlan(), order: Array.from({ length: n }, (_, i) => `n${i}`),
    tensors: Array.from({ length: n }, (_, i) => T(`t${i}`, 64, i, i + 1, (i % 2) * 64, `n${i}`, [])),
    breadth: new Array(n).fill(128), highWater: new Array(n).fill(128), peakBytes: 128, lowerBoundBytes: 128, naiveBytes: 64 * n,
  };
  const els = checkXml(memorySvg(many, { legend: false }));
  assert.is(els.filter((e) => e.name === 'rect' && els.some((t) => t.name === 'title' && t.parent === e)).length, n);
});

test('text chart: every line within the width, shading, lower-bound marker, step axis', () => {
  for (const width of [24, 40, 80, 132]) {
    for (const mode of ['chart', 'bars', 'summary'] as const) {
      const text = memoryText(handPlan(), { width, mode, graph: handGraph() });
      for (const line of text.trimEnd().split('\n')) assert.ok(line.length <= width, `${mode} @${width}: ${line.length} > ${width}: ${line}`);
    }
    const colored = memoryText(handPlan(), { width, color: true, graph: handGraph() });
    for (const line of colored.trimEnd().split('\n')) assert.ok(visibleLength(line) <= width, `colour @${width}: ${line}`);
    assert.match(colored, /\x1b\[38;2;\d+;\d+;\d+m/);
  }
  // 5 steps × 12 columns = 60 columns; 4 rows of 384 B each, the top one first.
  const lines = memoryChartLines(handPlan(), { width: 100, height: 4 });
  const plot = lines.slice(0, 4).map((l) => l.slice(11, 71));
  assert.equal(plot[3], '█'.repeat(60)); // 0..384: a
  assert.equal(plot[2], '█'.repeat(60)); // 384..768: a
  // 768..1152: a covers 2/3 (▓), plus b (steps 1-2) or e (step 4) the other third (█)
  assert.equal(plot[1], '▓'.repeat(12) + '█'.repeat(24) + '▓'.repeat(12) + '█'.repeat(12));
  // 1152..1536: b fills steps 1-2; e covers a third at step 4 (▒)
  assert.equal(plot[0], ' '.repeat(12) + '█'.repeat(24) + ' '.repeat(12) + '▒'.repeat(12));
  assert.match(lines[0], /◂lb$/); // lower bound = 1536 = top row
  assert.match(lines[0], /^ 1\.50 KiB ┤/);
  assert.match(lines[5], /^\s+0 B └─{60}$/);
  assert.equal(lines[6], ' '.repeat(11) + '0' + ' '.repeat(23) + '2' + ' '.repeat(23) + '4' + ' '.repeat(11) + ' step');
});

test('text bars: one line per step, grouped past maxRows', () => {
  const bars = memoryBarLines(handPlan(), { width: 80 });
  assert.is(bars.length, 6);
  assert.match(bars[2], /^\s+1 b\s+█+\s+1\.50 KiB \/ 1\.50 KiB$/);
  const barOf = (l: string) => /^(█*)(░*)\s*\d/.exec(l.slice(22))!; // after step (4), node (16) and two spaces
  const [, solid0, shade0] = barOf(bars[1]), [, solid1, shade1] = barOf(bars[2]), [, solid3, shade3] = barOf(bars[4]);
  // Bar width 80 - 4 - 16 - 19 - 5 = 36 for a top of 1536 B: 1024 B is 24 cells.
  assert.equal([solid0.length, shade0.length], [24, 0]); // step 0: live 1024 = high-water
  assert.equal([solid1.length, shade1.length], [36, 0]); // step 1: live 1536 = high-water
  assert.equal([solid3.length, shade3.length], [24, 12]); // step 3: live 1024 of high-water 1536
  const grouped = memoryBarLines(handPlan(), { width: 80, maxRows: 2 });
  assert.is(grouped.length, 4);
  assert.match(grouped[1], /^ 0–1 b /); // the larger breadth of steps 0..1 is at node b
  assert.match(grouped[3], '5 steps in 2 groups');
});

test.run();
