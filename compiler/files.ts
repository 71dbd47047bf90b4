/**
 * kiln's one home for touching the file system on behalf of a user: reading input files of the
 * right kind, resolving a path that must stay inside a folder, and writing every output file safely.
 *
 * Writing (`writeFileAtomic`, `writeFilesAtomic`): the data goes to a temporary file in the target's
 * own folder (so the final rename never crosses file systems), is fsynced, and is renamed over the
 * target only when the target is a regular file or does not exist yet. A folder, a device (/dev/full,
 * /dev/null), a FIFO, a socket or a link to one of them is refused before anything is written, so it
 * is never replaced. A symbolic link to a regular file is followed: the file it points to is replaced
 * and the link stays. On any failure, midway through a write included, the temporary file is removed:
 * nothing is left behind and the target keeps its old content. A set of files for one folder (run
 * outputs, a kernelspec) is written into a temporary folder first and moved into place only once every
 * file is complete; a folder that did not exist appears with all its files at once.
 *
 * Reading (`readRegularFile`, `openRegularFile`): the path is checked with stat and opened with
 * O_NONBLOCK, then checked again on the open descriptor, so a FIFO, a device or a folder where a file
 * is expected is a clear error and never a hang.
 *
 * Every file-system failure becomes one KilnError naming the path and the reason in plain words
 * (`fileProblem` turns errno codes into them); the CLI prints it as one `error:` line.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { KilnError } from './errors.ts';

/** File contents: text (written as UTF-8) or bytes. */
export type FileData = string | Uint8Array;

/** The sha256 (lowercase hex) of file contents: how manifests and `.kir` weights links name a file. */
export function sha256Hex(data: FileData): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The low-level calls a write makes; tests replace them to provoke failures midway (ENOSPC, EIO). */
export interface WriteCalls {
  writeSync(fd: number, data: Uint8Array, offset: number, length: number): number;
  fsyncSync(fd: number): void;
  renameSync(from: string, to: string): void;
}

/** Options of the write helpers. */
export interface WriteOptions {
  /** What is written, for errors: `cannot write <what>: ...` (default `file`). */
  readonly what?: string;
  /** Create missing parent folders (default false: a missing folder is an error). */
  readonly makeParents?: boolean;
  /** Replacement low-level calls (tests only). */
  readonly calls?: Partial<WriteCalls>;
}

/** A file-system problem already phrased in plain words (thrown by the helpers below, caught by callers). */
export class FileProblem extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'FileProblem';
  }
}

const PLAIN_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or folder',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'the file is too large for the file system',
  EIO: 'input/output error on the device',
  EBUSY: 'the file or device is busy',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many levels of symbolic links',
  EEXIST: 'it already exists',
  ENOTEMPTY: 'the folder is not empty',
  EXDEV: 'the temporary file and the target are on different file systems',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
  EINVAL: 'the file system does not support this operation',
  ENXIO: 'no such device',
  ENODEV: 'no such device',
  ETXTBSY: 'the file is in use',
};

/** A plain-words reason for a file-system error (errno codes become words, no syscall noise). */
export function fileProblem(e: unknown): string {
  if (e instanceof FileProblem) return e.message;
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code && PLAIN_REASONS[code]) return PLAIN_REASONS[code];
  const msg = String((e as Error)?.message ?? e);
  // "ECODE: words, syscall 'path'" -> "words"
  return msg.replace(/^[A-Z0-9_]+: /, '').replace(/, \w+ '.*'$/, '');
}

/** What kind of file-system entry `s` is, in words: `a folder`, `a character device`, ... */
export function fileKind(s: fs.Stats): string {
  if (s.isFile()) return 'a regular file';
  if (s.isDirectory()) return 'a folder';
  if (s.isSymbolicLink()) return 'a symbolic link';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** stat/lstat that returns undefined for a missing entry and throws anything else. */
function statOrNone(p: string, follow: boolean): fs.Stats | undefined {
  try {
    return follow ? fs.statSync(p) : fs.lstatSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

// ----- reading -----------------------------------------------------------------------------------

/** An open regular file: its descriptor (the caller closes it) and size. */
export interface OpenFile {
  readonly fd: number;
  readonly size: number;
}

/**
 * Opens `file` for reading if it is a regular file (links followed); throws a FileProblem otherwise.
 * O_NONBLOCK makes a FIFO swapped in after the stat open at once instead of blocking; fstat catches it.
 */
export function openRegularFile(file: string): OpenFile {
  if (file.includes('\0')) throw new FileProblem('the path contains a NUL character');
  let s: fs.Stats | undefined;
  try {
    s = statOrNone(file, true);
  } catch (e) {
    throw new FileProblem(fileProblem(e));
  }
  if (!s) throw new FileProblem('no such file');
  if (!s.isFile()) throw new FileProblem(`it is ${fileKind(s)}, not a regular file`);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    throw new FileProblem(fileProblem(e));
  }
  const again = fs.fstatSync(fd);
  if (!again.isFile()) {
    fs.closeSync(fd);
    throw new FileProblem(`it is ${fileKind(again)}, not a regular file`);
  }
  return { fd, size: again.size };
}

/** Reads `length` bytes at `offset` of an open file; throws a FileProblem if the file ends early. */
export function readRange(f: OpenFile, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    let r: number;
    try {
      r = fs.readSync(f.fd, buf, done, length - done, offset + done);
    } catch (e) {
      throw new FileProblem(fileProblem(e));
    }
    if (r <= 0) throw new FileProblem(`the file ended after ${offset + done} bytes`);
    done += r;
  }
  return buf;
}

/** Reads a whole regular file; a missing file, a folder, a FIFO or a device is `cannot read <what>: ...`. */
export function readRegularFile(file: string, what = 'file'): Buffer {
  try {
    const f = openRegularFile(file);
    try {
      return readRange(f, 0, f.size);
    } finally {
      fs.closeSync(f.fd);
    }
  } catch (e) {
    throw new KilnError(`cannot read ${what}: ${fileProblem(e)}`, { file });
  }
}

/**
 * The real path of `relative` inside `folder` (symbolic links resolved on both), or a FileProblem when
 * it is absolute, climbs out with `..`, or resolves (through a link) to a place outside the folder.
 * The ONNX external-data rule, as onnxruntime applies it.
 */
export function resolveInsideFolder(folder: string, relative: string): string {
  if (relative.includes('\0')) throw new FileProblem('the path contains a NUL character');
  if (path.isAbsolute(relative) || /^[A-Za-z]:/.test(relative) || relative.split(/[\\/]/).includes('..')) {
    throw new FileProblem("it must be a relative path inside the model's folder");
  }
  let root: string, real: string;
  try {
    root = fs.realpathSync(folder);
  } catch (e) {
    throw new FileProblem(`the model's folder cannot be resolved (${fileProblem(e)})`);
  }
  try {
    real = fs.realpathSync(path.join(root, relative));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FileProblem(code === 'ENOENT' ? 'no such file' : fileProblem(e));
  }
  if (real === root || !real.startsWith(root.endsWith(path.sep) ? root : root + path.sep)) {
    throw new FileProblem(`it resolves to ${real}, outside the model's folder ${root}`);
  }
  return real;
}

// ----- writing -----------------------------------------------------------------------------------

/** stat (links followed) that returns undefined where nothing is found, ENOTDIR included. */
function statEntry(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new FileProblem(`${p}: ${fileProblem(e)}`);
  }
}

/**
 * Makes sure `dir` is a folder. A missing one is created when `create` is set (its missing parents
 * too with `makeParents`); otherwise, or when a part of the path is a file, a FileProblem names the
 * first part of the path that is missing or is not a folder.
 */
function needFolder(dir: string, makeParents: boolean, create: boolean): void {
  const s = statEntry(dir);
  if (s?.isDirectory()) return;
  if (s) throw new FileProblem(`${dir} is ${fileKind(s)}, not a folder`);
  const missing = [dir]; // from the top-most missing folder down to dir
  for (let a = path.dirname(dir); a !== missing[0]; a = path.dirname(a)) {
    const t = statEntry(a);
    if (t && !t.isDirectory()) throw new FileProblem(`${a} is ${fileKind(t)}, not a folder`);
    if (t) break;
    missing.unshift(a);
  }
  if (!create) throw new FileProblem(`folder ${dir} does not exist`);
  if (missing.length > 1 && !makeParents) throw new FileProblem(`folder ${path.dirname(dir)} does not exist`);
  for (const m of missing) {
    try {
      fs.mkdirSync(m);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && statEntry(m)?.isDirectory()) continue;
      // /proc and similar virtual folders exist but refuse new entries with ENOENT
      throw new FileProblem(code === 'ENOENT' ? `folder ${path.dirname(m)} does not accept new folders` : `cannot create folder ${m}: ${fileProblem(e)}`);
    }
  }
}

/** Makes sure `dir` is a folder, creating it (and, with makeParents, its parents); KilnError otherwise. */
export function ensureFolder(dir: string, opts: { what?: string; makeParents?: boolean } = {}): void {
  try {
    needFolder(path.resolve(dir), opts.makeParents ?? false, true);
  } catch (e) {
    throw new KilnError(`cannot write ${opts.what ?? 'folder'}: ${fileProblem(e)}`, { file: dir });
  }
}

/** The path a write to `target` replaces: the target, or the regular file a link points to. */
function replaceablePath(target: string): string {
  const s = statOrNone(target, false);
  if (!s || s.isFile()) return target;
  if (s.isSymbolicLink()) {
    const to = statOrNone(target, true);
    if (!to) throw new FileProblem('it is a symbolic link to a missing file');
    if (!to.isFile()) throw new FileProblem(`it is a symbolic link to ${fileKind(to)}; kiln replaces only regular files`);
    return fs.realpathSync(target);
  }
  throw new FileProblem(`it is ${fileKind(s)}, not a regular file; kiln replaces only regular files`);
}

const bytesOf = (data: FileData): Uint8Array => (typeof data === 'string' ? Buffer.from(data, 'utf8') : data);

/** A fresh hidden temporary name next to `file`. */
const tempName = (file: string): string =>
  path.join(path.dirname(file), `.${path.basename(file).slice(0, 100)}.kiln-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);

/** Creates `tmp` exclusively and writes, fsyncs and closes it; removes it on any failure. */
function writeTemp(tmp: string, data: FileData, calls: WriteCalls, mode?: number): void {
  let fd: number;
  try {
    fd = fs.openSync(tmp, 'wx', 0o666);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // /proc and similar virtual folders exist but refuse new entries with ENOENT
    throw new FileProblem(code === 'ENOENT'
      ? `folder ${path.dirname(tmp)} does not accept new files`
      : `cannot create a file in folder ${path.dirname(tmp)}: ${fileProblem(e)}`);
  }
  try {
    if (mode !== undefined) try { fs.fchmodSync(fd, mode); } catch { /* keep the default mode */ }
    const bytes = bytesOf(data);
    let done = 0;
    while (done < bytes.length) done += calls.writeSync(fd, bytes, done, bytes.length - done);
    calls.fsyncSync(fd);
  } catch (e) {
    try { fs.closeSync(fd); } catch { /* already failing */ }
    removeQuietly(tmp);
    throw e;
  }
  try {
    fs.closeSync(fd);
  } catch (e) {
    removeQuietly(tmp);
    throw e;
  }
}

function removeQuietly(p: string): void {
  try { fs.rmSync(p, { recursive: true, force: true }); } catch { /* nothing more to do */ }
}

/** Flushes a folder's entries (the rename) to disk where the platform allows it. */
function syncFolder(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  } catch { /* not supported everywhere (Windows); the data itself is synced */ }
}

function writeCalls(over: Partial<WriteCalls> = {}): WriteCalls {
  return {
    writeSync: over.writeSync ?? ((fd, data, off, len) => fs.writeSync(fd, data, off, len)),
    fsyncSync: over.fsyncSync ?? ((fd) => fs.fsyncSync(fd)),
    renameSync: over.renameSync ?? ((a, b) => fs.renameSync(a, b)),
  };
}

/**
 * Writes `data` to `target` atomically: a temporary file in the target's folder, fsync, rename. The
 * target must be a regular file, a link to one, or not exist; a failure is a KilnError
 * `cannot write <what>: <reason>` naming the target, and leaves the target and its folder as they were.
 */
export function writeFileAtomic(target: string, data: FileData, opts: WriteOptions = {}): void {
  const calls = writeCalls(opts.calls);
  let tmp: string | undefined;
  try {
    if (target === '' || target.includes('\0')) throw new FileProblem('not a valid file name');
    const abs = path.resolve(target);
    needFolder(path.dirname(abs), opts.makeParents ?? false, opts.makeParents ?? false);
    const dest = replaceablePath(abs);
    const old = statOrNone(dest, true);
    tmp = tempName(dest);
    writeTemp(tmp, data, calls, old ? old.mode & 0o7777 : undefined);
    replaceablePath(dest); // still a regular file or nothing
    calls.renameSync(tmp, dest);
    tmp = undefined;
    syncFolder(path.dirname(dest));
  } catch (e) {
    if (tmp) removeQuietly(tmp);
    throw new KilnError(`cannot write ${opts.what ?? 'file'}: ${fileProblem(e)}`, { file: target });
  }
}

/**
 * Checks that `out` can take a new set of files: it does not exist, or is an empty folder (what
 * `kiln build` and `kiln report` write into). Anything else is a KilnError naming it; `command` is
 * the command named in the message.
 */
export function checkOutFolder(out: string, command = 'kiln build'): void {
  let s: fs.Stats;
  try {
    s = fs.statSync(out);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new KilnError(`cannot use --out: ${fileProblem(e)}`, { file: out });
  }
  if (!s.isDirectory()) throw new KilnError(`--out is ${fileKind(s)}, not a folder; give a new or empty folder`, { file: out });
  if (fs.readdirSync(out).length) throw new KilnError(`--out exists and is not empty; ${command} writes a new folder (remove it or choose another)`, { file: out });
}

/** `name` as one plain file name: characters other than letters, digits, `_`, `.` and `-` become `_`, no leading dot. */
export const safeFileName = (name: string): string => name.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^\.+/, '_') || '_';

/** `name`, or `name.1`, `name.2`... the first not in `used` (which it is added to). */
export function uniqueName(name: string, used: Set<string>): string {
  let n = name, k = 1;
  while (used.has(n)) n = `${name}.${k++}`;
  used.add(n);
  return n;
}

/** One file of a set: its name inside the folder and its contents. */
export type NamedFile = readonly [name: string, data: FileData];

/**
 * Writes a set of files into folder `dir` (created if missing; with makeParents, its parents too);
 * a name may hold `/` between plain names, and its subfolders are created.
 * Every file is written and fsynced in a temporary folder first; only then are they moved in (a new
 * folder is renamed into place whole). Existing files of the same names must be regular files and are
 * replaced; other files in the folder are kept. Failures are KilnErrors naming the folder, and leave no
 * temporary behind.
 */
export function writeFilesAtomic(dir: string, files: readonly NamedFile[], opts: WriteOptions = {}): void {
  const calls = writeCalls(opts.calls);
  let tmpDir: string | undefined;
  try {
    if (dir === '' || dir.includes('\0')) throw new FileProblem('not a valid folder name');
    for (const [name] of files) {
      // a name may be a relative path of plain names (`ir/001_dce.kir`): its folders are created too
      if (!name || name.split('/').some((p) => !p || p === '.' || p === '..' || /[\\\0]/.test(p))) throw new FileProblem(`'${name}' is not a plain file name`);
    }
    const abs = path.resolve(dir);
    needFolder(path.dirname(abs), opts.makeParents ?? false, opts.makeParents ?? false);
    const s = statOrNone(abs, true);
    if (!s && statOrNone(abs, false)) throw new FileProblem('it is a symbolic link to a missing folder');
    if (s && !s.isDirectory()) throw new FileProblem(`it is ${fileKind(s)}, not a folder`);
    const real = s ? fs.realpathSync(abs) : abs;
    if (s) {
      for (const [name] of files) {
        const t = statOrNone(path.join(real, name), false);
        if (t && !t.isFile()) throw new FileProblem(`${name} in it is ${fileKind(t)}; kiln replaces only regular files`);
      }
    }
    // a new folder is built next to where it goes; an existing one gets the temporary folder inside
    tmpDir = tempName(s ? path.join(real, 'set') : abs);
    try {
      fs.mkdirSync(tmpDir);
    } catch (e) {
      const where = path.dirname(tmpDir);
      throw new FileProblem((e as NodeJS.ErrnoException).code === 'ENOENT'
        ? `folder ${where} does not accept new files` : `cannot create a folder in ${where}: ${fileProblem(e)}`);
    }
    const subfolders = (root: string) => {
      for (const d of new Set(files.map(([name]) => path.dirname(name)).filter((d) => d !== '.')).values()) fs.mkdirSync(path.join(root, d), { recursive: true });
    };
    subfolders(tmpDir);
    for (const [name, data] of files) writeTemp(path.join(tmpDir, name), data, calls);
    syncFolder(tmpDir);
    if (!s) {
      calls.renameSync(tmpDir, abs);
      tmpDir = undefined;
      syncFolder(path.dirname(abs));
      return;
    }
    subfolders(real);
    for (const [name] of files) calls.renameSync(path.join(tmpDir, name), path.join(real, name));
    syncFolder(real);
  } catch (e) {
    throw new KilnError(`cannot write ${opts.what ?? 'files'}: ${fileProblem(e)}`, { file: dir });
  } finally {
    if (tmpDir) removeQuietly(tmpDir);
  }
}

/** Removes the files of `dir` whose names match `pattern` (stale outputs); KilnError on failure. */
export function removeMatching(dir: string, pattern: RegExp, what = 'folder'): void {
  try {
    for (const f of fs.readdirSync(dir)) if (pattern.test(f)) fs.rmSync(path.join(dir, f));
  } catch (e) {
    throw new KilnError(`cannot clean ${what}: ${fileProblem(e)}`, { file: dir });
  }
}
