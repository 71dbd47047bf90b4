/**
 * The common layer of kiln's result tables: an Apache Arrow table with a title, rendered as aligned
 * terminal text or as an HTML <table>, and written as an Arrow IPC file that pandas, polars, DuckDB or
 * apache-arrow's own reader can open.
 *
 * Tables are built column by column from plain arrays (`buildTable`): each column names its Arrow type
 * (`i32`, `f64`, `bool`, `utf8`, `list<utf8>`), null where a value is unknown. The title travels in
 * the schema metadata under `kiln.title`. Rendering reads the Arrow columns back, so what is shown is
 * exactly what is stored: numbers right-aligned (integers as is, other floats with 4 significant
 * digits), lists joined with ", ", nulls blank; long cells are cut at `maxWidth` with "…", and rows
 * past `maxRows` are left out with a note saying how many. IPC files are written atomically (a
 * temporary file in the same folder, then a rename), so a reader never sees half a file.
 */
import {
  Bool, DataType, Field, Float64, Int32, List, Schema, Table, Utf8, tableToIPC, vectorFromArray, type Vector,
} from 'apache-arrow';
import { KilnError } from '../errors.ts';
import { writeFileAtomic } from '../files.ts';
import { escapeHTML } from '../ir/diff.ts';

/** The column types result tables use. */
export type ColumnType = 'i32' | 'f64' | 'bool' | 'utf8' | 'list<utf8>';

/** A plain cell value as read back from a table. */
export type Cell = number | string | boolean | string[] | null;

/** One column to build: name, type and values (null = unknown). */
export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
  readonly values: readonly (number | string | boolean | readonly string[] | null | undefined)[];
}

const TITLE_KEY = 'kiln.title';

function arrowType(t: ColumnType): DataType {
  switch (t) {
    case 'i32': return new Int32();
    case 'f64': return new Float64();
    case 'bool': return new Bool();
    case 'utf8': return new Utf8();
    case 'list<utf8>': return new List(new Field('item', new Utf8(), true));
  }
}

/** Builds a titled table from columns of equal length. */
export function buildTable(title: string, columns: readonly ColumnSpec[]): ResultTable {
  const n = columns[0]?.values.length ?? 0;
  const vectors: Record<string, Vector> = {};
  for (const c of columns) {
    if (c.values.length !== n) throw new Error(`column '${c.name}' has ${c.values.length} values, expected ${n}`);
    const values = c.values.map((v) => (v === undefined ? null : v));
    vectors[c.name] = vectorFromArray(values as unknown[], arrowType(c.type));
  }
  const plain = new Table(vectors);
  const schema = new Schema(plain.schema.fields, new Map([[TITLE_KEY, title]]));
  return new ResultTable(new Table(schema, plain.batches), title);
}

/** Options of the text and HTML renderings. */
export interface RenderOptions {
  /** Rows shown before the rest is summarised (default 50 for text, 200 for HTML). */
  readonly maxRows?: number;
  /** Longest cell shown in full, in characters (default 60 for text; HTML never cuts). */
  readonly maxWidth?: number;
}

/** An Arrow table with a title and its renderings. */
export class ResultTable {
  constructor(readonly table: Table, readonly title: string) {}

  /** Wraps a table read back from IPC, taking the title from its metadata. */
  static fromArrow(table: Table, title?: string): ResultTable {
    return new ResultTable(table, title ?? table.schema.metadata.get(TITLE_KEY) ?? '');
  }

  get numRows(): number {
    return this.table.numRows;
  }

  /** Column names, in order. */
  get columnNames(): string[] {
    return this.table.schema.fields.map((f) => f.name);
  }

  /** The values of one column as plain JavaScript values. */
  column(name: string): Cell[] {
    const v = this.table.getChild(name);
    if (!v) throw new KilnError(`table '${this.title}' has no column '${name}'; columns: ${this.columnNames.join(', ')}`);
    const out: Cell[] = [];
    for (let i = 0; i < v.length; i++) out.push(plainCell(v.get(i)));
    return out;
  }

  /** Every row as a plain object keyed by column name. */
  rows(): Record<string, Cell>[] {
    const cols = this.columnNames.map((n) => [n, this.column(n)] as const);
    return Array.from({ length: this.numRows }, (_, i) => Object.fromEntries(cols.map(([n, c]) => [n, c[i]])));
  }

  /** Aligned text for a terminal: a title line, a header, a rule, rows, and a note when rows were left out. */
  toText(opts: RenderOptions = {}): string {
    const maxRows = opts.maxRows ?? 50, maxWidth = opts.maxWidth ?? 60;
    const names = this.columnNames;
    const numeric = this.table.schema.fields.map((f) => DataType.isInt(f.type) || DataType.isFloat(f.type));
    const shown = Math.min(this.numRows, Math.max(0, maxRows));
    const cells = names.map((n) => this.column(n).slice(0, shown).map((c) => cut(formatCell(c), maxWidth)));
    const widths = names.map((n, k) => Math.max(n.length, ...cells[k].map((c) => c.length)));
    const line = (vals: string[]) => vals.map((v, k) => (numeric[k] ? v.padStart(widths[k]) : v.padEnd(widths[k])))
      .join('  ').trimEnd();
    const out: string[] = [];
    if (this.title) out.push(this.title);
    out.push(line(names), widths.map((w) => '-'.repeat(w)).join('  '));
    for (let i = 0; i < shown; i++) out.push(line(cells.map((c) => c[i])));
    if (shown < this.numRows) out.push(`… ${this.numRows - shown} more rows (${this.numRows} in all)`);
    return out.join('\n') + '\n';
  }

  /**
   * An HTML `<table class="kiln-table">` with the title as caption; numeric cells carry class `num`,
   * nulls class `null`; every text is escaped. Rows past `maxRows` are summarised in a `<tfoot>`.
   */
  toHTML(opts: RenderOptions = {}): string {
    const maxRows = opts.maxRows ?? 200;
    const fields = this.table.schema.fields;
    const numeric = fields.map((f) => DataType.isInt(f.type) || DataType.isFloat(f.type));
    const shown = Math.min(this.numRows, Math.max(0, maxRows));
    const cols = this.columnNames.map((n) => this.column(n));
    const out: string[] = ['<table class="kiln-table">'];
    if (this.title) out.push(`<caption>${escapeHTML(this.title)}</caption>`);
    out.push('<thead><tr>' + fields.map((f) => `<th>${escapeHTML(f.name)}</th>`).join('') + '</tr></thead>', '<tbody>');
    for (let i = 0; i < shown; i++) {
      out.push('<tr>' + cols.map((c, k) => {
        const v = c[i];
        const cls = v === null ? ' class="null"' : numeric[k] ? ' class="num"' : '';
        return `<td${cls}>${escapeHTML(formatCell(v))}</td>`;
      }).join('') + '</tr>');
    }
    out.push('</tbody>');
    if (shown < this.numRows) {
      out.push(`<tfoot><tr><td colspan="${fields.length}">… ${this.numRows - shown} more rows (${this.numRows} in all)</td></tr></tfoot>`);
    }
    out.push('</table>');
    return out.join('\n');
  }

  /** The table in the Arrow IPC file format. */
  toIPC(): Uint8Array {
    return tableToIPC(this.table, 'file');
  }

  /** Writes the IPC file atomically (compiler/files.ts: temporary file + rename); creates the folder if needed. */
  writeIPC(file: string): void {
    writeFileAtomic(file, this.toIPC(), { what: 'Arrow file', makeParents: true });
  }
}

/** Converts an Arrow cell (Vector for lists, bigint for 64-bit ints) to a plain value. */
function plainCell(v: unknown): Cell {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'object' && v !== null && 'toArray' in v) return Array.from((v as Vector).toArray() as Iterable<string>);
  return v as Cell;
}

/** Text of a cell: integers as is, other numbers with 4 significant digits, lists joined, null blank. */
export function formatCell(c: Cell): string {
  if (c === null) return '';
  if (Array.isArray(c)) return c.join(', ');
  if (typeof c === 'number') {
    if (Number.isInteger(c) || !Number.isFinite(c)) return String(c);
    const a = Math.abs(c);
    const r = Number(c.toPrecision(4));
    return a !== 0 && (a < 1e-3 || a >= 1e15) ? r.toExponential() : String(r);
  }
  return String(c);
}

function cut(s: string, width: number): string {
  return s.length > width ? s.slice(0, Math.max(1, width - 1)) + '…' : s;
}
