/**
 * The example notebooks (notebooks/*.ipynb) executed by Debian's nbconvert against the installed kiln
 * kernel (`/usr/bin/python3 -m nbconvert --to notebook --execute --ExecutePreprocessor.kernel_name=kiln`,
 * kernelspec in a temp prefix), then their OUTPUTS checked cell by cell (cells are found by their
 * nbformat id): the IR text, HTML tables (row counts), the Arrow stream every table carries
 * (decoded with apache-arrow), diffs with fused nodes, numeric checks, the memory SVG and the timing
 * table; for 04, the compiled cpu run against the reference run and per-kernel timings with GFLOP/s and
 * % of peak; for 05, the webgpu run against the reference run, the kernel table with dispatch sizes and
 * the WGSL of a tiled convolution; for 06, a report of zoo:mlp written from TypeScript and with %report:
 * its headline table (HTML and Arrow, numbers equal to the manifest's), the folder's files with their
 * sizes, the manifest's steps against a fresh Session's IR hashes, and the %report progress bar. The
 * kernels get TMPDIR inside the temp Jupyter folder, so the notebooks' temp folders go with it.
 * Without --allow-errors, any failing cell fails the run; after each run no kernel process is left. The notebooks are committed without outputs; that is checked too.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { tableFromIPC } from 'apache-arrow';
import { type JupyterEnv, PYTHON, REPO_ROOT, jupyterEnv, killEverything, processesMentioning, run, waitGone } from '../kernel-jupyter/harness.ts';
import { zooModel } from '../../compiler/zoo/index.ts';
import { Session } from '../../compiler/session.ts';
import { sha256Hex } from '../../compiler/files.ts';
import { findCCompiler } from '../../compiler/runtime/native/c-compiler.ts';
import { webgpuDevice } from '../../compiler/runtime/webgpu/device.ts';
import { type Cell, Executed, column, expectedHeadline, filesUnder, headlineRows, htmlRows } from './executed.ts';

const NOTEBOOKS = path.join(REPO_ROOT, 'notebooks');

let env: JupyterEnv;
let outDir: string;

test.before(async () => {
  env = await jupyterEnv();
  env.env.KILN_CACHE_DIR = path.join(env.root, 'kiln-cache'); // 04 compiles C: objects and the peak probe stay in the temp folder
  env.env.TMPDIR = path.join(env.root, 'tmp'); // the notebooks' temp folders (01's .onnx, 06's report) go with the env
  fs.mkdirSync(env.env.TMPDIR);
  outDir = path.join(env.root, 'executed');
  fs.mkdirSync(outDir);
});

test.after(async () => {
  await killEverything();
  env?.dispose();
});

/** Executes notebooks/NAME.ipynb with nbconvert and reads the executed copy. */
async function execute(name: string): Promise<Executed> {
  const r = await run(PYTHON, ['-m', 'nbconvert', '--to', 'notebook', '--execute', '--ExecutePreprocessor.kernel_name=kiln',
    '--ExecutePreprocessor.timeout=120', '--output-dir', outDir, path.join(NOTEBOOKS, `${name}.ipynb`)], {
    env: env.env, cwd: NOTEBOOKS, timeoutMs: 180_000,
  });
  assert.not.ok(r.timedOut, `${name} timed out\n${r.stderr.slice(-4000)}`);
  assert.is(r.code, 0, `${name} failed\n${r.stderr.slice(-4000)}`);
  // nbconvert shut its kernel down: nothing started from the temp Jupyter folder is left
  assert.equal(await waitGone(processesMentioning(env.root), 5000), [], `${name}: a kernel outlived nbconvert`);
  const nb = JSON.parse(fs.readFileSync(path.join(outDir, `${name}.ipynb`), 'utf8')) as { cells: Cell[] };
  const errors = nb.cells.flatMap((c) => (c.outputs ?? []).filter((o) => o.output_type === 'error').map((o) => `${c.id}: ${o.ename}: ${o.evalue}`));
  assert.equal(errors, []);
  return new Executed(name, nb);
}

test('the notebooks are committed without outputs and use the kiln kernel', () => {
  const names = fs.readdirSync(NOTEBOOKS).filter((f) => f.endsWith('.ipynb')).sort();
  assert.ok(names.length >= 4, `${names}`);
  for (const n of names) {
    const nb = JSON.parse(fs.readFileSync(path.join(NOTEBOOKS, n), 'utf8'));
    assert.is(nb.metadata.kernelspec.name, 'kiln', n);
    assert.is(nb.nbformat, 4);
    for (const c of nb.cells as Cell[]) {
      assert.ok(/^[A-Za-z0-9_-]{1,64}$/.test(c.id), `${n}: cell id '${c.id}'`);
      if (c.cell_type !== 'code') continue;
      assert.equal(c.outputs, [], `${n}: cell '${c.id}' has outputs`);
      assert.is(c.execution_count, null, `${n}: cell '${c.id}' has an execution count`);
    }
  }
});

test('01-import-and-ir: zoo model, IR text, node table, exported .onnx imported back', async () => {
  const nb = await execute('01-import-and-ir');
  assert.match(nb.text('zoo-names'), /'resnet50'.*'mlp'/s);
  assert.match(nb.text('load-mlp'), /session zoo:mlp \(graph mlp\)/);
  assert.match(nb.text('load-mlp'), /current graph: 5 nodes, 6 constants/);

  const ir = nb.result('ir-mlp');
  assert.match(ir['text/plain'], /kiln\.graph @mlp\(%input: f32\[1,784\]\) -> \(%logits: f32\[1,10\]\) \{/);
  assert.is((ir['text/plain'].match(/= Gemm\(/g) ?? []).length, 3);
  assert.is((ir['text/plain'].match(/= Relu\(/g) ?? []).length, 2);
  assert.match(ir['text/html'], /kiln\.graph/);
  assert.match(ir['text/html'], /@mlp/);

  const nodes = nb.result('nodes-mlp');
  assert.is(htmlRows(nodes['text/html']), 5);
  const t = nb.arrow('nodes-mlp');
  assert.is(t.numRows, 5);
  assert.equal(column(t, 'op'), ['Gemm', 'Relu', 'Gemm', 'Relu', 'Gemm']);
  assert.match(nb.text('gemm-shapes'), /'Gemm: f32\[1,10\]'/);

  const mobilenet = zooModel('mobilenetv2', { seed: 0 });
  const n = mobilenet.nodes.length;
  const convs = mobilenet.nodes.filter((x) => x.op === 'Conv').length;
  assert.match(nb.text('export-onnx'), /wrote mobilenetv2\.onnx: \d+\.\d\d MiB/);
  assert.match(nb.text('load-onnx'), /\(graph mobilenetv2\)/);
  assert.match(nb.text('load-onnx'), new RegExp(`current graph: ${n} nodes`));
  assert.match(nb.text('ir-onnx-head'), /^kiln\.graph @mobilenetv2\(%input: f32\[1,3,224,224\]\) -> \(%output: f32\[1,1000\]\) \{/);
  assert.is(htmlRows(nb.result('nodes-onnx')['text/html']), n);
  assert.is(nb.arrow('nodes-onnx').numRows, n);
  const ops = nb.arrow('ops-onnx');
  const counts = new Map(column(ops, 'op').map((op, i) => [op as string, Number(column(ops, 'count')[i])]));
  assert.is([...counts.values()].reduce((a, b) => a + b, 0), n);
  assert.is(counts.get('Conv'), convs);
  assert.is(htmlRows(nb.result('ops-onnx')['text/html']), counts.size);
});

test('02-stepping-passes: steps with diffs, numeric checks, decisions, fusions, history, branch', async () => {
  const nb = await execute('02-stepping-passes');
  const nodes0 = zooModel('mobilenetv2', { seed: 0 }).nodes.length;
  assert.match(nb.text('pipeline'), /▶ +0 {2}load/);
  // fold-conv-bn removes every BatchNormalization; the diff shows them going
  const fold = nb.text('stepto-fold');
  assert.match(fold, new RegExp(`step 5/10 fold-conv-bn: ${nodes0} → (\\d+) nodes, [\\d.]+ ms; numerics ok`));
  const diffFold = nb.result('diff-fold')['text/plain'];
  assert.match(diffFold, /^--- step 4 \(cse\)$/m);
  assert.match(diffFold, /^\+\+\+ step 5 \(fold-conv-bn\)$/m);
  assert.ok((diffFold.match(/^-\s+%\S+ = BatchNormalization\(/gm) ?? []).length > 0, diffFold.slice(0, 2000));
  assert.not.match(diffFold, /^\+\s+%\S+ = BatchNormalization\(/m);
  assert.match(nb.text('check-fold'), /step 5 \(fold-conv-bn\) against step 0: max abs error [\d.e+-]+, max rel error [\d.e+-]+\s+within tolerance/);
  // fuse-conv-act: the diff shows fused kiln.conv nodes
  const fuse = nb.result('step-fuse')['text/plain'];
  assert.match(fuse, /step 7\/10 fuse-conv-act: \d+ → \d+ nodes/);
  assert.ok((fuse.match(/^\+\s+%\S+ = kiln\.conv\(/gm) ?? []).length > 0, fuse.slice(0, 2000));
  const changes = nb.arrow('diff-fuse');
  assert.ok(changes.numRows > 0);
  assert.ok(column(changes, 'after').some((v) => String(v).includes('kiln.conv(')));
  const decisions = nb.arrow('decisions');
  const passes = column(decisions, 'pass');
  const bnCount = zooModel('mobilenetv2', { seed: 0 }).nodes.filter((x) => x.op === 'BatchNormalization').length;
  assert.is(passes.filter((p) => p === 'fold-conv-bn').length, bnCount);
  assert.ok(passes.includes('fuse-conv-act'));
  assert.ok(column(nb.arrow('fusions'), 'op').includes('kiln.conv'));
  // history: steps 0..7, the cursor at 7
  const history = nb.arrow('history');
  assert.equal(column(history, 'step').map(Number), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.is(column(history, 'at')[7], '▶');
  assert.is(htmlRows(nb.result('history')['text/html']), 8);
  assert.match(nb.text('back'), /back 2 steps; now at:\s+step 5\/10 fold-conv-bn/);
  assert.match(nb.text('back'), /▶ +5 {2}fold-conv-bn/);
  // branch and compare
  const cmp = nb.result('branch')['text/plain'];
  assert.match(cmp, /^a: step 10, \d+ nodes/m);
  assert.match(cmp, /^b: step 7, \d+ nodes, .*pipeline .*fold-conv-bn,mixed-precision,dce$/m);
  const both = nb.arrow('branch-check');
  assert.is(both.numRows, 2);
  const err = column(both, 'max_rel_error').map(Number);
  assert.ok(err[0] < 1e-5, `fused error ${err[0]}`);
  assert.ok(err[1] > 1e-5 && err[1] < 0.1, `f16 error ${err[1]}`);
  assert.equal(column(both, 'within_tolerance'), [true, false]);
});

test('03-memory-and-timings: memory plan with its SVG timeline, per-node timings', async () => {
  const nb = await execute('03-memory-and-timings');
  assert.match(nb.text('runall'), /step 10\/10 dce/);
  for (const id of ['mem', 'mem-step0']) {
    const mem = nb.result(id);
    assert.match(mem['text/plain'], /peak\s+[\d.]+ [KMG]?i?B\s+= [\d.]+ x lower bound/);
    const svg = mem['image/svg+xml'];
    assert.ok(svg, `${id}: no SVG`);
    assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    const [, tensors, aliases] = /(\d+) tensors \((\d+) alias/.exec(mem['text/plain'])!.map(Number);
    // one rectangle per tensor with its own arena space (aliases share their source's), plus the frame
    const rects = (svg.match(/<rect\b/g) ?? []).length;
    assert.ok(rects > tensors - aliases, `${id}: ${rects} rects for ${tensors} tensors, ${aliases} aliases`);
    // the Arrow stream is the timeline: one row per tensor
    assert.is(nb.arrow(id).numRows, tensors);
    assert.match(mem['text/html'], /<svg/);
  }
  assert.match(nb.result('mem')['text/plain'], /at step 10 \(dce\)/);
  assert.match(nb.result('mem-step0')['text/plain'], /at step 0 \(load\)/);
  // timings: one row per node in the "by node" Arrow table, bars in the SVG
  const nodes = Number(/current graph: (\d+) nodes/.exec(nb.text('load-mobilenet'))![1]);
  const timing = nb.result('timings');
  assert.match(timing['text/plain'], new RegExp(`zoo:mobilenetv2 at step 10 \\(dce\\): ${nodes} nodes, median run [\\d.]+ ms`));
  assert.match(timing['text/plain'], /time by op/);
  const t = nb.arrow('timings');
  assert.is(t.numRows, nodes);
  const ms = column(t, 'ms').map(Number);
  assert.ok(ms.every((x) => x >= 0) && ms.some((x) => x > 0));
  assert.ok((timing['image/svg+xml'].match(/<rect\b/g) ?? []).length > 1);
  assert.ok(htmlRows(timing['text/html']) > 0);
  assert.match(nb.text('run'), /on the reference executor/);
  assert.match(nb.text('run'), /output\s+f32\s+\[1,1000\]/);
});

/** The outputs table of a `%run` cell: statistics of each output by column name. */
function outputStats(nb: Executed, id: string): Record<string, number>[] {
  const t = nb.arrow(id);
  return Array.from({ length: t.numRows }, (_, i) => Object.fromEntries(['mean', 'std', 'min', 'max'].map((c) => [c, Number(column(t, c)[i])])));
}

const hasCc = findCCompiler() !== undefined;
if (!hasCc) console.log('notebooks.test.ts: no C compiler found (CC, cc, gcc, clang): skipping 04-compiled-cpu');

(hasCc ? test : test.skip)('04-compiled-cpu: a compiled run that matches the reference, per-kernel timings with GFLOP/s, %source and %kir of a kernel', async () => {
  const nb = await execute('04-compiled-cpu');
  assert.match(nb.text('runall'), /step 10\/10 dce/);
  // the compiled graph: mobilenetv2 after the default pipeline, as the notebook's %runall leaves it
  const session = Session.load('zoo:mobilenetv2', { numericCheck: false });
  const nodes = session.run().graph.nodes.length;
  // the compiled run and the reference run of the same step and seed: same output statistics
  assert.match(nb.text('run-cpu'), /zoo:mobilenetv2 at step 10 \(dce\): [\d.]+ ms on generated C compiled by the system compiler/);
  assert.match(nb.text('run-cpu'), /output\s+f32\s+\[1,1000\]/);
  assert.match(nb.text('run-ref'), /on the reference executor/);
  const cpu = outputStats(nb, 'run-cpu'), ref = outputStats(nb, 'run-ref');
  assert.is(cpu.length, 1);
  for (const k of ['mean', 'std', 'min', 'max']) {
    const [a, b] = [cpu[0][k], ref[0][k]];
    assert.ok(Number.isFinite(a) && Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b)), `${k}: cpu ${a}, ref ${b}`);
  }
  // element by element, as the notebook computes it
  const cmp = /cpu vs ref: 1000 values, max abs error ([\d.e+-]+), relative to max \|ref\| ([\d.e+-]+)/.exec(nb.text('compare'));
  assert.ok(cmp, nb.text('compare'));
  assert.ok(Number(cmp[2]) < 1e-4, `relative error ${cmp[2]}`);
  // timings: one row per node of the compiled graph, kernels with GFLOP/s and % of the measured peak
  const timing = nb.result('timings-cpu');
  const text = timing['text/plain'];
  assert.match(text, /zoo:mobilenetv2 at step 10 \(dce\): (\d+) nodes, median run [\d.]+ ms over 3 runs/);
  assert.match(text, /gflop_per_s\s+pct_of_peak/);
  const t = nb.arrow('timings-cpu');
  const rows = Number(/: (\d+) nodes, median run/.exec(text)![1]);
  assert.is(rows, nodes);
  assert.is(t.numRows, rows);
  const ops = column(t, 'op'), ms = column(t, 'ms').map(Number), gflops = column(t, 'gflop_per_s'), peak = column(t, 'pct_of_peak');
  assert.ok(ms.every((x) => x >= 0) && ms.filter((x) => x > 0).length >= rows / 2, `${ms}`);
  // the cpu pipeline runs convolutions channels-last (kiln.conv_nhwc, kiln.conv_epilogue_nhwc)
  const convs = ops.map((op, i) => i).filter((i) => /^(Conv|kiln\.conv(_nhwc|_epilogue_nhwc)?)$/.test(String(ops[i])));
  assert.ok(convs.length > 10, `${convs.length} convolutions`);
  for (const i of convs) {
    assert.ok(Number(gflops[i]) > 0, `node ${i}: GFLOP/s ${gflops[i]}`);
    // a share of the peak probed on this machine: above 100 when the probe ran while the machine was busy
    // (its peak measured low; the suite runs several test processes at once), so only its presence is
    // checked, not its size (a timing, not a test), as test/repl/compiled.test.ts does
    assert.ok(Number(peak[i]) > 0, `node ${i}: % of peak ${peak[i]}`);
  }
  assert.ok(htmlRows(timing['text/html']) > 0);
  assert.ok((timing['image/svg+xml'].match(/<rect\b/g) ?? []).length > 1);
  // %source and %kir of the conv named by its ONNX node: BatchNormalization folded, ReLU6 fused as the epilogue
  const conv = '/features/features.2/conv/conv.0/conv.0.0/Conv';
  const src = nb.text('source');
  assert.match(src, new RegExp(`source of %\\S+ kiln\\.conv_epilogue_nhwc \\(ONNX ${conv}, `));
  assert.match(src, /\bvoid\s+\w+\s*\(/);
  assert.match(src, /\? 6\.0f :/, 'the clip to 6 in the same kernel');
  const kir = nb.text('kir');
  assert.match(kir, new RegExp(`kernel IR of %\\S+ kiln\\.conv_epilogue_nhwc \\(ONNX ${conv}, `));
  assert.match(kir, /select\(gt\(\w+, 6\), 6, \w+\)/);
  // the program's artifacts by kind, the whole-program ones by name
  const arts = nb.text('artifacts');
  assert.match(arts, /^\d+ artifacts: \d+ source, \d+ command, \d+ log, \d+ binary, \d+ ir/m);
  assert.match(arts, /^command: command\.txt$/m);
  assert.match(arts, /^binary: \S+\.so$/m);
});

const adapter = await webgpuDevice();
if (!adapter.ok) console.log(`notebooks.test.ts: skipping 05-webgpu: ${adapter.reason}`);

(adapter.ok ? test : test.skip)('05-webgpu: the fused graph on the WebGPU adapter matches the reference, per-dispatch timings with dispatch sizes, the WGSL of a tiled conv', async () => {
  const nb = await execute('05-webgpu');
  assert.match(nb.text('stepto'), /fuse-elementwise/);
  assert.match(nb.text('run-webgpu'), /zoo:mobilenetv2 at step 9 \(fuse-elementwise\): [\d.]+ ms on generated WGSL on WebGPU/);
  assert.match(nb.text('run-webgpu'), /output\s+f32\s+\[1,1000\]/);
  const gpu = outputStats(nb, 'run-webgpu'), ref = outputStats(nb, 'run-ref');
  for (const k of ['mean', 'std', 'min', 'max']) {
    const [a, b] = [gpu[0][k], ref[0][k]];
    assert.ok(Number.isFinite(a) && Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b)), `${k}: webgpu ${a}, ref ${b}`);
  }
  const cmp = /webgpu vs ref: 1000 values, max abs error ([\d.e+-]+), relative to max \|ref\| ([\d.e+-]+)/.exec(nb.text('compare'));
  assert.ok(cmp, nb.text('compare'));
  assert.ok(Number(cmp[2]) < 1e-4, `relative error ${cmp[2]}`);
  // node timings: one row per node, the chart; the kernel table: every dispatch with its nodes, ONNX nodes, size and device time
  const timing = nb.result('timings-webgpu');
  assert.match(timing['text/plain'], /zoo:mobilenetv2 at step 9 \(fuse-elementwise\): \d+ nodes, median run [\d.]+ ms over 3 runs/);
  assert.ok((timing['image/svg+xml'].match(/<rect\b/g) ?? []).length > 1);
  const k = nb.arrow('kernels');
  assert.ok(k.numRows >= 50, `${k.numRows} kernels`);
  const dispatch = column(k, 'dispatch'), ms = column(k, 'ms').map(Number), onnx = column(k, 'onnx');
  assert.ok(dispatch.every((d) => /^\[\d+,\d+,\d+\]x\[\d+,\d+,\d+\]$/.test(String(d))), `${dispatch.slice(0, 5)}`);
  assert.ok(ms.every((x) => Number.isFinite(x) && x >= 0) && ms.some((x) => x > 0));
  assert.ok(onnx.some((o) => [...(o as Iterable<string>)].some((n) => n.endsWith('/Conv'))), 'kernels name their ONNX nodes');
  assert.ok(column(k, 'runs_on').every((r) => r === 'webgpu'), 'no host fallback');
  // the WGSL of the tiled 1x1 conv with its fused clip
  const src = nb.text('source');
  assert.match(src, /source of %\S+ kiln\.conv_epilogue_nhwc \(ONNX \/features\/features\.2\/conv\/conv\.0\/conv\.0\.0\/Conv, /);
  assert.match(src, /@compute @workgroup_size\(256, 1, 1\)/);
  assert.match(src, /var<workgroup> \w+: array<f32, \d+>;/);
  assert.match(src, /workgroupBarrier\(\);/);
  assert.match(src, /6\.0f/, 'the ReLU6 clip in the same kernel');
  assert.match(nb.text('adapter'), /\(software|hardware\); features: /);
  assert.match(nb.text('adapter'), /^\d+ WGSL artifacts$/m);
});

const MAGIC_REPORT = path.join(NOTEBOOKS, 'mlp-report'); // where the notebook's `%report mlp-report` writes (gitignored)

test('06-report: a report of zoo:mlp from session.report and %report; the headline table inline, the files, the manifest', async () => {
  const nb = await execute('06-report');
  try {
    assert.match(nb.text('load'), /session zoo:mlp \(graph mlp\)/);
    assert.match(nb.text('step'), /step 2\/10 simplify/);
    assert.equal(column(nb.arrow('step'), 'step').map(Number), [0, 1, 2]);

    // session.report into a temp folder (TMPDIR is inside the Jupyter env); the cursor stays at step 2
    const said = /report folder: (\S+)\n(\d+) files; the session is still at step 2\n/.exec(nb.text('report'));
    assert.ok(said, nb.text('report'));
    const dir = said[1];
    assert.ok(dir.startsWith(env.env.TMPDIR! + path.sep), dir);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    assert.equal(manifest.backends.map((b: any) => b.asked), ['ref', 'cpu']);
    assert.is(manifest.run.repeat, 3);
    assert.is(manifest.model.ref, 'zoo:mlp');

    // the headline: an HTML table with one row per backend, memory and nodes, and its Arrow stream
    // with exactly the manifest's numbers
    const headline = nb.result('headline');
    const want = expectedHeadline(manifest);
    assert.is(want.length, 4);
    assert.is(htmlRows(headline['text/html']), want.length);
    for (const r of want) assert.ok(headline['text/html'].includes(r.metric), `no '${r.metric}' in the HTML`);
    assert.match(headline['text/plain'], /^headline: before and after/);
    const rows = headlineRows(nb.arrow('headline'));
    assert.equal(rows, want);
    for (const r of rows.filter((x) => x.unit === 'ms')) assert.ok(r.before > 0 && r.after > 0, `${r.metric}: ${r.before}, ${r.after}`);
    assert.ok(rows[2].after > 0 && rows[2].after <= rows[2].before, 'planned peak within naive');
    assert.equal([rows[3].before, rows[3].after], [5, 3]);
    // the same table in the folder
    assert.equal(headlineRows(tableFromIPC(fs.readFileSync(path.join(dir, 'tables', 'headline.arrow')))), want);

    // the files table: every file of the folder with its size on disk
    const files = nb.arrow('files');
    const paths = column(files, 'path').map(String), bytes = column(files, 'bytes').map(Number);
    assert.is(htmlRows(nb.result('files')['text/html']), paths.length);
    assert.equal([...paths].sort(), filesUnder(dir));
    assert.is(Number(said[2]), paths.length);
    paths.forEach((p, i) => assert.is(bytes[i], fs.statSync(path.join(dir, p)).size, p));
    for (const p of ['report.html', 'manifest.json', 'ir/000_input.kir', 'ir/weights.safetensors', 'tables/headline.arrow']) assert.ok(paths.includes(p), `no ${p}`);
    const tables = paths.filter((p) => /^tables\/[\w-]+\.arrow$/.test(p));
    assert.equal(tables.sort(), manifest.tables.map((t: any) => t.file).sort());
    assert.ok(tables.length >= 8, `${tables}`);
    assert.match(fs.readFileSync(path.join(dir, 'report.html'), 'utf8'), /^<!doctype html>/i);

    // the manifest's steps: every step of the pipeline, with the IR hash of a fresh session's step
    const fresh = Session.load('zoo:mlp', { numericCheck: false });
    fresh.run();
    assert.is(manifest.steps.length, fresh.length + 1);
    manifest.steps.forEach((st: any, k: number) => {
      assert.is(st.index, k);
      assert.is(st.pass, k === 0 ? manifest.steps[0].pass : fresh.pipelineEntries[k - 1].pass);
      assert.is(st.irSha256, sha256Hex(fresh.ir(k)), `step ${k} (${st.pass})`);
      assert.is(st.nodes, fresh.graph(k).nodes.length);
      assert.ok(fs.existsSync(path.join(dir, st.file)), st.file);
    });
    const steps = nb.arrow('manifest');
    assert.equal(column(steps, 'index').map(Number), manifest.steps.map((s: any) => s.index));
    assert.equal(column(steps, 'pass'), manifest.steps.map((s: any) => s.pass));
    assert.equal(column(steps, 'ir_sha256'), manifest.steps.map((s: any) => s.irSha256.slice(0, 16)));
    assert.is(nb.result('open')['text/plain'], `'${pathToFileURL(path.join(dir, 'report.html')).href}'`);

    // %report: the progress bar (one display, updated in place) ends at "wrote the report", the
    // printed line, the headline as the result (ref only), the folder next to the notebook
    const bundles = nb.bundles('report-magic');
    assert.match(bundles[0]['text/plain'], /^wrote the report to mlp-report \[█+\] 100%$/);
    assert.match(bundles[0]['text/html'], /<progress [^>]*value="1\.0000"/);
    const magic = JSON.parse(fs.readFileSync(path.join(MAGIC_REPORT, 'manifest.json'), 'utf8'));
    assert.match(nb.text('report-magic'), new RegExp(`^wrote ${magic.files.length + 1} files to mlp-report; open mlp-report/report\\.html$`, 'm'));
    assert.equal(magic.backends.map((b: any) => b.backend), ['ref']);
    assert.equal([magic.run.repeat, magic.run.warmup, magic.run.seed], [1, 1, 0]);
    assert.equal(magic.steps.map((s: any) => s.irSha256), manifest.steps.map((s: any) => s.irSha256));
    const mh = nb.result('report-magic');
    assert.is(htmlRows(mh['text/html']), 3);
    assert.equal(headlineRows(nb.arrow('report-magic')), expectedHeadline(magic));
  } finally {
    fs.rmSync(MAGIC_REPORT, { recursive: true, force: true });
  }
});

test.run();
