/**
 * Op family 'matmul' (Einsum): the general Einstein summation, numpy semantics.
 *
 * The equation is parsed into integer labels per operand: letters are labels 0..51 and the dims an
 * ellipsis stands for become labels 52+j, right-aligned across operands (numpy broadcasting; a size-1
 * dim broadcasts against any size). Implicit mode (no '->') outputs the ellipsis dims followed by the
 * letters used exactly once, in alphabetical (character-code) order.
 *
 * Evaluation:
 *   1. each operand: repeated labels take the diagonal (one strided copy), and labels used nowhere else
 *      (not in the output, not in another operand) are summed out;
 *   2. operands are contracted left to right in pairs: labels of both operands that are still needed
 *      become batch dims, labels only in one operand become M or N dims, labels in both and needed no
 *      more are the K dims; each side is copied once into [batch, M, K] / [batch, K, N] order and the
 *      product runs on the shared GEMM core (sgemm for f32/f16/bf16, dgemm for f64 and integers);
 *   3. the last operand's remaining labels are summed/permuted into the output order.
 * Integers are computed in f64 (exact below 2^53) and truncated on store.
 */
import type { Dim } from '../ir/graph.ts';
import { Tensor, stridesOf } from '../ir/tensor.ts';
import type { OpDef } from './registry.ts';
import { AttrError } from './registry.ts';
import { NUMERIC_TYPES, expectDType, sameDType } from './support.ts';
import { type FloatArray, floatData, floatTensor } from './float-io.ts';
import { FLOAT_TYPES } from './support.ts';
import { dense, dgemm, sgemm } from './gemm-core.ts';

const ELL = 52;

/** A parsed equation: per-operand terms (letters and an optional ellipsis position) and the output term. */
interface Term {
  readonly letters: readonly number[];
  /** Index in `letters` where the ellipsis sits, or -1. */
  readonly ellipsisAt: number;
}

/** Einsum attributes: the parsed equation. */
export interface EinsumAttrs {
  readonly equation: string;
  readonly inputs: readonly Term[];
  readonly output?: Term;
}

function letterCode(ch: string): number {
  const c = ch.charCodeAt(0);
  if (c >= 65 && c <= 90) return c - 65;
  if (c >= 97 && c <= 122) return c - 97 + 26;
  return -1;
}

function parseTerm(s: string, equation: string): Term {
  const letters: number[] = [];
  let ellipsisAt = -1;
  for (let i = 0; i < s.length; i++) {
    if (s.startsWith('...', i)) {
      if (ellipsisAt >= 0) throw new AttrError('equation', `more than one ellipsis in a term of '${equation}'`);
      ellipsisAt = letters.length;
      i += 2;
      continue;
    }
    const code = letterCode(s[i]);
    if (code < 0) throw new AttrError('equation', `invalid character '${s[i]}' in '${equation}'`);
    letters.push(code);
  }
  return { letters, ellipsisAt };
}

/** Parses an einsum equation (spaces ignored). */
export function parseEquation(equation: string): EinsumAttrs {
  const eq = equation.replace(/\s+/g, '');
  const arrow = eq.indexOf('->');
  const lhs = arrow >= 0 ? eq.slice(0, arrow) : eq;
  const inputs = lhs.split(',').map((t) => parseTerm(t, equation));
  const output = arrow >= 0 ? parseTerm(eq.slice(arrow + 2), equation) : undefined;
  if (output && new Set(output.letters).size !== output.letters.length) {
    throw new AttrError('equation', `output term of '${equation}' repeats a letter`);
  }
  return { equation, inputs, output };
}

/** Expands each operand's term to one label per dim, given the operand ranks. */
export function labelOperands(a: EinsumAttrs, ranks: readonly number[]): { labels: number[][]; out: number[] } {
  if (ranks.length !== a.inputs.length) {
    throw new Error(`Einsum: equation '${a.equation}' has ${a.inputs.length} operands but the node has ${ranks.length} inputs`);
  }
  let ellRank = 0;
  const labels = a.inputs.map((t, i) => {
    const e = ranks[i] - t.letters.length;
    if (e < 0 || (e > 0 && t.ellipsisAt < 0)) {
      throw new Error(`Einsum: operand ${i} has rank ${ranks[i]} but its term in '${a.equation}' names ${t.letters.length} dims`);
    }
    ellRank = Math.max(ellRank, t.ellipsisAt >= 0 ? e : 0);
    return { t, e };
  }).map(({ t, e }) => {
    if (t.ellipsisAt < 0) return [...t.letters];
    const ell = Array.from({ length: e }, (_, j) => ELL + (ellRank - e) + j);
    return [...t.letters.slice(0, t.ellipsisAt), ...ell, ...t.letters.slice(t.ellipsisAt)];
  });
  const allEll = Array.from({ length: ellRank }, (_, j) => ELL + j);
  let out: number[];
  if (a.output) {
    const t = a.output;
    out = t.ellipsisAt < 0 ? [...t.letters] : [...t.letters.slice(0, t.ellipsisAt), ...allEll, ...t.letters.slice(t.ellipsisAt)];
    const used = new Set(labels.flat());
    for (const l of t.letters) if (!used.has(l)) throw new Error(`Einsum: output label '${labelName(l)}' of '${a.equation}' is not in any input`);
  } else {
    const count = new Map<number, number>();
    for (const ls of labels) for (const l of ls) if (l < ELL) count.set(l, (count.get(l) ?? 0) + 1);
    out = [...allEll, ...[...count.keys()].filter((l) => count.get(l) === 1).sort((x, y) => x - y)];
  }
  return { labels, out };
}

function labelName(l: number): string {
  return l >= ELL ? '...' : String.fromCharCode(l < 26 ? 65 + l : 97 + l - 26);
}

/** Size of every label across operands (size-1 broadcasts); throws on a conflict. */
export function labelSizes<T extends Dim>(labels: number[][], shapes: readonly (readonly T[])[], eq: string): Map<number, T> {
  const sizes = new Map<number, T>();
  labels.forEach((ls, i) => ls.forEach((l, k) => {
    const d = shapes[i][k];
    const prev = sizes.get(l);
    if (prev === undefined || prev === 1) sizes.set(l, d);
    else if (d !== 1 && typeof d === 'number' && typeof prev === 'number' && d !== prev) {
      throw new Error(`Einsum: label '${labelName(l)}' of '${eq}' has sizes ${prev} and ${d}`);
    }
  }));
  return sizes;
}

const Einsum: OpDef<EinsumAttrs> = {
  name: 'Einsum',
  inputs: [1, Infinity],
  outputs: [1, 1],
  parseAttrs: (r) => parseEquation(r.string('equation')),
  inferTypes(inputs, a) {
    const types = inputs.map((t, i) => {
      if (!t) throw new Error(`Einsum: input ${i} is required`);
      return t;
    });
    const dtype = sameDType(types);
    expectDType(dtype, NUMERIC_TYPES, 'Inputs');
    const { labels, out } = labelOperands(a, types.map((t) => t.shape.length));
    const sizes = labelSizes(labels, types.map((t) => t.shape), a.equation);
    return [{ dtype, shape: out.map((l) => sizes.get(l)!) }];
  },
  run(inputs, a) {
    return [einsum(inputs as Tensor[], a)];
  },
};

/** An operand during evaluation: dense row-major data with one label per dim. */
interface Operand {
  labels: number[];
  dims: number[];
  data: FloatArray;
}

/** Runs Einsum on concrete tensors. */
export function einsum(tensors: readonly Tensor[], a: EinsumAttrs): Tensor {
  const dtype = tensors[0].dtype;
  const f32 = FLOAT_TYPES.includes(dtype) && dtype !== 'f64';
  const { labels, out } = labelOperands(a, tensors.map((t) => t.shape.length));
  const sizes = labelSizes(labels, tensors.map((t) => t.shape), a.equation);
  let ops: Operand[] = tensors.map((t, i) => {
    const raw = floatData(t);
    const data = f32 ? raw : raw instanceof Float64Array ? raw : Float64Array.from(raw);
    return diagonal({ labels: labels[i], dims: [...t.shape], data });
  });
  const neededBy = (except: number, list: Operand[]) => {
    const s = new Set(out);
    list.forEach((o, i) => { if (i !== except) for (const l of o.labels) s.add(l); });
    return s;
  };
  ops = ops.map((o, i) => sumOut(o, neededBy(i, ops)));
  while (ops.length > 1) {
    const rest = ops.slice(2);
    const keep = new Set(out);
    for (const o of rest) for (const l of o.labels) keep.add(l);
    const c = contract(ops[0], ops[1], keep, sizes);
    ops = [sumOut(c, neededBy(0, [c, ...rest])), ...rest];
  }
  const res = sumOut(ops[0], new Set(out));
  // broadcast size-1 dims to the label size and order as the output
  const outDims = out.map((l) => sizes.get(l)!);
  const strides = stridesOf(res.dims);
  const src = out.map((l) => {
    const k = res.labels.indexOf(l);
    return k < 0 || res.dims[k] === 1 ? 0 : strides[k];
  });
  const data = gather(res.data, 0, outDims, src);
  if (FLOAT_TYPES.includes(dtype)) return floatTensor(dtype, outDims, data);
  return Tensor.fromNumbers(dtype, outDims, data);
}

/** Copies the strided view (dims, element strides) starting at `base` into a dense array. */
function gather(src: FloatArray, base: number, dims: readonly number[], strides: readonly number[]): FloatArray {
  let n = 1;
  for (const d of dims) n *= d;
  const dst = src instanceof Float64Array ? new Float64Array(n) : new Float32Array(n);
  if (n === 0) return dst;
  const rank = dims.length;
  if (rank === 0) { dst[0] = src[base]; return dst; }
  const idx = new Int32Array(rank);
  const last = rank - 1, lastDim = dims[last], lastStride = strides[last];
  let off = base, q = 0;
  for (;;) {
    for (let j = 0; j < lastDim; j++) dst[q++] = src[off + j * lastStride];
    let ax = last - 1;
    for (; ax >= 0; ax--) {
      idx[ax]++;
      off += strides[ax];
      if (idx[ax] < dims[ax]) break;
      off -= strides[ax] * dims[ax];
      idx[ax] = 0;
    }
    if (ax < 0) return dst;
  }
}

/** Takes the diagonal over repeated labels: one dim per distinct label, strides summed. */
function diagonal(o: Operand): Operand {
  const labels: number[] = [], dims: number[] = [], strides: number[] = [];
  const st = stridesOf(o.dims);
  o.labels.forEach((l, k) => {
    const j = labels.indexOf(l);
    if (j < 0) {
      labels.push(l); dims.push(o.dims[k]); strides.push(st[k]);
    } else {
      if (dims[j] !== o.dims[k]) throw new Error(`Einsum: repeated label '${labelName(l)}' has sizes ${dims[j]} and ${o.dims[k]}`);
      strides[j] += st[k];
    }
  });
  if (labels.length === o.labels.length) return o;
  return { labels, dims, data: gather(o.data, 0, dims, strides) };
}

/** Sums out every label not in `keep` (kept labels stay in their order). */
function sumOut(o: Operand, keep: Set<number>): Operand {
  const kept = o.labels.map((l, k) => k).filter((k) => keep.has(o.labels[k]));
  if (kept.length === o.labels.length) return o;
  const summed = o.labels.map((l, k) => k).filter((k) => !keep.has(o.labels[k]));
  const st = stridesOf(o.dims);
  const order = [...kept, ...summed];
  const perm = gather(o.data, 0, order.map((k) => o.dims[k]), order.map((k) => st[k]));
  let outer = 1, inner = 1;
  for (const k of kept) outer *= o.dims[k];
  for (const k of summed) inner *= o.dims[k];
  const data = perm instanceof Float64Array ? new Float64Array(outer) : new Float32Array(outer);
  for (let i = 0; i < outer; i++) {
    let s = 0;
    for (let j = 0; j < inner; j++) s += perm[i * inner + j];
    data[i] = s;
  }
  return { labels: kept.map((k) => o.labels[k]), dims: kept.map((k) => o.dims[k]), data };
}

/** Contracts two operands into one whose labels are [batch, M, N] (all in `keep` or shared). */
function contract(x: Operand, y: Operand, keep: Set<number>, sizes: Map<number, number>): Operand {
  const inX = new Set(x.labels), inY = new Set(y.labels);
  const batch = x.labels.filter((l) => inY.has(l) && keep.has(l));
  const kDims = x.labels.filter((l) => inY.has(l) && !keep.has(l));
  const mDims = x.labels.filter((l) => !inY.has(l));
  const nDims = y.labels.filter((l) => !inX.has(l));
  const size = (ls: number[]) => ls.reduce((p, l) => p * sizes.get(l)!, 1);
  const B = size(batch), M = size(mDims), K = size(kDims), N = size(nDims);
  // dense copies in [batch, M, K] and [batch, K, N] order; size-1 dims of a broadcast label read stride 0
  const view = (o: Operand, order: number[]) => {
    const st = stridesOf(o.dims);
    return gather(o.data, 0, order.map((l) => sizes.get(l)!), order.map((l) => {
      const k = o.labels.indexOf(l);
      return o.dims[k] === 1 ? 0 : st[k];
    }));
  };
  const xa = view(x, [...batch, ...mDims, ...kDims]);
  const yb = view(y, [...batch, ...kDims, ...nDims]);
  const res = xa instanceof Float64Array ? new Float64Array(B * M * N) : new Float32Array(B * M * N);
  for (let b = 0; b < B; b++) {
    if (res instanceof Float64Array) {
      dgemm(M, N, K, 1, dense(xa as Float64Array, b * M * K, K), dense(yb as Float64Array, b * K * N, N), res, b * M * N, N, false);
    } else {
      sgemm(M, N, K, 1, dense(xa as Float32Array, b * M * K, K), dense(yb as Float32Array, b * K * N, N), res, b * M * N, N, false);
    }
  }
  const labels = [...batch, ...mDims, ...nDims];
  return { labels, dims: labels.map((l) => sizes.get(l)!), data: res };
}

export const einsumOps: OpDef<any>[] = [Einsum];
