/**
 * SVG charts for notebooks, self-contained: presentation attributes only (no <style>, script or
 * external reference), every text XML-escaped, with a tooltip (`<title>`) per bar.
 *
 * `barChartSVG` draws horizontal bars, one per item, largest value first as given: labels at the left
 * (cut with … past 32 characters; the tooltip keeps the whole label), bars scaled to the largest value,
 * the value (and an optional note such as a share) after each bar. `textBars` is the terminal
 * counterpart: the same bars drawn with block characters, fitted to a width.
 */
import { COLORS } from './style.ts';

/** Text safe inside XML character data and attribute values (characters XML forbids are dropped). */
export function escapeXML(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** One bar. */
export interface Bar {
  readonly label: string;
  readonly value: number;
  /** Shown after the value, e.g. `41.2%`. */
  readonly note?: string;
  /** Tooltip text (default: label and value). */
  readonly tooltip?: string;
  readonly color?: string;
}

/** Options of a bar chart. */
export interface BarChartOptions {
  readonly title?: string;
  /** Unit after each value (default ''). */
  readonly unit?: string;
  /** Total width in pixels (default 640). */
  readonly width?: number;
  /** Formats a value (default: 3 significant digits). */
  readonly format?: (v: number) => string;
}

/** A compact number: 3 significant digits, no exponent for the usual ranges. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1000) return String(Math.round(v));
  return String(Number(v.toPrecision(3)));
}

const cutLabel = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + '…' : s);

/** A horizontal bar chart as an SVG document fragment (see the module header). */
export function barChartSVG(bars: readonly Bar[], opts: BarChartOptions = {}): string {
  const width = opts.width ?? 640;
  const fmt = opts.format ?? formatValue;
  const unit = opts.unit ? ` ${opts.unit}` : '';
  const rowH = 20, gap = 4, top = opts.title ? 28 : 8, pad = 8;
  const labels = bars.map((b) => cutLabel(b.label, 32));
  const labelW = Math.min(240, 12 + 7 * Math.max(4, ...labels.map((l) => l.length)));
  const valueTexts = bars.map((b) => `${fmt(b.value)}${unit}${b.note ? `  ${b.note}` : ''}`);
  const valueW = 12 + 7 * Math.max(4, ...valueTexts.map((t) => t.length));
  const barW = Math.max(40, width - labelW - valueW - 2 * pad);
  const max = Math.max(0, ...bars.map((b) => b.value));
  const height = top + bars.length * (rowH + gap) + pad;
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`];
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="white"/>`);
  if (opts.title) out.push(`<text x="${pad}" y="18" font-weight="bold" fill="${COLORS.text}">${escapeXML(opts.title)}</text>`);
  bars.forEach((b, i) => {
    const y = top + i * (rowH + gap);
    const w = max > 0 ? Math.max(b.value > 0 ? 1 : 0, (b.value / max) * barW) : 0;
    const x = pad + labelW;
    const tip = escapeXML(b.tooltip ?? `${b.label}: ${fmt(b.value)}${unit}${b.note ? ` (${b.note})` : ''}`);
    out.push(`<g><title>${tip}</title>`
      + `<text x="${pad + labelW - 6}" y="${y + rowH - 6}" text-anchor="end" fill="${COLORS.text}">${escapeXML(labels[i])}</text>`
      + `<rect x="${x}" y="${y}" width="${w.toFixed(1)}" height="${rowH}" fill="${b.color ?? COLORS.bar}"/>`
      + `<text x="${(x + w + 6).toFixed(1)}" y="${y + rowH - 6}" fill="${COLORS.muted}">${escapeXML(valueTexts[i])}</text></g>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/** The bars as terminal lines (`label ███████ 12.3 ms 41%`), fitted to `width` columns. */
export function textBars(bars: readonly Bar[], width: number, opts: { unit?: string; format?: (v: number) => string } = {}): string[] {
  const fmt = opts.format ?? formatValue;
  const unit = opts.unit ? ` ${opts.unit}` : '';
  const labels = bars.map((b) => cutLabel(b.label, 24));
  const lw = Math.max(0, ...labels.map((l) => l.length));
  const values = bars.map((b) => `${fmt(b.value)}${unit}${b.note ? ` ${b.note}` : ''}`);
  const vw = Math.max(0, ...values.map((v) => v.length));
  const room = Math.max(1, width - lw - vw - 2);
  const max = Math.max(0, ...bars.map((b) => b.value));
  return bars.map((b, i) => {
    const eighths = max > 0 ? Math.round((b.value / max) * room * 8) : 0;
    const bar = '█'.repeat(Math.floor(eighths / 8)) + (eighths % 8 ? '▏▎▍▌▋▊▉'[(eighths % 8) - 1] : '');
    return `${labels[i].padEnd(lw)} ${bar.padEnd(room)} ${values[i]}`.slice(0, Math.max(1, width)).trimEnd();
  });
}
