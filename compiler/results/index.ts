/**
 * kiln's result tables (Apache Arrow): nodes, passes, diff, fusion decisions and fused nodes, each with
 * text and HTML renderings and Arrow IPC files. See table.ts for the common layer.
 */
export { ResultTable, buildTable, formatCell, type Cell, type ColumnSpec, type ColumnType, type RenderOptions } from './table.ts';
export { nodesTable, type StepSource } from './nodes.ts';
export { passesTable, decisionsTable, fusionsTable, fusionMapOf, formatOptions, type StepRow, type StepDecision } from './passes.ts';
export { diffTable, type DiffTableOptions } from './diff.ts';
