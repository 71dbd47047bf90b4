/**
 * compiler/files.ts, the one helper every output file goes through: atomic replacement of regular
 * files only (a folder, /dev/full, /dev/null, a FIFO or a link to one is refused and left as it was),
 * links to regular files followed, missing and non-folder parents, /proc, failures injected midway
 * (ENOSPC on write, EIO on fsync, a failing rename) that leave the old content and no temporary
 * behind, folder sets written all at once, and the plain-words reasons. Tests run as root, so a
 * read-only folder would not stop a write; failures are provoked by /proc and by injected calls.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KilnError } from '../compiler/errors.ts';
import {
  ensureFolder, fileProblem, readRegularFile, removeMatching, writeFileAtomic, writeFilesAtomic, type WriteCalls,
} from '../compiler/files.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-files-'));
let n = 0;
const fresh = (): string => {
  const d = path.join(tmp, `d${n++}`);
  fs.mkdirSync(d);
  return d;
};

/** The KilnError `fn` throws (one line, no errno code), or a failed assertion. */
function kilnError(fn: () => unknown): KilnError {
  try {
    fn();
  } catch (e) {
    assert.instance(e, KilnError, String(e));
    assert.not.match((e as Error).message, /\n/, 'one line');
    assert.not.match((e as Error).message, /\bE[A-Z]{3,}\b/, `errno code in: ${(e as Error).message}`);
    return e as KilnError;
  }
  throw new assert.Assertion({ message: 'expected a KilnError', operator: 'throws', expects: 'an error', actual: 'none', generated: false });
}

const errnoError = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: injected`), { code });

test('writes a new file and replaces a regular file, keeping its mode, with no temporary left', () => {
  const d = fresh();
  const f = path.join(d, 'out.txt');
  writeFileAtomic(f, 'one');
  assert.is(fs.readFileSync(f, 'utf8'), 'one');
  fs.chmodSync(f, 0o640);
  writeFileAtomic(f, new Uint8Array([104, 105]));
  assert.is(fs.readFileSync(f, 'utf8'), 'hi');
  assert.is(fs.statSync(f).mode & 0o777, 0o640);
  assert.equal(fs.readdirSync(d), ['out.txt']);
});

test('a folder, /dev/full, /dev/null and a FIFO are refused and stay what they were', () => {
  const d = fresh();
  const sub = path.join(d, 'sub');
  fs.mkdirSync(sub);
  assert.match(kilnError(() => writeFileAtomic(sub, 'x')).message, /sub: cannot write file: it is a folder, not a regular file/);
  assert.ok(fs.statSync(sub).isDirectory());
  for (const dev of ['/dev/full', '/dev/null']) {
    const e = kilnError(() => writeFileAtomic(dev, 'x', { what: 'ONNX file' }));
    assert.is(e.message, `${dev}: cannot write ONNX file: it is a character device, not a regular file; kiln replaces only regular files`);
    assert.ok(fs.lstatSync(dev).isCharacterDevice(), `${dev} is still a character device`);
  }
  assert.not.ok(fs.readdirSync('/dev').some((f) => f.includes('.kiln-')), 'no temporary in /dev');
  const fifo = path.join(d, 'pipe');
  assert.is(spawnSync('mkfifo', [fifo]).status, 0);
  assert.match(kilnError(() => writeFileAtomic(fifo, 'x')).message, /it is a FIFO \(named pipe\), not a regular file/);
  assert.ok(fs.lstatSync(fifo).isFIFO());
  assert.equal(fs.readdirSync(d).sort(), ['pipe', 'sub']);
});

test('symbolic links: to a regular file the file is replaced and the link kept; to anything else refused', () => {
  const d = fresh();
  const real = path.join(d, 'real.txt');
  fs.writeFileSync(real, 'old');
  const link = path.join(d, 'link.txt');
  fs.symlinkSync('real.txt', link);
  writeFileAtomic(link, 'new');
  assert.ok(fs.lstatSync(link).isSymbolicLink());
  assert.is(fs.readFileSync(real, 'utf8'), 'new');

  const toDev = path.join(d, 'full');
  fs.symlinkSync('/dev/full', toDev);
  assert.match(kilnError(() => writeFileAtomic(toDev, 'x')).message, /it is a symbolic link to a character device; kiln replaces only regular files/);
  assert.ok(fs.lstatSync(toDev).isSymbolicLink());
  const dangling = path.join(d, 'dangling');
  fs.symlinkSync(path.join(d, 'nowhere', 'x'), dangling);
  assert.match(kilnError(() => writeFileAtomic(dangling, 'x')).message, /symbolic link to a missing file/);
  assert.equal(fs.readdirSync(d).sort(), ['dangling', 'full', 'link.txt', 'real.txt']);
});

test('missing parent, parent that is a file, /proc: one clear line each', () => {
  const d = fresh();
  const missing = path.join(d, 'no', 'such', 'out.svg');
  assert.is(kilnError(() => writeFileAtomic(missing, 'x', { what: 'SVG file' })).message,
    `${missing}: cannot write SVG file: folder ${path.join(d, 'no', 'such')} does not exist`);
  writeFileAtomic(missing, 'x', { makeParents: true });
  assert.is(fs.readFileSync(missing, 'utf8'), 'x');

  const file = path.join(d, 'plain');
  fs.writeFileSync(file, '');
  for (const makeParents of [false, true]) {
    assert.match(kilnError(() => writeFileAtomic(path.join(file, 'a', 'out'), 'x', { makeParents })).message,
      new RegExp(`cannot write file: ${file} is a regular file, not a folder$`));
  }
  assert.match(kilnError(() => writeFileAtomic('/proc/kiln-test.txt', 'x')).message, /^\/proc\/kiln-test\.txt: cannot write file: folder \/proc does not accept new files$/);
  assert.match(kilnError(() => writeFileAtomic('', 'x')).message, /not a valid file name/);
});

test('failures midway (ENOSPC on write, EIO on fsync, failing rename) keep the old file and leave no temporary', () => {
  const cases: [string, Partial<WriteCalls>, RegExp][] = [
    ['write', { writeSync: (fd, data, off, len) => { if (off > 0) throw errnoError('ENOSPC'); return fs.writeSync(fd, data, off, Math.min(len, 3)); } }, /no space left on the device/],
    ['fsync', { fsyncSync: () => { throw errnoError('EIO'); } }, /input\/output error/],
    ['rename', { renameSync: () => { throw errnoError('EACCES'); } }, /permission denied/],
  ];
  for (const [what, calls, reason] of cases) {
    const d = fresh();
    const f = path.join(d, 'model.onnx');
    fs.writeFileSync(f, 'old content');
    assert.match(kilnError(() => writeFileAtomic(f, 'new content that is longer', { calls })).message, reason, what);
    assert.is(fs.readFileSync(f, 'utf8'), 'old content', `${what}: the target keeps its content`);
    assert.equal(fs.readdirSync(d), ['model.onnx'], `${what}: no temporary left`);
  }
});

test('writeFilesAtomic: a new folder appears with every file, or not at all', () => {
  const d = fresh();
  const out = path.join(d, 'out');
  writeFilesAtomic(out, [['a.pb', 'A'], ['b.pb', new Uint8Array([66])]]);
  assert.equal(fs.readdirSync(out).sort(), ['a.pb', 'b.pb']);
  assert.is(fs.readFileSync(path.join(out, 'b.pb'), 'utf8'), 'B');
  assert.equal(fs.readdirSync(d), ['out']);

  let writes = 0;
  const failSecond: Partial<WriteCalls> = { writeSync: (fd, data, off, len) => { if (++writes > 1) throw errnoError('ENOSPC'); return fs.writeSync(fd, data, off, len); } };
  const out2 = path.join(d, 'out2');
  assert.match(kilnError(() => writeFilesAtomic(out2, [['a', 'A'], ['b', 'B']], { calls: failSecond, what: 'outputs' })).message,
    /out2: cannot write outputs: no space left on the device$/);
  assert.equal(fs.readdirSync(d), ['out'], 'no half-written folder, no temporary folder');
});

test('writeFilesAtomic into an existing folder: other files kept, nothing changed on failure or refusal', () => {
  const d = fresh();
  fs.writeFileSync(path.join(d, 'keep.txt'), 'keep');
  fs.writeFileSync(path.join(d, 'a'), 'old a');
  writeFilesAtomic(d, [['a', 'new a'], ['b', 'new b']]);
  assert.equal(fs.readdirSync(d).sort(), ['a', 'b', 'keep.txt']);
  assert.is(fs.readFileSync(path.join(d, 'a'), 'utf8'), 'new a');

  let writes = 0;
  const failSecond: Partial<WriteCalls> = { writeSync: (fd, data, off, len) => { if (++writes > 1) throw errnoError('EIO'); return fs.writeSync(fd, data, off, len); } };
  kilnError(() => writeFilesAtomic(d, [['a', 'newer a'], ['b', 'newer b']], { calls: failSecond }));
  assert.is(fs.readFileSync(path.join(d, 'a'), 'utf8'), 'new a', 'the first file was not moved in');
  assert.equal(fs.readdirSync(d).sort(), ['a', 'b', 'keep.txt'], 'no temporary left');

  fs.mkdirSync(path.join(d, 'c'));
  assert.match(kilnError(() => writeFilesAtomic(d, [['a', 'x'], ['c', 'y']])).message, /c in it is a folder; kiln replaces only regular files/);
  assert.is(fs.readFileSync(path.join(d, 'a'), 'utf8'), 'new a');
  assert.match(kilnError(() => writeFilesAtomic(d, [['../escape', 'x']])).message, /is not a plain file name/);
  assert.match(kilnError(() => writeFilesAtomic('/dev/full', [['a', 'x']])).message, /^\/dev\/full: cannot write files: it is a character device, not a folder$/);
  assert.match(kilnError(() => writeFilesAtomic('/proc/kiln-out', [['a', 'x']])).message, /folder \/proc does not accept new files/);
  assert.match(kilnError(() => writeFilesAtomic(path.join(d, 'x', 'y'), [['a', 'x']])).message, /folder .*x does not exist/);
  assert.ok(fs.lstatSync('/dev/full').isCharacterDevice());
});

test('ensureFolder, removeMatching and readRegularFile name the path and the reason', () => {
  const d = fresh();
  const f = path.join(d, 'file');
  fs.writeFileSync(f, 'x');
  assert.match(kilnError(() => ensureFolder(f, { what: 'the dump folder' })).message, /file: cannot write the dump folder: .*file is a regular file, not a folder$/);
  ensureFolder(path.join(d, 'p', 'q'), { makeParents: true });
  assert.ok(fs.statSync(path.join(d, 'p', 'q')).isDirectory());
  fs.writeFileSync(path.join(d, 'p', 'q', '001_x.kir'), '');
  fs.writeFileSync(path.join(d, 'p', 'q', 'notes.txt'), '');
  removeMatching(path.join(d, 'p', 'q'), /^\d{3}_.*\.kir$/);
  assert.equal(fs.readdirSync(path.join(d, 'p', 'q')), ['notes.txt']);

  assert.is(readRegularFile(f).toString(), 'x');
  assert.match(kilnError(() => readRegularFile(path.join(d, 'nope'), 'model')).message, /nope: cannot read model: no such file$/);
  assert.match(kilnError(() => readRegularFile(d)).message, /cannot read file: it is a folder, not a regular file$/);
  assert.match(kilnError(() => readRegularFile('/dev/zero')).message, /it is a character device, not a regular file$/);
});

test('fileProblem turns errno codes into words', () => {
  assert.is(fileProblem(errnoError('ENOSPC')), 'no space left on the device');
  assert.is(fileProblem(errnoError('EROFS')), 'the file system is read-only');
  assert.is(fileProblem(errnoError('ENOTDIR')), 'a part of the path is a file, not a folder');
  assert.is(fileProblem(Object.assign(new Error("EWEIRD: something odd, open '/x'"), { code: 'EWEIRD' })), 'something odd');
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test.run();
