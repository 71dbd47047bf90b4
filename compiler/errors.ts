/**
 * kiln's error type. Every error a user can cause (bad file, bad model, bad IR text, bad input)
 * is a KilnError whose message names what is wrong and where: file, node, op, attribute, line.
 * The CLI prints `error: <message>` for these and exits 1 without a stack trace.
 */

/** Where an error happened; every field is optional and printed when present. */
export interface ErrorPlace {
  file?: string;
  /** IR node id or ONNX node name. */
  node?: string;
  op?: string;
  attribute?: string;
  /** The pass that was running. */
  pass?: string;
  /** The verifier or validation rule that failed. */
  rule?: string;
  line?: number;
  column?: number;
}

/** A user-facing error with a place. */
export class KilnError extends Error {
  /** The message without the place prefix. */
  readonly reason: string;
  constructor(message: string, readonly place: ErrorPlace = {}) {
    super(formatPlace(place) + message);
    this.name = 'KilnError';
    this.reason = message;
  }
}

/** A KilnError like `e` with extra place fields (its reason kept after `prefix`, its place merged, `extra` winning). */
export function withPlace(e: KilnError, extra: ErrorPlace, prefix = ''): KilnError {
  const out = new KilnError(prefix + e.reason, { ...e.place, ...extra });
  out.stack = e.stack;
  return out;
}

function formatPlace(p: ErrorPlace): string {
  const parts: string[] = [];
  if (p.file) parts.push(p.line !== undefined ? `${p.file}:${p.line}${p.column !== undefined ? `:${p.column}` : ''}` : p.file);
  else if (p.line !== undefined) parts.push(`line ${p.line}${p.column !== undefined ? `:${p.column}` : ''}`);
  if (p.pass) parts.push(`pass '${p.pass}'`);
  if (p.node) parts.push(`node '${p.node}'`);
  if (p.op) parts.push(`op ${p.op}`);
  if (p.attribute) parts.push(`attribute '${p.attribute}'`);
  if (p.rule) parts.push(`rule ${p.rule}`);
  return parts.length ? parts.join(', ') + ': ' : '';
}
