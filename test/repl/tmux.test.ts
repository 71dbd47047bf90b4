/**
 * End to end on a real terminal: the REPL (`kiln repl zoo:mlp`, the ink app) runs inside tmux, keys
 * are sent with `tmux send-keys` and the screen is read back with `capture-pane` (with `-e` for the
 * colours): the first frame, help, tab completion of a command and of a pass name, step, stepto with
 * the coloured IR diff, diff, back, mem, run, an error that leaves the app usable, a TypeScript line,
 * Up to recall the history, and `exit` ending the process with code 0. Skipped (and reported as
 * skipped) when tmux is not installed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from '../support/paths.ts';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-repl-tmux-'));
const socket = `kiln-repl-test-${process.pid}`;

function tmux(...args: string[]): string {
  const r = spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The whole pane, scrollback included; `escapes` keeps the colour codes. */
function screen(escapes = false): string {
  return tmux('capture-pane', '-p', '-J', ...(escapes ? ['-e'] : []), '-S', '-', '-t', 'repl');
}

/** The prompt: the last line starting with `kiln> `. */
function promptLine(): string {
  return screen().split('\n').filter((l) => l.startsWith('kiln> ') || l === 'kiln>').pop() ?? '';
}

async function until(check: (s: string) => boolean, what: string, ms = 60_000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const s = screen();
    if (check(s)) return s;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; screen:\n${s.split('\n').slice(-40).join('\n')}`);
    await sleep(100);
  }
}

const has = (text: string) => (s: string) => s.includes(text);
const count = (s: string, text: string) => s.split(text).length - 1;

/** Types `keys` (tmux key names or literal text) and waits a little for ink to draw. */
async function keys(...k: string[]): Promise<void> {
  tmux('send-keys', '-t', 'repl', ...k);
  await sleep(300);
}

(hasTmux ? test : test.skip)('the REPL in tmux: step, diff, back, mem, run, completion, history, errors, exit', async () => {
  // ink draws only the final frame when CI is set (CI runs this suite with CI=true): unset it for the app
  const rc = path.join(tmp, 'rc');
  const history = path.join(tmp, 'history');
  const cmd = `cd ${JSON.stringify(REPO_ROOT)} && env -u NO_COLOR -u CI KILN_HISTORY_FILE=${JSON.stringify(history)} `
    + `${JSON.stringify(process.execPath)} --import tsx cli/main.ts repl zoo:mlp; echo $? > ${JSON.stringify(rc)}; sleep 60`;
  tmux('-f', '/dev/null', 'new-session', '-d', '-s', 'repl', '-x', '120', '-y', '50', cmd);
  try {
    let s = await until(has('zoo:mlp · cpu · step 0/9 (load) · next: shape-infer'), 'the model to load');
    assert.match(s, 'kiln REPL: type help for the commands');
    assert.match(s, 'kiln> load zoo:mlp\nsession zoo:mlp (graph mlp), target cpu, at step 0 of 9');
    assert.match(promptLine(), /^kiln>\s*$/);

    await keys('help', 'Enter');
    await until(has('e.g. step · step 3'), 'help');

    await keys('st', 'Tab');
    s = screen();
    assert.match(promptLine(), /^kiln> st\s*$/, 'ambiguous: nothing added');
    assert.match(s, /\nstep  stepto/, 'the candidates are listed');
    await keys('ep', 'Space', 'Enter');
    await until(has('step 1/9 shape-infer: unchanged (5 nodes)'), 'step');

    await keys('stepto fuse-c', 'Tab');
    assert.match(promptLine(), /^kiln> stepto fuse-conv-act\s*$/, 'pass name completed');
    await keys('Enter');
    s = await until(has('step 7/9 fuse-conv-act: 5 → 3 nodes'), 'stepto');
    assert.match(s, 'zoo:mlp · cpu · step 7/9 (fuse-conv-act) · next: fuse-elementwise');
    const coloured = screen(true);
    assert.match(coloured, /\x1b\[[0-9;]*31m-  %0 = Gemm\(%input, %fc1\.weight, %fc1\.bias\)/, 'removed lines in red');
    assert.match(coloured, /\x1b\[[0-9;]*32m\+  %1 = kiln\.gemm\(%input, %fc1\.weight, %fc1\.bias\)/, 'added lines in green');

    await keys('diff 0 7', 'Enter');
    s = await until((x) => count(x, '+++ step 7 (fuse-conv-act)') >= 2, 'diff 0 7');
    assert.match(s, '--- step 0 (load)\n+++ step 7 (fuse-conv-act)');

    await keys('back', 'Enter');
    s = await until(has('back 1 step; now at:'), 'back');
    assert.match(s, 'step 6/9 (fold-constants) · next: fuse-conv-act');

    await keys('mem', 'Enter');
    s = await until(has('memory of zoo:mlp at step 6 (fold-constants)'), 'mem');
    assert.match(s, /peak +3\.00 KiB/);
    assert.match(s, /KiB ┤█+/, 'the arena chart');

    await keys('run', 'Enter');
    s = await until(has('outputs of zoo:mlp at step 6 (fold-constants)'), 'run');
    assert.match(s, /\nlogits +f32 +\[1,10\]/);

    await keys('frob 3', 'Enter');
    await until(has("error: 'frob' is not a command nor defined in TypeScript"), 'the error');
    await keys('session.current * 7', 'Enter');
    await until(has('kiln> session.current * 7\n42\n'), 'a TypeScript line after the error');

    await keys('Up');
    assert.match(promptLine(), /^kiln> session\.current \* 7\s*$/);
    await keys('Up', 'Up');
    assert.match(promptLine(), /^kiln> run\s*$/);
    await keys('C-u', 'exit', 'Enter');
    const end = Date.now() + 20_000;
    while (!fs.existsSync(rc) && Date.now() < end) await sleep(100);
    assert.is(fs.readFileSync(rc, 'utf8').trim(), '0', 'exit code');
    const lines = fs.readFileSync(history, 'utf8').trim().split('\n');
    assert.equal(lines.slice(-3), ['frob 3', 'session.current * 7', 'exit']);
  } finally {
    spawnSync('tmux', ['-L', socket, 'kill-server']);
  }
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
