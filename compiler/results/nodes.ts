/**
 * The `nodes` table: one row per node of a graph at one pipeline step, with what a user asks of a
 * node in a notebook — its id, op, inputs and outputs, the dtype and printed shape of its outputs,
 * estimated FLOPs (compiler/zoo/summary.ts `nodeFlops`, so the numbers match `kiln summary`), the bytes
 * its outputs occupy, and its provenance (the ONNX node names it came from).
 *
 * Multi-output nodes list each output's dtype and shape separated by ", "; bytes sum over outputs and
 * are null when a shape has a symbolic dim, and so are FLOPs that depend on one (`kiln summary` shows
 * those as a formula). The source is a Graph or anything that hands out the graph
 * of a step (a Session), so this module does not depend on the Session.
 */
import type { Graph, TensorType } from '../ir/graph.ts';
import { staticSize, valueTypes } from '../ir/graph.ts';
import { byteSize } from '../ir/dtype.ts';
import { printType } from '../ir/print.ts';
import { nodeFlops } from '../zoo/summary.ts';
import { buildTable, type ResultTable } from './table.ts';

/** Anything with step snapshots (a Session). */
export interface StepSource {
  /** The graph at `step` (the current step when omitted). */
  graph(step?: number): Graph;
  /** The current step index. */
  readonly current: number;
}

const isGraph = (s: Graph | StepSource): s is Graph => Array.isArray((s as Graph).nodes);

/** The printed shape of a type without its dtype: `[1,64,112,112]`, `[N,128]`. */
function shapeText(t: TensorType): string {
  const p = printType(t);
  return p.slice(p.indexOf('['));
}

/**
 * The nodes table of a graph, or of a session's graph at `step` (default: the current step; 0 for a
 * bare graph). Columns: step i32, node utf8, op utf8, inputs list<utf8>, outputs list<utf8>,
 * dtype utf8, shape utf8, flops f64, bytes f64 (both null when symbolic), provenance list<utf8>.
 */
export function nodesTable(source: Graph | StepSource, step?: number): ResultTable {
  const graph = isGraph(source) ? source : source.graph(step);
  const at = step ?? (isGraph(source) ? 0 : source.current);
  const types = valueTypes(graph);
  const rows = graph.nodes.map((n) => {
    const outs = n.types.filter((_, k) => n.outputs[k]);
    let bytes: number | null = 0;
    for (const t of outs) {
      const size = staticSize(t.shape);
      bytes = size === undefined || bytes === null ? null : bytes + byteSize(t.dtype, size);
    }
    return {
      node: n.outputs[0] ?? '',
      op: n.op,
      inputs: n.inputs,
      outputs: n.outputs,
      dtype: outs.map((t) => t.dtype).join(', '),
      shape: outs.map(shapeText).join(', '),
      flops: nodeFlops(n, n.inputs.map((i) => (i ? types.get(i) : undefined))),
      bytes,
      provenance: n.loc,
    };
  });
  const col = <K extends keyof (typeof rows)[number]>(k: K) => rows.map((r) => r[k]);
  return buildTable(`nodes of ${graph.name} at step ${at}`, [
    { name: 'step', type: 'i32', values: rows.map(() => at) },
    { name: 'node', type: 'utf8', values: col('node') },
    { name: 'op', type: 'utf8', values: col('op') },
    { name: 'inputs', type: 'list<utf8>', values: col('inputs') },
    { name: 'outputs', type: 'list<utf8>', values: col('outputs') },
    { name: 'dtype', type: 'utf8', values: col('dtype') },
    { name: 'shape', type: 'utf8', values: col('shape') },
    { name: 'flops', type: 'f64', values: col('flops') },
    { name: 'bytes', type: 'f64', values: col('bytes') },
    { name: 'provenance', type: 'list<utf8>', values: col('provenance') },
  ]);
}
