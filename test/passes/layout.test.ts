/**
 * Direct tests of the layout pass on the zoo: ResNet-50 and MobileNetV2 end up with exactly one
 * Transpose after the input and one before Flatten, every Conv/pool/BN converted, and outputs equal to
 * the NCHW graph within 1e-5 relative (in fact bit for bit); also after fold-conv-bn + fuse-conv-act
 * (kiln.conv with residuals). Models without convolutions are left alone, and a second run changes
 * nothing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Graph } from '../../compiler/ir/graph.ts';
import { producers } from '../../compiler/ir/graph.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { compareTensors } from '../../compiler/runtime/compare.ts';
import '../../compiler/passes/all.ts';
import { findPass } from '../../compiler/passes/pass.ts';
import { layoutPass } from '../../compiler/passes/layout.ts';
import { checkZoo, runPass, zooBaseline } from './canonical-helpers.ts';

const count = (g: Graph, op: string) => g.nodes.filter((n) => n.op === op).length;

/** Asserts the graph has one Transpose reading the graph input and one feeding Flatten, nothing else NCHW. */
function assertTwoTransposes(g: Graph): void {
  const transposes = g.nodes.filter((n) => n.op === 'Transpose');
  assert.is(transposes.length, 2);
  assert.is(transposes[0].inputs[0], g.inputs[0].name);
  assert.equal(transposes[0].attrs.perm.value, [0, 2, 3, 1]);
  const flatten = g.nodes.find((n) => n.op === 'Flatten')!;
  assert.is(producers(g).get(flatten.inputs[0]), transposes[1]);
  assert.equal(transposes[1].attrs.perm.value, [0, 3, 1, 2]);
}

test('resnet50: 2 Transposes, all 53 Convs, 53 BNs and the pools in NHWC, outputs unchanged', () => {
  const r = checkZoo(layoutPass, 'resnet50');
  assertTwoTransposes(r.graph);
  assert.is(count(r.graph, 'kiln.conv_nhwc'), 53);
  assert.is(count(r.graph, 'kiln.batchnorm_nhwc'), 53);
  assert.is(count(r.graph, 'kiln.maxpool_nhwc'), 1);
  assert.is(count(r.graph, 'kiln.globalaveragepool_nhwc'), 1);
  assert.is(count(r.graph, 'Conv') + count(r.graph, 'BatchNormalization'), 0);
  assert.equal(r.stats, { converted: 173, transposes: 2, cancelled: 0, 'constants-permuted': 0 });
  assert.is(r.after, r.before + 2);
});

test('mobilenetv2: 2 Transposes, depthwise convs and Clip in NHWC, outputs unchanged', () => {
  const r = checkZoo(layoutPass, 'mobilenetv2');
  assertTwoTransposes(r.graph);
  assert.is(count(r.graph, 'kiln.conv_nhwc'), 52);
  assert.ok(r.graph.nodes.filter((n) => n.op === 'Clip').every((n) => n.outputs[0].endsWith('.nhwc')));
});

test('after fold-conv-bn and fuse-conv-act: kiln.conv (residual included) runs NHWC, outputs within 1e-5 of the original', () => {
  const prepare = (g: Graph) => {
    let out = g;
    for (const name of ['fold-conv-bn', 'fold-constants', 'fuse-conv-act']) out = runPass(findPass(name)!, out).graph;
    return out;
  };
  for (const model of ['resnet50', 'mobilenetv2']) {
    const base = zooBaseline(model);
    const input = prepare(base.graph);
    const r = runPass(layoutPass, input);
    assertTwoTransposes(r.graph);
    assert.is(count(r.graph, 'kiln.conv'), 0, `${model}: every kiln.conv converted`);
    assert.ok(count(r.graph, 'kiln.conv_epilogue_nhwc') > 40);
    const why = compareTensors(runReference(r.graph, base.inputs)[0], base.outputs[0], { rtol: 1e-5, atol: 1e-5 });
    assert.is(why, undefined, `${model}: ${why}`);
  }
});

test('bert and mlp have no convolutions: nothing changes; a second run on resnet50 changes nothing', () => {
  for (const model of ['bert', 'mlp']) {
    const g = zooBaseline(model).graph;
    assert.is(runPass(layoutPass, g).graph, g);
  }
  const once = runPass(layoutPass, zooBaseline('resnet50').graph).graph;
  assert.is(runPass(layoutPass, once).graph, once);
});

test.run();
