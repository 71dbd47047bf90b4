/**
 * Op family 'detection' (region ops): RoiAlign, MaxRoiPool and NonMaxSuppression.
 *
 * RoiAlign (after the ONNX reference): roi (x1, y1, x2, y2) of image batch_indices[r] is scaled by
 * spatial_scale and shifted by −0.5 ('half_pixel', the default) or not ('output_half_pixel', where a
 * roi is at least 1×1); each of the output_height × output_width bins is sampled on a grid of
 * sampling_ratio² points (default ceil(roi size / bins) per axis) at the sub-bin centres. A point
 * more than one pixel outside the image contributes 0; otherwise it is clamped to the image and read
 * bilinearly from its 4 neighbours. 'avg' averages the points; 'max' takes the largest weighted
 * corner (w·x) over the points, exactly as the reference and onnxruntime do.
 *
 * MaxRoiPool (as onnxruntime): roi (batch, x1, y1, x2, y2) scaled by spatial_scale and rounded
 * half away from zero; bin (i, j) of pooled_shape covers rows start + [floor(i·h/ph), ceil((i+1)·h/ph))
 * (h = max(y2 − y1 + 1, 1)) clipped to the image, likewise columns; an empty bin gives 0.
 *
 * NonMaxSuppression: per batch and class, boxes scoring above score_threshold (all when it is
 * omitted) are visited by decreasing score (ties: lower index first); a box is kept unless its IoU
 * with a box already kept exceeds iou_threshold, until max_output_boxes_per_class are kept (default 0:
 * none). Boxes are [y1, x1, y2, x2] with corners in any order (center_point_box 0) or [x_c, y_c, w, h]
 * (1). Output rows [batch, class, box] (i64). Its row count depends on the data: the shape rule gives
 * a fresh symbolic dim (as for any size known only at run time) and the kernel returns the rows found.
 * IoU arithmetic is rounded to f32 at each step for f32 boxes, as the f32 reference computes it, so
 * boundary cases (IoU exactly at the threshold) agree.
 */
import type { Dim } from '../ir/graph.ts';
import { Tensor, readInts, readNumbers } from '../ir/tensor.ts';
import type { OpDef } from './registry.ts';
import { AttrError } from './registry.ts';
import { FLOAT_TYPES, expectDType, required, sameDType } from './support.ts';
import { allocFloat, floatData, floatTensor } from './float-io.ts';

const dims = (s: readonly Dim[]) => `[${s.join(',')}]`;

// ---------------------------------------------------------------- RoiAlign

/** RoiAlign attributes. */
export interface RoiAlignAttrs {
  readonly halfPixel: boolean;
  readonly mode: 'avg' | 'max';
  readonly height: number;
  readonly width: number;
  readonly samplingRatio: number;
  readonly spatialScale: number;
}

const RoiAlign: OpDef<RoiAlignAttrs> = {
  name: 'RoiAlign', inputs: [3, 3], outputs: [1, 1],
  parseAttrs(r) {
    const ctm = r.oneOf('coordinate_transformation_mode', r.string('coordinate_transformation_mode', 'half_pixel'), ['half_pixel', 'output_half_pixel']);
    const pos = (name: string, dflt: number, min: number) => {
      const v = r.int(name, dflt);
      if (v < min) throw new AttrError(name, `must be >= ${min}, got ${v}`);
      return v;
    };
    return {
      halfPixel: ctm === 'half_pixel',
      mode: r.oneOf('mode', r.string('mode', 'avg'), ['avg', 'max']) as 'avg' | 'max',
      height: pos('output_height', 1, 1),
      width: pos('output_width', 1, 1),
      samplingRatio: pos('sampling_ratio', 0, 0),
      spatialScale: r.float('spatial_scale', 1),
    };
  },
  inferTypes(inputs, a) {
    const x = required(inputs, 0, 'X'), rois = required(inputs, 1, 'rois'), bi = required(inputs, 2, 'batch_indices');
    const dtype = sameDType([x, rois]);
    expectDType(dtype, FLOAT_TYPES, 'X');
    expectDType(bi.dtype, ['i64'], 'batch_indices');
    if (x.shape.length !== 4) throw new Error(`RoiAlign: X ${dims(x.shape)} must be [N, C, H, W]`);
    if (rois.shape.length !== 2 || (typeof rois.shape[1] === 'number' && rois.shape[1] !== 4)) throw new Error(`RoiAlign: rois ${dims(rois.shape)} must be [num_rois, 4]`);
    if (bi.shape.length !== 1) throw new Error(`RoiAlign: batch_indices ${dims(bi.shape)} must be 1-D`);
    return [{ dtype, shape: [rois.shape[0], x.shape[1], a.height, a.width] }];
  },
  run([x, roisT, biT], a) {
    const [n, c, H, W] = x!.shape, R = roisT!.shape[0];
    const xs = floatData(x!), rois = readNumbers(roisT!), bis = readInts(biT!);
    const { height: PH, width: PW } = a;
    const y = allocFloat(x!.dtype, R * c * PH * PW);
    const off = a.halfPixel ? 0.5 : 0;
    for (let r = 0; r < R; r++) {
      const b = bis[r];
      if (b < 0 || b >= n) throw new Error(`RoiAlign: batch index ${b} of roi ${r} is outside [0, ${n})`);
      const x1 = rois[r * 4] * a.spatialScale - off, y1 = rois[r * 4 + 1] * a.spatialScale - off;
      let rw = rois[r * 4 + 2] * a.spatialScale - off - x1, rh = rois[r * 4 + 3] * a.spatialScale - off - y1;
      if (!a.halfPixel) { rw = Math.max(rw, 1); rh = Math.max(rh, 1); }
      const bh = rh / PH, bw = rw / PW;
      const gh = a.samplingRatio > 0 ? a.samplingRatio : Math.ceil(rh / PH), gw = a.samplingRatio > 0 ? a.samplingRatio : Math.ceil(rw / PW);
      const count = Math.max(gh * gw, 1);
      // per bin and sample point: 4 positions and 4 weights, shared by all channels
      const pos = new Int32Array(PH * PW * gh * gw * 4), wts = new Float64Array(pos.length);
      let q = 0;
      for (let ph = 0; ph < PH; ph++) for (let pw = 0; pw < PW; pw++) for (let iy = 0; iy < gh; iy++) {
        const yy0 = y1 + ph * bh + ((iy + 0.5) * bh) / gh;
        for (let ix = 0; ix < gw; ix++, q += 4) {
          let yy = yy0, xx = x1 + pw * bw + ((ix + 0.5) * bw) / gw;
          if (yy < -1 || yy > H || xx < -1 || xx > W) continue; // weights stay 0
          yy = Math.max(yy, 0); xx = Math.max(xx, 0);
          let yl = Math.trunc(yy), xl = Math.trunc(xx), yh = yl + 1, xh = xl + 1;
          if (yl >= H - 1) { yh = yl = H - 1; yy = yl; }
          if (xl >= W - 1) { xh = xl = W - 1; xx = xl; }
          const ly = yy - yl, lx = xx - xl, hy = 1 - ly, hx = 1 - lx;
          pos.set([yl * W + xl, yl * W + xh, yh * W + xl, yh * W + xh], q);
          wts.set([hy * hx, hy * lx, ly * hx, ly * lx], q);
        }
      }
      for (let ch = 0; ch < c; ch++) {
        const base = (b * c + ch) * H * W;
        let q2 = 0;
        for (let p = 0; p < PH * PW; p++) {
          let acc = a.mode === 'avg' ? 0 : -Infinity;
          for (let s = 0; s < gh * gw; s++, q2 += 4) {
            if (a.mode === 'avg') {
              for (let k = 0; k < 4; k++) acc += wts[q2 + k] * xs[base + pos[q2 + k]];
            } else {
              for (let k = 0; k < 4; k++) acc = Math.max(acc, wts[q2 + k] * xs[base + pos[q2 + k]]);
            }
          }
          y[(r * c + ch) * PH * PW + p] = a.mode === 'avg' ? acc / count : gh * gw === 0 ? 0 : acc;
        }
      }
    }
    return [floatTensor(x!.dtype, [R, c, PH, PW], y)];
  },
};

// ---------------------------------------------------------------- MaxRoiPool

const MaxRoiPool: OpDef<{ pooled: readonly number[]; spatialScale: number }> = {
  name: 'MaxRoiPool', inputs: [2, 2], outputs: [1, 1],
  parseAttrs(r) {
    const pooled = r.ints('pooled_shape');
    if (pooled.length !== 2 || pooled.some((v) => !(v >= 1))) throw new AttrError('pooled_shape', `must be 2 values >= 1, got [${pooled.join(',')}]`);
    return { pooled, spatialScale: r.float('spatial_scale', 1) };
  },
  inferTypes(inputs, a) {
    const x = required(inputs, 0, 'X'), rois = required(inputs, 1, 'rois');
    const dtype = sameDType([x, rois]);
    expectDType(dtype, FLOAT_TYPES, 'X');
    if (x.shape.length !== 4) throw new Error(`MaxRoiPool: X ${dims(x.shape)} must be [N, C, H, W]`);
    if (rois.shape.length !== 2 || (typeof rois.shape[1] === 'number' && rois.shape[1] !== 5)) throw new Error(`MaxRoiPool: rois ${dims(rois.shape)} must be [num_rois, 5]`);
    return [{ dtype, shape: [rois.shape[0], x.shape[1], a.pooled[0], a.pooled[1]] }];
  },
  run([x, roisT], a) {
    const [n, c, H, W] = x!.shape, R = roisT!.shape[0], [PH, PW] = a.pooled;
    const xs = floatData(x!), rois = readNumbers(roisT!);
    const y = allocFloat(x!.dtype, R * c * PH * PW);
    const round = (v: number) => (v >= 0 ? Math.floor(v + 0.5) : Math.ceil(v - 0.5));
    for (let r = 0; r < R; r++) {
      const b = rois[r * 5];
      if (!(b >= 0 && b < n)) throw new Error(`MaxRoiPool: batch index ${b} of roi ${r} is outside [0, ${n})`);
      const [x1, y1, x2, y2] = [1, 2, 3, 4].map((k) => round(rois[r * 5 + k] * a.spatialScale));
      const bh = Math.max(y2 - y1 + 1, 1) / PH, bw = Math.max(x2 - x1 + 1, 1) / PW;
      const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
      for (let ch = 0; ch < c; ch++) {
        const base = (b * c + ch) * H * W;
        for (let ph = 0; ph < PH; ph++) {
          const hs = clip(Math.floor(ph * bh) + y1, H), he = clip(Math.ceil((ph + 1) * bh) + y1, H);
          for (let pw = 0; pw < PW; pw++) {
            const ws = clip(Math.floor(pw * bw) + x1, W), we = clip(Math.ceil((pw + 1) * bw) + x1, W);
            let m = he <= hs || we <= ws ? 0 : -Infinity;
            for (let h = hs; h < he; h++) for (let w = ws; w < we; w++) m = Math.max(m, xs[base + h * W + w]);
            y[((r * c + ch) * PH + ph) * PW + pw] = m;
          }
        }
      }
    }
    return [floatTensor(x!.dtype, [R, c, PH, PW], y)];
  },
};

// ---------------------------------------------------------------- NonMaxSuppression

/** True when the IoU of boxes i and j (4 values each at bs[4i], bs[4j]) exceeds `thr`. */
function suppresses(bs: ArrayLike<number>, i: number, j: number, center: boolean, thr: number, f: (v: number) => number): boolean {
  const extent = (k: number, axis: 0 | 1): [number, number] => {
    if (center) {
      const mid = bs[4 * k + axis], half = f(bs[4 * k + 2 + axis] / 2);
      return [f(mid - half), f(mid + half)];
    }
    // corners format [y1, x1, y2, x2]: axis 0 is x (indices 1, 3), axis 1 is y (0, 2)
    const a = bs[4 * k + 1 - axis], b = bs[4 * k + 3 - axis];
    return a <= b ? [a, b] : [b, a];
  };
  const [ax0, ax1] = extent(i, 0), [bx0, bx1] = extent(j, 0);
  const ix0 = Math.max(ax0, bx0), ix1 = Math.min(ax1, bx1);
  if (ix1 <= ix0) return false;
  const [ay0, ay1] = extent(i, 1), [by0, by1] = extent(j, 1);
  const iy0 = Math.max(ay0, by0), iy1 = Math.min(ay1, by1);
  if (iy1 <= iy0) return false;
  const inter = f(f(ix1 - ix0) * f(iy1 - iy0));
  const area1 = f(f(ax1 - ax0) * f(ay1 - ay0)), area2 = f(f(bx1 - bx0) * f(by1 - by0));
  const union = f(f(area1 + area2) - inter);
  if (inter <= 0 || area1 <= 0 || area2 <= 0 || union <= 0) return false;
  return f(inter / union) > thr;
}

const NonMaxSuppression: OpDef<{ center: boolean }> = {
  name: 'NonMaxSuppression', inputs: [2, 5], outputs: [1, 1],
  parseAttrs: (r) => ({ center: r.oneOf('center_point_box', r.int('center_point_box', 0), [0, 1]) === 1 }),
  inferTypes(inputs, _a, ctx) {
    const boxes = required(inputs, 0, 'boxes'), scores = required(inputs, 1, 'scores');
    expectDType(sameDType([boxes, scores]), FLOAT_TYPES, 'boxes');
    if (boxes.shape.length !== 3 || (typeof boxes.shape[2] === 'number' && boxes.shape[2] !== 4)) throw new Error(`NonMaxSuppression: boxes ${dims(boxes.shape)} must be [batches, boxes, 4]`);
    if (scores.shape.length !== 3) throw new Error(`NonMaxSuppression: scores ${dims(scores.shape)} must be [batches, classes, boxes]`);
    if (inputs[2]) expectDType(inputs[2].dtype, ['i64'], 'max_output_boxes_per_class');
    // the number of selected boxes is known only at run time
    return [{ dtype: 'i64', shape: [ctx.freshDim(), 3] }];
  },
  run([boxesT, scoresT, maxT, iouT, scoreT], a) {
    const [B, N] = boxesT!.shape, [sb, C, sn] = scoresT!.shape;
    if (sb !== B || sn !== N) throw new Error(`NonMaxSuppression: scores [${scoresT!.shape.join(',')}] do not match boxes [${boxesT!.shape.join(',')}]`);
    const maxOut = maxT && maxT.size > 0 ? Math.max(readInts(maxT)[0], 0) : 0;
    const iou = iouT && iouT.size > 0 ? readNumbers(iouT)[0] : 0;
    const scoreThr = scoreT && scoreT.size > 0 ? readNumbers(scoreT)[0] : undefined;
    if (iou < 0 || iou > 1) throw new Error(`NonMaxSuppression: iou_threshold ${iou} must be in [0, 1]`);
    const f = boxesT!.dtype === 'f64' ? (v: number) => v : Math.fround;
    const boxes = readNumbers(boxesT!), scores = readNumbers(scoresT!);
    const rows: number[] = [];
    for (let b = 0; b < B; b++) {
      const bs = boxes.subarray(b * N * 4, (b + 1) * N * 4);
      for (let cl = 0; cl < C; cl++) {
        const s = scores.subarray((b * C + cl) * N, (b * C + cl + 1) * N);
        const order: number[] = [];
        for (let i = 0; i < N; i++) if (scoreThr === undefined || s[i] > scoreThr) order.push(i);
        order.sort((p, q) => s[q] - s[p] || p - q);
        const kept: number[] = [];
        for (const i of order) {
          if (kept.length >= maxOut) break;
          if (kept.some((j) => suppresses(bs, i, j, a.center, iou, f))) continue;
          kept.push(i);
          rows.push(b, cl, i);
        }
      }
    }
    return [new Tensor('i64', [rows.length / 3, 3], BigInt64Array.from(rows, BigInt))];
  },
};

export const detectionOps: OpDef<any>[] = [RoiAlign, MaxRoiPool, NonMaxSuppression];
