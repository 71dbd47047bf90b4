/**
 * The second ONNX node-test set (`node-ext`: the ops of issue 13) on the reference backend. Every
 * failure must be one kiln does not handle yet for a stated reason — control flow (If, Loop, Scan),
 * sequence and optional values, opset 28 (not read yet: its changes to Cast, Mod and Einsum are
 * unconfirmed) — and the pass count may only grow (FLOOR: raise it as those land; the issue's
 * target is 97% of the cases). A new failure of any other kind fails this test with its reason.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { conformanceExtDir } from '../support/paths.ts';
import { runConformance } from '../../compiler/runtime/conformance.ts';

/** Passing cases at the last count (issue 13's op families, control flow, sequences and optionals merged). */
const FLOOR = 703;

/** What the remaining failures may be, until those parts of issue 13 land. */
const NOT_YET = /op (If|Loop|Scan|Sequence\w+|SplitToSequence|ConcatFromSequence|Optional\w*)\b|a sequence type|an optional type|opset 28 is not supported/;

test('reference backend on the node-ext set: only the parts not built yet fail, and at least FLOOR cases pass', async () => {
  const report = await runConformance(conformanceExtDir());
  const total = report.results.length;
  assert.ok(total >= 700, `found only ${total} cases`);
  const unexpected = report.results.filter((r) => r.status === 'fail' && !NOT_YET.test(r.reason ?? '')).map((r) => `${r.name}: ${r.reason}`);
  assert.equal(unexpected, [], `failures outside the parts not built yet:\n${unexpected.join('\n')}`);
  assert.ok(report.passed >= FLOOR, `${report.passed}/${total} passed; at least ${FLOOR} did before`);
  console.log(`conformance-ext.test.ts: ${report.passed}/${total} passed (${((100 * report.passed) / total).toFixed(1)}%)`);
});

test.run();
