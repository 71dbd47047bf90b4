/**
 * The memory plan as a picture: an SVG chart of arena offset (y, bytes, 0 at the bottom) against
 * execution step (x), in the manner of PyTorch's memory viewer. Every tensor with a buffer of its own
 * is one rectangle spanning its live interval (x from its first step to the end of its last step) and
 * its bytes (y from its offset to offset + bytes); views and in-place results share their root's
 * rectangle and are named in its tooltip. The bytes a control-flow node holds for its region bodies
 * (results/memory.ts `bodyBlocks`, named `NODE.body`) are a rectangle at its step. Rectangles are coloured by the op that produced them, with a
 * colour that depends only on the op's name (a hash of it picks the hue), so Conv is the same colour in
 * every chart. Over them: the per-step breadth (bytes live at each step) as a step curve, the lower
 * bound (its maximum) as a dashed red line and the arena peak as a dashed grey line. Common ops have
 * fixed colours (Tableau 20) so they are always told apart; any other op's hue comes from its name.
 *
 * The SVG is self-contained: presentation attributes only, no <style>, script or external reference,
 * so it renders the same inline in a notebook (where a <style> would leak into the page), in an HTML
 * report or as a file. Every text (tooltips, labels, the title) is XML-escaped, with characters XML
 * forbids dropped.
 */
import { nodeId, type Graph } from '../ir/graph.ts';
import type { MemoryPlan, PlannedTensor } from '../schedule/plan.ts';
import { bodyBlocks, formatBytes } from '../results/memory.ts';

/** Options of the SVG chart. */
export interface MemorySvgOptions {
  /** Pixels (default 960 × 480). */
  readonly width?: number;
  readonly height?: number;
  /** The planned graph: gives each producer's op (colours, legend, tooltips). Without it the producer's id stands for its op. */
  readonly graph?: Graph;
  /** Title line (default: the planner and the headline figures). */
  readonly title?: string;
  /** Draw the legend of ops at the right (default true). */
  readonly legend?: boolean;
}

/** Text safe inside XML character data and attribute values. */
export function escapeXML(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** FNV-1a hash of a string (32 bits). */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}

/**
 * Fixed colours (Tableau 20) for the ops that dominate activation memory, so that the common ones are
 * always told apart; other ops get a colour from their name's hash. The red of the lower-bound line is
 * kept for it. NHWC variants share their NCHW op's colour.
 */
const FIXED: Readonly<Record<string, string>> = {
  'kiln.conv': '#1f77b4', 'kiln.conv_nhwc': '#1f77b4', 'kiln.conv_epilogue_nhwc': '#1f77b4', Conv: '#aec7e8',
  'kiln.matmul': '#ff7f0e', MatMul: '#ffbb78', 'kiln.gemm': '#2ca02c', Gemm: '#98df8a',
  'kiln.fused': '#9467bd', BatchNormalization: '#c5b0d5', 'kiln.batchnorm_nhwc': '#c5b0d5',
  Transpose: '#17becf', Relu: '#9edae5', Softmax: '#e377c2', Mul: '#f7b6d2', Add: '#ff9896',
  LayerNormalization: '#bcbd22', MaxPool: '#dbdb8d', 'kiln.maxpool_nhwc': '#dbdb8d', Gather: '#8c564b',
  AveragePool: '#c49c94', GlobalAveragePool: '#c49c94', 'kiln.averagepool_nhwc': '#c49c94',
  'kiln.globalaveragepool_nhwc': '#c49c94', Concat: '#7f7f7f', Reshape: '#c7c7c7',
};

/**
 * The colour of an op as [r, g, b] (0..255): a fixed one for common ops, otherwise a hue from the op
 * name's hash with fixed-range saturation and lightness. Depends only on the name.
 */
export function opColorRGB(op: string): [number, number, number] {
  const fixed = Object.hasOwn(FIXED, op) ? FIXED[op] : undefined;
  if (fixed) return [1, 3, 5].map((i) => parseInt(fixed.slice(i, i + 2), 16)) as [number, number, number];
  const h = hash(op);
  const hue = (h % 360) / 360, sat = 0.5 + ((h >>> 9) % 20) / 100, light = 0.55 + ((h >>> 17) % 12) / 100;
  const q = light < 0.5 ? light * (1 + sat) : light + sat - light * sat, p = 2 * light - q;
  const channel = (t: number) => {
    t = t < 0 ? t + 1 : t > 1 ? t - 1 : t;
    const v = t < 1 / 6 ? p + (q - p) * 6 * t : t < 1 / 2 ? q : t < 2 / 3 ? p + (q - p) * (2 / 3 - t) * 6 : p;
    return Math.round(v * 255);
  };
  return [channel(hue + 1 / 3), channel(hue), channel(hue - 1 / 3)];
}

/** The colour of an op as `#rrggbb`. */
export function opColor(op: string): string {
  return '#' + opColorRGB(op).map((c) => c.toString(16).padStart(2, '0')).join('');
}

/** Id of each node → its op, for a graph (empty without one). */
export function producerOps(graph?: Graph): Map<string, string> {
  const m = new Map<string, string>();
  for (const n of graph?.nodes ?? []) m.set(nodeId(n), n.op);
  return m;
}

/** Tick values from 0 to at most `top`, about `count` of them, at 1, 2 or 5 times a power of ten of `unit`. */
export function niceTicks(top: number, count: number, unit = 1): number[] {
  if (!(top > 0)) return [0];
  const raw = top / unit / Math.max(1, count);
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * p >= raw) ?? 10) * p * unit;
  const out: number[] = [];
  for (let v = 0; v <= top * (1 + 1e-9); v += step) out.push(v);
  return out;
}

/** The binary unit (1, 1024, 1024², ...) that keeps the largest value under 1024 of it. */
export function byteUnit(max: number): number {
  let u = 1;
  while (max / u >= 1024 && u < 1024 ** 4) u *= 1024;
  return u;
}

const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(2).replace(/\.?0+$/, ''));

/** The SVG chart of a memory plan (a complete `<svg>` element with its namespace). */
export function memorySvg(plan: MemoryPlan, opts: MemorySvgOptions = {}): string {
  const width = opts.width ?? 960, height = opts.height ?? 480;
  const ops = producerOps(opts.graph);
  const opOf = (t: PlannedTensor) => ops.get(t.producer) ?? t.producer;
  const showLegend = opts.legend ?? true;
  const left = 78, right = showLegend ? 170 : 16, top = 34, bottom = 44;
  const plotW = Math.max(10, width - left - right), plotH = Math.max(10, height - top - bottom);
  const n = Math.max(1, plan.order.length);
  // buffers, and the bytes region bodies hold at their nodes' steps (results/memory.ts bodyBlocks)
  const roots = [...plan.tensors.filter((t) => t.aliasOf === undefined && t.region !== 'host'), ...bodyBlocks(plan).filter((t) => t.bytes > 0)];
  let extent = Math.max(plan.peakBytes, plan.lowerBoundBytes, 1);
  for (const b of plan.breadth) extent = Math.max(extent, b);
  for (const t of roots) extent = Math.max(extent, t.offset + t.bytes);
  const yTop = extent * 1.04;
  const x = (s: number) => left + (Math.min(Math.max(s, 0), n) / n) * plotW;
  const y = (b: number) => top + plotH - (b / yTop) * plotH;
  const out: string[] = [];
  const title = opts.title ?? `memory plan (${plan.planner}): peak ${formatBytes(plan.peakBytes)}, lower bound ${formatBytes(plan.lowerBoundBytes)}, naive ${formatBytes(plan.naiveBytes)}`;
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" `
    + `font-family="sans-serif" font-size="11" role="img" aria-label="${escapeXML(title)}">`);
  out.push(`<title>${escapeXML(title)}</title>`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${left}" y="20" font-size="13" font-weight="bold" fill="#222222">${escapeXML(title)}</text>`);

  // Axes and grid: bytes on y in the unit of the extent, steps on x.
  const unit = byteUnit(yTop);
  const unitName = ['B', 'KiB', 'MiB', 'GiB', 'TiB'][Math.round(Math.log2(unit) / 10)];
  out.push('<g stroke="#e6e6e6" stroke-width="1">');
  const yTicks = niceTicks(yTop, 6, unit);
  for (const v of yTicks) out.push(`<line x1="${left}" y1="${fmt(y(v))}" x2="${left + plotW}" y2="${fmt(y(v))}"/>`);
  out.push('</g>');
  out.push('<g fill="#444444" text-anchor="end">');
  for (const v of yTicks) out.push(`<text x="${left - 6}" y="${fmt(y(v) + 4)}">${escapeXML(v === 0 ? '0' : `${fmt(Number((v / unit).toPrecision(6)))} ${unitName}`)}</text>`);
  out.push('</g>');
  const xTicks = niceTicks(n, Math.max(2, Math.min(12, Math.floor(plotW / 60))));
  out.push('<g fill="#444444" text-anchor="middle">');
  for (const s of xTicks) out.push(`<text x="${fmt(x(s))}" y="${top + plotH + 16}">${fmt(s)}</text>`);
  out.push('</g>');
  out.push(`<text x="${fmt(left + plotW / 2)}" y="${height - 8}" text-anchor="middle" fill="#222222">step (execution order)</text>`);
  out.push(`<text x="14" y="${fmt(top + plotH / 2)}" text-anchor="middle" fill="#222222" transform="rotate(-90 14 ${fmt(top + plotH / 2)})">arena offset</text>`);

  // One rectangle per buffer; aliases are named in their root's tooltip.
  const aliases = new Map<string, PlannedTensor[]>();
  for (const t of plan.tensors) if (t.aliasOf !== undefined) aliases.set(t.aliasOf, [...(aliases.get(t.aliasOf) ?? []), t]);
  out.push('<g stroke="#ffffff" stroke-width="0.5">');
  for (const t of roots) {
    const x0 = x(t.first), x1 = x(t.last + 1), y1 = y(t.offset), h = Math.max(0.75, y1 - y(t.offset + t.bytes));
    const op = opOf(t);
    const shared = aliases.get(t.name) ?? [];
    const tip = [
      `${t.name}: ${formatBytes(t.bytes)} (${t.bytes} B) at offset ${t.offset}`,
      `steps ${t.first}–${t.last}`,
      `producer ${t.producer}${op !== t.producer ? ` (${op})` : ''}`,
      ...(t.consumers.length ? [`consumers ${t.consumers.join(', ')}`] : []),
      ...(shared.length ? [`shared by ${shared.map((a) => `${a.name} (${a.aliasKind ?? 'alias'})`).join(', ')}`] : []),
    ].join('\n');
    out.push(`<rect x="${fmt(x0)}" y="${fmt(y1 - h)}" width="${fmt(Math.max(0.75, x1 - x0))}" height="${fmt(h)}" fill="${opColor(op)}">`
      + `<title>${escapeXML(tip)}</title></rect>`);
  }
  out.push('</g>');
  // Names inside rectangles large enough to hold a few characters.
  out.push('<g fill="#111111" font-size="10" pointer-events="none">');
  for (const t of roots) {
    const w = x(t.last + 1) - x(t.first), h = y(t.offset) - y(t.offset + t.bytes);
    if (w < 40 || h < 13) continue;
    const chars = Math.floor((w - 6) / 6);
    const label = t.name.length > chars ? t.name.slice(0, Math.max(1, chars - 1)) + '…' : t.name;
    out.push(`<text x="${fmt(x(t.first) + 3)}" y="${fmt(y(t.offset + t.bytes) + 11)}">${escapeXML(label)}</text>`);
  }
  out.push('</g>');

  // Breadth as a step curve, then the lower bound and the peak.
  if (plan.breadth.length) {
    let d = `M${fmt(x(0))} ${fmt(y(plan.breadth[0]))} H${fmt(x(1))}`;
    for (let i = 1; i < plan.breadth.length; i++) d += ` V${fmt(y(plan.breadth[i]))} H${fmt(x(i + 1))}`;
    out.push(`<path d="${d}" fill="none" stroke="#111111" stroke-width="1.3"><title>live bytes per step (breadth)</title></path>`);
  }
  const lb = y(plan.lowerBoundBytes), pk = y(plan.peakBytes);
  out.push(`<line x1="${left}" y1="${fmt(pk)}" x2="${left + plotW}" y2="${fmt(pk)}" stroke="#777777" stroke-width="1" stroke-dasharray="2 3">`
    + `<title>${escapeXML(`peak (arena size) ${formatBytes(plan.peakBytes)}`)}</title></line>`);
  out.push(`<line x1="${left}" y1="${fmt(lb)}" x2="${left + plotW}" y2="${fmt(lb)}" stroke="#d62728" stroke-width="1.3" stroke-dasharray="6 4">`
    + `<title>${escapeXML(`lower bound ${formatBytes(plan.lowerBoundBytes)}`)}</title></line>`);
  out.push(`<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888888" stroke-width="1"/>`);

  if (showLegend) out.push(legend(plan, roots, opOf, left + plotW + 14, top));
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** The legend: the breadth curve, the two lines, and the ops by bytes produced (at most 14, then a count). */
function legend(plan: MemoryPlan, roots: readonly PlannedTensor[], opOf: (t: PlannedTensor) => string, lx: number, ly: number): string {
  const byOp = new Map<string, number>();
  for (const t of roots) byOp.set(opOf(t), (byOp.get(opOf(t)) ?? 0) + t.bytes);
  const ranked = [...byOp].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const shown = ranked.slice(0, 14);
  const out = ['<g font-size="11" fill="#222222">'];
  let row = ly + 8;
  out.push(`<line x1="${lx}" y1="${row}" x2="${lx + 18}" y2="${row}" stroke="#111111" stroke-width="1.3"/>`
    + `<text x="${lx + 24}" y="${row + 4}">live bytes</text>`);
  row += 16;
  out.push(`<line x1="${lx}" y1="${row}" x2="${lx + 18}" y2="${row}" stroke="#d62728" stroke-width="1.3" stroke-dasharray="6 4"/>`
    + `<text x="${lx + 24}" y="${row + 4}">${escapeXML(`lower bound ${formatBytes(plan.lowerBoundBytes)}`)}</text>`);
  row += 16;
  out.push(`<line x1="${lx}" y1="${row}" x2="${lx + 18}" y2="${row}" stroke="#777777" stroke-dasharray="2 3"/>`
    + `<text x="${lx + 24}" y="${row + 4}">${escapeXML(`peak ${formatBytes(plan.peakBytes)}`)}</text>`);
  row += 22;
  for (const [op, bytes] of shown) {
    const name = op.length > 18 ? op.slice(0, 17) + '…' : op;
    out.push(`<rect x="${lx}" y="${row - 8}" width="12" height="10" fill="${opColor(op)}"/>`
      + `<text x="${lx + 18}" y="${row + 1}">${escapeXML(name)}<title>${escapeXML(`${op}: ${formatBytes(bytes)} produced`)}</title></text>`);
    row += 15;
  }
  if (ranked.length > shown.length) out.push(`<text x="${lx}" y="${row + 1}" fill="#666666">… ${ranked.length - shown.length} more ops</text>`);
  out.push('</g>');
  return out.join('\n');
}
