/**
 * Model summary: op counts, parameter count, constant bytes and a FLOPs estimate per node and in
 * total, plus a text rendering (what `kiln summary` and `npm start` print).
 *
 * Parameters are the elements of float constants that are not scalars and not BatchNormalization
 * running statistics (those are counted apart as buffers), which gives the numbers PyTorch reports
 * (ResNet-50: 25,557,032). FLOPs are estimated from node types:
 * Conv 2·out·(Cin/group)·prod(kernel) (= 2·N·Cout·Hout·Wout·Cin/group·kh·kw), ConvTranspose
 * 2·in·(Cout/group)·prod(kernel), MatMul 2·out·K, Gemm 2·M·N·K (+ M·N with a bias), pools out·prod(kernel),
 * global pools and reductions one per input element, BatchNormalization 2, LayerNormalization 5 and
 * Softmax 3 per element, pure data movement (Reshape, Transpose, Gather, ...) 0, and every other op
 * one per output element. Other modules may add rules for their own ops with `registerFlopsRule`.
 *
 * Symbolic dims stay symbols: every count is a polynomial in them (ir/dim-poly.ts), so a model with
 * input f32[N,3,H,W] has FLOPs like `216·N·H·W + 10·N`, and a number only once the dims are bound
 * (ops/bind-shapes.ts). A rule that cannot be written as a polynomial (a maximum of two different
 * symbolic sizes, a missing type) makes that node's FLOPs unknown, and the total says so; nothing is
 * ever computed at a made-up size.
 */
import type { Dim, Graph, Node, TensorType } from '../ir/graph.ts';
import { formatType, staticSize, valueTypes } from '../ir/graph.ts';
import { DimPoly } from '../ir/dim-poly.ts';
import { byteSize, dtypeInfo } from '../ir/dtype.ts';

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

/**
 * Computes a node's FLOPs from its input and output types: a number, a polynomial in the symbolic dims,
 * or undefined when unknown.
 */
export type FlopsRule = (node: Node, inputs: readonly (TensorType | undefined)[], outputs: readonly TensorType[]) => number | DimPoly | undefined;

/** Ops that only move or reinterpret data. */
const MOVEMENT = new Set([
  'Reshape', 'Transpose', 'Flatten', 'Squeeze', 'Unsqueeze', 'Gather', 'GatherElements', 'GatherND', 'Concat',
  'Split', 'Slice', 'Shape', 'Size', 'Identity', 'Cast', 'CastLike', 'Expand', 'Tile', 'Pad', 'Constant',
  'ConstantOfShape', 'Range', 'DepthToSpace', 'SpaceToDepth', 'Dropout', 'ScatterND', 'ScatterElements',
  'EyeLike', 'OneHot', 'NonZero', 'Compress', 'ReverseSequence',
]);

/** Product of the dims of a shape as a polynomial (undefined when the type is missing). */
function elems(shape: readonly Dim[] | undefined): DimPoly | undefined {
  return shape ? DimPoly.product(shape) : undefined;
}

/** a · b · ... with undefined (unknown) absorbing. */
function times(...xs: (DimPoly | number | undefined)[]): DimPoly | undefined {
  let p = DimPoly.constant(1);
  for (const x of xs) {
    if (x === undefined) return undefined;
    p = p.mul(x);
  }
  return p;
}

/** a + b + ... with undefined (unknown) absorbing. */
function plus(...xs: (DimPoly | number | undefined)[]): DimPoly | undefined {
  let p = DimPoly.constant(0);
  for (const x of xs) {
    if (x === undefined) return undefined;
    p = p.add(x);
  }
  return p;
}

const outElems = (outs: readonly TensorType[]) => plus(...outs.map((t) => elems(t.shape)));
const kernelSize = (node: Node) => {
  const k = node.attrs.kernel_shape;
  return k && k.kind === 'ints' ? k.value.reduce((a, b) => a * b, 1) : 1;
};

const RULES = new Map<string, FlopsRule>([
  ['Conv', (_n, i, o) => times(2, elems(o[0].shape), elems(i[1]?.shape.slice(1)))],
  ['ConvInteger', (_n, i, o) => times(2, elems(o[0].shape), elems(i[1]?.shape.slice(1)))],
  ['ConvTranspose', (_n, i) => times(2, elems(i[0]?.shape), elems(i[1]?.shape.slice(1)))],
  ['MatMul', matmulFlops],
  ['MatMulInteger', matmulFlops],
  ['Gemm', (n, i, o) => {
    const a = i[0]?.shape;
    if (!a || a.length !== 2) return undefined;
    const transA = n.attrs.transA?.kind === 'int' && n.attrs.transA.value !== 0;
    const mn = elems(o[0].shape);
    return plus(times(2, mn, elems([a[transA ? 0 : 1]])), i[2] ? mn : 0);
  }],
  ['MaxPool', (n, _i, o) => times(elems(o[0].shape), kernelSize(n))],
  ['AveragePool', (n, _i, o) => times(elems(o[0].shape), kernelSize(n))],
  ['LpPool', (n, _i, o) => times(elems(o[0].shape), kernelSize(n))],
  ['BatchNormalization', (_n, i) => times(2, elems(i[0]?.shape))],
  ['LayerNormalization', (_n, i) => times(5, elems(i[0]?.shape))],
  ['InstanceNormalization', (_n, i) => times(5, elems(i[0]?.shape))],
  ['GroupNormalization', (_n, i) => times(5, elems(i[0]?.shape))],
  ['Softmax', (_n, i) => times(3, elems(i[0]?.shape))],
  ['LogSoftmax', (_n, i) => times(3, elems(i[0]?.shape))],
]);
for (const op of ['GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool', 'ReduceSum', 'ReduceMean', 'ReduceMax',
  'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare', 'ArgMax', 'ArgMin']) {
  RULES.set(op, (_n, i) => elems(i[0]?.shape));
}

/** Extra FLOPs of a fused epilogue: one per output element per step (bias counts as a step). */
function epilogueFlops(n: Node, i: readonly (TensorType | undefined)[], o: readonly TensorType[], biasInput: number): DimPoly | undefined {
  const e = n.attrs.epilogue;
  const steps = (e && e.kind === 'strings' ? e.value.length : 0) + (i[biasInput] ? 1 : 0);
  return times(steps, elems(o[0].shape));
}

/** The rule of `op` with a number or undefined result made a polynomial (or undefined). */
const ruleOf = (op: string) => (n: Node, i: readonly (TensorType | undefined)[], o: readonly TensorType[]) => asPoly(RULES.get(op)!(n, i, o));

// kiln's fused ops: the anchor's FLOPs plus their epilogue (weights keep the ONNX layout in the NHWC forms)
const convFlops = ruleOf('Conv'), gemmFlops = ruleOf('Gemm');
RULES.set('kiln.conv', (n, i, o) => plus(convFlops(n, i, o), epilogueFlops(n, i, o, 2)));
RULES.set('kiln.conv_nhwc', (n, i, o) => plus(convFlops(n, i, o), i[2] ? elems(o[0].shape) : 0));
RULES.set('kiln.conv_epilogue_nhwc', (n, i, o) => plus(convFlops(n, i, o), epilogueFlops(n, i, o, 2)));
RULES.set('kiln.gemm', (n, i, o) => plus(gemmFlops(n, i, o), epilogueFlops(n, i, o, 99)));
RULES.set('kiln.matmul', (n, i, o) => plus(matmulFlops(n, i, o), epilogueFlops(n, i, o, 2)));
RULES.set('kiln.maxpool_nhwc', (n, _i, o) => times(elems(o[0].shape), kernelSize(n)));
RULES.set('kiln.averagepool_nhwc', (n, _i, o) => times(elems(o[0].shape), kernelSize(n)));
RULES.set('kiln.globalaveragepool_nhwc', (_n, i) => elems(i[0]?.shape));
RULES.set('kiln.globalmaxpool_nhwc', (_n, i) => elems(i[0]?.shape));
RULES.set('kiln.batchnorm_nhwc', (_n, i) => times(2, elems(i[0]?.shape)));
// an elementwise region: one FLOP per body line per element of its largest value (unknown when no
// value is at least as large as every other at every size of the symbols)
RULES.set('kiln.fused', (n, i, o) => {
  const body = n.attrs.body;
  const lines = body && body.kind === 'strings' ? body.value.length : 1;
  const sizes = [...o.map((t) => elems(t.shape)), ...i.map((t) => elems(t?.shape))];
  if (sizes.some((s) => s === undefined)) return undefined;
  const widest = sizes.find((s) => sizes.every((t) => s!.dominates(t!)));
  return times(lines, widest);
});

function matmulFlops(_n: Node, i: readonly (TensorType | undefined)[], o: readonly TensorType[]): DimPoly | undefined {
  const a = i[0]?.shape;
  if (!a || a.length === 0) return undefined;
  return times(2, elems(o[0].shape), elems([a[a.length - 1]]));
}

function asPoly(x: number | DimPoly | undefined): DimPoly | undefined {
  return typeof x === 'number' ? DimPoly.constant(x) : x;
}

/** Adds (or replaces) the FLOPs rule of an op, e.g. for a kiln fused op. */
export function registerFlopsRule(op: string, rule: FlopsRule): void {
  RULES.set(op, rule);
}

/** Estimated FLOPs of one node as a polynomial in the symbolic dims (undefined when unknown). */
export function nodeFlopsFormula(node: Node, inputTypes: readonly (TensorType | undefined)[]): DimPoly | undefined {
  if (MOVEMENT.has(node.op)) return DimPoly.constant(0);
  const outs = node.types.filter((_, k) => node.outputs[k]);
  const rule = RULES.get(node.op);
  return rule ? asPoly(rule(node, inputTypes, outs)) : outElems(outs);
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
