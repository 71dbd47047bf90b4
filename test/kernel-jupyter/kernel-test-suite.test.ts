/**
 * Runs Debian's jupyter_kernel_test suite (kiln_kernel_test.py) against the kiln kernel with
 * `/usr/bin/python3 -m unittest -v`, the kernelspec installed into a temp prefix, and checks that
 * every test of KernelTests ran and passed, except exactly the ones kiln_kernel_test.py lists as not
 * applicable (which must show as skipped).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HERE, type JupyterEnv, jupyterEnv, killEverything, plain, python } from './harness.ts';

/** The test methods of jupyter_kernel_test 0.4.5's KernelTests. */
const ALL_TESTS = [
  'test_clear_output', 'test_completion', 'test_display_data', 'test_error', 'test_execute_result',
  'test_execute_stderr', 'test_execute_stdout', 'test_history', 'test_inspect', 'test_is_complete',
  'test_kernel_info', 'test_pager',
];
/** Must match NOT_APPLICABLE in kiln_kernel_test.py. */
const NOT_APPLICABLE: string[] = ['test_pager'];

let env: JupyterEnv;

test.before(async () => {
  env = await jupyterEnv();
});

test.after(async () => {
  await killEverything();
  env?.dispose();
});

test('jupyter_kernel_test: every applicable KernelTests test passes against kiln', async () => {
  const r = await python(['-m', 'unittest', '-v', 'kiln_kernel_test'], {
    cwd: HERE, env: { ...env.env, KILN_KERNEL_NAME: env.kernelName }, timeoutMs: 240_000,
  });
  const out = plain(r.stderr + r.stdout);
  assert.not.ok(r.timedOut, `timed out\n${out}`);
  // one verbose line per test: "test_x (kiln_kernel_test.KilnKernelTests.test_x) ... ok"
  const outcome = new Map<string, string>();
  for (const m of out.matchAll(/^(test_\w+) \([\w.]+\)(?: \(.*?\))? \.\.\. (ok|FAIL|ERROR|skipped.*|expected failure)$/gm)) {
    outcome.set(m[1], m[2]);
  }
  for (const name of ALL_TESTS) {
    const o = outcome.get(name);
    if (NOT_APPLICABLE.includes(name)) assert.match(o ?? '', /^skipped/, `${name}: ${o}\n${out}`);
    else assert.is(o, 'ok', `${name}: ${o}\n${out}`);
  }
  const ran = /^Ran (\d+) tests? in/m.exec(out);
  assert.ok(ran, out);
  assert.is(Number(ran[1]), ALL_TESTS.length, out);
  const skipped = NOT_APPLICABLE.length;
  assert.match(out, new RegExp(`^OK${skipped ? ` \\(skipped=${skipped}\\)` : ''}$`, 'm'), out);
  assert.is(r.code, 0, out);
});

test.run();
