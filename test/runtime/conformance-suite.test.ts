/**
 * The whole ONNX node-test set on the reference backend: at least 97% must pass, every skip must be
 * a dtype an op declares unsupported, and every failure must be one of the cases listed here with
 * the reason no inference engine can match it. A new failure fails this test with its reason.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { conformanceDir } from '../support/paths.ts';
import { runConformance } from '../../compiler/runtime/conformance.ts';

/** Cases the reference backend is known not to pass, and why. */
const KNOWN_FAILURES: Record<string, RegExp> = {
  // Dropout in training mode draws a random mask: no implementation can reproduce the expected output.
  test_training_dropout: /training mode/,
  test_training_dropout_default: /training mode/,
  test_training_dropout_default_mask: /training mode/,
  test_training_dropout_mask: /training mode/,
};

test('reference backend passes the ONNX conformance set', async () => {
  const report = await runConformance(conformanceDir());
  const total = report.results.length;
  assert.ok(total >= 740, `found only ${total} cases`);
  const unexpected = report.results
    .filter((r) => r.status === 'fail' && !(KNOWN_FAILURES[r.name]?.test(r.reason ?? '')))
    .map((r) => `${r.name}: ${r.reason}`);
  assert.equal(unexpected, [], `unexpected failures:\n${unexpected.join('\n')}`);
  for (const r of report.results.filter((x) => x.status === 'skip')) {
    assert.match(r.reason ?? '', /does not support/, `${r.name} skipped without a declared dtype: ${r.reason}`);
  }
  assert.ok(report.passed / total >= 0.97, `pass rate ${report.passed}/${total}`);
});

test.run();
