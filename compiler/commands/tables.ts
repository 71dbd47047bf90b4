/**
 * Table helpers of the commands: adding a column to a result table, and reading back the column
 * types of an existing table so a derived table keeps the same Arrow types.
 */
import { DataType } from 'apache-arrow';
import { buildTable, type ColumnSpec, type ColumnType, type ResultTable } from '../results/table.ts';

/** The result-table column type of an Arrow field type. */
export function columnTypeOf(t: DataType): ColumnType {
  if (DataType.isInt(t)) return 'i32';
  if (DataType.isFloat(t)) return 'f64';
  if (DataType.isBool(t)) return 'bool';
  if (DataType.isList(t)) return 'list<utf8>';
  return 'utf8';
}

/** The columns of a table as specs (values as plain JavaScript values). */
export function columnsOf(t: ResultTable): ColumnSpec[] {
  return t.table.schema.fields.map((f) => ({ name: f.name, type: columnTypeOf(f.type), values: t.column(f.name) }));
}

/** A copy of `t` with `column` inserted at position `at`, titled `title` (default: the same title). */
export function withColumn(t: ResultTable, column: ColumnSpec, at: number, title = t.title): ResultTable {
  const cols = columnsOf(t);
  cols.splice(at, 0, column);
  return buildTable(title, cols);
}

/** A copy of `t` with only the rows whose index `keep` returns true for. */
export function filterRows(t: ResultTable, keep: (row: number) => boolean, title = t.title): ResultTable {
  return buildTable(title, columnsOf(t).map((c) => ({ ...c, values: c.values.filter((_, i) => keep(i)) })));
}
