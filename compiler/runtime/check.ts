/**
 * The numeric check of a compiled program: its outputs against the reference executor's on the same
 * inputs, measured as the pass pipeline's numeric check measures a step (passes/numeric-check.ts):
 * per output, the max absolute error and that error relative to the largest |reference| of the output
 * (norm-relative, so values near zero do not blow it up).
 *
 * Tolerance. An output is within tolerance when its max abs error ≤ atol + rtol · max|ref|, with the
 * numeric check's defaults (rtol 1e-4, atol 1e-6). A program whose kernels declare a wider bound
 * (`Program.tolerances`: Winograd F(4x4,3x3) trades precision for fewer multiplications, its bound
 * documented in ops/scalar-ops.ts TEMPLATE_TOLERANCES) is checked against the widest declared bound
 * instead, and the report says which kernels declared it and why, so the user sees both the error and
 * what it is allowed to be. Outputs compare by position; dtype or shape disagreements are Infinity.
 * Sequence outputs compare element by element (the worst element's error over the largest element's
 * scale; a length disagreement is Infinity), optionals by presence and then their value
 * (compare.ts `valueDistance`).
 */
import type { Value } from '../ir/value.ts';
import type { Graph } from '../ir/graph.ts';
import type { Program } from './backend.ts';
import { refBackend } from './ref-backend.ts';
import { valueDistance } from './compare.ts';

/** One output of the check. */
export interface OutputCheck {
  readonly name: string;
  readonly maxAbsError: number;
  /** max abs error / max |ref| of this output. */
  readonly maxRelError: number;
  readonly ok: boolean;
}

/** A declared bound, summed over the kernels that declare it. */
export interface DeclaredBound {
  readonly what: string;
  readonly rel: number;
  /** How many kernels declare it. */
  readonly kernels: number;
}

/** The outcome of checking a program against the reference executor. */
export interface ProgramCheck {
  readonly outputs: readonly OutputCheck[];
  /** The norm-relative tolerance applied (the default, or the widest declared bound). */
  readonly rtol: number;
  readonly atol: number;
  /** Wider bounds the program's kernels declare (empty when none). */
  readonly declared: readonly DeclaredBound[];
  /** Largest norm-relative error over the outputs. */
  readonly maxRelError: number;
  readonly ok: boolean;
}

/** Options of `checkAgainstReference`. */
export interface CheckOptions {
  /** Default 1e-4 (widened by declared bounds). */
  readonly rtol?: number;
  /** Default 1e-6. */
  readonly atol?: number;
}

/** The bounds a program declares, grouped by reason. */
export function declaredBounds(program: Program): DeclaredBound[] {
  const by = new Map<string, DeclaredBound>();
  for (const t of program.tolerances ?? []) {
    const key = `${t.what}|${t.rel}`;
    const had = by.get(key);
    by.set(key, { what: t.what, rel: t.rel, kernels: (had?.kernels ?? 0) + 1 });
  }
  return [...by.values()];
}

/**
 * Runs `graph` on the reference executor with `inputs` and compares `outputs` (what `program` gave for
 * the same inputs) with its results (see the module header).
 */
export async function checkAgainstReference(graph: Graph, program: Program, inputs: ReadonlyMap<string, Value>,
  outputs: readonly Value[], opts: CheckOptions = {}): Promise<ProgramCheck> {
  const declared = declaredBounds(program);
  const rtol = Math.max(opts.rtol ?? 1e-4, ...declared.map((d) => d.rel));
  const atol = opts.atol ?? 1e-6;
  const ref = await refBackend.prepare(graph, undefined);
  let want: Value[];
  try {
    want = await ref.run(inputs);
  } finally {
    await ref.dispose();
  }
  const checks = graph.outputs.map((name, k): OutputCheck => {
    if (k >= outputs.length || k >= want.length) return { name, maxAbsError: Infinity, maxRelError: Infinity, ok: false };
    const d = valueDistance(outputs[k], want[k]);
    const rel = d.abs === 0 ? 0 : d.scale > 0 ? d.abs / d.scale : Infinity;
    return { name, maxAbsError: d.abs, maxRelError: rel, ok: d.abs <= atol + rtol * d.scale };
  });
  return {
    outputs: checks, rtol, atol, declared,
    maxRelError: Math.max(0, ...checks.map((c) => c.maxRelError)),
    ok: checks.every((c) => c.ok),
  };
}

/** One line for a shell: `numeric check vs reference: max rel error 1.5e-6 ≤ 1e-4 (Winograd ... in 11 kernels)`. */
export function formatCheck(c: ProgramCheck): string {
  const e = (x: number) => (x === 0 ? '0' : Number.isFinite(x) ? x.toExponential(1) : 'inf');
  const why = c.declared.length
    ? ` (declared by ${c.declared.map((d) => `${d.what}: ${e(d.rel)} in ${d.kernels} kernel${d.kernels === 1 ? '' : 's'}`).join('; ')})`
    : '';
  const bad = c.outputs.filter((o) => !o.ok).map((o) => o.name);
  return `numeric check vs reference: max rel error ${e(c.maxRelError)} ${c.ok ? '<=' : '>'} tolerance ${e(c.rtol)}${why}`
    + (bad.length ? `; beyond tolerance: ${bad.join(', ')}` : '');
}
