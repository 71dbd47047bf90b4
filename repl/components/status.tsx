/** The status line above the prompt (its text: repl/status.ts), cut with … to the terminal's width. */
import { Text } from 'ink';

/** The status line. */
export function StatusLine({ text }: { text: string }) {
  return <Text dimColor wrap="truncate-end">{text}</Text>;
}
