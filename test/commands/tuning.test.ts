/**
 * The `tuning` command (`%tuning`) on a session over a graph of the test-only tunable op
 * (test/runtime/tuning-support.ts): the Arrow table's columns and rows (every candidate of every node,
 * the winner marked consistently with the measurements, the wrong and the refused candidates'
 * exclusions, GFLOP/s from the node's FLOPs), tuning progress; a second `tuning` showing the Session's
 * kept program (its "2 measured" says nothing was prepared again), `tuning --tuning cached` preparing
 * anew from the cache (0 measured, same winners and times); and the errors for a bad mode (on tuning
 * and timings) and for a backend that does not tune. Without a C compiler the compiled cases are skipped.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../../compiler/commands/all.ts';
import { runLine } from '../../compiler/commands/line.ts';
import { Session } from '../../compiler/session.ts';
import { ResultTable } from '../../compiler/results/table.ts';
import { findCCompiler } from '../../compiler/runtime/native/c-compiler.ts';
import { TEMPLATE, tunedGraph } from '../runtime/tuning-support.ts';
import { fakeContext } from './fake-context.ts';

const cc = findCCompiler();
if (!cc) console.log('commands/tuning.test.ts: no C compiler found: skipping the compiled cases');
const withCC = cc ? test : test.skip;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-tune-cmd-'));
// this file's cache folder while its tests run (the suite runs every file in one process)
let savedCacheDir: string | undefined;
test.before(() => { savedCacheDir = process.env.KILN_CACHE_DIR; process.env.KILN_CACHE_DIR = root; });
test.after(() => {
  if (savedCacheDir === undefined) delete process.env.KILN_CACHE_DIR; else process.env.KILN_CACHE_DIR = savedCacheDir;
  fs.rmSync(root, { recursive: true, force: true });
});

const N = 1 << 16;
const ctx = fakeContext(Session.load(tunedGraph(N)));
const run = (line: string) => runLine(line, ctx);

withCC('tuning: one row per node and candidate, the winner marked, the wrong candidate excluded', async () => {
  const t = (await run('tuning --tuning measure')) as ResultTable;
  assert.instance(t, ResultTable);
  assert.equal(t.table.schema.fields.map((f) => f.name),
    ['node', 'template', 'key', 'candidate', 'params', 'ms', 'min_ms', 'gflop_per_s', 'chosen', 'source', 'excluded']);
  assert.is(t.numRows, 8);
  assert.equal(t.column('node'), ['h', 'h', 'h', 'h', 'y', 'y', 'y', 'y']);
  assert.equal(t.column('template'), Array(8).fill(TEMPLATE));
  assert.equal(t.column('key'), Array(8).fill(`n=${N}`));
  assert.equal(t.column('candidate'), [0, 1, 2, 3, 0, 1, 2, 3]);
  const params = ['reps=24 bias=0', 'reps=1 bias=0', 'reps=1 bias=1', 'reps=0 bias=0'];
  assert.equal(t.column('params'), [...params, ...params]);
  const shown = t.toText({ maxWidth: 200 });
  assert.equal(t.column('source'), Array(8).fill('measured'), shown);
  // which candidate wins is checked on one thread in test/runtime/tuning.test.ts; here (all cores of a
  // possibly loaded machine) the winner must be the allowed candidate with the smallest min_ms, the
  // same for both nodes (one problem), and never the wrong one
  const chosen = t.column('chosen') as boolean[];
  const ms = t.column('ms') as (number | null)[], minMs = t.column('min_ms') as (number | null)[];
  assert.ok(ms[0]! > 0 && ms[1]! >= 0 && ms[2] === null && minMs[2] === null && ms[3] === null, shown);
  const winner = minMs[0]! < minMs[1]! ? 0 : 1;
  assert.equal(chosen, [0, 1, 2, 3, 0, 1, 2, 3].map((c) => c === winner), shown);
  const excluded = t.column('excluded') as (string | null)[];
  assert.is(excluded[0], null);
  assert.match(excluded[2] ?? '', /disagree with the reference executor/);
  assert.match(excluded[3] ?? '', /does not lower: reps must be at least 1/);
  assert.match(t.title, /measure, 2 measured when prepared\): 2 node\(s\)/);
  // FLOPs of the test op are one per element (the default rule): GFLOP/s = N / (ms * 1e6)
  const g = t.column('gflop_per_s') as (number | null)[];
  assert.ok(Math.abs(g[0]! - N / (ms[0]! * 1e6)) <= 1e-9 * g[0]!, `${g[0]} vs ${N / (ms[0]! * 1e6)}`);
  assert.is(g[2], null);
  assert.ok(ctx.progressLog.some((p) => /preparing step 0 on cpu: tuning/.test(p.label)), 'tuning progress reported');
});

withCC('tuning again reuses the prepared program; --tuning cached prepares anew from the cache', async () => {
  const again = (await run('tuning --tuning measure')) as ResultTable;
  assert.match(again.title, /2 measured when prepared/, 'the same program, not a new preparation');
  const cached = (await run('tuning --tuning cached')) as ResultTable;
  assert.match(cached.title, /cached, 0 measured when prepared/);
  const shown = cached.toText({ maxWidth: 200 });
  assert.equal(cached.column('source'), Array(8).fill('cache'), shown);
  assert.equal(cached.column('chosen'), again.column('chosen'), shown);
  assert.equal(cached.column('min_ms'), again.column('min_ms'), 'the measurements come from the cache');
});

test('tuning: a bad mode and a backend that does not tune are usage errors', async () => {
  try {
    await run('tuning --tuning fast');
    assert.unreachable('bad mode');
  } catch (e) {
    assert.match((e as Error).message, /^tuning: --tuning must be one of measure, cached, off, got 'fast'/);
  }
  try {
    await run('timings --tuning sometimes');
    assert.unreachable('bad mode on timings');
  } catch (e) {
    assert.match((e as Error).message, /^timings: --tuning must be one of measure, cached, off/);
  }
  try {
    await run('tuning --backend ref');
    assert.unreachable('ref');
  } catch (e) {
    assert.match((e as Error).message, /^tuning: the ref backend does not tune its kernels/);
  }
});

test.run();
