/**
 * Optimization reports: `writeReport(session, dir, opts)` gathers everything (collect.ts), renders
 * report.html (html.ts) and writes the folder, all or nothing (compiler/files.ts `writeFilesAtomic`;
 * `dir` must not exist or be an empty folder, checked before any work). `kiln report`,
 * `Session.report` and `%report` all come here.
 *
 * The folder:
 *   report.html                      the page (self-contained, offline)
 *   manifest.json                    what was run, on what, and every file's sha256 (manifest.ts)
 *   tables/<name>.arrow              every table the page shows, Arrow IPC file format
 *   ir/NNN_<pass>.kir                the IR after each step (000_input.kir is the loaded model), each
 *                                    linking to ir/weights.safetensors (compiler/ir/kir-file.ts)
 *   ir/weights.safetensors           every weight of every step, once, named by content hash
 *   inputs/input_<k>.pb              the seeded inputs every run got (TensorProto, as `kiln run --inputs` reads)
 *   outputs/ref_step0/output_<k>.pb  the reference executor's outputs on the loaded model (the baseline)
 *   outputs/<backend>/output_<k>.pb  each backend's outputs on the final graph
 *   sources/<backend>/<file>         what each backend generated (sources, compiler command and log, kernel IR)
 */
import type { Session } from '../session.ts';
import { type NamedFile, checkOutFolder, safeFileName, sha256Hex as sha256, writeFilesAtomic } from '../files.ts';
import { encodeValue } from '../import/onnx/tensor-proto.ts';
import { valueTypes } from '../ir/graph.ts';
import type { Value } from '../ir/value.ts';
import type { Graph } from '../ir/graph.ts';
import { kirFiles } from '../ir/kir-file.ts';
import type { ResultTable } from '../results/table.ts';
import { collectReport } from './collect.ts';
import { reportHTML } from './html.ts';
import { machineFacts } from './machine.ts';
import { type ReportManifest, buildManifest, reportPaths } from './manifest.ts';
import type { ReportData, ReportOptions } from './model.ts';

export type { ReportOptions, ReportData } from './model.ts';
export { DEFAULT_REPORT_BACKENDS } from './model.ts';
export type { ReportManifest } from './manifest.ts';

/** What `writeReport` wrote. */
export interface WrittenReport {
  /** The report folder as given. */
  readonly dir: string;
  /** Every file written (manifest.json included) with its size and sha256. */
  readonly files: readonly { readonly path: string; readonly bytes: number; readonly sha256: string }[];
  /** The headline before/after table. */
  readonly headline: ResultTable;
  readonly manifest: ReportManifest;
  /** Everything the report shows. */
  readonly data: ReportData;
}

/**
 * More for a report, made from its data once it is gathered and before anything is written (a
 * replay's comparison, replay.ts): a section shown first on the page, tables written beside the
 * report's own (`tables/<name>.arrow`, listed in the manifest) and fields added to manifest.json.
 */
export interface ReportAddendum {
  readonly lead: { readonly id: string; readonly html: string };
  readonly tables: ReadonlyMap<string, ResultTable>;
  readonly manifest: Readonly<Record<string, unknown>>;
}

/** The folder name of the baseline's outputs (the reference executor on step 0). */
export const BASELINE_OUTPUTS = 'ref_step0';

/** Value files of `graph`'s outputs (or inputs) under `paths`. */
function valueFiles(graph: Graph, names: readonly string[], values: readonly Value[], path: (k: number) => string): NamedFile[] {
  const types = valueTypes(graph);
  return values.map((v, k) => [path(k), encodeValue(v, types.get(names[k]), names[k])] as const);
}

/** Writes a report of `s` into `dir` (see the module header). */
export async function writeReport(s: Session, dir: string, opts: ReportOptions = {},
  addendum?: (data: ReportData) => ReportAddendum): Promise<WrittenReport> {
  checkOutFolder(dir, 'a report');
  const collected = await collectReport(s, opts);
  const extra = addendum?.(collected);
  const data: ReportData = extra ? { ...collected, tables: new Map([...collected.tables, ...extra.tables]) } : collected;
  opts.onProgress?.('writing the report', 0);
  const files: NamedFile[] = [];
  // each step's .kir links to one shared weights sidecar (tensors by content hash, so a weight
  // unchanged across steps is stored once)
  const irFiles = data.steps.map((st) => reportPaths.ir(st.index, st.pass));
  files.push(...kirFiles(data.steps.map((st, k) => ({ path: irFiles[k], graph: s.graph(st.index) })), reportPaths.weights));
  const inputNames = [...data.baseline.inputs.keys()];
  files.push(...valueFiles(data.graph0, inputNames, inputNames.map((n) => data.baseline.inputs.get(n)!), reportPaths.input));
  const outputFiles = new Map<string, string[]>();
  const addOutputs = (key: string, folder: string, graph: Graph, values: readonly Value[]) => {
    const named = valueFiles(graph, graph.outputs, values, (k) => reportPaths.output(folder, k));
    files.push(...named);
    outputFiles.set(key, named.map(([p]) => p));
  };
  addOutputs('baseline', BASELINE_OUTPUTS, data.graph0, data.baseline.outputs);
  for (const b of data.backends) addOutputs(b.asked, safeFileName(b.asked), data.final, b.outputs);
  for (const b of data.backends) for (const src of b.sources) files.push([src.path, src.content]);
  for (const [name, t] of data.tables) files.push([reportPaths.table(name), t.toIPC()]);
  opts.onProgress?.('measuring the machine (peak, bandwidth; cached per CPU)', undefined);
  const machine = await machineFacts(data.options.threads, data.backends.map((b) => b.backend));
  opts.onProgress?.('writing the report', 0.5);
  const createdAt = new Date().toISOString();
  files.push(['report.html', reportHTML({ data, irFiles, machine, createdAt, ...(extra ? { lead: extra.lead } : {}) })]);
  const manifest = { ...buildManifest({ data, session: s.options, machine, irFiles, outputFiles, files }), createdAt, ...extra?.manifest };
  const manifestText = JSON.stringify(manifest, null, 2) + '\n';
  files.push(['manifest.json', manifestText]);
  writeFilesAtomic(dir, files, { what: 'the report folder' });
  opts.onProgress?.('wrote the report', 1);
  return {
    dir, headline: data.headline, manifest, data,
    files: files.map(([p, x]) => ({ path: p, bytes: typeof x === 'string' ? Buffer.byteLength(x) : x.length, sha256: sha256(x) })),
  };
}
