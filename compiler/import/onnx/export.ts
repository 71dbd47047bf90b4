/**
 * The ONNX exporter: kiln Graph -> ModelProto bytes (IR version 10, one default-domain opset).
 *
 * kiln's IR already uses ONNX ops in their newest form, so export is a direct translation: graph
 * inputs and outputs become ValueInfoProtos with their element types and dims (symbolic dims as
 * `dim_param`), constants become initializers stored as `raw_data`, nodes keep their attributes, and
 * every intermediate gets a value_info entry so other tools see kiln's inferred types. Regions become
 * graph attributes (GraphProtos, recursively); sequence and optional types their TypeProto variants
 * (Optional's `type` attribute too, which kiln keeps as type text). Before writing,
 * the graph is checked for what ONNX cannot hold — kiln-only ops (`kiln.*`) and constants whose data
 * was not loaded — and every offender is listed in one KilnError.
 */
import type { AttrValue, Dim, Graph, Node, TensorType } from '../../ir/graph.ts';
import { nodeId, regionsOf, valueTypes } from '../../ir/graph.ts';
import { KilnError } from '../../errors.ts';
import { AttrType, encodeModelProto, type AttributeProto, type GraphProto, type ModelProto, type NodeProto, type TypeProto, type ValueInfoProto } from './schema.ts';
import { onnxDataType, tensorToProto } from './tensor-proto.ts';
import { parseTypeText } from '../../ops/optional.ts';

/** Options of `exportOnnx`. */
export interface ExportOptions {
  /** The ai.onnx opset to declare (default 21). */
  opset?: number;
  /** producer_name of the model (default 'kiln'). */
  producer?: string;
}

/** The ONNX IR version written. */
export const EXPORT_IR_VERSION = 10;

/** Serializes a graph as an ONNX model. */
export function exportOnnx(graph: Graph, opts: ExportOptions = {}): Uint8Array {
  const opset = opts.opset ?? 21;
  const problems: string[] = [];
  const check = (g: Graph) => {
    for (const n of g.nodes) {
      if (n.op.startsWith('kiln.')) problems.push(`node '${nodeId(n)}' uses kiln-only op ${n.op}, which ONNX does not have`);
      for (const [, r] of regionsOf(n)) check(r);
    }
    for (const c of g.constants) {
      if (!c.data) problems.push(`constant '${c.name}' has no data (it was parsed from IR text without its weights)`);
    }
  };
  check(graph);
  if (problems.length) {
    throw new KilnError(`cannot export to ONNX; ${problems.length} problem${problems.length > 1 ? 's' : ''}:\n  ${problems.join('\n  ')}`);
  }
  const names = new Set<string>();
  const model: ModelProto = {
    ir_version: EXPORT_IR_VERSION,
    producer_name: opts.producer ?? 'kiln',
    opset_import: [{ domain: '', version: opset }],
    graph: graphProto(graph, names),
  };
  return encodeModelProto(model);
}

/** A graph or region as a GraphProto (a region's results that are outer values get no type). */
function graphProto(graph: Graph, names: Set<string>): GraphProto {
  const types = valueTypes(graph);
  const outputs = new Set(graph.outputs);
  const valueInfo = (name: string, t: TensorType | undefined): ValueInfoProto => (t ? { name, type: typeProto(t) } : { name });
  return {
    name: graph.name,
    node: graph.nodes.map((n) => nodeProto(n, names)),
    initializer: graph.constants.map((c) => tensorToProto(c.data!, c.name)),
    input: graph.inputs.map((i) => valueInfo(i.name, i.type)),
    output: graph.outputs.map((o) => valueInfo(o, types.get(o))),
    value_info: graph.nodes.flatMap((n) => n.outputs
      .map((o, k) => [o, n.types[k]] as const)
      .filter(([o, t]) => o && t && !outputs.has(o))
      .map(([o, t]) => valueInfo(o, t))),
  };
}

/** A kiln type as a TypeProto: tensor, sequence(tensor), optional(tensor) or optional(sequence). */
function typeProto(t: TensorType): TypeProto {
  const tensor: TypeProto = {
    tensor_type: {
      elem_type: onnxDataType(t.dtype),
      ...(t.unranked ? {} : { shape: { dim: t.shape.map((d: Dim) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } }),
    },
  };
  switch (t.container) {
    case undefined: return tensor;
    case 'seq': return { sequence_type: { elem_type: tensor } };
    case 'opt': return { optional_type: { elem_type: tensor } };
    case 'opt-seq': return { optional_type: { elem_type: { sequence_type: { elem_type: tensor } } } };
  }
}

function nodeProto(n: Node, names: Set<string>): NodeProto {
  let name = n.loc.length ? n.loc.join('+') : nodeId(n);
  if (names.has(name)) name = `${name}/${nodeId(n)}`;
  names.add(name);
  return {
    name,
    op_type: n.op,
    input: [...n.inputs],
    output: [...n.outputs],
    attribute: Object.entries(n.attrs).map(([k, v]) => typeAttrProto(n, k, v) ?? attrProto(k, v, names)),
  };
}

/**
 * Optional's `type` attribute, kept in kiln as its type text (import/onnx/proto-values.ts), written
 * back as the TypeProto ONNX defines it as; undefined for every other attribute.
 */
function typeAttrProto(n: Node, name: string, a: AttrValue): AttributeProto | undefined {
  if (n.op !== 'Optional' || name !== 'type' || a.kind !== 'string') return undefined;
  const t = parseTypeText(a.value);
  return t ? { name, type: AttrType.TYPE_PROTO, tp: typeProto(t) } : undefined;
}

const utf8 = new TextEncoder();

function attrProto(name: string, a: AttrValue, names: Set<string>): AttributeProto {
  switch (a.kind) {
    case 'int': return { name, type: AttrType.INT, i: a.value };
    case 'float': return { name, type: AttrType.FLOAT, f: a.value };
    case 'string': return { name, type: AttrType.STRING, s: utf8.encode(a.value) };
    case 'ints': return { name, type: AttrType.INTS, ints: [...a.value] };
    case 'floats': return { name, type: AttrType.FLOATS, floats: [...a.value] };
    case 'strings': return { name, type: AttrType.STRINGS, strings: a.value.map((s) => utf8.encode(s)) };
    case 'tensor': return { name, type: AttrType.TENSOR, t: tensorToProto(a.value) };
    case 'graph': return { name, type: AttrType.GRAPH, g: graphProto(a.value, names) };
  }
}
