/**
 * Lowering of Resize (nearest, linear, cubic; every coordinate_transformation_mode, nearest_mode,
 * antialias, exclude_outside, extrapolation, axes, keep_aspect_ratio_policy) with compile-time roi,
 * scales and sizes (constants, folded values, or shape arguments bound to their values).
 *
 * The sampling positions and weights are the reference kernel's (ops/resize.ts resizePlan and
 * axisTaps, computed here once at lowering time) and reach the kernel as constant tables (kernel IR
 * `table`): per resized axis, for output coordinate x, the n input indices idx[x·n + t] (clamped to
 * the input) and weights w[x·n + t]. Nearest is a gather: out[p] = x[idx_ax[p_ax] per axis] (any
 * dtype, a raw copy). Linear and cubic are one loop nest over the output with a tap loop per resized
 * axis, summing in f64 (as the reference) Π_ax w_ax · x[idx_ax...] and rounding once at the store;
 * the reference runs one separable pass per axis, so sums differ only in rounding order (the floats
 * are f64 until the one store). Axes the reference skips (same length, scale 1, not
 * tf_crop_and_resize) read their own position. tf_crop_and_resize positions outside the input give
 * extrapolation_value (an integer flag table per axis). Linear and cubic are lowered for float
 * tensors (the reference truncates integers after f64 sums, where summation order could matter).
 */
import { type DType, dtypeInfo } from '../../ir/dtype.ts';
import { readNumbers } from '../../ir/tensor.ts';
import { type ResizeAttrs, axisTaps, resizePlan } from '../../ops/resize.ts';
import { type Index, type Scalar, type Stmt, binary, cast, iadd, ic, imul, iv, lit, load, loop, ref, select } from '../kir.ts';
import { type LowerNode, type Lowered, LowerUnsupported, flatIndex, input, knownValue, loopNest, wideFloat } from './context.ts';
import { checkDType } from './scalar.ts';

/** The numbers of an optional compile-time input (undefined when omitted or empty). */
function numbersOf(n: LowerNode, k: number, what: string): number[] | undefined {
  const x = n.inputs[k];
  if (!x || x.count === 0) return undefined;
  const v = knownValue(x);
  if (!v) throw new LowerUnsupported(`Resize ${what} (input ${k}) is known only at run time`);
  return Array.from(readNumbers(v));
}

const table = (values: ArrayLike<number>, index: Index): Index => ({ k: 'table', values: Array.from(values), index });
const weights = (dtype: DType, values: ArrayLike<number>, index: Index): Scalar => ({ k: 'table', dtype, values: Array.from(values), index });

/** Lowers Resize. */
export function lowerResize(n: LowerNode): Lowered {
  const x = input(n, 0), out = n.outputs[0];
  checkDType(x.dtype, x.name);
  const a = n.parsed<ResizeAttrs>();
  const roi = numbersOf(n, 1, 'roi');
  const scales = numbersOf(n, 2, 'scales');
  const sizes = numbersOf(n, 3, 'sizes')?.map(Math.trunc);
  const plan = resizePlan(x.shape, a, roi, scales, sizes);
  if (plan.some((p, d) => p.outLen !== out.shape[d])) throw new LowerUnsupported(`Resize plan [${plan.map((p) => p.outLen)}] differs from the output shape [${out.shape}]`);
  if (out.count === 0) return { kind: 'kernel', body: [] };
  if (x.count === 0) throw new LowerUnsupported('Resize of an empty tensor to a non-empty one');
  const nearest = a.mode === 'nearest';
  if (!nearest && !dtypeInfo(x.dtype).isFloat) throw new LowerUnsupported(`Resize ${a.mode} on ${x.dtype} is not lowered (floats only)`);
  // per axis: the taps, or undefined for an axis read at its own position
  const taps = plan.map((p) => {
    const identity = !nearest && p.outLen === p.inLen && p.scale === 1 && a.ctm !== 'tf_crop_and_resize';
    return identity ? undefined : axisTaps(p, a);
  });
  const body = loopNest(n, out.shape, (o) => {
    const tapVars = taps.map((t) => (t && t.n > 1 ? n.fresh('t') : undefined));
    const at = (d: number): Index => {
      const t = taps[d];
      if (!t) return o[d];
      const slot = t.n === 1 ? o[d] : iadd(imul(o[d], ic(t.n)), iv(tapVars[d]!));
      return table(t.idx, slot);
    };
    const src = load(x.name, flatIndex(x.shape, x.shape.map((_, d) => at(d))), x.dtype);
    const flags = taps.flatMap((t, d) => (t && t.extrap.some((f) => f) ? [binary('ne', { k: 'index', dtype: 'i64', index: table(t.extrap, o[d]) }, lit(0, 'i64'))] : []));
    const outside = flags.length ? flags.reduce((p, q) => binary('or', p, q)) : undefined;
    const store = (value: Scalar): Stmt => ({
      k: 'store', buffer: out.name, index: flatIndex(out.shape, o),
      value: outside ? select(outside, lit(a.extrapolation, out.dtype), value) : value,
    });
    if (nearest) return [store(src)];
    const acc = n.fresh('acc');
    const wide = wideFloat(n); // f64 on a CPU, f32 on a GPU
    let term = cast(src, wide);
    taps.forEach((t, d) => {
      if (!t) return;
      const slot = t.n === 1 ? o[d] : iadd(imul(o[d], ic(t.n)), iv(tapVars[d]!));
      term = binary('mul', term, weights(wide, t.w, slot));
    });
    let inner: Stmt[] = [{ k: 'accum', name: acc, value: term }];
    for (let d = taps.length - 1; d >= 0; d--) {
      const t = taps[d];
      if (t && t.n > 1) inner = [loop(tapVars[d]!, t.n, inner)];
    }
    return [{ k: 'acc', name: acc, dtype: wide, combine: 'add', init: lit(0, wide) }, ...inner, store(cast(ref(acc, wide), out.dtype))];
  });
  return { kind: 'kernel', body };
}
