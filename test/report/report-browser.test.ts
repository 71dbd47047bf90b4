/**
 * report.html in a real headless browser (the system Chromium through test/support/browser.ts): a
 * report of zoo:mlp timed on the cpu backend (`Session.report`, as `kiln report zoo:mlp --backend cpu`
 * writes it) renders offline. With every collapsed <details> opened, every <svg> has a nonzero box
 * and is drawn, every <table> has data rows, and there are charts and tables to see at all; the page
 * logs no console error or warning, throws nothing, requests nothing outside its folder and no request
 * fails; every relative link (Arrow tables, IR steps, sources, manifest.json) names a file the folder
 * has. The full-page screenshot, as a reader first sees the page, is kept as
 * `test-artifacts/report-zoo-mlp.png` (CI keeps test-artifacts/).
 * Without a Chromium the test skips and says why.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findChromium, openInBrowser } from '../support/browser.ts';
import { assertReportRenders } from './page-checks.ts';
import { Session } from '../../compiler/session.ts';

const chromium = findChromium();
if (!chromium.ok) console.log(`report-browser.test.ts: skipping: ${chromium.reason}`);
const withBrowser = chromium.ok ? test : test.skip;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-report-browser-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

withBrowser('report.html of zoo:mlp on cpu: charts and tables render, no console output, nothing leaves the page', async () => {
  const dir = path.join(tmp, 'mlp');
  const s = Session.load('zoo:mlp');
  await s.report(dir, { backends: ['cpu'] });
  const html = path.join(dir, 'report.html');
  assert.ok(fs.existsSync(html), 'report.html written');
  await openInBrowser(html, async (view) => {
    await view.screenshot('report-zoo-mlp');
    await assertReportRenders(view, [dir], 2, 3); // memory plan and cpu timing charts; headline, passes, timings tables
  });
});

test.run();
