/**
 * The `passes`, `decisions` and `fusions` tables: what each pipeline step did and cost, every fusion
 * decision the passes recorded (fused or rejected, and why), and the fusion map (each fused node with
 * the original ONNX node names it came from).
 *
 * They are built from plain records — a Session's history steps or the PassManager's StepResults both
 * fit `StepRow` — so this module does not depend on either. Options print as in pipeline text
 * (`max-ops=8,allow=[Add,Mul]`, only those that differ from the pass's default when the pass is
 * registered, spelled as pipeline.ts prints them); numeric errors are null for steps where the check was off.
 */
import type { Decision, OptionValue } from '../passes/pass.ts';
import { findPass } from '../passes/pass.ts';
import { printOptionValue, sameValue } from '../passes/pipeline.ts';
import type { Graph } from '../ir/graph.ts';
import { buildTable, type ResultTable } from './table.ts';

/** What the passes table needs of a step (a Session step or a PassManager StepResult). */
export interface StepRow {
  readonly step: number;
  readonly pass: string;
  readonly options: Readonly<Record<string, OptionValue>>;
  readonly ms: number;
  readonly nodesBefore: number;
  readonly nodesAfter: number;
  readonly changed: boolean;
  readonly maxAbsError?: number;
  readonly maxRelError?: number;
  readonly firstDivergent?: string;
  readonly decisions?: readonly Decision[];
}

/** `k=v,...` for the options that differ from the registered pass's defaults (all of them otherwise). */
export function formatOptions(pass: string, options: Readonly<Record<string, OptionValue>>): string {
  const specs = findPass(pass)?.options ?? [];
  return Object.keys(options).sort()
    .filter((k) => { const s = specs.find((o) => o.name === k); return !s || !sameValue(s.default, options[k]); })
    .map((k) => `${k}=${printOptionValue(options[k])}`).join(',');
}

/**
 * One row per step. Columns: step i32, pass utf8, options utf8, ms f64, nodes_before i32,
 * nodes_after i32, changed bool, max_abs_error f64, max_rel_error f64, first_divergent utf8 (nulls
 * where the numeric check did not run or nothing diverged).
 */
export function passesTable(history: readonly StepRow[], title = 'passes'): ResultTable {
  return buildTable(title, [
    { name: 'step', type: 'i32', values: history.map((s) => s.step) },
    { name: 'pass', type: 'utf8', values: history.map((s) => s.pass) },
    { name: 'options', type: 'utf8', values: history.map((s) => formatOptions(s.pass, s.options)) },
    { name: 'ms', type: 'f64', values: history.map((s) => s.ms) },
    { name: 'nodes_before', type: 'i32', values: history.map((s) => s.nodesBefore) },
    { name: 'nodes_after', type: 'i32', values: history.map((s) => s.nodesAfter) },
    { name: 'changed', type: 'bool', values: history.map((s) => s.changed) },
    { name: 'max_abs_error', type: 'f64', values: history.map((s) => s.maxAbsError ?? null) },
    { name: 'max_rel_error', type: 'f64', values: history.map((s) => s.maxRelError ?? null) },
    { name: 'first_divergent', type: 'utf8', values: history.map((s) => s.firstDivergent ?? null) },
  ]);
}

/** A decision with the step that made it. */
export type StepDecision = Decision & { readonly step?: number };

/**
 * One row per fusion decision. Columns: step i32 (null when unknown), pass utf8, kind utf8
 * (`fused` | `rejected`, or `inlined` | `unrolled` | `kept` for control flow), nodes list<utf8>, loc list<utf8>, reason utf8, result utf8 (null unless fused).
 * Give either decisions or steps (whose decisions are taken in order, tagged with their step).
 */
export function decisionsTable(source: readonly StepDecision[] | readonly StepRow[], title = 'fusion decisions'): ResultTable {
  const list: StepDecision[] = [];
  for (const x of source) {
    if ('kind' in x && 'reason' in x) list.push(x as StepDecision);
    else for (const d of (x as StepRow).decisions ?? []) list.push({ ...d, step: (x as StepRow).step });
  }
  return buildTable(title, [
    { name: 'step', type: 'i32', values: list.map((d) => d.step ?? null) },
    { name: 'pass', type: 'utf8', values: list.map((d) => d.pass) },
    { name: 'kind', type: 'utf8', values: list.map((d) => d.kind) },
    { name: 'nodes', type: 'list<utf8>', values: list.map((d) => d.nodes) },
    { name: 'loc', type: 'list<utf8>', values: list.map((d) => d.loc) },
    { name: 'reason', type: 'utf8', values: list.map((d) => d.reason) },
    { name: 'result', type: 'utf8', values: list.map((d) => d.result ?? null) },
  ]);
}

/**
 * The fused nodes of a graph: nodes built from more than one ONNX node (loc has several names) or
 * with a kiln op. Returns node id → the ONNX node names, in graph order.
 */
export function fusionMapOf(graph: Graph): Map<string, readonly string[]> {
  const m = new Map<string, readonly string[]>();
  for (const n of graph.nodes) if (n.loc.length > 1 || n.op.startsWith('kiln.')) m.set(n.outputs[0] ?? '', n.loc);
  return m;
}

/** The fusion map as a table. Columns: node utf8, op utf8, sources list<utf8>, count i32. */
export function fusionsTable(graph: Graph, title = `fused nodes of ${graph.name}`): ResultTable {
  const fused = graph.nodes.filter((n) => n.loc.length > 1 || n.op.startsWith('kiln.'));
  return buildTable(title, [
    { name: 'node', type: 'utf8', values: fused.map((n) => n.outputs[0] ?? '') },
    { name: 'op', type: 'utf8', values: fused.map((n) => n.op) },
    { name: 'sources', type: 'list<utf8>', values: fused.map((n) => n.loc) },
    { name: 'count', type: 'i32', values: fused.map((n) => n.loc.length) },
  ]);
}
