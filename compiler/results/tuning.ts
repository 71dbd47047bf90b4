/**
 * The tuning of a compiled program as an Arrow result table (the `tuning` command, `%tuning` in
 * notebooks): one row per candidate of every schedule choice a node's lowering made
 * (runtime/tune/tuner.ts `TuningReport`), so a user sees what was tried for each node, what each
 * candidate cost, which one runs, where that choice came from, and which candidates were not allowed
 * to win and why.
 */
import type { TuningReport } from '../runtime/tune/tuner.ts';
import { buildTable, type ResultTable } from './table.ts';

/** `mr=6 nr=32 kc=256`: a candidate's named integers in one cell. */
export function formatParams(params: Readonly<Record<string, number>>): string {
  return Object.entries(params).map(([k, v]) => `${k}=${v}`).join(' ');
}

/**
 * One row per (node, template, key, candidate). Columns: node utf8, template utf8, key utf8 (the
 * problem: its shape), candidate i32 (index in the lowering's list; 0 is its default), params utf8,
 * ms f64 (median of one call of the candidate's kernel on seeded inputs; null when not measured),
 * min_ms f64 (its fastest call: the winner has the smallest),
 * gflop_per_s f64 (the node's FLOPs over ms; null when either is unknown), chosen bool (the candidate
 * the program runs), source utf8 (`measured` now, from the `cache`, or the lowering's `default`),
 * excluded utf8 (why the candidate may not win; null when it may).
 */
export function tuningTable(report: TuningReport, title = `tuning (${report.mode}; ${report.measurements} candidate(s) measured)`): ResultTable {
  const r = report.rows;
  return buildTable(title, [
    { name: 'node', type: 'utf8', values: r.map((x) => x.node) },
    { name: 'template', type: 'utf8', values: r.map((x) => x.template) },
    { name: 'key', type: 'utf8', values: r.map((x) => x.key) },
    { name: 'candidate', type: 'i32', values: r.map((x) => x.candidate) },
    { name: 'params', type: 'utf8', values: r.map((x) => formatParams(x.params)) },
    { name: 'ms', type: 'f64', values: r.map((x) => x.ms) },
    { name: 'min_ms', type: 'f64', values: r.map((x) => x.minMs) },
    { name: 'gflop_per_s', type: 'f64', values: r.map((x) => x.gflops) },
    { name: 'chosen', type: 'bool', values: r.map((x) => x.chosen) },
    { name: 'source', type: 'utf8', values: r.map((x) => x.source) },
    { name: 'excluded', type: 'utf8', values: r.map((x) => x.excluded) },
  ]);
}
