/**
 * print∘parse identity on real graphs: every zoo model and every ONNX conformance model that imports.
 * Each graph must also pass both verifiers, print to text that parses back to an equal graph (with the
 * weights map) and print identically again (with or without weights).
 */
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
import type { AttrValue, Graph } from '../../compiler/ir/graph.ts';

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

/**
 * The graph with float attributes rounded to f32. The IR holds f32 float attributes (verifier rule
 * attr.kind); the zoo builder still writes doubles such as epsilon=1e-5. Remove once it rounds them.
 */
function roundFloatAttrs(g: Graph): Graph {
  const nodes = g.nodes.map((n) => {
    const attrs: Record<string, AttrValue> = {};
    for (const [k, a] of Object.entries(n.attrs)) {
      attrs[k] = a.kind === 'float' ? { kind: 'float', value: Math.fround(a.value) }
        : a.kind === 'floats' ? { kind: 'floats', value: a.value.map(Math.fround) } : a;
    }
    return { ...n, attrs };
  });
  return { ...g, nodes };
}

test('every zoo model round-trips', () => {
  const names = zooNames();
  assert.ok(names.length >= 4);
  let typed = 0;
  for (const name of names) {
    let g: Graph;
    let checkTypes = true;
    try {
      g = zooModel(name);
      typed++;
    } catch (e) {
      if (!/unknown op/.test((e as Error).message)) throw e;
      // some of its ops are still being written: check the text on the untyped structure
      g = zooModel(name, { inferTypes: false });
      checkTypes = false;
    }
    checkRoundTrip(roundFloatAttrs(g), `zoo:${name}`, checkTypes);
  }
  if (process.env.KILN_TEST_VERBOSE) console.log(`zoo: ${typed} of ${names.length} models typed`);
});

const CONFORMANCE = '/work/shared/onnx-conformance/node';

test('every importable ONNX conformance model round-trips', () => {
  if (!fs.existsSync(CONFORMANCE)) return;
  const cases = fs.readdirSync(CONFORMANCE).filter((c) => fs.existsSync(path.join(CONFORMANCE, c, 'model.onnx'))).sort();
  const failed: string[] = [];
  const unknownOp: string[] = [];
  for (const c of cases) {
    let g: Graph;
    try {
      g = loadOnnxFile(path.join(CONFORMANCE, c, 'model.onnx'));
    } catch (e) {
      // ops still being written by their families are counted apart from real import failures
      if (/unknown op|is not supported/.test((e as Error).message)) unknownOp.push(c);
      else failed.push(`${c}: ${(e as Error).message}`);
      continue;
    }
    checkRoundTrip(g, c);
  }
  const imported = cases.length - failed.length - unknownOp.length;
  if (process.env.KILN_TEST_VERBOSE) console.log({ cases: cases.length, imported, unknownOp: unknownOp.length, failed });
  assert.ok(imported >= 100, `only ${imported} of ${cases.length} cases imported`);
  assert.ok(failed.length <= cases.length * 0.03, `${failed.length} imports failed:\n${failed.join('\n')}`);
});

test.run();
