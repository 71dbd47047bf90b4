/**
 * The cpu backend on channels-last graphs (the layout pass's kiln.*_nhwc ops, lowered by
 * compiler/codegen/lower/conv-nhwc.ts, winograd-nhwc.ts and pool.ts): a small two-image network with
 * every kind of NHWC convolution (depthwise at stride 1 and 2 with padding, a 3-channel 3x3 stride-2
 * stem through the im2col GEMM, pointwise GEMMs with and without a fused epilogue, a 16-channel 3x3
 * Winograd layer with a fused residual, a grouped conv on the direct nest with its weights given as an
 * input), max, average (padding excluded from the count) and global average pooling is
 * compiled and run natively, with no node left to the reference kernels, and compared with the
 * reference executor on the NCHW graph as written.
 */
import { test } from 'uvu';
import { expectTensors } from '../../compiler/ir/value.ts';
import * as assert from 'uvu/assert';
import '../../compiler/ops/all.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { PassManager, parsePipeline } from '../../compiler/passes/index.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { randomInputs } from '../../compiler/runtime/inputs.ts';
import { cpuFallbacks, prepareCpu } from '../../compiler/runtime/cpu/index.ts';
import { findCCompiler } from '../../compiler/runtime/native/c-compiler.ts';
import { relativeError } from '../support/compare.ts';

const withCC = findCCompiler() ? test : test.skip;

/** Deterministic weights in [-1, 1) as the text form's dense list. */
const dense = (count: number, seed: number) => Array.from({ length: count }, (_, i) => (((i * 7919 + seed * 104729) % 2000) / 1000 - 1).toFixed(3)).join(', ');

const GRAPH = `kiln.graph @mini(%x: f32[2,3,17,17], %wg: f32[8,4,3,3]) -> (%y: f32[2,8,1,1]) {
  %ws = const f32[8,3,3,3] dense<[${dense(216, 1)}]>
  %bs = const f32[8] dense<[${dense(8, 2)}]>
  %wd1 = const f32[8,1,3,3] dense<[${dense(72, 3)}]>
  %wp1 = const f32[16,8,1,1] dense<[${dense(128, 4)}]>
  %bp1 = const f32[16] dense<[${dense(16, 5)}]>
  %ww = const f32[16,16,3,3] dense<[${dense(2304, 8)}]>
  %wd2 = const f32[16,1,3,3] dense<[${dense(144, 6)}]>
  %wp2 = const f32[8,16,1,1] dense<[${dense(128, 7)}]>
  %lo = const f32[] dense<0.0>
  %hi = const f32[] dense<6.0>
  %0 = Conv(%x, %ws, %bs) {pads=[1, 1, 1, 1], strides=[2, 2]} : f32[2,8,9,9] loc("/stem")
  %1 = Relu(%0) : f32[2,8,9,9] loc("/stem_relu")
  %p = MaxPool(%1) {kernel_shape=[3, 3], pads=[1, 1, 1, 1]} : f32[2,8,9,9] loc("/maxpool")
  %2 = Conv(%p, %wd1) {group=8, pads=[1, 1, 1, 1]} : f32[2,8,9,9] loc("/dw1")
  %3 = Conv(%2, %wp1, %bp1) {kernel_shape=[1, 1]} : f32[2,16,9,9] loc("/pw1")
  %4 = Clip(%3, %lo, %hi) : f32[2,16,9,9] loc("/pw1_clip")
  %w3 = Conv(%4, %ww) {pads=[1, 1, 1, 1]} : f32[2,16,9,9] loc("/winograd")
  %w4 = Add(%w3, %4) : f32[2,16,9,9] loc("/winograd_residual")
  %5 = Conv(%w4, %wd2) {group=16, pads=[1, 1, 1, 1], strides=[2, 2]} : f32[2,16,5,5] loc("/dw2")
  %6 = Conv(%5, %wp2) {kernel_shape=[1, 1]} : f32[2,8,5,5] loc("/pw2")
  %7 = Conv(%6, %wg) {group=2, pads=[1, 1, 1, 1]} : f32[2,8,5,5] loc("/grouped")
  %8 = Add(%7, %6) : f32[2,8,5,5] loc("/residual")
  %9 = AveragePool(%8) {kernel_shape=[2, 2], pads=[0, 0, 1, 1], strides=[2, 2]} : f32[2,8,3,3] loc("/avgpool")
  %y = GlobalAveragePool(%9) : f32[2,8,1,1] loc("/gap")
  return %y
}`;

withCC('channels-last convolutions and pooling run natively and match the reference on the NCHW graph', async () => {
  const graph = parseGraph(GRAPH, { file: 'cpu-nhwc.test.ts' });
  const results = new PassManager({ target: 'cpu' }).run(graph, parsePipeline('shape-infer,fuse-conv-act,layout,dce'));
  const nhwc = results[results.length - 1].graph;
  const ops = new Set(nhwc.nodes.map((n) => n.op));
  for (const op of ['kiln.conv_nhwc', 'kiln.conv_epilogue_nhwc', 'kiln.maxpool_nhwc', 'kiln.averagepool_nhwc', 'kiln.globalaveragepool_nhwc']) assert.ok(ops.has(op), `${op} in the converted graph`);
  assert.equal(cpuFallbacks(nhwc), [], 'every NHWC node is compiled');
  const inputs = randomInputs(graph, 3);
  const expected = runReference(graph, inputs);
  const program = await prepareCpu(nhwc, undefined, { threads: 2 });
  try {
    const got = expectTensors(await program.run(inputs));
    assert.equal([...got[0].shape], [2, 8, 1, 1]);
    const err = relativeError(got, expected);
    assert.ok(err <= 1e-4, `max relative error ${err} (Winograd's bound is 1e-4)`);
    assert.ok(program.tolerances?.some((t) => t.nodes.includes('w4.nhwc')), `the 16-channel 3x3 conv ran on the channels-last Winograd template: ${JSON.stringify(program.tolerances)}`);
  } finally {
    await program.dispose();
  }
});

test.run();
