/**
 * loadModel: `zoo:NAME`, `.onnx` files (a zoo model exported and read back keeps its ops, node
 * names, constants and types) and `.kir` files (printed and parsed back), and its errors.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Graph } from '../../compiler/ir/graph.ts';
import { KilnError } from '../../compiler/errors.ts';
import { loadModel } from '../../compiler/load.ts';
import { exportOnnx } from '../../compiler/import/onnx/export.ts';
import { printGraph } from '../../compiler/ir/print.ts';
import { zooModel } from '../../compiler/zoo/index.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-load-'));
const shape = (g: Graph) => g.nodes.map((n) => `${n.op} ${n.loc.join(',')} ${n.types.map((t) => `${t.dtype}[${t.shape}]`).join(',')}`);

test('zoo:NAME builds the zoo model (options pass through)', () => {
  const g = loadModel('zoo:mlp', { zoo: { seed: 2 } });
  assert.is(g.name, 'mlp');
  assert.equal(g.constants.map((c) => c.hash), zooModel('mlp', { seed: 2 }).constants.map((c) => c.hash));
  assert.throws(() => loadModel('zoo:vgg16'), (e: Error) => e instanceof KilnError && /available: resnet50, mobilenetv2/.test(e.message));
});

test('.onnx: an exported zoo model reads back with the same ops, names, types and weights', () => {
  for (const name of ['mlp', 'bert']) {
    const g = zooModel(name);
    const file = path.join(dir, `${name}.onnx`);
    fs.writeFileSync(file, exportOnnx(g));
    const back = loadModel(file);
    assert.equal(shape(back), shape(g));
    assert.equal(back.inputs, g.inputs);
    assert.equal(back.outputs, g.outputs);
    const hashes = (x: Graph) => new Map(x.constants.map((c) => [c.name, c.hash]));
    assert.equal(hashes(back), hashes(g));
  }
});

test('.kir: a printed zoo model parses back', () => {
  const g = zooModel('mlp');
  const file = path.join(dir, 'mlp.kir');
  fs.writeFileSync(file, printGraph(g));
  const back = loadModel(file);
  assert.equal(shape(back), shape(g));
  assert.equal(back.constants.map((c) => c.hash.slice(0, 16)), g.constants.map((c) => c.hash.slice(0, 16)));
});

test('errors name the file or say which forms are accepted', () => {
  assert.throws(() => loadModel('model.pt'), /cannot tell the model format from 'model.pt': expected a .onnx or .kir file, or zoo:NAME/);
  assert.throws(() => loadModel(path.join(dir, 'missing.kir')), (e: Error) => e instanceof KilnError && /missing\.kir: cannot read model: no such file/.test(e.message));
  assert.throws(() => loadModel(path.join(dir, 'missing.onnx')), (e: Error) => e instanceof KilnError && /missing\.onnx/.test(e.message));
});

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

test.run();
