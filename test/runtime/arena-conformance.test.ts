/**
 * The whole ONNX conformance set on the arena executor: every case the arena can run gives outputs
 * bitwise equal to the plain reference executor's (same kernels, so the plan's offsets, views, in-place
 * results and regions must change nothing), and a case the reference executor fails with an error fails
 * on the arena too. A graph whose sizes depend on input values (a Range limit or a Resize `sizes` given
 * as a graph input) is planned the way every caller binds such sizes (ops/bind-values.ts bindValues, as
 * runtime/inputs.ts bindInputs does): those inputs become constants with the data set's values. Every case
 * the arena declines is declined for a reason of its contract (str values, sizes that stay unknown,
 * dtypes the reference kernels lack), and it declines few.
 */
import fs from 'node:fs';
import { expectTensors } from '../../compiler/ir/value.ts';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Graph } from '../../compiler/ir/graph.ts';
import type { Tensor } from '../../compiler/ir/tensor.ts';
import '../../compiler/ops/all.ts';
import { loadOnnxFile } from '../../compiler/import/onnx/import.ts';
import { loadInputsDir, tensorInputs } from '../../compiler/runtime/inputs.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { arenaUnsupported, prepareArena } from '../../compiler/runtime/arena.ts';
import { conformanceDir } from '../support/paths.ts';
import { sameBits } from './arena-support.ts';
import { bindValues } from '../../compiler/ops/bind-values.ts';

/** Reasons the arena may decline a case (its contract), matched against each reason it gives. */
const DECLINE = /str values cannot live|known only at run time|does not support/;

/** The reason for sizes known only at run time, which binding input values can remove. */
const RUNTIME_SIZE = /known only at run time/;

/** Cases whose reference result is not reproducible run to run (a random mask), so bits may differ. */
const NONDETERMINISTIC = new Set(['test_training_dropout', 'test_training_dropout_default', 'test_training_dropout_default_mask', 'test_training_dropout_mask']);

test('every conformance case the arena runs matches the reference executor bit for bit', async () => {
  const dir = conformanceDir();
  const cases = fs.readdirSync(dir).sort().filter((d) => fs.existsSync(path.join(dir, d, 'model.onnx')));
  let compared = 0, declined = 0, bothFail = 0, importFail = 0, specialized = 0;
  const problems: string[] = [];
  for (const name of cases) {
    const caseDir = path.join(dir, name);
    let graph: Graph;
    try { graph = loadOnnxFile(path.join(caseDir, 'model.onnx')); } catch { importFail++; continue; }
    const why = arenaUnsupported(graph);
    const odd = why.find((w) => !DECLINE.test(w.reason));
    if (odd) problems.push(`${name}: declined for ${odd.reason}`);
    if (why.some((w) => !RUNTIME_SIZE.test(w.reason))) { declined++; continue; }
    let declinedSets = 0;
    for (const set of fs.readdirSync(caseDir).filter((d) => d.startsWith('test_data_set_')).sort()) {
      let inputs: Map<string, Tensor>;
      try { inputs = tensorInputs(loadInputsDir(path.join(caseDir, set), graph)); } catch { continue; }
      let want: Tensor[] | undefined, refError: unknown;
      try { want = runReference(graph, inputs); } catch (e) { refError = e; }
      let run = { graph, inputs };
      if (why.length) {
        const bound = bindValues(graph, inputs);
        if (!bound.bound.length || arenaUnsupported(bound.graph).length) { declinedSets++; continue; }
        run = { graph: bound.graph, inputs: new Map([...inputs].filter(([k]) => !bound.bound.includes(k))) };
        specialized++;
      }
      let got: Tensor[] | undefined, arenaError: unknown;
      try { got = expectTensors(await prepareArena(run.graph).run(run.inputs)); } catch (e) { arenaError = e; }
      if (!want) {
        if (got) problems.push(`${name}/${set}: the reference fails (${(refError as Error).message}) but the arena runs`);
        else bothFail++;
        continue;
      }
      if (!got) { problems.push(`${name}/${set}: arena error ${(arenaError as Error).message}`); continue; }
      compared++;
      if (NONDETERMINISTIC.has(name)) continue;
      want.forEach((w, k) => { if (!sameBits(w, got![k])) problems.push(`${name}/${set}: output ${k} '${graph.outputs[k]}' differs`); });
    }
    if (declinedSets) declined++;
  }
  console.log(`arena conformance: ${compared} data sets compared bit for bit (${specialized} with value-dependent sizes bound), ${declined} of ${cases.length} cases declined, ${bothFail} failing on both`);
  assert.equal(problems, [], problems.join('\n'));
  assert.ok(compared >= 735, `only ${compared} data sets compared (${declined} cases declined, ${importFail} not importable, ${bothFail} failing on both)`);
  assert.ok(declined <= 0.01 * cases.length, `${declined} of ${cases.length} cases declined`);
});

test.run();
