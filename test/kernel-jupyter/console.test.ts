/**
 * Debian's `jupyter console` against kiln, cells fed through stdin (--simple-prompt reads one line
 * per cell; end of input asks to exit, which the console takes as yes):
 * - `python3 -m jupyter_console --kernel kiln` starts the kernel from the temp kernelspec, runs
 *   TypeScript cells and line magics, prints results as `Out[n]:`, and shuts the kernel down on exit
 *   (no kernel process is left, found by the temp runtime folder in its command line);
 * - `await input(...)` in a cell becomes an input_request the console answers from its own stdin;
 * - `jupyter-console --existing FILE` attaches to a kernel we started, leaves it running on exit, and a
 *   second console sees the state the first one left.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type JupyterEnv, PYTHON, isAlive, jupyterEnv, killEverything, plain, processesMentioning, run, waitGone } from './harness.ts';
import { startKernel } from './kernel-process.ts';

let env: JupyterEnv;

test.before(async () => {
  env = await jupyterEnv();
});

test.after(async () => {
  await killEverything();
  env?.dispose();
});

/** Live kernels started under the temp Jupyter folder (their connection file is in its runtime dir). */
const kernelsOfEnv = () => processesMentioning(env.root);

test('jupyter console --kernel kiln runs TypeScript cells and magics, then shuts the kernel down', async () => {
  const cells = [
    'const x = 6 * 7',
    'x',
    'console.log("hi from " + "kiln")',
    'interface P { a: number }; const p: P = { a: 2 }; p.a * 10',
    'throw new Error("console boom")',
    'x + 1',
    '%load zoo:mlp',
    '%ir',
  ];
  const r = await run(PYTHON, ['-m', 'jupyter_console', '--kernel', 'kiln', '--simple-prompt', '--no-confirm-exit'], {
    env: env.env, input: cells.join('\n') + '\n', timeoutMs: 120_000,
  });
  const out = plain(r.stdout);
  const all = `${out}\n--- stderr ---\n${plain(r.stderr)}`;
  assert.not.ok(r.timedOut, all);
  assert.is(r.code, 0, all);
  assert.match(out, /Out\[2\]: 42\b/, all);
  assert.match(out, /hi from kiln/, all);
  assert.match(out, /Out\[4\]: 20\b/, all);
  assert.match(all, /console boom/, all);
  assert.match(out, /Out\[6\]: 43\b/, all);
  assert.match(out, /kiln\.graph @mlp\(%input: f32\[1,784\]\) -> \(%logits: f32\[1,10\]\)/, all);
  assert.match(out, /Shutting down kernel/, all);
  assert.equal(await waitGone(kernelsOfEnv(), 5000), [], 'a kernel outlived its console');
});

test('input() asks the console for a line (input_request on stdin)', async () => {
  const r = await run(PYTHON, ['-m', 'jupyter_console', '--kernel', 'kiln', '--simple-prompt', '--no-confirm-exit'], {
    env: env.env, input: 'const who = await input("your name? ")\nkiln-user\nwho.toUpperCase() + "!"\n', timeoutMs: 60_000,
  });
  const out = plain(r.stdout);
  assert.is(r.code, 0, out + r.stderr);
  assert.match(out, /your name\? /, out);
  assert.match(out, /Out\[2\]: 'KILN-USER!'/, out);
  assert.equal(await waitGone(kernelsOfEnv(), 5000), []);
});

test('jupyter-console --existing attaches to a running kernel and leaves it running', async () => {
  const k = await startKernel(env);
  const first = await run('/usr/bin/jupyter-console', ['--existing', k.file, '--simple-prompt', '--no-confirm-exit'], {
    env: env.env, input: 'const shared = [1, 2, 3]\nshared.length\n', timeoutMs: 60_000,
  });
  const out1 = plain(first.stdout);
  assert.is(first.code, 0, out1 + first.stderr);
  assert.match(out1, /Out\[2\]: 3\b/, out1);
  assert.match(out1, /keeping kernel alive/, out1);
  assert.ok(isAlive(k.pid), `kernel exited with its console\n${k.log()}`);
  const second = await run('/usr/bin/jupyter-console', ['--existing', k.file, '--simple-prompt', '--no-confirm-exit'], {
    env: env.env, input: 'shared.map((v) => v * 2).join(",")\n', timeoutMs: 60_000,
  });
  const out2 = plain(second.stdout);
  assert.is(second.code, 0, out2 + second.stderr);
  assert.match(out2, /2,4,6/, out2);
  assert.ok(isAlive(k.pid));
});

test.run();
