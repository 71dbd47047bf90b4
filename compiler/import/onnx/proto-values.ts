/**
 * Conversions from ONNX protobuf values to kiln values: attributes to `AttrValue`s, `TypeProto`s to
 * tensor types, sparse tensors to dense ones, and Constant nodes to tensors.
 *
 * Attributes are read by their `type` discriminator (IR >= 2), falling back to "which field is
 * present" for writers that leave it unset. A graph attribute (If/Loop/Scan bodies) comes back as
 * `{subgraph}` for the importer to turn into a region; lists of graphs, tensors or types have no kiln
 * equivalent and come back as `{unsupported}` so the importer can report every such node at once. A
 * type attribute (Optional's `type`) comes back as a string holding kiln's type text (`seq<f32[5]>`).
 * Sequence and optional TypeProtos become container types (an element without a shape is
 * unranked). Sparse tensors (COO: values [NNZ] plus linear indices
 * [NNZ] or coordinate indices [NNZ, rank]) are densified, since kiln constants are dense.
 */
import type { AttrValue, Dim, TensorType } from '../../ir/graph.ts';
import { formatType } from '../../ir/graph.ts';
import { Tensor, readInts, stridesOf } from '../../ir/tensor.ts';
import { checkTensorSize } from '../../ir/sizes.ts';
import { KilnError } from '../../errors.ts';
import { AttrType, toInt, type AttributeProto, type GraphProto, type SparseTensorProto, type TypeProto } from './schema.ts';
import { dtypeFromOnnx, onnxTypeName, tensorFromProto, type TensorSource } from './tensor-proto.ts';

const utf8 = new TextDecoder();

/** An attribute kiln cannot represent, with the reason (e.g. "a list-of-graphs attribute"). */
export interface UnsupportedAttr { unsupported: string }

/** A graph attribute, left for the importer to turn into a region (it knows the enclosing scope). */
export interface SubgraphAttr { subgraph: GraphProto }

let typeDims = 0;
/** A name for a dim a type attribute leaves without value or name (when the caller gives no `fresh`). */
const freshTypeDim = () => `_a${typeDims++}`;

/**
 * Converts one AttributeProto. A type attribute (a TypeProto, Optional's `type`) becomes a string
 * attribute holding kiln's type text (ir/graph.ts `formatType`); its unnamed dims get `fresh()` names.
 */
export function attrFromProto(a: AttributeProto, src: TensorSource, fresh: () => string = freshTypeDim): AttrValue | UnsupportedAttr | SubgraphAttr {
  if (a.ref_attr_name) return { unsupported: `a reference to function attribute '${a.ref_attr_name}'` };
  const has = (field: keyof AttributeProto) => Object.prototype.hasOwnProperty.call(a, field) && a[field] !== null;
  let type = a.type ?? AttrType.UNDEFINED;
  if (type === AttrType.UNDEFINED) {
    // IR version 1 writers: infer the kind from the field that is present
    if (has('f')) type = AttrType.FLOAT;
    else if (has('i')) type = AttrType.INT;
    else if (has('s')) type = AttrType.STRING;
    else if (has('t')) type = AttrType.TENSOR;
    else if (has('g')) type = AttrType.GRAPH;
    else if (a.floats?.length) type = AttrType.FLOATS;
    else if (a.ints?.length) type = AttrType.INTS;
    else if (a.strings?.length) type = AttrType.STRINGS;
    else if (a.graphs?.length) type = AttrType.GRAPHS;
    else if (a.tensors?.length) type = AttrType.TENSORS;
    else if (has('sparse_tensor')) type = AttrType.SPARSE_TENSOR;
  }
  switch (type) {
    case AttrType.FLOAT: return { kind: 'float', value: a.f ?? 0 };
    case AttrType.INT: return { kind: 'int', value: toInt(a.i) };
    // an absent bytes field decodes as protobufjs's default, a plain empty array: read it as ''
    case AttrType.STRING: return { kind: 'string', value: a.s instanceof Uint8Array ? utf8.decode(a.s) : '' };
    case AttrType.TENSOR:
      if (!a.t) return { unsupported: 'a tensor attribute without a tensor' };
      return { kind: 'tensor', value: tensorFromProto(a.t, src) };
    case AttrType.SPARSE_TENSOR:
      if (!a.sparse_tensor) return { unsupported: 'a sparse tensor attribute without a tensor' };
      return { kind: 'tensor', value: densify(a.sparse_tensor, src) };
    case AttrType.FLOATS: return { kind: 'floats', value: [...(a.floats ?? [])] };
    case AttrType.INTS: return { kind: 'ints', value: (a.ints ?? []).map((v) => toInt(v)) };
    case AttrType.STRINGS: return { kind: 'strings', value: (a.strings ?? []).map((s) => utf8.decode(s)) };
    case AttrType.GRAPH: return a.g ? { subgraph: a.g } : { unsupported: 'a graph attribute without a graph' };
    case AttrType.GRAPHS: return { unsupported: 'a list-of-graphs attribute' };
    case AttrType.TENSORS: case AttrType.SPARSE_TENSORS: return { unsupported: 'a list-of-tensors attribute' };
    case AttrType.TYPE_PROTO: {
      // kiln's IR has no type attribute kind: a tensor or sequence type is kept as its type text
      // (formatType), which the op reading it parses back (ops/optional.ts `parseTypeText`)
      const t = a.tp ? tensorTypeFromProto(a.tp, fresh) : 'no type is given';
      if (typeof t === 'string') return { unsupported: `a type attribute kiln cannot read (${t})` };
      if (t.container === 'opt' || t.container === 'opt-seq') return { unsupported: 'a type attribute holding an optional type' };
      return { kind: 'string', value: formatType(t) };
    }
    case AttrType.TYPE_PROTOS: return { unsupported: 'a list-of-types attribute' };
    default: return { unsupported: `an attribute of unknown type ${type}` };
  }
}

/** Densifies a COO sparse tensor. */
export function densify(sp: SparseTensorProto, src: TensorSource): Tensor {
  const dims = (sp.dims ?? []).map((d) => toInt(d));
  const name = sp.values?.name || '(sparse)';
  const fail = (m: string): never => { throw new KilnError(`sparse tensor '${name}': ${m}`, { file: src.file }); };
  if (!sp.values || !sp.indices) return fail('values or indices are missing');
  const values = tensorFromProto(sp.values, src);
  const total = checkTensorSize({ value: name, what: 'sparse tensor', file: src.file }, values.dtype, dims);
  const indices = readInts(tensorFromProto(sp.indices, src));
  const nnz = values.size;
  const out = Tensor.zeros(values.dtype, dims);
  const strides = stridesOf(dims);
  const coordinates = indices.length === nnz * dims.length && dims.length !== 1;
  if (!coordinates && indices.length !== nnz) fail(`has ${indices.length} indices for ${nnz} values`);
  const dst = out.data as unknown as unknown[];
  const from = values.data as unknown as unknown[];
  for (let k = 0; k < nnz; k++) {
    let off = 0;
    if (coordinates) for (let r = 0; r < dims.length; r++) off += indices[k * dims.length + r] * strides[r];
    else off = indices[k];
    if (off < 0 || off >= total) fail(`index ${off} is out of range for shape [${dims.join(',')}]`);
    dst[off] = from[k];
  }
  return out;
}

/** The value of a Constant node from whichever `value*` attribute it carries. */
export function constantNodeValue(attrs: Readonly<Record<string, AttrValue>>): Tensor | string {
  const keys = Object.keys(attrs).filter((k) => k.startsWith('value') || k === 'sparse_value');
  if (keys.length !== 1) return `a Constant node needs exactly one value attribute, found ${keys.length ? keys.join(', ') : 'none'}`;
  const a = attrs[keys[0]];
  switch (keys[0]) {
    case 'value': case 'sparse_value':
      return a.kind === 'tensor' ? a.value : `attribute '${keys[0]}' is not a tensor`;
    case 'value_float': return Tensor.fromNumbers('f32', [], [a.value as number]);
    case 'value_floats': { const v = a.value as number[]; return Tensor.fromNumbers('f32', [v.length], v); }
    case 'value_int': return new Tensor('i64', [], BigInt64Array.of(BigInt(a.value as number)));
    case 'value_ints': { const v = a.value as number[]; return new Tensor('i64', [v.length], BigInt64Array.from(v, (x) => BigInt(x))); }
    case 'value_string': return new Tensor('str', [], [a.value as string]);
    case 'value_strings': { const v = a.value as string[]; return new Tensor('str', [v.length], [...v]); }
    default: return `unknown Constant attribute '${keys[0]}'`;
  }
}

/**
 * Describes a TypeProto kiln has no type for (maps, sparse tensors, opaque types, sequences of
 * sequences, ...) or returns undefined for the ones it has: tensors, sequences of tensors, optional
 * tensors and optional sequences of tensors.
 */
export function nonTensorKind(t: TypeProto | null | undefined): string | undefined {
  if (!t || !t.value || t.value === 'tensor_type') return undefined;
  const inner = t.sequence_type?.elem_type ?? t.optional_type?.elem_type;
  if (t.value === 'sequence_type' && (!inner || !inner.value || inner.value === 'tensor_type')) return undefined;
  if (t.value === 'optional_type' && (!inner || !inner.value || inner.value === 'tensor_type')) return undefined;
  if (t.value === 'optional_type' && inner?.value === 'sequence_type') {
    const leaf = inner.sequence_type?.elem_type;
    if (!leaf || !leaf.value || leaf.value === 'tensor_type') return undefined;
  }
  const names = { sequence_type: 'a sequence', map_type: 'a map', optional_type: 'an optional', sparse_tensor_type: 'a sparse tensor',
    opaque_type: 'an opaque' } as const;
  if (t.value === 'sequence_type' || t.value === 'optional_type') return `${names[t.value]} of ${nonTensorKind(inner) ?? 'a tensor type'}`;
  return names[t.value] + ' type';
}

/**
 * The kiln type of a tensor TypeProto. Returns a string describing the problem when the element type
 * has no kiln dtype or the shape (rank) is missing. Dims without value or name get `fresh()` names.
 */
export function tensorTypeFromProto(t: TypeProto | null | undefined, fresh: () => string): TensorType | string {
  if (t?.sequence_type || t?.optional_type) {
    // sequence(tensor), optional(tensor), optional(sequence(tensor)); an element without a shape is unranked
    const seq = t.sequence_type ?? t.optional_type?.elem_type?.sequence_type;
    const container = t.sequence_type ? 'seq' : seq ? 'opt-seq' : 'opt';
    const leaf = seq ? seq.elem_type : t.optional_type?.elem_type;
    if (!leaf?.tensor_type) return `its ${container === 'opt' ? 'optional' : 'sequence'} element type is not given`;
    if (!leaf.tensor_type.shape) {
      const dtype = dtypeFromOnnx(leaf.tensor_type.elem_type ?? 0);
      if (!dtype) return `element type ${onnxTypeName(leaf.tensor_type.elem_type ?? 0)} is not supported`;
      return { dtype, shape: [], container, unranked: true };
    }
    const inner = tensorTypeFromProto(leaf, fresh);
    return typeof inner === 'string' ? inner : { ...inner, container };
  }
  const tt = t?.tensor_type;
  if (!tt) return 'no tensor type';
  const code = tt.elem_type ?? 0;
  const dtype = dtypeFromOnnx(code);
  if (!dtype) return `element type ${onnxTypeName(code)} is not supported`;
  if (!tt.shape) return 'its shape (rank) is not given';
  const shape: Dim[] = (tt.shape.dim ?? []).map((d) => {
    if (d.value === 'dim_value') return toInt(d.dim_value);
    if (d.value === 'dim_param' && d.dim_param) return d.dim_param;
    return fresh();
  });
  return { dtype, shape };
}
