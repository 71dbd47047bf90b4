/**
 * Sliding-window geometry shared by Conv, ConvTranspose and the pooling ops.
 *
 * ONNX describes a window op per spatial axis by kernel size k, stride s, dilation d and begin/end
 * pads (or an `auto_pad` rule). With the effective kernel extent e = (k-1)·d + 1:
 *   NOTSET:      out = floor((in + pb + pe - e) / s) + 1     (ceil instead of floor in ceil_mode)
 *   VALID:       out = floor((in - e) / s) + 1, no pads
 *   SAME_UPPER / SAME_LOWER: out = ceil(in / s); total pad = max(0, (out-1)·s + e - in), split in half
 *                with the odd element at the end (UPPER) or the beginning (LOWER).
 * In ceil_mode the last window must start inside the input or the begin pad, else it is dropped.
 *
 * Kernels here work on up to 3 spatial axes; lower ranks are lifted to 3-D by prepending unit axes
 * (size 1, kernel 1, stride 1, no pads), so each kernel is one triple loop without per-element index
 * arithmetic.
 */
import type { Dim } from '../ir/graph.ts';
import type { AttrReader } from './registry.ts';
import { AttrError } from './registry.ts';

/** The ONNX auto_pad choices. */
export type AutoPad = 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';

/** Window attributes as written on the node (any may be absent: defaults depend on the rank). */
export interface WindowAttrs {
  readonly autoPad: AutoPad;
  readonly kernelShape?: readonly number[];
  readonly strides?: readonly number[];
  readonly dilations?: readonly number[];
  /** [x1_begin, x2_begin, ..., x1_end, x2_end, ...] */
  readonly pads?: readonly number[];
}

/** Reads auto_pad, kernel_shape, strides, dilations, pads; validates what it can without shapes. */
export function readWindowAttrs(r: AttrReader): WindowAttrs {
  const autoPad = r.oneOf('auto_pad', r.string('auto_pad', 'NOTSET'), ['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID']) as AutoPad;
  const kernelShape = r.maybeInts('kernel_shape');
  const strides = r.maybeInts('strides');
  const dilations = r.maybeInts('dilations');
  const pads = r.maybeInts('pads');
  const positive = (name: string, v: readonly number[] | undefined) => {
    if (v && v.some((x) => !(x >= 1))) throw new AttrError(name, `values must be >= 1, got [${v.join(',')}]`);
  };
  positive('kernel_shape', kernelShape);
  positive('strides', strides);
  positive('dilations', dilations);
  if (pads && pads.some((p) => p < 0)) throw new AttrError('pads', `pads must be >= 0, got [${pads.join(',')}]`);
  if (pads && pads.length % 2 !== 0) throw new AttrError('pads', `pads needs an even count, got ${pads.length}`);
  return { autoPad, kernelShape, strides, dilations, pads };
}

/** Resolved geometry of one window op for concrete spatial sizes. */
export interface Geometry {
  readonly rank: number;
  readonly input: readonly number[];
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly dilations: readonly number[];
  readonly padBegin: readonly number[];
  readonly padEnd: readonly number[];
  readonly output: readonly number[];
}

/** Checks per-axis attribute lengths against the spatial rank and fills defaults. */
export function windowParams(a: WindowAttrs, rank: number, kernel: readonly number[]):
  { strides: number[]; dilations: number[]; pads: number[] } {
  const check = (name: string, v: readonly number[] | undefined, n: number) => {
    if (v && v.length !== n) throw new Error(`${name} has ${v.length} values but the op has ${rank} spatial axes`);
  };
  check('kernel_shape', kernel, rank);
  check('strides', a.strides, rank);
  check('dilations', a.dilations, rank);
  check('pads', a.pads, 2 * rank);
  return {
    strides: [...(a.strides ?? new Array(rank).fill(1))],
    dilations: [...(a.dilations ?? new Array(rank).fill(1))],
    pads: [...(a.pads ?? new Array(2 * rank).fill(0))],
  };
}

/** Output size of one axis and its begin/end pads, for a concrete input size. */
export function axisGeometry(inSize: number, k: number, s: number, d: number, pb: number, pe: number,
  autoPad: AutoPad, ceilMode: boolean): { out: number; pb: number; pe: number } {
  const ext = (k - 1) * d + 1;
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const out = Math.ceil(inSize / s);
    const total = Math.max(0, (out - 1) * s + ext - inSize);
    const small = Math.floor(total / 2);
    return autoPad === 'SAME_UPPER' ? { out, pb: small, pe: total - small } : { out, pb: total - small, pe: small };
  }
  if (autoPad === 'VALID') { pb = 0; pe = 0; }
  const span = inSize + pb + pe - ext;
  let out: number;
  if (ceilMode) {
    out = Math.ceil(span / s) + 1;
    if ((out - 1) * s >= inSize + pb) out--;
  } else {
    out = Math.floor(span / s) + 1;
  }
  return { out: Math.max(0, out), pb, pe };
}

/** The full geometry for concrete input spatial sizes. */
export function resolveGeometry(a: WindowAttrs, input: readonly number[], kernel: readonly number[], ceilMode = false): Geometry {
  const rank = input.length;
  const { strides, dilations, pads } = windowParams(a, rank, kernel);
  const padBegin: number[] = [], padEnd: number[] = [], output: number[] = [];
  for (let i = 0; i < rank; i++) {
    const g = axisGeometry(input[i], kernel[i], strides[i], dilations[i], pads[i], pads[rank + i], a.autoPad, ceilMode);
    padBegin.push(g.pb);
    padEnd.push(g.pe);
    output.push(g.out);
  }
  return { rank, input, kernel, strides, dilations, padBegin, padEnd, output };
}

/**
 * Output spatial dims for possibly symbolic input dims: a symbol passes through unchanged when the
 * window cannot change the size (s=1 and SAME, or explicit pads summing to dilation·(k−1), such as a
 * 3×3 kernel with pads 1: out = in + pads − dilation·(k−1)); otherwise a fresh symbol.
 */
export function outputDims(a: WindowAttrs, input: readonly Dim[], kernel: readonly number[], ceilMode: boolean,
  freshDim: () => Dim): Dim[] {
  const rank = input.length;
  const { strides, dilations, pads } = windowParams(a, rank, kernel);
  return input.map((d, i) => {
    if (typeof d === 'number') {
      const g = axisGeometry(d, kernel[i], strides[i], dilations[i], pads[i], pads[rank + i], a.autoPad, ceilMode);
      if (g.out <= 0) {
        throw new Error(`spatial axis ${i} of size ${d} is too small for kernel ${kernel[i]} (dilation ${dilations[i]}, pads ${pads[i]}+${pads[rank + i]})`);
      }
      return g.out;
    }
    const same = a.autoPad === 'SAME_UPPER' || a.autoPad === 'SAME_LOWER';
    const span = dilations[i] * (kernel[i] - 1);
    if (strides[i] === 1 && (same || (a.autoPad === 'VALID' ? span === 0 : pads[i] + pads[rank + i] === span))) return d;
    return freshDim();
  });
}

/** Lifts a geometry to exactly 3 spatial axes by prepending unit axes; throws above 3. */
export function lift3(g: Geometry, what: string): Geometry {
  if (g.rank > 3) throw new Error(`${what} with ${g.rank} spatial axes is not supported (at most 3)`);
  const n = 3 - g.rank;
  const pre = (v: readonly number[], fill: number) => [...new Array(n).fill(fill), ...v];
  return {
    rank: 3,
    input: pre(g.input, 1), kernel: pre(g.kernel, 1), strides: pre(g.strides, 1), dilations: pre(g.dilations, 1),
    padBegin: pre(g.padBegin, 0), padEnd: pre(g.padEnd, 0), output: pre(g.output, 1),
  };
}

/** Product of a list of sizes. */
export function prod(v: readonly number[]): number {
  let p = 1;
  for (const x of v) p *= x;
  return p;
}

/**
 * For a kernel tap at input offset o·s + koff (koff = k·d - pb): the output indices [lo, hi) whose
 * tap lands inside an input axis of `size`, clipped to [0, out).
 */
export function validRange(koff: number, s: number, size: number, out: number): [number, number] {
  const lo = Math.min(out, koff >= 0 ? 0 : Math.ceil(-koff / s));
  const hi = size - 1 - koff < 0 ? 0 : Math.min(out, Math.floor((size - 1 - koff) / s) + 1);
  return [lo, Math.max(lo, hi)];
}
