/**
 * The cpu backend's templates (compiler/codegen/lower/depthwise.ts, winograd.ts, pool.ts, softmax.ts,
 * the layer norm) against the reference executor on random data, over shapes chosen for their edges:
 * sizes below, at and above the vector width and the Winograd tile, padding that makes every
 * border segment non-empty (or empty), strides 1 and 2, dilation, bias and fused epilogues.
 * Each case is a small graph compiled once; the error is max |got − want| / max |want| and must be
 * within 1e-5 (Winograd cases: WINOGRAD_F4_TOLERANCE, the documented bound). Skipped without a C
 * compiler, like cpu.test.ts.
 */
import fs from 'node:fs';
import { expectTensors } from '../../compiler/ir/value.ts';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { relativeError } from '../support/compare.ts';
import '../../compiler/ops/all.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { randomInputs } from '../../compiler/runtime/inputs.ts';
import { prepareCpu } from '../../compiler/runtime/cpu/index.ts';
import { findCCompiler } from '../../compiler/runtime/native/c-compiler.ts';
import { printProgram } from '../../compiler/codegen/print.ts';
import { lowerGraph } from '../../compiler/codegen/lower/index.ts';
import '../../compiler/runtime/backends.ts';
import { WINOGRAD_F4_TOLERANCE } from '../../compiler/codegen/lower/winograd.ts';

const cc = findCCompiler();
if (!cc) console.log('templates.test.ts: no C compiler found (CC, cc, gcc, clang): skipping');
const withCC = cc ? test : test.skip;
const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-templates-'));
process.env.KILN_CACHE_DIR = cache;
test.after(() => fs.rmSync(cache, { recursive: true, force: true }));

/** Compiles `text` on cpu (2 threads), runs it on seeded random inputs, returns the error vs the reference. */
export async function cpuError(text: string, seed = 3): Promise<number> {
  const g = parseGraph(text);
  const program = await prepareCpu(g, undefined, { threads: 2 });
  try {
    const inputs = randomInputs(g, seed);
    return relativeError(expectTensors(await program.run(inputs)), runReference(g, inputs));
  } finally {
    await program.dispose();
  }
}

/** The printed kernel IR of `text` (to check which template lowered it). */
export function kernelText(text: string): string {
  return printProgram(lowerGraph(parseGraph(text)).program);
}

/** A depthwise conv case. */
function depthwise(n: number, c: number, h: number, w: number, k: number, stride: number, pad: number, dil = 1, ep = '["clip"], clip_max=6.0, clip_min=0.0'): string {
  const oh = Math.floor((h + 2 * pad - dil * (k - 1) - 1) / stride) + 1, ow = Math.floor((w + 2 * pad - dil * (k - 1) - 1) / stride) + 1;
  return `kiln.graph @dw(%x: f32[${n},${c},${h},${w}], %w: f32[${c},1,${k},${k}], %b: f32[${c}]) -> (%0: f32[${n},${c},${oh},${ow}]) {
  %0 = kiln.conv(%x, %w, %b) {dilations=[${dil},${dil}], epilogue=${ep}, group=${c}, kernel_shape=[${k},${k}], pads=[${pad},${pad},${pad},${pad}], strides=[${stride},${stride}]} : f32[${n},${c},${oh},${ow}]
  return %0
}`;
}

const DEPTHWISE: [number, number, number, number, number, number, number, number?][] = [
  // n, c, h, w, k, stride, pad, dilation
  [1, 8, 17, 19, 3, 1, 1],
  [2, 3, 9, 9, 3, 2, 1],
  [1, 5, 4, 3, 3, 1, 1], // smaller than the vector width, one interior column
  [1, 4, 2, 2, 3, 1, 1], // no interior at all
  [1, 6, 12, 12, 5, 2, 2],
  [1, 4, 11, 13, 3, 1, 2, 2],
  [1, 4, 10, 10, 3, 1, 0],
  [1, 16, 7, 7, 7, 1, 3],
  [2, 3, 10, 12, 3, 1, 1], // stride 1, two images: the flat padded form, weights by nc % C
  [1, 8, 14, 14, 3, 1, 1], // mobilenet's 14x14 layers: flat padded form, 14 + 2 pitch
];
for (const [n, c, h, w, k, s, p, d] of DEPTHWISE) {
  withCC(`depthwise ${n}x${c}x${h}x${w} k${k} s${s} p${p} d${d ?? 1} matches the reference`, async () => {
    const text = depthwise(n, c, h, w, k, s, p, d);
    assert.match(kernelText(text), /for nc\d+ < \d+ parallel/, 'lowered by the depthwise template');
    const err = await cpuError(text);
    assert.ok(err <= 1e-5, `relative error ${err}`);
  });
}

withCC('depthwise without bias or epilogue (plain Conv) matches the reference', async () => {
  const text = `kiln.graph @dw(%x: f32[1,4,8,9], %w: f32[4,1,3,3]) -> (%0: f32[1,4,8,9]) {
  %0 = Conv(%x, %w) {group=4, pads=[1,1,1,1]} : f32[1,4,8,9]
  return %0
}`;
  assert.match(kernelText(text), /for nc\d+ < 4 parallel/);
  const err = await cpuError(text);
  assert.ok(err <= 1e-5, `relative error ${err}`);
});

/** Seeded weights in [-1, 1) with 4 decimals, as .kir text. */
function weights(count: number, seed: number): string {
  let s = seed;
  const next = () => { s = (s * 1103515245 + 12345) % 2147483648; return (s / 2147483648) * 2 - 1; };
  return Array.from({ length: count }, () => next().toFixed(4)).join(', ');
}

/** A 3x3 stride-1 kiln.conv with constant weights, bias, and `epilogue` (a residual input when it has 'add'). */
function conv3x3(n: number, c: number, k: number, h: number, w: number, pads: readonly number[], epilogue = '["relu"]'): string {
  const oh = h + pads[0] + pads[2] - 2, ow = w + pads[1] + pads[3] - 2;
  const y = `f32[${n},${k},${oh},${ow}]`;
  const residual = epilogue.includes('"add"');
  return `kiln.graph @wino(%x: f32[${n},${c},${h},${w}], %b: f32[${k}]${residual ? `, %r: ${y}` : ''}) -> (%0: ${y}) {
  %w = const f32[${k},${c},3,3] dense<[${weights(k * c * 9, n + c + k + h + w)}]>
  %0 = kiln.conv(%x, %w, %b${residual ? ', %r' : ''}) {epilogue=${epilogue}, kernel_shape=[3,3], pads=[${pads.join(',')}]} : ${y}
  return %0
}`;
}

const WINOGRAD: [number, number, number, number, number, number[], string?][] = [
  // n, c, k, h, w, pads (top, left, bottom, right), epilogue
  [1, 16, 16, 10, 9, [1, 1, 1, 1]], // partial last tile row and column
  [2, 16, 20, 8, 8, [1, 1, 1, 1]], // two images; 20 output channels = 5 groups of 4
  [1, 17, 18, 13, 11, [0, 0, 0, 0], '["add", "relu"]'], // no padding, 18 = 4 groups + 2 single channels, residual
  [1, 16, 16, 9, 12, [2, 1, 0, 2], 'strings[]'], // asymmetric pads, no epilogue
  [1, 32, 16, 12, 12, [1, 1, 1, 1], '["clip"], clip_max=6.0, clip_min=0.0'],
  // 16 tiles or more: the products vectorize over tiles (the others over output channels)
  [1, 16, 18, 17, 18, [1, 1, 1, 1], '["add", "relu"]'], // 25 tiles, 18 channels = 4 groups of 4 + 2
  [2, 20, 16, 12, 16, [1, 1, 1, 1]], // 2 images x 12 tiles
];
for (const [n, c, k, h, w, pads, ep] of WINOGRAD) {
  withCC(`winograd ${n}x${c}x${h}x${w} -> ${k} pads [${pads}] ${ep ?? '["relu"]'} matches the reference within its tolerance`, async () => {
    const text = conv3x3(n, c, k, h, w, pads, ep);
    assert.match(kernelText(text), /Winograd F\(4x4,3x3\) filters/, 'lowered by the Winograd template');
    const [kernel] = lowerGraph(parseGraph(text)).program.kernels;
    assert.is(kernel.tolerance?.rel, WINOGRAD_F4_TOLERANCE, 'the kernel carries its documented tolerance');
    const err = await cpuError(text);
    assert.ok(err <= WINOGRAD_F4_TOLERANCE, `relative error ${err} > ${WINOGRAD_F4_TOLERANCE}`);
  });
}

withCC('a narrow or small 3x3 conv keeps the direct lowering (the conv3x3 rule)', async () => {
  for (const text of [conv3x3(1, 8, 16, 12, 12, [1, 1, 1, 1]), conv3x3(1, 16, 16, 6, 6, [1, 1, 1, 1])]) {
    assert.not.match(kernelText(text), /Winograd|tolerance=/);
    const err = await cpuError(text);
    assert.ok(err <= 1e-5, `relative error ${err}`);
  }
});

const ROWS: [number[], number][] = [[[3, 7], -1], [[2, 16], -1], [[2, 3, 37], -1], [[1, 2, 128], -1], [[4, 37, 3], 1], [[2, 20, 5], 0]];
for (const [shape, axis] of ROWS) {
  for (const op of ['Softmax', 'LogSoftmax']) {
    withCC(`${op} over axis ${axis} of [${shape}] matches the reference`, async () => {
      const ty = `f32[${shape.join(',')}]`;
      const err = await cpuError(`kiln.graph @sm(%x: ${ty}) -> (%0: ${ty}) {
  %0 = ${op}(%x) {axis=${axis}} : ${ty}
  return %0
}`);
      assert.ok(err <= 1e-5, `relative error ${err}`);
    });
  }
}

for (const [shape, axis] of [[[3, 7], -1], [[2, 3, 37], -1], [[1, 4, 256], -1], [[2, 5, 6], 1]] as [number[], number][]) {
  withCC(`LayerNormalization from axis ${axis} of [${shape}] matches the reference`, async () => {
    const ty = `f32[${shape.join(',')}]`, row = `f32[${shape.slice(axis < 0 ? shape.length + axis : axis).join(',')}]`;
    const err = await cpuError(`kiln.graph @ln(%x: ${ty}, %s: ${row}, %b: ${row}) -> (%0: ${ty}) {
  %0 = LayerNormalization(%x, %s, %b) {axis=${axis}, epsilon=1e-5} : ${ty}
  return %0
}`);
    assert.ok(err <= 1e-5, `relative error ${err}`);
  });
}

/** Output size of one pooled axis (floor or ceil mode). */
const pooled = (i: number, k: number, s: number, p0: number, p1: number, ceil: boolean) => (ceil ? Math.ceil : Math.floor)((i + p0 + p1 - k) / s) + 1;

const POOLS: [string, number[], number, number, number[], string][] = [
  // op, input NCHW, kernel, stride, pads, extra attributes
  ['MaxPool', [1, 3, 112, 112], 3, 2, [1, 1, 1, 1], ''], // resnet's stem pool
  ['MaxPool', [2, 2, 9, 7], 2, 2, [0, 0, 0, 0], ''],
  ['MaxPool', [1, 2, 5, 5], 3, 1, [1, 1, 1, 1], ''],
  ['AveragePool', [1, 3, 17, 18], 3, 1, [1, 1, 1, 1], ''],
  ['AveragePool', [1, 3, 17, 18], 3, 2, [1, 0, 1, 2], ', count_include_pad=1'],
  ['AveragePool', [1, 2, 10, 10], 3, 2, [1, 1, 1, 1], ', ceil_mode=1'],
  ['MaxPool', [1, 2, 3, 3], 3, 1, [1, 1, 1, 1], ''], // no interior
  ['AveragePool', [1, 2, 10, 10], 3, 2, [1, 1, 1, 1], ', ceil_mode=1, count_include_pad=1'], // windows past the end padding
];
for (const [op, [n, c, h, w], k, s, p, extra] of POOLS) {
  withCC(`${op} ${n}x${c}x${h}x${w} k${k} s${s} pads [${p}]${extra} matches the reference`, async () => {
    const ceil = extra.includes('ceil_mode=1');
    const oh = pooled(h, k, s, p[0], p[2], ceil), ow = pooled(w, k, s, p[1], p[3], ceil);
    const text = `kiln.graph @pool(%x: f32[${n},${c},${h},${w}]) -> (%0: f32[${n},${c},${oh},${ow}]) {
  %0 = ${op}(%x) {kernel_shape=[${k},${k}], pads=[${p.join(',')}], strides=[${s},${s}]${extra}} : f32[${n},${c},${oh},${ow}]
  return %0
}`;
    assert.match(kernelText(text), /for nc\d+ < \d+ parallel/, 'lowered by the 2-D pool template');
    const err = await cpuError(text);
    assert.ok(err <= 1e-6, `relative error ${err}`);
  });
}

test.run();
