/**
 * The programs the tuner measures: for each problem (one template and key a lowering offered
 * candidates for), the node that first asked is cut out of the graph as a graph of its own (its
 * non-constant inputs become graph inputs with their types, the constants it reads are kept, its
 * outputs are the outputs), and that one-node graph is lowered once per candidate with the choice
 * forced (codegen/lower `lowerGraph` with `choices`). Every variant's kernels, renamed
 * `t<problem>_c<candidate>_<kernel>` so they cannot collide, are rendered into one C file per group
 * of problems with the C descriptor (`tuningSource`: the compiler is the slow part of tuning, so one
 * run covers every candidate of its problems), plus `kiln_tune_set_threads`.
 *
 * A candidate whose variant does not lower (the lowering refuses that choice, or fails under it) or
 * whose lowering did not use the forced choice is excluded with the reason; it is never compiled.
 */
import { type Graph, type Node, nodeId, valueTypes } from '../../ir/graph.ts';
import type { Program as KernelProgram } from '../../codegen/kir.ts';
import { type LowerOptions, lowerGraph } from '../../codegen/lower/index.ts';
import type { Tunable, TuningChoices, TuningParams } from '../../codegen/lower/context.ts';
import { renderKernel } from '../../codegen/render.ts';
import { C } from '../../codegen/lang/c.ts';

/** One (template, key) with its candidates, as the tuner handles it. */
export interface Problem {
  /** `${template}|${key}`: the choices map's key. */
  readonly id: string;
  readonly template: string;
  readonly key: string;
  readonly candidates: readonly TuningParams[];
  /** The node whose lowering asked first (the one cut out and measured). */
  readonly node: string;
}

/** One candidate's program, or why it has none. */
export type Variant =
  | { readonly ok: true; readonly candidate: number; readonly program: KernelProgram }
  | { readonly ok: false; readonly candidate: number; readonly excluded: string };

/** The variants of one problem over its cut-out graph. */
export interface ProblemVariants {
  readonly problem: Problem;
  readonly graph: Graph;
  readonly variants: readonly Variant[];
}

/** The problems of a set of tunables: one per `${template}|${key}`, first asker kept. */
export function problemsOf(tunables: readonly Tunable[]): Problem[] {
  const out = new Map<string, Problem>();
  for (const t of tunables) {
    const id = `${t.template}|${t.key}`;
    if (!out.has(id)) out.set(id, { id, template: t.template, key: t.key, candidates: t.candidates, node: t.node });
  }
  return [...out.values()];
}

/** The node `id` of `graph` cut out as a one-node graph (inputs typed, constants kept). */
export function cutNode(graph: Graph, id: string): Graph {
  const node = graph.nodes.find((n) => nodeId(n) === id);
  if (!node) throw new Error(`tuning: node '%${id}' is not in @${graph.name}`);
  const types = valueTypes(graph);
  const constants = new Map(graph.constants.map((c) => [c.name, c]));
  const used = [...new Set(node.inputs.filter((v) => v !== ''))];
  return {
    name: `${graph.name}_${id}`,
    inputs: used.filter((v) => !constants.has(v)).map((v) => ({ name: v, type: types.get(v)! })),
    constants: used.filter((v) => constants.has(v)).map((v) => constants.get(v)!),
    nodes: [node as Node],
    outputs: node.outputs.filter((o) => o !== ''),
  };
}

/**
 * Lowers the cut-out node once per candidate; `base` holds the choices of the other problems, `opts`
 * the backend's other lowering options (its target), as the model itself is lowered.
 */
export function lowerVariants(graph: Graph, problem: Problem, base: TuningChoices, index: number,
  opts: Omit<LowerOptions, 'choices' | 'order'> = {}): ProblemVariants {
  const sub = cutNode(graph, problem.node);
  const variants = problem.candidates.map((_, i): Variant => {
    const choices = new Map(base);
    choices.set(problem.id, i);
    let lowered;
    try {
      lowered = lowerGraph(sub, { ...opts, choices });
    } catch (e) {
      // a lowering (or kernel verifier) failure under this choice: reported as the exclusion, so a bad
      // non-default candidate never fails the model's compile (a failure of the default does, later)
      return { ok: false, candidate: i, excluded: `its lowering failed: ${(e as Error).message}` };
    }
    if (lowered.unsupported.length) return { ok: false, candidate: i, excluded: `does not lower: ${lowered.unsupported[0].reason}` };
    const made = lowered.tunables.find((t) => `${t.template}|${t.key}` === problem.id);
    if (!made || made.chosen !== i) return { ok: false, candidate: i, excluded: 'the lowering did not use this candidate when it was forced' };
    const prefix = `t${index}_c${i}_`;
    const rename = new Map(lowered.program.kernels.map((k) => [k.name, `${prefix}${k.name}`]));
    const program: KernelProgram = {
      ...lowered.program,
      kernels: lowered.program.kernels.map((k) => ({ ...k, name: rename.get(k.name)! })),
      calls: lowered.program.calls.map((c) => ({ ...c, kernel: rename.get(c.kernel)! })),
    };
    return { ok: true, candidate: i, program };
  });
  return { problem, graph: sub, variants };
}

/** One C file with every lowered variant's kernels of `problems` and the thread setter. */
export function tuningSource(problems: readonly ProblemVariants[]): string {
  const programs = problems.flatMap((p) => p.variants.flatMap((v) => (v.ok ? [v.program] : [])));
  const kernels = programs.flatMap((p) => p.kernels);
  // the header as for one program holding every kernel (program-level fields, like a target, kept)
  const header = C.fileHeader({ ...programs[0], name: 'tuning', buffers: [], kernels, calls: [] });
  const parts = [...header, '#include <omp.h>', 'void kiln_tune_set_threads(int n) { omp_set_num_threads(n); }', ''];
  for (const k of kernels) parts.push(...renderKernel(C, k), '');
  return parts.join('\n');
}
