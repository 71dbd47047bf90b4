/**
 * Progress of long work (a backend's compile) on the terminal, drawn with `ora`: one spinner line on
 * stderr with the step's name and its percentage, redrawn on every report and cleared when the work
 * is done. Only on a TTY: when stderr is a pipe or a file (CI, `2> log`), `terminalProgress` returns
 * undefined and nothing is written, so logs stay clean. Commands take `--quiet` to turn it off on a
 * terminal too.
 */
import ora from 'ora';

/** A progress line: `update` as `PrepareOptions.onProgress` wants it, `done` clears the line. */
export interface TerminalProgress {
  readonly update: (what: string, fraction: number) => void;
  readonly done: () => void;
}

/** The stream a progress line is drawn on: a TTY write stream (a fake one in tests). */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

/** The text of one report: `compiling 50%`. */
export function progressText(what: string, fraction: number): string {
  return `${what} ${Math.round(Math.min(1, Math.max(0, fraction)) * 100)}%`;
}

/**
 * A progress line on `stream` when it is a terminal with a known width, else undefined. The spinner turns every
 * `intervalMs` (ora's timer) and the text changes on every update; stdin is left alone (ora would
 * otherwise take it over to swallow keys, which the REPL and Ctrl-C handling need).
 */
export function terminalProgress(stream: ProgressStream, intervalMs = 100): TerminalProgress | undefined {
  // a terminal that reports no width (a pseudo-terminal nobody sized) would make ora clear lines forever
  if (!stream.isTTY || !stream.columns) return undefined;
  const spinner = ora({
    stream: stream as NodeJS.WritableStream, isEnabled: true, discardStdin: false, hideCursor: false,
    spinner: { interval: intervalMs, frames: ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'] },
  });
  let started = false;
  return {
    update(what, fraction) {
      spinner.text = progressText(what, fraction);
      if (!started) { spinner.start(); started = true; } else spinner.render();
    },
    done() {
      if (started) spinner.stop();
      started = false;
    },
  };
}
