/**
 * The roofline chart (display/roofline.ts) on hand-made points: well-formed self-contained SVG, the
 * roof's two parts meeting at the labelled ridge point, points at their log positions (a point at a
 * decade sits on that decade's grid line; a decade apart is the same distance everywhere), one marker
 * per series with a legend, tooltips, unknown points skipped and counted, a partial roof; and
 * `rooflinePoints` from a timing's kernels or nodes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkXml, type XmlElement } from '../results/xml-check.ts';
import { rooflinePoints, rooflineSVG, type RooflinePoint } from '../../compiler/display/index.ts';
import { NodeTimings } from '../../compiler/runtime/timings.ts';

/** GFLOP/s `g` at intensity `i` (FLOP/byte) in 1 ms: flops = g·1e6, bytes = flops / i. */
const at = (label: string, series: string, i: number, g: number): RooflinePoint => ({ label, series, flops: g * 1e6, bytes: (g * 1e6) / i, ms: 1 });

const POINTS: RooflinePoint[] = [
  at('a', 'cpu', 1, 1), at('b', 'cpu', 10, 10), at('c <&>', 'cpu', 100, 10), at('d', 'webgpu', 10, 1),
  { label: 'no flops', series: 'cpu', flops: null, bytes: 10, ms: 1 },
  { label: 'no bytes', series: 'cpu', flops: 10, bytes: null, ms: 1 },
  { label: 'zero flops', series: 'ref', flops: 0, bytes: 10, ms: 1 },
  { label: 'no time', series: 'cpu', flops: 10, bytes: 10, ms: 0 },
];

const translate = (e: XmlElement) => {
  const m = /^translate\(([-\d.]+),([-\d.]+)\)$/.exec(e.attrs.transform)!;
  return { x: Number(m[1]), y: Number(m[2]) };
};
const titleOf = (els: XmlElement[], g: XmlElement) => els.find((e) => e.name === 'title' && e.parent === g)!.text;

test('well-formed, self-contained SVG with the roof, the ridge point labelled, axes and title', () => {
  const svg = rooflineSVG(POINTS, { peakGflops: 40, bandwidthGBs: 4 }, { title: 'roof <of> & co', width: 800, height: 500 });
  const els = checkXml(svg);
  assert.is(els[0].name, 'svg');
  assert.equal([els[0].attrs.xmlns, els[0].attrs.width, els[0].attrs.height], ['http://www.w3.org/2000/svg', '800', '500']);
  assert.not.match(svg, /<style|<script|href=|url\(|@import|<image|<foreignObject/);
  assert.ok(els.some((e) => e.name === 'text' && e.text === 'roof <of> & co'));
  const slope = els.find((e) => e.attrs.class === 'roof-bandwidth')!, flat = els.find((e) => e.attrs.class === 'roof-peak')!;
  assert.ok(slope && flat, 'both parts of the roof');
  assert.is(slope.attrs.x2, flat.attrs.x1, 'the slope ends where the flat roof starts');
  assert.is(slope.attrs.y2, flat.attrs.y1);
  assert.is(flat.attrs.y1, flat.attrs.y2, 'the peak is flat');
  assert.ok(Number(slope.attrs.y1) > Number(slope.attrs.y2), 'the bandwidth part rises');
  const ridge = els.find((e) => e.attrs.class === 'ridge')!;
  assert.match(titleOf(els, ridge), /ridge point: 10 FLOP\/byte \(peak 40 GFLOP\/s ÷ 4 GB\/s\)/);
  const mark = els.find((e) => e.name === 'circle' && e.parent === ridge)!;
  assert.equal([mark.attrs.cx, mark.attrs.cy], [flat.attrs.x1, flat.attrs.y1], 'the ridge marker sits where the parts meet');
  assert.ok(els.some((e) => e.name === 'text' && e.parent === ridge && e.text === 'ridge 10 FLOP/B'));
  assert.ok(els.some((e) => e.name === 'text' && /FP32 peak 40 GFLOP\/s/.test(e.text)));
  assert.ok(els.some((e) => e.name === 'text' && e.text === '4 GB/s'));
  assert.ok(els.some((e) => e.name === 'text' && e.text === 'arithmetic intensity (FLOP/byte)'));
  assert.ok(els.some((e) => e.name === 'text' && e.text === 'achieved GFLOP/s'));
});

test('points at their log positions: on the decade grid lines, equal steps per decade', () => {
  const svg = rooflineSVG(POINTS, { peakGflops: 40, bandwidthGBs: 4 });
  const els = checkXml(svg);
  const pts = els.filter((e) => e.attrs.class === 'point');
  assert.is(pts.length, 4, 'the 4 placeable points');
  const [a, b, c, d] = pts.map(translate);
  const xTicks = els.filter((e) => e.attrs.class === 'xtick').map((e) => Number(e.attrs.x1));
  const yTicks = els.filter((e) => e.attrs.class === 'ytick').map((e) => Number(e.attrs.y1));
  assert.ok(xTicks.includes(a.x) && xTicks.includes(b.x) && xTicks.includes(c.x), 'intensities 1, 10, 100 on decade lines');
  assert.ok(yTicks.includes(a.y) && yTicks.includes(b.y), 'GFLOP/s 1 and 10 on decade lines');
  assert.ok(Math.abs((b.x - a.x) - (c.x - b.x)) < 0.15, 'one decade is the same width at 1..10 and 10..100');
  assert.ok(b.x > a.x && a.y > b.y, 'right is more intense, up is faster');
  assert.is(b.y, c.y, 'same GFLOP/s, same height');
  assert.equal([d.x, d.y], [b.x, a.y], 'the webgpu point: intensity of b, speed of a');
  assert.ok(Math.abs((a.y - b.y) - (b.x - a.x) * (yTicks[0] - yTicks[1]) / (xTicks[1] - xTicks[0])) < 0.3);
});

test('one marker and colour per series, a legend, tooltips with label, GFLOP/s, intensity and time', () => {
  const els = checkXml(rooflineSVG(POINTS, { peakGflops: 40, bandwidthGBs: 4 }));
  const pts = els.filter((e) => e.attrs.class === 'point');
  const paths = pts.map((g) => els.find((e) => e.name === 'path' && e.parent === g)!);
  assert.is(paths[0].attrs.fill, paths[1].attrs.fill);
  assert.is(paths[0].attrs.d, paths[2].attrs.d);
  assert.is.not(paths[3].attrs.fill, paths[0].attrs.fill, 'webgpu is another colour');
  assert.is.not(paths[3].attrs.d, paths[0].attrs.d, 'and another shape');
  assert.is(titleOf(els, pts[2]), 'c <&> (cpu): 10 GFLOP/s, 100 FLOP/byte, 1 ms');
  const legend = els.filter((e) => e.attrs.class === 'legend');
  assert.equal(legend.map((g) => els.find((e) => e.name === 'text' && e.parent === g)!.text), ['cpu', 'webgpu'],
    'series with a placed point only (ref had none)');
});

test('unknown points skipped and counted in a note; a partial roof says what is missing', () => {
  const els = checkXml(rooflineSVG(POINTS, { peakGflops: null, bandwidthGBs: 4 }));
  assert.is(els.find((e) => e.attrs.class === 'note')!.text, '4 of 8 points not shown (no FLOPs, bytes or time); FP32 peak unknown');
  assert.ok(els.some((e) => e.attrs.class === 'roof-bandwidth'));
  assert.not.ok(els.some((e) => e.attrs.class === 'roof-peak' || e.attrs.class === 'ridge'));
  const peakOnly = checkXml(rooflineSVG(POINTS.slice(0, 4), { peakGflops: 40, bandwidthGBs: null }));
  assert.is(peakOnly.find((e) => e.attrs.class === 'note')!.text, 'memory bandwidth unknown');
  assert.ok(peakOnly.some((e) => e.attrs.class === 'roof-peak'));
  assert.not.ok(peakOnly.some((e) => e.attrs.class === 'roof-bandwidth'));
  const none = checkXml(rooflineSVG([], { peakGflops: null, bandwidthGBs: null }));
  assert.not.ok(none.some((e) => e.attrs.class === 'point' || /^roof/.test(e.attrs.class ?? '')));
  const full = checkXml(rooflineSVG(POINTS.slice(0, 4), { peakGflops: 40, bandwidthGBs: 4 }));
  assert.not.ok(full.some((e) => e.attrs.class === 'note'), 'nothing to say');
});

test('rooflinePoints: a timing\'s kernels (sums over their nodes), or its nodes without kernel reports', () => {
  const nodes = [
    { index: 0, node: 'a', op: 'Conv', ms: 6, flops: 12e6, bytes: 3e6, provenance: [] },
    { index: 1, node: 'b', op: 'Relu', ms: 1, flops: 1e3, bytes: 8e3, provenance: [] },
  ];
  const byNode = rooflinePoints(new NodeTimings('g', nodes, [7], []), 'ref');
  assert.equal(byNode, [
    { label: 'a (Conv)', series: 'ref', flops: 12e6, bytes: 3e6, ms: 6 },
    { label: 'b (Relu)', series: 'ref', flops: 1e3, bytes: 8e3, ms: 1 },
  ]);
  const kernels = [{ kernel: 'conv_relu', nodes: ['a', 'b'], ms: 5, samples: [5] }];
  assert.equal(rooflinePoints(new NodeTimings('g', nodes, [7], [], 'g', null, kernels), 'cpu'),
    [{ label: 'conv_relu', series: 'cpu', flops: 12e6 + 1e3, bytes: 3e6 + 8e3, ms: 5 }]);
});

test.run();
