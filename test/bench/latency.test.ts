/**
 * The latency section of `npm run bench` (bench/latency.ts) on the small zoo model mlp, as a check that
 * the machinery works, never of speed: interleaved rounds in rotated order, one child per
 * configuration reporting every round, kiln's cold then warm preparation (the warm one a cache hit),
 * outputs equal to onnxruntime's, peak RSS, the slowest kernels with GFLOP/s, and the printed report.
 * No time is asserted.
 */
import { test } from 'uvu';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { benchLatency, type Contender } from '../../bench/latency.ts';
import { formatLatency } from '../../bench/latency-report.ts';
import { defaultPipeline } from '../../compiler/passes/index.ts';
import { findCCompiler } from '../../compiler/runtime/native/c-compiler.ts';

const hasCc = findCCompiler() !== undefined;
if (!hasCc) console.log('latency.test.ts: no C compiler found (CC, cc, gcc, clang): skipping');
// the children inherit it: the peak probe (and any object outside the bench's own cold/warm folders) stays in a temp folder
const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-test-'));
process.env.KILN_CACHE_DIR = cache;
test.after(() => fs.rmSync(cache, { recursive: true, force: true }));

(hasCc ? test : test.skip)('mlp: kiln cpu and onnxruntime at 1 and 2 threads, 3 interleaved rounds', async () => {
  const contenders: Contender[] = [{ kind: 'kiln', backend: 'cpu' }, { kind: 'ort', optimization: 'all' }, { kind: 'ort', optimization: 'disabled' }];
  const orders: string[][] = [];
  const lines: string[] = [];
  const report = await benchLatency({
    models: ['mlp'], contenders, threads: [1, 2], rounds: 3, pipeline: defaultPipeline('cpu'), topKernels: 2, kernelThreads: 2, kernelRepeat: 2,
    log: (l) => lines.push(l), onRound: (model, r, order) => { assert.is(model, 'mlp'); assert.is(r, orders.length); orders.push([...order]); },
  });
  // rounds: every configuration once per round, the order rotated by one each round
  const names = ['kiln-cpu@1', 'ort-all@1', 'ort-disabled@1', 'kiln-cpu@2', 'ort-all@2', 'ort-disabled@2'];
  assert.equal(orders, [0, 1, 2].map((r) => names.map((_, i) => names[(i + r) % names.length])));
  assert.ok(lines.some((l) => l.includes('mlp round 3/3')), lines.join('\n'));

  assert.is(report.rows.length, 6);
  for (const row of report.rows) {
    const what = `${row.contender}@${row.threads}`;
    assert.is(row.error, undefined, `${what}: ${row.error}`);
    assert.is(row.times!.length, 3, what);
    assert.ok(row.times!.every((t) => t > 0), what);
    assert.ok(row.minMs! <= row.medianMs!, what);
    assert.ok(row.rssPeakMiB! >= row.rssBaseMiB! && row.rssBaseMiB! > 10, `${what}: RSS ${row.rssBaseMiB} → ${row.rssPeakMiB}`);
    assert.ok(row.maxAbsDiffToOrtAll! < 1e-4, `${what}: outputs differ from onnxruntime by ${row.maxAbsDiffToOrtAll}`);
    if (row.contender === 'ort-all') assert.is(row.ratioToOrtAll, 1);
    else assert.ok(row.ratioToOrtAll! > 0, what);
  }
  const kiln = report.rows.filter((r) => r.contender === 'kiln-cpu');
  for (const r of kiln) {
    assert.ok(r.prepareColdMs! > 0 && r.prepareWarmMs! > 0);
    assert.is(r.cacheHit, true, 'the second preparation hits the object cache');
    assert.ok(r.passesMs! >= 0);
    assert.is(r.fallbacks, 0, 'mlp compiles fully');
  }
  // the slowest kernels only at the kernels' thread count, with GFLOP/s for the Gemms
  assert.equal(kiln.find((r) => r.threads === 1)!.top, []);
  const top = kiln.find((r) => r.threads === 2)!.top!;
  assert.is(top.length, 2);
  assert.ok(top.every((k) => k.ms > 0 && k.gflops !== null && k.gflops > 0), JSON.stringify(top));
  assert.ok(top[0].ms >= top[1].ms);

  // mlp is not an acceptance model: the figure is incomplete
  assert.is(report.acceptance.geomean, null);
  const text = formatLatency(report);
  assert.match(text, /^model\s+contender\s+thr\s+median ms\s+min ms\s+\/ort-all/);
  assert.match(text, /^mlp\s+kiln-cpu\s+2\s+[\d.]+/m);
  assert.match(text, /^mlp\s+ort-all\s+1\s+.*\s-\s+\d+\s+0$/m, 'onnxruntime rows: no fallback column value, a peak RSS, no difference from itself');
  assert.match(text, /acceptance \(kiln-cpu\/ort-all at 2 threads over resnet50, mobilenetv2, bert\): incomplete/);
  assert.match(text, /where the time goes: mlp on kiln-cpu at 2 thread\(s\)/);
});

test.run();
