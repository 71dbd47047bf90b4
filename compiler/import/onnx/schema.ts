/**
 * kiln's ONNX protobuf schema and the (de)serialisers built from it.
 *
 * The schema is a proto2 text of the ONNX messages kiln reads and writes (ModelProto, GraphProto,
 * NodeProto, AttributeProto, TensorProto with segments and external data, SparseTensorProto,
 * ValueInfoProto, TypeProto with all its variants, TensorShapeProto, OperatorSetIdProto,
 * StringStringEntryProto, FunctionProto, TrainingInfoProto, and the test format's SequenceProto and
 * OptionalProto of onnx-ml.proto). Field numbers follow onnx/onnx.proto; fields kiln never needs
 * (device configurations, quantization annotations, maps) are left out and skipped
 * by the decoder as unknown fields. protobufjs parses the text once at load time and does all wire
 * work; the TypeScript interfaces below describe the decoded objects (`keepCase`, so field names are
 * the snake_case names of onnx.proto; 64-bit ints decode to `number | Long`, see `toInt`/`toBigInt`).
 */
import protobuf from 'protobufjs';

const PROTO = `
syntax = "proto2";
package onnx;

message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}

message AttributeProto {
  enum AttributeType {
    UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5; FLOATS = 6; INTS = 7;
    STRINGS = 8; TENSORS = 9; GRAPHS = 10; SPARSE_TENSOR = 11; SPARSE_TENSORS = 12;
    TYPE_PROTO = 13; TYPE_PROTOS = 14;
  }
  optional string name = 1;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  optional GraphProto g = 6;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  repeated TensorProto tensors = 10;
  repeated GraphProto graphs = 11;
  optional string doc_string = 13;
  optional TypeProto tp = 14;
  repeated TypeProto type_protos = 15;
  optional AttributeType type = 20;
  optional string ref_attr_name = 21;
  optional SparseTensorProto sparse_tensor = 22;
  repeated SparseTensorProto sparse_tensors = 23;
}

message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
  repeated StringStringEntryProto metadata_props = 4;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
  optional string domain = 7;
  optional string overload = 8;
  repeated StringStringEntryProto metadata_props = 9;
}

message TrainingInfoProto {
  optional GraphProto initialization = 1;
  optional GraphProto algorithm = 2;
  repeated StringStringEntryProto initialization_binding = 3;
  repeated StringStringEntryProto update_binding = 4;
}

message ModelProto {
  optional int64 ir_version = 1;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
  repeated StringStringEntryProto metadata_props = 14;
  repeated TrainingInfoProto training_info = 20;
  repeated FunctionProto functions = 25;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
  repeated SparseTensorProto sparse_initializer = 15;
  repeated StringStringEntryProto metadata_props = 16;
}

message TensorProto {
  enum DataLocation { DEFAULT = 0; EXTERNAL = 1; }
  message Segment {
    optional int64 begin = 1;
    optional int64 end = 2;
  }
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  optional Segment segment = 3;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated bytes string_data = 6;
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional bytes raw_data = 9;
  repeated double double_data = 10 [packed = true];
  repeated uint64 uint64_data = 11 [packed = true];
  optional string doc_string = 12;
  repeated StringStringEntryProto external_data = 13;
  optional DataLocation data_location = 14;
  repeated StringStringEntryProto metadata_props = 16;
}

message SparseTensorProto {
  optional TensorProto values = 1;
  optional TensorProto indices = 2;
  repeated int64 dims = 3;
}

message SequenceProto {
  optional string name = 1;
  optional int32 elem_type = 2;
  repeated TensorProto tensor_values = 3;
  repeated SparseTensorProto sparse_tensor_values = 4;
  repeated SequenceProto sequence_values = 5;
  repeated OptionalProto optional_values = 7;
}

message OptionalProto {
  optional string name = 1;
  optional int32 elem_type = 2;
  optional TensorProto tensor_value = 3;
  optional SparseTensorProto sparse_tensor_value = 4;
  optional SequenceProto sequence_value = 5;
  optional OptionalProto optional_value = 7;
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
    optional string denotation = 3;
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  message Sequence {
    optional TypeProto elem_type = 1;
  }
  message Map {
    optional int32 key_type = 1;
    optional TypeProto value_type = 2;
  }
  message Optional {
    optional TypeProto elem_type = 1;
  }
  message SparseTensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  message Opaque {
    optional string domain = 1;
    optional string name = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
    Sequence sequence_type = 4;
    Map map_type = 5;
    Opaque opaque_type = 7;
    SparseTensor sparse_tensor_type = 8;
    Optional optional_type = 9;
  }
  optional string denotation = 6;
}

message FunctionProto {
  optional string name = 1;
  repeated string input = 4;
  repeated string output = 5;
  repeated string attribute = 6;
  repeated NodeProto node = 7;
  optional string doc_string = 8;
  repeated OperatorSetIdProto opset_import = 9;
  optional string domain = 10;
  repeated AttributeProto attribute_proto = 11;
  repeated ValueInfoProto value_info = 12;
  optional string overload = 13;
  repeated StringStringEntryProto metadata_props = 14;
}
`;

/** A 64-bit integer as protobufjs decodes it (a Long when the value needs more than 32 bits). */
export type Int64 = number | { low: number; high: number; unsigned?: boolean; toString(): string };

export interface StringStringEntryProto { key?: string; value?: string }
export interface OperatorSetIdProto { domain?: string; version?: Int64 }

/** AttributeProto.AttributeType values. */
export const AttrType = {
  UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8,
  TENSORS: 9, GRAPHS: 10, SPARSE_TENSOR: 11, SPARSE_TENSORS: 12, TYPE_PROTO: 13, TYPE_PROTOS: 14,
} as const;

export interface AttributeProto {
  name?: string;
  type?: number;
  f?: number;
  i?: Int64;
  s?: Uint8Array;
  t?: TensorProto;
  g?: GraphProto;
  floats?: number[];
  ints?: Int64[];
  strings?: Uint8Array[];
  tensors?: TensorProto[];
  graphs?: GraphProto[];
  sparse_tensor?: SparseTensorProto;
  sparse_tensors?: SparseTensorProto[];
  tp?: TypeProto;
  type_protos?: TypeProto[];
  ref_attr_name?: string;
  doc_string?: string;
}

export interface TensorProto {
  dims?: Int64[];
  data_type?: number;
  segment?: { begin?: Int64; end?: Int64 } | null;
  float_data?: number[];
  int32_data?: number[];
  string_data?: Uint8Array[];
  int64_data?: Int64[];
  name?: string;
  raw_data?: Uint8Array;
  double_data?: number[];
  uint64_data?: Int64[];
  doc_string?: string;
  external_data?: StringStringEntryProto[];
  /** 0 = DEFAULT (inline), 1 = EXTERNAL. */
  data_location?: number;
}

export interface SparseTensorProto { values?: TensorProto; indices?: TensorProto; dims?: Int64[] }

/** SequenceProto.DataType and OptionalProto.DataType: what a sequence's elements or an optional's value are. */
export const ValueElemType = { UNDEFINED: 0, TENSOR: 1, SPARSE_TENSOR: 2, SEQUENCE: 3, MAP: 4, OPTIONAL: 5 } as const;

/** A serialized sequence (the `.pb` of a sequence input or output in the ONNX test format). Maps (field 6) are left out. */
export interface SequenceProto {
  name?: string;
  /** A ValueElemType. */
  elem_type?: number;
  tensor_values?: TensorProto[];
  sparse_tensor_values?: SparseTensorProto[];
  sequence_values?: SequenceProto[];
  optional_values?: OptionalProto[];
}

/** A serialized optional: none when `elem_type` is UNDEFINED and no value is set. Maps (field 6) are left out. */
export interface OptionalProto {
  name?: string;
  /** A ValueElemType. */
  elem_type?: number;
  tensor_value?: TensorProto | null;
  sparse_tensor_value?: SparseTensorProto | null;
  sequence_value?: SequenceProto | null;
  optional_value?: OptionalProto | null;
}

export interface DimensionProto { dim_value?: Int64; dim_param?: string; denotation?: string; value?: 'dim_value' | 'dim_param' }
export interface TensorShapeProto { dim?: DimensionProto[] }

export interface TypeProto {
  tensor_type?: { elem_type?: number; shape?: TensorShapeProto | null } | null;
  sequence_type?: { elem_type?: TypeProto | null } | null;
  map_type?: { key_type?: number; value_type?: TypeProto | null } | null;
  optional_type?: { elem_type?: TypeProto | null } | null;
  sparse_tensor_type?: { elem_type?: number; shape?: TensorShapeProto | null } | null;
  opaque_type?: { domain?: string; name?: string } | null;
  /** Name of the variant that is set (protobufjs virtual oneof field). */
  value?: 'tensor_type' | 'sequence_type' | 'map_type' | 'optional_type' | 'sparse_tensor_type' | 'opaque_type';
  denotation?: string;
}

export interface ValueInfoProto { name?: string; type?: TypeProto | null; doc_string?: string }

export interface NodeProto {
  input?: string[];
  output?: string[];
  name?: string;
  op_type?: string;
  domain?: string;
  overload?: string;
  attribute?: AttributeProto[];
  doc_string?: string;
}

export interface GraphProto {
  node?: NodeProto[];
  name?: string;
  initializer?: TensorProto[];
  sparse_initializer?: SparseTensorProto[];
  doc_string?: string;
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
  value_info?: ValueInfoProto[];
}

export interface FunctionProto {
  name?: string;
  domain?: string;
  overload?: string;
  input?: string[];
  output?: string[];
  attribute?: string[];
  /** Attributes with their default values (IR 9+). */
  attribute_proto?: AttributeProto[];
  node?: NodeProto[];
  opset_import?: OperatorSetIdProto[];
}

export interface ModelProto {
  ir_version?: Int64;
  opset_import?: OperatorSetIdProto[];
  producer_name?: string;
  producer_version?: string;
  domain?: string;
  model_version?: Int64;
  doc_string?: string;
  graph?: GraphProto | null;
  metadata_props?: StringStringEntryProto[];
  functions?: FunctionProto[];
}

const root = protobuf.parse(PROTO, { keepCase: true }).root;

/** The protobufjs message types of the schema, by unqualified name. */
export const onnxTypes = {
  ModelProto: root.lookupType('onnx.ModelProto'),
  GraphProto: root.lookupType('onnx.GraphProto'),
  NodeProto: root.lookupType('onnx.NodeProto'),
  TensorProto: root.lookupType('onnx.TensorProto'),
  TypeProto: root.lookupType('onnx.TypeProto'),
  SequenceProto: root.lookupType('onnx.SequenceProto'),
  OptionalProto: root.lookupType('onnx.OptionalProto'),
};

/** Decodes a ModelProto; throws protobufjs's error on malformed bytes (callers wrap it). */
export function decodeModelProto(bytes: Uint8Array): ModelProto {
  return onnxTypes.ModelProto.decode(bytes) as unknown as ModelProto;
}

/** Encodes a ModelProto given as a plain object in the shape of the interfaces above. */
export function encodeModelProto(model: ModelProto): Uint8Array {
  const t = onnxTypes.ModelProto;
  return t.encode(t.fromObject(model as Record<string, unknown>)).finish();
}

/** Decodes a serialized TensorProto (a `.pb` file of the ONNX test format). */
export function decodeTensorProto(bytes: Uint8Array): TensorProto {
  return onnxTypes.TensorProto.decode(bytes) as unknown as TensorProto;
}

/** Encodes a TensorProto given as a plain object. */
export function encodeTensorProto(tensor: TensorProto): Uint8Array {
  const t = onnxTypes.TensorProto;
  return t.encode(t.fromObject(tensor as Record<string, unknown>)).finish();
}

/** Decodes a serialized SequenceProto. */
export function decodeSequenceProto(bytes: Uint8Array): SequenceProto {
  return onnxTypes.SequenceProto.decode(bytes) as unknown as SequenceProto;
}

/** Encodes a SequenceProto given as a plain object. */
export function encodeSequenceProto(seq: SequenceProto): Uint8Array {
  const t = onnxTypes.SequenceProto;
  return t.encode(t.fromObject(seq as Record<string, unknown>)).finish();
}

/** Decodes a serialized OptionalProto. */
export function decodeOptionalProto(bytes: Uint8Array): OptionalProto {
  return onnxTypes.OptionalProto.decode(bytes) as unknown as OptionalProto;
}

/** Encodes an OptionalProto given as a plain object. */
export function encodeOptionalProto(opt: OptionalProto): Uint8Array {
  const t = onnxTypes.OptionalProto;
  return t.encode(t.fromObject(opt as Record<string, unknown>)).finish();
}

/** A decoded 64-bit integer as a JS number (exact below 2^53, nearest double beyond). */
export function toInt(v: Int64 | undefined | null): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  return v.unsigned ? (v.high >>> 0) * 4294967296 + (v.low >>> 0) : v.high * 4294967296 + (v.low >>> 0);
}

/** A decoded 64-bit integer as an exact bigint. */
export function toBigInt(v: Int64 | undefined | null, unsigned = false): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'number') return BigInt(v);
  const bits = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return unsigned || v.unsigned ? bits : BigInt.asIntN(64, bits);
}
