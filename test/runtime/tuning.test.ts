/**
 * The tuner (compiler/runtime/tune/) on a test-only tunable op (tuning-support.ts): it picks the
 * faster candidate (the slow default does 24x the work; no times are asserted, only which one won,
 * on one thread), excludes a fast candidate whose results are wrong (all of them when even the
 * default is wrong) and a candidate the lowering refuses, and measures each problem once even when
 * two nodes share it; a second tuning of the same graph is all cache hits with zero measurements.
 * Two problems build as two C files at once, and a failed build leaves only its problems at their
 * defaults. The cache key changes with the machine fingerprint and with the candidate list; a
 * corrupt cache file is warned about, ignored, and rewritten. Through the cpu backend:
 * `CpuProgram.tuning` has the rows, the compiled program runs the chosen candidate (its outputs match
 * the reference), the second prepare measures nothing, and KILN_TUNING=off measures nothing. The
 * tuning option reaches prepare from the Session (a program per mode) and is off for conformance. Without
 * a C compiler every compiled test is skipped.
 */
import fs from 'node:fs';
import { expectTensors } from '../../compiler/ir/value.ts';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findCCompiler } from '../../compiler/runtime/native/c-compiler.ts';
import { buildSharedObject } from '../../compiler/runtime/native/object-cache.ts';
import { type TuneOptions, tuneGraph, tuningMode } from '../../compiler/runtime/tune/tuner.ts';
import { TuningCache, candidatesHash, machineFingerprint } from '../../compiler/runtime/tune/cache.ts';
import { prepareCpu } from '../../compiler/runtime/cpu/index.ts';
import { randomInputs } from '../../compiler/runtime/inputs.ts';
import { runReference } from '../../compiler/runtime/reference.ts';
import { diffTensors } from '../../compiler/runtime/compare.ts';
import { DEFAULT_CANDIDATES, TEMPLATE, offered, tunedGraph, twoProblemGraph } from './tuning-support.ts';
import { KilnError } from '../../compiler/errors.ts';
import { type PrepareOptions, registerBackend } from '../../compiler/runtime/backend.ts';
import { refBackend } from '../../compiler/runtime/ref-backend.ts';
import { runConformance } from '../../compiler/runtime/conformance.ts';
import { Session } from '../../compiler/session.ts';
import { conformanceCase } from '../support/paths.ts';

const cc = findCCompiler();
if (!cc) console.log('tuning.test.ts: no C compiler found (CC, cc, gcc, clang): skipping the tuner tests');
const withCC = cc ? test : test.skip;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-tune-'));
// this file's cache folder while its tests run (the suite runs every file in one process)
let savedCacheDir: string | undefined;
test.before(() => { savedCacheDir = process.env.KILN_CACHE_DIR; process.env.KILN_CACHE_DIR = path.join(root, 'cache'); });
test.after(() => {
  if (savedCacheDir === undefined) delete process.env.KILN_CACHE_DIR; else process.env.KILN_CACHE_DIR = savedCacheDir;
  fs.rmSync(root, { recursive: true, force: true });
});

const N = 1 << 17;
const PROBLEM = `${TEMPLATE}|n=${N}`;
let folders = 0;

/** Tuner options over a fresh cache folder (or `dir`), one thread, warnings collected. */
function options(dir = path.join(root, `t${folders++}`), warnings: string[] = [], machine = cc ? machineFingerprint(1) : undefined) {
  const cache = new TuningCache(machine!, dir, (m) => warnings.push(m));
  const opts: TuneOptions = {
    mode: 'measure', threads: 1, cache, samples: 5, budgetMs: 2000,
    build: (source, name) => buildSharedObject(source, { name, openmp: true, cacheDir: path.join(root, 'objects') }),
  };
  return { opts, cache, dir, warnings };
}

withCC('picks the faster candidate and excludes the fast wrong one; one problem measured once for two nodes', async () => {
  const { opts } = options();
  const out = await tuneGraph(tunedGraph(N), opts);
  assert.is(out.problems.size, 1);
  const p = out.problems.get(PROBLEM)!;
  assert.is(p.source, 'measured');
  assert.is(p.chosen, 1, `chose ${p.chosen}: ${JSON.stringify(p.candidates)}`);
  assert.is(out.choices.get(PROBLEM), 1);
  assert.is(p.candidates[0].excluded, undefined);
  assert.is(p.candidates[1].excluded, undefined);
  assert.match(p.candidates[2].excluded ?? '', /disagree with the reference executor/);
  assert.is(p.candidates[2].ms, null, 'an excluded candidate is not timed');
  assert.match(p.candidates[3].excluded ?? '', /does not lower: reps must be at least 1, got 0/);
  assert.is(p.candidates[3].ms, null);
  assert.ok(p.candidates[0].ms! > 0 && p.candidates[1].ms! >= 0);
  assert.is(out.measurements, 2);
});

withCC('second tuning of the same graph: cache hits, zero measurements; cached and off modes never measure', async () => {
  const { opts } = options();
  const first = await tuneGraph(tunedGraph(N), opts);
  assert.is(first.measurements, 2);
  const second = await tuneGraph(tunedGraph(N, 'other-name'), opts);
  assert.is(second.measurements, 0);
  assert.is(second.problems.get(PROBLEM)!.source, 'cache');
  assert.is(second.choices.get(PROBLEM), 1);
  assert.equal(second.problems.get(PROBLEM)!.candidates, first.problems.get(PROBLEM)!.candidates);

  const fresh = options();
  const cached = await tuneGraph(tunedGraph(N), { ...fresh.opts, mode: 'cached' });
  assert.is(cached.measurements, 0);
  assert.is(cached.problems.get(PROBLEM)!.source, 'default');
  assert.is(cached.choices.size, 0);
  const off = await tuneGraph(tunedGraph(N), { ...opts, mode: 'off' });
  assert.is(off.measurements, 0);
  assert.is(off.problems.size, 0);
});

withCC('the cache key changes with the machine fingerprint and with the candidate list', async () => {
  const { opts, dir } = options();
  await tuneGraph(tunedGraph(N), opts);
  const base = machineFingerprint(1);
  for (const machine of [{ ...base, cpu: 'another-cpu' }, { ...base, compiler: 'cc 99' }, { ...base, threads: 2 }]) {
    const other = options(dir, [], machine);
    assert.is(other.cache.get(TEMPLATE, `n=${N}`, DEFAULT_CANDIDATES), undefined, JSON.stringify(machine));
  }
  assert.ok(opts.cache.get(TEMPLATE, `n=${N}`, DEFAULT_CANDIDATES));
  const changed = [DEFAULT_CANDIDATES[0], DEFAULT_CANDIDATES[1], { reps: 2, bias: 0 }];  // all three correct
  assert.is(opts.cache.get(TEMPLATE, `n=${N}`, changed), undefined);
  offered.candidates = changed;
  try {
    const out = await tuneGraph(tunedGraph(N), opts);
    assert.is(out.measurements, 3, 'a changed candidate list is measured afresh');
    assert.is(out.problems.get(PROBLEM)!.source, 'measured');
  } finally {
    offered.candidates = DEFAULT_CANDIDATES;
  }
});

withCC('when every candidate disagrees with the reference (the default too), none wins: the default stays, nothing is stored', async () => {
  const { opts } = options();
  const wrong = [{ reps: 1, bias: 1 }, { reps: 1, bias: 2 }];
  offered.candidates = wrong;
  try {
    const out = await tuneGraph(tunedGraph(N), opts);
    const p = out.problems.get(PROBLEM)!;
    assert.is(p.source, 'default');
    assert.is(p.chosen, 0);
    assert.ok(p.candidates.every((c) => /disagree with the reference executor/.test(c.excluded ?? '')), JSON.stringify(p.candidates));
    assert.is(out.choices.size, 0);
    assert.is(opts.cache.get(TEMPLATE, `n=${N}`, wrong), undefined);
  } finally {
    offered.candidates = DEFAULT_CANDIDATES;
  }
});

withCC('a corrupt cache file is warned about, ignored, measured again and rewritten', async () => {
  const { opts, cache, warnings } = options();
  await tuneGraph(tunedGraph(N), opts);
  const file = cache.file(TEMPLATE, `n=${N}`, candidatesHash(DEFAULT_CANDIDATES));
  assert.ok(fs.existsSync(file));
  for (const bad of ['{"format": 1, "chosen', JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), chosen: 7 })]) {
    fs.writeFileSync(file, bad);
    warnings.length = 0;
    const again = await tuneGraph(tunedGraph(N), { ...opts, cache: new TuningCache(cache.machine, cache.dir, (m) => warnings.push(m)) });
    assert.is(again.measurements, 2);
    assert.is(warnings.length, 1);
    assert.match(warnings[0], /ignoring the tuning cache file/);
    assert.ok(warnings[0].includes(file));
    assert.is(JSON.parse(fs.readFileSync(file, 'utf8')).chosen, 1, 'rewritten');
  }
});

withCC('two problems in two C files built at once; a failed build leaves its problems at their defaults, warned and uncached', async () => {
  const { opts } = options();
  const names: string[] = [];
  const out = await tuneGraph(twoProblemGraph(), { ...opts, parallelBuilds: 2, build: (source, name) => { names.push(name); return opts.build(source, name); } });
  assert.equal(names.sort(), ['tuning_0', 'tuning_1']);
  assert.equal([...out.problems.keys()].sort(), [`${TEMPLATE}|n=${1 << 15}`, `${TEMPLATE}|n=${1 << 16}`]);
  assert.ok([...out.problems.values()].every((p) => p.source === 'measured' && p.chosen === 1), JSON.stringify([...out.problems.values()]));
  assert.is(out.measurements, 4);

  const failing = options();
  const warned: string[] = [];
  const broken = await tuneGraph(twoProblemGraph(), {
    ...failing.opts, parallelBuilds: 2, warn: (m) => warned.push(m),
    build: (source, name) => (name === 'tuning_1' ? Promise.reject(new KilnError('the C compiler failed with exit code 1')) : failing.opts.build(source, name)),
  });
  assert.is(warned.length, 1);
  assert.match(warned[0], /^tuning 1 problem\(s\) of @two failed to build; their defaults are used:\nthe C compiler failed/);
  const sources = [...broken.problems.values()].map((p) => p.source).sort();
  assert.equal(sources, ['default', 'measured']);
  const fallen = [...broken.problems.values()].find((p) => p.source === 'default')!;
  assert.is(fallen.chosen, 0);
  assert.ok(fallen.candidates.every((c) => /the tuning build failed: the C compiler failed/.test(c.excluded ?? '')));
  assert.is(broken.choices.has(`${fallen.template}|${fallen.key}`), false, 'the default is used');
  assert.is(failing.cache.get(fallen.template, fallen.key, DEFAULT_CANDIDATES), undefined, 'not cached');
});

withCC('cpu backend: the program runs the tuned choice, reports rows, and the second prepare measures nothing', async () => {
  const graph = tunedGraph(N);
  const inputs = randomInputs(graph, 3);
  const want = runReference(graph, inputs);
  const first = await prepareCpu(graph, undefined, { threads: 1, tuning: 'measure' });
  try {
    assert.is(first.tuning.mode, 'measure');
    assert.is(first.tuning.measurements, 2);
    const rows = first.tuning.rows;
    assert.is(rows.length, 8, 'two nodes x four candidates');
    assert.equal(rows.filter((r) => r.chosen).map((r) => [r.node, r.candidate]), [['h', 1], ['y', 1]]);
    assert.match(rows.find((r) => r.candidate === 3)!.excluded ?? '', /does not lower/);
    assert.ok(rows.every((r) => r.source === 'measured' && r.template === TEMPLATE && r.key === `n=${N}`));
    assert.match(rows.find((r) => r.candidate === 2)!.excluded ?? '', /disagree/);
    const got = expectTensors(await first.run(inputs));
    assert.is(diffTensors(got[0], want[0], { rtol: 1e-5, atol: 1e-6 }).reason, undefined);
    assert.match(first.artifacts.find((a) => a.name.endsWith('.c') && a.nodes?.length === 2)!.content, /r < 1;|for \(int64_t r = 0; r < 1/);
  } finally {
    await first.dispose();
  }
  const second = await prepareCpu(graph, undefined, { threads: 1, tuning: 'measure' });
  try {
    assert.is(second.tuning.measurements, 0);
    assert.ok(second.tuning.rows.every((r) => r.source === 'cache'));
    assert.equal(second.tuning.rows.filter((r) => r.chosen).map((r) => r.candidate), [1, 1]);
  } finally {
    await second.dispose();
  }
  const saved = process.env.KILN_TUNING;
  process.env.KILN_TUNING = 'off';
  try {
    const off = await prepareCpu(graph, undefined, { threads: 1 });
    assert.is(off.tuning.mode, 'off', 'KILN_TUNING sets the default');
    assert.equal(off.tuning.rows.filter((r) => r.chosen).map((r) => [r.candidate, r.source]), [[0, 'default'], [0, 'default']]);
    await off.dispose();
  } finally {
    if (saved === undefined) delete process.env.KILN_TUNING; else process.env.KILN_TUNING = saved;
  }
});

withCC('an abort while measuring cancels the preparation between problems', async () => {
  const { opts } = options();
  const ac = new AbortController();
  const fractions: number[] = [];
  try {
    await tuneGraph(twoProblemGraph(), { ...opts, parallelBuilds: 1, signal: ac.signal, onProgress: (f) => { fractions.push(f); if (f > 0.5) ac.abort(); } });
    assert.unreachable('not cancelled');
  } catch (e) {
    assert.instance(e, KilnError);
    assert.match((e as Error).message, 'the preparation was cancelled');
  }
  assert.equal(fractions, [0, 0.5, 0.75], 'stopped after the first of two problems');
});

test('the tuning option reaches prepare: conformance prepares with tuning off, the Session passes it on', async () => {
  const asked: (PrepareOptions['tuning'] | 'unset')[] = [];
  const unregister = registerBackend({ ...refBackend, name: 'tuning-probe',
    prepare: (g, plan, o = {}) => { asked.push(o.tuning ?? 'unset'); return refBackend.prepare(g, plan, o); } });
  try {
    const report = await runConformance(conformanceCase('test_add'), { backend: 'tuning-probe' });
    assert.is(report.passed, 1);
    assert.equal(asked, ['off']);
    const s = Session.load(tunedGraph(8));
    await s.execute({ backend: 'tuning-probe', tuning: 'cached' });
    await s.execute({ backend: 'tuning-probe' });
    assert.equal(asked, ['off', 'cached', 'unset'], 'a different tuning mode is a different program');
    await s.execute({ backend: 'tuning-probe' });
    assert.is(asked.length, 3, 'the same options reuse the prepared program');
  } finally {
    unregister();
  }
});

test('tuningMode: the option, else KILN_TUNING, else measure; a bad KILN_TUNING names itself', () => {
  assert.is(tuningMode(undefined, {}), 'measure');
  assert.is(tuningMode(undefined, { KILN_TUNING: 'cached' }), 'cached');
  assert.is(tuningMode('off', { KILN_TUNING: 'cached' }), 'off');
  assert.throws(() => tuningMode(undefined, { KILN_TUNING: 'fast' }), /KILN_TUNING is 'fast'; use one of measure, cached, off/);
});

test.run();
