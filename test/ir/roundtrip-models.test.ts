/**
 * print∘parse identity on real graphs: every zoo model and every ONNX conformance model that imports.
 * Each graph must also pass both verifiers, print to text that parses back to an equal graph (with the
 * weights map) and print identically again (with or without weights).
 */
import { conformanceDir } from '../support/paths.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { printGraph } from '../../compiler/ir/print.ts';
import { graphDiff } from '../../compiler/ir/equal.ts';
import { weightsOf } from '../../compiler/ir/weights.ts';
import { verifyGraph } from '../../compiler/ir/verify.ts';
import { collectTypeErrors } from '../../compiler/ops/verify-types.ts';
import { zooModel, zooNames } from '../../compiler/zoo/index.ts';
import { loadOnnxFile } from '../../compiler/import/onnx/import.ts';
import type { Graph } from '../../compiler/ir/graph.ts';

/** Asserts the round-trip properties of one graph; `what` names it in failures. */
function checkRoundTrip(g: Graph, what: string, checkTypes = true): void {
  verifyGraph(g);
  // ops still being written by their families are unknown for now; every other rule must hold
  if (checkTypes) {
    const typeErrors = collectTypeErrors(g).filter((e) => e.place.rule !== 'op.unknown');
    assert.equal(typeErrors.map((e) => e.message), [], what);
  }
  const text = printGraph(g);
  const back = parseGraph(text, { file: what, weights: weightsOf(g) });
  const diff = graphDiff(g, back);
  assert.is(diff, undefined, `${what}: ${diff}`);
  assert.is(printGraph(back), text, what);
  assert.is(printGraph(parseGraph(text, { file: what })), text, `${what} (without weights)`);
}

test('every zoo model round-trips, typed and verified', () => {
  const names = zooNames();
  assert.ok(names.length >= 5);
  for (const name of names) checkRoundTrip(zooModel(name), `zoo:${name}`, true);
});


test('every importable ONNX conformance model round-trips', () => {
  const CONFORMANCE = conformanceDir();
  const cases = fs.readdirSync(CONFORMANCE).filter((c) => fs.existsSync(path.join(CONFORMANCE, c, 'model.onnx'))).sort();
  const failed: string[] = [];
  const unknownOp: string[] = [];
  for (const c of cases) {
    let g: Graph;
    try {
      g = loadOnnxFile(path.join(CONFORMANCE, c, 'model.onnx'));
    } catch (e) {
      if (/unknown op|is not supported/.test((e as Error).message)) unknownOp.push(c);
      else failed.push(`${c}: ${(e as Error).message}`);
      continue;
    }
    checkRoundTrip(g, c);
  }
  const imported = cases.length - failed.length - unknownOp.length;
  if (process.env.KILN_TEST_VERBOSE) console.log({ cases: cases.length, imported, unknownOp: unknownOp.length, failed });
  assert.ok(cases.length >= 700, `only ${cases.length} cases found`);
  assert.equal(unknownOp, [], 'every op of the conformance set is registered');
  assert.equal(failed, [], 'every conformance model imports');
  assert.is(imported, cases.length);
});

test.run();
