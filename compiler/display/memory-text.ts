/**
 * The memory plan in a terminal: the summary lines, then either a chart of the arena (steps across,
 * offsets down, in character cells) or one bar per step of live bytes against the high-water mark.
 *
 * Chart: the plot is `height` rows by as many columns as the width leaves; a cell stands for a range
 * of steps and a range of bytes (the top row ends at the arena peak). Each cell shows how much of its
 * area the planned buffers cover (' ' none, ░ ▒ ▓ █ increasing): buffers never overlap in a valid
 * plan, so the covered fractions of the rectangles in a cell add up to at most 1. With colour, a cell
 * takes the colour (24-bit ANSI) of the op whose buffer covers most of it — the same colours as the
 * SVG chart. The bytes a control-flow node holds for its region bodies at its step (results/memory.ts
 * `bodyBlocks`) are drawn like a buffer of that node. The row holding the lower bound is marked `◂lb`,
 * and a sparkline row under the plot shows the live bytes per column (the breadth, scaled to the peak).
 *
 * Bars: one line per step (or, past `maxRows` steps, per run of consecutive steps, showing the largest
 * figure of the run): the step, its node, a bar whose solid part is the bytes live there and whose
 * shaded part reaches the arena's high-water mark so far, and the two figures.
 *
 * Every line fits in `width` visible columns (ANSI colour codes do not count).
 */
import type { Graph } from '../ir/graph.ts';
import type { MemoryPlan, PlannedTensor } from '../schedule/plan.ts';
import { bodyBlocks, formatBytes, formatMemorySummary } from '../results/memory.ts';
import { opColorRGB, producerOps } from './memory-svg.ts';

/** Options of the terminal rendering. */
export interface MemoryTextOptions {
  /** Columns available (default: the terminal's width, else 80; at least 24). */
  readonly width?: number;
  /** Rows of the chart's plot (default 12). */
  readonly height?: number;
  /** 24-bit ANSI colours by producer op (default false). */
  readonly color?: boolean;
  /** The planned graph, for the producers' ops (colours). */
  readonly graph?: Graph;
  /** `chart` (default), `bars`, or `summary` (the summary lines only). */
  readonly mode?: 'chart' | 'bars' | 'summary';
  /** Bars mode: most lines before steps are grouped (default 32). */
  readonly maxRows?: number;
}

const SHADES = [' ', '░', '▒', '▓', '█'];
const SPARK = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const RESET = '\x1b[0m';

/** Visible length of a string (ANSI escape sequences removed). */
export function visibleLength(s: string): number {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, '').length;
}

/** Cuts plain text to `width` characters, with "…" when cut. */
function fit(s: string, width: number): string {
  return s.length > width ? s.slice(0, Math.max(0, width - 1)) + '…' : s;
}

/** The summary and the chosen rendering as text (ends with a newline). */
export function memoryText(plan: MemoryPlan, opts: MemoryTextOptions = {}): string {
  const width = Math.max(24, Math.floor(opts.width ?? process.stdout.columns ?? 80));
  const lines = formatMemorySummary(plan).trimEnd().split('\n').map((l) => fit(l, width));
  const mode = opts.mode ?? 'chart';
  if (mode === 'chart') lines.push('', ...memoryChartLines(plan, { ...opts, width }));
  else if (mode === 'bars') lines.push('', ...memoryBarLines(plan, { ...opts, width }));
  return lines.join('\n') + '\n';
}

/** The arena chart: plot rows with a byte axis, the breadth sparkline, and the step axis. */
export function memoryChartLines(plan: MemoryPlan, opts: MemoryTextOptions = {}): string[] {
  const width = Math.max(24, Math.floor(opts.width ?? process.stdout.columns ?? 80));
  const rows = Math.max(2, Math.floor(opts.height ?? 12));
  const n = plan.order.length;
  // buffers, and the bytes region bodies hold at their nodes' steps (results/memory.ts bodyBlocks)
  const roots = [...plan.tensors, ...bodyBlocks(plan)].filter((t) => t.aliasOf === undefined && t.bytes > 0);
  let top = Math.max(plan.peakBytes, plan.lowerBoundBytes);
  for (const b of plan.breadth) top = Math.max(top, b);
  for (const t of roots) top = Math.max(top, t.offset + t.bytes);
  if (n === 0 || top <= 0) return ['(empty plan: nothing to draw)'];
  const labelW = 10, marker = ' ◂lb';
  const cols = Math.max(4, Math.min(width - labelW - 2 - marker.length, n * Math.max(1, Math.floor(60 / n))));
  const stepsPerCol = n / cols, bytesPerRow = top / rows;
  // Coverage of each cell, and the tensor covering most of it.
  const cover = new Float64Array(rows * cols), best = new Float64Array(rows * cols);
  const owner: (PlannedTensor | undefined)[] = new Array(rows * cols);
  for (const t of roots) {
    const s0 = t.first, s1 = t.last + 1, b0 = t.offset, b1 = t.offset + t.bytes;
    const c0 = Math.max(0, Math.floor(s0 / stepsPerCol)), c1 = Math.min(cols - 1, Math.ceil(s1 / stepsPerCol) - 1);
    const r0 = Math.max(0, Math.floor(b0 / bytesPerRow)), r1 = Math.min(rows - 1, Math.ceil(b1 / bytesPerRow) - 1);
    for (let r = r0; r <= r1; r++) {
      const by = Math.min(b1, (r + 1) * bytesPerRow) - Math.max(b0, r * bytesPerRow);
      if (by <= 0) continue;
      for (let c = c0; c <= c1; c++) {
        const st = Math.min(s1, (c + 1) * stepsPerCol) - Math.max(s0, c * stepsPerCol);
        if (st <= 0) continue;
        const f = (by / bytesPerRow) * (st / stepsPerCol), k = (rows - 1 - r) * cols + c;
        cover[k] += f;
        if (f > best[k]) { best[k] = f; owner[k] = t; }
      }
    }
  }
  const ops = producerOps(opts.graph);
  const lbRow = rows - 1 - Math.min(rows - 1, Math.floor(plan.lowerBoundBytes / bytesPerRow * (1 - 1e-12)));
  const out: string[] = [];
  for (let r = 0; r < rows; r++) {
    const labelled = r % 4 === 0 && r < rows - 1; // a row's label is its upper edge; 0 is on the axis below
    const label = labelled ? formatBytes((rows - r) * bytesPerRow) : '';
    let line = fit(label, labelW - 1).padStart(labelW - 1) + (labelled ? ' ┤' : ' │');
    for (let c = 0; c < cols; c++) {
      const k = r * cols + c, f = cover[k];
      const glyph = f <= 0 ? ' ' : SHADES[Math.min(4, Math.max(1, Math.ceil(f * 4 - 1e-9)))];
      const t = owner[k];
      if (opts.color && t && glyph !== ' ') {
        const [R, G, B] = opColorRGB(ops.get(t.producer) ?? t.producer);
        line += `\x1b[38;2;${R};${G};${B}m${glyph}${RESET}`;
      } else line += glyph;
    }
    if (r === lbRow) line += marker;
    out.push(line);
  }
  // Live bytes per column (the largest breadth of its steps), as a sparkline scaled to the top.
  let spark = 'live'.padStart(labelW - 1) + ' │';
  for (let c = 0; c < cols; c++) {
    let m = 0;
    for (let s = Math.floor(c * stepsPerCol); s < Math.max(Math.floor(c * stepsPerCol) + 1, Math.ceil((c + 1) * stepsPerCol)) && s < n; s++) {
      m = Math.max(m, plan.breadth[s] ?? 0);
    }
    spark += SPARK[m <= 0 ? 0 : Math.max(1, Math.round((m / top) * 8))];
  }
  out.push(spark);
  out.push('0 B'.padStart(labelW - 1) + ' └' + '─'.repeat(cols));
  // Step numbers under the columns where steps 0, the middle one and the last one begin.
  const axis = new Array<string>(cols).fill(' ');
  const put = (step: number) => {
    const label = String(step), at = Math.min(cols - label.length, Math.floor(step / stepsPerCol));
    if (axis.slice(Math.max(0, at - 1), at + label.length + 1).some((c) => c !== ' ')) return;
    for (let k = 0; k < label.length; k++) axis[at + k] = label[k];
  };
  put(0);
  put(n - 1);
  if (n > 2) put(Math.floor((n - 1) / 2));
  out.push(' '.repeat(labelW + 1) + axis.join('') + ' step');
  return out.map((l) => (opts.color ? l : fit(l, width)));
}

/** One bar per step (or group of steps): live bytes (█) up to the high-water mark (░). */
export function memoryBarLines(plan: MemoryPlan, opts: MemoryTextOptions = {}): string[] {
  const width = Math.max(24, Math.floor(opts.width ?? process.stdout.columns ?? 80));
  const n = plan.order.length;
  if (n === 0) return ['(empty plan: no steps)'];
  const maxRows = Math.max(1, Math.floor(opts.maxRows ?? 32));
  const groups = Math.min(n, maxRows);
  const rowsOut: { label: string; node: string; live: number; high: number }[] = [];
  for (let g = 0; g < groups; g++) {
    const a = Math.floor((g * n) / groups), b = Math.floor(((g + 1) * n) / groups) - 1;
    let live = -1, node = '', high = 0;
    for (let s = a; s <= b; s++) {
      const v = plan.breadth[s] ?? 0;
      if (v > live) { live = v; node = plan.order[s]; }
      high = Math.max(high, plan.highWater[s] ?? 0);
    }
    rowsOut.push({ label: a === b ? String(a) : `${a}–${b}`, node, live: Math.max(0, live), high });
  }
  const top = Math.max(plan.peakBytes, ...rowsOut.map((r) => Math.max(r.live, r.high)), 1);
  const labelW = Math.max(4, ...rowsOut.map((r) => r.label.length));
  const nameW = Math.max(6, Math.min(24, Math.floor(width / 5)));
  const figures = (r: { live: number; high: number }) => `${formatBytes(r.live)} / ${formatBytes(r.high)}`;
  const figW = Math.max(...rowsOut.map((r) => figures(r).length));
  const barW = Math.max(4, width - labelW - nameW - figW - 5);
  const out = [fit(`${'step'.padStart(labelW)} ${'node'.padEnd(nameW)} ${'█ live bytes, ░ arena high-water'.padEnd(barW)}  live / high-water`, width)];
  for (const r of rowsOut) {
    const solid = Math.round((r.live / top) * barW), shade = Math.max(solid, Math.round((r.high / top) * barW));
    const bar = '█'.repeat(solid) + '░'.repeat(shade - solid) + ' '.repeat(barW - shade);
    out.push(fit(`${r.label.padStart(labelW)} ${fit(r.node, nameW).padEnd(nameW)} ${bar}  ${figures(r).padStart(figW)}`, width));
  }
  if (groups < n) out.push(fit(`(${n} steps in ${groups} groups; each line shows the largest figures of its group)`, width));
  return out;
}
