/**
 * Op family 'conv' (second half): ConvTranspose (groups, dilations, strides, pads, output_padding,
 * output_shape, auto_pad, optional bias).
 *
 * Geometry (ONNX spec, as onnxruntime implements it), per spatial axis with e = (k-1)·d + 1:
 *   out = s·(in-1) + output_padding + e - pb - pe
 * When output_shape is given (or auto_pad is SAME_*, where output_shape = in·s), the pads are derived:
 *   total = s·(in-1) + output_padding + e - output_shape; SAME_UPPER puts floor(total/2) at the
 *   beginning, every other mode puts ceil(total/2) there. Negative pads extend the output with
 *   bias-only positions.
 * Algorithm, per batch item and group: col[Mg·k, in] = W_gᵀ · X_g on the shared GEMM core (W_g read
 * through a transposed view, no copy), then col2im scatter-adds every column entry into the output
 * position o = i·s + k·d - pb it contributes to (inner loop clipped to the valid input range).
 */
import type { Dim } from '../ir/graph.ts';
import type { Tensor } from '../ir/tensor.ts';
import type { OpDef } from './registry.ts';
import { elems, times } from './flops.ts';
import { AttrError } from './registry.ts';
import { type Geometry, lift3, prod, windowParams } from './window.ts';
import { type FloatArray, allocFloat, floatData, floatTensor } from './float-io.ts';
import { dense, dgemm, sgemm } from './gemm-core.ts';
import { type ConvAttrs, addChannelBias, checkBias, convOperands, readConvAttrs } from './conv.ts';

/** ConvTranspose attributes. */
export interface ConvTransposeAttrs extends ConvAttrs {
  readonly outputPadding?: readonly number[];
  readonly outputShape?: readonly number[];
}

/** Output spatial sizes and begin pads for concrete input sizes (shared with the kernel lowering). */
export function transposeGeometry(a: ConvTransposeAttrs, input: readonly number[], kernel: readonly number[]): Geometry {
  const rank = input.length;
  const { strides, dilations, pads } = windowParams(a, rank, kernel);
  const outPad = a.outputPadding ?? new Array(rank).fill(0);
  if (outPad.length !== rank) throw new Error(`output_padding has ${outPad.length} values but the op has ${rank} spatial axes`);
  let target = a.outputShape;
  if (target && target.length === rank + 2) target = target.slice(2);
  if (target && target.length !== rank) throw new Error(`output_shape has ${target.length} values but the op has ${rank} spatial axes`);
  const same = a.autoPad === 'SAME_UPPER' || a.autoPad === 'SAME_LOWER';
  if (!target && same) target = input.map((d, i) => d * strides[i]);
  const padBegin: number[] = [], padEnd: number[] = [], output: number[] = [];
  for (let i = 0; i < rank; i++) {
    const full = strides[i] * (input[i] - 1) + outPad[i] + (kernel[i] - 1) * dilations[i] + 1;
    if (target) {
      const total = full - target[i];
      const small = Math.floor(total / 2);
      const pb = a.autoPad === 'SAME_UPPER' ? small : total - small;
      padBegin.push(pb);
      padEnd.push(total - pb);
      output.push(target[i]);
    } else {
      const pb = a.autoPad === 'VALID' ? 0 : pads[i], pe = a.autoPad === 'VALID' ? 0 : pads[rank + i];
      padBegin.push(pb);
      padEnd.push(pe);
      output.push(full - pb - pe);
    }
  }
  return { rank, input, kernel, strides, dilations, padBegin, padEnd, output };
}

const ConvTranspose: OpDef<ConvTransposeAttrs> = {
  name: 'ConvTranspose',
  inputs: [2, 3],
  // 2 · in · (Cout/group) · prod(kernel): each input element scatters into a Cout/group · kernel window
  flops: (i) => times(2, elems(i[0]?.shape), elems(i[1]?.shape.slice(1))),
  outputs: [1, 1],
  parseAttrs(r) {
    const base = readConvAttrs(r);
    const outputPadding = r.maybeInts('output_padding');
    const outputShape = r.maybeInts('output_shape');
    if (outputPadding && outputPadding.some((p) => p < 0)) throw new AttrError('output_padding', 'values must be >= 0');
    return { ...base, outputPadding, outputShape };
  },
  inferTypes(inputs, a, ctx) {
    const { x, w, b, dtype, kernel } = convOperands('ConvTranspose', inputs, a);
    const [c, cw, mg] = [x.shape[1], w.shape[0], w.shape[1]];
    if (typeof c === 'number' && typeof cw === 'number' && c !== cw) {
      throw new Error(`ConvTranspose: X has ${c} channels but W [${w.shape.join(',')}] has ${cw} input channels`);
    }
    if (typeof c === 'number' && c % a.group !== 0) throw new Error(`ConvTranspose: X has ${c} channels, not divisible by group ${a.group}`);
    const m: Dim = typeof mg === 'number' ? mg * a.group : ctx.freshDim();
    checkBias('ConvTranspose', b, m);
    const spatialIn = x.shape.slice(2);
    let spatial: Dim[];
    if (spatialIn.every((d) => typeof d === 'number')) {
      spatial = [...transposeGeometry(a, spatialIn as number[], kernel).output];
    } else {
      spatial = a.outputShape ? [...a.outputShape.slice(-spatialIn.length)] : spatialIn.map(() => ctx.freshDim());
    }
    if (spatial.some((d) => typeof d === 'number' && d <= 0)) throw new Error(`ConvTranspose: output spatial shape [${spatial.join(',')}] is empty`);
    return [{ dtype, shape: [x.shape[0], m, ...spatial] }];
  },
  run(inputs, a) {
    return [convTranspose(inputs[0]!, inputs[1]!, inputs[2], a)];
  },
};

/** Runs ConvTranspose on concrete tensors. */
export function convTranspose(x: Tensor, w: Tensor, b: Tensor | undefined, a: ConvTransposeAttrs): Tensor {
  const [n, c] = x.shape;
  const [cw, mg] = w.shape;
  const group = a.group;
  if (c !== cw) throw new Error(`ConvTranspose: X has ${c} channels but W [${w.shape.join(',')}] has ${cw} input channels`);
  if (c % group !== 0) throw new Error(`ConvTranspose: X has ${c} channels, not divisible by group ${group}`);
  const kernel = w.shape.slice(2);
  const geo = transposeGeometry(a, x.shape.slice(2), kernel);
  const g3 = lift3(geo, 'ConvTranspose');
  const cg = c / group, m = mg * group;
  const inSize = prod(g3.input), outSize = prod(g3.output), kSize = prod(g3.kernel);
  const xs = floatData(x), ws = floatData(w);
  const f64 = xs instanceof Float64Array;
  const y = allocFloat(f64 ? 'f64' : 'f32', n * m * outSize);
  const rows = mg * kSize;
  const col = allocFloat(f64 ? 'f64' : 'f32', rows * inSize);
  for (let ni = 0; ni < n; ni++) {
    for (let g = 0; g < group; g++) {
      const wOff = g * cg * rows, xOff = (ni * c + g * cg) * inSize;
      if (f64) {
        dgemm(rows, inSize, cg, 1, dense(ws as Float64Array, wOff, rows, true), dense(xs as Float64Array, xOff, inSize),
          col as Float64Array, 0, inSize, false);
      } else {
        sgemm(rows, inSize, cg, 1, dense(ws as Float32Array, wOff, rows, true), dense(xs as Float32Array, xOff, inSize),
          col as Float32Array, 0, inSize, false);
      }
      col2im(col, mg, g3, y, (ni * m + g * mg) * outSize);
    }
  }
  if (b) addChannelBias(y, floatData(b), n, m, outSize);
  return floatTensor(x.dtype, [n, m, ...geo.output], y);
}

/**
 * Scatter-adds col[(mo, kd, kh, kw), (id, ih, iw)] into y[yOff + mo·out + (od, oh, ow)] with
 * o = i·s + k·d - pb, skipping positions outside the output.
 */
function col2im(col: FloatArray, mg: number, g: Geometry, y: FloatArray, yOff: number): void {
  const [ID, IH, IW] = g.input;
  const [KD, KH, KW] = g.kernel;
  const [OD, OH, OW] = g.output;
  const [SD, SH, SW] = g.strides;
  const [DD, DH, DW] = g.dilations;
  const [PD, PH, PW] = g.padBegin;
  const inSize = ID * IH * IW, outSize = OD * OH * OW;
  let q = 0;
  for (let mo = 0; mo < mg; mo++) {
    const yc = yOff + mo * outSize;
    for (let kd = 0; kd < KD; kd++) {
      for (let kh = 0; kh < KH; kh++) {
        for (let kw = 0; kw < KW; kw++) {
          const kwOff = kw * DW - PW;
          // input columns iw whose output ow = iw·SW + kwOff lies in [0, OW)
          const lo = kwOff >= 0 ? 0 : Math.min(IW, Math.ceil(-kwOff / SW));
          const hi = OW - kwOff <= 0 ? lo : Math.max(lo, Math.min(IW, Math.floor((OW - 1 - kwOff) / SW) + 1));
          for (let id = 0; id < ID; id++) {
            const od = id * SD + kd * DD - PD;
            if (od < 0 || od >= OD) continue;
            for (let ih = 0; ih < IH; ih++) {
              const oh = ih * SH + kh * DH - PH;
              if (oh < 0 || oh >= OH) continue;
              const src = q + (id * IH + ih) * IW;
              const dst = yc + (od * OH + oh) * OW + kwOff;
              for (let iw = lo; iw < hi; iw++) y[dst + iw * SW] += col[src + iw];
            }
          }
          q += inSize;
        }
      }
    }
  }
}

export const convTransposeOps: OpDef<any>[] = [ConvTranspose];
