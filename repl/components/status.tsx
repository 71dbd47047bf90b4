/** The status line above the prompt (its text: repl/status.ts). */
import { Text } from 'ink';

/** The status line. */
export function StatusLine({ text }: { text: string }) {
  return <Text dimColor>{text}</Text>;
}
