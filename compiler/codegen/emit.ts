/**
 * The text of each compile stage after the pass pipeline, for `kiln opt --emit` (and any caller that
 * keeps stage artifacts): `graph` (the IR text), `plan` (the memory plan as JSON: summary, execution
 * order, every tensor's bytes, interval, offset and alias), `kernel` (the kernel IR program, lowered in
 * the plan's execution order) and `source` (that program rendered to C).
 *
 * Nodes that do not lower are listed in `notes` (one line each: node, op, reason) and, for `kernel` and
 * `source`, in a comment at the top of the text, so an incomplete program never looks complete.
 */
import type { Graph } from '../ir/graph.ts';
import { printGraph } from '../ir/print.ts';
import { requireStaticShapes } from '../ops/bind-shapes.ts';
import { memorySummary } from '../results/memory.ts';
import { type MemoryPlan, planMemory } from '../schedule/index.ts';
import { lowerGraph } from './lower/index.ts';
import type { LowerTarget } from './lower/context.ts';
import { printProgram } from './print.ts';
import { renderProgram } from './render.ts';
import { C } from './lang/c.ts';

/** The stages `emitStage` can stop at, in pipeline order. */
export const EMIT_STAGES = ['graph', 'plan', 'kernel', 'source'] as const;
export type EmitStage = (typeof EMIT_STAGES)[number];

/** A stage's text and the notes about it (unsupported nodes). */
export interface Emitted {
  readonly text: string;
  readonly notes: readonly string[];
}

/** The memory plan as JSON text. */
export function planJson(plan: MemoryPlan): string {
  const { tensors: tensorCount, ...summary } = memorySummary(plan);
  return JSON.stringify({
    ...summary,
    tensorCount,
    alignment: plan.alignment,
    order: plan.order,
    tensors: plan.tensors.map((t) => ({
      name: t.name, bytes: t.bytes, offset: t.offset, first: t.first, last: t.last, producer: t.producer,
      ...(t.aliasOf !== undefined ? { aliasOf: t.aliasOf, aliasKind: t.aliasKind } : {}),
    })),
  }, null, 2) + '\n';
}

/** The text of `graph` at `stage`; kernels are lowered for `target` (default: plain loop nests). */
export function emitStage(graph: Graph, stage: EmitStage, target?: LowerTarget): Emitted {
  if (stage === 'graph') return { text: printGraph(graph), notes: [] };
  requireStaticShapes(graph, `--emit ${stage}`, { values: true });
  const plan = planMemory(graph);
  if (stage === 'plan') return { text: planJson(plan), notes: [] };
  const { program, unsupported } = lowerGraph(graph, { order: plan.order, ...(target ? { target } : {}) });
  const notes = unsupported.map((u) => `not lowered: %${u.node} ${u.op}: ${u.reason}`);
  const text = stage === 'kernel' ? printProgram(program) : renderProgram(C, program);
  if (!notes.length) return { text, notes };
  const comment = stage === 'kernel' ? notes.map((n) => `// ${n}`).join('\n') : `/*\n${notes.map((n) => ` * ${n.replace(/\*\//g, '* /')}`).join('\n')}\n */`;
  return { text: `${comment}\n${text}`, notes };
}
