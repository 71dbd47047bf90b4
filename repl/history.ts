/**
 * The REPL's input history: the lines the user entered, kept across runs in a plain text file (one
 * entry a line, oldest first) in the user's config folder, and the up/down navigation over them.
 *
 * File. `historyPath()` is `$KILN_HISTORY_FILE` when set (tests point it at a temporary file), else
 * `$XDG_CONFIG_HOME/kiln/history`, else `~/.config/kiln/history`. Loading a missing or unreadable file
 * gives an empty history; every accepted line is appended at once (so a crash loses nothing), and the
 * file is rewritten to its last `limit` entries when it grows past twice that. Entries never contain
 * newlines (the line editor has none); a line equal to the previous entry is not stored again, and
 * lines starting with a space are not stored at all (the shell convention for "don't remember this").
 *
 * Navigation. `History` keeps a cursor one past the newest entry ("the line being edited"). `up`
 * moves to older entries, `down` to newer ones and finally back to the draft the user was typing
 * before pressing up, which is remembered so it is not lost.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../compiler/files.ts';

/** Where the history file lives (see the module header). */
export function historyPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KILN_HISTORY_FILE) return env.KILN_HISTORY_FILE;
  const config = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(config, 'kiln', 'history');
}

/** Input history with a navigation cursor, optionally backed by a file. */
export class History {
  private entries: string[];
  private cursor: number;
  private draft = '';
  /** Lines in the file (read at load, counted on append), to know when to compact it. */
  private fileLines: number;

  /**
   * @param file history file; undefined keeps the history in memory only
   * @param limit entries kept (older ones are dropped when the file is compacted)
   */
  constructor(private readonly file: string | undefined, private readonly limit = 1000, initial: readonly string[] = []) {
    const stored = file ? readLines(file) : [];
    this.fileLines = stored.length;
    this.entries = [...initial, ...stored].slice(-limit);
    this.cursor = this.entries.length;
  }

  /** Every entry, oldest first. */
  get all(): readonly string[] {
    return this.entries;
  }

  /** Records an accepted line and resets the cursor to the new line. */
  add(line: string): void {
    this.cursor = this.entries.length;
    this.draft = '';
    if (line.trim() === '' || line.startsWith(' ') || line.includes('\n')) return;
    if (this.entries[this.entries.length - 1] === line) return;
    this.entries.push(line);
    if (this.entries.length > this.limit) this.entries = this.entries.slice(-this.limit);
    this.cursor = this.entries.length;
    if (!this.file) return;
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      fs.appendFileSync(this.file, line + '\n');
      this.fileLines++;
      if (this.fileLines > 2 * this.limit) {
        writeFileAtomic(this.file, this.entries.slice(-this.limit).join('\n') + '\n', { what: 'REPL history' });
        this.fileLines = Math.min(this.entries.length, this.limit);
      }
    } catch {
      // history is a convenience: an unwritable config folder must not break the REPL
    }
  }

  /** The previous (older) entry for the line being edited, or undefined at the oldest. */
  up(current: string): string | undefined {
    if (this.cursor === 0) return undefined;
    if (this.cursor === this.entries.length) this.draft = current;
    this.cursor--;
    return this.entries[this.cursor];
  }

  /** The next (newer) entry, the saved draft past the newest, or undefined when already there. */
  down(): string | undefined {
    if (this.cursor >= this.entries.length) return undefined;
    this.cursor++;
    return this.cursor === this.entries.length ? this.draft : this.entries[this.cursor];
  }
}

function readLines(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
  } catch {
    return [];
  }
}
