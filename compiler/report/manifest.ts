/**
 * manifest.json of a report folder: everything needed to run the report again and to check that
 * nothing in the folder changed. Replay (`kiln report --replay DIR`) reads only this file.
 *
 * Format (version 1; every path is relative to the report folder, every sha256 is lowercase hex of
 * the file's bytes or, for `irSha256`, of the UTF-8 IR text):
 *   kiln            "report"
 *   format          1
 *   kilnVersion     package version;  gitCommit: the commit of the kiln checkout (null when unknown)
 *   createdAt       ISO time the report was written
 *   command         argv as given (`["report", "zoo:mlp", "--out", "r"]`), null from the API
 *   model           { ref, fileSha256 (an .onnx/.kir file's bytes; null for a zoo model or a graph),
 *                     zoo: { name, seed } for zoo:NAME (null otherwise), inputIrSha256 (step 0's IR) }
 *   bindings        { shapes: {INPUT: [sizes]}, dims: {NAME: size} } as loaded (--shape/--dim)
 *   pipeline        canonical pipeline text;  target: the target the passes saw
 *   numericCheck    { rtol, atol, seed, skipped: reason or null } of the per-step check against step 0
 *   run             { seed, repeat, warmup, threads (null: all cores), tuning (null: the backend's default) }
 *   inputs          [{ name, path: "inputs/input_<k>.pb", sha256 }] the seeded inputs every run got
 *   baseline        { backend, step: 0, medianMs, runMs: [...], outputs: [{ name, path, sha256 }] }
 *   backends        [{ asked, backend (what ran), threads, tuning, repeat, warmup, prepareMs, medianMs,
 *                      runMs: [...], maxRelError (vs the baseline's outputs), fallbacks: [node ids],
 *                      outputs: [{ name, path: "outputs/<backend>/output_<k>.pb", sha256 }],
 *                      sources: [paths under sources/<backend>/] }]
 *   weights         { path: "ir/weights.safetensors", sha256 } the one safetensors sidecar every step's
 *                   .kir links to (tensors named by content hash; compiler/ir/kir-file.ts)
 *   steps           [{ index, pass, file: "ir/NNN_<pass>.kir" (000_input.kir is step 0), irSha256 (of the
 *                      canonical IR text `Session.ir(k)`, not of the file, which adds the weights link
 *                      and loads with `loadModel`/`readKirFile`), nodes, check: { maxAbsError,
 *                      maxRelError, ok } or null }]
 *   memory          { planner, peakBytes, lowerBoundBytes, naiveBytes }
 *   tables          [{ name, file: "tables/<name>.arrow", title, rows, columns: [names] }]
 *   machine         compiler/runtime/machine.ts MachineInfo: { os: { platform, release, arch, distro },
 *                     node, kiln: { version, commit, dirty }, cpu: { model, arch, cores, isa, f32Lanes,
 *                     fma, flags }, peakGflops and bandwidthGBs: { value, threads, source } or null,
 *                     compiler: { argv, version } or null, gpus: [CUDA devices (name, arch, memoryBytes,
 *                     driver); the WebGPU adapter when webgpu ran], notes }
 *   files           [{ path, bytes, sha256 }] every file of the folder except manifest.json itself
 */
import path from 'node:path';
import type { NamedFile } from '../files.ts';
import { readRegularFile, sha256Hex as sha256 } from '../files.ts';
import { isZooRef } from '../zoo/index.ts';
import { KilnError } from '../errors.ts';
import type { SessionOptions } from '../session.ts';
import { dumpFileName } from '../passes/instruments.ts';
import type { ReportData } from './model.ts';
import type { MachineFacts } from './machine.ts';

/** The manifest format version this module writes. */
export const MANIFEST_FORMAT = 1;

/** Paths of the files a report writes for values and IR (one home for the layout). */
export const reportPaths = {
  input: (k: number) => `inputs/input_${k}.pb`,
  output: (backend: string, k: number) => `outputs/${backend}/output_${k}.pb`,
  table: (name: string) => `tables/${name}.arrow`,
  ir: (step: number, pass: string) => `ir/${dumpFileName(step, step === 0 ? 'input' : pass)}`,
  weights: 'ir/weights.safetensors',
};

/** What the manifest needs besides the report data. */
export interface ManifestInput {
  readonly data: ReportData;
  readonly session: SessionOptions;
  readonly machine: MachineFacts;
  /** The IR file of each step, by index. */
  readonly irFiles: readonly string[];
  /** Output files of the baseline (key `baseline`) and each backend (key: its asked name), in output order. */
  readonly outputFiles: ReadonlyMap<string, readonly string[]>;
  /** Every file written besides the manifest. */
  readonly files: readonly NamedFile[];
}

/** The manifest object (see the module header). */
export function buildManifest(m: ManifestInput) {
  const { data: d } = m;
  const bytes = new Map(m.files.map(([p, x]) => [p, x]));
  const fileRef = (p: string) => ({ path: p, sha256: sha256(bytes.get(p)!) });
  const named = (paths: readonly string[], names: readonly string[]) => paths.map((p, k) => ({ name: names[k], ...fileRef(p) }));
  const ref = d.source;
  const zoo = isZooRef(ref);
  return {
    kiln: 'report',
    format: MANIFEST_FORMAT,
    kilnVersion: m.machine.kilnVersion,
    gitCommit: m.machine.gitCommit,
    createdAt: new Date().toISOString(),
    command: d.options.argv ?? null,
    model: {
      ref,
      fileSha256: !zoo && /\.(onnx|kir)$/i.test(ref) ? sha256(readRegularFile(path.resolve(ref), 'model')) : null,
      zoo: zoo ? { name: ref.slice('zoo:'.length), seed: m.session.zoo?.seed ?? 0 } : null,
      inputIrSha256: sha256(d.steps[0].ir),
    },
    bindings: { shapes: m.session.shapes ?? {}, dims: m.session.dims ?? {} },
    pipeline: d.pipeline,
    target: d.target,
    numericCheck: { rtol: d.tolerance.rtol, atol: d.tolerance.atol, seed: d.tolerance.seed, skipped: d.checkSkipped ?? null },
    run: { seed: d.options.seed, repeat: d.options.repeat, warmup: d.options.warmup, threads: d.options.threads ?? null, tuning: d.options.tuning ?? null },
    inputs: named([...d.baseline.inputs.keys()].map((_, k) => reportPaths.input(k)), [...d.baseline.inputs.keys()]),
    baseline: {
      backend: d.baseline.backend, step: 0, medianMs: d.baseline.medianMs, runMs: d.baseline.runMs,
      outputs: named(m.outputFiles.get('baseline') ?? [], d.graph0.outputs),
    },
    backends: d.backends.map((b) => ({
      asked: b.asked, backend: b.backend, threads: d.options.threads ?? null, tuning: d.options.tuning ?? null,
      repeat: d.options.repeat, warmup: d.options.warmup, prepareMs: b.prepareMs, medianMs: b.timings.totalMs, runMs: b.timings.runMs,
      maxRelError: Number.isFinite(b.maxRelError) ? b.maxRelError : null, fallbacks: b.fallbacks.map((u) => u.node ?? u.op),
      outputs: named(m.outputFiles.get(b.asked) ?? [], d.final.outputs),
      sources: b.sources.map((x) => x.path),
    })),
    weights: fileRef(reportPaths.weights),
    steps: d.steps.map((st, k) => ({
      index: st.index, pass: st.pass, file: m.irFiles[k], irSha256: sha256(st.ir), nodes: st.nodesAfter,
      check: st.check ? { maxAbsError: st.check.maxAbsError, maxRelError: st.check.maxRelError, ok: st.check.ok } : null,
    })),
    memory: { planner: d.memory.summary.planner, peakBytes: d.memory.summary.peakBytes, lowerBoundBytes: d.memory.summary.lowerBoundBytes, naiveBytes: d.memory.summary.naiveBytes },
    tables: [...d.tables].map(([name, t]) => ({ name, file: reportPaths.table(name), title: t.title, rows: t.numRows, columns: t.columnNames })),
    machine: m.machine.manifest,
    files: m.files.map(([p, x]) => ({ path: p, bytes: typeof x === 'string' ? Buffer.byteLength(x) : x.length, sha256: sha256(x) })),
  };
}

/** The manifest's type, for readers (replay). */
export type ReportManifest = ReturnType<typeof buildManifest>;

/** A check of one manifest field. */
type FieldCheck = (v: unknown) => boolean;
const isStr: FieldCheck = (v) => typeof v === 'string';
const isNum: FieldCheck = (v) => typeof v === 'number' && Number.isFinite(v);
const isHex: FieldCheck = (v) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const orNull = (f: FieldCheck): FieldCheck => (v) => v === null || f(v);

/**
 * Reads and checks `dir/manifest.json` (format 1, the module header): a KilnError naming the file and
 * the first field that is missing or of the wrong kind. Only the fields a replay uses are checked.
 */
export function readManifest(dir: string): { manifest: ReportManifest; text: Buffer; file: string } {
  const file = path.join(dir, 'manifest.json');
  const text = readRegularFile(file, 'report manifest');
  let m: unknown;
  try {
    m = JSON.parse(text.toString('utf8'));
  } catch (e) {
    throw new KilnError(`manifest.json is not valid JSON (${(e as Error).message}); is this a kiln report folder?`, { file });
  }
  const bad = (field: string, want: string) => new KilnError(`manifest field '${field}' ${want}`, { file });
  if (!isObj(m)) throw bad('(top level)', 'must be an object');
  if (m.kiln !== 'report') throw bad('kiln', `must be "report" (got ${JSON.stringify(m.kiln) ?? 'nothing'}); not a kiln report manifest`);
  if (m.format !== MANIFEST_FORMAT) throw bad('format', `is ${JSON.stringify(m.format) ?? 'missing'}; this kiln reads format ${MANIFEST_FORMAT}`);
  const at = (root: unknown, field: string): unknown => field.split('.').reduce<unknown>((o, k) => (isObj(o) ? o[k] : undefined), root);
  const need = (root: unknown, prefix: string, fields: Record<string, FieldCheck | 'object' | 'array'>) => {
    for (const [f, check] of Object.entries(fields)) {
      const v = at(root, f);
      const ok = check === 'object' ? isObj(v) : check === 'array' ? Array.isArray(v) : check(v);
      if (!ok) throw bad(prefix + f, check === 'object' ? 'must be an object' : check === 'array' ? 'must be a list' : `is missing or malformed (got ${JSON.stringify(v) ?? 'nothing'})`);
    }
  };
  need(m, '', {
    'model': 'object', 'model.ref': isStr, 'model.fileSha256': orNull(isHex), 'bindings.shapes': 'object', 'bindings.dims': 'object',
    'pipeline': isStr, 'target': isStr, 'numericCheck.rtol': isNum, 'numericCheck.atol': isNum, 'numericCheck.seed': isNum,
    'run.seed': isNum, 'run.repeat': isNum, 'run.warmup': isNum, 'run.threads': orNull(isNum), 'run.tuning': orNull(isStr),
    'inputs': 'array', 'baseline.runMs': 'array', 'baseline.outputs': 'array', 'backends': 'array', 'steps': 'array', 'files': 'array',
  });
  const zoo = at(m, 'model.zoo');
  if (zoo !== null) need(m, '', { 'model.zoo.name': isStr, 'model.zoo.seed': isNum });
  const fileRef = { path: isStr, sha256: isHex };
  const list = (name: string, fields: Record<string, FieldCheck | 'array'>) =>
    (at(m, name) as unknown[]).forEach((x, k) => need(x, `${name}[${k}].`, fields));
  list('inputs', { name: isStr, ...fileRef });
  list('baseline.outputs', { name: isStr, ...fileRef });
  list('files', fileRef);
  list('steps', { index: isNum, pass: isStr, file: isStr, irSha256: isHex });
  list('backends', { asked: isStr, backend: isStr, runMs: 'array', outputs: 'array' });
  (m.backends as Record<string, unknown>[]).forEach((b, k) => (b.outputs as unknown[]).forEach((x, j) => need(x, `backends[${k}].outputs[${j}].`, { name: isStr, ...fileRef })));
  return { manifest: m as unknown as ReportManifest, text, file };
}
