/**
 * The prompt: a one-line editor with history and tab completion, built on ink's useInput (the editing
 * rules are the pure functions of repl/editor.ts).
 *
 * Keys. Enter submits; Tab completes the word left of the cursor (one candidate: replaced; several:
 * extended to their common prefix, or listed under the prompt when nothing can be added); Up/Down and
 * Ctrl-P/Ctrl-N walk the history (the draft being typed is kept); Left/Right, Home/End, Ctrl-A/Ctrl-E,
 * Ctrl-Left/Right and Alt-B/Alt-F move; Backspace deletes left (terminals send DEL, which ink reports as
 * `delete`); Ctrl-D deletes right, or leaves on an empty line; Ctrl-U/Ctrl-K/Ctrl-W kill to the start,
 * to the end, the word left; Ctrl-C interrupts running work, else clears the line (saying how to leave), and on an
 * empty line asks for a second Ctrl-C to leave; Ctrl-L clears the screen; Escape hides the candidate list.
 *
 * Pasted text (and keys sent faster than they are read, as tmux does) arrives as one chunk: it is
 * inserted character by character, with each newline submitting the line so far and each tab
 * completing, so a pasted script runs line by line.
 *
 * The editor state lives in a ref and a counter forces the redraw: several chunks can arrive before
 * React renders, and each must see the state the previous one left.
 */
import { useReducer, useRef, useState } from 'react';
import { Box, Text, useInput } from 'ink';
import type { History } from '../history.ts';
import type { Completion } from '../shell.ts';
import * as ed from '../editor.ts';

/** Props of the prompt. */
export interface PromptProps {
  /** The prompt sign, e.g. `kiln> `. */
  readonly prompt: string;
  readonly history: History;
  /** Completions for the text left of the cursor (applied if the line has not changed meanwhile). */
  complete(textBeforeCursor: string): Promise<Completion>;
  /** A line was entered (history is the caller's business). */
  onSubmit(line: string): void;
  /** Ctrl-D on an empty line, or Ctrl-C twice. */
  onExit(): void;
  /** Dim the prompt (work is running; typed lines are queued). */
  readonly busy?: boolean;
  /** Ctrl-C while busy: stop the running work. */
  onInterrupt?(): void;
  /** Ctrl-L: clear the screen. */
  onClear?(): void;
}

/** The prompt line with its candidate list and hints. */
export function Prompt(rendered: PromptProps) {
  // the key handler reads the latest props through a ref: ink re-subscribes it only after an effect,
  // and a key arriving in between must already see e.g. `busy`
  const latest = useRef(rendered);
  latest.current = rendered;
  const line = useRef<ed.LineState>(ed.EMPTY_LINE);
  const [candidates, setCandidates] = useState<readonly string[]>([]);
  const [hint, setHint] = useState('');
  const armedExit = useRef(false);
  const [, redraw] = useReducer((n: number) => n + 1, 0);

  const set = (l: ed.LineState) => {
    line.current = l;
    redraw();
  };
  const submit = () => {
    const text = line.current.text;
    set(ed.EMPTY_LINE);
    setCandidates([]);
    latest.current.onSubmit(text);
  };
  const tab = () => {
    const l = line.current;
    void latest.current.complete(l.text.slice(0, l.cursor)).then((c) => {
      if (line.current !== l) return; // typed on meanwhile: the completion is stale
      const r = ed.applyCompletion(l, c);
      set(r.line);
      setCandidates(r.list ? c.candidates : []);
    }, () => {});
  };
  /** A chunk of several characters: printable runs are inserted, control characters act as keys. */
  const typeText = (s: string) => {
    let run = '';
    const flush = () => {
      if (run) set(ed.insert(line.current, run));
      run = '';
    };
    for (let i = 0; i < s.length; i++) {
      const ch = s[i];
      if (ch >= ' ' && ch !== '\x7f') {
        run += ch;
        continue;
      }
      flush();
      if (ch === '\r' || ch === '\n') {
        if (ch === '\r' && s[i + 1] === '\n') i++;
        submit();
      } else if (ch === '\t') {
        tab();
      } else if (ch === '\x7f' || ch === '\b') {
        set(ed.deleteLeft(line.current));
      } else if (ch >= '\x01' && ch <= '\x1a') {
        control(String.fromCharCode(ch.charCodeAt(0) + 96));
      }
    }
    flush();
  };

  /** Ctrl + letter. */
  const control = (letter: string) => {
    const l = line.current;
    switch (letter) {
      case 'a': return set(ed.moveTo(l, 0));
      case 'e': return set(ed.moveTo(l, l.text.length));
      case 'b': return set(ed.move(l, -1));
      case 'f': return set(ed.move(l, 1));
      case 'u': return set(ed.killToStart(l));
      case 'k': return set(ed.killToEnd(l));
      case 'w': return set(ed.deleteWordLeft(l));
      case 'l': return latest.current.onClear?.();
      case 'p': return historyUp();
      case 'n': return historyDown();
      case 'd':
        if (l.text === '') return latest.current.onExit();
        return set(ed.deleteRight(l));
      case 'c':
        setCandidates([]);
        if (latest.current.busy && latest.current.onInterrupt) {
          latest.current.onInterrupt();
          return set(ed.EMPTY_LINE);
        }
        if (l.text !== '') {
          setHint('(line cleared; exit or Ctrl-D leaves)');
          return set(ed.EMPTY_LINE);
        }
        if (armedExit.current) return latest.current.onExit();
        armedExit.current = true;
        return setHint('(press Ctrl-C again, Ctrl-D or type exit to leave)');
      default:
    }
  };
  const historyUp = () => {
    const v = latest.current.history.up(line.current.text);
    if (v !== undefined) set(ed.lineOf(v));
  };
  const historyDown = () => {
    const v = latest.current.history.down();
    if (v !== undefined) set(ed.lineOf(v));
  };

  useInput((input, key) => {
    const l = line.current;
    if (!(key.ctrl && input === 'c')) armedExit.current = false;
    if (hint) setHint('');
    if (key.return) return submit();
    if (key.tab) return tab();
    if (key.escape) return setCandidates([]);
    if (key.upArrow) return historyUp();
    if (key.downArrow) return historyDown();
    if (key.leftArrow) return set(key.ctrl || key.meta ? ed.moveTo(l, ed.wordLeft(l.text, l.cursor)) : ed.move(l, -1));
    if (key.rightArrow) return set(key.ctrl || key.meta ? ed.moveTo(l, ed.wordRight(l.text, l.cursor)) : ed.move(l, 1));
    if (key.home) return set(ed.moveTo(l, 0));
    if (key.end) return set(ed.moveTo(l, l.text.length));
    if (key.backspace || key.delete) return set(ed.deleteLeft(l));
    if (key.ctrl) return input.length === 1 ? control(input) : undefined;
    if (key.meta) {
      if (input === 'b') return set(ed.moveTo(l, ed.wordLeft(l.text, l.cursor)));
      if (input === 'f') return set(ed.moveTo(l, ed.wordRight(l.text, l.cursor)));
      return;
    }
    if (input) typeText(input);
  });

  const { text, cursor } = line.current;
  return (
    <Box flexDirection="column">
      <Text>
        <Text color={rendered.busy ? 'gray' : 'green'} bold>{rendered.prompt}</Text>
        <Text>{text.slice(0, cursor)}</Text>
        <Text inverse>{text[cursor] ?? ' '}</Text>
        <Text>{text.slice(cursor + 1)}</Text>
      </Text>
      {candidates.length > 0 && <Text dimColor>{formatCandidates(candidates)}</Text>}
      {hint !== '' && <Text dimColor>{hint}</Text>}
    </Box>
  );
}

/** The candidate list under the prompt (at most 60 shown). */
export function formatCandidates(list: readonly string[]): string {
  const shown = list.slice(0, 60).join('  ');
  return list.length > 60 ? `${shown}  … (${list.length - 60} more)` : shown;
}
