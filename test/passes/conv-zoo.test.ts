/**
 * Acceptance checks of fold-conv-bn and fuse-conv-act on the zoo models, run as
 * fold-conv-bn → fold-constants → fuse-conv-act (each result verified): every BatchNormalization of
 * ResNet-50 (53) and MobileNetV2 (52) folded, every ResNet Relu (49) and MobileNetV2 Clip (35) fused
 * into a conv epilogue with all residual Adds (16 and 10), BERT's MatMul+bias (24 per variant), GELU
 * (4) and residual Adds (8) fused, and the reference outputs within 1e-4 of the original relative to
 * the largest |output|.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Graph, Node } from '../../compiler/ir/graph.ts';
import { readF32 } from '../../compiler/ir/tensor.ts';
import '../../compiler/passes/all.ts';
import { foldConvBnPass } from '../../compiler/passes/fold-conv-bn.ts';
import { fuseConvActPass } from '../../compiler/passes/fuse-conv-act.ts';
import { foldConstantsPass } from '../../compiler/passes/fold-constants.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { type PassRun, runPass, zooBaseline } from './canonical-helpers.ts';

interface Compiled { folded: PassRun; fused: PassRun; graph: Graph }

/** Runs fold-conv-bn, fold-constants and fuse-conv-act on zoo model `name`; checks the outputs. */
function compile(name: string): Compiled {
  const base = zooBaseline(name);
  const folded = runPass(foldConvBnPass, base.graph);
  const constants = runPass(foldConstantsPass, folded.graph);
  const fused = runPass(fuseConvActPass, constants.graph);
  const outs = runReference(fused.graph, base.inputs);
  outs.forEach((got, k) => {
    const a = readF32(base.outputs[k]), b = readF32(got);
    let maxAbs = 0, maxErr = 0;
    for (let i = 0; i < a.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(a[i]));
      maxErr = Math.max(maxErr, Math.abs(a[i] - b[i]));
    }
    assert.ok(Number.isFinite(maxErr) && maxErr <= 1e-4 * maxAbs, `${name} output ${k}: max error ${maxErr} vs max |output| ${maxAbs}`);
  });
  return { folded, fused, graph: fused.graph };
}

const count = (g: Graph, op: string) => g.nodes.filter((n) => n.op === op).length;
const epilogue = (n: Node): readonly string[] => {
  const a = n.attrs.epilogue;
  return a && a.kind === 'strings' ? a.value : [];
};
const withStep = (g: Graph, op: string, step: string) => g.nodes.filter((n) => n.op === op && epilogue(n).includes(step)).length;

test('resnet50: 53 BNs folded, every Conv fused with its Relu, all 16 residual Adds fused', () => {
  const base = zooBaseline('resnet50').graph;
  assert.is(count(base, 'BatchNormalization'), 53);
  const { folded, fused, graph } = compile('resnet50');
  assert.is(folded.stats.folded, 53);
  assert.is(folded.stats.rejected, 0);
  assert.is(count(folded.graph, 'BatchNormalization'), 0);
  assert.is(fused.stats.relu, 49);
  assert.is(fused.stats.add, 16);
  assert.is(fused.stats.rejected, 0);
  for (const op of ['Relu', 'Add', 'BatchNormalization']) assert.is(count(graph, op), 0, `${op} left`);
  assert.is(withStep(graph, 'kiln.conv', 'relu'), 49);
  assert.is(withStep(graph, 'kiln.conv', 'add'), 16);
  assert.equal([...new Set(graph.nodes.filter((n) => n.op === 'kiln.conv').map((n) => epilogue(n).join('+')))].sort(), ['add+relu', 'relu']);
  // the 4 Convs left are the downsample blocks' main-branch convs, read as the residual of the downsample kiln.conv
  const plain = graph.nodes.filter((n) => n.op === 'Conv');
  assert.is(plain.length, 4);
  const residuals = new Set(graph.nodes.filter((n) => n.op === 'kiln.conv').map((n) => n.inputs[3]));
  for (const c of plain) assert.ok(residuals.has(c.outputs[0]), `${c.outputs[0]} is a residual`);
  // provenance: a bottleneck's last fused conv lists conv, BN, Add and Relu in graph order
  const last = graph.nodes.find((n) => n.loc.includes('/layer1/layer1.1/Add'))!;
  assert.equal(last.loc, ['/layer1/layer1.1/conv3/Conv', '/layer1/layer1.1/bn3/BatchNormalization', '/layer1/layer1.1/Add', '/layer1/layer1.1/relu_2/Relu']);
});

test('mobilenetv2: all BNs folded, all 35 Clips (ReLU6) fused, 10 residual Adds fused', () => {
  const base = zooBaseline('mobilenetv2').graph;
  const { folded, fused, graph } = compile('mobilenetv2');
  assert.is(folded.stats.folded, count(base, 'BatchNormalization'));
  assert.is(count(base, 'BatchNormalization'), 52);
  assert.is(fused.stats.clip, count(base, 'Clip'));
  assert.is(count(base, 'Clip'), 35);
  assert.is(fused.stats.add, 10);
  for (const op of ['Clip', 'Add', 'BatchNormalization']) assert.is(count(graph, op), 0, `${op} left`);
  const clips = graph.nodes.filter((n) => epilogue(n).includes('clip'));
  assert.ok(clips.every((n) => n.attrs.clip_min?.value === 0 && n.attrs.clip_max?.value === 6), 'ReLU6 bounds');
  assert.is(withStep(graph, 'kiln.conv', 'add'), 10);
});

for (const name of ['bert', 'bert-decomposed']) {
  test(`${name}: MatMul + bias fused (24), GELU recognised from its Erf form and fused (4), residual Adds fused (8)`, () => {
    const { fused, graph } = compile(name);
    assert.is(fused.stats.matmul, 24);
    assert.is(fused.stats.bias, 24);
    assert.is(fused.stats.gelu, 4);
    assert.is(fused.stats['gelu-erf-pattern'], 4);
    assert.is(fused.stats.add, 8);
    assert.is(count(graph, 'Erf'), 0);
    assert.is(withStep(graph, 'kiln.matmul', 'gelu'), 4);
    assert.is(withStep(graph, 'kiln.matmul', 'add'), 8);
    // attention's two activation x activation MatMuls stay plain
    assert.is(count(graph, 'MatMul'), 8);
  });
}

test.run();
