/**
 * Op family 'sequence': the ONNX ops over sequences of tensors (ir/value.ts: a sequence value is an
 * array of tensors; its IR type is `seq<T>`, ir/graph.ts `TensorType.container`). Every op here has a
 * value kernel (`runValues`) and no tensor kernel, so compiled backends keep these on the host.
 *
 * Types. A sequence's element type is one tensor type for all elements: dims the elements may not
 * share are symbols, and a sequence whose elements may differ in rank has an unranked element type
 * (`seq<f32[*]>`). Building a sequence from several types joins them (ops/value-helpers.ts
 * `joinTypes`): SequenceConstruct joins its inputs, SequenceInsert the sequence's element type with the
 * inserted tensor's. SequenceEmpty has no element to learn a shape from, so its type is unranked.
 * Taking an element out (SequenceAt, ConcatFromSequence, SequenceMap's body arguments) needs a ranked
 * element type (`elementType`), since kiln tensors always have a rank.
 *
 * Positions (SequenceAt, SequenceInsert, SequenceErase) are one-element i32/i64 tensors and may be
 * negative (counted from the end): SequenceAt and SequenceErase accept -n..n-1, SequenceInsert -n..n
 * (n: the sequence's length); an omitted position means the end (insert appends, erase drops the
 * last). Out of range is an error naming the position and the valid range.
 *
 * SplitToSequence(input, split?; axis, keepdims) cuts the input along `axis`: into chunks of 1 when
 * `split` is omitted (the axis removed when keepdims is 0), into chunks of `split` (the last one
 * smaller) when it is a scalar, or into chunks of the listed sizes (they must sum to the axis's size).
 * The chunks are cut by the Split kernel (ops/layout.ts). ConcatFromSequence(seq; axis, new_axis)
 * joins the elements along `axis` (the Concat kernel) or, with new_axis = 1, stacks them along a new
 * axis (ops/value-helpers.ts `stackAxis`); it needs at least one element, all of one rank.
 *
 * SequenceMap(seq, extra...) owns the region `body`: it runs the body once per element of the first
 * input, giving it the i-th element of every sequence input (each must have the first's length) and
 * every tensor input as it is, and returns each body result collected into a sequence.
 */
import type { Graph, TensorType } from '../ir/graph.ts';
import { formatType } from '../ir/graph.ts';
import { Tensor, readInts } from '../ir/tensor.ts';
import { type Value, describeValue, isSequence } from '../ir/value.ts';
import { ONNX_CODES } from './cast.ts';
import { typeRegion } from './control-flow.ts';
import { AttrError, type OpDef, getOp, valueKernelOnly } from './registry.ts';
import { normalizeAxis } from './support.ts';
import { elementType, expectTensor, mustJoin, stackAxis } from './value-helpers.ts';

const I64: TensorType = { dtype: 'i64', shape: [] };

/** The sequence type of input `k`, or an error naming it when it is missing or not a sequence. */
function seqInput(inputs: readonly (TensorType | undefined)[], k: number, what: string): TensorType {
  const t = inputs[k];
  if (!t) throw new Error(`${what} is required`);
  if (t.container !== 'seq') throw new Error(`${what} must be a sequence, got ${formatType(t)}`);
  return t;
}

/** A tensor input's type, or an error naming it when it is a sequence or optional. */
function tensorInput(t: TensorType | undefined, what: string): TensorType {
  if (!t) throw new Error(`${what} is required`);
  if (t.container) throw new Error(`${what} must be a tensor, got ${formatType(t)}`);
  return t;
}

/** A position input's type: a one-element i32 or i64 tensor (omitted is fine). */
function checkPosition(t: TensorType | undefined): void {
  if (!t) return;
  if (t.container || (t.dtype !== 'i32' && t.dtype !== 'i64') || t.shape.length > 1 || t.shape.some((d) => typeof d === 'number' && d !== 1)) {
    throw new Error(`position must be a one-element i32 or i64 tensor, got ${formatType(t)}`);
  }
}

/** A sequence value, or an error naming what it is instead. */
function expectSequence(v: Value | undefined, what: string): readonly Tensor[] {
  if (isSequence(v)) return v;
  throw new Error(`${what} is ${describeValue(v)}, not a sequence`);
}

/**
 * The position a position tensor holds, made non-negative: within -n..n-1, or -n..n when `end` is
 * true (an insertion may land after the last element). `dflt` when the position is omitted.
 */
function position(v: Value | undefined, n: number, end: boolean, dflt: number): number {
  if (v == null) return dflt;
  const t = expectTensor(v, 'position');
  if (t.size !== 1) throw new Error(`position must have one element, got ${t.dtype}[${t.shape.join(',')}]`);
  const p = readInts(t)[0];
  const hi = end ? n : n - 1;
  if (p < -n || p > hi) {
    const range = hi < -n ? 'none: the sequence is empty' : `${-n}..${hi}`;
    throw new Error(`position ${p} is out of range for a sequence of ${n} tensor${n === 1 ? '' : 's'} (valid: ${range})`);
  }
  return p < 0 ? p + n : p;
}

/** The sequence type whose elements are `t`'s. */
const seqOf = (t: TensorType): TensorType => ({ dtype: t.dtype, shape: t.shape, container: 'seq' });

const SequenceConstruct: OpDef<Record<string, never>> = {
  name: 'SequenceConstruct', inputs: [1, Infinity], outputs: [1, 1],
  parseAttrs: () => ({}),
  inferTypes(inputs, _a, ctx) {
    const ts = inputs.map((t, k) => tensorInput(t, `input ${k}`));
    return [ts.slice(1).reduce((acc, t, k) => mustJoin(acc, seqOf(t), ctx, `input ${k + 1}`), seqOf(ts[0]))];
  },
  run: valueKernelOnly('SequenceConstruct'),
  runValues: (inputs) => [inputs.map((v, k) => expectTensor(v, `input ${k}`))],
};

const SequenceEmpty: OpDef<{ dtype: TensorType['dtype'] }> = {
  name: 'SequenceEmpty', inputs: [0, 0], outputs: [1, 1],
  parseAttrs(r) {
    const code = r.int('dtype', 1);
    const dtype = ONNX_CODES[code];
    if (!dtype) throw new AttrError('dtype', `data type ${code} has no kiln dtype`);
    return { dtype };
  },
  inferTypes: (_i, a) => [{ dtype: a.dtype, shape: [], container: 'seq', unranked: true }],
  run: valueKernelOnly('SequenceEmpty'),
  runValues: () => [[]],
};

const SequenceAt: OpDef<Record<string, never>> = {
  name: 'SequenceAt', inputs: [2, 2], outputs: [1, 1],
  parseAttrs: () => ({}),
  inferTypes(inputs) {
    const s = seqInput(inputs, 0, 'input_sequence');
    if (!inputs[1]) throw new Error('position is required');
    checkPosition(inputs[1]);
    return [elementType(s, 'input_sequence')];
  },
  run: valueKernelOnly('SequenceAt'),
  runValues([s, p]) {
    const seq = expectSequence(s, 'input_sequence');
    return [seq[position(p, seq.length, false, 0)]];
  },
};

const SequenceInsert: OpDef<Record<string, never>> = {
  name: 'SequenceInsert', inputs: [2, 3], outputs: [1, 1],
  parseAttrs: () => ({}),
  inferTypes(inputs, _a, ctx) {
    const s = seqInput(inputs, 0, 'input_sequence');
    const t = tensorInput(inputs[1], 'tensor');
    checkPosition(inputs[2]);
    return [mustJoin(s, seqOf(t), ctx, `inserting ${formatType(t)} into ${formatType(s)}`)];
  },
  run: valueKernelOnly('SequenceInsert'),
  runValues([s, t, p]) {
    const seq = expectSequence(s, 'input_sequence');
    const at = position(p, seq.length, true, seq.length);
    return [[...seq.slice(0, at), expectTensor(t, 'tensor'), ...seq.slice(at)]];
  },
};

const SequenceErase: OpDef<Record<string, never>> = {
  name: 'SequenceErase', inputs: [1, 2], outputs: [1, 1],
  parseAttrs: () => ({}),
  inferTypes(inputs) {
    const s = seqInput(inputs, 0, 'input_sequence');
    checkPosition(inputs[1]);
    return [s];
  },
  run: valueKernelOnly('SequenceErase'),
  runValues([s, p]) {
    const seq = expectSequence(s, 'input_sequence');
    const at = position(p, seq.length, false, seq.length - 1);
    if (at < 0) throw new Error('cannot erase from an empty sequence');
    return [seq.filter((_, k) => k !== at)];
  },
};

const SequenceLength: OpDef<Record<string, never>> = {
  name: 'SequenceLength', inputs: [1, 1], outputs: [1, 1],
  parseAttrs: () => ({}),
  inferTypes(inputs) {
    seqInput(inputs, 0, 'input_sequence');
    return [I64];
  },
  run: valueKernelOnly('SequenceLength'),
  runValues: ([s]) => [new Tensor('i64', [], BigInt64Array.of(BigInt(expectSequence(s, 'input_sequence').length)))],
};

interface SplitAttrs { axis: number; keepdims: boolean }

/** The chunk sizes of SplitToSequence along an axis of size `dim` (module header). */
function chunkSizes(dim: number, split: readonly number[] | undefined, scalar: boolean): number[] {
  if (!split) return new Array<number>(dim).fill(1);
  if (scalar) {
    const c = split[0];
    if (!(c > 0)) throw new Error(`split ${c} must be positive`);
    return Array.from({ length: Math.ceil(dim / c) }, (_, k) => Math.min(c, dim - k * c));
  }
  const sum = split.reduce((x, y) => x + y, 0);
  if (split.some((s) => s < 0) || sum !== dim) throw new Error(`split [${split.join(',')}] does not sum to the axis size ${dim}`);
  return [...split];
}

const SplitToSequence: OpDef<SplitAttrs> = {
  name: 'SplitToSequence', inputs: [1, 2], outputs: [1, 1],
  parseAttrs: (r) => ({ axis: r.int('axis', 0), keepdims: r.oneOf('keepdims', r.int('keepdims', 1), [0, 1]) === 1 }),
  inferTypes(inputs, a, ctx) {
    const x = tensorInput(inputs[0], 'input');
    const axis = normalizeAxis(a.axis, x.shape.length, 'attribute axis');
    const s = inputs[1] && tensorInput(inputs[1], 'split');
    if (s && ((s.dtype !== 'i32' && s.dtype !== 'i64') || s.shape.length > 1)) throw new Error(`split must be an i32 or i64 scalar or vector, got ${formatType(s)}`);
    const dim = x.shape[axis];
    if (!s) {
      const shape = a.keepdims ? x.shape.map((d, i) => (i === axis ? 1 : d)) : x.shape.filter((_, i) => i !== axis);
      return [{ dtype: x.dtype, shape, container: 'seq' }];
    }
    const known = ctx.value(1);
    const sizes = known && typeof dim === 'number' ? chunkSizes(dim, readInts(known), known.shape.length === 0) : undefined;
    const size = sizes && sizes.length && sizes.every((c) => c === sizes[0]) ? sizes[0] : ctx.freshDim();
    return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (i === axis ? size : d)), container: 'seq' }];
  },
  run: valueKernelOnly('SplitToSequence'),
  runValues([xv, sv], a) {
    const x = expectTensor(xv, 'input');
    const axis = normalizeAxis(a.axis, x.shape.length, 'attribute axis');
    const s = sv == null ? undefined : expectTensor(sv, 'split');
    const sizes = chunkSizes(x.shape[axis], s && readInts(s), s?.shape.length === 0);
    const split = new Tensor('i64', [sizes.length], BigInt64Array.from(sizes, (c) => BigInt(c)));
    const chunks = getOp('Split').run([x, split], { axis, numOutputs: undefined }, sizes.length);
    if (s || a.keepdims) return [chunks];
    return [chunks.map((c) => new Tensor(c.dtype, c.shape.filter((_, i) => i !== axis), c.data))];
  },
};

interface ConcatAttrs { axis: number; newAxis: boolean }

const ConcatFromSequence: OpDef<ConcatAttrs> = {
  name: 'ConcatFromSequence', inputs: [1, 1], outputs: [1, 1],
  parseAttrs: (r) => ({ axis: r.int('axis'), newAxis: r.oneOf('new_axis', r.int('new_axis', 0), [0, 1]) === 1 }),
  inferTypes(inputs, a, ctx) {
    const el = elementType(seqInput(inputs, 0, 'input_sequence'), 'input_sequence');
    const rank = el.shape.length + (a.newAxis ? 1 : 0);
    const axis = normalizeAxis(a.axis, rank, 'attribute axis');
    const shape = a.newAxis ? [...el.shape.slice(0, axis), ctx.freshDim(), ...el.shape.slice(axis)]
      : el.shape.map((d, i) => (i === axis ? ctx.freshDim() : d));
    return [{ dtype: el.dtype, shape }];
  },
  run: valueKernelOnly('ConcatFromSequence'),
  runValues([s], a) {
    const seq = expectSequence(s, 'input_sequence');
    if (!seq.length) throw new Error('cannot concatenate an empty sequence');
    const rank = seq[0].shape.length;
    seq.forEach((t, k) => {
      if (t.shape.length !== rank) {
        throw new Error(`element ${k} is ${t.dtype}[${t.shape.join(',')}] but element 0 is ${seq[0].dtype}[${seq[0].shape.join(',')}]: the elements need one rank`);
      }
    });
    const axis = normalizeAxis(a.axis, rank + (a.newAxis ? 1 : 0), 'attribute axis');
    return [a.newAxis ? stackAxis(seq, axis, seq[0].dtype) : getOp('Concat').run(seq, { axis }, 1)[0]];
  },
};

const SequenceMap: OpDef<{ body: Graph }> = {
  name: 'SequenceMap', inputs: [1, Infinity], outputs: [1, Infinity],
  parseAttrs: (r) => ({ body: r.graph('body') }),
  inferTypes(inputs, a, ctx, outputCount) {
    seqInput(inputs, 0, 'input_sequence');
    const args = inputs.map((t, k) => {
      if (!t) throw new Error(`input ${k} is omitted; SequenceMap's inputs are required`);
      if (t.container === 'seq') return elementType(t, `input ${k}`);
      return tensorInput(t, `input ${k} (a sequence or a tensor)`);
    });
    const results = typeRegion(ctx, a.body, args);
    if (results.length !== outputCount) throw new Error(`region 'body' returns ${results.length} values but the node has ${outputCount} outputs`);
    return results.map((t, k) => seqOf(tensorInput(t, `region 'body' result ${k}`)));
  },
  run: valueKernelOnly('SequenceMap'),
  runValues(inputs, a, outputCount, ctx) {
    const n = expectSequence(inputs[0], 'input_sequence').length;
    inputs.forEach((v, k) => {
      if (isSequence(v) && v.length !== n) throw new Error(`input ${k} has ${v.length} elements but input 0 has ${n}`);
    });
    const outs: Tensor[][] = Array.from({ length: outputCount }, () => []);
    for (let i = 0; i < n; i++) {
      const res = ctx.runRegion(a.body, inputs.map((v) => (isSequence(v) ? v[i] : v ?? null)));
      outs.forEach((list, j) => list.push(expectTensor(res[j], `region 'body' result ${j}`)));
    }
    return outs;
  },
};

/** The sequence ops. */
export const sequenceOps: OpDef<any>[] = [
  SequenceConstruct, SequenceEmpty, SequenceAt, SequenceInsert, SequenceErase, SequenceLength,
  SplitToSequence, ConcatFromSequence, SequenceMap,
];
