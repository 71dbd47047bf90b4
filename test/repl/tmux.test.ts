/**
 * End to end on a real terminal: the REPL (`kiln repl zoo:mlp`, the ink app) runs inside tmux, keys
 * are sent with `tmux send-keys` and the screen is read back with `capture-pane` (with `-e` for the
 * colours): the first frame, help, tab completion of a command and of a pass name, step, stepto with
 * the coloured IR diff, diff, back, mem, run, an error that leaves the app usable, a TypeScript syntax
 * error with its line and column, one Ctrl-C stopping a busy loop with the session and its steps kept,
 * a long output (help) folded to a page with `more` showing the rest, a TypeScript line, Up to recall
 * the history, and `exit` ending the process with code 0. Every wait polls the screen (or a file)
 * until a deadline; nothing sleeps for a fixed time. Skipped (and reported as skipped) when tmux is
 * not installed.
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

/** Waits until `file` exists. */
async function pollFile(file: string, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!fs.existsSync(file)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; screen:\n${screen().split('\n').slice(-20).join('\n')}`);
    await sleep(50);
  }
}

const has = (text: string) => (s: string) => s.includes(text);
const count = (s: string, text: string) => s.split(text).length - 1;

/** Types `keys` (tmux key names or literal text); callers then poll the screen for the effect. */
function keys(...k: string[]): void {
  tmux('send-keys', '-t', 'repl', ...k);
}

/** Waits until the prompt line matches `re`. */
async function untilPrompt(re: RegExp, what: string): Promise<void> {
  await until(() => re.test(promptLine()), what);
}

(hasTmux ? test : test.skip)('the REPL in tmux: step, diff, back, mem, run, completion, history, errors, exit', async () => {
  // ink draws only the final frame when CI is set (CI runs this suite with CI=true): unset it for the app
  const rc = path.join(tmp, 'rc');
  const history = path.join(tmp, 'history');
  const cmd = `cd ${JSON.stringify(REPO_ROOT)} && env -u NO_COLOR -u CI KILN_HISTORY_FILE=${JSON.stringify(history)} `
    + `${JSON.stringify(process.execPath)} --import tsx cli/main.ts repl zoo:mlp; echo $? > ${JSON.stringify(rc)}; sleep 60`;
  tmux('-f', '/dev/null', 'new-session', '-d', '-s', 'repl', '-x', '120', '-y', '50', cmd);
  try {
    let s = await until(has('zoo:mlp · cpu · step 0/10 (load) · next: shape-infer'), 'the model to load');
    assert.match(s, 'kiln REPL: type help for the commands');
    assert.match(s, 'kiln> load zoo:mlp\nsession zoo:mlp (graph mlp), target cpu, at step 0 of 10');
    assert.match(promptLine(), /^kiln>\s*$/);

    // help is longer than the pane: its first page, then a note; `more` shows the rest
    keys('help', 'Enter');
    s = await until(has('more lines: type more to show them'), 'help, folded');
    const note = /… (\d+) more lines: type more to show them/.exec(s)!;
    assert.ok(Number(note[1]) > 5, note[0]);
    assert.not.match(s, 'exit, quit or Ctrl-D leave', 'the last lines are folded');
    keys('more', 'Enter');
    s = await until(has('exit, quit or Ctrl-D leave'), 'the rest of help');
    assert.match(s, 'kiln> more\n');
    await untilPrompt(/^kiln>\s*$/, 'the prompt after more');

    keys('st', 'Tab');
    s = await until((x) => /\nstep  stepto/.test(x), 'the candidates are listed');
    assert.match(promptLine(), /^kiln> st\s*$/, 'ambiguous: nothing added');
    keys('ep', 'Space', 'Enter');
    await until(has('step 1/10 shape-infer: unchanged (5 nodes)'), 'step');

    keys('stepto fuse-c', 'Tab');
    await untilPrompt(/^kiln> stepto fuse-conv-act\s*$/, 'pass name completed');
    keys('Enter');
    s = await until(has('step 7/10 fuse-conv-act: 5 → 3 nodes'), 'stepto');
    assert.match(s, 'zoo:mlp · cpu · step 7/10 (fuse-conv-act) · next: layout');
    const coloured = screen(true);
    assert.match(coloured, /\x1b\[[0-9;]*31m-  %0 = Gemm\(%input, %fc1\.weight, %fc1\.bias\)/, 'removed lines in red');
    assert.match(coloured, /\x1b\[[0-9;]*32m\+  %1 = kiln\.gemm\(%input, %fc1\.weight, %fc1\.bias\)/, 'added lines in green');

    keys('diff 0 7', 'Enter');
    s = await until((x) => count(x, '+++ step 7 (fuse-conv-act)') >= 2, 'diff 0 7');
    assert.match(s, '--- step 0 (load)\n+++ step 7 (fuse-conv-act)');

    keys('back', 'Enter');
    s = await until(has('back 1 step; now at:'), 'back');
    assert.match(s, 'step 6/10 (fold-constants) · next: fuse-conv-act');

    keys('mem', 'Enter');
    s = await until(has('memory of zoo:mlp at step 6 (fold-constants)'), 'mem');
    assert.match(s, /peak +3\.00 KiB/);
    assert.match(s, /KiB ┤█+/, 'the arena chart');

    keys('run', 'Enter');
    s = await until(has('outputs of zoo:mlp at step 6 (fold-constants)'), 'run');
    assert.match(s, /\nlogits +f32 +\[1,10\]/);

    keys('frob 3', 'Enter');
    await until(has("error: 'frob' is not a command nor valid TypeScript (SyntaxError:"), 'the error');
    keys('let y = ; 1', 'Enter');
    await until(has('kiln> let y = ; 1\nerror: SyntaxError: Unexpected ";" (line 1, column 9)'), 'the syntax error with line and column');

    // one Ctrl-C stops code that never yields; the session keeps its steps. The line writes a file
    // just before it spins, so polling for the file says the loop runs.
    const flag = path.join(tmp, 'spinning');
    keys('-l', `(await import('node:fs')).writeFileSync(${JSON.stringify(flag)}, ''); while (true) {}`);
    keys('Enter');
    await pollFile(flag, 'the busy loop to start');
    keys('C-c');
    s = await until(has('while (true) {}\nerror: interrupted'), 'one Ctrl-C to stop the loop');
    assert.not.match(s, 'session was reset');
    assert.match(s, 'step 6/10 (fold-constants) · next: fuse-conv-act', 'the status keeps the step');
    keys('history', 'Enter');
    s = await until(has('history of zoo:mlp: at step 6 of 10'), 'the steps are still there');
    assert.match(s, /▶ +6 +fold-constants/);
    keys('session.current * 7', 'Enter');
    await until(has('kiln> session.current * 7\n42\n'), 'a TypeScript line on the kept session');

    keys('Up');
    await untilPrompt(/^kiln> session\.current \* 7\s*$/, 'Up recalls the last line');
    keys('Up');
    await untilPrompt(/^kiln> history\s*$/, 'Up once more');
    keys('C-u', 'exit', 'Enter');
    await pollFile(rc, 'the REPL to exit');
    assert.is(fs.readFileSync(rc, 'utf8').trim(), '0', 'exit code');
    assert.not.match(screen().split('kiln> exit')[1] ?? '', /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/, 'no spinner frame left after exit');
    const lines = fs.readFileSync(history, 'utf8').trim().split('\n');
    assert.equal(lines.slice(-3), ['history', 'session.current * 7', 'exit']);
  } finally {
    spawnSync('tmux', ['-L', socket, 'kill-server']);
  }
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
