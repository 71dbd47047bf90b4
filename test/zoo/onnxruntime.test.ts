/**
 * Cross-checks kiln against onnxruntime: every zoo model is exported with `exportOnnx`, run in
 * onnxruntime-node on the same seeded inputs, and compared with kiln's reference executor:
 * |kiln - ort| <= atol + rtol·|ort| with rtol 1e-3 and atol 1e-4·max|ort| (relative to the output
 * scale). The max absolute and relative errors are printed per model.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import type { Tensor } from '../../compiler/ir/tensor.ts';
import { readF32 } from '../../compiler/ir/tensor.ts';
import { exportOnnx } from '../../compiler/import/onnx/export.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { zooModel, zooNames } from '../../compiler/zoo/index.ts';
import { zooInputs } from './inputs.ts';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');

/** A kiln tensor as an onnxruntime tensor (f32 and i64 are all the zoo needs). */
function toOrt(t: Tensor) {
  if (t.dtype === 'f32') return new ort.Tensor('float32', t.data as Float32Array, [...t.shape]);
  if (t.dtype === 'i64') return new ort.Tensor('int64', t.data as BigInt64Array, [...t.shape]);
  throw new Error(`no ort conversion for ${t.dtype}`);
}

for (const name of zooNames()) {
  test(`${name}: kiln reference matches onnxruntime`, async () => {
    const graph = zooModel(name);
    const inputs = zooInputs(graph);
    const session = await ort.InferenceSession.create(exportOnnx(graph), { graphOptimizationLevel: 'disabled' });
    const feeds: Record<string, ReturnType<typeof toOrt>> = {};
    for (const [k, v] of inputs) feeds[k] = toOrt(v);
    const t0 = performance.now();
    const result = await session.run(feeds);
    const ortMs = performance.now() - t0;
    const t1 = performance.now();
    const ours = runReference(graph, inputs);
    const refMs = performance.now() - t1;
    graph.outputs.forEach((outName, k) => {
      const theirs = result[outName];
      assert.equal([...theirs.dims], [...ours[k].shape], `${outName} shape`);
      // integer outputs (the decoder's tokens) compare as numbers, exactly within the tolerance
      const want = theirs.data instanceof BigInt64Array ? Float64Array.from(theirs.data, Number) : theirs.data as Float32Array;
      const got = readF32(ours[k]);
      let scale = 0;
      for (const v of want) scale = Math.max(scale, Math.abs(v));
      const atol = 1e-4 * scale, rtol = 1e-3;
      let maxAbs = 0, maxRel = 0, bad = -1;
      for (let i = 0; i < want.length; i++) {
        const d = Math.abs(got[i] - want[i]);
        maxAbs = Math.max(maxAbs, d);
        maxRel = Math.max(maxRel, d / Math.max(Math.abs(want[i]), 1e-30));
        if (bad < 0 && !(d <= atol + rtol * Math.abs(want[i]))) bad = i;
      }
      console.log(`  ${name}/${outName}: max|ref| ${scale.toFixed(3)}, max abs err ${maxAbs.toExponential(2)}, max rel err ${maxRel.toExponential(2)} (ort ${ortMs.toFixed(0)} ms, kiln reference ${refMs.toFixed(0)} ms)`);
      assert.ok(bad < 0, `element ${bad}: kiln ${got[bad]} vs ort ${want[bad]}`);
    });
  });
}

test.run();
