/**
 * What the ink app drives: a `ReplEngine` runs lines, completes, says whether TypeScript needs more
 * lines, interrupts, and gives the status line. Every call that reaches the session is asynchronous,
 * because the real engine (repl/worker-engine.ts) runs the shell in a worker thread so the screen
 * stays alive — spinner turning, progress drawn, keys read — while a pass or the numeric check
 * computes. `LocalEngine` runs a ReplShell in this thread (tests with fake commands, and a fallback).
 *
 * `lineLabel` is the busy line's label of an input line, worked out from the text alone (the command
 * table lives with the shell): the first word and its arguments, or `evaluating` for code.
 */
import { statusText } from './status.ts';
import type { Completion, ExecResult, RenderOptions, ReplShell, ShellListeners } from './shell.ts';

/** An executed line plus the status text after it. */
export type EngineResult = ExecResult & { readonly status: string };

/** What an interrupt did. */
export interface Interruption {
  readonly note?: string;
  /** A line the app should run next (e.g. `load zoo:resnet50` after the worker restarted). */
  readonly rerun?: string;
}

/** The REPL engine as the app sees it. */
export interface ReplEngine {
  /** Runs one line (never rejects: failures are error output). */
  execute(line: string, opts: RenderOptions): Promise<EngineResult>;
  /** Completions for the text left of the cursor. */
  complete(text: string): Promise<Completion>;
  /** Whether `text` is TypeScript that continues on the next line. */
  needsMore(text: string): Promise<boolean>;
  /**
   * Ctrl-C while a line runs: stops it, busy code included, keeping the session where the engine can
   * (the worker engine does it as the kernel does). Resolves to a note for the user and a line to run
   * next (the reload of the model when the session had to be reset), if any.
   */
  interrupt(): Promise<Interruption>;
  /** The status line now. */
  status(): string;
  /** Progress and out-of-line output. */
  listeners: ShellListeners;
  /** Releases resources (the worker). */
  close(): Promise<void>;
}

/** The busy label of a line: `step 3`, `load zoo:mlp`, or `evaluating` for code. */
export function lineLabel(line: string): string {
  const t = line.trim();
  const m = /^%?([A-Za-z_][\w-]*)(?:\s+(.*))?$/s.exec(t);
  if (!m || t.includes('\n') || /[().=[\]{}+*/`'"]/.test(m[1] + (m[2] ?? '').slice(0, 1))) return 'evaluating';
  return m[2] ? `${m[1]} ${m[2]}` : m[1];
}

/** A ReplShell in this thread. */
export class LocalEngine implements ReplEngine {
  constructor(readonly shell: ReplShell) {}

  get listeners(): ShellListeners {
    return this.shell.listeners;
  }

  set listeners(l: ShellListeners) {
    this.shell.listeners = l;
  }

  async execute(line: string, opts: RenderOptions): Promise<EngineResult> {
    const r = await this.shell.execute(line, opts);
    return { ...r, status: this.status() };
  }

  async complete(text: string): Promise<Completion> {
    return this.shell.complete(text);
  }

  needsMore(text: string): Promise<boolean> {
    return this.shell.needsMore(text);
  }

  async interrupt(): Promise<Interruption> {
    this.shell.interrupt();
    return {};
  }

  status(): string {
    return statusText(this.shell.session);
  }

  async close(): Promise<void> {}
}
