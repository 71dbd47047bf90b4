/**
 * Every zoo model survives the trip through a `.kir` file and its safetensors sidecar: `writeKir` to a
 * temporary folder, `loadModel` back (verified, as `kiln run model.kir` loads it), the reloaded graph
 * prints identically, and on seeded inputs (`randomInputs`) the reference executor gives bit-identical
 * outputs. zoo:decoder has a symbolic prompt length P, bound for the inputs as `--dim P=5` binds it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeKir } from '../../compiler/ir/kir-file.ts';
import { printGraph } from '../../compiler/ir/print.ts';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { loadModel } from '../../compiler/load.ts';
import { randomInputs } from '../../compiler/runtime/inputs.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { zooNames } from '../../compiler/zoo/index.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-kir-zoo-'));
const DIMS: Record<string, Record<string, number>> = { decoder: { P: 5 } };

const bytes = (t: Tensor) => {
  const d = t.data as Exclude<Tensor['data'], string[]>;
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
};

test('the zoo list is the one this test covers', () => {
  assert.equal(zooNames().sort(), ['bert', 'bert-decomposed', 'decoder', 'mlp', 'mobilenetv2', 'resnet50']);
});

for (const name of zooNames()) {
  test(`zoo:${name} written as .kir + sidecar reloads and runs identically`, () => {
    const graph = loadModel(`zoo:${name}`);
    const kir = path.join(tmp, `${name}.kir`);
    const written = writeKir(kir, graph);
    assert.ok(written.tensors > 0 && fs.statSync(written.sidecarPath).size === written.sidecarBytes);
    const back = loadModel(kir);
    assert.is(printGraph(back), printGraph(graph));
    const inputs = randomInputs(graph, 11, DIMS[name] ?? {});
    const want = runReference(graph, inputs);
    const got = runReference(back, inputs);
    assert.is(got.length, want.length);
    want.forEach((w, i) => {
      assert.equal([got[i].dtype, got[i].shape], [w.dtype, w.shape], `output ${i}`);
      assert.ok(bytes(got[i]).equals(bytes(w)), `${name} output ${i} differs after the round trip`);
    });
  });
}

test.run();
