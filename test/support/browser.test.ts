/**
 * The headless-browser harness (test/support/browser.ts) on pages it must judge right:
 * - a page made of kiln's own display layer (the memory plan of zoo:mlp: its SVG chart and timeline
 *   table; the passes table; the chart again as an SVG file beside the page and as a data: URL) renders:
 *   every SVG has a box, every table its rows, the images decode, nothing is logged, nothing leaves
 *   the page, and the full-page screenshot lands in test-artifacts/;
 * - a hostile page: an image from https://example.com, a stylesheet from http://, a file beside the
 *   report's folder and a WebSocket are each recorded as leaving the page (and aborted), a missing file
 *   as a failed request, `throw` and an unhandled rejection as page errors, console.error/warn as
 *   console entries; an SVG under display:none has no box, one folded in a closed <details> is not
 *   visible until `openDetails()`, a table of headers only has no rows;
 * - a browser that exits at once, or never starts, fails the call (with its stderr, or after the launch
 *   timeout) instead of hanging it, and leaves no profile folder behind.
 * Without a Chromium the browser tests skip and say why; the URL and lookup rules are checked anyway.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { allowedURL, ARTIFACTS_DIR, findChromium, openInBrowser } from './browser.ts';
import { toMimeBundle } from '../../compiler/display/index.ts';
import { Session } from '../../compiler/session.ts';

const chromium = findChromium();
if (!chromium.ok) console.log(`browser.test.ts: skipping the browser tests: ${chromium.reason}`);
const withBrowser = chromium.ok ? test : test.skip;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-browser-test-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Writes `body` as `<dir>/index.html` (a full HTML document) and returns its path. */
function writePage(dir: string, body: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'index.html');
  fs.writeFileSync(file, `<!doctype html>\n<html><head><meta charset="utf-8"><title>kiln browser test</title></head>\n<body>\n${body}\n</body></html>\n`);
  return file;
}

/** Awaits `p` and checks it rejects with a message matching `re`. */
async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  const r = await p.then(() => 'resolved', (e: unknown) => (e instanceof Error ? e.message : String(e)));
  assert.match(r, re);
}

/** Width and height from a PNG's IHDR chunk, after checking its signature. */
function pngSize(file: string): { width: number; height: number } {
  const b = fs.readFileSync(file);
  assert.equal([...b.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.is(b.toString('latin1', 12, 16), 'IHDR');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

test('allowedURL: file: URLs inside the folder, data:/blob:/about:; nothing else', () => {
  const dir = path.join(tmp, 'rep');
  const url = (f: string) => pathToFileURL(f).href;
  assert.ok(allowedURL(url(path.join(dir, 'report.html')), [dir]));
  assert.ok(allowedURL(url(path.join(dir, 'ir', 'step-1.kir')), [dir]));
  assert.ok(allowedURL('data:image/png;base64,AAAA', [dir]));
  assert.ok(allowedURL('about:blank', [dir]));
  assert.ok(allowedURL('blob:file:///5a0c', [dir]));
  assert.not.ok(allowedURL(url(path.join(tmp, 'outside.png')), [dir]));
  assert.not.ok(allowedURL(url(`${dir}2/x.png`), [dir]), 'a sibling folder sharing the prefix');
  assert.not.ok(allowedURL(`${url(dir)}/../outside.png`, [dir]));
  assert.not.ok(allowedURL(url(dir), [dir]), 'the folder itself');
  assert.not.ok(allowedURL('https://example.com/x.png', [dir]));
  assert.not.ok(allowedURL('http://127.0.0.1:8080/', [dir]));
  assert.not.ok(allowedURL('ws://127.0.0.1/', [dir]));
  assert.not.ok(allowedURL('//example.com/x', [dir]));
});

test('findChromium: KILN_CHROMIUM first (an error when it is no executable), then PATH before /usr/bin', () => {
  const bin = path.join(tmp, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  const fake = path.join(bin, 'chromium');
  fs.writeFileSync(fake, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  fs.writeFileSync(path.join(bin, 'google-chrome'), 'not executable', { mode: 0o644 });
  assert.equal(findChromium({ PATH: bin }), { ok: true, executable: fake });
  assert.equal(findChromium({ KILN_CHROMIUM: fake, PATH: '' }), { ok: true, executable: fake });
  assert.throws(() => findChromium({ KILN_CHROMIUM: path.join(bin, 'google-chrome') }), /KILN_CHROMIUM=.*google-chrome is not an executable file/);
  assert.throws(() => findChromium({ KILN_CHROMIUM: bin }), /is not an executable file/);
  const none = findChromium({ PATH: path.join(tmp, 'empty') });
  if (!none.ok) assert.match(none.reason, /no Chromium found.*KILN_CHROMIUM/);
  else assert.ok(none.executable.startsWith('/usr/bin/'), 'only /usr/bin is left to search');
});

withBrowser('a page of kiln display output renders: SVG boxes, table rows, no console output, nothing leaves the page', async () => {
  const s = Session.load('zoo:mlp');
  const memory = toMimeBundle(s.memory());
  const passes = toMimeBundle(s.passesTable());
  const svg = memory['image/svg+xml']!;
  assert.ok(svg.startsWith('<svg'), 'the memory bundle has its SVG chart');
  const dir = path.join(tmp, 'display');
  const file = writePage(dir, [
    memory['text/html'], passes['text/html'],
    '<img id="file-svg" src="chart.svg" alt="memory plan (file)">',
    `<img id="data-svg" src="data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}" alt="memory plan (data)">`,
  ].join('\n'));
  fs.writeFileSync(path.join(dir, 'chart.svg'), svg);
  let profile = '';
  const shot = await openInBrowser(file, async (view) => {
    profile = view.profile;
    assert.ok(fs.existsSync(profile), 'a profile folder while the browser runs');
    assert.match(view.version, /Chrom/);
    const boxes = await view.svgBoxes();
    assert.ok(boxes.length >= 1, 'the memory chart is an inline <svg>');
    for (const b of boxes) assert.ok(b.width > 0 && b.height > 0 && b.visible, `svg #${b.index} (${b.label}) is ${b.width}×${b.height}, visible: ${b.visible}`);
    const tables = await view.tables();
    assert.ok(tables.length >= 2, `the memory timeline and passes tables: ${tables.length}`);
    for (const t of tables) assert.ok(t.rows > 0 && t.width > 0 && t.height > 0 && t.visible, `table #${t.index} (${t.label}): ${t.rows} rows, ${t.width}×${t.height}`);
    const images = await view.page.$$eval('img', (els) => els.map((e) => ({ id: e.id, w: e.naturalWidth, ok: e.complete })));
    assert.equal(images.map((i) => i.id), ['file-svg', 'data-svg']);
    for (const i of images) assert.ok(i.ok && i.w > 0, `${i.id} decoded`);
    assert.equal(view.console, []);
    assert.equal(view.pageErrors, []);
    assert.equal(view.failedRequests, []);
    assert.equal(view.leftPage, []);
    assert.ok(view.requests.includes(pathToFileURL(file).href), 'the page itself was requested');
    assert.ok(view.requests.includes(pathToFileURL(path.join(dir, 'chart.svg')).href), 'the SVG file beside it was allowed');
    return view.screenshot('browser-harness-display');
  });
  assert.is(shot, path.join(ARTIFACTS_DIR, 'browser-harness-display.png'));
  const size = pngSize(shot);
  assert.is(size.width, 1280);
  assert.ok(size.height > 0);
  assert.not.ok(fs.existsSync(profile), 'the profile folder is removed');
});

withBrowser('a hostile page: requests leaving it, page errors, console errors, failed requests, folded SVG, empty table', async () => {
  const dir = path.join(tmp, 'hostile');
  fs.writeFileSync(path.join(tmp, 'outside.png'), Buffer.alloc(0));
  const file = writePage(dir, [
    '<link rel="stylesheet" href="http://cdn.example.com/style.css">',
    '<img src="https://example.com/x.png" alt="">',
    '<img src="../outside.png" alt="">',
    '<img src="missing.png" alt="">',
    '<details><summary>folded</summary><svg id="folded" width="120" height="40"><rect width="120" height="40" fill="teal"/></svg></details>',
    '<div style="display:none"><svg id="undisplayed" width="50" height="50"></svg></div>',
    '<h2>Only headers</h2><table><thead><tr><th>a</th><th>b</th></tr></thead><tbody></tbody></table>',
    '<div style="height:3000px">tall</div>',
    '<script>new WebSocket("ws://127.0.0.1:9/socket");</script>',
    '<script>console.error("boom", 42); console.warn("careful"); console.log("fine");</script>',
    '<script>Promise.reject(new Error("rejected"));</script>',
    "<script>throw new Error('x')</script>",
  ].join('\n'));
  await openInBrowser(file, async (view) => {
    assert.equal([...view.leftPage].sort(), [
      'http://cdn.example.com/style.css', 'https://example.com/x.png',
      pathToFileURL(path.join(tmp, 'outside.png')).href, 'ws://127.0.0.1:9/socket',
    ].sort());
    const failed = (url: string) => view.failedRequests.find((f) => f.startsWith(`${url}: `));
    assert.match(failed('https://example.com/x.png') ?? 'not failed', /ERR_BLOCKED_BY_CLIENT/, 'the external image was aborted');
    assert.match(failed('http://cdn.example.com/style.css') ?? 'not failed', /ERR_BLOCKED_BY_CLIENT/);
    assert.match(failed(pathToFileURL(path.join(dir, 'missing.png')).href) ?? 'not failed', /ERR_FILE_NOT_FOUND/);
    assert.ok(view.pageErrors.some((e) => /\bx\b/.test(e)), `throw: ${JSON.stringify(view.pageErrors)}`);
    assert.ok(view.pageErrors.some((e) => /rejected/.test(e)), `unhandled rejection: ${JSON.stringify(view.pageErrors)}`);
    assert.ok(view.console.some((c) => c.type === 'error' && c.text === 'boom 42'), `console.error: ${JSON.stringify(view.console)}`);
    assert.ok(view.console.some((c) => c.type === 'warning' && c.text === 'careful'), 'console.warn');
    assert.not.ok(view.console.some((c) => c.text === 'fine'), 'console.log is not an error');
    const svg = async (id: string) => {
      const b = (await view.svgBoxes()).find((x) => x.label === id)!;
      return [b.width, b.height, b.visible];
    };
    assert.equal(await svg('undisplayed'), [0, 0, false], 'display:none: no box');
    assert.equal(await svg('folded'), [120, 40, false], 'in a closed <details>: laid out, not drawn');
    assert.is(await view.openDetails(), 1);
    assert.equal(await svg('folded'), [120, 40, true]);
    const tables = await view.tables();
    assert.equal(tables.map((t) => [t.label, t.rows, t.columns, t.visible]), [['Only headers', 0, 2, true]]);
    const size = pngSize(await view.screenshot('browser-harness-hostile'));
    assert.ok(size.height >= 3000, `full page, not the viewport: ${size.height}px`);
  });
});

withBrowser('a browser that exits at once or never starts fails the call, and leaves no profile behind', async () => {
  const bin = path.join(tmp, 'broken');
  fs.mkdirSync(bin, { recursive: true });
  const exits = path.join(bin, 'exits');
  fs.writeFileSync(exits, '#!/bin/sh\necho "no display here" >&2\nexit 3\n', { mode: 0o755 });
  const mute = path.join(bin, 'mute');
  fs.writeFileSync(mute, '#!/bin/sh\nexec tail -f /dev/null\n', { mode: 0o755 });
  const page = writePage(path.join(tmp, 'plain'), '<p>plain</p>');
  const profiles = path.join(tmp, 'profiles');
  fs.mkdirSync(profiles);
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = profiles; // openInBrowser makes its profile under os.tmpdir()
  try {
    let used = false;
    const use = async () => { used = true; };
    await rejects(openInBrowser(page, use, { executable: exits }), /did not start.*Code: 3[\s\S]*no display here/);
    await rejects(openInBrowser(page, use, { executable: mute, launchTimeoutMs: 1500 }), /did not start.*Timed out after 1500 ms/);
    assert.not.ok(used);
    assert.equal(fs.readdirSync(profiles), []);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
});

test.run();
