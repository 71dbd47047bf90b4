/**
 * MIME bundles for the kernel: the display layer's `toMimeBundle` (compiler/display) for every value a
 * cell shows, with a plain fallback if that layer cannot be loaded, and the progress bar bundle that
 * `ctx.progress` updates in place.
 *
 * A bundle always has `text/plain`. Rendering must never kill a cell: when a renderer throws, the value
 * is shown as Node's REPL would show it and the failure is noted in the text.
 */
import { inspect } from 'node:util';
import type { MimeBundle } from './messages.ts';

type Renderer = (obj: unknown) => Record<string, string>;
let renderer: Renderer | undefined;

/** Loads compiler/display (call once before rendering; later calls are free). */
export async function loadDisplay(): Promise<void> {
  if (renderer) return;
  try {
    const mod = (await import('../compiler/display/index.ts' as string)) as { toMimeBundle: Renderer };
    renderer = mod.toMimeBundle;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code !== 'ERR_MODULE_NOT_FOUND') throw e;
    renderer = fallbackBundle;
  }
}

/** The bundle of a value shown in a notebook. */
export function mimeBundle(obj: unknown): MimeBundle {
  const render = renderer ?? fallbackBundle;
  try {
    const b = render(obj);
    return b['text/plain'] === undefined ? { ...b, 'text/plain': plainText(obj) } : b;
  } catch (e) {
    return { 'text/plain': `${plainText(obj)}\n(display failed: ${(e as Error).message})` };
  }
}

/** What a value looks like without the display layer: strings as they are, other values inspected. */
export function fallbackBundle(obj: unknown): Record<string, string> {
  return { 'text/plain': plainText(obj) };
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
