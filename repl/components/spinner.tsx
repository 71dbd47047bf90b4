/**
 * The busy line shown while a command works: a braille spinner (its own small component: ora is not
 * a dependency and draws outside ink), the label of the current work and, when the work reports a
 * fraction through CommandContext.progress, a bar with a percentage. The spinner advances on a timer
 * only while mounted, so an idle REPL schedules nothing. A label too long for the line is cut with "…"
 * (the spinner and the bar keep their room).
 */
import { useEffect, useState } from 'react';
import { Box, Text } from 'ink';

/** Spinner frames (the common "dots" set). */
export const SPINNER_FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** A text progress bar of `width` cells for fraction in [0, 1]: `█████░░░░░ 50%`. */
export function progressBar(fraction: number, width = 20): string {
  const f = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.round(f * width);
  return '█'.repeat(full) + '░'.repeat(width - full) + ` ${Math.round(f * 100)}%`;
}

/** Props of the busy line. */
export interface SpinnerProps {
  readonly label: string;
  /** Known progress in [0, 1]; undefined shows only the spinner. */
  readonly fraction?: number;
  /** Milliseconds per frame (default 80). */
  readonly interval?: number;
}

/** A spinner with a label and an optional progress bar. */
export function Spinner({ label, fraction, interval = 80 }: SpinnerProps) {
  const [frame, setFrame] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setFrame((f) => (f + 1) % SPINNER_FRAMES.length), interval);
    return () => clearInterval(t);
  }, [interval]);
  return (
    <Box flexDirection="row">
      <Box flexShrink={0}><Text color="cyan">{SPINNER_FRAMES[frame] + ' '}</Text></Box>
      <Text wrap="truncate-end">{label}</Text>
      {fraction !== undefined && <Box flexShrink={0}><Text color="cyan">{'  ' + progressBar(fraction)}</Text></Box>}
    </Box>
  );
}
