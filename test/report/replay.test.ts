/**
 * Report replay (compiler/report/replay.ts): a replay of a zoo:mlp report (cpu and ref, two timed runs)
 * reproduces every step's IR hash, the inputs and the outputs, links back to the original and records
 * `replayOf`; a step whose recorded IR was changed (the .kir and its hashes edited consistently) is named
 * with the node that differs; an output file edited the same way is outside tolerance; an edited page is
 * only noted, a changed IR file without a matching hash is fatal; a backend that cannot run here is
 * skipped and named without failing the replay; a model file that is gone is replaced
 * by the report's own ir/000_input.kir; a missing or garbled manifest is a KilnError naming the file
 * and the field.
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
import { encodeTensor, readTensorFile } from '../../compiler/import/onnx/tensor-proto.ts';
import { Tensor } from '../../compiler/ir/tensor.ts';
import { readKirFile } from '../../compiler/ir/kir-file.ts';
import { printGraph } from '../../compiler/ir/print.ts';
import { zooModel } from '../../compiler/zoo/index.ts';
import { exportOnnx } from '../../compiler/import/onnx/export.ts';
import { findBackend } from '../../compiler/runtime/backends.ts';
import { replayReport, type ReplayResult } from '../../compiler/report/replay.ts';
import type { ReportManifest } from '../../compiler/report/index.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-replay-'));
const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const backends = findCCompiler() ? ['cpu', 'ref'] : ['ref']; // no C compiler: the cpu backend cannot prepare here
const orig = path.join(tmp, 'mlp');
let replay: ReplayResult;
const progress: string[] = [];

const readManifest = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as ReportManifest & Record<string, any>;
const writeManifest = (dir: string, m: unknown) => fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m, null, 2));
/** The error `f` rejects with (fails when it resolves). */
async function rejection(f: () => Promise<unknown>): Promise<Error> {
  try {
    await f();
  } catch (e) {
    return e as Error;
  }
  assert.unreachable('expected a rejection');
  throw new Error('unreachable');
}
/** A copy of the original report to tamper with. */
function copy(name: string): string {
  const dir = path.join(tmp, name);
  fs.cpSync(orig, dir, { recursive: true });
  return dir;
}
/** Rewrites `file` of report `dir` and its sha256 everywhere the manifest lists it. */
function rewrite(dir: string, file: string, bytes: Uint8Array | string, edit: (m: any) => void = () => {}) {
  fs.writeFileSync(path.join(dir, file), bytes);
  const m = readManifest(dir);
  const h = sha(bytes);
  for (const f of m.files) if (f.path === file) (f as any).sha256 = h;
  for (const b of m.backends) for (const o of b.outputs) if (o.path === file) (o as any).sha256 = h;
  edit(m);
  writeManifest(dir, m);
}

test.before(async () => {
  const s = Session.load('zoo:mlp');
  await s.report(orig, { backends, repeat: 2 });
  await s.close();
  replay = await replayReport(orig, { onProgress: (label) => progress.push(label) });
});
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('a replay of an unchanged report reproduces every step hash, the inputs and the outputs', () => {
  const c = replay.comparison;
  const m = readManifest(orig);
  assert.is(replay.out, `${orig}-replay`, 'default folder: DIR-replay beside DIR');
  assert.is(c.modelFrom, 'zoo');
  assert.is(c.steps.length, m.steps.length);
  assert.is(c.stepsSame, m.steps.length);
  assert.equal(c.steps.map((st) => st.replayed), m.steps.map((st) => st.irSha256));
  assert.ok(c.inputsSame);
  assert.ok(c.outputsOk);
  assert.ok(c.ok);
  // the baseline and every backend's outputs were compared (mlp has one output)
  assert.equal(c.outputs.map((o) => o.run), ['ref (baseline)', ...backends]);
  assert.ok(c.outputs.every((o) => o.maxAbsError !== undefined && o.mismatched === 0));
  assert.equal(c.timings.map((t) => t.run), ['ref (baseline)', ...backends]);
  for (const t of c.timings) {
    assert.is(t.replayed!.runs, 2);
    assert.ok(t.replayed!.minMs <= t.replayed!.medianMs && t.replayed!.medianMs <= t.replayed!.maxMs);
    assert.is(t.ratio, t.replayed!.medianMs / t.recorded.medianMs);
  }
  assert.match(replay.verdict, /^replay reproduced the report: IR hashes identical: 11 of 11 steps; inputs identical; outputs within tolerance/);
  assert.ok(progress.includes('verifying the report folder') && progress.includes('comparing with the original'));
});

test("the replay's folder is a full report with replayOf, the comparison tables and a link to the original", () => {
  const m = readManifest(replay.out);
  assert.equal(m.replayOf, { path: '../mlp', manifestSha256: sha(fs.readFileSync(path.join(orig, 'manifest.json'))) });
  assert.is(m.replay.ok, true);
  assert.is(m.replay.stepsSame, m.steps.length);
  assert.equal(m.run, readManifest(orig).run, 'the recorded run options');
  for (const name of ['replay_steps', 'replay_outputs', 'replay_timings']) {
    assert.ok(m.tables.some((t: { name: string }) => t.name === name), name);
    const t = tableFromIPC(fs.readFileSync(path.join(replay.out, `tables/${name}.arrow`)));
    assert.ok(t.numRows > 0, name);
  }
  const steps = tableFromIPC(fs.readFileSync(path.join(replay.out, 'tables/replay_steps.arrow')));
  assert.equal([...steps.getChild('same')!].every(Boolean), true);
  const html = fs.readFileSync(path.join(replay.out, 'report.html'), 'utf8');
  assert.ok(html.indexOf('<section id="replay">') < html.indexOf('<section id="headline">'), 'the replay section comes first');
  assert.match(html, /href="\.\.\/mlp\/report\.html"/);
  assert.match(html, /href="\.\.\/mlp\/manifest\.json"/);
  assert.match(html, /IR hashes identical: 11 of 11 steps/);
  // the link resolves to the original page
  assert.ok(fs.existsSync(path.resolve(replay.out, '../mlp/report.html')));
});

test('a changed step IR (the .kir and its hashes edited consistently) names the step and the node that differs', async () => {
  const dir = copy('ir-changed');
  const file = 'ir/002_simplify.kir';
  const text = fs.readFileSync(path.join(dir, file), 'utf8');
  const edited = text.replace(/%3 = Relu\(%2\)/, '%3 = Sigmoid(%2)');
  assert.is.not(edited, text, 'the step has the Relu this test edits');
  fs.writeFileSync(path.join(dir, file), edited);
  const ir = printGraph(readKirFile(path.join(dir, file)));
  rewrite(dir, file, edited, (m) => { m.steps[2].irSha256 = sha(ir); });
  const r = await replayReport(dir);
  const c = r.comparison;
  assert.not.ok(c.ok);
  assert.is(c.stepsSame, c.steps.length - 1, 'only step 2 differs');
  assert.equal(c.steps.filter((st) => !st.same).map((st) => st.index), [2]);
  assert.is(c.firstMismatch?.index, 2);
  assert.is(c.firstMismatch?.pass, 'simplify');
  assert.match(c.firstMismatch!.detail, /^node %3 differs in op/);
  assert.ok(c.outputsOk, 'the outputs still match: only the recorded IR was edited');
  assert.match(r.verdict, /^replay differs: IR hashes identical: 10 of 11 steps \(first mismatch: step 2 simplify: node %3 differs in op/);
  assert.is(readManifest(r.out).replay.firstMismatch.index, 2);
});

test('an output file edited consistently is outside tolerance; the verdict names the backend', async () => {
  const dir = copy('out-changed');
  const b = backends[0];
  const file = `outputs/${b}/output_0.pb`;
  const t = readTensorFile(path.join(dir, file));
  const data = Float32Array.from(t.data as Float32Array);
  data[0] += 1;
  rewrite(dir, file, encodeTensor(new Tensor('f32', t.shape, data), 'logits'));
  const r = await replayReport(dir);
  assert.not.ok(r.comparison.ok);
  assert.not.ok(r.comparison.outputsOk);
  assert.is(r.comparison.stepsSame, r.comparison.steps.length);
  const bad = r.comparison.outputs.filter((o) => !o.ok);
  assert.equal(bad.map((o) => o.run), [b]);
  assert.ok(bad[0].maxAbsError! > 0.9 && bad[0].mismatched === 1);
  assert.match(r.verdict, new RegExp(`OUTPUTS OUTSIDE TOLERANCE: ${b}$`));
});

test('an edited page is noted, a changed IR file or a missing output is fatal and named', async () => {
  const page = copy('page-edited');
  fs.appendFileSync(path.join(page, 'report.html'), '<!-- edited -->');
  const r = await replayReport(page);
  assert.ok(r.comparison.ok);
  assert.equal(r.comparison.changedFiles, ['report.html']);

  const ir = copy('ir-edited');
  fs.appendFileSync(path.join(ir, 'ir/003_fold-constants.kir'), '\n');
  const e = await rejection(() => replayReport(ir));
  assert.instance(e, KilnError);
  assert.match(e.message, /ir\/003_fold-constants\.kir: ir\/003_fold-constants\.kir is changed since the report was written/);
  assert.not.ok(fs.existsSync(`${ir}-replay`), 'nothing written');

  const gone = copy('output-gone');
  fs.rmSync(path.join(gone, 'outputs/ref_step0/output_0.pb'));
  assert.match((await rejection(() => replayReport(gone))).message, /outputs\/ref_step0\/output_0\.pb is missing or unreadable/);
});

test('a backend that cannot run here (cuda without a GPU) is skipped and said so; the replay still passes', async () => {
  if ((await findBackend('cuda')!.available()).ok) return void console.log('replay.test.ts: cuda runs here; the skipped-backend case needs a machine without it');
  const dir = copy('cuda');
  const m = readManifest(dir);
  const entry = m.backends.find((b) => b.asked === 'ref')!;
  Object.assign(entry, { asked: 'cuda', backend: 'cuda' }); // as a report made on a GPU machine records it
  writeManifest(dir, m);
  const warnings: string[] = [];
  const r = await replayReport(dir, { onWarning: (w) => warnings.push(w) });
  assert.ok(r.comparison.ok, r.verdict);
  assert.equal(r.comparison.skippedBackends, ['cuda']);
  const row = r.comparison.outputs.find((o) => o.run === 'cuda')!;
  assert.match(row.skipped!, /^cuda cannot run here \(ref ran instead\)/);
  assert.is(r.comparison.timings.find((t) => t.run === 'cuda')!.replayed, undefined);
  assert.match(r.verdict, /; not compared \(cannot run here\): cuda$/);
  assert.ok(warnings.some((w) => /running on the reference backend/.test(w)), warnings.join('\n'));
});

test('a model file that is gone: the replay loads the report\'s ir/000_input.kir and reproduces', async () => {
  const model = path.join(tmp, 'net.onnx');
  fs.writeFileSync(model, exportOnnx(zooModel('mlp')));
  const dir = path.join(tmp, 'file-model');
  const s = Session.load(model);
  await s.report(dir, { backends: ['ref'], repeat: 1, warmup: 0 });
  await s.close();
  const here = await replayReport(dir, { out: path.join(tmp, 'file-model-here') });
  assert.is(here.comparison.modelFrom, 'file');
  assert.ok(here.comparison.ok, here.verdict);
  fs.rmSync(model);
  const r = await replayReport(dir, { out: path.join(tmp, 'file-model-gone') });
  assert.is(r.comparison.modelFrom, 'report-ir');
  assert.ok(r.comparison.ok, r.verdict);
});

test('a missing or garbled manifest, or a refused --out, is a KilnError naming the file and the field', async () => {
  const cases: [string, (dir: string) => void, RegExp][] = [
    ['no-manifest', (d) => fs.rmSync(path.join(d, 'manifest.json')), /manifest\.json: cannot read report manifest/],
    ['not-json', (d) => fs.writeFileSync(path.join(d, 'manifest.json'), '{"kiln": "report", '), /manifest\.json: manifest\.json is not valid JSON/],
    ['not-report', (d) => writeManifest(d, { ...readManifest(d), kiln: 'build' }), /manifest field 'kiln' must be "report"/],
    ['format', (d) => writeManifest(d, { ...readManifest(d), format: 2 }), /manifest field 'format' is 2; this kiln reads format 1/],
    ['no-repeat', (d) => { const m = readManifest(d); delete (m.run as any).repeat; writeManifest(d, m); }, /manifest field 'run\.repeat' is missing or malformed/],
    ['bad-hash', (d) => { const m = readManifest(d); (m.steps[4] as any).irSha256 = 'xyz'; writeManifest(d, m); }, /manifest field 'steps\[4\]\.irSha256' is missing or malformed \(got "xyz"\)/],
  ];
  for (const [name, spoil, want] of cases) {
    const dir = copy(name);
    spoil(dir);
    const e = await rejection(() => replayReport(dir));
    assert.instance(e, KilnError, name);
    assert.match(e.message, want, name);
    assert.ok(e.message.startsWith(path.join(dir, 'manifest.json')), `${name}: ${e.message}`);
  }
  const full = path.join(tmp, 'full');
  fs.mkdirSync(full);
  fs.writeFileSync(path.join(full, 'keep'), 'x');
  assert.match((await rejection(() => replayReport(orig, { out: full }))).message, /--out exists and is not empty; kiln report --replay writes a new folder/);
});

test.run();
