/**
 * External data must stay inside the model's folder and be a regular file: a symbolic link that
 * leaves the folder (to another folder or to /etc/passwd), `..` and absolute locations, a linked
 * folder that leads out, a FIFO (which must never block the import: those cases run in a child
 * process with a deadline), a folder, a device, a socket, and offset/length past the end are refused
 * with one KilnError naming the model file, the initializer and the location. A link that stays
 * inside the folder is followed. The model path itself is checked the same way.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { KilnError } from '../../compiler/errors.ts';
import { loadOnnxFile } from '../../compiler/import/onnx/import.ts';
import { encodeModelProto, type TensorProto } from '../../compiler/import/onnx/schema.ts';
import { openRegularFile, resolveInsideFolder } from '../../compiler/files.ts';
import { readNumbers } from '../../compiler/ir/tensor.ts';
import { modelProto, node, value } from './onnx-build.ts';
import { runKiln, stackFrames } from '../support/cli.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-extdata-'));
const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-extdata-outside-'));
const WEIGHTS = new Float32Array([1.5, 2.5, 3.5]);
fs.writeFileSync(path.join(outside, 'secret.bin'), new Uint8Array(WEIGHTS.buffer));

let n = 0;
/** A fresh model folder holding `w.bin` (3 floats) and model.onnx whose initializer 'w' uses `location`. */
function modelDir(location: string, extra: Record<string, string> = {}): { dir: string; file: string } {
  const dir = path.join(tmp, `m${n++}`);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'w.bin'), new Uint8Array(WEIGHTS.buffer));
  const w: TensorProto = {
    name: 'w', dims: [3], data_type: 1, data_location: 1,
    external_data: [{ key: 'location', value: location }, ...Object.entries(extra).map(([key, v]) => ({ key, value: v }))],
  };
  const file = path.join(dir, 'model.onnx');
  fs.writeFileSync(file, encodeModelProto(modelProto({
    nodes: [node('Add', ['x', 'w'], ['y'])], inputs: [value('x', 1, [3])], outputs: [value('y', 1, [3])], initializers: [w],
  })));
  return { dir, file };
}

/** The KilnError loading `file` throws; fails the test if it loads. */
function loadError(file: string): KilnError {
  try {
    loadOnnxFile(file);
  } catch (e) {
    assert.instance(e, KilnError);
    return e as KilnError;
  }
  throw new assert.Assertion({ message: `${file} loaded, but it should have been refused`, operator: 'throws', expects: 'an error', actual: 'none', generated: false });
}

/** Checks that the error names the model file, the initializer and the location, then the reason. */
function refused(file: string, location: string, reason: RegExp): void {
  const e = loadError(file);
  assert.ok(e.message.startsWith(`${file}: tensor 'w': external data location '${location}': `), e.message);
  assert.match(e.message, reason);
}

test('a location inside the folder, directly or through a link that stays inside, is read', () => {
  const { dir, file } = modelDir('w.bin');
  assert.equal(Array.from(readNumbers(loadOnnxFile(file).constants.find((c) => c.name === 'w')!.data!)), [1.5, 2.5, 3.5]);
  const linked = modelDir('sub/link.bin');
  fs.mkdirSync(path.join(linked.dir, 'sub'));
  fs.symlinkSync('../w.bin', path.join(linked.dir, 'sub', 'link.bin'));
  assert.equal(Array.from(readNumbers(loadOnnxFile(linked.file).constants.find((c) => c.name === 'w')!.data!)), [1.5, 2.5, 3.5]);
  assert.ok(dir);
});

test('a symbolic link to a file outside the folder is refused, /etc/passwd included', () => {
  const a = modelDir('weights.bin');
  fs.symlinkSync(path.join(outside, 'secret.bin'), path.join(a.dir, 'weights.bin'));
  refused(a.file, 'weights.bin', /resolves to .*secret\.bin, outside the model's folder/);

  const b = modelDir('weights.bin');
  fs.symlinkSync('/etc/passwd', path.join(b.dir, 'weights.bin'));
  refused(b.file, 'weights.bin', /resolves to \/etc\/passwd, outside the model's folder/);

  // a linked folder that leads out is refused the same way
  const c = modelDir('data/secret.bin');
  fs.symlinkSync(outside, path.join(c.dir, 'data'));
  refused(c.file, 'data/secret.bin', /outside the model's folder/);

  // a link to a link that finally leaves
  const d = modelDir('hop.bin');
  fs.symlinkSync(path.join(outside, 'secret.bin'), path.join(d.dir, 'out.bin'));
  fs.symlinkSync('out.bin', path.join(d.dir, 'hop.bin'));
  refused(d.file, 'hop.bin', /outside the model's folder/);
});

test('`..`, absolute and folder-itself locations are refused', () => {
  for (const location of ['../w.bin', 'sub/../../w.bin', '/etc/passwd', path.join(outside, 'secret.bin'), '..\\w.bin']) {
    refused(modelDir(location).file, location, /must be a relative path inside the model's folder/);
  }
  refused(modelDir('.').file, '.', /outside the model's folder/);
  refused(modelDir('missing.bin').file, 'missing.bin', /no such file$/);
});

test('a folder, a device and a socket where data is expected are clear errors', async () => {
  const a = modelDir('data');
  fs.mkdirSync(path.join(a.dir, 'data'));
  refused(a.file, 'data', /it is a folder, not a regular file/);

  // a device node inside the folder (root can make one; the helper's check is also tested directly)
  const b = modelDir('null.bin');
  const made = spawnSync('mknod', [path.join(b.dir, 'null.bin'), 'c', '1', '3']).status === 0;
  if (made) refused(b.file, 'null.bin', /it is a character device, not a regular file/);
  assert.throws(() => openRegularFile('/dev/null'), /it is a character device, not a regular file/);
  assert.throws(() => openRegularFile('/dev/zero'), /it is a character device, not a regular file/);

  const c = modelDir('sock');
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(path.join(c.dir, 'sock'), resolve));
  try {
    refused(c.file, 'sock', /it is a socket, not a regular file/);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('offset or length past the end of the file is a clear error', () => {
  refused(modelDir('w.bin', { offset: '8', length: '8' }).file, 'w.bin', /has 12 bytes, but offset 8 \+ length 8 runs past its end/);
  refused(modelDir('w.bin', { offset: '100' }).file, 'w.bin', /has 12 bytes, but offset 100 is past its end/);
  assert.match(loadError(modelDir('w.bin', { length: '8' }).file).message, /raw data has 8 bytes, expected 12/);
});

test('a FIFO as external data, or as the model, is refused at once (child process with a deadline)', () => {
  const a = modelDir('pipe.bin');
  assert.is(spawnSync('mkfifo', [path.join(a.dir, 'pipe.bin')]).status, 0, 'mkfifo failed');
  const r = runKiln(['ir', a.file], { timeoutMs: 60_000 });
  assert.not.ok(r.timedOut, 'kiln ir blocked on the FIFO');
  assert.is(r.code, 1, r.err);
  assert.match(r.err, /^error: .*model\.onnx: tensor 'w': external data location 'pipe\.bin': it is a FIFO \(named pipe\), not a regular file\n$/);
  assert.equal(stackFrames(r.err), []);

  const fifoModel = path.join(a.dir, 'fifo.onnx');
  assert.is(spawnSync('mkfifo', [fifoModel]).status, 0);
  const m = runKiln(['ir', fifoModel], { timeoutMs: 60_000 });
  assert.not.ok(m.timedOut, 'kiln ir blocked on a FIFO model');
  assert.is(m.code, 1);
  assert.match(m.err, /^error: .*fifo\.onnx: cannot read model: it is a FIFO \(named pipe\), not a regular file\n$/);
});

test('the model path itself: a folder or a link to a device is refused before reading', () => {
  const dir = path.join(tmp, 'folder.onnx');
  fs.mkdirSync(dir);
  assert.throws(() => loadOnnxFile(dir), /folder\.onnx: cannot read model: it is a folder, not a regular file/);
  const dev = path.join(tmp, 'zero.onnx');
  fs.symlinkSync('/dev/zero', dev);
  assert.throws(() => loadOnnxFile(dev), /zero\.onnx: cannot read model: it is a character device, not a regular file/);
});

test('resolveInsideFolder: the real path inside, or a reason', () => {
  const { dir } = modelDir('w.bin');
  assert.is(resolveInsideFolder(dir, 'w.bin'), path.join(fs.realpathSync(dir), 'w.bin'));
  assert.throws(() => resolveInsideFolder(dir, 'w\0.bin'), /NUL/);
  assert.throws(() => resolveInsideFolder(path.join(dir, 'nope'), 'w.bin'), /folder cannot be resolved/);
});

test.after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.rmSync(outside, { recursive: true, force: true });
});

test.run();
