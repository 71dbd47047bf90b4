/**
 * Model summary: op counts, parameter count, constant bytes and a FLOPs estimate per node and in
 * total, plus a text rendering (what `kiln summary` and `npm start` print).
 *
 * Parameters are the elements of float constants that are not scalars and not BatchNormalization
 * running statistics (those are counted apart as buffers), which gives the numbers PyTorch reports
 * (ResNet-50: 25,557,032). FLOPs are each op's own `flops` rule (declared on its OpDef; the conventions
 * and the default are in ops/flops.ts), summed: Conv 2·out·(Cin/group)·prod(kernel), MatMul 2·out·K,
 * data movement 0, most other ops one per output element.
 *
 * Symbolic dims stay symbols: every count is a polynomial in them (ir/dim-poly.ts), so a model with
 * input f32[N,3,H,W] has FLOPs like `216·N·H·W + 10·N`, and a number only once the dims are bound
 * (ops/bind-shapes.ts). A rule that cannot be written as a polynomial (a maximum of two different
 * symbolic sizes, a missing type) makes that node's FLOPs unknown, and the total says so; nothing is
 * ever computed at a made-up size.
 */
import type { Graph, Node, TensorType } from '../ir/graph.ts';
import { formatType, staticSize, valueTypes } from '../ir/graph.ts';
import { DimPoly } from '../ir/dim-poly.ts';
import { byteSize, dtypeInfo } from '../ir/dtype.ts';
import { findOp } from '../ops/registry.ts';
import { nodeAttrs } from '../ops/infer.ts';
import { opFlops } from '../ops/flops.ts';

/** FLOPs of one node. */
export interface NodeCost {
  /** Node id (first output name). */
  readonly id: string;
  readonly op: string;
  /** ONNX node name (first loc entry), or '' when the node has none. */
  readonly loc: string;
  /** The FLOPs as a number; null when they depend on symbolic dims or are unknown. */
  readonly flops: number | null;
  /** The FLOPs as a polynomial in the symbolic dims; undefined when unknown. */
  readonly formula: DimPoly | undefined;
}

/** Everything `summarizeGraph` reports. */
export interface GraphSummary {
  readonly name: string;
  readonly inputs: readonly { name: string; type: TensorType }[];
  readonly outputs: readonly { name: string; type: TensorType | undefined }[];
  readonly nodeCount: number;
  /** [op, count], most frequent first (ties by name). */
  readonly opCounts: readonly [string, number][];
  /** Elements of non-scalar float constants, BatchNormalization running statistics excluded. */
  readonly params: number;
  /** Elements of BatchNormalization running mean/variance constants. */
  readonly buffers: number;
  readonly constantCount: number;
  /** Bytes of all constants as stored (packed sizes for sub-byte types). */
  readonly constantBytes: number;
  /** Total FLOPs as a number; null when they depend on symbolic dims or some node's are unknown. */
  readonly flops: number | null;
  /** Total FLOPs of the nodes whose FLOPs are known, as a polynomial in the symbolic dims. */
  readonly flopsFormula: DimPoly;
  /** Ids of the nodes whose FLOPs are unknown (the total then is a lower bound). */
  readonly unknownFlops: readonly string[];
  readonly nodeFlops: readonly NodeCost[];
  /** [op, FLOPs], largest first (symbolic counts ordered by degree, then size at large dims). */
  readonly flopsByOp: readonly [string, DimPoly][];
  /** True when the FLOPs depend on symbolic dims. */
  readonly symbolic: boolean;
  /** The symbols in the order they first appear in the graph inputs (for printing formulas). */
  readonly symbolOrder: readonly string[];
}

/** Estimated FLOPs of one node as a polynomial in the symbolic dims (undefined when unknown). */
export function nodeFlopsFormula(node: Node, inputTypes: readonly (TensorType | undefined)[]): DimPoly | undefined {
  const outs = node.types.filter((_, k) => node.outputs[k]);
  const def = findOp(node.op);
  // an op kiln does not know has no traits: the default rule (one per output element) counts it
  return def ? opFlops(def, inputTypes, outs, nodeAttrs(def, node)) : opFlops({}, inputTypes, outs, undefined);
}

/** Estimated FLOPs of one node as a number; null when they depend on symbolic dims or are unknown. */
export function nodeFlops(node: Node, inputTypes: readonly (TensorType | undefined)[]): number | null {
  return nodeFlopsFormula(node, inputTypes)?.value ?? null;
}

/** Orders counts largest first: numbers by value, formulas by degree, then by value at large sizes. */
function compareCounts(a: DimPoly, b: DimPoly): number {
  const big = (p: DimPoly) => p.evaluate(Object.fromEntries(p.symbols.map((s) => [s, 1e4]))) ?? 0;
  return b.degree - a.degree || big(b) - big(a);
}

/** Summarises a graph (node types must be inferred). */
export function summarizeGraph(graph: Graph): GraphSummary {
  const types = valueTypes(graph);
  const counts = new Map<string, number>();
  const stats = new Set<string>();
  for (const n of graph.nodes) {
    counts.set(n.op, (counts.get(n.op) ?? 0) + 1);
    if (n.op === 'BatchNormalization') for (const k of [3, 4]) if (n.inputs[k]) stats.add(n.inputs[k]);
  }
  let params = 0, buffers = 0, constantBytes = 0;
  for (const c of graph.constants) {
    const size = c.data ? c.data.size : staticSize(c.type.shape) ?? 0; // the verifier keeps constants static
    constantBytes += byteSize(c.type.dtype, size);
    if (!dtypeInfo(c.type.dtype).isFloat || c.type.shape.length === 0) continue;
    if (stats.has(c.name)) buffers += size;
    else params += size;
  }
  const nodeFlopsList: NodeCost[] = [];
  const byOp = new Map<string, DimPoly>();
  const unknown: string[] = [];
  let total = DimPoly.constant(0);
  for (const n of graph.nodes) {
    const f = nodeFlopsFormula(n, n.inputs.map((i) => (i ? types.get(i) : undefined)));
    nodeFlopsList.push({ id: n.outputs[0], op: n.op, loc: n.loc[0] ?? '', flops: f?.value ?? null, formula: f });
    if (!f) { unknown.push(n.outputs[0]); continue; }
    byOp.set(n.op, (byOp.get(n.op) ?? DimPoly.constant(0)).add(f));
    total = total.add(f);
  }
  const desc = (m: Map<string, number>): [string, number][] => [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const symbolOrder: string[] = [];
  for (const i of graph.inputs) for (const d of i.type.shape) if (typeof d === 'string' && !symbolOrder.includes(d)) symbolOrder.push(d);
  return {
    name: graph.name,
    inputs: graph.inputs.map((i) => ({ name: i.name, type: i.type })),
    outputs: graph.outputs.map((o) => ({ name: o, type: types.get(o) })),
    nodeCount: graph.nodes.length,
    opCounts: desc(counts), params, buffers, constantCount: graph.constants.length, constantBytes,
    flops: unknown.length ? null : total.value ?? null, flopsFormula: total, unknownFlops: unknown,
    nodeFlops: nodeFlopsList,
    flopsByOp: [...byOp].sort((a, b) => compareCounts(a[1], b[1]) || a[0].localeCompare(b[0])),
    symbolic: total.value === undefined, symbolOrder,
  };
}

/** A count for people: `8.21 G` for a number, `8.17G·N·H·W + 12.5k·N` for a formula. */
export function formatCountPoly(p: DimPoly, order: readonly string[] = [], unit = ''): string {
  const v = p.value;
  if (v !== undefined) return formatSI(v, unit);
  const text = p.toString({ order, coefficient: (c) => (c >= 1e6 ? formatSI(c).replace(' ', '') : String(c)) });
  return unit ? `${text} ${unit}` : text;
}

/** The FLOPs of a summary in words: `8.21 GFLOPs`, `216·N·H·W + 10·N FLOPs`, with unknown nodes noted. */
export function formatFlops(s: GraphSummary): string {
  const text = formatCountPoly(s.flopsFormula, s.symbolOrder, 'FLOPs');
  return s.unknownFlops.length ? `at least ${text} (${s.unknownFlops.length} node${s.unknownFlops.length === 1 ? '' : 's'} unknown)` : text;
}

/** The summary as JSON-ready data: FLOPs as a number (null when symbolic or unknown) and as exact formula text. */
export function summaryJson(s: GraphSummary): Record<string, unknown> {
  const formula = (p: DimPoly | undefined) => (p ? p.toString({ order: s.symbolOrder }) : null);
  return {
    graph: s.name,
    inputs: s.inputs.map((i) => ({ name: i.name, type: formatType(i.type) })),
    outputs: s.outputs.map((o) => ({ name: o.name, type: o.type ? formatType(o.type) : null })),
    nodes: s.nodeCount, opCounts: Object.fromEntries(s.opCounts), params: s.params, buffers: s.buffers,
    constants: s.constantCount, constantBytes: s.constantBytes,
    flops: s.flops, flopsFormula: formula(s.flopsFormula), symbols: s.flopsFormula.symbols, unknownFlopsNodes: s.unknownFlops,
    flopsByOp: Object.fromEntries(s.flopsByOp.map(([op, p]) => [op, p.value ?? formula(p)])),
  };
}

/** 1234567 → "1,234,567". */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** A quantity with an SI suffix: 8.21e9 → "8.21 G". */
export function formatSI(n: number, unit = ''): string {
  const steps: [number, string][] = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [v, s] of steps) if (Math.abs(n) >= v) return `${(n / v).toFixed(2)} ${s}${unit}`;
  return `${n} ${unit}`.trimEnd();
}

/** Renders a summary as text; `title` (e.g. the model path) heads it. */
export function formatSummary(s: GraphSummary, title = s.name, topNodes = 5): string {
  const lines: string[] = [];
  lines.push(`${title}${title !== s.name ? ` (graph ${s.name})` : ''}`);
  lines.push(`  inputs:     ${s.inputs.map((i) => `${i.name} ${formatType(i.type)}`).join(', ')}`);
  lines.push(`  outputs:    ${s.outputs.map((o) => `${o.name} ${o.type ? formatType(o.type) : '?'}`).join(', ')}`);
  lines.push(`  nodes:      ${formatCount(s.nodeCount)} (${s.opCounts.length} op types)`);
  lines.push(`  parameters: ${formatCount(s.params)} (${formatSI(s.params)})${s.buffers ? ` + ${formatCount(s.buffers)} BN running stats` : ''}`);
  lines.push(`  constants:  ${formatCount(s.constantCount)} tensors, ${formatSI(s.constantBytes, 'B')}`);
  const total = s.flopsFormula.value;
  const unknown = s.unknownFlops.length ? `; FLOPs of ${s.unknownFlops.length} node${s.unknownFlops.length === 1 ? '' : 's'} unknown (%${s.unknownFlops.slice(0, 3).join(', %')}${s.unknownFlops.length > 3 ? ', ...' : ''})` : '';
  lines.push(total !== undefined
    ? `  FLOPs:      ${s.unknownFlops.length ? 'at least ' : ''}${formatSI(total)} (≈ ${formatSI(total / 2)} MACs)${unknown}`
    : `  FLOPs:      ${s.unknownFlops.length ? 'at least ' : ''}${formatCountPoly(s.flopsFormula, s.symbolOrder)}${unknown}`);
  if (total === undefined) {
    const inputs = s.symbolOrder.filter((d) => s.flopsFormula.symbols.includes(d));
    const inner = s.flopsFormula.symbols.filter((d) => !s.symbolOrder.includes(d));
    lines.push(`              (a formula in the symbolic dims${inputs.length ? ` ${inputs.join(', ')} of the inputs` : ''}${inner.length ? `${inputs.length ? ' and' : ''} ${inner.join(', ')} computed inside the model` : ''}; `
      + 'bind the input dims with --shape INPUT=SIZES or --dim NAME=SIZE for a number)');
  }
  lines.push('');
  const flopsOf = new Map(s.flopsByOp);
  const w = Math.max(2, ...s.opCounts.map(([op]) => op.length));
  const fmt = (p: DimPoly) => formatCountPoly(p, s.symbolOrder);
  const rows = s.opCounts.map(([op, count]) => {
    const f = flopsOf.get(op);
    const fv = f?.value;
    const share = total !== undefined && total > 0 && fv !== undefined && !s.unknownFlops.length ? `${((100 * fv) / total).toFixed(1)}%` : '-';
    return { op, count, text: f ? fmt(f) : '?', share };
  });
  const fw = Math.max(10, ...rows.map((r) => r.text.length));
  lines.push(`  ${'op'.padEnd(w)}  count  ${'FLOPs'.padStart(fw)}   share`);
  for (const r of rows) lines.push(`  ${r.op.padEnd(w)}  ${String(r.count).padStart(5)}  ${r.text.padStart(fw)}  ${r.share.padStart(6)}`);
  const top = s.nodeFlops.filter((n) => n.formula && n.formula.value !== 0)
    .sort((a, b) => compareCounts(a.formula!, b.formula!)).slice(0, topNodes);
  if (top.length) {
    lines.push('', `  top ${top.length} nodes by FLOPs:`);
    for (const n of top) lines.push(`    %${n.id.padEnd(6)} ${n.op.padEnd(w)} ${fmt(n.formula!).padStart(10)}  ${n.loc}`);
  }
  return lines.join('\n');
}
