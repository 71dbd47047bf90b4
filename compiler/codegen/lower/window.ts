/**
 * Interior/border splitting of 2-D sliding-window loop nests (depthwise convolution, pooling).
 *
 * For one spatial axis with input size I, output size O, stride s, dilation d, kernel K and leading
 * pad p, output position o reads input positions o·s + k·d − p for k in [0, K). The output range
 * splits into three segments: [0, lo) where some window position can fall before the input,
 * [lo, hi) where every position lies inside it (the interior: no guard, so the C compiler sees a
 * plain unit- or constant-stride loop it vectorizes), and [hi, O) where some position can fall past
 * its end. lo = ceil(p/s), hi = floor((I − 1 + p − (K−1)·d)/s) + 1, both clamped to [0, O] with
 * lo ≤ hi; a segment may be empty. Border segments guard each term; the interior guards nothing.
 *
 * `windowPosition` is the unsplit form (any rank): one input position with a guard bound when some
 * output of the axis can put it outside the input.
 *
 * `windowNest2d` builds the (oh, ow) nest over those segments: border rows (top/bottom) run the whole
 * width guarded on both axes as needed; interior rows run three width segments, of which only the
 * middle is free of guards and annotated `vectorize` (with a tail).
 *
 * `paddedPlane` and `copyToPaddedPlane` are the other way to drop guards (any rank): copy each input
 * plane into a zero-bordered scratch plane that covers every window position read, so every read of
 * the window is in bounds (the im2col of the GEMM convolution, depthwise convolution at stride 1).
 */
import type { DType } from '../../ir/dtype.ts';
import { type Annotation, type GuardBound, type Index, type Stmt, iadd, ic, idiv, imod, imul, iv, lit, load, loop } from '../kir.ts';
import type { Geometry } from '../../ops/window.ts';
import { type LowerNode, flatIndex } from './context.ts';

/** One segment of an output axis: positions [start, start + extent). */
export interface Segment {
  readonly start: number;
  readonly extent: number;
  /** True when a window position of this segment can leave the input (its terms need a guard). */
  readonly guarded: boolean;
}

/** The segments of spatial axis `axis` of `g` (empty ones dropped), in order. */
export function axisSegments(g: Geometry, axis: number): Segment[] {
  const O = g.output[axis], I = g.input[axis], s = g.strides[axis], d = g.dilations[axis], K = g.kernel[axis], p = g.padBegin[axis];
  const lo = Math.min(O, Math.ceil(p / s));
  const hi = Math.max(lo, Math.min(O, Math.floor((I - 1 + p - (K - 1) * d) / s) + 1));
  return [
    { start: 0, extent: lo, guarded: true },
    { start: lo, extent: hi - lo, guarded: false },
    { start: hi, extent: O - hi, guarded: true },
  ].filter((x) => x.extent > 0);
}

/** The input position o·s + k·d − p of one axis. */
export function windowAt(g: Geometry, axis: number, o: Index, k: Index): Index {
  return iadd(iadd(imul(o, ic(g.strides[axis])), imul(k, ic(g.dilations[axis]))), ic(-g.padBegin[axis]));
}

/** Where a window term sits: output position per axis and, for guarded segments, the bounds to check. */
export interface WindowPoint {
  /** Output positions (oh, ow). */
  readonly o: readonly [Index, Index];
  /** Per axis: true when that axis's input position needs a guard at this point. */
  readonly guarded: readonly [boolean, boolean];
  /** True in the vectorized interior (no guards at all). */
  readonly interior: boolean;
}

/**
 * The (oh, ow) loop nest of a 2-D window op over its interior/border segments; `body(point)` gives
 * the statements of one output position. Loops count from 0: a segment starting at `start` indexes
 * with var + start.
 */
export function windowNest2d(n: LowerNode, g: Geometry, body: (p: WindowPoint) => Stmt[]): Stmt[] {
  const rows = axisSegments(g, 0), cols = axisSegments(g, 1);
  const whole: Segment = { start: 0, extent: g.output[1], guarded: cols.some((c) => c.guarded) };
  const seg = (s: Segment, ann: Annotation[], inner: (o: Index) => Stmt[]): Stmt[] => {
    const v = n.fresh('o');
    return [loop(v, s.extent, inner(iadd(iv(v), ic(s.start))), ann)];
  };
  const out: Stmt[] = [];
  for (const r of rows) {
    const widths = r.guarded ? [whole] : cols;
    out.push(...seg(r, [], (oh) => widths.flatMap((c) => {
      const interior = !r.guarded && !c.guarded;
      const ann: Annotation[] = interior && c.extent >= 8 ? [{ kind: 'vectorize', width: 8, tail: c.extent % 8 !== 0 }] : [];
      return seg(c, ann, (ow) => body({ o: [oh, ow], guarded: [r.guarded, c.guarded], interior }));
    })));
  }
  return out;
}

/** A column segment whose body handles `step` consecutive columns per iteration (extent a multiple of it). */
export interface SteppedSegment extends Segment {
  readonly step?: number;
}

/**
 * The (image, row, column) nest of a channels-last window op (conv-nhwc.ts, winograd-nhwc.ts, pool.ts):
 * each row segment one loop over N·extent (image, row) pairs, parallel when it has several, its
 * column segments inside; `body(img, row, col, rowSegment, colSegment)` gives one position's
 * statements (its channel loop). Segments as `axisSegments` returns them (or any start/extent/guarded
 * list); a column segment with a `step` runs one body per `step` columns. With one image the image
 * index is the constant 0.
 */
export function segmentedRows(n: LowerNode, N: number, rows: readonly Segment[], cols: readonly SteppedSegment[],
  body: (img: Index, row: Index, col: Index, rowSegment: Segment, colSegment: SteppedSegment) => Stmt[]): Stmt[] {
  return rows.map((rs) => {
    const r = n.fresh('r');
    const img = N === 1 ? ic(0) : idiv(iv(r), ic(rs.extent));
    const row0 = N === 1 ? iv(r) : imod(iv(r), ic(rs.extent));
    const row = rs.start ? iadd(row0, ic(rs.start)) : row0;
    const inner = cols.map((cs) => {
      const v = n.fresh('o'), step = cs.step ?? 1;
      const col = step > 1 ? imul(iv(v), ic(step)) : iv(v);
      return loop(v, cs.extent / step, body(img, row, cs.start ? iadd(col, ic(cs.start)) : col, rs, cs));
    });
    return loop(r, N * rs.extent, inner, N * rs.extent > 1 ? [{ kind: 'parallel' }] : []);
  });
}

/** The guard bounds of the window term at input positions `at` (only the guarded axes). */
export function windowBounds(g: Geometry, p: WindowPoint, at: readonly [Index, Index]): GuardBound[] {
  return at.flatMap((index, axis) => (p.guarded[axis] ? [{ index, extent: g.input[axis] }] : []));
}

/** The input position of one spatial axis, and whether it needs a guard. */
export function windowPosition(g: Geometry, axis: number, o: Index, k: Index): { at: Index; bound?: GuardBound } {
  const at = windowAt(g, axis, o, k);
  const last = (g.output[axis] - 1) * g.strides[axis] + (g.kernel[axis] - 1) * g.dilations[axis] - g.padBegin[axis];
  const safe = g.padBegin[axis] === 0 && last < g.input[axis];
  return safe ? { at } : { at, bound: { index: at, extent: g.input[axis] } };
}

/** Wraps statements in a guard when there are bounds. */
export const guarded = (bounds: readonly GuardBound[], body: Stmt[]): Stmt[] => (bounds.length ? [{ k: 'guard', bounds, body }] : body);

/**
 * The padded plane's extent per spatial axis: it covers every input position a window reads, from
 * −pad_begin to the last position read, so a window at output o starts at o·stride in it.
 */
export function paddedPlane(g: Geometry): number[] {
  return g.output.map((o, s) => (o - 1) * g.strides[s] + (g.kernel[s] - 1) * g.dilations[s] + 1);
}

/**
 * Statements that zero the padded plane at `dst.base` of scratch `dst.buffer` (extent `paddedPlane(g)`)
 * and copy the input plane at `src.base` of `src.buffer` (extent g.input) into it at offset pad_begin
 * (the rows and columns that fit). Both are contiguous loops; `vectorize` annotates their innermost
 * loops (8 wide, with a tail) where they run at least 8 times.
 */
export function copyToPaddedPlane(n: LowerNode, g: Geometry, dtype: DType, src: { buffer: string; base: Index },
  dst: { buffer: string; base: Index }, vectorize = false): Stmt[] {
  const plane = paddedPlane(g);
  const size = plane.reduce((p, d) => p * d, 1);
  const vec = (extent: number): Annotation[] => (vectorize && extent >= 8 ? [{ kind: 'vectorize', width: 8, tail: extent % 8 !== 0 }] : []);
  const z = n.fresh('z');
  const rank = g.input.length;
  const hv = g.input.map((_, s) => n.fresh(rank > 1 && s === rank - 1 ? 'w' : 'h'));
  const copied = g.input.map((d, s) => Math.max(0, Math.min(d, plane[s] - g.padBegin[s])));
  let copy: Stmt[] = [{
    k: 'store', buffer: dst.buffer,
    index: iadd(dst.base, flatIndex(plane, hv.map((h, s) => iadd(iv(h), ic(g.padBegin[s]))))),
    value: load(src.buffer, iadd(src.base, flatIndex(g.input, hv.map(iv))), dtype),
  }];
  for (let s = rank - 1; s >= 0; s--) copy = [loop(hv[s], copied[s], copy, s === rank - 1 ? vec(copied[s]) : [])];
  return [loop(z, size, [{ k: 'store', buffer: dst.buffer, index: iadd(dst.base, iv(z)), value: lit(0, dtype) }], vec(size)), ...copy];
}
