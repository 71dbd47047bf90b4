/**
 * The numeric check: does a transformed graph still compute what the input graph (step 0) computed?
 *
 * Algorithm. `NumericChecker` is built from the step-0 graph: it draws seeded inputs once
 * (`randomInputs(graph, seed)`) and runs the reference executor to get the reference outputs. `check(g)`
 * runs `g` on the same inputs (by input name) and compares each graph output with the reference output
 * at the same position:
 *
 * - max abs error = max |got - ref| over all elements of all outputs (a NaN where the reference is not
 *   NaN, an infinity that differs, a shape or string mismatch count as Infinity);
 * - max rel error = max abs error of an output divided by the largest |ref| of that output (a
 *   *norm-relative* error, not elementwise: values near zero do not blow it up), maximised over outputs;
 * - an output is within tolerance when its max abs error <= atol + rtol * max|ref|;
 * - a sequence output compares element by element (the worst element's error over the largest
 *   element's |ref|; a length disagreement is Infinity), an optional by presence and then its value
 *   (compare.ts `valueDistance`).
 *
 * Past tolerance it looks for the first divergent node: it runs the step-0 graph capturing every node
 * output whose value name also exists in `g` with the same shape (through `runReference`'s `onNode`
 * hook), then runs `g` and compares, in `g`'s graph order, each such value with the same tolerance
 * rule; the first one that differs is named (stopping the run there). Results are cached per Graph
 * object, so an unchanged step costs nothing.
 */
import type { Graph, Node } from '../ir/graph.ts';
import { nodeId, valueTypes } from '../ir/graph.ts';
import { Tensor } from '../ir/tensor.ts';
import type { Value } from '../ir/value.ts';
import { type Distance, tensorDistance, valueDistance } from '../runtime/compare.ts';
import { randomInputs } from '../runtime/inputs.ts';
import { requireStaticShapes } from '../ops/bind-shapes.ts';
import { runReferenceValues } from '../runtime/reference.ts';
import { KilnError } from '../errors.ts';

/** Settings of the numeric check. */
export interface NumericCheckOptions {
  /** Seed of the random inputs. Default 0. */
  seed?: number;
  /** Relative tolerance (against the largest |ref| of each output). Default 1e-4. */
  rtol?: number;
  /** Absolute tolerance. Default 1e-6. */
  atol?: number;
  /**
   * Sizes for symbolic input dims of the step-0 graph (a caller's explicit choice). Without them, a
   * symbolic input dim is a KilnError naming it: the check never runs at a made-up size.
   */
  dims?: Readonly<Record<string, number>>;
}

/** The outcome of checking one graph against step 0. */
export interface NumericResult {
  readonly maxAbsError: number;
  /** Max abs error relative to the largest |ref| of the same output (see the module header). */
  readonly maxRelError: number;
  readonly withinTolerance: boolean;
  /** Past tolerance: the id of the first node (in graph order) whose output differs, if one was found. */
  readonly firstDivergent?: string;
}

/** Checks graphs against the reference outputs of a step-0 graph. */
export class NumericChecker {
  readonly seed: number;
  readonly rtol: number;
  readonly atol: number;
  private readonly dims: Readonly<Record<string, number>>;
  private readonly inputs: Map<string, Tensor>;
  private readonly reference: Value[];
  private readonly cache = new WeakMap<Graph, NumericResult>();

  /** Runs the step-0 graph once; throws a KilnError when it cannot run (constants without data, unbound symbolic input dims). */
  constructor(readonly baseline: Graph, opts: NumericCheckOptions = {}) {
    this.seed = opts.seed ?? 0;
    this.rtol = opts.rtol ?? 1e-4;
    this.atol = opts.atol ?? 1e-6;
    const missing = baseline.constants.find((c) => !c.data);
    if (missing) {
      throw new KilnError(`the numeric check needs constant data, but constant '${missing.name}' has none (IR text parsed without its weights); switch the check off`);
    }
    this.dims = opts.dims ?? {};
    requireStaticShapes(baseline, 'the numeric check', { dims: this.dims });
    this.inputs = randomInputs(baseline, this.seed, this.dims);
    this.reference = runReferenceValues(baseline, this.inputs);
    this.cache.set(baseline, { maxAbsError: 0, maxRelError: 0, withinTolerance: true });
  }

  /** True if a distance is within tolerance. */
  private within(d: Distance): boolean {
    return d.abs <= this.atol + this.rtol * d.scale;
  }

  /** Compares `graph`'s outputs with step 0's (cached per graph object). */
  check(graph: Graph): NumericResult {
    const cached = this.cache.get(graph);
    if (cached) return cached;
    const inputs = this.inputsFor(graph);
    const outputs = runReferenceValues(graph, inputs);
    let maxAbsError = 0, maxRelError = 0, withinTolerance = outputs.length === this.reference.length;
    if (!withinTolerance) maxAbsError = maxRelError = Infinity;
    outputs.forEach((got, k) => {
      if (k >= this.reference.length) return;
      const ref = this.reference[k];
      const d = got instanceof Tensor && ref instanceof Tensor ? tensorDistance(got, ref) : valueDistance(got, ref);
      maxAbsError = Math.max(maxAbsError, d.abs);
      maxRelError = Math.max(maxRelError, d.abs === 0 ? 0 : d.scale === 0 ? Infinity : d.abs / d.scale);
      if (!this.within(d)) withinTolerance = false;
    });
    const result: NumericResult = withinTolerance
      ? { maxAbsError, maxRelError, withinTolerance }
      : { maxAbsError, maxRelError, withinTolerance, firstDivergent: this.firstDivergent(graph, inputs) };
    this.cache.set(graph, result);
    return result;
  }

  /** The same inputs as step 0 by name; an input step 0 did not have gets seeded values of its own. */
  private inputsFor(graph: Graph): Map<string, Tensor> {
    if (graph.inputs.every((i) => this.inputs.has(i.name)) && graph.inputs.length === this.inputs.size) return this.inputs;
    const extra = randomInputs(graph, this.seed, this.dims);
    return new Map(graph.inputs.map((i) => [i.name, this.inputs.get(i.name) ?? extra.get(i.name)!]));
  }

  /**
   * The id of the first node of `graph` (in its order) whose output value, also computed by step 0 with
   * the same shape, differs past tolerance; undefined when none does.
   */
  firstDivergent(graph: Graph, inputs = this.inputsFor(graph)): string | undefined {
    const types = valueTypes(graph);
    const baseTypes = valueTypes(this.baseline);
    const common = new Set<string>();
    for (const n of graph.nodes) {
      for (const o of n.outputs) {
        const a = types.get(o), b = baseTypes.get(o);
        if (o && a && b && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i])) common.add(o);
      }
    }
    if (!common.size) return undefined;
    const captured = new Map<string, Tensor>();
    runReferenceValues(this.baseline, this.inputs, {
      onNode: (node: Node, _ms: number, outs: readonly Value[]) => {
        node.outputs.forEach((o, k) => { const v = outs[k]; if (common.has(o) && v instanceof Tensor) captured.set(o, v); });
      },
    });
    const stop = new Error('first divergent node found');
    let found: string | undefined;
    try {
      runReferenceValues(graph, inputs, {
        onNode: (node: Node, _ms: number, outs: readonly Value[]) => {
          node.outputs.forEach((o, k) => {
            const ref = captured.get(o), v = outs[k];
            if (found === undefined && ref && v instanceof Tensor && !this.within(tensorDistance(v, ref))) found = nodeId(node);
          });
          if (found !== undefined) throw stop;
        },
      });
    } catch (e) {
      if (e !== stop) throw e;
    }
    return found;
  }
}
