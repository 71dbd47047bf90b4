/**
 * The terminal REPL as an ink app: a transcript of sections (each input line with its rendered
 * output) in ink's <Static> area, then a live area with the busy line (spinner, label and progress
 * bar), the status line (model, target, step k/n, next pass) and the prompt.
 *
 * Running lines. A submitted line is recorded in the history and queued; the queue runs one line at a
 * time through the ReplShell, so lines typed or pasted while a command works run in order afterwards.
 * TypeScript that is not complete (an open bracket, string or template) continues on the next lines
 * under a `...` prompt, until it completes or an empty line runs it as it is.
 * Before a line runs, the app waits one frame so the spinner is on screen: commands drive the Session
 * synchronously (a pass, the numeric check) and the screen cannot change while they compute, but the
 * busy line says what is going on; progress reported through CommandContext.progress updates it
 * whenever the work yields. Output is rendered with colour (unless NO_COLOR is set) at the terminal's
 * width. A failing line shows its error in red and the REPL carries on.
 *
 * Leaving: `exit`/`quit`, Ctrl-D on an empty line or Ctrl-C twice unmount the app; the caller's
 * `waitUntilExit()` then resolves.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { Box, Static, Text, useApp, useStdout } from 'ink';
import type { History } from './history.ts';
import type { ReplShell } from './shell.ts';
import { Entry, type TranscriptEntry } from './components/entry.tsx';
import { Prompt } from './components/prompt.tsx';
import { Spinner } from './components/spinner.tsx';
import { StatusLine } from './components/status.tsx';

/** The prompt of a continuation line. */
export const CONTINUATION = '...';

/** Props of the REPL app. */
export interface AppProps {
  readonly shell: ReplShell;
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
  /** Called when the user leaves. */
  onExit?(): void;
}

interface Busy {
  readonly label: string;
  readonly fraction?: number;
}

/** The REPL screen. */
export function App(props: AppProps) {
  const { shell, history } = props;
  const prompt = props.prompt ?? 'kiln> ';
  const color = props.color ?? !process.env.NO_COLOR;
  const paintDelay = props.paintDelay ?? 40;
  const { exit } = useApp();
  const { stdout } = useStdout();
  const [entries, setEntries] = useState<TranscriptEntry[]>(() =>
    props.banner ? [{ id: 0, output: [{ kind: 'print', text: props.banner }], ok: true }] : []);
  const [busy, setBusy] = useState<Busy | undefined>();
  const [, setSessionTick] = useState(0);
  const queue = useRef<string[]>([]);
  const continued = useRef<string[]>([]);
  const [continuing, setContinuing] = useState(false);
  const running = useRef(false);
  const cancelled = useRef(false);
  const nextId = useRef(1);
  const leaving = useRef(false);

  const leave = useCallback(() => {
    if (leaving.current) return;
    leaving.current = true;
    props.onExit?.();
    exit();
  }, [exit, props.onExit]);

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
          if (typed.trim() !== '' && await shell.needsMore(line)) continue;
          continued.current = [];
          setContinuing(false);
        } else if (await shell.needsMore(typed)) {
          continued.current = [typed];
          setContinuing(true);
          continue;
        }
        const parsed = shell.parse(line);
        if (parsed.kind === 'empty') {
          setEntries((e) => [...e, { id: nextId.current++, input: line, output: [], ok: true }]);
          continue;
        }
        setBusy({ label: parsed.kind === 'command' ? `${parsed.name} ${parsed.args}`.trim() : 'evaluating' });
        cancelled.current = false;
        await new Promise((r) => setTimeout(r, paintDelay));
        if (cancelled.current) { // Ctrl-C before the line started
          setEntries((e) => [...e, { id: nextId.current++, input: line, output: [{ kind: 'error', text: 'error: interrupted' }], ok: false }]);
          setBusy(undefined);
          continue;
        }
        const t0 = performance.now();
        const width = props.width ?? Math.max(40, (stdout.columns || 100) - 1);
        const result = await shell.execute(line, { color, width });
        const ms = performance.now() - t0;
        setEntries((e) => [...e, { id: nextId.current++, input: line, output: result.output, ok: result.ok, ms }]);
        setBusy(undefined);
        setSessionTick((n) => n + 1);
        if (result.exit) leave();
      }
    } finally {
      running.current = false;
    }
  }, [shell, color, paintDelay, stdout, leave, props.width]);

  useEffect(() => {
    shell.listeners = { progress: (label, fraction) => setBusy({ label, fraction }) };
    if (props.initialLines?.length) {
      queue.current.push(...props.initialLines);
      void drain();
    }
    return () => {
      shell.listeners = {};
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
      {busy && <Spinner label={busy.label} fraction={busy.fraction} />}
      <StatusLine session={shell.session} />
      <Prompt prompt={continuing ? CONTINUATION.padEnd(prompt.length) : prompt} history={history} busy={busy !== undefined}
        complete={(text) => shell.complete(text)} onSubmit={submit} onExit={leave}
        onInterrupt={() => {
          queue.current.length = 0;
          cancelled.current = true;
          if (shell.interrupt()) setBusy((b) => b && { ...b, label: `${b.label} (interrupting…)` });
        }} />
    </Box>
  );
}
