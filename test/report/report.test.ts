/**
 * Optimization reports (compiler/report through Session.report): a report of zoo:mlp on the cpu and
 * ref backends is a folder whose manifest tells the truth about every file, whose Arrow tables read
 * back with apache-arrow, whose IR files and step hashes are the session's IR, whose page holds every
 * section and cannot make a request, and whose outputs are the backends' outputs on the stored inputs.
 * A non-empty folder is refused before any work and left as it was.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { tableFromIPC } from 'apache-arrow';
import { Session } from '../../compiler/session.ts';
import { KilnError } from '../../compiler/errors.ts';
import { findCCompiler } from '../../compiler/runtime/native/c-compiler.ts';
import { readValueFile } from '../../compiler/import/onnx/tensor-proto.ts';
import { valueDistance } from '../../compiler/runtime/compare.ts';
import { SECTIONS } from '../../compiler/report/html.ts';
import { zooModel } from '../../compiler/zoo/index.ts';
import { exportOnnx } from '../../compiler/import/onnx/export.ts';
import { readKirFile } from '../../compiler/ir/kir-file.ts';
import { printGraph } from '../../compiler/ir/print.ts';
import type { ReportManifest, WrittenReport } from '../../compiler/report/index.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-report-'));
const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const backends = findCCompiler() ? ['cpu', 'ref'] : ['ref']; // no C compiler: the cpu backend cannot prepare here

let session: Session;
let written: WrittenReport;
const out = path.join(tmp, 'mlp');
const progress: string[] = [];

function listFiles(dir: string, base = ''): string[] {
  return fs.readdirSync(path.join(dir, base), { withFileTypes: true }).flatMap((e) => {
    const rel = base ? `${base}/${e.name}` : e.name;
    return e.isDirectory() ? listFiles(dir, rel) : [rel];
  }).sort();
}

const manifest = () => JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as ReportManifest;

test.before(async () => {
  session = Session.load('zoo:mlp');
  session.goto(2);
  written = await session.report(out, { backends, repeat: 2, onProgress: (label) => progress.push(label) });
});
test.after(async () => {
  await session.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('every file the manifest lists is there with its size and sha256, and nothing else is', () => {
  const m = manifest();
  const listed = m.files.map((f) => f.path).sort();
  assert.equal([...listed, 'manifest.json'].sort(), listFiles(out));
  for (const f of m.files) {
    const bytes = fs.readFileSync(path.join(out, f.path));
    assert.is(bytes.length, f.bytes, f.path);
    assert.is(sha(bytes), f.sha256, f.path);
  }
  assert.is(m.kiln, 'report');
  assert.is(m.model.ref, 'zoo:mlp');
  assert.equal(m.model.zoo, { name: 'mlp', seed: 0 });
  assert.is(m.pipeline, session.pipelineText);
  assert.equal(m.backends.map((b) => b.asked), backends);
  assert.equal(m.run, { seed: 0, repeat: 2, warmup: 1, threads: null, tuning: null });
  assert.ok(m.backends.every((b) => b.runMs.length === 2), 'two timed runs per backend');
  assert.match(m.machine.node as string, /^v\d+/);
});

test('the IR file (with the weights sidecar) and hash of each step are the session IR of that step; the cursor is where it was', () => {
  const m = manifest();
  assert.is(session.current, 2, 'the report leaves the cursor alone');
  assert.is(m.steps.length, session.length + 1);
  m.steps.forEach((st, k) => {
    assert.is(st.index, k);
    assert.is(st.irSha256, sha(session.ir(k)), `step ${k}`);
    // the .kir links to the shared sidecar and loads back to the same graph
    assert.match(fs.readFileSync(path.join(out, st.file), 'utf8'), /kiln\.weights "weights\.safetensors" sha256 #[0-9a-f]{64}/, st.file);
    assert.is(printGraph(readKirFile(path.join(out, st.file))), session.ir(k), st.file);
    assert.is(st.pass, k === 0 ? 'load' : session.pipelineEntries[k - 1].pass);
  });
  assert.is(m.model.inputIrSha256, sha(session.ir(0)));
  assert.equal(m.weights, { path: 'ir/weights.safetensors', sha256: sha(fs.readFileSync(path.join(out, 'ir/weights.safetensors'))) });
});

test('every table is an Arrow IPC file that apache-arrow reads back with its columns', () => {
  const m = manifest();
  const names = m.tables.map((t) => t.name);
  for (const want of ['headline', 'backends', 'runs', 'model_ops', 'passes', 'decisions', 'fusions', 'memory_timeline']) assert.ok(names.includes(want), want);
  for (const b of backends) assert.ok(names.includes(`timings_${b}_nodes`) && names.includes(`timings_${b}_ops`), b);
  for (const t of m.tables) {
    const bytes = fs.readFileSync(path.join(out, t.file));
    assert.is(bytes.subarray(0, 6).toString('latin1'), 'ARROW1', `${t.file} is the IPC file format (magic), not a stream`);
    const table = tableFromIPC(bytes);
    assert.equal(table.schema.fields.map((f) => f.name), t.columns, t.name);
    assert.is(table.numRows, t.rows, t.name);
  }
  const headline = tableFromIPC(fs.readFileSync(path.join(out, 'tables/headline.arrow')));
  assert.equal(headline.schema.fields.map((f) => f.name), ['metric', 'before', 'after', 'unit', 'change']);
  const rows = headline.toArray().map((r) => r.toJSON() as { metric: string; before: number; after: number });
  const plan = session.memory(session.length);
  const memRow = rows.find((r) => r.metric.startsWith('activation memory'))!;
  assert.equal([memRow.before, memRow.after], [plan.naiveBytes, plan.peakBytes]);
  const nodeRow = rows.find((r) => r.metric.startsWith('nodes'))!;
  assert.equal([nodeRow.before, nodeRow.after], [session.graph(0).nodes.length, session.graph(session.length).nodes.length]);
  assert.is(rows.filter((r) => r.metric.startsWith('latency')).length, backends.length);
  const passes = tableFromIPC(fs.readFileSync(path.join(out, 'tables/passes.arrow')));
  assert.is(passes.numRows, session.length + 1);
  assert.ok(passes.getChild('max_rel_error')!.toArray().every((x: number | null) => x !== null), 'every step has its numeric check');
});

test('report.html has every section and cannot make a request', () => {
  const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
  for (const id of SECTIONS) assert.ok(html.includes(`<section id="${id}">`), id);
  assert.not.match(html, /<script\b/i, 'no script');
  assert.not.match(html, /<link\b/i, 'no link element');
  assert.not.match(html, /<(img|iframe|object|embed)\b/i, 'no embedded resource');
  assert.not.match(html, /url\(/i, 'no CSS url()');
  assert.not.match(html, /@import/i);
  const refs = [...html.matchAll(/\b(?:src|href)\s*=\s*["']([^"']*)["']/gi)].map((x) => x[1]);
  assert.ok(refs.length > 10, `${refs.length} links`);
  for (const r of refs) {
    assert.not.match(r, /^(?:[a-z][a-z0-9+.-]*:|\/\/|\/)/i, `${r}: no scheme, no network or absolute path`);
    if (!r.startsWith('#')) assert.ok(fs.existsSync(path.join(out, decodeURI(r))), `${r} is a file of the report`);
  }
  assert.ok(html.includes('<svg'), 'the charts are inline SVG');
  assert.match(html, /kiln\.gemm/, 'the fusion map names the fused op');
  for (const b of backends) assert.ok(html.includes(`roofline of ${b}`), `a roofline chart for ${b}`);
});

test('the stored outputs are each backend\'s outputs on the stored inputs', async () => {
  const m = manifest();
  const inputs = new Map(m.inputs.map((i) => [i.name, readValueFile(path.join(out, i.path))]));
  for (const b of m.backends) {
    const r = await session.execute({ backend: b.asked, step: session.length, inputs });
    b.outputs.forEach((o, k) => {
      const stored = readValueFile(path.join(out, o.path));
      const d = valueDistance(stored, r.timing.outputs[k]);
      assert.ok(d.abs <= 1e-5 * Math.max(1, d.scale), `${b.asked} ${o.name}: ${d.abs}`);
    });
  }
  assert.equal(written.files.map((f) => f.path).sort(), listFiles(out));
});

test('progress names each phase', () => {
  const text = progress.join('\n');
  assert.match(text, /pass 1\//);
  assert.match(text, /planning memory/);
  for (const b of backends) assert.match(text, new RegExp(`${b} on step \\d+: run 1/2`));
  assert.match(text, /writing the report/);
});

test('a model file is recorded by its sha256, with its shape bindings', async () => {
  const file = path.join(tmp, 'net.onnx');
  fs.writeFileSync(file, exportOnnx(zooModel('mlp')));
  const s = Session.load(file, { shapes: { input: [1, 784] } });
  try {
    const dir = path.join(tmp, 'file-report');
    await s.report(dir, { backends: ['ref'], repeat: 1, warmup: 0 });
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as ReportManifest;
    assert.is(m.model.ref, file);
    assert.is(m.model.fileSha256, sha(fs.readFileSync(file)));
    assert.is(m.model.zoo, null);
    assert.equal(m.bindings, { shapes: { input: [1, 784] }, dims: {} });
    assert.equal(m.run, { seed: 0, repeat: 1, warmup: 0, threads: null, tuning: null });
  } finally {
    await s.close();
  }
});

test('a folder that is not empty is refused before any work and left as it was', async () => {
  const full = path.join(tmp, 'full');
  fs.mkdirSync(full);
  fs.writeFileSync(path.join(full, 'keep.txt'), 'mine');
  const s = Session.load('zoo:mlp');
  try {
    let seen: unknown;
    await s.report(full, { backends: ['ref'], repeat: 1 }).catch((e) => { seen = e; });
    assert.instance(seen, KilnError);
    assert.match((seen as Error).message, /not empty/);
    assert.equal(fs.readdirSync(full), ['keep.txt']);
    assert.is(s.current, 0, 'nothing ran');
    assert.is(s.history.length, 1, 'no step was computed');
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, 'x');
    await s.report(file, { backends: ['ref'] }).then(() => assert.unreachable(), (e) => assert.match((e as Error).message, /not a folder/));
    await s.report(path.join(tmp, 'x'), { backends: ['nope'] }).then(() => assert.unreachable(), (e) => assert.match((e as Error).message, /unknown backend 'nope'/));
    assert.not.ok(fs.existsSync(path.join(tmp, 'x')));
  } finally {
    await s.close();
  }
});

test.run();
