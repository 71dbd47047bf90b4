/**
 * The TensorProto codec: ONNX serialized tensors <-> kiln Tensors.
 *
 * Decoding reads the element type code, the dims, and the data from whichever field holds it:
 *   - `raw_data`: fixed-width little-endian elements; sub-byte types (4-bit, 2-bit) are packed from
 *     the low bits of each byte (element 0 in bits 0-3 for 4-bit types);
 *   - the typed fields: `float_data` (f32), `double_data` (f64), `int64_data` (i64), `uint64_data`
 *     (u32/u64), `string_data` (str) and `int32_data`, which holds every narrower type one element per
 *     entry (int8/16, uint8/16, bool, f16/bf16 bits, float8 codes) and packed bytes for the sub-byte
 *     types (one packed byte per entry);
 *   - external data: `data_location = EXTERNAL` with `location`/`offset`/`length` entries, a file path
 *     relative to the model's folder, whose bytes are then read like `raw_data`.
 * A tensor without any data field has zero elements (or is an error otherwise). Encoding always writes
 * `raw_data` (or `string_data` for strings). Every failure is a KilnError naming the tensor and file.
 *
 * The test format's sequence and optional values (SequenceProto, OptionalProto) are read here too
 * (`readValueFile`): a sequence of tensors becomes an array of tensors, an optional its tensor or
 * sequence, or `null` when its element type is UNDEFINED (ir/value.ts). `encodeValue` writes them
 * back: a sequence as a SequenceProto of TENSOR elements (`sequenceToProto`; an empty one too), an
 * optional as an OptionalProto holding a TENSOR or SEQUENCE, or UNDEFINED for none (`optionalToProto`),
 * so `readValueFile` of the same type reads the value again.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DType, TensorData } from '../../ir/dtype.ts';
import { dtypeInfo } from '../../ir/dtype.ts';
import { Tensor } from '../../ir/tensor.ts';
import { checkTensorSize } from '../../ir/sizes.ts';
import { KilnError } from '../../errors.ts';
import { fileProblem, openRegularFile, readRange, readRegularFile, resolveInsideFolder, writeFileAtomic, type OpenFile } from '../../files.ts';
import { ONNX_CODES } from '../../ops/cast.ts';
import type { TensorType } from '../../ir/graph.ts';
import type { TensorSequence, Value } from '../../ir/value.ts';
import {
  type OptionalProto, type SequenceProto, type TensorProto, ValueElemType, decodeOptionalProto, decodeSequenceProto,
  decodeTensorProto, encodeOptionalProto, encodeSequenceProto, encodeTensorProto, toBigInt, toInt,
} from './schema.ts';

/** ONNX TensorProto.DataType code -> kiln dtype (the one table, ops/cast.ts; codes 14/15, complex, have none). */
const FROM_ONNX = ONNX_CODES;

const ONNX_NAMES: Readonly<Record<number, string>> = {
  0: 'UNDEFINED', 14: 'COMPLEX64', 15: 'COMPLEX128',
};

const TO_ONNX = new Map<DType, number>(Object.entries(FROM_ONNX).map(([code, d]) => [d, Number(code)]));

/** The kiln dtype of an ONNX data type code, or undefined for codes kiln has no dtype for. */
export function dtypeFromOnnx(code: number): DType | undefined {
  return FROM_ONNX[code];
}

/** The ONNX data type code of a kiln dtype. */
export function onnxDataType(dtype: DType): number {
  return TO_ONNX.get(dtype)!;
}

/** A readable name of an ONNX data type code for error messages. */
export function onnxTypeName(code: number): string {
  return FROM_ONNX[code] ?? ONNX_NAMES[code] ?? `data type ${code}`;
}

/** Where a TensorProto came from, for external data and error messages. */
export interface TensorSource {
  /** The model or .pb file (external data is resolved relative to its folder). */
  file?: string;
}

/** Decodes a TensorProto into a Tensor. */
export function tensorFromProto(p: TensorProto, src: TensorSource = {}): Tensor {
  const name = p.name || '(unnamed)';
  const fail = (msg: string): never => { throw new KilnError(`tensor '${name}': ${msg}`, { file: src.file }); };
  const code = p.data_type ?? 0;
  const dtype = FROM_ONNX[code];
  if (!dtype) fail(`element type ${onnxTypeName(code)} is not supported`);
  const shape = (p.dims ?? []).map((d) => toInt(d));
  if (p.segment) fail('segmented tensors (TensorProto.segment) are not supported');
  const t = dtype as DType;
  const n = checkTensorSize({ value: name, file: src.file }, t, shape);
  const data = readData(p, t, n, src, fail);
  return new Tensor(t, shape, data);
}

function readData(p: TensorProto, dtype: DType, n: number, src: TensorSource, fail: (m: string) => never): TensorData {
  if (p.data_location === 1) {
    if (dtype === 'str') return fail('string tensors cannot be stored in raw_data or external data');
    return fromBytes(readExternal(p, src, Math.ceil((n * dtypeInfo(dtype).bits) / 8), `${n} ${dtype} elements`, fail), dtype, n, fail);
  }
  if (dtype === 'str') {
    const s = p.string_data ?? [];
    if (s.length !== n) fail(`string_data has ${s.length} elements, expected ${n}`);
    const dec = new TextDecoder();
    return s.map((b) => dec.decode(b));
  }
  if (p.raw_data && p.raw_data.length > 0) return fromBytes(p.raw_data, dtype, n, fail);
  const typed = typedField(p, dtype);
  if (typed === undefined) {
    if (n === 0) return dtypeInfo(dtype).alloc(0);
    return fail(`no data (expected ${n} elements in raw_data or a typed field)`);
  }
  return fromTypedField(typed, dtype, n, fail);
}

/** The typed data field for a dtype when it is non-empty. */
function typedField(p: TensorProto, dtype: DType): ArrayLike<unknown> | undefined {
  let f: ArrayLike<unknown> | undefined;
  switch (dtype) {
    case 'f32': f = p.float_data; break;
    case 'f64': f = p.double_data; break;
    case 'i64': f = p.int64_data; break;
    case 'u32': case 'u64': f = p.uint64_data; break;
    default: f = p.int32_data;
  }
  return f && f.length > 0 ? f : undefined;
}

function fromTypedField(f: ArrayLike<unknown>, dtype: DType, n: number, fail: (m: string) => never): TensorData {
  const bits = dtypeInfo(dtype).bits;
  if (bits < 8) {
    // sub-byte types: one packed byte per entry; a list of one value per element is accepted too
    const vals = f as ArrayLike<number>;
    const packedLen = Math.ceil((n * bits) / 8);
    if (vals.length === packedLen) return unpackSubByte(Uint8Array.from(vals as ArrayLike<number>, (v) => v & 0xff), dtype, n);
    if (vals.length !== n) fail(`int32_data has ${vals.length} entries, expected ${packedLen} packed bytes`);
    return unpackSubByte(packValues(vals, bits), dtype, n);
  }
  if (f.length !== n) fail(`data field has ${f.length} elements, expected ${n}`);
  const out = dtypeInfo(dtype).alloc(n);
  if (dtype === 'i64' || dtype === 'u64') {
    const dst = out as BigInt64Array | BigUint64Array;
    const unsigned = dtype === 'u64';
    for (let i = 0; i < n; i++) {
      const v = toBigInt(f[i] as number, unsigned);
      dst[i] = unsigned ? BigInt.asUintN(64, v) : v;
    }
  } else if (dtype === 'u32') {
    const dst = out as Uint32Array;
    for (let i = 0; i < n; i++) dst[i] = toInt(f[i] as number);
  } else if (dtype === 'bool') {
    const dst = out as Uint8Array;
    for (let i = 0; i < n; i++) dst[i] = (f[i] as number) ? 1 : 0;
  } else {
    // typed-array assignment converts: f16/bf16 bits and float8 codes land as their integer codes
    const dst = out as Exclude<TensorData, string[] | BigInt64Array | BigUint64Array>;
    for (let i = 0; i < n; i++) dst[i] = f[i] as number;
  }
  return out;
}

/** Packs one-value-per-entry sub-byte values into bytes (low bits first). */
function packValues(vals: ArrayLike<number>, bits: number): Uint8Array {
  const per = 8 / bits;
  const mask = (1 << bits) - 1;
  const out = new Uint8Array(Math.ceil(vals.length / per));
  for (let i = 0; i < vals.length; i++) out[(i / per) | 0] |= (vals[i] & mask) << ((i % per) * bits);
  return out;
}

/** Reads little-endian fixed-width elements (or packed sub-byte elements) from bytes. */
function fromBytes(bytes: Uint8Array, dtype: DType, n: number, fail: (m: string) => never): TensorData {
  if (dtype === 'str') return fail('string tensors cannot be stored in raw_data or external data');
  const bits = dtypeInfo(dtype).bits;
  const want = Math.ceil((n * bits) / 8);
  if (bytes.length !== want) fail(`raw data has ${bytes.length} bytes, expected ${want} for ${n} ${dtype} elements`);
  if (bits < 8) return unpackSubByte(bytes, dtype, n);
  const out = dtypeInfo(dtype).alloc(n) as Exclude<TensorData, string[]>;
  // copy into the (aligned) storage byte by byte; the host is little-endian like the wire format
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes);
  if (dtype === 'bool') {
    const b = out as Uint8Array;
    for (let i = 0; i < n; i++) b[i] = b[i] ? 1 : 0;
  }
  return out;
}

/** Unpacks 4-bit or 2-bit elements (element 0 in the lowest bits), sign-extending signed types. */
function unpackSubByte(bytes: Uint8Array, dtype: DType, n: number): TensorData {
  const bits = dtypeInfo(dtype).bits;
  const per = 8 / bits;
  const mask = (1 << bits) - 1;
  const signed = dtype === 'i4' || dtype === 'i2';
  const out = dtypeInfo(dtype).alloc(n) as Int8Array | Uint8Array;
  const signBit = 1 << (bits - 1);
  for (let i = 0; i < n; i++) {
    const v = (bytes[(i / per) | 0] >> ((i % per) * bits)) & mask;
    out[i] = signed && v & signBit ? v - (1 << bits) : v;
  }
  return out;
}

/** Packs unpacked sub-byte storage into bytes, element 0 in the lowest bits. */
function packSubByte(data: Int8Array | Uint8Array, bits: number): Uint8Array {
  return packValues(data, bits);
}

/**
 * Reads the bytes of an externally stored tensor. The location must stay inside the model's folder
 * once every symbolic link is resolved (as onnxruntime requires), and must be a regular file: a
 * FIFO, a device or a folder is refused before it is opened for reading. Its length must be the
 * `want` bytes the tensor's type needs (`elements` describes them), checked before anything is read.
 */
function readExternal(p: TensorProto, src: TensorSource, want: number, elements: string, fail: (m: string) => never): Uint8Array {
  const entries = new Map((p.external_data ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const location = entries.get('location');
  if (!location) return fail('data_location is EXTERNAL but external_data has no "location"');
  if (!src.file) return fail(`data is stored in external file '${location}', but the model was given without a file path to resolve it against`);
  const offset = entries.has('offset') ? Number(entries.get('offset')) : 0;
  const lengthText = entries.get('length');
  if (!Number.isSafeInteger(offset) || offset < 0) fail(`external data offset '${entries.get('offset')}' is invalid`);
  const where = `external data location '${location}'`;
  let f: OpenFile;
  try {
    f = openRegularFile(resolveInsideFolder(path.dirname(src.file), location));
  } catch (e) {
    return fail(`${where}: ${fileProblem(e)}`);
  }
  try {
    const size = f.size;
    if (offset > size) fail(`${where}: the file has ${size} bytes, but offset ${offset} is past its end`);
    const length = lengthText !== undefined ? Number(lengthText) : size - offset;
    if (!Number.isSafeInteger(length) || length < 0) fail(`external data length '${lengthText}' is invalid`);
    if (offset + length > size) fail(`${where}: the file has ${size} bytes, but offset ${offset} + length ${length} runs past its end`);
    if (length !== want) fail(`${where}: raw data has ${length} bytes, expected ${want} for ${elements}`);
    try {
      return readRange(f, offset, length);
    } catch (e) {
      return fail(`${where}: ${fileProblem(e)}`);
    }
  } finally {
    fs.closeSync(f.fd);
  }
}

/** Encodes a Tensor as a TensorProto object (raw_data, or string_data for strings). */
export function tensorToProto(t: Tensor, name?: string): TensorProto {
  const p: TensorProto = { dims: [...t.shape], data_type: onnxDataType(t.dtype) };
  if (name !== undefined) p.name = name;
  if (t.dtype === 'str') {
    const enc = new TextEncoder();
    p.string_data = (t.data as string[]).map((s) => enc.encode(s));
    return p;
  }
  const bits = dtypeInfo(t.dtype).bits;
  if (bits < 8) {
    p.raw_data = packSubByte(t.data as Int8Array | Uint8Array, bits);
  } else {
    const d = t.data as Exclude<TensorData, string[]>;
    p.raw_data = new Uint8Array(d.buffer, d.byteOffset, d.byteLength); // a view: the encoder copies it
  }
  return p;
}

/** Serializes a Tensor as TensorProto bytes. */
export function encodeTensor(t: Tensor, name?: string): Uint8Array {
  return encodeTensorProto(tensorToProto(t, name));
}

/** Decodes TensorProto bytes into a tensor and its name; `file` is used in errors and for external data. */
export function decodeTensor(bytes: Uint8Array, file?: string): { name: string; tensor: Tensor } {
  let p: TensorProto;
  try {
    p = decodeTensorProto(bytes);
  } catch (e) {
    throw new KilnError(`not a valid TensorProto: ${(e as Error).message}`, { file });
  }
  return { name: p.name ?? '', tensor: tensorFromProto(p, { file }) };
}

/** Reads a `.pb` TensorProto file. */
export function readTensorFile(file: string): Tensor {
  return readNamedTensorFile(file).tensor;
}

/** Reads a `.pb` TensorProto file with the tensor's stored name. */
export function readNamedTensorFile(file: string): { name: string; tensor: Tensor } {
  const bytes = readRegularFile(file, 'tensor file');
  return decodeTensor(bytes, file);
}

/**
 * Reads a `.pb` file of the ONNX test format holding a value of `type` (a tensor when omitted): a
 * TensorProto for a tensor, a SequenceProto of tensors for `seq<T>`, an OptionalProto for `opt<T>`
 * (a tensor or none) and `opt<seq<T>>` (a sequence or none). The file does not say which message it
 * holds, so the type decides; a file whose content does not fit it is a KilnError naming the file.
 * Dtypes and ranks are the caller's to check (ir/value.ts `valueProblem`).
 */
export function readValueFile(file: string, type?: TensorType): Value {
  if (!type?.container) return readTensorFile(file);
  const bytes = readRegularFile(file, 'value file');
  const what = type.container === 'seq' ? 'SequenceProto' : 'OptionalProto';
  let p: SequenceProto | OptionalProto;
  try {
    p = type.container === 'seq' ? decodeSequenceProto(bytes) : decodeOptionalProto(bytes);
  } catch (e) {
    throw new KilnError(`not a valid ${what}: ${(e as Error).message}`, { file });
  }
  return type.container === 'seq' ? sequenceFromProto(p, { file }) : optionalFromProto(p, type.container === 'opt-seq', { file });
}

/** The name of a SequenceProto/OptionalProto element type for messages. */
function elemTypeName(code: number): string {
  return Object.entries(ValueElemType).find(([, c]) => c === code)?.[0] ?? `element type ${code}`;
}

/** Decodes a SequenceProto of tensors (an empty one may leave its element type UNDEFINED). */
export function sequenceFromProto(p: SequenceProto, src: TensorSource = {}): TensorSequence {
  const fail = (m: string): never => { throw new KilnError(`sequence '${p.name || '(unnamed)'}': ${m}`, { file: src.file }); };
  const code = p.elem_type ?? ValueElemType.UNDEFINED;
  const tensors = p.tensor_values ?? [];
  const others = (p.sparse_tensor_values?.length ?? 0) + (p.sequence_values?.length ?? 0) + (p.optional_values?.length ?? 0);
  if (code !== ValueElemType.TENSOR && (code !== ValueElemType.UNDEFINED || tensors.length || others)) {
    fail(`holds ${elemTypeName(code)} elements; kiln's sequences hold tensors`);
  }
  if (others) fail('holds elements other than tensors');
  return tensors.map((t) => tensorFromProto(t, src));
}

/** Decodes an OptionalProto: none (`null`), a tensor, or (when `sequence`) a sequence of tensors. */
export function optionalFromProto(p: OptionalProto, sequence: boolean, src: TensorSource = {}): Value {
  const fail = (m: string): never => { throw new KilnError(`optional '${p.name || '(unnamed)'}': ${m}`, { file: src.file }); };
  const code = p.elem_type ?? ValueElemType.UNDEFINED;
  const want = sequence ? ValueElemType.SEQUENCE : ValueElemType.TENSOR;
  if (code === ValueElemType.UNDEFINED) {
    if (p.tensor_value || p.sequence_value || p.sparse_tensor_value || p.optional_value) fail('its element type is UNDEFINED but it holds a value');
    return null;
  }
  if (code !== want) fail(`holds a ${elemTypeName(code)} where ${sequence ? 'a sequence of tensors' : 'a tensor'} is expected`);
  if (sequence) return p.sequence_value ? sequenceFromProto(p.sequence_value, src) : fail('its element type is SEQUENCE but sequence_value is not set');
  return p.tensor_value ? tensorFromProto(p.tensor_value, src) : fail('its element type is TENSOR but tensor_value is not set');
}

/** Encodes a sequence of tensors as a SequenceProto object (element type TENSOR, also when empty). */
export function sequenceToProto(seq: TensorSequence, name?: string): SequenceProto {
  return { ...(name !== undefined ? { name } : {}), elem_type: ValueElemType.TENSOR, tensor_values: seq.map((t) => tensorToProto(t)) };
}

/** Encodes an optional's value as an OptionalProto object: none (UNDEFINED), a TENSOR or a SEQUENCE. */
export function optionalToProto(v: Value, name?: string): OptionalProto {
  const named = name !== undefined ? { name } : {};
  if (v === null) return { ...named, elem_type: ValueElemType.UNDEFINED };
  if (v instanceof Tensor) return { ...named, elem_type: ValueElemType.TENSOR, tensor_value: tensorToProto(v) };
  return { ...named, elem_type: ValueElemType.SEQUENCE, sequence_value: sequenceToProto(v) };
}

/**
 * Serializes a run-time value as the test format's `.pb` message that `readValueFile` reads for
 * `type`: an OptionalProto when `type` is optional (or the value is none), else a TensorProto for a
 * tensor and a SequenceProto for a sequence.
 */
export function encodeValue(v: Value, type?: TensorType, name?: string): Uint8Array {
  if (type?.container === 'opt' || type?.container === 'opt-seq' || v === null) return encodeOptionalProto(optionalToProto(v, name));
  if (v instanceof Tensor) return encodeTensor(v, name);
  return encodeSequenceProto(sequenceToProto(v, name));
}

/** Writes a tensor as a `.pb` TensorProto file (atomically, through compiler/files.ts). */
export function writeTensorFile(file: string, tensor: Tensor, name = ''): void {
  writeFileAtomic(file, encodeTensor(tensor, name), { what: 'tensor file' });
}
