/**
 * The default pipelines on the node-ext cases with control flow (If, Loop, Scan, and the expanded
 * functions whose bodies are loops): each target's default pipeline runs before the reference
 * executor, and every case that passes on the reference executor alone still passes. Conformance
 * itself runs no passes (backends prepare the graph as given), so this is where passes meet regions
 * of real exported models.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { conformanceExtDir } from '../support/paths.ts';
import { runConformance } from '../../compiler/runtime/conformance.ts';
import { registerBackend } from '../../compiler/runtime/backends.ts';
import { refBackend } from '../../compiler/runtime/ref-backend.ts';
import { PassManager } from '../../compiler/passes/manager.ts';
import { TARGETS, defaultPipeline } from '../../compiler/passes/all.ts';

/** The node-ext cases whose graphs have regions (and the sequence/optional If/Loop ones, not imported yet). */
const CASES = /^test_(if|loop|scan|range_.*_expanded|linear_attention_.*_expanded)/;

test('every default pipeline keeps the control-flow cases that pass on the reference executor passing', async () => {
  const dir = conformanceExtDir();
  const plain = await runConformance(dir, { filter: CASES });
  const passing = plain.results.filter((r) => r.status === 'pass').map((r) => r.name);
  assert.ok(passing.length >= 18, `only ${passing.length} cases pass on ref`);
  for (const target of TARGETS) {
    const name = `ref-after-${target}-pipeline`;
    const unregister = registerBackend({
      ...refBackend, name,
      prepare: (graph, opts, prep) => refBackend.prepare(new PassManager({ target }).run(graph, defaultPipeline(target, graph)).at(-1)?.graph ?? graph, opts, prep),
    });
    try {
      const report = await runConformance(dir, { backend: name, filter: CASES });
      const lost = report.results.filter((r) => r.status !== 'pass' && passing.includes(r.name)).map((r) => `${r.name}: ${r.reason}`);
      assert.equal(lost, [], `${target} pipeline:\n${lost.join('\n')}`);
    } finally {
      unregister();
    }
  }
});

test.run();
