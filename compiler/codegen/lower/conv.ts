/**
 * Lowering of window ops: Conv and the fused kiln.conv (direct convolution, NCHW, any spatial rank,
 * groups, strides, dilations, explicit or auto pads, per-channel bias, epilogue) and the pooling ops
 * (MaxPool, AveragePool with count_include_pad, GlobalAveragePool, GlobalMaxPool). Naive loop nests,
 * except that on a target with vectors an f32 convolution with group 1 is a GEMM on the template
 * (gemm.ts): C[img] = W [Cout, Cin·KH·KW] · im2col(X[img]) [Cin·KH·KW, OH·OW], NCHW in and out, the
 * weights read in place as A (already row-major in k), the im2col columns packed per call straight
 * into the template's B panels (scratch; zero in the padding; a 1x1 stride-1 unpadded convolution
 * packs X itself), bias and epilogue on the accumulators.
 *
 * Convolution: one loop per output dim (the first with more than one iteration parallel), then an
 * accumulator over input channels of the group and kernel positions; the input position of a spatial
 * axis is o·stride + k·dilation − pad_begin. Where padding can put that position outside the input,
 * a `guard` skips the term (the padded value is 0 for Conv, absent for MaxPool; AveragePool without
 * count_include_pad counts the terms it adds). Geometry comes from compiler/ops/window.ts, the same
 * rules the reference kernels and shape inference use.
 */
import { type GuardBound, type Index, type Stmt, binary, cast, iadd, ic, idiv, imod, imul, iv, lit, load, loop, ref } from '../kir.ts';
import { type LowerNode, type Lowered, type Operand, LowerUnsupported, flatIndex, input, loopNest } from './context.ts';
import { epilogue, hasEpilogue } from './epilogue.ts';
import { type GemmSpec, gemmLanes, lowerGemm } from './gemm.ts';
import { floatOnly } from './matmul.ts';
import { readConvAttrs } from '../../ops/conv.ts';
import { type Geometry, type WindowAttrs, readWindowAttrs, resolveGeometry } from '../../ops/window.ts';
import { reduceNest } from './reduce.ts';

/** The input position of one spatial axis, and whether it needs a guard. */
function windowPosition(g: Geometry, axis: number, o: Index, k: Index): { at: Index; bound?: GuardBound } {
  const at = iadd(iadd(imul(o, ic(g.strides[axis])), imul(k, ic(g.dilations[axis]))), ic(-g.padBegin[axis]));
  const last = (g.output[axis] - 1) * g.strides[axis] + (g.kernel[axis] - 1) * g.dilations[axis] - g.padBegin[axis];
  const safe = g.padBegin[axis] === 0 && last < g.input[axis];
  return safe ? { at } : { at, bound: { index: at, extent: g.input[axis] } };
}

/** Wraps statements in a guard when there are bounds. */
const guarded = (bounds: GuardBound[], body: Stmt[]): Stmt[] => (bounds.length ? [{ k: 'guard', bounds, body }] : body);

/** Lowers Conv and kiln.conv. */
export function lowerConv(n: LowerNode): Lowered {
  const x = input(n, 0), w = input(n, 1), b = n.inputs[2], out = n.outputs[0];
  floatOnly([x, w, out, ...(b ? [b] : [])]);
  n.parsed();
  const a = readConvAttrs(n.attrs);
  const spatial = x.shape.length - 2;
  if (spatial < 1) throw new LowerUnsupported(`Conv input of rank ${x.shape.length}`);
  const g = resolveGeometry(a, x.shape.slice(2), w.shape.slice(2));
  const [, C] = x.shape, M = w.shape[0], Cg = w.shape[1];
  const mPerGroup = M / a.group;
  if (Cg * a.group !== C || !Number.isInteger(mPerGroup)) throw new LowerUnsupported(`Conv groups ${a.group} do not divide channels ${C} / ${M}`);
  const L = gemmLanes(n, out.dtype);
  if (a.group === 1 && L && [x, w, ...(b ? [b] : [])].every((o) => o.dtype === 'f32') && out.count > 0) {
    return lowerGemm(n, convGemmSpec(n, g, x, w, b, out), L);
  }
  const body = loopNest(n, out.shape, (idx) => {
    const acc = n.fresh('acc'), cv = n.fresh('c');
    const kv = g.kernel.map(() => n.fresh('k'));
    const [nIdx, mIdx, ...oIdx] = idx;
    const pos = oIdx.map((o, s) => windowPosition(g, s, o, iv(kv[s])));
    const channel = a.group === 1 ? iv(cv) : iadd(imul(idiv(mIdx, ic(mPerGroup)), ic(Cg)), iv(cv));
    const xv = load(x.name, flatIndex(x.shape, [nIdx, channel, ...pos.map((p) => p.at)]), x.dtype);
    const wv = load(w.name, flatIndex(w.shape, [mIdx, iv(cv), ...kv.map(iv)]), w.dtype);
    let inner: Stmt[] = guarded(pos.flatMap((p) => (p.bound ? [p.bound] : [])), [{ k: 'accum', name: acc, value: binary('mul', xv, wv) }]);
    for (let s = spatial - 1; s >= 0; s--) inner = [loop(kv[s], g.kernel[s], inner)];
    const o = flatIndex(out.shape, idx);
    const v = b ? binary('add', ref(acc, out.dtype), load(b.name, mIdx, b.dtype)) : ref(acc, out.dtype);
    const ep = epilogue(n, v, o);
    return [
      { k: 'acc', name: acc, dtype: out.dtype, combine: 'add', init: lit(0, out.dtype) },
      loop(cv, Cg, inner),
      ...ep.lets,
      { k: 'store', buffer: out.name, index: o, value: ep.value },
    ];
  });
  return { kind: 'kernel', body };
}

/** A group-1 convolution as the template's GEMM (see the module header). */
function convGemmSpec(n: LowerNode, g: Geometry, x: Operand, w: Operand, b: Operand | undefined, out: Operand): GemmSpec {
  const [images, C] = x.shape, M = w.shape[0];
  const N = g.output.reduce((p, d) => p * d, 1);
  const taps = g.kernel.reduce((p, d) => p * d, 1);
  const K = C * taps;
  const inSize = g.input.reduce((p, d) => p * d, 1);
  if (x.count !== images * C * inSize) throw new LowerUnsupported(`Conv input [${x.shape.join(',')}] does not match its geometry`);
  const pointwise = taps === 1 && g.strides.every((s) => s === 1) && g.padBegin.every((p) => p === 0) && N === inSize;
  const outIndex = (bt: readonly Index[], i: Index, j: Index) => iadd(iadd(imul(bt[0], ic(M * N)), imul(i, ic(N))), j);
  // a padded convolution first copies each input channel into a zero-bordered scratch plane (sc1), so
  // the im2col reads need no bounds checks: plane dims cover every window position read
  const padded = g.padBegin.some((p) => p > 0) || g.output.some((o, s) => (o - 1) * g.strides[s] + (g.kernel[s] - 1) * g.dilations[s] >= g.input[s]);
  const plane = g.output.map((o, s) => (o - 1) * g.strides[s] + (g.kernel[s] - 1) * g.dilations[s] + 1);
  const planeSize = plane.reduce((p, d) => p * d, 1);
  const copied = g.input.map((d, s) => Math.max(0, Math.min(d, plane[s] - g.padBegin[s])));
  return {
    M, N, K, dtype: out.dtype, batch: [images], out: out.name, outIndex,
    a: (_, i, k) => load(w.name, iadd(imul(i, ic(K)), k), w.dtype),
    // constant weights are packed once into the template's row blocks
    ...(w.value?.data instanceof Float32Array ? { aConstant: { from: 1, at: ((d: Float32Array) => (i: number, k: number) => d[i * K + k])(w.value.data) } } : {}),
    // a pointwise convolution's B is X[img] itself, [Cin, H·W] row-major: read in place
    b: pointwise ? { kind: 'inPlace', buffer: x.name, kStride: N, base: (bt) => imul(bt[0], ic(C * N)), what: 'X' } : {
      kind: 'runtime', what: 'im2col rows', outer: C, rows: taps, layout: 'rows',
      // per input channel (in parallel): kernel taps, then output positions (contiguous in X at stride 1)
      ...(padded ? { scratch: [{ name: 'sc1', dtype: x.dtype, count: C * planeSize, what: 'zero-padded input planes' }] } : {}),
      pack: (bt, ci, w) => {
        const img = imul(bt[0], ic(C * inSize));
        const stmts: Stmt[] = [];
        if (padded) {
          // zero the plane, then copy the channel into its interior (both contiguous loops)
          const zv = n.fresh('z'), hv = g.input.map(() => n.fresh('h'));
          stmts.push(loop(zv, planeSize, [{ k: 'store', buffer: 'sc1', index: iadd(imul(ci, ic(planeSize)), iv(zv)), value: lit(0, x.dtype) }]));
          let copy: Stmt[] = [{
            k: 'store', buffer: 'sc1',
            index: iadd(imul(ci, ic(planeSize)), flatIndex(plane, hv.map((h, s) => iadd(iv(h), ic(g.padBegin[s]))))),
            value: load(x.name, iadd(iadd(img, imul(ci, ic(inSize))), flatIndex(g.input, hv.map(iv))), x.dtype),
          }];
          for (let s = hv.length - 1; s >= 0; s--) copy = [loop(hv[s], copied[s], copy)];
          stmts.push(...copy);
        }
        const kv = g.kernel.map(() => n.fresh('q')), ov = g.output.map(() => n.fresh('o'));
        const k = iadd(imul(ci, ic(taps)), flatIndex(g.kernel, kv.map(iv)));
        const j = flatIndex(g.output, ov.map(iv));
        const at = ov.map((o, s) => iadd(imul(iv(o), ic(g.strides[s])), imul(iv(kv[s]), ic(g.dilations[s]))));
        const value = padded
          ? load('sc1', iadd(imul(ci, ic(planeSize)), flatIndex(plane, at)), x.dtype)
          : load(x.name, iadd(iadd(img, imul(ci, ic(inSize))), flatIndex(g.input, at)), x.dtype);
        let inner: Stmt[] = [w.write(k, j, value)];
        for (let s = ov.length - 1; s >= 0; s--) inner = [loop(ov[s], g.output[s], inner)];
        for (let s = kv.length - 1; s >= 0; s--) inner = [loop(kv[s], g.kernel[s], inner)];
        return [...stmts, ...inner];
      },
    },
    ...(b || hasEpilogue(n) ? {
      finish: (bt: readonly Index[], i: Index, j: Index, acc: ReturnType<typeof ref>) =>
        epilogue(n, b ? binary('add', acc, load(b.name, i, b.dtype)) : acc, outIndex(bt, i, j)),
    } : {}),
  };
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
  const t = out.dtype;
  const body = loopNest(n, out.shape, (idx) => {
    const acc = n.fresh('acc'), cnt = n.fresh('cnt');
    const kv = g.kernel.map(() => n.fresh('k'));
    const [nIdx, cIdx, ...oIdx] = idx;
    const pos = oIdx.map((o, s) => windowPosition(g, s, o, iv(kv[s])));
    const bounds = pos.flatMap((p) => (p.bound ? [p.bound] : []));
    const xv = load(x.name, flatIndex(x.shape, [nIdx, cIdx, ...pos.map((p) => p.at)]), x.dtype);
    const counted = !max && !includePad && bounds.length > 0;
    let inner: Stmt[] = guarded(bounds, [
      { k: 'accum', name: acc, value: xv },
      ...(counted ? [{ k: 'accum', name: cnt, value: lit(1, 'i32') } as Stmt] : []),
    ]);
    for (let s = kv.length - 1; s >= 0; s--) inner = [loop(kv[s], g.kernel[s], inner)];
    const full = g.kernel.reduce((p, k) => p * k, 1);
    const value = max ? ref(acc, t)
      : counted ? binary('div', ref(acc, t), cast(ref(cnt, 'i32'), t))
        : binary('div', ref(acc, t), lit(full, t));
    return [
      { k: 'acc', name: acc, dtype: t, combine: max ? 'max' : 'add', init: lit(max ? -Infinity : 0, t) },
      ...(counted ? [{ k: 'acc', name: cnt, dtype: 'i32', combine: 'add', init: lit(0, 'i32') } as Stmt] : []),
      ...inner,
      { k: 'store', buffer: out.name, index: flatIndex(out.shape, idx), value },
    ];
  });
  if (!max && includePad && g.padEnd.some((p, s) => (g.output[s] - 1) * g.strides[s] + (g.kernel[s] - 1) * g.dilations[s] + 1 > g.input[s] + g.padBegin[s] + p)) {
    throw new LowerUnsupported('AveragePool with count_include_pad and ceil_mode windows past the pads is not lowered');
  }
  return { kind: 'kernel', body };
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
