/**
 * A real headless browser for tests of kiln's HTML (the report): the system's Chromium, driven by
 * puppeteer-core (which downloads no browser of its own). puppeteer talks to it over the DevTools
 * protocol on a loopback port rather than a pipe: then the launch timeout holds (over a pipe a browser
 * that never answers waits out the protocol timeout) and a browser that cannot start says why (its stderr).
 *
 * `findChromium()` looks for the browser: `KILN_CHROMIUM` if set (a path that is not an executable
 * file is an error, not a skip: it was asked for), else `chromium`, `chromium-browser`, `google-chrome`
 * and `google-chrome-stable` on PATH, then in /usr/bin. Not found → `{ ok: false, reason }`, and the
 * test file skips its browser tests and says why, as the GPU tests do without an adapter (CI installs
 * Debian's `chromium` in .ci/run, so there they run).
 *
 * `openInBrowser(htmlFile, use, opts)` launches it headless with a fresh temporary profile (removed
 * afterwards), `--no-sandbox` only when running as root (Chromium refuses root with its sandbox; CI
 * runs as root), a bounded launch and protocol timeout (a broken browser fails the test instead of
 * hanging it), opens the file and hands `use` a `BrowserPage`: puppeteer's `page` plus what the page
 * did while it loaded and afterwards:
 * - every request, through request interception: `file:` URLs inside the HTML file's folder and
 *   `data:`, `blob:` and `about:` URLs go on; anything else is aborted and recorded in `leftPage`
 *   (WebSockets, which interception does not see, are recorded there too, from the DevTools
 *   protocol's Network events);
 * - console messages of type error and warning (`console`), uncaught exceptions and unhandled
 *   rejections (`pageErrors`), requests that failed, those aborted here included (`failedRequests`);
 * - DOM measures for assertions (`svgBoxes`, `tables`, `openDetails`) and `screenshot(name)`, a
 *   full-page PNG written into `test-artifacts/` at the repository root, the folder CI keeps.
 * The browser is always closed (and killed if closing hangs) and the profile removed, whatever `use` does.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { writeFileAtomic } from '../../compiler/files.ts';
import { REPO_ROOT } from './paths.ts';

/** The folder of files CI keeps from a test run (screenshots); gitignored. */
export const ARTIFACTS_DIR = path.join(REPO_ROOT, 'test-artifacts');

/** Browser names looked for on PATH and in /usr/bin, in this order. */
const BROWSER_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

/** The browser found, or why there is none. */
export type ChromiumFound = { ok: true; executable: string } | { ok: false; reason: string };

function isExecutableFile(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The system Chromium to drive: `KILN_CHROMIUM`, else the first of chromium, chromium-browser,
 * google-chrome, google-chrome-stable on PATH or in /usr/bin. Throws when KILN_CHROMIUM names no
 * executable file; `{ ok: false, reason }` when nothing is found.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): ChromiumFound {
  const given = env.KILN_CHROMIUM;
  if (given) {
    if (!isExecutableFile(given)) throw new Error(`KILN_CHROMIUM=${given} is not an executable file`);
    return { ok: true, executable: given };
  }
  const dirs = [...(env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/bin'];
  for (const name of BROWSER_NAMES) {
    for (const dir of dirs) {
      const file = path.join(dir, name);
      if (isExecutableFile(file)) return { ok: true, executable: file };
    }
  }
  return {
    ok: false,
    reason: `no Chromium found (looked for ${BROWSER_NAMES.join(', ')} on PATH and in /usr/bin; `
      + 'install Debian\'s chromium, as .ci/run does, or set KILN_CHROMIUM)',
  };
}

/** A console message of type error or warning. */
export interface ConsoleEntry {
  type: 'error' | 'warning';
  text: string;
  /** Where it was logged: URL:line, when the browser says. */
  where?: string;
}

/** One `<svg>` element's rendered box. */
export interface SvgBox {
  /** Its position among the page's `<svg>` elements, and its aria-label or id or first text, to name it in a failure. */
  index: number;
  label: string;
  width: number;
  height: number;
  /** Whether the browser would draw it (`checkVisibility()`): false under display:none, in a closed `<details>`, at opacity 0 or visibility:hidden. */
  visible: boolean;
}

/** One `<table>`: its caption (or nearest heading's text), rows with data cells, columns and rendered box. */
export interface TableInfo {
  index: number;
  label: string;
  rows: number;
  columns: number;
  width: number;
  height: number;
  /** As `SvgBox.visible`. */
  visible: boolean;
}

/** The page opened by `openInBrowser` and what it did. */
export interface BrowserPage {
  /** puppeteer's page, for assertions of your own. */
  page: Page;
  /** The browser's version string. */
  version: string;
  /** The temporary profile folder (removed once the browser is closed). */
  profile: string;
  /** Every URL requested, in order (the HTML file first). */
  requests: string[];
  /** Requests that would have left the page (not the report folder, `data:`, `blob:` or `about:`), all aborted. */
  leftPage: string[];
  /** Console errors and warnings. */
  console: ConsoleEntry[];
  /** Uncaught exceptions and unhandled rejections in the page. */
  pageErrors: string[];
  /** Requests that failed, as `URL: reason` (a missing file: net::ERR_FILE_NOT_FOUND; one aborted here: net::ERR_BLOCKED_BY_CLIENT). */
  failedRequests: string[];
  /** Every `<svg>`'s rendered box. */
  svgBoxes(): Promise<SvgBox[]>;
  /** Every `<table>`, with its count of rows that hold data cells. */
  tables(): Promise<TableInfo[]>;
  /** Opens every `<details>` element, so what is folded away is drawn (and in the screenshot). Returns how many it opened. */
  openDetails(): Promise<number>;
  /** Writes a full-page PNG `test-artifacts/<name>.png` and returns its path. */
  screenshot(name: string): Promise<string>;
}

/** Options of `openInBrowser`. */
export interface BrowserOptions {
  /** The browser to launch; default `findChromium()`'s. */
  executable?: string;
  /** Viewport in CSS pixels; default 1280×900. */
  width?: number;
  height?: number;
  /** Milliseconds to wait for the browser to start; default 30 000. */
  launchTimeoutMs?: number;
  /** Milliseconds for the page to load and for any one DevTools call; default 60 000. */
  timeoutMs?: number;
}

/** Is `url` one the page may load: a `file:` URL inside one of `dirs`, or `data:`, `blob:`, `about:`? */
export function allowedURL(url: string, dirs: readonly string[]): boolean {
  if (/^(data|blob|about):/i.test(url)) return true;
  if (!/^file:/i.test(url)) return false;
  let file: string;
  try {
    file = fileURLToPath(url);
  } catch {
    return false;
  }
  return dirs.some((dir) => {
    const rel = path.relative(dir, file);
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  });
}

/** Screenshot names become file names: letters, digits, `.`, `_` and `-` only. */
function artifactName(name: string): string {
  const base = name.replace(/\.png$/i, '').replace(/[^A-Za-z0-9._-]+/g, '-');
  if (!base || base.startsWith('.')) throw new Error(`screenshot name ${JSON.stringify(name)} makes no file name`);
  return `${base}.png`;
}

/** Closes the browser; kills its process if closing takes longer than `ms`. */
async function closeBrowser(browser: Browser, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), ms); });
  try {
    const r = await Promise.race([browser.close().then(() => 'closed' as const), timedOut]);
    if (r === 'timeout') browser.process()?.kill('SIGKILL');
  } catch {
    browser.process()?.kill('SIGKILL');
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Opens `htmlFile` in the system Chromium, headless, and runs `use` on it; resolves to what `use`
 * returns. The browser is closed and its profile removed afterwards, whether `use` succeeds or throws.
 * Throws when no browser is found (check `findChromium()` first and skip), when it does not start
 * within the launch timeout, or when the page does not load.
 */
export async function openInBrowser<T>(htmlFile: string, use: (view: BrowserPage) => Promise<T>, opts: BrowserOptions = {}): Promise<T> {
  let executable = opts.executable;
  if (!executable) {
    const found = findChromium();
    if (!found.ok) throw new Error(found.reason);
    executable = found.executable;
  }
  const file = path.resolve(htmlFile);
  const dir = path.dirname(file);
  const dirs = [...new Set([dir, fs.realpathSync(dir)])];
  const timeout = opts.timeoutMs ?? 60_000;
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-chromium-'));
  let browser: Browser | undefined;
  try {
    browser = await puppeteer.launch({
      executablePath: executable,
      headless: true,
      userDataDir: profile,
      timeout: opts.launchTimeoutMs ?? 30_000,
      protocolTimeout: timeout,
      defaultViewport: { width: opts.width ?? 1280, height: opts.height ?? 900 },
      // Chromium refuses to run as root with its sandbox; a non-root user keeps it
      args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
    }).catch((e: unknown) => {
      throw new Error(`Chromium (${executable}) did not start: ${e instanceof Error ? e.message.trim() : String(e)}`);
    });
    const page = await browser.newPage();
    page.setDefaultTimeout(timeout);
    const requests: string[] = [], leftPage: string[] = [], pageErrors: string[] = [], failedRequests: string[] = [];
    const consoleEntries: ConsoleEntry[] = [];
    await page.setRequestInterception(true);
    page.on('request', (req) => {
      const url = req.url();
      requests.push(url);
      if (allowedURL(url, dirs)) {
        void req.continue().catch(() => {});
      } else {
        leftPage.push(url);
        void req.abort('blockedbyclient').catch(() => {});
      }
    });
    page.on('requestfailed', (req) => { failedRequests.push(`${req.url()}: ${req.failure()?.errorText ?? 'failed'}`); });
    page.on('console', (msg) => {
      const type = msg.type();
      if (type !== 'error' && type !== 'warn') return;
      const loc = msg.location();
      consoleEntries.push({
        type: type === 'warn' ? 'warning' : 'error', text: msg.text(),
        ...(loc.url ? { where: `${loc.url}${loc.lineNumber !== undefined ? `:${loc.lineNumber + 1}` : ''}` } : {}),
      });
    });
    page.on('pageerror', (err) => { pageErrors.push(err instanceof Error ? err.message : String(err)); });
    // WebSockets do not pass through request interception: record them from the Network domain
    const cdp = await page.createCDPSession();
    await cdp.send('Network.enable');
    cdp.on('Network.webSocketCreated', (e) => { leftPage.push(e.url); });

    await page.goto(pathToFileURL(file).href, { waitUntil: 'load', timeout });
    await page.$eval('html', (root) => root.ownerDocument.fonts.ready.then(() => undefined)); // text measured in its font
    const view: BrowserPage = {
      page, version: await browser.version(), profile, requests, leftPage, console: consoleEntries, pageErrors, failedRequests,
      svgBoxes: () => page.$$eval('svg', (els) => els.map((el, index) => {
        const r = el.getBoundingClientRect();
        const label = el.getAttribute('aria-label') ?? (el.id || (el.textContent ?? '').trim().slice(0, 60));
        const visible = el.checkVisibility({ opacityProperty: true, visibilityProperty: true });
        return { index, label, width: r.width, height: r.height, visible };
      })),
      tables: () => page.$$eval('table', (els) => els.map((el, index) => {
        const r = el.getBoundingClientRect();
        const rows = [...el.rows].filter((tr) => tr.querySelector('td') !== null);
        let heading = el.previousElementSibling;
        while (heading && !/^H[1-6]$/.test(heading.tagName)) heading = heading.previousElementSibling;
        const label = (el.caption?.textContent ?? heading?.textContent ?? '').trim().slice(0, 60);
        const columns = Math.max(0, ...[...el.rows].map((tr) => tr.cells.length));
        const visible = el.checkVisibility({ opacityProperty: true, visibilityProperty: true });
        return { index, label, rows: rows.length, columns, width: r.width, height: r.height, visible };
      })),
      openDetails: () => page.$$eval('details:not([open])', (els) => { for (const d of els) d.setAttribute('open', ''); return els.length; }),
      screenshot: async (name) => {
        const target = path.join(ARTIFACTS_DIR, artifactName(name));
        fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
        const png = await page.screenshot({ type: 'png', fullPage: true });
        writeFileAtomic(target, png);
        return target;
      },
    };
    return await use(view);
  } finally {
    if (browser) await closeBrowser(browser, 10_000);
    fs.rmSync(profile, { recursive: true, force: true });
  }
}
