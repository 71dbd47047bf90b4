/**
 * Timing runs of the reference executor (compiler/runtime/timings.ts): medians, shares, by-op sums
 * and GFLOP/s on hand-made timings; NodeTimer on a real graph (one sample per node per run, nodes in
 * graph order with provenance and the summary's FLOPs); timeRun and the outputs table.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NodeTimings, NodeTimer, median, timeNodes, timeRun, outputsTable } from '../../compiler/runtime/timings.ts';
import { randomInputs, tensorStats } from '../../compiler/runtime/inputs.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { zooModel } from '../../compiler/zoo/index.ts';
import { Tensor } from '../../compiler/ir/tensor.ts';

test('median', () => {
  assert.is(median([3, 1, 2]), 2);
  assert.is(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

const hand = new NodeTimings('g', [
  { index: 0, node: 'a', op: 'Conv', ms: 6, flops: 12e6, provenance: ['/conv'] },
  { index: 1, node: 'b', op: 'Relu', ms: 1, flops: 0, provenance: [] },
  { index: 2, node: 'c', op: 'Conv', ms: 2, flops: 4e6, provenance: ['/conv2'] },
  { index: 3, node: 'd', op: 'Add', ms: 1, flops: 1000, provenance: ['/add'] },
], [11, 12, 10], []);

test('hand-made timings: totals, shares, top, by op', () => {
  assert.is(hand.repeat, 3);
  assert.is(hand.totalMs, 11);
  assert.is(hand.nodeMs, 10);
  assert.equal(hand.top(2).map((n) => n.node), ['a', 'c']);
  assert.equal(hand.byOp(), [
    { op: 'Conv', count: 2, ms: 8, flops: 16e6 },
    { op: 'Add', count: 1, ms: 1, flops: 1000 },
    { op: 'Relu', count: 1, ms: 1, flops: 0 },
  ]);
  const t = hand.table();
  assert.equal(t.column('share_pct'), [60, 10, 20, 10]);
  assert.equal(t.column('gflop_per_s'), [2, null, 2, 0.001], '12e6 FLOP in 6 ms = 2 GFLOP/s; Relu has no estimate');
  assert.equal(t.column('provenance'), [['/conv'], [], ['/conv2'], ['/add']]);
  assert.is(t.title, 'node timings of g (median of 3 runs)');
  const ops = hand.opTable();
  assert.equal(ops.column('op'), ['Conv', 'Add', 'Relu']);
  assert.equal(ops.column('share_pct'), [80, 10, 10]);
  assert.equal(ops.column('gflop_per_s'), [2, 0.001, null]);
});

test('NodeTimer on zoo:mlp: a sample per node per run, graph order, FLOPs of the summary', () => {
  const g = zooModel('mlp');
  const inputs = randomInputs(g, 3);
  const timer = new NodeTimer(g, inputs, 'mlp');
  const seen: number[] = [];
  timer.runOnce((done, total) => { seen.push(done); assert.is(total, 5); });
  timer.runOnce();
  timer.runOnce();
  const t = timer.result();
  assert.equal(seen, [1, 2, 3, 4, 5]);
  assert.is(t.repeat, 3);
  assert.equal(t.nodes.map((n) => n.op), ['Gemm', 'Relu', 'Gemm', 'Relu', 'Gemm']);
  assert.equal(t.nodes.map((n) => n.index), [0, 1, 2, 3, 4]);
  assert.equal(t.nodes.map((n) => n.flops), [2 * 784 * 512 + 512, 512, 2 * 512 * 256 + 256, 256, 2 * 256 * 10 + 10]);
  assert.equal(t.nodes[0].provenance, ['/fc1/Gemm']);
  assert.ok(t.nodes.every((n) => n.ms >= 0 && Number.isFinite(n.ms)));
  const want = runReference(g, inputs)[0];
  assert.equal(tensorStats(t.outputs[0]), tensorStats(want));
  assert.is(timeNodes(g, inputs, { repeat: 2 }).repeat, 2);
});

test('timeRun and the outputs table', () => {
  const g = zooModel('mlp');
  const r = timeRun(g, randomInputs(g, 0), { repeat: 3, warmup: 1 });
  assert.is(r.times.length, 3);
  assert.is(r.minMs, Math.min(...r.times));
  assert.equal(r.names, ['logits']);
  const t = outputsTable(r);
  assert.equal(t.columnNames, ['output', 'dtype', 'shape', 'mean', 'std', 'min', 'max']);
  assert.equal(t.rows()[0].shape, '[1,10]');
  const strs = outputsTable({ names: ['s'], outputs: [new Tensor('str', [1], ['x'])], stats: [tensorStats(new Tensor('str', [1], ['x']))], times: [1], medianMs: 1, minMs: 1 });
  assert.equal(strs.rows()[0], { output: 's', dtype: 'str', shape: '[1]', mean: null, std: null, min: null, max: null });
});

test.run();
