/**
 * Timing runs of programs (compiler/runtime/timings.ts): medians, shares, by-op sums and GFLOP/s on
 * hand-made timings; the one timing loop `timeProgram` on a fake program (warm-ups, per-kernel medians,
 * hooks, abort), `nodeTimings` joining kernels to nodes, the ref program on a real graph (one kernel
 * per node, graph order with provenance and the summary's FLOPs); runTiming and the outputs table,
 * with rows for sequence outputs (shapes counted and capped, statistics over all elements) and none.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NodeTimings, median, nodeTimings, outputsTable, runTiming, timeProgram, valueShape } from '../../compiler/runtime/timings.ts';
import type { Program } from '../../compiler/runtime/backend.ts';
import { refBackend } from '../../compiler/runtime/ref-backend.ts';
import { randomInputs, tensorStats, valueStats } from '../../compiler/runtime/inputs.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { zooModel } from '../../compiler/zoo/index.ts';
import { Tensor } from '../../compiler/ir/tensor.ts';

test('median', () => {
  assert.is(median([3, 1, 2]), 2);
  assert.is(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

const hand = new NodeTimings('g', [
  { index: 0, node: 'a', op: 'Conv', ms: 6, flops: 12e6, bytes: 3e6, provenance: ['/conv'] },
  { index: 1, node: 'b', op: 'Relu', ms: 1, flops: 0, bytes: 2e6, provenance: [] },
  { index: 2, node: 'c', op: 'Conv', ms: 2, flops: 4e6, bytes: null, provenance: ['/conv2'] },
  { index: 3, node: 'd', op: 'Add', ms: 1, flops: 1000, bytes: 0, provenance: ['/add'] },
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
  assert.equal(t.column('pct_of_peak'), [null, null, null, null], 'no peak known: no percentage');
});

test('bytes, intensity and GB/s per node: appended after the old columns, null where unknown', () => {
  const t = hand.table();
  assert.equal(t.columnNames, ['index', 'node', 'op', 'ms', 'share_pct', 'flops', 'gflop_per_s', 'pct_of_peak', 'provenance', 'runs_on',
    'bytes', 'intensity', 'gb_per_s']);
  assert.equal(t.column('bytes'), [3e6, 2e6, null, 0]);
  assert.equal(t.column('intensity'), [4, 0, null, null], '12e6 FLOP over 3e6 bytes = 4 FLOP/byte; no bytes: no intensity');
  assert.equal(t.column('gb_per_s'), [0.5, 2, null, null], '3e6 bytes in 6 ms = 0.5 GB/s');
});

test('kernel table: FLOPs and bytes summed over each kernel\'s nodes, GFLOP/s and intensity after the old columns', () => {
  const kernels = [
    { kernel: 'k0', nodes: ['a', 'b'], ms: 7, samples: [7] },
    { kernel: 'k1', nodes: ['c'], ms: 2, samples: [2] },
    { kernel: 'k2', nodes: ['d', 'nowhere'], ms: 1, samples: [1] },
    { kernel: 'k3', nodes: [], ms: 1, samples: [1] },
  ];
  const t = new NodeTimings('g', hand.nodes, hand.runMs, [], 'g', null, kernels).kernelTable();
  assert.equal(t.columnNames, ['kernel', 'nodes', 'onnx', 'dispatch', 'ms', 'share_pct', 'clock', 'runs_on', 'flops', 'bytes', 'gflop_per_s', 'intensity']);
  assert.equal(t.column('flops'), [12e6, 4e6, null, null], 'a node id not in the graph, or no nodes: unknown');
  assert.equal(t.column('bytes'), [5e6, null, null, null]);
  assert.equal(t.column('gflop_per_s'), [12e6 / 7e6, 2, null, null]);
  assert.equal(t.column('intensity'), [2.4, null, null, null]);
});

test('% of peak: each rate over the device FP32 peak the program reports', () => {
  const withPeak = new NodeTimings('g', hand.nodes, hand.runMs, [], 'g', 4);
  assert.equal(withPeak.table().column('pct_of_peak'), [50, null, 50, 0.025], '2 GFLOP/s of a 4 GFLOP/s peak is 50%');
  assert.equal(withPeak.opTable().column('pct_of_peak'), [50, 0.025, null]);
});

/**
 * A fake program: kernel `k<i>` reports `msOf(run, i)` for nodes `nodesOf[i]`; records every run's options.
 */
function fakeProgram(nodesOf: string[][], msOf: (run: number, kernel: number) => number) {
  const calls: { hooked: boolean }[] = [];
  const program: Program = {
    backend: 'fake', prepareMs: 7, artifacts: [],
    async run(_inputs, opts = {}) {
      const run = calls.length;
      calls.push({ hooked: opts.onKernel !== undefined });
      nodesOf.forEach((nodes, i) => opts.onKernel?.({ kernel: `k${i}`, nodes, ms: msOf(run, i) }));
      return [Tensor.fromNumbers('f32', [1], [run])];
    },
    dispose: async () => {},
  };
  return { program, calls };
}

test('timeProgram: warm-up runs untimed, per-kernel medians over the timed runs, hooks in order', async () => {
  // runs 0-1 are warm-ups (ms 1000: they must not count); timed runs 2, 3, 4 report k0 = 5, 1, 3 and k1 = 2 each
  const { program, calls } = fakeProgram([['a'], ['b', 'c']], (run, k) => (run < 2 ? 1000 : k === 0 ? [5, 1, 3][run - 2] : 2));
  const before: string[] = [];
  const kernels: string[] = [];
  const t = await timeProgram(program, new Map(), {
    warmup: 2, repeat: 3, perKernel: true,
    beforeRun: async (r, n) => { before.push(`${r}/${n}`); },
    onKernel: (e, r) => kernels.push(`${r}:${e.kernel}`),
  });
  assert.equal(calls.map((c) => c.hooked), [false, false, true, true, true], 'warm-ups run without kernel reports');
  assert.equal(before, ['0/3', '1/3', '2/3']);
  assert.equal(kernels, ['0:k0', '0:k1', '1:k0', '1:k1', '2:k0', '2:k1']);
  assert.equal(t.kernels, [
    { kernel: 'k0', nodes: ['a'], ms: 3, samples: [5, 1, 3] },
    { kernel: 'k1', nodes: ['b', 'c'], ms: 2, samples: [2, 2, 2] },
  ]);
  assert.is(t.times.length, 3);
  assert.is(t.minMs, Math.min(...t.times));
  assert.is(t.medianMs, median(t.times));
  assert.equal([t.backend, t.prepareMs], ['fake', 7]);
  assert.equal(Array.from((t.outputs[0] as Tensor).data as Float32Array), [4], 'outputs of the last run');
});

test('timeProgram without perKernel: no kernel reports asked for, no kernels; repeat at least 1; abort between runs', async () => {
  const { program, calls } = fakeProgram([['a']], () => 1);
  const t = await timeProgram(program, new Map(), { repeat: 0 });
  assert.equal([calls.length, calls[0].hooked, t.kernels.length], [1, false, 0]);
  const stop = new AbortController();
  stop.abort();
  try { await timeProgram(program, new Map(), { signal: stop.signal }); assert.unreachable(); } catch (e) { assert.is((e as Error).name, 'AbortError'); }
});

test('nodeTimings: kernels joined to nodes by id, a kernel over several nodes split evenly, unreported nodes 0', async () => {
  const g = zooModel('mlp');
  const ids = g.nodes.map((n) => n.outputs[0]);
  // k0 = node 0 (4 ms), k1 = nodes 1 and 2 (6 ms: 3 each), k2 = node 4 and an id not in the graph (2 ms: 1 to node 4)
  const { program } = fakeProgram([[ids[0]], [ids[1], ids[2]], [ids[4], 'no-such-node']], (_, k) => [4, 6, 2][k]);
  const inputs = randomInputs(g, 3);
  const t = nodeTimings(g, inputs, await timeProgram(program, inputs, { repeat: 2, perKernel: true }), 'mlp');
  assert.equal(t.nodes.map((n) => n.ms), [4, 3, 3, 0, 1]);
  assert.equal(t.nodes.map((n) => n.node), ids);
  assert.is(t.repeat, 2);
  assert.is(t.label, 'mlp');
});

test('the ref program timed per kernel on zoo:mlp: one kernel per node, graph order, FLOPs of the summary', async () => {
  const g = zooModel('mlp');
  const inputs = randomInputs(g, 3);
  const program = await refBackend.prepare(g, undefined);
  const seen: number[] = [];
  const timing = await timeProgram(program, inputs, { repeat: 3, perKernel: true, onKernel: (_, r) => { if (r === 0) seen.push(seen.length + 1); } });
  const t = nodeTimings(g, inputs, timing, 'mlp');
  assert.equal(seen, [1, 2, 3, 4, 5]);
  assert.is(t.repeat, 3);
  assert.equal(timing.kernels.map((k) => k.samples.length), [3, 3, 3, 3, 3]);
  assert.equal(t.nodes.map((n) => n.op), ['Gemm', 'Relu', 'Gemm', 'Relu', 'Gemm']);
  assert.equal(t.nodes.map((n) => n.index), [0, 1, 2, 3, 4]);
  assert.equal(t.nodes.map((n) => n.flops), [2 * 784 * 512 + 512, 512, 2 * 512 * 256 + 256, 256, 2 * 256 * 10 + 10]);
  // bytes at the input's batch (inputs.ts binds N): x, W, b in and y out for Gemm; x in and y out for Relu (f32)
  const batch = (inputs.get(g.inputs[0].name) as Tensor).shape[0];
  assert.equal(t.nodes.map((n) => n.bytes), [
    4 * (batch * 784 + 784 * 512 + 512 + batch * 512), 4 * 2 * batch * 512,
    4 * (batch * 512 + 512 * 256 + 256 + batch * 256), 4 * 2 * batch * 256, 4 * (batch * 256 + 256 * 10 + 10 + batch * 10)]);
  assert.equal(t.nodes[0].provenance, ['/fc1/Gemm']);
  assert.ok(t.nodes.every((n) => n.ms >= 0 && Number.isFinite(n.ms)));
  const want = runReference(g, inputs)[0];
  assert.equal(tensorStats(t.outputs[0] as Tensor), tensorStats(want));
});

test('runTiming and the outputs table', async () => {
  const g = zooModel('mlp');
  const r = runTiming(g, await timeProgram(await refBackend.prepare(g, undefined), randomInputs(g, 0), { repeat: 3, warmup: 1 }));
  assert.is(r.times.length, 3);
  assert.is(r.minMs, Math.min(...r.times));
  assert.equal(r.names, ['logits']);
  const t = outputsTable(r);
  assert.equal(t.columnNames, ['output', 'dtype', 'shape', 'mean', 'std', 'min', 'max']);
  assert.equal(t.rows()[0].shape, '[1,10]');
  const strs = outputsTable({ names: ['s'], outputs: [new Tensor('str', [1], ['x'])], stats: [tensorStats(new Tensor('str', [1], ['x']))], times: [1], medianMs: 1, minMs: 1 });
  assert.equal(strs.rows()[0], { output: 's', dtype: 'str', shape: '[1]', mean: null, std: null, min: null, max: null });
});

test('outputs table: a sequence row (element dtype, counted shapes, statistics over all elements), an optional, none', () => {
  const t = (shape: number[], ...v: number[]) => Tensor.fromNumbers('f32', shape, v);
  const seq = [t([2], 1, 2), t([2], 3, 4), t([1], 5)];
  const long = Array.from({ length: 10 }, (_, k) => t(Array(k + 1).fill(1), ...Array(k + 1).fill(k)));
  const outputs = [seq, [], null, t([2], 1, 3), long];
  const types = [
    { dtype: 'f32', shape: ['N'], container: 'seq' }, { dtype: 'i64', shape: [], container: 'seq' }, { dtype: 'f32', shape: [2], container: 'opt' },
    { dtype: 'f32', shape: [2], container: 'opt' }, { dtype: 'f32', shape: [], container: 'seq', unranked: true },
  ] as const;
  const table = outputsTable({ names: ['s', 'empty', 'none', 'some', 'long'], outputs, types, stats: outputs.map(valueStats), times: [1], medianMs: 1, minMs: 1 });
  const rows = table.rows();
  assert.equal(table.columnNames, ['output', 'dtype', 'shape', 'mean', 'std', 'min', 'max']);
  assert.equal(rows[0], { output: 's', dtype: 'f32', shape: 'seq of 3: [2]×2, [1]', mean: 3, std: Math.sqrt(2), min: 1, max: 5 });
  assert.equal(rows[1], { output: 'empty', dtype: 'i64', shape: 'seq of 0', mean: null, std: null, min: null, max: null });
  assert.equal(rows[2], { output: 'none', dtype: 'f32', shape: 'none', mean: null, std: null, min: null, max: null });
  assert.equal(rows[3], { output: 'some', dtype: 'f32', shape: 'opt [2]', mean: 2, std: 1, min: 1, max: 3 });
  assert.is(rows[4].shape, 'seq of 10: [1], [1,1], [1,1,1], [1,1,1,1], [1,1,1,1,1], [1,1,1,1,1,1], [1,1,1,1,1,1,1], [1,1,1,1,1,1,1,1], …');
  assert.is(rows[4].max, 9);
  // without types: a tensor is a tensor, none is none, and a sequence of mixed dtypes lists both
  assert.is(valueShape(t([2], 1, 2)), '[2]');
  assert.is(valueShape(null), 'none');
  const mixed = outputsTable({ names: ['m'], outputs: [[t([1], 1), new Tensor('i64', [1], BigInt64Array.of(2n))]], stats: [valueStats([t([1], 1)])], times: [1], medianMs: 1, minMs: 1 });
  assert.is(mixed.rows()[0].dtype, 'f32|i64');
});

test.run();
