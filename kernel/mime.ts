/**
 * MIME bundles for the kernel: the display layer's `toMimeBundle` (compiler/display) for every value a
 * cell shows, and the progress bar bundle that `ctx.progress` updates in place.
 *
 * A cell's result (`resultBundle`: execute_result, user_expressions) is shown as a REPL shows it: a
 * string quoted (`'abc'`, util.inspect), so `'1'` and `1` look different; `display('text')` shows the
 * text itself, as `print` would.
 *
 * A bundle always has `text/plain`. Rendering must never kill a cell: when a renderer throws, the value
 * is shown as Node's REPL would show it and the failure is noted in the text.
 */
import { inspect } from 'node:util';
import { toMimeBundle } from '../compiler/display/index.ts';
import type { MimeBundle } from './messages.ts';

/** The bundle of a value shown in a notebook. */
export function mimeBundle(obj: unknown): MimeBundle {
  try {
    const b: Record<string, string> = toMimeBundle(obj);
    return b['text/plain'] === undefined ? { ...b, 'text/plain': plainText(obj) } : b;
  } catch (e) {
    return { 'text/plain': `${plainText(obj)}\n(display failed: ${(e as Error).message})` };
  }
}

/** The bundle of a cell's result: `mimeBundle`, except that a string is quoted as a REPL shows it. */
export function resultBundle(value: unknown): MimeBundle {
  return mimeBundle(typeof value === 'string' ? inspect(value, { colors: false, breakLength: 100 }) : value);
}

/** A bundle the user built (`display(b, {raw: true})`): JSON-safe copy, text/plain added when missing. */
export function rawBundle(obj: unknown): MimeBundle {
  const b = JSON.parse(JSON.stringify(obj)) as MimeBundle;
  if (b['text/plain'] === undefined) b['text/plain'] = Object.keys(b).map((k) => `<${k}>`).join(' ');
  return b;
}

function plainText(obj: unknown): string {
  return typeof obj === 'string' ? obj : inspect(obj, { depth: 4, colors: false, breakLength: 100 });
}

const BAR_WIDTH = 30;

/** A progress bar: text/plain `label [█████-----] 50%` and an HTML <progress>; no fraction: indeterminate. */
export function progressBundle(label: string, fraction: number | undefined): MimeBundle {
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  if (fraction === undefined || !Number.isFinite(fraction)) {
    return { 'text/plain': `${label} …`, 'text/html': `<div><progress style="width:20em"></progress> ${esc(label)} …</div>` };
  }
  const f = Math.min(1, Math.max(0, fraction));
  const filled = Math.round(f * BAR_WIDTH);
  const pct = `${Math.floor(f * 100)}%`;
  return {
    'text/plain': `${label} [${'█'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${pct}`,
    'text/html': `<div><progress style="width:20em" max="1" value="${f.toFixed(4)}"></progress> ${esc(label)} ${pct}</div>`,
  };
}
