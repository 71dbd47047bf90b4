/**
 * Runs every zoo model on the reference executor with seeded inputs: outputs have the declared
 * shape, are finite and have a sane spread (std in [0.1, 100]). Plus semantic checks of the graphs:
 * the MLP against a hand-written forward pass, BERT's fused and decomposed LayerNorm agree, padded
 * positions do not leak through the attention mask, symbolic batch builds compute the same, and
 * ResNet-50's FLOPs match the architecture (8,174,272,512 conv FLOPs = 2 x 4.09 GMACs).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Graph } from '../../compiler/ir/graph.ts';
import { Tensor, i64Tensor, readF32 } from '../../compiler/ir/tensor.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { zooModel, zooNames } from '../../compiler/zoo/index.ts';
import { summarizeGraph } from '../../compiler/zoo/summary.ts';
import { maxAbsDiff, stats, zooInputs } from './inputs.ts';

const graphs = new Map<string, Graph>();
const outputs = new Map<string, Tensor>();
const model = (name: string) => {
  let g = graphs.get(name);
  if (!g) graphs.set(name, (g = zooModel(name)));
  return g;
};

for (const name of zooNames()) {
  test(`${name}: reference run gives finite outputs with sane spread`, () => {
    const g = model(name);
    const t0 = performance.now();
    const [out] = runReference(g, zooInputs(g));
    const ms = performance.now() - t0;
    outputs.set(name, out);
    const producer = g.nodes.find((n) => n.outputs.includes(g.outputs[0]))!;
    const outType = producer.types[producer.outputs.indexOf(g.outputs[0])];
    // a symbolic dim (the decoder's generated length) takes any size
    assert.equal(out.shape.map((d, i) => (typeof outType.shape[i] === 'number' ? d : outType.shape[i])), outType.shape);
    const s = stats(out);
    console.log(`  ${name}: reference ${ms.toFixed(0)} ms, output mean ${s.mean.toFixed(4)} std ${s.std.toFixed(4)} max|x| ${s.maxAbs.toFixed(3)}`);
    assert.ok(s.finite, 'all outputs finite');
    assert.ok(s.std > 0.1 && s.std < 100, `std ${s.std}`);
  });
}

test('resnet50: FLOPs and output type from type inference', () => {
  const g = model('resnet50');
  const s = summarizeGraph(g);
  assert.equal(s.outputs[0].type, { dtype: 'f32', shape: [1, 1000] });
  assert.is(s.flopsByOp.find(([op]) => op === 'Conv')![1].value, 8_174_272_512);
  assert.ok(s.flops !== null && s.flops > 8.18e9 && s.flops < 8.25e9, `total ${s.flops}`);
  assert.not.ok(s.symbolic);
});

test('mlp: matches a hand-written forward pass, and a symbolic batch computes row by row', () => {
  const g = model('mlp');
  const weights = new Map(g.constants.map((c) => [c.name, readF32(c.data!)]));
  const x = readF32(zooInputs(g).get('input')!);
  const linear = (v: Float32Array | Float64Array, layer: string, fin: number, fout: number, relu: boolean) => {
    const w = weights.get(`${layer}.weight`)!, b = weights.get(`${layer}.bias`)!;
    const out = new Float64Array(fout);
    for (let o = 0; o < fout; o++) {
      let acc = b[o];
      for (let i = 0; i < fin; i++) acc += w[o * fin + i] * v[i];
      out[o] = relu ? Math.max(0, acc) : acc;
    }
    return out;
  };
  const want = linear(linear(linear(x, 'fc1', 784, 512, true), 'fc2', 512, 256, true), 'fc3', 256, 10, false);
  const got = readF32(outputs.get('mlp') ?? runReference(g, zooInputs(g))[0]);
  for (let i = 0; i < 10; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-4 * (1 + Math.abs(want[i])), `logit ${i}: ${got[i]} vs ${want[i]}`);

  const gn = zooModel('mlp', { batch: 'N' });
  const inputs3 = zooInputs(gn, 1, 3);
  const [out3] = runReference(gn, inputs3);
  assert.equal(out3.shape, [3, 10]);
  const x3 = readF32(inputs3.get('input')!);
  const [row2] = runReference(g, new Map([['input', new Tensor('f32', [1, 784], x3.slice(2 * 784))]]));
  assert.ok(maxAbsDiff(new Tensor('f32', [1, 10], readF32(out3).slice(20)), row2) < 1e-6);
});

test('bert: fused and decomposed LayerNorm agree', () => {
  const fused = outputs.get('bert') ?? runReference(model('bert'), zooInputs(model('bert')))[0];
  const g = model('bert-decomposed');
  const dec = outputs.get('bert-decomposed') ?? runReference(g, zooInputs(g))[0];
  const d = maxAbsDiff(fused, dec);
  assert.ok(d < 1e-3, `max diff ${d}`);
});

test('bert: padded positions do not change the outputs of valid positions', () => {
  const g = model('bert');
  const inputs = zooInputs(g, 1, 1, 96);
  const base = outputs.get('bert') ?? runReference(g, inputs)[0];
  const ids = Array.from(inputs.get('input_ids')!.data as BigInt64Array, Number);
  for (let i = 96; i < 128; i++) ids[i] = (ids[i] + 500) % 1000;
  const changed = runReference(g, new Map([...inputs, ['input_ids', i64Tensor(ids, [1, 128])]]))[0];
  const hidden = 256;
  assert.ok(maxAbsDiff(base, changed, (i) => i < 96 * hidden) < 1e-5, 'valid positions unchanged');
  assert.ok(maxAbsDiff(base, changed, (i) => i >= 96 * hidden) > 0.1, 'padded positions did change');
});

test('bert: a symbolic batch build computes the same as the static one', () => {
  const g = zooModel('bert', { batch: 'N' });
  assert.equal(g.inputs[0].type.shape, ['N', 128]);
  const [out] = runReference(g, zooInputs(g));
  const base = outputs.get('bert') ?? runReference(model('bert'), zooInputs(model('bert')))[0];
  assert.ok(maxAbsDiff(out, base) < 1e-6);
});

test.run();
