/**
 * The `diff` table: a graph diff (compiler/ir/diff.ts) as rows — every node of either graph with its
 * kind of change and its printed line before and after — followed by the constants that were added,
 * removed or changed (their `node` is the constant's name, `what` says which is which).
 */
import type { GraphDiff } from '../ir/diff.ts';
import { buildTable, type ResultTable } from './table.ts';

/** Options of `diffTable`. */
export interface DiffTableOptions {
  /** Leave unchanged nodes out (default false). */
  readonly changesOnly?: boolean;
  readonly title?: string;
}

/**
 * Columns: node utf8, what utf8 (`node` | `constant`), kind utf8 (added | removed | changed |
 * unchanged), before utf8, after utf8 (null where absent), fields list<utf8> (what changed),
 * replaced_by utf8 (for a removed node, the node that took over its provenance), region_diff utf8 (for
 * a node whose regions changed, the line diff of its nested text; else null).
 */
export function diffTable(d: GraphDiff, opts: DiffTableOptions = {}): ResultTable {
  const nodes = opts.changesOnly ? d.nodes.filter((n) => n.kind !== 'unchanged') : d.nodes;
  const rows = [
    ...nodes.map((n) => ({ node: n.node, what: 'node', kind: n.kind, before: n.before, after: n.after, fields: n.fields, replacedBy: n.replacedBy, regionDiff: n.regionDiff })),
    ...d.constants.map((c) => ({ node: c.name, what: 'constant', kind: c.kind, before: c.before, after: c.after, fields: [] as string[], replacedBy: undefined, regionDiff: undefined })),
  ];
  return buildTable(opts.title ?? `diff ${d.a.name} → ${d.b.name}`, [
    { name: 'node', type: 'utf8', values: rows.map((r) => r.node) },
    { name: 'what', type: 'utf8', values: rows.map((r) => r.what) },
    { name: 'kind', type: 'utf8', values: rows.map((r) => r.kind) },
    { name: 'before', type: 'utf8', values: rows.map((r) => r.before ?? null) },
    { name: 'after', type: 'utf8', values: rows.map((r) => r.after ?? null) },
    { name: 'fields', type: 'list<utf8>', values: rows.map((r) => r.fields) },
    { name: 'replaced_by', type: 'utf8', values: rows.map((r) => r.replacedBy ?? null) },
    { name: 'region_diff', type: 'utf8', values: rows.map((r) => r.regionDiff ?? null) },
  ]);
}
