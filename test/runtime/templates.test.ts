/**
 * The cpu backend's templates (compiler/codegen/lower/depthwise.ts, winograd.ts, pool.ts, softmax,
 * layer norm) against the reference executor on random data, over shapes chosen for their edges:
 * sizes below, at and above the vector width and the Winograd tile, padding that makes every
 * border segment non-empty (or empty), strides 1 and 2, dilation, bias and fused epilogues.
 * Each case is a small graph compiled once; the error is max |got − want| / max |want| and must be
 * within 1e-5 (Winograd cases: WINOGRAD_F4_TOLERANCE, the documented bound). Skipped without a C
 * compiler, like cpu.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../../compiler/ops/all.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import type { Tensor } from '../../compiler/ir/tensor.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { randomInputs } from '../../compiler/runtime/inputs.ts';
import { prepareCpu } from '../../compiler/runtime/cpu/index.ts';
import { findCCompiler } from '../../compiler/runtime/native/c-compiler.ts';
import { printProgram } from '../../compiler/codegen/print.ts';
import { lowerGraph } from '../../compiler/codegen/lower/index.ts';
import '../../compiler/runtime/backends.ts';

const cc = findCCompiler();
if (!cc) console.log('templates.test.ts: no C compiler found (CC, cc, gcc, clang): skipping');
const withCC = cc ? test : test.skip;
const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-templates-'));
process.env.KILN_CACHE_DIR = cache;
test.after(() => fs.rmSync(cache, { recursive: true, force: true }));

/** max |got - want| / max |want| over all outputs. */
function relativeError(got: readonly Tensor[], want: readonly Tensor[]): number {
  let err = 0, max = 0;
  want.forEach((w, k) => {
    const a = w.data as Float32Array, b = got[k].data as Float32Array;
    assert.is(b.length, a.length);
    for (let i = 0; i < a.length; i++) { max = Math.max(max, Math.abs(a[i])); err = Math.max(err, Math.abs(a[i] - b[i])); }
  });
  return err / (max || 1);
}

/** Compiles `text` on cpu (2 threads), runs it on seeded random inputs, returns the error vs the reference. */
export async function cpuError(text: string, seed = 3): Promise<number> {
  const g = parseGraph(text);
  const program = await prepareCpu(g, undefined, { threads: 2 });
  try {
    const inputs = randomInputs(g, seed);
    return relativeError(await program.run(inputs), runReference(g, inputs));
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

test.run();
