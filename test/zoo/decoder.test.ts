/**
 * zoo:decoder, the greedy GRU decoder with control flow: `kiln zoo export decoder` writes an ONNX
 * file that onnxruntime-node runs with the same tokens (exactly) and logits and states (within
 * 1e-4 of the output scale) as kiln's reference executor, on prompts that stop at EOS, run to
 * max_new_tokens, take the If's truncating branch, and generate nothing (M = 0). Also the stop
 * semantics (the EOS token is emitted, then the loop ends), truncation equal to a prompt of the last
 * maxPrompt tokens, import(export(decoder)) equal to the decoder, print∘parse, the verifier, and
 * the exported regions' value_info.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Tensor, readF32, readInts } from '../../compiler/ir/tensor.ts';
import { exportOnnx } from '../../compiler/import/onnx/export.ts';
import { decodeModelProto, type GraphProto } from '../../compiler/import/onnx/schema.ts';
import { importOnnx } from '../../compiler/import/onnx/import.ts';
import { graphDiff } from '../../compiler/ir/equal.ts';
import { printGraph } from '../../compiler/ir/print.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { verifyGraph } from '../../compiler/ir/verify.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { zooModel } from '../../compiler/zoo/index.ts';
import { DECODER_CONFIG, decoderInputs } from '../../compiler/zoo/decoder.ts';
import { runKiln } from '../support/cli.ts';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');

const { eos, maxPrompt, defaultPrompt, defaultMaxNewTokens: M } = DECODER_CONFIG;
const graph = zooModel('decoder');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-decoder-'));

/** The inputs the ORT comparison runs: [label, prompt, max_new_tokens]. */
const CASES: [string, number[], number][] = [
  ['default prompt, stops at EOS', [...defaultPrompt], M],
  ['runs to max_new_tokens', [1, 2, 3], M],
  ['long prompt, truncated by the If', Array.from({ length: 20 }, (_, i) => (i * 7) % 64), M],
  ['max_new_tokens 0', [9], 0],
];

/** Runs the reference executor; tokens as numbers, the rest as tensors. */
function reference(prompt: number[], m: number) {
  const [tokens, logits, hidden, states] = runReference(graph, decoderInputs(prompt, m));
  return { tokens, ids: readInts(tokens), logits, hidden, states };
}

test('the default prompt stops at EOS before max_new_tokens; EOS is the last token emitted', () => {
  const { tokens, ids, logits } = reference([...defaultPrompt], M);
  assert.ok(ids.length > 1 && ids.length < M, `generated ${ids.length} of ${M}`);
  assert.is(ids[ids.length - 1], eos);
  assert.not.ok(ids.slice(0, -1).includes(eos), 'no earlier EOS');
  assert.equal(tokens.shape, [ids.length, 1]);
  assert.equal(logits.shape, [ids.length, 1, DECODER_CONFIG.vocab]);
  // each token is the ArgMax of its step's logits
  const l = readF32(logits), V = DECODER_CONFIG.vocab;
  ids.forEach((id, t) => {
    const row = l.subarray(t * V, (t + 1) * V);
    assert.is(row.indexOf(Math.max(...row)), id, `step ${t}`);
  });
});

test('a prompt that never reaches EOS runs to max_new_tokens; a smaller budget is a prefix', () => {
  const { ids } = reference([1, 2, 3], M);
  assert.is(ids.length, M);
  assert.not.ok(ids.includes(eos));
  assert.equal(reference([1, 2, 3], 5).ids, ids.slice(0, 5));
  const none = reference([1, 2, 3], 0);
  assert.equal([none.tokens.shape, none.logits.shape], [[0, 1], [0, 1, DECODER_CONFIG.vocab]]);
  // the sequence of states: the prefill state (the final one when nothing is generated), then one per step
  const H = DECODER_CONFIG.hidden;
  assert.equal(none.states.shape, [1, 1, H]);
  assert.equal([...readF32(none.states)], [...readF32(none.hidden)]);
  const some = reference([1, 2, 3], 5);
  assert.equal(some.states.shape, [1, 6, H]);
  assert.equal([...readF32(some.states).subarray(0, H)], [...readF32(none.hidden)]);
  assert.equal([...readF32(some.states).subarray(5 * H)], [...readF32(some.hidden)]);
});

test('a prompt longer than maxPrompt computes as its last maxPrompt tokens (the If truncates)', () => {
  const long = Array.from({ length: 20 }, (_, i) => (i * 7) % 64);
  const a = reference(long, M), b = reference(long.slice(-maxPrompt), M);
  assert.equal(a.ids, b.ids);
  assert.equal([...readF32(a.hidden)], [...readF32(b.hidden)]);
  // and the prompt's first token matters when it is kept
  assert.not.equal([...readF32(reference(long.slice(-maxPrompt + 1), M).hidden)], [...readF32(a.hidden)]);
});

test('kiln zoo export decoder: onnxruntime-node matches the reference executor', async () => {
  const file = path.join(tmp, 'decoder.onnx');
  const r = runKiln(['zoo', 'export', 'decoder', file]);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /wrote .*decoder\.onnx/);
  const session = await ort.InferenceSession.create(fs.readFileSync(file), { graphOptimizationLevel: 'disabled' });
  for (const [label, prompt, m] of CASES) {
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
    for (const [k, v] of decoderInputs(prompt, m)) feeds[k] = new ort.Tensor('int64', v.data as BigInt64Array, [...v.shape]);
    const theirs = await session.run(feeds);
    const ours = reference(prompt, m);
    assert.equal([...theirs.tokens.dims], [...ours.tokens.shape], `${label}: tokens shape`);
    assert.equal(Array.from(theirs.tokens.data as BigInt64Array, Number), ours.ids, `${label}: tokens`);
    for (const [name, t] of [['logits', ours.logits], ['hidden', ours.hidden], ['hidden_states', ours.states]] as [string, Tensor][]) {
      assert.equal([...theirs[name].dims], [...t.shape], `${label}: ${name} shape`);
      const want = theirs[name].data as Float32Array, got = readF32(t);
      let scale = 0;
      for (const v of want) scale = Math.max(scale, Math.abs(v));
      want.forEach((w, i) => {
        assert.ok(Math.abs(got[i] - w) <= 1e-4 * scale + 1e-3 * Math.abs(w), `${label}: ${name}[${i}] kiln ${got[i]} vs ort ${w}`);
      });
    }
  }
});

test('import(export(decoder)) is the decoder; print∘parse too; the graph verifies', () => {
  verifyGraph(graph);
  const back = importOnnx(exportOnnx(graph));
  assert.is(graphDiff(graph, { ...back, name: graph.name }), undefined);
  verifyGraph(back);
  const text = printGraph(graph);
  assert.is(printGraph(parseGraph(text)), text);
  assert.match(text, /%hidden, %\d+, %\d+, %tokens, %logits = Loop\(%max_new_tokens, /);
  assert.match(text, /SequenceInsert\(%states, %\d+\) : seq<f32\[1,64\]>/);
  assert.match(text, /then_branch @then_branch\(\) -> \(%\d+: i64\[1,_d\d+\]\)/);
});

test('the exported model types every value of every region (value_info) and declares opset 21', () => {
  const model = decodeModelProto(exportOnnx(graph));
  assert.equal(model.opset_import?.map((o) => [o.domain ?? '', Number(o.version)]), [['', 21]]);
  const regions: string[] = [];
  const walk = (g: GraphProto, top: boolean) => {
    const typed = new Set([...(g.value_info ?? []), ...(g.output ?? [])].filter((v) => v.type).map((v) => v.name));
    for (const n of g.node ?? []) {
      if (!top) for (const o of n.output ?? []) if (o) assert.ok(typed.has(o), `region '${g.name}': '${o}' has a typed value_info`);
      for (const a of n.attribute ?? []) if (a.g) { regions.push(a.g.name!); walk(a.g, false); }
    }
  };
  walk(model.graph!, true);
  assert.equal(regions.sort(), ['else_branch', 'generate', 'prefill', 'then_branch']);
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test.run();
