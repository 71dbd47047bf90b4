/**
 * `kiln report MODEL --out DIR` (cli/commands/report.ts) run as a user does: the folder is written with
 * the command line in its manifest and the headline printed; a refused --out is an error before any
 * work that leaves it as it was; bad options are usage errors (exit 2). `kiln report --replay DIR`
 * reruns that folder into DIR-replay and prints the verdict (exit 0), and exits 1 with an `error:`
 * verdict when a recorded output was changed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { runKiln } from '../support/cli.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-report-cli-'));
const env = { ...process.env, KILN_CACHE_DIR: path.join(tmp, 'cache') };
const kiln = (args: string[]) => runKiln(args, { env });
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('kiln report writes the folder, records the command line and prints the headline', () => {
  const out = path.join(tmp, 'mlp');
  const args = ['report', 'zoo:mlp', '--backend', 'ref', '--repeat', '1', '--warmup', '0', '--seed', '3', '--pipeline', 'shape-infer,fuse-conv-act,dce', '--out', out];
  const r = kiln(args);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /headline: before and after/);
  assert.match(r.out, /latency: ref on the final graph vs ref on the loaded model/);
  assert.match(r.out, new RegExp(`wrote \\d+ files .* to ${out}`));
  const m = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
  assert.equal(m.command, args);
  assert.is(m.pipeline, 'shape-infer,fuse-conv-act,dce');
  assert.is(m.run.seed, 3);
  assert.is(m.numericCheck.seed, 3);
  assert.is(m.steps.length, 4);
  assert.equal(m.backends.map((b: { backend: string }) => b.backend), ['ref']);
});

test('kiln report --replay reruns the report, prints the timings and the verdict; a changed output exits 1', () => {
  const out = path.join(tmp, 'mlp');
  const r = kiln(['report', '--replay', out, '--quiet']);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /model from the zoo with its recorded seed/);
  assert.match(r.out, /run times: recorded and replayed/);
  assert.match(r.out, /replay reproduced the report: IR hashes identical: 4 of 4 steps; inputs identical; outputs within tolerance/);
  const m = JSON.parse(fs.readFileSync(path.join(`${out}-replay`, 'manifest.json'), 'utf8'));
  assert.equal(m.command, ['report', '--replay', out, '--quiet']);
  assert.equal(m.replayOf.path, '../mlp');
  assert.is(m.run.seed, 3, 'the recorded options');
  assert.is(m.pipeline, 'shape-infer,fuse-conv-act,dce');

  // the baseline's recorded output, changed with its hashes, is outside tolerance on the replay
  const file = 'outputs/ref_step0/output_0.pb';
  const bytes = fs.readFileSync(path.join(out, file));
  const spoilt = Buffer.from(bytes);
  spoilt[spoilt.length - 1] ^= 0x40; // the last float's top byte: a real change of value
  fs.writeFileSync(path.join(out, file), spoilt);
  const hash = createHash('sha256').update(spoilt).digest('hex');
  const man = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
  for (const f of [...man.files, ...man.baseline.outputs]) if (f.path === file) f.sha256 = hash;
  fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(man));
  const bad = kiln(['report', '--replay', out, '--out', path.join(tmp, 'again'), '--quiet']);
  assert.is(bad.code, 1, bad.err);
  assert.match(bad.err, /^error: replay differs: IR hashes identical: 4 of 4 steps; inputs identical; OUTPUTS OUTSIDE TOLERANCE: ref \(baseline\)$/m);
  assert.ok(fs.existsSync(path.join(tmp, 'again', 'report.html')), 'the replay folder is still written, its page says what differs');

  // changed without its hash: refused before anything runs
  fs.writeFileSync(path.join(out, file), bytes);
  const refused = kiln(['report', '--replay', out, '--out', path.join(tmp, 'refused'), '--quiet']);
  assert.is(refused.code, 1);
  assert.match(refused.err, /^error: .*output_0\.pb is changed since the report was written/);
  assert.not.ok(fs.existsSync(path.join(tmp, 'refused')));
});

test('a non-empty --out is refused before any work and left as it was', () => {
  const full = path.join(tmp, 'full');
  fs.mkdirSync(full);
  fs.writeFileSync(path.join(full, 'keep.txt'), 'mine');
  const r = kiln(['report', 'zoo:mlp', '--out', full]);
  assert.is(r.code, 1, r.err);
  assert.match(r.err, /^error: .*full: --out exists and is not empty; kiln report writes a new folder/);
  assert.equal(fs.readdirSync(full), ['keep.txt']);
});

test('bad options are usage errors', () => {
  for (const [args, msg] of [
    [['report', 'zoo:mlp'], /--out DIR is required/],
    [['report', 'zoo:mlp', '--out', path.join(tmp, 'a'), '--backend', 'nope'], /backend/],
    [['report', 'zoo:mlp', '--out', path.join(tmp, 'b'), '--backend', 'ref', '--backend', 'ref'], /given twice/],
    [['report', 'zoo:mlp', '--out', path.join(tmp, 'c'), '--repeat', '0'], /repeat/],
  ] as const) {
    const r = kiln([...args]);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, msg);
  }
  assert.not.ok(fs.existsSync(path.join(tmp, 'a')));
});

test.run();
