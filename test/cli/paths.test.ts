/**
 * Every CLI command that writes a file, given a bad output path: `zoo export`, `run --outputs`,
 * `opt --dump-dir`, `plan --svg`, `plan --arrow` and `kernel install --prefix`, each pointed at a
 * device (/dev/full, /dev/null), a folder where a file goes, a file where a folder goes, a FIFO, a
 * missing folder and /proc. Each must exit 1 with one `error:` line naming the path, print no stack
 * trace, replace nothing (the devices stay character devices, the FIFO a FIFO, the folder a folder)
 * and leave nothing behind (the scratch folder and /dev hold exactly what they held before). Each
 * call runs with a deadline, so a write that blocks on the FIFO fails instead of hanging. Reading
 * a FIFO given as an input tensor file or as the model is refused the same way.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runKiln, stackFrames } from '../support/cli.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-paths-'));
const folder = path.join(tmp, 'a-folder');
const file = path.join(tmp, 'a-file');
const fifo = path.join(tmp, 'a-fifo');
fs.mkdirSync(folder);
fs.writeFileSync(path.join(folder, 'inside.txt'), 'inside');
fs.writeFileSync(file, 'plain');
assert.is(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo failed');

/** Every entry under `dir` with its kind, to compare before and after. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      out.push(`${path.relative(tmp, p)} ${e.isDirectory() ? 'dir' : e.isFIFO() ? 'fifo' : e.isFile() ? `file ${fs.statSync(p).size}` : 'other'}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

const devKiln = () => fs.readdirSync('/dev').filter((f) => f.includes('.kiln-'));

/** Runs a command that must fail cleanly on its bad path and change nothing. */
function failsCleanly(args: string[], reason: RegExp): void {
  const before = snapshot(tmp);
  const r = runKiln(args, { timeoutMs: 90_000 });
  const what = `kiln ${args.join(' ')}`;
  assert.not.ok(r.timedOut, `${what} did not finish (blocked?)`);
  assert.is(r.code, 1, `${what}: exit ${r.code}\n${r.err}`);
  const lines = r.err.split('\n').filter((l) => l !== '');
  assert.is(lines.length, 1, `${what}: one line on stderr, got:\n${r.err}`);
  assert.match(lines[0], /^error: /, what);
  assert.match(lines[0], reason, what);
  assert.equal(stackFrames(r.err), [], `${what}: stack trace`);
  assert.equal(snapshot(tmp), before, `${what}: nothing replaced or left behind`);
  for (const dev of ['/dev/full', '/dev/null']) assert.ok(fs.lstatSync(dev).isCharacterDevice(), `${what}: ${dev} replaced`);
  assert.equal(devKiln(), [], `${what}: a temporary left in /dev`);
}

const DEVICE = /it is a character device, not a regular file; kiln replaces only regular files/;
const FOLDER = /it is a folder, not a regular file/;
const FIFO = /it is a FIFO \(named pipe\), not a regular file/;
const FILE_NOT_FOLDER = /a-file is a regular file, not a folder/;
const PROC = /folder \/proc does not accept new files/;

test('zoo export: device, folder, FIFO, missing folder, file as folder, /proc', () => {
  failsCleanly(['zoo', 'export', 'mlp', '/dev/full'], /^error: \/dev\/full: cannot write ONNX file: it is a character device/);
  failsCleanly(['zoo', 'export', 'mlp', '/dev/null'], DEVICE);
  failsCleanly(['zoo', 'export', 'mlp', folder], FOLDER);
  failsCleanly(['zoo', 'export', 'mlp', fifo], FIFO);
  failsCleanly(['zoo', 'export', 'mlp', path.join(tmp, 'missing', 'm.onnx')], /folder .*missing does not exist/);
  failsCleanly(['zoo', 'export', 'mlp', path.join(file, 'm.onnx')], FILE_NOT_FOLDER);
  failsCleanly(['zoo', 'export', 'mlp', '/proc/kiln-m.onnx'], PROC);
});

test('run --outputs: device, file as folder, missing parent, /proc, an output name taken by a folder', () => {
  failsCleanly(['run', 'zoo:mlp', '--outputs', '/dev/full'], /^error: \/dev\/full: cannot write outputs: it is a character device, not a folder$/);
  failsCleanly(['run', 'zoo:mlp', '--outputs', file], /it is a regular file, not a folder/);
  failsCleanly(['run', 'zoo:mlp', '--outputs', path.join(tmp, 'missing', 'out')], /folder .*missing does not exist/);
  failsCleanly(['run', 'zoo:mlp', '--outputs', '/proc/kiln-out'], PROC);
  const taken = path.join(tmp, 'taken');
  fs.mkdirSync(path.join(taken, 'output_0.pb'), { recursive: true });
  failsCleanly(['run', 'zoo:mlp', '--outputs', taken], /output_0\.pb in it is a folder; kiln replaces only regular files/);
});

test('opt --dump-dir: device, file, file as parent, /proc', () => {
  failsCleanly(['opt', 'zoo:mlp', '--pipeline', 'dce', '--dump-dir', '/dev/full'], /\/dev\/full is a character device, not a folder/);
  failsCleanly(['opt', 'zoo:mlp', '--pipeline', 'dce', '--dump-dir', file], /a-file is a regular file, not a folder/);
  failsCleanly(['opt', 'zoo:mlp', '--pipeline', 'dce', '--dump-dir', path.join(file, 'dumps')], FILE_NOT_FOLDER);
  failsCleanly(['opt', 'zoo:mlp', '--pipeline', 'dce', '--dump-dir', '/proc/kiln-dumps'], /^error: \/proc\/kiln-dumps: cannot write the dump folder: folder \/proc does not accept new folders$/);
});

test('plan --svg and --arrow: device, folder, FIFO, file as folder, /proc', () => {
  const plan = ['plan', 'zoo:mlp', '--pipeline', 'none'];
  failsCleanly([...plan, '--svg', '/dev/full'], /^error: \/dev\/full: cannot write SVG file: it is a character device/);
  failsCleanly([...plan, '--svg', folder], FOLDER);
  failsCleanly([...plan, '--svg', fifo], FIFO);
  failsCleanly([...plan, '--svg', path.join(file, 'chart.svg')], FILE_NOT_FOLDER);
  failsCleanly([...plan, '--arrow', '/dev/null'], /^error: \/dev\/null: cannot write Arrow file: it is a character device/);
  failsCleanly([...plan, '--arrow', '/proc/kiln.arrow'], PROC);
});

test('kernel install --prefix: device, file, /proc', () => {
  failsCleanly(['kernel', 'install', '--prefix', '/dev/full'], /\/dev\/full is a character device, not a folder/);
  failsCleanly(['kernel', 'install', '--prefix', file], FILE_NOT_FOLDER);
  failsCleanly(['kernel', 'install', '--prefix', '/proc/kiln-prefix'], /cannot write the kernelspec: folder \/proc does not accept new folders$/);
});

test('reading: a FIFO as an input tensor file or as the model is refused at once', () => {
  const inputs = path.join(tmp, 'inputs');
  fs.mkdirSync(inputs);
  assert.is(spawnSync('mkfifo', [path.join(inputs, 'input_0.pb')]).status, 0);
  failsCleanly(['run', 'zoo:mlp', '--inputs', inputs], /input_0\.pb: cannot read tensor file: it is a FIFO \(named pipe\), not a regular file$/);
  const model = path.join(tmp, 'model.kir');
  assert.is(spawnSync('mkfifo', [model]).status, 0);
  failsCleanly(['summary', model], /model\.kir: cannot read model: it is a FIFO \(named pipe\), not a regular file$/);
});

test('a good path still works and leaves only the file', () => {
  const out = path.join(tmp, 'ok');
  fs.mkdirSync(out);
  const r = runKiln(['zoo', 'export', 'mlp', path.join(out, 'mlp.onnx')]);
  assert.is(r.code, 0, r.err);
  assert.equal(fs.readdirSync(out), ['mlp.onnx']);
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test.run();
