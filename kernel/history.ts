/**
 * The kernel's input history (history_request): every stored cell as (session, line, input, output).
 *
 * Sessions are numbered: each kernel process is one session, numbered one past the highest in the
 * history file. With a file (default `$XDG_DATA_HOME/kiln/kernel-history.jsonl`, else
 * `~/.local/share/kiln/kernel-history.jsonl`; `KILN_KERNEL_HISTORY` overrides it, `off` or an empty
 * value keeps history in memory only) each entry is appended as one JSON line, so `tail` and `search`
 * reach back into earlier sessions; a file that cannot be read or written is ignored with one warning
 * on stderr and history stays in memory. Queries follow IPython's: `range` (session, start, stop; a
 * session of 0 or below is relative to the current one), `tail` (the last n), `search` (a glob with `*`
 * and `?` against the whole input; `unique` keeps the last occurrence of each input; n keeps the last n).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HistoryEntry, HistoryRequest } from './messages.ts';

/** One stored cell. */
export interface HistoryItem {
  readonly session: number;
  readonly line: number;
  readonly input: string;
  /** text/plain of the cell's execute_result, or null. */
  readonly output: string | null;
}

/** The default history file (see the module comment), or undefined when history stays in memory. */
export function defaultHistoryFile(): string | undefined {
  const env = process.env.KILN_KERNEL_HISTORY;
  if (env !== undefined) return env === '' || env === 'off' ? undefined : env;
  const base = process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(base, 'kiln', 'kernel-history.jsonl');
}

/** History of cells, in memory and optionally in a file. */
export class History {
  private readonly items: HistoryItem[] = [];
  /** This kernel's session number. */
  readonly session: number;
  private line = 0;

  constructor(private file?: string) {
    if (file) {
      try {
        const text = fs.readFileSync(file, 'utf8');
        for (const l of text.split('\n')) {
          if (!l.trim()) continue;
          try {
            const o = JSON.parse(l) as HistoryItem;
            if (Number.isInteger(o.session) && Number.isInteger(o.line) && typeof o.input === 'string') this.items.push(o);
          } catch { /* a torn line from a crash: skip it */ }
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.disableFile(e);
      }
    }
    this.session = this.items.reduce((m, it) => Math.max(m, it.session), 0) + 1;
  }

  private disableFile(e: unknown): void {
    process.stderr.write(`kiln kernel: history file ${this.file} not usable (${(e as Error).message}); keeping history in memory\n`);
    this.file = undefined;
  }

  /** Records a stored cell; returns its line number in this session. */
  add(input: string, output: string | null): number {
    const item: HistoryItem = { session: this.session, line: ++this.line, input, output };
    this.items.push(item);
    if (this.file) {
      try {
        fs.mkdirSync(path.dirname(this.file), { recursive: true });
        fs.appendFileSync(this.file, JSON.stringify(item) + '\n');
      } catch (e) {
        this.disableFile(e);
      }
    }
    return item.line;
  }

  /** Entries answering a history_request. */
  query(req: HistoryRequest): HistoryEntry[] {
    let found: HistoryItem[];
    switch (req.hist_access_type) {
      case 'range': {
        const s = req.session === undefined || req.session <= 0 ? this.session + (req.session ?? 0) : req.session;
        const start = req.start ?? 1;
        found = this.items.filter((it) => it.session === s && it.line >= start && (req.stop === undefined || req.stop === null || it.line < req.stop));
        break;
      }
      case 'tail':
        found = this.items.slice(-(req.n ?? 10));
        break;
      case 'search': {
        const re = globToRegExp(req.pattern ?? '*');
        found = this.items.filter((it) => re.test(it.input));
        if (req.unique) {
          const seen = new Set<string>();
          found = found.reverse().filter((it) => !seen.has(it.input) && (seen.add(it.input), true)).reverse();
        }
        if (req.n !== undefined && req.n !== null) found = found.slice(-req.n);
        break;
      }
      default:
        found = [];
    }
    return found.map((it) => (req.output ? [it.session, it.line, [it.input, it.output]] : [it.session, it.line, it.input]));
  }
}

/** A glob (`*` any text, `?` one character) as a regular expression matching the whole string. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[\\s\\S]*').replace(/\?/g, '[\\s\\S]');
  return new RegExp(`^${body}$`);
}
