/**
 * Helpers for the direct tests of the canonical passes (shape-infer, fold-constants, dce, cse,
 * simplify): run one pass on a graph with a plain context (defaults filled in, statistics kept),
 * parse/print `.kir` lines, and check numeric equivalence on the zoo models against the reference
 * executor. Zoo graphs, inputs and reference outputs are built once per process and shared by every
 * test file (uvu runs them in one process).
 */
import * as assert from 'uvu/assert';
import type { Graph } from '../../compiler/ir/graph.ts';
import type { Tensor } from '../../compiler/ir/tensor.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { printGraph } from '../../compiler/ir/print.ts';
import { verifyAll } from '../../compiler/ops/verify-types.ts';
import { type Decision, type OptionValue, type Pass, Statistics } from '../../compiler/passes/pass.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { compareTensors } from '../../compiler/runtime/compare.ts';
import { zooModel } from '../../compiler/zoo/index.ts';
import { zooInputs } from '../zoo/inputs.ts';

/** The result of one pass run. */
export interface PassRun {
  graph: Graph;
  stats: Record<string, number>;
  decisions: Decision[];
}

/** Runs `pass` on `graph` with `options` over its defaults, then verifies the result. */
export function runPass(pass: Pass, graph: Graph, options: Record<string, OptionValue> = {}): PassRun {
  const full: Record<string, OptionValue> = {};
  for (const o of pass.options) full[o.name] = o.default;
  Object.assign(full, options);
  const stats = new Statistics(pass.statistics);
  const decisions: Decision[] = [];
  const out = pass.run(graph, { options: full, stats, decide: (d) => decisions.push({ ...d, pass: pass.name }), target: 'ref' });
  verifyAll(out, { pass: pass.name });
  return { graph: out, stats: stats.toJSON(), decisions };
}

/** `.kir` text from lines. */
export const kir = (lines: string[]): string => lines.join('\n') + '\n';

/** Parses `.kir` lines, verifying the input. */
export function parseKir(lines: string[]): Graph {
  const g = parseGraph(kir(lines));
  verifyAll(g);
  return g;
}

/** The node lines of a printed graph (indentation removed), without constants and signature. */
export function nodeLines(g: Graph): string[] {
  return printGraph(g).split('\n').map((l) => l.trim()).filter((l) => /^(%|_).* = (?!const )/.test(l));
}

/** Runs the pass and asserts it returned the very same graph object with all counters zero. */
export function assertUnchanged(pass: Pass, g: Graph, options: Record<string, OptionValue> = {}): void {
  const r = runPass(pass, g, options);
  assert.ok(r.graph === g, `${pass.name} changed a graph it should leave alone:\n${printGraph(r.graph)}`);
  for (const [k, v] of Object.entries(r.stats)) assert.is(v, 0, `statistic ${k}`);
}

interface ZooBaseline { graph: Graph; inputs: Map<string, Tensor>; outputs: Tensor[] }
const baselines = new Map<string, ZooBaseline>();

/** A zoo model with seeded inputs and its reference outputs (built once per process). */
export function zooBaseline(name: string): ZooBaseline {
  let b = baselines.get(name);
  if (!b) {
    const graph = zooModel(name);
    const inputs = zooInputs(graph);
    b = { graph, inputs, outputs: runReference(graph, inputs) };
    baselines.set(name, b);
  }
  return b;
}

/** The zoo models every canonical pass is checked on. */
export const ZOO_MODELS = ['resnet50', 'bert', 'bert-decomposed', 'mobilenetv2'] as const;

/**
 * Runs `pass` on zoo model `name` and asserts the reference outputs stay within 1e-5 relative (the
 * reference run is skipped when the pass returns the same graph). Returns the run and node counts.
 */
export function checkZoo(pass: Pass, name: string, options: Record<string, OptionValue> = {},
  prepare: (g: Graph) => Graph = (g) => g): PassRun & { before: number; after: number } {
  const base = zooBaseline(name);
  const input = prepare(base.graph);
  const r = runPass(pass, input, options);
  if (r.graph !== base.graph) {
    const outs = runReference(r.graph, base.inputs);
    assert.is(outs.length, base.outputs.length);
    outs.forEach((t, k) => {
      const why = compareTensors(t, base.outputs[k], { rtol: 1e-5, atol: 1e-6 });
      assert.is(why, undefined, `${pass.name} on ${name}, output ${k}: ${why}`);
    });
  }
  return { ...r, before: input.nodes.length, after: r.graph.nodes.length };
}
