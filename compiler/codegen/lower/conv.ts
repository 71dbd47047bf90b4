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
import { type GuardBound, type Index, type Scalar, type Stmt, binary, cast, iadd, ic, idiv, imod, imul, iv, lit, load, loop, ref, select, unary } from '../kir.ts';
import { dtypeInfo } from '../../ir/dtype.ts';
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

/**
 * Lowers MaxPool (with its optional Indices output) and AveragePool, as the reference (ops/pool.ts):
 * MaxPool skips NaN (a window of only NaN or padding gives -inf) and computes 8-bit integers in f32;
 * Indices are the flat position in X of the first maximum, found by a second pass over the window (the
 * smallest row-major position holding the maximum; storage_order=1 then re-counts its spatial part
 * with the first spatial axis fastest), -1 for a window without one; the
 * AveragePool divisor counts the taps inside the input, or with count_include_pad those inside the
 * padded extent (a ceil_mode window hanging past the end padding counts only up to it).
 */
export function lowerPool(n: LowerNode): Lowered {
  const x = input(n, 0), out = n.outputs[0], indices = n.outputs[1];
  const max = n.node.op === 'MaxPool';
  const small = max && (x.dtype === 'u8' || x.dtype === 'i8');
  if (!small) floatOnly([x, out]);
  n.parsed();
  const w: WindowAttrs = readWindowAttrs(n.attrs);
  const ceil = n.attrs.int('ceil_mode', 0) !== 0;
  const includePad = n.attrs.int('count_include_pad', 0) !== 0;
  const colMajor = n.attrs.int('storage_order', 0) !== 0;
  const g = resolveGeometry(w, x.shape.slice(2), w.kernelShape!, ceil);
  const t = small ? 'f32' : out.dtype; // the accumulation type
  // a window can hang past the end padding (ceil_mode): count_include_pad then counts up to the padding only
  const hangs = g.output.some((o, s) => (o - 1) * g.strides[s] + (g.kernel[s] - 1) * g.dilations[s] + 1 > g.input[s] + g.padBegin[s] + g.padEnd[s]);
  const body = loopNest(n, out.shape, (idx) => {
    const acc = n.fresh('acc'), cnt = n.fresh('cnt');
    const kv = g.kernel.map(() => n.fresh('k'));
    const [nIdx, cIdx, ...oIdx] = idx;
    const pos = oIdx.map((o, s) => windowPosition(g, s, o, iv(kv[s])));
    const bounds = pos.flatMap((p) => (p.bound ? [p.bound] : []));
    const at = flatIndex(x.shape, [nIdx, cIdx, ...pos.map((p) => p.at)]);
    const xv = cast(load(x.name, at, x.dtype), t);
    const counted = !max && bounds.length > 0 && (!includePad || hangs);
    // NaN never wins a max (as the reference); the padded extent bounds the count_include_pad taps
    const value = max && dtypeInfo(x.dtype).isFloat ? select(unary('isnan', xv, 'bool'), lit(-Infinity, t), xv) : xv;
    const countStmt: Stmt = { k: 'accum', name: cnt, value: lit(1, 'i32') };
    let inner: Stmt[] = guarded(bounds, [{ k: 'accum', name: acc, value }, ...(counted && !includePad ? [countStmt] : [])]);
    if (counted && includePad) {
      const padded = pos.map((p, s): GuardBound => ({ index: iadd(p.at, ic(g.padBegin[s])), extent: g.input[s] + g.padBegin[s] + g.padEnd[s] }));
      inner = [{ k: 'guard', bounds: padded, body: [countStmt, ...inner] }];
    }
    const nest = (body: Stmt[], vars: string[]) => {
      let st = body;
      for (let s = vars.length - 1; s >= 0; s--) st = [loop(vars[s], g.kernel[s], st)];
      return st;
    };
    const full = g.kernel.reduce((p, k) => p * k, 1);
    const result = max ? ref(acc, t)
      : counted ? binary('div', ref(acc, t), cast(ref(cnt, 'i32'), t))
        : binary('div', ref(acc, t), lit(full, t));
    const o = flatIndex(out.shape, idx);
    const stmts: Stmt[] = [
      { k: 'acc', name: acc, dtype: t, combine: max ? 'max' : 'add', init: lit(max ? -Infinity : 0, t) },
      ...(counted ? [{ k: 'acc', name: cnt, dtype: 'i32', combine: 'add', init: lit(0, 'i32') } as Stmt] : []),
      ...nest(inner, kv),
      { k: 'store', buffer: out.name, index: o, value: cast(result, out.dtype) },
    ];
    // storage_order=1: the spatial part of a flat position re-counted with the first spatial axis fastest
    const columnMajor = (flat: Scalar): Scalar => {
      const i64 = (v: number) => lit(v, 'i64');
      const plane = g.input.reduce((p, d) => p * d, 1);
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
    };
    if (indices) {
      // second pass: the smallest flat position holding the maximum (none when the maximum is -inf)
      const first = n.fresh('first');
      const kv2 = g.kernel.map(() => n.fresh('k'));
      const pos2 = oIdx.map((q, s) => windowPosition(g, s, q, iv(kv2[s])));
      const bounds2 = pos2.flatMap((p) => (p.bound ? [p.bound] : []));
      const at2 = flatIndex(x.shape, [nIdx, cIdx, ...pos2.map((p) => p.at)]);
      const none = lit(x.count, 'i64');
      const hit = binary('and', binary('eq', cast(load(x.name, at2, x.dtype), t), ref(acc, t)), binary('gt', ref(acc, t), lit(-Infinity, t)));
      stmts.push(
        { k: 'acc', name: first, dtype: 'i64', combine: 'min', init: none },
        ...nest(guarded(bounds2, [{ k: 'accum', name: first, value: select(hit, { k: 'index', dtype: 'i64', index: at2 }, none) }]), kv2),
        { k: 'store', buffer: indices.name, index: o, value: select(binary('eq', ref(first, 'i64'), none), lit(-1, 'i64'), colMajor ? columnMajor(ref(first, 'i64')) : ref(first, 'i64')) },
      );
    }
    return stmts;
  });
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
