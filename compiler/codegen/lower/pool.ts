/**
 * Lowering of the pooling ops: MaxPool, AveragePool (count_include_pad or not), GlobalAveragePool,
 * GlobalMaxPool; NCHW, float. Geometry is compiler/ops/window.ts's, as in the reference kernels.
 *
 * 2-D MaxPool / AveragePool (resnet's stem pool): one parallel loop over image planes, then the output
 * split into border and interior segments (window.ts `windowNest2d`): interior positions read every
 * window term without a guard (the output-width loop vectorized, the kernel loops unrolled) and an
 * AveragePool there divides by the full window size; border positions guard each term, and an
 * AveragePool without count_include_pad divides by the number of terms it added.
 *
 * Other ranks use the generic nest: one loop per output dim (the first parallel), the kernel loops
 * inside with a guard where padding can leave the input (window.ts `windowPosition`).
 *
 * Global pools are a reduction over the spatial axes (reduce.ts `reduceNest`).
 */
import { type Index, type Stmt, binary, cast, iadd, ic, imul, iv, lit, load, loop, ref } from '../kir.ts';
import { type LowerNode, type Lowered, LowerUnsupported, flatIndex, input, loopNest } from './context.ts';
import { floatOnly } from './matmul.ts';
import { type Geometry, type WindowAttrs, readWindowAttrs, resolveGeometry } from '../../ops/window.ts';
import { reduceNest } from './reduce.ts';
import { guarded, windowAt, windowBounds, windowNest2d, windowPosition } from './window.ts';

/** What a pool accumulates and how it finishes. */
interface PoolKind {
  readonly max: boolean;
  /** AveragePool: divide by the count of terms added (padding not counted) on guarded positions. */
  readonly counted: boolean;
}

/** Lowers MaxPool and AveragePool (one output; MaxPool's Indices output is not lowered). */
export function lowerPool(n: LowerNode): Lowered {
  const x = input(n, 0), out = n.outputs[0];
  floatOnly([x, out]);
  if (n.outputs.length > 1) throw new LowerUnsupported('MaxPool with an Indices output is not lowered');
  n.parsed();
  const w: WindowAttrs = readWindowAttrs(n.attrs);
  const ceil = n.attrs.int('ceil_mode', 0) !== 0;
  const includePad = n.attrs.int('count_include_pad', 0) !== 0;
  if (n.attrs.int('storage_order', 0) !== 0) throw new LowerUnsupported('storage_order=1');
  const g = resolveGeometry(w, x.shape.slice(2), w.kernelShape!, ceil);
  const max = n.node.op === 'MaxPool';
  if (!max && includePad && g.padEnd.some((p, s) => (g.output[s] - 1) * g.strides[s] + (g.kernel[s] - 1) * g.dilations[s] + 1 > g.input[s] + g.padBegin[s] + p)) {
    throw new LowerUnsupported('AveragePool with count_include_pad and ceil_mode windows past the pads is not lowered');
  }
  const kind: PoolKind = { max, counted: !max && !includePad };
  return { kind: 'kernel', body: g.rank === 2 ? pool2d(n, g, kind) : poolNd(n, g, kind) };
}

/** The accumulator(s) of one output position, the guarded window loop and the store. */
function poolPoint(n: LowerNode, g: Geometry, kind: PoolKind, term: (k: Index[]) => { xv: ReturnType<typeof load>; bounds: ReturnType<typeof windowBounds> },
  o: Index, unroll: boolean): Stmt[] {
  const t = n.outputs[0].dtype;
  const acc = n.fresh('acc'), cnt = n.fresh('cnt');
  const kv = g.kernel.map(() => n.fresh('k'));
  const { xv, bounds } = term(kv.map(iv));
  const counted = kind.counted && bounds.length > 0;
  let inner: Stmt[] = guarded(bounds, [
    { k: 'accum', name: acc, value: xv },
    ...(counted ? [{ k: 'accum', name: cnt, value: lit(1, 'i32') } as Stmt] : []),
  ]);
  for (let s = kv.length - 1; s >= 0; s--) inner = [loop(kv[s], g.kernel[s], inner, unroll && g.kernel[s] <= 8 ? [{ kind: 'unroll', factor: g.kernel[s] }] : [])];
  const full = g.kernel.reduce((p, k) => p * k, 1);
  const value = kind.max ? ref(acc, t)
    : counted ? binary('div', ref(acc, t), cast(ref(cnt, 'i32'), t))
      : binary('div', ref(acc, t), lit(full, t));
  return [
    { k: 'acc', name: acc, dtype: t, combine: kind.max ? 'max' : 'add', init: lit(kind.max ? -Infinity : 0, t) },
    ...(counted ? [{ k: 'acc', name: cnt, dtype: 'i32', combine: 'add', init: lit(0, 'i32') } as Stmt] : []),
    ...inner,
    { k: 'store', buffer: n.outputs[0].name, index: o, value },
  ];
}

/** 2-D: parallel over planes, interior/border segments, unguarded vectorized interior. */
function pool2d(n: LowerNode, g: Geometry, kind: PoolKind): Stmt[] {
  const x = input(n, 0);
  const [N, C, H, W] = x.shape;
  const [OH, OW] = g.output;
  const nc = n.fresh('nc');
  const body = windowNest2d(n, g, (p) => poolPoint(n, g, kind, (k) => {
    const at: [Index, Index] = [windowAt(g, 0, p.o[0], k[0]), windowAt(g, 1, p.o[1], k[1])];
    return { xv: load(x.name, iadd(imul(iv(nc), ic(H * W)), iadd(imul(at[0], ic(W)), at[1])), x.dtype), bounds: windowBounds(g, p, at) };
  }, iadd(imul(iv(nc), ic(OH * OW)), iadd(imul(p.o[0], ic(OW)), p.o[1])), true));
  return [loop(nc, N * C, body, [{ kind: 'parallel' }])];
}

/** Any rank: one loop per output dim, guards where padding can leave the input. */
function poolNd(n: LowerNode, g: Geometry, kind: PoolKind): Stmt[] {
  const x = input(n, 0), out = n.outputs[0];
  return loopNest(n, out.shape, (idx) => {
    const [nIdx, cIdx, ...oIdx] = idx;
    return poolPoint(n, g, kind, (k) => {
      const pos = oIdx.map((o, s) => windowPosition(g, s, o, k[s]));
      return { xv: load(x.name, flatIndex(x.shape, [nIdx, cIdx, ...pos.map((q) => q.at)]), x.dtype), bounds: pos.flatMap((q) => (q.bound ? [q.bound] : [])) };
    }, flatIndex(out.shape, idx), false);
  });
}

/** Lowers GlobalAveragePool / GlobalMaxPool: a reduction over the spatial axes. */
export function lowerGlobalPool(n: LowerNode): Lowered {
  const x = input(n, 0), out = n.outputs[0];
  floatOnly([x, out]);
  n.parsed();
  const axes = x.shape.map((_, d) => d).slice(2);
  const count = axes.reduce((p, d) => p * x.shape[d], 1);
  const kind = n.node.op === 'GlobalMaxPool'
    ? { combine: 'max' as const }
    : { combine: 'add' as const, finish: (acc: ReturnType<typeof ref>) => binary('div', acc, lit(count, acc.dtype)) };
  return { kind: 'kernel', body: reduceNest(n, x.shape, axes, out, kind, (idx) => ({ pre: [], value: load(x.name, flatIndex(x.shape, idx), x.dtype) })) };
}
