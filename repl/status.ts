/**
 * The status line's text: which model is loaded, the target, where the cursor stands in the pipeline
 * (step k of n and the pass that produced it) and the next pass, so a user always knows what `step` and
 * `back` will do. Plain text, computed where the session lives (the REPL's worker thread).
 */
import type { Session } from '../compiler/session.ts';

/** The status text of a session. */
export function statusText(session: Session | undefined): string {
  if (!session) return 'no model loaded: load MODEL (zoo:mlp, zoo:resnet50, file.onnx, file.kir)';
  let pass = 'load';
  try {
    pass = session.at().pass;
  } catch {
    // a step that is not computed yet cannot be current; keep the default
  }
  const next = session.pipelineEntries[session.current]?.pass;
  return `${session.source} · ${session.target} · step ${session.current}/${session.length} (${pass})`
    + (next ? ` · next: ${next}` : ' · end of pipeline');
}
