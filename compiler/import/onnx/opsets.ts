/**
 * Opset normalisation: rewrites every ONNX node into the newest form of its op, so that kiln's op
 * kernels never look at opset versions.
 *
 * Each rule takes one node as written at the model's default-domain opset and returns the node(s)
 * that replace it. The changes, per op (ONNX operator changelog):
 *   - attributes that became inputs move to new constant inputs: Reshape `shape` (<5), Slice
 *     `starts/ends/axes` (<10), TopK `k` (<10), Clip `min/max` (<11), Pad `pads`/`paddings`/`value`
 *     (<11), Dropout `ratio` (<12), Split `split` (<13), Squeeze/Unsqueeze `axes` (<13), ReduceSum
 *     `axes` (<13), the other Reduce* `axes` (<18), Upsample `scales` (7-8, or `height_scale`/
 *     `width_scale` before 7);
 *   - semantic changes: Softmax/LogSoftmax/Hardmax before 13 normalise the input flattened to 2-D at
 *     `axis` (default 1), rewritten as Shape + Flatten + op(axis=1) + Reshape unless `axis` is already
 *     the last one; Upsample and Resize-10 become Resize with asymmetric coordinates (and floor
 *     rounding for nearest); Split without sizes gets `num_outputs` (<18); Dropout's mask was of the
 *     input type before 10 (a Cast is appended); BatchNormalization loses `spatial`/`is_test` and the
 *     training-only outputs (<14); DFT's `axis` attribute (default 1) becomes input 2 (<20); RoiAlign
 *     without coordinate_transformation_mode gets output_half_pixel, its only behaviour before 16;
 *     Cast `to` was a type name before 6; Concat `axis` defaulted to 1 before 4; the binary ops' `broadcast`/`axis` attributes (<7) become an Unsqueeze of B; PRelu's
 *     per-channel slope (<7) is unsqueezed to broadcast numpy-style; `consumed_inputs` is dropped.
 *   - Resize's empty `roi`/`scales` constants (required-but-empty in opsets 11-12) become omitted.
 *   - opset 28: Mod admits floats with fmod=0 (floor modulo, the sign of the divisor, as Python `%`)
 *     and SpaceToDepth gains `mode` (DCR, its old order, by default; or CRD). kiln's ops are the
 *     opset-28 forms, so before 28 those two forms, invalid there, stay refused: a float Mod without
 *     fmod=1 and a SpaceToDepth `mode` fail here as they failed before. The other opset-28 changes
 *     only widen or narrow type lists (bfloat16 for Celu, Einsum, OneHot, Compress, Unique and
 *     ReverseSequence; FP6 for Cast and the quantize ops; no integers for ReduceLogSum/-Exp) or add
 *     SwiGLU, and need no rewrite.
 * Forms kiln cannot express (BatchNormalization spatial=0, Tile-1) are a KilnError naming the node.
 */
import type { AttrValue, Graph, TensorType } from '../../ir/graph.ts';
import { Tensor, i64Tensor } from '../../ir/tensor.ts';
import { onnxDataType } from './tensor-proto.ts';
import { FLOAT_TYPES } from '../../ops/support.ts';

/** A node during import: ONNX names, kiln attribute values. */
export interface RawNode {
  op: string;
  /** Provenance: the ONNX node name (or `<OpType>_<index>`). */
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
}

/** What a rule may ask of the importer. */
export interface OpsetContext {
  /** The model's default-domain opset version. */
  readonly opset: number;
  /** Adds a constant and returns its value name. */
  constant(t: Tensor): string;
  /** A fresh intermediate value name. */
  temp(): string;
  /** The type of a value, when known so far. */
  typeOf(name: string): TensorType | undefined;
  /** The value of a constant, when `name` is one. */
  valueOf(name: string): Tensor | undefined;
  /** True when some node or graph output reads the value. */
  isUsed(name: string): boolean;
  /** Throws a KilnError naming the node. */
  fail(message: string): never;
}

/** The op an ONNX op type becomes after normalisation (for the "supported op" check). */
export function normalizedOpName(op: string): string {
  return op === 'Upsample' ? 'Resize' : op;
}

const LEGACY_BROADCAST_OPS = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'And', 'Or', 'Xor', 'Equal', 'Greater', 'Less']);
const REDUCE_OPS = new Set(['ReduceMax', 'ReduceMin', 'ReduceMean', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum',
  'ReduceLogSumExp', 'ReduceSumSquare']);
const CAST_NAMES: Record<string, number> = {
  FLOAT: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, STRING: 8, BOOL: 9, FLOAT16: 10, DOUBLE: 11,
  UINT32: 12, UINT64: 13,
};

/** Rewrites one node into newest-form nodes. */
export function normalizeNode(node: RawNode, ctx: OpsetContext): RawNode[] {
  const n: RawNode = { ...node, inputs: [...node.inputs], outputs: [...node.outputs], attrs: { ...node.attrs } };
  delete n.attrs.consumed_inputs;
  const v = ctx.opset;
  if (LEGACY_BROADCAST_OPS.has(n.op) && v < 7) return legacyBroadcast(n, ctx);
  switch (n.op) {
    case 'Reshape': if (v < 5) moveInts(n, 'shape', 1, ctx); return [n];
    case 'Slice':
      if (v < 10) { moveInts(n, 'starts', 1, ctx); moveInts(n, 'ends', 2, ctx); moveInts(n, 'axes', 3, ctx); }
      return [n];
    case 'Scan': return v < 9 ? [batchedScan(n, ctx)] : [n];
    case 'TopK':
      if (v < 10) { setInput(n, 1, ctx.constant(i64Tensor([intAttr(n, 'k', ctx)]))); delete n.attrs.k; }
      return [n];
    case 'Clip': if (v < 11) { moveScalar(n, 'min', 1, ctx); moveScalar(n, 'max', 2, ctx); } return [n];
    case 'Pad': if (v < 11) legacyPad(n, ctx); return [n];
    case 'Dropout': return v < 12 ? legacyDropout(n, ctx) : [n];
    case 'Split': return [split(n, ctx)];
    case 'Squeeze': case 'Unsqueeze': if (v < 13) moveInts(n, 'axes', 1, ctx); return [n];
    case 'ReduceSum': if (v < 13) moveInts(n, 'axes', 1, ctx); return [n];
    case 'Softmax': case 'LogSoftmax': case 'Hardmax': return v < 13 ? legacySoftmax(n, ctx) : [n];
    case 'Upsample': return [upsample(n, ctx)];
    case 'Resize': return [resize(n, ctx)];
    case 'BatchNormalization': return [batchNorm(n, ctx)];
    case 'Cast': if (v < 6) legacyCast(n, ctx); return [n];
    case 'Concat': if (v < 4 && !('axis' in n.attrs)) n.attrs.axis = { kind: 'int', value: 1 }; return [n];
    case 'Gemm': delete n.attrs.broadcast; return [n];
    case 'Tile': if (v < 6) ctx.fail('Tile before opset 6 (tiles/axis inputs) is not supported'); return [n];
    case 'PRelu': return v < 7 ? legacyPRelu(n, ctx) : [n];
    case 'DFT': if (v < 20) dftAxis(n, ctx); return [n];
    case 'Mod': if (v < 28) legacyMod(n, ctx); return [n];
    case 'SpaceToDepth':
      if (v < 28 && 'mode' in n.attrs) ctx.fail(`SpaceToDepth has no attribute 'mode' before opset 28`);
      return [n];
    case 'RoiAlign':
      if (v < 16 && !('coordinate_transformation_mode' in n.attrs)) n.attrs.coordinate_transformation_mode = { kind: 'string', value: 'output_half_pixel' };
      return [n];
    default:
      if (REDUCE_OPS.has(n.op) && v < 18) moveInts(n, 'axes', 1, ctx);
      return [n];
  }
}

/** Mod before 28: fmod=0 is defined for integers only (floats need fmod=1, the C fmod). */
function legacyMod(n: RawNode, ctx: OpsetContext): void {
  const fmod = n.attrs.fmod?.kind === 'int' ? n.attrs.fmod.value : 0;
  const dtype = ctx.typeOf(n.inputs[0])?.dtype;
  if (fmod === 0 && dtype && FLOAT_TYPES.includes(dtype)) {
    ctx.fail(`Mod on ${dtype} needs fmod=1 before opset 28 (fmod=0 is defined for integers only until then)`);
  }
}

/** DFT before 20: the `axis` attribute (default 1) becomes the scalar input 2. */
function dftAxis(n: RawNode, ctx: OpsetContext): void {
  const axis = 'axis' in n.attrs ? intAttr(n, 'axis', ctx) : 1;
  delete n.attrs.axis;
  setInput(n, 2, ctx.constant(i64Tensor([axis], [])));
}

function setInput(n: RawNode, index: number, name: string): void {
  while (n.inputs.length < index) n.inputs.push('');
  n.inputs[index] = name;
}

function intAttr(n: RawNode, name: string, ctx: OpsetContext): number {
  const a = n.attrs[name];
  if (!a || a.kind !== 'int') return ctx.fail(`attribute '${name}' must be an int`);
  return a.value;
}

/** Moves an ints attribute to an i64 1-D constant input at `index` (absent attribute: nothing). */
function moveInts(n: RawNode, attr: string, index: number, ctx: OpsetContext): void {
  const a = n.attrs[attr];
  if (!a) return;
  if (a.kind !== 'ints') ctx.fail(`attribute '${attr}' must be a list of ints`);
  setInput(n, index, ctx.constant(i64Tensor(a.value as number[])));
  delete n.attrs[attr];
}

/** Moves a float attribute to a scalar constant input of the first input's dtype. */
function moveScalar(n: RawNode, attr: string, index: number, ctx: OpsetContext): void {
  const a = n.attrs[attr];
  if (!a) return;
  if (a.kind !== 'float' && a.kind !== 'int') ctx.fail(`attribute '${attr}' must be a float`);
  setInput(n, index, ctx.constant(Tensor.scalar(inputDType(n, ctx), a.value as number)));
  delete n.attrs[attr];
}

function inputDType(n: RawNode, ctx: OpsetContext) {
  const t = ctx.typeOf(n.inputs[0]);
  if (!t) return ctx.fail(`cannot convert this opset ${ctx.opset} node: the type of input '${n.inputs[0]}' is unknown`);
  return t.dtype;
}

function legacyBroadcast(n: RawNode, ctx: OpsetContext): RawNode[] {
  const broadcast = n.attrs.broadcast?.kind === 'int' ? n.attrs.broadcast.value : 0;
  const axisAttr = n.attrs.axis;
  delete n.attrs.broadcast;
  delete n.attrs.axis;
  if (!broadcast || !axisAttr || axisAttr.kind !== 'int') return [n];
  const a = ctx.typeOf(n.inputs[0]), b = ctx.typeOf(n.inputs[1]);
  if (!a || !b) return ctx.fail(`cannot convert opset ${ctx.opset} broadcast with axis: input ranks are unknown`);
  const axis = axisAttr.value < 0 ? axisAttr.value + a.shape.length : axisAttr.value;
  const trailing = a.shape.length - axis - b.shape.length;
  if (trailing < 0) return ctx.fail(`broadcast axis ${axisAttr.value} does not fit input ranks ${a.shape.length} and ${b.shape.length}`);
  if (trailing === 0) return [n];
  const axes = Array.from({ length: trailing }, (_, i) => b.shape.length + i);
  const tmp = ctx.temp();
  const unsqueeze: RawNode = { op: 'Unsqueeze', name: n.name, inputs: [n.inputs[1], ctx.constant(i64Tensor(axes))], outputs: [tmp], attrs: {} };
  n.inputs[1] = tmp;
  return [unsqueeze, n];
}

function legacyPRelu(n: RawNode, ctx: OpsetContext): RawNode[] {
  // before opset 7 a 1-D slope of size C applied per channel (axis 1)
  const x = ctx.typeOf(n.inputs[0]), slope = ctx.typeOf(n.inputs[1]);
  if (!x || !slope || slope.shape.length !== 1 || x.shape.length < 3 || slope.shape[0] === 1) return [n];
  const axes = Array.from({ length: x.shape.length - 2 }, (_, i) => i + 1);
  const tmp = ctx.temp();
  const unsqueeze: RawNode = { op: 'Unsqueeze', name: n.name, inputs: [n.inputs[1], ctx.constant(i64Tensor(axes))], outputs: [tmp], attrs: {} };
  n.inputs[1] = tmp;
  return [unsqueeze, n];
}

function legacyPad(n: RawNode, ctx: OpsetContext): void {
  const pads = n.attrs.pads ?? n.attrs.paddings;
  if (!pads || pads.kind !== 'ints') ctx.fail("attribute 'pads' is required");
  setInput(n, 1, ctx.constant(i64Tensor(pads.value as number[])));
  delete n.attrs.pads;
  delete n.attrs.paddings;
  const value = n.attrs.value;
  delete n.attrs.value;
  const mode = n.attrs.mode?.kind === 'string' ? n.attrs.mode.value : 'constant';
  if (value && mode === 'constant' && value.value !== 0) {
    setInput(n, 2, ctx.constant(Tensor.scalar(inputDType(n, ctx), value.value as number)));
  }
}

function legacyDropout(n: RawNode, ctx: OpsetContext): RawNode[] {
  const ratio = n.attrs.ratio;
  delete n.attrs.ratio;
  delete n.attrs.is_test;
  if (ratio && (ratio.kind === 'float' || ratio.kind === 'int')) setInput(n, 1, ctx.constant(Tensor.scalar('f32', ratio.value)));
  const mask = n.outputs[1];
  if (ctx.opset >= 10 || !mask || !ctx.isUsed(mask)) {
    if (mask && !ctx.isUsed(mask)) n.outputs.length = 1;
    return [n];
  }
  // opsets 7-9: the mask has the input's type, not bool
  const tmp = ctx.temp();
  n.outputs[1] = tmp;
  const to = onnxDataType(inputDType(n, ctx));
  return [n, { op: 'Cast', name: n.name, inputs: [tmp], outputs: [mask], attrs: { to: { kind: 'int', value: to } } }];
}

function split(n: RawNode, ctx: OpsetContext): RawNode {
  if (ctx.opset < 13) moveInts(n, 'split', 1, ctx);
  if (ctx.opset < 18 && !n.inputs[1] && !('num_outputs' in n.attrs)) n.attrs.num_outputs = { kind: 'int', value: n.outputs.length };
  return n;
}

function legacySoftmax(n: RawNode, ctx: OpsetContext): RawNode[] {
  const axisAttr = n.attrs.axis;
  const axis = axisAttr && axisAttr.kind === 'int' ? axisAttr.value : 1;
  const t = ctx.typeOf(n.inputs[0]);
  if (t) {
    const rank = t.shape.length;
    if ((axis < 0 ? axis + rank : axis) === rank - 1) return [{ ...n, attrs: { ...n.attrs, axis: { kind: 'int', value: -1 } } }];
  }
  // normalise over the input flattened to [prod(d < axis), prod(d >= axis)], then restore the shape
  const shape = ctx.temp(), flat = ctx.temp(), y2 = ctx.temp();
  return [
    { op: 'Shape', name: n.name, inputs: [n.inputs[0]], outputs: [shape], attrs: {} },
    { op: 'Flatten', name: n.name, inputs: [n.inputs[0]], outputs: [flat], attrs: { axis: { kind: 'int', value: axis } } },
    { op: n.op, name: n.name, inputs: [flat], outputs: [y2], attrs: { ...n.attrs, axis: { kind: 'int', value: 1 } } },
    { op: 'Reshape', name: n.name, inputs: [y2, shape], outputs: [n.outputs[0]], attrs: {} },
  ];
}

/** Upsample (any opset) as Resize: asymmetric coordinates, floor rounding for nearest. */
function upsample(n: RawNode, ctx: OpsetContext): RawNode {
  let scales = n.inputs[1];
  if (ctx.opset < 9) {
    const s = n.attrs.scales;
    let values: number[];
    if (s && s.kind === 'floats') values = [...s.value];
    else {
      const h = n.attrs.height_scale, w = n.attrs.width_scale;
      if (!h || !w) return ctx.fail("attribute 'scales' is required");
      values = [1, 1, h.value as number, w.value as number];
    }
    scales = ctx.constant(Tensor.fromNumbers('f32', [values.length], values));
  }
  if (!scales) ctx.fail("input 'scales' is required");
  return asymmetricResize(n, scales);
}

function asymmetricResize(n: RawNode, scales: string): RawNode {
  const mode0 = n.attrs.mode?.kind === 'string' ? n.attrs.mode.value : 'nearest';
  const mode = mode0 === 'bilinear' ? 'linear' : mode0;
  const attrs: Record<string, AttrValue> = {
    mode: { kind: 'string', value: mode },
    coordinate_transformation_mode: { kind: 'string', value: 'asymmetric' },
  };
  if (mode === 'nearest') attrs.nearest_mode = { kind: 'string', value: 'floor' };
  return { op: 'Resize', name: n.name, inputs: [n.inputs[0], '', scales], outputs: n.outputs, attrs };
}

function resize(n: RawNode, ctx: OpsetContext): RawNode {
  if (ctx.opset < 11) {
    if (!n.inputs[1]) ctx.fail("input 'scales' is required");
    return asymmetricResize(n, n.inputs[1]);
  }
  // roi / scales given as empty tensors mean "not given"
  for (const k of [1, 2]) {
    const c = n.inputs[k] ? ctx.valueOf(n.inputs[k]) : undefined;
    if (c && c.size === 0) n.inputs[k] = '';
  }
  return n;
}

function batchNorm(n: RawNode, ctx: OpsetContext): RawNode {
  const spatial = n.attrs.spatial;
  if (spatial && spatial.kind === 'int' && spatial.value === 0) ctx.fail('BatchNormalization with spatial=0 is not supported');
  delete n.attrs.spatial;
  delete n.attrs.is_test;
  if (ctx.opset < 14 && n.outputs.length > 1) {
    const used = n.outputs.slice(1).filter((o) => o && ctx.isUsed(o));
    if (used.length) ctx.fail(`training-mode outputs (${used.map((o) => `'${o}'`).join(', ')}) are not supported`);
    n.outputs.length = 1;
  }
  return n;
}

function legacyCast(n: RawNode, ctx: OpsetContext): void {
  const to = n.attrs.to;
  if (to && to.kind === 'string') {
    const code = CAST_NAMES[to.value.toUpperCase()];
    if (code === undefined) ctx.fail(`attribute 'to' names an unknown type '${to.value}'`);
    n.attrs.to = { kind: 'int', value: code };
  }
}

/**
 * Scan before opset 9 scans a batch: inputs (sequence_lens?, states [B,...]..., scan inputs
 * [B,L,...]...), attribute `directions`; every batch entry b runs the body over its own sequence. The
 * opset-9 form expresses it as two Scans: an outer one over the batch axis, whose body slices are one
 * entry's states and sequences, holding an inner Scan over that entry's sequence with the original
 * body. The outer Scan's outputs stack the entries' final states and scan outputs along the batch
 * axis, as the old form returns them. Per-entry lengths (`sequence_lens`) are not supported.
 */
function batchedScan(n: RawNode, ctx: OpsetContext): RawNode {
  const [lens, ...rest] = n.inputs;
  if (lens) ctx.fail('Scan before opset 9 with sequence_lens (per-entry lengths) is not supported');
  const body = n.attrs.body;
  const m = n.attrs.num_scan_inputs;
  if (body?.kind !== 'graph' || m?.kind !== 'int') ctx.fail('Scan needs a body and num_scan_inputs');
  const args = rest.map(() => ctx.temp());
  const results = n.outputs.map(() => ctx.temp());
  const placeholder: TensorType = { dtype: 'f32', shape: [] };
  const innerAttrs: Record<string, AttrValue> = { body, num_scan_inputs: m };
  if (n.attrs.directions) innerAttrs.scan_input_directions = n.attrs.directions;
  const entry: Graph = {
    name: `${n.name}/batch_entry`,
    inputs: args.map((name) => ({ name, type: placeholder })),
    outputs: results,
    constants: [],
    nodes: [{ op: 'Scan', inputs: args, outputs: results, types: results.map(() => placeholder), attrs: innerAttrs, loc: [n.name] }],
  };
  return { ...n, inputs: rest, attrs: { body: { kind: 'graph', value: entry }, num_scan_inputs: { kind: 'int', value: rest.length } } };
}
