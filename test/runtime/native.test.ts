/**
 * The native build-and-load layer (compiler/runtime/native/): CPU feature parsing; the C compiler
 * driver (missing compiler, a failed compile whose error carries the first errors and a command that
 * reproduces it when pasted); the object cache (a second build is a hit with no compile, a changed
 * source or flag is a miss, artifacts sit next to the object); loading through koffi (saxpy on a
 * Float32Array, a pointer kept across calls proving no copy, `float **`, a missing function, use after
 * dispose); an OpenMP object in a child process that exits normally (the `-z nodelete` fix); and the
 * FP32 peak probe (a plausible number, the second call served from the disk cache with no compile); the
 * memory bandwidth probe (positive, cached, `refresh` measures again) and its array sizing.
 * Everything builds into one temporary cache folder, and each source is compiled once. Tests that need
 * a C compiler are skipped, with the reason printed, when there is none.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { KilnError } from '../../compiler/errors.ts';
import { parseCpuInfo, cpuInfo, cpuKey } from '../../compiler/runtime/native/cpu-features.ts';
import { findCCompiler, requireCCompiler } from '../../compiler/runtime/native/c-compiler.ts';
import { buildSharedObject, cacheDir, objectKey } from '../../compiler/runtime/native/object-cache.ts';
import { loadLibrary } from '../../compiler/runtime/native/library.ts';
import { probeFp32Peak, fp32PeakGflops } from '../../compiler/runtime/native/peak.ts';
import { memoryBandwidth, triadArrayBytes } from '../../compiler/runtime/native/bandwidth.ts';
import { REPO_ROOT } from '../support/paths.ts';

const cc = findCCompiler();
if (!cc) console.log('native.test.ts: no C compiler found (CC, cc, gcc, clang): skipping the build, load and peak tests');
const withCC = cc ? test : test.skip;
const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-native-'));
test.after(() => fs.rmSync(cache, { recursive: true, force: true }));

const SAXPY = `
#include <stdint.h>
void saxpy(int n, float a, const float *x, float *y) { for (int i = 0; i < n; i++) y[i] = a * x[i] + y[i]; }
static float *kept;
void keep(float *p) { kept = p; }
void poke(int i, float v) { kept[i] = v; }
void add2(float **bufs, int n, float *out) { for (int i = 0; i < n; i++) out[i] = bufs[0][i] + bufs[1][i]; }
`;

test('CPU features: flags, vector width and model from /proc/cpuinfo text', () => {
  const avx512 = parseCpuInfo('processor\t: 0\nmodel name\t: AMD EPYC 9R14\nflags\t\t: fpu sse sse2 avx avx2 fma avx512f\n', 'x64', 4);
  assert.is(avx512.model, 'AMD EPYC 9R14');
  assert.is(avx512.isa, 'avx512');
  assert.is(avx512.f32Lanes, 16);
  assert.ok(avx512.fma);
  assert.is(avx512.cores, 4);
  const avx2 = parseCpuInfo('model name : Intel Core\nflags : sse sse2 avx avx2\n', 'x64', 8);
  assert.equal([avx2.isa, avx2.f32Lanes, avx2.fma], ['avx2', 8, false]);
  const arm = parseCpuInfo('processor : 0\nFeatures : fp asimd evtstrm\n', 'arm64', 2);
  assert.equal([arm.isa, arm.f32Lanes, arm.fma], ['neon', 4, true]);
  // the cache key changes with the flags and the cores
  assert.is.not(cpuKey(avx512), cpuKey(parseCpuInfo('model name\t: AMD EPYC 9R14\nflags\t\t: fpu sse sse2 avx avx2 fma\n', 'x64', 4)));
  assert.is.not(cpuKey(avx512), cpuKey({ ...avx512, cores: 2 }));
  const here = cpuInfo();
  assert.ok(here.cores >= 1 && here.f32Lanes >= 1 && here.model.length > 0);
  assert.is(cpuInfo(), here, 'detected once per process');
});

test('no C compiler: a KilnError saying so and pointing at the reference backend', () => {
  const env = { CC: '/nonexistent/kiln-cc' };
  assert.is(findCCompiler(env), undefined);
  try {
    requireCCompiler(env);
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.instance(e, KilnError);
    assert.match((e as Error).message, /no C compiler found \(tried \$CC \(\/nonexistent\/kiln-cc\)\)/);
    assert.match((e as Error).message, /--backend ref/);
  }
});

test('the cache folder: KILN_CACHE_DIR, else XDG_CACHE_HOME/kiln, else ~/.cache/kiln', () => {
  assert.is(cacheDir({ KILN_CACHE_DIR: '/a/b', XDG_CACHE_HOME: '/x' }), '/a/b');
  assert.is(cacheDir({ XDG_CACHE_HOME: '/x' }), '/x/kiln');
  assert.is(cacheDir({}), path.join(os.homedir(), '.cache', 'kiln'));
});

test('object key: the source, the flags, the compiler version and the CPU each change it', () => {
  const gcc = { argv: ['gcc'], version: 'gcc 12.2.0', isClang: false };
  const cpu = parseCpuInfo('model name : X\nflags : avx2 fma\n', 'x64', 2);
  const key = objectKey('int f;', ['-O3'], gcc, cpu);
  assert.is(objectKey('int f;', ['-O3'], gcc, cpu), key);
  assert.is(objectKey('int f;', ['-O3'], gcc, { ...cpu, cores: 64 }), key, 'the core count does not change an object');
  const others = [
    objectKey('int g;', ['-O3'], gcc, cpu),
    objectKey('int f;', ['-O2'], gcc, cpu),
    objectKey('int f;', ['-O3'], { ...gcc, version: 'gcc 13.1.0' }, cpu),
    objectKey('int f;', ['-O3'], gcc, parseCpuInfo('model name : X\nflags : avx2 fma avx512f\n', 'x64', 2)),
    objectKey('int f;', ['-O3'], gcc, parseCpuInfo('model name : Y\nflags : avx2 fma\n', 'x64', 2)),
  ];
  assert.is(new Set([key, ...others]).size, 6);
});

withCC('object cache: a miss compiles, the same build is a hit, a changed source or flag is a miss', async () => {
  const first = await buildSharedObject(SAXPY, { name: 'saxpy', cacheDir: cache });
  assert.not.ok(first.hit);
  assert.ok(first.compileMs > 0);
  for (const p of [first.objectPath, first.sourcePath, first.commandPath, first.logPath]) assert.ok(fs.existsSync(p), p);
  assert.is(fs.readFileSync(first.sourcePath, 'utf8'), SAXPY);
  assert.match(fs.readFileSync(first.commandPath, 'utf8'), /-O3 -march=native -fPIC -shared -o \S+saxpy\.so \S+saxpy\.c/);
  assert.is(fs.readdirSync(path.dirname(first.objectPath)).filter((f) => f.endsWith('.tmp')).length, 0, 'no temporary left');

  const again = await buildSharedObject(SAXPY, { name: 'saxpy', cacheDir: cache });
  assert.ok(again.hit);
  assert.is(again.compileMs, 0);
  assert.is(again.objectPath, first.objectPath);

  const flagged = await buildSharedObject(SAXPY, { name: 'saxpy', cacheDir: cache, extraFlags: ['-DKILN_TEST=1'] });
  assert.not.ok(flagged.hit);
  assert.is.not(flagged.key, first.key);
  const edited = await buildSharedObject(SAXPY + '\n/* edited */\n', { name: 'saxpy', cacheDir: cache });
  assert.not.ok(edited.hit);
  assert.is.not(edited.key, first.key);
});

withCC('a failed compile: the first errors and a command that reproduces it when pasted', async () => {
  const bad = 'int broken(void) { return undeclared_thing; }\n';
  try {
    await buildSharedObject(bad, { name: 'broken', cacheDir: cache });
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.instance(e, KilnError);
    const msg = (e as Error).message;
    assert.match(msg, /the C compiler failed with exit code \d+/);
    assert.match(msg, /undeclared_thing/);
    const command = /reproduce with: (.*)$/m.exec(msg)?.[1];
    assert.ok(command, msg);
    const r = spawnSync('sh', ['-c', command!], { encoding: 'utf8' });
    assert.is.not(r.status, 0);
    assert.match(r.stderr, /undeclared_thing/, 'the pasted command finds the source and fails the same way');
  }
  // a failed build is never a hit
  await buildSharedObject(bad, { name: 'broken', cacheDir: cache }).then(
    () => assert.unreachable('a failed build must fail again'), (e) => assert.instance(e, KilnError));
});

withCC('loading: saxpy on typed arrays, pointers without copies, float **, a missing function, dispose', async () => {
  const built = await buildSharedObject(SAXPY, { name: 'saxpy', cacheDir: cache });
  assert.ok(built.hit, 'compiled once by the cache test');
  const lib = loadLibrary(built.objectPath);
  const saxpy = lib.func('saxpy', 'void (int n, float a, const float *x, float *y)');
  const x = Float32Array.from({ length: 37 }, (_, i) => i);
  const y = Float32Array.from({ length: 37 }, (_, i) => 100 - i);
  saxpy(37, 2, x, y);
  assert.equal(Array.from(y), Array.from(x, (v, i) => 2 * v + 100 - i), 'small integers: exact in float32');

  // the object keeps the pointer of one call and writes through it in the next: the memory is the array's own
  const arena = new ArrayBuffer(64);
  const view = new Float32Array(arena, 16, 4);
  lib.func('keep', 'void (float *p)')(view);
  lib.func('poke', 'void (int i, float v)')(1, 7.5);
  assert.is(new Float32Array(arena)[5], 7.5, 'a view at byte offset 16 is passed as a pointer to that offset');

  const out = new Float32Array(3);
  lib.func('add2', 'void (float **bufs, int n, float *out)')([Float32Array.of(1, 2, 3), Float32Array.of(10, 20, 30)], 3, out);
  assert.equal([...out], [11, 22, 33]);

  assert.throws(() => lib.func('nope', 'void (int n)'), (e: Error) => e instanceof KilnError && /cannot bind native function 'nope'/.test(e.message));
  assert.throws(() => lib.func('saxpy', 'void int n'), (e: Error) => e instanceof KilnError && /bad signature/.test(e.message));
  lib.dispose();
  assert.throws(() => saxpy(1, 1, x, y), (e: Error) => e instanceof KilnError && /unloaded/.test(e.message));
  assert.throws(() => loadLibrary(path.join(cache, 'missing.so')), (e: Error) => e instanceof KilnError && /cannot load/.test(e.message));
});

withCC('an OpenMP object loaded in a child process: the right result and a normal exit (-z nodelete)', async () => {
  const source = `
#include <omp.h>
int square_all(int n, float *x) {
  #pragma omp parallel for
  for (int i = 0; i < n; i++) x[i] = x[i] * x[i];
  return omp_get_max_threads();
}`;
  const built = await buildSharedObject(source, { name: 'omp', cacheDir: cache, openmp: true });
  assert.match(built.command, /-fopenmp -Wl,-z,nodelete/);
  const script = path.join(cache, 'child.mts');
  fs.writeFileSync(script, `
import { loadLibrary } from ${JSON.stringify(path.join(REPO_ROOT, 'compiler/runtime/native/library.ts'))};
const lib = loadLibrary(${JSON.stringify(built.objectPath)});
const x = Float32Array.from({ length: 10000 }, (_, i) => i % 7);
const threads = lib.func('square_all', 'int (int n, float *x)')(x.length, x);
let sum = 0; for (const v of x) sum += v;
console.log(JSON.stringify({ threads, sum }));
lib.dispose();
`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.is(r.signal, null, `the child was killed by ${r.signal}: ${r.stderr}`);
  assert.is(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout.trim()) as { threads: number; sum: number };
  let expected = 0;
  for (let i = 0; i < 10000; i++) expected += (i % 7) ** 2;
  assert.is(got.sum, expected);
  assert.ok(got.threads >= 1);
});

withCC('FP32 peak: a plausible measured number, then served from the disk cache with no compile', async () => {
  const first = await probeFp32Peak({ threads: 1, cacheDir: cache });
  assert.not.ok(first.fromCache);
  assert.ok(first.build, 'measured now, so it was built');
  assert.ok(first.gflops > 1 && first.gflops < 10_000, `single-thread peak ${first.gflops} GFLOP/s is implausible`);
  const record = JSON.parse(fs.readFileSync(first.cacheFile, 'utf8')) as { gflops: Record<string, number> };
  const cores = cpuInfo().cores;
  assert.ok(record.gflops[String(cores)] > 0, 'the first probe measures all cores too');
  assert.ok(record.gflops[String(cores)] < 10_000 * cores);

  const second = await probeFp32Peak({ threads: 1, cacheDir: cache });
  assert.ok(second.fromCache);
  assert.is(second.build, undefined, 'nothing compiled or run');
  assert.is(second.gflops, first.gflops);
  const all = await probeFp32Peak({ cacheDir: cache });
  assert.ok(all.fromCache);
  assert.is(all.threads, cores);
  assert.is(await fp32PeakGflops({ threads: 1, cacheDir: cache }), first.gflops);
  await probeFp32Peak({ threads: 0, cacheDir: cache }).then(
    () => assert.unreachable('0 threads'), (e) => assert.match((e as Error).message, /bad thread count 0/));
});

test('bandwidth probe arrays: 4 × the last-level cache, from 32 MiB to 256 MiB, 64 MiB when the cache is unknown', () => {
  const MiB = 1024 * 1024;
  assert.is(triadArrayBytes(32 * MiB), 128 * MiB);
  assert.is(triadArrayBytes(512 * 1024), 32 * MiB);
  assert.is(triadArrayBytes(1024 * MiB), 256 * MiB);
  assert.is(triadArrayBytes(undefined), 64 * MiB);
});

withCC('memory bandwidth: measured (positive), then served from the disk cache; refresh measures again', async () => {
  const first = await memoryBandwidth({ threads: 1, cacheDir: cache });
  assert.is(first.source, 'measured');
  assert.ok(first.build, 'measured now, so it was built');
  assert.ok(first.gbPerS > 0.1 && first.gbPerS < 100_000, `single-thread bandwidth ${first.gbPerS} GB/s is implausible`);
  assert.is(first.threads, 1);
  assert.is(path.dirname(first.file), path.join(cache, 'bandwidth'));
  assert.is(path.basename(first.file), `${cpuKey()}.json`);
  const record = JSON.parse(fs.readFileSync(first.file, 'utf8')) as { gbPerS: Record<string, number>; method: string };
  assert.equal(Object.keys(record.gbPerS), ['1'], 'only the thread count asked for');
  assert.match(record.method, /STREAM triad/);

  const second = await memoryBandwidth({ threads: 1, cacheDir: cache });
  assert.equal([second.source, second.gbPerS, second.build], ['cache', first.gbPerS, undefined]);
  const again = await memoryBandwidth({ threads: 1, cacheDir: cache, refresh: true });
  assert.is(again.source, 'measured');
  assert.ok(again.build?.hit, 'the probe object comes from the object cache');
  assert.is(JSON.parse(fs.readFileSync(first.file, 'utf8')).gbPerS['1'], again.gbPerS, 'the refreshed number replaces the cached one');
  await memoryBandwidth({ threads: 1.5, cacheDir: cache }).then(
    () => assert.unreachable('1.5 threads'), (e) => assert.match((e as Error).message, /bad thread count 1.5 for the memory bandwidth/));
});

test.run();
