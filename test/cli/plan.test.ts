/**
 * `kiln plan` driven as a user drives it (a child process per command): --json fields and their
 * consistency (lower bound <= peak <= naive, the same figures as planning in-process), the text
 * summary and chart, --arrow and --svg files (read back with apache-arrow and an XML check),
 * `--pipeline none`, and usage errors (exit 2, planners listed; a bad pipeline too) against bad models (exit 1).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type CliResult, runKiln } from '../support/cli.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { zooModel } from '../../compiler/zoo/index.ts';
import { planMemory } from '../../compiler/schedule/index.ts';
import { checkXml } from '../results/xml-check.ts';

type Result = CliResult;

const kiln = (...args: string[]): Result => runKiln(args, { env: { ...process.env, NO_COLOR: '1' } });

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-plan-'));

test('plan --json on resnet50: fields, bounds and the acceptance figures', () => {
  const r = kiln('plan', 'zoo:resnet50', '--json');
  assert.is(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  for (const k of ['peakBytes', 'lowerBoundBytes', 'naiveBytes', 'weightsBytes', 'inputBytes', 'ms', 'steps', 'tensors']) {
    assert.type(j[k], 'number', k);
  }
  assert.is(j.planner, 'best');
  assert.is(j.valid, true);
  assert.is(j.model, 'zoo:resnet50');
  assert.ok(j.lowerBoundBytes <= j.peakBytes && j.peakBytes <= j.naiveBytes, JSON.stringify(j));
  assert.ok(j.peakBytes <= 1.02 * j.lowerBoundBytes);
  assert.ok(j.reductionVsNaive >= 0.8, `reduction ${j.reductionVsNaive}`);
  assert.is(j.steps, j.nodes);
  assert.is(j.inputBytes, 1 * 3 * 224 * 224 * 4);
  assert.ok(j.weightsBytes > 25e6 * 4 * 0.9, `ResNet-50 has ~25.6M f32 parameters, got ${j.weightsBytes} B`);
  assert.is(j.peakOverLowerBound, j.peakBytes / j.lowerBoundBytes);
});

test('plan --pipeline none --planner naive on mlp: figures match planning in-process; arrow and svg files', () => {
  const arrow = path.join(tmp, 'sub', 'mlp.arrow'), svg = path.join(tmp, 'mlp.svg');
  const r = kiln('plan', 'zoo:mlp', '--pipeline', 'none', '--planner', 'naive', '--json', '--arrow', arrow, '--svg', svg);
  assert.is(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  const plan = planMemory(zooModel('mlp'), { planner: 'naive' });
  assert.is(j.planner, 'naive');
  assert.is(j.pipeline, '');
  for (const k of ['peakBytes', 'lowerBoundBytes', 'naiveBytes', 'weightsBytes', 'inputBytes'] as const) assert.is(j[k], plan[k], k);
  assert.is(j.steps, 5);
  assert.is(j.inputBytes, 784 * 4);
  assert.is(j.weightsBytes, (784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10) * 4);
  assert.is(j.peakBytes, j.naiveBytes); // no reuse
  assert.match(r.err, 'wrote the timeline table (5 rows)');

  const t = tableFromIPC(fs.readFileSync(arrow));
  assert.is(t.numRows, j.tensors);
  assert.equal(t.schema.fields.map((f) => f.name), ['tensor', 'bytes', 'first_step', 'last_step', 'offset', 'producer', 'consumers', 'alias_of', 'alias_kind', 'storage', 'body']);
  assert.equal(Array.from({ length: t.numRows }, (_, i) => t.getChild('tensor')!.get(i)), plan.tensors.map((x) => x.name));
  assert.equal(Array.from({ length: t.numRows }, (_, i) => t.getChild('offset')!.get(i)), plan.tensors.map((x) => x.offset));
  assert.match(t.schema.metadata.get('kiln.title')!, 'zoo:mlp as imported (naive)');
  assert.equal(fs.readdirSync(path.dirname(arrow)), ['mlp.arrow'], 'no temporary file left');

  const els = checkXml(fs.readFileSync(svg, 'utf8'));
  const rects = els.filter((e) => e.name === 'rect' && els.some((x) => x.name === 'title' && x.parent === e));
  assert.is(rects.length, plan.tensors.filter((x) => x.aliasOf === undefined).length);
  assert.match(els.find((e) => e.name === 'title')!.text, 'zoo:mlp as imported');
});

test('plan without flags: summary and text chart within the width', () => {
  const r = kiln('plan', 'zoo:mobilenetv2');
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /^zoo:mobilenetv2 after the default cpu pipeline: \d+ nodes; pipeline shape-infer/);
  assert.match(r.out, /memory plan \(best\): \d+ steps/);
  assert.match(r.out, /peak\s+[\d.]+ MiB\s+= 1\.0\d\d x lower bound/);
  assert.match(r.out, /naive\s+[\d.]+ MiB\s+\(no reuse; the plan saves \d+\.\d%\)/);
  assert.match(r.out, '◂lb');
  assert.match(r.out, 'validator: no two live buffers share bytes');
  assert.match(r.out, / step\n/);
  assert.not.match(r.out, '\x1b[', 'no colour when NO_COLOR is set and stdout is a pipe');
  for (const line of r.out.trimEnd().split('\n').slice(1)) assert.ok(line.length <= 100, line);
  const bars = kiln('plan', 'zoo:mlp', '--bars', '--planner', 'greedy-size');
  assert.is(bars.code, 0, bars.err);
  assert.match(bars.out, 'memory plan (greedy-size)');
  assert.match(bars.out, '█ live bytes, ░ arena high-water');
});

test('bad arguments and pipelines exit 2 with usage; bad models exit 1', () => {
  const bad = kiln('plan', 'zoo:mlp', '--planner', 'frob');
  assert.is(bad.code, 2);
  assert.match(bad.err, "kiln plan: unknown planner 'frob'; available: naive, greedy-size, greedy-breadth, best\nusage: kiln plan MODEL");
  assert.match(bad.err, 'usage: kiln plan MODEL');
  for (const args of [['plan'], ['plan', 'a', 'b'], ['plan', 'zoo:mlp', '--frob'], ['plan', 'zoo:mlp', '--order', 'sideways'],
    ['plan', 'zoo:mlp', '--alignment', 'x'], ['plan', 'zoo:mlp', '--alignment', '0'], ['plan', 'zoo:mlp', '--target', 'tpu'],
    ['plan', 'zoo:mlp', '--arrow']]) {
    const r = kiln(...args);
    assert.is(r.code, 2, `${args.join(' ')} -> ${r.code}: ${r.err}`);
    assert.match(r.err, 'usage: kiln plan', args.join(' '));
    assert.not.match(r.err, /\n\s+at /);
  }
  const model = kiln('plan', 'zoo:nosuchmodel');
  assert.is(model.code, 1);
  assert.match(model.err, /^error: .*nosuchmodel/);
  const pipe = kiln('plan', 'zoo:mlp', '--pipeline', 'no-such-pass');
  assert.is(pipe.code, 2);
  assert.match(pipe.err, /^kiln plan: bad --pipeline: .*unknown pass 'no-such-pass'.*see `kiln passes`/);
  assert.match(kiln('--help').out, 'kiln plan MODEL');
});

test.run();
