/**
 * `--max-memory SIZE` on the command line: a bad size is a usage error (exit 2), a model whose
 * tensors exceed the budget stops with the one size error (exit 1, no stack trace), and a budget
 * large enough lets the same command run.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type CliResult, runKiln } from '../support/cli.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

type Result = CliResult;

/** The CLI without an inherited KILN_MAX_MEMORY, so each call's budget is the one it names. */
function kiln(...args: string[]): Result {
  const env = { ...process.env };
  delete env.KILN_MAX_MEMORY;
  return runKiln(args, { env });
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-mem-'));
const huge = path.join(tmp, 'huge.kir');
fs.writeFileSync(huge, 'kiln.graph @huge(%x: f32[100000,100000,100]) -> (%y: f32[100000,100000,100]) {\n  %y = Relu(%x) : f32[100000,100000,100]\n  return %y\n}\n');
const small = path.join(tmp, 'small.kir');
fs.writeFileSync(small, 'kiln.graph @small(%x: f32[512,1024]) -> (%y: f32[512,1024]) {\n  %y = Relu(%x) : f32[512,1024]\n  return %y\n}\n');

test('a bad --max-memory value is a usage error, exit 2, with kiln\'s wording and the usage', () => {
  for (const bad of ['8X', '-1', '0', 'lots']) {
    const r = kiln('run', small, '--max-memory', bad);
    assert.is(r.code, 2, `${bad}: ${r.err}`);
    assert.match(r.err, new RegExp(`^kiln: --max-memory '${bad}' is not a size \\(write e\\.g\\. 512M, 8G, 8GiB or a number of bytes\\)\\n`));
    assert.match(r.err, /usage:/);
  }
  const missing = kiln('run', small, '--max-memory');
  assert.is(missing.code, 2);
  assert.match(missing.err, /^kiln: option '--max-memory' needs a size/);
});

test('a model beyond the budget stops with one error line, exit 1, no stack trace', () => {
  const r = kiln('run', huge);
  assert.is(r.code, 1, r.err);
  assert.match(r.err, /^error: 'x' \(f32\[100000,100000,100\]\) needs 3\.64 TiB \(4000000000000 bytes\), more than the memory budget of .* \(set it with --max-memory SIZE\)\n$/);
  const low = kiln('run', small, '--max-memory', '1M');
  assert.is(low.code, 1, low.err);
  assert.is(low.err, "error: 'x' (f32[512,1024]) needs 2.00 MiB (2097152 bytes), more than the memory budget of 1.00 MiB (set it with --max-memory SIZE)\n");
});

test('--max-memory large enough lets the command run, in either spelling and position', () => {
  for (const args of [['--max-memory', '4M', 'run', small], ['run', small, '--max-memory=4MiB'], ['run', '--max-memory', '4194304', small]]) {
    const r = kiln(...args);
    assert.is(r.code, 0, `${args.join(' ')}: ${r.err}`);
    assert.match(r.out, /y: f32\[512,1024\]/);
  }
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test.run();
