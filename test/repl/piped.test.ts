/**
 * The REPL without a terminal, as scripts and CI use it: `kiln repl zoo:mlp < script` spawned with a
 * script on stdin. Checks the plain-text results of pipeline, step, stepto, ir, diff, back, run, mem
 * and TypeScript lines in order, that no ANSI escape is printed, the run's output statistics against
 * an in-process reference run, and the exit codes: 0 when every line worked; 1 with `error: ...` on
 * stderr when a line failed, the later lines still running; `exit` stopping early; a model that does
 * not load failing before any line runs.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../support/paths.ts';
import { zooModel } from '../../compiler/zoo/index.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { randomInputs, tensorStats } from '../../compiler/runtime/inputs.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-repl-piped-'));

interface Result { code: number; out: string; err: string }

function repl(script: string, ...args: string[]): Result {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'cli/main.ts'), 'repl', ...args], {
    cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000, input: script,
    env: { ...process.env, KILN_HISTORY_FILE: path.join(tmp, 'history'), COLUMNS: '' },
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** Asserts that the patterns occur in `text` in this order. */
function inOrder(text: string, patterns: (string | RegExp)[]): void {
  let at = 0;
  for (const p of patterns) {
    const rest = text.slice(at);
    const m = typeof p === 'string' ? { index: rest.indexOf(p), length: p.length } : (() => {
      const x = p.exec(rest);
      return { index: x ? x.index : -1, length: x ? x[0].length : 0 };
    })();
    assert.ok(m.index >= 0, `${String(p)} not found after offset ${at} in:\n${text.slice(at, at + 2000)}`);
    at += m.index + m.length;
  }
}

test('a script of commands and TypeScript: plain text, in order, exit code 0', () => {
  const script = [
    '# comments and blank lines are skipped',
    '',
    'pipeline default',
    'step',
    'stepto fuse-conv-act',
    'ir',
    'diff',
    'back',
    '%diff 6 7',
    'run',
    'mem',
    'session.current * 10 + session.length',
    'const double = (x: number) => {',
    '  return x * 2;',
    '}',
    'double(21)',
  ].join('\n') + '\n';
  const r = repl(script, 'zoo:mlp');
  assert.is(r.code, 0, r.err);
  assert.is(r.err, '');
  assert.not.match(r.out, /\x1b/, 'no ANSI escape codes');
  assert.not.match(r.out, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/, 'no spinner');
  inOrder(r.out, [
    // pipeline default
    'text: shape-infer,simplify,fold-constants,cse,fold-conv-bn,fold-constants,fuse-conv-act,layout,fuse-elementwise,dce\n',
    // step
    'step 1/10 shape-infer: unchanged (5 nodes)',
    // stepto runs steps 2..7; the last one fuses Gemm+Relu twice
    'step 6/10 fold-constants: unchanged (5 nodes)',
    /step 7\/10 fuse-conv-act: 5 → 3 nodes, [\d.]+ ms; numerics ok/,
    // ir at step 7
    'kiln.graph @mlp(%input: f32[1,784]) -> (%logits: f32[1,10]) {',
    '  %1 = kiln.gemm(%input, %fc1.weight, %fc1.bias) {alpha=1.0, beta=1.0, epilogue=["relu"], transB=1} : f32[1,512]',
    '  %logits = Gemm(%3, %fc3.weight, %fc3.bias)',
    // diff (6 -> 7)
    '0 added, 2 removed, 2 changed, 1 unchanged nodes\n--- step 6 (fold-constants)\n+++ step 7 (fuse-conv-act)\n@@ ',
    '\n-  %0 = Gemm(%input, %fc1.weight, %fc1.bias) {alpha=1.0, beta=1.0, transB=1} : f32[1,512] loc("/fc1/Gemm")\n-  %1 = Relu(%0)',
    '\n+  %1 = kiln.gemm(',
    // back
    'back 1 step; now at:\nstep 6/10 fold-constants',
    // %diff 6 7: the same diff again
    '--- step 6 (fold-constants)\n+++ step 7 (fuse-conv-act)',
    // run
    'zoo:mlp at step 6 (fold-constants)',
    /\nlogits +f32 +\[1,10\] +/,
    // mem
    'memory of zoo:mlp at step 6 (fold-constants)',
    /peak +3\.00 KiB/,
    // TypeScript: step 6 of 10; a function over three lines
    '\n70\n',
  ]);
  assert.ok(r.out.endsWith('\n70\n42\n'), 'the function defined over three lines doubles 21');
  // the run's statistics are those of the reference executor on seed 0 (fusion does not change them)
  const g = zooModel('mlp');
  const want = tensorStats(runReference(g, randomInputs(g, 0))[0]);
  const row = /\nlogits +f32 +\[1,10\] +(\S+) +(\S+) +(\S+) +(\S+)/.exec(r.out)!;
  const [mean, std, min, max] = row.slice(1).map(Number);
  for (const [got, exp, name] of [[mean, want.mean, 'mean'], [std, want.std, 'std'], [min, want.min, 'min'], [max, want.max, 'max']] as const) {
    assert.ok(Math.abs(got - exp) <= 1e-3 * Math.max(1, Math.abs(exp)), `${name}: ${got} vs ${exp}`);
  }
});

test('a failing line prints error: on stderr, the script goes on, exit code 1', () => {
  const r = repl('step\nback 5\nfrob 3\nstep\nlet y = ; 1\nsession.current\nnosuchvar.x\n', 'zoo:mlp');
  assert.is(r.code, 1);
  const errors = r.err.trimEnd().split('\n');
  assert.equal(errors, [
    'error: back: N 5 is out of range; it must be from 0 to 1 (usage: back [N])',
    "error: 'frob' is not a command nor valid TypeScript (SyntaxError: Expected \";\" but found \"3\" (line 1, column 6)); type help for the commands",
    'error: SyntaxError: Unexpected ";" (line 1, column 9)',
    'error: ReferenceError: nosuchvar is not defined',
  ]);
  inOrder(r.out, ['step 1/10 shape-infer', 'step 2/10 simplify', '\n2\n']);
  assert.not.match(r.out, /^error:/m, 'errors go to stderr');
});

test('exit stops reading; every line ok gives exit code 0', () => {
  const r = repl('step\nexit\nstep\nstep\n', 'zoo:mlp');
  assert.is(r.code, 0, r.err);
  assert.match(r.out, 'step 1/10');
  assert.not.match(r.out, 'step 2/10');
});

test('a model that does not load: error and exit 1 before any line', () => {
  const missing = path.join(tmp, 'nope.onnx');
  const r = repl('help\n', missing);
  assert.is(r.code, 1);
  assert.match(r.err, /^error: .*nope\.onnx/);
  assert.not.match(r.err, /\n\s+at /, 'no stack trace');
  assert.is(r.out, '');
});

test('kiln repl usage errors exit 2', () => {
  const r = repl('', 'zoo:mlp', 'extra');
  assert.is(r.code, 2);
  assert.match(r.err, 'usage: kiln repl [MODEL]');
  assert.is(repl('', '--width', '5').code, 2);
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
