/**
 * The kernel's input history (history_request): every stored cell as (session, line, input). Inputs
 * only, as IPython keeps by default: outputs can be huge and are not history (a request with `output`
 * gets null for each).
 *
 * Sessions are numbered: each kernel process is one session, numbered one past the highest in the
 * history file. With a file (default `$XDG_DATA_HOME/kiln/kernel-history.jsonl`, else
 * `~/.local/share/kiln/kernel-history.jsonl`; `KILN_KERNEL_HISTORY` overrides it, `off` or an empty
 * value keeps history in memory only) each entry is appended as one JSON line, so `tail` and `search`
 * reach back into earlier sessions; a file that cannot be read or written is ignored with one warning
 * on stderr and history stays in memory. Queries follow IPython's: `range` (session, start, stop; a
 * session of 0 or below is relative to the current one), `tail` (the last n), `search` (a glob with `*`
 * and `?` against the whole input; `unique` keeps the last occurrence of each input; n keeps the last n).
 *
 * Bounded. At most `maxEntries` entries and `maxBytes` bytes (of their JSON lines) are kept, in memory
 * and in the file. When an append takes the file over either cap, the history is compacted to the
 * newest entries that fill three quarters of each cap (so compaction is rare, not on every append):
 * the kept lines are written to a temporary file in the same folder, which is then renamed over the
 * history file, so a crash midway leaves the old file whole. A file already over the caps is compacted
 * when it is loaded (only its last `maxBytes` are read). An input whose line is over a quarter of the
 * byte cap (1 MiB by default) is not kept: it still gets its line number.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HistoryEntry, HistoryRequest } from './messages.ts';
import { writeFileAtomic } from '../compiler/files.ts';

/** One stored cell. */
export interface HistoryItem {
  readonly session: number;
  readonly line: number;
  readonly input: string;
}

/** The caps of a History. */
export interface HistoryLimits {
  /** Most entries kept (default 10,000). */
  readonly maxEntries: number;
  /** Most bytes of JSON lines kept (default 4 MiB). */
  readonly maxBytes: number;
}

/** The default caps. */
export const HISTORY_LIMITS: HistoryLimits = { maxEntries: 10_000, maxBytes: 4 * 1024 * 1024 };

/** A kept entry and the size of its line in the file. */
interface Kept {
  readonly item: HistoryItem;
  readonly bytes: number;
}

const lineOf = (item: HistoryItem): string => JSON.stringify({ session: item.session, line: item.line, input: item.input }) + '\n';

/** The default history file (see the module comment), or undefined when history stays in memory. */
export function defaultHistoryFile(): string | undefined {
  const env = process.env.KILN_KERNEL_HISTORY;
  if (env !== undefined) return env === '' || env === 'off' ? undefined : env;
  const base = process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(base, 'kiln', 'kernel-history.jsonl');
}

/** History of cells, in memory and optionally in a file; bounded (see the module comment). */
export class History {
  private kept: Kept[] = [];
  private bytes = 0;
  /** This kernel's session number. */
  readonly session: number;
  private line = 0;
  readonly limits: HistoryLimits;

  constructor(private file?: string, limits: Partial<HistoryLimits> = {}) {
    this.limits = { ...HISTORY_LIMITS, ...limits };
    for (const [k, v] of Object.entries(this.limits)) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`history ${k} must be a positive integer, got ${v}`);
    }
    let session = 0;
    let skipped = false;
    if (file) {
      try {
        const { text, skipped: s } = readTail(file, this.limits.maxBytes);
        skipped = s;
        for (const l of text.split('\n')) {
          if (!l.trim()) continue;
          try {
            const o = JSON.parse(l) as HistoryItem;
            if (!Number.isInteger(o.session) || !Number.isInteger(o.line) || typeof o.input !== 'string') continue;
            session = Math.max(session, o.session);
            const item = { session: o.session, line: o.line, input: o.input };
            if (this.fits(item)) this.keep(item);
            else skipped = true;
          } catch { /* a torn line from a crash: skip it */ }
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.disableFile(e);
      }
    }
    this.session = session + 1;
    if (skipped || this.overCaps()) this.compact();
  }

  /** The number of entries kept. */
  get size(): number {
    return this.kept.length;
  }

  /** Whether an entry is small enough to keep (a quarter of the byte cap at most). */
  private fits(item: HistoryItem): boolean {
    return Buffer.byteLength(lineOf(item)) <= Math.floor(this.limits.maxBytes / 4);
  }

  private keep(item: HistoryItem): Kept {
    const k = { item, bytes: Buffer.byteLength(lineOf(item)) };
    this.kept.push(k);
    this.bytes += k.bytes;
    return k;
  }

  private overCaps(): boolean {
    return this.kept.length > this.limits.maxEntries || this.bytes > this.limits.maxBytes;
  }

  /** Keeps the newest entries within 3/4 of each cap and rewrites the file with them (temp file + rename). */
  private compact(): void {
    const maxEntries = Math.max(1, Math.floor(this.limits.maxEntries * 0.75)), maxBytes = Math.floor(this.limits.maxBytes * 0.75);
    let n = 0, bytes = 0;
    for (let i = this.kept.length - 1; i >= 0; i--) {
      const b = this.kept[i].bytes;
      if (n + 1 > maxEntries || bytes + b > maxBytes) break;
      n++;
      bytes += b;
    }
    this.kept = this.kept.slice(this.kept.length - n);
    this.bytes = bytes;
    if (!this.file) return;
    try {
      // the file exists (appended with mode 0600), so the rewrite keeps its permissions
      writeFileAtomic(this.file, this.kept.map((k) => lineOf(k.item)).join(''), { what: 'kernel history' });
    } catch (e) {
      this.disableFile(e);
    }
  }

  private disableFile(e: unknown): void {
    process.stderr.write(`kiln kernel: history file ${this.file} not usable (${(e as Error).message}); keeping history in memory\n`);
    this.file = undefined;
  }

  /** Records a stored cell's input; returns its line number in this session. */
  add(input: string): number {
    const item: HistoryItem = { session: this.session, line: ++this.line, input };
    if (!this.fits(item)) return item.line;
    this.keep(item);
    if (this.file) {
      try {
        fs.mkdirSync(path.dirname(this.file), { recursive: true });
        fs.appendFileSync(this.file, lineOf(item), { mode: 0o600 });
      } catch (e) {
        this.disableFile(e);
      }
    }
    if (this.overCaps()) this.compact();
    return item.line;
  }

  /** Entries answering a history_request. */
  query(req: HistoryRequest): HistoryEntry[] {
    const items = this.kept.map((k) => k.item);
    let found: HistoryItem[];
    switch (req.hist_access_type) {
      case 'range': {
        const s = req.session === undefined || req.session <= 0 ? this.session + (req.session ?? 0) : req.session;
        const start = req.start ?? 1;
        found = items.filter((it) => it.session === s && it.line >= start && (req.stop === undefined || req.stop === null || it.line < req.stop));
        break;
      }
      case 'tail':
        found = items.slice(-(req.n ?? 10));
        break;
      case 'search': {
        const re = globToRegExp(req.pattern ?? '*');
        found = items.filter((it) => re.test(it.input));
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
    return found.map((it) => (req.output ? [it.session, it.line, [it.input, null]] : [it.session, it.line, it.input]));
  }
}

/** The last `maxBytes` of `file` as text, from its first whole line; `skipped`: something before was left out. */
function readTail(file: string, maxBytes: number): { text: string; skipped: boolean } {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK); // a FIFO must not block
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new Error('not a regular file');
    const size = st.size;
    if (size <= maxBytes) return { text: fs.readFileSync(fd, 'utf8'), skipped: false };
    const buf = Buffer.alloc(maxBytes);
    const n = fs.readSync(fd, buf, 0, maxBytes, size - maxBytes);
    const text = buf.subarray(0, n).toString('utf8');
    return { text: text.slice(text.indexOf('\n') + 1), skipped: true };
  } finally {
    fs.closeSync(fd);
  }
}

/** A glob (`*` any text, `?` one character) as a regular expression matching the whole string. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[\\s\\S]*').replace(/\?/g, '[\\s\\S]');
  return new RegExp(`^${body}$`);
}
