/**
 * `kiln opt` and `kiln passes`, driven as a user drives them (a child process per command): final IR
 * on stdout (a valid .kir that parses back), per-step IR and the step table on stderr, dump folders,
 * the numeric check column, pipeline errors with position, usage errors.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type CliResult, runKiln } from '../support/cli.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseGraph } from '../../compiler/ir/parse.ts';
import '../../compiler/passes/all.ts';
import { TARGETS, defaultPipeline } from '../../compiler/passes/all.ts';

type Result = CliResult;

const kiln = (...args: string[]): Result => runKiln(args);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-opt-'));
const MODEL = path.join(tmp, 'm.kir');
fs.writeFileSync(MODEL, `kiln.graph @m(%x: f32[2,3]) -> (%1: f32[2,3]) {
  %c = const f32[] dense<0.5>
  %0 = Relu(%x) : f32[2,3] loc("/relu")
  %dead = Neg(%x) : f32[2,3] loc("/dead")
  %1 = Mul(%0, %c) : f32[2,3] loc("/mul")
  return %1
}
`);

test('kiln passes: every pass with summary, options and statistics, and the default pipelines', () => {
  const r = kiln('passes');
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /^ {2}dce {2,}remove nodes whose results never reach a graph output/m);
  assert.match(r.out, /stat removed-nodes — /);
  for (const t of TARGETS) assert.match(r.out, `  ${t.padEnd(7)} ${defaultPipeline(t)}`);
  const j = kiln('passes', '--json');
  const parsed = JSON.parse(j.out) as { passes: { name: string; options: { name: string; default: unknown }[] }[]; defaultPipelines: Record<string, string> };
  assert.ok(parsed.passes.some((p) => p.name === 'dce'));
  assert.is(parsed.defaultPipelines.cpu, defaultPipeline('cpu'));
  assert.is(kiln('passes', 'extra').code, 2);
});

test('kiln opt: final IR on stdout, per-step IR and the table on stderr', () => {
  const r = kiln('opt', MODEL, '--pipeline', 'shape-infer,dce', '--print-ir-after-all', '--stats');
  assert.is(r.code, 0, r.err);
  const g = parseGraph(r.out);
  assert.equal(g.nodes.map((n) => n.op), ['Relu', 'Mul'], 'dce removed the dead Neg');
  assert.match(r.err, '// ----- after shape-infer (step 1) -----\nkiln.graph @m');
  assert.match(r.err, '// ----- after dce (step 2) -----\nkiln.graph @m');
  assert.match(r.err, /^step\s+pass\s+ms\s+nodes\s+changed\s+stats$/m);
  assert.match(r.err, /^\s+0\s+\(input\)\s+3$/m);
  assert.match(r.err, /^\s+1\s+shape-infer\s+\d+\.\d\s+3→3\s+no$/m);
  assert.match(r.err, /^\s+2\s+dce\s+\d+\.\d\s+3→2\s+yes\s+removed-nodes=1$/m);
  assert.match(r.err, /^total \d+\.\d ms in 2 step\(s\)$/m);

  const change = kiln('opt', MODEL, '--pipeline', 'shape-infer,dce', '--print-ir-after-change');
  assert.is(change.code, 0, change.err);
  assert.not.match(change.err, 'after shape-infer');
  assert.match(change.err, '// ----- after dce (step 2) -----');
});

test('kiln opt --check and --dump-dir', () => {
  const dir = path.join(tmp, 'dump');
  const r = kiln('opt', MODEL, '--pipeline', 'dce,cse', '--check', '--dump-dir', dir);
  assert.is(r.code, 0, r.err);
  assert.match(r.err, /max abs err\s+max rel err\s+divergent/);
  assert.match(r.err, /^\s+1\s+dce\s+\S+\s+3→2\s+yes\s+0\s+0$/m);
  assert.equal(fs.readdirSync(dir).sort(), ['000_input.kir', '001_dce.kir', '002_cse.kir']);
  assert.is(fs.readFileSync(path.join(dir, '002_cse.kir'), 'utf8'), r.out);
  // zoo model, default pipeline of the target
  const z = kiln('opt', 'zoo:mlp', '--target', 'ref');
  assert.is(z.code, 0, z.err);
  assert.equal(parseGraph(z.out).outputs, ['logits']);
  assert.match(z.err, new RegExp(`^\\s+${defaultPipeline('ref').split(',').length}\\s+dce\\s`, 'm'));
  // a .kir without weights cannot be checked
  const noData = path.join(tmp, 'nodata.kir');
  fs.writeFileSync(noData, z.out);
  const nd = kiln('opt', noData, '--pipeline', 'dce', '--check');
  assert.is(nd.code, 1);
  assert.match(nd.err, /^error: the numeric check needs constant data, but constant 'fc1\.weight' has none/);
  assert.is(kiln('opt', noData, '--pipeline', 'dce').code, 0, 'without --check it runs');
});

test('kiln opt errors: bad pipeline (exit 2, position), bad flags (exit 2)', () => {
  const r = kiln('opt', MODEL, '--pipeline', 'shape-infer,dcee');
  assert.is(r.code, 2);
  assert.match(r.err, "kiln opt: bad --pipeline: pipeline position 13: unknown pass 'dcee' (did you mean 'dce'?); known passes:");
  assert.match(r.err, '(see `kiln passes`)\nusage: kiln opt');
  assert.not.match(r.err, /\n\s+at /);
  for (const args of [['opt'], ['opt', MODEL, '--target', 'tpu'], ['opt', MODEL, '--print-ir-after-all', '--print-ir-after-change'],
    ['opt', MODEL, '--rtol', 'x'], ['opt', MODEL, '--frob']]) {
    const u = kiln(...args);
    assert.is(u.code, 2, `${args.join(' ')}: ${u.err}`);
    assert.match(u.err, 'usage: kiln opt');
  }
});

test.run();
