/**
 * The kernel's own log lines (not a cell's output): what was dropped or ignored, and diagnostics.
 * `warn` lines always go to stderr, which Jupyter shows in its server log; `debug` lines only when the
 * environment variable KILN_KERNEL_DEBUG is set (to anything but '' or '0'). Tests pass their own
 * `KernelLog` to the server and the handler to see the lines.
 */

/** A log line of the kernel itself: `debug` is a diagnostic, `warn` something dropped, ignored or failed. */
export type KernelLog = (level: 'debug' | 'warn', text: string) => void;

/** The default log: stderr, prefixed `kiln kernel:`; debug lines only under KILN_KERNEL_DEBUG. */
export const stderrLog: KernelLog = (level, text) => {
  const debug = process.env.KILN_KERNEL_DEBUG;
  if (level === 'debug' && (!debug || debug === '0')) return;
  process.stderr.write(`kiln kernel${level === 'debug' ? ' [debug]' : ''}: ${text}\n`);
};
