/**
 * Lowering of the pooling ops: MaxPool (with its optional Indices output), AveragePool, GlobalAveragePool,
 * GlobalMaxPool; NCHW. Semantics as the reference (ops/pool.ts): MaxPool skips NaN (a window of only NaN
 * or padding gives -inf) and computes 8-bit integers in f32; Indices are the flat position in X of the
 * first maximum, found by a second pass over the window (the smallest row-major position holding the
 * maximum; storage_order=1 then re-counts its spatial part with the first spatial axis fastest), -1 for a
 * window without one; the AveragePool divisor counts the taps inside the input, or with
 * count_include_pad those inside the padded extent (a ceil_mode window hanging past the end padding
 * counts only up to it). Geometry is compiler/ops/window.ts's.
 *
 * 2-D pools without Indices (resnet's stem pool) use the template: one parallel loop over image planes,
 * then the output split into border and interior segments (window.ts `windowNest2d`): interior
 * positions read every window term without a guard (the output-width loop vectorized, the kernel loops
 * unrolled) and an AveragePool there divides by the full window; border positions guard each term and
 * count as above. Other pools use the generic nest: one loop per output dim (the first parallel), the
 * kernel loops inside with a guard where padding can leave the input (window.ts `windowPosition`).
 *
 * The layout pass's channels-last pools (kiln.maxpool_nhwc, kiln.averagepool_nhwc, 2-D, never with
 * Indices) run the same window terms with the channels in the vector lanes (pool2dNhwc).
 *
 * Global pools are a reduction over the spatial axes (reduce.ts `reduceNest`), channels-last ones over
 * the axes between N and C.
 */
import type { DType } from '../../ir/dtype.ts';
import { dtypeInfo } from '../../ir/dtype.ts';
import { type GuardBound, type Index, type Scalar, type Stmt, binary, cast, iadd, ic, imul, iv, lit, load, loop, ref, select, unary } from '../kir.ts';
import { type LowerNode, type Lowered, type Operand, LowerUnsupported, flatIndex, input, loopNest } from './context.ts';
import { floatOnly } from './matmul.ts';
import { type Geometry, type WindowAttrs, readWindowAttrs, resolveGeometry } from '../../ops/window.ts';
import { reduceNest } from './reduce.ts';
import { axisSegments, guarded, segmentedRows, windowAt, windowNest2d, windowPosition } from './window.ts';

/** What every output position of one pool node shares. */
interface Pool {
  readonly x: Operand;
  readonly out: Operand;
  readonly indices?: Operand;
  readonly g: Geometry;
  readonly max: boolean;
  /** The accumulation type (f32 for 8-bit integer sources). */
  readonly t: DType;
  readonly includePad: boolean;
  /** Some window hangs past the end padding (ceil_mode). */
  readonly hangs: boolean;
  readonly colMajor: boolean;
}

/** Lowers MaxPool and AveragePool. */
export function lowerPool(n: LowerNode): Lowered {
  const x = input(n, 0), out = n.outputs[0], indices = n.outputs[1];
  // the layout pass's channels-last pools (kiln.maxpool_nhwc, kiln.averagepool_nhwc; never with Indices)
  const nhwc = n.node.op.endsWith('_nhwc');
  const max = n.node.op === 'MaxPool' || n.node.op === 'kiln.maxpool_nhwc';
  const small = max && (x.dtype === 'u8' || x.dtype === 'i8');
  if (!small) floatOnly([x, out]);
  n.parsed();
  const w: WindowAttrs = readWindowAttrs(n.attrs);
  const ceil = n.attrs.int('ceil_mode', 0) !== 0;
  const g = resolveGeometry(w, nhwc ? x.shape.slice(1, -1) : x.shape.slice(2), w.kernelShape!, ceil);
  const p: Pool = {
    x, out, indices, g, max, t: small ? 'f32' : out.dtype,
    includePad: n.attrs.int('count_include_pad', 0) !== 0,
    hangs: g.output.some((o, s) => (o - 1) * g.strides[s] + (g.kernel[s] - 1) * g.dilations[s] + 1 > g.input[s] + g.padBegin[s] + g.padEnd[s]),
    colMajor: n.attrs.int('storage_order', 0) !== 0,
  };
  if (nhwc) {
    if (g.rank !== 2 || indices) throw new LowerUnsupported(`channels-last ${n.node.op} is lowered for 2-D pools without Indices`);
    return { kind: 'kernel', body: pool2dNhwc(n, p) };
  }
  return { kind: 'kernel', body: g.rank === 2 && !indices ? pool2d(n, p) : poolNd(n, p) };
}

/**
 * 2-D channels-last (the layout pass's _nhwc pools): rows by border/interior segment (window.ts
 * `segmentedRows`), and at every output position the channel loop vectorized over contiguous channels.
 */
function pool2dNhwc(n: LowerNode, p: Pool): Stmt[] {
  const [N, H, W, C] = p.x.shape;
  const [OH, OW] = p.g.output;
  return segmentedRows(n, N, axisSegments(p.g, 0), axisSegments(p.g, 1), (img, oh, ow, rs, cs) => {
    const c = n.fresh('c');
    const point = poolPoint(n, p, {
      o: [oh, ow],
      xAt: (at) => iadd(imul(iadd(imul(iadd(imul(img, ic(H)), at[0]), ic(W)), at[1]), ic(C)), iv(c)),
      guard: (axis) => (axis === 0 ? rs : cs).guarded,
      outAt: iadd(imul(iadd(imul(iadd(imul(img, ic(OH)), oh), ic(OW)), ow), ic(C)), iv(c)),
      unroll: true,
    });
    return [loop(c, C, point, C >= 8 ? [{ kind: 'vectorize', width: 8, tail: C % 8 !== 0 }] : [])];
  });
}

/** 2-D: parallel over planes, interior/border segments, unguarded vectorized interior. */
function pool2d(n: LowerNode, p: Pool): Stmt[] {
  const [N, C, H, W] = p.x.shape;
  const [OH, OW] = p.g.output;
  const nc = n.fresh('nc');
  const body = windowNest2d(n, p.g, (pt) => poolPoint(n, p, {
    o: [...pt.o],
    xAt: (at) => iadd(imul(iv(nc), ic(H * W)), iadd(imul(at[0], ic(W)), at[1])),
    guard: (axis) => pt.guarded[axis],
    outAt: iadd(imul(iv(nc), ic(OH * OW)), iadd(imul(pt.o[0], ic(OW)), pt.o[1])),
    unroll: true,
  }));
  return [loop(nc, N * C, body, [{ kind: 'parallel' }])];
}

/** Any rank: one loop per output dim, guards where padding can leave the input. */
function poolNd(n: LowerNode, p: Pool): Stmt[] {
  return loopNest(n, p.out.shape, (idx) => {
    const [nIdx, cIdx, ...oIdx] = idx;
    return poolPoint(n, p, {
      o: oIdx,
      xAt: (at) => flatIndex(p.x.shape, [nIdx, cIdx, ...at]),
      guard: (axis) => windowPosition(p.g, axis, oIdx[axis], ic(0)).bound !== undefined,
      outAt: flatIndex(p.out.shape, idx),
      unroll: false,
    });
  });
}

/** Where one output position is: its spatial output indices, X's flat index, which axes need guards. */
interface PoolAt {
  readonly o: readonly Index[];
  readonly xAt: (at: readonly Index[]) => Index;
  readonly guard: (axis: number) => boolean;
  readonly outAt: Index;
  readonly unroll: boolean;
}

/** The statements of one output position: accumulate (and count) over the window, store; Indices pass. */
function poolPoint(n: LowerNode, p: Pool, a: PoolAt): Stmt[] {
  const { g, t, max } = p;
  const acc = n.fresh('acc'), cnt = n.fresh('cnt');
  const window = (fn: (at: Index[], bounds: GuardBound[], pos: Index[]) => Stmt[]) => {
    const kv = g.kernel.map(() => n.fresh('k'));
    const pos = a.o.map((o, s) => windowAt(g, s, o, iv(kv[s])));
    const bounds = pos.flatMap((index, s) => (a.guard(s) ? [{ index, extent: g.input[s] }] : []));
    let st = fn(pos, bounds, pos);
    for (let s = kv.length - 1; s >= 0; s--) st = [loop(kv[s], g.kernel[s], st, a.unroll && g.kernel[s] <= 8 ? [{ kind: 'unroll', factor: g.kernel[s] }] : [])];
    return st;
  };
  let counted = false;
  const first = window((pos, bounds) => {
    const xv = cast(load(p.x.name, a.xAt(pos), p.x.dtype), t);
    counted = !max && bounds.length > 0 && (!p.includePad || p.hangs);
    // NaN never wins a max (as the reference); the padded extent bounds the count_include_pad taps
    const value = max && dtypeInfo(p.x.dtype).isFloat ? select(unary('isnan', xv, 'bool'), lit(-Infinity, t), xv) : xv;
    const countStmt: Stmt = { k: 'accum', name: cnt, value: lit(1, 'i32') };
    let inner: Stmt[] = guarded(bounds, [{ k: 'accum', name: acc, value }, ...(counted && !p.includePad ? [countStmt] : [])]);
    if (counted && p.includePad) {
      const padded = pos.map((at, s): GuardBound => ({ index: iadd(at, ic(g.padBegin[s])), extent: g.input[s] + g.padBegin[s] + g.padEnd[s] }));
      inner = [{ k: 'guard', bounds: padded, body: [countStmt, ...inner] }];
    }
    return inner;
  });
  const full = g.kernel.reduce((q, k) => q * k, 1);
  const result = max ? ref(acc, t)
    : counted ? binary('div', ref(acc, t), cast(ref(cnt, 'i32'), t))
      : binary('div', ref(acc, t), lit(full, t));
  const stmts: Stmt[] = [
    { k: 'acc', name: acc, dtype: t, combine: max ? 'max' : 'add', init: lit(max ? -Infinity : 0, t) },
    ...(counted ? [{ k: 'acc', name: cnt, dtype: 'i32', combine: 'add', init: lit(0, 'i32') } as Stmt] : []),
    ...first,
    { k: 'store', buffer: p.out.name, index: a.outAt, value: cast(result, p.out.dtype) },
  ];
  if (p.indices) {
    // second pass: the smallest flat position holding the maximum (none when the maximum is -inf)
    const pick = n.fresh('first');
    const none = lit(p.x.count, 'i64');
    stmts.push(
      { k: 'acc', name: pick, dtype: 'i64', combine: 'min', init: none },
      ...window((pos, bounds) => {
        const at = a.xAt(pos);
        const hit = binary('and', binary('eq', cast(load(p.x.name, at, p.x.dtype), t), ref(acc, t)), binary('gt', ref(acc, t), lit(-Infinity, t)));
        return guarded(bounds, [{ k: 'accum', name: pick, value: select(hit, { k: 'index', dtype: 'i64', index: at }, none) }]);
      }),
      {
        k: 'store', buffer: p.indices.name, index: a.outAt,
        value: select(binary('eq', ref(pick, 'i64'), none), lit(-1, 'i64'), p.colMajor ? columnMajor(g, ref(pick, 'i64')) : ref(pick, 'i64')),
      },
    );
  }
  return stmts;
}

/** storage_order=1: the spatial part of a flat position re-counted with the first spatial axis fastest. */
function columnMajor(g: Geometry, flat: Scalar): Scalar {
  const i64 = (v: number) => lit(v, 'i64');
  const plane = g.input.reduce((q, d) => q * d, 1);
  let rest = binary('fmod', flat, i64(plane));
  let result = binary('sub', flat, rest);
  let rowStride = plane, colStride = 1;
  g.input.forEach((d) => {
    rowStride /= d;
    const coord = binary('div', rest, i64(rowStride));
    rest = binary('fmod', rest, i64(rowStride));
    result = binary('add', result, binary('mul', coord, i64(colStride)));
    colStride *= d;
  });
  return result;
}

/** Lowers GlobalAveragePool / GlobalMaxPool: a reduction over the spatial axes. */
export function lowerGlobalPool(n: LowerNode): Lowered {
  const x = input(n, 0), out = n.outputs[0];
  floatOnly([x, out]);
  n.parsed();
  // NCHW: every axis after the channels; channels-last (the layout pass's _nhwc ops): between N and C
  const nhwc = n.node.op.endsWith('_nhwc');
  const axes = x.shape.map((_, d) => d).slice(nhwc ? 1 : 2, nhwc ? -1 : undefined);
  const count = axes.reduce((p, d) => p * x.shape[d], 1);
  const kind = n.node.op === 'GlobalMaxPool' || n.node.op === 'kiln.globalmaxpool_nhwc'
    ? { combine: 'max' as const }
    : { combine: 'add' as const, finish: (acc: ReturnType<typeof ref>) => binary('div', acc, lit(count, acc.dtype)) };
  return { kind: 'kernel', body: reduceNest(n, x.shape, axes, out, kind, (idx) => ({ pre: [], value: load(x.name, flatIndex(x.shape, idx), x.dtype) })) };
}
