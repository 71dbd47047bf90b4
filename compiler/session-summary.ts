/**
 * `Session.summary()`: a text report of a session — the model, target and cursor, the pipeline, the
 * numeric check's state, the current graph in one line (nodes, constants, FLOPs, the commonest ops),
 * the passes table up to the current step and the passes still to run. Built only from the Session's
 * public API.
 */
import type { Session } from './session.ts';
import { summarizeGraph, formatFlops } from './zoo/summary.ts';

/** The text report of `s` (ends with a newline). */
export function sessionSummary(s: Session): string {
  const g = s.graph();
  const sum = summarizeGraph(g);
  const check = !s.numericCheck ? 'off'
    : s.numericCheckSkipped ? `skipped: ${s.numericCheckSkipped}` : `on (rtol ${s.tolerance}, atol ${s.absTolerance})`;
  const lines = [
    `session ${s.source} (graph ${g.name}), target ${s.target}, at step ${s.current} of ${s.length}`,
    `pipeline: ${s.pipelineText || '(empty)'}`,
    `numeric check: ${check}`,
    `current graph: ${sum.nodeCount} nodes, ${sum.constantCount} constants, ${formatFlops(sum)}; `
      + sum.opCounts.slice(0, 6).map(([op, n]) => `${op} ${n}`).join(', ') + (sum.opCounts.length > 6 ? ', …' : ''),
    '',
    s.passesTable().toText({ maxRows: Infinity }).trimEnd(),
  ];
  const pending = s.pipelineEntries.slice(s.current).map((e) => e.pass);
  if (pending.length) lines.push(`next: ${pending.join(', ')}`);
  return lines.join('\n') + '\n';
}
