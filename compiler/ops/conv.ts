/**
 * Op family 'conv': Conv (1-D/2-D/3-D, groups, depthwise, dilations, strides, pads, auto_pad, bias).
 * ConvTranspose lives in conv-transpose.ts.
 *
 * Algorithm, per batch item and group (geometry from window.ts, lifted to 3 spatial axes):
 *   - 1×1 kernels with unit strides and no pads read X directly as the [Cg, H·W] GEMM operand;
 *   - depthwise convolutions (one input channel per group) run a direct loop in row form: each kernel
 *     tap adds weight × input row to a whole output row, clipped to the valid columns (no bounds checks);
 *   - everything else is im2col (rows = (c, kd, kh, kw), columns = output positions, zeros where the
 *     window hits padding) followed by Y_g[Mg, out] = W_g[Mg, Cg·k] · col[Cg·k, out] on the shared
 *     GEMM core (gemm-core.ts): sgemm for f32/f16/bf16, dgemm for f64.
 * Bias is added per output channel afterwards. The im2col buffer is reused between calls.
 */
import type { Dim, TensorType } from '../ir/graph.ts';
import type { Tensor } from '../ir/tensor.ts';
import type { OpDef } from './registry.ts';
import { convFlops } from './flops.ts';
import { AttrError } from './registry.ts';
import { FLOAT_TYPES, expectDType, required, sameDType } from './support.ts';
import { type Geometry, type WindowAttrs, lift3, outputDims, prod, readWindowAttrs, resolveGeometry, validRange } from './window.ts';
import { type FloatArray, allocFloat, floatData, floatTensor } from './float-io.ts';
import { dense, dgemm, sgemm } from './gemm-core.ts';

/** Conv attributes: the window plus the group count. */
export interface ConvAttrs extends WindowAttrs {
  readonly group: number;
}

/** Reads a conv-style node's attributes (window + group). */
export function readConvAttrs(r: Parameters<OpDef['parseAttrs']>[0]): ConvAttrs {
  const group = r.int('group', 1);
  if (group < 1) throw new AttrError('group', `must be >= 1, got ${group}`);
  return { ...readWindowAttrs(r), group };
}

/** The kernel's spatial shape: kernel_shape if given, else W's trailing dims (must be static). */
export function kernelShapeOf(a: WindowAttrs, w: TensorType, op: string): number[] {
  const fromW = w.shape.slice(2);
  if (a.kernelShape) {
    if (a.kernelShape.length !== fromW.length) {
      throw new Error(`${op}: kernel_shape has ${a.kernelShape.length} values but W [${w.shape.join(',')}] has ${fromW.length} spatial dims`);
    }
    fromW.forEach((d, i) => {
      if (typeof d === 'number' && d !== a.kernelShape![i]) {
        throw new Error(`${op}: kernel_shape [${a.kernelShape!.join(',')}] does not match W [${w.shape.join(',')}]`);
      }
    });
    return [...a.kernelShape];
  }
  if (fromW.some((d) => typeof d !== 'number')) throw new Error(`${op}: W has symbolic spatial dims [${w.shape.join(',')}]; give kernel_shape`);
  return fromW as number[];
}

/**
 * The operand checks Conv and ConvTranspose share: X, W and optional B of one float dtype, X of rank
 * >= 3, W of X's rank, and the kernel shape (from kernel_shape or W).
 */
export function convOperands(op: string, inputs: readonly (TensorType | undefined)[], a: WindowAttrs) {
  const x = required(inputs, 0, 'X');
  const w = required(inputs, 1, 'W');
  const b = inputs[2];
  const dtype = sameDType([x, w, b]);
  expectDType(dtype, FLOAT_TYPES, 'X');
  if (x.shape.length < 3) throw new Error(`${op}: X must have rank >= 3 (N, C, spatial...), got [${x.shape.join(',')}]`);
  if (w.shape.length !== x.shape.length) throw new Error(`${op}: W [${w.shape.join(',')}] must have the rank of X [${x.shape.join(',')}]`);
  return { x, w, b, dtype, kernel: kernelShapeOf(a, w, op) };
}

/** Throws unless the optional bias is 1-D with `m` (output channels) elements. */
export function checkBias(op: string, b: TensorType | undefined, m: Dim): void {
  if (b && (b.shape.length !== 1 || (typeof b.shape[0] === 'number' && typeof m === 'number' && b.shape[0] !== m))) {
    throw new Error(`${op}: bias B [${b.shape.join(',')}] must be 1-D of size ${m} (output channels)`);
  }
}

const Conv: OpDef<ConvAttrs> = {
  name: 'Conv',
  inputs: [2, 3],
  flops: convFlops, // the bias is not counted
  outputs: [1, 1],
  parseAttrs: readConvAttrs,
  inferTypes(inputs, a, ctx) {
    const { x, w, b, dtype, kernel } = convOperands('Conv', inputs, a);
    const [c, m, cw] = [x.shape[1], w.shape[0], w.shape[1]];
    if (typeof c === 'number' && typeof cw === 'number' && c !== cw * a.group) {
      throw new Error(`Conv: X has ${c} channels but W [${w.shape.join(',')}] expects ${cw} per group × group ${a.group} = ${cw * a.group}`);
    }
    if (typeof m === 'number' && m % a.group !== 0) {
      throw new Error(`Conv: W has ${m} output channels, not divisible by group ${a.group}`);
    }
    checkBias('Conv', b, m);
    const spatial = outputDims(a, x.shape.slice(2), kernel, false, () => ctx.freshDim());
    return [{ dtype, shape: [x.shape[0], m, ...spatial] }];
  },
  run(inputs, a) {
    const x = inputs[0]!, w = inputs[1]!, b = inputs[2];
    return [conv(x, w, b, a)];
  },
};

/** Runs Conv on concrete tensors (exported for the ConvTranspose and fusion tests). */
export function conv(x: Tensor, w: Tensor, b: Tensor | undefined, a: ConvAttrs): Tensor {
  const [n, c] = x.shape;
  const [m, cg] = w.shape;
  const kernel = a.kernelShape ? [...a.kernelShape] : w.shape.slice(2);
  const group = a.group;
  if (c !== cg * group) throw new Error(`Conv: X has ${c} channels but W [${w.shape.join(',')}] expects ${cg} per group × group ${group}`);
  if (m % group !== 0) throw new Error(`Conv: W has ${m} output channels, not divisible by group ${group}`);
  const geo = resolveGeometry(a, x.shape.slice(2), kernel);
  const g3 = lift3(geo, 'Conv');
  const inSize = prod(g3.input), outSize = prod(g3.output), kSize = prod(g3.kernel);
  const mg = m / group;
  const xs = floatData(x);
  const ws = floatData(w);
  const f64 = xs instanceof Float64Array;
  const wk = (f64 ? (ws instanceof Float64Array ? ws : Float64Array.from(ws)) : ws) as FloatArray;
  const y = allocFloat(f64 ? 'f64' : 'f32', n * m * outSize);
  const pointwise = kSize === 1 && g3.strides.every((s) => s === 1) &&
    g3.padBegin.every((p) => p === 0) && g3.padEnd.every((p) => p === 0);
  if (cg === 1 && group > 1 && !pointwise) {
    depthwise(xs, wk, y, n, c, mg, g3);
  } else {
    const rows = cg * kSize;
    const col = pointwise ? undefined : scratch(f64, rows * outSize);
    for (let ni = 0; ni < n; ni++) {
      for (let g = 0; g < group; g++) {
        const xOff = (ni * c + g * cg) * inSize;
        let bData = xs, bOff = xOff;
        if (col) {
          im2col(xs, xOff, cg, g3, col);
          bData = col;
          bOff = 0;
        }
        const yOff = (ni * m + g * mg) * outSize;
        if (f64) {
          dgemm(mg, outSize, rows, 1, dense(wk as Float64Array, g * mg * rows, rows), dense(bData as Float64Array, bOff, outSize),
            y as Float64Array, yOff, outSize, false);
        } else {
          sgemm(mg, outSize, rows, 1, dense(wk as Float32Array, g * mg * rows, rows), dense(bData as Float32Array, bOff, outSize),
            y as Float32Array, yOff, outSize, false);
        }
      }
    }
  }
  if (b) addChannelBias(y, floatData(b), n, m, outSize);
  return floatTensor(x.dtype, [n, m, ...geo.output], y);
}

let scratch32 = new Float32Array(0);
let scratch64 = new Float64Array(0);

/** A reusable im2col buffer of at least `size` elements (contents undefined). */
function scratch(f64: boolean, size: number): FloatArray {
  if (f64) {
    if (scratch64.length < size) scratch64 = new Float64Array(size);
    return scratch64;
  }
  if (scratch32.length < size) scratch32 = new Float32Array(size);
  return scratch32;
}

/** y[n, m, :] += bias[m]. */
export function addChannelBias(y: FloatArray, bias: FloatArray, n: number, m: number, size: number): void {
  for (let ni = 0; ni < n; ni++) {
    for (let mi = 0; mi < m; mi++) {
      const bv = bias[mi];
      const o = (ni * m + mi) * size;
      for (let i = 0; i < size; i++) y[o + i] += bv;
    }
  }
}

/**
 * Writes the im2col matrix of `cg` channels starting at xs[xOff]: row (c, kd, kh, kw), column
 * (od, oh, ow) holds the input sample under that kernel tap, or 0 in the padding.
 */
export function im2col(xs: FloatArray, xOff: number, cg: number, g: Geometry, col: FloatArray): void {
  const [ID, IH, IW] = g.input;
  const [KD, KH, KW] = g.kernel;
  const [OD, OH, OW] = g.output;
  const [SD, SH, SW] = g.strides;
  const [DD, DH, DW] = g.dilations;
  const [PD, PH, PW] = g.padBegin;
  const plane = OH * OW;
  let q = 0;
  for (let c = 0; c < cg; c++) {
    const cOff = xOff + c * ID * IH * IW;
    for (let kd = 0; kd < KD; kd++) {
      for (let kh = 0; kh < KH; kh++) {
        for (let kw = 0; kw < KW; kw++) {
          const kwOff = kw * DW - PW;
          const [lo, hi] = validRange(kwOff, SW, IW, OW);
          for (let od = 0; od < OD; od++) {
            const id = od * SD + kd * DD - PD;
            if (id < 0 || id >= ID) {
              col.fill(0, q, q + plane);
              q += plane;
              continue;
            }
            for (let oh = 0; oh < OH; oh++) {
              const ih = oh * SH + kh * DH - PH;
              if (ih < 0 || ih >= IH) {
                col.fill(0, q, q + OW);
                q += OW;
                continue;
              }
              const row = cOff + (id * IH + ih) * IW + kwOff;
              for (let ow = 0; ow < lo; ow++) col[q + ow] = 0;
              if (SW === 1) for (let ow = lo; ow < hi; ow++) col[q + ow] = xs[row + ow];
              else for (let ow = lo; ow < hi; ow++) col[q + ow] = xs[row + ow * SW];
              for (let ow = hi; ow < OW; ow++) col[q + ow] = 0;
              q += OW;
            }
          }
        }
      }
    }
  }
}

/**
 * Depthwise convolution (one input channel per group, `mg` output channels per group) as a direct
 * loop in row form: for each output row and kernel tap, one weight times a (strided) input row is
 * added to the whole output row, over the output columns [lo, hi) whose input column is inside X.
 * `y` must be zero-filled.
 */
function depthwise(xs: FloatArray, ws: FloatArray, y: FloatArray, n: number, c: number, mg: number, g: Geometry): void {
  const [ID, IH, IW] = g.input;
  const [KD, KH, KW] = g.kernel;
  const [OD, OH, OW] = g.output;
  const [SD, SH, SW] = g.strides;
  const [DD, DH, DW] = g.dilations;
  const [PD, PH, PW] = g.padBegin;
  const inSize = ID * IH * IW, outSize = OD * OH * OW, kSize = KD * KH * KW;
  const m = c * mg;
  // per kernel column: the output columns [lo, hi) that read inside the input row
  const lo = new Int32Array(KW), hi = new Int32Array(KW);
  for (let kw = 0; kw < KW; kw++) [lo[kw], hi[kw]] = validRange(kw * DW - PW, SW, IW, OW);
  for (let ni = 0; ni < n; ni++) {
    for (let mi = 0; mi < m; mi++) {
      const xOff = (ni * c + Math.floor(mi / mg)) * inSize;
      const wOff = mi * kSize;
      for (let od = 0; od < OD; od++) {
        for (let oh = 0; oh < OH; oh++) {
          const yRow = (ni * m + mi) * outSize + (od * OH + oh) * OW;
          for (let kd = 0; kd < KD; kd++) {
            const id = od * SD + kd * DD - PD;
            if (id < 0 || id >= ID) continue;
            for (let kh = 0; kh < KH; kh++) {
              const ih = oh * SH + kh * DH - PH;
              if (ih < 0 || ih >= IH) continue;
              const xRow = xOff + (id * IH + ih) * IW;
              const wRow = wOff + (kd * KH + kh) * KW;
              for (let kw = 0; kw < KW; kw++) {
                const wv = ws[wRow + kw];
                const xs0 = xRow + kw * DW - PW, l = lo[kw], h = hi[kw];
                if (SW === 1) for (let ow = l; ow < h; ow++) y[yRow + ow] += wv * xs[xs0 + ow];
                else for (let ow = l; ow < h; ow++) y[yRow + ow] += wv * xs[xs0 + ow * SW];
              }
            }
          }
        }
      }
    }
  }
}

export const convOps: OpDef<any>[] = [Conv];
