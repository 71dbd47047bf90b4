/**
 * The GPU bundle (`npm run gpu:bundle`, bench/gpu/bundle.ts) builds within 60 MiB, and its run.sh,
 * started with no Node.js on PATH, unpacks the bundled Node, runs the CUDA test file, and on this
 * GPU-less machine reports "no NVIDIA driver" from the tests and the kiln bench, writing every result
 * file (the torch bench writes its own skip reason where torch or CUDA is missing).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from '../support/paths.ts';
import { openCuda } from '../../compiler/runtime/cuda/driver.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-gpu-bundle-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('the GPU bundle builds within 60 MiB and its script runs without Node.js, reporting a missing driver cleanly', () => {
  const out = path.join(dir, 'bundle');
  const log = execFileSync(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'bench/gpu/bundle.ts'), '--out', out], { cwd: REPO_ROOT, encoding: 'utf8' });
  const mib = Number(/, ([\d.]+) MiB/.exec(log)?.[1]);
  assert.ok(mib > 1 && mib <= 60, log);
  for (const f of ['run.sh', 'node.xz', 'kiln-bench.mjs', 'tests/cuda.test.mjs', 'tests/cuda-compile.test.mjs', 'tests/cuda-compile-f16.test.mjs', 'tests/cuda-compile-conformance.test.mjs', 'torch_bench.py', 'conformance.tar.xz', 'VERSION']) {
    assert.ok(fs.existsSync(path.join(out, f)), `bundle has ${f}`);
  }
  const results = path.join(dir, 'results');
  // a machine without Node.js: PATH holds only the system's tools
  const r = spawnSync('bash', [path.join(out, 'run.sh'), results], {
    encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: dir, KILN_GPU_TESTS: 'cuda.test', KILN_GPU_MODELS: 'mlp' },
  });
  assert.is(r.status, 0, r.stdout + r.stderr);
  for (const f of ['machine.txt', 'cuda.test.txt', 'kiln.json', 'torch.json']) assert.ok(fs.existsSync(path.join(results, f)), `results has ${f}`);
  const tests = fs.readFileSync(path.join(results, 'cuda.test.txt'), 'utf8');
  // every test that ran passed (uvu: Total counts the tests that ran, Passed those that passed)
  const [, total, passed] = /Total:\s+(\d+)\s+Passed:\s+(\d+)/.exec(tests.replace(/\x1b\[[0-9;]*m/g, '')) ?? [];
  assert.ok(Number(total) >= 3 && total === passed, tests);
  const kiln = JSON.parse(fs.readFileSync(path.join(results, 'kiln.json'), 'utf8'));
  const cuda = openCuda();
  if (cuda.ok) assert.ok(Array.isArray(kiln.rows));
  else {
    assert.match(tests, 'skipping the GPU tests: no NVIDIA driver');
    assert.match(kiln.skipped, /no NVIDIA driver/);
  }
  assert.ok(typeof JSON.parse(fs.readFileSync(path.join(results, 'torch.json'), 'utf8')) === 'object');
});

test.run();
