/**
 * The roofline chart: achieved GFLOP/s (y) against arithmetic intensity in FLOP per byte (x), both on
 * log axes, under the machine's roof `min(peak, bandwidth × intensity)`: the sloped part is the memory
 * bandwidth (a kernel left of the ridge point cannot beat it however good its code), the flat part the
 * FP32 peak. Points are kernels (or nodes) of one or more backends, one marker shape and colour per
 * series with a legend; each has a tooltip (`<title>`) with its label, GFLOP/s, intensity and time. The
 * ridge point (intensity peak / bandwidth) is marked and labelled.
 *
 * Axes span whole decades (ticks and grid lines at each power of ten) around the points, the ridge and
 * the peak, with at least 0.15 decade to spare (no marker sits on the frame). A point without FLOPs, bytes or a measurable time, or with zero FLOPs (a log axis has no
 * zero), cannot be placed: it is skipped and a note under the chart counts the skipped ones. A roof
 * whose peak or bandwidth is unknown is drawn in the part that is known (only the peak: a flat line;
 * only the bandwidth: the slope), and the note says which is missing.
 *
 * The figures come from compiler/runtime: FLOPs and bytes per node are estimates (ops/flops.ts: bytes
 * are compulsory traffic, so intensity is an upper bound), the peak the FP32 probe (native/peak.ts),
 * the bandwidth the STREAM triad probe (native/bandwidth.ts). `rooflinePoints` turns a timing into
 * points: its kernels (FLOPs and bytes summed over each kernel's nodes), or its nodes when the backend
 * reported no kernels of its own.
 *
 * Self-contained SVG like the other charts (svg.ts, memory-svg.ts): presentation attributes only, no
 * <style>, script, font or external reference, every text XML-escaped.
 */
import type { NodeTimings } from '../runtime/timings.ts';
import { escapeXML, formatValue } from './svg.ts';
import { COLORS } from './style.ts';

/** One kernel (or node) on the chart. */
export interface RooflinePoint {
  readonly label: string;
  /** The backend (or other group) it belongs to: one marker style per series. */
  readonly series: string;
  /** FLOPs of one execution; null when unknown (the point is skipped). */
  readonly flops: number | null;
  /** Bytes moved by one execution; null when unknown (the point is skipped). */
  readonly bytes: number | null;
  /** Median milliseconds of one execution. */
  readonly ms: number;
}

/** The machine's limits: FP32 peak GFLOP/s and memory bandwidth GB/s, each null when unknown. */
export interface Roof {
  readonly peakGflops: number | null;
  readonly bandwidthGBs: number | null;
}

/** Options of the chart. */
export interface RooflineOptions {
  readonly title?: string;
  /** Pixels (default 720 × 440). */
  readonly width?: number;
  readonly height?: number;
}

/** Marker colours, one per series in order (Tableau 10), and shapes (SVG path data around 0,0). */
const SERIES_COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#d62728'];
const SHAPES = [
  'M-4,0a4,4 0 1,0 8,0a4,4 0 1,0 -8,0Z', // circle
  'M-3.5,-3.5h7v7h-7Z', // square
  'M0,-4.5L4.2,3.2H-4.2Z', // triangle
  'M0,-4.8L4.8,0L0,4.8L-4.8,0Z', // diamond
  'M-4.5,-1.5h3v-3h3v3h3v3h-3v3h-3v-3h-3Z', // plus
  'M0,4.5L4.2,-3.2H-4.2Z', // triangle down
];
const ROOF_COLOR = '#d62728';

/** A number for labels: 3 significant digits, powers of ten past 10^4 or under 10^-3 as `1e5`. */
function tickLabel(v: number): string {
  const k = Math.round(Math.log10(v));
  return k > 4 || k < -3 ? `1e${k}` : formatValue(v);
}

const f1 = (x: number) => x.toFixed(1);

/** The decade range [10^lo, 10^hi] holding every value at least 0.15 decade inside it (at least one decade wide). */
function decades(values: readonly number[]): [number, number] {
  let lo = Math.floor(Math.log10(Math.min(...values)) - 0.15), hi = Math.ceil(Math.log10(Math.max(...values)) + 0.15);
  if (hi <= lo) hi = lo + 1;
  return [lo, hi];
}

/** The roofline chart as a complete `<svg>` element (module header). */
export function rooflineSVG(points: readonly RooflinePoint[], roof: Roof, opts: RooflineOptions = {}): string {
  const width = opts.width ?? 720, height = opts.height ?? 440;
  const peak = roof.peakGflops !== null && roof.peakGflops > 0 ? roof.peakGflops : null;
  const bw = roof.bandwidthGBs !== null && roof.bandwidthGBs > 0 ? roof.bandwidthGBs : null;
  const placed = points.flatMap((p) => {
    const ok = p.flops !== null && p.bytes !== null && p.flops > 0 && p.bytes > 0 && p.ms > 0 && Number.isFinite(p.flops / p.bytes / p.ms);
    return ok ? [{ ...p, intensity: p.flops! / p.bytes!, gflops: p.flops! / (p.ms * 1e6) }] : [];
  });
  const skipped = points.length - placed.length;
  const ridge = peak !== null && bw !== null ? peak / bw : null;
  const series = [...new Set(placed.map((p) => p.series))];

  // axes: whole decades around the points, the ridge and the peak
  const xs = [...placed.map((p) => p.intensity), ...(ridge !== null ? [ridge] : [])];
  const ys = [...placed.map((p) => p.gflops), ...(peak !== null ? [peak] : [])];
  const [x0, x1] = decades(xs.length ? xs : [0.1, 100]);
  const [y0, y1] = decades(ys.length ? ys : [0.1, 100]);
  const left = 70, right = series.length ? 150 : 20, top = opts.title ? 34 : 14, bottom = 58;
  const plotW = Math.max(60, width - left - right), plotH = Math.max(60, height - top - bottom);
  const x = (i: number) => left + ((Math.log10(i) - x0) / (x1 - x0)) * plotW;
  const y = (g: number) => top + plotH - ((Math.log10(g) - y0) / (y1 - y0)) * plotH;

  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`];
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="white"/>`);
  if (opts.title) out.push(`<text x="${left}" y="20" font-size="13" font-weight="bold" fill="${COLORS.text}">${escapeXML(opts.title)}</text>`);
  // grid and decade ticks
  out.push(`<g stroke="${COLORS.border}" stroke-width="1">`);
  for (let k = x0; k <= x1; k++) out.push(`<line class="xtick" x1="${f1(x(10 ** k))}" y1="${top}" x2="${f1(x(10 ** k))}" y2="${top + plotH}"/>`);
  for (let k = y0; k <= y1; k++) out.push(`<line class="ytick" x1="${left}" y1="${f1(y(10 ** k))}" x2="${left + plotW}" y2="${f1(y(10 ** k))}"/>`);
  out.push('</g>');
  out.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="${COLORS.muted}"/>`);
  out.push(`<g fill="${COLORS.muted}" text-anchor="middle">`);
  for (let k = x0; k <= x1; k++) out.push(`<text x="${f1(x(10 ** k))}" y="${top + plotH + 15}">${tickLabel(10 ** k)}</text>`);
  out.push('</g>');
  out.push(`<g fill="${COLORS.muted}" text-anchor="end">`);
  for (let k = y0; k <= y1; k++) out.push(`<text x="${left - 6}" y="${f1(y(10 ** k) + 4)}">${tickLabel(10 ** k)}</text>`);
  out.push('</g>');
  out.push(`<text x="${f1(left + plotW / 2)}" y="${top + plotH + 32}" text-anchor="middle" fill="${COLORS.text}">arithmetic intensity (FLOP/byte)</text>`);
  const yMid = f1(top + plotH / 2);
  out.push(`<text x="16" y="${yMid}" text-anchor="middle" fill="${COLORS.text}" transform="rotate(-90 16 ${yMid})">achieved GFLOP/s</text>`);

  // the roof, clipped to the plot: the bandwidth slope up to the ridge, then the flat peak
  const xLo = 10 ** x0, xHi = 10 ** x1, yLo = 10 ** y0, yHi = 10 ** y1;
  const roofParts: string[] = [];
  if (bw !== null) {
    const a = Math.max(xLo, yLo / bw), b = Math.min(xHi, ridge ?? xHi, yHi / bw);
    if (a < b) roofParts.push(`<line class="roof-bandwidth" x1="${f1(x(a))}" y1="${f1(y(bw * a))}" x2="${f1(x(b))}" y2="${f1(y(bw * b))}"/>`);
  }
  if (peak !== null) {
    const a = Math.max(xLo, ridge ?? xLo);
    if (a < xHi) roofParts.push(`<line class="roof-peak" x1="${f1(x(a))}" y1="${f1(y(peak))}" x2="${f1(x(xHi))}" y2="${f1(y(peak))}"/>`);
  }
  if (roofParts.length) out.push(`<g stroke="${ROOF_COLOR}" stroke-width="2">`, ...roofParts, '</g>');
  if (peak !== null) {
    const below = y(peak) - top < 16; // no room above the line: label it below
    out.push(`<text x="${f1(left + plotW - 4)}" y="${f1(y(peak) + (below ? 14 : -5))}" text-anchor="end" fill="${ROOF_COLOR}">FP32 peak ${escapeXML(formatValue(peak))} GFLOP/s</text>`);
  }
  if (bw !== null) {
    const at = Math.max(xLo, yLo / bw) * 1.6; // a little right of where the slope enters the plot
    if (at < Math.min(xHi, ridge ?? xHi)) {
      out.push(`<text x="${f1(x(at) + 6)}" y="${f1(y(bw * at) + 2)}" fill="${ROOF_COLOR}">${escapeXML(formatValue(bw))} GB/s</text>`);
    }
  }
  if (ridge !== null) {
    out.push(`<g class="ridge"><title>${escapeXML(`ridge point: ${formatValue(ridge)} FLOP/byte (peak ${formatValue(peak!)} GFLOP/s ÷ ${formatValue(bw!)} GB/s)`)}</title>`
      + `<circle cx="${f1(x(ridge))}" cy="${f1(y(peak!))}" r="3.5" fill="white" stroke="${ROOF_COLOR}" stroke-width="1.5"/>`
      + `<text x="${f1(x(ridge) + 6)}" y="${f1(y(peak!) + 15)}" fill="${ROOF_COLOR}">ridge ${escapeXML(formatValue(ridge))} FLOP/B</text></g>`);
  }

  // the points, each with its tooltip
  for (const p of placed) {
    const s = series.indexOf(p.series);
    const tip = `${p.label} (${p.series}): ${formatValue(p.gflops)} GFLOP/s, ${formatValue(p.intensity)} FLOP/byte, ${formatValue(p.ms)} ms`;
    out.push(`<g class="point" transform="translate(${f1(x(p.intensity))},${f1(y(p.gflops))})"><title>${escapeXML(tip)}</title>`
      + `<path d="${SHAPES[s % SHAPES.length]}" fill="${SERIES_COLORS[s % SERIES_COLORS.length]}" fill-opacity="0.75" stroke="white" stroke-width="0.5"/></g>`);
  }

  // legend and note
  series.forEach((name, s) => {
    const ly = top + 8 + s * 18, lx = left + plotW + 16;
    out.push(`<g class="legend"><path transform="translate(${lx},${ly})" d="${SHAPES[s % SHAPES.length]}" fill="${SERIES_COLORS[s % SERIES_COLORS.length]}"/>`
      + `<text x="${lx + 10}" y="${ly + 4}" fill="${COLORS.text}">${escapeXML(name.length > 18 ? name.slice(0, 17) + '…' : name)}</text></g>`);
  });
  const notes = [
    ...(skipped ? [`${skipped} of ${points.length} point${points.length === 1 ? '' : 's'} not shown (no FLOPs, bytes or time)`] : []),
    ...(peak === null ? ['FP32 peak unknown'] : []), ...(bw === null ? ['memory bandwidth unknown'] : []),
  ];
  if (notes.length) out.push(`<text class="note" x="${left}" y="${height - 8}" fill="${COLORS.muted}">${escapeXML(notes.join('; '))}</text>`);
  out.push('</svg>');
  return out.join('\n');
}

/**
 * The points of a timing for one series: one per kernel (FLOPs and bytes summed over its nodes,
 * NodeTimings.kernelSum), or one per node when the timing has no per-kernel reports.
 */
export function rooflinePoints(timings: NodeTimings, series: string): RooflinePoint[] {
  if (timings.kernels.length) {
    return timings.kernels.map((k) => ({
      label: k.kernel, series, flops: timings.kernelSum(k, 'flops'), bytes: timings.kernelSum(k, 'bytes'), ms: k.ms,
    }));
  }
  return timings.nodes.map((n) => ({ label: `${n.node} (${n.op})`, series, flops: n.flops, bytes: n.bytes, ms: n.ms }));
}
