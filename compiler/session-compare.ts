/**
 * Comparing two sessions (typically a session and a branch of it): their current steps side by side
 * with the graph diff between them, and a short text saying which pipeline gave how many nodes, how
 * much pass time and what numeric error.
 */
import { diffGraphs, formatDiffSummary, type GraphDiff } from './ir/diff.ts';
import type { Session, Step } from './session.ts';

/** Two sessions' current steps side by side (e.g. a session and its branch). */
export class Comparison {
  readonly a: Step;
  readonly b: Step;
  readonly diff: GraphDiff;
  constructor(readonly left: Session, readonly right: Session) {
    this.a = left.at();
    this.b = right.at();
    this.diff = diffGraphs(this.a.graph, this.b.graph);
  }

  /** A short text: both pipelines, node counts, pass time, numeric error, and the diff summary. */
  toText(): string {
    const row = (name: string, s: Session, st: Step) => {
      const ms = s.history.slice(1, st.index + 1).reduce((t, x) => t + x.ms, 0);
      const err = st.maxRelError === undefined ? 'unchecked' : `max rel error ${st.maxRelError.toExponential(2)}`;
      return `${name}: step ${st.index}, ${st.graph.nodes.length} nodes, ${ms.toFixed(1)} ms in passes, ${err}; pipeline ${s.pipelineText || '(empty)'}`;
    };
    return [row('a', this.left, this.a), row('b', this.right, this.b), `a → b: ${formatDiffSummary(this.diff)}`].join('\n') + '\n';
  }
}
