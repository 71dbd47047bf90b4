/**
 * Model summary: op counts, parameter count, constant bytes and a FLOPs estimate per node and in
 * total, plus a text rendering (what `kiln summary` and `npm start` print).
 *
 * Parameters are the elements of float constants that are not scalars and not BatchNormalization
 * running statistics (those are counted apart as buffers), which gives the numbers PyTorch reports
 * (ResNet-50: 25,557,032). FLOPs are estimated from node types (symbolic dims count as 1):
 * Conv 2·out·(Cin/group)·prod(kernel) (= 2·N·Cout·Hout·Wout·Cin/group·kh·kw), ConvTranspose
 * 2·in·(Cout/group)·prod(kernel), MatMul 2·out·K, Gemm 2·M·N·K (+ M·N with a bias), pools out·prod(kernel),
 * global pools and reductions one per input element, BatchNormalization 2, LayerNormalization 5 and
 * Softmax 3 per element, pure data movement (Reshape, Transpose, Gather, ...) 0, and every other op
 * one per output element. Other modules may add rules for their own ops with `registerFlopsRule`.
 */
import type { Dim, Graph, Node, TensorType } from '../ir/graph.ts';
import { formatType, valueTypes } from '../ir/graph.ts';
import { byteSize, dtypeInfo } from '../ir/dtype.ts';

/** FLOPs of one node. */
export interface NodeCost {
  /** Node id (first output name). */
  readonly id: string;
  readonly op: string;
  /** ONNX node name (first loc entry), or '' when the node has none. */
  readonly loc: string;
  readonly flops: number;
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
  /** Estimated FLOPs, total and per node (graph order). */
  readonly flops: number;
  readonly nodeFlops: readonly NodeCost[];
  /** [op, FLOPs], largest first. */
  readonly flopsByOp: readonly [string, number][];
  /** True when some shape used for FLOPs had a symbolic dim (counted as 1). */
  readonly symbolic: boolean;
}

/** Computes a node's FLOPs from its input and output types. */
export type FlopsRule = (node: Node, inputs: readonly (TensorType | undefined)[], outputs: readonly TensorType[]) => number;

/** Ops that only move or reinterpret data. */
const MOVEMENT = new Set([
  'Reshape', 'Transpose', 'Flatten', 'Squeeze', 'Unsqueeze', 'Gather', 'GatherElements', 'GatherND', 'Concat',
  'Split', 'Slice', 'Shape', 'Size', 'Identity', 'Cast', 'CastLike', 'Expand', 'Tile', 'Pad', 'Constant',
  'ConstantOfShape', 'Range', 'DepthToSpace', 'SpaceToDepth', 'Dropout', 'ScatterND', 'ScatterElements',
  'EyeLike', 'OneHot', 'NonZero', 'Compress', 'ReverseSequence',
]);

let symbolicSeen = false;

/** Product of dims with symbolic dims counted as 1 (noted in the summary). */
function elems(shape: readonly Dim[] | undefined): number {
  if (!shape) return 0;
  let n = 1;
  for (const d of shape) {
    if (typeof d === 'number') n *= d;
    else symbolicSeen = true;
  }
  return n;
}

const outElems = (outs: readonly TensorType[]) => outs.reduce((a, t) => a + elems(t.shape), 0);
const kernelSize = (node: Node) => {
  const k = node.attrs.kernel_shape;
  return k && k.kind === 'ints' ? k.value.reduce((a, b) => a * b, 1) : 1;
};

const RULES = new Map<string, FlopsRule>([
  ['Conv', (_n, i, o) => 2 * elems(o[0].shape) * elems(i[1]?.shape.slice(1))],
  ['ConvInteger', (_n, i, o) => 2 * elems(o[0].shape) * elems(i[1]?.shape.slice(1))],
  ['ConvTranspose', (_n, i) => 2 * elems(i[0]?.shape) * elems(i[1]?.shape.slice(1))],
  ['MatMul', matmulFlops],
  ['MatMulInteger', matmulFlops],
  ['Gemm', (n, i, o) => {
    const a = i[0]?.shape ?? [];
    const transA = n.attrs.transA?.kind === 'int' && n.attrs.transA.value !== 0;
    const k = elems([a[transA ? 0 : 1] ?? 1]);
    const mn = elems(o[0].shape);
    return 2 * mn * k + (i[2] ? mn : 0);
  }],
  ['MaxPool', (n, _i, o) => elems(o[0].shape) * kernelSize(n)],
  ['AveragePool', (n, _i, o) => elems(o[0].shape) * kernelSize(n)],
  ['LpPool', (n, _i, o) => elems(o[0].shape) * kernelSize(n)],
  ['BatchNormalization', (_n, i) => 2 * elems(i[0]?.shape)],
  ['LayerNormalization', (_n, i) => 5 * elems(i[0]?.shape)],
  ['InstanceNormalization', (_n, i) => 5 * elems(i[0]?.shape)],
  ['GroupNormalization', (_n, i) => 5 * elems(i[0]?.shape)],
  ['Softmax', (_n, i) => 3 * elems(i[0]?.shape)],
  ['LogSoftmax', (_n, i) => 3 * elems(i[0]?.shape)],
]);
for (const op of ['GlobalAveragePool', 'GlobalMaxPool', 'GlobalLpPool', 'ReduceSum', 'ReduceMean', 'ReduceMax',
  'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare', 'ArgMax', 'ArgMin']) {
  RULES.set(op, (_n, i) => elems(i[0]?.shape));
}

/** Extra FLOPs of a fused epilogue: one per output element per step (bias counts as a step). */
function epilogueFlops(n: Node, i: readonly (TensorType | undefined)[], o: readonly TensorType[], biasInput: number): number {
  const e = n.attrs.epilogue;
  const steps = (e && e.kind === 'strings' ? e.value.length : 0) + (i[biasInput] ? 1 : 0);
  return steps * elems(o[0].shape);
}

// kiln's fused ops: the anchor's FLOPs plus their epilogue (weights keep the ONNX layout in the NHWC forms)
const convFlops = RULES.get('Conv')!, gemmFlops = RULES.get('Gemm')!;
RULES.set('kiln.conv', (n, i, o) => convFlops(n, i, o) + epilogueFlops(n, i, o, 2));
RULES.set('kiln.conv_nhwc', (n, i, o) => convFlops(n, i, o) + (i[2] ? elems(o[0].shape) : 0));
RULES.set('kiln.conv_epilogue_nhwc', (n, i, o) => convFlops(n, i, o) + epilogueFlops(n, i, o, 2));
RULES.set('kiln.gemm', (n, i, o) => gemmFlops(n, i, o) + epilogueFlops(n, i, o, 99));
RULES.set('kiln.matmul', (n, i, o) => matmulFlops(n, i, o) + epilogueFlops(n, i, o, 2));
RULES.set('kiln.maxpool_nhwc', (n, _i, o) => elems(o[0].shape) * kernelSize(n));
RULES.set('kiln.averagepool_nhwc', (n, _i, o) => elems(o[0].shape) * kernelSize(n));
RULES.set('kiln.globalaveragepool_nhwc', (_n, i) => elems(i[0]?.shape));
RULES.set('kiln.globalmaxpool_nhwc', (_n, i) => elems(i[0]?.shape));
RULES.set('kiln.batchnorm_nhwc', (_n, i) => 2 * elems(i[0]?.shape));
// an elementwise region: one FLOP per body line per element of its largest value
RULES.set('kiln.fused', (n, i, o) => {
  const body = n.attrs.body;
  const lines = body && body.kind === 'strings' ? body.value.length : 1;
  const widest = Math.max(...o.map((t) => elems(t.shape)), ...i.map((t) => elems(t?.shape)));
  return lines * widest;
});

function matmulFlops(_n: Node, i: readonly (TensorType | undefined)[], o: readonly TensorType[]): number {
  const a = i[0]?.shape ?? [];
  return 2 * elems(o[0].shape) * elems([a[a.length - 1] ?? 1]);
}

/** Adds (or replaces) the FLOPs rule of an op, e.g. for a kiln fused op. */
export function registerFlopsRule(op: string, rule: FlopsRule): void {
  RULES.set(op, rule);
}

/** Estimated FLOPs of one node given its input types (see the module comment for the rules). */
export function nodeFlops(node: Node, inputTypes: readonly (TensorType | undefined)[]): number {
  if (MOVEMENT.has(node.op)) return 0;
  const outs = node.types.filter((_, k) => node.outputs[k]);
  const rule = RULES.get(node.op);
  return rule ? rule(node, inputTypes, outs) : outElems(outs);
}

/** Summarises a graph (node types must be inferred). */
export function summarizeGraph(graph: Graph): GraphSummary {
  symbolicSeen = false;
  const types = valueTypes(graph);
  const counts = new Map<string, number>();
  const stats = new Set<string>();
  for (const n of graph.nodes) {
    counts.set(n.op, (counts.get(n.op) ?? 0) + 1);
    if (n.op === 'BatchNormalization') for (const k of [3, 4]) if (n.inputs[k]) stats.add(n.inputs[k]);
  }
  let params = 0, buffers = 0, constantBytes = 0;
  for (const c of graph.constants) {
    const size = c.data ? c.data.size : elems(c.type.shape);
    constantBytes += byteSize(c.type.dtype, size);
    if (!dtypeInfo(c.type.dtype).isFloat || c.type.shape.length === 0) continue;
    if (stats.has(c.name)) buffers += size;
    else params += size;
  }
  const nodeFlopsList: NodeCost[] = [];
  const byOp = new Map<string, number>();
  let flops = 0;
  for (const n of graph.nodes) {
    const f = nodeFlops(n, n.inputs.map((i) => (i ? types.get(i) : undefined)));
    nodeFlopsList.push({ id: n.outputs[0], op: n.op, loc: n.loc[0] ?? '', flops: f });
    byOp.set(n.op, (byOp.get(n.op) ?? 0) + f);
    flops += f;
  }
  const desc = (m: Map<string, number>): [string, number][] => [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return {
    name: graph.name,
    inputs: graph.inputs.map((i) => ({ name: i.name, type: i.type })),
    outputs: graph.outputs.map((o) => ({ name: o, type: types.get(o) })),
    nodeCount: graph.nodes.length,
    opCounts: desc(counts), params, buffers, constantCount: graph.constants.length, constantBytes,
    flops, nodeFlops: nodeFlopsList, flopsByOp: desc(byOp), symbolic: symbolicSeen,
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
  lines.push(`  FLOPs:      ${formatSI(s.flops)} (≈ ${formatSI(s.flops / 2)} MACs)${s.symbolic ? ', symbolic dims counted as 1' : ''}`);
  lines.push('');
  const flopsOf = new Map(s.flopsByOp);
  const w = Math.max(2, ...s.opCounts.map(([op]) => op.length));
  lines.push(`  ${'op'.padEnd(w)}  count       FLOPs   share`);
  for (const [op, count] of s.opCounts) {
    const f = flopsOf.get(op) ?? 0;
    const share = s.flops > 0 ? `${((100 * f) / s.flops).toFixed(1)}%` : '-';
    lines.push(`  ${op.padEnd(w)}  ${String(count).padStart(5)}  ${formatSI(f).padStart(10)}  ${share.padStart(6)}`);
  }
  const top = [...s.nodeFlops].sort((a, b) => b.flops - a.flops).slice(0, topNodes).filter((n) => n.flops > 0);
  if (top.length) {
    lines.push('', `  top ${top.length} nodes by FLOPs:`);
    for (const n of top) lines.push(`    %${n.id.padEnd(6)} ${n.op.padEnd(w)} ${formatSI(n.flops).padStart(10)}  ${n.loc}`);
  }
  return lines.join('\n');
}
