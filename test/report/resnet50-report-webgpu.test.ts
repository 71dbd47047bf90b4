/**
 * The end-to-end check on a real model: a report of zoo:resnet50 on the cpu backend and, where
 * a WebGPU adapter opens (a GPU, or Mesa's lavapipe on the CPU as in CI), on the webgpu backend too
 * (two timed runs, no warm-up: the reference baseline runs the unoptimized model, about 4 s a run
 * here), built once and shared by both tests of this file:
 * - replayed from its manifest (`replayReport`): every step's IR hash identical, the same inputs, the
 *   baseline's and every backend's outputs within the recorded tolerance;
 * - report.html opened in headless Chromium (test/support/browser.ts, with the checks every report
 *   page gets, test/report/page-checks.ts): every <svg> drawn with a box, every <table> with data rows,
 *   no console error or warning, no page error, no request leaving the folder or failing; the
 *   screenshot is kept as `test-artifacts/report-resnet50.png` (CI keeps test-artifacts/). The
 *   replay's page is opened too: its replay section leads, its tables have rows, and its link to the
 *   original resolves.
 * The file's name holds `webgpu`, so test/run.ts runs it in the process that may open a Dawn device.
 * Without a Chromium the browser test skips and says why; the replay test runs anyway; without an
 * adapter the report is cpu only and the test says why.
 * Cost with cpu only, on a shared 2-core machine: 112 s and 173 s wall in two runs (70-90 s of CPU;
 * alone, the report took 33 s and its replay 35 s, of which the ref baseline 8 s each).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findChromium, openInBrowser } from '../support/browser.ts';
import { assertReportRenders } from './page-checks.ts';
import { Session } from '../../compiler/session.ts';
import { replayReport, type ReplayResult } from '../../compiler/report/replay.ts';
import type { WrittenReport } from '../../compiler/report/index.ts';
import { webgpuDevice } from '../../compiler/runtime/webgpu/device.ts';

const chromium = findChromium();
if (!chromium.ok) console.log(`resnet50-report-webgpu.test.ts: skipping the browser test: ${chromium.reason}`);
const withBrowser = chromium.ok ? test : test.skip;

const adapter = await webgpuDevice();
if (!adapter.ok) console.log(`resnet50-report-webgpu.test.ts: the report is cpu only: ${adapter.reason}`);
const backends = adapter.ok ? ['cpu', 'webgpu'] : ['cpu'];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-report-resnet50-'));
const dir = path.join(tmp, 'resnet50');
let written: WrittenReport;
let replay: ReplayResult;

test.before(async () => {
  const s = Session.load('zoo:resnet50');
  try {
    written = await s.report(dir, { backends, repeat: 2, warmup: 0 });
  } finally {
    await s.close();
  }
  replay = await replayReport(dir);
});
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('the resnet50 report replays with identical IR hashes, inputs and outputs', () => {
  const c = replay.comparison;
  assert.ok(written.manifest.steps.length > 5, `the pipeline ran: ${written.manifest.steps.length} steps`);
  assert.is(c.steps.length, written.manifest.steps.length);
  assert.is(c.stepsSame, c.steps.length, replay.verdict);
  assert.equal(c.steps.map((st) => st.replayed), written.manifest.steps.map((st) => st.irSha256));
  assert.ok(c.inputsSame, replay.verdict);
  assert.equal(c.outputs.map((o) => o.run), ['ref (baseline)', ...backends]);
  assert.ok(c.outputsOk, replay.verdict);
  assert.ok(c.ok);
  assert.equal(written.manifest.backends.map((b) => b.backend), backends, 'every backend ran as itself (none replaced by ref)');
});

withBrowser('report.html of resnet50 (and its replay) render in headless Chromium: charts, tables, no console output, nothing leaves', async () => {
  await openInBrowser(path.join(dir, 'report.html'), async (view) => {
    await view.screenshot('report-resnet50');
    // memory plan and, per backend, the time-by-op chart and the roofline
    await assertReportRenders(view, [dir], 1 + 2 * backends.length, 5);
  });
  await openInBrowser(path.join(replay.out, 'report.html'), async (view) => {
    const first = await view.page.$eval('main section', (s) => s.id);
    assert.is(first, 'replay', 'the replay section leads');
    assert.match(await view.page.$eval('#replay', (s) => (s as unknown as { textContent: string }).textContent), /replay reproduced the report: IR hashes identical: (\d+) of \1 steps/);
    const original = await view.page.$eval('#replay a[href$="report.html"]', (a) => a.getAttribute('href')!);
    assert.is(path.resolve(replay.out, original), path.join(dir, 'report.html'));
    await assertReportRenders(view, [replay.out, dir], 1 + 2 * backends.length, 8);
  });
});

test.run();
