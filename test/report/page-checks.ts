/**
 * What every report page must do in a real browser (test/support/browser.ts), checked the same way
 * for each report the tests open: with every collapsed <details> opened, at least `minSvgs` charts and
 * `minTables` tables, every <svg> drawn with a nonzero box, every <table> with data rows; no console
 * error or warning, no page error, no request leaving the page or failing; every link out of the page
 * (not a #anchor) is a `file:` URL inside one of `folders` that names an existing file.
 */
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { allowedURL, type BrowserPage } from '../support/browser.ts';

/** Asserts the page renders offline and stays inside `folders` (see the module header). */
export async function assertReportRenders(view: BrowserPage, folders: readonly string[], minSvgs: number, minTables: number): Promise<void> {
  await view.openDetails();
  const boxes = await view.svgBoxes();
  assert.ok(boxes.length >= minSvgs, `charts: ${boxes.length} <svg>, expected at least ${minSvgs}`);
  for (const b of boxes) assert.ok(b.width > 0 && b.height > 0 && b.visible, `svg #${b.index} (${b.label}): ${b.width}×${b.height}, visible: ${b.visible}`);
  const tables = await view.tables();
  assert.ok(tables.length >= minTables, `tables: ${tables.length}, expected at least ${minTables}`);
  for (const t of tables) {
    assert.ok(t.rows > 0 && t.width > 0 && t.height > 0 && t.visible, `table #${t.index} (${t.label}): ${t.rows} rows, ${t.width}×${t.height}, visible: ${t.visible}`);
  }
  assert.equal(view.console, [], 'console errors and warnings');
  assert.equal(view.pageErrors, [], 'page errors');
  assert.equal(view.leftPage, [], 'requests leaving the page');
  assert.equal(view.failedRequests, [], 'failed requests');
  const links = await view.page.$$eval('a[href]', (as) => as.filter((a) => !a.getAttribute('href')!.startsWith('#')).map((a) => a.href));
  for (const url of links) {
    assert.ok(url.startsWith('file:') && allowedURL(url, folders), `link ${url} stays in the report folders`);
    assert.ok(fs.statSync(fileURLToPath(url.replace(/#.*$/, '')), { throwIfNoEntry: false })?.isFile(), `link ${url} names a file`);
  }
}
