/**
 * Folding long output for the terminal app: a line's output longer than a screenful (a 600-line
 * `diff`, the IR of resnet50) shows its first page, then a note saying how many lines are left and
 * how to see them (`more`: the next page, `more all`: the rest). What is left is kept until the next
 * folded output replaces it. Lines are counted as the terminal shows them: a line wider than the
 * screen counts for as many rows as it wraps to. Piped mode never folds (repl/plain.ts prints all).
 */
import type { OutputItem } from './shell.ts';

/** Output split into what is shown now and what `more` shows later. */
export interface Folded {
  readonly shown: OutputItem[];
  /** The lines not shown, in order (empty when everything fits). */
  readonly rest: OutputItem[];
  /** Number of text lines in `rest`. */
  readonly restLines: number;
}

const ANSI = /\x1b\[[0-9;]*m/g;

/** Rows a line of text takes on a screen `width` columns wide (at least 1). */
export function rowsOf(line: string, width: number): number {
  const cells = [...line.replace(ANSI, '')].length;
  return Math.max(1, Math.ceil(cells / Math.max(1, width)));
}

/** Lines of the output items, each with its kind. */
function lines(items: readonly OutputItem[]): OutputItem[] {
  return items.flatMap((o) => o.text.split('\n').map((text) => ({ kind: o.kind, text })));
}

/** Joins consecutive lines of one kind back into items. */
function items(list: readonly OutputItem[]): OutputItem[] {
  const out: { kind: OutputItem['kind']; text: string }[] = [];
  for (const l of list) {
    const last = out[out.length - 1];
    if (last && last.kind === l.kind) last.text += `\n${l.text}`;
    else out.push({ kind: l.kind, text: l.text });
  }
  return out;
}

/**
 * Splits `output` after `rows` screen rows (`width` columns wide). Output that fits, or exceeds the
 * page by a few lines only (not worth a `more`), is shown whole.
 */
export function fold(output: readonly OutputItem[], rows: number, width: number): Folded {
  const all = lines(output);
  const page = Math.max(1, rows);
  let used = 0;
  let k = 0;
  for (; k < all.length; k++) {
    const r = rowsOf(all[k].text, width);
    if (used + r > page) break;
    used += r;
  }
  if (all.length - k <= 2) return { shown: [...output], rest: [], restLines: 0 };
  return { shown: items(all.slice(0, k)), rest: items(all.slice(k)), restLines: all.length - k };
}

/** The note under a folded page. */
export function foldNote(restLines: number, pageRows: number): string {
  const next = Math.min(restLines, pageRows);
  return restLines <= pageRows
    ? `… ${restLines} more line${restLines === 1 ? '' : 's'}: type more to show ${restLines === 1 ? 'it' : 'them'}`
    : `… ${restLines} more lines: type more for the next ${next}, more all for all of them`;
}
