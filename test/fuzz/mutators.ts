/**
 * Seeded mutants of kiln's inputs for the fuzz test: ONNX conformance models (with their input .pb
 * tensors) and .kir IR files.
 *
 * `makeMutant(seed, index)` is a pure function of its arguments, so a failure reproduces from the
 * seed and the case index alone. It picks a source (a conformance case or an IR file) and one
 * mutation:
 *   - ONNX bytes: flip 1-8 random bytes, truncate;
 *   - ONNX fields (decode, change, re-encode): tensor dims (negative, 0, 2^31, 2^40, 2^62, ...),
 *     int64 tensor values (the shapes, repeats, pads and sizes that decide what kernels allocate),
 *     tensor and value data types, raw_data lengths, declared value dims (huge, negative, symbols),
 *     attribute values (ints, floats, lists), node input/output names (values defined twice),
 *     duplicated initializers with another type, an input .pb's bytes;
 *   - IR text: character flips, deleted or duplicated lines, numbers replaced by huge or negative
 *     ones, dtype names swapped, truncation.
 */
import fs from 'node:fs';
import path from 'node:path';
import { seededRandom } from '../../compiler/runtime/inputs.ts';
import { decodeModelProto, decodeTensorProto, encodeModelProto, encodeTensorProto, type AttributeProto, type ModelProto, type TensorProto } from '../../compiler/import/onnx/schema.ts';
import { printGraph } from '../../compiler/ir/print.ts';
import { weightsOf } from '../../compiler/ir/weights.ts';
import type { Tensor } from '../../compiler/ir/tensor.ts';
import { zooModel } from '../../compiler/zoo/index.ts';
import { REPO_ROOT, conformanceDir } from '../support/paths.ts';

/** One mutant: what it is made from, how, and its bytes (ONNX) or text (IR). */
export type Mutant =
  | { kind: 'onnx'; description: string; model: Uint8Array; inputs: Uint8Array[]; file: string }
  | { kind: 'kir'; description: string; text: string; file: string; weights?: ReadonlyMap<string, Tensor> };

type Rng = () => number;

const int = (rng: Rng, n: number) => Math.floor(rng() * n);
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[int(rng, xs.length)];

/** Dims and ints a mutation puts in: edge cases around zero, int32, typed-array limits and 2^53. */
const NASTY_INTS = [-1, -2, 0, 1, 3, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 40, 2 ** 53, 2 ** 62, -(2 ** 62), 100000];
const NASTY_FLOATS = [NaN, Infinity, -Infinity, -1, 0, 1e30, -1e-30, 3.5];

// ---- sources ----

let onnxCases: string[] | undefined;
/** An IR source: its text and, for a printed zoo model, the weights its hashes name. */
interface KirSource { file: string; text: string; weights?: ReadonlyMap<string, Tensor> }

let kirTexts: KirSource[] | undefined;

/** Conformance case folders that hold a model. */
function conformanceCases(): string[] {
  if (!onnxCases) {
    const dir = conformanceDir();
    onnxCases = fs.readdirSync(dir).sort().filter((c) => fs.existsSync(path.join(dir, c, 'model.onnx')));
  }
  return onnxCases;
}

/** IR texts: each graph of the golden pass files, plus the small zoo model printed with its weights. */
function kirSources(): KirSource[] {
  if (!kirTexts) {
    kirTexts = [];
    const dir = path.join(REPO_ROOT, 'test', 'passes');
    for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.kir')).sort()) {
      const text = fs.readFileSync(path.join(dir, f), 'utf8');
      text.split(/^\/\/ -----$/m).forEach((part, k) => {
        const body = part.split('\n').filter((l) => !l.startsWith('//')).join('\n').trim();
        if (body.startsWith('kiln.graph')) kirTexts!.push({ file: `test/passes/${f}#${k}`, text: body + '\n' });
      });
    }
    const mlp = zooModel('zoo:mlp');
    kirTexts.push({ file: 'zoo:mlp', text: printGraph(mlp), weights: weightsOf(mlp) });
  }
  return kirTexts;
}

// ---- ONNX mutations ----

/** Every TensorProto in the model: initializers, tensor attributes, sparse values/indices. */
function tensorsOf(m: ModelProto): TensorProto[] {
  const g = m.graph!;
  const out: TensorProto[] = [...(g.initializer ?? [])];
  for (const sp of g.sparse_initializer ?? []) { if (sp.values) out.push(sp.values); if (sp.indices) out.push(sp.indices); }
  for (const n of g.node ?? []) for (const a of n.attribute ?? []) if (a.t) out.push(a.t);
  return out;
}

function attributesOf(m: ModelProto): AttributeProto[] {
  return (m.graph!.node ?? []).flatMap((n) => n.attribute ?? []);
}

type FieldMutation = (m: ModelProto, rng: Rng) => string | undefined;

const FIELD_MUTATIONS: Record<string, FieldMutation> = {
  'tensor dim': (m, rng) => {
    const ts = tensorsOf(m).filter((t) => (t.dims ?? []).length > 0);
    if (!ts.length) return undefined;
    const t = pick(rng, ts);
    const k = int(rng, t.dims!.length);
    const v = pick(rng, NASTY_INTS);
    t.dims![k] = v;
    return `tensor '${t.name ?? ''}' dim ${k} := ${v}`;
  },
  'tensor data type': (m, rng) => {
    const ts = tensorsOf(m);
    if (!ts.length) return undefined;
    const t = pick(rng, ts);
    const v = int(rng, 28);
    t.data_type = v;
    return `tensor '${t.name ?? ''}' data_type := ${v}`;
  },
  'raw_data length': (m, rng) => {
    const ts = tensorsOf(m).filter((t) => t.raw_data && t.raw_data.length > 0);
    if (!ts.length) return undefined;
    const t = pick(rng, ts);
    const len = rng() < 0.5 ? int(rng, t.raw_data!.length) : t.raw_data!.length + 1 + int(rng, 16);
    const raw = new Uint8Array(len);
    raw.set(t.raw_data!.subarray(0, Math.min(len, t.raw_data!.length)));
    t.raw_data = raw;
    return `tensor '${t.name ?? ''}' raw_data length := ${len}`;
  },
  'tensor int value': (m, rng) => {
    // shapes, repeats, pads, sizes, axes: the values that decide how much a kernel allocates
    const ts = tensorsOf(m).filter((t) => t.data_type === 7 && ((t.raw_data?.length ?? 0) >= 8 || (t.int64_data?.length ?? 0) > 0));
    if (!ts.length) return undefined;
    const t = pick(rng, ts);
    const v = pick(rng, NASTY_INTS);
    if (t.int64_data && t.int64_data.length) {
      const k = int(rng, t.int64_data.length);
      t.int64_data[k] = v;
      return `tensor '${t.name ?? ''}' int64_data[${k}] := ${v}`;
    }
    const raw = t.raw_data!.slice();
    const k = int(rng, raw.length >> 3);
    new DataView(raw.buffer, raw.byteOffset).setBigInt64(k * 8, BigInt(v), true);
    t.raw_data = raw;
    return `tensor '${t.name ?? ''}' element ${k} := ${v}`;
  },
  'value dim': (m, rng) => {
    const g = m.graph!;
    const vs = [...(g.input ?? []), ...(g.output ?? []), ...(g.value_info ?? [])].filter((v) => v.type?.tensor_type?.shape?.dim?.length);
    if (!vs.length) return undefined;
    const v = pick(rng, vs);
    const dims = v.type!.tensor_type!.shape!.dim!;
    const k = int(rng, dims.length);
    if (rng() < 0.2) { dims[k] = { dim_param: pick(rng, ['N', 'M', '']) }; return `value '${v.name}' dim ${k} := symbol`; }
    const d = pick(rng, NASTY_INTS);
    dims[k] = { dim_value: d };
    return `value '${v.name}' dim ${k} := ${d}`;
  },
  'value elem type': (m, rng) => {
    const g = m.graph!;
    const vs = [...(g.input ?? []), ...(g.output ?? [])].filter((v) => v.type?.tensor_type);
    if (!vs.length) return undefined;
    const v = pick(rng, vs);
    const e = int(rng, 28);
    v.type!.tensor_type!.elem_type = e;
    return `value '${v.name}' elem_type := ${e}`;
  },
  'attribute value': (m, rng) => {
    const as = attributesOf(m).filter((a) => !a.t && !a.g);
    if (!as.length) return undefined;
    const a = pick(rng, as);
    if (a.ints && a.ints.length) {
      const k = int(rng, a.ints.length);
      const v = pick(rng, NASTY_INTS);
      a.ints[k] = v;
      return `attribute '${a.name}' ints[${k}] := ${v}`;
    }
    if (a.floats && a.floats.length) {
      const k = int(rng, a.floats.length);
      const v = pick(rng, NASTY_FLOATS);
      a.floats[k] = v;
      return `attribute '${a.name}' floats[${k}] := ${v}`;
    }
    if (a.type === 1) { const v = pick(rng, NASTY_FLOATS); a.f = v; return `attribute '${a.name}' f := ${v}`; }
    const v = pick(rng, NASTY_INTS);
    a.i = v;
    return `attribute '${a.name}' i := ${v}`;
  },
  'attribute type': (m, rng) => {
    const as = attributesOf(m);
    if (!as.length) return undefined;
    const a = pick(rng, as);
    const t = int(rng, 15);
    a.type = t;
    return `attribute '${a.name}' type := ${t}`;
  },
  'node names': (m, rng) => {
    const ns = m.graph!.node ?? [];
    if (!ns.length) return undefined;
    const n = pick(rng, ns);
    const names = [...(m.graph!.input ?? []).map((v) => v.name ?? ''), ...ns.flatMap((x) => x.output ?? [])].filter(Boolean);
    const name = pick(rng, names);
    if (rng() < 0.5 && n.output?.length) { n.output[int(rng, n.output.length)] = name; return `node '${n.name}' output := '${name}'`; }
    if (n.input?.length) { n.input[int(rng, n.input.length)] = name; return `node '${n.name}' input := '${name}'`; }
    return undefined;
  },
  'duplicate initializer': (m, rng) => {
    const g = m.graph!;
    const src = (g.initializer ?? [])[0];
    const name = src?.name ?? (g.input ?? [])[0]?.name;
    if (!name) return undefined;
    const dims = [int(rng, 4) + 1];
    g.initializer = [...(g.initializer ?? []), { name, dims, data_type: pick(rng, [1, 7, 10]), raw_data: new Uint8Array(dims[0] * 8).subarray(0, dims[0] * 4) }];
    return `initializer '${name}' added again as another type`;
  },
  'drop field': (m, rng) => {
    const g = m.graph!;
    const which = pick(rng, ['input', 'output', 'initializer', 'node'] as const);
    const list = g[which] as unknown[] | undefined;
    if (!list?.length) return undefined;
    list.splice(int(rng, list.length), 1);
    return `dropped one graph.${which}`;
  },
};

function flipBytes(bytes: Uint8Array, rng: Rng): [Uint8Array, string] {
  const out = bytes.slice();
  const n = 1 + int(rng, 8);
  const at: number[] = [];
  for (let i = 0; i < n; i++) {
    const k = int(rng, out.length);
    out[k] = rng() < 0.5 ? out[k] ^ (1 << int(rng, 8)) : int(rng, 256);
    at.push(k);
  }
  return [out, `flipped bytes at ${at.join(',')}`];
}

function onnxMutant(dir: string, rng: Rng): Mutant {
  const file = path.join(dir, 'model.onnx');
  const bytes: Uint8Array = new Uint8Array(fs.readFileSync(file));
  const dataDirs = fs.readdirSync(dir).filter((d) => d.startsWith('test_data_set')).sort();
  const inputs = dataDirs.length
    ? fs.readdirSync(path.join(dir, dataDirs[0])).filter((f) => /^input_\d+\.pb$/.test(f))
      .sort((a, b) => Number(a.slice(6, -3)) - Number(b.slice(6, -3)))
      .map((f): Uint8Array => new Uint8Array(fs.readFileSync(path.join(dir, dataDirs[0], f))))
    : [];
  const base = path.basename(dir);
  const r = rng();
  if (r < 0.15) {
    const [model, how] = flipBytes(bytes, rng);
    return { kind: 'onnx', description: `${base}: ${how}`, model, inputs, file };
  }
  if (r < 0.22) {
    const len = int(rng, bytes.length);
    return { kind: 'onnx', description: `${base}: truncated to ${len} bytes`, model: bytes.subarray(0, len), inputs, file };
  }
  if (r < 0.3 && inputs.length) {
    const k = int(rng, inputs.length);
    const [flipped, how] = flipBytes(inputs[k], rng);
    const mutated = inputs.slice();
    mutated[k] = flipped;
    return { kind: 'onnx', description: `${base}: input_${k}.pb ${how}`, model: bytes, inputs: mutated, file };
  }
  if (r < 0.4 && inputs.length) {
    const k = int(rng, inputs.length);
    const t = decodeTensorProto(inputs[k]);
    const what = FIELD_MUTATIONS[rng() < 0.7 ? 'tensor int value' : 'tensor dim']({ graph: { initializer: [t] } }, rng);
    if (what) {
      const mutated = inputs.slice();
      mutated[k] = encodeTensorProto(t);
      return { kind: 'onnx', description: `${base}: input_${k}.pb ${what}`, model: bytes, inputs: mutated, file };
    }
  }
  const names = Object.keys(FIELD_MUTATIONS);
  const model = decodeModelProto(bytes);
  const done: string[] = [];
  const count = 1 + int(rng, 2);
  for (let tries = 0; done.length < count && tries < 10; tries++) {
    const name = pick(rng, names);
    const what = FIELD_MUTATIONS[name](model, rng);
    if (what) done.push(what);
  }
  let out: Uint8Array;
  try {
    out = encodeModelProto(model);
  } catch (e) {
    // protobufjs refuses some values on encode (a dim beyond int64): the unmutated model is still a case
    done.push(`(encode refused: ${(e as Error).message})`);
    out = bytes;
  }
  return { kind: 'onnx', description: `${base}: ${done.join('; ') || 'unchanged'}`, model: out, inputs, file };
}

// ---- IR text mutations ----

const DTYPE_WORDS = ['f32', 'f16', 'i64', 'i32', 'bool', 'u8', 'str', 'f8e4m3fn', 'i4'];
const NUMBER_WORDS = ['-1', '0', '4294967296', '9007199254740993', '99999999999999999999', '1e400', '-0', '2147483648', '100000'];

function kirMutant(src: KirSource, rng: Rng): Mutant {
  let text = src.text;
  const r = rng();
  let how: string;
  if (r < 0.35) {
    // a number (dim, attribute value, element) replaced
    const nums = [...text.matchAll(/-?\d+(?:\.\d+)?(?:e-?\d+)?/g)];
    if (nums.length) {
      const m = pick(rng, nums);
      const v = pick(rng, NUMBER_WORDS);
      text = text.slice(0, m.index) + v + text.slice(m.index! + m[0].length);
      how = `number '${m[0]}' at ${m.index} := ${v}`;
    } else how = 'unchanged (no number)';
  } else if (r < 0.5) {
    const types = [...text.matchAll(/\b(f32|f16|i64|i32|bool|u8|f64)\[/g)];
    if (types.length) {
      const m = pick(rng, types);
      const v = pick(rng, DTYPE_WORDS);
      text = text.slice(0, m.index) + v + text.slice(m.index! + m[1].length);
      how = `dtype '${m[1]}' at ${m.index} := ${v}`;
    } else how = 'unchanged (no dtype)';
  } else if (r < 0.7) {
    const lines = text.split('\n');
    const k = int(rng, lines.length);
    if (rng() < 0.5) { lines.splice(k, 1); how = `deleted line ${k + 1}`; }
    else { lines.splice(k, 0, lines[int(rng, lines.length)]); how = `duplicated a line at ${k + 1}`; }
    text = lines.join('\n');
  } else if (r < 0.9) {
    const chars = text.split('');
    const n = 1 + int(rng, 4);
    const at: number[] = [];
    for (let i = 0; i < n; i++) {
      const k = int(rng, chars.length);
      chars[k] = pick(rng, ['%', '[', ']', '(', ')', ',', '-', '9', 'x', '"', '#', ' ', '\n', '{', '}', ':']);
      at.push(k);
    }
    text = chars.join('');
    how = `changed chars at ${at.join(',')}`;
  } else {
    const len = int(rng, text.length);
    text = text.slice(0, len);
    how = `truncated to ${len} chars`;
  }
  return { kind: 'kir', description: `${src.file}: ${how}`, text, file: src.file, weights: src.weights };
}

/** The mutant number `index` of the run seeded with `seed`. */
export function makeMutant(seed: number, index: number): Mutant {
  const rng = seededRandom((Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
  if (rng() < 0.7) {
    const cases = conformanceCases();
    return onnxMutant(path.join(conformanceDir(), pick(rng, cases)), rng);
  }
  // a quarter of the IR mutants start from the printed zoo model (the last source), which has weights
  const sources = kirSources();
  return kirMutant(rng() < 0.25 ? sources[sources.length - 1] : pick(rng, sources.slice(0, -1)), rng);
}
