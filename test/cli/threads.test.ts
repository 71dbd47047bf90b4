/**
 * `--threads N` chooses how many threads a CPU backend runs on: `kiln run` (the JSON report says the
 * count the program ran with; out-of-range values are usage errors naming the option) and the
 * `run`/`timings` commands of the REPL and notebook (the program the Session prepares and keeps runs with that many).
 * The cpu cases are skipped without a C compiler.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runKiln } from '../support/cli.ts';
import { findCCompiler } from '../../compiler/runtime/native/c-compiler.ts';
import { Session } from '../../compiler/session.ts';
import '../../compiler/commands/all.ts';
import { runLine } from '../../compiler/commands/line.ts';
import { fakeContext } from '../commands/fake-context.ts';

const withCC = findCCompiler() ? test : test.skip;
const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-cli-threads-'));
const env = { ...process.env, KILN_CACHE_DIR: cache, KILN_TUNING: 'off' };
test.after(() => fs.rmSync(cache, { recursive: true, force: true }));

test('--threads out of range is a usage error naming the option', () => {
  for (const bad of ['0', '-2', '1.5', 'many', '5000']) {
    const r = runKiln(['run', 'zoo:mlp', '--backend', 'cpu', '--threads', bad], { env });
    assert.is(r.code, 2, `${bad}: ${r.err}`);
    assert.match(r.err, /kiln run: .*threads/);
  }
});

withCC('kiln run --backend cpu --threads N runs with N threads and the same outputs', () => {
  const outs = [1, 2].map((n) => {
    const r = runKiln(['run', 'zoo:mlp', '--backend', 'cpu', '--threads', String(n), '--json'], { env });
    assert.is(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.is(j.threads, n);
    return j.outputs;
  });
  assert.equal(outs[0], outs[1]);
});

withCC('run and timings commands take --threads: the program the session prepares runs with that many', async () => {
  const s = Session.load('zoo:mlp');
  const ctx = fakeContext(s);
  const threadsOfKept = async () => ((await s.programs.peek(s.at(s.current).graph, 'cpu')) as unknown as { threads: number }).threads;
  await runLine('run --backend cpu --threads 1 --tuning off', ctx);
  assert.is(await threadsOfKept(), 1);
  await runLine('timings --backend cpu --threads 2 --tuning off', ctx);
  assert.is(await threadsOfKept(), 2);
  await s.close();
});

test.run();
