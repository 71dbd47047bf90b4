/**
 * The machine fingerprint (compiler/runtime/machine.ts) and kiln's version and commit
 * (compiler/version.ts): the shape of `machineInfo` with nothing measured (an empty probe cache gives
 * nulls and notes, a seeded one its numbers with source `cache`, nothing run), the OS and CPU blocks,
 * GPUs only where the NVIDIA driver lists them, the commit of this checkout, /etc/os-release parsing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { machineInfo, osDistro, cpuFacts } from '../../compiler/runtime/machine.ts';
import { probeCacheFile } from '../../compiler/runtime/native/probe.ts';
import { cpuInfo } from '../../compiler/runtime/native/cpu-features.ts';
import { findCCompiler } from '../../compiler/runtime/native/c-compiler.ts';
import { listCudaDevices } from '../../compiler/runtime/cuda/driver.ts';
import { kilnCommit, packageVersion } from '../../compiler/version.ts';
import { REPO_ROOT } from '../support/paths.ts';

const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-machine-'));
test.after(() => fs.rmSync(cache, { recursive: true, force: true }));

test('machineInfo with measure: false and an empty cache: every fact, no limits, notes saying why', async () => {
  const m = await machineInfo({ measure: false, cacheDir: cache });
  assert.equal(Object.keys(m), ['os', 'node', 'kiln', 'cpu', 'peakGflops', 'bandwidthGBs', 'compiler', 'gpus', 'notes']);
  assert.equal([m.os.platform, m.os.arch, m.os.release], [process.platform, process.arch, os.release()]);
  assert.is(m.node, process.version);
  assert.is(m.kiln.version, packageVersion());
  assert.equal(m.cpu, cpuFacts());
  assert.is(m.cpu.cores, cpuInfo().cores);
  assert.is(m.cpu.flags, [...cpuInfo().flags].sort().join(' '));
  assert.equal([m.peakGflops, m.bandwidthGBs], [null, null]);
  assert.equal(m.notes, ['FP32 peak: not measured on this machine yet (measure: false)', 'memory bandwidth: not measured on this machine yet (measure: false)']);
  const cc = findCCompiler();
  assert.equal(m.compiler, cc ? { argv: cc.argv, version: cc.version } : null);
  const cuda = listCudaDevices();
  assert.is(m.gpus.length, cuda.ok ? cuda.devices.length : 0, 'CUDA devices where the driver lists them; none here without it');
  assert.ok(m.gpus.every((g) => g.api === 'cuda'), 'no WebGPU adapter unless asked for');
});

test('machineInfo reads the probes\' cache: numbers with source cache, nothing run', async () => {
  const cpu = cpuInfo();
  const seed = (kind: string, field: string, v: number) => {
    fs.mkdirSync(path.join(cache, kind), { recursive: true });
    fs.writeFileSync(probeCacheFile(kind, cache), JSON.stringify({ cpu: cpu.model, [field]: { [String(cpu.cores)]: v, 1: v / 2 } }));
  };
  seed('peak', 'gflops', 123.5);
  seed('bandwidth', 'gbPerS', 17.25);
  for (const measure of [false, true]) {
    const m = await machineInfo({ measure, cacheDir: cache });
    assert.equal(m.peakGflops, { value: 123.5, threads: cpu.cores, source: 'cache' }, `measure: ${measure}`);
    assert.equal(m.bandwidthGBs, { value: 17.25, threads: cpu.cores, source: 'cache' });
    assert.equal(m.notes, []);
  }
  const one = await machineInfo({ measure: false, threads: 1, cacheDir: cache });
  assert.equal([one.peakGflops?.value, one.bandwidthGBs?.value], [61.75, 8.625]);
});

test('kiln\'s commit: this checkout\'s HEAD and whether tracked files differ; null outside a checkout of kiln', async () => {
  const head = spawnSync('git', ['-C', REPO_ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8' });
  if (head.status !== 0) { console.log('machine.test.ts: not a git checkout, the commit test is skipped'); return; }
  const c = kilnCommit();
  assert.ok(c);
  assert.is(c.commit, head.stdout.trim());
  const status = spawnSync('git', ['-C', REPO_ROOT, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).stdout;
  assert.is(c.dirty, status.trim() !== '');
  const m = await machineInfo({ measure: false, cacheDir: cache });
  assert.equal([m.kiln.commit, m.kiln.dirty], [c.commit, c.dirty]);
  const plain = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-not-git-'));
  try { assert.is(kilnCommit(plain), null); } finally { fs.rmSync(plain, { recursive: true, force: true }); }
  assert.is(kilnCommit(path.join(REPO_ROOT, 'compiler')), null, 'a folder inside the checkout is not a checkout of its own');
});

test('osDistro: PRETTY_NAME, else NAME and VERSION, else null', () => {
  assert.is(osDistro('NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_ID="12"\n'), 'Debian GNU/Linux 12 (bookworm)');
  assert.is(osDistro("NAME='Alpine Linux'\nVERSION=3.19\n"), 'Alpine Linux 3.19');
  assert.is(osDistro('ID=x\n'), null);
});

test.run();
