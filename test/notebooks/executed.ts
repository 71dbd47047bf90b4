/**
 * Reading executed notebooks (nbformat 4) in test/notebooks/notebooks.test.ts: `Executed` finds a
 * cell by its nbformat id and gives its outputs (rich bundles, the execute_result, all text, the
 * result's Arrow stream decoded with apache-arrow); helpers count HTML table rows, read Arrow columns,
 * list a folder's files, and read a report's headline table and what its manifest says it must hold.
 */
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { tableFromIPC, type Table } from 'apache-arrow';

/** One output of an executed notebook cell (nbformat 4). */
export interface Output {
  output_type: 'stream' | 'display_data' | 'execute_result' | 'error';
  name?: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
  ename?: string;
  evalue?: string;
}

export interface Cell {
  id: string;
  cell_type: string;
  source: string | string[];
  outputs?: Output[];
  execution_count?: number | null;
}

const join = (x: string | string[] | undefined) => (Array.isArray(x) ? x.join('') : x ?? '');

/** An executed notebook, with accessors for one cell's outputs. */
export class Executed {
  private readonly cells: Map<string, Cell>;
  constructor(readonly name: string, nb: { cells: Cell[] }) {
    this.cells = new Map(nb.cells.map((c) => [c.id, c]));
  }

  cell(id: string): Cell {
    const c = this.cells.get(id);
    assert.ok(c, `${this.name}: no cell '${id}'`);
    return c;
  }

  /** The rich outputs (display_data, execute_result) of a cell; the result is last. */
  bundles(id: string): Record<string, string>[] {
    return (this.cell(id).outputs ?? []).filter((o) => o.data)
      .map((o) => Object.fromEntries(Object.entries(o.data!).map(([k, v]) => [k, join(v)])));
  }

  /** The cell's execute_result bundle. */
  result(id: string): Record<string, string> {
    const r = (this.cell(id).outputs ?? []).find((o) => o.output_type === 'execute_result');
    assert.ok(r, `${this.name}: cell '${id}' has no result`);
    return Object.fromEntries(Object.entries(r.data!).map(([k, v]) => [k, join(v)]));
  }

  /** All text/plain of the cell (streams and bundles). */
  text(id: string): string {
    return (this.cell(id).outputs ?? []).map((o) => join(o.text) + join(o.data?.['text/plain'])).join('\n');
  }

  /** The cell result's Arrow table (decoded from application/vnd.apache.arrow.stream). */
  arrow(id: string): Table {
    const b64 = this.result(id)['application/vnd.apache.arrow.stream'];
    assert.ok(b64, `${this.name}: cell '${id}' result has no Arrow stream`);
    return tableFromIPC(Buffer.from(b64, 'base64'));
  }
}

/** Body rows of the first HTML table in `html` (`<tr` count minus the header row). */
export function htmlRows(html: string): number {
  const table = html.slice(html.indexOf('<table'), html.indexOf('</table>'));
  assert.ok(table.length > 0, 'no <table>');
  return (table.match(/<tr[\s>]/g) ?? []).length - 1;
}

/** Values of one Arrow column as JS values. */
export function column(t: Table, name: string): unknown[] {
  const c = t.getChild(name);
  assert.ok(c, `no column '${name}' in [${t.schema.fields.map((f) => f.name)}]`);
  return [...c];
}

/** Paths of every file under `dir`, relative to it, sorted. */
export function filesUnder(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath ?? e.path, e.name))).sort();
}

/** A row of a report's headline table (compiler/report/collect.ts). */
export interface HeadlineRow { metric: string; before: number; after: number; unit: string }

/** The headline rows (metric, before, after, unit) of a headline table's Arrow stream. */
export function headlineRows(t: Table): HeadlineRow[] {
  const metric = column(t, 'metric'), before = column(t, 'before'), after = column(t, 'after'), unit = column(t, 'unit');
  return metric.map((m, i) => ({ metric: String(m), before: Number(before[i]), after: Number(after[i]), unit: String(unit[i]) }));
}

/** What a report's headline must say, from its manifest: each backend's latency against the baseline, memory, nodes. */
export function expectedHeadline(m: any): HeadlineRow[] {
  const steps = m.steps as { nodes: number }[];
  return [
    ...m.backends.map((b: any) => ({ metric: `latency: ${b.backend} on the final graph vs ${m.baseline.backend} on the loaded model`, before: m.baseline.medianMs, after: b.medianMs, unit: 'ms' })),
    { metric: 'activation memory: naive (no reuse) vs planned peak', before: m.memory.naiveBytes, after: m.memory.peakBytes, unit: 'bytes' },
    { metric: 'nodes: loaded model vs after the pipeline', before: steps[0].nodes, after: steps[steps.length - 1].nodes, unit: 'nodes' },
  ];
}
