/**
 * The prompt's line editing as pure functions over `{text, cursor}`, so the keys' behaviour is tested
 * without a screen: insert, delete left/right, cursor moves by character and word, kill to start/end,
 * delete the word left (readline's Ctrl-W), and applying a completion.
 *
 * Completion (`applyCompletion`): with one candidate the word is replaced by it and a space follows,
 * unless the candidate ends in a separator (`/`, `,`, `:`, `=`) or completes TypeScript (the rest of
 * a word the cursor sits in is dropped when the candidate ends with it: `di|ff` completes to `diff`);
 * with several, the word is extended to their longest common prefix, and the caller lists the
 * candidates when nothing was added.
 */
import { commonPrefix, type Completion } from './shell.ts';

/** The edited line and the cursor (an index into text, 0..text.length). */
export interface LineState {
  readonly text: string;
  readonly cursor: number;
}

export const EMPTY_LINE: LineState = { text: '', cursor: 0 };

/** The line with `s` typed at the cursor. */
export function insert(l: LineState, s: string): LineState {
  return { text: l.text.slice(0, l.cursor) + s + l.text.slice(l.cursor), cursor: l.cursor + s.length };
}

/** Backspace: deletes the character left of the cursor. */
export function deleteLeft(l: LineState): LineState {
  if (l.cursor === 0) return l;
  return { text: l.text.slice(0, l.cursor - 1) + l.text.slice(l.cursor), cursor: l.cursor - 1 };
}

/** Delete: deletes the character under the cursor. */
export function deleteRight(l: LineState): LineState {
  if (l.cursor >= l.text.length) return l;
  return { text: l.text.slice(0, l.cursor) + l.text.slice(l.cursor + 1), cursor: l.cursor };
}

/** Moves the cursor by `delta` characters, clamped to the line. */
export function move(l: LineState, delta: number): LineState {
  return { text: l.text, cursor: Math.max(0, Math.min(l.text.length, l.cursor + delta)) };
}

/** Moves the cursor to `cursor` (clamped). */
export function moveTo(l: LineState, cursor: number): LineState {
  return move({ text: l.text, cursor: 0 }, cursor);
}

/** Index of the start of the word left of `cursor` (whitespace and then non-whitespace skipped). */
export function wordLeft(text: string, cursor: number): number {
  let i = cursor;
  while (i > 0 && /\s/.test(text[i - 1])) i--;
  while (i > 0 && !/\s/.test(text[i - 1])) i--;
  return i;
}

/** Index just past the word right of `cursor`. */
export function wordRight(text: string, cursor: number): number {
  let i = cursor;
  while (i < text.length && /\s/.test(text[i])) i++;
  while (i < text.length && !/\s/.test(text[i])) i++;
  return i;
}

/** Ctrl-W: deletes from the start of the word left of the cursor to the cursor. */
export function deleteWordLeft(l: LineState): LineState {
  const from = wordLeft(l.text, l.cursor);
  return { text: l.text.slice(0, from) + l.text.slice(l.cursor), cursor: from };
}

/** Ctrl-U: deletes everything left of the cursor. */
export function killToStart(l: LineState): LineState {
  return { text: l.text.slice(l.cursor), cursor: 0 };
}

/** Ctrl-K: deletes everything right of the cursor. */
export function killToEnd(l: LineState): LineState {
  return { text: l.text.slice(0, l.cursor), cursor: l.cursor };
}

/** A line showing `text` with the cursor at its end. */
export function lineOf(text: string): LineState {
  return { text, cursor: text.length };
}

/**
 * Applies a completion computed for `l.text.slice(0, l.cursor)`. Returns the new line and whether the
 * caller should list the candidates (several candidates and nothing could be added).
 */
export function applyCompletion(l: LineState, c: Completion): { line: LineState; list: boolean } {
  if (c.candidates.length === 0) return { line: l, list: false };
  const typed = l.text.slice(c.start, l.cursor);
  const after = l.text.slice(l.cursor);
  if (c.candidates.length === 1) {
    const word = c.candidates[0];
    // completing inside a word: the rest of the word is dropped when the candidate already ends with it
    const tail = /^\S*/.exec(after)![0];
    const rest = tail && word.endsWith(tail) ? after.slice(tail.length) : after;
    const space = c.code || /[/,:=]$/.test(word) || rest.startsWith(' ') ? '' : ' ';
    const text = l.text.slice(0, c.start) + word + space + rest;
    return { line: { text, cursor: c.start + word.length + space.length }, list: false };
  }
  const prefix = commonPrefix(c.candidates);
  if (prefix.length > typed.length && prefix.startsWith(typed)) {
    return { line: { text: l.text.slice(0, c.start) + prefix + after, cursor: c.start + prefix.length }, list: false };
  }
  return { line: l, list: true };
}
