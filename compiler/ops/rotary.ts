/**
 * Op family 'rotary': RotaryEmbedding (ONNX opset 23), the rotary position embedding of attention
 * inputs.
 *
 * X is [batch, num_heads, seq, head_size] (4-D) or [batch, seq, hidden] (3-D, with the `num_heads`
 * attribute splitting hidden into num_heads heads of head_size). The first R = rotary_embedding_dim
 * (default: head_size) channels of every head are rotated, the rest copied. With position_ids
 * ([batch, seq], i64) the caches are tables [max_position, ≥ R/2] indexed by position; without, the
 * caches are already [batch, seq, ≥ R/2].
 *
 * Algorithm: for each (batch, seq) the R/2 cosines c and sines s are looked up once, then every head
 * rotates its pairs (x1, x2) to (c·x1 - s·x2, s·x1 + c·x2). The pairs are (x[i], x[i + R/2]) (the
 * two halves) or, with interleaved=1, (x[2i], x[2i+1]). Math in f64, stored in X's dtype.
 */
import type { Dim } from '../ir/graph.ts';
import { type Tensor, readInts } from '../ir/tensor.ts';
import type { OpDef } from './registry.ts';
import { AttrError } from './registry.ts';
import { FLOAT_TYPES, expectDType, required } from './support.ts';
import { allocFloat, floatData, floatTensor } from './float-io.ts';

/** RotaryEmbedding attributes. */
export interface RotaryAttrs {
  /** Pairs are adjacent channels (2i, 2i+1) instead of the two halves (i, i + R/2). */
  readonly interleaved: boolean;
  /** Heads of a 3-D input (0: not given; required for 3-D X). */
  readonly numHeads: number;
  /** R: how many leading channels of each head rotate (0: all of head_size). */
  readonly rotaryDim: number;
}

/** Resolved layout of X: element offset of (b, h, s, channel 0) is b·bStride + h·hStride + s·sStride. */
interface Layout {
  readonly batch: number; readonly heads: number; readonly seq: number; readonly head: number;
  readonly bStride: number; readonly hStride: number; readonly sStride: number;
}

function layoutOf(shape: readonly number[], a: RotaryAttrs): Layout {
  if (shape.length === 4) {
    const [batch, heads, seq, head] = shape;
    return { batch, heads, seq, head, bStride: heads * seq * head, hStride: seq * head, sStride: head };
  }
  const [batch, seq, hidden] = shape;
  const heads = a.numHeads, head = hidden / heads;
  if (!Number.isInteger(head)) throw new Error(`RotaryEmbedding: attribute num_heads ${heads} does not divide the hidden size ${hidden} of X`);
  return { batch, heads, seq, head, bStride: seq * hidden, hStride: head, sStride: hidden };
}

/** The dims of X as [batch, seq, head_size] (head_size undefined when not known), checking rank and num_heads. */
function headDims(x: readonly Dim[], a: RotaryAttrs): { batch: Dim; seq: Dim; head: number | undefined } {
  if (x.length === 4) return { batch: x[0], seq: x[2], head: typeof x[3] === 'number' ? x[3] : undefined };
  if (x.length !== 3) throw new Error(`RotaryEmbedding: X must be 3-D or 4-D, got [${x.join(',')}]`);
  if (a.numHeads === 0) throw new Error(`RotaryEmbedding: attribute num_heads is required for a 3-D X [${x.join(',')}]`);
  const hidden = x[2];
  if (typeof hidden === 'number' && hidden % a.numHeads !== 0) {
    throw new Error(`RotaryEmbedding: attribute num_heads ${a.numHeads} does not divide the hidden size ${hidden} of X`);
  }
  return { batch: x[0], seq: x[1], head: typeof hidden === 'number' ? hidden / a.numHeads : undefined };
}

const RotaryEmbedding: OpDef<RotaryAttrs> = {
  name: 'RotaryEmbedding',
  inputs: [3, 4],
  outputs: [1, 1],
  parseAttrs(r) {
    const numHeads = r.int('num_heads', 0), rotaryDim = r.int('rotary_embedding_dim', 0);
    if (numHeads < 0) throw new AttrError('num_heads', `must be >= 0, got ${numHeads}`);
    if (rotaryDim < 0 || rotaryDim % 2 !== 0) throw new AttrError('rotary_embedding_dim', `must be even and >= 0, got ${rotaryDim}`);
    return { interleaved: r.int('interleaved', 0) !== 0, numHeads, rotaryDim };
  },
  inferTypes(inputs, a) {
    const x = required(inputs, 0, 'X');
    expectDType(x.dtype, FLOAT_TYPES, 'X');
    const { batch, seq, head } = headDims(x.shape, a);
    const rot = a.rotaryDim || head;
    if (head !== undefined && rot !== undefined && (rot > head || rot % 2 !== 0)) {
      throw new Error(`RotaryEmbedding: attribute rotary_embedding_dim ${rot} must be even and at most head_size ${head}`);
    }
    const pos = inputs[3];
    if (pos) {
      if (pos.dtype !== 'i64') throw new Error(`RotaryEmbedding: position_ids must be i64, got ${pos.dtype}`);
      if (pos.shape.length !== 2) throw new Error(`RotaryEmbedding: position_ids must be [batch, seq], got [${pos.shape.join(',')}]`);
    }
    for (const [i, name] of [[1, 'cos_cache'], [2, 'sin_cache']] as const) {
      const t = required(inputs, i, name);
      if (t.dtype !== x.dtype) throw new Error(`RotaryEmbedding: ${name} has dtype ${t.dtype}, X has ${x.dtype}`);
      const want = pos ? 2 : 3;
      const last = t.shape[t.shape.length - 1];
      const bad = t.shape.length !== want || (typeof last === 'number' && rot !== undefined && last < rot / 2) ||
        (!pos && [batch, seq].some((d, k) => typeof d === 'number' && typeof t.shape[k] === 'number' && t.shape[k] !== d));
      if (bad) {
        const form = pos ? '[max_position, rotary_dim/2]' : '[batch, seq, rotary_dim/2]';
        throw new Error(`RotaryEmbedding: ${name} [${t.shape.join(',')}] must be ${form}${rot !== undefined ? ` with rotary_dim ${rot}` : ''}`);
      }
    }
    return [{ dtype: x.dtype, shape: x.shape }];
  },
  run(inputs, a) {
    const [x, cosT, sinT, posT] = inputs as [Tensor, Tensor, Tensor, Tensor | undefined];
    const L = layoutOf(x.shape, a);
    const rot = a.rotaryDim || L.head, half = rot / 2;
    if (rot > L.head || rot % 2 !== 0) throw new Error(`RotaryEmbedding: attribute rotary_embedding_dim ${rot} must be even and at most head_size ${L.head}`);
    const width = cosT.shape[cosT.shape.length - 1];
    const positions = posT ? readInts(posT) : undefined;
    const maxPos = cosT.shape[0];
    const xs = floatData(x), cs = floatData(cosT), ss = floatData(sinT);
    const y = allocFloat(x.dtype, x.size);
    y.set(xs);
    const i1 = a.interleaved ? (i: number) => 2 * i : (i: number) => i;
    const i2 = a.interleaved ? (i: number) => 2 * i + 1 : (i: number) => i + half;
    for (let b = 0; b < L.batch; b++) {
      for (let s = 0; s < L.seq; s++) {
        let row = b * L.seq + s;
        if (positions) {
          row = positions[row];
          if (!(row >= 0 && row < maxPos)) throw new Error(`RotaryEmbedding: position id ${row} is out of range for caches of ${maxPos} positions`);
        }
        const c0 = row * width;
        for (let h = 0; h < L.heads; h++) {
          const o = b * L.bStride + h * L.hStride + s * L.sStride;
          for (let i = 0; i < half; i++) {
            const c = cs[c0 + i], sn = ss[c0 + i];
            const p = o + i1(i), q = o + i2(i);
            const v1 = xs[p], v2 = xs[q];
            y[p] = c * v1 - sn * v2;
            y[q] = sn * v1 + c * v2;
          }
        }
      }
    }
    return [floatTensor(x.dtype, x.shape, y)];
  },
};

export const rotaryOps: OpDef<any>[] = [RotaryEmbedding];
