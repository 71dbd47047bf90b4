/**
 * `kiln ir MODEL --out FILE.kir [--weights FILE]` as a user runs it: it writes the .kir and its
 * safetensors sidecar and says so in one line; `kiln ir` and `kiln run` on the .kir give what the
 * original model gives; a bad --out (not .kir, a folder in the way, a missing parent folder) or
 * --weights without --out fails with nothing written; a missing sidecar is one error naming both files.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type CliResult, runKiln } from '../support/cli.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-ir-out-'));
const kiln = (...args: string[]): CliResult => runKiln(args);
const noStack = (r: CliResult) => assert.not.match(r.err, /\n\s+at /, `stack trace printed:\n${r.err}`);
/** The output lines of `kiln run` (name, type, statistics), without the timing line. */
const outputLines = (r: CliResult) => r.out.split('\n').filter((l) => /^\s+\S+: /.test(l));

test('--out writes the .kir and its sidecar; ir and run on it match the original model', () => {
  const kir = path.join(tmp, 'mlp.kir');
  const w = kiln('ir', 'zoo:mlp', '--out', kir);
  assert.is(w.code, 0, w.err);
  const side = path.join(tmp, 'mlp.safetensors');
  const size = fs.statSync(side).size;
  assert.is(w.out, `wrote ${kir} and its weights ${side} (5 tensors, ${size} bytes, ${(size / 2 ** 20).toFixed(1)} MiB)\n`);
  assert.match(fs.readFileSync(kir, 'utf8'), /^kiln\.weights "mlp\.safetensors" sha256 #[0-9a-f]{64}\nkiln\.graph @mlp/);
  const canonical = kiln('ir', 'zoo:mlp');
  assert.is(kiln('ir', kir).out, canonical.out);
  const a = kiln('run', 'zoo:mlp', '--seed', '3'), b = kiln('run', kir, '--seed', '3');
  assert.is(b.code, 0, b.err);
  assert.ok(outputLines(a).length > 0);
  assert.equal(outputLines(b), outputLines(a));
  // written again over the old pair, with the sidecar elsewhere
  const again = kiln('ir', kir, '--out', kir, '--weights', path.join(tmp, 'w', 'all.safetensors'));
  assert.is(again.code, 0, again.err);
  assert.match(fs.readFileSync(kir, 'utf8'), /^kiln\.weights "w\/all\.safetensors" /);
  assert.is(kiln('ir', kir).out, canonical.out);
});

test('bad --out or --weights: usage errors, or one error line with nothing written', () => {
  for (const [args, msg] of [
    [['--out', path.join(tmp, 'm.txt')], /--out '.*m\.txt' must name a \.kir file/],
    [['--weights', path.join(tmp, 'w.safetensors')], /--weights names the sidecar of --out FILE\.kir; give --out too/],
  ] as const) {
    const r = kiln('ir', 'zoo:mlp', ...args);
    assert.is(r.code, 2, r.err);
    assert.match(r.err, msg);
    assert.match(r.err, /usage: kiln ir MODEL .*--out FILE\.kir/);
  }
  const missing = kiln('ir', 'zoo:mlp', '--out', path.join(tmp, 'no', 'such', 'm.kir'));
  assert.is(missing.code, 1);
  assert.match(missing.err, /^error: .*cannot write \.kir and its weights: folder .*no does not exist/);
  noStack(missing);
  assert.not.ok(fs.existsSync(path.join(tmp, 'no')));
  const dir = path.join(tmp, 'folder');
  fs.mkdirSync(path.join(dir, 'x.kir'), { recursive: true });
  const inTheWay = kiln('ir', 'zoo:mlp', '--out', path.join(dir, 'x.kir'));
  assert.is(inTheWay.code, 1);
  assert.match(inTheWay.err, /^error: .*x\.kir in it is a folder; kiln replaces only regular files/);
  assert.equal(fs.readdirSync(dir), ['x.kir'], 'no sidecar and no temporary left behind');
});

test('a .kir whose sidecar is missing is one error naming both files', () => {
  const dir = path.join(tmp, 'moved');
  fs.mkdirSync(dir);
  assert.is(kiln('ir', 'zoo:mlp', '--out', path.join(dir, 'm.kir')).code, 0);
  fs.rmSync(path.join(dir, 'm.safetensors'));
  const r = kiln('run', path.join(dir, 'm.kir'));
  assert.is(r.code, 1);
  assert.match(r.err, /^error: .*m\.safetensors: cannot read weights file: no such file \(the weights of .*m\.kir, .*copy it next to the \.kir\n$/);
  noStack(r);
});

test.run();
