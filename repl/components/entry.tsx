/**
 * One section of the REPL transcript: the input line as typed (after the prompt sign) and what it
 * produced: notes, the rendered result (IR, coloured diffs, Arrow tables and charts arrive as terminal
 * text from the display layer, ANSI colours included) and errors in red. Sections are appended to
 * ink's <Static> area, so they scroll into the terminal's own scrollback and are drawn once.
 */
import { Box, Text } from 'ink';
import type { OutputItem } from '../shell.ts';

/** A finished input line and its output. */
export interface TranscriptEntry {
  readonly id: number;
  /** The input line (undefined for messages that are not the answer to a line, e.g. the banner). */
  readonly input?: string;
  readonly output: readonly OutputItem[];
  readonly ok: boolean;
  /** Milliseconds the line took (shown when long). */
  readonly ms?: number;
}

/** Renders one transcript section. */
export function Entry({ entry, prompt }: { entry: TranscriptEntry; prompt: string }) {
  return (
    <Box flexDirection="column" marginBottom={entry.output.length ? 1 : 0}>
      {entry.input !== undefined && entry.input.split('\n').map((line, i, all) => (
        <Text key={`in${i}`}>
          <Text color="green" bold>{i === 0 ? prompt : '...'.padEnd(prompt.length)}</Text>
          <Text>{line}</Text>
          {i === all.length - 1 && entry.ms !== undefined && entry.ms >= 1000
            && <Text dimColor>{`  (${(entry.ms / 1000).toFixed(1)} s)`}</Text>}
        </Text>
      ))}
      {entry.output.map((o, i) => (
        o.kind === 'error'
          ? <Text key={i} color="red">{o.text}</Text>
          : o.kind === 'print'
            ? <Text key={i} dimColor>{o.text}</Text>
            : <Text key={i}>{o.text}</Text>
      ))}
    </Box>
  );
}
