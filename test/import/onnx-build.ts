/**
 * Helpers for tests that hand-build ONNX protos: attribute makers, value infos, tensors, nodes and
 * whole models encoded with kiln's own schema (so old-opset forms can be written directly).
 */
import { AttrType, encodeModelProto, type AttributeProto, type GraphProto, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from '../../compiler/import/onnx/schema.ts';

const utf8 = new TextEncoder();

export const attr = {
  int: (name: string, i: number): AttributeProto => ({ name, type: AttrType.INT, i }),
  float: (name: string, f: number): AttributeProto => ({ name, type: AttrType.FLOAT, f }),
  str: (name: string, s: string): AttributeProto => ({ name, type: AttrType.STRING, s: utf8.encode(s) }),
  ints: (name: string, ints: number[]): AttributeProto => ({ name, type: AttrType.INTS, ints }),
  floats: (name: string, floats: number[]): AttributeProto => ({ name, type: AttrType.FLOATS, floats }),
  strings: (name: string, s: string[]): AttributeProto => ({ name, type: AttrType.STRINGS, strings: s.map((x) => utf8.encode(x)) }),
  tensor: (name: string, t: TensorProto): AttributeProto => ({ name, type: AttrType.TENSOR, t }),
  /** A graph attribute (a subgraph: If's branches, Loop's and Scan's bodies). */
  graph: (name: string, g: GraphProto): AttributeProto => ({ name, type: AttrType.GRAPH, g }),
};

/** A subgraph for a graph attribute. */
export function subgraph(name: string, nodes: NodeProto[], inputs: ValueInfoProto[], outputs: ValueInfoProto[], initializer: TensorProto[] = []): GraphProto {
  return { name, node: nodes, input: inputs, output: outputs, initializer };
}

/** A NodeProto. */
export function node(op: string, input: string[], output: string[], attribute: AttributeProto[] = [], name?: string, domain?: string): NodeProto {
  return { op_type: op, input, output, attribute, ...(name !== undefined ? { name } : {}), ...(domain !== undefined ? { domain } : {}) };
}

/** A tensor ValueInfoProto; dims are numbers (dim_value), strings (dim_param) or null (neither). */
export function value(name: string, elemType: number, dims: (number | string | null)[] | null): ValueInfoProto {
  const shape = dims === null ? undefined : {
    dim: dims.map((d) => (d === null ? {} : typeof d === 'number' ? { dim_value: d } : { dim_param: d })),
  };
  return { name, type: { tensor_type: { elem_type: elemType, ...(shape ? { shape } : {}) } } };
}

/** A float32 TensorProto with float_data. */
export function floatTensor(name: string, dims: number[], values: number[]): TensorProto {
  return { name, dims, data_type: 1, float_data: values };
}

/** An int64 TensorProto with int64_data. */
export function int64Tensor(name: string, dims: number[], values: number[]): TensorProto {
  return { name, dims, data_type: 7, int64_data: values };
}

/** Model parts. */
export interface ModelSpec {
  opset?: number;
  ir?: number;
  nodes: NodeProto[];
  inputs: ValueInfoProto[];
  outputs: ValueInfoProto[];
  initializers?: TensorProto[];
  valueInfo?: ValueInfoProto[];
  extraOpsets?: { domain: string; version: number }[];
}

/** A ModelProto object. */
export function modelProto(spec: ModelSpec): ModelProto {
  return {
    ir_version: spec.ir ?? 8,
    producer_name: 'kiln-test',
    opset_import: [{ domain: '', version: spec.opset ?? 17 }, ...(spec.extraOpsets ?? [])],
    graph: {
      name: 'test',
      node: spec.nodes,
      input: spec.inputs,
      output: spec.outputs,
      initializer: spec.initializers ?? [],
      value_info: spec.valueInfo ?? [],
    },
  };
}

/** Encoded model bytes. */
export function modelBytes(spec: ModelSpec): Uint8Array {
  return encodeModelProto(modelProto(spec));
}
