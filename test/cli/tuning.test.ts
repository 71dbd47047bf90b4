/**
 * `kiln run --tuning MODE`: a bad mode is a usage error (exit 2, the modes listed); on the cpu backend
 * the JSON report says how the program was tuned (mode, candidates measured, time); a bad KILN_TUNING
 * is a one-line error naming it (exit 1). The cpu cases are skipped without a C compiler.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runKiln } from '../support/cli.ts';
import { findCCompiler } from '../../compiler/runtime/native/c-compiler.ts';

const withCC = findCCompiler() ? test : test.skip;
const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-cli-tuning-'));
const env = (extra: NodeJS.ProcessEnv = {}) => {
  const e: NodeJS.ProcessEnv = { ...process.env, KILN_CACHE_DIR: cache, ...extra };
  if (!('KILN_TUNING' in extra)) delete e.KILN_TUNING;
  return e;
};
test.after(() => fs.rmSync(cache, { recursive: true, force: true }));

test('--tuning with a bad mode is a usage error listing the modes', () => {
  const r = runKiln(['run', 'zoo:mlp', '--tuning', 'sometimes'], { env: env() });
  assert.is(r.code, 2);
  assert.match(r.err, "kiln run: unknown tuning 'sometimes'; available: measure, cached, off");
  assert.match(r.err, '[--tuning measure|cached|off]');
});

withCC('run --backend cpu --json reports the tuning; KILN_TUNING sets the default, a bad value is named', () => {
  for (const [args, extra, mode] of [[['--tuning', 'cached'], {}, 'cached'], [[], { KILN_TUNING: 'off' }, 'off'], [[], {}, 'measure']] as const) {
    const r = runKiln(['run', 'zoo:mlp', '--backend', 'cpu', '--json', ...args], { env: env(extra), timeoutMs: 300_000 });
    assert.is(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { tuning?: { mode: string; measured: number; ms: number } };
    assert.is(j.tuning?.mode, mode, JSON.stringify(j.tuning));
    assert.ok(Number.isInteger(j.tuning!.measured) && j.tuning!.measured >= 0 && j.tuning!.ms >= 0);
    if (mode !== 'measure') assert.is(j.tuning!.measured, 0);
  }
  const bad = runKiln(['run', 'zoo:mlp', '--backend', 'cpu'], { env: env({ KILN_TUNING: 'fast' }), timeoutMs: 300_000 });
  assert.is(bad.code, 1);
  assert.match(bad.err, "error: KILN_TUNING is 'fast'; use one of measure, cached, off");
  assert.not.match(bad.err, /\n\s+at /);
});

test.run();
