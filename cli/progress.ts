/**
 * Progress of long work (a backend's compile) on the terminal: one line on stderr, redrawn in place
 * with a spinner, the step's name and its percentage, and erased when the work is done. Only on a
 * TTY: when stderr is a pipe or a file (CI, `2> log`), `terminalProgress` returns undefined and
 * nothing is written, so logs stay clean. Commands take `--quiet` to turn it off on a terminal too.
 */

/** A progress line: `update` as `PrepareOptions.onProgress` wants it, `done` erases the line. */
export interface TerminalProgress {
  readonly update: (what: string, fraction: number) => void;
  readonly done: () => void;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** The stream a progress line is drawn on: a TTY write stream (a fake one in tests). */
export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

/**
 * A progress line on `stream` when it is a terminal, else undefined. The spinner turns every
 * `intervalMs` (its timer is unref'd, so it never keeps the process alive) and on every update.
 */
export function terminalProgress(stream: ProgressStream, intervalMs = 100): TerminalProgress | undefined {
  if (!stream.isTTY) return undefined;
  let frame = 0, text = '', shown = false;
  const draw = () => {
    if (!text) return;
    const line = `${FRAMES[frame++ % FRAMES.length]} ${text}`.slice(0, Math.max(10, (stream.columns ?? 80) - 1));
    stream.write(`\r\x1b[2K${line}`);
    shown = true;
  };
  const timer = setInterval(draw, intervalMs);
  timer.unref?.();
  return {
    update(what, fraction) {
      text = `${what} ${Math.round(Math.min(1, Math.max(0, fraction)) * 100)}%`;
      draw();
    },
    done() {
      clearInterval(timer);
      if (shown) stream.write('\r\x1b[2K');
      shown = false;
    },
  };
}
