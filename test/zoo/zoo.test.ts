/**
 * Model zoo structure: node and op counts, node/weight naming as the PyTorch exporter writes it,
 * parameter counts against the published numbers, seed determinism, the registry's errors, and the
 * GraphBuilder and PRNG the zoo is built on. Type inference is skipped here (structure only), so
 * these tests do not depend on the op kernels.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Graph, type Node, hasRegions } from '../../compiler/ir/graph.ts';
import { KilnError } from '../../compiler/errors.ts';
import { readF32, Tensor } from '../../compiler/ir/tensor.ts';
import { isZooRef, zooModel, zooNames } from '../../compiler/zoo/index.ts';
import { GraphBuilder, float, floats, ints, toAttrValue } from '../../compiler/zoo/builder.ts';
import { torchScope } from '../../compiler/zoo/layers.ts';
import { Rng, WeightFactory } from '../../compiler/zoo/random.ts';
import { summarizeGraph } from '../../compiler/zoo/summary.ts';

const structure = new Map<string, Graph>();
/** Each model built once, without type inference. */
function model(name: string): Graph {
  let g = structure.get(name);
  if (!g) structure.set(name, (g = zooModel(name, { inferTypes: false })));
  return g;
}
const opCounts = (g: Graph) => {
  const m: Record<string, number> = {};
  for (const n of g.nodes) m[n.op] = (m[n.op] ?? 0) + 1;
  return m;
};
const byName = (g: Graph, loc: string): Node => {
  const n = g.nodes.find((x) => x.loc[0] === loc);
  if (!n) throw new Error(`no node ${loc}`);
  return n;
};
const constant = (g: Graph, name: string) => {
  const c = g.constants.find((x) => x.name === name);
  if (!c) throw new Error(`no constant ${name}`);
  return c;
};
const attr = (n: Node, name: string) => n.attrs[name]?.value;
const stats = (t: Tensor) => {
  const d = readF32(t);
  let s = 0, s2 = 0;
  for (const v of d) { s += v; s2 += v * v; }
  const mean = s / d.length;
  return { mean, std: Math.sqrt(s2 / d.length - mean * mean) };
};

test('registry lists the models and resolves zoo: references', () => {
  assert.equal(zooNames(), ['resnet50', 'mobilenetv2', 'bert', 'bert-decomposed', 'mlp', 'decoder']);
  assert.equal(zooNames({ controlFlow: true }), ['decoder']);
  assert.equal(zooNames({ controlFlow: false }), ['resnet50', 'mobilenetv2', 'bert', 'bert-decomposed', 'mlp']);
  for (const name of zooNames()) assert.is(hasRegions(model(name)), zooNames({ controlFlow: true }).includes(name), `${name}: the controlFlow flag says whether it has regions`);
  assert.ok(isZooRef('zoo:resnet50'));
  assert.not.ok(isZooRef('resnet50.onnx'));
  assert.is(zooModel('zoo:mlp', { inferTypes: false }).name, 'mlp');
});

test('unknown zoo name is a KilnError listing the available models', () => {
  try {
    zooModel('zoo:resnet18');
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, KilnError);
    assert.match((e as Error).message, "unknown zoo model 'resnet18'; available: resnet50, mobilenetv2, bert, bert-decomposed, mlp, decoder");
  }
  assert.throws(() => zooModel('toString'), /unknown zoo model 'toString'/);
});

test('resnet50: torchvision layout, op counts and parameter count', () => {
  const g = model('resnet50');
  assert.equal(opCounts(g), { Conv: 53, BatchNormalization: 53, Relu: 49, MaxPool: 1, Add: 16, GlobalAveragePool: 1, Flatten: 1, Gemm: 1 });
  assert.equal(g.inputs, [{ name: 'input', type: { dtype: 'f32', shape: [1, 3, 224, 224] } }]);
  assert.equal(g.outputs, ['output']);
  assert.is(g.nodes[0].loc[0], '/conv1/Conv');
  assert.equal(attr(g.nodes[0], 'kernel_shape'), [7, 7]);
  assert.equal(attr(g.nodes[0], 'strides'), [2, 2]);
  assert.equal(attr(g.nodes[0], 'pads'), [3, 3, 3, 3]);
  const pool = byName(g, '/maxpool/MaxPool');
  assert.equal([attr(pool, 'kernel_shape'), attr(pool, 'strides'), attr(pool, 'pads')], [[3, 3], [2, 2], [1, 1, 1, 1]]);
  // v1.5: the stride sits on the 3x3 conv of the first block of a stage
  assert.equal(attr(byName(g, '/layer2/layer2.0/conv1/Conv'), 'strides'), [1, 1]);
  assert.equal(attr(byName(g, '/layer2/layer2.0/conv2/Conv'), 'strides'), [2, 2]);
  assert.equal(attr(byName(g, '/layer2/layer2.0/downsample/downsample.0/Conv'), 'strides'), [2, 2]);
  assert.equal(constant(g, 'layer2.0.conv2.weight').type.shape, [128, 128, 3, 3]);
  assert.equal(constant(g, 'layer4.2.conv3.weight').type.shape, [2048, 512, 1, 1]);
  assert.equal(constant(g, 'fc.weight').type.shape, [1000, 2048]);
  assert.is(g.nodes.filter((n) => n.loc[0]?.includes('/downsample/')).length, 8);
  const add = byName(g, '/layer3/layer3.5/Add');
  assert.is(byName(g, '/layer3/layer3.5/relu_2/Relu').inputs[0], add.outputs[0]);
  const fc = g.nodes[g.nodes.length - 1];
  assert.is(fc.loc[0], '/fc/Gemm');
  assert.equal(fc.outputs, ['output']);
  assert.equal(fc.attrs.transB, { kind: 'int', value: 1 });
  assert.equal(fc.attrs.alpha, { kind: 'float', value: 1 });
  const s = summarizeGraph(g);
  assert.is(s.params, 25_557_032);
  assert.is(s.buffers, 2 * 26_560); // running mean + var of the 53 BNs (26,560 channels)
  // intermediates are numbered in graph order
  assert.equal(g.nodes.slice(0, 3).map((n) => n.outputs[0]), ['0', '1', '2']);
});

test('resnet50 with a symbolic batch', () => {
  const g = zooModel('resnet50', { batch: 'N', inferTypes: false });
  assert.equal(g.inputs[0].type.shape, ['N', 3, 224, 224]);
});

test('mobilenetv2: inverted residuals, depthwise convs, ReLU6 as Clip, parameter count', () => {
  const g = model('mobilenetv2');
  assert.equal(opCounts(g), { Conv: 52, BatchNormalization: 52, Clip: 35, Add: 10, GlobalAveragePool: 1, Flatten: 1, Gemm: 1 });
  assert.is(summarizeGraph(g).params, 3_504_872);
  const dw = byName(g, '/features/features.2/conv/conv.1/conv.1.0/Conv');
  assert.is(attr(dw, 'group'), 96);
  assert.equal(attr(dw, 'strides'), [2, 2]);
  assert.equal(constant(g, 'features.2.conv.1.0.weight').type.shape, [96, 1, 3, 3]);
  // t = 1 block has no expansion conv: conv.0 is the depthwise conv, conv.1 the projection
  assert.is(attr(byName(g, '/features/features.1/conv/conv.0/conv.0.0/Conv'), 'group'), 32);
  assert.equal(constant(g, 'features.1.conv.1.weight').type.shape, [16, 32, 1, 1]);
  const clip = byName(g, '/features/features.0/features.0.2/Clip');
  const [lo, hi] = clip.inputs.slice(1).map((n) => readF32(constant(g, n).data!)[0]);
  assert.equal([lo, hi], [0, 6]);
  const adds = g.nodes.filter((n) => n.op === 'Add').map((n) => n.loc[0]);
  assert.equal(adds, [3, 5, 6, 8, 9, 10, 12, 13, 15, 16].map((i) => `/features/features.${i}/Add`));
  assert.equal(constant(g, 'features.18.0.weight').type.shape, [1280, 320, 1, 1]);
  assert.equal(constant(g, 'classifier.1.weight').type.shape, [1000, 1280]);
});

test('bert: encoder layout as the Hugging Face export writes it', () => {
  const g = model('bert');
  assert.equal(opCounts(g), {
    Gather: 3, Add: 42, LayerNormalization: 9, Unsqueeze: 2, Cast: 1, Sub: 1, Mul: 9, MatMul: 32, Reshape: 16,
    Transpose: 16, Div: 8, Softmax: 4, Erf: 4,
  });
  assert.equal(g.inputs.map((i) => [i.name, i.type]), [
    ['input_ids', { dtype: 'i64', shape: [1, 128] }], ['attention_mask', { dtype: 'i64', shape: [1, 128] }]]);
  assert.equal(g.outputs, ['last_hidden_state']);
  // 1000*256 + 512*256 + 2*256 + 2*256 embeddings; per layer 4*(256*256+256) + 2*(256*1024) + 1024 + 256 + 4*256
  assert.is(summarizeGraph(g).params, 388_096 + 4 * 789_760);
  const self = '/encoder/layer.2/attention/self';
  assert.equal(attr(byName(g, `${self}/Transpose`), 'perm'), [0, 2, 1, 3]);
  assert.equal(attr(byName(g, `${self}/Transpose_1`), 'perm'), [0, 2, 3, 1]);
  const div = byName(g, `${self}/Div`);
  assert.is(readF32(constant(g, div.inputs[1]).data!)[0], 8);
  assert.is(byName(g, `${self}/Add`).inputs[1], byName(g, '/Mul').outputs[0]);
  assert.equal(attr(byName(g, `${self}/Softmax`), 'axis'), -1);
  for (const op of ['Div', 'Erf', 'Add', 'Mul', 'Mul_1']) byName(g, `/encoder/layer.0/intermediate/intermediate_act_fn/${op}`);
  const ln = byName(g, '/encoder/layer.3/output/LayerNorm/LayerNormalization');
  assert.equal(ln.outputs, ['last_hidden_state']);
  assert.is(attr(ln, 'epsilon'), Math.fround(1e-12), 'float attributes are f32 values');
  assert.equal(constant(g, 'encoder.layer.1.intermediate.dense.weight').type.shape, [256, 1024]);
});

test('bert-decomposed writes every LayerNorm as primitive ops', () => {
  const g = model('bert-decomposed');
  const c = opCounts(g);
  assert.is(c.LayerNormalization, undefined);
  assert.equal([c.ReduceMean, c.Pow, c.Sqrt, c.Sub], [18, 9, 9, 10]);
  const seq = g.nodes.filter((n) => n.loc[0]?.startsWith('/embeddings/LayerNorm/')).map((n) => n.loc[0].split('/').pop());
  assert.equal(seq, ['ReduceMean', 'Sub', 'Pow', 'ReduceMean_1', 'Add', 'Sqrt', 'Div', 'Mul', 'Add_1']);
  assert.is(summarizeGraph(g).params, summarizeGraph(model('bert')).params);
  assert.equal(g.nodes[g.nodes.length - 1].outputs, ['last_hidden_state']);
});

test('mlp: three Gemms, two Relus', () => {
  const g = model('mlp');
  assert.equal(g.nodes.map((n) => `${n.op} ${n.loc[0]}`), ['Gemm /fc1/Gemm', 'Relu /Relu', 'Gemm /fc2/Gemm', 'Relu /Relu_1', 'Gemm /fc3/Gemm']);
  assert.equal(g.outputs, ['logits']);
  assert.is(summarizeGraph(g).params, 784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10);
});

test('decoder: an If on the prompt length, a Scan prefill and a Loop whose body stops at EOS', () => {
  const g = model('decoder');
  assert.equal(g.inputs, [
    { name: 'prompt', type: { dtype: 'i64', shape: [1, 'P'] } }, { name: 'max_new_tokens', type: { dtype: 'i64', shape: [] } }]);
  assert.equal(g.outputs, ['tokens', 'logits', 'hidden', 'hidden_states']);
  assert.equal(opCounts(g), { Shape: 1, Gather: 3, Greater: 1, If: 1, Scan: 1, SequenceConstruct: 1, Loop: 1, ConcatFromSequence: 1 });
  const regions = (n: Node) => Object.entries(n.attrs).filter(([, a]) => a.kind === 'graph').map(([k, a]) => [k, (a.value as Graph)]);
  const iff = byName(g, '/If');
  assert.equal(regions(iff).map(([k, r]) => [k, (r as Graph).nodes.map((n) => n.op)]), [['then_branch', ['Slice']], ['else_branch', ['Identity']]]);
  const loop = byName(g, '/Loop');
  assert.equal(loop.outputs, ['hidden', '54', '55', 'tokens', 'logits']);
  const body = loop.attrs.body.value as Graph;
  assert.equal(body.inputs.map((i) => i.name), ['step', 'cond_in', 'h', 'token', 'states']);
  assert.equal(body.inputs[4].type, { dtype: 'f32', shape: [1, 64], container: 'seq' });
  assert.equal(opCounts(body), { Gather: 1, Gemm: 3, Split: 2, Add: 4, Sigmoid: 2, Mul: 2, Tanh: 1, Sub: 1, ArgMax: 1, Squeeze: 1, Equal: 1, Not: 1, Identity: 1, SequenceInsert: 1 });
  // the condition the body returns is Not(Equal(token, eos)): data-dependent
  const cond = body.nodes.find((n) => n.outputs[0] === body.outputs[0])!;
  assert.is(cond.op, 'Not');
  // the weights are the top graph's, read by both GRU bodies as outer values
  const scanBody = byName(g, '/Scan').attrs.body.value as Graph;
  assert.equal([body.constants, scanBody.constants], [[], []]);
  assert.ok(scanBody.nodes.some((n) => n.inputs.includes('gru.weight_hh')) && body.nodes.some((n) => n.inputs.includes('gru.weight_hh')));
  // embedding, GRU (W_ih, W_hh, biases), lm_head, and the zero initial state (a float constant)
  assert.is(summarizeGraph(g).params, 64 * 32 + 192 * 32 + 192 * 64 + 2 * 192 + 64 * 64 + 64 + 64);
});

test('GraphBuilder.region: block arguments, outer reads, one name pool, scoped visibility', () => {
  const b = new GraphBuilder();
  const x = b.input('x', 'f32', [2]);
  const one = b.scalar('one', 1);
  let inner = '';
  const then = b.region('then', [], (r) => [(inner = r.op('Add', [x, one], {}, { name: r.nodeName('/t', 'Add') }))]);
  const other = b.region('else', [], (r) => [r.op('Identity', [x], {}, { name: r.nodeName('/t', 'Add') })]);
  const c = b.op('Greater', [b.op('ReduceSum', [x]), one]);
  const y = b.op('If', [c], { then_branch: then, else_branch: other }, { name: 'if' });
  b.output(y);
  const g = b.build('g');
  const thenG = then.value as Graph, elseG = other.value as Graph;
  // %N numbering and node names are shared with the regions, so names are unique across scopes
  assert.equal([thenG.nodes[0].outputs, elseG.nodes[0].outputs, g.nodes.map((n) => n.outputs[0])], [['0'], ['1'], ['2', '3', '4']]);
  assert.equal([thenG.nodes[0].loc, elseG.nodes[0].loc], [['/t/Add'], ['/t/Add_1']]);
  assert.equal(thenG.outputs, [inner]);
  assert.equal(g.nodes[2].types, [{ dtype: 'f32', shape: [2] }], 'inference types the If through its regions');
  // a region's values are not visible outside it; a region's args are declared inputs
  assert.throws(() => b.op('Relu', [inner]), /undefined value '0'/);
  assert.throws(() => b.region('dup', [{ name: 'x', dtype: 'f32', shape: [] }], () => []), /'x' is defined twice/);
  const body = b.region('body', [{ name: 'i', dtype: 'i64', shape: [] }, { name: 'c', dtype: 'bool', shape: [] }], (r, [, cond]) => [cond]);
  assert.equal((body.value as Graph).inputs.map((i) => i.name), ['i', 'c']);
  assert.throws(() => b.region('bad', [], (r) => [r.op('Neg', ['nope'])]), /undefined value 'nope'/);
  // a null output name is the next %N
  assert.equal(b.node('Split', [x], { axis: 0, num_outputs: 2 }, { outputs: ['first', null] }), ['first', '5']);
});

test('weights are deterministic per seed and scaled He-style', () => {
  const hashes = (g: Graph) => g.constants.map((c) => c.hash);
  const a = zooModel('mlp', { seed: 3, inferTypes: false }), b = zooModel('mlp', { seed: 3, inferTypes: false });
  const c = zooModel('mlp', { seed: 4, inferTypes: false });
  assert.equal(hashes(a), hashes(b));
  assert.ok(hashes(a).every((h, i) => h !== hashes(c)[i]));
  const w = stats(constant(a, 'fc1.weight').data!);
  assert.ok(Math.abs(w.mean) < 0.002, `mean ${w.mean}`);
  assert.ok(Math.abs(w.std - Math.sqrt(2 / 784)) < 0.001, `std ${w.std}`);
  // a weight depends on (seed, name) only, not on the model it sits in
  const r1 = model('resnet50'), r2 = zooModel('resnet50', { inferTypes: false, batch: 'N' });
  assert.is(constant(r1, 'layer3.1.conv2.weight').hash, constant(r2, 'layer3.1.conv2.weight').hash);
  const bnVar = readF32(constant(r1, 'layer1.0.bn1.running_var').data!);
  assert.ok(bnVar.every((v) => v >= 0.5 && v <= 1.5));
  const gamma3 = stats(constant(r1, 'layer1.0.bn3.weight').data!);
  assert.ok(Math.abs(gamma3.mean - 0.2) < 0.02, `residual gamma ${gamma3.mean}`);
});

test('Rng: SplitMix32 values, uniform range, normal moments, fillNormal = normal()', () => {
  const r = new Rng(0);
  // murmur3 fmix32 of the golden-ratio counter 0x9e3779b9 * k (computed independently in Python)
  assert.equal([r.nextU32(), r.nextU32()], [2462723854, 1020716019]);
  const u = new Rng(1);
  let lo = 1, hi = 0;
  for (let i = 0; i < 10000; i++) { const x = u.uniform(); lo = Math.min(lo, x); hi = Math.max(hi, x); }
  assert.ok(lo >= 0 && lo < 0.001 && hi < 1 && hi > 0.999);
  const n = new WeightFactory(5).normal('w', [200_000], 2, 1);
  const s = stats(n);
  assert.ok(Math.abs(s.mean - 1) < 0.02 && Math.abs(s.std - 2) < 0.02, JSON.stringify(s));
  for (const len of [0, 1, 2, 7]) {
    for (const skip of [0, 1]) {
      const a = new Rng(9), b = new Rng(9);
      for (let k = 0; k < skip; k++) { a.normal(); b.normal(); }
      const out = new Float32Array(len);
      a.fillNormal(out, 0, 1);
      assert.equal([...out], [...Float32Array.from({ length: len }, () => b.normal())]);
      assert.is(a.normal(), b.normal());
    }
  }
});

test('torchScope names modules as the PyTorch exporter does', () => {
  assert.is(torchScope('layer1.0.conv1'), '/layer1/layer1.0/conv1');
  assert.is(torchScope('features.1.conv.0.0'), '/features/features.1/conv/conv.0/conv.0.0');
  assert.is(torchScope('encoder.layer.0.attention.self', ['layer']), '/encoder/layer.0/attention/self');
  assert.is(torchScope(''), '');
});

test('GraphBuilder: attribute conversion, value naming, node names, errors', () => {
  assert.equal(toAttrValue(3), { kind: 'int', value: 3 });
  assert.equal(toAttrValue(0.5), { kind: 'float', value: 0.5 });
  assert.equal(toAttrValue('NOTSET'), { kind: 'string', value: 'NOTSET' });
  assert.equal(toAttrValue([1, 2]), { kind: 'ints', value: [1, 2] });
  assert.equal(toAttrValue([1, 2.5]), { kind: 'floats', value: [1, 2.5] });
  assert.equal(toAttrValue(['a']), { kind: 'strings', value: ['a'] });
  assert.equal(float(1), { kind: 'float', value: 1 });
  assert.equal(floats([1, 2]), { kind: 'floats', value: [1, 2] });
  assert.equal(ints([]), { kind: 'ints', value: [] });
  const t = Tensor.scalar('f32', 2);
  assert.equal(toAttrValue(t), { kind: 'tensor', value: t });

  const b = new GraphBuilder();
  const x = b.input('x', 'f32', ['N', 4]);
  const w = b.constant('w', Tensor.fromNumbers('f32', [4], [1, 2, 3, 4]));
  const y = b.op('Mul', [x, w], {}, { name: b.nodeName('/m', 'Mul') });
  const parts = b.node('Split', [y, ''], { axis: 1 }, { name: b.nodeName('/m', 'Split'), outputs: 2 });
  const z = b.op('Add', parts, { alpha: float(1) }, { name: b.nodeName('/m', 'Mul'), outputs: ['z'] });
  b.output(z);
  const g = b.build('t', { inferTypes: false });
  assert.equal(g.nodes.map((n) => n.outputs), [['0'], ['1', '2'], ['z']]);
  assert.equal(g.nodes.map((n) => n.loc), [['/m/Mul'], ['/m/Split'], ['/m/Mul_1']]);
  assert.equal(g.nodes[1].inputs, ['0', '']);
  assert.equal(g.constants[0].type, { dtype: 'f32', shape: [4] });
  assert.is(g.constants[0].hash.length, 64);
  assert.equal(g.outputs, ['z']);
  assert.throws(() => b.op('Relu', ['nope']), /undefined value 'nope'/);
  assert.throws(() => b.input('x', 'f32', [1]), /defined twice/);
  assert.throws(() => b.output('missing'), /not defined/);
});

test.run();
