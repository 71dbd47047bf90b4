/**
 * The kernel's input history file (kernel/history.ts): inputs only, sessions numbered across kernel
 * runs, and bounded — by entries and by bytes, compacted through a temporary file in the same folder
 * that is renamed over the history (none left behind), at load time too; an oversized input is not
 * kept; a FIFO given as the history file is refused without blocking. Also the queries (range, tail,
 * search with globs and unique).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { History, globToRegExp } from '../../kernel/history.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-history-'));
let n = 0;
const fresh = () => path.join(tmp, `h${++n}`, 'kernel-history.jsonl');
const lines = (file: string) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
const inputs = (h: History): string[] => h.query({ hist_access_type: 'tail', n: 1_000_000, output: false, raw: true }).map((e) => e[2] as string);

/** Captures the kernel's stderr notes while `fn` runs. */
function stderrOf(fn: () => void): string {
  const orig = process.stderr.write.bind(process.stderr);
  let out = '';
  process.stderr.write = ((c: string | Uint8Array) => { out += String(c); return true; }) as typeof process.stderr.write;
  try { fn(); } finally { process.stderr.write = orig; }
  return out;
}

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('inputs are kept, not outputs; a later kernel is the next session and sees earlier ones', () => {
  const file = fresh();
  const a = new History(file);
  a.add('const x = 1');
  a.add('x + 1');
  assert.equal(lines(file).map((l) => Object.keys(l)), [['session', 'line', 'input'], ['session', 'line', 'input']]);
  const b = new History(file);
  assert.is(b.session, a.session + 1);
  b.add('x * 2');
  assert.equal(b.query({ hist_access_type: 'tail', n: 3, output: true, raw: true }), [
    [a.session, 1, ['const x = 1', null]], [a.session, 2, ['x + 1', null]], [b.session, 1, ['x * 2', null]],
  ]);
});

test('over the entry cap, the file is compacted to the newest entries (temp file renamed, none left)', () => {
  const file = fresh();
  const h = new History(file, { maxEntries: 8 });
  for (let i = 1; i <= 8; i++) h.add(`cell ${i}`);
  assert.is(lines(file).length, 8);
  h.add('cell 9'); // over the cap: keep the newest 3/4 of 8 = 6
  assert.equal(inputs(h), ['cell 4', 'cell 5', 'cell 6', 'cell 7', 'cell 8', 'cell 9']);
  assert.equal(lines(file).map((l) => l.input), inputs(h));
  assert.equal(fs.readdirSync(path.dirname(file)), ['kernel-history.jsonl']);
  for (let i = 10; i <= 100; i++) h.add(`cell ${i}`);
  assert.ok(h.size <= 8 && lines(file).length === h.size, `${h.size} entries, ${lines(file).length} lines`);
  assert.equal(inputs(h).at(-1), 'cell 100');
  // line numbers keep counting in the session
  assert.equal(h.query({ hist_access_type: 'tail', n: 1, output: false, raw: true }), [[h.session, 100, 'cell 100']]);
});

test('over the byte cap, the file stays under it; an input over a quarter of the cap is not kept', () => {
  const file = fresh();
  const maxBytes = 4096;
  const h = new History(file, { maxBytes });
  for (let i = 0; i < 200; i++) h.add(`${i}:${'x'.repeat(100)}`);
  assert.ok(fs.statSync(file).size <= maxBytes, `file is ${fs.statSync(file).size} bytes`);
  assert.ok(inputs(h).at(-1)!.startsWith('199:'));
  const before = inputs(h);
  const line = h.add('y'.repeat(maxBytes)); // alone over the cap/4: numbered, not kept, nothing evicted
  assert.is(line, 201);
  assert.equal(inputs(h), before);
  assert.ok(!fs.readFileSync(file, 'utf8').includes('yyyy'));
});

test('a file over the caps (an old unbounded history) is compacted when loaded, reading only its tail', () => {
  const file = fresh();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const old = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ session: 1 + Math.floor(i / 1000), line: i + 1, input: `old ${i}`, output: 'o'.repeat(50) })).join('\n') + '\n';
  fs.writeFileSync(file, old);
  const h = new History(file, { maxEntries: 100, maxBytes: 64 * 1024 });
  assert.is(h.session, 6);
  assert.ok(h.size <= 75, `${h.size} entries kept`);
  assert.equal(inputs(h).at(-1), 'old 4999');
  assert.ok(fs.statSync(file).size < old.length / 10);
  assert.ok(lines(file).every((l) => !('output' in l)), 'outputs are dropped from the file');
  assert.equal(fs.readdirSync(path.dirname(file)), ['kernel-history.jsonl']);
});

test('a torn line is skipped; a FIFO as the history file is refused at once (memory only)', () => {
  const file = fresh();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, '{"session":1,"line":1,"input":"a"}\n{"session":1,"li');
  assert.equal(inputs(new History(file)), ['a']);
  const fifo = path.join(path.dirname(file), 'fifo');
  execFileSync('mkfifo', [fifo]);
  let h!: History;
  const note = stderrOf(() => { h = new History(fifo); });
  assert.match(note, /history file .*fifo not usable \(not a regular file\); keeping history in memory/);
  h.add('still works');
  assert.equal(inputs(h), ['still works']);
  assert.ok(fs.statSync(fifo).isFIFO());
});

test('history file: sessions are numbered, entries persist, torn lines are skipped', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-history-'));
  const file = path.join(dir, 'sub', 'hist.jsonl');
  try {
    const h1 = new History(file);
    assert.is(h1.session, 1);
    h1.add('a = 1');
    h1.add('a + 1');
    fs.appendFileSync(file, '{"session": 1, "li');
    const h2 = new History(file);
    assert.is(h2.session, 2);
    h2.add('a * 3');
    assert.equal(h2.query({ hist_access_type: 'tail', n: 10, output: true, raw: true }), [[1, 1, ['a = 1', null]], [1, 2, ['a + 1', null]], [2, 1, ['a * 3', null]]]);
    assert.equal(h2.query({ hist_access_type: 'range', session: -1, start: 2, output: false, raw: true }), [[1, 2, 'a + 1']]);
    assert.equal(h2.query({ hist_access_type: 'range', session: 0, output: false, raw: true }), [[2, 1, 'a * 3']]);
    assert.equal(h2.query({ hist_access_type: 'search', pattern: 'a ?*', n: 2, output: false, raw: true }), [[1, 2, 'a + 1'], [2, 1, 'a * 3']]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('history search: globs match whole inputs; unique keeps the last occurrence', () => {
  assert.ok(globToRegExp('6*7').test('6*7'));
  assert.ok(globToRegExp('6*7').test('6 + 1 * 7'));
  assert.not.ok(globToRegExp('6*7').test('6*7 + 1'));
  assert.ok(globToRegExp('a?c').test('abc') && !globToRegExp('a?c').test('ac'));
  assert.ok(globToRegExp('(x).y').test('(x).y'));
  const h = new History();
  for (const c of ['x = 1', 'y', 'x = 1', 'z']) h.add(c);
  assert.equal(h.query({ hist_access_type: 'search', pattern: '*', unique: true, output: false, raw: true }).map((e) => e[1]), [2, 3, 4]);
});

test('caps must be positive integers', () => {
  assert.throws(() => new History(undefined, { maxEntries: 0 }), /maxEntries must be a positive integer/);
  assert.throws(() => new History(undefined, { maxBytes: 1.5 }), /maxBytes must be a positive integer/);
});

test.run();
