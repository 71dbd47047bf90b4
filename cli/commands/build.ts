/**
 * `kiln build MODEL [--backend B] [--pipeline P] [--target T] [--threads N] [--arch SM] [--tf32] [--quiet] --out DIR`
 *
 * Writes every stage's artifacts of a model to a new folder, without running it. The model is loaded
 * (with --shape/--dim bindings) into a Session, the pipeline runs (default: the target's default
 * pipeline; no numeric check, since nothing runs), and the last snapshot is prepared on the backend
 * (default cpu) through the Session's artifacts (compiler/session-artifacts.ts, the API `kiln opt
 * --emit` and `%source` read). The folder holds:
 *   ir/NNN_<pass>.kir      the IR after each step (names as `kiln opt --dump-dir` writes them)
 *   plan.json, plan.txt    the memory plan of the final graph
 *   kernels.kir            the kernel IR program lowered in the plan's order (the compiler stage, as
 *                          `kiln opt --emit kernel` prints it); kernels/<kernel>.kir one file per kernel
 *   backend/<name>         what the backend built (Program.artifacts): sources, compiler command and
 *                          log, the kernel IR it compiled, the binary copied from the object cache
 *   manifest.json          model, hashes, backend, pipeline, target, threads, CPU, C compiler, the
 *                          nodes run on reference kernels inside the program (fallbacks), and
 *                          every file with its kind, size, sha256 and the IR node ids and ONNX
 *                          provenance it belongs to
 * `--arch sm_XY` builds a GPU backend's program for that architecture without its device (cuda:
 * lowering, nvcc, PTX, cubin and ptxas's figures; Backend.build) — on a machine with no GPU, or for
 * another GPU than this one; `--tf32` lets f32 matrix products use tf32 tensor cores (cuda).
 * It is written atomically as a folder (compiler/files.ts `writeFilesAtomic`): all or nothing. --out
 * must not exist or be an empty folder; anything else is an error naming it. A backend that cannot
 * run here (no C compiler) is replaced by the reference backend with a note on stderr (backends.ts
 * `useBackend`), and the manifest names the backend that built. Long compiles show
 * progress on a terminal (cli/progress.ts; --quiet turns it off).
 */
import path from 'node:path';
import { SHAPE_OPTIONS, UsageError, choiceOption, numberOption, parseCommand, pipelineOption, shapeBindings } from '../args.ts';
import { Session } from '../../compiler/session.ts';
import { planText } from '../../compiler/session-artifacts.ts';
import { nodeId, type Graph } from '../../compiler/ir/graph.ts';
import { printKernel } from '../../compiler/codegen/print.ts';
import { TARGETS, defaultPipeline } from '../../compiler/passes/all.ts';
import { dumpFileName } from '../../compiler/passes/instruments.ts';
import { backendNames } from '../../compiler/runtime/backends.ts';
import { findBackend } from '../../compiler/runtime/backend.ts';
import type { Artifact, DeviceInfo, Unsupported } from '../../compiler/runtime/backend.ts';
import { compilerFacts, cpuFacts } from '../../compiler/runtime/machine.ts';
import { type FileData, type NamedFile, checkOutFolder, readRegularFile, safeFileName, sha256Hex as sha256, uniqueName, writeFilesAtomic } from '../../compiler/files.ts';
import { requireStaticShapes } from '../../compiler/ops/bind-shapes.ts';
import { terminalProgress } from '../progress.ts';

/** What a file of the build folder is, in manifest.json. */
type FileKind = Artifact['kind'] | 'plan-text' | 'kernel-ir';

interface BuildFile {
  readonly path: string;
  readonly kind: FileKind;
  readonly data: FileData;
  readonly nodes?: readonly string[];
}

export async function buildCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(argv, {
    backend: { type: 'string' },
    pipeline: { type: 'string' },
    target: { type: 'string' },
    threads: { type: 'string' },
    out: { type: 'string' },
    arch: { type: 'string' },
    tf32: { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
    ...SHAPE_OPTIONS,
  }, [1, 1], ['MODEL']);
  if (values.out === undefined) throw new UsageError('--out DIR is required (a new or empty folder for the artifacts)');
  const out = values.out;
  const backend = choiceOption(values.backend, 'backend', backendNames(), 'cpu');
  const target = choiceOption(values.target, 'target', TARGETS, 'cpu');
  const threads = values.threads === undefined ? undefined : numberOption(values.threads, 'threads', 1, { integer: true, min: 1, max: 4096 });
  const arch = values.arch;
  if (arch !== undefined && !/^sm_\d+a?$/.test(arch)) throw new UsageError(`--arch must be an architecture such as sm_80 or sm_90, got '${arch}'`);
  if (arch !== undefined && !findBackend(backend)?.build) throw new UsageError(`--arch builds a GPU backend's program without its device; backend '${backend}' builds for this machine only`);
  const pipeline = values.pipeline ?? defaultPipeline(target);
  pipelineOption(pipeline); // a bad pipeline is a usage error
  checkOutFolder(out);

  const model = positionals[0];
  const session = Session.load(model, { ...(await shapeBindings(values)), target, pipeline, numericCheck: false });
  try {
    requireStaticShapes(session.graph(0), 'kiln build'); // names the symbolic dims and --shape/--dim
    session.run();
    const art = session.artifacts();
    const graph = art.graph;
    const files: BuildFile[] = session.history.map((st) => ({
      path: `ir/${dumpFileName(st.index, st.index === 0 ? 'input' : st.pass)}`, kind: 'ir', data: session.ir(st.index),
    }));
    const plan = art.plan();
    files.push({ path: 'plan.json', kind: 'plan', data: art.stage('plan').text }, { path: 'plan.txt', kind: 'plan-text', data: planText(plan) });
    const kernelIr = art.stage('kernel', 'kiln build');
    files.push({ path: 'kernels.kir', kind: 'kernel-ir', data: kernelIr.text, nodes: graph.nodes.map(nodeId) });
    for (const k of art.kernels().program.kernels) files.push({ path: `kernels/${k.name}.kir`, kind: 'kernel-ir', data: printKernel(k), nodes: k.nodes });

    const progress = values.quiet ? undefined : terminalProgress(process.stderr);
    let prepared: { backend: string; program: { artifacts: readonly Artifact[]; prepareMs: number; fallbacks?: readonly Unsupported[]; device?: DeviceInfo } };
    try {
      prepared = arch !== undefined
        ? await (async () => {
          const built = await findBackend(backend)!.build!(graph, plan, { arch, tf32: values.tf32, onProgress: progress?.update });
          return { backend: `${built.backend} (${built.target}, built without a device)`, program: built };
        })()
        : await art.compiled({ backend, threads, ...(values.tf32 ? { tf32: true } : {}), onPrepare: progress?.update, onWarning: (m) => console.error(`note: ${m}`) });
    } finally {
      progress?.done();
    }
    const used = new Set<string>();
    for (const a of prepared.program.artifacts) {
      const name = uniqueName(`backend/${safeFileName(a.name)}`, used);
      const data = a.kind === 'binary' ? readRegularFile(a.content, 'the built binary') : a.content;
      files.push({ path: name, kind: a.kind, data, ...(a.nodes ? { nodes: a.nodes } : {}) });
    }
    const manifest = manifestOf({
      model, session, graph, backend: prepared.backend, target, threads, files, prepareMs: prepared.program.prepareMs, notes: kernelIr.notes,
      fallbacks: prepared.program.fallbacks ?? [], ...(prepared.program.device ? { device: prepared.program.device } : {}),
    });
    const named: NamedFile[] = [...files.map((f) => [f.path, f.data] as const), ['manifest.json', JSON.stringify(manifest, null, 2) + '\n']];
    writeFilesAtomic(out, named, { what: 'the build folder' });
    console.log(`built ${model} on ${prepared.backend} (${session.length} pass step${session.length === 1 ? '' : 's'}, `
      + `${art.kernels().program.kernels.length} kernels, prepare ${prepared.program.prepareMs.toFixed(0)} ms): ${named.length} files in ${out}`);
    return 0;
  } finally {
    await session.close();
  }
}


interface ManifestInput {
  model: string; session: Session; graph: Graph; backend: string; target: string; threads: number | undefined;
  files: readonly BuildFile[]; prepareMs: number; notes: readonly string[]; fallbacks: readonly Unsupported[]; device?: DeviceInfo;
}

/** manifest.json: what was built from what, and every file with its kind, hash and nodes. */
function manifestOf(m: ManifestInput) {
  const loc = new Map(m.graph.nodes.map((n) => [nodeId(n), n.loc]));
  // the machine as every manifest describes it (runtime/machine.ts)
  const cpu = cpuFacts();
  const cc = compilerFacts();
  const command = m.files.find((f) => f.kind === 'command');
  const modelFile = m.model.startsWith('zoo:') ? undefined : path.resolve(m.model);
  return {
    kiln: 'build',
    model: m.model,
    hashes: {
      ...(modelFile ? { modelFile: sha256(readRegularFile(modelFile, 'model')) } : {}),
      inputIr: sha256(m.session.ir(0)),
      finalIr: sha256(m.session.ir()),
    },
    graph: m.graph.name,
    backend: m.backend,
    target: m.target,
    pipeline: m.session.pipelineText,
    threads: m.threads ?? cpu.cores,
    prepareMs: Math.round(m.prepareMs),
    cpu,
    // the device a GPU backend built for (adapter name, features, limits)
    ...(m.device ? { device: m.device } : {}),
    compiler: cc ? { ...cc, ...(command ? { command: String(command.data).trim() } : {}) } : null,
    notes: m.notes,
    // nodes the backend runs on their reference kernels inside the program (not compiled)
    fallbacks: m.fallbacks.map((u) => ({ node: u.node, op: u.op, reason: u.reason, onnx: u.node ? loc.get(u.node) ?? [] : [] })),
    files: m.files.map((f) => {
      const nodes = f.nodes ?? [];
      return {
        path: f.path, kind: f.kind, bytes: typeof f.data === 'string' ? Buffer.byteLength(f.data) : f.data.length, sha256: sha256(f.data),
        nodes, onnx: [...new Set(nodes.flatMap((n) => loc.get(n) ?? []))],
      };
    }),
  };
}
