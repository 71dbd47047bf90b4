/**
 * Binding symbolic dims (compiler/ops/bind-shapes.ts): shapes computed by Shape → Slice → Concat →
 * Reshape chains, Resize, Expand, ConstantOfShape and Range come out static once the inputs are; every
 * bad binding is a KilnError naming what is wrong; requireStaticShapes names the dims, the inputs that
 * carry them and the options; the FLOPs formula of the unbound model evaluates to the bound figures;
 * and nothing (random inputs, the planner, timings) computes a number at a made-up size.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Graph } from '../../compiler/ir/graph.ts';
import { isStaticShape, valueTypes } from '../../compiler/ir/graph.ts';
import { KilnError } from '../../compiler/errors.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { importOnnx } from '../../compiler/import/onnx/import.ts';
import { bindShapes, parseShapeOptions, requireStaticShapes, shapesOf, unboundDims } from '../../compiler/ops/bind-shapes.ts';
import { summarizeGraph } from '../../compiler/zoo/summary.ts';
import { randomInputs } from '../../compiler/runtime/inputs.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { nodeTimings, timeProgram } from '../../compiler/runtime/timings.ts';
import { refBackend } from '../../compiler/runtime/ref-backend.ts';
import { planMemory } from '../../compiler/schedule/index.ts';
import { DimPoly } from '../../compiler/ir/dim-poly.ts';
import { handFlops, symbolicDetectorBytes } from '../support/symbolic-model.ts';

const detector = () => importOnnx(symbolicDetectorBytes(), { file: 'det.onnx' });
const typeOf = (g: Graph, name: string) => valueTypes(g).get(name)!;

function throwsKiln(fn: () => unknown, re: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, KilnError, `not a KilnError: ${(e as Error).stack}`);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`should throw ${re}`);
}

/** Two inputs sharing N; y has a static dim 4. */
const twoInputs = () => parseGraph([
  'kiln.graph @two(%x: f32[N,C], %y: f32[N,4]) -> (%1: f32[N,_d0]) {',
  '  %1 = Concat(%x, %y) {axis=1} : f32[N,_d0] loc("/cat")',
  '  return %1',
  '}',
].join('\n'));

test('the detector model: every value is static once x is bound, through the shape chains', () => {
  const g = detector();
  assert.equal(unboundDims(g), [{ symbol: 'N', inputs: ['x'] }, { symbol: 'H', inputs: ['x'] }, { symbol: 'W', inputs: ['x'] }]);
  assert.ok(!isStaticShape(typeOf(g, 'flat').shape), 'unbound, the reshaped output is symbolic');
  const b = bindShapes(g, { shapes: { x: [1, 3, 64, 48] } });
  assert.equal(unboundDims(b), []);
  for (const [name, t] of valueTypes(b)) assert.ok(isStaticShape(t.shape), `${name} is ${t.shape}`);
  assert.equal(typeOf(b, 'flat').shape, [1, 8, 64 * 48]); // Shape → Slice → Concat → Reshape
  assert.equal(typeOf(b, 'up').shape, [1, 8, 128, 96]); // Shape → Slice → Mul → Concat → Resize
  assert.equal(typeOf(b, 'grown').shape, [1, 8, 64, 48]); // ConstantOfShape and Expand of the computed shape
  assert.equal(typeOf(b, 'cols').shape, [48]); // Range to a Gather of the computed shape
  // the same by --dim, and the run agrees with the inferred types
  const d = bindShapes(g, { dims: { N: 1, H: 64, W: 48 } });
  assert.equal(valueTypes(d), valueTypes(b));
  const outs = runReference(b, randomInputs(b, 3));
  assert.equal(outs.map((t) => [...t.shape]), b.outputs.map((o) => [...typeOf(b, o).shape]));
  // an empty binding gives the very same graph
  assert.ok(bindShapes(g, {}) === g);
});

test('bad bindings are KilnErrors naming the input, the dim and the sizes', () => {
  const g = detector();
  throwsKiln(() => bindShapes(g, { shapes: { image: [1, 3, 8, 8] } }), /there is no graph input 'image' to give a shape to \(graph inputs: x f32\[N,3,H,W\]\)/);
  throwsKiln(() => bindShapes(g, { shapes: { x: [1, 3, 8] } }), /the shape of 'x' is given with 3 dims \(1x3x8\) but 'x' has rank 4 \(f32\[N,3,H,W\]\)/);
  throwsKiln(() => bindShapes(g, { shapes: { x: [1, 4, 8, 8] } }), /the shape of 'x' is given as 1x4x8x8, but dim 1 of 'x' is 3 in the model/);
  throwsKiln(() => bindShapes(g, { shapes: { x: [0, 3, 8, 8] } }), /dim 0: a size must be a whole number >= 1, got 0/);
  throwsKiln(() => bindShapes(g, { dims: { N: 2.5 } }), /dim 'N': a size must be a whole number >= 1, got 2.5/);
  throwsKiln(() => bindShapes(g, { dims: { N: -1 } }), /got -1/);
  throwsKiln(() => bindShapes(g, { dims: { B: 2 } }), /symbol 'B' does not occur in the graph inputs \(they use N, H, W\)/);
  throwsKiln(() => bindShapes(g, { shapes: { x: [1, 3, 8, 8] }, dims: { N: 2 } }), /symbol 'N' is bound to 1 by the shape of 'x' \(1x3x8x8\) and to 2 by dim N=2/);
  const two = twoInputs();
  throwsKiln(() => bindShapes(two, { shapes: { x: [2, 5], y: [3, 4] } }), /symbol 'N' is bound to 2 by the shape of 'x' \(2x5\) and to 3 by the shape of 'y' \(3x4\)/);
  const ok = bindShapes(two, { shapes: { x: [2, 5], y: [2, 4] } });
  assert.equal(typeOf(ok, '1').shape, [2, 9]);
  // a size the ops reject at that shape is the op's error, with the file
  const rows = parseGraph([
    'kiln.graph @rows(%x: f32[N,6]) -> (%0: f32[_d0,4]) {',
    '  %s = const i64[2] dense<[-1, 4]>',
    '  %0 = Reshape(%x, %s) : f32[_d0,4] loc("/reshape")',
    '  return %0',
    '}',
  ].join('\n'));
  assert.equal(typeOf(bindShapes(rows, { dims: { N: 2 } }), '0').shape, [3, 4]);
  throwsKiln(() => bindShapes(rows, { dims: { N: 1 } }, { file: 'rows.kir' }), /^rows\.kir, node '0', op Reshape: /);
});

test('option text: --shape INPUT=1x3x640x640 and --dim NAME=8', () => {
  assert.equal(parseShapeOptions(['x=1x3x640x640', 'a=b=2,3'], ['N=8', 'N=8']), { shapes: { x: [1, 3, 640, 640], 'a=b': [2, 3] }, dims: { N: 8 } });
  throwsKiln(() => parseShapeOptions(['1x3x640x640']), /--shape expects INPUT=SIZES such as x=1x3x640x640, got '1x3x640x640'/);
  throwsKiln(() => parseShapeOptions(['x=1x3xHx4']), /--shape x: '1x3xHx4' is not a list of sizes/);
  throwsKiln(() => parseShapeOptions(['x=']), /--shape x: '' is not a list of sizes/);
  throwsKiln(() => parseShapeOptions(['x=1x0']), /--shape x: a size must be a whole number >= 1, got 0/);
  throwsKiln(() => parseShapeOptions(['x=1', 'x=2']), /--shape is given twice for input 'x'/);
  throwsKiln(() => parseShapeOptions([], ['N']), /--dim expects NAME=SIZE such as N=8, got 'N'/);
  throwsKiln(() => parseShapeOptions([], ['N=1.5']), /--dim expects NAME=SIZE/);
  throwsKiln(() => parseShapeOptions([], ['N=1', 'N=2']), /--dim binds 'N' twice \(1 and 2\)/);
});

test('requireStaticShapes names the symbolic dims, the inputs carrying them and the options', () => {
  throwsKiln(() => requireStaticShapes(twoInputs(), 'kiln plan'),
    /^kiln plan needs concrete sizes, but the graph inputs have symbolic dims N \(in x, y\), C \(in x\); bind them with --shape x=<N>x<C> --shape y=<N>x4 or --dim N=<size> --dim C=<size> \(in the REPL or a notebook: load MODEL --shape \.\.\. --dim \.\.\.; in code: Session\.load\(model, \{shapes, dims\}\)\)$/);
  requireStaticShapes(twoInputs(), 'x', { dims: { N: 1, C: 2 } }); // bound by the caller's dims
  throwsKiln(() => requireStaticShapes(twoInputs(), 'the memory plan', { dims: { N: 2 } }),
    /symbolic dim C \(in x\); bind them with --shape x=2x<C> or --dim C=<size>/);
  const data = parseGraph([
    'kiln.graph @nz(%x: f32[4]) -> (%0: i64[1,_d0]) {',
    '  %0 = NonZero(%x) : i64[1,_d0] loc("/nz")',
    '  return %0',
    '}',
  ].join('\n'));
  requireStaticShapes(data, 'kiln run'); // the inputs are static: it can run
  throwsKiln(() => requireStaticShapes(data, 'the memory plan', { values: true }), /value '0' \(i64\[1,_d0\]\) has symbolic dim '_d0', which the graph input sizes do not determine/);
  requireStaticShapes(data, 'the memory plan', { values: 'host' }); // the caller holds run-time-sized values on the host
  assert.is(planMemory(data).tensors.find((t) => t.name === '0')!.region, 'host'); // so the plan does
});

test('FLOPs: a formula in N, H, W unbound; the hand count once bound; the formula agrees with both', () => {
  const g = detector();
  const s = summarizeGraph(g);
  assert.is(s.flops, null, 'no figure while the dims are symbols');
  assert.ok(s.symbolic);
  const conv = s.nodeFlops.find((n) => n.op === 'Conv')!;
  assert.is(conv.flops, null);
  assert.is(conv.formula!.toString({ order: ['N', 'H', 'W'] }), '432·N·H·W'); // 2 · 8 out channels · 27
  for (const [n, h, w] of [[1, 640, 640], [2, 32, 48]]) {
    const b = summarizeGraph(bindShapes(g, { shapes: { x: [n, 3, h, w] } }));
    assert.is(b.flops, handFlops(n, h, w));
    assert.is(b.nodeFlops.find((x) => x.op === 'Conv')!.flops, 2 * n * 8 * h * w * 27);
    assert.is(conv.formula!.evaluate({ N: n, H: h, W: w }), 2 * n * 8 * h * w * 27);
  }
});

test('DimPoly: sums, products, powers, printing, dominance', () => {
  const p = DimPoly.product(['N', 2, 'H', 'W']).add(DimPoly.product(['N', 10])).add(3);
  assert.is(p.toString({ order: ['N', 'H', 'W'] }), '2·N·H·W + 10·N + 3');
  assert.is(p.evaluate({ N: 2, H: 3, W: 4 }), 48 + 20 + 3);
  assert.is(p.evaluate({ N: 2 }), undefined);
  assert.is(p.value, undefined);
  assert.is(p.degree, 3);
  assert.equal(p.symbols, ['H', 'N', 'W']);
  const sq = DimPoly.product(['S']).mul(DimPoly.product(['S', 4]));
  assert.is(sq.toString(), '4·S^2');
  assert.ok(sq.add(1).dominates(sq));
  assert.not.ok(sq.dominates(DimPoly.product(['S', 4])), 'the sufficient test: 4·S^2 - 4·S has a negative coefficient');
  assert.not.ok(DimPoly.product(['S']).dominates(DimPoly.product(['T'])));
  assert.is(DimPoly.product([2, 3]).value, 6);
  assert.is(p.add(p.mul(-1)).toString(), '0');
});

test('nothing computes at a made-up size: random inputs, planning and timings need the sizes', async () => {
  const g = detector();
  throwsKiln(() => randomInputs(g, 0), /making random inputs needs concrete sizes, but the graph inputs have symbolic dims N \(in x\), H \(in x\), W \(in x\); bind them with --shape x=<N>x3x<H>x<W>/);
  throwsKiln(() => planMemory(g), /the memory plan needs concrete sizes.*--dim N=<size>/);
  const small = bindShapes(g, { shapes: { x: [1, 3, 8, 8] } }), big = bindShapes(g, { shapes: { x: [2, 3, 16, 8] } });
  assert.ok(planMemory(big).peakBytes > planMemory(small).peakBytes);
  // timings on the symbolic graph count FLOPs at the sizes of the inputs actually given
  const inputs = randomInputs(big, 0);
  const t = nodeTimings(g, inputs, await timeProgram(await refBackend.prepare(g, undefined), inputs, { perKernel: true }));
  assert.is(t.nodes.find((n) => n.op === 'Conv')!.flops, 2 * 2 * 8 * 16 * 8 * 27);
  assert.equal(shapesOf(inputs), { shapes: { x: [2, 3, 16, 8] } });
});

test.run();
