/**
 * ONNX import of control flow: subgraph attributes become regions that read outer values (a node
 * whose region reads a value is ordered after its producer, even when the file lists it first), the
 * batched Scan of opset 8 becomes two nested opset-9 Scans, export writes the regions back, and
 * unsupported parts are refused naming the node.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { importOnnx } from '../../compiler/import/onnx/import.ts';
import { exportOnnx } from '../../compiler/import/onnx/export.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { Tensor, readNumbers } from '../../compiler/ir/tensor.ts';
import { regionsOf } from '../../compiler/ir/graph.ts';
import { printGraph } from '../../compiler/ir/print.ts';
import { collectGraphErrors } from '../../compiler/ir/verify.ts';
import { KilnError } from '../../compiler/errors.ts';
import { attr, modelBytes, node, subgraph, value } from './onnx-build.ts';

const F32 = 1, BOOL = 9;

/** If(c) { then: x * k } else { -x }, where k is computed by a node the file lists after the If. */
function ifModel() {
  return modelBytes({
    nodes: [
      node('If', ['c'], ['y'], [
        attr.graph('then_branch', subgraph('yes', [node('Mul', ['x', 'k'], ['t'], [], 'scale')], [], [value('t', F32, [3])])),
        attr.graph('else_branch', subgraph('no', [node('Neg', ['x'], ['e'], [], 'negate')], [], [value('e', F32, [3])])),
      ], 'branch'),
      node('Add', ['x', 'x'], ['k'], [], 'double'),
    ],
    inputs: [value('x', F32, [3]), value('c', BOOL, [])],
    outputs: [value('y', F32, [3])],
  });
}

test('an If whose branch reads a later-listed outer value imports in dependency order and runs both ways', () => {
  const g = importOnnx(ifModel());
  assert.equal(g.nodes.map((n) => n.op), ['Add', 'If'], 'the producer of %k moves before the If that reads it');
  assert.equal(collectGraphErrors(g), []);
  const regions = regionsOf(g.nodes[1]);
  assert.equal(regions.map(([name, r]) => [name, r.nodes.map((n) => n.loc[0])]), [['else_branch', ['negate']], ['then_branch', ['scale']]]);
  const x = Tensor.fromNumbers('f32', [3], [1, 2, 3]);
  const run = (c: number) => [...readNumbers(runReference(g, { x, c: new Tensor('bool', [], Uint8Array.of(c)) })[0])];
  assert.equal(run(1), [2, 8, 18]);
  assert.equal(run(0), [-1, -2, -3]);
});

test('export writes regions back as subgraphs: import(export(g)) prints the same', () => {
  const g = importOnnx(ifModel());
  const again = importOnnx(exportOnnx(g, { opset: 17 }));
  assert.is(printGraph(again).replace(/loc\("[^"]*"\)/g, ''), printGraph(g).replace(/loc\("[^"]*"\)/g, ''));
});

test('Scan before opset 9 (batched) imports as a Scan over the batch holding a Scan over each sequence', () => {
  const body = subgraph('sum', [node('Add', ['acc', 'row'], ['next']), node('Identity', ['next'], ['out'])],
    [value('acc', F32, [2]), value('row', F32, [2])], [value('next', F32, [2]), value('out', F32, [2])]);
  const g = importOnnx(modelBytes({
    opset: 8,
    nodes: [node('Scan', ['', 'init', 'xs'], ['last', 'all'], [attr.graph('body', body), attr.int('num_scan_inputs', 1), attr.ints('directions', [1])], 'scan8')],
    inputs: [value('init', F32, [2, 2]), value('xs', F32, [2, 3, 2])],
    outputs: [value('last', F32, [2, 2]), value('all', F32, [2, 3, 2])],
  }));
  const [[, entry]] = regionsOf(g.nodes[0]);
  assert.equal(entry.nodes.map((n) => n.op), ['Scan'], 'the batch entry holds the sequence Scan');
  assert.equal(g.nodes[0].types.map((t) => t.shape), [[2, 2], [2, 3, 2]]);
  const [last, all] = runReference(g, {
    init: Tensor.fromNumbers('f32', [2, 2], [0, 0, 100, 100]),
    xs: Tensor.fromNumbers('f32', [2, 3, 2], [1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60]),
  });
  assert.equal([...readNumbers(last)], [9, 12, 190, 220]);
  // directions=[1]: each sequence read from its end
  assert.equal([...readNumbers(all)], [5, 6, 8, 10, 9, 12, 150, 160, 180, 200, 190, 220]);
});

test('refusals name the node: Scan-8 with sequence_lens, a region result nothing defines', () => {
  const body = subgraph('b', [node('Identity', ['a'], ['o'])], [value('a', F32, [2])], [value('o', F32, [2])]);
  try {
    importOnnx(modelBytes({
      opset: 8,
      nodes: [node('Scan', ['lens', 's'], ['o'], [attr.graph('body', body), attr.int('num_scan_inputs', 0)], 'scan8')],
      inputs: [value('lens', 6, [1]), value('s', F32, [1, 2])], outputs: [value('o', F32, [1, 2])],
    }), { file: 'm.onnx' });
    assert.unreachable('sequence_lens must be refused');
  } catch (e) {
    assert.instance(e, KilnError);
    assert.match((e as Error).message, "m.onnx, node 'scan8', op Scan: Scan before opset 9 with sequence_lens");
  }
  const broken = subgraph('bad', [node('Neg', ['x'], ['n'])], [], [value('missing', F32, [3])]);
  try {
    importOnnx(modelBytes({
      nodes: [node('If', ['c'], ['y'], [attr.graph('then_branch', broken), attr.graph('else_branch', broken)], 'branch')],
      inputs: [value('x', F32, [3]), value('c', BOOL, [])], outputs: [value('y', F32, [3])],
    }), { file: 'm.onnx' });
    assert.unreachable('an undefined region result must be refused');
  } catch (e) {
    assert.match((e as Error).message, "region 'bad' result 'missing' is not produced by any node");
  }
});

test.run();
