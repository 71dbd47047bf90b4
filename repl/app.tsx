/**
 * The terminal REPL as an ink app: a transcript of sections (each input line with its rendered
 * output) in ink's <Static> area, then a live area with the busy line (spinner, label and progress
 * bar), the status line (model, target, step k/n, next pass) and the prompt.
 *
 * Running lines. A submitted line is recorded in the history and queued; the queue runs one line at a
 * time through the ReplEngine (repl/engine.ts; in a terminal the shell lives in a worker thread, so
 * the screen keeps drawing while a pass or a run computes), and lines typed or pasted meanwhile run
 * in order afterwards. TypeScript that is not complete (an open bracket, string or template)
 * continues on the next lines under a `...` prompt, until it completes or an empty line runs it as it
 * is. The busy line shows the running line's label, then whatever it reports through
 * CommandContext.progress (label and fraction). Ctrl-C while busy interrupts the line, busy code
 * included, keeping the session (see repl/worker-engine.ts). Output is rendered with colour (unless NO_COLOR is set) at the
 * terminal's width; a failing line shows its error in red and the REPL carries on. Output that
 * arrives outside any line (a background callback's console.log) gets its own transcript entry.
 *
 * Leaving: `exit`/`quit`, Ctrl-D on an empty line or Ctrl-C twice unmount the app; the caller's
 * `waitUntilExit()` then resolves.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { Box, Static, useApp, useStdout } from 'ink';
import type { History } from './history.ts';
import { lineLabel, type ReplEngine } from './engine.ts';
import { fold, foldNote } from './fold.ts';
import type { OutputItem } from './shell.ts';
import { Entry, type TranscriptEntry } from './components/entry.tsx';
import { Prompt } from './components/prompt.tsx';
import { Spinner } from './components/spinner.tsx';
import { StatusLine } from './components/status.tsx';

/** The prompt of a continuation line. */
export const CONTINUATION = '...';

/** Clears the screen and its scrollback and homes the cursor (what `clear` and Ctrl-L write). */
export const CLEAR_SCREEN = '\x1b[2J\x1b[3J\x1b[H';

/** Props of the REPL app. */
export interface AppProps {
  readonly engine: ReplEngine;
  readonly history: History;
  /** Text shown first (title and hints). */
  readonly banner?: string;
  /** Lines run at start, as if typed (e.g. `load zoo:resnet50`). */
  readonly initialLines?: readonly string[];
  /** Colour output (default: unless NO_COLOR is set). */
  readonly color?: boolean;
  /** Columns results are laid out for (default: the terminal's width at each line). */
  readonly width?: number;
  /** The prompt sign (default `kiln> `). */
  readonly prompt?: string;
  /** Milliseconds to wait before a line runs so the busy line is drawn (default 40, one frame at 30 fps). */
  readonly paintDelay?: number;
  /** Rows of output shown before the rest is folded behind `more` (default: the terminal's height less 6). */
  readonly pageRows?: number;
  /** Called when the user leaves. */
  onExit?(): void;
}

interface Busy {
  readonly label: string;
  readonly fraction?: number;
}

/** The REPL screen. */
export function App(props: AppProps) {
  const { engine, history } = props;
  const prompt = props.prompt ?? 'kiln> ';
  const color = props.color ?? !process.env.NO_COLOR;
  const paintDelay = props.paintDelay ?? 40;
  const { exit } = useApp();
  const { stdout, write: writeAbove } = useStdout();
  const [entries, setEntries] = useState<TranscriptEntry[]>(() =>
    props.banner ? [{ id: 0, output: [{ kind: 'print', text: props.banner }], ok: true }] : []);
  const [busy, setBusy] = useState<Busy | undefined>();
  const [status, setStatus] = useState(() => engine.status());
  const queue = useRef<string[]>([]);
  const continued = useRef<string[]>([]);
  const [continuing, setContinuing] = useState(false);
  const running = useRef(false);
  const cancelled = useRef(false);
  const nextId = useRef(1);
  const leaving = useRef(false);
  /** Set when leaving: the last frame is drawn without the busy line, then the app unmounts. */
  const [left, setLeft] = useState(false);
  /** What `more` shows: the folded rest of the last long output. */
  const folded = useRef<OutputItem[]>([]);

  const leave = useCallback(() => {
    if (leaving.current) return;
    leaving.current = true;
    setBusy(undefined);
    setLeft(true);
  }, []);
  useEffect(() => {
    if (!left) return;
    props.onExit?.();
    exit();
  }, [left]); // eslint-disable-line react-hooks/exhaustive-deps -- once, when leaving

  // written through ink, which erases its live area first and draws it again after
  const clearScreen = useCallback(() => writeAbove(CLEAR_SCREEN), [writeAbove]);
  const pageRows = () => props.pageRows ?? Math.max(5, (stdout.rows || 24) - 6);
  const columns = () => Math.max(20, stdout.columns || 100);
  /** The entry of a line's output, its first page when long (the rest goes behind `more`). */
  const foldedEntry = (input: string, output: readonly OutputItem[], ok: boolean, ms?: number) => {
    const f = fold(output, pageRows(), columns());
    if (f.restLines > 0) folded.current = f.rest;
    const note: OutputItem[] = f.restLines > 0 ? [{ kind: 'print', text: foldNote(f.restLines, pageRows()) }] : [];
    return { id: nextId.current++, input, output: [...f.shown, ...note], ok, ms };
  };
  /** `more` / `more all`: the next page of the folded output, or all of it. */
  const moreEntry = (input: string, all: boolean) => {
    const rest = folded.current;
    folded.current = [];
    if (rest.length === 0) return { id: nextId.current++, input, output: [{ kind: 'print' as const, text: 'nothing more to show: more continues a long output that was folded' }], ok: true };
    if (all) return { id: nextId.current++, input, output: rest, ok: true };
    return foldedEntry(input, rest, true);
  };

  const drain = useCallback(async () => {
    if (running.current) return;
    running.current = true;
    try {
      while (queue.current.length && !leaving.current) {
        const typed = queue.current.shift()!;
        // TypeScript left open (a bracket, string or template) continues on the next lines; an empty
        // line runs what was typed so far
        let line = typed;
        if (continued.current.length) {
          if (typed.trim() !== '') continued.current.push(typed);
          line = continued.current.join('\n');
          if (typed.trim() !== '' && await engine.needsMore(line)) continue;
          continued.current = [];
          setContinuing(false);
        } else if (typed.trim() !== '' && await engine.needsMore(typed)) {
          continued.current = [typed];
          setContinuing(true);
          continue;
        }
        if (line.trim() === '' || line.trim().startsWith('#')) {
          setEntries((e) => [...e, { id: nextId.current++, input: line, output: [], ok: true }]);
          continue;
        }
        setBusy({ label: lineLabel(line) });
        cancelled.current = false;
        await new Promise((r) => setTimeout(r, paintDelay));
        if (cancelled.current) { // Ctrl-C before the line started
          setEntries((e) => [...e, { id: nextId.current++, input: line, output: [{ kind: 'error', text: 'error: interrupted' }], ok: false }]);
          setBusy(undefined);
          continue;
        }
        const t0 = performance.now();
        const width = props.width ?? Math.max(40, (stdout.columns || 100) - 1);
        const result = await engine.execute(line, { color, width });
        const ms = performance.now() - t0;
        if (result.screen === 'clear') clearScreen();
        else {
          const entry = result.screen ? moreEntry(line, result.screen === 'more all') : foldedEntry(line, result.output, result.ok, ms);
          setEntries((e) => [...e, entry]);
        }
        setBusy(undefined);
        setStatus(result.status);
        if (result.exit) leave();
      }
    } finally {
      running.current = false;
    }
  }, [engine, color, paintDelay, stdout, leave, props.width, props.pageRows]);

  useEffect(() => {
    engine.listeners = {
      progress: (label, fraction) => {
        if (running.current) setBusy({ label, fraction });
      },
      print: (text) => setEntries((e) => [...e, { id: nextId.current++, output: [{ kind: 'print', text }], ok: true }]),
    };
    if (props.initialLines?.length) {
      queue.current.push(...props.initialLines);
      void drain();
    }
    return () => {
      engine.listeners = {};
    };
  }, []); // eslint-disable-line react-hooks/exhaustive-deps -- once, at mount

  const submit = (line: string) => {
    history.add(line);
    queue.current.push(line);
    void drain();
  };

  return (
    <Box flexDirection="column">
      <Static items={entries}>
        {(entry) => <Entry key={entry.id} entry={entry} prompt={prompt} />}
      </Static>
      {busy && !left && <Spinner label={busy.label} fraction={busy.fraction} />}
      <StatusLine text={status} />
      <Prompt prompt={continuing ? CONTINUATION.padEnd(prompt.length) : prompt} history={history} busy={busy !== undefined}
        complete={(text) => engine.complete(text)} onSubmit={submit} onExit={leave} onClear={clearScreen}
        onInterrupt={() => {
          queue.current.length = 0;
          cancelled.current = true;
          setBusy((b) => b && (b.label.endsWith('interrupting…') ? b : { ...b, label: `${b.label}: interrupting…` }));
          void engine.interrupt().then(({ note, rerun }) => {
            if (note) setBusy((b) => b && { ...b, label: `${b.label}: ${note}` });
            if (rerun) {
              queue.current.unshift(rerun);
              void drain();
            }
          });
        }} />
    </Box>
  );
}
