/**
 * REPL history: where the file lives (KILN_HISTORY_FILE, XDG_CONFIG_HOME, ~/.config), persistence
 * across runs, what is not stored (blank lines, repeats, lines starting with a space), the up/down walk
 * with the draft kept, the entry limit and file compaction; and the line editor's pure functions.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { History, historyPath } from '../../repl/history.ts';
import * as ed from '../../repl/editor.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-history-'));

test('historyPath: KILN_HISTORY_FILE, then XDG_CONFIG_HOME/kiln/history, then ~/.config/kiln/history', () => {
  assert.is(historyPath({ KILN_HISTORY_FILE: '/x/h', XDG_CONFIG_HOME: '/cfg' }), '/x/h');
  assert.is(historyPath({ XDG_CONFIG_HOME: '/cfg' }), '/cfg/kiln/history');
  assert.is(historyPath({}), path.join(os.homedir(), '.config', 'kiln', 'history'));
});

test('lines persist across runs, one a line, in a folder created on demand', () => {
  const file = path.join(tmp, 'a', 'b', 'history');
  const h = new History(file);
  for (const l of ['load zoo:mlp', 'step', 'step', '', '   ', ' secret', 'diff 0 3']) h.add(l);
  assert.equal(h.all, ['load zoo:mlp', 'step', 'diff 0 3']);
  assert.is(fs.readFileSync(file, 'utf8'), 'load zoo:mlp\nstep\ndiff 0 3\n');
  const again = new History(file);
  assert.equal(again.all, ['load zoo:mlp', 'step', 'diff 0 3']);
  assert.is(again.up(''), 'diff 0 3');
});

test('up/down walk the entries and give back the draft past the newest', () => {
  const h = new History(undefined, 100, ['a', 'b', 'c']);
  assert.is(h.down(), undefined, 'nothing newer than the line being edited');
  assert.is(h.up('dra'), 'c');
  assert.is(h.up('c'), 'b');
  assert.is(h.up('b'), 'a');
  assert.is(h.up('a'), undefined, 'oldest reached');
  assert.is(h.down(), 'b');
  assert.is(h.down(), 'c');
  assert.is(h.down(), 'dra', 'the draft comes back');
  assert.is(h.down(), undefined);
  h.up('x');
  h.add('d');
  assert.is(h.up(''), 'd', 'adding resets the walk to the newest');
});

test('the limit keeps the newest entries; the file is compacted past twice the limit', () => {
  const file = path.join(tmp, 'limited');
  const h = new History(file, 3);
  for (let i = 1; i <= 7; i++) h.add(`l${i}`);
  assert.equal(h.all, ['l5', 'l6', 'l7']);
  assert.equal(fs.readFileSync(file, 'utf8').trim().split('\n'), ['l5', 'l6', 'l7'], 'rewritten at the 7th line');
  assert.equal(new History(file, 3).all, ['l5', 'l6', 'l7']);
});

test('an unwritable history file does not throw', () => {
  const file = path.join(tmp, 'not-a-dir');
  fs.writeFileSync(file, 'x');
  const h = new History(path.join(file, 'history'));
  h.add('step');
  assert.equal(h.all, ['step']);
});

test('editor: insert, delete, moves, kills and word deletion', () => {
  let l = ed.insert(ed.EMPTY_LINE, 'diff 0');
  assert.equal(l, { text: 'diff 0', cursor: 6 });
  l = ed.insert(ed.move(l, -1), '1 ');
  assert.equal(l, { text: 'diff 1 0', cursor: 7 });
  assert.equal(ed.deleteLeft(l), { text: 'diff 10', cursor: 6 });
  assert.equal(ed.deleteRight(l), { text: 'diff 1 ', cursor: 7 });
  assert.equal(ed.deleteLeft(ed.moveTo(l, 0)), { text: 'diff 1 0', cursor: 0 });
  assert.equal(ed.move(l, 100).cursor, 8);
  assert.is(ed.wordLeft('pipeline dce  ', 14), 9);
  assert.is(ed.wordRight('pipeline dce', 0), 8);
  assert.equal(ed.deleteWordLeft(ed.lineOf('pipeline dce')), { text: 'pipeline ', cursor: 9 });
  assert.equal(ed.killToStart({ text: 'abc def', cursor: 4 }), { text: 'def', cursor: 0 });
  assert.equal(ed.killToEnd({ text: 'abc def', cursor: 4 }), { text: 'abc ', cursor: 4 });
});

test('editor: applying completions', () => {
  const one = ed.applyCompletion(ed.lineOf('st'), { start: 0, candidates: ['step'] });
  assert.equal(one, { line: { text: 'step ', cursor: 5 }, list: false });
  const dir = ed.applyCompletion(ed.lineOf('load mod'), { start: 5, candidates: ['models/'] });
  assert.equal(dir.line, { text: 'load models/', cursor: 12 }, 'no space after a directory');
  const common = ed.applyCompletion(ed.lineOf('pipeline f'), { start: 9, candidates: ['fold-constants', 'fold-conv-bn', 'fuse-conv-act'] });
  assert.equal(common, { line: ed.lineOf('pipeline f'), list: true }, 'nothing to add: list them');
  const longer = ed.applyCompletion(ed.lineOf('pipeline fo'), { start: 9, candidates: ['fold-constants', 'fold-conv-bn'] });
  assert.equal(longer, { line: ed.lineOf('pipeline fold-con'), list: false });
  const mid = ed.applyCompletion({ text: 'diff 0 3', cursor: 2 }, { start: 0, candidates: ['diff'] });
  assert.equal(mid.line, { text: 'diff 0 3', cursor: 4 }, 'a following space is not doubled');
  assert.equal(ed.applyCompletion(ed.lineOf('zz'), { start: 0, candidates: [] }), { line: ed.lineOf('zz'), list: false });
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
