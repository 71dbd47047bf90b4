/**
 * The ink app, rendered with ink-testing-library over the fake command table (test/repl/fakes.ts) and
 * driven by typing into its stdin: banner, status line and prompt; tab completion of commands and
 * pass names (candidate list when ambiguous); history walk with Up/Down and the history file; a step
 * whose IR diff arrives coloured; errors shown while the app stays usable; the busy line with
 * progress; Ctrl-C interrupting a command; lines typed while busy queued; leaving with exit/Ctrl-D (no
 * spinner left); a long output folded behind `more`; `clear` and Ctrl-L; Ctrl-C clearing the prompt.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createElement } from 'react';
import { render } from 'ink-testing-library';
import { App, CLEAR_SCREEN } from '../../repl/app.tsx';
import { History } from '../../repl/history.ts';
import { ReplShell } from '../../repl/shell.ts';
import { LocalEngine } from '../../repl/engine.ts';
import { fakeDeps, plain, waitFor } from './fakes.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-repl-app-'));
const UP = '\x1b[A', DOWN = '\x1b[B';

/** Renders the app; `type` writes to stdin and lets ink handle it; `screen` is the plain last frame. */
function start(opts: { history?: History; initialLines?: string[]; onExit?: () => void; pageRows?: number } = {}) {
  const shell = new ReplShell(fakeDeps());
  const history = opts.history ?? new History(undefined);
  const app = render(createElement(App, {
    engine: new LocalEngine(shell), history, banner: 'kiln REPL test banner', initialLines: opts.initialLines, paintDelay: 5, color: true, onExit: opts.onExit, pageRows: opts.pageRows,
  }));
  const screen = () => plain(app.lastFrame());
  /** Writes to stdin and yields once so ink reads it; what it changes is then polled for, never slept for. */
  const type = async (s: string) => {
    app.stdin.write(s);
    await new Promise((r) => setImmediate(r));
  };
  const until = (re: RegExp | string, ms?: number) =>
    waitFor(() => (typeof re === 'string' ? screen().includes(re) : re.test(screen())), screen, ms);
  /** The line the prompt shows (the last `kiln> ` line of the frame). */
  const promptLine = () => screen().split('\n').filter((l) => l.startsWith('kiln> ')).pop() ?? '';
  /** Waits until the prompt line, trailing blanks cut, is `text`. */
  const untilPrompt = (text: string) => waitFor(() => promptLine().trimEnd() === text, () => `prompt ${JSON.stringify(promptLine())}, wanted ${JSON.stringify(text)}\n${screen()}`);
  return { app, shell, history, screen, type, until, promptLine, untilPrompt };
}

test('first frame: banner, status line, prompt; initial lines run (load)', async () => {
  const r = start({ initialLines: ['load zoo:mlp'] });
  await r.until('loaded zoo:mlp');
  const s = r.screen();
  assert.match(s, 'kiln REPL test banner');
  assert.match(s, 'kiln> load zoo:mlp\nloaded zoo:mlp');
  assert.match(s, 'zoo:mlp · cpu · step 0/3 (load) · next: shape-infer');
  assert.is(r.promptLine(), 'kiln>  ', 'empty prompt with the cursor cell');
  r.app.unmount();
});

test('tab completes a command, extends pass names, and lists them when ambiguous', async () => {
  const r = start({ initialLines: ['load zoo:mlp'] });
  await r.until('loaded zoo:mlp');
  await r.type('st');
  await r.type('\t');
  await r.untilPrompt('kiln> step');
  assert.is(r.promptLine(), 'kiln> step  ', 'completed with a space (and the cursor cell)');
  await r.type('\x15'); // Ctrl-U
  await r.type('pipeline sh');
  await r.type('\t');
  await r.untilPrompt('kiln> pipeline shape-infer');
  await r.type('fu');
  await r.type('\t');
  await r.untilPrompt('kiln> pipeline shape-infer fuse-');
  assert.not.match(r.screen(), 'fuse-conv-act  fuse-elementwise', 'no list while the prefix grows');
  await r.type('\t');
  await r.until('fuse-conv-act  fuse-elementwise'); // the second tab lists the candidates
  await r.type('c\t');
  await r.untilPrompt('kiln> pipeline shape-infer fuse-conv-act');
  assert.not.match(r.screen(), 'fuse-conv-act  fuse-elementwise', 'the list goes away');
  r.app.unmount();
});

test('Up/Down walk the history (draft kept); lines go to the history file', async () => {
  const file = path.join(tmp, 'history');
  fs.writeFileSync(file, 'help\n');
  const r = start({ history: new History(file) });
  await r.type('load zoo:mlp\r');
  await r.until('loaded zoo:mlp');
  await r.type('ir\r');
  await r.until('return %logits');
  await r.type('dra');
  await r.type(UP);
  await r.untilPrompt('kiln> ir');
  await r.type(UP);
  await r.untilPrompt('kiln> load zoo:mlp');
  await r.type(UP);
  await r.untilPrompt('kiln> help');
  await r.type(UP);
  await r.untilPrompt('kiln> help');
  await r.type(DOWN);
  await r.type(DOWN);
  await r.untilPrompt('kiln> ir');
  await r.type(DOWN);
  await r.untilPrompt('kiln> dra');
  await r.type('\x15' + UP + '\r');
  await r.until(/kiln> ir\n[^]*kiln> ir\n/);
  assert.equal(fs.readFileSync(file, 'utf8').split('\n'), ['help', 'load zoo:mlp', 'ir', '']);
  r.app.unmount();
});

test('a step shows its IR diff with colours', async () => {
  const r = start({ initialLines: ['load zoo:mlp'] });
  await r.until('loaded zoo:mlp');
  await r.type('step\r');
  await r.until('step 1: shape-infer');
  await r.type('step\r');
  await r.until('step 2: fuse-conv-act');
  const raw = r.app.lastFrame()!;
  assert.match(raw, /\x1b\[31m-  %0 = Gemm\(%input, %fc1\.weight, %fc1\.bias\)/, 'removed line in red');
  assert.match(raw, /\x1b\[32m\+  %1 = kiln\.gemm\(%input, %fc1\.weight, %fc1\.bias\) \{alpha=1\.0, beta=1\.0, epilogue=\["relu"\]/, 'added line in green');
  assert.match(raw, /\x1b\[36m@@ -\d+,\d+ \+\d+,\d+ @@/, 'hunk header in cyan');
  assert.match(r.screen(), 'step 2/3 (fuse-conv-act) · next: dce');
  r.app.unmount();
});

test('errors are shown and the app stays alive', async () => {
  const r = start();
  await r.type('step\r');
  await r.until('error: no model loaded: load MODEL');
  await r.type('fail\r');
  await r.until('error: fail: it broke on purpose');
  await r.type('%nosuch\r');
  await r.until("error: unknown command 'nosuch'");
  await r.type('crash\r');
  await r.until('error: TypeError: x is not a function');
  await r.type('1 + \r');
  await r.until(/error: SyntaxError/);
  await r.type('load zoo:mlp\r');
  await r.until('loaded zoo:mlp');
  await r.type('session.current + 41\r');
  await r.until(/kiln> session\.current \+ 41\n41\n/);
  r.app.unmount();
});

test('busy line: spinner with the progress bar; lines typed meanwhile run afterwards, in order', async () => {
  const r = start();
  await r.type('slow\r');
  await r.until('compiling');
  assert.match(r.screen(), /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] compiling  ██████████░░░░░░░░░░ 50%/);
  await r.type('help\r');
  await r.type('1 + 2\r');
  await r.until(/slow done\n[^]*kiln> help\ncommands:[^]*kiln> 1 \+ 2\n3\n/);
  assert.not.match(r.screen(), 'compiling', 'the busy line is gone');
  r.app.unmount();
});

test('Ctrl-C interrupts a running command; exit leaves', async () => {
  let exited = 0;
  const r = start({ onExit: () => exited++ });
  await r.type('wait\r');
  await r.until('⠋ wait');
  await r.type('\x03');
  await r.until('error: interrupted');
  await r.type('\x03');
  await r.until('press Ctrl-C again');
  await r.type('help\r');
  await r.until('commands: load');
  assert.is(exited, 0);
  await r.type('exit\r');
  await waitFor(() => exited === 1, r.screen);
  r.app.unmount();
});

test('Ctrl-D on an empty line leaves; on text it deletes right', async () => {
  let exited = 0;
  const r = start({ onExit: () => exited++ });
  await r.type('abc');
  await r.type('\x1b[D\x1b[D');
  await r.type('\x04');
  await r.untilPrompt('kiln> ac');
  assert.is(exited, 0);
  await r.type('\x05\x15\x04'); // Ctrl-E, Ctrl-U, Ctrl-D in one chunk
  await waitFor(() => exited === 1, r.screen);
  r.app.unmount();
});

test('a long output shows a page and folds the rest; more and more all show it', async () => {
  const r = start({ pageRows: 5 });
  await r.type('lines 30\r');
  await r.until('… 25 more lines: type more for the next 5, more all for all of them');
  assert.match(r.screen(), 'kiln> lines 30\nline 1\nline 2\nline 3\nline 4\nline 5\n… 25 more lines');
  assert.not.match(r.screen(), 'line 6\n');
  await r.type('more\r');
  await r.until('… 20 more lines');
  assert.match(r.screen(), 'kiln> more\nline 6\nline 7\nline 8\nline 9\nline 10\n… 20 more lines');
  await r.type('more all\r');
  await r.until('line 30\n');
  assert.match(r.screen(), 'kiln> more all\nline 11\n');
  await r.type('more\r');
  await r.until('nothing more to show');
  await r.type('lines 6\r');
  await r.until('kiln> lines 6\nline 1\nline 2\nline 3\nline 4\nline 5\nline 6\n');
  assert.not.match(r.screen().split('kiln> lines 6')[1], 'more', 'a page and a line or two more: shown whole');
  r.app.unmount();
});

test('clear and Ctrl-L clear the screen through ink', async () => {
  const r = start();
  const clears = () => r.app.frames.filter((f) => f.includes(CLEAR_SCREEN)).length;
  await r.type('help\r');
  await r.until('commands: load');
  assert.is(clears(), 0);
  await r.type('clear\r');
  await waitFor(() => clears() === 1, r.screen);
  await r.type('\x0c');
  await waitFor(() => clears() === 2, r.screen);
  assert.match(r.promptLine(), /^kiln> /, 'the prompt is drawn again');
  r.app.unmount();
});

test('Ctrl-C at the prompt clears the line and says how to leave', async () => {
  let exited = 0;
  const r = start({ onExit: () => exited++ });
  await r.type('half a line');
  await r.until('kiln> half a line');
  await r.type('\x03');
  await r.until('(line cleared; exit or Ctrl-D leaves)');
  await r.untilPrompt('kiln>');
  assert.is(exited, 0);
  r.app.unmount();
});

test('leaving while busy leaves no spinner frame behind', async () => {
  let exited = 0;
  const r = start({ onExit: () => exited++ });
  await r.type('wait\r');
  await r.until('⠋ wait');
  await r.type('\x04'); // Ctrl-D on the empty prompt
  await waitFor(() => exited === 1, r.screen);
  assert.not.match(r.screen(), /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/, 'the last frame has no spinner');
  r.app.unmount();
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
