/**
 * `kiln build MODEL --out DIR` (cli/commands/build.ts), run as a user does: every stage's artifacts
 * land in a new folder with a manifest that describes each file truly (kind, size, sha256, nodes and
 * ONNX provenance), nothing runs, and a refused --out is a clear error that leaves it as it was.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { runKiln } from '../support/cli.ts';
import { findCCompiler } from '../../compiler/runtime/native/c-compiler.ts';
import { findNvcc } from '../../compiler/runtime/cuda/nvcc.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-build-'));
const env = { ...process.env, KILN_CACHE_DIR: path.join(tmp, 'cache') };
const kiln = (args: string[]) => runKiln(args, { env });

interface ManifestFile { path: string; kind: string; bytes: number; sha256: string; nodes: string[]; onnx: string[] }

function readManifest(dir: string) {
  return JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
    model: string; backend: string; pipeline: string; threads: number; files: ManifestFile[]; hashes: Record<string, string>;
    compiler: { command?: string } | null; cpu: { cores: number };
  };
}

/** Every file under `dir`, relative, sorted. */
function listFiles(dir: string, base = ''): string[] {
  return fs.readdirSync(path.join(dir, base), { withFileTypes: true }).flatMap((e) => {
    const rel = base ? `${base}/${e.name}` : e.name;
    return e.isDirectory() ? listFiles(dir, rel) : [rel];
  }).sort();
}

test('the manifest describes every file of the folder truly, and every stage is there', () => {
  if (!findCCompiler()) return; // no C compiler here: the cpu backend cannot prepare (its error is tested in runtime/)
  const out = path.join(tmp, 'mlp');
  const r = kiln(['build', 'zoo:mlp', '--out', out, '--threads', '1']);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /built zoo:mlp on cpu/);
  const m = readManifest(out);
  assert.is(m.backend, 'cpu');
  assert.is(m.threads, 1);
  // the manifest lists exactly the files on disk (besides itself), with their real sizes and hashes
  assert.equal(m.files.map((f) => f.path).sort(), listFiles(out).filter((f) => f !== 'manifest.json'));
  for (const f of m.files) {
    const data = fs.readFileSync(path.join(out, f.path));
    assert.is(f.bytes, data.length, f.path);
    assert.is(f.sha256, createHash('sha256').update(data).digest('hex'), f.path);
  }
  // the IR after each step: step 0 and one file per pass of the pipeline, in order
  const irs = m.files.filter((f) => f.path.startsWith('ir/')).map((f) => f.path);
  assert.is(irs.length, m.pipeline.split(',').length + 1);
  assert.is(irs[0], 'ir/000_input.kir');
  assert.match(fs.readFileSync(path.join(out, irs.at(-1)!), 'utf8'), /^kiln\.graph @mlp\(/);
  assert.is(m.hashes.finalIr, createHash('sha256').update(fs.readFileSync(path.join(out, irs.at(-1)!))).digest('hex'));
  // plan, kernel IR, per-kernel files tied to their nodes and ONNX nodes
  assert.ok(JSON.parse(fs.readFileSync(path.join(out, 'plan.json'), 'utf8')).peakBytes > 0);
  assert.match(fs.readFileSync(path.join(out, 'plan.txt'), 'utf8'), /peak/);
  assert.match(fs.readFileSync(path.join(out, 'kernels.kir'), 'utf8'), /^kiln\.program @mlp (target\(vectorBits=\d+\) )?\{/); // lowered for this CPU on the cpu target
  const perKernel = m.files.filter((f) => f.path.startsWith('kernels/'));
  assert.is(perKernel.length, 3);
  for (const f of perKernel) {
    assert.ok(f.nodes.length >= 1, f.path);
    assert.ok(f.onnx.length >= 1, f.path);
  }
  // what the backend built: C per kernel, the command, the log, the binary (a real shared object)
  const kinds = new Set(m.files.filter((f) => f.path.startsWith('backend/')).map((f) => f.kind));
  for (const k of ['source', 'command', 'log', 'binary', 'ir']) assert.ok(kinds.has(k), `backend ${k} artifact`);
  const so = m.files.find((f) => f.kind === 'binary')!;
  assert.equal([...fs.readFileSync(path.join(out, so.path)).subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46]); // ELF
  assert.match(m.compiler?.command ?? '', /-O3/);
});

test('--backend ref writes the compiler stages and no backend files', () => {
  const out = path.join(tmp, 'ref');
  const r = kiln(['build', 'zoo:mlp', '--backend', 'ref', '--pipeline', 'shape-infer,dce', '--out', out]);
  assert.is(r.code, 0, r.err);
  const m = readManifest(out);
  assert.is(m.backend, 'ref');
  assert.equal(m.files.filter((f) => f.path.startsWith('ir/')).map((f) => f.path), ['ir/000_input.kir', 'ir/001_shape-infer.kir', 'ir/002_dce.kir']);
  assert.not.ok(fs.existsSync(path.join(out, 'backend')));
  assert.ok(fs.existsSync(path.join(out, 'kernels.kir')));
});

test('a refused --out is a clear error and is left as it was; a missing --out is a usage error', () => {
  const full = path.join(tmp, 'full');
  fs.mkdirSync(full);
  fs.writeFileSync(path.join(full, 'keep.txt'), 'mine');
  const r1 = kiln(['build', 'zoo:mlp', '--backend', 'ref', '--out', full]);
  assert.is(r1.code, 1);
  assert.match(r1.err, /error: .*full: --out exists and is not empty/);
  assert.equal(fs.readdirSync(full), ['keep.txt']);
  const file = path.join(tmp, 'a-file');
  fs.writeFileSync(file, 'x');
  const r2 = kiln(['build', 'zoo:mlp', '--backend', 'ref', '--out', file]);
  assert.is(r2.code, 1);
  assert.match(r2.err, /error: .*a-file: --out is a regular file, not a folder/);
  const r3 = kiln(['build', 'zoo:mlp']);
  assert.is(r3.code, 2);
  assert.match(r3.err, /--out DIR is required/);
  // an empty folder is fine
  const empty = path.join(tmp, 'empty');
  fs.mkdirSync(empty);
  const r4 = kiln(['build', 'zoo:mlp', '--backend', 'ref', '--pipeline', 'dce', '--out', empty]);
  assert.is(r4.code, 0, r4.err);
  assert.ok(fs.existsSync(path.join(empty, 'manifest.json')));
});

test('symbolic input dims must be bound: the error names them and --dim; bound, the build goes through', () => {
  const file = path.join(tmp, 'sym.kir');
  fs.writeFileSync(file, 'kiln.graph @g(%x: f32[N,4]) -> (%0: f32[N,4]) {\n  %0 = Relu(%x) : f32[N,4]\n  return %0\n}\n');
  const r = kiln(['build', file, '--backend', 'ref', '--out', path.join(tmp, 'sym-out')]);
  assert.is(r.code, 1);
  assert.match(r.err, /kiln build needs concrete sizes/);
  assert.match(r.err, /--dim N=<size>/);
  assert.not.ok(fs.existsSync(path.join(tmp, 'sym-out')), 'nothing written');
  const ok = kiln(['build', file, '--backend', 'ref', '--dim', 'N=2', '--pipeline', 'dce', '--out', path.join(tmp, 'sym-out')]);
  assert.is(ok.code, 0, ok.err);
  assert.match(fs.readFileSync(path.join(tmp, 'sym-out', 'kernels.kir'), 'utf8'), /f32\[8\]/);
  assert.ok(readManifest(path.join(tmp, 'sym-out')).hashes.modelFile, 'a model file is hashed');
});

(findNvcc() ? test : test.skip)('--backend cuda --arch sm_90 builds without a GPU: CUDA, PTX per kernel, the cubin and ptxas figures, tensor cores in f16 (zoo:bert)', () => {
  const out = path.join(tmp, 'cuda');
  // nvcc on all of bert is the longest single command of the suite, which runs several test processes at
  // once: its hang deadline is 10 minutes, not runKiln's default 2 (a busy machine passed 2 minutes)
  const r = runKiln(['build', 'zoo:bert', '--backend', 'cuda', '--arch', 'sm_90', '--target', 'cuda', '--quiet', '--out', out], { env, timeoutMs: 600_000 });
  assert.is(r.code, 0, r.err);
  const m = readManifest(out);
  assert.is(m.backend, 'cuda (sm_90, built without a device)');
  const files = listFiles(out);
  assert.ok(files.includes('backend/ptxas.txt') && files.some((f) => /^backend\/.*\.sm_90\.cubin$/.test(f)), files.join('\n'));
  const ptx = files.filter((f) => /^backend\/k\d+_\w+\.sm_90\.ptx$/.test(f));
  assert.ok(ptx.length > 0, 'per-kernel PTX');
  assert.match(fs.readFileSync(path.join(out, ptx[0]), 'utf8'), /^\.version [0-9.]+\n\.target sm_90/);
  assert.match(fs.readFileSync(path.join(out, 'backend/ptxas.txt'), 'utf8'), /^ptxas -v for sm_90:/);
  const cu = files.filter((f) => f.endsWith('.cu')).map((f) => fs.readFileSync(path.join(out, f), 'utf8')).join('\n');
  assert.match(cu, 'mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32', 'the f16 products of bert on tensor cores');
  const bad = kiln(['build', 'zoo:mlp', '--backend', 'cpu', '--arch', 'sm_90', '--out', path.join(tmp, 'cpu-arch')]);
  assert.is(bad.code, 2);
  assert.match(bad.err, "--arch builds a GPU backend's program without its device; backend 'cpu' builds for this machine only");
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
