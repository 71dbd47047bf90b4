/**
 * Op family 'signal': HannWindow, HammingWindow, BlackmanWindow, MelWeightMatrix, DFT and STFT.
 *
 * Windows: w[n] = a0 − a1·cos(2πn/N) + a2·cos(4πn/N) for n in [0, size), with N = size (periodic,
 * the default) or size − 1 (symmetric); Hann (0.5, 0.5, 0), Hamming (25/46, 21/46, 0), Blackman
 * (0.42, 0.5, 0.08). MelWeightMatrix follows the ONNX reference: num_mel_bins + 2 points evenly spaced
 * on the mel scale (2595·log10(1 + f/700)) between the edge frequencies, mapped back to Hz and to FFT
 * bins floor((dft_length + 1)·f / sample_rate); mel bin i is the triangle rising from point i to
 * point i+1 and falling to point i+2, over dft_length/2 + 1 spectrogram rows. Both take an
 * `output_datatype` ONNX type code (default float).
 *
 * DFT: the last axis holds [re] (real signal) or [re, im]; `axis` (input 2, default −2, counting the
 * complex axis) is transformed with length n = dft_length (input 1; the signal is zero-padded or
 * truncated to it), default the axis length. Forward: y[k] = Σ x[t]·e^{−2πikt/n}, k < n, or k ≤ n/2
 * when `onesided` (real input only). Inverse: x[t] = (1/n)·Σ y[k]·e^{2πikt/n}; with `onesided` the
 * input is a half spectrum (default n = 2·(len − 1)) whose missing half is its conjugate mirror, and
 * the output is real (last axis 1), as numpy's irfft. Each line is a direct O(n²) sum in f64 with an
 * exact twiddle table (cos/sin of 2π·(kt mod n)/n), so results match a float64 FFT to rounding.
 * STFT: frames of frame_length (input 3, default the window's length) every frame_step (input 1)
 * samples along axis 1 of [batch, length, 1|2], multiplied by the window (input 2, default ones),
 * each transformed like DFT; `onesided` (default 1) keeps frame_length/2 + 1 bins. Output
 * [batch, frames, bins, 2] with frames = 1 + floor((length − frame_length) / frame_step).
 *
 * Sizes that come from input values (window size, dft_length, frame_step, ...) are static when the
 * value is known before running (a constant), otherwise fresh symbolic dims.
 */
import type { Dim } from '../ir/graph.ts';
import type { DType } from '../ir/dtype.ts';
import { Tensor, readInts, readNumbers, shapeSize } from '../ir/tensor.ts';
import type { AttrReader, OpDef, ShapeContext } from './registry.ts';
import { AttrError } from './registry.ts';
import { FLOAT_TYPES, expectDType, normalizeAxis, required } from './support.ts';
import { knownInts } from './movement.ts';
import { allocFloat, floatData, floatTensor } from './float-io.ts';
import { ONNX_CODES } from './cast.ts';

const INT_SCALARS: readonly DType[] = ['i32', 'i64'];

/** Reads `output_datatype` (an ONNX type code, default 1 = float) as a kiln float or integer dtype. */
function outputDType(r: AttrReader): DType {
  const code = r.int('output_datatype', 1);
  const d = ONNX_CODES[code];
  if (!d || d === 'str' || d === 'bool' || d.startsWith('f8') || d.startsWith('f4') || /^[iu][24]$/.test(d)) {
    throw new AttrError('output_datatype', `data type ${code} is not a supported output type`);
  }
  return d;
}

/** One scalar int input's value at run time (throws naming it when missing or not a single value). */
function scalarInt(t: Tensor | undefined, what: string): number {
  if (!t) throw new Error(`${what} is required`);
  if (t.size !== 1) throw new Error(`${what} must be a scalar, got shape [${t.shape.join(',')}]`);
  return readInts(t)[0];
}

/** A known scalar int input before running, else undefined. */
function knownScalar(ctx: ShapeContext, i: number): number | undefined {
  const v = knownInts(ctx, i);
  return v && v.length === 1 ? v[0] : undefined;
}

// ---------------------------------------------------------------- windows

interface WindowAttrs { readonly dtype: DType; readonly periodic: boolean }

function windowOp(name: string, a0: number, a1: number, a2: number): OpDef<WindowAttrs> {
  return {
    name, inputs: [1, 1], outputs: [1, 1],
    parseAttrs: (r) => ({ dtype: outputDType(r), periodic: r.oneOf('periodic', r.int('periodic', 1), [0, 1]) === 1 }),
    inferTypes(inputs, a, ctx) {
      expectDType(required(inputs, 0, 'size').dtype, INT_SCALARS, 'size');
      const n = knownScalar(ctx, 0);
      return [{ dtype: a.dtype, shape: [n ?? ctx.freshDim()] }];
    },
    run([size], a) {
      const n = scalarInt(size, 'size');
      if (n < 0) throw new Error(`${name}: size ${n} must be >= 0`);
      const N = a.periodic ? n : n - 1;
      const y = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const t = (2 * Math.PI * i) / N;
        y[i] = a0 - a1 * Math.cos(t) + (a2 === 0 ? 0 : a2 * Math.cos(2 * t));
      }
      return [Tensor.fromNumbers(a.dtype, [n], y)];
    },
  };
}

const HannWindow = windowOp('HannWindow', 0.5, 0.5, 0);
const HammingWindow = windowOp('HammingWindow', 25 / 46, 21 / 46, 0);
const BlackmanWindow = windowOp('BlackmanWindow', 0.42, 0.5, 0.08);

// ---------------------------------------------------------------- MelWeightMatrix

const MelWeightMatrix: OpDef<{ dtype: DType }> = {
  name: 'MelWeightMatrix', inputs: [5, 5], outputs: [1, 1],
  parseAttrs: (r) => ({ dtype: outputDType(r) }),
  inferTypes(inputs, a, ctx) {
    ['num_mel_bins', 'dft_length', 'sample_rate'].forEach((w, i) => expectDType(required(inputs, i, w).dtype, INT_SCALARS, w));
    const mel = knownScalar(ctx, 0), len = knownScalar(ctx, 1);
    return [{ dtype: a.dtype, shape: [len !== undefined ? Math.floor(len / 2) + 1 : ctx.freshDim(), mel ?? ctx.freshDim()] }];
  },
  run([melT, lenT, rateT, loT, hiT], a) {
    const mel = scalarInt(melT, 'num_mel_bins'), len = scalarInt(lenT, 'dft_length'), rate = scalarInt(rateT, 'sample_rate');
    const lo = readNumbers(loT!)[0], hi = readNumbers(hiT!)[0];
    if (mel < 1 || len < 1 || rate < 1) throw new Error(`MelWeightMatrix: num_mel_bins ${mel}, dft_length ${len} and sample_rate ${rate} must be >= 1`);
    const rows = Math.floor(len / 2) + 1;
    const toMel = (f: number) => 2595 * Math.log10(1 + f / 700);
    const loMel = toMel(lo), step = (toMel(hi) - loMel) / (mel + 2);
    const bins = Array.from({ length: mel + 2 }, (_, i) =>
      Math.floor(((len + 1) * 700 * (10 ** ((i * step + loMel) / 2595) - 1)) / rate));
    const out = new Float64Array(rows * mel);
    const set = (j: number, i: number, v: number) => { if (j >= 0 && j < rows) out[j * mel + i] = v; };
    for (let i = 0; i < mel; i++) {
      const [l, c, h] = [bins[i], bins[i + 1], bins[i + 2]];
      if (c === l) set(c, i, 1);
      else for (let j = l; j <= c; j++) set(j, i, (j - l) / (c - l));
      if (h > c) for (let j = c; j < h; j++) set(j, i, (h - j) / (h - c));
    }
    return [Tensor.fromNumbers(a.dtype, [rows, mel], out)];
  },
};

// ---------------------------------------------------------------- DFT kernel

/** cos/sin of 2π·j/n for j in [0, n). */
function twiddles(n: number): { c: Float64Array; s: Float64Array } {
  const c = new Float64Array(n), s = new Float64Array(n);
  for (let j = 0; j < n; j++) { c[j] = Math.cos((2 * Math.PI * j) / n); s[j] = Math.sin((2 * Math.PI * j) / n); }
  return { c, s };
}

/**
 * One DFT line: `len` complex samples (re/im arrays, im may be absent) zero-padded or truncated to n;
 * writes `bins` outputs. sign −1 forward, +1 inverse; scale multiplies every output.
 */
function dftLine(re: Float64Array, im: Float64Array | undefined, len: number, n: number, bins: number, sign: number,
  scale: number, tw: { c: Float64Array; s: Float64Array }, outRe: Float64Array, outIm: Float64Array): void {
  const m = Math.min(len, n);
  for (let k = 0; k < bins; k++) {
    let sr = 0, si = 0;
    for (let t = 0, j = 0; t < m; t++, j = (j + k) % n) {
      const c = tw.c[j], s = sign * tw.s[j];
      const xr = re[t], xi = im ? im[t] : 0;
      sr += xr * c - xi * s;
      si += xr * s + xi * c;
    }
    outRe[k] = sr * scale;
    outIm[k] = si * scale;
  }
}

/** DFT attributes. */
export interface DftAttrs { readonly inverse: boolean; readonly onesided: boolean }

/** Output length along the axis and the transform length n, for axis length `len`. */
function dftSizes(len: number, a: DftAttrs, dftLength: number | undefined): { n: number; out: number } {
  const n = dftLength ?? (a.inverse && a.onesided ? 2 * (len - 1) : len);
  if (!(n >= 1)) throw new Error(`DFT length ${n} must be >= 1`);
  return { n, out: !a.inverse && a.onesided ? Math.floor(n / 2) + 1 : n };
}

/** Runs DFT on a concrete tensor (see header). */
export function runDft(x: Tensor, a: DftAttrs, axisIn: number, dftLength?: number): Tensor {
  const rank = x.shape.length;
  const comps = x.shape[rank - 1];
  if (rank < 2 || (comps !== 1 && comps !== 2)) throw new Error(`DFT: input's last axis must be 1 (real) or 2 (complex), got [${x.shape.join(',')}]`);
  const axis = normalizeAxis(axisIn, rank, 'DFT axis');
  if (axis === rank - 1) throw new Error(`DFT axis ${axisIn} is the complex axis`);
  if (!a.inverse && a.onesided && comps === 2) throw new Error('DFT: onesided output needs a real input');
  const len = x.shape[axis];
  const { n, out } = dftSizes(len, a, dftLength);
  const outComps = a.inverse && a.onesided ? 1 : 2;
  const outer = shapeSize(x.shape.slice(0, axis)), inner = shapeSize(x.shape.slice(axis + 1, rank - 1));
  const xs = floatData(x);
  const shape = [...x.shape];
  shape[axis] = out;
  shape[rank - 1] = outComps;
  const y = allocFloat(x.dtype, outer * out * inner * outComps);
  const tw = twiddles(n);
  const re = new Float64Array(Math.max(len, n)), im = new Float64Array(Math.max(len, n));
  const oRe = new Float64Array(n), oIm = new Float64Array(n);
  const halfsided = a.inverse && a.onesided;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      re.fill(0); im.fill(0);
      for (let t = 0; t < len; t++) {
        const p = ((o * len + t) * inner + i) * comps;
        re[t] = xs[p];
        if (comps === 2) im[t] = xs[p + 1];
      }
      if (halfsided) {
        // rebuild the full spectrum by conjugate symmetry: X[n-k] = conj(X[k])
        const half = Math.floor(n / 2);
        for (let k = Math.min(len, half + 1); k <= half; k++) { re[k] = 0; im[k] = 0; }
        for (let k = half + 1; k < n; k++) { re[k] = re[n - k]; im[k] = -im[n - k]; }
        dftLine(re, im, n, n, n, 1, 1 / n, tw, oRe, oIm);
      } else {
        dftLine(re, comps === 2 ? im : undefined, len, n, out, a.inverse ? 1 : -1, a.inverse ? 1 / n : 1, tw, oRe, oIm);
      }
      for (let k = 0; k < out; k++) {
        const q = ((o * out + k) * inner + i) * outComps;
        y[q] = oRe[k];
        if (outComps === 2) y[q + 1] = oIm[k];
      }
    }
  }
  return floatTensor(x.dtype, shape, y);
}

const DFT: OpDef<DftAttrs> = {
  name: 'DFT', inputs: [1, 3], outputs: [1, 1],
  parseAttrs: (r) => ({
    inverse: r.oneOf('inverse', r.int('inverse', 0), [0, 1]) === 1,
    onesided: r.oneOf('onesided', r.int('onesided', 0), [0, 1]) === 1,
  }),
  inferTypes(inputs, a, ctx) {
    const x = required(inputs, 0, 'input');
    expectDType(x.dtype, FLOAT_TYPES, 'input');
    const rank = x.shape.length;
    if (rank < 2) throw new Error(`DFT: input must have rank >= 2 (signal..., 1|2), got [${x.shape.join(',')}]`);
    if (inputs[1]) expectDType(inputs[1].dtype, INT_SCALARS, 'dft_length');
    const axisIn = inputs[2] ? knownScalar(ctx, 2) : -2;
    const dftLength = inputs[1] ? knownScalar(ctx, 1) : undefined;
    const shape: Dim[] = [...x.shape];
    shape[rank - 1] = a.inverse && a.onesided ? 1 : 2;
    if (axisIn === undefined) {
      // axis known only at run time: every signal axis may change unless the transform keeps lengths
      if (inputs[1] || a.onesided) for (let i = 0; i < rank - 1; i++) shape[i] = ctx.freshDim();
      return [{ dtype: x.dtype, shape }];
    }
    const axis = normalizeAxis(axisIn, rank, 'DFT axis');
    if (axis === rank - 1) throw new Error(`DFT axis ${axisIn} is the complex axis`);
    const len = x.shape[axis];
    if (inputs[1] && dftLength === undefined) shape[axis] = ctx.freshDim();
    else if (typeof len === 'number' || dftLength !== undefined) shape[axis] = dftSizes(len as number, a, dftLength).out;
    else if (a.onesided) shape[axis] = ctx.freshDim();
    return [{ dtype: x.dtype, shape }];
  },
  run([x, len, axis], a) {
    return [runDft(x!, a, axis ? scalarInt(axis, 'axis') : -2, len ? scalarInt(len, 'dft_length') : undefined)];
  },
};

// ---------------------------------------------------------------- STFT

const STFT: OpDef<{ onesided: boolean }> = {
  name: 'STFT', inputs: [2, 4], outputs: [1, 1],
  parseAttrs: (r) => ({ onesided: r.oneOf('onesided', r.int('onesided', 1), [0, 1]) === 1 }),
  inferTypes(inputs, a, ctx) {
    const x = required(inputs, 0, 'signal');
    expectDType(x.dtype, FLOAT_TYPES, 'signal');
    if (x.shape.length !== 3) throw new Error(`STFT: signal must be [batch, length, 1|2], got [${x.shape.join(',')}]`);
    expectDType(required(inputs, 1, 'frame_step').dtype, INT_SCALARS, 'frame_step');
    const win = inputs[2];
    if (win && win.shape.length !== 1) throw new Error(`STFT: window must be 1-D, got [${win.shape.join(',')}]`);
    const step = knownScalar(ctx, 1);
    const fl = inputs[3] ? knownScalar(ctx, 3) : win && typeof win.shape[0] === 'number' ? win.shape[0] : undefined;
    const len = x.shape[1];
    const frames = step !== undefined && fl !== undefined && typeof len === 'number' ? 1 + Math.floor((len - fl) / step) : ctx.freshDim();
    const bins = fl === undefined ? ctx.freshDim() : a.onesided ? Math.floor(fl / 2) + 1 : fl;
    return [{ dtype: x.dtype, shape: [x.shape[0], frames, bins, 2] }];
  },
  run([x, stepT, win, flT], a) {
    const [batch, len, comps] = x!.shape;
    const step = scalarInt(stepT, 'frame_step');
    const fl = flT ? scalarInt(flT, 'frame_length') : win ? win.shape[0] : undefined;
    if (fl === undefined) throw new Error('STFT needs a window or a frame_length');
    if (win && win.shape[0] !== fl) throw new Error(`STFT: window length ${win.shape[0]} differs from frame_length ${fl}`);
    if (!(step >= 1) || !(fl >= 1) || fl > len) throw new Error(`STFT: frame_step ${step} and frame_length ${fl} must be >= 1 and fit the signal length ${len}`);
    if (a.onesided && comps === 2) throw new Error('STFT: onesided output needs a real signal');
    const frames = 1 + Math.floor((len - fl) / step);
    const bins = a.onesided ? Math.floor(fl / 2) + 1 : fl;
    const xs = floatData(x!), w = win ? readNumbers(win) : undefined;
    const y = allocFloat(x!.dtype, batch * frames * bins * 2);
    const tw = twiddles(fl);
    const re = new Float64Array(fl), im = new Float64Array(fl), oRe = new Float64Array(fl), oIm = new Float64Array(fl);
    for (let b = 0; b < batch; b++) {
      for (let f = 0; f < frames; f++) {
        for (let t = 0; t < fl; t++) {
          const p = (b * len + f * step + t) * comps, wt = w ? w[t] : 1;
          re[t] = xs[p] * wt;
          im[t] = comps === 2 ? xs[p + 1] * wt : 0;
        }
        dftLine(re, comps === 2 ? im : undefined, fl, fl, bins, -1, 1, tw, oRe, oIm);
        for (let k = 0; k < bins; k++) {
          const q = ((b * frames + f) * bins + k) * 2;
          y[q] = oRe[k];
          y[q + 1] = oIm[k];
        }
      }
    }
    return [floatTensor(x!.dtype, [batch, frames, bins, 2], y)];
  },
};

export const signalOps: OpDef<any>[] = [HannWindow, HammingWindow, BlackmanWindow, MelWeightMatrix, DFT, STFT];
