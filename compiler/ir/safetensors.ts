/**
 * A small, checked codec for the safetensors format: how kiln writes the weights of a `.kir` file
 * (its sidecar, see kir-file.ts) and reads them back.
 *
 * The format: a u64 little-endian header length N, N bytes of UTF-8 JSON
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}`, then the byte buffer.
 * Offsets are relative to the buffer, data is little-endian and row-major.
 *
 * Encoding sorts tensors by element size (largest first) then by name and pads the header with spaces
 * to a multiple of 8 bytes, as the reference writer does, so every tensor starts aligned to its element
 * size and decoding can view the file's bytes without copying. kiln's in-memory storage (dtype.ts) of
 * every dtype mapped below is one typed-array slot of exactly the element's width, so the storage bytes
 * are the safetensors bytes (on a little-endian host, which kiln requires here). Dtypes safetensors
 * cannot hold (`str`, sub-byte ints and float4 stored unpacked, the `fnuz` float8 variants) are not
 * encoded: `safetensorsHolds` says which, and kir-file.ts prints those tensors inline in the text.
 *
 * Decoding is strict; every failure is a KilnError naming the file and, where there is one, the tensor:
 * a header length past the end of the file or beyond 100 MB (the reference reader's limit), invalid
 * UTF-8 or JSON, a header that is not an object, a duplicate name, an unknown dtype, a bad shape,
 * offsets out of range, a byte size other than shape × element size, overlapping tensors, a hole in
 * the buffer (the format requires the buffer to be covered exactly), a BOOL byte other than 0 or 1, and
 * metadata that is not string to string.
 */
import os from 'node:os';
import { KilnError } from '../errors.ts';
import { type DType, type TensorData, dtypeInfo } from './dtype.ts';
import { Tensor } from './tensor.ts';

/** The safetensors dtype name of each kiln dtype it can hold. */
const TO_SAFETENSORS: Partial<Record<DType, string>> = {
  f64: 'F64', f32: 'F32', f16: 'F16', bf16: 'BF16',
  i64: 'I64', i32: 'I32', i16: 'I16', i8: 'I8',
  u64: 'U64', u32: 'U32', u16: 'U16', u8: 'U8', bool: 'BOOL',
  f8e4m3fn: 'F8_E4M3', f8e5m2: 'F8_E5M2', f8e8m0: 'F8_E8M0',
};

const FROM_SAFETENSORS = new Map(Object.entries(TO_SAFETENSORS).map(([k, v]) => [v, k as DType]));

/** The reference reader's limit on the header length. */
const MAX_HEADER = 100_000_000;

/** True if safetensors can hold tensors of `dtype` (and kiln maps it). */
export function safetensorsHolds(dtype: DType): boolean {
  return TO_SAFETENSORS[dtype] !== undefined;
}

/** What `decodeSafetensors` returns. */
export interface Safetensors {
  readonly tensors: Map<string, Tensor>;
  readonly metadata: Record<string, string>;
}

function needLittleEndian(file?: string): void {
  if (os.endianness() !== 'LE') throw new KilnError('safetensors files are read and written only on little-endian hosts', { file });
}

const bytesOf = (d: Exclude<TensorData, string[]>): Uint8Array => new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

/**
 * Encodes tensors (a name each) and string metadata as one safetensors file. Throws a KilnError naming
 * the tensor whose dtype safetensors cannot hold.
 */
export function encodeSafetensors(tensors: ReadonlyMap<string, Tensor>, metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  needLittleEndian();
  const width = (t: Tensor) => dtypeInfo(t.dtype).bits / 8;
  const entries = [...tensors].map(([name, t]) => {
    if (!safetensorsHolds(t.dtype)) throw new KilnError(`tensor '${name}' is ${t.dtype}, which safetensors cannot hold`);
    return [name, t] as const;
  }).sort(([an, a], [bn, b]) => width(b) - width(a) || (an < bn ? -1 : an > bn ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = { ...metadata };
  let offset = 0;
  for (const [name, t] of entries) {
    const n = t.size * width(t);
    header[name] = { dtype: TO_SAFETENSORS[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  if (json.length % 8) json = Buffer.concat([json, Buffer.alloc(8 - (json.length % 8), 0x20)]);
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const [, t] of entries) {
    const b = bytesOf(t.data as Exclude<TensorData, string[]>);
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/** The top-level keys of a JSON object text, in order, duplicates kept (JSON.parse keeps only the last). */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(text.slice(i, j + 1)) as string);
      expectKey = false;
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      expectKey = depth === 1;
    } else if (c === '}' || c === ']') depth--;
    else if (c === ',' && depth === 1) expectKey = true;
  }
  return keys;
}

const isNatural = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Decodes a safetensors file's bytes; `file` names it in errors. Tensors view `bytes` where their data
 * is aligned (copies otherwise), so the caller must not modify `bytes` afterwards.
 */
export function decodeSafetensors(bytes: Uint8Array, file: string): Safetensors {
  needLittleEndian(file);
  const fail = (msg: string): never => { throw new KilnError(`safetensors: ${msg}`, { file }); };
  if (bytes.length < 8) fail(`the file is ${bytes.length} bytes, too short for the 8-byte header length`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) fail(`the header length ${n} is absurd (more than ${MAX_HEADER} bytes)`);
  if (n > BigInt(bytes.length - 8)) fail(`the header length ${n} runs past the end of the file (${bytes.length} bytes)`);
  const start = 8 + Number(n);
  let text = '';
  let header: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, start));
    header = JSON.parse(text);
  } catch (e) {
    fail(`the header is not valid ${text ? 'JSON' : 'UTF-8 JSON'} (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('the header is not a JSON object');
  const keys = topLevelKeys(text);
  const dup = keys.find((k, i) => keys.indexOf(k) !== i);
  if (dup !== undefined) fail(`tensor '${dup}' is named twice in the header`);
  const bufferLength = bytes.length - start;
  const metadata: Record<string, string> = {};
  const spans: { name: string; begin: number; end: number; dtype: DType; shape: number[] }[] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail('__metadata__ is not an object of strings');
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__ entry '${k}' is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const bad = (msg: string): never => fail(`tensor '${name}': ${msg}`);
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) bad('its entry is not an object');
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    const kind = typeof dtype === 'string' ? FROM_SAFETENSORS.get(dtype) : undefined;
    if (!kind) bad(`unknown dtype ${JSON.stringify(dtype)} (kiln reads ${[...FROM_SAFETENSORS.keys()].join(', ')})`);
    if (!Array.isArray(shape) || !shape.every(isNatural)) bad(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNatural) || offsets[0] > offsets[1]) {
      bad(`data_offsets ${JSON.stringify(offsets)} is not [begin, end] with 0 <= begin <= end`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > bufferLength) bad(`data_offsets [${begin}, ${end}] run past the end of the buffer (${bufferLength} bytes)`);
    const width = dtypeInfo(kind!).bits / 8;
    let count = 1;
    for (const d of shape as number[]) count = count === 0 || d === 0 ? 0 : Math.min(count * d, Number.MAX_SAFE_INTEGER);
    if (count * width !== end - begin) bad(`data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${dtype}[${(shape as number[]).join(',')}] needs ${count * width}`);
    spans.push({ name, begin, end, dtype: kind!, shape: shape as number[] });
  }
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const s of spans) {
    if (s.begin < covered) fail(`tensor '${s.name}' (bytes ${s.begin} to ${s.end}) overlaps the tensor before it (which ends at ${covered})`);
    if (s.begin > covered) fail(`bytes ${covered} to ${s.begin} of the buffer belong to no tensor (before tensor '${s.name}')`);
    covered = s.end;
  }
  if (covered !== bufferLength) fail(`bytes ${covered} to ${bufferLength} of the buffer belong to no tensor`);
  const tensors = new Map<string, Tensor>();
  for (const s of spans) tensors.set(s.name, tensorAt(bytes.subarray(start + s.begin, start + s.end), s.dtype, s.shape, (m) => fail(`tensor '${s.name}': ${m}`)));
  return { tensors, metadata };
}

/** A tensor viewing (or, when unaligned, copying) `raw`. */
function tensorAt(raw: Uint8Array, dtype: DType, shape: number[], fail: (msg: string) => never): Tensor {
  const proto = dtypeInfo(dtype).alloc(0) as Exclude<TensorData, string[]>;
  const Ctor = proto.constructor as new (buffer: ArrayBufferLike, offset: number, length: number) => Exclude<TensorData, string[]>;
  const width = proto.BYTES_PER_ELEMENT;
  const src = raw.byteOffset % width === 0 ? raw : raw.slice();
  const data = new Ctor(src.buffer, src.byteOffset, src.length / width);
  if (dtype === 'bool') {
    const i = (data as Uint8Array).findIndex((v) => v > 1);
    if (i >= 0) fail(`BOOL element ${i} is ${data[i]}, not 0 or 1`);
  }
  return new Tensor(dtype, shape, data);
}
